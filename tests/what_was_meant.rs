//! Issue 29, point 5: what the user typed does what they meant, or one line says why not;
//! through the real binary, on the demo fleet or the fake NVML library.

mod common;

use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use common::pty::Pty;
use common::tmux::Tmux;
use common::*;
use serde_json::Value;

/// `gputop` with no NVML library from the environment: the demo needs none.
fn demo_gputop() -> StdCommand {
    let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("gputop"));
    cmd.env("LC_ALL", "C.UTF-8")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env_remove("GPUTOP_NVML_LIB")
        .env_remove("GPUTOP_INTERVAL")
        .env_remove("CUDA_VISIBLE_DEVICES");
    cmd
}

/// Runs `gputop ARGS`: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = demo_gputop().args(args).stdin(Stdio::null()).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

/// A refusal: exit 2 and one line on stderr, naming `what`.
fn assert_refused(args: &[&str], what: &str) {
    let (code, out, err) = run(args);
    assert_eq!(code, 2, "{args:?}: {err}");
    assert!(out.is_empty(), "{args:?}: {out}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    assert!(err.contains(what), "{args:?}: {err}");
}

#[test]
fn demo_before_a_subcommand_records_reports_and_runs_it() {
    let dir = temp_dir();
    // A directory that does not exist yet, and a name that does not end in .db.
    let db = dir.path().join("new/sub/gpus.sqlite");
    let record = demo_gputop()
        .args(["--demo", "record", "--out"])
        .arg(&db)
        .args(["--interval", "0.2"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once it records (its handler is set before the first sample is written).
    let started = Instant::now();
    while !dir.path().join("new/sub/gpus.sqlite").exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "the recorder never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on the child just started.
    unsafe { libc::kill(record.id() as i32, libc::SIGINT) };
    let out = record.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("created the directory"), "the new directory is said: {err}");
    assert!(db.exists(), "recorded into the file asked for");
    assert!(dir.path().join("new/sub/gpus.sqlite.lock").exists(), "the lock is named after it");
    assert!(!dir.path().join("new/sub/gpus.db.lock").exists());

    let (code, out, err) = run(&["--demo", "report", db.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    // The default demo: 4 NVIDIA GPUs, then an AMD and an Intel one.
    assert_eq!(report["gpus"].as_array().map(Vec::len), Some(6), "{report}");

    // Every other subcommand too: its own output, not a scenario file named after it.
    let (code, out, err) = run(&["--demo", "health"]);
    // 0: what the demo's AMD and Intel GPUs' drivers do not give is said, not judged unknown.
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("not checked (not provided by the amdgpu driver)"), "{out}");
    assert!(out.contains("GPU 0"), "{out}");
    let (_, out, err) = run(&["--demo", "select", "--format", "json"]);
    assert!(serde_json::from_str::<Value>(&out).is_ok(), "{out}{err}");
    let (code, _, err) = run(&["--demo", "wait", "-n", "4", "--timeout", "1", "--", "true"]);
    assert_eq!(code, 1, "gave up waiting: {err}");
    assert!(err.contains("gave up after"), "{err}");
    let (code, out, _) = run(&["--demo", "help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Usage"), "{out}");
    // doctor checks the real machine: it says so rather than ignore --demo.
    let (code, out, err) = run(&["--demo", "doctor", "--no-python", "--json"]);
    assert!(matches!(code, 0..=2), "{code}: {err}");
    assert!(serde_json::from_str::<Value>(&out).is_ok(), "doctor's JSON: {out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("doctor checks this machine's real GPU stack"), "{err}");
}

#[test]
fn flags_the_readme_promises_to_refuse_are_refused_in_one_line() {
    assert_refused(&["--demo", "--once", "--format", "csv,noheader"], "--format shapes");
    assert_refused(&["--demo", "-L", "--json"], "-L/--list-gpus");
    assert_refused(&["--demo", "-L", "--csv"], "-L/--list-gpus");
    assert_refused(&["--demo", "--once", "--nvml-lib", "/lib/libnvidia-ml.so.1"], "--nvml-lib");
    assert_refused(&["--demo", "--remote", "127.0.0.1:9"], "--demo simulates");
    assert_refused(&["--demo", "serve", "--dcgm-names", "--processes"], "--dcgm-names");
    // An exported GPUTOP_NVML_LIB is no flag typed: the demo still runs.
    let out = demo_gputop()
        .env("GPUTOP_NVML_LIB", "/nonexistent/libnvidia-ml.so.1")
        .args(["--demo", "--once"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_count_of_0_says_1_or_more() {
    for args in [&["--demo", "--watch", "--count", "0"][..], &["--demo", "select", "-n", "0"]] {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("1 or more"), "{args:?}: {err}");
        assert!(!err.contains("..") && !err.contains("4294967295"), "{args:?}: {err}");
    }
}

#[test]
fn wait_refuses_a_command_it_cannot_run_before_waiting() {
    let dir = temp_dir();
    let plain = dir.path().join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    let cases = [
        ("/nonexistent/program", 127, "no such file"),
        ("no-such-command-gputop-29", 127, "command not found"),
        (plain.to_str().unwrap(), 126, "not executable"),
        (dir.path().to_str().unwrap(), 126, "is a directory"),
    ];
    for (program, want, why) in cases {
        let started = Instant::now();
        // Every demo GPU is held: without the check this would wait out the minute.
        let (code, _, err) = run(&["--demo", "wait", "-n", "4", "--timeout", "60", "--", program]);
        assert_eq!(code, want, "{program}: {err}");
        assert!(err.contains(why), "{program}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(started.elapsed() < Duration::from_secs(10), "at once, not after waiting");
    }
}

#[test]
fn select_json_says_why_when_too_few_gpus_are_free() {
    let (code, out, err) = run(&["--demo", "select", "--format", "json", "-n", "4"]);
    assert_eq!(code, 1, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(doc["cuda_visible_devices"], Value::Null);
    assert_eq!(doc["wanted"], 4);
    assert!(doc["error"].as_str().is_some_and(|e| e.starts_with("4 wanted")), "{doc}");
    assert_eq!(doc["candidates"].as_array().map(Vec::len), Some(4), "{doc}");
    let not_free = doc["candidates"].as_array().unwrap().iter().filter(|g| g["free"] == false);
    assert!(not_free.clone().all(|g| g["why_not"].is_string()), "{doc}");
}

#[test]
fn a_container_or_pod_that_matches_nothing_says_so() {
    for args in [
        &["--demo", "--once", "--container", "nosuch"][..],
        &["--demo", "--json", "--pod", "nosuch"],
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(!out.is_empty(), "the GPUs are still shown");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("no GPU process matches --"), "{err}");
        assert!(err.contains("nosuch"), "{err}");
    }
    // Where the processes could not be listed, a match may be hiding: nothing is claimed.
    let scenario =
        scenario_file("[[gpus]]\nname = \"G0\"\nerrors = { processes = \"NO_PERMISSION\" }\n");
    let out = gputop(&scenario).args(["--once", "--pod", "nosuch"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("no GPU process matches"), "{err}");
}

/// One idle GPU for `wait` to settle on.
const IDLE_GPU: &str =
    "[[gpus]]\nname = \"G0\"\nuuid = \"GPU-00000000-aaaa-bbbb-cccc-000000000000\"\n\
    memory_total_mib = 40000\nutilization_gpu = 0\n";

#[test]
fn wait_logs_a_line_per_change_of_state_not_per_second() {
    let scenario = scenario_file(IDLE_GPU);
    let locks = temp_dir();
    // Free, then settling for 3 s at 5 samples a second: the count of seconds free changes,
    // the state does not.
    let out = gputop_std(&scenario)
        .args(["wait", "--lock-dir"])
        .arg(locks.path())
        .args(["--stable", "3", "--interval", "0.2", "--", "true"])
        .env_remove("CUDA_VISIBLE_DEVICES")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let waiting = err.lines().filter(|l| l.contains(" waiting: ")).count();
    assert_eq!(waiting, 1, "one line for one state:\n{err}");
    assert!(err.contains("running true"), "{err}");
}

#[test]
fn a_too_small_terminal_says_so_within_it() {
    let gputop = assert_cmd::cargo::cargo_bin("gputop");
    for (width, height) in [(20u16, 5u16), (10, 3)] {
        let command = format!(
            "env -u GPUTOP_NVML_LIB LC_ALL=C.UTF-8 XDG_CONFIG_HOME=/nonexistent '{}' --demo; sleep 30",
            gputop.display()
        );
        let Some(tmux) = Tmux::start(&command, width, height) else { return };
        let screen = tmux.wait_for("40×10");
        for line in screen.lines() {
            assert!(line.chars().count() <= usize::from(width), "{width}×{height}:\n{screen}");
        }
        assert!(screen.contains(&format!("{width}×{height}")), "names its size:\n{screen}");
        tmux.keys(&["q"]);
        let _ = tmux.cmd(&["kill-server"]).status();
    }
}

#[test]
fn on_a_dumb_terminal_the_watch_view_stands_in_and_q_quits_it() {
    let pty = Pty::open(100, 30);
    let mut cmd = demo_gputop();
    cmd.env("TERM", "dumb").args(["--demo", "--interval", "0.2"]);
    let mut child = pty.spawn(&mut cmd);
    let said = |b: &[u8]| String::from_utf8_lossy(b).contains("watch view");
    let out = pty.read_until(Duration::from_secs(10), said);
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(said(&out), "the fall-back is said:\n{text}");
    // A sample shown, then q.
    let _ = pty.read_until(Duration::from_secs(5), |b| String::from_utf8_lossy(b).contains("GPU"));
    pty.type_keys(b"q");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let status = status.expect("q quits the watch view");
    assert!(status.success(), "{status:?}");
    assert_eq!(text.matches("watch view").count(), 1, "said once:\n{text}");
    assert!(pty.cooked(), "the terminal's modes are back");
}

/// A subcommand that samples or examines this machine refuses another machine's data instead of
/// judging, recording or picking this one's while seeming to answer for those.
#[test]
fn a_subcommand_refuses_a_source_it_would_not_use() {
    let prom = ["--prometheus", "http://127.0.0.1:9"];
    for sub in ["select", "record", "serve", "doctor"] {
        assert_refused(&[&prom[..], &[sub]].concat(), "--prometheus does not apply");
    }
    assert_refused(&["--replay", "/nonexistent.db", "select"], "--replay does not apply");
    assert_refused(&["--remote", "127.0.0.1:9", "doctor"], "--remote does not apply");
    assert_refused(&["--demo", "--once", "--at", "5"], "--at picks a moment of a recording");
    assert_refused(
        &["--prometheus", "http://127.0.0.1:9", "report", "x.db"],
        "reads the recording",
    );
    // health says unknown (3) for anything that kept it from judging, with the same one line.
    let (code, out, err) = run(&["--prometheus", "http://127.0.0.1:9", "health"]);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty() && err.contains("--prometheus does not apply"), "{out}{err}");
}
