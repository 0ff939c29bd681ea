//! gputop inside another program (the Python package in `python/`): the command line as a
//! function, one-shot samples from a source kept open between calls, a background sampler
//! with its history, and the doctor. Samples cross as the [`Snapshot`] that `--json`
//! serializes, so the embedding side mirrors the documented JSON model by construction.

use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::history::{History, Ring};
use crate::sample::Snapshot;
use crate::source::{
    DemoFleet, DetailLevel, GpuSelector, SampleOptions, Source, SourceError, SourceSpec,
};
use crate::Error;

/// Which GPUs to read and how: the command line's `--nvml-lib` and `--id`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The NVML library to load; `None` is the driver's (or `GPUTOP_NVML_LIB`).
    pub library: Option<PathBuf>,
    /// GPU indices, UUIDs or PCI bus ids; empty is every GPU.
    pub ids: Vec<String>,
    /// Look up each GPU process's user and command line in `/proc`.
    pub processes: bool,
    /// Simulate a fleet of this many GPUs instead (`--demo N`): the API without a GPU.
    pub demo: Option<usize>,
}

impl Options {
    fn open(&self, continuous: bool) -> Result<Box<dyn Source>, Error> {
        let ids = self
            .ids
            .iter()
            .map(|s| s.parse::<GpuSelector>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::Usage)?;
        let library =
            self.library.clone().or_else(|| std::env::var_os("GPUTOP_NVML_LIB").map(PathBuf::from));
        let spec = match self.demo {
            Some(n) => SourceSpec::Demo(DemoFleet::gpus(n).map_err(Error::Usage)?),
            None => SourceSpec::Nvml {
                library,
                host_proc: std::env::var_os("GPUTOP_HOST_PROC").map(PathBuf::from),
            },
        };
        // What `--once --json` samples, less PCIe throughput for one-shot queries: it waits
        // 20 ms per GPU on real hardware, which a notebook cell asking for memory should not
        // pay. A background sampler pays it in its own thread.
        let options = SampleOptions {
            host_processes: self.processes,
            pcie_throughput: continuous,
            details: DetailLevel::None,
            continuous,
        };
        Ok(spec.open(&ids, options)?)
    }
}

/// What kind of failure an error is, for the embedding side's exception classes.
pub fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::Source(SourceError::LibraryNotLoadable { .. }) => "library_not_found",
        Error::Source(SourceError::DriverNotLoaded) => "driver_not_loaded",
        Error::Source(SourceError::NoPermission) => "no_permission",
        Error::Source(SourceError::VersionMismatch) => "version_mismatch",
        Error::Source(SourceError::Nvml(_)) => "nvml",
        Error::Source(SourceError::NoSuchGpu(_)) => "no_such_gpu",
        Error::Usage(_) | Error::NvidiaSmi(_) => "usage",
        _ => "other",
    }
}

/// The line the command line prints for `e`, without its `gputop: ` prefix.
pub fn error_line(e: &Error) -> String {
    match e.hint() {
        Some(hint) => format!("{e}; {hint}"),
        None => e.to_string(),
    }
}

/// The same line for the API's users, with the advice in the API's words: where the command
/// line says `gputop --demo`, the API's way to try gputop without a GPU is `demo=True`.
pub fn api_error_line(e: &Error) -> String {
    let hint = match error_kind(e) {
        "library_not_found" | "driver_not_loaded" | "no_permission" | "version_mismatch"
        | "nvml" => Some(NVML_HINT),
        _ => e.hint(),
    };
    match hint {
        Some(hint) => format!("{e}; {hint}"),
        None => e.to_string(),
    }
}

/// What to do when NVML cannot be had, from Python.
const NVML_HINT: &str = "run gputop.doctor() to check the GPU stack, or pass demo=True \
    (gputop.query(demo=True), gputop.Monitor(demo=True), new_query(demo=True)) to try gputop \
    on simulated GPUs";

/// A source kept open between samples: loading NVML and initialising it is most of a one-shot
/// command's time, and a notebook asks again and again.
pub struct Session {
    /// Never dropped, as `--once` does: the process keeps NVML loaded; shutting it down and
    /// unloading it while another session of the same process uses it would pull it from
    /// under that one.
    source: ManuallyDrop<Box<dyn Source>>,
}

impl Session {
    pub fn open(options: &Options) -> Result<Self, Error> {
        Ok(Self { source: ManuallyDrop::new(options.open(false)?) })
    }

    /// One sample: what `--once --json` prints (less PCIe throughput).
    pub fn sample(&mut self) -> Result<Snapshot, Error> {
        Ok(self.source.sample()?)
    }
}

/// A metric the sampler keeps a history of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Utilization,
    MemoryPercent,
    PowerWatts,
    Temperature,
}

impl std::str::FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "utilization" | "gpu_percent" => Self::Utilization,
            "memory" | "memory_percent" => Self::MemoryPercent,
            "power" | "power_watts" => Self::PowerWatts,
            "temperature" | "temperature_celsius" => Self::Temperature,
            _ => {
                return Err(format!(
                    "no history of `{s}`: use utilization, memory, power or temperature"
                ))
            }
        })
    }
}

/// What the sampler thread shares with its owner.
struct Shared {
    latest: Option<Result<Arc<Snapshot>, String>>,
    history: History,
    /// When each sample was taken (seconds since the epoch), beside the history's values.
    times: Ring<f64>,
    samples: u64,
}

/// Samples in a thread of its own every `interval` into a bounded history, until stopped or
/// dropped. The first sample is taken before `start` returns, so errors surface there.
pub struct Sampler {
    shared: Arc<Mutex<Shared>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    pub fn start(options: &Options, interval: Duration, window: Duration) -> Result<Self, Error> {
        let mut source = options.open(true)?;
        let interval = interval.max(Duration::from_millis(10));
        let history = History::new(window, interval);
        let times = Ring::new(history.capacity());
        let shared = Arc::new(Mutex::new(Shared { latest: None, history, times, samples: 0 }));
        let first = source.sample()?;
        record(&shared, Ok(first));
        let (stop, stopped) = mpsc::channel();
        let theirs = Arc::clone(&shared);
        let thread =
            std::thread::Builder::new().name("gputop-sampler".into()).spawn(move || loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => record(&theirs, source.sample()),
                    _ => {
                        std::mem::forget(source); // see Session::source
                        return;
                    }
                }
            })?;
        Ok(Self { shared, stop: Some(stop), thread: Some(thread) })
    }

    /// The newest sample, or why the newest sample failed.
    pub fn latest(&self) -> Result<Arc<Snapshot>, String> {
        let shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        match &shared.latest {
            Some(Ok(s)) => Ok(Arc::clone(s)),
            Some(Err(e)) => Err(e.clone()),
            None => Err("no sample yet".into()),
        }
    }

    /// How many samples were taken (failed ones included).
    pub fn samples(&self) -> u64 {
        self.shared.lock().unwrap_or_else(|e| e.into_inner()).samples
    }

    /// `(taken at, value)` of GPU `index` over the window, oldest first, a value per successful
    /// sample; a `None` value is one the driver did not give. `None` when no such GPU was seen.
    pub fn history(&self, index: u32, metric: Metric) -> Option<Vec<(f64, Option<f32>)>> {
        let shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let latest = shared.latest.as_ref().and_then(|l| l.as_ref().ok());
        let uuid = latest
            .and_then(|s| s.gpus.iter().find(|g| g.index == index))
            .and_then(|g| g.uuid.as_deref());
        let h = shared.history.gpu(None, index, uuid)?;
        let series = match metric {
            Metric::Utilization => &h.utilization,
            Metric::MemoryPercent => &h.memory_percent,
            Metric::PowerWatts => &h.power_watts,
            Metric::Temperature => &h.temperature,
        };
        // A GPU that appeared late has fewer values than there are times: the newest line up.
        let values: Vec<_> = series.iter().collect();
        let times: Vec<_> = shared.times.iter().collect();
        let skip = times.len().saturating_sub(values.len());
        Some(times[skip..].iter().copied().zip(values).collect())
    }

    /// Stops the thread and waits for it (at most one sample's time).
    pub fn stop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop();
    }
}

fn record(shared: &Mutex<Shared>, sampled: Result<Snapshot, SourceError>) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
    shared.samples += 1;
    match sampled {
        Ok(snapshot) => {
            shared.history.record(&snapshot);
            shared.times.push(now);
            shared.latest = Some(Ok(Arc::new(snapshot)));
        }
        Err(e) => shared.latest = Some(Err(api_error_line(&Error::Source(e)))),
    }
}

/// The doctor's report: `gputop doctor --json`, its text (no colour) and its exit code
/// (0 all ok, 1 warnings, 2 failures).
pub struct Doctor {
    pub json: String,
    pub text: String,
    pub exit_code: i32,
}

/// Runs every doctor check; `python` includes the checks of Python's CUDA frameworks.
pub fn doctor(library: Option<PathBuf>, python: bool) -> Doctor {
    let library = library.or_else(|| std::env::var_os("GPUTOP_NVML_LIB").map(PathBuf::from));
    let system = crate::doctor::System::local();
    let options = crate::doctor::DoctorOptions { nvml_library: library, python };
    let report = crate::doctor::diagnose(&system, &options);
    let painter = crate::output::style::Painter { enabled: false };
    Doctor {
        json: crate::doctor::render_json(&report),
        text: crate::doctor::render_text(&report, painter, !crate::mode::locale_is_utf8()),
        exit_code: report.exit_code(),
    }
}
