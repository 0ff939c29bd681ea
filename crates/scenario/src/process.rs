//! A process on a simulated GPU: what NVML lists of it and what the demo shows of its host
//! side.

use serde::Deserialize;

use crate::{Activity, Signal, MIB};

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

impl ProcessSpec {
    pub fn is_active(&self, t: f64) -> bool {
        self.active.as_ref().is_none_or(|a| a.is_on(t))
    }

    /// Bytes of GPU memory, or `None` when NVML would say "not available".
    pub fn used_memory_bytes(&self, t: f64) -> Option<u64> {
        self.used_memory_mib.as_ref().map(|s| (s.at(t).max(0.0) * MIB as f64) as u64)
    }
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
