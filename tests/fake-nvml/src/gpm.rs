//! GPU Performance Monitoring (Hopper and later), as nvml.h describes it:
//! `nvmlGpmQueryDeviceSupport` says whether a GPU has it; `nvmlGpmSampleAlloc` /
//! `nvmlGpmSampleFree` make and release sample buffers; `nvmlGpmSampleGet` fills one from a
//! GPU (NOT_SUPPORTED without GPM); `nvmlGpmMetricsGet` computes the metrics asked for between
//! two samples of one GPU, each with its own `nvmlReturn`, the first sample taken before the
//! second. Values come from the scenario's `gpm` at the second sample's time.

use std::collections::BTreeMap;
use std::ffi::c_uint;
use std::sync::Mutex;

use gputop_scenario::ErrorCode;

use crate::abi::*;
use crate::plumbing::{with_gpu, write};

/// What a filled sample holds: GPU index and GPU instance (MIG), time, order of filling.
type Filled = ((usize, Option<u32>), f64, u64);

/// Each allocated sample, filled or not.
static SAMPLES: Mutex<BTreeMap<usize, Option<Filled>>> = Mutex::new(BTreeMap::new());
static FILLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

const SAMPLE_BASE: usize = 0x6772_0000;

fn sample_id(sample: nvmlGpmSample_t) -> Option<usize> {
    crate::plumbing::opaque_number(SAMPLE_BASE, sample)
}

#[no_mangle]
pub unsafe extern "C" fn nvmlGpmQueryDeviceSupport(
    dev: nvmlDevice_t,
    support: *mut nvmlGpmSupport_t,
) -> nvmlReturn_t {
    if support.is_null() {
        return INVALID_ARGUMENT;
    }
    if (*support).version != NVML_GPM_SUPPORT_VERSION {
        return ErrorCode::ArgumentVersionMismatch.as_nvml_return();
    }
    with_gpu(dev, |_, g, _| {
        (*support).isSupportedDevice = c_uint::from(g.gpm().is_ok());
        SUCCESS
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlGpmSampleAlloc(out: *mut nvmlGpmSample_t) -> nvmlReturn_t {
    if crate::state::scenario().is_none() {
        return UNINITIALIZED;
    }
    let Ok(mut samples) = SAMPLES.lock() else { return UNKNOWN };
    let id = samples.keys().next_back().map_or(0, |last| last + 1);
    samples.insert(id, None);
    write(out, crate::plumbing::opaque(SAMPLE_BASE, id))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlGpmSampleFree(sample: nvmlGpmSample_t) -> nvmlReturn_t {
    let Ok(mut samples) = SAMPLES.lock() else { return UNKNOWN };
    match sample_id(sample).and_then(|id| samples.remove(&id)) {
        Some(_) => SUCCESS,
        None => INVALID_ARGUMENT,
    }
}

#[no_mangle]
pub unsafe extern "C" fn nvmlGpmSampleGet(
    dev: nvmlDevice_t,
    sample: nvmlGpmSample_t,
) -> nvmlReturn_t {
    fill(dev, None, sample)
}

/// A sample of one GPU instance of a MIG-enabled GPU; NOT_FOUND for an instance it lacks.
#[no_mangle]
pub unsafe extern "C" fn nvmlGpmMigSampleGet(
    dev: nvmlDevice_t,
    gpu_instance_id: c_uint,
    sample: nvmlGpmSample_t,
) -> nvmlReturn_t {
    fill(dev, Some(gpu_instance_id), sample)
}

unsafe fn fill(dev: nvmlDevice_t, instance: Option<u32>, sample: nvmlGpmSample_t) -> nvmlReturn_t {
    with_gpu(dev, |i, g, t| {
        if let Err(code) = g.gpm() {
            return code.as_nvml_return();
        }
        if let Some(gi) = instance {
            if !g.mig_devices().iter().any(|m| m.gpu_instance_id == gi) {
                return NOT_FOUND;
            }
        }
        let Ok(mut samples) = SAMPLES.lock() else { return UNKNOWN };
        let Some(slot) = sample_id(sample).and_then(|id| samples.get_mut(&id)) else {
            return INVALID_ARGUMENT;
        };
        let order = FILLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *slot = Some(((i, instance), t, order));
        SUCCESS
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlGpmMetricsGet(request: *mut nvmlGpmMetricsGet_t) -> nvmlReturn_t {
    if request.is_null() {
        return INVALID_ARGUMENT;
    }
    if (*request).version != NVML_GPM_METRICS_GET_VERSION {
        return ErrorCode::ArgumentVersionMismatch.as_nvml_return();
    }
    let Some(scenario) = crate::state::scenario() else { return UNINITIALIZED };
    let (first, second) = {
        let Ok(samples) = SAMPLES.lock() else { return UNKNOWN };
        let filled = |s| sample_id(s).and_then(|id| *samples.get(&id)?);
        (filled((*request).sample1), filled((*request).sample2))
    };
    let (Some((gpu, _, order1)), Some((gpu2, t, order2))) = (first, second) else {
        return INVALID_ARGUMENT;
    };
    if gpu != gpu2 || order1 >= order2 {
        return INVALID_ARGUMENT;
    }
    let Some(gpu_spec) = scenario.gpus.get(gpu.0) else { return INVALID_ARGUMENT };
    let Ok(whole) = gpu_spec.gpm() else { return NOT_SUPPORTED };
    // An instance's sample answers from its own metrics (none given: NOT_SUPPORTED each).
    let none = gputop_scenario::GpmSpec::default();
    let spec = match gpu.1 {
        None => whole,
        Some(gi) => gpu_spec
            .mig_devices()
            .iter()
            .find(|m| m.gpu_instance_id == gi)
            .and_then(|m| m.gpm.as_ref())
            .unwrap_or(&none),
    };
    let count = (*request).numMetrics as usize;
    // NVML_GPM_METRIC_MAX of the current header.
    if count > 210 {
        return INVALID_ARGUMENT;
    }
    // The caller's array is as long as its header says (NVML_GPM_METRIC_MAX): reach it by
    // pointer, not through the one-entry array of our declaration.
    let metrics = std::ptr::addr_of_mut!((*request).metrics).cast::<nvmlGpmMetric_t>();
    for k in 0..count {
        let m = &mut *metrics.add(k);
        match spec.metric(m.metricId, t) {
            Some(v) => {
                m.value = v;
                m.nvmlReturn = SUCCESS;
            }
            None => m.nvmlReturn = NOT_SUPPORTED,
        }
    }
    SUCCESS
}
