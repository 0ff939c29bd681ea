//! `gputop health` through the real binary on the fake NVML library: a line per GPU and the
//! exit code a Kubernetes probe or a Slurm prolog reads.

mod common;

use common::*;
use serde_json::Value;

fn health(toml: &str, args: &[&str]) -> (i32, String) {
    let scenario = scenario_file(toml);
    let out = gputop(&scenario).arg("health").args(args).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn each_gpu_is_judged_and_the_exit_code_is_the_worst() {
    let toml = "[[gpus]]\nname = \"A\"\nremapped_rows = { correctable = 2 }\n\
        pcie_link_gen = [4, 4]\npcie_link_width = [16, 16]\n\
        [[gpus]]\nname = \"B\"\nremapped_rows = { uncorrectable = 1, pending = true }\n\
        ecc_corrected = 0\necc_uncorrected = 3\n\
        [[gpus]]\nname = \"C\"\npcie_link_gen = [4, 4]\npcie_link_width = [8, 16]\n\
        throttle_reasons = 0x44\n\
        [[gpus]]\nname = \"D\"\nlost = true\n";
    let (code, text) = health(toml, &[]);
    assert_eq!(code, 2, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "GPU 0 (A, 00000000:01:00.0) ok");
    assert_eq!(
        lines[1],
        "GPU 1 (B, 00000000:02:00.0) warning: row remapping pending (1 uncorrectable) (reset the GPU (nvidia-smi -r) \
         or reboot to apply it); 3 uncorrected ECC error(s) since the driver loaded (check that \
         the jobs on it finished correctly; a reset clears the count)"
    );
    assert!(
        lines[2].starts_with("GPU 2 (C, 00000000:03:00.0) warning: PCIe link x8 of x16 ("),
        "{}",
        lines[2]
    );
    assert!(lines[2].contains("hardware thermal slowdown active"), "{}", lines[2]);
    assert!(!lines[2].contains("power cap"), "a power cap is no fault: {}", lines[2]);
    assert!(lines[3].starts_with("GPU 3 failure: fallen off the bus"), "{}", lines[3]);

    let (code, json) = health(toml, &["--json"]);
    assert_eq!(code, 2);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["status"], "failure");
    assert_eq!(doc["gpus"][1]["problems"][0]["severity"], "warning");
    assert_eq!(doc["gpus"][0]["problems"].as_array().unwrap().len(), 0);
}

#[test]
fn nvlink_recoveries_and_crc_errors_are_warnings_replays_are_not() {
    let (code, text) = health(
        "[[gpus]]\nname = \"A\"\nnvlink = { active_links = 18, replay = 40 }\n\
         [[gpus]]\nname = \"B\"\nnvlink = { active_links = 18, recovery = 2, crc_data = 5 }\n",
        &[],
    );
    assert_eq!(code, 1, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "GPU 0 (A, 00000000:01:00.0) ok", "replays are corrected in flight");
    assert!(
        lines[1].starts_with(
            "GPU 1 (B, 00000000:02:00.0) warning: NVLink: 2 recoveries and 5 CRC errors since the driver loaded"
        ),
        "{text}"
    );
}

/// NVLink error counters the driver refuses are not read as 0: the NVLink check is not
/// examined (exit 3, unknown), never "ok".
#[test]
fn nvlink_counters_the_driver_refuses_are_not_examined() {
    let (code, text) = health(
        "[[gpus]]\nname = \"A\"\nnvlink = { active_links = 18, recovery = 2 }\n\
         errors = { nvlink_error_counters = \"NO_PERMISSION\" }\n",
        &[],
    );
    assert_eq!(code, 3, "{text}");
    assert!(
        text.starts_with("GPU 0 (A, 00000000:01:00.0) unknown: NVLink not examined: no permission"),
        "{text}"
    );
    let (_, json) = health(
        "[[gpus]]\nname = \"A\"\nnvlink = { active_links = 18, recovery = 2 }\n\
         errors = { nvlink_error_counters = \"NO_PERMISSION\" }\n",
        &["--json"],
    );
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["gpus"][0]["not_examined"][0]["check"], "NVLink", "{doc}");
}

#[test]
fn warnings_only_exit_1_and_a_healthy_machine_0() {
    let warn = "[[gpus]]\nname = \"A\"\nretired_pages_pending = true\n";
    let (code, text) = health(warn, &[]);
    assert_eq!(
        (code, text.as_str()),
        (1, "GPU 0 (A, 00000000:01:00.0) warning: memory pages waiting to be retired (reboot to retire them)\n")
    );
    let (code, text) = health("[[gpus]]\nname = \"A\"\n[[gpus]]\nname = \"B\"\n", &[]);
    assert_eq!(
        (code, text.as_str()),
        (0, "GPU 0 (A, 00000000:01:00.0) ok\nGPU 1 (B, 00000000:02:00.0) ok\n")
    );
    let (code, text) =
        health("[[gpus]]\nname = \"A\"\n[[gpus]]\nname = \"B\"\nlost = true\n", &["--id", "0"]);
    assert_eq!(
        (code, text.as_str()),
        (0, "GPU 0 (A, 00000000:01:00.0) ok\n"),
        "--id picks the GPUs judged"
    );
}

/// The judgement with a kernel log of the test's making (the real one is the machine's): an
/// XID 79 since boot fails the GPU, an application's own XID 13 does not, and a log that cannot
/// be read is said, with the GPUs still judged.
#[test]
fn xid_errors_since_boot_come_from_the_kernel_log() {
    use gputop::testing::{health, DemoFleet, DetailLevel, SampleOptions, SourceSpec};
    let scenario = scenario_file(
        "[[gpus]]\nname = \"A\"\npci_bus_id = \"00000000:3B:00.0\"\n\
         [[gpus]]\nname = \"B\"\npci_bus_id = \"00000000:AF:00.0\"\n",
    );
    let dir = temp_dir();
    let kmsg = dir.path().join("kmsg");
    std::fs::write(
        &kmsg,
        "6,1,0,-;Linux version 6.8.0\n\
         4,900,3600000000,-;NVRM: Xid (PCI:0000:3b:00): 79, pid=4242, name=python, GPU has fallen off the bus.\n \
         SUBSYSTEM=pci\n\
         4,901,3700000000,-;NVRM: Xid (PCI:0000:af:00): 13, Graphics Exception: ESR 0x50\n",
    )
    .unwrap();
    let spec = SourceSpec::Demo(DemoFleet::Scenario(scenario.path().to_path_buf()));
    let options = SampleOptions { details: DetailLevel::Health, ..SampleOptions::one_shot() };
    let mut source = spec.open(&[], options).unwrap();
    let report = health::report(source.as_mut(), &kmsg).unwrap();
    let doc = serde_json::to_value(&report).unwrap();
    assert_eq!(doc["status"], "failure", "{doc:#}");
    let problem = &doc["gpus"][0]["problems"][0];
    assert_eq!(problem["severity"], "failure");
    let what = problem["what"].as_str().unwrap();
    assert!(what.starts_with("XID 79: GPU has fallen off the bus (1 since boot, last "), "{what}");
    assert_eq!(problem["fix"], "check power and seating; reset the GPU or reboot");
    assert_eq!(doc["gpus"][1]["status"], "ok", "an application's fault is not the GPU's: {doc:#}");
    assert_eq!(doc["xid_history_error"], Value::Null);

    // Not read: the GPUs are still judged, and the verdict is unknown, never ok.
    let report = health::report(source.as_mut(), &dir.path().join("absent")).unwrap();
    assert_eq!(report.status.exit_code(), 3);
    let error = report.xid_history_error.unwrap();
    assert!(error.starts_with("cannot read the kernel log "), "{error}");
    let line = health::line(&report.gpus[1]);
    assert!(
        line.starts_with("GPU 1 (B, 00000000:AF:00.0) unknown: XID history not examined: cannot read the kernel log "),
        "{line}"
    );
}

/// No GPU found: health is unknown (exit 3) with one line saying so, never "all ok"; the
/// table says "No GPU found" with the driver's version instead of an empty table.
#[test]
fn no_gpu_is_unknown_exit_3_never_ok() {
    let nothing = "[driver]\nversion = \"550.54.15\"\n";
    let (code, text) = health(nothing, &[]);
    assert_eq!(code, 3, "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("unknown: no GPU found (the driver, 550.54.15, reports none)"),
        "{text}"
    );
    let (code, json) = health(nothing, &["--json"]);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!((code, doc["status"].as_str()), (3, Some("unknown")), "{doc:#}");
    assert_eq!(doc["not_examined"][0]["check"], "GPUs");

    let scenario = scenario_file(nothing);
    let text = stdout_of(gputop(&scenario).arg("--once"));
    assert!(
        text.contains("No GPU found: the NVIDIA driver (550.54.15) reports no devices"),
        "{text}"
    );
    assert!(!text.contains("NAME"), "no empty table: {text}");
}

/// A check whose values the driver refused is not examined: unknown, never ok. A value the
/// GPU does not have (NOT_SUPPORTED) is nothing to check.
#[test]
fn a_check_the_driver_refused_is_unknown_not_ok() {
    let (code, text) = health(
        "[[gpus]]\nname = \"A\"\nerrors = { throttle = \"NO_PERMISSION\", remapped_rows = \"UNKNOWN\" }\n",
        &[],
    );
    assert_eq!(code, 3, "{text}");
    assert!(text.starts_with("GPU 0 (A, 00000000:01:00.0) unknown: "), "{text}");
    assert!(text.contains("hardware slowdowns not examined: no permission to read it"), "{text}");
    assert!(text.contains("memory rows and pages not examined: the driver failed"), "{text}");
    let (code, json) =
        health("[[gpus]]\nname = \"A\"\nerrors = { throttle = \"NO_PERMISSION\" }\n", &["--json"]);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!((code, doc["gpus"][0]["status"].as_str()), (3, Some("unknown")));
    assert_eq!(doc["gpus"][0]["not_examined"][0]["check"], "hardware slowdowns");
}

/// Codes 1 and 2 are verdicts: a command line health cannot run, or a GPU it cannot find, is
/// unknown (3), so a prolog that drains on 2 does not drain over a typo.
#[test]
fn what_keeps_health_from_judging_is_unknown_not_a_verdict() {
    let scenario = scenario_file("[[gpus]]\nname = \"A\"\n");
    for args in
        [&["health", "--bogus"][..], &["health", "--id", "9"], &["--interval", "0", "health"]]
    {
        let out = gputop(&scenario).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// A program that asked for JSON gets a verdict it can read even when health cannot start.
#[test]
fn health_that_cannot_start_still_answers_in_json() {
    let scenario = scenario_file("[[gpus]]\nname = \"A\"\n");
    let out = gputop(&scenario)
        .env("GPUTOP_NVML_LIB", "/nonexistent/libnvidia-ml.so.1")
        .args(["health", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["status"], "unknown");
    assert!(doc["not_examined"][0]["why"].as_str().unwrap().contains("cannot load"), "{doc}");
}
