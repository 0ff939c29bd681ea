//! The tables and enums a GPU's board properties are written in: its NVLink fabric and
//! rack platform, module power, InfoROM, ECC counts by location, retired pages, remapped rows,
//! NVLink links and its modes, each with the C values NVML gives them.

use serde::Deserialize;

use crate::{ErrorCode, Signal};

/// `fabric = { state = "completed", clique_id = 7, cluster_uuid = "…" }`; `status` is the
/// registration's outcome (SUCCESS when left out).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricSpec {
    pub state: FabricStateSpec,
    #[serde(default)]
    pub clique_id: u32,
    /// 32 hex digits, dashes allowed.
    #[serde(default)]
    pub cluster_uuid: String,
    pub status: Option<ErrorCode>,
}

/// `nvmlGpuFabricState_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FabricStateSpec {
    NotSupported = 0,
    NotStarted = 1,
    InProgress = 2,
    Completed = 3,
}

/// `nvmlPlatformInfo_v2_t`: the GPU's place in its rack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    /// The InfiniBand GUID of the GPU's fabric port: 32 hex digits.
    #[serde(default)]
    pub ib_guid: String,
    /// Up to 16 bytes.
    #[serde(default)]
    pub chassis_serial_number: String,
    #[serde(default)]
    pub slot_number: u8,
    #[serde(default)]
    pub tray_index: u8,
    #[serde(default)]
    pub host_id: u8,
    #[serde(default)]
    pub peer_type: u8,
    #[serde(default)]
    pub module_id: u8,
}

impl PlatformSpec {
    /// `nvmlPlatformInfo_v2_t`'s byte fields: the GUID from its hex digits, the serial
    /// NUL-padded (cut at 16 bytes).
    pub fn ib_guid_bytes(&self) -> [u8; 16] {
        hex_bytes(&self.ib_guid)
    }

    pub fn chassis_serial_bytes(&self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        let text = self.chassis_serial_number.as_bytes();
        let n = text.len().min(16);
        bytes[..n].copy_from_slice(&text[..n]);
        bytes
    }
}

/// 16 bytes from the first 32 hex digits of `text` (dashes and other characters skipped,
/// missing digits zero).
pub(crate) fn hex_bytes(text: &str) -> [u8; 16] {
    let hex: String = text.chars().filter(char::is_ascii_hexdigit).collect();
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = hex.get(i * 2..i * 2 + 2).and_then(|h| u8::from_str_radix(h, 16).ok()).unwrap_or(0);
    }
    bytes
}

/// A module's power readings and limits, in watts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModulePowerSpec {
    pub draw_w: Signal,
    /// The limit asked for (`NVML_FI_DEV_POWER_REQUESTED_LIMIT`).
    pub limit_w: f64,
    /// The limit in force (`NVML_FI_DEV_POWER_CURRENT_LIMIT`); `limit_w` when left out.
    pub enforced_limit_w: Option<f64>,
    pub default_limit_w: f64,
    pub min_limit_w: f64,
    pub max_limit_w: f64,
}

/// InfoROM versions; a version left out is an object this InfoROM does not have.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InforomSpec {
    pub image: Option<String>,
    pub oem: Option<String>,
    pub ecc: Option<String>,
    pub power: Option<String>,
    /// Whether its checksums verify (`nvmlDeviceValidateInforom`); true when left out.
    pub checksum_valid: Option<bool>,
}

/// `ecc_locations`: the counts of each `nvmlMemoryLocation_t` the GPU has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EccLocationsSpec {
    pub l1_cache: Option<[u64; 4]>,
    pub l2_cache: Option<[u64; 4]>,
    pub dram: Option<[u64; 4]>,
    pub register_file: Option<[u64; 4]>,
    pub texture_memory: Option<[u64; 4]>,
    pub texture_shm: Option<[u64; 4]>,
    pub cbu: Option<[u64; 4]>,
    pub sram: Option<[u64; 4]>,
}

/// A retired page: `{ address = 0x1ab2c, cause = "double_bit_ecc", timestamp = 1700000000 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetiredPageSpec {
    pub address: u64,
    pub cause: RetirementCauseSpec,
    /// When it was retired, seconds since the Unix epoch.
    #[serde(default)]
    pub timestamp: u64,
}

/// `nvmlPageRetirementCause_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetirementCauseSpec {
    MultipleSingleBitEcc = 0,
    DoubleBitEcc = 1,
}

/// `nvmlDeviceGetRemappedRows`'s four answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemappedRowsSpec {
    #[serde(default)]
    pub correctable: u32,
    #[serde(default)]
    pub uncorrectable: u32,
    #[serde(default)]
    pub pending: bool,
    #[serde(default)]
    pub failed: bool,
}

/// NVLink links and their error counters (`nvmlDeviceGetNvLinkErrorCounter`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NvlinkSpec {
    pub active_links: u32,
    #[serde(default)]
    pub replay: u64,
    #[serde(default)]
    pub recovery: u64,
    #[serde(default)]
    pub crc_flit: u64,
    #[serde(default)]
    pub crc_data: u64,
}

/// `nvmlGpuOperationMode_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationModeSpec {
    AllOn = 0,
    Compute = 1,
    LowDp = 2,
}

/// `nvmlDeviceAddressingModeType_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressingModeSpec {
    None = 0,
    Hmm = 1,
    Ats = 2,
}

/// `nvmlDeviceGpuRecoveryAction_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryActionSpec {
    None = 0,
    GpuReset = 1,
    NodeReboot = 2,
    DrainP2p = 3,
    DrainAndReset = 4,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_become_bytes_dashes_skipped_and_missing_ones_zero() {
        let uuid = hex_bytes("00112233-4455-6677-8899-aabbccddeeff");
        assert_eq!(uuid, std::array::from_fn(|i| i as u8 * 0x11));
        assert_eq!(hex_bytes("abcd")[..3], [0xab, 0xcd, 0]);
        assert_eq!(hex_bytes(""), [0; 16]);
    }

    #[test]
    fn the_chassis_serial_is_nul_padded_and_cut_at_sixteen_bytes() {
        let short = PlatformSpec { chassis_serial_number: "SN1".into(), ..Default::default() };
        assert_eq!(&short.chassis_serial_bytes()[..4], b"SN1\0");
        let long = PlatformSpec {
            chassis_serial_number: "0123456789abcdefXYZ".into(),
            ..Default::default()
        };
        assert_eq!(&long.chassis_serial_bytes(), b"0123456789abcdef");
    }
}
