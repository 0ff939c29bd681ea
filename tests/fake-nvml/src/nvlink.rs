//! NVLink: each link's state and error counters, and the GPU's place in the NVLink fabric.

use std::ffi::{c_uint, c_ulonglong};

use crate::abi::*;
use crate::plumbing::{reply, with_gpu, write};

/// The highest link count of any NVLink generation (`NVML_NVLINK_MAX_LINKS`).
const NVLINK_MAX_LINKS: c_uint = 18;

/// Whether a link is up; INVALID_ARGUMENT past the last link, NOT_SUPPORTED without NVLink.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetNvLinkState(
    dev: nvmlDevice_t,
    link: c_uint,
    out: *mut c_uint,
) -> nvmlReturn_t {
    if link >= NVLINK_MAX_LINKS {
        return INVALID_ARGUMENT;
    }
    with_gpu(dev, |_, g, _| reply(g.nvlink(), |n| write(out, c_uint::from(link < n.active_links))))
}

/// Counters: DL_REPLAY 0, DL_RECOVERY 1, DL_CRC_FLIT 2, DL_CRC_DATA 3; the scenario's counts
/// sit on link 0.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetNvLinkErrorCounter(
    dev: nvmlDevice_t,
    link: c_uint,
    counter: c_uint,
    out: *mut c_ulonglong,
) -> nvmlReturn_t {
    if link >= NVLINK_MAX_LINKS {
        return INVALID_ARGUMENT;
    }
    with_gpu(dev, |_, g, _| {
        reply(g.nvlink_error_counter(counter), |value| {
            write(out, if link == 0 { value } else { 0 })
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetGpuFabricInfo(
    dev: nvmlDevice_t,
    out: *mut nvmlGpuFabricInfo_t,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.fabric(), |(uuid, status, clique, state)| {
            let info = nvmlGpuFabricInfo_t { clusterUuid: uuid, status, cliqueId: clique, state };
            write(out, info)
        })
    })
}
