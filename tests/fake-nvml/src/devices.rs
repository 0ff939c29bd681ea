//! Device handles and identity: the GPU count, handles by index, UUID or PCI bus id, and what
//! each GPU is (index, minor number, name, UUID, PCI identity, compute capability).

use std::ffi::{c_char, c_int, c_uint};

use gputop_scenario::{ErrorCode, GpuSpec};

use crate::abi::*;
use crate::mig;
use crate::plumbing::{
    both, copy_str, handle, read_str, reply, with_gpu, with_scenario, write, write_str,
};
use crate::state::since_init;

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetCount_v2(out: *mut c_uint) -> nvmlReturn_t {
    with_scenario(|s| write(out, s.gpus.len() as c_uint))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetCount(out: *mut c_uint) -> nvmlReturn_t {
    nvmlDeviceGetCount_v2(out)
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetHandleByIndex_v2(
    index: c_uint,
    out: *mut nvmlDevice_t,
) -> nvmlReturn_t {
    with_scenario(|s| match s.gpus.get(index as usize) {
        None => INVALID_ARGUMENT,
        Some(gpu) if gpu.is_lost(since_init()) => ErrorCode::GpuIsLost.as_nvml_return(),
        Some(_) => write(out, handle(index as usize)),
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetHandleByIndex(
    index: c_uint,
    out: *mut nvmlDevice_t,
) -> nvmlReturn_t {
    nvmlDeviceGetHandleByIndex_v2(index, out)
}

unsafe fn handle_where(
    out: *mut nvmlDevice_t,
    matches: impl Fn(usize, &GpuSpec) -> bool,
) -> nvmlReturn_t {
    with_scenario(|s| {
        match s.gpus.iter().enumerate().find(|(i, g)| !g.is_lost(since_init()) && matches(*i, g)) {
            Some((i, _)) => write(out, handle(i)),
            None => NOT_FOUND,
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetHandleByUUID(
    uuid: *const c_char,
    out: *mut nvmlDevice_t,
) -> nvmlReturn_t {
    let Some(wanted) = read_str(uuid) else {
        return INVALID_ARGUMENT;
    };
    handle_where(out, |i, g| g.uuid(i).is_ok_and(|u| u == wanted))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetHandleByPciBusId_v2(
    bus_id: *const c_char,
    out: *mut nvmlDevice_t,
) -> nvmlReturn_t {
    let Some(wanted) = read_str(bus_id) else {
        return INVALID_ARGUMENT;
    };
    handle_where(out, |i, g| g.pci_bus_id(i).is_ok_and(|b| b.eq_ignore_ascii_case(&wanted)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetHandleByPciBusId(
    bus_id: *const c_char,
    out: *mut nvmlDevice_t,
) -> nvmlReturn_t {
    nvmlDeviceGetHandleByPciBusId_v2(bus_id, out)
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetIndex(dev: nvmlDevice_t, out: *mut c_uint) -> nvmlReturn_t {
    with_gpu(dev, |i, _, _| write(out, i as c_uint))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetMinorNumber(
    dev: nvmlDevice_t,
    out: *mut c_uint,
) -> nvmlReturn_t {
    with_gpu(dev, |i, g, _| write(out, g.minor_number.unwrap_or(i as u32)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetName(
    dev: nvmlDevice_t,
    buf: *mut c_char,
    len: c_uint,
) -> nvmlReturn_t {
    if let Some(ret) = mig::name(dev, buf, len) {
        return ret;
    }
    with_gpu(dev, |_, g, _| reply(g.name(), |n| write_str(buf, len, &n)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetUUID(
    dev: nvmlDevice_t,
    buf: *mut c_char,
    len: c_uint,
) -> nvmlReturn_t {
    if let Some(ret) = mig::uuid(dev, buf, len) {
        return ret;
    }
    with_gpu(dev, |i, g, _| reply(g.uuid(i), |u| write_str(buf, len, &u)))
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPciInfo_v3(
    dev: nvmlDevice_t,
    out: *mut nvmlPciInfo_t,
) -> nvmlReturn_t {
    with_gpu(dev, |i, g, _| {
        reply(g.pci_bus_id(i), |bus_id| {
            if out.is_null() {
                return INVALID_ARGUMENT;
            }
            let info = &mut *out;
            *info = nvmlPciInfo_t::default();
            copy_str(&mut info.busId, &bus_id);
            // The legacy field holds the short "0000:01:00.0" form.
            copy_str(&mut info.busIdLegacy, bus_id.get(4..).unwrap_or(&bus_id));
            let mut parts = bus_id.split([':', '.']);
            let mut next_hex =
                || parts.next().and_then(|p| u32::from_str_radix(p, 16).ok()).unwrap_or(0);
            info.domain = next_hex();
            info.bus = next_hex();
            info.device = next_hex();
            info.pciDeviceId = 0x2330_10de;
            info.pciSubSystemId = 0x16c1_10de;
            SUCCESS
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPciInfo_v2(
    dev: nvmlDevice_t,
    out: *mut nvmlPciInfo_t,
) -> nvmlReturn_t {
    nvmlDeviceGetPciInfo_v3(dev, out)
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetCudaComputeCapability(
    dev: nvmlDevice_t,
    major: *mut c_int,
    minor: *mut c_int,
) -> nvmlReturn_t {
    with_gpu(dev, |_, g, _| {
        reply(g.compute_capability(), |[a, b]| both(write(major, a), write(minor, b)))
    })
}

/// The PCI identity with the class code (drivers since 550).
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPciInfoExt(
    dev: nvmlDevice_t,
    out: *mut nvmlPciInfoExt_v1_t,
) -> nvmlReturn_t {
    if out.is_null() {
        return INVALID_ARGUMENT;
    }
    if (*out).version != struct_version::<nvmlPciInfoExt_v1_t>(1) {
        return ErrorCode::ArgumentVersionMismatch.as_nvml_return();
    }
    let mut pci = nvmlPciInfo_t::default();
    let ret = nvmlDeviceGetPciInfo_v3(dev, &mut pci);
    if ret != SUCCESS {
        return ret;
    }
    with_gpu(dev, |_, g, _| {
        reply(g.pci_class(), |[base, sub]| {
            let info = &mut *out;
            (info.domain, info.bus, info.device) = (pci.domain, pci.bus, pci.device);
            (info.pciDeviceId, info.pciSubSystemId) = (pci.pciDeviceId, pci.pciSubSystemId);
            (info.baseClass, info.subClass) = (base, sub);
            info.busId = pci.busId;
            SUCCESS
        })
    })
}
