//! A snapshot: one sample of the whole machine, its version, and where its processes live
//! (which decides whether one may be signalled from here).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{GpuSample, HostInfo, RemoteHost};

/// Bumped on any incompatible change to the JSON document (`docs/json-schema.md`).
/// Version 2: a GPU's `processes` is `null` when NVML could not list them, and `missing` says
/// why a value is absent. Version 3: NVLink error counters and a process's `kind` may be
/// `null` (with their reasons), never a made-up 0 or "compute". Version 4: a GPU's `vendor`, and
/// the reasons `not_provided_by_amdgpu`/`_i915`/`_xe` (a version 3 reader would reject them).
pub const SCHEMA_VERSION: u32 = 4;

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

impl Snapshot {
    /// Whether the header should name the NVIDIA driver and CUDA: it has NVIDIA GPUs or NVML
    /// answered. A machine with only AMD or Intel GPUs has neither, and "driver N/A  CUDA N/A"
    /// would read as a broken NVIDIA stack.
    pub fn shows_nvidia_driver(&self) -> bool {
        self.host.driver_version.is_some()
            || self.gpus.iter().any(|g| g.vendor == super::Vendor::Nvidia)
    }

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
