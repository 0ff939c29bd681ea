//! `scripts/gpu-check.sh` is run for real on a GPU machine; here it runs against the fake NVML
//! library with a stand-in `nvidia-smi` (gputop's own nvidia-smi compatible queries), which
//! proves the script's plumbing and comparison logic: it passes when the two agree and fails
//! when they do not.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const STAND_IN: &str =
    "#!/bin/sh\ncase \"$1\" in -q) echo 'nvidia-smi -q stand-in'; exit 0;; esac\n\
                        \"$GPUTOP\" \"$@\" | sed \"$SKEW\"\n";

fn run_check(skew: &str) -> (bool, String) {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\nmemory_total_mib = 81559\nmemory_used_mib = 500\n\
         utilization_gpu = 10\ntemperature_c = 40\npower_w = 100\npower_limit_w = 700\npstate = 0\n\
         clock_sm_mhz = 1000\nclock_sm_max_mhz = 1980\nclock_mem_max_mhz = 2619\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 1024\n",
        job.pid()
    ));
    let bin_dir = temp_dir();
    let stand_in = bin_dir.path().join("nvidia-smi");
    std::fs::write(&stand_in, STAND_IN).unwrap();
    Command::new("chmod").arg("+x").arg(&stand_in).status().unwrap();
    let out_dir = temp_dir();
    let gputop = assert_cmd::cargo::cargo_bin("gputop");
    let path = format!("{}:{}", bin_dir.path().display(), std::env::var("PATH").unwrap());
    let out = Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/gpu-check.sh"))
        .arg(&gputop)
        .env("PATH", path)
        .env("OUT", out_dir.path())
        .env("GPUTOP", &gputop)
        .env("SKEW", skew)
        .env("GPU_CHECK_HOLDER", "echo ready; exec sleep 300")
        .env("GPUTOP_NVML_LIB", fake_nvml())
        .env("GPUTOP_FAKE_NVML_SCENARIO", scenario.path())
        .env("GPUTOP_FAKE_NVML_TIME", "1000")
        .output()
        .unwrap();
    assert!(out_dir.path().join("gputop.json").exists(), "the JSON fixture is written to $OUT");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn passes_when_gputop_and_nvidia_smi_agree() {
    let (ok, report) = run_check("");
    assert!(ok, "{report}");
    assert!(report.contains("RESULT: PASS"), "{report}");
    assert!(report.contains("PASS  PID"), "{report}");
    // Every property through both: the stand-in is gputop, so every one agrees.
    let both = report.lines().find(|l| l.contains("properties both know:")).expect(&report);
    let counts: Vec<u32> =
        both.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
    assert!(counts[0] > 100 && counts[0] == counts[1], "{both}");
    assert!(!report.contains("DIFF"), "{report}");
}

#[test]
fn fails_when_they_disagree() {
    // The stand-in reports 1 MiB more total memory than gputop.
    let (ok, report) = run_check("s/81559/81560/");
    assert!(!ok, "{report}");
    assert!(report.contains("FAIL  GPU 0 memory.total MiB"), "{report}");
    assert!(report.contains("RESULT: FAIL"), "{report}");
}
