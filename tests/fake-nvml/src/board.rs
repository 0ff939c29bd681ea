//! Board details and modes, read when asked rather than each refresh: serial, VBIOS, InfoROM,
//! platform and module, and the modes (MIG, persistence, compute, display, GSP, C2C, DRAM
//! encryption, accounting, addressing, operation, vGPU).

use std::ffi::{c_char, c_uint};

use gputop_scenario::{ErrorCode, Reading};

use crate::abi::*;
use crate::plumbing::{both, reply, with_gpu, with_scenario, write, write_str};

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
