//! The real source: NVML through `nvml-wrapper`. NVML is initialised once and kept (each init
//! can take ~1.5 s without persistence mode); devices are looked up by index on each sample,
//! which is cheap.

mod events;
mod ffi;
mod gpm;

use events::EventListener;
use gpm::GpmSampler;

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

/// Turns NVML results into `Option`s, keeps why each missing value is missing, and notices a
/// GPU that is lost mid-sample.
#[derive(Default)]
struct Reader {
    missing: MissingFields,
    lost: bool,
}

impl Reader {
    /// The value of `field` (its JSON name), or `None` with the reason noted.
    fn get<T>(&mut self, field: FieldKey, result: Result<T, NvmlError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.note(field, &e);
                None
            }
        }
    }

    fn note(&mut self, field: FieldKey, e: &NvmlError) {
        let missing = missing(e);
        self.lost |= missing.reason == MissingReason::GpuLost;
        // A pair read by several calls keeps the first reason.
        self.missing.insert_first(field, missing);
    }
}

/// Why NVML gave nothing: the reason its return code (`nvmlReturn_t`) stands for, where the
/// wrapper keeps the error's identity.
pub(super) fn missing(e: &NvmlError) -> Missing {
    let code = match e {
        // A symbol this library lacks: the feature is not there.
        NvmlError::FailedToLoadSymbol(_) => {
            return Missing { reason: MissingReason::NotSupported, nvml_code: None }
        }
        NvmlError::Uninitialized => 1,
        NvmlError::InvalidArg => 2,
        NvmlError::NotSupported => 3,
        NvmlError::NoPermission => 4,
        NvmlError::NotFound => 6,
        NvmlError::InsufficientSize(_) => 7,
        NvmlError::DriverNotLoaded => 9,
        NvmlError::Timeout => 10,
        NvmlError::FunctionNotFound => 13,
        NvmlError::GpuLost => 15,
        NvmlError::ResetRequired => 16,
        NvmlError::LibRmVersionMismatch => 18,
        NvmlError::InsufficientMemory => 20,
        NvmlError::NoData => 21,
        NvmlError::Unknown => 999,
        _ => return Missing { reason: MissingReason::Error, nvml_code: None },
    };
    Missing::from_nvml_code(code)
}

fn sample_device(d: &Device, index: u32, options: SampleOptions) -> GpuSample {
    let mut g = GpuSample::empty(index);
    let mut r = Reader::default();
    g.name = r.get(FieldKey::Name, d.name());
    g.uuid = r.get(FieldKey::Uuid, d.uuid());
    g.pci_bus_id = r.get(FieldKey::PciBusId, d.pci_info()).map(|p| p.bus_id);
    if let Some(m) = r.get(FieldKey::Memory, d.memory_info()) {
        g.memory = Memory {
            total_bytes: Some(m.total),
            used_bytes: Some(m.used),
            free_bytes: Some(m.free),
            reserved_bytes: Some(m.reserved),
        };
    }
    if let Some(u) = r.get(FieldKey::Utilization, d.utilization_rates()) {
        g.utilization.gpu_percent = Some(u.gpu);
        g.utilization.memory_percent = Some(u.memory);
    }
    g.utilization.encoder_percent =
        r.get(FieldKey::UtilizationEncoder, d.encoder_utilization()).map(|u| u.utilization);
    g.utilization.decoder_percent =
        r.get(FieldKey::UtilizationDecoder, d.decoder_utilization()).map(|u| u.utilization);
    g.temperature = Temperature {
        gpu_celsius: r.get(FieldKey::TemperatureGpu, d.temperature(TemperatureSensor::Gpu)),
        slowdown_celsius: r.get(
            FieldKey::TemperatureSlowdown,
            d.temperature_threshold(TemperatureThreshold::Slowdown),
        ),
        shutdown_celsius: r.get(
            FieldKey::TemperatureShutdown,
            d.temperature_threshold(TemperatureThreshold::Shutdown),
        ),
    };
    g.power = Power {
        draw_watts: r.get(FieldKey::PowerDraw, d.power_usage()).map(milli),
        limit_watts: r.get(FieldKey::PowerLimit, d.enforced_power_limit()).map(milli),
        management_limit_watts: r
            .get(FieldKey::PowerManagementLimit, d.power_management_limit())
            .map(milli),
        energy_joules: r
            .get(FieldKey::PowerEnergy, d.total_energy_consumption())
            .map(|mj| mj as f64 / 1000.0),
    };
    g.fan_percent = fan_percent(d, &mut r);
    g.clocks = Clocks {
        sm_mhz: r.get(FieldKey::ClocksSm, d.clock_info(Clock::SM)),
        memory_mhz: r.get(FieldKey::ClocksMemory, d.clock_info(Clock::Memory)),
        sm_max_mhz: r.get(FieldKey::ClocksSmMax, d.max_clock_info(Clock::SM)),
        memory_max_mhz: r.get(FieldKey::ClocksMemoryMax, d.max_clock_info(Clock::Memory)),
    };
    g.performance_state =
        r.get(FieldKey::PerformanceState, d.performance_state()).and_then(pstate_number);
    if options.pcie_throughput {
        // NVML gives KB/s.
        g.pcie = Pcie {
            tx_bytes_per_second: r
                .get(FieldKey::PcieTx, d.pcie_throughput(PcieUtilCounter::Send))
                .map(|k| u64::from(k) * 1024),
            rx_bytes_per_second: r
                .get(FieldKey::PcieRx, d.pcie_throughput(PcieUtilCounter::Receive))
                .map(|k| u64::from(k) * 1024),
        };
    }
    if let Some(reasons) = r.get(FieldKey::Throttle, d.current_throttle_reasons()) {
        g.throttle = Throttle::from_mask(reasons.bits());
    }
    g.ecc = Ecc {
        corrected: r.get(
            FieldKey::EccCorrected,
            d.total_ecc_errors(MemoryError::Corrected, EccCounter::Volatile),
        ),
        uncorrected: r.get(
            FieldKey::EccUncorrected,
            d.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Volatile),
        ),
    };
    g.mig_enabled = r.get(FieldKey::MigEnabled, d.mig_mode()).map(|m| m.current == 1);
    g.persistence_mode = r.get(FieldKey::PersistenceMode, d.is_in_persistent_mode());
    if g.mig_enabled == Some(true) {
        g.mig_instances = r.get(FieldKey::MigInstances, mig_instances(d));
    }
    g.processes = processes(d, &mut r);
    if options.details != DetailLevel::None {
        let bus_id = g.pci_bus_id.as_deref();
        g.details = Some(Box::new(details(d, bus_id, options.details, &mut r)));
    }

    if r.lost {
        g.status = GpuStatus::Lost;
        g.error = Some("GPU is lost".into());
    }
    g.missing = r.missing;
    g
}

/// The board's memory and link health, and with [`DetailLevel::All`] every other property
/// `--query-gpu` asks for beyond the sample; missing ones keep their reason under
/// `details.NAME`.
fn details(d: &Device, bus_id: Option<&str>, level: DetailLevel, r: &mut Reader) -> Details {
    let rest = match level {
        DetailLevel::All => query_details(d, bus_id, r),
        DetailLevel::Health | DetailLevel::None => Details::default(),
    };
    Details {
        pcie_link_gen_current: r.get(FieldKey::PcieLinkGenCurrent, d.current_pcie_link_gen()),
        pcie_link_gen_max: r.get(FieldKey::PcieLinkGenMax, d.max_pcie_link_gen()),
        pcie_link_width_current: r.get(FieldKey::PcieLinkWidthCurrent, d.current_pcie_link_width()),
        pcie_link_width_max: r.get(FieldKey::PcieLinkWidthMax, d.max_pcie_link_width()),
        pcie_replay_count: r.get(FieldKey::PcieReplayCount, d.pcie_replay_counter()),
        remapped_rows: r.get(FieldKey::RemappedRows, ffi::remapped_rows(d)),
        retired_pages_pending: r.get(FieldKey::RetiredPagesPending, d.are_pages_pending_retired()),
        ecc_aggregate_corrected: r.get(
            FieldKey::EccAggregate,
            d.total_ecc_errors(MemoryError::Corrected, EccCounter::Aggregate),
        ),
        ecc_aggregate_uncorrected: r.get(
            FieldKey::EccAggregate,
            d.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Aggregate),
        ),
        nvlink: nvlink(d, r),
        ..rest
    }
}

/// The `--query-gpu` properties beyond the board's health.
fn query_details(d: &Device, bus_id: Option<&str>, r: &mut Reader) -> Details {
    let ecc = r.get(FieldKey::EccMode, d.is_ecc_enabled());
    let limits = r.get(FieldKey::PowerLimitRange, d.power_management_limit_constraints());
    Details {
        serial: r.get(FieldKey::Serial, d.serial()),
        vbios_version: r.get(FieldKey::VbiosVersion, d.vbios_version()),
        compute_mode: r.get(FieldKey::ComputeMode, d.compute_mode()).map(|m| match m {
            nvml_wrapper::enum_wrappers::device::ComputeMode::Default => ComputeMode::Default,
            nvml_wrapper::enum_wrappers::device::ComputeMode::ExclusiveThread => {
                ComputeMode::ExclusiveThread
            }
            nvml_wrapper::enum_wrappers::device::ComputeMode::Prohibited => ComputeMode::Prohibited,
            nvml_wrapper::enum_wrappers::device::ComputeMode::ExclusiveProcess => {
                ComputeMode::ExclusiveProcess
            }
        }),
        display_attached: r.get(FieldKey::DisplayAttached, d.is_display_connected()),
        display_active: r.get(FieldKey::DisplayActive, d.is_display_active()),
        accounting_mode: r.get(FieldKey::AccountingMode, d.is_accounting_enabled()),
        ecc_mode_current: ecc.as_ref().map(|e| e.currently_enabled),
        ecc_mode_pending: ecc.as_ref().map(|e| e.pending_enabled),
        clock_graphics_mhz: r.get(FieldKey::ClockGraphics, d.clock_info(Clock::Graphics)),
        clock_graphics_max_mhz: r
            .get(FieldKey::ClockGraphicsMax, d.max_clock_info(Clock::Graphics)),
        power_default_limit_watts: r
            .get(FieldKey::PowerDefaultLimit, d.power_management_limit_default())
            .map(milli),
        power_min_limit_watts: limits.as_ref().map(|l| milli(l.min_limit)),
        power_max_limit_watts: limits.as_ref().map(|l| milli(l.max_limit)),
        retired_pages: r.get(FieldKey::RetiredPages, retired_pages(d)),
        pci: r.get(FieldKey::Pci, d.pci_info()).map(|p| PciIds {
            domain: p.domain,
            bus: p.bus,
            device: p.device,
            device_id: p.pci_device_id,
            sub_device_id: p.pci_sub_system_id,
        }),
        mig_mode_pending: r.get(FieldKey::MigModePending, d.mig_mode()).map(|m| m.pending == 1),
        compute_capability: r
            .get(FieldKey::ComputeCapability, d.cuda_compute_capability())
            .map(|c| format!("{}.{}", c.major, c.minor)),
        clock_video_mhz: r.get(FieldKey::ClockVideo, d.clock_info(Clock::Video)),
        applications_clocks_mhz: r.get(
            FieldKey::ApplicationsClocks,
            d.applications_clock(Clock::Graphics)
                .and_then(|g| Ok((g, d.applications_clock(Clock::Memory)?))),
        ),
        default_applications_clocks_mhz: r.get(
            FieldKey::DefaultApplicationsClocks,
            d.default_applications_clock(Clock::Graphics)
                .and_then(|g| Ok((g, d.default_applications_clock(Clock::Memory)?))),
        ),
        encoder_sessions: r
            .get(FieldKey::EncoderSessions, d.encoder_stats())
            .map(|e| (e.session_count, e.average_fps, e.average_latency)),
        throttle_supported_mask: r
            .get(FieldKey::ThrottleSupportedMask, d.supported_throttle_reasons())
            .map(|m| m.bits()),
        inforom: Inforom {
            image: r.get(FieldKey::InforomImage, d.info_rom_image_version()),
            oem: r.get(FieldKey::InforomOem, d.info_rom_version(InfoRom::OEM)),
            ecc: r.get(FieldKey::InforomEcc, d.info_rom_version(InfoRom::ECC)),
            power: r.get(FieldKey::InforomPower, d.info_rom_version(InfoRom::Power)),
            checksum_valid: match d.validate_info_rom() {
                Ok(()) => Some(true),
                Err(NvmlError::CorruptedInfoROM) => Some(false),
                Err(e) => {
                    r.note(FieldKey::InforomChecksumValid, &e);
                    None
                }
            },
        },
        ecc_locations: ecc_locations(d, r),
        fabric: r.get(FieldKey::Fabric, ffi::fabric(d)),
        utilization_jpeg_percent: r
            .get(FieldKey::UtilizationJpeg, ffi::engine_utilization(d, true)),
        utilization_ofa_percent: r.get(FieldKey::UtilizationOfa, ffi::engine_utilization(d, false)),
        pcie_link_gen_gpu_max: r.get(FieldKey::PcieLinkGenGpuMax, ffi::gpu_max_pcie_link_gen(d)),
        accounting_buffer_size: r.get(FieldKey::AccountingBufferSize, d.accounting_buffer_size()),
        operation_mode: r
            .get(FieldKey::OperationMode, d.gpu_operation_mode())
            .map(|m| (operation_mode(m.current), operation_mode(m.pending))),
        temperature_margin_celsius: r.get(FieldKey::TemperatureMargin, ffi::margin_temperature(d)),
        pcie_link_gen_host_max: bus_id.and_then(sysfs::host_max_pcie_gen),
        pci_class: r.get(FieldKey::PciClass, ffi::pci_class(d)),
        power_management: r.get(FieldKey::PowerManagement, ffi::power_management(d)),
        addressing_mode: r.get(FieldKey::AddressingMode, ffi::addressing_mode(d)),
        dram_encryption: r.get(FieldKey::DramEncryption, ffi::dram_encryption(d)),
        gsp_firmware: r.get(FieldKey::GspFirmware, ffi::gsp_firmware(d)),
        c2c_enabled: r.get(FieldKey::C2cEnabled, ffi::c2c_enabled(d)),
        protected_memory_bytes: r.get(FieldKey::ProtectedMemory, ffi::protected_memory(d)),
        kmd_version: sysfs::kernel_module_version(),
        platform: r.get(FieldKey::Platform, ffi::platform(d)),
        module_id: r.get(FieldKey::ModuleId, ffi::module_id(d)),
        vgpu_capabilities: r.get(FieldKey::VgpuCapabilities, ffi::vgpu_capabilities(d)),
        module_power: module_power(d, r),
        vgpu_heterogeneous_multi_vgpu: r
            .get(FieldKey::VgpuHeterogeneousMultiVgpu, ffi::vgpu_heterogeneous_multi_vgpu(d)),
        ..field_values(d, r)
    }
}

/// ECC counts of each memory location; a location the GPU does not count is NOT_SUPPORTED
/// at its first counter and not asked again.
fn ecc_locations(d: &Device, r: &mut Reader) -> EccLocations {
    use nvml_wrapper::enum_wrappers::device::MemoryLocation as At;
    let mut counts = |location: At, key: FieldKey| {
        let read = |error, counter| d.memory_error_counter(error, counter, location);
        let first = read(MemoryError::Corrected, EccCounter::Volatile);
        if first.is_err() {
            r.get::<u64>(key, first);
            return EccCounts::default();
        }
        EccCounts {
            corrected_volatile: first.ok(),
            uncorrected_volatile: r.get(key, read(MemoryError::Uncorrected, EccCounter::Volatile)),
            corrected_aggregate: r.get(key, read(MemoryError::Corrected, EccCounter::Aggregate)),
            uncorrected_aggregate: r
                .get(key, read(MemoryError::Uncorrected, EccCounter::Aggregate)),
        }
    };
    EccLocations {
        l1_cache: counts(At::L1Cache, FieldKey::EccLocationL1Cache),
        l2_cache: counts(At::L2Cache, FieldKey::EccLocationL2Cache),
        dram: counts(At::Device, FieldKey::EccLocationDram),
        register_file: counts(At::RegisterFile, FieldKey::EccLocationRegisterFile),
        texture_memory: counts(At::Texture, FieldKey::EccLocationTextureMemory),
        cbu: counts(At::Cbu, FieldKey::EccLocationCbu),
        sram: counts(At::SRAM, FieldKey::EccLocationSram),
    }
}

/// The pages retired for either cause.
fn retired_pages(d: &Device) -> Result<Vec<RetiredPage>, NvmlError> {
    let mut pages = Vec::new();
    for (cause, as_model) in [
        (
            RetirementCause::MultipleSingleBitEccErrors,
            crate::sample::RetirementCause::MultipleSingleBitEcc,
        ),
        (RetirementCause::DoubleBitEccError, crate::sample::RetirementCause::DoubleBitEcc),
    ] {
        let retired = d.retired_pages(cause)?;
        pages.extend(
            retired.into_iter().map(|p| RetiredPage { address: p.address, cause: as_model }),
        );
    }
    Ok(pages)
}

fn operation_mode(m: nvml_wrapper::enum_wrappers::device::OperationMode) -> OperationMode {
    use nvml_wrapper::enum_wrappers::device::OperationMode as Nvml;
    match m {
        Nvml::AllOn => OperationMode::AllOn,
        Nvml::Compute => OperationMode::Compute,
        Nvml::LowDP => OperationMode::LowDoublePrecision,
    }
}

/// The details NVML gives as field values, in one call: memory temperature, power averaged
/// and instant, the clock event reason counters. Each has its own reason when missing.
fn field_values(d: &Device, r: &mut Reader) -> Details {
    use nvml_wrapper::sys_exports::field_id::*;
    const FIELDS: [(u32, FieldKey); 11] = [
        (NVML_FI_DEV_MEMORY_TEMP, FieldKey::TemperatureMemory),
        (NVML_FI_DEV_POWER_AVERAGE, FieldKey::PowerAverage),
        (NVML_FI_DEV_POWER_INSTANT, FieldKey::PowerInstant),
        (NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_POWER_CAP, FieldKey::ClockEventCounters),
        (NVML_FI_DEV_CLOCKS_EVENT_REASON_SYNC_BOOST, FieldKey::ClockEventCounters),
        (NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN, FieldKey::ClockEventCounters),
        (NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN, FieldKey::ClockEventCounters),
        (NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN, FieldKey::ClockEventCounters),
        (NVML_FI_DEV_GET_GPU_RECOVERY_ACTION, FieldKey::RecoveryAction),
        (NVML_FI_DEV_RESET_STATUS, FieldKey::ResetRequired),
        (NVML_FI_DEV_DRAIN_AND_RESET_STATUS, FieldKey::DrainAndResetRecommended),
    ];
    let ids: Vec<FieldId> = FIELDS.iter().map(|(id, _)| FieldId(*id)).collect();
    let mut values = [None; FIELDS.len()];
    match d.field_values_for(&ids) {
        Ok(samples) => {
            for (i, sample) in samples.into_iter().enumerate().take(FIELDS.len()) {
                let value = sample.and_then(|s| s.value).map(|v| sample_number(&v));
                values[i] = r.get(FIELDS[i].1, value);
            }
        }
        Err(e) => {
            for (_, key) in FIELDS {
                r.note(key, &e);
            }
        }
    }
    let milliwatts = |v: Option<f64>| v.map(|mw| mw / 1000.0);
    Details {
        temperature_memory_celsius: values[0].map(|v| v as u32),
        power_average_watts: milliwatts(values[1]),
        power_instant_watts: milliwatts(values[2]),
        clock_event_counters_us: ClockEventCounters {
            sw_power_cap: values[3].map(|v| v as u64),
            sync_boost: values[4].map(|v| v as u64),
            sw_thermal_slowdown: values[5].map(|v| v as u64),
            hw_thermal_slowdown: values[6].map(|v| v as u64),
            hw_power_brake_slowdown: values[7].map(|v| v as u64),
        },
        recovery_action: values[8].and_then(|v| RecoveryAction::from_nvml(v as u32)),
        reset_required: values[9].map(|v| v != 0.0),
        drain_and_reset_recommended: values[10].map(|v| v != 0.0),
        ..Details::default()
    }
}

/// The module's power readings and limits (a GB200 superchip), each `None` where the driver
/// refused it; `None` with the first field's reason when it gave none.
fn module_power(d: &Device, r: &mut Reader) -> Option<ModulePower> {
    use nvml_wrapper::sys_exports::field_id::*;
    use nvml_wrapper_sys::bindings::NVML_POWER_SCOPE_MODULE;
    const FIELDS: [u32; 7] = [
        NVML_FI_DEV_POWER_AVERAGE,
        NVML_FI_DEV_POWER_INSTANT,
        NVML_FI_DEV_POWER_REQUESTED_LIMIT,
        NVML_FI_DEV_POWER_CURRENT_LIMIT,
        NVML_FI_DEV_POWER_DEFAULT_LIMIT,
        NVML_FI_DEV_POWER_MIN_LIMIT,
        NVML_FI_DEV_POWER_MAX_LIMIT,
    ];
    let samples = r.get(
        FieldKey::ModulePower,
        ffi::field_values_at_scope(d, &FIELDS, NVML_POWER_SCOPE_MODULE),
    )?;
    let mut watts = [None; FIELDS.len()];
    let mut first_error = None;
    for (slot, sample) in watts.iter_mut().zip(samples) {
        match sample.and_then(|s| s.value) {
            Ok(v) => *slot = Some(sample_number(&v) / 1000.0),
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    if watts.iter().all(Option::is_none) {
        if let Some(e) = first_error {
            r.note(FieldKey::ModulePower, &e);
        }
        return None;
    }
    let [draw_average_watts, draw_instant_watts, limit_watts, enforced_limit_watts, default_limit_watts, min_limit_watts, max_limit_watts] =
        watts;
    Some(ModulePower {
        draw_average_watts,
        draw_instant_watts,
        limit_watts,
        enforced_limit_watts,
        default_limit_watts,
        min_limit_watts,
        max_limit_watts,
    })
}

/// A field value as a number, whatever type the driver chose for it.
fn sample_number(v: &SampleValue) -> f64 {
    match *v {
        SampleValue::F64(x) => x,
        SampleValue::U32(x) => f64::from(x),
        SampleValue::U64(x) => x as f64,
        SampleValue::I64(x) => x as f64,
    }
}

/// The error counters of the NVLink links that are up, summed; NOT_SUPPORTED on the first
/// link of a GPU without NVLink ends it at one call. A counter refused on any link that is up
/// is `None` with its reason under `details.nvlink.<counter>`: a partial sum would read as a
/// healthy link.
fn nvlink(d: &Device, r: &mut Reader) -> Option<NvlinkHealth> {
    use nvml_wrapper::enum_wrappers::nv_link::ErrorCounter;
    /// `NVML_NVLINK_MAX_LINKS`.
    const MAX_LINKS: u32 = 18;
    const COUNTERS: [(ErrorCounter, FieldKey); 4] = [
        (ErrorCounter::DlReplay, FieldKey::NvlinkReplayErrors),
        (ErrorCounter::DlRecovery, FieldKey::NvlinkRecoveryErrors),
        (ErrorCounter::DlCrcFlit, FieldKey::NvlinkCrcFlitErrors),
        (ErrorCounter::DlCrcData, FieldKey::NvlinkCrcDataErrors),
    ];
    let mut active_links = 0;
    let mut sums = [Some(0u64); 4];
    for link in 0..MAX_LINKS {
        let wrapper = d.link_wrapper_for(link);
        match wrapper.is_active() {
            Ok(true) => {}
            Ok(false) => continue,
            Err(NvmlError::InvalidArg) => break,
            Err(e) if link == 0 => {
                r.note(FieldKey::Nvlink, &e);
                return None;
            }
            Err(_) => continue,
        }
        active_links += 1;
        for ((counter, field), sum) in COUNTERS.into_iter().zip(&mut sums) {
            let Some(total) = sum else { continue };
            match wrapper.error_counter(counter) {
                Ok(count) => *total += count,
                Err(e) => {
                    r.note(field, &e);
                    *sum = None;
                }
            }
        }
    }
    let [replay_errors, recovery_errors, crc_flit_errors, crc_data_errors] = sums;
    Some(NvlinkHealth {
        active_links,
        replay_errors,
        recovery_errors,
        crc_flit_errors,
        crc_data_errors,
    })
}

/// The MIG devices of a GPU with MIG on, in NVML's slots (empty slots are NOT_FOUND).
fn mig_instances(d: &Device) -> Result<Vec<MigInstance>, NvmlError> {
    let mut instances = Vec::new();
    for index in 0..d.mig_device_count()? {
        let m = match d.mig_device_by_index(index) {
            Ok(m) => m,
            Err(NvmlError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        let memory = m.memory_info().ok();
        instances.push(MigInstance {
            index,
            uuid: m.uuid().ok(),
            // "NVIDIA H100 80GB HBM3 MIG 3g.40gb"
            profile: m.name().ok().and_then(|n| Some(n.split_once(" MIG ")?.1.to_string())),
            gpu_instance_id: ffi::gpu_instance_id(&m).ok(),
            compute_instance_id: ffi::compute_instance_id(&m).ok(),
            memory: Memory {
                total_bytes: memory.as_ref().map(|m| m.total),
                used_bytes: memory.as_ref().map(|m| m.used),
                free_bytes: memory.as_ref().map(|m| m.free),
                reserved_bytes: memory.as_ref().map(|m| m.reserved),
            },
            activity: None,
        });
    }
    Ok(instances)
}

fn milli(v: u32) -> f64 {
    f64::from(v) / 1000.0
}

/// The first fan's speed; passively cooled cards have none (NOT_SUPPORTED → `None`).
fn fan_percent(d: &Device, r: &mut Reader) -> Option<u32> {
    match r.get(FieldKey::FanPercent, d.num_fans()) {
        Some(0) => {
            r.missing.insert(
                FieldKey::FanPercent,
                Missing { reason: MissingReason::NotSupported, nvml_code: None },
            );
            None
        }
        _ => r.get(FieldKey::FanPercent, d.fan_speed(0)),
    }
}

fn pstate_number(p: PerformanceState) -> Option<u8> {
    use PerformanceState::*;
    let all = [
        Zero, One, Two, Three, Four, Five, Six, Seven, Eight, Nine, Ten, Eleven, Twelve, Thirteen,
        Fourteen, Fifteen,
    ];
    all.iter().position(|s| *s == p).map(|i| i as u8)
}

/// Compute, graphics and MPS processes merged by PID, with per-process SM/memory utilization;
/// `None` (unknown, with the reason noted) when a list that the GPU supports could not be read.
/// A list this GPU does not have (NOT_SUPPORTED: MPS off, graphics on a compute-only card)
/// is simply empty, unless no list at all can be read.
fn processes(d: &Device, r: &mut Reader) -> Option<Vec<GpuProcess>> {
    let mut by_pid: BTreeMap<u32, GpuProcess> = BTreeMap::new();
    let lists = [
        (with_retries(|| d.running_compute_processes()), ProcessKind::Compute),
        (with_retries(|| d.running_graphics_processes()), ProcessKind::Graphics),
        (with_retries(|| d.mps_running_compute_processes()), ProcessKind::Compute),
    ];
    let mut not_supported = None;
    let mut listed = 0;
    for (list, kind) in lists {
        match list {
            Ok(list) => {
                listed += 1;
                for info in list {
                    merge_process(&mut by_pid, info, kind);
                }
            }
            Err(e) if missing(&e).reason == MissingReason::NotSupported => not_supported = Some(e),
            Err(e) => {
                r.note(FieldKey::Processes, &e);
                return None;
            }
        }
    }
    if listed == 0 {
        if let Some(e) = not_supported {
            r.note(FieldKey::Processes, &e);
        }
        return None;
    }
    if !by_pid.is_empty() {
        for s in process_utilization(d, r) {
            if let Some(p) = by_pid.get_mut(&s.pid) {
                p.sm_percent = Some(s.sm_util);
                p.memory_percent = Some(s.mem_util);
            }
        }
    }
    Some(by_pid.into_values().collect())
}

/// A process list, asked again when processes started between NVML's size query and the fill
/// outgrew the room left for them (INSUFFICIENT_SIZE): a busy GPU, not an unknown list.
fn with_retries(
    list: impl Fn() -> Result<Vec<ProcessInfo>, NvmlError>,
) -> Result<Vec<ProcessInfo>, NvmlError> {
    let mut result = list();
    for _ in 0..2 {
        match result {
            Err(NvmlError::InsufficientSize(_)) => result = list(),
            _ => break,
        }
    }
    result
}

fn merge_process(by_pid: &mut BTreeMap<u32, GpuProcess>, info: ProcessInfo, kind: ProcessKind) {
    let memory = match info.used_gpu_memory {
        UsedGpuMemory::Used(bytes) => Some(bytes),
        UsedGpuMemory::Unavailable => None,
    };
    let p = by_pid
        .entry(info.pid)
        .and_modify(|p| {
            p.kind = Some(p.kind.map_or(kind, |k| k.merge(kind)));
            p.gpu_memory_bytes = p.gpu_memory_bytes.or(memory);
        })
        .or_insert_with(|| GpuProcess::new(info.pid, kind, memory));
    p.gpu_instance_id = p.gpu_instance_id.or(info.gpu_instance_id);
    p.compute_instance_id = p.compute_instance_id.or(info.compute_instance_id);
}

/// The newest utilization sample of each process in the last few seconds. NOT_FOUND (no
/// sample newer than the timestamp) and NOT_SUPPORTED (e.g. MIG) both mean "none".
fn process_utilization(
    d: &Device,
    r: &mut Reader,
) -> Vec<nvml_wrapper::struct_wrappers::device::ProcessUtilizationSample> {
    let since = SystemTime::now()
        .checked_sub(PROCESS_UTILIZATION_WINDOW)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_micros() as u64);
    let mut samples = match d.process_utilization_stats(since) {
        Ok(samples) => samples,
        Err(NvmlError::NotFound) => Vec::new(),
        Err(e) => {
            r.note(FieldKey::ProcessesUtilization, &e);
            Vec::new()
        }
    };
    samples.sort_by_key(|s| (s.pid, std::cmp::Reverse(s.timestamp)));
    samples.dedup_by_key(|s| s.pid);
    samples
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

    #[test]
    fn pstates_are_numbered() {
        assert_eq!(pstate_number(PerformanceState::Zero), Some(0));
        assert_eq!(pstate_number(PerformanceState::Twelve), Some(12));
        assert_eq!(pstate_number(PerformanceState::Unknown), None);
    }

    #[test]
    fn a_pid_listed_twice_becomes_compute_graphics() {
        let mut by_pid = BTreeMap::new();
        let info = |mem| ProcessInfo {
            pid: 7,
            used_gpu_memory: mem,
            gpu_instance_id: None,
            compute_instance_id: None,
        };
        merge_process(&mut by_pid, info(UsedGpuMemory::Unavailable), ProcessKind::Compute);
        merge_process(&mut by_pid, info(UsedGpuMemory::Used(10)), ProcessKind::Graphics);
        let p = &by_pid[&7];
        assert_eq!(p.kind, Some(ProcessKind::ComputeGraphics));
        assert_eq!(p.gpu_memory_bytes, Some(10));
    }
}
