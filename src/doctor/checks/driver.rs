//! Hardware and kernel driver: NVIDIA devices on the PCI bus, the kernel module (or nouveau in
//! its place), Secure Boot, and the device nodes CUDA opens.

use super::Facts;
use crate::doctor::{Finding, Status, System};

/// PCI addresses of NVIDIA display/3D controllers (vendor 0x10de, class 0x03xxxx).
pub fn pci_gpus(sys: &System) -> Vec<String> {
    let base = "/sys/bus/pci/devices";
    sys.list(base)
        .into_iter()
        .filter(|dev| {
            let read = |f: &str| sys.read(format!("{base}/{dev}/{f}")).unwrap_or_default();
            read("vendor").trim() == "0x10de" && read("class").trim().starts_with("0x03")
        })
        .collect()
}

/// The loaded module's version, from `/proc/driver/nvidia/version` or `/sys/module/nvidia`.
pub fn module_version(sys: &System) -> Option<String> {
    if let Some(text) = sys.read("/proc/driver/nvidia/version") {
        let line = text.lines().find(|l| l.contains("Kernel Module"))?;
        let after = line.split("Kernel Module").nth(1)?;
        return after.split_whitespace().next().map(str::to_string);
    }
    sys.read("/sys/module/nvidia/version").map(|v| v.trim().to_string())
}

fn secure_boot(sys: &System) -> Option<bool> {
    let dir = "/sys/firmware/efi/efivars";
    let var = sys.list(dir).into_iter().find(|n| n.starts_with("SecureBoot-"))?;
    let bytes = std::fs::read(sys.path(format!("{dir}/{var}"))).ok()?;
    bytes.last().map(|b| *b == 1)
}

pub fn check(sys: &System, facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let gpus = pci_gpus(sys);
    out.push(if gpus.is_empty() {
        let fix = match (&facts.cloud, facts.in_container) {
            (Some(cloud), _) => {
                format!("this {} machine has no NVIDIA GPU: {}", cloud.name, cloud.gpu_families)
            }
            (None, Some(_)) => {
                "the container does not see the host's GPUs (see Containers below)".into()
            }
            (None, None) => {
                "check that the card is seated and powered (and, in a VM, passed through to it)"
                    .into()
            }
        };
        Finding::new("pci", Status::Failure, "No NVIDIA GPU on the PCI bus")
            .evidence("no device with vendor 0x10de in /sys/bus/pci/devices")
            .fix(fix)
    } else {
        Finding::new("pci", Status::Ok, format!("{} NVIDIA GPU(s) on the PCI bus", gpus.len()))
            .evidence(gpus.join(", "))
    });

    let nouveau = sys.exists("/sys/module/nouveau");
    if nouveau {
        out.push(
            Finding::new("nouveau", Status::Failure, "nouveau (the open-source driver) is loaded instead of NVIDIA's")
                .evidence("/sys/module/nouveau exists")
                .fix("blacklist nouveau (echo 'blacklist nouveau' | sudo tee /etc/modprobe.d/blacklist-nouveau.conf; sudo update-initramfs -u), install the NVIDIA driver and reboot"),
        );
    }

    match module_version(sys) {
        Some(v) => out.push(
            Finding::new("module", Status::Ok, format!("NVIDIA kernel module {v} is loaded"))
                .evidence("/proc/driver/nvidia/version"),
        ),
        None => {
            let mut f =
                Finding::new("module", Status::Failure, "The NVIDIA kernel module is not loaded")
                    .evidence("no /proc/driver/nvidia/version and no /sys/module/nvidia");
            f = if secure_boot(sys) == Some(true) {
                f.evidence("Secure Boot is enabled").fix(
                    "Secure Boot refuses unsigned modules: enroll the driver's signing key (sudo mokutil --import …, then reboot) or turn Secure Boot off in the firmware",
                )
            } else if facts.in_container.is_some() {
                f.fix("the module is loaded on the host, not in a container: install the driver on the host and pass the GPUs in (see Containers below)")
            } else {
                f.fix("install the NVIDIA driver (Ubuntu: sudo ubuntu-drivers install; elsewhere your distribution's nvidia-driver package) and reboot, or load it: sudo modprobe nvidia")
            };
            out.push(f);
        }
    }

    out.push(device_nodes(sys, facts));
    out
}

fn device_nodes(sys: &System, facts: &Facts) -> Finding {
    let mut nodes: Vec<String> = sys
        .list("/dev")
        .into_iter()
        .filter(|n| {
            n == "nvidiactl"
                || n == "nvidia-uvm"
                || (n.starts_with("nvidia") && n[6..].parse::<u32>().is_ok())
        })
        .map(|n| format!("/dev/{n}"))
        .collect();
    nodes.sort();
    if nodes.is_empty() {
        let fix = if facts.in_container.is_some() {
            "start the container with the GPUs passed in (see Containers below)"
        } else {
            "load the driver (see above); the nodes appear when it loads (sudo nvidia-modprobe -c 0 -u creates them)"
        };
        return Finding::new("device_nodes", Status::Failure, "No NVIDIA device nodes in /dev")
            .fix(fix);
    }
    let denied: Vec<&String> =
        nodes.iter().filter(|n| sys.can_read_write(n.as_str()) == Some(false)).collect();
    if !denied.is_empty() {
        let list = denied.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        return Finding::new("device_nodes", Status::Failure, format!("No permission to use {list}"))
            .evidence("CUDA and NVML need read and write access to the device nodes")
            .fix("add your user to the group that owns them (ls -l /dev/nvidia*; often `video`): sudo usermod -aG video $USER, then log in again");
    }
    if !nodes.iter().any(|n| n == "/dev/nvidia-uvm") {
        return Finding::new("device_nodes", Status::Warning, "/dev/nvidia-uvm is missing")
            .evidence(nodes.join(", "))
            .fix(
                "CUDA programs need it: sudo modprobe nvidia-uvm (or sudo nvidia-modprobe -u -c 0)",
            );
    }
    Finding::new("device_nodes", Status::Ok, "Device nodes are present and usable")
        .evidence(nodes.join(", "))
}
