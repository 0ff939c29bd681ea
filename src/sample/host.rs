//! The machine behind a snapshot: its driver and usage (`HostInfo`), and with many hosts
//! (`--remote`, `--prometheus`) each one asked (`RemoteHost`).

use serde::{Deserialize, Serialize};

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

/// Formats NVML's CUDA driver version (12040) as "12.4".
pub fn cuda_version_string(v: i32) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
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

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_version_formats_like_nvidia_smi() {
        assert_eq!(cuda_version_string(12040), "12.4");
        assert_eq!(cuda_version_string(11080), "11.8");
        assert_eq!(cuda_version_string(13000), "13.0");
    }
}
