//! Whole-output snapshots (insta) of the human table and `--help`, so any change to what
//! people see is reviewed.

mod common;

use common::*;

const SCENARIO: &str = r#"
[[gpus]]
name = "NVIDIA H100 80GB HBM3"
memory_total_mib = 81559
memory_used_mib = 20000
utilization_gpu = 97
utilization_memory = 60
temperature_c = 84
temperature_slowdown_c = 87
power_w = 650
power_limit_w = 700
throttle_reasons = 0x48
[[gpus.processes]]
pid = 2147480000
used_memory_mib = 12000
sm_util = 88

[[gpus]]
name = "NVIDIA GeForce RTX 4090"
memory_total_mib = 24564
memory_used_mib = 300
utilization_gpu = 3
temperature_c = 41
power_w = 31.5
power_limit_w = 450
fan_pct = 30

[[gpus]]
name = "Tesla T4"
lost = true
"#;

fn filters() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    // The header holds the host name and the local time.
    settings.add_filter(r"(?m)^\S+  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "[host]  [time]");
    settings
}

#[test]
fn once_table() {
    if !in_host_pid_namespace() {
        return;
    }
    let scenario = scenario_file(SCENARIO);
    let out = stdout_of(gputop(&scenario).args(["--once", "--color", "never"]));
    filters().bind(|| insta::assert_snapshot!(out));
}

#[test]
fn once_table_ascii() {
    if !in_host_pid_namespace() {
        return;
    }
    let scenario = scenario_file(SCENARIO);
    let out = stdout_of(gputop(&scenario).args(["--once", "--color", "never"]).env("LC_ALL", "C"));
    assert!(out.is_ascii(), "{out}");
    filters().bind(|| insta::assert_snapshot!(out));
}

#[test]
fn help() {
    let out = stdout_of(
        assert_cmd::Command::cargo_bin("gputop").unwrap().env("COLUMNS", "100").arg("--help"),
    );
    insta::assert_snapshot!(out);
}
