//! `gputop doctor` on test machines: a tree standing in for `/` (sysfs, procfs, /dev, CUDA
//! trees, a fake `python3`), the environment, the user, and the fake NVML library for the NVML
//! checks; and once through the real binary on this machine.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::sync::Mutex;

use gputop::testing::doctor::{diagnose, render_json, render_text, DoctorOptions, System};
use gputop::testing::Painter;
use serde_json::Value;
use tempfile::TempDir;

/// Held while the fake NVML library is pointed at a test's scenario and used.
static NVML: Mutex<()> = Mutex::new(());

const HEALTHY_NVML: &str = "[driver]\nversion = \"550.54.15\"\ncuda_version = 12040\n\
    [[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\nuuid = \"GPU-aaaaaaaa-1111-2222-3333-444444444444\"\n\
    persistence_mode = true\nthrottle_reasons = 0\necc_corrected = 0\necc_uncorrected = 0\n";

const TORCH_OK: &str = r#"{"version": "2.3.1", "cuda": "12.1", "available": true, "device_count": 1, "location": "/usr/lib/python3/dist-packages/torch"}"#;

/// A machine under construction: files under a root, an environment, an NVML scenario.
struct Machine {
    root: TempDir,
    env: Vec<(&'static str, String)>,
    nvml: String,
    torch: String,
    tensorflow: String,
    /// The user diagnosing (UID, groups); the one running the tests when `None`.
    user: Option<(u32, Vec<u32>)>,
    /// The directory doctor is started in, on the machine.
    cwd: Option<std::path::PathBuf>,
}

impl Machine {
    /// One H100 with driver 550 (CUDA 12.4), CUDA 12.4 on PATH, cuDNN 9, PyTorch with CUDA.
    fn healthy() -> Self {
        let m = Machine {
            root: temp_dir(),
            env: vec![
                ("PATH", "/usr/local/cuda-12.4/bin:/usr/bin".into()),
                ("LD_LIBRARY_PATH", "/usr/local/cuda-12.4/lib64".into()),
                ("HOME", "/home/alice".into()),
            ],
            nvml: HEALTHY_NVML.into(),
            torch: TORCH_OK.into(),
            tensorflow: "null".into(),
            user: None,
            cwd: None,
        };
        m.file("sys/bus/pci/devices/0000:18:00.0/vendor", "0x10de\n");
        m.file("sys/bus/pci/devices/0000:18:00.0/class", "0x030200\n");
        m.file("sys/bus/pci/devices/0000:00:1f.0/vendor", "0x8086\n");
        m.file("sys/bus/pci/devices/0000:00:1f.0/class", "0x060100\n");
        m.file(
            "proc/driver/nvidia/version",
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n",
        );
        m.file("proc/1/cgroup", "0::/init.scope\n");
        for node in ["nvidiactl", "nvidia0", "nvidia-uvm"] {
            m.file(&format!("dev/{node}"), "");
        }
        m.file("dev/kmsg", KMSG_BOOT);
        m.toolkit("12.4.1");
        m.file("usr/local/cuda-12.4/lib64/libcudnn.so.9", "");
        m.file("usr/local/cuda-12.4/lib64/libcudnn.so.9.1.0", "");
        m.file(
            "usr/local/cuda-12.4/include/cudnn_version.h",
            "#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 1\n#define CUDNN_PATCHLEVEL 0\n",
        );
        std::os::unix::fs::symlink("cuda-12.4", m.root.path().join("usr/local/cuda")).unwrap();
        m
    }

    fn file(&self, path: &str, content: &str) {
        let p = self.root.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    fn remove(&self, path: &str) {
        let p = self.root.path().join(path);
        if p.is_dir() {
            std::fs::remove_dir_all(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
    }

    /// A CUDA toolkit at /usr/local/cuda-MAJOR.MINOR with its version.json.
    fn toolkit(&self, version: &str) {
        let dir = format!(
            "usr/local/cuda-{}",
            version.splitn(3, '.').take(2).collect::<Vec<_>>().join(".")
        );
        self.file(
            &format!("{dir}/version.json"),
            &format!("{{\"cuda\": {{\"name\": \"CUDA SDK\", \"version\": \"{version}\"}}}}"),
        );
        self.file(&format!("{dir}/bin/nvcc"), "");
    }

    fn set_env(&mut self, key: &'static str, value: &str) {
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.into()));
    }

    /// Diagnoses the machine as `gputop doctor ARGS` would (`--json`, `--no-python`): the exit
    /// code and what it prints.
    fn doctor(&self, args: &[&str]) -> (i32, String) {
        // The fake python3 answers each probe as the framework would.
        let python = format!(
            "#!/bin/sh\ncase \"$2\" in\n  *tensorflow*) echo '{}' ;;\n  *jax*) echo null ;;\n  *torch*) echo '{}' ;;\nesac\n",
            self.tensorflow, self.torch
        );
        self.file("usr/bin/python3", &python);
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(self.root.path().join("usr/bin/python3"))
            .status()
            .unwrap();
        let env: BTreeMap<String, String> =
            self.env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        // SAFETY: getuid/getgid have no preconditions.
        let user = self
            .user
            .clone()
            .unwrap_or_else(|| unsafe { (libc::geteuid(), vec![libc::getegid()]) });
        let system =
            System::with(self.root.path().into(), env, user.0, user.1).in_dir(self.cwd.clone());
        let options = DoctorOptions {
            nvml_library: Some(fake_nvml().into()),
            python: !args.contains(&"--no-python"),
        };
        let scenario = scenario_file(&self.nvml);
        let report = {
            // The fake library reads its scenario from the environment when initialised:
            // one diagnosis at a time.
            let _one = NVML.lock().unwrap_or_else(|e| e.into_inner());
            std::env::set_var("GPUTOP_FAKE_NVML_SCENARIO", scenario.path());
            std::env::set_var("GPUTOP_FAKE_NVML_TIME", "1000");
            diagnose(&system, &options)
        };
        let text = if args.contains(&"--json") {
            render_json(&report)
        } else {
            render_text(&report, Painter { enabled: false }, false)
        };
        (report.exit_code(), text + "\n")
    }

    fn json(&self) -> (i32, Value) {
        let (code, out) = self.doctor(&["--json"]);
        (code, serde_json::from_str(&out).unwrap())
    }
}

/// The finding with this check id, and its status, from a JSON report.
fn findings<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["findings"].as_array().unwrap())
        .filter(|f| f["check"] == check)
        .collect()
}

fn status_of(report: &Value, check: &str) -> String {
    let all = findings(report, check);
    assert!(!all.is_empty(), "no finding {check} in {report:#}");
    all[0]["status"].as_str().unwrap().to_string()
}

fn redact(text: &str, m: &Machine) -> String {
    text.replace(&fake_nvml().display().to_string(), "[fake-nvml]")
        .replace(&m.root.path().display().to_string(), "[root]")
}

#[test]
fn healthy_machine_is_all_ok() {
    let m = Machine::healthy();
    let (code, text) = m.doctor(&["--color", "never"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("Nothing to fix"), "{text}");
    insta::assert_snapshot!("doctor_healthy_text", redact(&text, &m));
    let (_, json) = m.json();
    insta::assert_json_snapshot!("doctor_healthy_json", json, { ".sections[].findings[].evidence" => "[evidence]" });
}

#[test]
fn no_driver() {
    let mut m = Machine::healthy();
    m.remove("proc/driver/nvidia");
    for node in ["nvidiactl", "nvidia0", "nvidia-uvm"] {
        m.remove(&format!("dev/{node}"));
    }
    m.nvml = "[driver]\ninit_error = \"DRIVER_NOT_LOADED\"\n".into();
    let (code, report) = m.json();
    assert_eq!(code, 2);
    assert_eq!(status_of(&report, "module"), "failure");
    assert!(findings(&report, "module")[0]["fix"]
        .as_str()
        .unwrap()
        .contains("sudo modprobe nvidia"));
    assert_eq!(status_of(&report, "device_nodes"), "failure");
    assert_eq!(status_of(&report, "nvml_init"), "failure");
    assert!(findings(&report, "nvml_init")[0]["title"]
        .as_str()
        .unwrap()
        .contains("driver is not loaded"));
}

#[test]
fn secure_boot_is_named_when_it_blocks_the_module() {
    let m = Machine::healthy();
    m.remove("proc/driver/nvidia");
    let var = m
        .root
        .path()
        .join("sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c");
    std::fs::create_dir_all(var.parent().unwrap()).unwrap();
    std::fs::write(var, [6, 0, 0, 0, 1]).unwrap();
    let (_, report) = m.json();
    assert!(findings(&report, "module")[0]["fix"].as_str().unwrap().contains("Secure Boot"));
}

#[test]
fn nouveau_loaded() {
    let m = Machine::healthy();
    m.remove("proc/driver/nvidia");
    m.file("sys/module/nouveau/refcnt", "1\n");
    let (code, text) = m.doctor(&["--color", "never"]);
    assert_eq!(code, 2);
    assert!(text.contains("✘ nouveau (the open-source driver) is loaded"), "{text}");
    assert!(text.contains("blacklist nouveau"), "{text}");
}

#[test]
fn device_nodes_without_permission() {
    let mut m = Machine::healthy();
    for node in ["nvidiactl", "nvidia0", "nvidia-uvm"] {
        let p = m.root.path().join("dev").join(node);
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o660)).unwrap();
    }
    // An ordinary user, not in the group that owns the nodes.
    m.user = Some((4242, vec![4242]));
    let (code, report) = m.json();
    assert_eq!(code, 2);
    let f = findings(&report, "device_nodes")[0];
    assert_eq!(f["status"], "failure");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("No permission to use /dev/nvidia-uvm, /dev/nvidia0, /dev/nvidiactl"),
        "{f}"
    );
    assert!(f["fix"].as_str().unwrap().contains("usermod -aG video"));
}

#[test]
fn cuda_toolkit_newer_than_the_driver() {
    let mut m = Machine::healthy();
    m.toolkit("13.0.0");
    m.set_env("PATH", "/usr/local/cuda-13.0/bin:/usr/bin");
    m.set_env("LD_LIBRARY_PATH", "/usr/local/cuda-13.0/lib64");
    let (code, report) = m.json();
    assert_eq!(code, 2);
    let tk = findings(&report, "toolkit");
    let newer = tk.iter().find(|f| f["title"].as_str().unwrap().contains("13.0")).unwrap();
    assert_eq!(newer["status"], "failure");
    assert!(newer["title"]
        .as_str()
        .unwrap()
        .contains("newer than the driver supports (CUDA 12.4)"));
    assert!(newer["fix"].as_str().unwrap().contains("update the NVIDIA driver"));
    let several = findings(&report, "toolkits")[0]["title"].as_str().unwrap();
    assert!(several.contains("in use: 13.0 at /usr/local/cuda-13.0"), "{several}");
}

#[test]
fn stubs_in_ld_library_path_is_a_failure() {
    let mut m = Machine::healthy();
    m.set_env("LD_LIBRARY_PATH", "/usr/local/cuda-12.4/lib64/stubs:/usr/local/cuda-12.4/lib64");
    let (code, text) = m.doctor(&["--color", "never"]);
    assert_eq!(code, 2);
    assert!(
        text.contains(
            "✘ LD_LIBRARY_PATH contains the CUDA stubs directory /usr/local/cuda-12.4/lib64/stubs"
        ),
        "{text}"
    );
    assert!(
        text.contains("1. remove /usr/local/cuda-12.4/lib64/stubs from LD_LIBRARY_PATH"),
        "{text}"
    );
}

#[test]
fn missing_path_entries_are_warnings() {
    let mut m = Machine::healthy();
    m.set_env("PATH", "/usr/bin");
    m.set_env("LD_LIBRARY_PATH", "");
    let (code, report) = m.json();
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(status_of(&report, "path"), "warning");
    assert_eq!(status_of(&report, "ld_library_path"), "warning");
    // With the loader configured, LD_LIBRARY_PATH is not needed.
    m.file("etc/ld.so.conf.d/cuda.conf", "/usr/local/cuda-12.4/lib64\n");
    let (_, report) = m.json();
    assert_eq!(status_of(&report, "ld_library_path"), "ok");
}

#[test]
fn cuda_visible_devices_pointing_nowhere() {
    let mut m = Machine::healthy();
    m.set_env("CUDA_VISIBLE_DEVICES", "0,3");
    let (code, report) = m.json();
    assert_eq!(code, 2);
    assert!(findings(&report, "cuda_visible_devices")[0]["title"]
        .as_str()
        .unwrap()
        .contains("do not exist: 3"));
    m.set_env("CUDA_VISIBLE_DEVICES", "");
    let (code, report) = m.json();
    assert_eq!(code, 1);
    assert!(findings(&report, "cuda_visible_devices")[0]["title"]
        .as_str()
        .unwrap()
        .contains("hides every GPU"));
}

#[test]
fn no_cudnn_is_a_warning() {
    let m = Machine::healthy();
    m.remove("usr/local/cuda-12.4/lib64/libcudnn.so.9");
    m.remove("usr/local/cuda-12.4/lib64/libcudnn.so.9.1.0");
    let (code, report) = m.json();
    assert_eq!(code, 1);
    assert_eq!(status_of(&report, "cudnn"), "warning");
}

#[test]
fn cudnn_for_another_cuda_major() {
    let m = Machine::healthy();
    m.remove("usr/local/cuda-12.4/lib64/libcudnn.so.9");
    m.remove("usr/local/cuda-12.4/lib64/libcudnn.so.9.1.0");
    let site = "home/alice/.local/lib/python3.11/site-packages";
    m.file(&format!("{site}/nvidia/cudnn/lib/libcudnn.so.8"), "");
    m.file(&format!("{site}/nvidia_cudnn_cu11-8.9.7.29.dist-info/METADATA"), "");
    let (code, report) = m.json();
    assert_eq!(code, 2);
    let f = findings(&report, "cudnn")[0];
    assert_eq!(f["status"], "failure");
    assert!(f["title"].as_str().unwrap().contains("for CUDA 11"), "{f}");
    assert!(f["fix"].as_str().unwrap().contains("nvidia-cudnn-cu12"));
}

/// A GPU count the framework probe did not give is said to be unknown: never "sees 0 GPU(s)"
/// nor TensorFlow's "sees no GPU" failure.
#[test]
fn a_gpu_count_the_probe_did_not_give_is_unknown() {
    let mut m = Machine::healthy();
    m.torch = r#"{"version": "2.3.1", "cuda": "12.1", "available": true}"#.into();
    m.tensorflow = r#"{"version": "2.16.1", "gpu_package": false}"#.into();
    let (_, report) = m.json();
    let torch = findings(&report, "torch")[0];
    let title = torch["title"].as_str().unwrap();
    assert!(!title.contains("0 GPU"), "{torch}");
    assert!(title.contains("unknown"), "{torch}");
    let tf = findings(&report, "tensorflow")[0];
    assert_eq!(tf["status"], "warning", "{tf}");
    assert!(tf["title"].as_str().unwrap().contains("unknown"), "{tf}");
}

#[test]
fn cpu_only_pytorch() {
    let mut m = Machine::healthy();
    m.torch =
        r#"{"version": "2.3.1+cpu", "cuda": null, "available": false, "device_count": 0}"#.into();
    let (code, report) = m.json();
    assert_eq!(code, 2);
    let f = findings(&report, "torch")[0];
    assert!(f["title"].as_str().unwrap().contains("CPU-only build"));
    // The newest wheel the driver (CUDA 12.4) can run.
    assert!(f["fix"].as_str().unwrap().contains("https://download.pytorch.org/whl/cu124"), "{f}");
}

#[test]
fn pytorch_built_for_a_newer_cuda_than_the_driver() {
    let mut m = Machine::healthy();
    m.torch =
        r#"{"version": "2.7.0", "cuda": "12.8", "available": false, "device_count": 0}"#.into();
    let (_, report) = m.json();
    let f = findings(&report, "torch")[0];
    assert!(
        f["evidence"][0]
            .as_str()
            .unwrap()
            .contains("built for CUDA 12.8, the driver supports CUDA 12.4"),
        "{f}"
    );
}

#[test]
fn deprecated_tensorflow_gpu_and_tensorflow_without_gpus() {
    let mut m = Machine::healthy();
    m.tensorflow = r#"{"version": "2.16.1", "gpus": 0, "gpu_package": true}"#.into();
    let (_, report) = m.json();
    assert_eq!(status_of(&report, "tensorflow"), "failure");
    assert!(findings(&report, "tensorflow_gpu")[0]["fix"]
        .as_str()
        .unwrap()
        .contains("tensorflow[and-cuda]"));
}

#[test]
fn no_python_skips_the_probes() {
    let m = Machine::healthy();
    let (code, text) = m.doctor(&["--no-python", "--color", "never"]);
    assert_eq!(code, 0);
    assert!(text.contains("Framework checks skipped (--no-python)"));
}

#[test]
fn inside_a_container_without_gpus() {
    let m = Machine::healthy();
    m.file(".dockerenv", "");
    for node in ["nvidiactl", "nvidia0", "nvidia-uvm"] {
        m.remove(&format!("dev/{node}"));
    }
    let (code, text) = m.doctor(&["--color", "never", "--no-python"]);
    assert_eq!(code, 2);
    assert!(text.contains("✘ Inside a Docker container started without the GPUs"), "{text}");
    assert!(text.contains("--gpus all"), "{text}");
    insta::assert_snapshot!("doctor_container_text", redact(&text, &m));
}

#[test]
fn cloud_vm_without_a_gpu_names_the_gpu_families() {
    let m = Machine::healthy();
    m.remove("sys/bus/pci/devices/0000:18:00.0");
    m.file("sys/class/dmi/id/sys_vendor", "Amazon EC2\n");
    m.file("sys/class/dmi/id/product_name", "m5.xlarge\n");
    let (_, report) = m.json();
    let pci = findings(&report, "pci")[0];
    assert_eq!(pci["status"], "failure");
    assert!(pci["fix"].as_str().unwrap().contains("p5/p4d"), "{pci}");
    assert!(findings(&report, "cloud")[0]["title"]
        .as_str()
        .unwrap()
        .contains("AWS EC2 (m5.xlarge)"));
}

#[test]
fn nvml_lost_gpu_and_persistence_off() {
    let mut m = Machine::healthy();
    m.nvml = format!("{HEALTHY_NVML}[[gpus]]\nname = \"NVIDIA A100\"\nlost = true\n[[gpus]]\nname = \"Tesla T4\"\npersistence_mode = false\nthrottle_reasons = 0x40\necc_corrected = 0\necc_uncorrected = 3\n");
    let (code, report) = m.json();
    assert_eq!(code, 2);
    assert!(findings(&report, "gpu_lost")[0]["title"].as_str().unwrap().contains("GPU 1 is lost"));
    assert!(findings(&report, "persistence")[0]["title"].as_str().unwrap().contains("GPU 2"));
    assert!(findings(&report, "throttle")[0]["title"]
        .as_str()
        .unwrap()
        .contains("HW thermal slowdown"));
    assert!(findings(&report, "ecc")[0]["title"]
        .as_str()
        .unwrap()
        .contains("3 uncorrected ECC errors"));
}

#[test]
fn untrusted_strings_are_sanitized() {
    let mut m = Machine::healthy();
    m.nvml = HEALTHY_NVML
        .replace("NVIDIA H100 80GB HBM3", "GPU\\u001b]0;pwned\\u0007")
        .replace("throttle_reasons = 0", "throttle_reasons = 0x40");
    let (_, text) = m.doctor(&["--color", "never", "--no-python"]);
    assert!(text.contains("GPU\\x1b]0;pwned\\x07"), "{text}");
    assert!(!text.contains('\u{1b}'));
}

/// The real binary on this machine, with the fake NVML library: the report comes out whole,
/// in ASCII without a UTF-8 locale, its exit code the verdict's.
#[test]
fn the_binary_diagnoses_this_machine() {
    let scenario = scenario_file(HEALTHY_NVML);
    let out = gputop(&scenario)
        .args(["doctor", "--no-python", "--color", "never"])
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.is_ascii(), "{text}");
    assert!(text.lines().any(|l| l.contains("[ok]") && l.contains("driver 550.54.15")), "{text}");
    let code = out.status.code().unwrap();
    let verdict = if text.contains("[FAIL]") {
        2
    } else if text.contains("[warn]") {
        1
    } else {
        0
    };
    assert_eq!(code, verdict, "{text}");

    let out = gputop(&scenario).args(["doctor", "--no-python", "--json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sections"].as_array().unwrap().len(), 7);
    assert_eq!(status_of(&report, "nvml_init"), "ok");
}

#[test]
fn values_nvml_refuses_are_named_with_the_reason() {
    let mut m = Machine::healthy();
    m.nvml = format!(
        "{HEALTHY_NVML}[[gpus]]\nname = \"Tesla T4\"\npersistence_mode = true\n\
         errors = {{ processes = \"NO_PERMISSION\" }}\n"
    );
    let (_, report) = m.json();
    let refused = findings(&report, "nvml_values");
    let title = refused[0]["title"].as_str().unwrap();
    assert!(title.contains("processes: no permission"), "{title}");
    assert_eq!(refused[0]["status"], "warning");
}

/// The kernel log of a machine that booted cleanly, in `/dev/kmsg`'s record format.
const KMSG_BOOT: &str = "6,1,0,-;Linux version 6.8.0\n\
    6,700,5120000,-;NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.54.15\n";

#[test]
fn xid_errors_since_boot_are_read_from_the_kernel_log() {
    let m = Machine::healthy();
    let (_, report) = m.json();
    let gpus = findings(&report, "gpus");
    assert!(gpus[0]["title"].as_str().unwrap().contains("no lost GPU, XID errors,"), "{report:#}");
    // The fake GPU 0 sits at 00000000:01:00.0; an application's own fault (XID 13) is not the
    // GPU's.
    m.file(
        "dev/kmsg",
        &format!(
            "{KMSG_BOOT}4,900,7200000000,-;NVRM: Xid (PCI:0000:01:00): 13, Graphics Exception\n\
             4,901,7300000000,-;NVRM: Xid (PCI:0000:01:00): 79, pid=4242, name=python, GPU has fallen off the bus.\n"
        ),
    );
    let (code, report) = m.json();
    assert_eq!(code, 2, "{report:#}");
    let xid = findings(&report, "xid");
    assert_eq!(xid.len(), 1, "{report:#}");
    assert_eq!(xid[0]["status"], "failure");
    let title = xid[0]["title"].as_str().unwrap();
    assert!(title.contains("XID 79: GPU has fallen off the bus (1 since boot, last "), "{title}");
    m.remove("dev/kmsg");
    let (_, report) = m.json();
    assert_eq!(status_of(&report, "xid_log"), "skipped");
}

#[test]
fn memory_and_link_faults_are_found_in_the_gpu_section() {
    let mut m = Machine::healthy();
    m.nvml = format!(
        "{HEALTHY_NVML}remapped_rows = {{ uncorrectable = 1, pending = true }}\n\
         pcie_link_gen = [3, 5]\npcie_link_width = [8, 16]\n"
    );
    let (code, report) = m.json();
    assert_eq!(code, 1, "{report:#}");
    let memory = findings(&report, "memory_health");
    assert_eq!(memory[0]["status"], "warning");
    assert!(memory[0]["title"].as_str().unwrap().contains("row remapping pending"), "{report:#}");
    let link = findings(&report, "pcie_link");
    assert!(link[0]["title"].as_str().unwrap().ends_with("PCIe link x8 of x16"), "{report:#}");
    m.nvml = format!("{HEALTHY_NVML}remapped_rows = {{ failed = true }}\n");
    let (code, report) = m.json();
    assert_eq!(code, 2);
    assert_eq!(status_of(&report, "memory_health"), "failure");
}

/// Packages and extension modules shadow as plain modules do; a directory without
/// `__init__.py` (a namespace package, which an installed package outranks) does not.
#[test]
fn every_kind_of_module_in_the_current_directory_is_named() {
    let mut m = Machine::healthy();
    m.cwd = Some("/home/alice/project".into());
    m.tensorflow = r#"{"version": "2.16.1", "gpus": 1, "gpu_package": false}"#.into();
    m.file("home/alice/project/tensorflow/__init__.py", "");
    m.file("home/alice/project/jax.cpython-311-x86_64-linux-gnu.so", "");
    m.file("home/alice/project/torch/utils.py", "");
    let (code, report) = m.json();
    assert_eq!(code, 1, "{report:#}");
    let titles: Vec<&str> = findings(&report, "framework_shadow")
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles[0].starts_with("./tensorflow/__init__.py in the current directory"));
    assert!(titles[1].starts_with("./jax.cpython-311-x86_64-linux-gnu.so in the current"));
    let jax = findings(&report, "framework_shadow")[1];
    assert!(jax["evidence"][1].as_str().unwrap().contains("JAX is not installed"), "{jax}");
}

/// `gputop doctor --json` (the real binary, the fake NVML library) started in `dir` with `env`
/// added: its report and how long it took.
fn doctor_in(dir: &std::path::Path, env: &[(&str, String)]) -> (Value, std::time::Duration) {
    let scenario = scenario_file(HEALTHY_NVML);
    let mut cmd = gputop(&scenario);
    cmd.args(["doctor", "--json"]).current_dir(dir);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let started = std::time::Instant::now();
    let out = cmd.output().unwrap();
    let took = started.elapsed();
    assert!(matches!(out.status.code(), Some(0..=2)), "{out:?}");
    (serde_json::from_slice(&out.stdout).unwrap(), took)
}

/// A directory holding an executable `python3` shell script with `body`, to put first on PATH.
fn fake_python(body: &str) -> TempDir {
    let bin = temp_dir();
    let python = bin.path().join("python3");
    std::fs::write(&python, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&python, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    bin
}

/// `dir` first on the PATH this test runs with.
fn path_with(dir: &std::path::Path) -> String {
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

/// Root runs `gputop doctor` in a directory another user could write to, holding a `torch.py`
/// (and a `json.py`, which the probe itself imports first) that would leave a canary when
/// imported. The real `python3` probes a stand-in PyTorch installed on PYTHONPATH: the planted
/// files never run, the report says where PyTorch came from and warns about `./torch.py`.
#[test]
fn a_planted_torch_py_in_the_current_directory_is_never_imported() {
    if !have("python3", &["-c", "pass"], "install python3") {
        return;
    }
    let interpreter = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .current_dir("/")
        .output()
        .unwrap();
    let interpreter = String::from_utf8(interpreter.stdout).unwrap();
    let interpreter_dir = std::path::Path::new(interpreter.trim()).parent().unwrap().to_owned();

    let site = temp_dir();
    let installed = site.path().join("torch");
    std::fs::create_dir(&installed).unwrap();
    std::fs::write(
        installed.join("__init__.py"),
        "__version__ = '2.3.1'\nclass version:\n    cuda = '12.1'\nclass cuda:\n    \
         is_available = staticmethod(lambda: True)\n    device_count = staticmethod(lambda: 1)\n",
    )
    .unwrap();
    let hostile = temp_dir();
    let canaries = temp_dir();
    for module in ["torch", "json"] {
        let canary = canaries.path().join(module);
        std::fs::write(
            hostile.path().join(format!("{module}.py")),
            format!("open({:?}, 'w').write('ran as the diagnosing user')\n", canary.display()),
        )
        .unwrap();
    }

    let env =
        [("PATH", path_with(&interpreter_dir)), ("PYTHONPATH", site.path().display().to_string())];
    let (report, _) = doctor_in(hostile.path(), &env);
    let ran: Vec<String> = std::fs::read_dir(canaries.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(ran.is_empty(), "planted modules ran: {ran:?}");

    assert_eq!(status_of(&report, "torch"), "ok", "{report:#}");
    assert_eq!(
        findings(&report, "torch")[0]["imported_from"],
        installed.display().to_string(),
        "{report:#}"
    );
    let shadow = findings(&report, "framework_shadow");
    assert_eq!(shadow.len(), 1, "{report:#}");
    assert_eq!(shadow[0]["status"], "warning");
    assert!(shadow[0]["title"].as_str().unwrap().starts_with("./torch.py "), "{report:#}");
    let planted = hostile.path().join("torch.py").display().to_string();
    assert!(shadow[0]["fix"].as_str().unwrap().contains(&planted), "{report:#}");

    // The checklist says the same.
    let scenario = scenario_file(HEALTHY_NVML);
    let mut cmd = gputop(&scenario);
    cmd.args(["doctor", "--color", "never"]).current_dir(hostile.path());
    for (key, value) in &env {
        cmd.env(key, value);
    }
    let text = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
    assert!(text.contains(&format!("imported from {}", installed.display())), "{text}");
    assert!(text.contains("⚠ ./torch.py in the current directory shadows PyTorch"), "{text}");
    assert!(std::fs::read_dir(canaries.path()).unwrap().next().is_none());
}

/// A probe that prints 1 MiB on each pipe before its answer (more than a pipe holds): doctor
/// reads while it runs, so it is done at once and still reads the answer.
#[test]
fn a_probe_that_floods_its_pipes_is_read_while_it_runs() {
    let answer = TORCH_OK.replace('}', r#", "location": "/opt/venv/lib/torch"}"#);
    let bin = fake_python(&format!(
        "head -c 1048576 /dev/zero | tr '\\0' e >&2\n\
         head -c 1048576 /dev/zero | tr '\\0' o\necho\n\
         case \"$2\" in *torch*) echo '{answer}' ;; *) echo null ;; esac\n"
    ));
    let (report, took) = doctor_in(&std::env::temp_dir(), &[("PATH", path_with(bin.path()))]);
    // The probes' limit is 4 s: a probe whose pipes were read only after it exited would
    // stall there (measured 0.1 s here, so a loaded machine has room).
    assert!(took < std::time::Duration::from_millis(3500), "took {took:?}");
    assert_eq!(status_of(&report, "torch"), "ok", "{report:#}");
    assert_eq!(findings(&report, "torch")[0]["imported_from"], "/opt/venv/lib/torch");
}

/// A probe that hangs, with a child of its own: doctor says so after its limit and leaves
/// neither behind.
#[test]
fn a_hung_probe_is_killed_with_everything_it_started() {
    let pids = temp_dir();
    let pid_file = pids.path().join("pids");
    let bin = fake_python(&format!(
        "echo $$ >> {file}\nsleep 120 &\necho $! >> {file}\nwait\n",
        file = pid_file.display()
    ));
    let (report, took) = doctor_in(&std::env::temp_dir(), &[("PATH", path_with(bin.path()))]);
    assert!(took < std::time::Duration::from_secs(8), "took {took:?}");
    let unchecked = findings(&report, "framework");
    assert_eq!(unchecked.len(), 3, "{report:#}");
    for f in unchecked {
        assert!(f["title"].as_str().unwrap().ends_with("did not answer within 4 s"), "{f}");
    }

    let started: Vec<i32> =
        std::fs::read_to_string(&pid_file).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(started.len(), 6, "{started:?}");
    // A killed process may linger a moment as a zombie until its new parent reaps it.
    let alive = |pid: &i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| !s.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while started.iter().any(alive) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let left: Vec<i32> = started.iter().copied().filter(alive).collect();
    for pid in &left {
        // SAFETY: kill has no memory preconditions; these are this test's own sleepers.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    assert!(left.is_empty(), "left running: {left:?}");
}

/// An NVIDIA machine with an Intel integrated GPU: NVIDIA's chain as before, and oneAPI's after
/// cuDNN for the Intel card.
#[test]
fn an_intel_gpu_beside_the_nvidia_one_adds_the_oneapi_section() {
    let m = Machine::healthy();
    let d = "sys/class/drm/card1/device";
    m.file(&format!("{d}/uevent"), "DRIVER=i915\nPCI_SLOT_NAME=0000:00:02.0\n");
    m.file(&format!("{d}/vendor"), "0x8086\n");
    m.file(&format!("{d}/device"), "0xa780\n");
    std::fs::create_dir_all(m.root.path().join(format!("{d}/drm/renderD128"))).unwrap();
    m.file("sys/module/i915/initstate", "live\n");
    m.file("dev/dri/renderD128", "");
    let (_, report) = m.json();
    let names: Vec<&str> = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[4..7], ["cuDNN", "oneAPI (Intel GPUs)", "Frameworks"], "{names:?}");
    assert_eq!(status_of(&report, "pci"), "ok");
    assert_eq!(status_of(&report, "nvml_init"), "ok");
    assert_eq!(status_of(&report, "intel_module"), "ok");
    assert_eq!(status_of(&report, "intel_render_nodes"), "ok");
    // PyTorch is judged as CUDA's here: the NVIDIA GPU is the one it is for.
    assert_eq!(status_of(&report, "torch"), "ok");
    assert!(findings(&report, "level_zero")[0]["title"].as_str().unwrap().contains("Level Zero"));
}
