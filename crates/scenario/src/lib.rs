//! Simulated GPUs: one scenario model shared by gputop's `sim` source (`--demo`) and the fake
//! `libnvidia-ml.so.1` under `tests/fake-nvml`, so the demo and the tests simulate the same way.
//! This file holds a scenario's root (its driver and GPUs) and how one is loaded; the parts of
//! the file format, its checks and what NVML answers for it each have their own file.

mod board;
mod demo;
mod events;
mod fault;
mod gpm;
mod gpu;
mod mig;
mod process;
mod reading;
mod signal;
mod validate;

use std::path::Path;

use serde::Deserialize;

pub use board::{
    AddressingModeSpec, EccLocationsSpec, FabricSpec, FabricStateSpec, InforomSpec,
    ModulePowerSpec, NvlinkSpec, OperationModeSpec, PlatformSpec, RecoveryActionSpec,
    RemappedRowsSpec, RetiredPageSpec, RetirementCauseSpec,
};
pub use events::{
    EventKindSpec, EventSpec, EVENT_DOUBLE_BIT_ECC, EVENT_PSTATE, EVENT_SINGLE_BIT_ECC,
    EVENT_XID_CRITICAL,
};
pub use fault::{ErrorCode, Metric, Reading};
pub use gpm::GpmSpec;
pub use gpu::{GpuSpec, VendorSpec};
pub use mig::MigSpec;
pub use process::{ProcessKindSpec, ProcessSpec};
pub use signal::{Activity, Signal, Steps};

/// A whole simulated machine: its driver and its GPUs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub driver: DriverSpec,
    #[serde(default)]
    pub gpus: Vec<GpuSpec>,
}

/// Bytes in a MiB: scenarios give memory in MiB, NVML in bytes.
const MIB: u64 = 1024 * 1024;

impl Scenario {
    /// Parses a scenario from TOML text, and checks that its values are physically possible.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let scenario: Scenario =
            toml::from_str(text).map_err(|e| format!("\n{}", e.to_string().trim_end()))?;
        scenario.validate(text)?;
        Ok(scenario)
    }

    /// Reads and parses a scenario file; the error is one line naming the file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| format!("invalid scenario {}: {e}", path.display()))
    }

    /// The built-in demo fleet of `n` NVIDIA GPUs (see `demo.rs`): what NVML sees of the
    /// demo machine, and what tests that count GPUs start from.
    pub fn demo(n: usize) -> Self {
        demo::fleet(n)
    }

    /// The demo machine `--demo N` shows: [`Scenario::demo`]'s `n` NVIDIA GPUs, then an AMD
    /// and an Intel GPU, in the order gputop numbers a real machine's (NVML's GPUs first).
    pub fn demo_machine(n: usize) -> Self {
        demo::machine(n)
    }

    /// The scenario as NVML sees it: its NVIDIA GPUs alone (the fake NVML library loads this).
    pub fn nvidia_only(mut self) -> Self {
        self.gpus.retain(GpuSpec::is_nvidia);
        self
    }
}

/// What `nvmlSystemGet*` reports, and whether `nvmlInit` fails.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverSpec {
    #[serde(default = "default_driver_version")]
    pub version: String,
    /// CUDA driver version as NVML encodes it: 1000 × major + 10 × minor (12040 = 12.4).
    #[serde(default = "default_cuda_version")]
    pub cuda_version: i32,
    #[serde(default = "default_nvml_version")]
    pub nvml_version: String,
    /// When set, `nvmlInit*` fails with this error.
    pub init_error: Option<ErrorCode>,
    /// A vGPU host driver's heterogeneous multi-vGPU capability
    /// (`nvmlGetVgpuDriverCapabilities`); a bare-metal driver has none (NOT_SUPPORTED).
    pub vgpu_heterogeneous_multi_vgpu: Option<bool>,
}

fn default_driver_version() -> String {
    "550.54.15".into()
}
fn default_cuda_version() -> i32 {
    12040
}
fn default_nvml_version() -> String {
    "12.550.54.15".into()
}

impl Default for DriverSpec {
    fn default() -> Self {
        Self {
            version: default_driver_version(),
            cuda_version: default_cuda_version(),
            nvml_version: default_nvml_version(),
            init_error: None,
            vgpu_heterogeneous_multi_vgpu: None,
        }
    }
}
