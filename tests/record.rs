//! `gputop record` and `gputop report` through the real binary on the fake NVML library: what
//! a recording holds (schema version, samples, processes, events) and what the report makes of
//! it, per GPU, per user and for a process that held an idle GPU.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

/// A process whose start time is unknown (its PID is not on this machine, as in a container
/// that cannot see it) and that comes and goes is never merged with the earlier one: each
/// appearance is a process of its own, with a NULL start time, and its GPU-hours are its own.
/// Before, both were stored with start time 0 and `INSERT OR IGNORE` merged them.
#[test]
fn processes_with_unknown_start_times_are_never_merged() {
    // A PID above every running one: no /proc entry, so no start time.
    let pid = 4_000_000 - 7;
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"A\"\nmemory_total_mib = 1000\n\
         [[gpus.processes]]\npid = {pid}\nused_memory_mib = 10\n\
         active = {{ period_s = 1.2, on_s = 0.6 }}\n"
    ));
    let dir = temp_dir();
    let db = dir.path().join("r.db");
    let mut recorder = gputop_std(&scenario)
        .env_remove("GPUTOP_FAKE_NVML_TIME")
        .args(["--interval", "0.1", "record", "--out"])
        .arg(&db)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let appearances = || -> Vec<(Option<i64>, i64)> {
        let Ok(conn) = rusqlite::Connection::open(&db) else { return Vec::new() };
        let Ok(mut stmt) = conn.prepare(
            "SELECT p.start_ticks, COUNT(ps.tick) FROM processes p
             JOIN process_samples ps ON ps.process_id = p.id WHERE p.pid = ?1 GROUP BY p.id",
        ) else {
            return Vec::new();
        };
        stmt.query_map([pid], |r| Ok((r.get(0)?, r.get(1)?)))
            .map(|rows| rows.map(Result::unwrap).collect())
            .unwrap_or_default()
    };
    // Until two appearances are recorded (a loaded machine starts the recorder slowly).
    let started = std::time::Instant::now();
    while appearances().len() < 2 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
    }
    Command::new("kill").args(["-TERM", &recorder.id().to_string()]).status().unwrap();
    assert!(recorder.wait().unwrap().success());
    let rows = appearances();
    // The process is there for 0.6 s of every 1.2 s: each appearance a row of its own.
    assert!(rows.len() >= 2, "each appearance is a process of its own: {rows:?}");
    assert!(rows.iter().all(|(start, _)| start.is_none()), "unknown is NULL, never 0: {rows:?}");
    assert!(
        rows.iter().all(|&(_, samples)| samples <= 8),
        "no row holds two appearances: {rows:?}"
    );
}

#[test]
fn a_recording_answers_what_happened() {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\nutilization_gpu = 87\nmemory_used_mib = 1000\n\
         power_w = 300\nenergy_mj = 1000000\nevents = [{{ at_s = 0.3, xid = 79 }}]\n\
         [[gpus]]\nname = \"NVIDIA A100\"\nutilization_gpu = 0\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 5000\n",
        job.pid()
    ));
    let dir = temp_dir();
    let db = dir.path().join("state/record.db");
    // The fake's energy counter grows with its clock: a real one here, not a fixed time.
    let mut recorder = gputop_std(&scenario)
        .env_remove("GPUTOP_FAKE_NVML_TIME")
        .args(["--interval", "0.2", "record", "--out"])
        .arg(&db)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    Command::new("kill").args(["-TERM", &recorder.id().to_string()]).status().unwrap();
    let status = recorder.wait().unwrap();
    assert!(status.success(), "record exits 0 on SIGTERM: {status:?}");

    // The database as sqlite3 would see it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 5);
    let vendor: String =
        conn.query_row("SELECT DISTINCT vendor FROM gpus", [], |r| r.get(0)).unwrap();
    assert_eq!(vendor, "nvidia", "who made each GPU is stored");
    let samples: i64 = conn.query_row("SELECT COUNT(*) FROM samples", [], |r| r.get(0)).unwrap();
    assert!((16..=30).contains(&samples), "{samples} samples of 2 GPUs over 2.5 s at 0.2 s");
    let xid: String =
        conn.query_row("SELECT detail FROM events WHERE kind = 'xid'", [], |r| r.get(0)).unwrap();
    assert_eq!(xid, "79");
    let pid: u32 = conn.query_row("SELECT pid FROM processes", [], |r| r.get(0)).unwrap();
    assert_eq!(pid, job.pid(), "the process is stored once");

    let out = gputop_std(&scenario)
        .arg("report")
        .arg(&db)
        .args(["--since", "1h", "--idle-min", "1s", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let h100 = &doc["gpus"][0];
    assert_eq!(h100["name"], "NVIDIA H100 80GB HBM3");
    assert_eq!(h100["mean_utilization_percent"], 87.0);
    assert_eq!(h100["p95_utilization_percent"], 87);
    assert_eq!(h100["busy_share"], 1.0);
    assert_eq!(h100["peak_memory_bytes"], 1000u64 << 20);
    assert!(h100["energy_kwh"].as_f64().unwrap() > 0.0, "{h100}");
    let a100 = &doc["gpus"][1];
    assert_eq!(a100["busy_share"], 0.0);
    assert_eq!(a100["energy_kwh"], Value::Null, "no power reading: no energy, not 0");
    assert_eq!(doc["by"], "user");
    let user = &doc["owners"][0];
    assert!(user["gpu_hours_held"].as_f64().unwrap() > 0.0, "{user}");
    assert_eq!(user["gpu_hours_busy"], 0.0, "its GPU never worked");
    assert_eq!(user["processes"], 1);
    let span = &doc["idle_while_held"][0];
    assert_eq!(span["pid"], job.pid());
    assert_eq!(span["gpu"], 1);
    assert!(span["seconds"].as_f64().unwrap() >= 1.5, "{span}");
    assert_eq!(span["peak_memory_bytes"], 5000u64 << 20);
    let xid = &doc["events"][0];
    assert_eq!(
        (xid["kind"].as_str(), xid["detail"].as_str(), xid["gpu"].as_u64()),
        (Some("xid"), Some("79"), Some(0))
    );

    // By process, and a window given by times: one that ends before the recording began is
    // empty, and says so.
    let by_process: Value = serde_json::from_str(&stdout_of(
        gputop(&scenario).arg("report").arg(&db).args(["--by", "process", "--json"]),
    ))
    .unwrap();
    let owner = by_process["owners"][0]["owner"].as_str().unwrap();
    assert!(owner.starts_with(&format!("{} ", job.pid())), "{owner}");
    let before = stdout_of(gputop(&scenario).arg("report").arg(&db).args([
        "--since",
        "2020-01-01 00:00",
        "--until",
        "2020-01-02T00:00:00Z",
    ]));
    assert!(before.contains("No samples in this window."), "{before}");
    let text = stdout_of(gputop(&scenario).arg("report").arg(&db).args(["--idle-min", "1s"]));
    assert!(text.contains("Held while idle (GPU under 5 %), longest first:"), "{text}");
    assert!(text.contains("GPU 0  XID 79: GPU has fallen off the bus"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 100 || l.contains("gputop report")));
}

/// A recorder killed at any moment (SIGKILL) leaves a file that opens with every committed
/// sample; a second recorder on a file refuses to start and names the first's PID.
#[test]
fn a_killed_recorder_leaves_a_readable_file_and_one_recorder_per_file() {
    let scenario = scenario_file("[[gpus]]\nname = \"A\"\nutilization_gpu = 50\n");
    let dir = temp_dir();
    let db = dir.path().join("r.db");
    let mut counts = Vec::new();
    for round in 0..4u64 {
        let mut recorder = gputop_std(&scenario)
            .args(["--interval", "0.1", "record", "--out"])
            .arg(&db)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Its first line comes once the file and its schema exist: the kills below land
        // while it samples, however slowly a loaded machine starts it.
        let mut started = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(recorder.stderr.as_mut().unwrap()),
            &mut started,
        )
        .unwrap();
        assert!(started.contains("recording every"), "{started}");
        if round == 0 {
            std::thread::sleep(Duration::from_millis(500));
            let second = gputop_std(&scenario).args(["record", "--out"]).arg(&db).output().unwrap();
            assert_eq!(second.status.code(), Some(2));
            let err = String::from_utf8_lossy(&second.stderr);
            assert!(
                err.contains(&format!("already being recorded by PID {}", recorder.id())),
                "{err}"
            );
        }
        std::thread::sleep(Duration::from_millis(300 + 137 * round));
        recorder.kill().unwrap();
        recorder.wait().unwrap();
        let conn = rusqlite::Connection::open(&db).unwrap();
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM samples", [], |r| r.get(0)).unwrap();
        counts.push(n);
    }
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "every round adds samples: {counts:?}");
    let report = gputop_std(&scenario).arg("report").arg(&db).arg("--json").output().unwrap();
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
}

/// A file size limit (as a full disk would) is one line on stderr; the recorder keeps sampling
/// instead of dying (of SIGXFSZ) or repeating itself, writes again once the limit is lifted
/// (`prlimit`, as space coming back), and the minutes it could not write are a gap in the
/// report. Under libfaketime at 60x, so seconds of refused writes are minutes of recording.
#[test]
fn a_full_disk_is_said_once_sampling_goes_on_and_writing_resumes() {
    if !have("faketime", &["--version"], "apt-get install faketime")
        || !have("prlimit", &["--version"], "apt-get install util-linux")
    {
        return;
    }
    let scenario = scenario_file("[[gpus]]\nname = \"A\"\nutilization_gpu = 50\n");
    let dir = temp_dir();
    let db = dir.path().join("r.db");
    let bin = assert_cmd::cargo::cargo_bin("gputop");
    // 256 KiB: room for the schema and some samples (a commit adds a page or two to the WAL),
    // then EFBIG.
    let recorder = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -S -f 256; exec faketime -f '@2026-11-20 10:00:00 x60' '{}' --interval 1 record --out '{}'",
            bin.display(),
            db.display()
        ))
        .env("TZ", "UTC")
        .env("GPUTOP_NVML_LIB", fake_nvml())
        .env("GPUTOP_FAKE_NVML_SCENARIO", scenario.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut recorder = FaketimeChild(recorder);
    let (lines, said) = std::sync::mpsc::channel();
    let stderr = recorder.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut err = String::new();
    let wait_for = |err: &mut String, text: &str| loop {
        match said.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                err.push_str(&line);
                err.push('\n');
                if line.contains(text) {
                    return;
                }
            }
            Err(e) => panic!("no \"{text}\" from the recorder ({e}):\n{err}"),
        }
    };
    wait_for(&mut err, "cannot write");
    // Three minutes of its clock refused, then room again.
    std::thread::sleep(Duration::from_secs(3));
    assert!(recorder.0.try_wait().unwrap().is_none(), "the recorder is still sampling");
    let pid = recorder.program().expect("the recorder under faketime");
    let lifted = Command::new("prlimit").args(["--pid", &pid, "--fsize=unlimited"]).status();
    assert!(lifted.unwrap().success());
    wait_for(&mut err, "again");
    std::thread::sleep(Duration::from_secs(2));
    drop(recorder);
    let err = err + &said.iter().collect::<Vec<_>>().join("\n");
    assert_eq!(err.matches("cannot write").count(), 1, "said once: {err}");
    assert!(err.contains("disk I/O error: File too large"), "{err}");

    let conn = rusqlite::Connection::open(&db).unwrap();
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    drop(conn);
    let doc: Value = serde_json::from_str(&stdout_of(
        gputop(&scenario).arg("report").arg(&db).args(["--since", "2026-11-20T09:00:00Z"]).args([
            "--until",
            "2026-11-20T11:00:00Z",
            "--json",
        ]),
    ))
    .unwrap();
    let gaps = doc["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "the refused minutes, and only those: {doc:#}");
    assert!(gaps[0]["seconds"].as_f64().unwrap() >= 60.0, "{doc:#}");
    let from = chrono::DateTime::parse_from_rfc3339(gaps[0]["from"].as_str().unwrap()).unwrap();
    let newest: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT MAX(taken_at) FROM ticks", [], |r| r.get(0))
        .unwrap();
    let resumed = from.timestamp_millis() + gaps[0]["seconds"].as_f64().unwrap() as i64 * 1000;
    assert!(newest >= resumed + 60_000, "a minute and more recorded after the gap: {doc:#}");
}

#[test]
fn a_missing_or_foreign_file_is_one_line_and_exit_2() {
    let scenario = scenario_file("[[gpus]]\nname = \"A\"\n");
    let dir = temp_dir();
    let out = gputop_std(&scenario).arg("report").arg(dir.path().join("none.db")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no recording at"), "{err}");
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, "not a database at all, just text").unwrap();
    for mode in ["report", "record"] {
        let mut cmd = gputop_std(&scenario);
        match mode {
            "report" => cmd.arg("report").arg(&junk),
            _ => cmd.args(["record", "--out"]).arg(&junk),
        };
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{mode}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is not a gputop recording"), "{mode}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// `gputop serve --record PATH`: the exporter's own samples go into a recording while it serves
/// metrics; a second recorder on that file is refused, and the recording reads back.
#[test]
fn the_exporter_records_what_it_serves() {
    use std::io::BufRead;
    let scenario = scenario_file("[[gpus]]\nname = \"Served\"\nutilization_gpu = 64\n");
    let dir = temp_dir();
    let db = dir.path().join("serve.db");
    let mut serve = gputop_std(&scenario)
        .args(["--interval", "0.1", "serve", "--listen", "127.0.0.1:0", "--record"])
        .arg(&db)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(serve.stderr.take().unwrap()).lines();
    let recording = lines.next().unwrap().unwrap();
    assert!(recording.contains("recording every 0.1s into"), "{recording}");
    let serving = lines.next().unwrap().unwrap();
    let addr = serving.rsplit("http://").next().unwrap().trim_end_matches("/metrics").to_string();
    std::thread::sleep(Duration::from_millis(800));
    let metrics = ureq::get(&format!("http://{addr}/metrics")).call().unwrap().into_body();
    let text = metrics.into_with_config().read_to_string().unwrap();
    assert!(text.contains("gputop_gpu_utilization_ratio"), "{text}");
    let second = gputop_std(&scenario).args(["record", "--out"]).arg(&db).output().unwrap();
    assert_eq!(second.status.code(), Some(2), "{}", String::from_utf8_lossy(&second.stderr));
    // SIGTERM: the exporter stops; what it recorded stays.
    unsafe { libc::kill(serve.id() as i32, libc::SIGTERM) };
    assert!(serve.wait().unwrap().success());
    let out = stdout_of(gputop(&scenario).arg("report").arg(&db).arg("--json"));
    let doc: Value = serde_json::from_str(&out).unwrap();
    let gpu = &doc["gpus"][0];
    assert_eq!(gpu["name"], "Served", "{doc}");
    assert!(gpu["samples"].as_u64().unwrap_or(0) >= 4, "{gpu}");
}

/// Energy split by SM share, and the report as CSV and as one HTML page: every string from the
/// recording escaped (a hostile command line cannot inject markup), nothing from the network.
#[test]
fn the_report_splits_energy_by_sm_share_and_escapes_csv_and_html() {
    let hostile = "<script>alert(1)</script>\x1b[2J";
    let busy = Sleeper::with_argv0(hostile);
    let light = Sleeper::spawn();
    let other = Sleeper::spawn();
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\nutilization_gpu = 90\npower_w = 400\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 3000\nsm_util = 75\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 1000\nsm_util = 25\n\
         [[gpus]]\nname = \"NVIDIA A100\"\nutilization_gpu = 50\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 500\n",
        busy.pid(),
        light.pid(),
        other.pid()
    ));
    let dir = temp_dir();
    let db = dir.path().join("record.db");
    let mut recorder = gputop_std(&scenario)
        .args(["--interval", "0.2", "record", "--out"])
        .arg(&db)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on our own child's PID.
    unsafe { libc::kill(recorder.id() as i32, libc::SIGTERM) };
    assert!(recorder.wait().unwrap().success());

    let doc: Value = serde_json::from_str(&stdout_of(
        gputop(&scenario).arg("report").arg(&db).args(["--by", "process", "--json"]),
    ))
    .unwrap();
    let energy_of = |pid: u32| {
        let owners = doc["owners"].as_array().unwrap();
        let o =
            owners.iter().find(|o| o["owner"].as_str().unwrap().starts_with(&format!("{pid} ")));
        o.unwrap_or_else(|| panic!("no owner {pid}: {doc:#}"))["energy_kwh"].clone()
    };
    let (big, small) =
        (energy_of(busy.pid()).as_f64().unwrap(), energy_of(light.pid()).as_f64().unwrap());
    assert!(
        small > 0.0 && (big / small - 3.0).abs() < 1e-6,
        "75 % and 25 % of the SMs: {big} {small}"
    );
    // Together they had the GPU's energy (400 W over the samples).
    let gpu0 = doc["gpus"][0]["energy_kwh"].as_f64().unwrap();
    assert!((big + small - gpu0).abs() / gpu0 < 0.01, "{big} + {small} vs {gpu0}");
    assert_eq!(energy_of(other.pid()), Value::Null, "no power reading: no energy, not 0");

    let csv =
        stdout_of(gputop(&scenario).arg("report").arg(&db).args(["--by", "process", "--csv"]));
    let mut rows = ::csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(
        rows.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "process",
            "gpu_hours_held",
            "gpu_hours_busy",
            "energy_kwh",
            "peak_memory_bytes",
            "processes"
        ]
    );
    let records: Vec<::csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3, "{csv}");
    assert!(!csv.contains('\x1b'), "{csv:?}");
    assert!(csv.contains("<script>alert(1)</script>\\x1b[2J 600"), "{csv}");
    let by_gpu = stdout_of(gputop(&scenario).arg("report").arg(&db).args(["--by", "gpu", "--csv"]));
    assert_eq!(by_gpu.lines().count(), 3, "{by_gpu}");
    assert!(by_gpu.starts_with("gpu,uuid,name,samples,busy_share"), "{by_gpu}");

    let page_path = dir.path().join("report.html");
    let out = gputop(&scenario)
        .arg("report")
        .arg(&db)
        .args(["--by", "process", "--idle-min", "1s", "--html"])
        .arg(&page_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert_eq!(
        page.matches("<svg width=\"900\"").count(),
        3,
        "two line charts and the owners' bars"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2J 600"), "escaped");
    assert!(!page.contains("<script"), "no markup from a command line, and no script at all");
    assert!(!page.contains('\x1b'));
    assert!(!page.contains("://"), "nothing fetched from elsewhere");
    assert!(page.contains("NVIDIA H100 80GB HBM3"));
}

/// A report sums per-minute rollups where the recorder wrote them and raw samples elsewhere:
/// the same recording reported from rollups and from its raw samples alone says the same.
#[test]
fn a_report_from_rollups_equals_one_from_raw_samples() {
    let dir = temp_dir();
    let db = dir.path().join("synthetic.db");
    // 19:58 to 20:04 UTC: two minutes of work, then the processes hold the GPUs idle.
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-20T19:58:00Z").unwrap().to_utc();
    gputop::testing::recording::synthetic(&db, start, Duration::from_secs(1), 360, 2, 2).unwrap();
    let scenario = scenario_file("[[gpus]]\nname = \"A\"\n");
    let report = |by: &str| -> Value {
        serde_json::from_str(&stdout_of(gputop(&scenario).arg("report").arg(&db).args([
            "--since",
            "2026-11-20T19:58:30Z",
            "--until",
            "2026-11-20T20:03:45Z",
            "--idle-min",
            "2m",
            "--by",
            by,
            "--json",
        ])))
        .unwrap()
    };
    let (users, processes) = (report("user"), report("process"));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rolled: i64 = conn.query_row("SELECT COUNT(*) FROM minutes", [], |r| r.get(0)).unwrap();
    assert_eq!(rolled, 12, "6 minutes of 2 GPUs");
    conn.execute_batch("DELETE FROM minutes; DELETE FROM process_minutes;").unwrap();
    drop(conn);
    let (raw_users, raw_processes) = (report("user"), report("process"));
    // Energy is stored in whole millijoules: equal to the millionth of a kWh.
    let rounded = |mut doc: Value| {
        for section in ["gpus", "owners"] {
            for row in doc[section].as_array_mut().unwrap() {
                if let Some(e) = row["energy_kwh"].as_f64() {
                    row["energy_kwh"] = serde_json::json!((e * 1e6).round() / 1e6);
                }
            }
        }
        doc
    };
    assert_eq!(rounded(users.clone()), rounded(raw_users));
    assert_eq!(rounded(processes), rounded(raw_processes));
    // And what it says: 90 s of work then 3 min 45 s held idle, by three users.
    let gpu = &users["gpus"][0];
    assert_eq!(gpu["samples"], 316);
    assert!((gpu["busy_share"].as_f64().unwrap() - 90.0 / 316.0).abs() < 1e-9, "{gpu}");
    let span = &users["idle_while_held"][0];
    assert_eq!(span["seconds"], 226.0, "{span}");
    assert_eq!(users["owners"].as_array().unwrap().len(), 3);
}

/// Time the recorder was away is said: how much of the window is recorded, and the gaps.
#[test]
fn a_report_says_what_was_not_recorded() {
    let dir = temp_dir();
    let db = dir.path().join("gappy.db");
    let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc();
    let one = Duration::from_secs(1);
    gputop::testing::recording::synthetic(&db, at("2026-11-20T10:00:00Z"), one, 240, 1, 1).unwrap();
    gputop::testing::recording::synthetic(&db, at("2026-11-20T10:06:00Z"), one, 120, 1, 1).unwrap();
    let scenario = scenario_file("[[gpus]]\nname = \"A\"\n");
    let args = ["--since", "2026-11-20T09:00:00Z", "--until", "2026-11-20T11:00:00Z"];
    let doc: Value = serde_json::from_str(&stdout_of(
        gputop(&scenario).arg("report").arg(&db).args(args).arg("--json"),
    ))
    .unwrap();
    assert_eq!(doc["recorded_seconds"], 360.0);
    assert_eq!(doc["gaps"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(doc["gaps"][0]["from"], "2026-11-20T10:04:00Z");
    assert_eq!(doc["gaps"][0]["seconds"], 120.0);
    let text = stdout_of(gputop(&scenario).arg("report").arg(&db).args(args));
    assert!(text.contains("6:00 recorded"), "{text}");
    assert!(text.contains("Not recorded (longest first): 2026-11-20 10:04 for 2:00"), "{text}");
}

/// Twenty minutes of a scenario whose every figure is known in advance, recorded in about
/// twenty seconds: libfaketime runs the recorder's clock (and so the fake NVML's, in the same
/// process) 60 times faster from 09:59:50 UTC. GPU 0 works for five minutes, is throttled from 10:02
/// to 10:04, then stays held idle by one user for fifteen; GPU 1 is busy for another user and
/// falls off the bus for two minutes. Durations are checked to two samples (20 s): a loaded
/// machine that stalls the recorder for 0.2 s stalls it for 12 s of its clock.
#[test]
fn a_report_over_known_scenario_time_checks_every_figure() {
    if !have("faketime", &["--version"], "apt-get install faketime") {
        return;
    }
    let mine = Sleeper::spawn();
    let Some(theirs) = Sleeper::as_user(65534) else {
        skipped("running a process as a second user (nobody) needs root");
        return;
    };
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"Trainer\"\nmemory_total_mib = 81920\nenergy_mj = 0\n\
         utilization_gpu = {{ steps = [[0, 90], [300, 2]] }}\n\
         power_w = {{ steps = [[0, 300], [300, 60]] }}\n\
         throttle_reasons = 0x20\n\
         throttle_active = {{ period_s = 3600, on_s = 120, offset_s = -120 }}\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 20000\n\
         sm_util = {{ steps = [[0, 88], [300, 0]] }}\n\
         [[gpus]]\nname = \"Flaky\"\nmemory_total_mib = 81920\nenergy_mj = 0\n\
         utilization_gpu = 50\npower_w = 200\nlost_between_s = [600, 720]\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 8000\nsm_util = 50\n",
        mine.pid(),
        theirs.pid()
    ));
    let dir = temp_dir();
    let db = dir.path().join("known.db");
    let recorder = Command::new("faketime")
        .args(["-f", "@2026-11-20 09:59:50 x60"])
        .arg(assert_cmd::cargo::cargo_bin("gputop"))
        .args(["--interval", "10", "record", "--out"])
        .arg(&db)
        .env("TZ", "UTC")
        .env("GPUTOP_NVML_LIB", fake_nvml())
        .env("GPUTOP_FAKE_NVML_SCENARIO", scenario.path())
        .env_remove("GPUTOP_FAKE_NVML_TIME")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // faketime waits for the recorder, its child: signals go to the recorder.
    let recorder = FaketimeChild(recorder);
    // Until a sample past 10:20:10 is committed (about twenty seconds).
    let end_ms = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:20:10Z").unwrap();
    let started = std::time::Instant::now();
    loop {
        let newest = rusqlite::Connection::open(&db)
            .and_then(|c| c.query_row("SELECT MAX(taken_at) FROM ticks", [], |r| r.get(0)))
            .unwrap_or(None::<i64>);
        if newest.is_some_and(|t| t >= end_ms.timestamp_millis()) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "the recording never reached 10:20");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(recorder);

    let report = |args: &[&str]| {
        let window = ["--since", "2026-11-20T10:00:00Z", "--until", "2026-11-20T10:20:00Z"];
        stdout_of(gputop(&scenario).arg("report").arg(&db).args(window).args(args))
    };
    let doc: Value = serde_json::from_str(&report(&["--json"])).unwrap();
    let near = |value: &Value, expected: f64, within: f64| {
        let v = value.as_f64().unwrap_or(f64::NAN);
        assert!((v - expected).abs() <= within, "{v} is not {expected} ± {within}\n{doc:#}");
    };
    let (sample, hour) = (20.0, 3600.0);
    near(&doc["recorded_seconds"], 1200.0, sample);
    assert_eq!(doc["gaps"], serde_json::json!([]));

    // GPU 0: 90 % for 5 of 20 minutes at 300 W, then 2 % at 60 W; throttled 2 minutes.
    let trainer = &doc["gpus"][0];
    assert_eq!(trainer["name"], "Trainer");
    near(&trainer["samples"], 120.0, 2.0);
    near(&trainer["busy_share"], 0.25, 2.0 / 118.0);
    near(
        &trainer["mean_utilization_percent"],
        (5.0 * 90.0 + 15.0 * 2.0) / 20.0,
        2.0 * 88.0 / 118.0,
    );
    assert_eq!(trainer["p95_utilization_percent"], 90);
    assert_eq!(trainer["peak_memory_bytes"], 20000u64 << 20);
    // Energy from the counter between the window's first and last samples: short at each end.
    let (trainer_kwh, end_kwh) = ((300.0 * 300.0 + 900.0 * 60.0) / 3.6e6, 360.0 * sample / 3.6e6);
    near(&trainer["energy_kwh"], trainer_kwh, end_kwh);
    near(&trainer["throttled_seconds"], 120.0, sample);
    assert_eq!(trainer["lost_seconds"], 0.0);
    // GPU 1: 50 % at 200 W throughout, off the bus for 2 minutes (its counter kept counting).
    let flaky = &doc["gpus"][1];
    assert_eq!(flaky["name"], "Flaky");
    assert_eq!(flaky["busy_share"], 1.0);
    assert_eq!(flaky["mean_utilization_percent"], 50.0);
    assert_eq!(flaky["p95_utilization_percent"], 50);
    assert_eq!(flaky["peak_memory_bytes"], 8000u64 << 20);
    near(&flaky["energy_kwh"], 200.0 * 1200.0 / 3.6e6, 200.0 * sample / 3.6e6);
    near(&flaky["throttled_seconds"], 0.0, 0.0);
    near(&flaky["lost_seconds"], 120.0, sample);

    // Two users: one held GPU 0 all along and kept it busy 5 minutes; the other held GPU 1
    // whenever it answered, busy all that time. Each gets its GPU's energy (the only process).
    let owners = doc["owners"].as_array().unwrap();
    assert_eq!(owners.len(), 2, "{doc:#}");
    let nobody = owners.iter().find(|o| o["owner"] == "nobody").expect("nobody's row");
    let me = owners.iter().find(|o| o["owner"] != "nobody").unwrap();
    near(&me["gpu_hours_held"], 1200.0 / hour, sample / hour);
    near(&me["gpu_hours_busy"], 300.0 / hour, sample / hour);
    assert_eq!(me["peak_memory_bytes"], 20000u64 << 20);
    near(&me["energy_kwh"], trainer_kwh, end_kwh);
    assert_eq!(me["processes"], 1);
    near(&nobody["gpu_hours_held"], 1080.0 / hour, sample / hour);
    near(&nobody["gpu_hours_busy"], 1080.0 / hour, sample / hour);
    assert_eq!(nobody["peak_memory_bytes"], 8000u64 << 20);
    near(&nobody["energy_kwh"], 200.0 * 1080.0 / 3.6e6, 200.0 * sample / 3.6e6);
    assert_eq!(nobody["processes"], 1, "the same process before and after the loss");

    // Held idle: GPU 0 from 10:05 to the end of the window, by the first user's process.
    let spans = doc["idle_while_held"].as_array().unwrap();
    assert_eq!(spans.len(), 1, "{doc:#}");
    let span = &spans[0];
    assert_eq!((span["gpu"].as_u64(), span["pid"].as_u64()), (Some(0), Some(mine.pid().into())));
    assert_eq!(span["user"], me["owner"]);
    let from = chrono::DateTime::parse_from_rfc3339(span["from"].as_str().unwrap()).unwrap();
    let five_past = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:05:00Z").unwrap();
    near(&serde_json::json!((from - five_past).num_milliseconds() as f64 / 1000.0), 0.0, sample);
    near(&span["seconds"], 900.0, sample);
    assert_eq!(span["peak_memory_bytes"], 20000u64 << 20);

    // Events: the slowdown on GPU 0 at 10:02 and its end at 10:04; GPU 1 lost, back 2 min later.
    let events: Vec<(String, u64, f64)> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            let at = chrono::DateTime::parse_from_rfc3339(e["at"].as_str().unwrap()).unwrap();
            let minute = (at - five_past).num_milliseconds() as f64 / 60_000.0 + 5.0;
            (e["kind"].as_str().unwrap().to_string(), e["gpu"].as_u64().unwrap(), minute)
        })
        .collect();
    let kinds: Vec<(&str, u64)> = events.iter().map(|(k, g, _)| (k.as_str(), *g)).collect();
    assert_eq!(
        kinds,
        [("slowdown_started", 0), ("slowdown_ended", 0), ("gpu_lost", 1), ("gpu_back", 1)]
    );
    near(&serde_json::json!(events[0].2), 2.0, sample / 60.0);
    near(&serde_json::json!(events[1].2), 4.0, sample / 60.0);
    near(&serde_json::json!(events[3].2 - events[2].2), 2.0, sample / 60.0);

    let text = report(&[]);
    assert!(text.contains("GPU 0  SW thermal slowdown ended"), "{text}");
    assert!(text.contains("GPU 1  fell off the bus"), "{text}");
}

/// `faketime PROGRAM`: on drop, SIGTERM to the program (faketime's child), then faketime
/// reaped.
struct FaketimeChild(std::process::Child);

impl FaketimeChild {
    /// The PID of the program faketime runs.
    fn program(&self) -> Option<String> {
        let pid = self.0.id();
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
        children.split_whitespace().next().map(str::to_string)
    }
}

impl Drop for FaketimeChild {
    fn drop(&mut self) {
        if let Some(child) = self.program() {
            let _ = Command::new("kill").args(["-TERM", &child]).status();
        }
        let _ = self.0.wait();
    }
}
