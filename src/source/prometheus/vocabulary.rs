//! The two metric vocabularies a Prometheus may hold for GPUs, `gputop serve`'s and NVIDIA
//! dcgm-exporter's, and what each series says about a GPU. A host exports one or the other
//! (or both, with two exporters); a metric it does not export stays `None`.

use crate::sample::{Activity, GpuEvents, GpuProcess, GpuSample, GpuStatus, ProcessKind};

use super::client::Labels;

/// `gputop serve`'s names (counters with the `_total` Prometheus gives them).
pub const GPUTOP: &[&str] = &[
    "gputop_gpu_up",
    "gputop_gpu_utilization_ratio",
    "gputop_gpu_memory_utilization_ratio",
    "gputop_gpu_encoder_utilization_ratio",
    "gputop_gpu_decoder_utilization_ratio",
    "gputop_gpu_memory_used_bytes",
    "gputop_gpu_memory_total_bytes",
    "gputop_gpu_memory_free_bytes",
    "gputop_gpu_temperature_celsius",
    "gputop_gpu_slowdown_temperature_celsius",
    "gputop_gpu_power_watts",
    "gputop_gpu_power_limit_watts",
    "gputop_gpu_fan_speed_ratio",
    "gputop_gpu_sm_clock_hertz",
    "gputop_gpu_memory_clock_hertz",
    "gputop_gpu_performance_state",
    "gputop_gpu_energy_joules_total",
    "gputop_gpu_processes",
    "gputop_gpu_sm_active_ratio",
    "gputop_gpu_sm_occupancy_ratio",
    "gputop_gpu_tensor_active_ratio",
    "gputop_gpu_dram_active_ratio",
    "gputop_gpu_xid_errors_total",
];

/// Per-process series (`gputop serve --processes`): asked for with all their labels.
pub const PROCESSES: &str = "gputop_process_gpu_memory_bytes";

/// dcgm-exporter's default fields (and the profiling ones, where its configuration has them).
pub const DCGM: &[&str] = &[
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_MEM_COPY_UTIL",
    "DCGM_FI_DEV_ENC_UTIL",
    "DCGM_FI_DEV_DEC_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_FB_RESERVED",
    "DCGM_FI_DEV_FB_TOTAL",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_POWER_MGMT_LIMIT",
    "DCGM_FI_DEV_SM_CLOCK",
    "DCGM_FI_DEV_MEM_CLOCK",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_DEV_XID_ERRORS",
    "DCGM_FI_PROF_SM_ACTIVE",
    "DCGM_FI_PROF_SM_OCCUPANCY",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    "DCGM_FI_PROF_DRAM_ACTIVE",
];

/// The metrics whose labels name a GPU (host, UUID, model, workload) and whose sample time
/// dates its data, in order: the first a GPU has counts. `gputop serve` always exports
/// `gputop_gpu_up`; dcgm-exporter's configuration decides which of its fields a GPU has.
pub const DATED: &[&str] =
    &["gputop_gpu_up", "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_GPU_TEMP"];

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

/// The label of a workload, preferring the `exported_` form: when an exporter's own labels
/// collide with the target's (`pod`, `namespace`, `container` of the exporter's pod), Prometheus
/// keeps the exporter's as `exported_pod`, and `pod` then names the exporter.
pub fn workload_label<'a>(labels: &'a Labels, name: &str) -> Option<&'a str> {
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
    let g = &mut parts.sample;
    match name {
        "gputop_gpu_up" => {
            if v == 0.0 {
                g.status = GpuStatus::Lost;
                g.error = Some("its exporter reports it lost or failing".into());
            }
        }
        "gputop_gpu_utilization_ratio" => g.utilization.gpu_percent = percent(v * 100.0),
        "gputop_gpu_memory_utilization_ratio" => g.utilization.memory_percent = percent(v * 100.0),
        "gputop_gpu_encoder_utilization_ratio" => {
            g.utilization.encoder_percent = percent(v * 100.0)
        }
        "gputop_gpu_decoder_utilization_ratio" => {
            g.utilization.decoder_percent = percent(v * 100.0)
        }
        "gputop_gpu_memory_used_bytes" => g.memory.used_bytes = bytes(v),
        "gputop_gpu_memory_total_bytes" => g.memory.total_bytes = bytes(v),
        "gputop_gpu_memory_free_bytes" => g.memory.free_bytes = bytes(v),
        "gputop_gpu_temperature_celsius" | "DCGM_FI_DEV_GPU_TEMP" => {
            g.temperature.gpu_celsius = whole(v)
        }
        "gputop_gpu_slowdown_temperature_celsius" => g.temperature.slowdown_celsius = whole(v),
        "gputop_gpu_power_watts" | "DCGM_FI_DEV_POWER_USAGE" => g.power.draw_watts = finite(v),
        "gputop_gpu_power_limit_watts" | "DCGM_FI_DEV_POWER_MGMT_LIMIT" => {
            g.power.limit_watts = finite(v)
        }
        "gputop_gpu_fan_speed_ratio" => g.fan_percent = percent(v * 100.0),
        "gputop_gpu_sm_clock_hertz" => g.clocks.sm_mhz = whole(v / 1e6),
        "gputop_gpu_memory_clock_hertz" => g.clocks.memory_mhz = whole(v / 1e6),
        "gputop_gpu_performance_state" => g.performance_state = whole(v).map(|p| p.min(15) as u8),
        "gputop_gpu_energy_joules_total" => g.power.energy_joules = finite(v),
        "gputop_gpu_processes" => parts.process_count = finite(v),
        "gputop_gpu_sm_active_ratio" | "DCGM_FI_PROF_SM_ACTIVE" => {
            activity(g).sm_active_percent = finite(v * 100.0)
        }
        "gputop_gpu_sm_occupancy_ratio" | "DCGM_FI_PROF_SM_OCCUPANCY" => {
            activity(g).sm_occupancy_percent = finite(v * 100.0)
        }
        "gputop_gpu_tensor_active_ratio" | "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE" => {
            activity(g).tensor_active_percent = finite(v * 100.0)
        }
        "gputop_gpu_dram_active_ratio" | "DCGM_FI_PROF_DRAM_ACTIVE" => {
            activity(g).dram_active_percent = finite(v * 100.0)
        }
        "gputop_gpu_xid_errors_total" => {
            if let (Some(xid), Some(count)) =
                (labels.get("xid").and_then(|x| x.parse().ok()), whole(v))
            {
                events(g).xid_counts.insert(xid, u64::from(count));
            }
        }
        "DCGM_FI_DEV_XID_ERRORS" => {
            // The last XID the GPU raised (0: none since the exporter started).
            let events = events(g);
            if let Some(xid) = whole(v).filter(|&x| x > 0) {
                *events.xid_counts.entry(xid).or_insert(0) += 1;
            }
        }
        "gputop_process_gpu_memory_bytes" => {
            if let Some(process) = process(labels, v) {
                parts.processes.push(process);
            }
        }
        "DCGM_FI_DEV_GPU_UTIL" => g.utilization.gpu_percent = percent(v),
        "DCGM_FI_DEV_MEM_COPY_UTIL" => g.utilization.memory_percent = percent(v),
        "DCGM_FI_DEV_ENC_UTIL" => g.utilization.encoder_percent = percent(v),
        "DCGM_FI_DEV_DEC_UTIL" => g.utilization.decoder_percent = percent(v),
        "DCGM_FI_DEV_FB_USED" => parts.fb_used = finite(v),
        "DCGM_FI_DEV_FB_FREE" => parts.fb_free = finite(v),
        "DCGM_FI_DEV_FB_RESERVED" => parts.fb_reserved = finite(v),
        "DCGM_FI_DEV_FB_TOTAL" => parts.fb_total = finite(v),
        "DCGM_FI_DEV_SM_CLOCK" => g.clocks.sm_mhz = whole(v),
        "DCGM_FI_DEV_MEM_CLOCK" => g.clocks.memory_mhz = whole(v),
        // Millijoules since the driver loaded.
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" => g.power.energy_joules = finite(v / 1000.0),
        _ => return false,
    }
    true
}

/// The events a GPU's exporter counted (since it started listening).
fn events(g: &mut GpuSample) -> &mut GpuEvents {
    g.events.get_or_insert_with(|| {
        GpuEvents::new(crate::sample::EventSource::Exporter, chrono::DateTime::UNIX_EPOCH)
    })
}

/// A process from `gputop_process_gpu_memory_bytes{pid,user,command,pod,namespace,job}`.
fn process(labels: &Labels, v: f64) -> Option<GpuProcess> {
    let pid = labels.get("pid")?.parse().ok()?;
    // The exporter's series do not say whether it is a compute or a graphics process.
    let mut p = GpuProcess::new(pid, ProcessKind::Compute, bytes(v))
        .kind_unknown(crate::sample::MissingReason::NotExported);
    let text = |name: &str| labels.get(name).filter(|v| !v.is_empty()).map(str::to_string);
    p.user = text("user");
    p.name = text("command");
    let placement = crate::sample::Placement {
        container_id: text("container"),
        pod_name: text("pod"),
        namespace: text("namespace"),
        slurm_job: text("job"),
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
        for name in GPUTOP.iter().chain(DCGM).chain([&PROCESSES]) {
            assert!(apply(name, 1.0, &labels, &mut GpuParts::new(0)), "{name} is asked, not read");
        }
        assert!(!apply("node_cpu_seconds_total", 1.0, &labels, &mut GpuParts::new(0)));
        assert!(DATED.iter().all(|d| GPUTOP.contains(d) || DCGM.contains(d)));
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
