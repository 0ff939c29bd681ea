//! The two metric vocabularies a Prometheus may hold for GPUs, `gputop serve`'s and NVIDIA
//! dcgm-exporter's, and what each series says about a GPU. A host exports one or the other
//! (or both, with two exporters); a metric it does not export stays `None`.

use crate::metric_names::{dcgm, gputop, Metric};
use crate::sample::{Activity, GpuEvents, GpuProcess, GpuSample, GpuStatus, ProcessKind};

use super::client::Labels;

/// What a series sets in the model, from its value in the model's unit.
#[derive(Debug, Clone, Copy)]
enum Sets {
    Up,
    GpuPercent,
    MemoryPercent,
    EncoderPercent,
    DecoderPercent,
    MemoryUsed,
    MemoryTotal,
    MemoryFree,
    Temperature,
    SlowdownTemperature,
    Power,
    PowerLimit,
    FanPercent,
    SmMhz,
    MemoryMhz,
    PerformanceState,
    Energy,
    ProcessCount,
    SmActive,
    SmOccupancy,
    TensorActive,
    DramActive,
    /// gputop's running count of each XID.
    XidCounts,
    /// dcgm-exporter's last XID.
    LastXid,
    Process,
    FbUsed,
    FbFree,
    FbReserved,
    FbTotal,
}

/// `gputop serve`'s metrics read, in the order asked for.
const GPUTOP: &[(&Metric, Sets)] = &[
    (&gputop::GPU_UP, Sets::Up),
    (&gputop::UTILIZATION, Sets::GpuPercent),
    (&gputop::MEMORY_UTILIZATION, Sets::MemoryPercent),
    (&gputop::ENCODER_UTILIZATION, Sets::EncoderPercent),
    (&gputop::DECODER_UTILIZATION, Sets::DecoderPercent),
    (&gputop::MEMORY_USED, Sets::MemoryUsed),
    (&gputop::MEMORY_TOTAL, Sets::MemoryTotal),
    (&gputop::MEMORY_FREE, Sets::MemoryFree),
    (&gputop::TEMPERATURE, Sets::Temperature),
    (&gputop::SLOWDOWN_TEMPERATURE, Sets::SlowdownTemperature),
    (&gputop::POWER, Sets::Power),
    (&gputop::POWER_LIMIT, Sets::PowerLimit),
    (&gputop::FAN_SPEED, Sets::FanPercent),
    (&gputop::SM_CLOCK, Sets::SmMhz),
    (&gputop::MEMORY_CLOCK, Sets::MemoryMhz),
    (&gputop::PERFORMANCE_STATE, Sets::PerformanceState),
    (&gputop::GPU_ENERGY, Sets::Energy),
    (&gputop::GPU_PROCESSES, Sets::ProcessCount),
    (&gputop::SM_ACTIVE, Sets::SmActive),
    (&gputop::SM_OCCUPANCY, Sets::SmOccupancy),
    (&gputop::TENSOR_ACTIVE, Sets::TensorActive),
    (&gputop::DRAM_ACTIVE, Sets::DramActive),
    (&gputop::XID_ERRORS, Sets::XidCounts),
];

/// Per-process series (`gputop serve --processes`): asked for with all their labels.
pub const PROCESSES: &Metric = &gputop::PROCESS_GPU_MEMORY;
const READ_PROCESSES: (&Metric, Sets) = (PROCESSES, Sets::Process);

/// dcgm-exporter's default fields (and the profiling ones, where its configuration has them),
/// in the order asked for.
const DCGM: &[(&Metric, Sets)] = &[
    (&dcgm::GPU_UTIL, Sets::GpuPercent),
    (&dcgm::MEM_COPY_UTIL, Sets::MemoryPercent),
    (&dcgm::ENC_UTIL, Sets::EncoderPercent),
    (&dcgm::DEC_UTIL, Sets::DecoderPercent),
    (&dcgm::FB_USED, Sets::FbUsed),
    (&dcgm::FB_FREE, Sets::FbFree),
    (&dcgm::FB_RESERVED, Sets::FbReserved),
    (&dcgm::FB_TOTAL, Sets::FbTotal),
    (&dcgm::GPU_TEMP, Sets::Temperature),
    (&dcgm::POWER_USAGE, Sets::Power),
    (&dcgm::POWER_MGMT_LIMIT, Sets::PowerLimit),
    (&dcgm::SM_CLOCK, Sets::SmMhz),
    (&dcgm::MEM_CLOCK, Sets::MemoryMhz),
    (&dcgm::TOTAL_ENERGY_CONSUMPTION, Sets::Energy),
    (&dcgm::XID_ERRORS, Sets::LastXid),
    (&dcgm::SM_ACTIVE, Sets::SmActive),
    (&dcgm::SM_OCCUPANCY, Sets::SmOccupancy),
    (&dcgm::PIPE_TENSOR_ACTIVE, Sets::TensorActive),
    (&dcgm::DRAM_ACTIVE, Sets::DramActive),
];

/// The sample names asked for of `gputop serve`'s GPU metrics (counters with the `_total`
/// Prometheus gives them).
pub fn gputop_names() -> Vec<String> {
    GPUTOP.iter().map(|(m, _)| m.sample_name()).collect()
}

/// The sample names asked for of dcgm-exporter's.
pub fn dcgm_names() -> Vec<String> {
    DCGM.iter().map(|(m, _)| m.sample_name()).collect()
}

/// The metrics whose labels name a GPU (host, UUID, model, workload) and whose sample time
/// dates its data, in order: the first a GPU has counts. `gputop serve` always exports
/// `gputop_gpu_up`; dcgm-exporter's configuration decides which of its fields a GPU has.
pub const DATED: [&Metric; 4] = [&gputop::GPU_UP, &dcgm::GPU_UTIL, &dcgm::FB_USED, &dcgm::GPU_TEMP];

/// What the series of one GPU add up to, beyond the fields set directly.
#[derive(Debug)]
pub struct GpuParts {
    pub sample: GpuSample,
    /// dcgm-exporter's frame buffer fields, in MiB.
    pub fb_used: Option<f64>,
    pub fb_free: Option<f64>,
    pub fb_reserved: Option<f64>,
    pub fb_total: Option<f64>,
    /// `gputop_gpu_processes`: how many, when the list itself is not exported.
    pub process_count: Option<f64>,
    pub processes: Vec<GpuProcess>,
}

impl Default for GpuParts {
    fn default() -> Self {
        Self::new(0)
    }
}

impl GpuParts {
    pub fn new(index: u32) -> Self {
        let mut sample = GpuSample::empty(index);
        sample.processes = None;
        Self {
            sample,
            fb_used: None,
            fb_free: None,
            fb_reserved: None,
            fb_total: None,
            process_count: None,
            processes: Vec::new(),
        }
    }
}

/// The exporter's own label `name`, preferring the `exported_` form: when an exporter's labels
/// collide with the target's (`pod`, `namespace`, `container` of the exporter's pod, a
/// `hostname` added by service discovery), Prometheus keeps the exporter's as `exported_pod`,
/// and `pod` then names the target.
pub fn exporter_label<'a>(labels: &'a Labels, name: &str) -> Option<&'a str> {
    let exported = format!("exported_{name}");
    labels.get(&exported).or_else(|| labels.get(name)).filter(|v| !v.is_empty())
}

fn percent(v: f64) -> Option<u32> {
    (v.is_finite() && v >= 0.0).then(|| v.round().min(100.0) as u32)
}

fn whole(v: f64) -> Option<u32> {
    (v.is_finite() && v >= 0.0 && v < f64::from(u32::MAX)).then(|| v.round() as u32)
}

fn bytes(v: f64) -> Option<u64> {
    (v.is_finite() && v >= 0.0).then_some(v as u64)
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn activity(gpu: &mut GpuSample) -> &mut Activity {
    gpu.activity.get_or_insert_with(Box::default)
}

/// Sets what the series `name` says; false for a name not read here.
pub fn apply(name: &str, v: f64, labels: &Labels, parts: &mut GpuParts) -> bool {
    let mut read = GPUTOP.iter().chain(DCGM).chain([&READ_PROCESSES]);
    let Some((metric, sets)) = read.find(|(m, _)| m.is_sample(name)) else { return false };
    set(*sets, metric.unit.to_model(v), labels, parts);
    true
}

/// Sets what a value (in the model's unit) says.
fn set(sets: Sets, v: f64, labels: &Labels, parts: &mut GpuParts) {
    let g = &mut parts.sample;
    match sets {
        Sets::Up => {
            if v == 0.0 {
                g.status = GpuStatus::Lost;
                g.error = Some("its exporter reports it lost or failing".into());
            }
        }
        Sets::GpuPercent => g.utilization.gpu_percent = percent(v),
        Sets::MemoryPercent => g.utilization.memory_percent = percent(v),
        Sets::EncoderPercent => g.utilization.encoder_percent = percent(v),
        Sets::DecoderPercent => g.utilization.decoder_percent = percent(v),
        Sets::MemoryUsed => g.memory.used_bytes = bytes(v),
        Sets::MemoryTotal => g.memory.total_bytes = bytes(v),
        Sets::MemoryFree => g.memory.free_bytes = bytes(v),
        Sets::Temperature => g.temperature.gpu_celsius = whole(v),
        Sets::SlowdownTemperature => g.temperature.slowdown_celsius = whole(v),
        Sets::Power => g.power.draw_watts = finite(v),
        Sets::PowerLimit => g.power.limit_watts = finite(v),
        Sets::FanPercent => g.fan_percent = percent(v),
        Sets::SmMhz => g.clocks.sm_mhz = whole(v),
        Sets::MemoryMhz => g.clocks.memory_mhz = whole(v),
        Sets::PerformanceState => g.performance_state = whole(v).map(|p| p.min(15) as u8),
        Sets::Energy => g.power.energy_joules = finite(v),
        Sets::ProcessCount => parts.process_count = finite(v),
        Sets::SmActive => activity(g).sm_active_percent = finite(v),
        Sets::SmOccupancy => activity(g).sm_occupancy_percent = finite(v),
        Sets::TensorActive => activity(g).tensor_active_percent = finite(v),
        Sets::DramActive => activity(g).dram_active_percent = finite(v),
        Sets::XidCounts => {
            if let (Some(xid), Some(count)) =
                (labels.get(gputop::XID).and_then(|x| x.parse().ok()), whole(v))
            {
                events(g).xid_counts.insert(xid, u64::from(count));
            }
        }
        Sets::LastXid => {
            // The last XID the GPU raised (0: none since the exporter started).
            let events = events(g);
            if let Some(xid) = whole(v).filter(|&x| x > 0) {
                *events.xid_counts.entry(xid).or_insert(0) += 1;
            }
        }
        Sets::Process => {
            if let Some(process) = process(labels, v) {
                parts.processes.push(process);
            }
        }
        Sets::FbUsed => parts.fb_used = finite(v),
        Sets::FbFree => parts.fb_free = finite(v),
        Sets::FbReserved => parts.fb_reserved = finite(v),
        Sets::FbTotal => parts.fb_total = finite(v),
    }
}

/// The events a GPU's exporter counted (since it started listening).
fn events(g: &mut GpuSample) -> &mut GpuEvents {
    g.events.get_or_insert_with(|| {
        GpuEvents::new(crate::sample::EventSource::Exporter, chrono::DateTime::UNIX_EPOCH)
    })
}

/// A process from `gputop_process_gpu_memory_bytes{pid,user,command,pod,namespace,job}`.
fn process(labels: &Labels, v: f64) -> Option<GpuProcess> {
    let pid = labels.get(gputop::PID)?.parse().ok()?;
    // The exporter's series do not say whether it is a compute or a graphics process.
    let mut p = GpuProcess::new(pid, ProcessKind::Compute, bytes(v))
        .kind_unknown(crate::sample::MissingReason::NotExported);
    let text = |name: &str| labels.get(name).filter(|v| !v.is_empty()).map(str::to_string);
    p.user = text(gputop::USER);
    p.name = text(gputop::COMMAND);
    let placement = crate::sample::Placement {
        container_id: text(gputop::CONTAINER),
        pod_name: text(gputop::POD),
        namespace: text(gputop::NAMESPACE),
        slurm_job: text(gputop::JOB),
        ..Default::default()
    };
    if placement != crate::sample::Placement::default() {
        p.placement = Some(placement);
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_asked_for_is_read() {
        let labels = Labels::default();
        let asked = gputop_names().into_iter().chain(dcgm_names());
        for name in asked.chain([PROCESSES.name.to_string()]) {
            assert!(apply(&name, 1.0, &labels, &mut GpuParts::new(0)), "{name} is asked, not read");
        }
        assert!(!apply("node_cpu_seconds_total", 1.0, &labels, &mut GpuParts::new(0)));
        assert!(!apply("gputop_gpu_energy_joules", 1.0, &labels, &mut GpuParts::new(0)));
        let read = GPUTOP.iter().chain(DCGM);
        assert!(DATED.iter().all(|d| read.clone().any(|(m, _)| m == d)));
    }

    #[test]
    fn units_become_the_models() {
        let labels = Labels::default();
        let mut parts = GpuParts::new(0);
        apply("gputop_gpu_utilization_ratio", 0.873, &labels, &mut parts);
        apply("gputop_gpu_sm_clock_hertz", 1.98e9, &labels, &mut parts);
        apply("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 5_000.0, &labels, &mut parts);
        apply("DCGM_FI_DEV_GPU_TEMP", f64::NAN, &labels, &mut parts);
        let g = &parts.sample;
        assert_eq!(g.utilization.gpu_percent, Some(87));
        assert_eq!(g.clocks.sm_mhz, Some(1980));
        assert_eq!(g.power.energy_joules, Some(5.0));
        assert_eq!(g.temperature.gpu_celsius, None);
    }
}
