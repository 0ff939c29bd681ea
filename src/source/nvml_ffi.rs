//! The NVML calls nvml-wrapper does not wrap, made through its loaded library (`Nvml::lib`)
//! and a device's raw handle: the one place with such FFI.

use nvml_wrapper::error::{nvml_try, NvmlError};
use nvml_wrapper::Device;

use crate::sample::{Fabric, RemappedRows};

/// `nvmlDeviceGetRemappedRows`: rows remapped after correctable and uncorrectable errors, and
/// whether a remapping is pending or has failed.
pub fn remapped_rows(d: &Device) -> Result<RemappedRows, NvmlError> {
    let call = d
        .nvml()
        .lib()
        .nvmlDeviceGetRemappedRows
        .as_ref()
        .map_err(|_| NvmlError::FailedToLoadSymbol("nvmlDeviceGetRemappedRows".into()))?;
    let (mut correctable, mut uncorrectable, mut pending, mut failed) = (0, 0, 0, 0);
    // SAFETY: a live device handle and four pointers to integers that outlive the call.
    let code = unsafe {
        call(d.handle(), &mut correctable, &mut uncorrectable, &mut pending, &mut failed)
    };
    nvml_try(code)?;
    Ok(RemappedRows { correctable, uncorrectable, pending: pending != 0, failed: failed != 0 })
}

/// `nvmlDeviceGetGpuInstanceId` of a MIG device handle.
pub fn gpu_instance_id(d: &Device) -> Result<u32, NvmlError> {
    let call = d
        .nvml()
        .lib()
        .nvmlDeviceGetGpuInstanceId
        .as_ref()
        .map_err(|_| NvmlError::FailedToLoadSymbol("nvmlDeviceGetGpuInstanceId".into()))?;
    let mut id = 0;
    // SAFETY: a live device handle and a pointer to an integer that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut id) })?;
    Ok(id)
}

/// `nvmlDeviceGetComputeInstanceId` of a MIG device handle.
pub fn compute_instance_id(d: &Device) -> Result<u32, NvmlError> {
    let call = d
        .nvml()
        .lib()
        .nvmlDeviceGetComputeInstanceId
        .as_ref()
        .map_err(|_| NvmlError::FailedToLoadSymbol("nvmlDeviceGetComputeInstanceId".into()))?;
    let mut id = 0;
    // SAFETY: as above.
    nvml_try(unsafe { call(d.handle(), &mut id) })?;
    Ok(id)
}

/// `nvmlDeviceGetJpgUtilization` (`jpeg`) or `nvmlDeviceGetOfaUtilization`: percent of the
/// last sampling period the JPEG decoder or the optical flow accelerator was busy.
pub fn engine_utilization(d: &Device, jpeg: bool) -> Result<u32, NvmlError> {
    let lib = d.nvml().lib();
    let (call, name) = if jpeg {
        (lib.nvmlDeviceGetJpgUtilization.as_ref(), "nvmlDeviceGetJpgUtilization")
    } else {
        (lib.nvmlDeviceGetOfaUtilization.as_ref(), "nvmlDeviceGetOfaUtilization")
    };
    let call = call.map_err(|_| NvmlError::FailedToLoadSymbol(name.into()))?;
    let (mut percent, mut period_us) = (0, 0);
    // SAFETY: a live device handle and two pointers to integers that outlive the call.
    nvml_try(unsafe { call(d.handle(), &mut percent, &mut period_us) })?;
    Ok(percent)
}

/// `nvmlDeviceGetGpuMaxPcieLinkGeneration`: the highest PCIe generation the GPU supports,
/// whatever its slot does.
pub fn gpu_max_pcie_link_gen(d: &Device) -> Result<u32, NvmlError> {
    let call = d.nvml().lib().nvmlDeviceGetGpuMaxPcieLinkGeneration.as_ref().map_err(|_| {
        NvmlError::FailedToLoadSymbol("nvmlDeviceGetGpuMaxPcieLinkGeneration".into())
    })?;
    let mut generation = 0;
    // SAFETY: a live device handle and a pointer to an integer that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut generation) })?;
    Ok(generation)
}

/// `nvmlDeviceGetGpuFabricInfo` (the unversioned call, drivers since 525): the NVLink fabric
/// an NVSwitch system registered the GPU with. A GPU outside any fabric answers state 0,
/// NOT_SUPPORTED.
pub fn fabric(d: &Device) -> Result<Fabric, NvmlError> {
    let call = d
        .nvml()
        .lib()
        .nvmlDeviceGetGpuFabricInfo
        .as_ref()
        .map_err(|_| NvmlError::FailedToLoadSymbol("nvmlDeviceGetGpuFabricInfo".into()))?;
    // SAFETY: a plain C struct of integers and bytes, for which all zeroes is a valid value.
    let mut info: nvml_wrapper_sys::bindings::nvmlGpuFabricInfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: a live device handle and a pointer to a struct that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut info) })?;
    let status = error_string(d, info.status);
    Fabric::from_nvml(info.state, status, info.cliqueId, info.clusterUuid)
        .ok_or(NvmlError::NotSupported)
}

/// `nvmlErrorString`: the driver's own words for a return code (`Success`, `Unknown Error`),
/// which nvidia-smi prints.
fn error_string(d: &Device, code: u32) -> String {
    let Ok(call) = d.nvml().lib().nvmlErrorString.as_ref() else {
        return format!("error {code}");
    };
    // SAFETY: NVML returns a pointer to a static, NUL-terminated string (or null).
    let text = unsafe { call(code) };
    if text.is_null() {
        return format!("error {code}");
    }
    // SAFETY: non-null, NUL-terminated and static, as above.
    let text = unsafe { std::ffi::CStr::from_ptr(text) };
    crate::output::sanitize::sanitize(&text.to_string_lossy()).into_owned()
}
