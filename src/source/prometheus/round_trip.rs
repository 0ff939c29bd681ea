//! Every metric `gputop serve` writes, under either naming, is read back by this source (or is
//! on the list of those it leaves to dashboards), and each GPU's values come back: the
//! exporter's real rendering of a demo snapshot, scraped as Prometheus would and read by
//! the real assembly.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::metric_names::{dcgm, gputop, Metric};
use crate::sample::{
    EventSource, GpuEvent, GpuEventKind, GpuEvents, GpuSample, GpuStatus, Snapshot, Vendor,
};
use crate::scenario::Scenario;
use crate::serve::metrics::{render, Freshness, MetricsOptions, Naming};
use crate::source::SimSource;

use super::client::{Labels, Sample};
use super::fleet::{self, Assembly};
use super::vocabulary::{self, GpuParts};

/// Written for dashboards and alerts; the fleet view does not show them (yet). A metric
/// added to the exporter lands here or in the vocabulary, never nowhere.
const NOT_READ: &[&Metric] = &[
    &gputop::BUILD_INFO,
    &gputop::SAMPLE_ERRORS,
    &gputop::PCIE_TX,
    &gputop::PCIE_RX,
    &gputop::ECC_CORRECTED,
    &gputop::ECC_UNCORRECTED,
    &gputop::THROTTLE_REASONS,
    &gputop::FP64_ACTIVE,
    &gputop::FP32_ACTIVE,
    &gputop::FP16_ACTIVE,
    &gputop::NVLINK_TX,
    &gputop::NVLINK_RX,
    &gputop::MIG_MEMORY_USED,
    &gputop::MIG_MEMORY_TOTAL,
    &gputop::MIG_SM_ACTIVE,
    &gputop::MIG_TENSOR_ACTIVE,
    &gputop::MIG_DRAM_ACTIVE,
    &gputop::PROCESS_SM_UTILIZATION,
    &gputop::ECC_ERROR_EVENTS,
    &gputop::PCIE_LINK_GENERATION,
    &gputop::PCIE_LINK_MAX_GENERATION,
    &gputop::PCIE_LINK_WIDTH,
    &gputop::PCIE_LINK_MAX_WIDTH,
    &gputop::REMAPPED_ROWS,
    &gputop::REMAPPED_ROWS_PENDING,
    &gputop::REMAPPED_ROWS_FAILED,
    &gputop::RETIRED_PAGES_PENDING,
    &gputop::ECC_LIFETIME_ERRORS,
    &gputop::NVLINK_ACTIVE_LINKS,
    &gputop::NVLINK_ERRORS,
    &gputop::PCIE_REPLAYS,
    &dcgm::PCIE_TX_THROUGHPUT,
    &dcgm::PCIE_RX_THROUGHPUT,
    &dcgm::CLOCK_THROTTLE_REASONS,
    &dcgm::ECC_SBE_VOL_TOTAL,
    &dcgm::ECC_DBE_VOL_TOTAL,
    &dcgm::PCIE_LINK_GEN,
    &dcgm::PCIE_MAX_LINK_GEN,
    &dcgm::PCIE_LINK_WIDTH,
    &dcgm::PCIE_MAX_LINK_WIDTH,
    &dcgm::UNCORRECTABLE_REMAPPED_ROWS,
    &dcgm::CORRECTABLE_REMAPPED_ROWS,
    &dcgm::ROW_REMAP_FAILURE,
    &dcgm::ROW_REMAP_PENDING,
    &dcgm::RETIRED_PENDING,
    &dcgm::PCIE_REPLAY_COUNTER,
    &dcgm::ECC_SBE_AGG_TOTAL,
    &dcgm::ECC_DBE_AGG_TOTAL,
    &dcgm::NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL,
    &dcgm::NVLINK_CRC_DATA_ERROR_COUNT_TOTAL,
    &dcgm::NVLINK_REPLAY_ERROR_COUNT_TOTAL,
    &dcgm::NVLINK_RECOVERY_ERROR_COUNT_TOTAL,
    &dcgm::PIPE_FP64_ACTIVE,
    &dcgm::PIPE_FP32_ACTIVE,
    &dcgm::PIPE_FP16_ACTIVE,
    &dcgm::PCIE_TX_BYTES,
    &dcgm::PCIE_RX_BYTES,
    &dcgm::NVLINK_TX_BYTES,
    &dcgm::NVLINK_RX_BYTES,
];

/// Read by the query itself (a target's freshness), not by the vocabulary.
const READ_BY_THE_QUERY: &[&Metric] = &[&gputop::LAST_SAMPLE_TIMESTAMP];

/// Four demo GPUs with their details, GPM activity, processes, NVLink and XID errors; the
/// second lost, the third an AMD one and the fourth an Intel one (as the DRM source would
/// name them: the demo's readings under another vendor).
fn snapshot() -> Snapshot {
    let mut scenario = Scenario::demo(4);
    scenario.gpus[1].lost = true;
    let sim = SimSource::new(scenario, &[]).unwrap().with_details(true).with_activity(true);
    let mut s = sim.sample_at(1_000.0);
    let mut events = GpuEvents::new(EventSource::Nvml, chrono::DateTime::UNIX_EPOCH);
    events.xid_counts.insert(79, 1);
    events.ecc_single_bit = Some(2);
    let at = chrono::DateTime::UNIX_EPOCH;
    events.recent.push(GpuEvent { at, kind: GpuEventKind::Xid, xid: Some(79), message: None });
    s.gpus[0].events = Some(events.clone());
    if let Some(d) = s.gpus[0].details.as_mut() {
        let counted = Some(1);
        d.nvlink = Some(crate::sample::NvlinkHealth {
            active_links: 18,
            replay_errors: counted,
            recovery_errors: counted,
            crc_flit_errors: counted,
            crc_data_errors: counted,
        });
        d.pcie_replay_count = Some(3);
        d.retired_pages_pending = Some(false);
    }
    s.gpus[1].events = Some(events);
    s.gpus[2].vendor = Vendor::Amd;
    s.gpus[3].vendor = Vendor::Intel;
    s
}

/// A GPU split into a MIG device, with GPM activity for both.
fn mig_snapshot() -> Snapshot {
    let scenario = Scenario::from_toml(concat!(
        "[[gpus]]\nname = \"H100\"\nmig_enabled = true\n",
        "gpm = { sm_active = 10, fp64_active = 1, fp32_active = 2, fp16_active = 3, ",
        "pcie_tx_mib_s = 10, pcie_rx_mib_s = 11, nvlink_tx_mib_s = 12, nvlink_rx_mib_s = 13 }\n",
        "mig_instances = [{ profile = \"3g.40gb\", gpu_instance_id = 1, memory_total_mib = 20000, ",
        "memory_used_mib = 300, gpm = { sm_active = 33, tensor_active = 5, dram_active = 7 } }]\n",
    ))
    .unwrap();
    let sim = SimSource::new(scenario, &[]).unwrap().with_details(true).with_activity(true);
    sim.sample_at(1_000.0)
}

/// A sample of an exposition: name, labels, value.
type Exposed = (String, Vec<(String, String)>, f64);

fn parse(text: &str) -> Vec<Exposed> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, mut rest) = series.split_once('{').unwrap_or((series, "}"));
        let mut labels = Vec::new();
        while let Some((key, after)) = rest.split_once("=\"") {
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next().unwrap() {
                    (_, '\\') => match chars.next().unwrap().1 {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    (i, '"') => break i,
                    (_, c) => value.push(c),
                }
            };
            labels.push((key.trim_start_matches(',').to_string(), value));
            rest = &after[end + 1..];
        }
        samples.push((name.to_string(), labels, value.parse().unwrap()));
    }
    samples
}

/// What Prometheus answers for an exposition, as this source asks: each series scraped
/// (empty labels dropped, the target's `instance` and `job` added, the exporter's own labels
/// honoured), then values grouped to the labels the source groups them to, the per-process
/// series whole, and one dated series per GPU carrying its labels.
fn answer(text: &str) -> Vec<Sample<'static>> {
    let value_labels = fleet::value_labels();
    let kept: Vec<&str> = value_labels.split(", ").collect();
    let mut answer = Vec::new();
    for (name, labels, value) in parse(text) {
        let mut scraped: Vec<(String, String)> =
            labels.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        for (k, v) in [("instance", "demo:9835"), ("job", "gpu")] {
            if scraped.iter().all(|(key, _)| key != k) {
                scraped.push((k.into(), v.into()));
            }
        }
        let labels = |pairs: Vec<(String, String)>| {
            Labels(pairs.into_iter().map(|(k, v)| (Cow::Owned(k), Cow::Owned(v))).collect())
        };
        if vocabulary::DATED.iter().any(|m| m.name == name) {
            let mut id = scraped.clone();
            id.push((fleet::KIND_LABEL.into(), fleet::KIND_TIMESTAMP.into()));
            answer.push(Sample { metric: labels(id), value: (1_000.0, 999.0) });
        }
        let mut series = scraped;
        series.push(("__name__".into(), name.clone()));
        if name != vocabulary::PROCESSES.name {
            series.retain(|(k, _)| kept.contains(&k.as_str()));
        }
        answer.push(Sample { metric: labels(series), value: (1_000.0, value) });
    }
    answer
}

fn read_back(text: &str) -> Vec<GpuSample> {
    let mut assembly = Assembly::default();
    for sample in answer(text) {
        assembly.add(&sample);
    }
    assembly.finish(1_000.0, &mut HashMap::new()).1
}

fn rendered(naming: Naming) -> String {
    rendered_of(&snapshot(), naming)
}

fn rendered_of(snapshot: &Snapshot, naming: Naming) -> String {
    render(snapshot, &MetricsOptions { naming, processes: true }, &Freshness::default())
}

/// `(what, written, read)` pairs that differ by more than rounding.
fn differences(pairs: &[(&str, Option<f64>, Option<f64>)]) -> Vec<String> {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
    pairs
        .iter()
        .filter(|(_, a, b)| match (a, b) {
            (Some(a), Some(b)) => !close(*a, *b),
            _ => a != b,
        })
        .map(|(what, a, b)| format!("{what}: wrote {a:?}, read {b:?}"))
        .collect()
}

fn f<T: Into<f64>>(v: Option<T>) -> Option<f64> {
    v.map(Into::into)
}

fn bytes(v: Option<u64>) -> Option<f64> {
    v.map(|v| v as f64)
}

#[test]
fn every_metric_written_is_read_back_or_left_to_dashboards_by_name() {
    let mut all = String::new();
    for (snapshot, naming) in [(snapshot(), Naming::Gputop), (mig_snapshot(), Naming::Gputop)]
        .into_iter()
        .chain([(snapshot(), Naming::Dcgm), (mig_snapshot(), Naming::Dcgm)])
    {
        let text = rendered_of(&snapshot, naming);
        all.push_str(&text);
        for family in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
            let (name, kind) = family.split_once(' ').unwrap();
            let sample = if kind == "counter" { format!("{name}_total") } else { name.into() };
            let labels = Labels(vec![("xid".into(), "79".into()), ("pid".into(), "1".into())]);
            let read = vocabulary::apply(&sample, 1.0, &labels, &mut GpuParts::new(0));
            let listed = NOT_READ.iter().chain(READ_BY_THE_QUERY).any(|m| m.name == name);
            assert!(
                read != listed,
                "{name} ({naming:?}): read {read}, listed as not read {listed}"
            );
        }
    }
    for m in NOT_READ {
        assert!(all.contains(&format!("# TYPE {} ", m.name)), "{} is not written", m.name);
    }
}

#[test]
fn each_gpus_values_come_back_under_gputops_names() {
    let written = snapshot();
    let read = read_back(&rendered(Naming::Gputop));
    assert_eq!(read.len(), written.gpus.len());
    for (w, r) in written.gpus.iter().zip(&read) {
        assert_eq!((r.index, r.host.as_deref()), (w.index, Some("demo")));
        assert_eq!((&r.uuid, &r.name), (&w.uuid, &w.name));
        assert_eq!((r.status, r.vendor), (w.status, w.vendor), "GPU {}", w.index);
        let xids = |g: &GpuSample| g.events.as_ref().map(|e| e.xid_counts.clone());
        assert_eq!(xids(r), xids(w), "GPU {}", w.index);
        if w.status != GpuStatus::Ok {
            continue;
        }
        let (wa, ra) = (w.activity.as_deref(), r.activity.as_deref());
        let mut pairs = vec![
            ("utilization", f(w.utilization.gpu_percent), f(r.utilization.gpu_percent)),
            (
                "memory utilization",
                f(w.utilization.memory_percent),
                f(r.utilization.memory_percent),
            ),
            ("encoder", f(w.utilization.encoder_percent), f(r.utilization.encoder_percent)),
            ("decoder", f(w.utilization.decoder_percent), f(r.utilization.decoder_percent)),
            ("memory used", bytes(w.memory.used_bytes), bytes(r.memory.used_bytes)),
            ("memory total", bytes(w.memory.total_bytes), bytes(r.memory.total_bytes)),
            ("memory free", bytes(w.memory.free_bytes), bytes(r.memory.free_bytes)),
            ("temperature", f(w.temperature.gpu_celsius), f(r.temperature.gpu_celsius)),
            ("slowdown", f(w.temperature.slowdown_celsius), f(r.temperature.slowdown_celsius)),
            ("power", w.power.draw_watts, r.power.draw_watts),
            ("power limit", w.power.limit_watts, r.power.limit_watts),
            ("energy", w.power.energy_joules, r.power.energy_joules),
            ("fan", f(w.fan_percent), f(r.fan_percent)),
            ("sm clock", f(w.clocks.sm_mhz), f(r.clocks.sm_mhz)),
            ("memory clock", f(w.clocks.memory_mhz), f(r.clocks.memory_mhz)),
            ("pstate", f(w.performance_state), f(r.performance_state)),
            (
                "sm active",
                wa.and_then(|a| a.sm_active_percent),
                ra.and_then(|a| a.sm_active_percent),
            ),
            (
                "sm occupancy",
                wa.and_then(|a| a.sm_occupancy_percent),
                ra.and_then(|a| a.sm_occupancy_percent),
            ),
            (
                "tensor active",
                wa.and_then(|a| a.tensor_active_percent),
                ra.and_then(|a| a.tensor_active_percent),
            ),
            (
                "dram active",
                wa.and_then(|a| a.dram_active_percent),
                ra.and_then(|a| a.dram_active_percent),
            ),
        ];
        let (wp, rp) = (w.known_processes(), r.processes.as_deref().unwrap_or_default());
        assert_eq!(rp.len(), wp.len(), "GPU {}", w.index);
        for (wp, rp) in wp.iter().zip(rp) {
            assert_eq!((rp.pid, &rp.user, &rp.name), (wp.pid, &wp.user, &wp.name));
            // What the labels carry of where it runs. A process outside Slurm reads back in
            // the scrape job's name (its empty `job` is dropped and Prometheus's own fills in):
            // its Slurm job is compared only where it has one.
            let at = |p: &crate::sample::GpuProcess| {
                let a = p.placement.clone().unwrap_or_default();
                (a.container_id, a.pod_name.or(a.pod_uid), a.namespace)
            };
            assert_eq!(at(rp), at(wp), "pid {}", wp.pid);
            let job = |p: &crate::sample::GpuProcess| p.placement.as_ref()?.slurm_job.clone();
            if job(wp).is_some() {
                assert_eq!(job(rp), job(wp), "pid {}", wp.pid);
            }
            pairs.push(("process memory", bytes(wp.gpu_memory_bytes), bytes(rp.gpu_memory_bytes)));
        }
        assert_eq!(differences(&pairs), Vec::<String>::new(), "GPU {}", w.index);
        assert!(pairs.iter().filter(|(_, w, _)| w.is_some()).count() > 10, "a full GPU");
    }
}

#[test]
fn each_gpus_values_come_back_under_dcgm_exporters_names() {
    let written = snapshot();
    let read = read_back(&rendered(Naming::Dcgm));
    assert_eq!(read.len(), written.gpus.len());
    let mib = |v: Option<u64>| v.map(|v| (v >> 20 << 20) as f64);
    for w in &written.gpus {
        // dcgm-exporter has no "up" and dates a GPU by its values: a lost GPU, with its XID
        // alone, is filed under its scrape target.
        let host = if w.status == GpuStatus::Ok { "demo" } else { "demo:9835" };
        let r = read.iter().find(|r| r.index == w.index && r.host.as_deref() == Some(host));
        let r = r.unwrap_or_else(|| panic!("GPU {} of {host} is not read: {read:#?}", w.index));
        assert_eq!(r.vendor, w.vendor, "GPU {}", w.index);
        if w.vendor != Vendor::Nvidia {
            // dcgm-exporter has no names for it: it comes under gputop's, whole.
            assert_eq!((&r.uuid, &r.name), (&w.uuid, &w.name));
            assert_eq!(r.memory.used_bytes, w.memory.used_bytes, "exact bytes, not MiB");
            assert_eq!(r.utilization.gpu_percent, w.utilization.gpu_percent);
            continue;
        }
        // The last XID, as DCGM keeps it: counted once.
        let last = w.events.as_ref().and_then(|e| e.recent.last()).and_then(|e| e.xid);
        let xids = r.events.as_ref().map(|e| e.xid_counts.keys().copied().collect::<Vec<_>>());
        assert_eq!(xids, w.events.as_ref().map(|_| last.into_iter().collect()), "{}", w.index);
        if w.status != GpuStatus::Ok {
            // dcgm-exporter has no "up": a lost GPU's values are absent, not 0.
            assert_eq!(r.utilization.gpu_percent, None);
            continue;
        }
        assert_eq!((&r.uuid, &r.name), (&w.uuid, &w.name));
        let (wa, ra) = (w.activity.as_deref(), r.activity.as_deref());
        let (used, free) = (mib(w.memory.used_bytes), mib(w.memory.free_bytes));
        let pairs = [
            ("utilization", f(w.utilization.gpu_percent), f(r.utilization.gpu_percent)),
            (
                "memory utilization",
                f(w.utilization.memory_percent),
                f(r.utilization.memory_percent),
            ),
            ("encoder", f(w.utilization.encoder_percent), f(r.utilization.encoder_percent)),
            ("decoder", f(w.utilization.decoder_percent), f(r.utilization.decoder_percent)),
            ("memory used, whole MiB", used, bytes(r.memory.used_bytes)),
            ("memory free, whole MiB", free, bytes(r.memory.free_bytes)),
            (
                "memory total, used + free",
                used.zip(free).map(|(u, f)| u + f),
                bytes(r.memory.total_bytes),
            ),
            ("temperature", f(w.temperature.gpu_celsius), f(r.temperature.gpu_celsius)),
            ("power", w.power.draw_watts, r.power.draw_watts),
            ("energy", w.power.energy_joules, r.power.energy_joules),
            ("sm clock", f(w.clocks.sm_mhz), f(r.clocks.sm_mhz)),
            ("memory clock", f(w.clocks.memory_mhz), f(r.clocks.memory_mhz)),
            (
                "sm active",
                wa.and_then(|a| a.sm_active_percent),
                ra.and_then(|a| a.sm_active_percent),
            ),
            (
                "sm occupancy",
                wa.and_then(|a| a.sm_occupancy_percent),
                ra.and_then(|a| a.sm_occupancy_percent),
            ),
            (
                "tensor active",
                wa.and_then(|a| a.tensor_active_percent),
                ra.and_then(|a| a.tensor_active_percent),
            ),
            (
                "dram active",
                wa.and_then(|a| a.dram_active_percent),
                ra.and_then(|a| a.dram_active_percent),
            ),
        ];
        assert_eq!(differences(&pairs), Vec::<String>::new(), "GPU {}", w.index);
        assert!(pairs.iter().filter(|(_, w, _)| w.is_some()).count() > 10, "a full GPU");
    }
}
