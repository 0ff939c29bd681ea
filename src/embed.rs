//! gputop inside another program (the Python package in `python/`): the command line as a
//! function, one-shot samples from a source kept open between calls, a background sampler
//! with its history, and the doctor. Samples cross as the [`Snapshot`] that `--json`
//! serializes, so the embedding side mirrors the documented JSON model by construction.

use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

use crate::history::{History, Ring};
use crate::poller::{Polled, Poller};
use crate::sample::Snapshot;
use crate::source::{Source, SourceError};
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
    /// The source these options name, opened as the command line opens its own
    /// (`plan::embedded`, then `source::open`).
    fn open(&self, continuous: bool) -> Result<Box<dyn Source>, Error> {
        let plan = crate::plan::embedded(
            self.library.clone(),
            &self.ids,
            self.processes,
            self.demo,
            continuous,
        )?;
        Ok(crate::source::open(&plan)?.source)
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

/// [`api_error_line`] of a failed sample, which the poller shares rather than hands over.
fn api_sample_error_line(e: &SourceError) -> String {
    let hint = match e {
        SourceError::LibraryNotLoadable { .. }
        | SourceError::DriverNotLoaded
        | SourceError::NoPermission
        | SourceError::VersionMismatch
        | SourceError::Nvml(_) => Some(NVML_HINT),
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

/// Samples with the [`Poller`] every `interval` into a bounded history, until stopped or
/// dropped. The first sample is taken before `start` returns, so errors surface there.
pub struct Sampler {
    shared: Arc<Mutex<Shared>>,
    stop: Option<oneshot::Sender<()>>,
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
        // The poller publishes the sample taken here first, then samples on its schedule.
        let source = Box::new(KeptLoaded { first: Some(first), inner: ManuallyDrop::new(source) });
        let (stop, stopped) = oneshot::channel();
        let (recorded, first_recorded) = mpsc::channel();
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("gputop-history".into())
            .spawn(move || keep_history(source, interval, &theirs, stopped, recorded))?;
        // Recorded before `start` returns, as the first sample's errors are said before; no
        // word at all means the sampling thread or its runtime could not start.
        if first_recorded.recv().is_err() {
            let _ = thread.join();
            return Err(Error::Sampling("the sampling thread could not start".into()));
        }
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

    /// Stops recording and waits for it; the poller's thread ends as soon as a sample it may be
    /// taking returns.
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

/// Records what `source`, sampled by a [`Poller`], publishes until `stopped`; `recorded` is
/// told once the first is in.
fn keep_history(
    source: Box<dyn Source>,
    interval: Duration,
    shared: &Mutex<Shared>,
    mut stopped: oneshot::Receiver<()>,
    recorded: mpsc::Sender<()>,
) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_time().build() else {
        return;
    };
    runtime.block_on(async {
        // Wakeable: when the poller is dropped its sampling thread leaves its wait at once,
        // instead of sleeping out the interval (a minute, in a notebook) with NVML held.
        let mut poller = Poller::spawn_with_past(source, interval, None, true);
        loop {
            tokio::select! {
                polled = poller.next() => match polled {
                    Some(polled) => record(shared, polled),
                    None => return,
                },
                _ = &mut stopped => return,
            }
            let _ = recorded.send(());
        }
    });
}

/// The source the sampler's poller samples: the first sample already taken, and NVML never
/// unloaded when the poller drops it (see `Session::source`).
struct KeptLoaded {
    first: Option<Snapshot>,
    inner: ManuallyDrop<Box<dyn Source>>,
}

impl Source for KeptLoaded {
    fn sample(&mut self) -> Result<Snapshot, SourceError> {
        match self.first.take() {
            Some(first) => Ok(first),
            None => self.inner.sample(),
        }
    }

    fn wrapped(&mut self) -> Option<&mut dyn Source> {
        Some(self.inner.as_mut())
    }
}

fn record(shared: &Mutex<Shared>, polled: Polled) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
    shared.samples += 1;
    match polled {
        Ok(snapshot) => {
            shared.history.record(&snapshot);
            shared.times.push(now);
            shared.latest = Some(Ok(snapshot));
        }
        Err(e) => shared.latest = Some(Err(api_sample_error_line(&e))),
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
    let library = crate::plan::nvml_library(library);
    let system = crate::doctor::System::local();
    let options = crate::doctor::DoctorOptions { nvml_library: library, python };
    let report = crate::doctor::diagnose(&system, &options);
    let painter = crate::output::style::Painter { enabled: false };
    Doctor {
        json: crate::doctor::render_json(&report),
        text: crate::doctor::render_text(&report, painter, !crate::term::caps::locale_is_utf8()),
        exit_code: report.exit_code(),
    }
}
