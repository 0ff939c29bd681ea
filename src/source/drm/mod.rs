//! AMD and Intel GPUs, from the kernel's own interfaces: no vendor library. The cards come
//! from sysfs (`cards.rs`), each driver's readings from its files (`amdgpu.rs`, `intel.rs`,
//! `hwmon.rs`), the processes from every process's open DRM files and their fdinfo
//! (`clients.rs`, `fdinfo.rs`) and, for ROCm compute, from KFD (`kfd.rs`). A value a driver
//! has no file for is `None` with "not provided by the amdgpu driver" (or i915's, xe's).
//!
//! Busy shares and power from energy are changes between two readings: the first sample
//! takes a reading, waits [`RATE_WINDOW`] and reads again, so even `--once` has them.

mod amdgpu;
pub mod cards;
mod clients;
mod details;
mod fdinfo;
mod hwmon;
mod intel;
mod kfd;
mod names;
mod visibility;

use std::path::Path;
use std::time::{Duration, Instant};

use self::amdgpu::AmdgpuReadings;
use self::cards::{Card, Driver};
use self::clients::{CardClients, Clients};
use self::hwmon::Sensors;
use self::intel::IntelReadings;
use self::visibility::Visibility;
use super::fdscan::{scan_drm_fds, DrmScan};
use super::host::HostLookup;
use super::{DetailLevel, SampleOptions};
use crate::sample::{
    FieldKey, GpuProcess, GpuSample, GpuStatus, Missing, MissingReason, ProcessKind,
};

/// How long the first sample waits between its two readings of the counters.
pub const RATE_WINDOW: Duration = Duration::from_millis(100);

/// The AMD and Intel GPUs of this machine.
pub struct DrmSource {
    cards: Vec<Card>,
    names: Vec<String>,
    /// The index of the first card: they follow NVML's GPUs.
    first_index: u32,
    clients: Clients,
    /// Each card's energy counter (J) at the previous sample.
    energy: Vec<Option<(f64, Instant)>>,
    lookup: HostLookup,
    options: SampleOptions,
    sampled: bool,
    /// What hides processes from the walk over `/proc` (hidepid, a PID namespace).
    visibility: Visibility,
    /// Each card's hwmon temperature sensor, chosen once.
    temperature_sensors: Vec<Option<u32>>,
    /// KFD's GPUs, read once, where there is an amdgpu card (ROCm's compute processes).
    kfd: Option<kfd::Topology>,
}

impl DrmSource {
    /// The machine's AMD and Intel GPUs, numbered from `first_index`; `None` where it has none
    /// (then nothing else is read, and no process's files are scanned).
    pub fn discover(first_index: u32, options: SampleOptions) -> Option<Self> {
        let cards = cards::discover(Path::new(cards::DRM_CLASS));
        if cards.is_empty() {
            return None;
        }
        let mut tables = names::Tables::default();
        let names = cards
            .iter()
            .map(|c| {
                let vendor = c.driver.vendor().label();
                tables.gpu_name(vendor, c.vendor_id, c.device_id, c.revision)
            })
            .collect();
        let temperature_sensors =
            cards.iter().map(|c| c.hwmon.as_deref().and_then(hwmon::temperature_sensor)).collect();
        let kfd = cards
            .iter()
            .any(|c| c.driver == Driver::Amdgpu)
            .then(|| kfd::Topology::read(Path::new(kfd::KFD)));
        Some(Self {
            temperature_sensors,
            kfd,
            energy: vec![None; cards.len()],
            cards,
            names,
            first_index,
            clients: Clients::default(),
            lookup: HostLookup::new(),
            options,
            sampled: false,
            visibility: Visibility::of_this_process(),
        })
    }

    /// Numbers the cards from `first_index` (after NVML's GPUs, once those are counted).
    pub fn set_first_index(&mut self, first_index: u32) {
        self.first_index = first_index;
    }

    pub fn len(&self) -> usize {
        self.cards.len()
    }

    /// The identity of the card at `position`, for `--id` (its PCI address).
    pub fn identity(&self, position: u32) -> super::selection::GpuIdentity {
        super::selection::GpuIdentity {
            uuid: None,
            pci_bus_id: self.pci_bus_id(position),
            mig_uuids: Vec::new(),
        }
    }

    /// The PCI address of the card at `position`.
    pub fn pci_bus_id(&self, position: u32) -> Option<String> {
        self.cards.get(position as usize)?.pci_bus_id.clone()
    }

    /// One sample of every card, and what the caller should warn of (processes whose files
    /// could not be read).
    pub fn sample(&mut self) -> (Vec<GpuSample>, Vec<String>) {
        if !self.sampled {
            self.sampled = true;
            self.read_counters(&scan_drm_fds(Path::new("/proc")));
            std::thread::sleep(RATE_WINDOW);
        }
        let scan = scan_drm_fds(Path::new("/proc"));
        let (clients, energy_power) = self.read_counters(&scan);
        // KFD names processes by the host's PIDs: in a PID namespace of its own they would
        // name other processes, or none, here.
        let kfd_usable = !self.visibility.child_pid_namespace;
        let compute = match &self.kfd {
            Some(topology) if kfd_usable => kfd::compute_processes(Path::new(kfd::KFD), topology),
            _ => Default::default(),
        };
        // Whether every process holding a GPU was seen: else the list is the ones this user
        // may see, and the totals summed from the clients are not the card's.
        let every_process = scan.unreadable == 0 && !self.visibility.hides_processes();
        let complete = every_process && scan.read_in_part.is_empty();
        let incomplete_reason =
            if every_process { MissingReason::Error } else { MissingReason::NoPermission };
        let mut gpus: Vec<GpuSample> = self
            .cards
            .iter()
            .zip(&self.names)
            .zip(clients)
            .zip(energy_power)
            .enumerate()
            .map(|(i, (((card, name), clients), power))| {
                let index = self.first_index + i as u32;
                let totals = complete.then_some(()).ok_or(incomplete_reason);
                let sensor = self.temperature_sensors[i];
                let mut gpu =
                    sample_card(card, name.clone(), index, &clients, power, sensor, totals);
                let kfd = card.pci_bus_id.as_ref().and_then(|a| compute.get(a));
                gpu.processes = Some(processes(card, &clients, kfd));
                if !every_process && gpu.status == GpuStatus::Ok {
                    let partial = Missing { reason: MissingReason::NoPermission, nvml_code: None };
                    gpu.missing.insert(FieldKey::Processes, partial);
                }
                if self.options.details != DetailLevel::None && gpu.status == GpuStatus::Ok {
                    gpu.details = Some(Box::new(details::read_details(card)));
                }
                gpu
            })
            .collect();
        if self.options.host_processes {
            self.lookup.fill(gpus.iter_mut().flat_map(|g| g.processes.iter_mut().flatten()));
        }
        let mut warnings = Vec::new();
        if scan.unreadable > 0 {
            warnings.push(format!(
                "AMD/Intel GPU processes: the open files of {} processes could not be read \
                 (other users' or root's): run as root to see every process and the totals \
                 from them",
                scan.unreadable
            ));
        }
        if self.visibility.hidepid {
            warnings.push(
                "AMD/Intel GPU processes: /proc is mounted with hidepid, which hides other \
                 users' processes: run as root to see every process and the totals from them"
                    .to_string(),
            );
        }
        if self.visibility.child_pid_namespace {
            warnings.push(
                "AMD/Intel GPU processes: gputop runs in a PID namespace of its own (a \
                 container): processes outside it are not seen, and KFD's list of ROCm \
                 processes (by the host's PIDs) is left out"
                    .to_string(),
            );
        }
        if let Some(pid) = scan.read_in_part.first() {
            warnings.push(format!(
                "AMD/Intel GPU processes: {} processes (PID {pid}…) hold more than {} open DRM \
                 files; the rest were not read, so the totals from the clients are unknown",
                scan.read_in_part.len(),
                super::fdscan::DRM_FDS_PER_PROCESS
            ));
        }
        (gpus, warnings)
    }

    /// The clients' counters and each card's power from its energy counter, both against the
    /// previous reading.
    fn read_counters(&mut self, scan: &DrmScan) -> (Vec<CardClients>, Vec<Option<f64>>) {
        let now = Instant::now();
        let clients = self.clients.sample(&self.cards, scan, now);
        let power = self
            .cards
            .iter()
            .zip(self.energy.iter_mut())
            .map(|(card, previous)| {
                let joules = card.hwmon.as_deref().and_then(hwmon::energy_joules)?;
                let before = previous.replace((joules, now));
                let (j0, t0) = before?;
                let seconds = now.duration_since(t0).as_secs_f64();
                (seconds > 0.0 && joules >= j0).then(|| (joules - j0) / seconds)
            })
            .collect();
        (clients, power)
    }
}

/// One card's sample, every value its driver gives; the rest `None` with the reason.
fn sample_card(
    card: &Card,
    name: String,
    index: u32,
    clients: &CardClients,
    power_from_energy: Option<f64>,
    temperature_sensor: Option<u32>,
    // Whether the clients are every client (`Err` says why not): totals from them need all.
    totals: Result<(), MissingReason>,
) -> GpuSample {
    let complete = totals.is_ok();
    let lost = if !card.device.join("vendor").exists() {
        Some("GPU is gone from sysfs")
    } else if cards::fell_off_the_bus(&card.device) {
        Some("GPU fell off the bus: PCI config space reads 0xffff")
    } else {
        None
    };
    if let Some(error) = lost {
        let mut g = GpuSample::unavailable(index, GpuStatus::Lost, error);
        g.vendor = card.driver.vendor();
        g.name = Some(name);
        g.pci_bus_id = card.pci_bus_id.clone();
        return g;
    }
    let mut g = GpuSample::empty(index);
    g.vendor = card.driver.vendor();
    g.name = Some(name);
    g.pci_bus_id = card.pci_bus_id.clone();
    g.uuid = cards::read(&card.device.join("unique_id")).filter(|u| !u.is_empty());
    let sensors = card
        .hwmon
        .as_deref()
        .map(|h| Sensors::read(h, card.driver, temperature_sensor))
        .unwrap_or_default();
    g.temperature.gpu_celsius = sensors.temperature_celsius;
    g.temperature.slowdown_celsius = sensors.critical_celsius;
    g.temperature.shutdown_celsius = sensors.emergency_celsius;
    g.power.draw_watts = sensors.power_watts.or(power_from_energy);
    g.power.limit_watts = sensors.power_limit_watts;
    g.power.management_limit_watts = sensors.power_limit_watts;
    g.power.energy_joules = sensors.energy_joules;
    g.fan_percent = sensors.fan_percent;
    let from_clients = |v: Option<f64>| v.filter(|_| complete).map(|p| p.round() as u32);
    let unreadable =
        Missing { reason: totals.err().unwrap_or(MissingReason::Error), nvml_code: None };
    match card.driver {
        Driver::Amdgpu => {
            let r = AmdgpuReadings::read(&card.device);
            g.memory.total_bytes = r.vram_total_bytes;
            g.memory.used_bytes = r.vram_used_bytes;
            g.memory.free_bytes =
                r.vram_total_bytes.zip(r.vram_used_bytes).map(|(t, u)| t.saturating_sub(u));
            g.utilization.gpu_percent = r.busy_percent;
            g.utilization.memory_percent = r.memory_busy_percent;
            g.clocks.sm_mhz = r.sclk.current_mhz.or(sensors.sclk_mhz);
            g.clocks.memory_mhz = r.mclk.current_mhz.or(sensors.mclk_mhz);
            g.clocks.sm_max_mhz = r.sclk.max_mhz;
            g.clocks.memory_max_mhz = r.mclk.max_mhz;
            g.ecc.corrected = r.ecc_corrected;
            g.ecc.uncorrected = r.ecc_uncorrected;
            if r.ecc_unreadable {
                g.missing.insert(
                    FieldKey::Ecc,
                    Missing { reason: MissingReason::Error, nvml_code: None },
                );
            }
            // An APU's hwmon power (and energy) is the whole SoC's, its CPU cores included:
            // not the GPU's draw.
            if r.apu {
                g.power.draw_watts = None;
            }
            g.utilization.encoder_percent = from_clients(clients.encoder_percent);
            g.utilization.decoder_percent = from_clients(clients.decoder_percent);
            if !complete {
                g.missing.insert(FieldKey::UtilizationEncoder, unreadable);
                g.missing.insert(FieldKey::UtilizationDecoder, unreadable);
            }
        }
        Driver::I915 | Driver::Xe => {
            let r = IntelReadings::read(card);
            g.memory.total_bytes = r.vram_total_bytes;
            g.clocks.sm_mhz = r.clock_mhz;
            g.clocks.sm_max_mhz = r.clock_max_mhz;
            g.utilization.gpu_percent = from_clients(clients.busy_percent);
            if r.vram_total_bytes.is_some() {
                g.memory.used_bytes = clients.memory_bytes.filter(|_| complete).or(Some(0));
                g.memory.free_bytes =
                    g.memory.total_bytes.zip(g.memory.used_bytes).map(|(t, u)| t.saturating_sub(u));
            }
            if !complete {
                g.missing.insert(FieldKey::Utilization, unreadable);
                if r.vram_total_bytes.is_some() {
                    g.memory.used_bytes = None;
                    g.memory.free_bytes = None;
                    g.missing.insert(FieldKey::Memory, unreadable);
                }
            }
        }
    }
    g.file_not_provided(card.driver.not_provided());
    g
}

/// The card's processes: its DRM clients' and KFD's compute processes, by PID.
fn processes(
    card: &Card,
    clients: &CardClients,
    compute: Option<&std::collections::BTreeMap<u32, u64>>,
) -> Vec<GpuProcess> {
    let mut pids: Vec<u32> = clients.processes.keys().copied().collect();
    pids.extend(compute.into_iter().flat_map(|c| c.keys().copied()));
    pids.sort_unstable();
    pids.dedup();
    pids.into_iter()
        .map(|pid| {
            let drm = clients.processes.get(&pid);
            let kfd = compute.and_then(|c| c.get(&pid)).copied();
            // KFD's memory is also the render node's: the larger, never the sum.
            let memory = match (drm.and_then(|d| d.memory_bytes), kfd) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            let mut p = match kfd {
                Some(_) => GpuProcess::new(pid, ProcessKind::Compute, memory),
                // The DRM files do not say compute from graphics.
                None => GpuProcess::new(pid, ProcessKind::Compute, memory)
                    .kind_unknown(card.driver.not_provided()),
            };
            p.sm_percent = drm.and_then(|d| d.busy_percent).map(|b| b.round() as u32);
            // No engine counters (an old i915, or a ROCm process KFD lists without any DRM
            // engine lines): the driver does not give its share.
            if !drm.is_some_and(|d| d.reports_engines) {
                let reason = Missing { reason: card.driver.not_provided(), nvml_code: None };
                p.missing.insert(FieldKey::ProcessesUtilization, reason);
            }
            p
        })
        .collect()
}
