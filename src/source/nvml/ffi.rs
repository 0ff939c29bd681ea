//! The NVML calls nvml-wrapper does not wrap, made through its loaded library (`Nvml::lib`)
//! and a device's raw handle: the one place with such FFI.

use nvml_wrapper::error::{nvml_try, NvmlError};
use nvml_wrapper::struct_wrappers::device::FieldValueSample;
use nvml_wrapper::Device;

/// A function of the loaded library by its NVML name, or FailedToLoadSymbol where an older
/// driver lacks it.
macro_rules! symbol {
    ($device:expr, $name:ident) => {
        $device
            .nvml()
            .lib()
            .$name
            .as_ref()
            .map_err(|_| NvmlError::FailedToLoadSymbol(stringify!($name).into()))
    };
}

use crate::sample::{AddressingMode, Fabric, Platform, RemappedRows, VgpuCapabilities};

/// `nvmlDeviceGetRemappedRows`: rows remapped after correctable and uncorrectable errors, and
/// whether a remapping is pending or has failed.
pub fn remapped_rows(d: &Device) -> Result<RemappedRows, NvmlError> {
    let call = symbol!(d, nvmlDeviceGetRemappedRows)?;
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
    let call = symbol!(d, nvmlDeviceGetGpuInstanceId)?;
    let mut id = 0;
    // SAFETY: a live device handle and a pointer to an integer that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut id) })?;
    Ok(id)
}

/// `nvmlDeviceGetComputeInstanceId` of a MIG device handle.
pub fn compute_instance_id(d: &Device) -> Result<u32, NvmlError> {
    let call = symbol!(d, nvmlDeviceGetComputeInstanceId)?;
    let mut id = 0;
    // SAFETY: as above.
    nvml_try(unsafe { call(d.handle(), &mut id) })?;
    Ok(id)
}

/// `nvmlDeviceGetJpgUtilization` (`jpeg`) or `nvmlDeviceGetOfaUtilization`: percent of the
/// last sampling period the JPEG decoder or the optical flow accelerator was busy.
pub fn engine_utilization(d: &Device, jpeg: bool) -> Result<u32, NvmlError> {
    let call = if jpeg {
        symbol!(d, nvmlDeviceGetJpgUtilization)?
    } else {
        symbol!(d, nvmlDeviceGetOfaUtilization)?
    };
    let (mut percent, mut period_us) = (0, 0);
    // SAFETY: a live device handle and two pointers to integers that outlive the call.
    nvml_try(unsafe { call(d.handle(), &mut percent, &mut period_us) })?;
    Ok(percent)
}

/// `nvmlDeviceGetGpuMaxPcieLinkGeneration`: the highest PCIe generation the GPU supports,
/// whatever its slot does.
pub fn gpu_max_pcie_link_gen(d: &Device) -> Result<u32, NvmlError> {
    let call = symbol!(d, nvmlDeviceGetGpuMaxPcieLinkGeneration)?;
    let mut generation = 0;
    // SAFETY: a live device handle and a pointer to an integer that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut generation) })?;
    Ok(generation)
}

/// `nvmlDeviceGetGpuFabricInfo` (the unversioned call, drivers since 525): the NVLink fabric
/// an NVSwitch system registered the GPU with. A GPU outside any fabric answers state 0,
/// NOT_SUPPORTED.
pub fn fabric(d: &Device) -> Result<Fabric, NvmlError> {
    let call = symbol!(d, nvmlDeviceGetGpuFabricInfo)?;
    // SAFETY: a plain C struct of integers and bytes, for which all zeroes is a valid value.
    let mut info: nvml_wrapper_sys::bindings::nvmlGpuFabricInfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: a live device handle and a pointer to a struct that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut info) })?;
    let status = error_string(d, info.status);
    Fabric::from_nvml(info.state, status, info.cliqueId, info.clusterUuid)
        .ok_or(NvmlError::NotSupported)
}

/// `NVML_STRUCT_VERSION(T, version)`: the struct's size, and the version in the top byte.
fn struct_version<T>(version: u32) -> u32 {
    std::mem::size_of::<T>() as u32 | (version << 24)
}

/// `nvmlDeviceGetMarginTemperature`: degrees below the slowdown threshold (nvidia-smi's
/// T.Limit), negative past it.
pub fn margin_temperature(d: &Device) -> Result<i32, NvmlError> {
    use nvml_wrapper_sys::bindings::nvmlMarginTemperature_v1_t as Margin;
    let call = symbol!(d, nvmlDeviceGetMarginTemperature)?;
    let mut margin = Margin { version: struct_version::<Margin>(1), marginTemperature: 0 };
    // SAFETY: a live device handle and a pointer to a versioned struct that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut margin) })?;
    Ok(margin.marginTemperature)
}

/// `nvmlDeviceGetPciInfoExt`'s class code: base and sub class.
pub fn pci_class(d: &Device) -> Result<(u32, u32), NvmlError> {
    use nvml_wrapper_sys::bindings::nvmlPciInfoExt_v1_t as PciInfoExt;
    let call = symbol!(d, nvmlDeviceGetPciInfoExt)?;
    // SAFETY: a plain C struct of integers and bytes, for which all zeroes is a valid value.
    let mut info: PciInfoExt = unsafe { std::mem::zeroed() };
    info.version = struct_version::<PciInfoExt>(1);
    // SAFETY: a live device handle and a pointer to a versioned struct that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut info) })?;
    Ok((info.baseClass, info.subClass))
}

/// `nvmlDeviceGetPowerManagementMode`: whether the driver manages the board's power.
pub fn power_management(d: &Device) -> Result<bool, NvmlError> {
    let call = symbol!(d, nvmlDeviceGetPowerManagementMode)?;
    let mut mode = 0;
    // SAFETY: a live device handle and a pointer to an integer that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut mode) })?;
    Ok(mode != 0)
}

/// `nvmlDeviceGetAddressingMode` (drivers since 575): none, HMM or ATS.
pub fn addressing_mode(d: &Device) -> Result<AddressingMode, NvmlError> {
    use nvml_wrapper_sys::bindings::nvmlDeviceAddressingMode_v1_t as Mode;
    let call = symbol!(d, nvmlDeviceGetAddressingMode)?;
    let mut mode = Mode { version: struct_version::<Mode>(1), value: 0 };
    // SAFETY: a live device handle and a pointer to a versioned struct that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut mode) })?;
    AddressingMode::from_nvml(mode.value).ok_or(NvmlError::UnexpectedVariant(mode.value))
}

/// `nvmlDeviceGetDramEncryptionMode`: DRAM encryption now and after the next reboot.
pub fn dram_encryption(d: &Device) -> Result<(bool, bool), NvmlError> {
    use nvml_wrapper_sys::bindings::nvmlDramEncryptionInfo_v1_t as Info;
    let call = symbol!(d, nvmlDeviceGetDramEncryptionMode)?;
    let blank = || Info { version: struct_version::<Info>(1), encryptionState: 0 };
    let (mut current, mut pending) = (blank(), blank());
    // SAFETY: a live device handle and two pointers to versioned structs that outlive the call.
    nvml_try(unsafe { call(d.handle(), &mut current, &mut pending) })?;
    Ok((current.encryptionState != 0, pending.encryptionState != 0))
}

/// `nvmlDeviceGetGspFirmwareMode`: whether the GSP firmware runs, and does by default.
pub fn gsp_firmware(d: &Device) -> Result<(bool, bool), NvmlError> {
    let call = symbol!(d, nvmlDeviceGetGspFirmwareMode)?;
    let (mut enabled, mut by_default) = (0, 0);
    // SAFETY: a live device handle and two pointers to integers that outlive the call.
    nvml_try(unsafe { call(d.handle(), &mut enabled, &mut by_default) })?;
    Ok((enabled != 0, by_default != 0))
}

/// `nvmlDeviceGetC2cModeInfoV`: whether the chip-to-chip link to a Grace CPU is on.
pub fn c2c_enabled(d: &Device) -> Result<bool, NvmlError> {
    use nvml_wrapper_sys::bindings::nvmlC2cModeInfo_v1_t as Info;
    let call = symbol!(d, nvmlDeviceGetC2cModeInfoV)?;
    let mut info = Info { isC2cEnabled: 0 };
    // SAFETY: a live device handle and a pointer to a struct that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut info) })?;
    Ok(info.isC2cEnabled != 0)
}

/// `nvmlDeviceGetConfComputeProtectedMemoryUsage`: total and used bytes.
pub fn protected_memory(d: &Device) -> Result<(u64, u64), NvmlError> {
    use nvml_wrapper_sys::bindings::nvmlMemory_t as Memory;
    let call = symbol!(d, nvmlDeviceGetConfComputeProtectedMemoryUsage)?;
    let mut memory = Memory { total: 0, free: 0, used: 0 };
    // SAFETY: a live device handle and a pointer to a struct that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut memory) })?;
    Ok((memory.total, memory.used))
}

/// `nvmlDeviceGetPlatformInfo` (v2, drivers since 570): the GPU's place in its rack.
pub fn platform(d: &Device) -> Result<Platform, NvmlError> {
    use nvml_wrapper_sys::bindings::nvmlPlatformInfo_v2_t as Info;
    let call = symbol!(d, nvmlDeviceGetPlatformInfo)?;
    // SAFETY: a plain C struct of integers and bytes, for which all zeroes is a valid value.
    let mut info: Info = unsafe { std::mem::zeroed() };
    info.version = struct_version::<Info>(2);
    // SAFETY: a live device handle and a pointer to a versioned struct that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut info) })?;
    let numbers = [info.slotNumber, info.trayIndex, info.hostId, info.peerType, info.moduleId];
    Ok(Platform::from_nvml(&info.ibGuid, &info.chassisSerialNumber, numbers))
}

/// `nvmlDeviceGetModuleId`: the GPU's module on a multi-GPU board.
pub fn module_id(d: &Device) -> Result<u32, NvmlError> {
    let call = symbol!(d, nvmlDeviceGetModuleId)?;
    let mut id = 0;
    // SAFETY: a live device handle and a pointer to an integer that outlives the call.
    nvml_try(unsafe { call(d.handle(), &mut id) })?;
    Ok(id)
}

/// `nvmlDeviceGetVgpuCapabilities` for the three capabilities nvidia-smi lists; a bare-metal
/// driver answers NOT_SUPPORTED to the first.
pub fn vgpu_capabilities(d: &Device) -> Result<VgpuCapabilities, NvmlError> {
    let call = symbol!(d, nvmlDeviceGetVgpuCapabilities)?;
    let capability = |which| {
        let mut on = 0;
        // SAFETY: a live device handle and a pointer to an integer that outlives the call.
        nvml_try(unsafe { call(d.handle(), which, &mut on) }).map(|()| on != 0)
    };
    Ok(VgpuCapabilities {
        fractional_multi_vgpu: capability(0)?,
        heterogeneous_timeslice_profiles: capability(1)?,
        heterogeneous_timeslice_sizes: capability(2)?,
    })
}

/// `nvmlGetVgpuDriverCapabilities(NVML_VGPU_DRIVER_CAP_HETEROGENEOUS_MULTI_VGPU)`.
pub fn vgpu_heterogeneous_multi_vgpu(d: &Device) -> Result<bool, NvmlError> {
    let call = symbol!(d, nvmlGetVgpuDriverCapabilities)?;
    let mut on = 0;
    // SAFETY: a pointer to an integer that outlives the call.
    nvml_try(unsafe { call(0, &mut on) })?;
    Ok(on != 0)
}

/// `nvmlDeviceGetFieldValues` at a power `scope` (`NVML_POWER_SCOPE_MODULE`: a GB200 module's
/// GPU, CPU and memory), which nvml-wrapper's `field_values_for` cannot ask (it sends scope 0).
/// Each sample carries its own error, as there.
pub fn field_values_at_scope(
    d: &Device,
    ids: &[u32],
    scope: u32,
) -> Result<Vec<Result<FieldValueSample, NvmlError>>, NvmlError> {
    use nvml_wrapper_sys::bindings::nvmlFieldValue_t;
    let call = symbol!(d, nvmlDeviceGetFieldValues)?;
    let mut values: Vec<nvmlFieldValue_t> = ids
        .iter()
        .map(|&id| {
            // SAFETY: a plain C struct of integers and a union of numbers: all zeroes is valid.
            let mut v: nvmlFieldValue_t = unsafe { std::mem::zeroed() };
            (v.fieldId, v.scopeId) = (id, scope);
            v
        })
        .collect();
    // SAFETY: a live device handle and as many field values as the count says.
    nvml_try(unsafe { call(d.handle(), values.len() as i32, values.as_mut_ptr()) })?;
    Ok(values.into_iter().map(FieldValueSample::try_from).collect())
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
    crate::text::sanitize::sanitize(&text.to_string_lossy()).into_owned()
}
