//! One duration parser for every duration flag (issue 30): a bare number is seconds, units are
//! read as `humantime` reads them, and anything else is refused with exit 2 and one line that
//! names the flag and what was typed. Through the real binary, on the demo fleet.

use std::process::{Command, Stdio};

/// Runs `gputop ARGS` on the demo: (exit code, stderr).
fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin("gputop"))
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env_remove("GPUTOP_INTERVAL")
        .env_remove("GPUTOP_NVML_LIB")
        .env_remove("CUDA_VISIBLE_DEVICES")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn a_bare_number_is_seconds_for_every_duration_flag() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.db");
    let missing = missing.to_str().unwrap();
    // Accepted: what follows is the recording that is not there, not the flag.
    for flag in ["--idle-min", "--since"] {
        let (code, err) = run(&["report", missing, flag, "90"]);
        assert_eq!(code, 2, "{flag} 90: {err}");
        assert!(err.contains("no recording at"), "{flag} 90: {err}");
    }
    // `--keep 90` failed before (a unit was needed) while `--timeout 90` worked.
    let (code, err) =
        run(&["--demo", "--interval", "0.1", "wait", "-n", "4", "--timeout", "0.3", "--", "true"]);
    assert_eq!(code, 1, "gave up after 0.3 s: {err}");
    let (code, err) = run(&["--demo", "--count", "1", "--watch", "0.2", "--json"]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = run(&["--demo", "--once", "--interval", "2s"]);
    assert_eq!(code, 0, "--interval takes units too: {err}");
}

#[test]
fn garbage_is_refused_in_one_line_naming_the_flag_and_the_value() {
    for (args, flag) in [
        (&["report", "--idle-min", "soon"][..], "--idle-min"),
        (&["--demo", "record", "--keep", "5x"], "--keep"),
        (&["--demo", "record", "--keep-raw", "3 weeks ago"], "--keep-raw"),
        (&["--demo", "wait", "--timeout", "later", "--", "true"], "--timeout"),
        (&["--demo", "serve", "--stale-after", "1 fortnight"], "--stale-after"),
        (&["--demo", "--once", "--interval", "fast"], "--interval"),
    ] {
        let (code, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        let first = err.lines().next().unwrap_or_default();
        assert!(first.contains(flag), "{args:?}: {first}");
        let typed = args[args.iter().position(|a| *a == flag).unwrap() + 1];
        assert!(first.contains(&format!("`{typed}`")), "{args:?}: {first}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
