//! Memory errors and their repair: ECC mode and counts (volatile and aggregate, by location),
//! rows remapped, and pages retired.

use std::ffi::{c_uint, c_ulonglong};

use crate::abi::*;
use crate::plumbing::{both, reply, with_gpu, write};

/// Error types: corrected 0, uncorrected 1; counters: volatile 0 (since the driver loaded),
/// aggregate 1 (the board's lifetime).
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetMemoryErrorCounter(
    dev: nvmlDevice_t,
    error_type: c_uint,
    counter: c_uint,
    location: c_uint,
    out: *mut c_ulonglong,
) -> nvmlReturn_t {
    if error_type > 1 || counter > 1 || location > 7 {
        return INVALID_ARGUMENT;
    }
    with_gpu(dev, |_, g, _| {
        reply(g.memory_error_counter(error_type, counter, location), |v| write(out, v))
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetTotalEccErrors(
    dev: nvmlDevice_t,
    error_type: c_uint,
    counter: c_uint,
    out: *mut c_ulonglong,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        let counts = match counter {
            0 => g.ecc(),
            1 => g.ecc_aggregate(),
            _ => return INVALID_ARGUMENT,
        };
        reply(counts, |(corrected, uncorrected)| match error_type {
            0 => write(out, corrected),
            1 => write(out, uncorrected),
            _ => INVALID_ARGUMENT,
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetEccMode(
    dev: nvmlDevice_t,
    current: *mut c_uint,
    pending: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.ecc(), |_| both(write(current, 1 as c_uint), write(pending, 1 as c_uint)))
    })
}

/// Rows remapped after memory errors: correctable, uncorrectable, a remapping waiting for a
/// reset, a remapping that failed.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetRemappedRows(
    dev: nvmlDevice_t,
    correctable: *mut c_uint,
    uncorrectable: *mut c_uint,
    pending: *mut c_uint,
    failed: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.remapped_rows(), |r| {
            both(
                both(write(correctable, r.correctable), write(uncorrectable, r.uncorrectable)),
                both(
                    write(pending, c_uint::from(r.pending)),
                    write(failed, c_uint::from(r.failed)),
                ),
            )
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetRetiredPagesPendingStatus(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.retired_pages_pending(), |on| write(out, c_uint::from(on))))
}

/// nvml.h: `count` holds the buffers' size and receives how many pages `cause` retired; 0
/// asks for the number only; buffers too small are INSUFFICIENT_SIZE with `count` set.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetRetiredPages(
    dev: nvmlDevice_t,
    cause: c_uint,
    count: *mut c_uint,
    addresses: *mut c_ulonglong,
) -> nvmlReturn_t {
    nvmlDeviceGetRetiredPages_v2(dev, cause, count, addresses, std::ptr::null_mut())
}

/// As `nvmlDeviceGetRetiredPages`, with each page's retirement time (µs since the epoch) when
/// `timestamps` is given.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetRetiredPages_v2(
    dev: nvmlDevice_t,
    cause: c_uint,
    count: *mut c_uint,
    addresses: *mut c_ulonglong,
    timestamps: *mut c_ulonglong,
) -> nvmlReturn_t {
    if count.is_null() || cause > 1 {
        return INVALID_ARGUMENT;
    }
    with_gpu(dev, |_, g, _| {
        reply(g.retired_pages(cause), |pages| {
            let room = *count as usize;
            *count = pages.len() as c_uint;
            if pages.len() > room {
                return INSUFFICIENT_SIZE;
            }
            if !pages.is_empty() && addresses.is_null() {
                return INVALID_ARGUMENT;
            }
            for (i, (address, at)) in pages.iter().enumerate() {
                addresses.add(i).write(*address);
                if !timestamps.is_null() {
                    timestamps.add(i).write(at.saturating_mul(1_000_000));
                }
            }
            SUCCESS
        })
    })
}
