//! The NVML calls nvml-wrapper does not wrap, made through its loaded library (`Nvml::lib`)
//! and a device's raw handle: the one place with such FFI.

use nvml_wrapper::error::{nvml_try, NvmlError};
use nvml_wrapper::Device;

use crate::sample::RemappedRows;

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
