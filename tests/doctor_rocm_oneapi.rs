//! `gputop doctor` on machines whose GPUs are AMD's or Intel's: the ROCm and oneAPI chains
//! (driver, `/dev/kfd` and render nodes, the groups that own them, ROCm user-space, Level Zero,
//! the visible-devices variables, a ROCm or XPU PyTorch), and NVIDIA's chain saying it does not
//! apply. On test machines (a tree standing in for `/`, as `tests/doctor.rs` builds them), and
//! through the real binary in a private mount namespace with tmpfs over `/sys/class`,
//! `/sys/module` and `/dev` holding real character devices (root only; CI runs as root).

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::*;
use gputop::testing::doctor::{diagnose, render_json, render_text, DoctorOptions, System};
use gputop::testing::Painter;
use serde_json::Value;
use tempfile::TempDir;

/// A ROCm build of PyTorch that sees one GPU.
const TORCH_ROCM: &str = r#"{"version": "2.4.1+rocm6.1", "cuda": null, "hip": "6.1.40091", "available": true, "device_count": 1, "xpu_build": null, "xpu_available": false, "xpu_device_count": 0, "location": "/usr/lib/python3/dist-packages/torch"}"#;
/// A CUDA build of PyTorch, on a machine without an NVIDIA GPU.
const TORCH_CUDA: &str = r#"{"version": "2.4.1+cu121", "cuda": "12.1", "hip": null, "available": false, "device_count": 0, "xpu_build": null, "xpu_available": false, "xpu_device_count": 0}"#;
/// An XPU build of PyTorch that sees one Intel GPU.
const TORCH_XPU: &str = r#"{"version": "2.5.1+xpu", "cuda": null, "hip": null, "available": false, "device_count": 0, "xpu_build": "20240200", "xpu_available": true, "xpu_device_count": 1}"#;

/// The group that owns the nodes, as on Ubuntu.
const RENDER_GID: u32 = 4243;
/// An ordinary user.
const ALICE: u32 = 4242;

struct Machine {
    root: TempDir,
    env: Vec<(&'static str, String)>,
    torch: String,
    user: (u32, Vec<u32>),
}

impl Machine {
    fn bare() -> Self {
        let m = Machine {
            root: temp_dir(),
            env: vec![("PATH", "/usr/bin".into()), ("HOME", "/home/alice".into())],
            torch: TORCH_ROCM.into(),
            user: (ALICE, vec![ALICE, RENDER_GID]),
        };
        m.file("proc/1/cgroup", "0::/init.scope\n");
        m.file("sys/bus/pci/devices/0000:00:1f.0/vendor", "0x8086\n");
        m.file("sys/bus/pci/devices/0000:00:1f.0/class", "0x060100\n");
        m.file(
            "etc/group",
            &format!("root:x:0:\nvideo:x:44:\nrender:x:{RENDER_GID}:\nalice:x:{ALICE}:\n"),
        );
        m.file("etc/passwd", &format!("alice:x:{ALICE}:{ALICE}::/home/alice:/bin/bash\n"));
        m
    }

    /// One Radeon RX 7900 XT on amdgpu, /dev/kfd and its render node owned by `render`, 0660.
    fn amd() -> Self {
        let m = Self::bare();
        m.card("card1", "amdgpu", "0x1002", "0x744c", "0000:03:00.0", 128);
        m.file("sys/module/amdgpu/initstate", "live\n");
        m.node("dev/kfd", RENDER_GID, 0o660);
        m
    }

    /// One Arc A770 on xe.
    fn intel() -> Self {
        let mut m = Self::bare();
        m.card("card0", "xe", "0x8086", "0x56a0", "0000:04:00.0", 128);
        m.file("sys/module/xe/initstate", "live\n");
        m.torch = TORCH_XPU.into();
        m
    }

    fn file(&self, path: &str, content: &str) {
        let p = self.root.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// A device node stand-in with group `gid` and `mode` (doctor judges it by both).
    fn node(&self, path: &str, gid: u32, mode: u32) {
        self.file(path, "");
        let p = self.root.path().join(path);
        std::os::unix::fs::chown(&p, Some(0), Some(gid)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A DRM card as the kernel lists it, with its render node in sysfs and in /dev/dri.
    fn card(&self, card: &str, driver: &str, vendor: &str, device: &str, slot: &str, render: u32) {
        let d = format!("sys/class/drm/{card}/device");
        self.file(&format!("{d}/uevent"), &format!("DRIVER={driver}\nPCI_SLOT_NAME={slot}\n"));
        self.file(&format!("{d}/vendor"), &format!("{vendor}\n"));
        self.file(&format!("{d}/device"), &format!("{device}\n"));
        self.file(&format!("{d}/revision"), "0xc8\n");
        std::fs::create_dir_all(self.root.path().join(format!("{d}/drm/renderD{render}"))).unwrap();
        self.file(&format!("sys/bus/pci/devices/{slot}/vendor"), &format!("{vendor}\n"));
        self.file(&format!("sys/bus/pci/devices/{slot}/class"), "0x030000\n");
        self.node(&format!("dev/dri/renderD{render}"), RENDER_GID, 0o660);
    }

    fn remove(&self, path: &str) {
        std::fs::remove_file(self.root.path().join(path)).unwrap();
    }

    fn set_env(&mut self, key: &'static str, value: &str) {
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.into()));
    }

    /// The exit code and the report, as text or (`json`) JSON.
    fn doctor(&self, json: bool) -> (i32, String) {
        let python = format!(
            "#!/bin/sh\ncase \"$2\" in\n  *tensorflow*) echo null ;;\n  *jax*) echo null ;;\n  *torch*) echo '{}' ;;\nesac\n",
            self.torch
        );
        self.file("usr/bin/python3", &python);
        let p = self.root.path().join("usr/bin/python3");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let env: BTreeMap<String, String> =
            self.env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let system = System::with(self.root.path().into(), env, self.user.0, self.user.1.clone());
        // No NVIDIA GPU: NVML is never opened, so no library is named.
        let options = DoctorOptions { nvml_library: None, python: true };
        let report = diagnose(&system, &options);
        let text = if json {
            render_json(&report)
        } else {
            render_text(&report, Painter { enabled: false }, false)
        };
        (report.exit_code(), text)
    }

    fn json(&self) -> (i32, Value) {
        let (code, out) = self.doctor(true);
        (code, serde_json::from_str(&out).unwrap())
    }
}

fn findings<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["findings"].as_array().unwrap())
        .filter(|f| f["check"] == check)
        .collect()
}

/// The one finding `check`, which must exist.
fn finding<'a>(report: &'a Value, check: &str) -> &'a Value {
    let all = findings(report, check);
    assert_eq!(all.len(), 1, "finding {check} in {report:#}");
    all[0]
}

fn title(f: &Value) -> &str {
    f["title"].as_str().unwrap()
}

fn fix(f: &Value) -> &str {
    f["fix"].as_str().unwrap_or("")
}

#[test]
fn an_amd_machine_checks_rocm_and_says_cuda_does_not_apply() {
    let m = Machine::amd();
    m.file("opt/rocm/.info/version", "6.1.2-119\n");
    let (code, text) = m.doctor(false);
    assert_eq!(code, 0, "{text}");
    insta::assert_snapshot!(
        "doctor_amd_text",
        text.replace(&m.root.path().display().to_string(), "[root]")
    );

    let (_, report) = m.json();
    let names: Vec<&str> = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"ROCm (AMD GPUs)"), "{names:?}");
    assert!(!names.contains(&"oneAPI (Intel GPUs)"), "{names:?}");
    for check in ["pci", "nvml_init", "toolkit", "environment", "cudnn"] {
        let f = finding(&report, check);
        assert_eq!(f["status"], "skipped", "{f}");
        assert!(title(f).ends_with("not applicable: no NVIDIA GPU"), "{f}");
    }
    for check in ["amdgpu_module", "kfd", "amd_render_nodes", "amd_groups", "rocm", "torch"] {
        assert_eq!(finding(&report, check)["status"], "ok", "{check}: {report:#}");
    }
    assert!(title(finding(&report, "amdgpu_module")).contains("1 AMD GPU(s)"));
    assert!(title(finding(&report, "amd_groups")).contains("render (gid 4243)"), "{report:#}");
    assert_eq!(title(finding(&report, "rocm")), "ROCm 6.1.2-119 at /opt/rocm");
    assert_eq!(
        title(finding(&report, "torch")),
        "PyTorch 2.4.1+rocm6.1 (ROCm 6.1.40091) sees 1 AMD GPU(s)"
    );
}

/// A CUDA wheel on an AMD-only machine cannot use the GPU: the fix is PyTorch's ROCm wheels,
/// without naming any download host.
#[test]
fn a_cuda_pytorch_on_an_amd_machine_is_a_failure_with_the_rocm_wheels_as_fix() {
    let mut m = Machine::amd();
    m.torch = TORCH_CUDA.into();
    let (code, report) = m.json();
    assert_eq!(code, 2, "{report:#}");
    let torch = finding(&report, "torch");
    assert_eq!(torch["status"], "failure");
    assert_eq!(
        title(torch),
        "PyTorch 2.4.1+cu121 is a CUDA build (CUDA 12.1): it cannot use the AMD GPU(s)"
    );
    assert_eq!(fix(torch), "install PyTorch's ROCm wheels (see pytorch.org's install selector)");
    assert!(!fix(torch).contains("download.") && !fix(torch).contains("http"), "{torch}");
    // Without ROCm installed the user-space line says it is not needed for the wheels.
    assert_eq!(finding(&report, "rocm")["status"], "skipped");
}

#[test]
fn a_missing_kfd_is_a_failure() {
    let m = Machine::amd();
    m.remove("dev/kfd");
    let (code, report) = m.json();
    assert_eq!(code, 2);
    let kfd = finding(&report, "kfd");
    assert_eq!(kfd["status"], "failure");
    assert_eq!(title(kfd), "/dev/kfd is missing");
    assert!(fix(kfd).contains("--device=/dev/kfd"), "{kfd}");
}

/// Nodes owned by a group the user is not in: the fix names the group by the nodes' GID
/// (here not called `render` at all), or says to log in again when /etc/group already lists
/// the user there.
#[test]
fn nodes_of_a_group_the_user_is_not_in_name_that_group() {
    let mut m = Machine::amd();
    m.file("etc/group", &format!("root:x:0:\nvideo:x:44:\ngpuusers:x:{RENDER_GID}:\n"));
    m.user = (ALICE, vec![ALICE, 44]);
    let (code, report) = m.json();
    assert_eq!(code, 2, "{report:#}");
    let kfd = finding(&report, "kfd");
    assert_eq!(title(kfd), "No permission to use /dev/kfd");
    assert!(
        kfd["evidence"][0].as_str().unwrap().contains("group gpuusers (gid 4243), mode 0660"),
        "{kfd}"
    );
    assert_eq!(
        title(finding(&report, "amd_render_nodes")),
        "No permission to use /dev/dri/renderD128"
    );
    let groups = finding(&report, "amd_groups");
    assert_eq!(groups["status"], "failure");
    assert_eq!(title(groups), "Not in the group(s) that own the device nodes: gpuusers (gid 4243)");
    assert_eq!(fix(groups), "sudo usermod -aG gpuusers $USER, then log out and in again");

    m.file("etc/group", &format!("root:x:0:\ngpuusers:x:{RENDER_GID}:bob,alice\n"));
    let (_, report) = m.json();
    let groups = finding(&report, "amd_groups");
    assert!(
        fix(groups).starts_with("log out and in again (or start a shell with `newgrp gpuusers`)"),
        "{groups}"
    );
    // Nodes open to everyone need no group.
    m.node("dev/kfd", RENDER_GID, 0o666);
    m.node("dev/dri/renderD128", RENDER_GID, 0o666);
    let (code, report) = m.json();
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        title(finding(&report, "amd_groups")),
        "The device nodes are open to this user without a group"
    );
}

#[test]
fn hip_and_rocr_visible_devices_must_name_gpus_that_exist() {
    let mut m = Machine::amd();
    m.set_env("HIP_VISIBLE_DEVICES", "0,2");
    let (code, report) = m.json();
    assert_eq!(code, 2);
    let hip = finding(&report, "hip_visible_devices");
    assert_eq!(title(hip), "HIP_VISIBLE_DEVICES=0,2 names GPUs that do not exist: 2");
    m.set_env("HIP_VISIBLE_DEVICES", "0");
    m.set_env("ROCR_VISIBLE_DEVICES", "");
    let (code, report) = m.json();
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(finding(&report, "rocr_visible_devices")["status"], "warning");
    assert_eq!(finding(&report, "hip_visible_devices")["status"], "ok");
    m.set_env("ROCR_VISIBLE_DEVICES", "zero");
    let (_, report) = m.json();
    assert!(title(finding(&report, "rocr_visible_devices")).contains("not devices: zero"));
}

#[test]
fn an_amd_gpu_without_its_driver_is_a_failure() {
    let m = Machine::bare();
    m.file("sys/bus/pci/devices/0000:03:00.0/vendor", "0x1002\n");
    m.file("sys/bus/pci/devices/0000:03:00.0/class", "0x030000\n");
    let (code, report) = m.json();
    assert_eq!(code, 2);
    let module = finding(&report, "amdgpu_module");
    assert_eq!(title(module), "The amdgpu kernel module is not loaded");
    assert!(fix(module).contains("sudo modprobe amdgpu"), "{module}");
    assert!(title(finding(&report, "pci")).contains("not applicable"), "{report:#}");

    // An Instinct MI300 is a processing accelerator (class 0x12), not a display controller.
    let m = Machine::bare();
    m.file("sys/bus/pci/devices/0000:83:00.0/vendor", "0x1002\n");
    m.file("sys/bus/pci/devices/0000:83:00.0/class", "0x120000\n");
    let (code, report) = m.json();
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(title(finding(&report, "amdgpu_module")), "The amdgpu kernel module is not loaded");
}

#[test]
fn an_intel_machine_checks_level_zero_xpu_and_the_affinity_mask() {
    let mut m = Machine::intel();
    let (code, report) = m.json();
    assert_eq!(code, 1, "{report:#}");
    assert!(title(finding(&report, "intel_module"))
        .starts_with("xe kernel module loaded: 1 Intel GPU(s)"));
    assert_eq!(finding(&report, "intel_render_nodes")["status"], "ok");
    let ze = finding(&report, "level_zero");
    assert_eq!(ze["status"], "warning", "{ze}");
    assert!(fix(ze).contains("libze1"), "{ze}");
    assert_eq!(title(finding(&report, "torch")), "PyTorch 2.5.1+xpu (XPU) sees 1 Intel GPU(s)");

    // A loader that is no shared library is found and fails to load; a real one loads.
    m.file("usr/lib/x86_64-linux-gnu/libze_loader.so.1", "not an ELF file\n");
    let (_, report) = m.json();
    let ze = finding(&report, "level_zero");
    assert_eq!(ze["status"], "failure", "{ze}");
    assert!(
        title(ze).ends_with("/usr/lib/x86_64-linux-gnu/libze_loader.so.1 cannot be loaded"),
        "{ze}"
    );
    std::fs::copy(fake_nvml(), m.root.path().join("usr/lib/x86_64-linux-gnu/libze_loader.so.1"))
        .unwrap();
    let (code, report) = m.json();
    assert_eq!(finding(&report, "level_zero")["status"], "ok", "{report:#}");
    assert_eq!(code, 0, "{report:#}");

    m.set_env("ZE_AFFINITY_MASK", "0.0,1");
    let (_, report) = m.json();
    assert_eq!(
        title(finding(&report, "ze_affinity_mask")),
        "ZE_AFFINITY_MASK=0.0,1 names GPUs that do not exist: 1"
    );
    m.set_env("ZE_AFFINITY_MASK", "0.x");
    let (_, report) = m.json();
    assert!(title(finding(&report, "ze_affinity_mask")).contains("not devices: 0.x"));

    // A CUDA wheel on an Intel-only machine: the XPU wheels.
    m.set_env("ZE_AFFINITY_MASK", "0");
    m.torch = TORCH_CUDA.into();
    let (_, report) = m.json();
    let torch = finding(&report, "torch");
    assert_eq!(torch["status"], "failure");
    assert_eq!(fix(torch), "install PyTorch's XPU wheels (see pytorch.org's install selector)");
}

/// The real binary on a fixture machine made in a private mount namespace: tmpfs over
/// `/sys/class` (an amdgpu card), `/sys/module` (amdgpu loaded) and `/dev` (real character
/// devices: the render node `226:128`, `/dev/kfd` `238:0`, owned by group 4243, 0660), a fake
/// `python3` with a ROCm PyTorch on PATH. Run as root, as an ordinary user outside the group
/// (the kernel's access(2) says no), and as one in it.
#[test]
fn the_binary_diagnoses_an_amd_machine_in_a_mount_namespace() {
    if !is_root() || !have("unshare", &["-m", "true"], "run as root with util-linux's unshare") {
        return;
    }
    if !have("setpriv", &["--version"], "install util-linux's setpriv") {
        return;
    }
    let dir = temp_dir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let python = bin.join("python3");
    std::fs::write(
        &python,
        format!("#!/bin/sh\ncase \"$2\" in *tensorflow*|*jax*) echo null ;; *torch*) echo '{TORCH_ROCM}' ;; esac\n"),
    )
    .unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let gputop = assert_cmd::cargo::cargo_bin("gputop");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let card = "/sys/class/drm/card1/device";
    let script = format!(
        "set -e
mount -t tmpfs tmpfs /sys/class
mkdir -p {card}/drm/renderD128
printf 'DRIVER=amdgpu\\nPCI_SLOT_NAME=0000:03:00.0\\n' > {card}/uevent
echo 0x1002 > {card}/vendor; echo 0x744c > {card}/device; echo 0xc8 > {card}/revision
mount -t tmpfs tmpfs /sys/module
mkdir /sys/module/amdgpu
mount -t tmpfs tmpfs /dev
mknod -m 666 /dev/null c 1 3
mkdir /dev/dri
mknod -m 660 /dev/dri/renderD128 c 226 128
mknod -m 660 /dev/kfd c 238 0
chgrp {RENDER_GID} /dev/dri/renderD128 /dev/kfd
export PATH={bin}:/usr/bin:/bin
{gputop} doctor --json > {out}/root.json || true
setpriv --reuid {ALICE} --regid {ALICE} --clear-groups {gputop} doctor --json > {out}/outsider.json || true
setpriv --reuid {ALICE} --regid {ALICE} --groups {RENDER_GID} {gputop} doctor --json > {out}/member.json || true
",
        bin = bin.display(),
        gputop = gputop.display(),
        out = out.display(),
    );
    let status = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .env_remove("HIP_VISIBLE_DEVICES")
        .env_remove("ROCR_VISIBLE_DEVICES")
        .status()
        .unwrap();
    assert!(status.success(), "the namespace script failed");
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
    };

    let root = read("root.json");
    for check in ["amdgpu_module", "kfd", "amd_render_nodes", "amd_groups", "torch"] {
        assert_eq!(finding(&root, check)["status"], "ok", "{check}: {root:#}");
    }
    assert!(
        title(finding(&root, "nvml_init")).ends_with("not applicable: no NVIDIA GPU"),
        "{root:#}"
    );
    assert!(findings(&root, "device_nodes").is_empty(), "{root:#}");

    let outsider = read("outsider.json");
    assert_eq!(title(finding(&outsider, "kfd")), "No permission to use /dev/kfd", "{outsider:#}");
    assert_eq!(finding(&outsider, "amd_render_nodes")["status"], "failure", "{outsider:#}");
    let groups = finding(&outsider, "amd_groups");
    assert!(fix(groups).starts_with("sudo usermod -aG "), "{groups}");

    let member = read("member.json");
    assert_eq!(finding(&member, "kfd")["status"], "ok", "{member:#}");
    assert_eq!(finding(&member, "amd_groups")["status"], "ok", "{member:#}");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() == 0 };
    root || skipped("not root: mount namespaces, mknod and setpriv need root (CI runs as root)")
}
