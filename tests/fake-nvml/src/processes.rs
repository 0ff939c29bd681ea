//! Processes: the compute, graphics and MPS lists under NVML's two-call size protocol (of a GPU
//! or of one MIG instance), and per-process utilization samples.

use std::ffi::{c_uint, c_ulonglong};
use std::sync::Mutex;

use crate::abi::*;
use crate::mig;
use crate::plumbing::{reply, with_gpu};

/// How many process-list calls each GPU has had, for `process_list_grows_by`.
static LIST_CALLS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Which of a GPU's process lists a call asks for.
#[derive(Clone, Copy)]
enum ProcessList {
    Compute,
    Graphics,
    Mps,
}

/// The two-call protocol: a count smaller than the list gets the needed count and
/// INSUFFICIENT_SIZE (buffer NULL or not); an empty list gets 0 and SUCCESS. With
/// `process_list_grows_by`, every call after a GPU's first finds that many processes more
/// (started between the size query and the fill), with made-up PIDs from 4,000,000.
unsafe fn running_processes<T>(
    dev: nvmlDevice_t,
    list: ProcessList,
    count: *mut c_uint,
    buf: *mut T,
    make: impl Fn(u32, c_ulonglong, u32, u32) -> T,
) -> nvmlReturn_t {
    if count.is_null() {
        return INVALID_ARGUMENT;
    }
    // A MIG device lists the processes of its GPU instance.
    let (dev, instance) = match mig::parent_and_instance(dev) {
        Some((parent, gi)) => (parent, Some(gi)),
        None => (dev, None),
    };
    with_gpu(dev, |i, g, t| {
        reply(g.processes_at(t), |procs| {
            let wanted: Vec<(u32, Option<u64>, u32, u32)> = procs
                .into_iter()
                .filter(|p| instance.is_none_or(|gi| p.gpu_instance_id == Some(gi)))
                .filter(|p| match list {
                    ProcessList::Compute => p.kind.is_compute(),
                    ProcessList::Graphics => p.kind.is_graphics(),
                    ProcessList::Mps => p.kind.is_mps(),
                })
                .map(|p| {
                    let gi = p.gpu_instance_id.unwrap_or(NO_INSTANCE);
                    let ci = p.compute_instance_id.unwrap_or(NO_INSTANCE);
                    (p.pid, p.used_memory_bytes(t), gi, ci)
                })
                .chain(newcomers(i, g.process_list_grows_by, list))
                .collect();
            let capacity = *count as usize;
            *count = wanted.len() as c_uint;
            if wanted.is_empty() {
                return SUCCESS;
            }
            if capacity < wanted.len() || buf.is_null() {
                return INSUFFICIENT_SIZE;
            }
            for (i, &(pid, memory, gi, ci)) in wanted.iter().enumerate() {
                buf.add(i).write(make(pid, memory.unwrap_or(VALUE_NOT_AVAILABLE), gi, ci));
            }
            SUCCESS
        })
    })
}

/// The processes a compute list has gained since the GPU's first list call.
fn newcomers(gpu: usize, grows_by: u32, list: ProcessList) -> Vec<(u32, Option<u64>, u32, u32)> {
    if grows_by == 0 || !matches!(list, ProcessList::Compute) {
        return Vec::new();
    }
    let Ok(mut calls) = LIST_CALLS.lock() else { return Vec::new() };
    if calls.len() <= gpu {
        calls.resize(gpu + 1, 0);
    }
    calls[gpu] += 1;
    if calls[gpu] == 1 {
        return Vec::new();
    }
    (0..grows_by).map(|n| (4_000_000 + n, Some(1 << 20), NO_INSTANCE, NO_INSTANCE)).collect()
}

fn info_v3(
    pid: u32,
    usedGpuMemory: c_ulonglong,
    gpuInstanceId: u32,
    computeInstanceId: u32,
) -> nvmlProcessInfo_t {
    nvmlProcessInfo_t { pid, usedGpuMemory, gpuInstanceId, computeInstanceId }
}

fn info_v1(pid: u32, usedGpuMemory: c_ulonglong, _: u32, _: u32) -> nvmlProcessInfo_v1_t {
    nvmlProcessInfo_v1_t { pid, usedGpuMemory }
}

macro_rules! process_list_symbols {
    ($($symbol:ident => $list:ident, $struct:ty, $make:ident;)*) => {$(
        #[no_mangle]
        pub unsafe extern "C" fn $symbol(dev: nvmlDevice_t, count: *mut c_uint, buf: *mut $struct) -> nvmlReturn_t {
            running_processes(dev, ProcessList::$list, count, buf, $make)
        }
    )*};
}

process_list_symbols! {
    nvmlDeviceGetComputeRunningProcesses_v3 => Compute, nvmlProcessInfo_t, info_v3;
    nvmlDeviceGetComputeRunningProcesses_v2 => Compute, nvmlProcessInfo_t, info_v3;
    nvmlDeviceGetComputeRunningProcesses => Compute, nvmlProcessInfo_v1_t, info_v1;
    nvmlDeviceGetGraphicsRunningProcesses_v3 => Graphics, nvmlProcessInfo_t, info_v3;
    nvmlDeviceGetGraphicsRunningProcesses_v2 => Graphics, nvmlProcessInfo_t, info_v3;
    nvmlDeviceGetGraphicsRunningProcesses => Graphics, nvmlProcessInfo_v1_t, info_v1;
    nvmlDeviceGetMPSComputeRunningProcesses_v3 => Mps, nvmlProcessInfo_t, info_v3;
    nvmlDeviceGetMPSComputeRunningProcesses_v2 => Mps, nvmlProcessInfo_t, info_v3;
}

/// `(dev, buf, *count, lastSeenTimeStamp)`. The driver keeps a few seconds of samples: here
/// one a second per process, stamped with the real clock's whole seconds (µs since the epoch,
/// like the driver's), the last three of them. Only samples newer than `lastSeenTimeStamp` are
/// returned; none is NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetProcessUtilization(
    dev: nvmlDevice_t,
    buf: *mut nvmlProcessUtilizationSample_t,
    count: *mut c_uint,
    last_seen: c_ulonglong,
) -> nvmlReturn_t {
    if count.is_null() {
        return INVALID_ARGUMENT;
    }
    with_gpu(dev, |_, g, t| {
        reply(g.process_utilization(t), |per_process| {
            let now_us = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64);
            let newest = now_us - now_us % 1_000_000;
            let samples: Vec<nvmlProcessUtilizationSample_t> = (0..3u64)
                .map(|age| newest.saturating_sub(age * 1_000_000))
                .filter(|&stamp| stamp > last_seen)
                .flat_map(|timeStamp| {
                    per_process.iter().map(move |&(pid, smUtil, memUtil)| {
                        nvmlProcessUtilizationSample_t {
                            pid,
                            timeStamp,
                            smUtil,
                            memUtil,
                            encUtil: 0,
                            decUtil: 0,
                        }
                    })
                })
                .collect();
            if samples.is_empty() {
                return NOT_FOUND;
            }
            let capacity = *count as usize;
            *count = samples.len() as c_uint;
            if buf.is_null() || capacity < samples.len() {
                return INSUFFICIENT_SIZE;
            }
            for (i, sample) in samples.into_iter().enumerate() {
                buf.add(i).write(sample);
            }
            SUCCESS
        })
    })
}
