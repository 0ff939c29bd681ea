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
