//! Simulated GPUs: one scenario model shared by gputop's `sim` source (`--demo`) and the fake
//! `libnvidia-ml.so.1` under `tests/fake-nvml`, so the demo and the tests simulate the same way.

mod demo;
mod signal;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

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

/// One simulated GPU. A metric left out is NOT_SUPPORTED on this GPU; `errors` makes a metric
/// fail with a chosen NVML error instead.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuSpec {
    pub name: String,
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

fn default_memory_total() -> u64 {
    16_384
}

/// A process on a GPU. `name`, `user`, `command`, `cpu_percent`, `host_memory_mib`, `cgroup`
/// and `environ` are what the demo shows; the fake library ignores them (a test gives real
/// PIDs and the host is asked).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    pub pid: u32,
    #[serde(default)]
    pub kind: ProcessKindSpec,
    /// Left out: NVML reports the value as unavailable (ULLONG_MAX).
    pub used_memory_mib: Option<Signal>,
    pub sm_util: Option<Signal>,
    pub mem_util: Option<Signal>,
    pub gpu_instance_id: Option<u32>,
    pub compute_instance_id: Option<u32>,
    /// When the process exists; always when left out.
    pub active: Option<Activity>,
    pub name: Option<String>,
    pub user: Option<String>,
    pub command: Option<String>,
    pub cpu_percent: Option<Signal>,
    pub host_memory_mib: Option<Signal>,
    /// The process's cgroup path, as the last field of `/proc/PID/cgroup` has it
    /// (`/system.slice/docker-<id>.scope`): where it runs, read as a real process's is.
    pub cgroup: Option<String>,
    /// Its environment as `/proc/PID/environ` would give it (`HOSTNAME=…` names a pod).
    #[serde(default)]
    pub environ: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessKindSpec {
    #[default]
    Compute,
    Graphics,
    Both,
    /// A client of the MPS server: listed by `nvmlDeviceGetMPSComputeRunningProcesses` only.
    Mps,
}

impl ProcessKindSpec {
    pub fn is_compute(self) -> bool {
        matches!(self, Self::Compute | Self::Both)
    }
    pub fn is_mps(self) -> bool {
        matches!(self, Self::Mps)
    }
    pub fn is_graphics(self) -> bool {
        matches!(self, Self::Graphics | Self::Both)
    }
}

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
fn hex_bytes(text: &str) -> [u8; 16] {
    let hex: String = text.chars().filter(char::is_ascii_hexdigit).collect();
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = hex.get(i * 2..i * 2 + 2).and_then(|h| u8::from_str_radix(h, 16).ok()).unwrap_or(0);
    }
    bytes
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

/// A MIG device: a GPU instance of a profile with one compute instance.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigSpec {
    /// The profile, as in the device's name: "3g.40gb".
    pub profile: String,
    pub gpu_instance_id: u32,
    #[serde(default)]
    pub compute_instance_id: u32,
    pub memory_total_mib: u64,
    /// Used memory beyond what its processes hold.
    pub memory_used_mib: Option<Signal>,
    pub uuid: Option<String>,
    /// GPM metrics of this instance (`nvmlGpmMigSampleGet`), on a GPU with GPM.
    pub gpm: Option<GpmSpec>,
}

impl MigSpec {
    /// `MIG-` and a UUID, as drivers from R470 name MIG devices.
    pub fn uuid(&self, gpu: usize, position: usize) -> String {
        self.uuid.clone().unwrap_or_else(|| {
            format!("MIG-{:08x}-fake-4000-8000-{:012x}", 0x6770_0000 + gpu, position)
        })
    }
}

/// What `nvmlGpmMetricsGet` computes between two samples: percentages 0 to 100 and
/// throughputs in MiB/s, each at the second sample's time. A metric left out is NOT_SUPPORTED
/// in its `nvmlReturn`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpmSpec {
    pub sm_active: Option<Signal>,
    pub sm_occupancy: Option<Signal>,
    pub tensor_active: Option<Signal>,
    pub dram_active: Option<Signal>,
    pub fp64_active: Option<Signal>,
    pub fp32_active: Option<Signal>,
    pub fp16_active: Option<Signal>,
    pub pcie_tx_mib_s: Option<Signal>,
    pub pcie_rx_mib_s: Option<Signal>,
    pub nvlink_tx_mib_s: Option<Signal>,
    pub nvlink_rx_mib_s: Option<Signal>,
}

impl GpmSpec {
    /// The value of GPM metric `id` (`nvmlGpmMetricId_t`) at time `t`.
    pub fn metric(&self, id: u32, t: f64) -> Option<f64> {
        let signal = match id {
            2 => &self.sm_active,
            3 => &self.sm_occupancy,
            5 => &self.tensor_active,
            10 => &self.dram_active,
            11 => &self.fp64_active,
            12 => &self.fp32_active,
            13 => &self.fp16_active,
            20 => &self.pcie_tx_mib_s,
            21 => &self.pcie_rx_mib_s,
            60 => &self.nvlink_rx_mib_s,
            61 => &self.nvlink_tx_mib_s,
            _ => return None,
        };
        signal.as_ref().map(|s| s.at(t))
    }
}

/// An event on a GPU at a time counted from `nvmlInit`: `{ at_s = 2.0, xid = 79 }` or
/// `{ at_s = 3.0, kind = "double_bit_ecc" }`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    pub at_s: f64,
    #[serde(default)]
    pub kind: EventKindSpec,
    /// The XID number of a critical XID error.
    pub xid: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKindSpec {
    #[default]
    Xid,
    SingleBitEcc,
    DoubleBitEcc,
}

impl EventKindSpec {
    /// The event's `nvmlEventType*` bit.
    pub fn nvml_bit(self) -> u64 {
        match self {
            Self::SingleBitEcc => EVENT_SINGLE_BIT_ECC,
            Self::DoubleBitEcc => EVENT_DOUBLE_BIT_ECC,
            Self::Xid => EVENT_XID_CRITICAL,
        }
    }
}

/// `nvmlEventType*` bits (nvml.h).
pub const EVENT_SINGLE_BIT_ECC: u64 = 0x1;
pub const EVENT_DOUBLE_BIT_ECC: u64 = 0x2;
pub const EVENT_PSTATE: u64 = 0x4;
pub const EVENT_XID_CRITICAL: u64 = 0x8;

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

const MIB: u64 = 1024 * 1024;

impl Scenario {
    /// Parses a scenario from TOML text, and checks that its values are physically possible.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let scenario: Scenario =
            toml::from_str(text).map_err(|e| format!("\n{}", e.to_string().trim_end()))?;
        scenario.validate(text)?;
        Ok(scenario)
    }

    /// Values outside what a GPU can report, named with their line in `text`.
    fn validate(&self, text: &str) -> Result<(), String> {
        for (i, g) in self.gpus.iter().enumerate() {
            let bad = |key: &str, value: String, range: &str| {
                let line = line_of(text, i, key).map_or(String::new(), |n| format!("line {n}: "));
                Err(format!("{line}{key} = {value} is out of range ({range})"))
            };
            if !(1..=1 << 20).contains(&g.memory_total_mib) {
                return bad("memory_total_mib", g.memory_total_mib.to_string(), "1 to 1048576 MiB");
            }
            if g.memory_reserved_mib > g.memory_total_mib {
                return bad(
                    "memory_reserved_mib",
                    g.memory_reserved_mib.to_string(),
                    "at most memory_total_mib",
                );
            }
            let total = g.memory_total_mib as f64;
            let signals: [(&str, &Option<Signal>, f64, f64, &str); 11] = [
                ("temperature_c", &g.temperature_c, 0.0, 150.0, "0 to 150 °C"),
                ("power_w", &g.power_w, 0.0, 3000.0, "0 to 3000 W"),
                ("memory_used_mib", &g.memory_used_mib, 0.0, total, "0 to memory_total_mib"),
                ("utilization_gpu", &g.utilization_gpu, 0.0, 100.0, "0 to 100 %"),
                ("utilization_memory", &g.utilization_memory, 0.0, 100.0, "0 to 100 %"),
                ("fan_pct", &g.fan_pct, 0.0, 100.0, "0 to 100 %"),
                ("encoder_pct", &g.encoder_pct, 0.0, 100.0, "0 to 100 %"),
                ("decoder_pct", &g.decoder_pct, 0.0, 100.0, "0 to 100 %"),
                ("clock_sm_mhz", &g.clock_sm_mhz, 0.0, 10_000.0, "0 to 10000 MHz"),
                ("clock_mem_mhz", &g.clock_mem_mhz, 0.0, 50_000.0, "0 to 50000 MHz"),
                ("pcie_tx_kbps", &g.pcie_tx_kbps, 0.0, 1e9, "0 to 10^9 KB/s"),
            ];
            for (key, signal, low, high, range) in signals {
                let Some(signal) = signal else { continue };
                if let Signal::Steps(steps) = signal {
                    if !steps.is_well_formed() {
                        let rule =
                            "steps as [offset_s, value] rising from offset 0 within period_s";
                        return bad(key, signal.describe(), rule);
                    }
                }
                let (min, max) = signal.bounds();
                if min < low || max > high || !min.is_finite() || !max.is_finite() {
                    return bad(key, signal.describe(), range);
                }
            }
            let fixed = [
                (
                    "temperature_slowdown_c",
                    g.temperature_slowdown_c.map(f64::from),
                    150.0,
                    "0 to 150 °C",
                ),
                (
                    "temperature_shutdown_c",
                    g.temperature_shutdown_c.map(f64::from),
                    150.0,
                    "0 to 150 °C",
                ),
                ("power_limit_w", g.power_limit_w, 3000.0, "0 to 3000 W"),
                ("pstate", g.pstate.map(f64::from), 15.0, "0 to 15"),
            ];
            for event in &g.events {
                if !(event.at_s.is_finite() && event.at_s >= 0.0) {
                    return bad("events", format!("at_s {}", event.at_s), "0 s or later");
                }
                if (event.kind == EventKindSpec::Xid) != event.xid.is_some() {
                    return bad(
                        "events",
                        format!("{event:?}"),
                        "an XID event needs `xid`, only it",
                    );
                }
            }
            for (key, value, high, range) in fixed {
                if let Some(v) = value.filter(|v| !(0.0..=high).contains(v)) {
                    return bad(key, v.to_string(), range);
                }
            }
        }
        Ok(())
    }

    /// Reads and parses a scenario file; the error is one line naming the file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| format!("invalid scenario {}: {e}", path.display()))
    }

    /// The built-in demo fleet of `n` GPUs (see `demo.rs`).
    pub fn demo(n: usize) -> Self {
        demo::fleet(n)
    }
}

/// The line (1-based) of `key = …` in the `index`-th `[[gpus]]` section of `text`.
fn line_of(text: &str, index: usize, key: &str) -> Option<usize> {
    let mut gpu = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line == "[[gpus]]" {
            gpu = Some(gpu.map_or(0, |g| g + 1));
        } else if line.starts_with('[') {
            // A process or another table: its keys are not the GPU's.
            if gpu == Some(index) && !line.starts_with("[[gpus.processes]]") {
                return None;
            }
        } else if gpu == Some(index)
            && line.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return Some(n + 1);
        }
    }
    None
}

impl GpuSpec {
    fn read<T>(&self, metric: Metric, value: Option<T>) -> Reading<T> {
        if let Some(code) = self.errors.get(&metric) {
            return Err(*code);
        }
        value.ok_or(ErrorCode::NotSupported)
    }

    fn read_signal(&self, metric: Metric, signal: &Option<Signal>, t: f64) -> Reading<f64> {
        self.read(metric, signal.as_ref().map(|s| s.at(t)))
    }

    /// NVML reads some metrics in pairs (GPU and memory utilization, TX and RX): the pair is
    /// supported when its first member is given; a missing second member reads 0.
    fn read_pair(
        &self,
        metric: Metric,
        first: &Option<Signal>,
        second: &Option<Signal>,
        t: f64,
    ) -> Reading<(f64, f64)> {
        let a = self.read_signal(metric, first, t)?;
        Ok((a, second.as_ref().map_or(0.0, |s| s.at(t))))
    }

    pub fn uuid(&self, index: usize) -> Reading<String> {
        let default = || format!("GPU-{:08x}-fake-4000-8000-{:012x}", 0x6770_0000 + index, index);
        self.read(Metric::Uuid, Some(self.uuid.clone().unwrap_or_else(default)))
    }

    pub fn name(&self) -> Reading<String> {
        self.read(Metric::Name, Some(self.name.clone()))
    }

    pub fn pci_bus_id(&self, index: usize) -> Reading<String> {
        let default = || format!("00000000:{:02X}:00.0", index + 1);
        self.read(Metric::Pci, Some(self.pci_bus_id.clone().unwrap_or_else(default)))
    }

    /// The processes that exist at time `t`.
    pub fn processes_at(&self, t: f64) -> Reading<Vec<&ProcessSpec>> {
        self.read(Metric::Processes, Some(()))?;
        Ok(self.processes.iter().filter(|p| p.is_active(t)).collect())
    }

    /// (total, reserved, allocated) in bytes, as `nvmlMemory_v2_t` has them: allocated is
    /// the GPU's own use plus its processes', and excludes what the driver and firmware
    /// reserve; free is what is left of the three.
    pub fn memory_bytes(&self, t: f64) -> Reading<(u64, u64, u64)> {
        self.read(Metric::Memory, Some(()))?;
        let total = self.memory_total_mib * MIB;
        let reserved = (self.memory_reserved_mib * MIB).min(total);
        let own = self.memory_used_mib.as_ref().map_or(0.0, |s| s.at(t));
        let procs: f64 = self
            .processes
            .iter()
            .filter(|p| p.is_active(t))
            .filter_map(|p| p.used_memory_mib.as_ref().map(|s| s.at(t)))
            .sum();
        let allocated = (((own + procs) * MIB as f64) as u64).min(total - reserved);
        Ok((total, reserved, allocated))
    }

    /// The power management limit in mW (the enforced one unless the scenario sets it).
    pub fn power_management_limit_mw(&self) -> Reading<u32> {
        let watts = self.power_management_limit_w.or(self.power_limit_w);
        self.read(Metric::PowerLimit, watts.map(|w| (w * 1000.0) as u32))
    }

    /// How long a call made `since_init` seconds after `nvmlInit` blocks (`hangs_between_s`):
    /// `None` when it does not, infinite when it never returns.
    pub fn hang_left(&self, since_init: f64) -> Option<f64> {
        match self.hangs_between_s.as_deref()? {
            [from] if since_init >= *from => Some(f64::INFINITY),
            [from, to, ..] if since_init >= *from && since_init < *to => Some(to - since_init),
            _ => None,
        }
    }

    /// Whether the GPU is off the bus `since_init` seconds after `nvmlInit`.
    pub fn is_lost(&self, since_init: f64) -> bool {
        self.lost
            || self.lost_between_s.as_deref().is_some_and(|span| match span {
                [from] => since_init >= *from,
                [from, to, ..] => since_init >= *from && since_init < *to,
                [] => false,
            })
    }

    /// NOT_SUPPORTED with MIG on (nvml.h: "On MIG-enabled GPUs, querying device utilization
    /// rates is not currently supported").
    pub fn utilization(&self, t: f64) -> Reading<(u32, u32)> {
        if self.mig_enabled == Some(true) {
            return Err(ErrorCode::NotSupported);
        }
        let (gpu, mem) = self.read_pair(
            Metric::Utilization,
            &self.utilization_gpu,
            &self.utilization_memory,
            t,
        )?;
        Ok((percent(gpu), percent(mem)))
    }

    pub fn temperature(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Temperature, &self.temperature_c, t).map(|v| v.round() as u32)
    }

    pub fn temperature_thresholds(&self) -> Reading<(u32, u32)> {
        let both = self.temperature_slowdown_c.zip(self.temperature_shutdown_c);
        self.read(Metric::TemperatureThresholds, both)
    }

    pub fn power_mw(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Power, &self.power_w, t).map(|w| (w * 1000.0) as u32)
    }

    pub fn power_limit_mw(&self) -> Reading<u32> {
        self.read(Metric::PowerLimit, self.power_limit_w.map(|w| (w * 1000.0) as u32))
    }

    pub fn fan(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Fan, &self.fan_pct, t).map(percent)
    }

    pub fn clocks(&self, t: f64) -> Reading<(u32, u32)> {
        let (sm, mem) =
            self.read_pair(Metric::Clocks, &self.clock_sm_mhz, &self.clock_mem_mhz, t)?;
        Ok((sm as u32, mem as u32))
    }

    pub fn max_clocks(&self) -> Reading<(u32, u32)> {
        self.read(Metric::MaxClocks, self.clock_sm_max_mhz.zip(self.clock_mem_max_mhz))
    }

    pub fn pstate(&self) -> Reading<u32> {
        self.read(Metric::Pstate, self.pstate)
    }

    pub fn encoder(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Encoder, &self.encoder_pct, t).map(percent)
    }

    pub fn decoder(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Decoder, &self.decoder_pct, t).map(percent)
    }

    /// (TX, RX) in KB/s.
    pub fn pcie_kbps(&self, t: f64) -> Reading<(u32, u32)> {
        let (tx, rx) = self.read_pair(Metric::Pcie, &self.pcie_tx_kbps, &self.pcie_rx_kbps, t)?;
        Ok((tx as u32, rx as u32))
    }

    /// The reasons active at `t`.
    pub fn throttle_reasons(&self, t: f64) -> Reading<u64> {
        let on = self.throttle_active.as_ref().is_none_or(|a| a.is_on(t));
        self.read(Metric::Throttle, self.throttle_reasons.map(|mask| if on { mask } else { 0 }))
    }

    /// (corrected, uncorrected) volatile totals.
    pub fn ecc(&self) -> Reading<(u64, u64)> {
        self.read(Metric::Ecc, self.ecc_corrected.zip(self.ecc_uncorrected))
    }

    /// One ECC counter of a memory location (`nvmlMemoryErrorType_t` 0 corrected, 1
    /// uncorrected; `nvmlEccCounterType_t` 0 volatile, 1 aggregate; `nvmlMemoryLocation_t`).
    /// ECC off (no volatile totals) is NOT_SUPPORTED, as is a location the GPU does not count.
    pub fn memory_error_counter(&self, error: u32, counter: u32, location: u32) -> Reading<u64> {
        self.ecc()?;
        let l = self.ecc_locations.unwrap_or_default();
        let counts = match location {
            0 => l.l1_cache,
            1 => l.l2_cache,
            2 => l.dram,
            3 => l.register_file,
            4 => l.texture_memory,
            5 => l.texture_shm,
            6 => l.cbu,
            7 => l.sram,
            _ => None,
        };
        let slot = (counter as usize) * 2 + error as usize;
        self.read(Metric::Ecc, counts.and_then(|c| c.get(slot).copied()))
    }

    /// (corrected, uncorrected) lifetime totals.
    pub fn ecc_aggregate(&self) -> Reading<(u64, u64)> {
        let volatile = self.ecc()?;
        Ok(self.ecc_aggregate.map_or(volatile, |[c, u]| (c, u)))
    }

    pub fn nvlink(&self) -> Reading<NvlinkSpec> {
        self.read(Metric::Nvlink, self.nvlink)
    }

    /// One NVLink error counter summed over the links (DL_REPLAY 0, DL_RECOVERY 1,
    /// DL_CRC_FLIT 2, DL_CRC_DATA 3); `nvlink_error_counters` in `errors` fails it alone.
    pub fn nvlink_error_counter(&self, counter: u32) -> Reading<u64> {
        let n = self.nvlink()?;
        let value = match counter {
            0 => n.replay,
            1 => n.recovery,
            2 => n.crc_flit,
            3 => n.crc_data,
            _ => return Err(ErrorCode::InvalidArgument),
        };
        self.read(Metric::NvlinkErrorCounters, Some(value))
    }

    pub fn mig(&self) -> Reading<bool> {
        self.read(Metric::Mig, self.mig_enabled)
    }

    /// The MIG devices that exist: none unless MIG mode is on.
    pub fn mig_devices(&self) -> &[MigSpec] {
        if self.mig_enabled == Some(true) {
            &self.mig_instances
        } else {
            &[]
        }
    }

    /// A MIG device's (total, used) bytes at `t`: its own use plus its processes'.
    pub fn mig_memory_bytes(&self, mig: &MigSpec, t: f64) -> (u64, u64) {
        let total = mig.memory_total_mib * MIB;
        let own = mig.memory_used_mib.as_ref().map_or(0.0, |s| s.at(t)) as u64 * MIB;
        let procs: u64 = self
            .processes
            .iter()
            .filter(|p| p.gpu_instance_id == Some(mig.gpu_instance_id) && p.is_active(t))
            .filter_map(|p| p.used_memory_bytes(t))
            .sum();
        (total, (own + procs).min(total))
    }

    pub fn serial(&self) -> Reading<String> {
        self.read(Metric::Serial, self.serial.clone())
    }

    /// The fabric registration: (cluster UUID bytes, status, clique id, state).
    pub fn fabric(&self) -> Reading<([u8; 16], u32, u32, u8)> {
        let info = self.fabric.as_ref().map(|f| {
            let status = f.status.map_or(0, ErrorCode::as_nvml_return);
            (hex_bytes(&f.cluster_uuid), status, f.clique_id, f.state as u8)
        });
        self.read(Metric::Nvlink, info)
    }

    /// The InfoROM image version.
    pub fn inforom_image(&self) -> Reading<String> {
        self.read(Metric::Inforom, self.inforom.as_ref().and_then(|i| i.image.clone()))
    }

    /// `nvmlDeviceValidateInforom`: SUCCESS, CORRUPTED_INFOROM, or NOT_SUPPORTED without an
    /// InfoROM.
    pub fn validate_inforom(&self) -> Reading<()> {
        let inforom = self.read(Metric::Inforom, self.inforom.as_ref())?;
        match inforom.checksum_valid {
            Some(false) => Err(ErrorCode::CorruptedInforom),
            _ => Ok(()),
        }
    }

    /// An InfoROM object's version: 0 OEM, 1 ECC, 2 power (`nvmlInforomObject_t`).
    pub fn inforom_object(&self, object: u32) -> Reading<String> {
        let inforom = self.inforom.as_ref();
        let version = inforom.and_then(|i| match object {
            0 => i.oem.clone(),
            1 => i.ecc.clone(),
            2 => i.power.clone(),
            _ => None,
        });
        self.read(Metric::Inforom, version)
    }

    /// GPU Operation Mode (current, pending) as `nvmlGpuOperationMode_t` values.
    pub fn operation_mode(&self) -> Reading<(u32, u32)> {
        let mode = self.gpu_operation_mode.map(|[c, p]| (c as u32, p as u32));
        self.read(Metric::OperationMode, mode)
    }

    pub fn temperature_memory(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::MemoryTemperature, &self.temperature_memory_c, t).map(|v| v as u32)
    }

    /// Power averaged over the last second and now, in mW (`NVML_FI_DEV_POWER_AVERAGE`,
    /// `NVML_FI_DEV_POWER_INSTANT`).
    pub fn power_average_instant_mw(&self, t: f64) -> Reading<(u32, u32)> {
        let signal = self.read(Metric::Power, self.power_w.as_ref())?;
        let average = signal.integral(t) - signal.integral(t - 1.0);
        Ok(((average * 1000.0) as u32, (signal.at(t) * 1000.0) as u32))
    }

    /// A module power field value in mW: `NVML_FI_DEV_POWER_AVERAGE` (185) and `_INSTANT`
    /// (186), the limits `_MIN_LIMIT` (187), `_MAX_LIMIT` (188), `_DEFAULT_LIMIT` (189),
    /// `_CURRENT_LIMIT` (190) and `_REQUESTED_LIMIT` (192).
    pub fn module_power_mw(&self, field: u32, t: f64) -> Reading<u32> {
        let m = self.read(Metric::Power, self.module_power.as_ref())?;
        let watts = match field {
            185 => m.draw_w.integral(t) - m.draw_w.integral(t - 1.0),
            186 => m.draw_w.at(t),
            187 => m.min_limit_w,
            188 => m.max_limit_w,
            189 => m.default_limit_w,
            190 => m.enforced_limit_w.unwrap_or(m.limit_w),
            192 => m.limit_w,
            _ => return Err(ErrorCode::NotSupported),
        };
        Ok((watts * 1000.0).round() as u32)
    }

    /// How long, in µs, the clocks have been held down for the reason `bit` (one of
    /// `nvmlClocksEventReason*`) in the `since_init` seconds to `t`: the clock event reason
    /// counters (`NVML_FI_DEV_CLOCKS_EVENT_REASON_*`) that nvidia-smi prints in µs.
    pub fn throttle_counter_us(&self, bit: u64, t: f64, since_init: f64) -> Reading<u64> {
        let mask = self.read(Metric::Throttle, self.throttle_reasons)?;
        if mask & bit == 0 {
            return Ok(0);
        }
        let seconds = match &self.throttle_active {
            None => since_init,
            Some(active) => active.on_time(t - since_init, t),
        };
        Ok((seconds.max(0.0) * 1e6) as u64)
    }

    pub fn vbios_version(&self) -> Reading<String> {
        self.read(Metric::Vbios, self.vbios_version.clone())
    }

    /// (generation, width), each (current, maximum).
    pub fn pcie_link(&self) -> Reading<([u32; 2], [u32; 2])> {
        self.read(Metric::PcieLink, self.pcie_link_gen.zip(self.pcie_link_width))
    }

    /// (min, max) of the power management limit, in W.
    pub fn power_limit_range(&self) -> Reading<[f64; 2]> {
        self.read(Metric::PowerLimitRange, self.power_limit_range_w)
    }

    /// The default power management limit, in W.
    pub fn power_default_limit(&self) -> Reading<f64> {
        let limit =
            self.power_default_limit_w.or(self.power_management_limit_w).or(self.power_limit_w);
        self.read(Metric::PowerLimit, limit)
    }

    pub fn accounting_buffer_size(&self) -> Reading<u32> {
        self.read(Metric::Accounting, self.accounting_buffer_size)
    }

    pub fn jpeg(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Decoder, &self.jpeg_pct, t).map(percent)
    }

    pub fn ofa(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Decoder, &self.ofa_pct, t).map(percent)
    }

    /// Degrees below the slowdown threshold (`nvmlDeviceGetMarginTemperature`, nvidia-smi's
    /// T.Limit): negative once past it.
    pub fn margin_temperature(&self, t: f64) -> Reading<i32> {
        let slowdown = self.read(Metric::TemperatureThresholds, self.temperature_slowdown_c)?;
        let now = self.read_signal(Metric::Temperature, &self.temperature_c, t)?;
        Ok(slowdown as i32 - now.round() as i32)
    }

    pub fn pci_class(&self) -> Reading<[u32; 2]> {
        self.read(Metric::Pci, self.pci_class)
    }

    pub fn power_management(&self) -> Reading<bool> {
        self.read(Metric::PowerManagement, self.power_management)
    }

    pub fn addressing_mode(&self) -> Reading<u32> {
        self.read(Metric::AddressingMode, self.addressing_mode.map(|m| m as u32))
    }

    pub fn dram_encryption(&self) -> Reading<[bool; 2]> {
        self.read(Metric::DramEncryption, self.dram_encryption)
    }

    pub fn gsp_firmware(&self) -> Reading<[bool; 2]> {
        self.read(Metric::Gsp, self.gsp_firmware)
    }

    pub fn c2c_enabled(&self) -> Reading<bool> {
        self.read(Metric::C2c, self.c2c_enabled)
    }

    /// Protected memory `[total, used]` in bytes.
    pub fn protected_memory(&self) -> Reading<[u64; 2]> {
        self.read(Metric::ConfCompute, self.protected_memory_mib.map(|m| m.map(|v| v << 20)))
    }

    pub fn recovery_action(&self) -> Reading<u32> {
        self.read(Metric::RecoveryAction, self.recovery_action.map(|a| a as u32))
    }

    /// One vGPU capability (`NVML_DEVICE_VGPU_CAP_*`: 0, 1, 2); another is NOT_SUPPORTED.
    pub fn vgpu_capability(&self, capability: u32) -> Reading<bool> {
        let caps = self.read(Metric::Vgpu, self.vgpu_capabilities)?;
        caps.get(capability as usize).copied().ok_or(ErrorCode::NotSupported)
    }

    /// The deprecated reset status fields, as the recovery action implies them: a reset is
    /// required, and a drain before it recommended.
    pub fn reset_status(&self) -> Reading<(bool, bool)> {
        let action = self.read(Metric::RecoveryAction, self.recovery_action)?;
        let reset =
            matches!(action, RecoveryActionSpec::GpuReset | RecoveryActionSpec::DrainAndReset);
        Ok((reset, action == RecoveryActionSpec::DrainAndReset))
    }

    pub fn platform(&self) -> Reading<&PlatformSpec> {
        self.read(Metric::Platform, self.platform.as_ref())
    }

    pub fn module_id(&self) -> Reading<u32> {
        self.read(Metric::Platform, self.module_id)
    }

    pub fn pcie_link_gen_gpu_max(&self) -> Reading<u32> {
        self.read(Metric::PcieLink, self.pcie_link_gen_gpu_max)
    }

    pub fn accounting_mode(&self) -> Reading<bool> {
        self.read(Metric::Accounting, self.accounting_mode)
    }

    pub fn display_mode(&self) -> Reading<bool> {
        self.read(Metric::Display, self.display_mode)
    }

    pub fn remapped_rows(&self) -> Reading<RemappedRowsSpec> {
        self.read(Metric::RemappedRows, self.remapped_rows)
    }

    /// The pages retired for `cause` (`nvmlPageRetirementCause_t`): (address, timestamp).
    pub fn retired_pages(&self, cause: u32) -> Reading<Vec<(u64, u64)>> {
        let pages = self.retired_pages.as_ref().map(|pages| {
            pages
                .iter()
                .filter(|p| p.cause as u32 == cause)
                .map(|p| (p.address, p.timestamp))
                .collect()
        });
        self.read(Metric::RetiredPages, pages)
    }

    pub fn retired_pages_pending(&self) -> Reading<bool> {
        self.read(Metric::RetiredPages, self.retired_pages_pending)
    }

    /// The GPU's GPM metrics, when it has GPM.
    pub fn gpm(&self) -> Reading<&GpmSpec> {
        self.read(Metric::Gpm, self.gpm.as_ref())
    }

    pub fn clock_video(&self, t: f64) -> Reading<u32> {
        self.read(Metric::Clocks, self.clock_video_mhz.as_ref().map(|s| s.at(t) as u32))
    }

    pub fn applications_clocks(&self, default: bool) -> Reading<[u32; 2]> {
        let clocks = if default {
            self.default_applications_clocks_mhz.or(self.applications_clocks_mhz)
        } else {
            self.applications_clocks_mhz
        };
        self.read(Metric::ApplicationsClocks, clocks)
    }

    pub fn compute_capability(&self) -> Reading<[i32; 2]> {
        self.read(Metric::ComputeCapability, self.compute_capability)
    }

    pub fn encoder_stats(&self) -> Reading<[u32; 3]> {
        self.read(Metric::Encoder, self.encoder_stats)
    }

    pub fn pcie_replay_count(&self) -> Reading<u32> {
        self.read(Metric::PcieReplay, self.pcie_replay_count)
    }

    /// The `nvmlEventType*` bits this GPU can deliver: critical XIDs and P-state changes on
    /// every GPU, ECC events only where ECC is on (nvml.h, `nvmlDeviceRegisterEvents`).
    pub fn supported_events(&self) -> Reading<u64> {
        let ecc = if self.ecc().is_ok() { EVENT_SINGLE_BIT_ECC | EVENT_DOUBLE_BIT_ECC } else { 0 };
        self.read(Metric::Events, Some(EVENT_XID_CRITICAL | EVENT_PSTATE | ecc))
    }

    /// Total energy in mJ: the starting counter plus the simulated power's integral since
    /// t = 0 (a wave's by its mean).
    pub fn energy_mj(&self, t: f64) -> Reading<u64> {
        let start = self.read(Metric::Energy, self.energy_mj)?;
        // The counter restarts every 30 days, as if the driver had been reloaded.
        let t = t.max(0.0).rem_euclid(30.0 * 86_400.0);
        let joules = self.power_w.as_ref().map_or(0.0, |p| p.integral(t));
        Ok(start + (joules * 1000.0) as u64)
    }

    pub fn persistence(&self) -> Reading<bool> {
        self.read(Metric::Persistence, Some(self.persistence_mode))
    }

    /// Per-process (pid, sm %, mem %) for the processes that have utilization samples.
    pub fn process_utilization(&self, t: f64) -> Reading<Vec<(u32, u32, u32)>> {
        self.read(Metric::ProcessUtilization, Some(()))?;
        Ok(self
            .processes
            .iter()
            .filter(|p| p.is_active(t))
            .filter_map(|p| {
                let sm = p.sm_util.as_ref()?.at(t);
                let mem = p.mem_util.as_ref().map_or(0.0, |s| s.at(t));
                Some((p.pid, percent(sm), percent(mem)))
            })
            .collect())
    }
}

impl ProcessSpec {
    pub fn is_active(&self, t: f64) -> bool {
        self.active.as_ref().is_none_or(|a| a.is_on(t))
    }

    /// Bytes of GPU memory, or `None` when NVML would say "not available".
    pub fn used_memory_bytes(&self, t: f64) -> Option<u64> {
        self.used_memory_mib.as_ref().map(|s| (s.at(t).max(0.0) * MIB as f64) as u64)
    }
}

fn percent(v: f64) -> u32 {
    v.round().clamp(0.0, 100.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_GPUS: &str = r#"
        [driver]
        version = "535.104.05"
        [[gpus]]
        name = "NVIDIA A100-SXM4-80GB"
        memory_total_mib = 81920
        memory_used_mib = 100
        utilization_gpu = 50
        utilization_memory = 10
        errors = { temperature = "NO_PERMISSION" }
        [[gpus.processes]]
        pid = 42
        used_memory_mib = 1000
        [[gpus]]
        name = "Tesla T4"
        lost = true
    "#;

    #[test]
    fn parses_and_reads_values() {
        let s = Scenario::from_toml(TWO_GPUS).unwrap();
        assert_eq!(s.driver.version, "535.104.05");
        let gpu = &s.gpus[0];
        assert_eq!(gpu.utilization(0.0), Ok((50, 10)));
        let (total, _, used) = gpu.memory_bytes(0.0).unwrap();
        assert_eq!(total, 81920 * MIB);
        assert_eq!(used, 1100 * MIB);
        assert!(s.gpus[1].lost);
    }

    #[test]
    fn missing_metric_is_not_supported_and_errors_are_injected() {
        let s = Scenario::from_toml(TWO_GPUS).unwrap();
        assert_eq!(s.gpus[0].fan(0.0), Err(ErrorCode::NotSupported));
        assert_eq!(s.gpus[0].temperature(0.0), Err(ErrorCode::NoPermission));
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_line() {
        let err = Scenario::from_toml("[[gpus]]\nname = \"x\"\nfan = 3\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn impossible_values_are_rejected_with_their_line() {
        let text = "[[gpus]]\nname = \"a\"\ntemperature_c = 60\n\
                    [[gpus]]\nname = \"b\"\ntemperature_c = 900\n";
        let err = Scenario::from_toml(text).unwrap_err();
        assert_eq!(err, "line 6: temperature_c = 900 is out of range (0 to 150 °C)");
        let wave = "[[gpus]]\nname = \"a\"\nutilization_gpu = { base = 90, amplitude = 20 }\n";
        assert!(Scenario::from_toml(wave).unwrap_err().starts_with("line 3: utilization_gpu"));
        let memory = "[[gpus]]\nname = \"a\"\nmemory_total_mib = 1024\nmemory_used_mib = 4096\n";
        assert!(Scenario::from_toml(memory).unwrap_err().starts_with("line 4: memory_used_mib"));
        assert!(Scenario::from_toml("[[gpus]]\nname = \"a\"\npower_w = -5\n").is_err());
    }

    #[test]
    fn demo_fleet_has_the_requested_size_and_moves() {
        let s = Scenario::demo(8);
        assert_eq!(s.gpus.len(), 8);
        let utils: Vec<_> = (0..20).map(|t| s.gpus[0].utilization(t as f64 * 7.0)).collect();
        assert!(utils.windows(2).any(|w| w[0] != w[1]), "demo metrics must move");
    }
}
