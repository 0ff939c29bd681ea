//! The PCIe link: throughput each way, generation and width (current and maximum), and the
//! replay counter.

use std::ffi::c_uint;

use crate::abi::*;
use crate::plumbing::{reply, with_gpu, write};

/// Counters: TX 0, RX 1, in KB/s.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPcieThroughput(
    dev: nvmlDevice_t,
    counter: c_uint,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, t| {
        reply(g.pcie_kbps(t), |(tx, rx)| match counter {
            0 => write(out, tx),
            1 => write(out, rx),
            _ => INVALID_ARGUMENT,
        })
    })
}

/// One of the PCIe link's figures: generation or width (`gen`), current or maximum (`max`).
unsafe fn pcie_link(dev: nvmlDevice_t, gen: bool, max: bool, out: *mut c_uint) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.pcie_link(), |(generation, width)| {
            let pair = if gen { generation } else { width };
            write(out, pair[usize::from(max)])
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetCurrPcieLinkGeneration(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    pcie_link(dev, true, false, out)
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetMaxPcieLinkGeneration(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    pcie_link(dev, true, true, out)
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetGpuMaxPcieLinkGeneration(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.pcie_link_gen_gpu_max(), |v| write(out, v)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetCurrPcieLinkWidth(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    pcie_link(dev, false, false, out)
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetMaxPcieLinkWidth(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    pcie_link(dev, false, true, out)
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPcieReplayCounter(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.pcie_replay_count(), |n| write(out, n)))
}
