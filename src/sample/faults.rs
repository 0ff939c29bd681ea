//! Where a GPU's hardware faults are counted (ECC by location, retired pages, remapped rows,
//! NVLink errors) and the recovery the driver asks for.

use serde::{Deserialize, Serialize};

/// ECC error counts per memory location; `None` where the GPU does not count there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EccLocations {
    pub l1_cache: EccCounts,
    pub l2_cache: EccCounts,
    /// Device memory (HBM or GDDR), which nvidia-smi calls both `dram` and `device_memory`.
    pub dram: EccCounts,
    pub register_file: EccCounts,
    pub texture_memory: EccCounts,
    pub cbu: EccCounts,
    pub sram: EccCounts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EccCounts {
    pub corrected_volatile: Option<u64>,
    pub uncorrected_volatile: Option<u64>,
    pub corrected_aggregate: Option<u64>,
    pub uncorrected_aggregate: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredPage {
    pub address: u64,
    pub cause: RetirementCause,
}

/// Why a page was retired: several single-bit ECC errors, or one double-bit error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetirementCause {
    MultipleSingleBitEcc,
    DoubleBitEcc,
}

/// Row remapping: rows of memory replaced by spares after errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemappedRows {
    pub correctable: u32,
    pub uncorrectable: u32,
    /// A remapping waits for the GPU to be reset.
    pub pending: bool,
    /// A remapping failed: no spare row was left.
    pub failed: bool,
}

/// NVLink error counters, summed over the links that are up, since the driver loaded. A
/// counter the driver refused on any link that is up is `None` (its reason in `missing`
/// under `details.nvlink.<counter>`), never a sum of the links it did give.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NvlinkHealth {
    pub active_links: u32,
    /// Transmissions replayed after an error (corrected).
    pub replay_errors: Option<u64>,
    /// Times a link had to be retrained.
    pub recovery_errors: Option<u64>,
    pub crc_flit_errors: Option<u64>,
    pub crc_data_errors: Option<u64>,
}

/// `nvmlDeviceGpuRecoveryAction_t`: what it takes to bring the GPU back after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryAction {
    None,
    GpuReset,
    NodeReboot,
    DrainP2p,
    DrainAndReset,
}

impl RecoveryAction {
    pub fn from_nvml(value: u32) -> Option<Self> {
        Some(match value {
            0 => Self::None,
            1 => Self::GpuReset,
            2 => Self::NodeReboot,
            3 => Self::DrainP2p,
            4 => Self::DrainAndReset,
            _ => return None,
        })
    }

    /// As nvidia-smi prints it.
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::GpuReset => "Reset",
            Self::NodeReboot => "Reboot",
            Self::DrainP2p => "Drain P2P",
            Self::DrainAndReset => "Drain and Reset",
        }
    }
}
