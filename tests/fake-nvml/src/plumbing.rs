//! What every export shares: opaque handles, the scenario and GPU behind a call, and answers
//! written through the caller's pointers and buffers without ever panicking.

use std::ffi::{c_char, c_uint, CStr};

use gputop_scenario::{ErrorCode, GpuSpec, Reading, Scenario};

use crate::abi::*;
use crate::state::{now, scenario, since_init};

const HANDLE_BASE: usize = 0x6770_0000;

/// An opaque NVML handle: number `n` of a kind whose handles start at `base`, 16 apart
/// (devices, MIG devices, event sets and GPM samples each have a base of their own).
pub fn opaque<T>(base: usize, n: usize) -> *mut T {
    (base + n * 16) as *mut T
}

/// The number of an opaque handle of the kind starting at `base`.
pub fn opaque_number<T>(base: usize, handle: *mut T) -> Option<usize> {
    let offset = (handle as usize).checked_sub(base)?;
    (offset % 16 == 0).then_some(offset / 16)
}

pub fn handle(index: usize) -> nvmlDevice_t {
    opaque(HANDLE_BASE, index)
}

pub fn handle_index(dev: nvmlDevice_t) -> Option<usize> {
    opaque_number(HANDLE_BASE, dev)
}

pub fn with_scenario(f: impl FnOnce(&Scenario) -> nvmlReturn_t) -> nvmlReturn_t {
    match scenario() {
        Some(s) => f(&s),
        None => UNINITIALIZED,
    }
}

/// Runs `f` with the GPU behind a handle, its index and the scenario time.
pub fn with_gpu(
    dev: nvmlDevice_t,
    f: impl FnOnce(usize, &GpuSpec, f64) -> nvmlReturn_t,
) -> nvmlReturn_t {
    with_scenario(|s| match handle_index(dev).and_then(|i| Some((i, s.gpus.get(i)?))) {
        None => INVALID_ARGUMENT,
        Some((_, gpu)) if gpu.is_lost(since_init()) => ErrorCode::GpuIsLost.as_nvml_return(),
        Some((i, gpu)) => {
            if let Some(left) = gpu.hang_left(since_init()) {
                // Stuck in the driver: nothing returns until the span ends, if it ends.
                std::thread::sleep(std::time::Duration::from_secs_f64(left.min(1e6)));
            }
            f(i, gpu, now())
        }
    })
}

pub fn reply<T>(reading: Reading<T>, f: impl FnOnce(T) -> nvmlReturn_t) -> nvmlReturn_t {
    match reading {
        Ok(v) => f(v),
        Err(code) => code.as_nvml_return(),
    }
}

pub fn both(a: nvmlReturn_t, b: nvmlReturn_t) -> nvmlReturn_t {
    if a != SUCCESS {
        a
    } else {
        b
    }
}

pub unsafe fn write<T>(out: *mut T, value: T) -> nvmlReturn_t {
    if out.is_null() {
        return INVALID_ARGUMENT;
    }
    out.write(value);
    SUCCESS
}

pub unsafe fn write_str(buf: *mut c_char, len: c_uint, s: &str) -> nvmlReturn_t {
    if buf.is_null() {
        return INVALID_ARGUMENT;
    }
    if s.len() + 1 > len as usize {
        return INSUFFICIENT_SIZE;
    }
    std::ptr::copy_nonoverlapping(s.as_ptr().cast::<c_char>(), buf, s.len());
    buf.add(s.len()).write(0);
    SUCCESS
}

pub fn copy_str(dst: &mut [c_char], s: &str) {
    let room = dst.len().saturating_sub(1);
    for (d, b) in dst.iter_mut().zip(s.bytes().take(room)) {
        *d = b as c_char;
    }
}

pub unsafe fn read_str(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
}
