//! The NVML C ABI: return codes, handle type and struct layouts (x86-64), checked by size.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_uint, c_ulonglong, c_void, CStr};

pub type nvmlReturn_t = c_uint;
pub type nvmlDevice_t = *mut c_void;

pub const SUCCESS: nvmlReturn_t = 0;
pub const UNINITIALIZED: nvmlReturn_t = 1;
pub const INVALID_ARGUMENT: nvmlReturn_t = 2;
pub const NOT_SUPPORTED: nvmlReturn_t = 3;
pub const NOT_FOUND: nvmlReturn_t = 6;
pub const INSUFFICIENT_SIZE: nvmlReturn_t = 7;
pub const UNKNOWN: nvmlReturn_t = 999;

/// `usedGpuMemory` when the driver cannot tell (not zero).
pub const VALUE_NOT_AVAILABLE: c_ulonglong = c_ulonglong::MAX;
/// GPU/compute instance id when MIG is off.
pub const NO_INSTANCE: c_uint = 0xFFFF_FFFF;
pub const NVML_MEMORY_V2_VERSION: c_uint = struct_version::<nvmlMemory_v2_t>(2);

#[repr(C)]
pub struct nvmlMemory_t {
    pub total: c_ulonglong,
    pub free: c_ulonglong,
    pub used: c_ulonglong,
}

#[repr(C)]
pub struct nvmlMemory_v2_t {
    pub version: c_uint,
    pub total: c_ulonglong,
    pub reserved: c_ulonglong,
    pub free: c_ulonglong,
    pub used: c_ulonglong,
}

#[repr(C)]
pub struct nvmlUtilization_t {
    pub gpu: c_uint,
    pub memory: c_uint,
}

/// `nvmlValue_t`: what a sample holds, by the value type returned beside it.
#[repr(C)]
#[derive(Clone, Copy)]
pub union nvmlValue_t {
    pub uiVal: c_uint,
    pub ullVal: c_ulonglong,
}

/// `nvmlSample_t`: a CPU timestamp in µs and the value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct nvmlSample_t {
    pub timeStamp: c_ulonglong,
    pub sampleValue: nvmlValue_t,
}

/// `nvmlSamplingType_t` values the fake keeps samples for.
pub const NVML_GPU_UTILIZATION_SAMPLES: c_uint = 1;
pub const NVML_MEMORY_UTILIZATION_SAMPLES: c_uint = 2;
/// `nvmlValueType_t`: NVML_VALUE_TYPE_UNSIGNED_INT.
pub const NVML_VALUE_TYPE_UNSIGNED_INT: c_uint = 1;
pub const NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: c_uint = 3;

/// nvml.h's `nvmlFieldValue_t`: the caller sets `fieldId` (and `scopeId`); the library fills
/// the rest, each field with its own `nvmlReturn`.
#[repr(C)]
pub struct nvmlFieldValue_t {
    pub fieldId: c_uint,
    pub scopeId: c_uint,
    pub timestamp: i64,
    pub latencyUsec: i64,
    pub valueType: c_uint,
    pub nvmlReturn: nvmlReturn_t,
    /// `nvmlValue_t`, a union of 8 bytes: written as the type `valueType` names.
    pub value: u64,
}

// Field ids (nvml.h, CUDA 12 numbering; drivers of the 580 series renumbered 251-273).
pub const NVML_FI_DEV_PERF_POLICY_POWER: c_uint = 74;
pub const NVML_FI_DEV_PERF_POLICY_SYNC_BOOST: c_uint = 76;
pub const NVML_FI_DEV_MEMORY_TEMP: c_uint = 82;
pub const NVML_FI_DEV_POWER_AVERAGE: c_uint = 185;
pub const NVML_FI_DEV_POWER_INSTANT: c_uint = 186;
pub const NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN: c_uint = 251;
pub const NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN: c_uint = 252;
pub const NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN: c_uint = 253;

#[repr(C)]
pub struct nvmlProcessInfo_v1_t {
    pub pid: c_uint,
    pub usedGpuMemory: c_ulonglong,
}

/// `nvmlProcessInfo_v2_t` and `_v3_t` share this layout.
#[repr(C)]
pub struct nvmlProcessInfo_t {
    pub pid: c_uint,
    pub usedGpuMemory: c_ulonglong,
    pub gpuInstanceId: c_uint,
    pub computeInstanceId: c_uint,
}

#[repr(C)]
#[derive(Default)]
pub struct nvmlPciInfo_t {
    pub busIdLegacy: [c_char; 16],
    pub domain: c_uint,
    pub bus: c_uint,
    pub device: c_uint,
    pub pciDeviceId: c_uint,
    pub pciSubSystemId: c_uint,
    pub busId: [c_char; 32],
}

#[repr(C)]
pub struct nvmlProcessUtilizationSample_t {
    pub pid: c_uint,
    pub timeStamp: c_ulonglong,
    pub smUtil: c_uint,
    pub memUtil: c_uint,
    pub encUtil: c_uint,
    pub decUtil: c_uint,
}

// The sizes every NVML consumer (nvml-wrapper, pynvml, nvtop) was compiled against.
const _: () = assert!(std::mem::size_of::<nvmlMemory_t>() == 24);
const _: () = assert!(std::mem::size_of::<nvmlMemory_v2_t>() == 40);
const _: () = assert!(NVML_MEMORY_V2_VERSION == 0x0200_0028);
const _: () = assert!(std::mem::size_of::<nvmlUtilization_t>() == 8);
const _: () = assert!(std::mem::size_of::<nvmlSample_t>() == 16);
const _: () = assert!(std::mem::size_of::<nvmlProcessInfo_v1_t>() == 16);
const _: () = assert!(std::mem::size_of::<nvmlProcessInfo_t>() == 24);
const _: () = assert!(std::mem::size_of::<nvmlPciInfo_t>() == 68);
const _: () = assert!(std::mem::size_of::<nvmlProcessUtilizationSample_t>() == 32);

/// `nvmlErrorString`: static, NUL-terminated, as the real library returns.
pub fn error_string(code: nvmlReturn_t) -> &'static CStr {
    match code {
        0 => c"Success",
        1 => c"Uninitialized",
        2 => c"Invalid Argument",
        3 => c"Not Supported",
        4 => c"Insufficient Permissions",
        6 => c"Not Found",
        7 => c"Insufficient Size",
        9 => c"Driver Not Loaded",
        10 => c"Timeout",
        13 => c"Function Not Found",
        15 => c"GPU is lost",
        18 => c"RM has detected an NVML/RM version mismatch.",
        25 => c"Argument version mismatch",
        _ => c"Unknown Error",
    }
}

pub type nvmlEventSet_t = *mut c_void;

/// What `nvmlEventSetWait_v2` fills in.
#[repr(C)]
pub struct nvmlEventData_t {
    pub device: nvmlDevice_t,
    pub eventType: c_ulonglong,
    /// The XID of a critical XID error; 0 for other events.
    pub eventData: c_ulonglong,
    /// The instance the event belongs to, or 0xFFFFFFFF.
    pub gpuInstanceId: c_uint,
    pub computeInstanceId: c_uint,
}

const _: () = assert!(std::mem::size_of::<nvmlEventData_t>() == 32);

/// `nvmlGpmSample_t`: an opaque handle.
pub type nvmlGpmSample_t = *mut c_void;

pub const NVML_GPM_SUPPORT_VERSION: c_uint = 1;
pub const NVML_GPM_METRICS_GET_VERSION: c_uint = 1;

#[repr(C)]
pub struct nvmlGpmSupport_t {
    pub version: c_uint,
    pub isSupportedDevice: c_uint,
}

#[repr(C)]
pub struct nvmlGpmMetricInfo_t {
    pub shortName: *mut c_char,
    pub longName: *mut c_char,
    pub unit: *mut c_char,
}

#[repr(C)]
pub struct nvmlGpmMetric_t {
    pub metricId: c_uint,
    pub nvmlReturn: nvmlReturn_t,
    pub value: f64,
    pub metricInfo: nvmlGpmMetricInfo_t,
}

/// The request's head; `metrics` has `NVML_GPM_METRIC_MAX` entries, a number that grows with
/// the header's version (98, then 210), so only the first `numMetrics` are touched.
#[repr(C)]
pub struct nvmlGpmMetricsGet_t {
    pub version: c_uint,
    pub numMetrics: c_uint,
    pub sample1: nvmlGpmSample_t,
    pub sample2: nvmlGpmSample_t,
    pub metrics: [nvmlGpmMetric_t; 1],
}

const _: () = assert!(std::mem::size_of::<nvmlGpmMetric_t>() == 40);
const _: () = assert!(std::mem::offset_of!(nvmlGpmMetricsGet_t, metrics) == 24);

/// nvml.h's `nvmlGpuFabricInfo_t` (the unversioned call's).
#[repr(C)]
pub struct nvmlGpuFabricInfo_t {
    pub clusterUuid: [u8; 16],
    pub status: nvmlReturn_t,
    pub cliqueId: c_uint,
    pub state: u8,
}

/// `NVML_STRUCT_VERSION(name, v)` of a struct: its size, and the version in the top byte.
pub const fn struct_version<T>(version: c_uint) -> c_uint {
    (std::mem::size_of::<T>() as c_uint) | (version << 24)
}

#[repr(C)]
pub struct nvmlPciInfoExt_v1_t {
    pub version: c_uint,
    pub domain: c_uint,
    pub bus: c_uint,
    pub device: c_uint,
    pub pciDeviceId: c_uint,
    pub pciSubSystemId: c_uint,
    pub baseClass: c_uint,
    pub subClass: c_uint,
    pub busId: [c_char; 32],
}

#[repr(C)]
pub struct nvmlMarginTemperature_v1_t {
    pub version: c_uint,
    pub marginTemperature: c_int,
}

#[repr(C)]
pub struct nvmlDeviceAddressingMode_v1_t {
    pub version: c_uint,
    pub value: c_uint,
}

#[repr(C)]
pub struct nvmlDramEncryptionInfo_v1_t {
    pub version: c_uint,
    pub encryptionState: c_uint,
}

#[repr(C)]
pub struct nvmlPlatformInfo_v2_t {
    pub version: c_uint,
    pub ibGuid: [u8; 16],
    pub chassisSerialNumber: [u8; 16],
    pub slotNumber: u8,
    pub trayIndex: u8,
    pub hostId: u8,
    pub peerType: u8,
    pub moduleId: u8,
}

#[repr(C)]
pub struct nvmlC2cModeInfo_v1_t {
    pub isC2cEnabled: c_uint,
}

/// `nvmlFieldValue_t::scopeId` of the power fields: the GPU, or its whole module.
pub const NVML_POWER_SCOPE_GPU: c_uint = 0;
pub const NVML_POWER_SCOPE_MODULE: c_uint = 1;
pub const NVML_FI_DEV_RESET_STATUS: c_uint = 226;
pub const NVML_FI_DEV_DRAIN_AND_RESET_STATUS: c_uint = 227;
pub const NVML_FI_DEV_GET_GPU_RECOVERY_ACTION: c_uint = 230;

// nvml.h's sizes, which the version fields carry.
const _: () = assert!(std::mem::size_of::<nvmlPciInfoExt_v1_t>() == 64);
const _: () = assert!(std::mem::size_of::<nvmlMarginTemperature_v1_t>() == 8);
const _: () = assert!(std::mem::size_of::<nvmlDeviceAddressingMode_v1_t>() == 8);
const _: () = assert!(std::mem::size_of::<nvmlDramEncryptionInfo_v1_t>() == 8);
const _: () = assert!(std::mem::size_of::<nvmlPlatformInfo_v2_t>() == 44);
