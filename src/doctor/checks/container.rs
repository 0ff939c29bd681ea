//! Containers and cloud VMs: a container started without the GPUs (NVIDIA's, or AMD's and
//! Intel's `/dev/kfd` and `/dev/dri`), and a cloud machine type that has none.

use super::Facts;
use crate::doctor::{Finding, Status, System};

#[derive(Debug, Clone)]
pub struct Cloud {
    pub name: &'static str,
    /// Where to get a GPU on this cloud.
    pub gpu_families: &'static str,
}

/// The container runtime we are inside, if any.
pub fn runtime(sys: &System) -> Option<&'static str> {
    if sys.exists("/.dockerenv") {
        return Some("Docker");
    }
    if sys.exists("/run/.containerenv") {
        return Some("Podman");
    }
    let cgroup = sys.read("/proc/1/cgroup").unwrap_or_default();
    [
        ("kubepods", "Kubernetes"),
        ("docker", "Docker"),
        ("containerd", "containerd"),
        ("libpod", "Podman"),
        ("lxc", "LXC"),
    ]
    .into_iter()
    .find(|(needle, _)| cgroup.contains(needle))
    .map(|(_, name)| name)
}

pub fn cloud(sys: &System) -> Option<Cloud> {
    let dmi = |f: &str| sys.read(format!("/sys/class/dmi/id/{f}")).unwrap_or_default();
    let vendor = format!("{} {} {}", dmi("sys_vendor"), dmi("bios_vendor"), dmi("product_name"));
    if vendor.contains("Amazon") {
        Some(Cloud {
            name: "AWS EC2",
            gpu_families:
                "choose a GPU instance family: p5/p4d (H100/A100), g6 (L4), g5 (A10G), g4dn (T4)",
        })
    } else if vendor.contains("Google") {
        Some(Cloud {
            name: "Google Cloud",
            gpu_families:
                "choose a GPU machine type (a3: H100, a2: A100, g2: L4) or attach GPUs to an N1 VM",
        })
    } else if vendor.contains("Microsoft") {
        Some(Cloud {
            name: "Azure",
            gpu_families: "choose a GPU VM size: ND H100 v5, NC A100 v4, NC T4 v3, NV series",
        })
    } else {
        None
    }
}

pub fn check(sys: &System, facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    if facts.nvidia_not_applicable() {
        return other_vendors(sys, facts);
    }
    let has_nodes = sys.list("/dev").iter().any(|n| {
        n == "nvidiactl" || n.strip_prefix("nvidia").is_some_and(|r| r.parse::<u32>().is_ok())
    });
    match facts.in_container {
        None => out.push(Finding::new("container", Status::Ok, "Not inside a container")),
        Some(rt) if has_nodes => out.push(Finding::new("container", Status::Ok, format!("Inside a {rt} container with the GPU device nodes passed in"))),
        Some(rt) => out.push(
            Finding::new("container", Status::Failure, format!("Inside a {rt} container started without the GPUs"))
                .evidence("no /dev/nvidia* device nodes in the container")
                .fix(match rt {
                    "Kubernetes" => "request the GPU in the pod spec (resources.limits: nvidia.com/gpu: 1) on a node with the NVIDIA device plugin",
                    "Podman" => "start it with --device nvidia.com/gpu=all (CDI from the NVIDIA Container Toolkit)",
                    _ => "start it with --gpus all (docker run --gpus all …), with the NVIDIA Container Toolkit installed on the host",
                }),
        ),
    }
    if let Some(cloud) = &facts.cloud {
        let product = sys
            .read("/sys/class/dmi/id/product_name")
            .map(|p| p.trim().to_string())
            .unwrap_or_default();
        out.push(if facts.pci_gpus == 0 {
            Finding::new(
                "cloud",
                Status::Warning,
                format!("On {} ({product}) with no NVIDIA GPU attached", cloud.name),
            )
            .fix(cloud.gpu_families)
        } else {
            Finding::new("cloud", Status::Ok, format!("On {} ({product})", cloud.name))
        });
    }
    out
}

/// On a machine whose GPUs are AMD's or Intel's: a container needs `/dev/dri` (and, for
/// ROCm, `/dev/kfd`) passed in; a cloud machine has a GPU.
fn other_vendors(sys: &System, facts: &Facts) -> Vec<Finding> {
    let has_dri = sys.list("/dev/dri").iter().any(|n| n.starts_with("renderD"));
    let needs_kfd = facts.others.has_amd();
    let mut out = vec![match facts.in_container {
        None => Finding::new("container", Status::Ok, "Not inside a container"),
        Some(rt) if has_dri && (!needs_kfd || sys.exists("/dev/kfd")) => Finding::new(
            "container",
            Status::Ok,
            format!("Inside a {rt} container with the GPU device nodes passed in"),
        ),
        Some(rt) => {
            let devices = if needs_kfd { "/dev/kfd and /dev/dri" } else { "/dev/dri" };
            let flags =
                if needs_kfd { "--device=/dev/kfd --device=/dev/dri" } else { "--device=/dev/dri" };
            Finding::new("container", Status::Failure, format!("Inside a {rt} container started without the GPUs"))
                .evidence(format!("no {devices} in the container"))
                .fix(match rt {
                    "Kubernetes" => "request the GPU in the pod spec (resources.limits: amd.com/gpu: 1 or gpu.intel.com/i915: 1) on a node with the vendor's device plugin".to_string(),
                    _ => format!("start it with {flags} (and --group-add for the groups that own them)"),
                })
        }
    }];
    if let Some(cloud) = &facts.cloud {
        let product = sys
            .read("/sys/class/dmi/id/product_name")
            .map(|p| p.trim().to_string())
            .unwrap_or_default();
        out.push(Finding::new("cloud", Status::Ok, format!("On {} ({product})", cloud.name)));
    }
    out
}
