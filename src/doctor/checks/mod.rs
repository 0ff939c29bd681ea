//! The checks, one file per link of the stack, sharing what earlier links found.

mod container;
mod cuda;
mod cudnn;
mod driver;
mod frameworks;
mod nvml;
mod shadowing;

use super::{DoctorOptions, Section, System};

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
}

pub fn run_all(sys: &System, opts: &DoctorOptions) -> Vec<Section> {
    let mut facts = Facts {
        pci_gpus: driver::pci_gpus(sys).len(),
        in_container: container::runtime(sys),
        cloud: container::cloud(sys),
        ..Facts::default()
    };
    let hardware = driver::check(sys, &facts);
    let nvml = nvml::check(sys, opts, &mut facts);
    let toolkit = cuda::toolkits(sys, &mut facts);
    vec![
        Section { name: "Hardware and kernel driver", findings: hardware },
        Section { name: "NVML", findings: nvml },
        Section { name: "CUDA toolkit", findings: toolkit },
        Section { name: "Environment", findings: cuda::environment(sys, &facts) },
        Section { name: "cuDNN", findings: cudnn::check(sys, &facts) },
        Section { name: "Frameworks", findings: frameworks::check(sys, opts, &facts) },
        Section { name: "Containers and cloud", findings: container::check(sys, &facts) },
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
