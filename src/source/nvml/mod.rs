//! The real source: NVML through `nvml-wrapper`. NVML is initialised once and kept (each init
//! can take ~1.5 s without persistence mode); devices are looked up by index on each sample,
//! which is cheap.

mod details;
mod device;
mod events;
mod ffi;
mod gpm;
mod processes;
mod reader;

use device::{mig_instances, sample_device};
use events::EventListener;
use gpm::GpmSampler;
use reader::{missing, Reader};

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nvml_wrapper::enum_wrappers::device::{
    Clock, EccCounter, InfoRom, MemoryError, PcieUtilCounter, PerformanceState, RetirementCause,
    Sampling, TemperatureSensor, TemperatureThreshold,
};
use nvml_wrapper::enums::device::{SampleValue, UsedGpuMemory};
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::struct_wrappers::device::ProcessInfo;
use nvml_wrapper::structs::device::FieldId;
use nvml_wrapper::{Device, Nvml};

use super::host::sysfs;
use super::pidns::{PidMapper, PidMapping};
use super::selection::{self, GpuIdentity, GpuSelector};
use super::{DetailLevel, HostLookup, RecentUtilization, SampleOptions, Source, SourceError};
use crate::sample::*;

/// The default library name, found through the dynamic loader (so `LD_LIBRARY_PATH` works).
pub const DEFAULT_LIBRARY: &str = "libnvidia-ml.so.1";

/// How far back per-process utilization samples are read; the driver keeps a few seconds.
const PROCESS_UTILIZATION_WINDOW: Duration = Duration::from_secs(3);

pub struct NvmlSource {
    nvml: Arc<Nvml>,
    indices: Vec<u32>,
    options: SampleOptions,
    /// Fixed for the life of the driver, so read once.
    host: HostInfo,
    lookup: HostLookup,
    /// Inside a container: maps NVML's host PIDs to local ones.
    mapper: Option<PidMapper>,
    /// Device minor numbers (`/dev/nvidiaN`) by position in `indices`.
    minors: Vec<Option<u32>>,
    /// With `SampleOptions::events`: the thread that hears XID and ECC events.
    listener: Option<EventListener>,
    /// With `SampleOptions::continuous`: each GPU's previous GPM sample.
    gpm: Option<GpmSampler>,
    /// Each GPU's name, UUID and bus id when it last answered: a GPU that falls off the bus
    /// is still named (and its exporter series keep their labels).
    last_known: Vec<GpuSample>,
}

impl NvmlSource {
    pub fn open(
        library: Option<&Path>,
        selection: &[GpuSelector],
        options: SampleOptions,
    ) -> Result<Self, SourceError> {
        let library = library.map_or(OsStr::new(DEFAULT_LIBRARY), Path::as_os_str);
        let nvml = Nvml::builder().lib_path(library).init().map_err(|e| init_error(e, library))?;
        let count = nvml.device_count().map_err(|e| SourceError::Nvml(e.to_string()))?;
        let indices = selection::resolve(selection, count, |i| identity(&nvml, i))?;
        let host = HostInfo {
            hostname: HostLookup::hostname(),
            driver_version: nvml.sys_driver_version().ok(),
            cuda_driver_version: nvml.sys_cuda_driver_version().ok().map(cuda_version_string),
            nvml_version: nvml.sys_nvml_version().ok(),
            ..HostInfo::default()
        };
        let minors = indices
            .iter()
            .map(|&i| nvml.device_by_index(i).and_then(|d| d.minor_number()).ok())
            .collect();
        let nvml = Arc::new(nvml);
        let listener =
            options.continuous.then(|| EventListener::start(Arc::clone(&nvml), indices.clone()));
        let gpm = options.continuous.then(|| GpmSampler::new(Arc::clone(&nvml)));
        Ok(Self {
            nvml,
            indices,
            options,
            host,
            lookup: HostLookup::new(),
            mapper: None,
            minors,
            listener,
            gpm,
            last_known: Vec::new(),
        })
    }

    /// When gputop runs in a nested PID namespace, map NVML's host PIDs to local ones through
    /// `host_proc` (default `/host/proc` when mounted) or the device files processes hold.
    pub fn map_container_pids(&mut self, host_proc: Option<PathBuf>) {
        self.mapper = Some(PidMapper::detect(Path::new("/proc"), host_proc, "/dev/nvidia".into()));
    }
}

impl NvmlSource {
    /// How many GPUs it samples.
    pub fn gpu_count(&self) -> u32 {
        self.indices.len() as u32
    }

    /// The identity of the GPU with NVML index `index`, for `--id`.
    pub fn identity(&self, index: u32) -> GpuIdentity {
        identity(&self.nvml, index)
    }
}

fn identity(nvml: &Nvml, index: u32) -> GpuIdentity {
    let device = nvml.device_by_index(index).ok();
    GpuIdentity {
        uuid: device.as_ref().and_then(|d| d.uuid().ok()),
        pci_bus_id: device.as_ref().and_then(|d| d.pci_info().ok()).map(|p| p.bus_id),
        mig_uuids: device
            .as_ref()
            .and_then(|d| mig_instances(d).ok())
            .into_iter()
            .flatten()
            .filter_map(|m| m.uuid)
            .collect(),
    }
}

fn init_error(e: NvmlError, library: &OsStr) -> SourceError {
    match e {
        NvmlError::LibloadingError(err) => SourceError::LibraryNotLoadable {
            library: library.to_string_lossy().into_owned(),
            reason: loader_reason(&err.to_string()),
        },
        NvmlError::FailedToLoadSymbol(sym) => SourceError::LibraryNotLoadable {
            library: library.to_string_lossy().into_owned(),
            reason: format!("it lacks {sym}: is it really libnvidia-ml?"),
        },
        NvmlError::DriverNotLoaded => SourceError::DriverNotLoaded,
        NvmlError::NoPermission => SourceError::NoPermission,
        NvmlError::LibRmVersionMismatch => SourceError::VersionMismatch,
        other => SourceError::Nvml(other.to_string()),
    }
}

/// libloading's message wraps dlerror's; keep the part a person can act on.
fn loader_reason(message: &str) -> String {
    let reason = message.rsplit(": ").next().unwrap_or(message).trim();
    if reason.contains("No such file") {
        "not found (is the NVIDIA driver installed?)".into()
    } else {
        reason.to_string()
    }
}

impl Source for NvmlSource {
    /// From `nvmlDeviceGetSamples`: all the samples the driver keeps, those within `window` of
    /// the newest (its clock, not ours, dates them).
    fn recent_utilization(&mut self, window: Duration) -> Vec<Option<RecentUtilization>> {
        let window_us = window.as_micros() as u64;
        self.indices
            .iter()
            .map(|&i| {
                let device = self.nvml.device_by_index(i).ok()?;
                let samples = device.samples(Sampling::GpuUtilization, None).ok()?;
                let newest = samples.iter().map(|s| s.timestamp).max()?;
                let values: Vec<u32> = samples
                    .iter()
                    .filter(|s| s.timestamp + window_us >= newest)
                    .filter_map(|s| match s.value {
                        SampleValue::U32(v) => Some(v),
                        SampleValue::U64(v) => u32::try_from(v).ok(),
                        _ => None,
                    })
                    .collect();
                let max = *values.iter().max()?;
                let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64;
                Some(RecentUtilization { mean, max })
            })
            .collect()
    }

    fn sample(&mut self) -> Result<Snapshot, SourceError> {
        let taken_at = chrono::Utc::now();
        let (nvml, options, gpm) = (&self.nvml, self.options, &mut self.gpm);
        let mut gpus: Vec<GpuSample> = self
            .indices
            .iter()
            .enumerate()
            .map(|(position, &i)| match nvml.device_by_index(i) {
                Ok(device) => {
                    let mut g = sample_device(&device, i, options);
                    if let Some(gpm) = gpm.as_mut() {
                        match gpm.activity(position, None, &device) {
                            Ok(activity) => g.activity = activity.map(Box::new),
                            Err(e) => {
                                g.missing.insert(FieldKey::Activity, missing(&e));
                            }
                        }
                        for m in g.mig_instances.iter_mut().flatten() {
                            if let Some(gi) = m.gpu_instance_id {
                                m.activity =
                                    gpm.activity(position, Some(gi), &device).ok().flatten();
                            }
                        }
                    }
                    g
                }
                Err(NvmlError::GpuLost) => {
                    GpuSample::unavailable(i, GpuStatus::Lost, "GPU is lost")
                }
                Err(e) => GpuSample::unavailable(i, GpuStatus::Error, e.to_string()),
            })
            .collect();
        self.last_known.resize_with(gpus.len(), || GpuSample::empty(0));
        for (g, known) in gpus.iter_mut().zip(&mut self.last_known) {
            if g.status == GpuStatus::Ok {
                known.name.clone_from(&g.name);
                known.uuid.clone_from(&g.uuid);
                known.pci_bus_id.clone_from(&g.pci_bus_id);
            } else {
                g.name = g.name.take().or_else(|| known.name.clone());
                g.uuid = g.uuid.take().or_else(|| known.uuid.clone());
                g.pci_bus_id = g.pci_bus_id.take().or_else(|| known.pci_bus_id.clone());
            }
        }
        if let Some(listener) = &self.listener {
            for (position, g) in gpus.iter_mut().enumerate() {
                match listener.events(position) {
                    Ok(events) => g.events = Some(events),
                    Err(missing) => {
                        g.missing.insert(FieldKey::Events, missing);
                    }
                }
            }
        }
        if let Some(mapper) = self.mapper.as_mut() {
            mapper.apply(&mut gpus, &self.minors);
        }
        if self.options.host_processes {
            // A host PID that is not in our namespace would name an unrelated local process.
            let local = gpus
                .iter_mut()
                .flat_map(|g| g.processes.iter_mut().flatten())
                .filter(|p| p.pid_mapping != Some(PidMapping::Outside));
            self.lookup.fill(local);
        }
        Ok(Snapshot {
            schema_version: SCHEMA_VERSION,
            taken_at,
            host: self.host.clone(),
            gpus,
            hosts: Vec::new(),
            origin: crate::sample::Origin::Live,
            warnings: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_errors_are_shortened() {
        let msg = "libnvidia-ml.so.1: cannot open shared object file: No such file or directory";
        assert_eq!(loader_reason(msg), "not found (is the NVIDIA driver installed?)");
    }

    #[test]
    fn init_errors_map_to_what_the_user_must_fix() {
        let lib = OsStr::new(DEFAULT_LIBRARY);
        assert!(matches!(
            init_error(NvmlError::DriverNotLoaded, lib),
            SourceError::DriverNotLoaded
        ));
        assert!(matches!(init_error(NvmlError::NoPermission, lib), SourceError::NoPermission));
        assert_eq!(init_error(NvmlError::Unknown, lib).exit_code(), 3);
    }
}
