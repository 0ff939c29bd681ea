//! One simulated GPU: the keys of a `[[gpus]]` section. What NVML answers for it is in
//! `reading.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{
    Activity, AddressingModeSpec, EccLocationsSpec, ErrorCode, EventSpec, FabricSpec, GpmSpec,
    InforomSpec, Metric, MigSpec, ModulePowerSpec, NvlinkSpec, OperationModeSpec, PlatformSpec,
    ProcessSpec, RecoveryActionSpec, RemappedRowsSpec, RetiredPageSpec, Signal,
};

/// One simulated GPU. A metric left out is NOT_SUPPORTED on this GPU; `errors` makes a metric
/// fail with a chosen NVML error instead.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuSpec {
    pub name: String,
    /// Who made it: `nvidia` (the default), `amd` or `intel` (checked in `validate.rs`). An
    /// AMD or Intel GPU is what gputop reads from the kernel's files (amdgpu; Intel's i915),
    /// so only the readings those drivers give; NVML never sees it.
    pub vendor: Option<String>,
    pub uuid: Option<String>,
    pub pci_bus_id: Option<String>,
    /// The GPU fell off the bus: its handle cannot be had (GPU_IS_LOST).
    #[serde(default)]
    pub lost: bool,
    /// Falls off the bus this many seconds after `nvmlInit`, and comes back at the second
    /// value (if given): `[5.0, 10.0]`.
    pub lost_between_s: Option<Vec<f64>>,
    /// Every call on this GPU blocks from the first value (seconds after `nvmlInit`) until the
    /// second, or for ever without one: an ioctl stuck on a failing GPU, a known field failure.
    /// The fake NVML library only; the simulator never hangs.
    pub hangs_between_s: Option<Vec<f64>>,
    /// `/dev/nvidiaN`'s N: the driver's probe order, which need not be NVML's index order.
    pub minor_number: Option<u32>,
    /// Each process list call after the first on this GPU finds this many processes more
    /// than the size query before it said (processes started in between).
    #[serde(default)]
    pub process_list_grows_by: u32,
    #[serde(default = "default_memory_total")]
    pub memory_total_mib: u64,
    #[serde(default)]
    pub memory_reserved_mib: u64,
    /// Used memory beyond what the listed processes hold (driver, contexts).
    pub memory_used_mib: Option<Signal>,
    pub utilization_gpu: Option<Signal>,
    pub utilization_memory: Option<Signal>,
    pub temperature_c: Option<Signal>,
    pub temperature_slowdown_c: Option<u32>,
    pub temperature_shutdown_c: Option<u32>,
    pub power_w: Option<Signal>,
    /// The enforced power limit (`nvmlDeviceGetEnforcedPowerLimit`).
    pub power_limit_w: Option<f64>,
    /// The power management limit (`nvmlDeviceGetPowerManagementLimit`), which the enforced
    /// one can sit below (another limiter in force); defaults to `power_limit_w`.
    pub power_management_limit_w: Option<f64>,
    pub fan_pct: Option<Signal>,
    pub clock_sm_mhz: Option<Signal>,
    pub clock_mem_mhz: Option<Signal>,
    pub clock_sm_max_mhz: Option<u32>,
    pub clock_mem_max_mhz: Option<u32>,
    /// The video (encoder/decoder) clock.
    pub clock_video_mhz: Option<Signal>,
    /// Applications clocks `[graphics, memory]` now and by default.
    pub applications_clocks_mhz: Option<[u32; 2]>,
    pub default_applications_clocks_mhz: Option<[u32; 2]>,
    /// CUDA compute capability `[major, minor]`: `[9, 0]` for Hopper.
    pub compute_capability: Option<[i32; 2]>,
    /// Encoder sessions: `[sessions, average fps, average latency µs]`.
    pub encoder_stats: Option<[u32; 3]>,
    pub pstate: Option<u32>,
    pub encoder_pct: Option<Signal>,
    pub decoder_pct: Option<Signal>,
    /// JPEG decoder and optical flow accelerator utilization (Ampere and later).
    pub jpeg_pct: Option<Signal>,
    pub ofa_pct: Option<Signal>,
    pub pcie_tx_kbps: Option<Signal>,
    pub pcie_rx_kbps: Option<Signal>,
    /// Raw `nvmlClocksThrottleReasons` bits.
    pub throttle_reasons: Option<u64>,
    /// When `throttle_reasons` apply (no reason is active otherwise); always when left out.
    pub throttle_active: Option<Activity>,
    pub ecc_corrected: Option<u64>,
    pub ecc_uncorrected: Option<u64>,
    /// Lifetime ECC counts `[corrected, uncorrected]` (kept in the InfoROM across reboots);
    /// the volatile counts when left out.
    pub ecc_aggregate: Option<[u64; 2]>,
    /// The NVLink fabric an NVSwitch system registers the GPU with (`nvmlDeviceGetGpuFabricInfo`,
    /// Hopper and later); left out, NOT_SUPPORTED.
    pub fabric: Option<FabricSpec>,
    /// ECC errors by where in memory (`nvmlDeviceGetMemoryErrorCounter`): per location,
    /// `[corrected volatile, uncorrected volatile, corrected aggregate, uncorrected
    /// aggregate]`; a location left out is NOT_SUPPORTED (Hopper counts DRAM and SRAM only).
    pub ecc_locations: Option<EccLocationsSpec>,
    /// NVLink: how many links are up and the error counts, all on the first link.
    pub nvlink: Option<NvlinkSpec>,
    /// `Some` on a GPU that can do MIG; `true` when MIG mode is on.
    pub mig_enabled: Option<bool>,
    /// With MIG on: the MIG devices (one GPU instance and one compute instance each).
    #[serde(default)]
    pub mig_instances: Vec<MigSpec>,
    /// Energy counter at t = 0; it then grows with the simulated power draw.
    pub energy_mj: Option<u64>,
    #[serde(default)]
    pub persistence_mode: bool,
    /// The board's serial number (`nvmlDeviceGetSerial`); GeForce boards have none.
    pub serial: Option<String>,
    pub vbios_version: Option<String>,
    /// The InfoROM's image and object versions (`nvmlDeviceGetInforomImageVersion`,
    /// `nvmlDeviceGetInforomVersion`); GeForce boards have none.
    pub inforom: Option<InforomSpec>,
    /// GPU Operation Mode, current and pending: `["all_on", "compute"]` (GK110 Tesla and
    /// Quadro boards; NOT_SUPPORTED elsewhere).
    pub gpu_operation_mode: Option<[OperationModeSpec; 2]>,
    /// HBM temperature (`NVML_FI_DEV_MEMORY_TEMP`); boards with GDDR have none.
    pub temperature_memory_c: Option<Signal>,
    /// PCIe link generation, current and maximum: `[4, 5]`.
    pub pcie_link_gen: Option<[u32; 2]>,
    /// The highest generation the GPU itself supports (`nvmlDeviceGetGpuMaxPcieLinkGeneration`);
    /// `pcie_link_gen`'s maximum is also bounded by the slot.
    pub pcie_link_gen_gpu_max: Option<u32>,
    /// The PCI class code `[base, sub]` (`nvmlDeviceGetPciInfoExt`): `[3, 2]`, a 3D controller;
    /// `[3, 0]`, a VGA controller (a board with display outputs).
    pub pci_class: Option<[u32; 2]>,
    /// Whether the driver's power management is on (`nvmlDeviceGetPowerManagementMode`).
    pub power_management: Option<bool>,
    /// How the GPU shares the CPU's address space (`nvmlDeviceGetAddressingMode`, drivers
    /// since 575): `none`, `hmm` or `ats`.
    pub addressing_mode: Option<AddressingModeSpec>,
    /// DRAM encryption, current and pending (`nvmlDeviceGetDramEncryptionMode`, Blackwell).
    pub dram_encryption: Option<[bool; 2]>,
    /// The GSP firmware: enabled, and enabled by default (`nvmlDeviceGetGspFirmwareMode`).
    pub gsp_firmware: Option<[bool; 2]>,
    /// The chip-to-chip link to a Grace CPU (`nvmlDeviceGetC2cModeInfoV`, GH200/GB200).
    pub c2c_enabled: Option<bool>,
    /// Confidential computing's protected memory `[total, used]` MiB
    /// (`nvmlDeviceGetConfComputeProtectedMemoryUsage`).
    pub protected_memory_mib: Option<[u64; 2]>,
    /// vGPU capabilities on a vGPU host driver (`nvmlDeviceGetVgpuCapabilities`): fractional
    /// multi-vGPU, heterogeneous time-slice profiles, heterogeneous time-slice sizes.
    pub vgpu_capabilities: Option<[bool; 3]>,
    /// The whole module's power (a GB200 superchip: GPU, CPU and memory), read as field values
    /// at `NVML_POWER_SCOPE_MODULE`; left out, NOT_SUPPORTED at that scope.
    pub module_power: Option<ModulePowerSpec>,
    /// Where the GPU sits in a rack (`nvmlDeviceGetPlatformInfo` v2, GB200 NVL systems).
    pub platform: Option<PlatformSpec>,
    /// The GPU's module on a multi-GPU board (`nvmlDeviceGetModuleId`).
    pub module_id: Option<u32>,
    /// What the driver asks for to recover the GPU (`NVML_FI_DEV_GET_GPU_RECOVERY_ACTION`).
    pub recovery_action: Option<RecoveryActionSpec>,
    /// PCIe link width (lanes), current and maximum: `[16, 16]`.
    pub pcie_link_width: Option<[u32; 2]>,
    /// The range the power management limit may be set in, `[min, max]` W.
    pub power_limit_range_w: Option<[f64; 2]>,
    /// The default power management limit; the management limit when left out.
    pub power_default_limit_w: Option<f64>,
    /// Per-process accounting (`nvmlDeviceGetAccountingMode`).
    pub accounting_mode: Option<bool>,
    /// How many processes' accounting the driver keeps (`nvmlDeviceGetAccountingBufferSize`).
    pub accounting_buffer_size: Option<u32>,
    /// A display attached to a connector (`nvmlDeviceGetDisplayMode`).
    pub display_mode: Option<bool>,
    /// Row remapping (`nvmlDeviceGetRemappedRows`, Ampere and later).
    pub remapped_rows: Option<RemappedRowsSpec>,
    /// Pages waiting to be retired (`nvmlDeviceGetRetiredPagesPendingStatus`, before Ampere).
    pub retired_pages_pending: Option<bool>,
    /// Pages retired after ECC errors (`nvmlDeviceGetRetiredPages`, before Ampere): left out,
    /// the GPU does not retire pages.
    pub retired_pages: Option<Vec<RetiredPageSpec>>,
    /// PCIe replays since the driver loaded (`nvmlDeviceGetPcieReplayCounter`).
    pub pcie_replay_count: Option<u32>,
    /// GPU Performance Monitoring (Hopper and later): left out, the GPU has no GPM.
    pub gpm: Option<GpmSpec>,
    /// Events the driver raises on this GPU, delivered to the event sets registered for them
    /// before they happen (`nvmlEventSetWait`).
    #[serde(default)]
    pub events: Vec<EventSpec>,
    /// Per-metric injected failures, e.g. `{ memory = "NO_PERMISSION" }`.
    #[serde(default)]
    pub errors: BTreeMap<Metric, ErrorCode>,
    #[serde(default)]
    pub processes: Vec<ProcessSpec>,
}

/// The vendors a scenario may name, as gputop's JSON spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendorSpec {
    Nvidia,
    Amd,
    Intel,
}

impl VendorSpec {
    pub const KEYS: [&'static str; 3] = ["nvidia", "amd", "intel"];

    /// The vendor `key` names, if it is one of [`VendorSpec::KEYS`].
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "nvidia" => Some(Self::Nvidia),
            "amd" => Some(Self::Amd),
            "intel" => Some(Self::Intel),
            _ => None,
        }
    }
}

impl GpuSpec {
    /// Who made this GPU (NVIDIA when the scenario does not say; an unknown name is refused
    /// when the scenario is loaded).
    pub fn vendor(&self) -> VendorSpec {
        self.vendor.as_deref().and_then(VendorSpec::from_key).unwrap_or(VendorSpec::Nvidia)
    }

    /// Whether NVML sees this GPU (an AMD or Intel one it never does).
    pub fn is_nvidia(&self) -> bool {
        self.vendor() == VendorSpec::Nvidia
    }
}

fn default_memory_total() -> u64 {
    16_384
}
