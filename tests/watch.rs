//! `--watch` through the real binary: appended blocks into pipes, JSON Lines, CSV and queries
//! with one header, `--count`, signals and closed pipes, and the in-place view in a real
//! pseudo-terminal (tmux).

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::*;
use serde_json::Value;

const SCENARIO: &str = "[[gpus]]\nname = \"Watched GPU\"\nmemory_total_mib = 1024\nutilization_gpu = 5\n\
                        [[gpus]]\nname = \"Second GPU\"\nmemory_total_mib = 2048\nutilization_gpu = 7\n";

#[test]
fn appends_one_plain_block_per_sample_into_a_pipe() {
    let scenario = scenario_file(SCENARIO);
    let out = stdout_of(gputop(&scenario).args(["--watch", "0.1", "--count", "3"]));
    assert_eq!(out.matches("Watched GPU").count(), 3, "{out}");
    assert!(!out.contains('\x1b'), "escape sequences in appended output: {out:?}");
    assert!(out.ends_with("\n\n"), "blocks are separated and end with a newline");
}

#[test]
fn json_lines_parse_one_by_one_on_the_sampling_grid() {
    let scenario = scenario_file(SCENARIO);
    let out = stdout_of(gputop(&scenario).args(["--watch", "0.2", "--count", "6", "--json"]));
    let docs: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(docs.len(), 6);
    assert!(docs
        .iter()
        .all(|d| d["gpus"].as_array().unwrap().len() == 2 && d["schema_version"] == 4));
    let times: Vec<chrono::DateTime<chrono::Utc>> =
        docs.iter().map(|d| d["taken_at"].as_str().unwrap().parse().unwrap()).collect();
    // Sample N is due at start + N × interval: five intervals from the first to the last.
    let span = (times[5] - times[0]).num_milliseconds();
    assert!((900..=1300).contains(&span), "5 intervals of 200 ms took {span} ms");
}

/// GPM activity in the JSON lines from the second sample on (it is measured between two),
/// equal to the scenario; a GPU without GPM says so instead of showing zeros. A one-shot
/// document has no activity at all.
#[test]
fn gpm_activity_comes_from_the_second_sample() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"H100\"\nutilization_gpu = 90\n\
         gpm = { sm_active = 85, sm_occupancy = 40, tensor_active = 3, dram_active = 85, \
         fp16_active = 2.5, pcie_tx_mib_s = 100, nvlink_rx_mib_s = 2048 }\n\
         [[gpus]]\nname = \"A10\"\n",
    );
    let out = stdout_of(gputop(&scenario).args(["--watch", "0.2", "--count", "2", "--json"]));
    let docs: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(docs[0]["gpus"][0]["activity"], Value::Null, "one sample measures nothing");
    let a = &docs[1]["gpus"][0]["activity"];
    assert_eq!(a["sm_active_percent"], 85.0, "{a}");
    assert_eq!(a["sm_occupancy_percent"], 40.0);
    assert_eq!(a["tensor_active_percent"], 3.0);
    assert_eq!(a["dram_active_percent"], 85.0);
    assert_eq!(a["fp16_active_percent"], 2.5);
    assert_eq!(a["fp64_active_percent"], Value::Null, "not given by this GPU");
    assert_eq!(a["pcie_tx_bytes_per_second"], 100 << 20);
    assert_eq!(a["nvlink_rx_bytes_per_second"], 2048_u64 << 20);
    let other = &docs[1]["gpus"][1];
    assert_eq!(other["activity"], Value::Null);
    assert_eq!(other["missing"]["activity"]["reason"], "not_supported", "{other}");
    let once = stdout_of(gputop(&scenario).args(["--once", "--json"]));
    assert!(!once.contains("\"activity\""), "{once}");
}

#[test]
fn csv_and_queries_write_one_header() {
    let scenario = scenario_file(SCENARIO);
    let out = stdout_of(gputop(&scenario).args(["--watch", "0.1", "--count", "3", "--csv"]));
    assert_eq!(out.lines().filter(|l| l.starts_with("timestamp,")).count(), 1);
    assert_eq!(out.lines().count(), 1 + 3 * 2);
    let out = stdout_of(gputop(&scenario).args([
        "-l",
        "0.1",
        "--count",
        "2",
        "--query-gpu=index,name",
        "--format=csv",
    ]));
    assert_eq!(out, "index, name\n0, Watched GPU\n1, Second GPU\n0, Watched GPU\n1, Second GPU\n");
}

#[test]
fn ascii_only_without_a_utf8_locale() {
    let scenario =
        scenario_file(&format!("{SCENARIO}temperature_c = 50\nthrottle_reasons = 0x40\n"));
    let out =
        stdout_of(gputop(&scenario).env("LC_ALL", "C").args(["--watch", "0.1", "--count", "1"]));
    assert!(out.is_ascii(), "{out}");
    assert!(out.contains("50C") && out.contains("! throttled"), "{out}");
}

fn signal_stops_cleanly(signal: &str) {
    let scenario = scenario_file(SCENARIO);
    let mut child =
        gputop_std(&scenario).args(["--watch", "0.1"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap(); // it is running and writing
    Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "still running after SIG{signal}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(0), "exit after SIG{signal}");
    assert!(rest.ends_with('\n'), "the last block ends with a newline");
}

#[test]
fn sigterm_stops_cleanly() {
    signal_stops_cleanly("TERM");
}

#[test]
fn sighup_stops_cleanly() {
    signal_stops_cleanly("HUP");
}

#[test]
fn sigint_stops_cleanly() {
    signal_stops_cleanly("INT");
}

#[test]
fn a_closed_pipe_exits_zero_quietly() {
    let scenario = scenario_file(SCENARIO);
    let bin = assert_cmd::cargo::cargo_bin("gputop");
    let envs = gputop_std(&scenario);
    let out = envs
        .get_envs()
        .fold(Command::new("bash"), |mut cmd, (k, v)| {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
            cmd
        })
        .arg("-c")
        .arg(format!(
            "'{}' --watch 0.1 | head -3 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
            bin.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn in_place_view_refreshes_without_scrolling_and_exits_cleanly_on_ctrl_c() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"Watched GPU\"\nmemory_total_mib = 1024\n\
         utilization_gpu = { base = 50, amplitude = 40, period_s = 0.7 }\n",
    );
    let command = format!(
        "env GPUTOP_NVML_LIB='{}' GPUTOP_FAKE_NVML_SCENARIO='{}' LC_ALL=C.UTF-8 '{}' --watch 0.1; echo EXITED $?; sleep 30",
        fake_nvml().display(),
        scenario.path().display(),
        assert_cmd::cargo::cargo_bin("gputop").display()
    );
    let Some(tmux) = Tmux::start(&command, 100, 20) else { return };
    tmux.wait_for("Watched GPU");
    std::thread::sleep(Duration::from_millis(600)); // several refreshes
    let screen = tmux.screen();
    assert_eq!(
        screen.matches("Watched GPU").count(),
        1,
        "the table must be rewritten in place:\n{screen}"
    );
    assert!(screen.lines().next().unwrap().contains("driver"), "{screen}");

    tmux.cmd(&["send-keys", "C-c"]).status().unwrap();
    let screen = tmux.wait_for("EXITED 0");
    let lines: Vec<&str> = screen.lines().collect();
    let table_end = lines.iter().position(|l| l.contains("No GPU processes")).unwrap();
    let exited = lines.iter().position(|l| l.contains("EXITED 0")).unwrap();
    assert!(exited > table_end, "the prompt lands below the table:\n{screen}");
    let cursor = tmux.cmd(&["display", "-p", "#{cursor_flag}"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&cursor.stdout).trim(), "1", "cursor left visible");
}

/// Wide characters in a command line and a user-visible name: nothing wraps, and every refresh
/// lands in the right cells (counted in terminal cells, not characters), through tmux.
#[test]
fn wide_characters_keep_every_column_in_place() {
    let job = Sleeper::with_argv0("python 训练.py --数据 /数据集/图像/非常长的路径/更多的目录");
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\nmemory_total_mib = 81559\n\
         utilization_gpu = {{ base = 50, amplitude = 45, period_s = 0.7 }}\n\
         memory_used_mib = {{ base = 2000, amplitude = 1500, period_s = 0.9 }}\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = {{ base = 4000, amplitude = 1000, period_s = 0.5 }}\n",
        job.pid()
    ));
    let command = format!(
        "env GPUTOP_NVML_LIB='{}' GPUTOP_FAKE_NVML_SCENARIO='{}' LC_ALL=C.UTF-8 '{}' --watch 0.1; echo EXITED $?; sleep 30",
        fake_nvml().display(),
        scenario.path().display(),
        assert_cmd::cargo::cargo_bin("gputop").display()
    );
    let Some(tmux) = Tmux::start(&command, 70, 20) else { return };
    tmux.wait_for("训练");
    std::thread::sleep(Duration::from_millis(1500)); // many refreshes
    let screen = tmux.screen();
    let gpu_line = screen.lines().find(|l| l.contains("NVIDIA")).unwrap();
    assert!(gpu_line.contains("NVIDIA H100 80GB HBM3"), "{screen}");
    let process = screen.lines().find(|l| l.contains("训练")).unwrap();
    assert!(process.contains(&job.pid().to_string()), "{screen}");
    let after = screen.lines().skip_while(|l| !l.contains("训练")).nth(1).unwrap_or("");
    assert!(!after.contains("数据"), "the process row wrapped:\n{screen}");
    assert_eq!(screen.matches("NVIDIA").count(), 1, "rewritten in place:\n{screen}");
    tmux.cmd(&["send-keys", "C-c"]).status().unwrap();
    tmux.wait_for("EXITED 0");
}

/// nvidia-smi's `-lms MS` and `-f FILE`: a query every MS milliseconds, into FILE (created or
/// emptied), nothing on stdout.
#[test]
fn loop_ms_into_a_file_like_nvidia_smi() {
    let scenario = scenario_file("[[gpus]]\nname = \"G\"\nutilization_gpu = 7\n");
    let dir = temp_dir();
    let file = dir.path().join("gpus.csv");
    std::fs::write(&file, "old contents\n").unwrap();
    let started = std::time::Instant::now();
    let out = gputop(&scenario)
        .args(["--query-gpu=index,utilization.gpu", "--format=csv,noheader", "-lms", "200"])
        .args(["--count", "3", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "0, 7 %\n0, 7 %\n0, 7 %\n");
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(3), "three samples 200 ms apart: {took:?}");
    let out = gputop(&scenario).args(["-lms", "20", "--once"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
