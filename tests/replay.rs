//! `--replay PATH`: a recording played back through the real binary on the fake NVML library.
//! What `--once --json` shows at a moment is what the recording holds for it; `--watch` plays
//! to the end and stops; the monitor shows the timeline and steps through it.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::Value;
use tempfile::{NamedTempFile, TempDir};

/// Records `scenario` for `seconds` at `interval` seconds on the real clock (so moving metrics
/// move), then stops the recorder as SIGTERM does.
fn record(scenario: &NamedTempFile, seconds: f64, interval: &str) -> (TempDir, PathBuf) {
    let dir = temp_dir();
    let db = dir.path().join("record.db");
    let mut recorder = gputop_std(scenario)
        .env_remove("GPUTOP_FAKE_NVML_TIME")
        .args(["--interval", interval, "record", "--out"])
        .arg(&db)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    // SAFETY: kill(2) on our own child's PID.
    unsafe { libc::kill(recorder.id() as i32, libc::SIGTERM) };
    assert!(recorder.wait().unwrap().success());
    (dir, db)
}

/// `(tick, taken_at in ms)` of every sample, oldest first.
fn ticks(db: &PathBuf) -> Vec<(i64, i64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT id, taken_at FROM ticks ORDER BY taken_at").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339()
}

fn json_at(scenario: &NamedTempFile, db: &PathBuf, args: &[&str]) -> Value {
    let out =
        stdout_of(gputop(scenario).arg("--replay").arg(db).args(args).args(["--once", "--json"]));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_moment_replays_as_it_was_recorded() {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\nmemory_total_mib = 81559\n\
         memory_used_mib = {{ base = 40000, amplitude = 30000, period_s = 2 }}\n\
         utilization_gpu = {{ base = 50, amplitude = 45, period_s = 1.5 }}\npower_w = 300\n\
         temperature_c = 60\nfan_pct = 40\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 5000\n\
         [[gpus]]\nname = \"NVIDIA L4\"\nmemory_total_mib = 23034\nutilization_gpu = 3\n\
         errors = {{ processes = \"NO_PERMISSION\" }}\n",
        job.pid()
    ));
    let (_dir, db) = record(&scenario, 1.6, "0.2");
    let ticks = ticks(&db);
    assert!(ticks.len() >= 5, "{ticks:?}");
    let (tick, at) = ticks[ticks.len() / 2];
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (util, used_kib): (i64, i64) = conn
        .query_row(
            "SELECT utilization_gpu, memory_used_kib FROM samples WHERE tick = ?1 AND gpu_index = 0",
            [tick],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();

    let doc = json_at(&scenario, &db, &["--at", &rfc3339(at)]);
    let taken = chrono::DateTime::parse_from_rfc3339(doc["taken_at"].as_str().unwrap()).unwrap();
    assert_eq!(taken.timestamp_millis(), at, "{doc:#}");
    let h100 = &doc["gpus"][0];
    assert_eq!(h100["name"], "NVIDIA H100 80GB HBM3");
    assert_eq!(h100["utilization"]["gpu_percent"], util);
    assert_eq!(h100["memory"]["used_bytes"], used_kib * 1024);
    assert_eq!(h100["memory"]["total_bytes"], 81559u64 << 20);
    assert_eq!(h100["power"]["draw_watts"], 300.0);
    assert_eq!(h100["temperature"]["gpu_celsius"], 60);
    // Not kept by a recording: null, and why.
    assert_eq!(h100["fan_percent"], Value::Null);
    assert_eq!(h100["missing"]["fan_percent"]["reason"], "not_recorded");
    let p = &h100["processes"][0];
    assert_eq!(p["pid"], job.pid());
    assert_eq!(p["gpu_memory_bytes"], 5000u64 << 20);
    assert_eq!((p["name"].as_str(), p["command"].as_str()), (Some("sleep"), Some("sleep 600")));
    assert!(p["user"].is_string(), "{p}");
    // The L4's processes could not be listed when it was recorded: unknown, not none.
    assert_eq!(doc["gpus"][1]["processes"], Value::Null);
    assert!(doc["gpus"][1]["missing"]["processes"].is_object(), "{doc:#}");
    assert_eq!(doc["host"]["driver_version"], "550.54.15");
    assert!(doc["host"]["hostname"].is_string());

    // Without --at: the newest sample; the first sample's time: the first (a time outside the
    // recording is an error: `times_outside_a_recording_or_any_calendar_are_one_line`); a
    // duration: that long before its end; --id: those GPUs.
    let newest = json_at(&scenario, &db, &[]);
    let last_ms = ticks.last().unwrap().1;
    let taken = |doc: &Value| {
        chrono::DateTime::parse_from_rfc3339(doc["taken_at"].as_str().unwrap())
            .unwrap()
            .timestamp_millis()
    };
    assert_eq!(taken(&newest), last_ms);
    let first = json_at(&scenario, &db, &["--at", &rfc3339(ticks[0].1)]);
    assert_eq!(taken(&first), ticks[0].1);
    let one = json_at(&scenario, &db, &["--id", "1"]);
    assert_eq!(one["gpus"].as_array().unwrap().len(), 1);
    assert_eq!(one["gpus"][0]["index"], 1);
    let uuid = one["gpus"][0]["uuid"].as_str().unwrap();
    assert_eq!(json_at(&scenario, &db, &["--id", uuid])["gpus"][0]["index"], 1);
    // A GPU the recording never had: the live monitor's line and exit code, not an empty table.
    let out = gputop(&scenario).arg("--replay").arg(&db).args(["--once", "--id", "5"]).output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("gputop: no GPU matches --id 5"));

    // --watch plays from --at to the end, one document per sample, then exits 0.
    let (_, second) = ticks[1];
    let out = stdout_of(gputop(&scenario).arg("--replay").arg(&db).args([
        "--at",
        &rfc3339(second),
        "--watch",
        "--json",
        "--interval",
        "0.1",
    ]));
    assert_eq!(out.lines().count(), ticks.len() - 1, "{out}");
    let csv = stdout_of(gputop(&scenario).arg("--replay").arg(&db).args(["--once", "--csv"]));
    assert_eq!(csv.lines().count(), 3, "{csv}");
}

#[test]
fn a_version_1_recording_replays_and_is_upgraded_by_a_recorder() {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"A\"\nmemory_total_mib = 1000\n[[gpus.processes]]\npid = {}\nused_memory_mib = 10\n\
         [[gpus]]\nname = \"B\"\nmemory_total_mib = 1000\n",
        job.pid()
    ));
    let (_dir, db) = record(&scenario, 0.7, "0.2");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "ALTER TABLE samples DROP COLUMN processes_listed; ALTER TABLE gpus DROP COLUMN vendor;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let doc = json_at(&scenario, &db, &[]);
    assert_eq!(doc["gpus"][0]["processes"][0]["pid"], job.pid(), "stored processes replay");
    // Nothing stored and a version 1 file cannot say whether none ran: unknown.
    assert_eq!(doc["gpus"][1]["processes"], Value::Null);
    assert_eq!(doc["gpus"][1]["missing"]["processes"]["reason"], "not_recorded");
    record_more(&scenario, &db);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 5, "upgraded to the newest schema");
    let doc = json_at(&scenario, &db, &[]);
    assert_eq!(doc["gpus"][1]["processes"], serde_json::json!([]), "listed, and nobody");
}

/// A process's type is recorded: a graphics process (Xorg) replays as `graphics` (`G`), as it
/// was live, not as compute. A recording made before types were stored (version 3) replays it
/// as `null` with the reason `not_recorded`, and a recorder that opens it upgrades it, its
/// unknown start times (stored as 0 then) becoming NULL.
#[test]
fn a_process_type_is_recorded_or_said_not_recorded() {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"A\"\nmemory_total_mib = 1000\n\
         [[gpus.processes]]\npid = {}\nkind = \"graphics\"\nused_memory_mib = 10\n",
        job.pid()
    ));
    let (_dir, db) = record(&scenario, 0.7, "0.2");
    let doc = json_at(&scenario, &db, &[]);
    let p = &doc["gpus"][0]["processes"][0];
    assert_eq!(
        (p["pid"].as_u64(), p["kind"].as_str()),
        (Some(job.pid().into()), Some("graphics")),
        "{p}"
    );
    let text =
        stdout_of(gputop(&scenario).arg("--replay").arg(&db).args(["--once", "--color", "never"]));
    let row = text.lines().find(|l| l.contains(&job.pid().to_string())).unwrap();
    assert!(row.split_whitespace().any(|w| w == "G"), "{row}");

    // As a version 3 file: no type column, an unknown start time stored as 0.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "ALTER TABLE processes DROP COLUMN kind; UPDATE processes SET start_ticks = 0;
             ALTER TABLE gpus DROP COLUMN vendor; PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let doc = json_at(&scenario, &db, &[]);
    let p = &doc["gpus"][0]["processes"][0];
    assert_eq!(p["kind"], Value::Null, "{p}");
    assert_eq!(p["missing"]["kind"]["reason"], "not_recorded", "{p}");
    let text =
        stdout_of(gputop(&scenario).arg("--replay").arg(&db).args(["--once", "--color", "never"]));
    let row = text.lines().find(|l| l.contains(&job.pid().to_string())).unwrap();
    assert!(!row.split_whitespace().any(|w| w == "C"), "never guessed as compute: {row}");
    assert!(row.contains("N/A"), "{row}");

    record_more(&scenario, &db);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 5);
    let zeros: i64 = conn
        .query_row("SELECT COUNT(*) FROM processes WHERE start_ticks = 0", [], |r| r.get(0))
        .unwrap();
    assert_eq!(zeros, 0, "an unknown start time is NULL, never 0");
}

fn record_more(scenario: &NamedTempFile, db: &PathBuf) {
    let mut recorder = gputop_std(scenario)
        .args(["--interval", "0.2", "record", "--out"])
        .arg(db)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    // SAFETY: kill(2) on our own child's PID.
    unsafe { libc::kill(recorder.id() as i32, libc::SIGTERM) };
    assert!(recorder.wait().unwrap().success());
}

#[test]
fn the_monitor_plays_a_recording_and_steps_through_it() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\nmemory_total_mib = 81559\nmemory_used_mib = 1000\n\
         utilization_gpu = 42\n",
    );
    let (_dir, db) = record(&scenario, 3.3, "0.5");
    let ticks = ticks(&db);
    let local = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%H:%M:%S").to_string()
    };
    let command = format!(
        "env TZ=UTC LC_ALL=C.UTF-8 GPUTOP_NVML_LIB=/nonexistent {} --replay {} --at '{}' --interval 5",
        assert_cmd::cargo::cargo_bin("gputop").display(),
        db.display(),
        rfc3339(ticks[0].1)
    );
    let Some(tmux) = common::tmux::Tmux::start(&command, 130, 30) else { return };
    let screen = tmux.wait_for("←/→ step");
    assert!(screen.contains("NVIDIA H100 80GB HBM3"), "{screen}");
    assert!(screen.contains("42%"), "{screen}");
    tmux.keys(&["Space"]);
    let paused = tmux.wait_for("⏸");
    let timeline =
        |screen: &str| screen.lines().find(|l| l.contains("←/→ step")).unwrap_or("").to_string();
    // The timeline line (not the header, which shows the sample's time too) once it shows
    // `what`: at once (a move samples the recording then, not at the next 5 s refresh).
    let timeline_shows = |what: &str| {
        let started = std::time::Instant::now();
        loop {
            let line = timeline(&tmux.screen());
            if line.contains(what) {
                return line;
            }
            assert!(started.elapsed() < Duration::from_secs(3), "{what:?} not on at once: {line}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // Paused (once the sample under way when the key came is shown), it stays; PgUp goes to
    // the start, → → steps two samples on (0.5 s each).
    assert!(timeline(&paused).contains('⏸'));
    std::thread::sleep(Duration::from_millis(1200));
    let before = timeline(&tmux.screen());
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(timeline(&tmux.screen()), before);
    tmux.keys(&["PageUp"]);
    timeline_shows(&local(ticks[0].1));
    tmux.keys(&["Right", "Right"]);
    timeline_shows(&local(ticks[2].1));
    assert!(!tmux.screen().contains("STALE"), "a replay is old on purpose");
    // g and a time: there.
    let last = ticks.last().unwrap().1;
    tmux.keys(&["g"]);
    tmux.wait_for("go to");
    tmux.keys(&["-l", &rfc3339(last)]);
    tmux.keys(&["Enter"]);
    let line = timeline_shows(&local(last));
    assert!(line.contains('⏸') && before.contains('⏸'));
    tmux.keys(&["q"]);
}

/// A replayed row is history: `k` on it never signals the local process that still has the
/// recorded PID and start time, the footer does not offer it, and pressing it says why.
#[test]
fn k_in_a_replay_never_signals_the_recorded_process() {
    let mut job = Sleeper::with_argv0("python");
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"NVIDIA L4\"\nmemory_total_mib = 23034\nutilization_gpu = 50\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 5000\n",
        job.pid()
    ));
    let (_dir, db) = record(&scenario, 1.2, "0.2");
    let command = format!(
        "env TZ=UTC LC_ALL=C.UTF-8 GPUTOP_NVML_LIB=/nonexistent {} --replay {} --interval 5",
        assert_cmd::cargo::cargo_bin("gputop").display(),
        db.display(),
    );
    let Some(tmux) = common::tmux::Tmux::start(&command, 130, 30) else { return };
    let screen = tmux.wait_for(&format!("{}", job.pid()));
    assert!(!screen.contains(" k kill "), "the footer offers k in a replay:\n{screen}");
    tmux.keys(&["Down", "k"]);
    tmux.wait_for("a recorded process (replay)");
    // Had a confirmation opened, Enter would have sent SIGTERM.
    tmux.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!tmux.screen().contains("SIGTERM"), "{}", tmux.screen());
    assert!(job.0.try_wait().unwrap().is_none(), "the recorded process was signalled");
    tmux.keys(&["q"]);
}

/// Every time and duration a user gives a report or a replay is checked: one line, exit 2,
/// naming the flag that is wrong; a moment the recording does not cover is said, never shown
/// as its first or last sample.
#[test]
fn times_outside_a_recording_or_any_calendar_are_one_line() {
    let scenario = scenario_file("[[gpus]]\nname = \"A\"\nutilization_gpu = 5\n");
    let (_dir, db) = record(&scenario, 1.0, "0.2");
    let cases: [(&[&str], &str); 6] = [
        (&["report", "--since", "100000000d"], "--since reaches back before any date"),
        (&["report", "--until", "2h"], "for the last 2h, use --since 2h"),
        (&["report", "--since", "2099-01-01"], "is after the recording's last sample"),
        (&["report", "--since", "2099-01-01", "--until", "2098-01-01"], "is after --until"),
        (&["--once", "--replay-at", "2099-01-01"], "is outside the recording"),
        (&["--once", "--replay-at", "100000000d"], "reaches back before any date"),
    ];
    for (args, says) in cases {
        let mut cmd = gputop_std(&scenario);
        match args[0] {
            "report" => cmd.arg("report").arg(&db).args(&args[1..]),
            _ => cmd.args(["--once", "--replay"]).arg(&db).args(["--at", args[2]]),
        };
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        if args.len() == 3 && args[1] == "--since" {
            assert!(!err.contains("--until"), "the user gave no --until: {err}");
        }
    }
}
