//! The sample model: plain, serde-serializable data that every frontend renders from. It
//! imports nothing from the rest of the crate but the leaf module `text`: sources fill it,
//! frontends read it. This file names the parts and keeps why a value is missing.
//!
//! Every metric is an `Option`: `None` means the driver could not give it (not supported, no
//! permission, a missing symbol) and is shown as `N/A` or `null`, never as 0. Units are base
//! units: bytes, percent, °C, watts, MHz, joules.

mod details;
mod events;
mod faults;
mod field;
mod gpu;
mod host;
mod past;
mod platform;
mod process;
mod snapshot;
mod throttle;

pub use details::{
    AddressingMode, ClockEventCounters, ComputeMode, Details, Inforom, ModulePower, OperationMode,
    PciIds, VgpuCapabilities,
};
pub use events::{EventSource, GpuEvent, GpuEventKind, GpuEvents};
pub use faults::{
    EccCounts, EccLocations, NvlinkHealth, RecoveryAction, RemappedRows, RetiredPage,
    RetirementCause,
};
pub use field::{FieldKey, MissingFields};
pub use gpu::{
    Activity, Clocks, Ecc, GpuSample, GpuStatus, Memory, MigInstance, Pcie, Power, Temperature,
    Utilization, Vendor, Workload,
};
pub use host::{cuda_version_string, HostInfo, RemoteHost};
pub use past::PastGpu;
pub use platform::{Fabric, Platform};
pub use process::{GpuProcess, PidMapping, Placement, ProcessKey, ProcessKind};
pub use snapshot::{Origin, Snapshot, SCHEMA_VERSION};
pub use throttle::{Throttle, ThrottleReason};

use serde::{Deserialize, Serialize};

/// Why NVML gave no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingReason {
    /// This GPU or driver does not have it (NOT_SUPPORTED, or a function the library lacks).
    NotSupported,
    NoPermission,
    GpuLost,
    /// Any other NVML error; `Missing::nvml_code` says which.
    Error,
    /// Read from a metrics server (`--prometheus`) whose exporter does not export it.
    NotExported,
    /// Replayed from a recording (`--replay`), which does not store it.
    NotRecorded,
    /// A simulated GPU (`--demo`) has no driver behind it to give it.
    Simulated,
    /// An AMD GPU: the amdgpu kernel driver has no such reading (an NVIDIA-only property).
    NotProvidedByAmdgpu,
    /// An Intel GPU on the i915 kernel driver, which has no such reading.
    NotProvidedByI915,
    /// An Intel GPU on the xe kernel driver, which has no such reading.
    NotProvidedByXe,
}

/// A value NVML did not give, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    pub reason: MissingReason,
    /// NVML's return code (`nvmlReturn_t`), where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvml_code: Option<u32>,
}

impl Missing {
    /// The reason an NVML return code (`nvmlReturn_t`) stands for.
    pub fn from_nvml_code(code: u32) -> Self {
        let reason = match code {
            3 | 13 => MissingReason::NotSupported, // NOT_SUPPORTED, FUNCTION_NOT_FOUND
            4 => MissingReason::NoPermission,
            15 => MissingReason::GpuLost,
            _ => MissingReason::Error,
        };
        Self { reason, nvml_code: Some(code) }
    }

    /// A few words for people: "no permission", "NVML error 999".
    pub fn describe(&self) -> String {
        match (self.reason, self.nvml_code) {
            (MissingReason::NotSupported, _) => "not supported".into(),
            (MissingReason::NoPermission, _) => "no permission".into(),
            (MissingReason::GpuLost, _) => "GPU lost".into(),
            (MissingReason::Error, Some(code)) => format!("NVML error {code}"),
            (MissingReason::Error, None) => "error".into(),
            (MissingReason::NotExported, _) => "not exported".into(),
            (MissingReason::NotRecorded, _) => "not recorded".into(),
            (MissingReason::Simulated, _) => "simulated".into(),
            (MissingReason::NotProvidedByAmdgpu, _) => "not provided by the amdgpu driver".into(),
            (MissingReason::NotProvidedByI915, _) => "not provided by the i915 driver".into(),
            (MissingReason::NotProvidedByXe, _) => "not provided by the xe driver".into(),
        }
    }
}
