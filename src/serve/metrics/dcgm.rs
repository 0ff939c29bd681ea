//! dcgm-exporter's names, units and labels (`serve --dcgm-names`), so dashboards made for it
//! keep working: its default fields, its profiling fields where GPM gives them, and a MIG
//! device's memory under its GPU's labels. dcgm-exporter only ever exports NVIDIA GPUs: an
//! AMD or Intel GPU has no DCGM fields and no `nvidiaN` device to name, so it is exported
//! under gputop's own names with its `vendor` label instead (a dashboard made for
//! dcgm-exporter ignores those series; gputop's `--prometheus` reads both), never dropped.

use crate::metric_names::dcgm::{self as names, GPU_LABELS};
use crate::sample::{Activity, GpuStatus, Snapshot, Vendor};

use super::builder::{labels, Builder, Labels};
use super::MetricsOptions;

pub fn families(b: &mut Builder, s: &Snapshot, opts: &MetricsOptions) {
    let host = s.host.hostname.clone().unwrap_or_default();
    let driver = s.host.driver_version.clone().unwrap_or_default();
    for g in &s.gpus {
        if g.vendor != Vendor::Nvidia {
            super::gpu::one_gpu(b, g, &host, opts);
            continue;
        }
        let index = g.index.to_string();
        let device = format!("nvidia{index}");
        let uuid = g.uuid.as_deref().unwrap_or("");
        let model = g.name.as_deref().unwrap_or("");
        // Empty when unknown, as dcgm-exporter writes it for a device without one.
        let bus = g.pci_bus_id.as_deref().unwrap_or("");
        let l = labels(&GPU_LABELS, [index.as_str(), uuid, bus, &device, model, &host, &driver]);
        // As dcgm-exporter: the last XID seen, 0 for none (while listening); kept for a lost
        // GPU, whose XID 79 is the news.
        if let Some(events) = &g.events {
            // DCGM's own convention: 0 until an XID comes (no XID is numbered 0); an XID of
            // unknown number is counted under gputop's own xid="unknown" series.
            let last = events.recent.iter().rev().find_map(|e| e.xid);
            b.set(&names::XID_ERRORS, &l, Some(f64::from(last.unwrap_or(0))));
        }
        if g.status != GpuStatus::Ok {
            continue;
        }
        let mib = |v: Option<u64>| v.map(|b| (b >> 20) as f64);
        let n = |v: Option<u32>| v.map(f64::from);
        let kib = |v: Option<u64>| v.map(|v| (v / 1024) as f64);
        b.set(&names::GPU_UTIL, &l, n(g.utilization.gpu_percent));
        b.set(&names::MEM_COPY_UTIL, &l, n(g.utilization.memory_percent));
        b.set(&names::ENC_UTIL, &l, n(g.utilization.encoder_percent));
        b.set(&names::DEC_UTIL, &l, n(g.utilization.decoder_percent));
        b.set(&names::FB_USED, &l, mib(g.memory.used_bytes));
        b.set(&names::FB_FREE, &l, mib(g.memory.free_bytes));
        b.set(&names::GPU_TEMP, &l, n(g.temperature.gpu_celsius));
        b.set(&names::POWER_USAGE, &l, g.power.draw_watts);
        b.set(&names::SM_CLOCK, &l, n(g.clocks.sm_mhz));
        b.set(&names::MEM_CLOCK, &l, n(g.clocks.memory_mhz));
        let millijoules = g.power.energy_joules.map(|j| j * 1000.0);
        b.set(&names::TOTAL_ENERGY_CONSUMPTION, &l, millijoules);
        b.set(&names::PCIE_TX_THROUGHPUT, &l, kib(g.pcie.tx_bytes_per_second));
        b.set(&names::PCIE_RX_THROUGHPUT, &l, kib(g.pcie.rx_bytes_per_second));
        b.set(&names::CLOCK_THROTTLE_REASONS, &l, g.throttle.mask.map(|m| m as f64));
        b.set(&names::ECC_SBE_VOL_TOTAL, &l, g.ecc.corrected.map(|v| v as f64));
        b.set(&names::ECC_DBE_VOL_TOTAL, &l, g.ecc.uncorrected.map(|v| v as f64));
        // As dcgm-exporter: a MIG device's memory under its GPU's labels plus GPU_I_ID and
        // GPU_I_PROFILE.
        for m in g.mig_instances.iter().flatten() {
            let id = m.gpu_instance_id.map_or(String::new(), |v| v.to_string());
            let ml = mig_labels(&l, m.profile.as_deref().unwrap_or(""), &id);
            b.set(&names::FB_USED, &ml, mib(m.memory.used_bytes));
            b.set(&names::FB_FREE, &ml, mib(m.memory.free_bytes));
            if let Some(a) = &m.activity {
                activity(b, a, &ml);
            }
        }
        if let Some(a) = &g.activity {
            activity(b, a, &l);
        }
        if let Some(d) = &g.details {
            let rows = d.remapped_rows;
            let flag = |on: bool| f64::from(u8::from(on));
            let count = |v: Option<u64>| v.map(|v| v as f64);
            let link = d.nvlink;
            for (metric, value) in [
                (&names::PCIE_LINK_GEN, n(d.pcie_link_gen_current)),
                (&names::PCIE_MAX_LINK_GEN, n(d.pcie_link_gen_max)),
                (&names::PCIE_LINK_WIDTH, n(d.pcie_link_width_current)),
                (&names::PCIE_MAX_LINK_WIDTH, n(d.pcie_link_width_max)),
                (&names::UNCORRECTABLE_REMAPPED_ROWS, rows.map(|r| f64::from(r.uncorrectable))),
                (&names::CORRECTABLE_REMAPPED_ROWS, rows.map(|r| f64::from(r.correctable))),
                (&names::ROW_REMAP_FAILURE, rows.map(|r| flag(r.failed))),
                (&names::ROW_REMAP_PENDING, rows.map(|r| flag(r.pending))),
                (&names::RETIRED_PENDING, d.retired_pages_pending.map(flag)),
                (&names::PCIE_REPLAY_COUNTER, n(d.pcie_replay_count)),
                (&names::ECC_SBE_AGG_TOTAL, count(d.ecc_aggregate_corrected)),
                (&names::ECC_DBE_AGG_TOTAL, count(d.ecc_aggregate_uncorrected)),
                (
                    &names::NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL,
                    count(link.and_then(|v| v.crc_flit_errors)),
                ),
                (
                    &names::NVLINK_CRC_DATA_ERROR_COUNT_TOTAL,
                    count(link.and_then(|v| v.crc_data_errors)),
                ),
                (
                    &names::NVLINK_REPLAY_ERROR_COUNT_TOTAL,
                    count(link.and_then(|v| v.replay_errors)),
                ),
                (
                    &names::NVLINK_RECOVERY_ERROR_COUNT_TOTAL,
                    count(link.and_then(|v| v.recovery_errors)),
                ),
            ] {
                b.set(metric, &l, value);
            }
        }
    }
}

/// A MIG device's labels: its GPU's, then its profile and instance.
fn mig_labels(l: &Labels, profile: &str, id: &str) -> Labels {
    let mut ml = l.clone();
    ml.extend(labels(names::MIG_LABELS, [profile, id]));
    ml
}

/// GPM activity under dcgm-exporter's `DCGM_FI_PROF_*` names.
fn activity(b: &mut Builder, a: &Activity, l: &Labels) {
    let ratio = |v: Option<f64>| v.map(|p| p / 100.0);
    let rate = |v: Option<u64>| v.map(|v| v as f64);
    b.set(&names::SM_ACTIVE, l, ratio(a.sm_active_percent));
    b.set(&names::SM_OCCUPANCY, l, ratio(a.sm_occupancy_percent));
    b.set(&names::PIPE_TENSOR_ACTIVE, l, ratio(a.tensor_active_percent));
    b.set(&names::DRAM_ACTIVE, l, ratio(a.dram_active_percent));
    b.set(&names::PIPE_FP64_ACTIVE, l, ratio(a.fp64_active_percent));
    b.set(&names::PIPE_FP32_ACTIVE, l, ratio(a.fp32_active_percent));
    b.set(&names::PIPE_FP16_ACTIVE, l, ratio(a.fp16_active_percent));
    b.set(&names::PCIE_TX_BYTES, l, rate(a.pcie_tx_bytes_per_second));
    b.set(&names::PCIE_RX_BYTES, l, rate(a.pcie_rx_bytes_per_second));
    b.set(&names::NVLINK_TX_BYTES, l, rate(a.nvlink_tx_bytes_per_second));
    b.set(&names::NVLINK_RX_BYTES, l, rate(a.nvlink_rx_bytes_per_second));
}
