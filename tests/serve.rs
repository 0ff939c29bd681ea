//! `gputop serve` through the real binary on the fake NVML library: the exposition parses
//! (`promtool check metrics`), a real Prometheus server scrapes it and its query API returns
//! the scenario's values, and bad or many requests leave it answering.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tempfile::NamedTempFile;

const SCENARIO: &str = "[driver]\nversion = \"550.54.15\"\n\
    [[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\nuuid = \"GPU-aaaaaaaa-1111-2222-3333-444444444444\"\n\
    memory_total_mib = 81559\nmemory_used_mib = 40000\nutilization_gpu = 87\nutilization_memory = 40\n\
    temperature_c = 62\npower_w = 312.5\npower_limit_w = 700\nthrottle_reasons = 0x40\n\
    [[gpus]]\nname = \"NVIDIA A100\"\nlost = true\n";

/// A running exporter, stopped when dropped.
struct Server {
    child: Child,
    addr: String,
    _scenario: NamedTempFile,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        Self::start_with(SCENARIO, extra)
    }

    fn start_with(scenario: &str, extra: &[&str]) -> Server {
        let scenario = scenario_file(scenario);
        let extra: Vec<&std::ffi::OsStr> = extra.iter().map(std::ffi::OsStr::new).collect();
        let (child, addr) = spawn_serve(&scenario, &extra);
        let server = Server { child, addr, _scenario: scenario };
        let started = Instant::now();
        while server.get("/metrics", &[]).0 != 200 {
            assert!(started.elapsed() < Duration::from_secs(10), "no sample served");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn get(&self, path: &str, headers: &[&str]) -> (u16, String, String) {
        http_get(&self.addr, path, headers)
    }
}

/// A raw HTTP/1.1 GET: (status, headers, body).
fn http_get(addr: &str, path: &str, headers: &[&str]) -> (u16, String, String) {
    let Ok(mut s) = TcpStream::connect(addr) else { return (0, String::new(), String::new()) };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let _ = write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn metrics_carry_the_scenario_values_in_prometheus_conventions() {
    let server = Server::start(&[]);
    let (status, head, body) = server.get("/metrics", &[]);
    assert_eq!(status, 200);
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let labels = "gpu=\"0\",uuid=\"GPU-aaaaaaaa-1111-2222-3333-444444444444\",name=\"NVIDIA H100 80GB HBM3\"";
    for want in [
        format!("gputop_gpu_utilization_ratio{{{labels},"),
        "# TYPE gputop_gpu_memory_used_bytes gauge".to_string(),
        format!("gputop_gpu_memory_used_bytes{{{labels},hostname="),
        "reason=\"hw_thermal_slowdown\"} 1".to_string(),
        "gputop_gpu_up{gpu=\"1\"".to_string(),
    ] {
        assert!(body.contains(&want), "missing {want:?} in\n{body}");
    }
    let value = |name: &str| -> f64 {
        let line = body
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{gpu=\"0\"")))
            .unwrap_or_else(|| panic!("{name}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(value("gputop_gpu_utilization_ratio"), 0.87);
    assert_eq!(value("gputop_gpu_memory_used_bytes"), (40000u64 << 20) as f64);
    assert_eq!(value("gputop_gpu_power_watts"), 312.5);
    assert_eq!(value("gputop_gpu_temperature_celsius"), 62.0);
    // No fan on this GPU: no series, rather than a 0.
    assert!(!body.contains("gputop_gpu_fan_speed_ratio{gpu=\"0\""));

    let (_, head, body) =
        server.get("/metrics", &["Accept: application/openmetrics-text; version=1.0.0"]);
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(body.trim_end().ends_with("# EOF"));
    let (status, _, json) = server.get("/api/v1/snapshot", &[]);
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["gpus"][0]["utilization"]["gpu_percent"], 87);
    assert_eq!(server.get("/healthz", &[]).0, 200);
    assert_eq!(server.get("/nope", &[]).0, 404);
}

/// The exporter reads the board's memory and link health each sample, and none of the
/// properties only `--query-gpu` shows (which cost dozens of NVML calls a GPU, one of them
/// reading the InfoROM's flash).
#[test]
fn the_exporter_reads_the_boards_health_and_nothing_only_a_query_shows() {
    let server = Server::start_with(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\npcie_link_gen = [5, 5]\n\
         pcie_link_width = [16, 16]\nserial = \"1652320012345\"\n\
         inforom = { image = \"G520.0200.00.05\" }\nrecovery_action = \"none\"\n",
        &[],
    );
    let (status, _, json) = server.get("/api/v1/snapshot", &[]);
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let details = &doc["gpus"][0]["details"];
    assert_eq!(details["pcie_link_gen_current"], 5, "{details:#}");
    assert_eq!(details["pcie_link_width_max"], 16);
    for unread in ["serial", "recovery_action"] {
        assert!(details[unread].is_null(), "{unread} read: {details:#}");
    }
    assert!(details["inforom"]["image"].is_null(), "{details:#}");
    let missing = doc["gpus"][0]["missing"].as_object().cloned().unwrap_or_default();
    assert!(!missing.contains_key("details.serial"), "{missing:?}");
}

#[test]
fn dcgm_exporter_names() {
    let server = Server::start(&["--dcgm-names"]);
    let (_, _, body) = server.get("/metrics", &[]);
    // dcgm-exporter's labels today: pci_bus_id after the UUID, and `hostname` (its PR #655).
    assert!(body.contains("DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-aaaaaaaa-1111-2222-3333-444444444444\",pci_bus_id=\"00000000:01:00.0\",device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\",hostname=\""), "{body}");
    assert!(!body.contains("Hostname="), "{body}");
    assert!(
        body.lines().any(|l| l.starts_with("DCGM_FI_DEV_FB_USED{") && l.ends_with(" 40000.0")),
        "{body}"
    );
}

#[test]
fn a_token_is_required_when_set() {
    let token = NamedTempFile::new().unwrap();
    std::fs::write(token.path(), "s3cret\n").unwrap();
    let server = Server::start_with_token(token.path());
    assert_eq!(server.get("/metrics", &[]).0, 401);
    assert_eq!(server.get("/metrics", &["Authorization: Bearer wrong"]).0, 401);
    assert_eq!(server.get("/metrics", &["Authorization: Bearer s3cret"]).0, 200);
    assert_eq!(server.get("/healthz", &[]).0, 200);
}

impl Server {
    fn start_with_token(path: &std::path::Path) -> Server {
        let scenario = scenario_file(SCENARIO);
        let (child, addr) =
            spawn_serve(&scenario, &[std::ffi::OsStr::new("--token-file"), path.as_os_str()]);
        let server = Server { child, addr, _scenario: scenario };
        let started = Instant::now();
        while server.get("/healthz", &[]).0 != 200
            || server.get("/metrics", &["Authorization: Bearer s3cret"]).0 != 200
        {
            assert!(started.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

#[test]
fn bad_requests_silent_clients_and_many_scrapes() {
    let server = Server::start(&[]);
    // Garbage instead of HTTP: a 4xx, not a crash.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(b"\x16\x03\x01 not http at all\r\n\r\n").unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply:?}");
    // A client that connects and says nothing does not block anyone.
    let mut silent = TcpStream::connect(&server.addr).unwrap();
    let threads: Vec<_> = (0..200)
        .map(|_| {
            let addr = server.addr.clone();
            std::thread::spawn(move || http_get(&addr, "/metrics", &[]).0)
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(server.get("/healthz", &[]).0, 200);
    // ... and is disconnected once the header timeout (5 s) has passed.
    silent.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let n = silent.read(&mut buf).unwrap_or(0);
    assert!(
        n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    assert!(started.elapsed() < Duration::from_secs(9));
}

/// `promtool check metrics` finds nothing to say, in either format, for every naming and with
/// per-process series: classic text without an Accept header, OpenMetrics when asked for.
#[test]
fn promtool_accepts_the_exposition() {
    if !have("promtool", &["--version"], "apt-get install prometheus") {
        return;
    }
    // (--dcgm-names with --processes is refused: dcgm-exporter has no per-process series.)
    for args in [&[][..], &["--processes"], &["--dcgm-names"]] {
        let server = Server::start(args);
        for accept in [None, Some("Accept: application/openmetrics-text; version=1.0.0")] {
            let (_, head, body) = server.get("/metrics", accept.as_slice());
            if accept.is_none() {
                assert!(head.contains("text/plain; version=0.0.4"), "{head}");
                assert!(!body.contains("# EOF"), "{body}");
            } else {
                assert!(head.contains("application/openmetrics-text"), "{head}");
            }
            let problems = promtool_problems(&body, args.contains(&"--dcgm-names"));
            // promtool reads the classic format: an OpenMetrics counter's samples end in
            // `_total` while its HELP names the family without it, as that format wants.
            let counter_lint = |p: &String| {
                p.lines().all(|l| l.is_empty() || l.ends_with("_total no help text"))
                    || p.strip_prefix("promtool failed: ").is_some_and(|r| {
                        r.lines().all(|l| l.is_empty() || l.ends_with("_total no help text"))
                    })
            };
            let problems: Vec<&String> =
                problems.iter().filter(|p| accept.is_none() || !counter_lint(p)).collect();
            assert!(problems.is_empty(), "{args:?} {accept:?}: {problems:?}");
        }
    }
}

/// What `promtool check metrics` says about an exposition, less the lints dcgm-exporter's own
/// names draw (kept so its dashboards work): its camelCase labels (modelName, UUID)
/// and DCGM_FI_DEV_PCIE_REPLAY_COUNTER, a name with "counter" in it.
fn promtool_problems(body: &str, dcgm: bool) -> Vec<String> {
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = check.wait_with_output().unwrap();
    let report =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let dcgm_lints = [
        "label names should be written in 'snake_case' not 'camelCase'",
        "DCGM_FI_DEV_PCIE_REPLAY_COUNTER metric name should not include type 'counter'",
    ];
    let mut problems: Vec<String> = report
        .lines()
        .filter(|l| !(dcgm && dcgm_lints.iter().any(|lint| l.ends_with(lint))))
        .map(str::to_string)
        .collect();
    if !out.status.success() && !dcgm {
        problems.push(format!("promtool failed: {report}"));
    }
    problems
}

/// MIG devices under both namings: gputop's per-instance memory and GPM activity, and
/// dcgm-exporter's framebuffer and profiling series with GPU_I_ID and GPU_I_PROFILE.
#[test]
fn mig_devices_under_both_namings() {
    let scenario = "[[gpus]]\nname = \"H100\"\nmig_enabled = true\ngpm = { sm_active = 10 }\n\
        mig_instances = [{ profile = \"3g.40gb\", gpu_instance_id = 1, memory_total_mib = 20000, \
        memory_used_mib = 300, gpm = { sm_active = 33 } }]\n";
    let scrape_when = |server: &Server, what: &str| {
        let started = Instant::now();
        loop {
            let (_, _, body) = server.get("/metrics", &[]);
            if body.contains(what) {
                return body;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no {what}:\n{body}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let server = Server::start_with(scenario, &[]);
    let body = scrape_when(&server, "gputop_mig_sm_active_ratio{");
    let sm = body.lines().find(|l| l.starts_with("gputop_mig_sm_active_ratio{")).unwrap();
    assert!(sm.ends_with(" 0.33"), "the instance's own GPM: {sm}");
    let line = body.lines().find(|l| l.starts_with("gputop_mig_memory_used_bytes{")).unwrap();
    assert!(line.contains("gpu_instance=\"1\",profile=\"3g.40gb\",mig_uuid=\"MIG-"), "{line}");
    assert!(line.ends_with(&format!(" {}.0", 300u64 << 20)), "{line}");
    if have("promtool", &["--version"], "apt-get install prometheus") {
        assert_eq!(promtool_problems(&body, false), Vec::<String>::new());
    }
    drop(server);
    let server = Server::start_with(scenario, &["--dcgm-names"]);
    let body = scrape_when(&server, "GPU_I_ID=\"1\"} 0.33");
    assert!(
        body.lines().any(|l| l.starts_with("DCGM_FI_DEV_FB_USED{")
            && l.contains("GPU_I_PROFILE=\"3g.40gb\",GPU_I_ID=\"1\"")
            && l.ends_with(" 300.0")),
        "{body}"
    );
    assert!(
        body.lines().any(|l| l.starts_with("DCGM_FI_PROF_SM_ACTIVE{")
            && l.contains("GPU_I_ID=\"1\"")
            && l.ends_with(" 0.33")),
        "{body}"
    );
    if have("promtool", &["--version"], "apt-get install prometheus") {
        assert_eq!(promtool_problems(&body, true), Vec::<String>::new());
    }
}

/// GPM activity under both namings, as ratios; a GPU without GPM has no such series.
#[test]
fn gpm_activity_under_both_namings() {
    let scenario = "[[gpus]]\nname = \"H100\"\nutilization_gpu = 90\n\
        gpm = { sm_active = 85, tensor_active = 70, dram_active = 30, pcie_tx_mib_s = 1 }\n\
        [[gpus]]\nname = \"A10\"\nutilization_gpu = 10\n";
    for (args, name, want) in [
        (&[][..], "gputop_gpu_tensor_active_ratio{gpu=\"", "0.7"),
        (&["--dcgm-names"][..], "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu=\"", "0.7"),
        (&["--dcgm-names"][..], "DCGM_FI_PROF_SM_ACTIVE{gpu=\"", "0.85"),
        (&["--dcgm-names"][..], "DCGM_FI_PROF_PCIE_TX_BYTES{gpu=\"", "1048576.0"),
    ] {
        let server = Server::start_with(scenario, args);
        let started = Instant::now();
        let body = loop {
            let (_, _, body) = server.get("/metrics", &[]);
            if body.contains(name) {
                break body;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no {name}:\n{body}");
            std::thread::sleep(Duration::from_millis(100));
        };
        let lines: Vec<&str> = body.lines().filter(|l| l.starts_with(name)).collect();
        assert_eq!(lines.len(), 1, "only the GPU with GPM: {lines:?}");
        assert!(lines[0].starts_with(&format!("{name}0\"")), "{lines:?}");
        assert!(lines[0].ends_with(&format!(" {want}")), "{lines:?}");
        if have("promtool", &["--version"], "apt-get install prometheus") {
            assert_eq!(promtool_problems(&body, !args.is_empty()), Vec::<String>::new());
        }
    }
}

/// XIDs heard by the exporter's event thread become counters by XID, kept for a GPU that then
/// fell off the bus; dcgm-exporter's name carries the last XID.
#[test]
fn xid_errors_are_counted_as_they_come() {
    let scenario = "[[gpus]]\nname = \"A\"\nutilization_gpu = 10\necc_corrected = 0\n\
        ecc_uncorrected = 0\npcie_replay_count = 7\necc_aggregate = [5, 2]\n\
        nvlink = { active_links = 4, replay = 3, recovery = 1 }\n\
        events = [{ at_s = 0.8, xid = 94 }, { at_s = 0.9, xid = 94 }, { at_s = 1.0, kind = \"double_bit_ecc\" }]\n\
        [[gpus]]\nname = \"B\"\nutilization_gpu = 10\nlost_between_s = [1.5]\n\
        events = [{ at_s = 1.2, xid = 79 }]\n";
    let server = Server::start_with(scenario, &[]);
    let started = Instant::now();
    let body = loop {
        let (_, _, body) = server.get("/metrics", &[]);
        if body.contains("gputop_gpu_up{gpu=\"1\"") && body.contains(",hostname=") && {
            body.lines().any(|l| l.starts_with("gputop_gpu_up{gpu=\"1\"") && l.ends_with(" 0.0"))
        } {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "GPU 1 never lost:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let series = |prefix: &str, gpu: &str, label: &str| -> Option<String> {
        body.lines()
            .find(|l| {
                l.starts_with(prefix) && l.contains(&format!("gpu=\"{gpu}\"")) && l.contains(label)
            })
            .map(|l| l.rsplit(' ').next().unwrap().to_string())
    };
    assert_eq!(
        series("gputop_gpu_xid_errors_total{", "0", "xid=\"94\""),
        Some("2.0".into()),
        "{body}"
    );
    assert_eq!(
        series("gputop_gpu_xid_errors_total{", "1", "xid=\"79\""),
        Some("1.0".into()),
        "{body}"
    );
    let dbe = series("gputop_gpu_ecc_error_events_total{", "0", "kind=\"double_bit\"");
    assert_eq!(dbe, Some("1.0".into()), "{body}");
    assert_eq!(series("gputop_gpu_ecc_error_events_total{", "1", ""), None, "no ECC on B");
    assert_eq!(series("gputop_gpu_pcie_replays_total{", "0", ""), Some("7.0".into()), "{body}");
    let recoveries = series("gputop_gpu_nvlink_errors_total{", "0", "counter=\"recovery\"");
    assert_eq!(recoveries, Some("1.0".into()), "{body}");
    let lifetime = series("gputop_gpu_ecc_lifetime_errors{", "0", "kind=\"corrected\"");
    assert_eq!(lifetime, Some("5.0".into()), "{body}");
    if have("promtool", &["--version"], "apt-get install prometheus") {
        assert_eq!(promtool_problems(&body, false), Vec::<String>::new(), "{body}");
    }
    drop(server);

    let server = Server::start_with(scenario, &["--dcgm-names"]);
    std::thread::sleep(Duration::from_millis(1800));
    let (_, _, body) = server.get("/metrics", &[]);
    let last_xid = |gpu: &str| {
        body.lines()
            .find(|l| {
                l.starts_with("DCGM_FI_DEV_XID_ERRORS{") && l.contains(&format!("gpu=\"{gpu}\""))
            })
            .map(|l| l.rsplit(' ').next().unwrap().to_string())
    };
    assert_eq!(last_xid("0").as_deref(), Some("94.0"), "{body}");
    assert_eq!(last_xid("1").as_deref(), Some("79.0"), "{body}");
    assert!(body
        .lines()
        .any(|l| l.starts_with("DCGM_FI_DEV_PCIE_REPLAY_COUNTER{") && l.ends_with(" 7.0")));
    if have("promtool", &["--version"], "apt-get install prometheus") {
        assert_eq!(promtool_problems(&body, true), Vec::<String>::new(), "{body}");
    }
}

/// The hosts of `a_real_prometheus_scrapes_it`: one per naming, each scraped as its own job
/// and given its own host name by relabelling.
const NAMINGS: [(&str, &str); 3] = [
    // gputop's own names.
    ("gputop", "host-gputop"),
    // `--dcgm-names`: as dcgm-exporter 4.x writes, with `hostname`.
    ("dcgm", "host-dcgm"),
    // `--dcgm-names` relabelled as an older dcgm-exporter writes: `Hostname`, no `hostname`.
    ("dcgm-old", "host-dcgm-old"),
];

#[test]
fn a_real_prometheus_scrapes_it() {
    if !have("prometheus", &["--version"], "apt-get install prometheus") {
        return;
    }
    // Everything the dashboard shows: clocks, ECC, a process (PID 1 exists everywhere).
    let scenario = format!(
        "{SCENARIO}\n[[gpus]]\nname = \"NVIDIA L4\"\nutilization_gpu = 5\nclock_sm_mhz = 1500\n\
         ecc_corrected = 0\necc_uncorrected = 0\nthrottle_reasons = 0x20\n\
         [[gpus.processes]]\npid = 1\nused_memory_mib = 100\n"
    );
    let servers = [
        Server::start_with(&scenario, &["--processes"]),
        Server::start_with(&scenario, &["--dcgm-names"]),
        Server::start_with(&scenario, &["--dcgm-names"]),
    ];
    let dir = temp_dir();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut config = String::from("global:\n  scrape_interval: 1s\nscrape_configs:\n");
    for ((job, host), server) in NAMINGS.iter().zip(&servers) {
        // The host label renamed, as the old exporter writes it, for dcgm-old.
        let (label, drop) = if *job == "dcgm-old" {
            ("Hostname", "      - regex: hostname\n        action: labeldrop\n")
        } else {
            ("hostname", "")
        };
        config += &format!(
            "  - job_name: {job}\n    static_configs:\n      - targets: ['{}']\n    \
             metric_relabel_configs:\n      - source_labels: [hostname]\n        regex: '.+'\n        \
             target_label: {label}\n        replacement: {host}\n{drop}",
            server.addr
        );
    }
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, &config).unwrap();
    let mut prom = Command::new("prometheus")
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let api = format!("127.0.0.1:{port}");
    let query = |expr: &str| -> Value {
        let (_, _, body) =
            http_get(&api, &format!("/api/v1/query?query={}", url_encode(expr)), &[]);
        let doc: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert_eq!(doc["status"], "success", "{expr}: {body}");
        doc["data"]["result"].clone()
    };
    // Until every job has been scraped: a series of each, under its host label.
    let started = Instant::now();
    let ready = "count(gputop_gpu_up{hostname=\"host-gputop\"}) + count(DCGM_FI_DEV_GPU_UTIL{hostname=\"host-dcgm\"}) + count(DCGM_FI_DEV_GPU_UTIL{Hostname=\"host-dcgm-old\"})";
    let ready_url = format!("/api/v1/query?query={}", url_encode(ready));
    while !http_get(&api, &ready_url, &[]).2.contains("\"result\":[{") {
        assert!(started.elapsed() < Duration::from_secs(30), "Prometheus never scraped all three");
        std::thread::sleep(Duration::from_millis(300));
    }
    let result = query("gputop_gpu_utilization_ratio").to_string();
    assert!(result.contains("\"uuid\":\"GPU-aaaaaaaa-1111-2222-3333-444444444444\""), "{result}");
    assert!(result.contains(",\"0.87\"]"), "{result}");
    // The old exporter's series carry Hostname alone.
    let old = query("DCGM_FI_DEV_GPU_UTIL{hostname=\"host-dcgm-old\"}");
    assert_eq!(old, serde_json::json!([]), "{old}");

    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/assets/grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    // The host variable lists the three hosts, whichever label each has (the query inside
    // Grafana's query_result(…), and the regex that picks the name from each line).
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let hosts = variables.iter().find(|v| v["name"] == "hostname").unwrap();
    let inner = |v: &Value| -> String {
        let q = v["query"]["query"].as_str().unwrap();
        q.strip_prefix("query_result(").and_then(|q| q.strip_suffix(')')).unwrap().to_string()
    };
    let listed: Vec<String> = query(&inner(hosts))
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["metric"]["hostname"].as_str().map(String::from))
        .collect();
    for (_, host) in NAMINGS {
        assert!(listed.iter().any(|h| h == host), "{host} not among the hosts listed: {listed:?}");
    }
    assert_eq!(hosts["regex"], "/hostname=\"([^\"]+)\"/");
    let gpus = variables.iter().find(|v| v["name"] == "gpu").unwrap();
    for (_, host) in NAMINGS {
        let listed = query(&inner(gpus).replace("$hostname", host)).to_string();
        assert!(
            listed.contains("\"gpu\":\"0\"") && listed.contains("\"gpu\":\"2\""),
            "{host}: {listed}"
        );
    }

    // Every panel's query, for each host alone: valid PromQL that finds data for every naming
    // the panel says it works with ("gputop only" in its description: gputop's names alone),
    // only that host's series, and the same values whatever the naming (units converted).
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        let gputop_only = panel["description"].as_str().unwrap().contains("gputop only");
        let expr = panel["targets"][0]["expr"].as_str().unwrap();
        let mut seen: Vec<(&str, Vec<(String, String)>)> = Vec::new();
        for (job, host) in NAMINGS {
            if gputop_only && job != "gputop" {
                continue;
            }
            let result = query(&expr.replace("$hostname", host).replace("$gpu", ".+"));
            let series = result.as_array().unwrap();
            assert!(!series.is_empty(), "{title}: nothing for {job} ({host}): {expr}");
            let mut values: Vec<(String, String)> = series
                .iter()
                .map(|s| {
                    let labels = &s["metric"];
                    for label in ["hostname", "Hostname"] {
                        if let Some(h) = labels[label].as_str() {
                            assert_eq!(h, host, "{title} for {host}: another host's series");
                        }
                    }
                    let value: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
                    let gpu = labels["gpu"].as_str().unwrap_or("").to_string();
                    (gpu, format!("{value:.4e}"))
                })
                .collect();
            values.sort();
            values.dedup();
            seen.push((job, values));
        }
        for (job, values) in &seen[1..] {
            assert_eq!(values, &seen[0].1, "{title}: {job}'s values differ from gputop's");
        }
    }
    let _ = prom.kill();
    let _ = prom.wait();
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn an_empty_or_missing_token_file_is_an_error_not_an_open_door() {
    let scenario = scenario_file(SCENARIO);
    let empty = NamedTempFile::new().unwrap();
    std::fs::write(empty.path(), "  \n").unwrap();
    for path in [empty.path(), std::path::Path::new("/nonexistent/token")] {
        let out = gputop(&scenario)
            .args(["serve", "--listen", "127.0.0.1:0", "--token-file"])
            .arg(path)
            .timeout(Duration::from_secs(10))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{path:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("token file"), "{err}");
    }
}

#[test]
fn a_public_address_without_a_token_is_warned_about() {
    use std::io::BufRead;
    let scenario = scenario_file(SCENARIO);
    let mut child = gputop_std(&scenario)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("warning") && line.contains("without a token"), "{line}");
}

/// A driver call that never returns (the fake library blocks every call on the GPU from 1.5 s
/// to 4.5 s after init): the exporter keeps answering, the last sample's timestamp stops
/// moving, /healthz turns 503 with the age, and 200 again once samples resume.
#[test]
fn a_stuck_driver_call_fails_healthz_and_the_timestamp_says_when_sampling_stopped() {
    let server = Server::start_with(
        "[[gpus]]\nname = \"A\"\nutilization_gpu = 5\nhangs_between_s = [1.5, 4.5]\n",
        &["--stale-after", "1s"],
    );
    let started = Instant::now();
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let last_sample = |body: &str| -> f64 {
        let line = body.lines().find(|l| l.starts_with("gputop_last_sample_timestamp_seconds{"));
        line.and_then(|l| l.rsplit(' ').next()?.parse().ok()).expect(body)
    };
    let (code, _, body) = server.get("/healthz", &[]);
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (_, _, metrics) = server.get("/metrics", &[]);
    assert!((now().as_secs_f64() - last_sample(&metrics)).abs() < 1.0, "{metrics}");
    assert!(metrics.contains("gputop_sample_errors_total{hostname="), "{metrics}");
    // Stuck: the exporter still answers at once, with the old sample's time, and says stale.
    let stale = loop {
        let asked = Instant::now();
        let (code, _, body) = server.get("/healthz", &[]);
        assert!(asked.elapsed() < Duration::from_secs(1), "/healthz waited on the driver");
        if code == 503 {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(4), "never stale: {code} {body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(stale.starts_with("stale: the last complete sample ") && stale.ends_with(" s ago\n"));
    let (code, _, metrics) = server.get("/metrics", &[]);
    assert_eq!(code, 200);
    assert!(now().as_secs_f64() - last_sample(&metrics) > 1.0, "{metrics}");
    // A --remote view marks the host stale, with why.
    let out = assert_cmd::Command::cargo_bin("gputop")
        .unwrap()
        .args(["--remote", &server.addr, "--once", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let host = &doc["hosts"][0];
    assert_eq!(
        (host["up"].as_bool(), host["stale"].as_bool()),
        (Some(true), Some(true)),
        "{doc:#}"
    );
    assert!(host["error"].as_str().unwrap().starts_with("stale: its exporter has had no complete"));
    // Unstuck: fresh again.
    loop {
        let (code, _, body) = server.get("/healthz", &[]);
        if code == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(12), "never fresh again: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The sample that was stuck is dated when it began; the next one is new.
    loop {
        let (_, _, metrics) = server.get("/metrics", &[]);
        if (now().as_secs_f64() - last_sample(&metrics)).abs() < 1.0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(12), "no new sample: {metrics}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// NVLink error counters the driver refuses (links up, counters NO_PERMISSION): no
/// `gputop_gpu_nvlink_errors_total` series is exported for them (a 0 would say the links are
/// clean), and the snapshot's JSON has them `null` with the reason under `missing`.
#[test]
fn nvlink_counters_the_driver_refuses_are_absent_never_zero() {
    let scenario = "[[gpus]]\nname = \"A\"\nutilization_gpu = 10\n\
        nvlink = { active_links = 4, recovery = 2 }\n\
        errors = { nvlink_error_counters = \"NO_PERMISSION\" }\n\
        [[gpus]]\nname = \"B\"\nutilization_gpu = 10\n\
        nvlink = { active_links = 4, recovery = 2 }\n";
    let server = Server::start_with(scenario, &[]);
    let started = Instant::now();
    let body = loop {
        let (_, _, body) = server.get("/metrics", &[]);
        if body.contains("gputop_gpu_nvlink_active_links{") {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no NVLink series:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let lines = |prefix: &str, gpu: &str| -> Vec<String> {
        body.lines()
            .filter(|l| l.starts_with(prefix) && l.contains(&format!("gpu=\"{gpu}\"")))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(lines("gputop_gpu_nvlink_active_links{", "0").len(), 1, "{body}");
    assert_eq!(lines("gputop_gpu_nvlink_errors_total{", "0"), Vec::<String>::new(), "{body}");
    assert_eq!(lines("gputop_gpu_nvlink_errors_total{", "1").len(), 4, "B's are read: {body}");

    let (_, _, json) = server.get("/api/v1/snapshot", &[]);
    let doc: Value = serde_json::from_str(&json).unwrap();
    let a = &doc["gpus"][0];
    assert_eq!(a["details"]["nvlink"]["active_links"], 4, "{a}");
    for counter in ["replay_errors", "recovery_errors", "crc_flit_errors", "crc_data_errors"] {
        assert_eq!(a["details"]["nvlink"][counter], Value::Null, "{counter}: {a}");
        let field = format!("details.nvlink.{counter}");
        assert_eq!(a["missing"][&field]["reason"], "no_permission", "{field}: {a}");
    }
    assert_eq!(doc["gpus"][1]["details"]["nvlink"]["recovery_errors"], 2);
}

/// An XID the driver gives no number for (NVML's 999, "unknown") is exported as
/// `xid="unknown"`, never as an XID 0.
#[test]
fn an_xid_of_unknown_number_is_exported_as_unknown() {
    let scenario = "[[gpus]]\nname = \"A\"\nutilization_gpu = 10\n\
        events = [{ at_s = 0.5, xid = 999 }, { at_s = 0.6, xid = 79 }]\n";
    let server = Server::start_with(scenario, &[]);
    let started = Instant::now();
    let body = loop {
        let (_, _, body) = server.get("/metrics", &[]);
        if body.contains("xid=\"79\"") {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no XID 79:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let xid = |label: &str| {
        body.lines()
            .find(|l| l.starts_with("gputop_gpu_xid_errors_total{") && l.contains(label))
            .map(|l| l.rsplit(' ').next().unwrap().to_string())
    };
    assert_eq!(xid("xid=\"unknown\"").as_deref(), Some("1.0"), "{body}");
    assert_eq!(xid("xid=\"0\""), None, "{body}");
}
