//! The checks, one file per link of the stack, sharing what earlier links found. NVIDIA's
//! chain (driver, NVML, CUDA, cuDNN) runs unless the machine has no NVIDIA GPU but an AMD or
//! Intel one, where each of its sections says it does not apply; ROCm's and oneAPI's run where
//! their GPUs are.

mod container;
mod cuda;
mod cudnn;
mod dri;
mod driver;
mod frameworks;
mod nvml;
mod oneapi;
mod rocm;
mod shadowing;
mod torch_rocm_xpu;
mod visible;

use super::{DoctorOptions, Finding, Section, Status, System};

/// What earlier checks learned that later ones need.
#[derive(Debug, Default)]
pub struct Facts {
    pub pci_gpus: usize,
    pub in_container: Option<&'static str>,
    pub cloud: Option<container::Cloud>,
    /// The newest CUDA version the driver supports, from NVML.
    pub driver_cuda: Option<(u32, u32)>,
    pub nvml_gpus: Option<Vec<String>>,
    pub toolkit: Option<cuda::Toolkit>,
    /// The AMD and Intel GPUs.
    pub others: dri::OtherGpus,
}

impl Facts {
    /// No NVIDIA GPU, but an AMD or Intel one: NVIDIA's chain does not apply.
    pub fn nvidia_not_applicable(&self) -> bool {
        self.pci_gpus == 0 && (self.others.has_amd() || self.others.has_intel())
    }
}

pub fn run_all(sys: &System, opts: &DoctorOptions) -> Vec<Section> {
    let mut facts = Facts {
        pci_gpus: driver::pci_gpus(sys).len(),
        in_container: container::runtime(sys),
        cloud: container::cloud(sys),
        ..Facts::default()
    };
    let others = dri::OtherGpus::find(sys);
    let (amd, intel) = (others.has_amd(), others.has_intel());
    facts.others = others;
    let mut sections = if facts.nvidia_not_applicable() {
        not_applicable(&facts)
    } else {
        let hardware = driver::check(sys, &facts);
        let nvml = nvml::check(sys, opts, &mut facts);
        let toolkit = cuda::toolkits(sys, &mut facts);
        vec![
            Section { name: "Hardware and kernel driver", findings: hardware },
            Section { name: "NVML", findings: nvml },
            Section { name: "CUDA toolkit", findings: toolkit },
            Section { name: "Environment", findings: cuda::environment(sys, &facts) },
            Section { name: "cuDNN", findings: cudnn::check(sys, &facts) },
        ]
    };
    // Beside NVIDIA GPUs (a workstation's Intel integrated GPU, most often), what is amiss
    // with the other vendors' chains is told but does not fail the machine: its work runs on
    // CUDA, checked above.
    let beside_nvidia = |findings: Vec<Finding>, vendor: &str| -> Vec<Finding> {
        if facts.pci_gpus == 0 {
            return findings;
        }
        findings.into_iter().map(|f| only_to_compute_on(f, vendor)).collect()
    };
    if amd {
        let findings = beside_nvidia(rocm::check(sys, &facts.others), "AMD");
        sections.push(Section { name: "ROCm (AMD GPUs)", findings });
    }
    if intel {
        let findings = beside_nvidia(oneapi::check(sys, &facts.others), "Intel");
        sections.push(Section { name: "oneAPI (Intel GPUs)", findings });
    }
    sections.push(Section { name: "Frameworks", findings: frameworks::check(sys, opts, &facts) });
    sections
        .push(Section { name: "Containers and cloud", findings: container::check(sys, &facts) });
    sections
}

/// A finding about another vendor's chain on a machine with NVIDIA GPUs: a warning or failure
/// becomes a skipped line that says when it would matter, its fix kept.
fn only_to_compute_on(mut f: Finding, vendor: &str) -> Finding {
    if matches!(f.status, Status::Warning | Status::Failure) {
        f.status = Status::Skipped;
        f.title = format!(
            "{} (matters only to compute on the {vendor} GPU: the NVIDIA GPUs are checked above)",
            f.title
        );
    }
    f
}

/// NVIDIA's sections on a machine without an NVIDIA GPU: each one line saying so, under the
/// check id of its first finding, so that a script reading the report finds the same sections.
fn not_applicable(facts: &Facts) -> Vec<Section> {
    let skip = |name: &'static str, check: &'static str, what: &str| Section {
        name,
        findings: vec![Finding::new(
            check,
            Status::Skipped,
            format!("{what}: not applicable: no NVIDIA GPU"),
        )],
    };
    let mut hardware = skip("Hardware and kernel driver", "pci", "NVIDIA driver");
    hardware.findings[0].evidence.push(format!(
        "no device with vendor 0x10de in /sys/bus/pci/devices; {}",
        facts.others.describe()
    ));
    vec![
        hardware,
        skip("NVML", "nvml_init", "NVML"),
        skip("CUDA toolkit", "toolkit", "CUDA toolkit"),
        skip("Environment", "environment", "CUDA environment"),
        skip("cuDNN", "cudnn", "cuDNN"),
    ]
}

/// "12.4.1" or "12.4" → (12, 4).
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    // "12" is CUDA 12.0.
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}
