//! Clocks and what holds them back: current, applications and maximum clocks, the performance
//! state, and the clock event (throttle) reasons.

use std::ffi::{c_uint, c_ulonglong};

use crate::abi::*;
use crate::plumbing::{reply, with_gpu, write};

/// Clock types: graphics 0, SM 1, memory 2, video 3. Graphics and video follow SM.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetClockInfo(
    dev: nvmlDevice_t,
    kind: c_uint,
    out: *mut c_uint,
) -> nvmlReturn_t {
    // nvmlClockType_t: GRAPHICS 0, SM 1, MEM 2, VIDEO 3.
    with_gpu(dev, |_, g, t| match kind {
        0 | 1 => reply(g.clocks(t), |(sm, _)| write(out, sm)),
        2 => reply(g.clocks(t), |(_, mem)| write(out, mem)),
        3 => reply(g.clock_video(t), |v| write(out, v)),
        _ => INVALID_ARGUMENT,
    })
}

/// The applications clock of a type (GRAPHICS 0, MEM 2; SM 1 reads as graphics).
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetApplicationsClock(
    dev: nvmlDevice_t,
    kind: c_uint,
    out: *mut c_uint,
) -> nvmlReturn_t {
    applications_clock(dev, kind, false, out)
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetDefaultApplicationsClock(
    dev: nvmlDevice_t,
    kind: c_uint,
    out: *mut c_uint,
) -> nvmlReturn_t {
    applications_clock(dev, kind, true, out)
}

unsafe fn applications_clock(
    dev: nvmlDevice_t,
    kind: c_uint,
    default: bool,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.applications_clocks(default), |[graphics, memory]| match kind {
            0 | 1 => write(out, graphics),
            2 => write(out, memory),
            _ => NOT_SUPPORTED,
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetMaxClockInfo(
    dev: nvmlDevice_t,
    kind: c_uint,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.max_clocks(), |(sm, mem)| write(out, if kind == 2 { mem } else { sm }))
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPerformanceState(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.pstate(), |v| write(out, v)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetCurrentClocksThrottleReasons(
    dev: nvmlDevice_t,
    out: *mut c_ulonglong,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, t| reply(g.throttle_reasons(t), |v| write(out, v)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetCurrentClocksEventReasons(
    dev: nvmlDevice_t,
    out: *mut c_ulonglong,
) -> nvmlReturn_t {
    nvmlDeviceGetCurrentClocksThrottleReasons(dev, out)
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetSupportedClocksThrottleReasons(
    dev: nvmlDevice_t,
    out: *mut c_ulonglong,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, t| reply(g.throttle_reasons(t), |_| write(out, 0x1ff as c_ulonglong)))
}
