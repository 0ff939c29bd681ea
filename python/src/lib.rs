//! `gputop._native`: the Rust side of the Python package. Thin: each function hands over to
//! `gputop::embed` with the GIL released and turns its errors into the package's exceptions.
//! The Python side (`python/gputop/`) builds the objects users see from the JSON documents.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use gputop::embed;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;

create_exception!(gputop, GputopError, PyException, "Any error gputop reports.");
create_exception!(gputop, NvmlError, GputopError, "NVML could not be loaded or did not answer.");
create_exception!(gputop, LibraryNotFoundError, NvmlError, "libnvidia-ml.so.1 cannot be loaded.");
create_exception!(
    gputop,
    DriverNotLoadedError,
    NvmlError,
    "The NVIDIA kernel driver is not loaded."
);
create_exception!(gputop, NoPermissionError, NvmlError, "No permission to talk to the driver.");
create_exception!(
    gputop,
    DriverMismatchError,
    NvmlError,
    "The driver and NVML library versions differ (reboot after a driver update)."
);
create_exception!(gputop, NoSuchGpuError, GputopError, "No GPU matches the ids asked for.");

fn to_py(e: gputop::Error) -> PyErr {
    let line = embed::api_error_line(&e);
    match embed::error_kind(&e) {
        "library_not_found" => LibraryNotFoundError::new_err(line),
        "driver_not_loaded" => DriverNotLoadedError::new_err(line),
        "no_permission" => NoPermissionError::new_err(line),
        "version_mismatch" => DriverMismatchError::new_err(line),
        "nvml" => NvmlError::new_err(line),
        "no_such_gpu" => NoSuchGpuError::new_err(line),
        "usage" => PyValueError::new_err(line),
        _ => GputopError::new_err(line),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).ok().filter(|d| !d.is_zero()).ok_or_else(|| {
        PyValueError::new_err(format!("{name} must be a positive number of seconds"))
    })
}

/// Runs the `gputop` command with `argv` (the program's name first); returns its exit code.
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<std::ffi::OsString>) -> i32 {
    py.detach(|| gputop::main_with_args(argv))
}

/// `gputop doctor`: `(JSON report, text report, exit code)`.
#[pyfunction]
#[pyo3(signature = (library=None, python=true))]
fn doctor(py: Python<'_>, library: Option<PathBuf>, python: bool) -> (String, String, i32) {
    let report = py.detach(|| embed::doctor(library, python));
    (report.json, report.text, report.exit_code)
}

/// A snapshot as the plain dicts and lists of its JSON document (field order kept).
fn to_python<'py>(
    py: Python<'py>,
    snapshot: &gputop::sample::Snapshot,
) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, snapshot).map_err(|e| GputopError::new_err(e.to_string()))
}

/// NVML (or the demo's simulated GPUs) opened once; each `sample()` is one sample as
/// `gputop --once --json` gives it.
#[pyclass(module = "gputop._native")]
struct Session(Mutex<embed::Session>);

#[pymethods]
impl Session {
    #[new]
    #[pyo3(signature = (library=None, ids=Vec::new(), processes=true, demo=None))]
    fn new(
        py: Python<'_>,
        library: Option<PathBuf>,
        ids: Vec<String>,
        processes: bool,
        demo: Option<usize>,
    ) -> PyResult<Self> {
        let options = embed::Options { library, ids, processes, demo };
        let session = py.detach(|| embed::Session::open(&options)).map_err(to_py)?;
        Ok(Self(Mutex::new(session)))
    }

    fn sample<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let snapshot = py.detach(|| lock(&self.0).sample()).map_err(to_py)?;
        to_python(py, &snapshot)
    }
}

/// `(unix time, value)`: one sample of a metric's history.
type Point = (f64, Option<f32>);

/// A background sampler with a bounded history; stopped by `stop()` or when collected.
#[pyclass(module = "gputop._native")]
struct Sampler(Mutex<embed::Sampler>);

#[pymethods]
impl Sampler {
    #[new]
    #[pyo3(signature = (interval=1.0, window=600.0, library=None, ids=Vec::new(), processes=true, demo=None))]
    fn new(
        py: Python<'_>,
        interval: f64,
        window: f64,
        library: Option<PathBuf>,
        ids: Vec<String>,
        processes: bool,
        demo: Option<usize>,
    ) -> PyResult<Self> {
        let (interval, window) = (seconds("interval", interval)?, seconds("window", window)?);
        let options = embed::Options { library, ids, processes, demo };
        let sampler =
            py.detach(|| embed::Sampler::start(&options, interval, window)).map_err(to_py)?;
        Ok(Self(Mutex::new(sampler)))
    }

    /// The newest sample; `NvmlError` when the newest sample failed.
    fn latest<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let snapshot = lock(&self.0).latest().map_err(NvmlError::new_err)?;
        to_python(py, &snapshot)
    }

    /// How many samples were taken so far.
    fn samples(&self) -> u64 {
        lock(&self.0).samples()
    }

    /// `[(unix time, value or None), …]` of one GPU's metric, oldest first.
    fn history(&self, gpu: u32, metric: &str) -> PyResult<Option<Vec<Point>>> {
        let metric = metric.parse().map_err(PyValueError::new_err)?;
        Ok(lock(&self.0).history(gpu, metric))
    }

    fn stop(&self, py: Python<'_>) {
        py.detach(|| lock(&self.0).stop());
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_function(wrap_pyfunction!(doctor, m)?)?;
    m.add_class::<Session>()?;
    m.add_class::<Sampler>()?;
    m.add("GputopError", py.get_type::<GputopError>())?;
    m.add("NvmlError", py.get_type::<NvmlError>())?;
    m.add("LibraryNotFoundError", py.get_type::<LibraryNotFoundError>())?;
    m.add("DriverNotLoadedError", py.get_type::<DriverNotLoadedError>())?;
    m.add("NoPermissionError", py.get_type::<NoPermissionError>())?;
    m.add("DriverMismatchError", py.get_type::<DriverMismatchError>())?;
    m.add("NoSuchGpuError", py.get_type::<NoSuchGpuError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
