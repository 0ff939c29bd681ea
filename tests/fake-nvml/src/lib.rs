//! A fake `libnvidia-ml.so.1`: exports the NVML C functions that gputop, gpustat and nvitop use,
//! answering from a scenario file (`GPUTOP_FAKE_NVML_SCENARIO`, TOML; the model is the
//! `gputop-scenario` crate, `crates/scenario`, which `--demo` uses too). Without that variable it simulates the demo
//! fleet of `GPUTOP_FAKE_NVML_GPUS` (default 4) GPUs.
//!
//! Time for the scenario's moving metrics is the wall clock (seconds since the Unix epoch), or
//! `GPUTOP_FAKE_NVML_TIME` when set, so several monitors run side by side see the same values.
//!
//! Every function here is `extern "C"` and must never unwind: no indexing that can panic, no
//! `unwrap`.

#![allow(non_snake_case, clippy::missing_safety_doc)]

mod abi;
mod clocks;
mod devices;
mod engines;
mod events;
mod gpm;
mod mig;
mod pcie;
mod plumbing;
mod readings;
mod state;

/// Exports each named NVML function as a stub that returns NOT_SUPPORTED. On x86-64 the caller
/// cleans up its arguments, so one argument-less body serves every signature.
macro_rules! stubs {
    ($($name:ident)*) => {$(
        #[no_mangle]
        pub extern "C" fn $name() -> crate::abi::nvmlReturn_t {
            crate::abi::NOT_SUPPORTED
        }
    )*};
}
mod stubs;

use std::ffi::{c_char, c_int, c_uint, c_ulonglong};
use std::sync::Mutex;

use abi::*;
use gputop_scenario::{ErrorCode, GpuSpec, Reading};
use plumbing::{
    both, handle, handle_index, opaque, opaque_number, reply, with_gpu, with_scenario, write,
    write_str,
};
use state::{now, scenario, since_init};

/// How many process-list calls each GPU has had, for `process_list_grows_by`.
static LIST_CALLS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

// ---- ECC, MIG, persistence ------------------------------------------------------------------

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
pub unsafe extern "C" fn nvmlDeviceGetEccMode(
    dev: nvmlDevice_t,
    current: *mut c_uint,
    pending: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.ecc(), |_| both(write(current, 1 as c_uint), write(pending, 1 as c_uint)))
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetMigMode(
    dev: nvmlDevice_t,
    current: *mut c_uint,
    pending: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.mig(), |on| both(write(current, on as c_uint), write(pending, on as c_uint)))
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPersistenceMode(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.persistence(), |on| write(out, on as c_uint)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetComputeMode(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, _, _| write(out, 0 as c_uint))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetDisplayActive(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, _, _| write(out, 0 as c_uint))
}

/// A string property into the caller's buffer: INSUFFICIENT_SIZE when it does not fit.
unsafe fn string_reply(reading: Reading<String>, buf: *mut c_char, len: c_uint) -> nvmlReturn_t {
    reply(reading, |v| write_str(buf, len, &v))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetSerial(
    dev: nvmlDevice_t,
    buf: *mut c_char,
    len: c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| string_reply(g.serial(), buf, len))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetVbiosVersion(
    dev: nvmlDevice_t,
    buf: *mut c_char,
    len: c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| string_reply(g.vbios_version(), buf, len))
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

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetInforomImageVersion(
    dev: nvmlDevice_t,
    buf: *mut c_char,
    len: c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| string_reply(g.inforom_image(), buf, len))
}

/// `object`: `nvmlInforomObject_t` (0 OEM, 1 ECC, 2 power); another value is an invalid
/// argument.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetInforomVersion(
    dev: nvmlDevice_t,
    object: c_uint,
    buf: *mut c_char,
    len: c_uint,
) -> nvmlReturn_t {
    if object > 2 {
        return INVALID_ARGUMENT;
    }
    with_gpu(dev, |_, g, _| string_reply(g.inforom_object(object), buf, len))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetGpuOperationMode(
    dev: nvmlDevice_t,
    current: *mut c_uint,
    pending: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.operation_mode(), |(c, p)| both(write(current, c), write(pending, p)))
    })
}

/// The fields the fake knows: memory temperature, power averaged and instant, and the clock
/// event reason counters (µs). Each field gets its own return; an unknown one NOT_SUPPORTED.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetFieldValues(
    dev: nvmlDevice_t,
    count: c_int,
    values: *mut nvmlFieldValue_t,
) -> nvmlReturn_t {
    if values.is_null() || count < 0 {
        return INVALID_ARGUMENT;
    }
    with_gpu(dev, |_, g, t| {
        let since = since_init();
        let stamp = (t * 1e6) as i64;
        for i in 0..count as usize {
            let field = &mut *values.add(i);
            let (reading, kind): (Reading<u64>, c_uint) = match (field.scopeId, field.fieldId) {
                // The module's power (GB200): its readings and limits; nothing else has a scope.
                (NVML_POWER_SCOPE_MODULE, id) => {
                    (g.module_power_mw(id, t).map(u64::from), NVML_VALUE_TYPE_UNSIGNED_INT)
                }
                (NVML_POWER_SCOPE_GPU, id) => gpu_field(g, id, t, since),
                _ => (Err(ErrorCode::NotSupported), NVML_VALUE_TYPE_UNSIGNED_INT),
            };
            field.timestamp = stamp;
            field.latencyUsec = 0;
            match reading {
                Ok(v) => {
                    field.valueType = kind;
                    field.nvmlReturn = SUCCESS;
                    field.value = v;
                }
                Err(code) => field.nvmlReturn = code.as_nvml_return(),
            }
        }
        SUCCESS
    })
}

/// A field value of the GPU itself (scope 0), and the `nvmlValueType_t` it is given as.
fn gpu_field(g: &GpuSpec, id: c_uint, t: f64, since: f64) -> (Reading<u64>, c_uint) {
    match id {
        NVML_FI_DEV_MEMORY_TEMP => {
            (g.temperature_memory(t).map(u64::from), NVML_VALUE_TYPE_UNSIGNED_INT)
        }
        NVML_FI_DEV_POWER_AVERAGE => {
            (g.power_average_instant_mw(t).map(|p| p.0.into()), NVML_VALUE_TYPE_UNSIGNED_INT)
        }
        NVML_FI_DEV_POWER_INSTANT => {
            (g.power_average_instant_mw(t).map(|p| p.1.into()), NVML_VALUE_TYPE_UNSIGNED_INT)
        }
        NVML_FI_DEV_RESET_STATUS => {
            (g.reset_status().map(|r| r.0.into()), NVML_VALUE_TYPE_UNSIGNED_INT)
        }
        NVML_FI_DEV_DRAIN_AND_RESET_STATUS => {
            (g.reset_status().map(|r| r.1.into()), NVML_VALUE_TYPE_UNSIGNED_INT)
        }
        NVML_FI_DEV_GET_GPU_RECOVERY_ACTION => {
            (g.recovery_action().map(u64::from), NVML_VALUE_TYPE_UNSIGNED_INT)
        }
        id => match throttle_counter_bit(id) {
            Some(bit) => (g.throttle_counter_us(bit, t, since), NVML_VALUE_TYPE_UNSIGNED_LONG_LONG),
            None => (Err(ErrorCode::NotSupported), NVML_VALUE_TYPE_UNSIGNED_INT),
        },
    }
}

/// The `nvmlClocksEventReason*` bit a clock event reason counter counts.
fn throttle_counter_bit(field: c_uint) -> Option<u64> {
    Some(match field {
        NVML_FI_DEV_PERF_POLICY_POWER => 0x4,       // SW power cap
        NVML_FI_DEV_PERF_POLICY_SYNC_BOOST => 0x10, // sync boost
        NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN => 0x20,
        NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN => 0x40,
        NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN => 0x80,
        _ => return None,
    })
}

/// The GPU's place in its rack; v2 only (v1's fields differ).
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPlatformInfo(
    dev: nvmlDevice_t,
    out: *mut nvmlPlatformInfo_v2_t,
) -> nvmlReturn_t {
    if out.is_null() {
        return INVALID_ARGUMENT;
    }
    if (*out).version != struct_version::<nvmlPlatformInfo_v2_t>(2) {
        return ErrorCode::ArgumentVersionMismatch.as_nvml_return();
    }
    with_gpu(dev, |_, g, _| {
        reply(g.platform(), |p| {
            let info = &mut *out;
            (info.ibGuid, info.chassisSerialNumber) = (p.ib_guid_bytes(), p.chassis_serial_bytes());
            (info.slotNumber, info.trayIndex, info.hostId) =
                (p.slot_number, p.tray_index, p.host_id);
            (info.peerType, info.moduleId) = (p.peer_type, p.module_id);
            SUCCESS
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetModuleId(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.module_id(), |id| write(out, id)))
}

/// `nvmlDeviceVgpuCapability_t`: 1 where the vGPU host driver supports it.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetVgpuCapabilities(
    dev: nvmlDevice_t,
    capability: c_uint,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.vgpu_capability(capability), |on| write(out, c_uint::from(on))))
}

/// `nvmlVgpuDriverCapability_t`: only heterogeneous multi-vGPU (0) is simulated.
#[no_mangle]
pub unsafe extern "C" fn nvmlGetVgpuDriverCapabilities(
    capability: c_uint,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_scenario(|s| match (capability, s.driver.vgpu_heterogeneous_multi_vgpu) {
        (0, Some(on)) => write(out, c_uint::from(on)),
        _ => ErrorCode::NotSupported.as_nvml_return(),
    })
}

/// Verifies the InfoROM's checksums: SUCCESS, or CORRUPTED_INFOROM.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceValidateInforom(dev: nvmlDevice_t) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.validate_inforom(), |()| SUCCESS))
}

/// `nvmlDeviceAddressingModeType_t`: none, HMM or ATS.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetAddressingMode(
    dev: nvmlDevice_t,
    out: *mut nvmlDeviceAddressingMode_v1_t,
) -> nvmlReturn_t {
    if out.is_null() {
        return INVALID_ARGUMENT;
    }
    if (*out).version != struct_version::<nvmlDeviceAddressingMode_v1_t>(1) {
        return ErrorCode::ArgumentVersionMismatch.as_nvml_return();
    }
    with_gpu(dev, |_, g, _| {
        reply(g.addressing_mode(), |mode| {
            (*out).value = mode;
            SUCCESS
        })
    })
}

/// DRAM encryption now and after the next reboot.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetDramEncryptionMode(
    dev: nvmlDevice_t,
    current: *mut nvmlDramEncryptionInfo_v1_t,
    pending: *mut nvmlDramEncryptionInfo_v1_t,
) -> nvmlReturn_t {
    if current.is_null() || pending.is_null() {
        return INVALID_ARGUMENT;
    }
    let version = struct_version::<nvmlDramEncryptionInfo_v1_t>(1);
    if (*current).version != version || (*pending).version != version {
        return ErrorCode::ArgumentVersionMismatch.as_nvml_return();
    }
    with_gpu(dev, |_, g, _| {
        reply(g.dram_encryption(), |[now, next]| {
            (*current).encryptionState = c_uint::from(now);
            (*pending).encryptionState = c_uint::from(next);
            SUCCESS
        })
    })
}

/// Whether the GSP firmware runs, and whether it does by default.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetGspFirmwareMode(
    dev: nvmlDevice_t,
    enabled: *mut c_uint,
    default_mode: *mut c_uint,
) -> nvmlReturn_t {
    if enabled.is_null() || default_mode.is_null() {
        return INVALID_ARGUMENT;
    }
    with_gpu(dev, |_, g, _| {
        reply(g.gsp_firmware(), |[on, by_default]| {
            both(write(enabled, c_uint::from(on)), write(default_mode, c_uint::from(by_default)))
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetC2cModeInfoV(
    dev: nvmlDevice_t,
    out: *mut nvmlC2cModeInfo_v1_t,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.c2c_enabled(), |on| write(out, nvmlC2cModeInfo_v1_t { isC2cEnabled: on.into() }))
    })
}

/// Confidential computing's protected memory, in bytes.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetConfComputeProtectedMemoryUsage(
    dev: nvmlDevice_t,
    out: *mut nvmlMemory_t,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.protected_memory(), |[total, used]| {
            write(out, nvmlMemory_t { total, free: total.saturating_sub(used), used })
        })
    })
}

/// `nvmlEnableState_t`: 0 disabled, 1 enabled.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetAccountingMode(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.accounting_mode(), |on| write(out, c_uint::from(on))))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetAccountingBufferSize(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.accounting_buffer_size(), |v| write(out, v)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetDisplayMode(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.display_mode(), |on| write(out, c_uint::from(on))))
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

// ---- processes ------------------------------------------------------------------------------

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

/// The fake against nvml.h's own words, called as a C client would.
#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;
    use crate::{devices::*, readings::*, state::*};

    fn zeroed<T>() -> T {
        // SAFETY: the NVML structs are plain integers, for which all-zero is valid.
        unsafe { std::mem::zeroed() }
    }

    #[test]
    fn follows_the_nvml_documentation() {
        let path = std::env::temp_dir().join(format!("fake-nvml-{}.toml", std::process::id()));
        std::fs::write(
            &path,
            "[[gpus]]\nname = \"A\"\nmemory_total_mib = 1000\nmemory_reserved_mib = 100\n\
             memory_used_mib = 200\nminor_number = 3\npower_limit_w = 300\nutilization_gpu = 40\n\
             power_management_limit_w = 350\n\
             events = [{ at_s = 0.5, xid = 13 }, { at_s = 1.5, xid = 79 }]\n\
             gpm = { sm_active = 80, tensor_active = 60 }\n\
             nvlink = { active_links = 4, replay = 3 }\n\
             [[gpus.processes]]\npid = 42\nused_memory_mib = 50\nsm_util = 60\n\
             [[gpus.processes]]\npid = 43\nkind = \"mps\"\nused_memory_mib = 10\n\
             [[gpus]]\nname = \"B\"\nlost_between_s = [0.2, 0.6]\n\
             [[gpus]]\nname = \"C\"\nmig_enabled = true\nutilization_gpu = 50\n\
             ecc_corrected = 1\necc_uncorrected = 0\necc_aggregate = [5, 2]\n\
             gpm = { sm_active = 10 }\n\
             mig_instances = [{ profile = \"3g.40gb\", gpu_instance_id = 1, memory_total_mib = 40000, gpm = { sm_active = 33 } }, \
             { profile = \"4g.40gb\", gpu_instance_id = 2, memory_total_mib = 40000 }]\n\
             [[gpus.processes]]\npid = 51\nused_memory_mib = 100\ngpu_instance_id = 1\ncompute_instance_id = 0\n\
             [[gpus.processes]]\npid = 52\nused_memory_mib = 200\ngpu_instance_id = 2\ncompute_instance_id = 0\n",
        )
        .unwrap();
        std::env::set_var("GPUTOP_FAKE_NVML_SCENARIO", &path);
        assert_eq!(nvmlInit_v2(), SUCCESS);
        unsafe {
            let mut dev: nvmlDevice_t = std::ptr::null_mut();
            assert_eq!(nvmlDeviceGetHandleByIndex_v2(0, &mut dev), SUCCESS);

            // v2: total = reserved + used + free, used being what is allocated.
            let mut v2: nvmlMemory_v2_t = zeroed();
            v2.version = NVML_MEMORY_V2_VERSION;
            assert_eq!(nvmlDeviceGetMemoryInfo_v2(dev, &mut v2), SUCCESS);
            let mib = 1 << 20;
            assert_eq!((v2.total, v2.reserved, v2.used), (1000 * mib, 100 * mib, 260 * mib));
            assert_eq!(v2.total, v2.reserved + v2.used + v2.free);
            // v1: used is reserved plus allocated; total = used + free.
            let mut v1: nvmlMemory_t = zeroed();
            assert_eq!(nvmlDeviceGetMemoryInfo(dev, &mut v1), SUCCESS);
            assert_eq!(v1.used, v2.reserved + v2.used);
            assert_eq!(v1.total, v1.used + v1.free);

            // A passive card: no fans, and so no fan speed.
            let mut fans = 9;
            assert_eq!(nvmlDeviceGetNumFans(dev, &mut fans), SUCCESS);
            assert_eq!(fans, 0);

            let mut minor = 0;
            assert_eq!(nvmlDeviceGetMinorNumber(dev, &mut minor), SUCCESS);
            assert_eq!(minor, 3, "the minor number is not the index");

            let (mut enforced, mut management) = (0, 0);
            assert_eq!(nvmlDeviceGetEnforcedPowerLimit(dev, &mut enforced), SUCCESS);
            assert_eq!(nvmlDeviceGetPowerManagementLimit(dev, &mut management), SUCCESS);
            assert_eq!((enforced, management), (300_000, 350_000));

            // MPS clients are listed by the MPS call only.
            let mut infos: [nvmlProcessInfo_t; 4] = zeroed();
            let mut count = 4;
            assert_eq!(
                nvmlDeviceGetMPSComputeRunningProcesses_v3(dev, &mut count, infos.as_mut_ptr()),
                SUCCESS
            );
            assert_eq!((count, infos[0].pid), (1, 43));
            count = 4;
            assert_eq!(
                nvmlDeviceGetComputeRunningProcesses_v3(dev, &mut count, infos.as_mut_ptr()),
                SUCCESS
            );
            assert_eq!((count, infos[0].pid), (1, 42));

            // Process utilization: real-clock µs stamps, only those after lastSeenTimeStamp.
            let mut samples: [nvmlProcessUtilizationSample_t; 8] = zeroed();
            let mut n = 8;
            assert_eq!(
                nvmlDeviceGetProcessUtilization(dev, samples.as_mut_ptr(), &mut n, 0),
                SUCCESS
            );
            let now_us = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_micros() as u64;
            let newest = samples[..n as usize].iter().map(|s| s.timeStamp).max().unwrap();
            assert!(newest <= now_us && now_us - newest < 1_100_000, "{newest} vs {now_us}");
            assert!(n >= 2, "several samples of the last seconds");
            let mut m = 8;
            let ret = nvmlDeviceGetProcessUtilization(dev, samples.as_mut_ptr(), &mut m, newest);
            assert_eq!(ret, NOT_FOUND, "nothing is newer than the newest");

            // The driver's utilization samples: a count with no buffer, then the samples
            // newer than lastSeenTimeStamp, oldest first; none newer is NOT_FOUND.
            let mut kind = 0;
            let mut available = 0;
            let null = std::ptr::null_mut();
            assert_eq!(nvmlDeviceGetSamples(dev, 1, 0, &mut kind, &mut available, null), SUCCESS);
            assert!(available > 6, "{available}");
            let mut buf: Vec<nvmlSample_t> = vec![zeroed(); available as usize];
            let mut got = available;
            assert_eq!(
                nvmlDeviceGetSamples(dev, 1, 0, &mut kind, &mut got, buf.as_mut_ptr()),
                SUCCESS
            );
            assert_eq!((got, kind), (available, NVML_VALUE_TYPE_UNSIGNED_INT));
            assert!(buf.windows(2).all(|w| w[0].timeStamp < w[1].timeStamp));
            let newest = buf[got as usize - 1].timeStamp;
            let mut got = available;
            let ret = nvmlDeviceGetSamples(dev, 1, newest, &mut kind, &mut got, buf.as_mut_ptr());
            assert_eq!(ret, NOT_FOUND);
            let mut zero = 0;
            let ret = nvmlDeviceGetSamples(dev, 1, 0, &mut kind, &mut zero, buf.as_mut_ptr());
            assert_eq!(ret, INVALID_ARGUMENT, "a buffer with no room");

            // GPU B falls off the bus 0.2 s after init and comes back at 0.6 s.
            let mut b: nvmlDevice_t = std::ptr::null_mut();
            assert_eq!(nvmlDeviceGetHandleByIndex_v2(1, &mut b), SUCCESS);
            std::thread::sleep(std::time::Duration::from_millis(300));
            let lost = ErrorCode::GpuIsLost.as_nvml_return();
            assert_eq!(nvmlDeviceGetHandleByIndex_v2(1, &mut b), lost);
            let mut name = [0 as c_char; 64];
            assert_eq!(nvmlDeviceGetName(b, name.as_mut_ptr(), 64), lost);
            std::thread::sleep(std::time::Duration::from_millis(400));
            assert_eq!(nvmlDeviceGetHandleByIndex_v2(1, &mut b), SUCCESS);

            // Events (at ~0.7 s): only those after registration, each once; a type the GPU
            // cannot deliver is refused.
            let mut set: nvmlEventSet_t = std::ptr::null_mut();
            assert_eq!(events::nvmlEventSetCreate(&mut set), SUCCESS);
            let mut bits = 0;
            assert_eq!(events::nvmlDeviceGetSupportedEventTypes(dev, &mut bits), SUCCESS);
            assert_eq!(bits & 0x3, 0, "no ECC events without ECC");
            assert_eq!(events::nvmlDeviceRegisterEvents(dev, 0x8 | 0x1, set), NOT_SUPPORTED);
            assert_eq!(events::nvmlDeviceRegisterEvents(dev, 0x8, set), SUCCESS);
            let mut data: nvmlEventData_t = zeroed();
            let timeout = ErrorCode::Timeout.as_nvml_return();
            assert_eq!(events::nvmlEventSetWait_v2(set, &mut data, 0), timeout);
            assert_eq!(events::nvmlEventSetWait_v2(set, &mut data, 5000), SUCCESS);
            assert_eq!((data.device, data.eventType, data.eventData), (dev, 0x8, 79));
            assert_eq!(data.gpuInstanceId, NO_INSTANCE);
            assert_eq!(events::nvmlEventSetWait_v2(set, &mut data, 100), timeout);
            assert_eq!(events::nvmlEventSetFree(set), SUCCESS);

            // GPM: support by version; metrics between two samples of one GPU, taken in order,
            // each with its own return code.
            let mut support = nvmlGpmSupport_t { version: 2, isSupportedDevice: 9 };
            let mismatch = ErrorCode::ArgumentVersionMismatch.as_nvml_return();
            assert_eq!(gpm::nvmlGpmQueryDeviceSupport(dev, &mut support), mismatch);
            support.version = NVML_GPM_SUPPORT_VERSION;
            assert_eq!(gpm::nvmlGpmQueryDeviceSupport(dev, &mut support), SUCCESS);
            assert_eq!(support.isSupportedDevice, 1);
            assert_eq!(gpm::nvmlGpmQueryDeviceSupport(b, &mut support), SUCCESS);
            assert_eq!(support.isSupportedDevice, 0);
            let (mut s1, mut s2): (nvmlGpmSample_t, nvmlGpmSample_t) =
                (std::ptr::null_mut(), std::ptr::null_mut());
            assert_eq!(gpm::nvmlGpmSampleAlloc(&mut s1), SUCCESS);
            assert_eq!(gpm::nvmlGpmSampleAlloc(&mut s2), SUCCESS);
            assert_eq!(gpm::nvmlGpmSampleGet(b, s1), NOT_SUPPORTED);
            assert_eq!(gpm::nvmlGpmSampleGet(dev, s1), SUCCESS);
            assert_eq!(gpm::nvmlGpmSampleGet(dev, s2), SUCCESS);
            let mut request: nvmlGpmMetricsGet_t = zeroed();
            request.version = NVML_GPM_METRICS_GET_VERSION;
            request.numMetrics = 1;
            request.sample1 = s2;
            request.sample2 = s1;
            request.metrics[0].metricId = 2;
            assert_eq!(gpm::nvmlGpmMetricsGet(&mut request), INVALID_ARGUMENT, "out of order");
            request.sample1 = s1;
            request.sample2 = s2;
            assert_eq!(gpm::nvmlGpmMetricsGet(&mut request), SUCCESS);
            assert_eq!((request.metrics[0].nvmlReturn, request.metrics[0].value), (SUCCESS, 80.0));
            request.metrics[0].metricId = 10; // DRAM bandwidth: not in the scenario
            assert_eq!(gpm::nvmlGpmMetricsGet(&mut request), SUCCESS);
            assert_eq!(request.metrics[0].nvmlReturn, NOT_SUPPORTED);
            assert_eq!(gpm::nvmlGpmSampleFree(s1), SUCCESS);
            assert_eq!(gpm::nvmlGpmSampleFree(s2), SUCCESS);
            assert_eq!(gpm::nvmlGpmSampleFree(s2), INVALID_ARGUMENT, "freed twice");

            // MIG: 7 slots, the empty ones NOT_FOUND; a MIG handle answers for its instance;
            // the MIG-enabled parent gives no utilization.
            let mut c: nvmlDevice_t = std::ptr::null_mut();
            assert_eq!(nvmlDeviceGetHandleByIndex_v2(2, &mut c), SUCCESS);
            let mut util: nvmlUtilization_t = zeroed();
            assert_eq!(nvmlDeviceGetUtilizationRates(c, &mut util), NOT_SUPPORTED);
            let mut slots = 0;
            assert_eq!(mig::nvmlDeviceGetMaxMigDeviceCount(c, &mut slots), SUCCESS);
            assert_eq!(slots, 7);
            assert_eq!(mig::nvmlDeviceGetMaxMigDeviceCount(b, &mut slots), NOT_SUPPORTED);
            let mut m: nvmlDevice_t = std::ptr::null_mut();
            assert_eq!(mig::nvmlDeviceGetMigDeviceHandleByIndex(c, 2, &mut m), NOT_FOUND);
            assert_eq!(mig::nvmlDeviceGetMigDeviceHandleByIndex(c, 7, &mut m), INVALID_ARGUMENT);
            assert_eq!(mig::nvmlDeviceGetMigDeviceHandleByIndex(c, 0, &mut m), SUCCESS);
            let mut is_mig = 9;
            assert_eq!(mig::nvmlDeviceIsMigDeviceHandle(m, &mut is_mig), SUCCESS);
            assert_eq!(is_mig, 1);
            assert_eq!(mig::nvmlDeviceIsMigDeviceHandle(c, &mut is_mig), SUCCESS);
            assert_eq!(is_mig, 0);
            let mut name = [0 as c_char; 64];
            assert_eq!(nvmlDeviceGetName(m, name.as_mut_ptr(), 64), SUCCESS);
            assert_eq!(CStr::from_ptr(name.as_ptr()).to_str().unwrap(), "C MIG 3g.40gb");
            let mut uuid = [0 as c_char; 96];
            assert_eq!(nvmlDeviceGetUUID(m, uuid.as_mut_ptr(), 96), SUCCESS);
            assert!(CStr::from_ptr(uuid.as_ptr()).to_str().unwrap().starts_with("MIG-"));
            let mut memory: nvmlMemory_v2_t = zeroed();
            memory.version = NVML_MEMORY_V2_VERSION;
            assert_eq!(nvmlDeviceGetMemoryInfo_v2(m, &mut memory), SUCCESS);
            assert_eq!((memory.total, memory.used), (40000 * mib, 100 * mib));
            let (mut gi, mut parent) = (0, std::ptr::null_mut());
            assert_eq!(mig::nvmlDeviceGetGpuInstanceId(m, &mut gi), SUCCESS);
            assert_eq!(gi, 1);
            assert_eq!(mig::nvmlDeviceGetGpuInstanceId(c, &mut gi), NOT_SUPPORTED);
            assert_eq!(mig::nvmlDeviceGetDeviceHandleFromMigDeviceHandle(m, &mut parent), SUCCESS);
            assert_eq!(parent, c);
            let mut count = 4;
            assert_eq!(
                nvmlDeviceGetComputeRunningProcesses_v3(m, &mut count, infos.as_mut_ptr()),
                SUCCESS
            );
            assert_eq!((count, infos[0].pid, infos[0].gpuInstanceId), (1, 51, 1));

            // GPM of one GPU instance: its own metrics; an instance the GPU lacks is NOT_FOUND.
            let (mut m1, mut m2): (nvmlGpmSample_t, nvmlGpmSample_t) =
                (std::ptr::null_mut(), std::ptr::null_mut());
            assert_eq!(gpm::nvmlGpmSampleAlloc(&mut m1), SUCCESS);
            assert_eq!(gpm::nvmlGpmSampleAlloc(&mut m2), SUCCESS);
            assert_eq!(gpm::nvmlGpmMigSampleGet(c, 9, m1), NOT_FOUND);
            assert_eq!(gpm::nvmlGpmMigSampleGet(c, 1, m1), SUCCESS);
            assert_eq!(gpm::nvmlGpmMigSampleGet(c, 1, m2), SUCCESS);
            let mut request: nvmlGpmMetricsGet_t = zeroed();
            request.version = NVML_GPM_METRICS_GET_VERSION;
            request.numMetrics = 1;
            (request.sample1, request.sample2) = (m1, m2);
            request.metrics[0].metricId = 2;
            assert_eq!(gpm::nvmlGpmMetricsGet(&mut request), SUCCESS);
            assert_eq!(request.metrics[0].value, 33.0);

            // ECC: volatile (counter 0) and aggregate (counter 1) counts differ.
            let mut n = 0;
            assert_eq!(nvmlDeviceGetTotalEccErrors(c, 0, 0, &mut n), SUCCESS);
            assert_eq!(n, 1);
            assert_eq!(nvmlDeviceGetTotalEccErrors(c, 0, 1, &mut n), SUCCESS);
            assert_eq!(n, 5);
            assert_eq!(nvmlDeviceGetTotalEccErrors(c, 1, 1, &mut n), SUCCESS);
            assert_eq!(n, 2);

            // NVLink: links up to the count, counters per link, NVML_NVLINK_MAX_LINKS links.
            let mut up = 9;
            assert_eq!(nvmlDeviceGetNvLinkState(dev, 3, &mut up), SUCCESS);
            assert_eq!(up, 1);
            assert_eq!(nvmlDeviceGetNvLinkState(dev, 4, &mut up), SUCCESS);
            assert_eq!(up, 0);
            assert_eq!(nvmlDeviceGetNvLinkState(dev, 18, &mut up), INVALID_ARGUMENT);
            assert_eq!(nvmlDeviceGetNvLinkState(c, 0, &mut up), NOT_SUPPORTED);
            assert_eq!(nvmlDeviceGetNvLinkErrorCounter(dev, 0, 0, &mut n), SUCCESS);
            assert_eq!(n, 3);
        }
        assert_eq!(nvmlShutdown(), SUCCESS);
        let _ = std::fs::remove_file(path);
    }
}
