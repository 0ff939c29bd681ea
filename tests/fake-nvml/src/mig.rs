//! MIG devices, as nvml.h describes them: a MIG-capable GPU has up to
//! `nvmlDeviceGetMaxMigDeviceCount` (7) slots, `nvmlDeviceGetMigDeviceHandleByIndex` gives the
//! device in a slot (NOT_FOUND for an empty slot, INVALID_ARGUMENT past the last), and a MIG
//! device handle answers its name (`<GPU name> MIG <profile>`), UUID (`MIG-…`), memory, GPU and
//! compute instance ids and parent; everything else it is asked is INVALID_ARGUMENT here.

use std::ffi::{c_char, c_uint};

use gputop_scenario::{GpuSpec, MigSpec};

use crate::abi::*;
use crate::plumbing::{handle, handle_index, with_gpu, with_scenario, write, write_str};
use crate::state::{now, since_init};

/// What nvml.h's `nvmlDeviceGetMaxMigDeviceCount` reports for A100 and H100.
const MAX_MIG_DEVICES: usize = 7;
const MIG_HANDLE_BASE: usize = 0x6773_0000;

fn mig_handle(gpu: usize, slot: usize) -> nvmlDevice_t {
    crate::plumbing::opaque(MIG_HANDLE_BASE, gpu * MAX_MIG_DEVICES + slot)
}

/// (GPU index, slot) of a MIG device handle.
fn mig_index(dev: nvmlDevice_t) -> Option<(usize, usize)> {
    let n = crate::plumbing::opaque_number(MIG_HANDLE_BASE, dev)?;
    Some((n / MAX_MIG_DEVICES, n % MAX_MIG_DEVICES))
}

/// Runs `f` with the MIG device behind a MIG handle, its parent and the scenario time; `None`
/// when `dev` is no MIG handle (the caller then answers for a whole GPU).
pub fn with_mig(
    dev: nvmlDevice_t,
    f: impl FnOnce(usize, usize, &GpuSpec, &MigSpec, f64) -> nvmlReturn_t,
) -> Option<nvmlReturn_t> {
    let (gpu, slot) = mig_index(dev)?;
    Some(with_scenario(|s| {
        match s.gpus.get(gpu).and_then(|g| Some((g, g.mig_devices().get(slot)?))) {
            Some((g, _)) if g.is_lost(since_init()) => {
                gputop_scenario::ErrorCode::GpuIsLost.as_nvml_return()
            }
            Some((g, m)) => f(gpu, slot, g, m, now()),
            None => INVALID_ARGUMENT,
        }
    }))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetMaxMigDeviceCount(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| match g.mig() {
        Ok(_) => write(out, MAX_MIG_DEVICES as c_uint),
        Err(code) => code.as_nvml_return(),
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetMigDeviceHandleByIndex(
    dev: nvmlDevice_t,
    index: c_uint,
    out: *mut nvmlDevice_t,
) -> nvmlReturn_t {
    with_gpu(dev, |i, g, _| {
        if g.mig().is_err() || index as usize >= MAX_MIG_DEVICES {
            return INVALID_ARGUMENT;
        }
        match g.mig_devices().get(index as usize) {
            Some(_) => write(out, mig_handle(i, index as usize)),
            None => NOT_FOUND,
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceIsMigDeviceHandle(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    if let Some(ret) = with_mig(dev, |_, _, _, _, _| write(out, 1)) {
        return ret;
    }
    with_gpu(dev, |_, _, _| write(out, 0))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetDeviceHandleFromMigDeviceHandle(
    dev: nvmlDevice_t,
    out: *mut nvmlDevice_t,
) -> nvmlReturn_t {
    with_mig(dev, |gpu, _, _, _, _| write(out, handle(gpu))).unwrap_or(INVALID_ARGUMENT)
}

/// NOT_SUPPORTED for a whole GPU: only a MIG device is a GPU instance.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetGpuInstanceId(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_mig(dev, |_, _, _, m, _| write(out, m.gpu_instance_id)).unwrap_or_else(|| whole_gpu(dev))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetComputeInstanceId(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_mig(dev, |_, _, _, m, _| write(out, m.compute_instance_id))
        .unwrap_or_else(|| whole_gpu(dev))
}

fn whole_gpu(dev: nvmlDevice_t) -> nvmlReturn_t {
    match handle_index(dev) {
        Some(_) => NOT_SUPPORTED,
        None => INVALID_ARGUMENT,
    }
}

/// The parent's handle and the GPU instance id of a MIG device handle.
pub fn parent_and_instance(dev: nvmlDevice_t) -> Option<(nvmlDevice_t, u32)> {
    let (gpu, slot) = mig_index(dev)?;
    let s = crate::state::scenario()?;
    let m = s.gpus.get(gpu)?.mig_devices().get(slot)?;
    Some((handle(gpu), m.gpu_instance_id))
}

/// `nvmlDeviceGetName` of a MIG device.
pub unsafe fn name(dev: nvmlDevice_t, buf: *mut c_char, len: c_uint) -> Option<nvmlReturn_t> {
    with_mig(dev, |_, _, g, m, _| write_str(buf, len, &format!("{} MIG {}", g.name, m.profile)))
}

/// `nvmlDeviceGetUUID` of a MIG device.
pub unsafe fn uuid(dev: nvmlDevice_t, buf: *mut c_char, len: c_uint) -> Option<nvmlReturn_t> {
    with_mig(dev, |gpu, slot, _, m, _| write_str(buf, len, &m.uuid(gpu, slot)))
}

/// A MIG device's (total, used) memory.
pub fn memory(dev: nvmlDevice_t, f: impl FnOnce(u64, u64) -> nvmlReturn_t) -> Option<nvmlReturn_t> {
    with_mig(dev, |_, _, g, m, t| {
        let (total, used) = g.mig_memory_bytes(m, t);
        f(total, used)
    })
}
