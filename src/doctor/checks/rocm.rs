//! ROCm, for the AMD GPUs: the amdgpu kernel module, `/dev/kfd` (the compute interface) and the
//! cards' render nodes with the groups that own them, the ROCm user-space where installed, and
//! `HIP_VISIBLE_DEVICES` / `ROCR_VISIBLE_DEVICES` naming GPUs that exist. ROCm's own
//! requirements: the amdgpu driver loaded with KFD, read/write on `/dev/kfd` and
//! `/dev/dri/renderD*`.

use super::dri::{self, OtherGpus};
use super::visible;
use crate::doctor::{Finding, Status, System};

/// The compute interface of amdgpu (the Kernel Fusion Driver).
const KFD: &str = "/dev/kfd";

pub fn check(sys: &System, gpus: &OtherGpus) -> Vec<Finding> {
    let mut out = vec![module(sys, gpus)];
    if gpus.amd.is_empty() {
        // Without the driver there is no card, node or device index to check.
        return out;
    }
    out.push(dri::nodes_finding(
        sys,
        "kfd",
        KFD,
        &[KFD.to_string()],
        "/dev/kfd appears when amdgpu loads with compute support (a kernel built with CONFIG_HSA_AMD); in a container pass it in: --device=/dev/kfd --device=/dev/dri",
    ));
    let (render, without) = dri::render_nodes(&gpus.amd);
    if !without.is_empty() {
        out.push(
            Finding::new("amd_render_nodes", Status::Failure, format!("No render node for {}", without.join(", ")))
                .evidence("sysfs lists no renderD* under the card's device/drm")
                .fix("update the kernel and linux-firmware; `sudo dmesg | grep -i amdgpu` says why the card did not initialise"),
        );
    }
    if !render.is_empty() {
        out.push(dri::nodes_finding(
            sys,
            "amd_render_nodes",
            "Render nodes",
            &render,
            "the nodes come with the driver (udev creates them): in a container pass them in with --device=/dev/dri",
        ));
    }
    let mut nodes = vec![KFD.to_string()];
    nodes.extend(render);
    out.push(dri::groups_finding(sys, "amd_groups", &nodes));
    out.push(user_space(sys));
    out.extend(visible_devices(sys, gpus.amd.len()));
    out
}

fn module(sys: &System, gpus: &OtherGpus) -> Finding {
    if sys.exists("/sys/module/amdgpu") && !gpus.amd.is_empty() {
        let cards: Vec<String> = gpus.amd.iter().map(dri::describe_card).collect();
        return Finding::new(
            "amdgpu_module",
            Status::Ok,
            format!("amdgpu kernel module is loaded: {} AMD GPU(s)", gpus.amd.len()),
        )
        .evidence(cards.join(", "));
    }
    if sys.exists("/sys/module/amdgpu") {
        return Finding::new("amdgpu_module", Status::Failure, "amdgpu is loaded but drives no GPU")
            .evidence(format!("AMD GPU(s) on the PCI bus: {}", gpus.amd_pci.join(", ")))
            .fix("`sudo dmesg | grep -i amdgpu` says why the card did not initialise (often missing firmware: update linux-firmware)");
    }
    let on_bus = if gpus.amd_pci.is_empty() {
        "an AMD card in /sys/class/drm".to_string()
    } else {
        format!("AMD GPU(s) on the PCI bus: {}", gpus.amd_pci.join(", "))
    };
    Finding::new("amdgpu_module", Status::Failure, "The amdgpu kernel module is not loaded")
        .evidence(on_bus)
        .evidence("no /sys/module/amdgpu, or no card bound to it")
        .fix("load it: sudo modprobe amdgpu (it needs the firmware from linux-firmware; `sudo dmesg | grep -i amdgpu` says why it failed); on Radeon cards older than GCN the radeon driver cannot run ROCm")
}

/// The ROCm version installed under `/opt/rocm` (its `.info/version`), or its newest
/// `/opt/rocm-X.Y.Z`, else `rocminfo` on PATH. Not required: PyTorch's ROCm wheels bring
/// their own ROCm libraries.
fn user_space(sys: &System) -> Finding {
    let mut trees: Vec<String> = sys
        .list("/opt")
        .into_iter()
        .filter(|n| n.starts_with("rocm-"))
        .map(|n| format!("/opt/{n}"))
        .collect();
    trees.sort_by_key(|t| version_key(t));
    trees.reverse();
    trees.insert(0, "/opt/rocm".into());
    for tree in trees {
        if let Some(version) = sys.read(format!("{tree}/.info/version")) {
            let version = version.lines().next().unwrap_or("").trim().to_string();
            return Finding::new("rocm", Status::Ok, format!("ROCm {version} at {tree}"))
                .evidence(format!("{tree}/.info/version"));
        }
    }
    if let Some(rocminfo) = sys.which("rocminfo") {
        return Finding::new(
            "rocm",
            Status::Ok,
            format!("ROCm user-space at {rocminfo} (version unknown)"),
        )
        .evidence("no /opt/rocm/.info/version");
    }
    Finding::new("rocm", Status::Skipped, "No ROCm user-space installed (/opt/rocm)").evidence(
        "not needed to run PyTorch's ROCm wheels, which bring their own ROCm libraries; only to build HIP code or use rocm-smi and rocminfo",
    )
}

/// "/opt/rocm-6.1.2" → [6, 1, 2], to find the newest.
fn version_key(tree: &str) -> Vec<u32> {
    tree.rsplit('-').next().unwrap_or("").split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// `ROCR_VISIBLE_DEVICES` picks among the GPUs, then `HIP_VISIBLE_DEVICES` among those it left.
fn visible_devices(sys: &System, cards: usize) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut count = cards;
    if let Some(raw) = sys.raw_var("ROCR_VISIBLE_DEVICES") {
        let f = visible::check(visible::Spec {
            check: "rocr_visible_devices",
            var: "ROCR_VISIBLE_DEVICES",
            value: raw,
            count: cards,
            counted: "AMD GPU(s) on this machine",
            subdevices: false,
        });
        if f.status == Status::Ok {
            count = raw.split(',').count();
        }
        out.push(f);
    }
    if let Some(raw) = sys.raw_var("HIP_VISIBLE_DEVICES") {
        let counted = if count == cards {
            "AMD GPU(s) on this machine"
        } else {
            "GPU(s) left visible by ROCR_VISIBLE_DEVICES"
        };
        out.push(visible::check(visible::Spec {
            check: "hip_visible_devices",
            var: "HIP_VISIBLE_DEVICES",
            value: raw,
            count,
            counted,
            subdevices: false,
        }));
    }
    out
}
