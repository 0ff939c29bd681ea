//! The simulated source behind `--demo`: the same scenario model as the fake NVML library,
//! read directly, with the processes' host details taken from the scenario.

use std::time::{SystemTime, UNIX_EPOCH};

use super::placement;
use super::selection::{self, GpuIdentity, GpuSelector};
use super::{DemoFleet, Source, SourceError};
use crate::sample::*;
use crate::scenario::{
    GpmSpec, GpuSpec, ProcessKindSpec, ProcessSpec, Reading, Scenario, VendorSpec,
};

const MIB: f64 = 1024.0 * 1024.0;

pub struct SimSource {
    scenario: Scenario,
    indices: Vec<u32>,
    host: HostInfo,
    details: bool,
    activity: bool,
    events: bool,
}

impl SimSource {
    pub fn open(fleet: &DemoFleet, selection: &[GpuSelector]) -> Result<Self, SourceError> {
        let scenario = match fleet {
            DemoFleet::Gpus(n) => Scenario::demo_machine(*n),
            DemoFleet::Scenario(path) => {
                let scenario = Scenario::from_file(path).map_err(SourceError::Scenario)?;
                if scenario.gpus.is_empty() {
                    return Err(SourceError::Scenario(format!(
                        "the scenario {} has no GPU: add a [[gpus]] section with a name",
                        path.display()
                    )));
                }
                scenario
            }
        };
        Self::new(scenario, selection)
    }

    pub fn new(scenario: Scenario, selection: &[GpuSelector]) -> Result<Self, SourceError> {
        let count = scenario.gpus.len() as u32;
        let indices = selection::resolve(selection, count, |i| {
            let gpu = &scenario.gpus[i as usize];
            GpuIdentity {
                uuid: gpu.uuid(i as usize).ok(),
                pci_bus_id: gpu.pci_bus_id(i as usize).ok(),
                mig_uuids: (0..gpu.mig_devices().len())
                    .filter_map(|slot| Some(gpu.mig_devices().get(slot)?.uuid(i as usize, slot)))
                    .collect(),
            }
        })?;
        let host = HostInfo {
            hostname: Some("demo".into()),
            driver_version: Some(scenario.driver.version.clone()),
            cuda_driver_version: Some(cuda_version_string(scenario.driver.cuda_version)),
            nvml_version: Some(scenario.driver.nvml_version.clone()),
            ..HostInfo::default()
        };
        Ok(Self { scenario, indices, host, details: false, activity: false, events: false })
    }

    /// Also fill each GPU's [`Details`], as the NVML source does when asked.
    pub fn with_details(mut self, details: bool) -> Self {
        self.details = details;
        self
    }

    /// Also fill each GPU's GPM [`Activity`] (the NVML source needs two samples for it, so it
    /// reads it only in the modes that sample again and again).
    pub fn with_activity(mut self, activity: bool) -> Self {
        self.activity = activity;
        self
    }

    /// Say, in each GPU's `missing["events"]`, why its events are not listened to: there is
    /// no driver to raise them (the modes where the NVML source listens ask for this).
    pub fn with_events(mut self, events: bool) -> Self {
        self.events = events;
        self
    }

    /// A snapshot at scenario time `t` (seconds since the Unix epoch), so tests and benches can
    /// drive time explicitly.
    pub fn sample_at(&self, t: f64) -> Snapshot {
        let gpus = self
            .indices
            .iter()
            .map(|&i| {
                let spec = &self.scenario.gpus[i as usize];
                let mut g = sample_gpu(spec, i, t);
                if let Some(driver) = other_vendor(spec) {
                    as_the_driver_reads(&mut g, spec, driver);
                    return g;
                }
                if self.details && g.status == GpuStatus::Ok {
                    g.details = Some(Box::new(details(spec, &g, t)));
                }
                if self.events && g.status == GpuStatus::Ok {
                    let simulated = Missing { reason: MissingReason::Simulated, nvml_code: None };
                    g.missing.insert(FieldKey::Events, simulated);
                }
                if self.activity && g.status == GpuStatus::Ok {
                    if spec.gpm().is_ok() {
                        let mig = spec.mig_devices();
                        for (m, s) in g.mig_instances.iter_mut().flatten().zip(mig) {
                            m.activity = s.gpm.as_ref().map(|gpm| activity(gpm, t));
                        }
                    }
                    match spec.gpm() {
                        Ok(gpm) => g.activity = Some(Box::new(activity(gpm, t))),
                        Err(code) => {
                            let code = code.as_nvml_return();
                            g.missing.insert(FieldKey::Activity, Missing::from_nvml_code(code));
                        }
                    }
                }
                g
            })
            .collect();
        let taken_at =
            chrono::DateTime::from_timestamp_micros((t * 1e6) as i64).unwrap_or_default();
        Snapshot {
            schema_version: SCHEMA_VERSION,
            taken_at,
            host: self.host.clone(),
            gpus,
            hosts: Vec::new(),
            origin: crate::sample::Origin::Simulated,
            warnings: Vec::new(),
        }
    }
}

impl Source for SimSource {
    fn sample(&mut self) -> Result<Snapshot, SourceError> {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        Ok(self.sample_at(t))
    }
}

/// What the fake NVML library answers for the same scenario: graphics clocks as the SM's,
/// compute mode Default, no display initialized, ECC on where ECC is counted.
fn details(spec: &GpuSpec, g: &GpuSample, t: f64) -> Details {
    let link = spec.pcie_link().ok();
    let range = spec.power_limit_range().ok();
    let ecc = spec.ecc().ok().map(|_| true);
    Details {
        serial: spec.serial().ok(),
        vbios_version: spec.vbios_version().ok(),
        compute_mode: Some(ComputeMode::Default),
        temperature_margin_celsius: spec.margin_temperature(t).ok(),
        pci_class: spec.pci_class().ok().map(|[base, sub]| (base, sub)),
        power_management: spec.power_management().ok(),
        addressing_mode: spec.addressing_mode().ok().and_then(AddressingMode::from_nvml),
        dram_encryption: spec.dram_encryption().ok().map(|[now, next]| (now, next)),
        gsp_firmware: spec.gsp_firmware().ok().map(|[on, by_default]| (on, by_default)),
        c2c_enabled: spec.c2c_enabled().ok(),
        protected_memory_bytes: spec.protected_memory().ok().map(|[total, used]| (total, used)),
        recovery_action: spec.recovery_action().ok().and_then(RecoveryAction::from_nvml),
        // The host's sysfs has neither for a simulated GPU.
        pcie_link_gen_host_max: None,
        kmd_version: None,
        platform: spec.platform().ok().map(|p| {
            let numbers = [p.slot_number, p.tray_index, p.host_id, p.peer_type, p.module_id];
            Platform::from_nvml(&p.ib_guid_bytes(), &p.chassis_serial_bytes(), numbers)
        }),
        module_id: spec.module_id().ok(),
        reset_required: spec.reset_status().ok().map(|r| r.0),
        drain_and_reset_recommended: spec.reset_status().ok().map(|r| r.1),
        vgpu_capabilities: (0..3)
            .map(|c| spec.vgpu_capability(c).ok())
            .collect::<Option<Vec<bool>>>()
            .map(|c| VgpuCapabilities {
                fractional_multi_vgpu: c[0],
                heterogeneous_timeslice_profiles: c[1],
                heterogeneous_timeslice_sizes: c[2],
            }),
        module_power: spec.module_power.as_ref().map(|_| {
            use nvml_wrapper::sys_exports::field_id::*;
            let w = |field| spec.module_power_mw(field, t).ok().map(|mw| f64::from(mw) / 1000.0);
            ModulePower {
                draw_average_watts: w(NVML_FI_DEV_POWER_AVERAGE),
                draw_instant_watts: w(NVML_FI_DEV_POWER_INSTANT),
                limit_watts: w(NVML_FI_DEV_POWER_REQUESTED_LIMIT),
                enforced_limit_watts: w(NVML_FI_DEV_POWER_CURRENT_LIMIT),
                default_limit_watts: w(NVML_FI_DEV_POWER_DEFAULT_LIMIT),
                min_limit_watts: w(NVML_FI_DEV_POWER_MIN_LIMIT),
                max_limit_watts: w(NVML_FI_DEV_POWER_MAX_LIMIT),
            }
        }),
        // The simulated driver is bare-metal.
        vgpu_heterogeneous_multi_vgpu: None,
        display_attached: spec.display_mode().ok(),
        display_active: Some(false),
        accounting_mode: spec.accounting_mode().ok(),
        ecc_mode_current: ecc,
        ecc_mode_pending: ecc,
        pcie_link_gen_current: link.map(|(gen, _)| gen[0]),
        pcie_link_gen_max: link.map(|(gen, _)| gen[1]),
        pcie_link_width_current: link.map(|(_, width)| width[0]),
        pcie_link_width_max: link.map(|(_, width)| width[1]),
        pcie_replay_count: spec.pcie_replay_count().ok(),
        clock_graphics_mhz: split(spec.clocks(t)).0,
        clock_graphics_max_mhz: g.clocks.sm_max_mhz,
        power_default_limit_watts: spec.power_default_limit().ok(),
        power_min_limit_watts: range.map(|r| r[0]),
        power_max_limit_watts: range.map(|r| r[1]),
        remapped_rows: spec.remapped_rows().ok().map(|r| RemappedRows {
            correctable: r.correctable,
            uncorrectable: r.uncorrectable,
            pending: r.pending,
            failed: r.failed,
        }),
        retired_pages_pending: spec.retired_pages_pending().ok(),
        retired_pages_failed: None,
        retired_pages: spec.retired_pages(0).ok().zip(spec.retired_pages(1).ok()).map(
            |(single, double)| {
                let page = |cause| move |(address, _)| RetiredPage { address, cause };
                let single = single.into_iter().map(page(RetirementCause::MultipleSingleBitEcc));
                single.chain(double.into_iter().map(page(RetirementCause::DoubleBitEcc))).collect()
            },
        ),
        ecc_aggregate_corrected: spec.ecc_aggregate().ok().map(|(c, _)| c),
        ecc_aggregate_uncorrected: spec.ecc_aggregate().ok().map(|(_, u)| u),
        pci: spec.pci_bus_id(g.index as usize).ok().and_then(|bus| {
            let mut parts = bus.split([':', '.']).map(|p| u32::from_str_radix(p, 16).ok());
            Some(PciIds {
                domain: parts.next()??,
                bus: parts.next()??,
                device: parts.next()??,
                device_id: 0x2330_10de,
                sub_device_id: Some(0x16c1_10de),
            })
        }),
        mig_mode_pending: spec.mig().ok(),
        compute_capability: spec.compute_capability().ok().map(|[a, b]| format!("{a}.{b}")),
        clock_video_mhz: spec.clock_video(t).ok(),
        applications_clocks_mhz: spec.applications_clocks(false).ok().map(|[g, m]| (g, m)),
        default_applications_clocks_mhz: spec.applications_clocks(true).ok().map(|[g, m]| (g, m)),
        encoder_sessions: spec.encoder_stats().ok().map(|[n, f, l]| (n, f, l)),
        throttle_supported_mask: spec.throttle_reasons(0.0).ok().map(|_| 0x1ff),
        nvlink: spec.nvlink().ok().map(|n| NvlinkHealth {
            active_links: n.active_links,
            replay_errors: spec.nvlink_error_counter(0).ok(),
            recovery_errors: spec.nvlink_error_counter(1).ok(),
            crc_flit_errors: spec.nvlink_error_counter(2).ok(),
            crc_data_errors: spec.nvlink_error_counter(3).ok(),
        }),
        inforom: Inforom {
            image: spec.inforom_image().ok(),
            oem: spec.inforom_object(0).ok(),
            ecc: spec.inforom_object(1).ok(),
            power: spec.inforom_object(2).ok(),
            checksum_valid: match spec.validate_inforom() {
                Ok(()) => Some(true),
                Err(crate::scenario::ErrorCode::CorruptedInforom) => Some(false),
                Err(_) => None,
            },
        },
        fabric: spec.fabric().ok().and_then(|(uuid, status, clique_id, state)| {
            let status = if status == 0 { "Success" } else { "Unknown Error" };
            Fabric::from_nvml(state, status.to_string(), clique_id, uuid)
        }),
        utilization_jpeg_percent: spec.jpeg(t).ok(),
        utilization_ofa_percent: spec.ofa(t).ok(),
        pcie_link_gen_gpu_max: spec.pcie_link_gen_gpu_max().ok(),
        accounting_buffer_size: spec.accounting_buffer_size().ok(),
        ecc_locations: {
            let counts = |location| {
                let read =
                    |error, counter| spec.memory_error_counter(error, counter, location).ok();
                EccCounts {
                    corrected_volatile: read(0, 0),
                    uncorrected_volatile: read(1, 0),
                    corrected_aggregate: read(0, 1),
                    uncorrected_aggregate: read(1, 1),
                }
            };
            EccLocations {
                l1_cache: counts(0),
                l2_cache: counts(1),
                dram: counts(2),
                register_file: counts(3),
                texture_memory: counts(4),
                cbu: counts(6),
                sram: counts(7),
            }
        },
        operation_mode: spec
            .operation_mode()
            .ok()
            .map(|(c, p)| (operation_mode(c), operation_mode(p))),
        temperature_memory_celsius: spec.temperature_memory(t).ok(),
        power_average_watts: spec.power_average_instant_mw(t).ok().map(|p| f64::from(p.0) / 1000.0),
        power_instant_watts: spec.power_average_instant_mw(t).ok().map(|p| f64::from(p.1) / 1000.0),
        // The demo's driver was loaded at the start of the day.
        clock_event_counters_us: {
            let counter = |bit| spec.throttle_counter_us(bit, t, t.rem_euclid(86_400.0)).ok();
            ClockEventCounters {
                sw_power_cap: counter(0x4),
                sync_boost: counter(0x10),
                sw_thermal_slowdown: counter(0x20),
                hw_thermal_slowdown: counter(0x40),
                hw_power_brake_slowdown: counter(0x80),
            }
        },
    }
}

/// `nvmlGpuOperationMode_t` as the model names it.
fn operation_mode(value: u32) -> OperationMode {
    match value {
        1 => OperationMode::Compute,
        2 => OperationMode::LowDoublePrecision,
        _ => OperationMode::AllOn,
    }
}

fn activity(gpm: &GpmSpec, t: f64) -> Activity {
    let bytes = |id| gpm.metric(id, t).map(|mib_s| (mib_s * 1_048_576.0) as u64);
    Activity {
        sm_active_percent: gpm.metric(2, t),
        sm_occupancy_percent: gpm.metric(3, t),
        tensor_active_percent: gpm.metric(5, t),
        dram_active_percent: gpm.metric(10, t),
        fp64_active_percent: gpm.metric(11, t),
        fp32_active_percent: gpm.metric(12, t),
        fp16_active_percent: gpm.metric(13, t),
        pcie_tx_bytes_per_second: bytes(20),
        pcie_rx_bytes_per_second: bytes(21),
        nvlink_tx_bytes_per_second: bytes(61),
        nvlink_rx_bytes_per_second: bytes(60),
    }
}

fn sample_gpu(spec: &GpuSpec, index: u32, t: f64) -> GpuSample {
    if spec.lost {
        return GpuSample::unavailable(index, GpuStatus::Lost, "GPU is lost");
    }
    let i = index as usize;
    let mut g = GpuSample::empty(index);
    g.name = spec.name().ok();
    g.uuid = spec.uuid(i).ok();
    g.pci_bus_id = spec.pci_bus_id(i).ok();
    // As NVML's v2 memory info: used is what is allocated, apart from what is reserved.
    if let Ok((total, reserved, used)) = spec.memory_bytes(t) {
        g.memory = Memory {
            total_bytes: Some(total),
            used_bytes: Some(used),
            free_bytes: Some(total - reserved - used),
            reserved_bytes: Some(reserved),
        };
    }
    let (gpu, mem) = split(spec.utilization(t));
    g.utilization = Utilization {
        gpu_percent: gpu,
        memory_percent: mem,
        encoder_percent: spec.encoder(t).ok(),
        decoder_percent: spec.decoder(t).ok(),
    };
    let (slowdown, shutdown) = split(spec.temperature_thresholds());
    g.temperature = Temperature {
        gpu_celsius: spec.temperature(t).ok(),
        slowdown_celsius: slowdown,
        shutdown_celsius: shutdown,
    };
    g.power = Power {
        draw_watts: spec.power_mw(t).ok().map(|mw| f64::from(mw) / 1000.0),
        limit_watts: spec.power_limit_mw().ok().map(|mw| f64::from(mw) / 1000.0),
        management_limit_watts: spec
            .power_management_limit_mw()
            .ok()
            .map(|mw| f64::from(mw) / 1000.0),
        energy_joules: spec.energy_mj(t).ok().map(|mj| mj as f64 / 1000.0),
    };
    g.fan_percent = spec.fan(t).ok();
    let (sm, memory) = split(spec.clocks(t));
    let (sm_max, memory_max) = split(spec.max_clocks());
    g.clocks =
        Clocks { sm_mhz: sm, memory_mhz: memory, sm_max_mhz: sm_max, memory_max_mhz: memory_max };
    g.performance_state = spec.pstate().ok().map(|p| p as u8);
    let (tx, rx) = split(spec.pcie_kbps(t));
    g.pcie = Pcie {
        tx_bytes_per_second: tx.map(|k| u64::from(k) * 1024),
        rx_bytes_per_second: rx.map(|k| u64::from(k) * 1024),
    };
    if let Ok(mask) = spec.throttle_reasons(t) {
        g.throttle = Throttle::from_mask(mask);
    }
    let (corrected, uncorrected) = split(spec.ecc());
    g.ecc = Ecc { corrected, uncorrected };
    g.mig_enabled = spec.mig().ok();
    if g.mig_enabled == Some(true) {
        g.mig_instances = Some(
            spec.mig_devices()
                .iter()
                .enumerate()
                .map(|(slot, m)| {
                    let (total, used) = spec.mig_memory_bytes(m, t);
                    MigInstance {
                        index: slot as u32,
                        uuid: Some(m.uuid(i, slot)),
                        profile: Some(m.profile.clone()),
                        gpu_instance_id: Some(m.gpu_instance_id),
                        compute_instance_id: Some(m.compute_instance_id),
                        memory: Memory {
                            total_bytes: Some(total),
                            used_bytes: Some(used),
                            free_bytes: Some(total - used),
                            reserved_bytes: Some(0),
                        },
                        activity: None,
                    }
                })
                .collect(),
        );
    }
    g.persistence_mode = spec.persistence().ok();
    // Not given: an empty map, so each process's SM and memory use stay `None`, never 0.
    let utilization = spec.process_utilization(t).unwrap_or_default();
    g.processes = match spec.processes_at(t) {
        Ok(list) => Some(list.into_iter().map(|p| process(p, t, &utilization)).collect()),
        Err(code) => {
            g.missing.insert(FieldKey::Processes, Missing::from_nvml_code(code.as_nvml_return()));
            None
        }
    };
    g
}

/// The vendor and the reason "not provided by the … driver" of a GPU NVML does not see: an
/// AMD GPU is amdgpu's, an Intel one i915's (the driver of the Max and Arc GPUs today).
fn other_vendor(spec: &GpuSpec) -> Option<(Vendor, MissingReason)> {
    match spec.vendor() {
        VendorSpec::Nvidia => None,
        VendorSpec::Amd => Some((Vendor::Amd, MissingReason::NotProvidedByAmdgpu)),
        VendorSpec::Intel => Some((Vendor::Intel, MissingReason::NotProvidedByI915)),
    }
}

/// An AMD or Intel GPU as the real source (`source/drm`) reads it: the readings its driver has
/// files for, the rest `None` with "not provided by the … driver"; no UUID unless the scenario
/// gives one (amdgpu's `unique_id`); its processes of unknown kind, as their DRM files say
/// nothing of compute or graphics; nothing NVML alone reports (MIG, GPM, throttle reasons,
/// events, the details).
fn as_the_driver_reads(
    g: &mut GpuSample,
    spec: &GpuSpec,
    (vendor, reason): (Vendor, MissingReason),
) {
    g.vendor = vendor;
    if g.status != GpuStatus::Ok {
        return;
    }
    g.uuid = spec.uuid.clone();
    g.memory.reserved_bytes = None;
    if let Some((total, used)) = g.memory.total_bytes.zip(g.memory.used_bytes) {
        g.memory.free_bytes = Some(total.saturating_sub(used));
    }
    g.performance_state = None;
    g.pcie = Pcie::default();
    g.throttle = Throttle::default();
    g.mig_enabled = None;
    g.mig_instances = None;
    g.persistence_mode = None;
    if vendor == Vendor::Intel {
        // i915 has no memory-busy file, no memory clock and no RAS counts.
        g.utilization.memory_percent = None;
        g.clocks.memory_mhz = None;
        g.clocks.memory_max_mhz = None;
        g.ecc = Ecc::default();
        g.utilization.encoder_percent = None;
        g.utilization.decoder_percent = None;
    }
    g.file_not_provided(reason);
    for p in g.processes.iter_mut().flatten() {
        // The DRM files do not say compute from graphics, nor a process's memory busy share.
        *p = std::mem::replace(p, GpuProcess::new(p.pid, ProcessKind::Compute, None))
            .kind_unknown(reason);
        p.memory_percent = None;
    }
}

fn split<A, B>(reading: Reading<(A, B)>) -> (Option<A>, Option<B>) {
    reading.map_or((None, None), |(a, b)| (Some(a), Some(b)))
}

fn process(p: &ProcessSpec, t: f64, utilization: &[(u32, u32, u32)]) -> GpuProcess {
    let kind = match p.kind {
        ProcessKindSpec::Compute | ProcessKindSpec::Mps => ProcessKind::Compute,
        ProcessKindSpec::Graphics => ProcessKind::Graphics,
        ProcessKindSpec::Both => ProcessKind::ComputeGraphics,
    };
    let mut gp = GpuProcess::new(p.pid, kind, p.used_memory_bytes(t));
    if let Some(&(_, sm, mem)) = utilization.iter().find(|(pid, _, _)| *pid == p.pid) {
        gp.sm_percent = Some(sm);
        gp.memory_percent = Some(mem);
    }
    gp.gpu_instance_id = p.gpu_instance_id;
    gp.compute_instance_id = p.compute_instance_id;
    gp.user = p.user.clone();
    gp.name = p.name.clone();
    gp.command = p.command.clone().or_else(|| p.name.clone());
    gp.cpu_percent = p.cpu_percent.as_ref().map(|s| s.at(t) as f32);
    gp.host_memory_bytes = p.host_memory_mib.as_ref().map(|s| (s.at(t) * MIB) as u64);
    // A process that comes and goes has run since it last came on; one that runs throughout
    // started at the last multiple of 10 minutes, so running time moves.
    gp.running_seconds = Some(match p.active.as_ref().and_then(|a| a.on_for(t)) {
        Some(on_for) => on_for as u64,
        None => (t.max(0.0) as u64) % 600 + 60,
    });
    // Where it runs, read from its cgroup path and environment as a real process's are.
    gp.placement = p.cgroup.as_ref().map(|path| {
        let mut placement = placement::from_cgroup(&format!("0::{path}\n"));
        placement::add_environ(&mut placement, p.environ.join("\0").as_bytes());
        placement
    });
    gp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_snapshot_has_unsupported_metrics_as_none() {
        let sim = SimSource::new(Scenario::demo(4), &[]).unwrap();
        let snap = sim.sample_at(1_000.0);
        assert_eq!(snap.gpus.len(), 4);
        // The H100 in slot 0 has no fan; the RTX 4090 in slot 2 has one but no ECC.
        assert_eq!(snap.gpus[0].fan_percent, None);
        assert!(snap.gpus[2].fan_percent.is_some());
        assert_eq!(snap.gpus[2].ecc.corrected, None);
        assert!(snap.gpus[0].known_processes().iter().all(|p| p.command.is_some()));
    }

    #[test]
    fn demo_processes_stay_for_minutes_once_they_start() {
        let sim = SimSource::new(Scenario::demo(8), &[]).unwrap();
        let pids = |t: f64| -> std::collections::BTreeSet<(u32, u32)> {
            let snap = sim.sample_at(t);
            let gpus = snap.gpus.iter();
            gpus.flat_map(|g| g.known_processes().iter().map(|p| (g.index, p.pid))).collect()
        };
        let mut started = 0;
        let mut before = pids(0.0);
        for t in 1..3600 {
            let now = pids(f64::from(t));
            for pid in now.difference(&before) {
                started += 1;
                for later in (t..t + 180).step_by(10) {
                    assert!(
                        pids(f64::from(later)).contains(pid),
                        "{pid:?} from {t} s gone at {later} s"
                    );
                }
            }
            before = now;
        }
        assert!(started > 0, "the demo's processes come and go");
    }

    #[test]
    fn demo_processes_run_in_jobs_pods_and_containers() {
        let snap = SimSource::new(Scenario::demo(4), &[]).unwrap().sample_at(1_000.0);
        let labels: Vec<String> = snap
            .gpus
            .iter()
            .flat_map(|g| g.known_processes().iter())
            .filter_map(|p| p.placement.as_ref()?.label())
            .collect();
        for want in ["slurm:4242", "pod/vllm-7d9f8b-x2k4p", "slurm:4251"] {
            assert!(labels.iter().any(|l| l == want), "{want} not in {labels:?}");
        }
        let bob = snap.gpus[1].known_processes().iter().find(|p| p.pid == 4010).unwrap();
        let pod = bob.placement.as_ref().unwrap();
        assert_eq!(pod.namespace.as_deref(), Some("inference"));
        assert_eq!(
            (pod.runtime.as_deref(), pod.container_id.as_deref()),
            (Some("containerd"), Some("5f3e8c1a2b9d"))
        );
        // The fourth GPU idles: free for `select` and `wait`.
        assert_eq!(snap.gpus[3].processes.as_deref(), Some(&[][..]));
        assert!(snap.gpus[3].utilization.gpu_percent.unwrap() <= 10);
    }

    #[test]
    fn simulated_gpus_say_why_their_events_are_not_heard_where_events_are_listened_to() {
        let sim = SimSource::new(Scenario::demo(2), &[]).unwrap();
        assert_eq!(sim.sample_at(0.0).gpus[0].missing.get(FieldKey::Events), None);
        let snap = sim.with_events(true).sample_at(0.0);
        let why = snap.gpus[0].missing.get(FieldKey::Events).unwrap();
        assert_eq!((why.reason, why.describe().as_str()), (MissingReason::Simulated, "simulated"));
    }

    #[test]
    fn selection_applies_to_the_demo() {
        let sim = SimSource::new(Scenario::demo(4), &["3".parse().unwrap(), "1".parse().unwrap()])
            .unwrap();
        let idx: Vec<u32> = sim.sample_at(0.0).gpus.iter().map(|g| g.index).collect();
        assert_eq!(idx, vec![3, 1]);
    }
}
