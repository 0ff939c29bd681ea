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
//!
//! The exports sit in one module per part of nvml.h (`devices`, `readings`, `clocks`, `processes`,
//! …), over `state` (the loaded scenario, init/shutdown) and `plumbing` (handles, answers written
//! through the caller's pointers); `stubs` answers NOT_SUPPORTED for the rest.

#![allow(non_snake_case, clippy::missing_safety_doc)]

mod abi;
mod board;
mod clocks;
mod devices;
mod ecc;
mod engines;
mod events;
mod fields;
mod gpm;
mod mig;
mod nvlink;
mod pcie;
mod plumbing;
mod processes;
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

/// The fake against nvml.h's own words, called as a C client would.
#[cfg(test)]
mod tests {
    use std::ffi::{c_char, CStr};

    use gputop_scenario::ErrorCode;

    use crate::abi::*;
    use crate::{devices::*, ecc::*, nvlink::*, processes::*, readings::*, state::*};
    use crate::{events, gpm, mig};

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
