//! `--prometheus`: a real Prometheus scrapes three `gputop serve` instances on the fake NVML
//! (one under dcgm-exporter's names), and gputop reads the fleet back from it: every GPU with
//! its scenario's values, a stopped instance down, `--selector`, basic auth over TLS, the
//! monitor's host rows, filter and workloads view; and servers that answer garbage.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tempfile::{NamedTempFile, TempDir};

/// The test password and its bcrypt hash (cost 4), as Prometheus's web config wants it.
const PASSWORD: &str = "gputop-test-password";
const PASSWORD_HASH: &str = "$2b$04$MSQYp1woSPR6Dl1Xrsn8zOMogJwRTr8DPSsGQGIkaj7MzsNPMaIpS";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Exporter {
    _child: Killed,
    addr: String,
    _scenario: NamedTempFile,
}

/// `gputop serve` as host `name`, its first GPU at `util` %, `mem` MiB used, `temp` °C, `watts`;
/// its second without a temperature or power (dcgm-exporter then leaves out the fields that
/// name GPUs best).
fn exporter(name: &str, dcgm: bool, (util, mem, temp, watts): (u32, u32, u32, u32)) -> Exporter {
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"GPU of {name}\"\nmemory_total_mib = 81920\nmemory_used_mib = {mem}\n\
         utilization_gpu = {util}\ntemperature_c = {temp}\npower_w = {watts}\n\
         [[gpus]]\nname = \"Second of {name}\"\nutilization_gpu = 1\n"
    ));
    let mut cmd = gputop_std(&scenario);
    cmd.env("GPUTOP_HOSTNAME", name);
    let names = [std::ffi::OsStr::new("--dcgm-names")];
    let (child, addr) = spawn_serve_from(cmd, if dcgm { &names } else { &[] });
    Exporter { _child: Killed(child), addr, _scenario: scenario }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Prometheus {
    _child: Killed,
    url: String,
    _dir: TempDir,
}

/// A Prometheus scraping `targets` every second; `web_config` (TLS, basic auth) if given.
fn prometheus(targets: &[&str], web_config: Option<&str>) -> Prometheus {
    let dir = temp_dir();
    let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: gpu\n    static_configs:\n      - targets: [{}]\n",
        list.join(",")
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let port = free_port();
    let mut cmd = StdCommand::new("prometheus");
    cmd.arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let scheme = match web_config {
        Some(text) => {
            std::fs::write(dir.path().join("web.yml"), text).unwrap();
            cmd.arg(format!("--web.config.file={}", dir.path().join("web.yml").display()));
            if text.contains("tls_server_config") {
                "https"
            } else {
                "http"
            }
        }
        None => "http",
    };
    let child = Killed(cmd.spawn().expect("start prometheus"));
    let url = format!("{scheme}://127.0.0.1:{port}");
    Prometheus { _child: child, url, _dir: dir }
}

fn have_prometheus() -> bool {
    have("prometheus", &["--version"], "apt-get install prometheus")
}

/// `gputop --prometheus URL ARGS --once --json`, retried until `ready` says the fleet is all
/// there (Prometheus starts, then scrapes every second).
fn fleet_json(url: &str, args: &[&str], ready: impl Fn(&Value) -> bool) -> Value {
    let empty = scenario_file("");
    let started = Instant::now();
    loop {
        let out = gputop(&empty)
            .args(["--prometheus", url, "--once", "--json"])
            .args(args)
            .output()
            .unwrap();
        if out.status.success() {
            let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
            if ready(&doc) {
                return doc;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the fleet never showed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn gpus_of<'a>(doc: &'a Value, host: &str) -> Vec<&'a Value> {
    doc["gpus"].as_array().unwrap().iter().filter(|g| g["host"] == host).collect()
}

fn hosts_up(doc: &Value) -> usize {
    doc["hosts"].as_array().map_or(0, |h| h.iter().filter(|h| h["up"] == true).count())
}

#[test]
fn the_fleet_is_read_from_prometheus_with_both_vocabularies() {
    if !have_prometheus() {
        return;
    }
    let a = exporter("node-a", false, (87, 40000, 71, 512));
    let b = exporter("node-b", true, (42, 30000, 65, 300));
    let c = exporter("node-c", false, (5, 1000, 40, 90));
    let prom = prometheus(&[&a.addr, &b.addr, &c.addr], None);
    let doc = fleet_json(&prom.url, &[], |d| hosts_up(d) == 3);
    let all_scraped = Instant::now();
    for (host, (util, mem, temp, watts)) in [
        ("node-a", (87, 40000u64, 71, 512.0)),
        ("node-b", (42, 30000, 65, 300.0)),
        ("node-c", (5, 1000, 40, 90.0)),
    ] {
        let gpus = gpus_of(&doc, host);
        assert_eq!(gpus.len(), 2, "{host}: {doc}");
        assert_eq!(gpus[1]["name"], format!("Second of {host}"));
        assert!(gpus[1]["temperature"]["gpu_celsius"].is_null());
        let g = gpus[0];
        assert_eq!(g["name"], format!("GPU of {host}"));
        assert_eq!(g["utilization"]["gpu_percent"], util, "{host}");
        assert_eq!(g["memory"]["used_bytes"], mem << 20, "{host}");
        assert_eq!(g["temperature"]["gpu_celsius"], temp, "{host}");
        assert_eq!(g["power"]["draw_watts"], watts, "{host}");
    }
    // gputop's names carry the power limit; dcgm-exporter's defaults do not: N/A, with why.
    let b_gpu = gpus_of(&doc, "node-b")[0];
    assert!(b_gpu["processes"].is_null());
    // Its host came from `hostname`, its PCI address from `pci_bus_id`, as dcgm-exporter writes.
    assert_eq!(b_gpu["pci_bus_id"], "00000000:01:00.0", "{b_gpu}");
    assert_eq!(b_gpu["missing"]["processes"]["reason"], "not_exported");
    let hosts = doc["hosts"].as_array().unwrap();
    assert!(hosts.iter().all(|h| h["age_seconds"].as_f64().is_some_and(|a| a < 10.0)), "{doc}");

    // --selector narrows to one host.
    let one =
        fleet_json(&prom.url, &["--selector", &format!("{{instance=\"{}\"}}", c.addr)], |d| {
            hosts_up(d) == 1
        });
    assert_eq!(one["gpus"].as_array().unwrap().len(), 2);
    assert_eq!(one["gpus"][0]["host"], "node-c");

    // The text table and CSV name each GPU's host.
    let empty = scenario_file("");
    let table =
        stdout_of(gputop(&empty).args(["--prometheus", &prom.url, "--once", "--color", "never"]));
    assert!(table.contains("node-a") && table.contains("GPU of node-b"), "{table}");
    let csv = stdout_of(gputop(&empty).args(["--prometheus", &prom.url, "--once", "--csv"]));
    assert!(csv.starts_with("host,timestamp,index,"), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("node-b,")), "{csv}");

    // The monitor: a row per host, the host: filter, the workloads view.
    let bin = assert_cmd::cargo::cargo_bin("gputop");
    // Prometheus has scraped every host for a while (counted from the first answer that had
    // them all: a loaded machine starts Prometheus slowly): the charts' past is there to read.
    std::thread::sleep(Duration::from_secs(6).saturating_sub(all_scraped.elapsed()));
    let command =
        format!("env LC_ALL=C.UTF-8 {} --prometheus {} --interval 1", bin.display(), prom.url);
    if let Some(tmux) = tmux::Tmux::start(&command, 120, 40) {
        let screen = tmux.wait_for("3/3 hosts up");
        let shown = Instant::now();
        // The chart of node-a:0 starts with Prometheus's past: more bars within 0.9 s than the
        // one or two samples taken (one a second) could draw.
        let bars = |screen: &str| {
            let row = screen.lines().find(|l| l.contains("node-a:0")).unwrap_or("");
            row.chars().filter(|c| "▁▂▃▄▅▆▇█".contains(*c)).count()
        };
        let mut screen = screen;
        while bars(&screen) < 3 && shown.elapsed() < Duration::from_millis(900) {
            std::thread::sleep(Duration::from_millis(100));
            screen = tmux.screen();
        }
        assert!(bars(&screen) >= 3, "the chart did not start from the past:\n{screen}");
        assert!(screen.contains("▾ node-a  2 GPUs  util 44%"), "{screen}");
        assert!(screen.contains("node-b:0 GPU of node-b"), "{screen}");
        tmux.keys(&["/", "host:node-b", "Enter"]);
        let screen = tmux.wait_for("2 GPUs · 3/3 hosts up · of 6");
        assert!(!screen.contains("node-a:0"), "{screen}");
        tmux.keys(&["o"]);
        tmux.wait_for("o order: util");
        tmux.keys(&["w"]);
        let screen = tmux.wait_for("who uses the GPUs");
        assert!(screen.contains("(none)"), "{screen}");
        tmux.keys(&["q", "q"]);
    }

    // A stopped instance is down (its target's `up` is 0), the others unharmed.
    let stopped = c.addr.clone();
    drop(c);
    let doc = fleet_json(&prom.url, &[], |d| {
        d["hosts"].as_array().unwrap().iter().any(|h| h["up"] == false)
    });
    let down = doc["hosts"].as_array().unwrap().iter().find(|h| h["up"] == false).unwrap();
    assert_eq!(down["url"], stopped.as_str());
    assert!(down["error"].as_str().unwrap().contains("up == 0"), "{down}");
    assert_eq!(hosts_up(&doc), 2);
}

/// A certificate authority made for the test and a certificate for 127.0.0.1 signed by it
/// (openssl), in `dir`: (CA certificate, server certificate, server key).
fn certificates(dir: &Path) -> Option<(String, String, String)> {
    if !have("openssl", &["version"], "apt-get install openssl") {
        return None;
    }
    let path = |name: &str| dir.join(name).display().to_string();
    let openssl = |args: &[&str]| {
        let ok = StdCommand::new("openssl")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "openssl {args:?} failed");
    };
    let (ca, ca_key, csr) = (path("ca.pem"), path("ca-key.pem"), path("server.csr"));
    let (cert, key, ext) = (path("server.pem"), path("server-key.pem"), path("server.ext"));
    openssl(
        &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
            .into_iter()
            .chain(["-subj", "/CN=gputop test CA", "-keyout", &ca_key, "-out", &ca])
            .collect::<Vec<_>>(),
    );
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &key,
        "-out",
        &csr,
    ]);
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &ext,
        "-out",
        &cert,
    ]);
    Some((ca, cert, key))
}

#[test]
fn basic_auth_over_tls_is_sent_and_a_wrong_password_is_one_line() {
    if !have_prometheus() {
        return;
    }
    let dir = temp_dir();
    let Some((ca, cert, key)) = certificates(dir.path()) else { return };
    let a = exporter("node-a", false, (87, 40000, 71, 512));
    let web = format!(
        "tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\nbasic_auth_users:\n  gputop: '{PASSWORD_HASH}'\n"
    );
    let prom = prometheus(&[&a.addr], Some(&web));
    let port = prom.url.rsplit(':').next().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    let url = format!("https://gputop@127.0.0.1:{port}");
    let password_arg = password.display().to_string();
    let doc = fleet_json(
        &url,
        &["--prometheus-password-file", &password_arg, "--prometheus-ca", &ca],
        |d| hosts_up(d) == 1,
    );
    assert_eq!(doc["gpus"][0]["utilization"]["gpu_percent"], 87);

    let empty = scenario_file("");
    // The password in the URL works too; a wrong one is refused in one line, exit 3.
    let right = format!("https://gputop:{PASSWORD}@127.0.0.1:{port}");
    gputop(&empty)
        .args(["--prometheus", &right, "--prometheus-ca", &ca, "--once", "--json"])
        .assert()
        .success();
    let wrong = format!("https://gputop:wrong@127.0.0.1:{port}");
    let out = gputop(&empty)
        .args(["--prometheus", &wrong, "--prometheus-ca", &ca, "--once"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("refused the credentials (HTTP 401)"), "{stderr}");
    assert!(!stderr.contains("wrong"), "the password must not be shown: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // Without the CA, the test's certificate is not trusted.
    let out = gputop(&empty).args(["--prometheus", &right, "--once"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot query Prometheus"), "{stderr}");
}

/// A server answering every request with `status` and `body`, on a free port.
fn fake_server(status: &str, body: &str) -> String {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    format!("http://{addr}")
}

#[test]
fn garbage_answers_are_one_clear_line() {
    let cases = [
        ("200 OK", "<html><body>hi</body></html>", "did not answer like Prometheus's API"),
        (
            "200 OK",
            "{\"status\":\"success\",\"data\":{\"resultType",
            "did not answer like Prometheus's API",
        ),
        (
            "500 Internal Server Error",
            "upstream \x1b[31mbroken\n",
            "answered HTTP 500: upstream \\x1b[31mbroken",
        ),
        (
            "422 Unprocessable Entity",
            "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"query timed out\"}",
            "answered HTTP 422, execution: query timed out",
        ),
        (
            "200 OK",
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}",
            "has no GPU metrics: looked for gputop's",
        ),
        ("404 Not Found", "", "no Prometheus API there"),
    ];
    let empty = scenario_file("");
    for (status, body, said) in cases {
        let url = fake_server(status, body);
        let out = gputop(&empty).args(["--prometheus", &url, "--once"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains(said), "{said:?} not in {stderr:?}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // Nothing listening: refused, in one line.
    let url = format!("http://127.0.0.1:{}", free_port());
    let out = gputop(&empty).args(["--prometheus", &url, "--once", "--json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr.contains("connection refused"), "{stderr}");
}

#[test]
fn prometheus_warnings_are_shown_not_dropped() {
    let body = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"DCGM_FI_DEV_GPU_UTIL","gpu":"0","UUID":"GPU-1","Hostname":"node-x","instance":"node-x:9400","job":"dcgm"},"value":[1700000000,"33"]}]},"warnings":["partial response: store \u001b[2J unreachable"]}"#;
    let url = fake_server("200 OK", body);
    let empty = scenario_file("");
    let out = gputop(&empty).args(["--prometheus", &url, "--once", "--json"]).output().unwrap();
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["warnings"][0], "partial response: store \\x1b[2J unreachable");
    assert_eq!(doc["gpus"][0]["utilization"]["gpu_percent"], 33);
    let out = gputop(&empty).args(["--prometheus", &url, "--once"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("warning from the source: partial response"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

/// The scrape config in assets/deploy is one Prometheus takes (its hand-listed job: Debian's
/// Prometheus is built without Kubernetes discovery, so that job is checked where it can be).
#[test]
fn the_deployment_scrape_config_is_valid() {
    if !have("promtool", &["--version"], "apt-get install prometheus") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("assets/deploy/prometheus-scrape.yml")).unwrap();
    let dir = temp_dir();
    let token = dir.path().join("token");
    std::fs::write(&token, "x\n").unwrap();
    let static_part = text
        .split("  # Kubernetes without the Prometheus Operator")
        .next()
        .unwrap()
        .replace("/etc/prometheus/gputop.token", &token.display().to_string());
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, static_part).unwrap();
    let out = StdCommand::new("promtool").arg("check").arg("config").arg(&config).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // The DaemonSet runs the exporter where Prometheus can reach it, naming the node.
    let daemonset =
        std::fs::read_to_string(root.join("assets/deploy/gputop-daemonset.yaml")).unwrap();
    for needed in [
        "\"--listen\", \"0.0.0.0:9835\"",
        "GPUTOP_HOSTNAME",
        "fieldPath: spec.nodeName",
        "/host/proc",
    ] {
        assert!(daemonset.contains(needed), "{needed} missing from the DaemonSet");
    }
}
