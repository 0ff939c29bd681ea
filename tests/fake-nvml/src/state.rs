//! The library's state: the scenario `nvmlInit*` loads (counted, as NVML counts nested inits)
//! until `nvmlShutdown`, the clocks answers are read at, and the driver-wide `nvmlSystem*` queries.

use std::ffi::{c_char, c_int, c_uint};
use std::sync::{Arc, Mutex};

use gputop_scenario::Scenario;

use crate::abi::*;
use crate::plumbing::{with_scenario, write, write_str};

/// The loaded scenario and the init reference count (NVML counts nested inits).
static STATE: Mutex<Option<(Arc<Scenario>, u32)>> = Mutex::new(None);

/// When the library was first initialised, on the real clock: GPUs fall off the bus and come
/// back at times counted from here (`lost_between_s`).
static INIT_AT: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

pub fn since_init() -> f64 {
    INIT_AT.get().map_or(0.0, |at| at.elapsed().as_secs_f64())
}

/// The scenario's NVIDIA GPUs: NVML never sees an AMD or Intel GPU (gputop reads those from
/// the kernel's files), so a scenario's `vendor = "amd"` GPUs are not this library's.
fn load_scenario() -> Result<Scenario, String> {
    match std::env::var_os("GPUTOP_FAKE_NVML_SCENARIO") {
        Some(path) => Scenario::from_file(std::path::Path::new(&path)).map(Scenario::nvidia_only),
        None => {
            let n = std::env::var("GPUTOP_FAKE_NVML_GPUS").ok().and_then(|v| v.parse().ok());
            Ok(Scenario::demo(n.unwrap_or(4)))
        }
    }
}

pub fn now() -> f64 {
    // Read once: monitors make hundreds of calls a second, and this is their hot path.
    static FIXED: std::sync::OnceLock<Option<f64>> = std::sync::OnceLock::new();
    let fixed = FIXED
        .get_or_init(|| std::env::var("GPUTOP_FAKE_NVML_TIME").ok().and_then(|v| v.parse().ok()));
    if let Some(t) = *fixed {
        return t;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub fn scenario() -> Option<Arc<Scenario>> {
    STATE.lock().ok()?.as_ref().map(|(s, _)| Arc::clone(s))
}

fn init() -> nvmlReturn_t {
    let Ok(mut state) = STATE.lock() else {
        return UNKNOWN;
    };
    if let Some((_, count)) = state.as_mut() {
        *count += 1;
        return SUCCESS;
    }
    let scenario = match load_scenario() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fake-nvml: {e}");
            return UNKNOWN;
        }
    };
    if let Some(code) = scenario.driver.init_error {
        return code.as_nvml_return();
    }
    *state = Some((Arc::new(scenario), 1));
    INIT_AT.get_or_init(std::time::Instant::now);
    SUCCESS
}

#[no_mangle]
pub extern "C" fn nvmlInit_v2() -> nvmlReturn_t {
    init()
}

#[no_mangle]
pub extern "C" fn nvmlInit() -> nvmlReturn_t {
    init()
}

#[no_mangle]
pub extern "C" fn nvmlInitWithFlags(_flags: c_uint) -> nvmlReturn_t {
    init()
}

#[no_mangle]
pub extern "C" fn nvmlShutdown() -> nvmlReturn_t {
    let Ok(mut state) = STATE.lock() else {
        return UNKNOWN;
    };
    match state.as_mut() {
        None => UNINITIALIZED,
        Some((_, count)) if *count > 1 => {
            *count -= 1;
            SUCCESS
        }
        Some(_) => {
            *state = None;
            SUCCESS
        }
    }
}

#[no_mangle]
pub extern "C" fn nvmlErrorString(code: nvmlReturn_t) -> *const c_char {
    error_string(code).as_ptr()
}

#[no_mangle]
pub unsafe extern "C" fn nvmlSystemGetDriverVersion(buf: *mut c_char, len: c_uint) -> nvmlReturn_t {
    with_scenario(|s| write_str(buf, len, &s.driver.version))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlSystemGetNVMLVersion(buf: *mut c_char, len: c_uint) -> nvmlReturn_t {
    with_scenario(|s| write_str(buf, len, &s.driver.nvml_version))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlSystemGetCudaDriverVersion(out: *mut c_int) -> nvmlReturn_t {
    with_scenario(|s| write(out, s.driver.cuda_version))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlSystemGetCudaDriverVersion_v2(out: *mut c_int) -> nvmlReturn_t {
    nvmlSystemGetCudaDriverVersion(out)
}
