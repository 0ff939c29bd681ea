//! `nvmlDeviceGetFieldValues`: the field ids the fake knows (memory temperature, power, reset
//! status, recovery action, clock event counters, the module's power), each with its own return.

use std::ffi::{c_int, c_uint};

use gputop_scenario::{ErrorCode, GpuSpec, Reading};

use crate::abi::*;
use crate::plumbing::with_gpu;
use crate::state::since_init;

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
