//! NVIDIA, AMD and Intel GPUs on one simulated machine, through the real binary: a scenario's
//! `vendor`, the `--demo` fleet's AMD and Intel GPUs, `select` and `wait` setting each
//! vendor's variables with its own numbering (`--vendor`), claims on GPUs without a UUID, and
//! the fake NVML library, which never sees a GPU that is not NVIDIA's.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Interleaved so that no vendor's ordinal is gputop's index: 0 NVIDIA busy, 1 AMD busy,
/// 2 NVIDIA idle (CUDA 1), 3 AMD idle (ROCm 1), 4 Intel idle, no UUID (Level Zero 0).
const MACHINE: &str = r#"
[[gpus]]
name = "NVIDIA H100"
utilization_gpu = 90
[[gpus.processes]]
pid = 4100
used_memory_mib = 1000
user = "alice"

[[gpus]]
name = "AMD Instinct MI300X"
vendor = "amd"
uuid = "8e0ac1c1726b0c3a"
pci_bus_id = "0000:c1:00.0"
utilization_gpu = 80
[[gpus.processes]]
pid = 4200
used_memory_mib = 2000
user = "rocky"
name = "rocm-train"

[[gpus]]
name = "NVIDIA L4"
utilization_gpu = 0

[[gpus]]
name = "AMD Radeon PRO W7900"
vendor = "amd"
pci_bus_id = "0000:c2:00.0"
utilization_gpu = 0

[[gpus]]
name = "Intel Data Center GPU Max 1550"
vendor = "intel"
pci_bus_id = "0000:e1:00.0"
utilization_gpu = 0
"#;

/// `gputop --demo SCENARIO ARGS` with `env` set and no runtime variable inherited: (exit code,
/// stdout, stderr).
fn run(scenario: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let out = command(scenario, env, args).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

fn command(scenario: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("gputop"));
    cmd.arg("--demo").arg(scenario).args(args).env("COLUMNS", "200");
    for var in ["CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"] {
        cmd.env_remove(var);
    }
    cmd.env_remove("ZE_AFFINITY_MASK").envs(env.iter().copied());
    cmd
}

#[test]
fn select_sets_each_vendors_variables_with_its_own_ordinal() {
    let scenario = scenario_file(MACHINE);
    let locks = temp_dir();
    let dir = locks.path().to_str().unwrap();
    let select = |args: &[&str]| {
        let args = [&["select", "--lock-dir", dir][..], args].concat();
        run(scenario.path(), &[], &args)
    };
    // An AMD GPU: ROCr's ordinal 1 (gputop's GPU 3), HIP counting within ROCr's list, no CUDA.
    let (code, out, err) = select(&["--vendor", "amd", "--format", "env"]);
    assert_eq!((code, out.as_str()), (0, "export ROCR_VISIBLE_DEVICES=1 HIP_VISIBLE_DEVICES=0\n"));
    assert!(err.is_empty(), "{err}");
    assert_eq!(select(&["--vendor", "amd"]).1, "1\n");
    let (_, json, _) = select(&["--vendor", "amd", "--format", "json"]);
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["vendor"], "amd");
    assert_eq!(json["cuda_visible_devices"], Value::Null);
    assert_eq!(json["env"]["ROCR_VISIBLE_DEVICES"], "1");
    assert_eq!(json["env"].get("CUDA_VISIBLE_DEVICES"), None);
    assert_eq!(
        (json["gpus"][0]["index"].as_u64(), json["gpus"][0]["ordinal"].as_u64()),
        (Some(3), Some(1))
    );
    // Intel: Level Zero's ordinal 0 (gputop's GPU 4).
    let (code, out, _) = select(&["--vendor", "intel", "--format", "env"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "export ZE_ENABLE_PCI_ID_DEVICE_ORDER=1 ZE_AFFINITY_MASK=0\n")
    );
    // By default, on a machine with NVIDIA GPUs, only those: CUDA's ordinal 1 (gputop's GPU 2),
    // never an idle AMD or Intel GPU.
    let (code, out, _) = select(&["--format", "env", "-n", "1"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1\n")
    );
    let (code, _, err) = select(&["-n", "3"]);
    assert_eq!(code, 2);
    assert!(err.contains("there are 2 NVIDIA GPUs to choose from"), "{err}");
    // Not free: named by gputop's index, as the monitor shows it.
    let (code, _, err) = select(&["--vendor", "amd", "-n", "2"]);
    assert_eq!(code, 1);
    assert!(err.contains("GPU 1 held by rocky"), "{err}");
}

#[test]
fn select_chooses_within_the_vendors_own_variable() {
    let scenario = scenario_file(MACHINE);
    let locks = temp_dir();
    let dir = locks.path().to_str().unwrap();
    let args = ["select", "--lock-dir", dir, "--vendor", "amd", "-n", "2"];
    let (code, _, err) = run(scenario.path(), &[("ROCR_VISIBLE_DEVICES", "1")], &args);
    assert_eq!(code, 2);
    assert!(err.contains("1 AMD GPUs to choose from within ROCR_VISIBLE_DEVICES"), "{err}");
    // CUDA's variable does not limit AMD GPUs.
    let env = [("CUDA_VISIBLE_DEVICES", "0")];
    let (code, out, _) =
        run(scenario.path(), &env, &["select", "--lock-dir", dir, "--vendor", "amd"]);
    assert_eq!((code, out.as_str()), (0, "1\n"));
}

#[test]
fn wait_gives_the_program_the_vendors_variables_and_claims_a_gpu_without_a_uuid() {
    let scenario = scenario_file(MACHINE);
    let locks = temp_dir();
    let dir = locks.path().to_str().unwrap();
    let wait = ["--interval", "0.1", "wait", "--lock-dir", dir, "--stable", "0"];
    let (code, out, err) = run(
        scenario.path(),
        &[],
        &[&wait[..], &["--vendor", "amd", "--", "sh", "-c", "env | grep VISIBLE_DEVICES | sort"]]
            .concat(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "HIP_VISIBLE_DEVICES=0\nROCR_VISIBLE_DEVICES=1\n");

    // The Intel GPU has no UUID: its claim is by PCI address, and another look sees it.
    let marker = locks.path().join("started");
    let script = format!("touch '{}'; sleep 30", marker.display());
    let mut child = command(
        scenario.path(),
        &[],
        &[&wait[..], &["--vendor", "intel", "--", "sh", "-c", &script]].concat(),
    )
    .spawn()
    .unwrap();
    let started = Instant::now();
    while !marker.exists() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(marker.exists(), "wait never ran its program");
    assert!(locks.path().join("pci-0000-e1-00-0.lock").exists());
    let (code, _, err) =
        run(scenario.path(), &[], &["select", "--lock-dir", dir, "--vendor", "intel"]);
    assert_eq!(code, 1);
    assert!(err.contains("GPU 4 claimed by "), "{err}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_demo_has_an_amd_and_an_intel_gpu_whose_processes_show_by_user() {
    let out = Command::new(assert_cmd::cargo::cargo_bin("gputop"))
        .args(["--demo", "--once", "--json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let gpus = json["gpus"].as_array().unwrap();
    let vendors: Vec<&str> = gpus.iter().map(|g| g["vendor"].as_str().unwrap()).collect();
    assert_eq!(vendors, ["nvidia", "nvidia", "nvidia", "nvidia", "amd", "intel"]);
    let amd = &gpus[4];
    assert_eq!(amd["name"], "AMD Instinct MI300X");
    assert_eq!(amd["missing"]["pcie"]["reason"], "not_provided_by_amdgpu");
    assert_eq!(amd["mig_enabled"], Value::Null);
    let process = &amd["processes"][0];
    assert_eq!(process["kind"], Value::Null);
    assert_eq!(process["missing"]["kind"]["reason"], "not_provided_by_amdgpu");
    assert_eq!(gpus[5]["uuid"], Value::Null);
    assert_eq!(gpus[5]["missing"]["uuid"]["reason"], "not_provided_by_i915");

    // `--by user`: the AMD GPU's holders are listed with it.
    let scenario = scenario_file(MACHINE);
    let (code, out, err) =
        run(scenario.path(), &[], &["--once", "--by", "user", "--color", "never"]);
    assert_eq!(code, 0, "{err}");
    let rocky = out.lines().find(|l| l.starts_with("rocky")).unwrap_or_else(|| panic!("{out}"));
    assert!(rocky.contains("rocm-train"), "{rocky}");
    let alice = out.lines().find(|l| l.starts_with("alice")).unwrap();
    assert!(alice.split_whitespace().nth(1) == Some("0"), "{alice}");
    let fields: Vec<&str> = rocky.split_whitespace().collect();
    assert_eq!(fields[1], "1", "the AMD GPU is gputop's GPU 1: {rocky}");
}

#[test]
fn list_gpus_names_a_gpu_without_a_uuid_instead_of_calling_it_unreachable() {
    let out = Command::new(assert_cmd::cargo::cargo_bin("gputop"))
        .args(["--demo", "-L"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("GPU 5: Intel Data Center GPU Max 1550 (UUID: N/A)\n"), "{text}");
    assert!(!text.contains("Unable to determine"), "{text}");
}

#[test]
fn an_unknown_vendor_is_one_line_and_exit_2() {
    let scenario = scenario_file("[[gpus]]\nname = \"x\"\nvendor = \"matrox\"\n");
    let (code, out, err) = run(scenario.path(), &[], &["--once"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.ends_with("line 3: vendor = \"matrox\" is not a vendor gputop knows (one of: nvidia, amd, intel)\n"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn the_fake_nvml_library_never_shows_a_non_nvidia_gpu() {
    let scenario = scenario_file(MACHINE);
    let out = stdout_of(gputop(&scenario).args(["--once", "--json"]));
    let json: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> =
        json["gpus"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["NVIDIA H100", "NVIDIA L4"]);
}
