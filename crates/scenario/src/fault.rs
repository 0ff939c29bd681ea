//! Injected failures: the metrics a scenario can make fail (`errors = { memory = … }`) and
//! the NVML return codes they fail with.

use serde::Deserialize;

/// The metrics an error can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Name,
    Uuid,
    Pci,
    Memory,
    Utilization,
    Temperature,
    TemperatureThresholds,
    Power,
    PowerLimit,
    Fan,
    Clocks,
    MaxClocks,
    Pstate,
    Encoder,
    Decoder,
    Pcie,
    Throttle,
    Ecc,
    Mig,
    Energy,
    Persistence,
    Processes,
    ProcessUtilization,
    Serial,
    Vbios,
    PcieLink,
    PowerLimitRange,
    Accounting,
    Display,
    RemappedRows,
    RetiredPages,
    PcieReplay,
    Events,
    Gpm,
    Nvlink,
    /// The NVLink error counters alone (`nvmlDeviceGetNvLinkErrorCounter`): links stay up.
    NvlinkErrorCounters,
    ApplicationsClocks,
    ComputeCapability,
    Inforom,
    OperationMode,
    MemoryTemperature,
    PowerManagement,
    AddressingMode,
    DramEncryption,
    Gsp,
    C2c,
    ConfCompute,
    RecoveryAction,
    Platform,
    Vgpu,
}

/// NVML return codes worth simulating, with their C values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    Uninitialized,
    InvalidArgument,
    NotSupported,
    NoPermission,
    NotFound,
    InsufficientSize,
    DriverNotLoaded,
    Timeout,
    FunctionNotFound,
    GpuIsLost,
    /// `NVML_ERROR_CORRUPTED_INFOROM`.
    CorruptedInforom,
    LibRmVersionMismatch,
    ArgumentVersionMismatch,
    Unknown,
}

impl ErrorCode {
    pub fn as_nvml_return(self) -> u32 {
        match self {
            Self::Uninitialized => 1,
            Self::InvalidArgument => 2,
            Self::NotSupported => 3,
            Self::NoPermission => 4,
            Self::NotFound => 6,
            Self::InsufficientSize => 7,
            Self::DriverNotLoaded => 9,
            Self::Timeout => 10,
            Self::FunctionNotFound => 13,
            Self::CorruptedInforom => 14,
            Self::GpuIsLost => 15,
            Self::LibRmVersionMismatch => 18,
            Self::ArgumentVersionMismatch => 25,
            Self::Unknown => 999,
        }
    }
}

/// A reading of one metric: the value, or the error NVML would return for it.
pub type Reading<T> = Result<T, ErrorCode>;
