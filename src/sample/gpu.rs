//! One GPU's sample: its status and identity, and the readings every view shows (memory,
//! utilization, temperature, power, clocks, PCIe, ECC totals), MIG devices and GPM activity.

use serde::{Deserialize, Serialize};

use super::{
    Details, FieldKey, GpuEvents, GpuProcess, Missing, MissingFields, MissingReason, Throttle,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuStatus {
    Ok,
    /// Fell off the bus or is otherwise inaccessible (GPU_IS_LOST).
    Lost,
    /// Any other failure to reach the GPU; `GpuSample::error` says which.
    Error,
}

/// Who made the GPU, which decides the driver that reads it: NVIDIA's through NVML, AMD's
/// (amdgpu) and Intel's (i915, xe) through the kernel's sysfs and DRM files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vendor {
    /// The default for documents and recordings from before vendors were told apart: those
    /// came from NVML alone.
    #[default]
    Nvidia,
    Amd,
    Intel,
}

impl Vendor {
    /// As people write it: "NVIDIA", "AMD", "Intel".
    pub fn label(self) -> &'static str {
        match self {
            Self::Nvidia => "NVIDIA",
            Self::Amd => "AMD",
            Self::Intel => "Intel",
        }
    }

    /// As the JSON, the metrics' `vendor` label and scenario files spell it.
    pub fn key(self) -> &'static str {
        match self {
            Self::Nvidia => "nvidia",
            Self::Amd => "amd",
            Self::Intel => "intel",
        }
    }

    /// The vendor a key names (`nvidia`, `amd`, `intel`).
    pub fn from_key(key: &str) -> Option<Self> {
        [Self::Nvidia, Self::Amd, Self::Intel].into_iter().find(|v| v.key() == key)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuSample {
    /// With `--remote`: the host this GPU is on. Left out of JSON otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub index: u32,
    /// Who made it (`nvidia` in documents from before AMD and Intel GPUs were read).
    #[serde(default)]
    pub vendor: Vendor,
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
            vendor: Vendor::Nvidia,
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

    /// "unknown (no permission)" when the process list could not be had; "partly unknown (no
    /// permission)" when it is not everyone's (an AMD or Intel GPU's clients, when other users'
    /// processes cannot be read).
    pub fn processes_unknown_reason(&self) -> Option<String> {
        if self.processes.is_some() {
            let partial = self.missing.get(FieldKey::Processes)?;
            return Some(format!("partly unknown ({})", partial.describe()));
        }
        Some(match self.missing.get(FieldKey::Processes) {
            Some(m) => format!("unknown ({})", m.describe()),
            None => "unknown".into(),
        })
    }

    /// Files `reason` (an AMD or Intel GPU's driver: "not provided by the amdgpu driver") under
    /// every field of this GPU still `None` without a reason, and under what only NVML reports
    /// (P-state, PCIe throughput, throttle reasons, MIG, persistence, events, GPM activity).
    /// One list for the kernel's source and the simulated one, so they say the same.
    pub fn file_not_provided(&mut self, reason: MissingReason) {
        let not_provided = Missing { reason, nvml_code: None };
        let absent = [
            (FieldKey::Uuid, self.uuid.is_none()),
            (
                FieldKey::Memory,
                self.memory.total_bytes.is_none() || self.memory.used_bytes.is_none(),
            ),
            (FieldKey::MemoryReserved, self.memory.reserved_bytes.is_none()),
            (FieldKey::Utilization, self.utilization.gpu_percent.is_none()),
            (FieldKey::UtilizationEncoder, self.utilization.encoder_percent.is_none()),
            (FieldKey::UtilizationDecoder, self.utilization.decoder_percent.is_none()),
            (FieldKey::TemperatureGpu, self.temperature.gpu_celsius.is_none()),
            (FieldKey::TemperatureSlowdown, self.temperature.slowdown_celsius.is_none()),
            (FieldKey::TemperatureShutdown, self.temperature.shutdown_celsius.is_none()),
            (FieldKey::PowerDraw, self.power.draw_watts.is_none()),
            (FieldKey::PowerLimit, self.power.limit_watts.is_none()),
            (FieldKey::PowerManagementLimit, self.power.management_limit_watts.is_none()),
            (FieldKey::PowerEnergy, self.power.energy_joules.is_none()),
            (FieldKey::FanPercent, self.fan_percent.is_none()),
            (FieldKey::ClocksSm, self.clocks.sm_mhz.is_none()),
            (FieldKey::ClocksMemory, self.clocks.memory_mhz.is_none()),
            (FieldKey::ClocksSmMax, self.clocks.sm_max_mhz.is_none()),
            (FieldKey::ClocksMemoryMax, self.clocks.memory_max_mhz.is_none()),
            (FieldKey::PerformanceState, true),
            (FieldKey::Pcie, true),
            (FieldKey::Throttle, true),
            (FieldKey::Ecc, self.ecc.corrected.is_none()),
            (FieldKey::MigEnabled, true),
            (FieldKey::PersistenceMode, true),
            (FieldKey::Events, true),
            (FieldKey::Activity, true),
        ];
        for (key, missing) in absent {
            if missing && self.missing.get(key).is_none() {
                self.missing.insert(key, not_provided);
            }
        }
    }

    /// Used memory as a percentage of total, when both are known.
    pub fn memory_percent(&self) -> Option<f64> {
        let (used, total) = (self.memory.used_bytes?, self.memory.total_bytes?);
        (total > 0).then(|| used as f64 * 100.0 / total as f64)
    }
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
pub struct Ecc {
    /// Volatile (since the driver loaded) totals.
    pub corrected: Option<u64>,
    pub uncorrected: Option<u64>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_percent_needs_both_values() {
        let mut g = GpuSample::empty(0);
        assert_eq!(g.memory_percent(), None);
        g.memory.total_bytes = Some(200);
        g.memory.used_bytes = Some(50);
        assert_eq!(g.memory_percent(), Some(25.0));
    }
}
