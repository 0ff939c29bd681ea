//! The sample model: plain, serde-serializable data that every frontend renders from. It
//! imports nothing from the rest of the crate: sources fill it, frontends read it.
//!
//! Every metric is an `Option`: `None` means NVML could not give it (not supported, no
//! permission, a missing symbol) and is shown as `N/A` or `null`, never as 0. Units are base
//! units: bytes, percent, °C, watts, MHz, joules.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod field;
pub use field::{FieldKey, MissingFields};

/// Bumped on any incompatible change to the JSON document (`docs/json-schema.md`).
/// Version 2: a GPU's `processes` is `null` when NVML could not list them, and `missing` says
/// why a value is absent. Version 3: NVLink error counters and a process's `kind` may be
/// `null` (with their reasons), never a made-up 0 or "compute".
pub const SCHEMA_VERSION: u32 = 3;

/// One sample of the whole machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    pub taken_at: DateTime<Utc>,
    pub host: HostInfo,
    pub gpus: Vec<GpuSample>,
    /// With `--remote`: every host asked, up or not. Empty (and left out of JSON) otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<RemoteHost>,
    /// Where the processes are: this machine's live ones, made up, recorded or other hosts'.
    /// In JSON, `"simulated": true` for `--demo` (no PID names a real process).
    #[serde(
        default,
        rename = "simulated",
        skip_serializing_if = "Origin::is_not_simulated",
        serialize_with = "Origin::serialize_simulated",
        deserialize_with = "Origin::deserialize_simulated"
    )]
    pub origin: Origin,
    /// What the source warned of while answering (Prometheus's `warnings`: a partial answer,
    /// a query cut short), shown beside the data and never dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Where a snapshot's processes live, which decides whether one may be signalled from here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Origin {
    /// This machine's live processes, as its driver reports them.
    #[default]
    Live,
    /// Made up by `--demo`: a PID names no real process.
    Simulated,
    /// History from a recording (`--replay`): the processes ran then, not now.
    Recorded,
    /// Many hosts' processes (`--remote`, `--prometheus`): only `--remote`'s `local` entry is
    /// this machine's.
    Fleet,
}

impl Origin {
    fn is_not_simulated(&self) -> bool {
        *self != Origin::Simulated
    }

    fn serialize_simulated<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(*self == Origin::Simulated)
    }

    fn deserialize_simulated<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Origin, D::Error> {
        let simulated = bool::deserialize(d)?;
        Ok(if simulated { Origin::Simulated } else { Origin::Live })
    }
}

impl Snapshot {
    /// Why the processes of `gpu` must never be signalled from here, or `None` when they are
    /// this machine's live processes. The one rule every signal obeys: a made-up, recorded or
    /// remote PID names no process here, or names another one.
    pub fn signal_refusal(&self, gpu: &GpuSample) -> Option<&'static str> {
        match self.origin {
            Origin::Live => None,
            Origin::Simulated => Some("a simulated process (--demo): its PID is made up"),
            Origin::Recorded => Some("a recorded process (replay): it ran then, not now"),
            Origin::Fleet if self.is_local_entry(gpu) => None,
            Origin::Fleet => Some("it runs on another host: signal it there"),
        }
    }

    /// Whether any row could be signalled from here (the monitor offers `k` only then).
    pub fn offers_signals(&self) -> bool {
        match self.origin {
            Origin::Live => true,
            Origin::Simulated | Origin::Recorded => false,
            Origin::Fleet => self.hosts.iter().any(|h| h.live_here),
        }
    }

    /// Whether `gpu` is this machine's live GPU: `--remote`'s `local` entry (when that is the
    /// driver's, not a demo), by the name it reported.
    pub fn is_local_entry(&self, gpu: &GpuSample) -> bool {
        match (self.origin, &gpu.host) {
            (Origin::Live, _) => true,
            (Origin::Fleet, Some(name)) => self
                .hosts
                .iter()
                .any(|h| h.live_here && h.hostname.as_deref() == Some(name.as_str())),
            _ => false,
        }
    }
}

/// One host of a many-host snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteHost {
    /// The endpoint, or "local".
    pub url: String,
    /// The host's own name, as it reports it (made unique with `@host:port` if two agree).
    pub hostname: Option<String>,
    pub up: bool,
    /// Why it is down: refused, timeout, unauthorized, not a gputop snapshot, version mismatch.
    pub error: Option<String>,
    /// How long the answer took.
    pub latency_ms: Option<u64>,
    /// That host's own CPU use (percent of all its CPUs) and memory, from its snapshot.
    #[serde(default)]
    pub cpu_percent: Option<f32>,
    #[serde(default)]
    pub memory_used_bytes: Option<u64>,
    #[serde(default)]
    pub memory_total_bytes: Option<u64>,
    /// With `--prometheus`: how old the host's newest sample is (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<f64>,
    /// With `--prometheus`: the newest sample is older than two scrape intervals (the
    /// exporter answers but its data stopped moving, or the scrape lags).
    #[serde(default, skip_serializing_if = "is_false")]
    pub stale: bool,
    /// `--remote`'s `local` entry with this machine's live processes: set by the remote source
    /// alone, never read from data (a Prometheus `instance` or a host may call itself "local").
    #[serde(skip)]
    pub live_here: bool,
}

impl RemoteHost {
    /// A host that answered, named `hostname`; the source fills in what else it knows.
    pub fn up(url: impl Into<String>, hostname: impl Into<String>) -> Self {
        Self { hostname: Some(hostname.into()), up: true, ..Self::down(url, None, None) }
    }

    /// A host that did not answer, and why.
    pub fn down(url: impl Into<String>, hostname: Option<String>, error: Option<String>) -> Self {
        Self {
            url: url.into(),
            hostname,
            up: false,
            error,
            latency_ms: None,
            cpu_percent: None,
            memory_used_bytes: None,
            memory_total_bytes: None,
            age_seconds: None,
            stale: false,
            live_here: false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// "docker", "containerd", "cri-o", "podman".
    pub runtime: Option<String>,
    /// The first 12 hex digits, as `docker ps` shows them.
    pub container_id: Option<String>,
    pub pod_uid: Option<String>,
    /// From the container's `HOSTNAME`, which Kubernetes sets to the pod name.
    pub pod_name: Option<String>,
    pub namespace: Option<String>,
    pub slurm_job: Option<String>,
    pub systemd_unit: Option<String>,
}

impl Placement {
    pub fn is_empty(&self) -> bool {
        *self == Placement::default()
    }

    /// A short label for tables: `pod/NAME`, `docker:1a2b3c4d5e6f`, `slurm:12345`, a unit.
    pub fn label(&self) -> Option<String> {
        if let Some(pod) =
            self.pod_name.as_deref().or(self.pod_uid.as_deref().map(|u| u.get(..8).unwrap_or(u)))
        {
            return Some(format!("pod/{pod}"));
        }
        if let (Some(rt), Some(id)) = (&self.runtime, &self.container_id) {
            return Some(format!("{rt}:{id}"));
        }
        if let Some(job) = &self.slurm_job {
            return Some(format!("slurm:{job}"));
        }
        self.systemd_unit.clone()
    }
}

/// How a process's PID was made meaningful here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PidMapping {
    /// Through `NSpid` in the host's `/proc`.
    HostProc,
    /// Through the device files it holds open.
    FdScan,
    /// Not in this PID namespace: the PID is the host's.
    Outside,
    /// NVML did not list it; found holding the GPU's device file.
    FoundByScan,
}

/// Who a process is: the host it runs on, its PID there, and when it started, so that a PID
/// the kernel has since given to another process is never taken for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcessKey {
    /// `None` for this machine.
    pub host: Option<String>,
    pub pid: u32,
    /// Start time after boot in clock ticks (`/proc/PID/stat` field 22); `None` when unknown.
    pub start_ticks: Option<u64>,
}

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
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: Option<String>,
    pub driver_version: Option<String>,
    /// The newest CUDA version the driver supports, as "12.4".
    pub cuda_driver_version: Option<String>,
    pub nvml_version: Option<String>,
    /// The host's CPU use (percent of all its CPUs) and memory, where the source measures them
    /// (`gputop serve` does, so `--remote` can show each host's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_used_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_total_bytes: Option<u64>,
}

impl HostInfo {
    /// Takes what the host usage reader measured: CPU %, and memory (used, total).
    pub fn fill_usage(&mut self, (cpu, memory): (Option<f32>, Option<(u64, u64)>)) {
        self.cpu_percent = cpu;
        self.memory_used_bytes = memory.map(|m| m.0);
        self.memory_total_bytes = memory.map(|m| m.1);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuStatus {
    Ok,
    /// Fell off the bus or is otherwise inaccessible (GPU_IS_LOST).
    Lost,
    /// Any other failure to reach the GPU; `GpuSample::error` says which.
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuSample {
    /// With `--remote`: the host this GPU is on. Left out of JSON otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub index: u32,
    pub status: GpuStatus,
    pub error: Option<String>,
    pub name: Option<String>,
    pub uuid: Option<String>,
    pub pci_bus_id: Option<String>,
    pub memory: Memory,
    pub utilization: Utilization,
    pub temperature: Temperature,
    pub power: Power,
    pub fan_percent: Option<u32>,
    pub clocks: Clocks,
    /// 0 for P0 (maximum performance) to 15.
    pub performance_state: Option<u8>,
    pub pcie: Pcie,
    pub throttle: Throttle,
    pub ecc: Ecc,
    pub mig_enabled: Option<bool>,
    pub persistence_mode: Option<bool>,
    /// `None` when NVML could not list them (no permission, GPU lost, …): unknown, which is not
    /// the same as nobody; `missing["processes"]` says why.
    pub processes: Option<Vec<GpuProcess>>,
    /// Why a field is `null`, by its JSON name (`fan_percent`, `memory`, `processes`, …).
    #[serde(default, skip_serializing_if = "MissingFields::is_empty")]
    pub missing: MissingFields,
    /// Properties that seldom change, read only when an output asks for one (a `--query-gpu`
    /// property); left out otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Box<Details>>,
    /// XID errors and ECC events the driver raised, in the modes that listen for them (the
    /// monitor, `serve`, `--watch --json`) and from the kernel log in `gputop health`; left
    /// out elsewhere. `None` with `missing["events"]` where they cannot be had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<GpuEvents>,
    /// What the SMs, tensor cores and memory did since the previous sample (GPM, Hopper and
    /// later), in the modes that sample repeatedly; `None` with `missing["activity"]` where
    /// the GPU has no GPM, and on the first sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<Box<Activity>>,
    /// With MIG on: the GPU's MIG devices (its processes name theirs by `gpu_instance_id`);
    /// left out with MIG off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mig_instances: Option<Vec<MigInstance>>,
    /// With `--prometheus`: the pod or job the GPU is assigned to, as its exporter labels it
    /// (dcgm-exporter's Kubernetes pod mapping, `hpc_job`); left out elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
}

/// Who a GPU is assigned to, from an exporter's labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub container: Option<String>,
    /// A batch job (dcgm-exporter's `hpc_job`, Slurm's job id).
    pub job: Option<String>,
}

/// One MIG device: a GPU instance and its compute instance. NVML gives no utilization for a
/// MIG device (nor, with MIG on, for its GPU).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigInstance {
    /// The slot NVML lists it in (`nvmlDeviceGetMigDeviceHandleByIndex`).
    pub index: u32,
    pub uuid: Option<String>,
    /// The profile, e.g. `3g.40gb`.
    pub profile: Option<String>,
    pub gpu_instance_id: Option<u32>,
    pub compute_instance_id: Option<u32>,
    pub memory: Memory,
    /// GPM activity of this instance since the previous sample, where the GPU has GPM (in
    /// the modes that sample again and again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<Activity>,
}

/// GPU Performance Monitoring metrics between two samples. Percentages are 0 to 100; each is
/// `None` where this GPU does not give it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Share of time the SMs had at least one warp assigned, averaged over the SMs.
    pub sm_active_percent: Option<f64>,
    /// Warps resident against the most the SMs can hold.
    pub sm_occupancy_percent: Option<f64>,
    /// Share of time the tensor cores were busy (any precision).
    pub tensor_active_percent: Option<f64>,
    /// DRAM bandwidth used against its peak.
    pub dram_active_percent: Option<f64>,
    pub fp64_active_percent: Option<f64>,
    pub fp32_active_percent: Option<f64>,
    pub fp16_active_percent: Option<f64>,
    pub pcie_tx_bytes_per_second: Option<u64>,
    pub pcie_rx_bytes_per_second: Option<u64>,
    pub nvlink_tx_bytes_per_second: Option<u64>,
    pub nvlink_rx_bytes_per_second: Option<u64>,
}

/// The health events of one GPU known since `since`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuEvents {
    pub source: EventSource,
    /// Since when events are known: when gputop started listening, or when the machine booted.
    pub since: DateTime<Utc>,
    /// How many of each XID error, by XID.
    pub xid_counts: BTreeMap<u32, u64>,
    /// XID errors whose number the driver did not give (NVML's "unknown", 999): counted
    /// apart, never as an XID 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub xid_unknown: u64,
    /// Single-bit (corrected) ECC error events; `None` where ECC events cannot be had (ECC off).
    pub ecc_single_bit: Option<u64>,
    /// Double-bit (uncorrected) ECC error events; `None` likewise.
    pub ecc_double_bit: Option<u64>,
    /// The newest events, oldest first (at most [`GpuEvents::RECENT`]).
    pub recent: Vec<GpuEvent>,
}

impl GpuEvents {
    pub const RECENT: usize = 32;

    pub fn new(source: EventSource, since: DateTime<Utc>) -> Self {
        Self {
            source,
            since,
            xid_counts: BTreeMap::new(),
            xid_unknown: 0,
            ecc_single_bit: None,
            ecc_double_bit: None,
            recent: Vec::new(),
        }
    }

    /// Counts an event and keeps it among the recent ones.
    pub fn add(&mut self, event: GpuEvent) {
        match event.kind {
            GpuEventKind::Xid => match event.xid {
                Some(xid) => *self.xid_counts.entry(xid).or_default() += 1,
                None => self.xid_unknown += 1,
            },
            GpuEventKind::SingleBitEcc => {
                *self.ecc_single_bit.get_or_insert(0) += 1;
            }
            GpuEventKind::DoubleBitEcc => {
                *self.ecc_double_bit.get_or_insert(0) += 1;
            }
        }
        if self.recent.len() == Self::RECENT {
            self.recent.remove(0);
        }
        self.recent.push(event);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// NVML's event set, listened to since `since`.
    Nvml,
    /// The kernel log's `NVRM: Xid` lines since boot.
    KernelLog,
    /// Counted by the host's exporter since it started, read from Prometheus (`--prometheus`);
    /// `since` is when they were read. dcgm-exporter gives only the last XID, counted once.
    Exporter,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuEvent {
    pub at: DateTime<Utc>,
    pub kind: GpuEventKind,
    /// The XID of an XID error.
    pub xid: Option<u32>,
    /// What the driver said with it (from the kernel log), as untrusted text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuEventKind {
    Xid,
    SingleBitEcc,
    DoubleBitEcc,
}

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

/// `nvmlPlatformInfo_v2_t`: the GPU's place in its rack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub chassis_serial_number: String,
    pub slot_number: u8,
    pub tray_index: u8,
    pub host_id: u8,
    pub peer_type: u8,
    pub module_id: u8,
    /// The GPU's InfiniBand fabric GUID, `0x` and 16 hex digits (a 64-bit EUI-64).
    pub fabric_guid: String,
}

impl Platform {
    /// From NVML's bytes; the serial is NUL-padded and sanitized (it is the board's text).
    pub fn from_nvml(ib_guid: &[u8; 16], serial: &[u8; 16], numbers: [u8; 5]) -> Self {
        let end = serial.iter().position(|&b| b == 0).unwrap_or(serial.len());
        let text = String::from_utf8_lossy(&serial[..end]);
        let guid: String = ib_guid[..8].iter().map(|b| format!("{b:02x}")).collect();
        let [slot_number, tray_index, host_id, peer_type, module_id] = numbers;
        Self {
            chassis_serial_number: crate::text::sanitize::sanitize(&text).into_owned(),
            slot_number,
            tray_index,
            host_id,
            peer_type,
            module_id,
            fabric_guid: format!("0x{guid}"),
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

/// A GPU's registration with its NVLink fabric, in nvidia-smi's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fabric {
    /// `Not Started`, `In Progress` or `Completed`.
    pub state: String,
    /// `Success`, or why the registration failed.
    pub status: String,
    pub clique_id: u32,
    pub cluster_uuid: String,
}

impl Fabric {
    /// From `nvmlGpuFabricInfo_t`'s fields: `None` for state 0 (no fabric) or one NVML does
    /// not define; `status` in the driver's words.
    pub fn from_nvml(state: u8, status: String, clique_id: u32, uuid: [u8; 16]) -> Option<Self> {
        let state = match state {
            1 => "Not Started",
            2 => "In Progress",
            3 => "Completed",
            _ => return None,
        };
        let hex = |range: std::ops::Range<usize>| -> String {
            uuid[range].iter().map(|b| format!("{b:02x}")).collect()
        };
        let cluster_uuid =
            format!("{}-{}-{}-{}-{}", hex(0..4), hex(4..6), hex(6..8), hex(8..10), hex(10..16));
        Some(Self { state: state.to_string(), status, clique_id, cluster_uuid })
    }
}

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

/// Who may create contexts on the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputeMode {
    Default,
    ExclusiveThread,
    Prohibited,
    ExclusiveProcess,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub total_bytes: Option<u64>,
    pub used_bytes: Option<u64>,
    pub free_bytes: Option<u64>,
    pub reserved_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Utilization {
    pub gpu_percent: Option<u32>,
    pub memory_percent: Option<u32>,
    pub encoder_percent: Option<u32>,
    pub decoder_percent: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Temperature {
    pub gpu_celsius: Option<u32>,
    pub slowdown_celsius: Option<u32>,
    pub shutdown_celsius: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Power {
    pub draw_watts: Option<f64>,
    /// The enforced limit: the lowest of those in force (nvidia-smi's `enforced.power.limit`).
    pub limit_watts: Option<f64>,
    /// The power management limit set on the GPU (nvidia-smi's `power.limit`).
    #[serde(default)]
    pub management_limit_watts: Option<f64>,
    /// Total energy since the driver was loaded.
    pub energy_joules: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Clocks {
    pub sm_mhz: Option<u32>,
    pub memory_mhz: Option<u32>,
    pub sm_max_mhz: Option<u32>,
    pub memory_max_mhz: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pcie {
    pub tx_bytes_per_second: Option<u64>,
    pub rx_bytes_per_second: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throttle {
    /// The raw `nvmlClocksThrottleReasons` bit mask.
    pub mask: Option<u64>,
    /// The mask decoded; bits gputop does not know are left out of this list but kept in `mask`.
    pub reasons: Option<Vec<ThrottleReason>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ecc {
    /// Volatile (since the driver loaded) totals.
    pub corrected: Option<u64>,
    pub uncorrected: Option<u64>,
}

/// Why clocks are held down, decoded from NVML's clock throttle (clock event) reason bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleReason {
    Idle,
    ApplicationsClocksSetting,
    SwPowerCap,
    HwSlowdown,
    SyncBoost,
    SwThermalSlowdown,
    HwThermalSlowdown,
    HwPowerBrakeSlowdown,
    DisplayClockSetting,
}

impl ThrottleReason {
    const BITS: [(u64, ThrottleReason); 9] = [
        (0x1, Self::Idle),
        (0x2, Self::ApplicationsClocksSetting),
        (0x4, Self::SwPowerCap),
        (0x8, Self::HwSlowdown),
        (0x10, Self::SyncBoost),
        (0x20, Self::SwThermalSlowdown),
        (0x40, Self::HwThermalSlowdown),
        (0x80, Self::HwPowerBrakeSlowdown),
        (0x100, Self::DisplayClockSetting),
    ];

    /// Decodes a throttle reason mask into reasons, lowest bit first.
    pub fn decode(mask: u64) -> Vec<ThrottleReason> {
        Self::BITS.iter().filter(|(bit, _)| mask & bit != 0).map(|(_, r)| *r).collect()
    }

    /// The name people know from `nvidia-smi -q`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::ApplicationsClocksSetting => "applications clocks setting",
            Self::SwPowerCap => "SW power cap",
            Self::HwSlowdown => "HW slowdown",
            Self::SyncBoost => "sync boost",
            Self::SwThermalSlowdown => "SW thermal slowdown",
            Self::HwThermalSlowdown => "HW thermal slowdown",
            Self::HwPowerBrakeSlowdown => "HW power brake slowdown",
            Self::DisplayClockSetting => "display clock setting",
        }
    }

    /// Reasons that mean the GPU is held back by trouble, not by choice or idleness.
    pub fn is_alarming(self) -> bool {
        matches!(
            self,
            Self::HwSlowdown
                | Self::SwThermalSlowdown
                | Self::HwThermalSlowdown
                | Self::HwPowerBrakeSlowdown
        )
    }
}

impl Throttle {
    pub fn from_mask(mask: u64) -> Self {
        Self { mask: Some(mask), reasons: Some(ThrottleReason::decode(mask)) }
    }

    /// Labels of the reasons that mean trouble (heat, power brake), for every view to flag.
    pub fn alarming(&self) -> Vec<&'static str> {
        self.reasons.iter().flatten().filter(|r| r.is_alarming()).map(|r| r.label()).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessKind {
    Compute,
    Graphics,
    /// Listed by NVML as both a compute and a graphics process.
    ComputeGraphics,
}

impl ProcessKind {
    /// The short form nvidia-smi prints in its TYPE column; `N/A` for an unknown type.
    pub fn short_or_na(kind: Option<Self>) -> &'static str {
        kind.map_or("N/A", Self::short)
    }

    /// The type from its short form (`C`, `G`, `C+G`), as a recording stores it.
    pub fn from_short(text: &str) -> Option<Self> {
        [Self::Compute, Self::Graphics, Self::ComputeGraphics]
            .into_iter()
            .find(|k| k.short() == text)
    }

    /// The short form nvidia-smi prints in its TYPE column.
    pub fn short(self) -> &'static str {
        match self {
            Self::Compute => "C",
            Self::Graphics => "G",
            Self::ComputeGraphics => "C+G",
        }
    }

    pub fn merge(self, other: ProcessKind) -> ProcessKind {
        if self == other {
            self
        } else {
            Self::ComputeGraphics
        }
    }
}

/// A process on a GPU: what NVML says about it, and what the host says (looked up by PID).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuProcess {
    pub pid: u32,
    /// `None` where the source does not say (a recording older than schema 4, an exporter's
    /// series): `missing` says why. Never guessed as compute.
    pub kind: Option<ProcessKind>,
    /// `None` when NVML reports the value as unavailable (WDDM, some MIG set-ups).
    pub gpu_memory_bytes: Option<u64>,
    pub sm_percent: Option<u32>,
    pub memory_percent: Option<u32>,
    pub gpu_instance_id: Option<u32>,
    pub compute_instance_id: Option<u32>,
    pub user: Option<String>,
    pub name: Option<String>,
    /// The full command line, arguments joined by spaces; raw, so sanitize before display.
    pub command: Option<String>,
    pub cpu_percent: Option<f32>,
    pub host_memory_bytes: Option<u64>,
    pub running_seconds: Option<u64>,
    /// The container, pod, Slurm job or systemd unit it runs in, when it runs in one.
    pub placement: Option<Placement>,
    /// Inside a container: NVML's (host) PID, when `pid` was mapped to the local one.
    pub host_pid: Option<u32>,
    /// Inside a container: how `pid` was obtained; `None` on the host.
    pub pid_mapping: Option<PidMapping>,
    /// Start time after boot in clock ticks, from the host lookup: with the PID it identifies
    /// the process on its host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ticks: Option<u64>,
    /// Why each `null` field of the process is null, by the field's JSON name.
    #[serde(default, skip_serializing_if = "MissingFields::is_empty")]
    pub missing: MissingFields,
}

impl GpuProcess {
    /// A process as NVML lists it, before the host lookup.
    pub fn new(pid: u32, kind: ProcessKind, gpu_memory_bytes: Option<u64>) -> Self {
        Self {
            pid,
            kind: Some(kind),
            gpu_memory_bytes,
            sm_percent: None,
            memory_percent: None,
            gpu_instance_id: None,
            compute_instance_id: None,
            user: None,
            name: None,
            command: None,
            cpu_percent: None,
            host_memory_bytes: None,
            running_seconds: None,
            placement: None,
            host_pid: None,
            pid_mapping: None,
            start_ticks: None,
            missing: MissingFields::default(),
        }
    }

    /// A process whose type the source does not give, and why.
    pub fn kind_unknown(mut self, reason: MissingReason) -> Self {
        self.kind = None;
        self.missing.insert(FieldKey::ProcessKind, Missing { reason, nvml_code: None });
        self
    }
}

impl GpuSample {
    /// A GPU with nothing known but its index and what went wrong.
    pub fn unavailable(index: u32, status: GpuStatus, error: impl Into<String>) -> Self {
        let reason =
            if status == GpuStatus::Lost { MissingReason::GpuLost } else { MissingReason::Error };
        let missing =
            MissingFields::from([(FieldKey::Processes, Missing { reason, nvml_code: None })]);
        Self { status, error: Some(error.into()), processes: None, missing, ..Self::empty(index) }
    }

    /// A reachable GPU with no readings yet; sources fill in what they can.
    pub fn empty(index: u32) -> Self {
        Self {
            host: None,
            index,
            status: GpuStatus::Ok,
            error: None,
            name: None,
            uuid: None,
            pci_bus_id: None,
            memory: Memory::default(),
            utilization: Utilization::default(),
            temperature: Temperature::default(),
            power: Power::default(),
            fan_percent: None,
            clocks: Clocks::default(),
            performance_state: None,
            pcie: Pcie::default(),
            throttle: Throttle::default(),
            ecc: Ecc::default(),
            mig_enabled: None,
            persistence_mode: None,
            processes: Some(Vec::new()),
            missing: MissingFields::default(),
            details: None,
            events: None,
            activity: None,
            mig_instances: None,
            workload: None,
        }
    }

    /// The processes, or none when they are unknown: for sums and lists that need not tell
    /// the two apart. Anything that says "no processes" must look at `processes` itself.
    pub fn known_processes(&self) -> &[GpuProcess] {
        self.processes.as_deref().unwrap_or(&[])
    }

    /// "unknown (no permission)" when the process list could not be had.
    pub fn processes_unknown_reason(&self) -> Option<String> {
        if self.processes.is_some() {
            return None;
        }
        Some(match self.missing.get(FieldKey::Processes) {
            Some(m) => format!("unknown ({})", m.describe()),
            None => "unknown".into(),
        })
    }

    /// Used memory as a percentage of total, when both are known.
    pub fn memory_percent(&self) -> Option<f64> {
        let (used, total) = (self.memory.used_bytes?, self.memory.total_bytes?);
        (total > 0).then(|| used as f64 * 100.0 / total as f64)
    }
}

/// Formats NVML's CUDA driver version (12040) as "12.4".
pub fn cuda_version_string(v: i32) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_reasons_decode_every_known_bit() {
        assert_eq!(ThrottleReason::decode(0), vec![]);
        assert_eq!(
            ThrottleReason::decode(0x1 | 0x40),
            vec![ThrottleReason::Idle, ThrottleReason::HwThermalSlowdown]
        );
        assert_eq!(ThrottleReason::decode(0x1ff).len(), 9);
        // Unknown high bits are ignored in the decoded list but kept in the mask.
        let t = Throttle::from_mask(0x8000_0000_0000_0004);
        assert_eq!(t.reasons, Some(vec![ThrottleReason::SwPowerCap]));
        assert_eq!(t.mask, Some(0x8000_0000_0000_0004));
    }

    #[test]
    fn throttle_reason_labels_and_json_names() {
        assert_eq!(ThrottleReason::HwThermalSlowdown.label(), "HW thermal slowdown");
        let json = serde_json::to_string(&ThrottleReason::SwPowerCap).unwrap();
        assert_eq!(json, "\"sw_power_cap\"");
        assert!(ThrottleReason::HwSlowdown.is_alarming());
        assert!(!ThrottleReason::Idle.is_alarming());
    }

    #[test]
    fn cuda_version_formats_like_nvidia_smi() {
        assert_eq!(cuda_version_string(12040), "12.4");
        assert_eq!(cuda_version_string(11080), "11.8");
        assert_eq!(cuda_version_string(13000), "13.0");
    }

    #[test]
    fn process_kinds_merge() {
        assert_eq!(ProcessKind::Compute.merge(ProcessKind::Graphics).short(), "C+G");
        assert_eq!(ProcessKind::Compute.merge(ProcessKind::Compute), ProcessKind::Compute);
    }

    #[test]
    fn memory_percent_needs_both_values() {
        let mut g = GpuSample::empty(0);
        assert_eq!(g.memory_percent(), None);
        g.memory.total_bytes = Some(200);
        g.memory.used_bytes = Some(50);
        assert_eq!(g.memory_percent(), Some(25.0));
    }
}
