//! The properties that seldom change (board, link, settings, limits), read only when an
//! output asks for one.

use serde::{Deserialize, Serialize};

use super::{
    EccLocations, Fabric, NvlinkHealth, Platform, RecoveryAction, RemappedRows, RetiredPage,
};

/// The board, its link and its settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Details {
    /// The board's serial number; GeForce boards have none.
    pub serial: Option<String>,
    pub vbios_version: Option<String>,
    pub compute_mode: Option<ComputeMode>,
    /// A display is attached to one of the GPU's connectors.
    pub display_attached: Option<bool>,
    /// A display is initialized on the GPU (it may have no monitor attached).
    pub display_active: Option<bool>,
    pub accounting_mode: Option<bool>,
    pub ecc_mode_current: Option<bool>,
    /// What ECC will be after the next reboot.
    pub ecc_mode_pending: Option<bool>,
    pub pcie_link_gen_current: Option<u32>,
    pub pcie_link_gen_max: Option<u32>,
    pub pcie_link_width_current: Option<u32>,
    pub pcie_link_width_max: Option<u32>,
    /// PCIe replays (retransmissions after link errors) since the driver loaded.
    #[serde(default)]
    pub pcie_replay_count: Option<u32>,
    pub clock_graphics_mhz: Option<u32>,
    pub clock_graphics_max_mhz: Option<u32>,
    pub power_default_limit_watts: Option<f64>,
    pub power_min_limit_watts: Option<f64>,
    pub power_max_limit_watts: Option<f64>,
    /// Memory rows remapped after errors (Ampere and later).
    #[serde(default)]
    pub remapped_rows: Option<RemappedRows>,
    /// Pages with errors waiting to be retired at the next reboot (before Ampere).
    #[serde(default)]
    pub retired_pages_pending: Option<bool>,
    /// Pages with errors the driver failed to retire (amdgpu's RAS: `F` in
    /// `ras/gpu_vram_bad_pages`): bad memory still in use. `None` where no driver says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_pages_failed: Option<bool>,
    /// The pages retired after ECC errors, pending ones included (before Ampere).
    #[serde(default)]
    pub retired_pages: Option<Vec<RetiredPage>>,
    /// ECC errors over the board's lifetime (kept across reboots), corrected and uncorrected.
    #[serde(default)]
    pub ecc_aggregate_corrected: Option<u64>,
    #[serde(default)]
    pub ecc_aggregate_uncorrected: Option<u64>,
    /// The NVLink links that are up and their error counters summed; `None` without NVLink.
    #[serde(default)]
    pub nvlink: Option<NvlinkHealth>,
    /// The PCI identity: domain, bus, device, the combined device and vendor id
    /// (`0x233010DE`) and subsystem id.
    #[serde(default)]
    pub pci: Option<PciIds>,
    /// What MIG mode will be after the next GPU reset.
    #[serde(default)]
    pub mig_mode_pending: Option<bool>,
    /// CUDA compute capability, `9.0` for Hopper.
    #[serde(default)]
    pub compute_capability: Option<String>,
    #[serde(default)]
    pub clock_video_mhz: Option<u32>,
    /// Applications clocks (graphics, memory) now and by default.
    #[serde(default)]
    pub applications_clocks_mhz: Option<(u32, u32)>,
    #[serde(default)]
    pub default_applications_clocks_mhz: Option<(u32, u32)>,
    /// Encoder sessions, their average frame rate and latency (µs).
    #[serde(default)]
    pub encoder_sessions: Option<(u32, u32, u32)>,
    /// The clock event (throttle) reasons this GPU can report, as NVML's bit mask.
    #[serde(default)]
    pub throttle_supported_mask: Option<u64>,
    /// The InfoROM's image version and its OEM, ECC and power objects' versions.
    #[serde(default)]
    pub inforom: Inforom,
    /// GPU Operation Mode now and after the next reboot (GK110 boards).
    #[serde(default)]
    pub operation_mode: Option<(OperationMode, OperationMode)>,
    /// HBM temperature.
    #[serde(default)]
    pub temperature_memory_celsius: Option<u32>,
    /// Power averaged over the last second, and right now.
    #[serde(default)]
    pub power_average_watts: Option<f64>,
    #[serde(default)]
    pub power_instant_watts: Option<f64>,
    /// The NVLink fabric an NVSwitch system registered the GPU with (Hopper and later).
    #[serde(default)]
    pub fabric: Option<Fabric>,
    /// JPEG decoder and optical flow accelerator utilization, percent (Ampere and later).
    #[serde(default)]
    pub utilization_jpeg_percent: Option<u32>,
    #[serde(default)]
    pub utilization_ofa_percent: Option<u32>,
    /// The highest PCIe generation the GPU supports (`pcie_link_gen_max` is also bounded by
    /// the slot).
    #[serde(default)]
    pub pcie_link_gen_gpu_max: Option<u32>,
    /// How many processes' statistics per-process accounting keeps.
    #[serde(default)]
    pub accounting_buffer_size: Option<u32>,
    /// ECC errors by where in memory they happened.
    #[serde(default)]
    pub ecc_locations: EccLocations,
    /// How long the clocks have been held down for each reason since the driver loaded, in
    /// µs (as nvidia-smi prints them).
    #[serde(default)]
    pub clock_event_counters_us: ClockEventCounters,
    /// Degrees below the slowdown threshold (nvidia-smi's T.Limit); negative past it.
    #[serde(default)]
    pub temperature_margin_celsius: Option<i32>,
    /// The highest PCIe generation the slot's port supports (from the host's sysfs).
    #[serde(default)]
    pub pcie_link_gen_host_max: Option<u32>,
    /// The PCI class code: base and sub class (`3`, `2`: a 3D controller).
    #[serde(default)]
    pub pci_class: Option<(u32, u32)>,
    /// Whether the driver manages the board's power.
    #[serde(default)]
    pub power_management: Option<bool>,
    /// How the GPU shares the CPU's address space.
    #[serde(default)]
    pub addressing_mode: Option<AddressingMode>,
    /// DRAM encryption now and after the next reboot (Blackwell).
    #[serde(default)]
    pub dram_encryption: Option<(bool, bool)>,
    /// Whether the GSP firmware runs, and whether it does by default.
    #[serde(default)]
    pub gsp_firmware: Option<(bool, bool)>,
    /// The chip-to-chip link to a Grace CPU (GH200, GB200).
    #[serde(default)]
    pub c2c_enabled: Option<bool>,
    /// Confidential computing's protected memory, total and used bytes.
    #[serde(default)]
    pub protected_memory_bytes: Option<(u64, u64)>,
    /// What the driver asks for to bring the GPU back to health.
    #[serde(default)]
    pub recovery_action: Option<RecoveryAction>,
    /// The version of the NVIDIA kernel module.
    #[serde(default)]
    pub kmd_version: Option<String>,
    /// Where the GPU sits in its rack (GB200 NVL systems).
    #[serde(default)]
    pub platform: Option<Platform>,
    /// The GPU's module on a multi-GPU board.
    #[serde(default)]
    pub module_id: Option<u32>,
    /// Whether a reset is required, and a drain and reset recommended (deprecated by the
    /// driver in favour of `recovery_action`, still asked for by older scripts).
    #[serde(default)]
    pub reset_required: Option<bool>,
    #[serde(default)]
    pub drain_and_reset_recommended: Option<bool>,
    /// What a vGPU host driver lets this GPU do.
    #[serde(default)]
    pub vgpu_capabilities: Option<VgpuCapabilities>,
    /// Whether the vGPU host driver runs vGPUs of different types on one GPU.
    #[serde(default)]
    pub vgpu_heterogeneous_multi_vgpu: Option<bool>,
    /// The whole module's power (a GB200 superchip: GPU, CPU and memory).
    #[serde(default)]
    pub module_power: Option<ModulePower>,
}

/// Who may create contexts on the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputeMode {
    Default,
    ExclusiveThread,
    Prohibited,
    ExclusiveProcess,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inforom {
    pub image: Option<String>,
    pub oem: Option<String>,
    pub ecc: Option<String>,
    pub power: Option<String>,
    /// Whether its checksums verify.
    #[serde(default)]
    pub checksum_valid: Option<bool>,
}

/// `nvmlGpuOperationMode_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationMode {
    AllOn,
    Compute,
    LowDoublePrecision,
}

impl OperationMode {
    /// As nvidia-smi prints it.
    pub fn label(self) -> &'static str {
        match self {
            Self::AllOn => "All On",
            Self::Compute => "Compute",
            Self::LowDoublePrecision => "Low Double Precision",
        }
    }
}

/// `nvmlDeviceAddressingModeType_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressingMode {
    None,
    Hmm,
    Ats,
}

impl AddressingMode {
    pub fn from_nvml(value: u32) -> Option<Self> {
        Some(match value {
            0 => Self::None,
            1 => Self::Hmm,
            2 => Self::Ats,
            _ => return None,
        })
    }

    /// As nvidia-smi prints it.
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Hmm => "HMM",
            Self::Ats => "ATS",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockEventCounters {
    pub sw_power_cap: Option<u64>,
    pub sync_boost: Option<u64>,
    pub sw_thermal_slowdown: Option<u64>,
    pub hw_thermal_slowdown: Option<u64>,
    pub hw_power_brake_slowdown: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PciIds {
    pub domain: u32,
    pub bus: u32,
    pub device: u32,
    pub device_id: u32,
    pub sub_device_id: Option<u32>,
}

/// A module's power readings and limits, in watts; each `None` where the driver has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ModulePower {
    pub draw_average_watts: Option<f64>,
    pub draw_instant_watts: Option<f64>,
    /// The limit asked for, and the one in force.
    pub limit_watts: Option<f64>,
    pub enforced_limit_watts: Option<f64>,
    pub default_limit_watts: Option<f64>,
    pub min_limit_watts: Option<f64>,
    pub max_limit_watts: Option<f64>,
}

/// `nvmlDeviceVgpuCapability_t`s of a GPU under a vGPU host driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VgpuCapabilities {
    pub fractional_multi_vgpu: bool,
    pub heterogeneous_timeslice_profiles: bool,
    pub heterogeneous_timeslice_sizes: bool,
}
