//! The moving figures a monitor polls each refresh: memory, utilization (and the driver's own
//! samples of it), temperature, power and its limits, energy, and fans.

use std::ffi::{c_uint, c_ulonglong};

use gputop_scenario::ErrorCode;

use crate::abi::*;
use crate::mig;
use crate::plumbing::{both, reply, with_gpu, write};

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetMemoryInfo_v2(
    dev: nvmlDevice_t,
    out: *mut nvmlMemory_v2_t,
) -> nvmlReturn_t {
    if out.is_null() {
        return INVALID_ARGUMENT;
    }
    if (*out).version != NVML_MEMORY_V2_VERSION {
        return ErrorCode::ArgumentVersionMismatch.as_nvml_return();
    }
    // nvml.h: v2's `used` is allocated memory; reserved is apart; total is all three.
    let mig = mig::memory(dev, |total, used| {
        let m = &mut *out;
        (m.total, m.reserved, m.used, m.free) = (total, 0, used, total - used);
        SUCCESS
    });
    if let Some(ret) = mig {
        return ret;
    }
    with_gpu(dev, |_, g, t| {
        reply(g.memory_bytes(t), |(total, reserved, allocated)| {
            let m = &mut *out;
            m.total = total;
            m.reserved = reserved;
            m.used = allocated;
            m.free = total - reserved - allocated;
            SUCCESS
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetMemoryInfo(
    dev: nvmlDevice_t,
    out: *mut nvmlMemory_t,
) -> nvmlReturn_t {
    // nvml.h: v1's `used` is the sum of reserved and allocated memory.
    if let Some(ret) =
        mig::memory(dev, |total, used| write(out, nvmlMemory_t { total, free: total - used, used }))
    {
        return ret;
    }
    with_gpu(dev, |_, g, t| {
        reply(g.memory_bytes(t), |(total, reserved, allocated)| {
            let used = reserved + allocated;
            write(out, nvmlMemory_t { total, free: total - used, used })
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetUtilizationRates(
    dev: nvmlDevice_t,
    out: *mut nvmlUtilization_t,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, t| {
        reply(g.utilization(t), |(gpu, memory)| write(out, nvmlUtilization_t { gpu, memory }))
    })
}

/// The driver's own buffer of utilization samples. nvml.h: with `samples` NULL, `sampleCount`
/// gets how many can be queried; otherwise up to `*sampleCount` samples newer than
/// `lastSeenTimeStamp` (CPU µs; 0 for all) are written, oldest first, and `*sampleCount` says
/// how many; none newer is NOT_FOUND; a zero count with a buffer, or no count, is
/// INVALID_ARGUMENT; GPU and memory utilization samples are not supported on a MIG-enabled GPU.
/// nvml.h leaves the period and the buffer's length to the driver: here a sample every 1/6 s
/// (the shortest period the API reference names for utilization) and the last 20 s of them.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetSamples(
    dev: nvmlDevice_t,
    kind: c_uint,
    last_seen: c_ulonglong,
    value_type: *mut c_uint,
    count: *mut c_uint,
    samples: *mut nvmlSample_t,
) -> nvmlReturn_t {
    const PER_SECOND: f64 = 6.0;
    const KEPT: u32 = 120;
    if count.is_null() || (!samples.is_null() && *count == 0) {
        return INVALID_ARGUMENT;
    }
    if kind != NVML_GPU_UTILIZATION_SAMPLES && kind != NVML_MEMORY_UTILIZATION_SAMPLES {
        return NOT_SUPPORTED;
    }
    with_gpu(dev, |_, g, t| {
        if g.mig().is_ok_and(|on| on) {
            return NOT_SUPPORTED;
        }
        // Sample times, newest last, on the driver's 1/6 s grid.
        let newest = (t * PER_SECOND).floor();
        let times = (0..KEPT)
            .rev()
            .map(|k| (newest - f64::from(k)) / PER_SECOND)
            .filter(|&s| (s * 1e6) as u64 > last_seen);
        let mut taken: Vec<nvmlSample_t> = Vec::new();
        for s in times {
            let value = match g.utilization(s) {
                Ok((gpu, memory)) => {
                    if kind == NVML_GPU_UTILIZATION_SAMPLES {
                        gpu
                    } else {
                        memory
                    }
                }
                Err(code) => return code.as_nvml_return(),
            };
            taken.push(nvmlSample_t {
                timeStamp: (s * 1e6) as u64,
                sampleValue: nvmlValue_t { uiVal: value },
            });
        }
        if samples.is_null() {
            *count = taken.len() as c_uint;
            return SUCCESS;
        }
        if taken.is_empty() {
            return NOT_FOUND;
        }
        let n = taken.len().min(*count as usize);
        std::ptr::copy_nonoverlapping(taken.as_ptr(), samples, n);
        *count = n as c_uint;
        if !value_type.is_null() {
            *value_type = NVML_VALUE_TYPE_UNSIGNED_INT;
        }
        SUCCESS
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetTemperature(
    dev: nvmlDevice_t,
    sensor: c_uint,
    out: *mut c_uint,
) -> nvmlReturn_t {
    if sensor != 0 {
        return INVALID_ARGUMENT;
    }
    with_gpu(dev, |_, g, t| reply(g.temperature(t), |v| write(out, v)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetTemperatureThreshold(
    dev: nvmlDevice_t,
    kind: c_uint,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.temperature_thresholds(), |(slowdown, shutdown)| match kind {
            0 => write(out, shutdown),
            1 => write(out, slowdown),
            _ => NOT_SUPPORTED,
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPowerUsage(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, t| reply(g.power_mw(t), |v| write(out, v)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetEnforcedPowerLimit(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.power_limit_mw(), |v| write(out, v)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPowerManagementLimit(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.power_management_limit_mw(), |v| write(out, v)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPowerManagementDefaultLimit(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.power_default_limit(), |w| write(out, (w * 1000.0) as c_uint)))
}

/// The range the power management limit may be set in, in mW.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPowerManagementLimitConstraints(
    dev: nvmlDevice_t,
    min: *mut c_uint,
    max: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.power_limit_range(), |[lo, hi]| {
            both(write(min, (lo * 1000.0) as c_uint), write(max, (hi * 1000.0) as c_uint))
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetTotalEnergyConsumption(
    dev: nvmlDevice_t,
    out: *mut c_ulonglong,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, t| reply(g.energy_mj(t), |v| write(out, v)))
}

#[no_mangle]
/// Passively cooled cards have no fan: 0 fans, SUCCESS (then a fan's speed is NOT_SUPPORTED).
pub unsafe extern "C" fn nvmlDeviceGetNumFans(dev: nvmlDevice_t, out: *mut c_uint) -> nvmlReturn_t {
    with_gpu(dev, |_, g, t| match g.fan(t) {
        Ok(_) => write(out, 1 as c_uint),
        Err(ErrorCode::NotSupported) => write(out, 0 as c_uint),
        Err(code) => code.as_nvml_return(),
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetFanSpeed_v2(
    dev: nvmlDevice_t,
    fan: c_uint,
    out: *mut c_uint,
) -> nvmlReturn_t {
    if fan != 0 {
        return INVALID_ARGUMENT;
    }
    with_gpu(dev, |_, g, t| reply(g.fan(t), |v| write(out, v)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetFanSpeed(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    nvmlDeviceGetFanSpeed_v2(dev, 0, out)
}

/// Degrees below the slowdown threshold; negative past it.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetMarginTemperature(
    dev: nvmlDevice_t,
    out: *mut nvmlMarginTemperature_v1_t,
) -> nvmlReturn_t {
    if out.is_null() {
        return INVALID_ARGUMENT;
    }
    if (*out).version != struct_version::<nvmlMarginTemperature_v1_t>(1) {
        return ErrorCode::ArgumentVersionMismatch.as_nvml_return();
    }
    with_gpu(dev, |_, g, t| {
        reply(g.margin_temperature(t), |margin| {
            (*out).marginTemperature = margin;
            SUCCESS
        })
    })
}

/// `nvmlEnableState_t`: whether the driver manages the board's power.
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPowerManagementMode(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| reply(g.power_management(), |on| write(out, c_uint::from(on))))
}
