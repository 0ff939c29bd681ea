//! Bad conditions and bad input: one clear line on stderr, the documented exit code, never a
//! panic or a backtrace.

mod common;

use assert_cmd::Command;
use common::*;
use predicates::prelude::*;

fn one_line_without_panic() -> impl Predicate<str> {
    predicate::str::contains("panicked")
        .not()
        .and(predicate::str::contains("RUST_BACKTRACE").not())
        .and(predicate::function(|s: &str| s.lines().count() == 1))
}

#[test]
fn driver_not_loaded_exits_3_and_says_what_to_do() {
    let scenario = scenario_file("[driver]\ninit_error = \"DRIVER_NOT_LOADED\"\n");
    gputop(&scenario)
        .arg("--once")
        .assert()
        .code(3)
        .stdout("")
        .stderr(one_line_without_panic())
        .stderr(predicate::str::contains("the NVIDIA driver is not loaded"))
        .stderr(predicate::str::contains("gputop --demo"));
}

#[test]
fn no_permission_exits_3() {
    let scenario = scenario_file("[driver]\ninit_error = \"NO_PERMISSION\"\n");
    gputop(&scenario)
        .args(["--query-gpu=index", "--format=csv"])
        .assert()
        .code(3)
        .stderr(one_line_without_panic())
        .stderr(predicate::str::contains("no permission"));
}

#[test]
fn other_init_failures_exit_3() {
    let scenario = scenario_file("[driver]\ninit_error = \"LIB_RM_VERSION_MISMATCH\"\n");
    gputop(&scenario)
        .arg("--once")
        .assert()
        .code(3)
        .stderr(one_line_without_panic())
        .stderr(predicate::str::contains("versions do not match"));
}

#[test]
fn missing_library_exits_3() {
    let scenario = scenario_file("");
    gputop(&scenario)
        .args(["--once", "--nvml-lib", "/nonexistent/libnvidia-ml.so.1"])
        .assert()
        .code(3)
        .stderr(one_line_without_panic())
        .stderr(predicate::str::contains(
            "cannot load the NVIDIA management library (/nonexistent/libnvidia-ml.so.1)",
        ));
}

#[test]
fn a_library_that_is_not_nvml_exits_3() {
    // The C library this test runs on, wherever this system keeps it.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let libc = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.rsplit('/').next().is_some_and(|f| f.starts_with("libc.so")))
        .expect("this process maps a libc.so");
    let scenario = scenario_file("");
    gputop(&scenario)
        .args(["--once", "--nvml-lib", libc])
        .assert()
        .code(3)
        .stderr(one_line_without_panic())
        .stderr(predicate::str::contains("is it really libnvidia-ml?"));
}

#[test]
fn usage_errors_exit_2() {
    let scenario = scenario_file("[[gpus]]\nname = \"G\"\n");
    for args in [
        &["--once", "--interval", "0"][..],
        &["--query-gpu=index,bogus", "--format=csv"],
        &["--query-gpu=index", "--format=xml"],
        &["--once", "--json", "--csv"],
        &["--once", "--demo", "0"],
        &["--once", "--id", "banana"],
        &["--once", "--count", "2"],
        &["--json", "--count", "2"],
        &["--interval", "-1"],
        &["--once", "--config", "/nonexistent/gputop.toml"],
        &["--watch", "--readonly"],
        &["--once", "--theme", "light"],
        &["serve", "--remote", "gpu1:9835"],
        &["serve", "--container", "abc"],
    ] {
        let assert = gputop(&scenario).args(args).assert().code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn malformed_demo_scenario_names_the_file_and_line() {
    let scenario = scenario_file("[[gpus]]\nname = \"G\"\nmemory_total_mib = \"lots\"\n");
    Command::cargo_bin("gputop")
        .unwrap()
        .arg("--once")
        .arg("--demo")
        .arg(scenario.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("panicked").not())
        .stderr(predicate::str::contains("line 3"))
        // TOML's diagram: the bad line, and a caret under the value, on lines of their own.
        .stderr(predicate::str::is_match(r"(?m)^3 \| memory_total_mib = .lots.$").unwrap())
        .stderr(predicate::str::is_match(r"(?m)^\s+\|\s+\^+$").unwrap());
}

#[test]
fn impossible_scenario_values_and_empty_scenarios_are_refused() {
    let hot = scenario_file("[[gpus]]\nname = \"G\"\ntemperature_c = 900\n");
    let empty = scenario_file("[driver]\nversion = \"550.54.15\"\n");
    for (file, what) in
        [(&hot, "line 3: temperature_c = 900 is out of range"), (&empty, "has no GPU")]
    {
        Command::cargo_bin("gputop")
            .unwrap()
            .arg("--once")
            .arg("--demo")
            .arg(file.path())
            .assert()
            .code(2)
            .stderr(one_line_without_panic())
            .stderr(predicate::str::contains(what));
    }
}

#[test]
fn interval_mistakes_name_where_they_come_from() {
    let scenario = scenario_file("[[gpus]]\nname = \"G\"\n");
    gputop(&scenario)
        .env("GPUTOP_INTERVAL", "abc")
        .arg("--once")
        .assert()
        .code(2)
        .stderr(one_line_without_panic())
        .stderr(predicate::str::contains("GPUTOP_INTERVAL"));
    gputop(&scenario)
        .args(["--interval", "-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("out of range"));
}

#[test]
fn demo_goes_with_every_subcommand() {
    let out = Command::cargo_bin("gputop")
        .unwrap()
        .args(["--demo", "doctor", "--no-python", "--json"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("scenario"), "{out:?}");
    assert!(out.status.code().is_some_and(|c| c <= 2));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("doctor's JSON");
    let mut serve = std::process::Command::new(assert_cmd::cargo::cargo_bin("gputop"))
        .args(["--demo", "serve", "--listen", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(serve.stderr.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(line.contains("serving metrics"), "{line}");
}

/// Files a user names are read up to a bound: `/dev/zero` is one line, not all memory. The
/// default config of another user (`sudo` keeping HOME) is a warning; one named is an error.
#[test]
fn named_files_are_bounded_and_anothers_default_config_is_a_warning() {
    let scenario = scenario_file("[[gpus]]\nname = \"A\"\n");
    for args in [
        &["--remote", "127.0.0.1:1", "--remote-token-file", "/dev/zero", "--once"][..],
        &["--hosts", "/dev/zero", "--once"],
        &["--config", "/dev/zero", "--once"],
        &["--remote", "https://127.0.0.1:1", "--remote-ca", "/dev/zero", "--once"],
    ] {
        let out = gputop(&scenario)
            .args(args)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("larger than 4 MiB"), "{args:?}: {err}");
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skipped("running as another user needs root");
        return;
    }
    let home = temp_dir();
    std::fs::create_dir_all(home.path().join(".config/gputop")).unwrap();
    let config = home.path().join(".config/gputop/config.toml");
    std::fs::write(&config, "theme = \"dark\"\n").unwrap();
    // Root's home: closed to others.
    let closed = std::os::unix::fs::PermissionsExt::from_mode(0o700);
    std::fs::set_permissions(home.path(), closed).unwrap();
    let as_nobody = |extra: &[&std::ffi::OsStr]| {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("gputop"))
            .args(["--demo", "--once"])
            .args(extra)
            .env("HOME", home.path())
            .env_remove("XDG_CONFIG_HOME");
        cmd.output().unwrap()
    };
    let out = as_nobody(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("going on without it"), "{err}");
    let out = as_nobody(&["--config".as_ref(), config.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}
