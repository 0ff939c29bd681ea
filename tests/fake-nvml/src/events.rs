//! NVML's event sets: `nvmlEventSetCreate`, `nvmlDeviceGetSupportedEventTypes`,
//! `nvmlDeviceRegisterEvents`, `nvmlEventSetWait_v2` and `nvmlEventSetFree`, delivering the
//! scenario's `events` as nvml.h describes: only events that happen after the set was
//! registered for them, each once, the oldest first; on Linux each XID event carries its own
//! XID; the wait returns at once when one is ready, else sleeps until one comes or the timeout
//! passes (then NVML_ERROR_TIMEOUT).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{c_uint, c_ulonglong};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gputop_scenario::ErrorCode;

use crate::abi::*;
use crate::plumbing::{handle, with_gpu, write};
use crate::state::since_init;

#[derive(Default)]
struct EventSet {
    /// GPU index → (registered event bits, when it was registered, seconds after init).
    registered: BTreeMap<usize, (u64, f64)>,
    /// (GPU index, position in its `events`) already delivered.
    delivered: BTreeSet<(usize, usize)>,
}

static SETS: Mutex<BTreeMap<usize, EventSet>> = Mutex::new(BTreeMap::new());

const SET_BASE: usize = 0x6771_0000;

fn set_handle(id: usize) -> nvmlEventSet_t {
    crate::plumbing::opaque(SET_BASE, id)
}

fn set_id(set: nvmlEventSet_t) -> Option<usize> {
    crate::plumbing::opaque_number(SET_BASE, set)
}

#[no_mangle]
pub unsafe extern "C" fn nvmlEventSetCreate(out: *mut nvmlEventSet_t) -> nvmlReturn_t {
    if crate::state::scenario().is_none() {
        return UNINITIALIZED;
    }
    let Ok(mut sets) = SETS.lock() else { return UNKNOWN };
    let id = sets.keys().next_back().map_or(0, |last| last + 1);
    sets.insert(id, EventSet::default());
    write(out, set_handle(id))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlEventSetFree(set: nvmlEventSet_t) -> nvmlReturn_t {
    let Ok(mut sets) = SETS.lock() else { return UNKNOWN };
    match set_id(set).and_then(|id| sets.remove(&id)) {
        Some(_) => SUCCESS,
        None => INVALID_ARGUMENT,
    }
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetSupportedEventTypes(
    dev: nvmlDevice_t,
    out: *mut c_ulonglong,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| crate::plumbing::reply(g.supported_events(), |bits| write(out, bits)))
}

/// NOT_SUPPORTED when any asked-for type is not supported on the GPU (nothing is registered).
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceRegisterEvents(
    dev: nvmlDevice_t,
    types: c_ulonglong,
    set: nvmlEventSet_t,
) -> nvmlReturn_t {
    with_gpu(dev, |i, g, _| {
        crate::plumbing::reply(g.supported_events(), |supported| {
            if types & !supported != 0 {
                return NOT_SUPPORTED;
            }
            let Ok(mut sets) = SETS.lock() else { return UNKNOWN };
            let Some(state) = set_id(set).and_then(|id| sets.get_mut(&id)) else {
                return INVALID_ARGUMENT;
            };
            let entry = state.registered.entry(i).or_insert((0, since_init()));
            entry.0 |= types;
            SUCCESS
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlEventSetWait_v2(
    set: nvmlEventSet_t,
    data: *mut nvmlEventData_t,
    timeout_ms: c_uint,
) -> nvmlReturn_t {
    if data.is_null() {
        return INVALID_ARGUMENT;
    }
    let deadline = Instant::now() + Duration::from_millis(timeout_ms.into());
    loop {
        let Some(scenario) = crate::state::scenario() else { return UNINITIALIZED };
        let now = since_init();
        let mut next_at = f64::INFINITY;
        {
            let Ok(mut sets) = SETS.lock() else { return UNKNOWN };
            let Some(state) = set_id(set).and_then(|id| sets.get_mut(&id)) else {
                return INVALID_ARGUMENT;
            };
            // The oldest undelivered event this set was registered for in time.
            let mut ready: Option<(f64, usize, usize)> = None;
            for (&gpu, &(bits, since)) in &state.registered {
                let Some(spec) = scenario.gpus.get(gpu) else { continue };
                for (n, event) in spec.events.iter().enumerate() {
                    let wanted = event.kind.nvml_bit() & bits != 0 && event.at_s > since;
                    if !wanted || state.delivered.contains(&(gpu, n)) {
                        continue;
                    }
                    if event.at_s > now {
                        next_at = next_at.min(event.at_s);
                    } else if ready.is_none_or(|(at, _, _)| event.at_s < at) {
                        ready = Some((event.at_s, gpu, n));
                    }
                }
            }
            let event = ready
                .and_then(|(_, gpu, n)| Some((gpu, n, *scenario.gpus.get(gpu)?.events.get(n)?)));
            if let Some((gpu, n, event)) = event {
                state.delivered.insert((gpu, n));
                data.write(nvmlEventData_t {
                    device: handle(gpu),
                    eventType: event.kind.nvml_bit(),
                    eventData: event.xid.unwrap_or(0),
                    gpuInstanceId: NO_INSTANCE,
                    computeInstanceId: NO_INSTANCE,
                });
                return SUCCESS;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return ErrorCode::Timeout.as_nvml_return();
        }
        let until_next = Duration::from_secs_f64((next_at - now).clamp(0.0, 3600.0));
        std::thread::sleep(left.min(until_next));
    }
}
