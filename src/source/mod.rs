//! Where samples come from: NVML through `nvml-wrapper`, the simulated fleet (`--demo`), other
//! hosts, Prometheus or a recording. All sit behind [`Source`], so every frontend works the
//! same on any, and [`open`] is the one place that builds them.

pub mod drm;
pub mod fdscan;
mod filter;
pub(crate) mod host;
mod local;
mod nvml;
pub mod open;
pub mod pidns;
pub mod placement;
pub mod prometheus;
pub mod remote;
pub mod replay;
pub mod selection;
mod sim;
pub mod tls;

use std::path::PathBuf;

pub use filter::PlacementFilter;
pub use host::usage::WithHostUsage;
pub use host::HostLookup;
pub use nvml::NvmlSource;
pub use open::{open, Backend, Opened, Placement, SourcePlan, SourceSpec};
pub use selection::GpuSelector;
pub use sim::SimSource;

use crate::sample::Snapshot;

/// Something that can take a [`Snapshot`] of the machine's GPUs. Sampling blocks (NVML calls
/// do), so async callers run it on a blocking thread.
pub trait Source: Send {
    fn sample(&mut self) -> Result<Snapshot, SourceError>;

    /// Each GPU's utilization over the last `window` seconds, in the order of its snapshots,
    /// from the driver's own buffer of samples; `None` where there is none (then only the
    /// instant's value is known). What `select` and `wait` judge a GPU idle by, without
    /// sampling for seconds themselves.
    fn recent_utilization(
        &mut self,
        window: std::time::Duration,
    ) -> Vec<Option<RecentUtilization>> {
        self.wrapped().map_or_else(Vec::new, |inner| inner.recent_utilization(window))
    }

    /// What each GPU did over the last `window`, one value per `step`, from a source that
    /// keeps history (Prometheus); nothing from one that does not. For the monitor's charts.
    fn past(
        &mut self,
        window: std::time::Duration,
        step: std::time::Duration,
    ) -> Vec<crate::sample::PastGpu> {
        self.wrapped().map_or_else(Vec::new, |inner| inner.past(window, step))
    }

    /// The source a wrapper (a filter, host usage) adds to: what it keeps (its recent
    /// utilization, its past) is asked of it, so no wrapper can forget to pass them on.
    fn wrapped(&mut self) -> Option<&mut dyn Source> {
        None
    }
}

/// A GPU's utilization over a recent window (percent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecentUtilization {
    pub mean: f64,
    pub max: u32,
}

/// Which metrics are worth their cost for the current mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleOptions {
    /// `nvmlDeviceGetPcieThroughput` blocks ≥ 20 ms per call on real GPUs: sample it only when
    /// the output shows it.
    pub pcie_throughput: bool,
    /// Look up user, command line, CPU and memory of GPU processes in `/proc` (not needed by
    /// `--query-gpu`, and the dominant cost with thousands of processes).
    pub host_processes: bool,
    /// How much of [`crate::sample::Details`] to read.
    pub details: DetailLevel,
    /// Sampled again and again by a mode that shows what happens between samples: listen for
    /// the driver's XID and ECC events (a thread of its own) and read GPM activity (which
    /// needs two samples).
    pub continuous: bool,
}

/// Which of a GPU's [`crate::sample::Details`] a mode reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DetailLevel {
    /// None (the monitor and most modes).
    #[default]
    None,
    /// The board's memory and link health: remapped rows, retired pages pending, ECC over its
    /// life, the PCIe link and its replays, NVLink errors. What `serve` exports each sample and
    /// `health` and `doctor` judge: about a dozen NVML calls a GPU.
    Health,
    /// Every `--query-gpu` property besides (about 60 more calls a GPU, one of which,
    /// `nvmlDeviceValidateInforom`, reads the InfoROM's flash): only for a query naming one.
    All,
}

impl SampleOptions {
    /// The least: one sample of the GPUs, no `/proc`, no PCIe throughput, no details.
    pub fn one_shot() -> Self {
        Self {
            pcie_throughput: false,
            host_processes: false,
            details: DetailLevel::None,
            continuous: false,
        }
    }
}

impl Default for SampleOptions {
    fn default() -> Self {
        Self {
            pcie_throughput: true,
            host_processes: true,
            details: DetailLevel::None,
            continuous: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DemoFleet {
    Gpus(usize),
    Scenario(PathBuf),
}

impl DemoFleet {
    /// A fleet of `n` GPUs, within what a demo simulates.
    pub fn gpus(n: usize) -> Result<Self, String> {
        match n {
            0 => Err("a demo needs at least one GPU".into()),
            n if n > 1024 => Err(format!("{n} GPUs is too many for a demo (at most 1024)")),
            n => Ok(Self::Gpus(n)),
        }
    }
}

/// Why a host whose exporter answers is stale all the same: its sampling is stuck (a driver
/// call that does not return), `seconds` since its last complete sample. `--remote` and
/// `--prometheus` say it alike.
pub fn stuck_exporter(seconds: f64) -> String {
    format!(
        "stale: its exporter has had no complete sample for {} (a stuck driver call?)",
        crate::text::units::age_text(seconds)
    )
}

/// Why a source could not be opened or sampled. Each renders as one line; `hint` says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot load the NVIDIA management library ({library}): {reason}")]
    LibraryNotLoadable { library: String, reason: String },
    #[error("the NVIDIA driver is not loaded (NVML: driver not loaded)")]
    DriverNotLoaded,
    #[error("no permission to talk to the NVIDIA driver (NVML: insufficient permissions)")]
    NoPermission,
    #[error(
        "the NVIDIA driver and NVML library versions do not match (reboot after a driver update)"
    )]
    VersionMismatch,
    #[error("NVML failed: {0}")]
    Nvml(String),
    #[error("no GPU matches --id {0}")]
    NoSuchGpu(String),
    #[error("{0}")]
    Scenario(String),
    /// A `--prometheus` query failed: unreachable, refused, an error or a foreign answer.
    #[error("{0}")]
    Prometheus(String),
    /// `--replay --watch` played the recording to its end.
    #[error("the end of the recording")]
    EndOfRecording,
}

impl SourceError {
    /// What the user should do next, when there is something better than reading the error.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::LibraryNotLoadable { .. } | Self::DriverNotLoaded | Self::NoPermission | Self::VersionMismatch | Self::Nvml(_) => {
                Some("run `gputop doctor` to check the GPU stack, or `gputop --demo` to try gputop without a GPU")
            }
            Self::NoSuchGpu(_) => Some("`gputop --once` lists the GPUs with their indices and UUIDs"),
            Self::Scenario(_) | Self::Prometheus(_) | Self::EndOfRecording => None,
        }
    }

    /// Usage mistakes exit 2 like other usage errors; a GPU stack that cannot answer exits 3.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::NoSuchGpu(_) | Self::Scenario(_) => 2,
            _ => 3,
        }
    }
}
