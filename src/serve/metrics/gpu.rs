//! gputop's own names: each GPU's families (state, utilization, memory, power, clocks, GPM
//! activity, MIG devices, throttle reasons), by Prometheus conventions.

use crate::metric_names::gputop::{self as names, GPU_LABELS};
use crate::sample::{Activity, GpuSample, GpuStatus, Snapshot, ThrottleReason};

use super::builder::{labels, own, Builder, Labels};
use super::{health, processes, MetricsOptions};

pub fn families(b: &mut Builder, s: &Snapshot, opts: &MetricsOptions) {
    let host = s.host.hostname.clone().unwrap_or_default();
    let build = labels(
        names::BUILD_INFO.labels,
        [env!("CARGO_PKG_VERSION"), s.host.driver_version.as_deref().unwrap_or("")],
    );
    b.set(&names::BUILD_INFO, &build, Some(1.0));
    // Registered before the GPUs' gauges, where the exposition has always had it.
    b.counter(&names::GPU_ENERGY);
    for g in &s.gpus {
        one_gpu(b, g, &host, opts);
    }
}

/// One GPU's families under gputop's names, labelled with who it is and who made it (also
/// how `--dcgm-names` exports an AMD or Intel GPU, which dcgm-exporter has no names for).
pub fn one_gpu(b: &mut Builder, g: &GpuSample, host: &str, opts: &MetricsOptions) {
    let index = g.index.to_string();
    let l = labels(
        &GPU_LABELS,
        [
            &index,
            g.uuid.as_deref().unwrap_or(""),
            g.name.as_deref().unwrap_or(""),
            host,
            g.vendor.key(),
        ],
    );
    b.set(&names::GPU_UP, &l, Some(f64::from(u8::from(g.status == GpuStatus::Ok))));
    // Before the lost GPU is skipped: its XID 79 is the news.
    if let Some(events) = &g.events {
        health::events(b, events, &l);
    }
    if g.status != GpuStatus::Ok {
        return;
    }
    gpu_metrics(b, g, &l);
    b.set(&names::GPU_PROCESSES, &l, g.processes.as_ref().map(|p| p.len() as f64));
    if let Some(j) = g.power.energy_joules {
        b.count(&names::GPU_ENERGY, &l, j);
    }
    if opts.processes {
        processes::families(b, g, &l);
    }
}

pub fn ratio(percent: u32) -> f64 {
    f64::from(percent) / 100.0
}

fn gpu_metrics(b: &mut Builder, g: &GpuSample, l: &Labels) {
    let u = &g.utilization;
    b.set(&names::UTILIZATION, l, u.gpu_percent.map(ratio));
    b.set(&names::MEMORY_UTILIZATION, l, u.memory_percent.map(ratio));
    b.set(&names::ENCODER_UTILIZATION, l, u.encoder_percent.map(ratio));
    b.set(&names::DECODER_UTILIZATION, l, u.decoder_percent.map(ratio));
    let m = &g.memory;
    b.set(&names::MEMORY_USED, l, m.used_bytes.map(|v| v as f64));
    b.set(&names::MEMORY_TOTAL, l, m.total_bytes.map(|v| v as f64));
    b.set(&names::MEMORY_FREE, l, m.free_bytes.map(|v| v as f64));
    b.set(&names::TEMPERATURE, l, g.temperature.gpu_celsius.map(f64::from));
    b.set(&names::SLOWDOWN_TEMPERATURE, l, g.temperature.slowdown_celsius.map(f64::from));
    b.set(&names::POWER, l, g.power.draw_watts);
    b.set(&names::POWER_LIMIT, l, g.power.limit_watts);
    b.set(&names::FAN_SPEED, l, g.fan_percent.map(ratio));
    let mhz = |v: Option<u32>| v.map(|v| f64::from(v) * 1e6);
    b.set(&names::SM_CLOCK, l, mhz(g.clocks.sm_mhz));
    b.set(&names::MEMORY_CLOCK, l, mhz(g.clocks.memory_mhz));
    b.set(&names::PERFORMANCE_STATE, l, g.performance_state.map(f64::from));
    b.set(&names::PCIE_TX, l, g.pcie.tx_bytes_per_second.map(|v| v as f64));
    b.set(&names::PCIE_RX, l, g.pcie.rx_bytes_per_second.map(|v| v as f64));
    b.set(&names::ECC_CORRECTED, l, g.ecc.corrected.map(|v| v as f64));
    b.set(&names::ECC_UNCORRECTED, l, g.ecc.uncorrected.map(|v| v as f64));
    if let Some(d) = &g.details {
        health::details(b, d, l);
    }
    if let Some(a) = &g.activity {
        activity_metrics(b, a, l);
    }
    for m in g.mig_instances.iter().flatten() {
        let id = m.gpu_instance_id.map_or(String::new(), |v| v.to_string());
        let values =
            [id.as_str(), m.profile.as_deref().unwrap_or(""), m.uuid.as_deref().unwrap_or("")];
        let ml = own(l, &names::MIG_MEMORY_USED, &values);
        let bytes = |v: Option<u64>| v.map(|v| v as f64);
        b.set(&names::MIG_MEMORY_USED, &ml, bytes(m.memory.used_bytes));
        b.set(&names::MIG_MEMORY_TOTAL, &ml, bytes(m.memory.total_bytes));
        if let Some(a) = &m.activity {
            let ratio = |v: Option<f64>| v.map(|p| p / 100.0);
            b.set(&names::MIG_SM_ACTIVE, &ml, ratio(a.sm_active_percent));
            b.set(&names::MIG_TENSOR_ACTIVE, &ml, ratio(a.tensor_active_percent));
            b.set(&names::MIG_DRAM_ACTIVE, &ml, ratio(a.dram_active_percent));
        }
    }
    if let Some(active) = &g.throttle.reasons {
        for reason in ALL_REASONS {
            let name = serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let rl = own(l, &names::THROTTLE_REASONS, &[&name]);
            let on = f64::from(u8::from(active.contains(&reason)));
            b.set(&names::THROTTLE_REASONS, &rl, Some(on));
        }
    }
}

/// GPM activity since the previous sample.
fn activity_metrics(b: &mut Builder, a: &Activity, l: &Labels) {
    let ratio = |v: Option<f64>| v.map(|p| p / 100.0);
    let rate = |v: Option<u64>| v.map(|v| v as f64);
    b.set(&names::SM_ACTIVE, l, ratio(a.sm_active_percent));
    b.set(&names::SM_OCCUPANCY, l, ratio(a.sm_occupancy_percent));
    b.set(&names::TENSOR_ACTIVE, l, ratio(a.tensor_active_percent));
    b.set(&names::DRAM_ACTIVE, l, ratio(a.dram_active_percent));
    b.set(&names::FP64_ACTIVE, l, ratio(a.fp64_active_percent));
    b.set(&names::FP32_ACTIVE, l, ratio(a.fp32_active_percent));
    b.set(&names::FP16_ACTIVE, l, ratio(a.fp16_active_percent));
    b.set(&names::NVLINK_TX, l, rate(a.nvlink_tx_bytes_per_second));
    b.set(&names::NVLINK_RX, l, rate(a.nvlink_rx_bytes_per_second));
}

const ALL_REASONS: [ThrottleReason; 9] = [
    ThrottleReason::Idle,
    ThrottleReason::ApplicationsClocksSetting,
    ThrottleReason::SwPowerCap,
    ThrottleReason::HwSlowdown,
    ThrottleReason::SyncBoost,
    ThrottleReason::SwThermalSlowdown,
    ThrottleReason::HwThermalSlowdown,
    ThrottleReason::HwPowerBrakeSlowdown,
    ThrottleReason::DisplayClockSetting,
];
