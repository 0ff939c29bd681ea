//! A process on a GPU: what the driver lists, what the host says of it, where it runs
//! (container, pod, job) and who it is across PID reuse.

use serde::{Deserialize, Serialize};

use super::{FieldKey, Missing, MissingFields, MissingReason};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_kinds_merge() {
        assert_eq!(ProcessKind::Compute.merge(ProcessKind::Graphics).short(), "C+G");
        assert_eq!(ProcessKind::Compute.merge(ProcessKind::Compute), ProcessKind::Compute);
    }
}
