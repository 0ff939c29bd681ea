//! A snapshot as Prometheus metrics (encoded by `prometheus-client`, OpenMetrics text, which
//! Prometheus and the classic text parser both read): gputop's own names by Prometheus
//! conventions, or NVIDIA dcgm-exporter's names and labels so existing dashboards keep working.
//! A value NVML cannot give is left out, never exported as 0.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::sample::{Activity, Details, GpuEvents, GpuSample, GpuStatus, Snapshot, ThrottleReason};
use crate::text::sanitize::sanitize;

type Labels = Vec<(String, String)>;
type GaugeFamily = Family<Labels, Gauge<f64, AtomicU64>>;
type CounterFamily = Family<Labels, Counter<f64, AtomicU64>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    Gputop,
    Dcgm,
}

pub struct MetricsOptions {
    pub naming: Naming,
    /// Per-process GPU memory, with `pid`, `user` and `command` labels (high cardinality).
    pub processes: bool,
}

/// Registers gauges and counters on demand and sets them, skipping values that are `None`.
struct Builder {
    registry: Registry,
    gauges: Vec<(&'static str, GaugeFamily)>,
    counters: Vec<(&'static str, CounterFamily)>,
}

impl Builder {
    fn gauge(&mut self, name: &'static str, help: &'static str) -> GaugeFamily {
        if let Some((_, f)) = self.gauges.iter().find(|(n, _)| *n == name) {
            return f.clone();
        }
        let family = GaugeFamily::default();
        self.registry.register(name, help, family.clone());
        self.gauges.push((name, family.clone()));
        family
    }

    fn set(&mut self, name: &'static str, help: &'static str, labels: &Labels, value: Option<f64>) {
        let family = self.gauge(name, help);
        if let Some(v) = value {
            family.get_or_create(labels).set(v);
        }
    }

    /// A counter's running total (its name without `_total`, which the encoding adds).
    fn count(&mut self, name: &'static str, help: &'static str, labels: &Labels, total: f64) {
        let family = match self.counters.iter().find(|(n, _)| *n == name) {
            Some((_, f)) => f.clone(),
            None => {
                let family = CounterFamily::default();
                self.registry.register(name, help, family.clone());
                self.counters.push((name, family.clone()));
                family
            }
        };
        family.get_or_create(labels).inc_by(total);
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// How fresh the exporter's data is, exported under either naming: a scraper cannot tell old
/// values served again from new ones otherwise.
#[derive(Debug, Clone, Default)]
pub struct Freshness {
    /// When the last complete sample was taken.
    pub last_sample: Option<chrono::DateTime<chrono::Utc>>,
    /// Samples that failed since the exporter started.
    pub errors: u64,
}

pub fn render(snapshot: &Snapshot, opts: &MetricsOptions, freshness: &Freshness) -> String {
    let mut b = Builder { registry: Registry::default(), gauges: Vec::new(), counters: Vec::new() };
    match opts.naming {
        Naming::Gputop => gputop_names(&mut b, snapshot, opts),
        Naming::Dcgm => dcgm_names(&mut b, snapshot),
    }
    let host = labels(&[("hostname", snapshot.host.hostname.as_deref().unwrap_or(""))]);
    b.set(
        "gputop_last_sample_timestamp_seconds",
        "Unix time of the last complete sample: old while sampling is stuck",
        &host,
        freshness.last_sample.map(|t| t.timestamp_millis() as f64 / 1000.0),
    );
    b.count(
        "gputop_sample_errors",
        "Samples that failed since the exporter started",
        &host,
        freshness.errors as f64,
    );
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = encode(&mut out, &b.registry);
    out
}

/// The classic Prometheus text format (0.0.4) of an OpenMetrics text, for clients that do not
/// ask for OpenMetrics: no `# EOF` and no `# UNIT`, and a counter's `# HELP` and `# TYPE` name
/// the sample that is emitted (`…_total`), as that format wants.
pub fn classic_text(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters.contains(&name).then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(line) => out.push_str(&line),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn gputop_names(b: &mut Builder, s: &Snapshot, opts: &MetricsOptions) {
    let host = s.host.hostname.clone().unwrap_or_default();
    let build = labels(&[
        ("version", env!("CARGO_PKG_VERSION")),
        ("driver_version", s.host.driver_version.as_deref().unwrap_or("")),
    ]);
    b.set("gputop_build_info", "gputop version and the NVIDIA driver version", &build, Some(1.0));
    let energy = CounterFamily::default();
    b.registry.register(
        "gputop_gpu_energy_joules",
        "Energy used since the driver was loaded",
        energy.clone(),
    );
    for g in &s.gpus {
        let index = g.index.to_string();
        let l = labels(&[
            ("gpu", &index),
            ("uuid", g.uuid.as_deref().unwrap_or("")),
            ("name", g.name.as_deref().unwrap_or("")),
            ("hostname", &host),
        ]);
        b.set(
            "gputop_gpu_up",
            "1 if the GPU answers, 0 if it is lost or failing",
            &l,
            Some(f64::from(u8::from(g.status == GpuStatus::Ok))),
        );
        // Before the lost GPU is skipped: its XID 79 is the news.
        if let Some(events) = &g.events {
            event_metrics(b, events, &l);
        }
        if g.status != GpuStatus::Ok {
            continue;
        }
        gpu_metrics(b, g, &l);
        b.set(
            "gputop_gpu_processes",
            "Processes using the GPU (absent when NVML could not list them)",
            &l,
            g.processes.as_ref().map(|p| p.len() as f64),
        );
        if let Some(j) = g.power.energy_joules {
            energy.get_or_create(&l).inc_by(j);
        }
        if opts.processes {
            for p in g.known_processes() {
                let mut pl = l.clone();
                pl.push(("pid".into(), p.pid.to_string()));
                // A process names itself: escaped, as everywhere, since a scrape read with
                // `curl` reaches a terminal.
                let untrusted = |s: Option<&str>| sanitize(s.unwrap_or_default()).into_owned();
                pl.push(("user".into(), untrusted(p.user.as_deref())));
                pl.push(("command".into(), untrusted(p.name.as_deref().or(p.command.as_deref()))));
                // Where it runs: container, pod, Slurm job (empty on the host).
                let at = p.placement.clone().unwrap_or_default();
                pl.push(("container".into(), at.container_id.unwrap_or_default()));
                pl.push(("pod".into(), at.pod_name.or(at.pod_uid).unwrap_or_default()));
                pl.push(("namespace".into(), at.namespace.unwrap_or_default()));
                pl.push(("job".into(), at.slurm_job.unwrap_or_default()));
                b.set(
                    "gputop_process_gpu_memory_bytes",
                    "GPU memory used by a process",
                    &pl,
                    p.gpu_memory_bytes.map(|v| v as f64),
                );
                b.set(
                    "gputop_process_sm_utilization_ratio",
                    "SM utilization of a process",
                    &pl,
                    p.sm_percent.map(ratio),
                );
            }
        }
    }
}

fn ratio(percent: u32) -> f64 {
    f64::from(percent) / 100.0
}

fn gpu_metrics(b: &mut Builder, g: &GpuSample, l: &Labels) {
    let u = &g.utilization;
    b.set(
        "gputop_gpu_utilization_ratio",
        "Time a kernel was running, 0 to 1",
        l,
        u.gpu_percent.map(ratio),
    );
    b.set(
        "gputop_gpu_memory_utilization_ratio",
        "Time memory was read or written, 0 to 1",
        l,
        u.memory_percent.map(ratio),
    );
    b.set(
        "gputop_gpu_encoder_utilization_ratio",
        "Video encoder utilization, 0 to 1",
        l,
        u.encoder_percent.map(ratio),
    );
    b.set(
        "gputop_gpu_decoder_utilization_ratio",
        "Video decoder utilization, 0 to 1",
        l,
        u.decoder_percent.map(ratio),
    );
    let m = &g.memory;
    b.set("gputop_gpu_memory_used_bytes", "GPU memory in use", l, m.used_bytes.map(|v| v as f64));
    b.set(
        "gputop_gpu_memory_total_bytes",
        "GPU memory in total",
        l,
        m.total_bytes.map(|v| v as f64),
    );
    b.set("gputop_gpu_memory_free_bytes", "GPU memory free", l, m.free_bytes.map(|v| v as f64));
    b.set(
        "gputop_gpu_temperature_celsius",
        "GPU temperature",
        l,
        g.temperature.gpu_celsius.map(f64::from),
    );
    b.set(
        "gputop_gpu_slowdown_temperature_celsius",
        "Temperature at which the GPU slows down",
        l,
        g.temperature.slowdown_celsius.map(f64::from),
    );
    b.set("gputop_gpu_power_watts", "Power draw", l, g.power.draw_watts);
    b.set("gputop_gpu_power_limit_watts", "Enforced power limit", l, g.power.limit_watts);
    b.set("gputop_gpu_fan_speed_ratio", "Fan speed, 0 to 1", l, g.fan_percent.map(ratio));
    let mhz = |v: Option<u32>| v.map(|v| f64::from(v) * 1e6);
    b.set("gputop_gpu_sm_clock_hertz", "SM clock", l, mhz(g.clocks.sm_mhz));
    b.set("gputop_gpu_memory_clock_hertz", "Memory clock", l, mhz(g.clocks.memory_mhz));
    b.set(
        "gputop_gpu_performance_state",
        "Performance state, 0 (P0, fastest) to 15",
        l,
        g.performance_state.map(f64::from),
    );
    b.set(
        "gputop_gpu_pcie_tx_bytes_per_second",
        "PCIe transmit throughput",
        l,
        g.pcie.tx_bytes_per_second.map(|v| v as f64),
    );
    b.set(
        "gputop_gpu_pcie_rx_bytes_per_second",
        "PCIe receive throughput",
        l,
        g.pcie.rx_bytes_per_second.map(|v| v as f64),
    );
    b.set(
        "gputop_gpu_ecc_corrected_errors",
        "Corrected ECC errors since the driver loaded",
        l,
        g.ecc.corrected.map(|v| v as f64),
    );
    b.set(
        "gputop_gpu_ecc_uncorrected_errors",
        "Uncorrected ECC errors since the driver loaded",
        l,
        g.ecc.uncorrected.map(|v| v as f64),
    );
    if let Some(d) = &g.details {
        health_metrics(b, d, l);
    }
    if let Some(a) = &g.activity {
        activity_metrics(b, a, l);
    }
    for m in g.mig_instances.iter().flatten() {
        let mut ml = l.clone();
        ml.push((
            "gpu_instance".into(),
            m.gpu_instance_id.map_or(String::new(), |v| v.to_string()),
        ));
        ml.push(("profile".into(), m.profile.clone().unwrap_or_default()));
        ml.push(("mig_uuid".into(), m.uuid.clone().unwrap_or_default()));
        let bytes = |v: Option<u64>| v.map(|v| v as f64);
        b.set(
            "gputop_mig_memory_used_bytes",
            "MIG device memory in use",
            &ml,
            bytes(m.memory.used_bytes),
        );
        b.set(
            "gputop_mig_memory_total_bytes",
            "MIG device memory in total",
            &ml,
            bytes(m.memory.total_bytes),
        );
        if let Some(a) = &m.activity {
            let ratio = |v: Option<f64>| v.map(|p| p / 100.0);
            for (name, help, value) in [
                (
                    "gputop_mig_sm_active_ratio",
                    "Share of time the instance's SMs had a warp assigned, 0 to 1 (GPM)",
                    ratio(a.sm_active_percent),
                ),
                (
                    "gputop_mig_tensor_active_ratio",
                    "Share of time the instance's tensor cores were busy, 0 to 1 (GPM)",
                    ratio(a.tensor_active_percent),
                ),
                (
                    "gputop_mig_dram_active_ratio",
                    "The instance's DRAM bandwidth against its peak, 0 to 1 (GPM)",
                    ratio(a.dram_active_percent),
                ),
            ] {
                b.set(name, help, &ml, value);
            }
        }
    }
    if let Some(active) = &g.throttle.reasons {
        for reason in ALL_REASONS {
            let mut rl = l.clone();
            let name = serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            rl.push(("reason".into(), name));
            b.set(
                "gputop_gpu_throttle_reasons",
                "1 while this reason holds the clocks down",
                &rl,
                Some(f64::from(u8::from(active.contains(&reason)))),
            );
        }
    }
}

/// GPM activity since the previous sample.
fn activity_metrics(b: &mut Builder, a: &Activity, l: &Labels) {
    let ratio = |v: Option<f64>| v.map(|p| p / 100.0);
    let rate = |v: Option<u64>| v.map(|v| v as f64);
    for (name, help, value) in [
        (
            "gputop_gpu_sm_active_ratio",
            "Share of time the SMs had a warp assigned, 0 to 1 (GPM)",
            ratio(a.sm_active_percent),
        ),
        (
            "gputop_gpu_sm_occupancy_ratio",
            "Resident warps against the most the SMs hold, 0 to 1 (GPM)",
            ratio(a.sm_occupancy_percent),
        ),
        (
            "gputop_gpu_tensor_active_ratio",
            "Share of time the tensor cores were busy, 0 to 1 (GPM)",
            ratio(a.tensor_active_percent),
        ),
        (
            "gputop_gpu_dram_active_ratio",
            "DRAM bandwidth used against its peak, 0 to 1 (GPM)",
            ratio(a.dram_active_percent),
        ),
        (
            "gputop_gpu_fp64_active_ratio",
            "FP64 pipe activity, 0 to 1 (GPM)",
            ratio(a.fp64_active_percent),
        ),
        (
            "gputop_gpu_fp32_active_ratio",
            "FP32 pipe activity, 0 to 1 (GPM)",
            ratio(a.fp32_active_percent),
        ),
        (
            "gputop_gpu_fp16_active_ratio",
            "FP16 pipe activity, 0 to 1 (GPM)",
            ratio(a.fp16_active_percent),
        ),
        (
            "gputop_gpu_nvlink_tx_bytes_per_second",
            "NVLink transmit throughput, all links (GPM)",
            rate(a.nvlink_tx_bytes_per_second),
        ),
        (
            "gputop_gpu_nvlink_rx_bytes_per_second",
            "NVLink receive throughput, all links (GPM)",
            rate(a.nvlink_rx_bytes_per_second),
        ),
    ] {
        b.set(name, help, l, value);
    }
}

/// The driver's events since the exporter started listening.
fn event_metrics(b: &mut Builder, events: &GpuEvents, l: &Labels) {
    let unknown = (events.xid_unknown > 0).then(|| ("unknown".to_string(), events.xid_unknown));
    for (xid, count) in events.xid_counts.iter().map(|(x, &c)| (x.to_string(), c)).chain(unknown) {
        let mut xl = l.clone();
        xl.push(("xid".into(), xid));
        b.count(
            "gputop_gpu_xid_errors",
            "XID errors since the exporter started",
            &xl,
            count as f64,
        );
    }
    for (kind, count) in
        [("single_bit", events.ecc_single_bit), ("double_bit", events.ecc_double_bit)]
    {
        let Some(count) = count else { continue };
        let mut el = l.clone();
        el.push(("kind".into(), kind.into()));
        b.count(
            "gputop_gpu_ecc_error_events",
            "ECC error events since the exporter started",
            &el,
            count as f64,
        );
    }
}

/// The board's memory and link health, from its details.
fn health_metrics(b: &mut Builder, d: &Details, l: &Labels) {
    let n = |v: Option<u32>| v.map(f64::from);
    let flag = |v: Option<bool>| v.map(|on| f64::from(u8::from(on)));
    b.set(
        "gputop_gpu_pcie_link_generation",
        "PCIe link generation now",
        l,
        n(d.pcie_link_gen_current),
    );
    b.set(
        "gputop_gpu_pcie_link_max_generation",
        "Highest PCIe link generation of the GPU and its slot",
        l,
        n(d.pcie_link_gen_max),
    );
    b.set(
        "gputop_gpu_pcie_link_width",
        "PCIe link width now, in lanes",
        l,
        n(d.pcie_link_width_current),
    );
    b.set(
        "gputop_gpu_pcie_link_max_width",
        "Widest PCIe link of the GPU and its slot, in lanes",
        l,
        n(d.pcie_link_width_max),
    );
    if let Some(rows) = d.remapped_rows {
        for (kind, count) in
            [("correctable", rows.correctable), ("uncorrectable", rows.uncorrectable)]
        {
            let mut rl = l.clone();
            rl.push(("kind".into(), kind.into()));
            b.set(
                "gputop_gpu_remapped_rows",
                "Memory rows remapped after errors",
                &rl,
                Some(f64::from(count)),
            );
        }
        b.set(
            "gputop_gpu_remapped_rows_pending",
            "1 while a row remapping waits for a GPU reset",
            l,
            flag(Some(rows.pending)),
        );
        b.set(
            "gputop_gpu_remapped_rows_failed",
            "1 once a row could not be remapped",
            l,
            flag(Some(rows.failed)),
        );
    }
    b.set(
        "gputop_gpu_retired_pages_pending",
        "1 while memory pages wait to be retired",
        l,
        flag(d.retired_pages_pending),
    );
    for (kind, count) in
        [("corrected", d.ecc_aggregate_corrected), ("uncorrected", d.ecc_aggregate_uncorrected)]
    {
        let mut el = l.clone();
        el.push(("kind".into(), kind.into()));
        b.set(
            "gputop_gpu_ecc_lifetime_errors",
            "ECC errors over the board's lifetime (kept across reboots)",
            &el,
            count.map(|c| c as f64),
        );
    }
    if let Some(n) = d.nvlink {
        b.set(
            "gputop_gpu_nvlink_active_links",
            "NVLink links that are up",
            l,
            Some(f64::from(n.active_links)),
        );
        for (counter, total) in [
            ("replay", n.replay_errors),
            ("recovery", n.recovery_errors),
            ("crc_flit", n.crc_flit_errors),
            ("crc_data", n.crc_data_errors),
        ] {
            // A counter the driver refused is left out: a 0 would say the link is clean.
            let Some(total) = total else { continue };
            let mut nl = l.clone();
            nl.push(("counter".into(), counter.into()));
            b.count(
                "gputop_gpu_nvlink_errors",
                "NVLink errors since the driver loaded, all links",
                &nl,
                total as f64,
            );
        }
    }
    if let Some(replays) = d.pcie_replay_count {
        b.count(
            "gputop_gpu_pcie_replays",
            "PCIe replays (retransmissions after link errors) since the driver loaded",
            l,
            f64::from(replays),
        );
    }
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

/// GPM activity under dcgm-exporter's `DCGM_FI_PROF_*` names.
fn dcgm_activity(b: &mut Builder, a: &Activity, l: &Labels) {
    let ratio = |v: Option<f64>| v.map(|p| p / 100.0);
    let rate = |v: Option<u64>| v.map(|v| v as f64);
    for (name, help, value) in [
        ("DCGM_FI_PROF_SM_ACTIVE", "The ratio of cycles an SM has at least 1 warp assigned.", ratio(a.sm_active_percent)),
        ("DCGM_FI_PROF_SM_OCCUPANCY", "The ratio of number of warps resident on an SM.", ratio(a.sm_occupancy_percent)),
        ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "Ratio of cycles the tensor (HMMA) pipe is active.", ratio(a.tensor_active_percent)),
        ("DCGM_FI_PROF_DRAM_ACTIVE", "Ratio of cycles the device memory interface is active sending or receiving data.", ratio(a.dram_active_percent)),
        ("DCGM_FI_PROF_PIPE_FP64_ACTIVE", "Ratio of cycles the fp64 pipes are active.", ratio(a.fp64_active_percent)),
        ("DCGM_FI_PROF_PIPE_FP32_ACTIVE", "Ratio of cycles the fp32 pipes are active.", ratio(a.fp32_active_percent)),
        ("DCGM_FI_PROF_PIPE_FP16_ACTIVE", "Ratio of cycles the fp16 pipes are active.", ratio(a.fp16_active_percent)),
        ("DCGM_FI_PROF_PCIE_TX_BYTES", "The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second.", rate(a.pcie_tx_bytes_per_second)),
        ("DCGM_FI_PROF_PCIE_RX_BYTES", "The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second.", rate(a.pcie_rx_bytes_per_second)),
        ("DCGM_FI_PROF_NVLINK_TX_BYTES", "The rate of data transmitted over NVLink, not including protocol headers, in bytes per second.", rate(a.nvlink_tx_bytes_per_second)),
        ("DCGM_FI_PROF_NVLINK_RX_BYTES", "The rate of data received over NVLink, not including protocol headers, in bytes per second.", rate(a.nvlink_rx_bytes_per_second)),
    ] {
        b.set(name, help, l, value);
    }
}

/// dcgm-exporter's default metrics, names, units and labels.
fn dcgm_names(b: &mut Builder, s: &Snapshot) {
    let host = s.host.hostname.clone().unwrap_or_default();
    let driver = s.host.driver_version.clone().unwrap_or_default();
    for g in &s.gpus {
        let index = g.index.to_string();
        let device = format!("nvidia{index}");
        let l = labels(&[
            ("gpu", &index),
            ("UUID", g.uuid.as_deref().unwrap_or("")),
            ("device", &device),
            ("modelName", g.name.as_deref().unwrap_or("")),
            ("Hostname", &host),
            ("DCGM_FI_DRIVER_VERSION", &driver),
        ]);
        // As dcgm-exporter: the last XID seen, 0 for none (while listening); kept for a lost
        // GPU, whose XID 79 is the news.
        if let Some(events) = &g.events {
            // DCGM's own convention: 0 until an XID comes (no XID is numbered 0); an XID of
            // unknown number is counted under gputop's own xid="unknown" series.
            let last = events.recent.iter().rev().find_map(|e| e.xid);
            b.set(
                "DCGM_FI_DEV_XID_ERRORS",
                "Value of the last XID error encountered.",
                &l,
                Some(f64::from(last.unwrap_or(0))),
            );
        }
        if g.status != GpuStatus::Ok {
            continue;
        }
        let mib = |v: Option<u64>| v.map(|b| (b >> 20) as f64);
        let n = |v: Option<u32>| v.map(f64::from);
        b.set("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", &l, n(g.utilization.gpu_percent));
        b.set(
            "DCGM_FI_DEV_MEM_COPY_UTIL",
            "Memory utilization (in %).",
            &l,
            n(g.utilization.memory_percent),
        );
        b.set(
            "DCGM_FI_DEV_ENC_UTIL",
            "Encoder utilization (in %).",
            &l,
            n(g.utilization.encoder_percent),
        );
        b.set(
            "DCGM_FI_DEV_DEC_UTIL",
            "Decoder utilization (in %).",
            &l,
            n(g.utilization.decoder_percent),
        );
        b.set(
            "DCGM_FI_DEV_FB_USED",
            "Framebuffer memory used (in MiB).",
            &l,
            mib(g.memory.used_bytes),
        );
        b.set(
            "DCGM_FI_DEV_FB_FREE",
            "Framebuffer memory free (in MiB).",
            &l,
            mib(g.memory.free_bytes),
        );
        b.set("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", &l, n(g.temperature.gpu_celsius));
        b.set("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", &l, g.power.draw_watts);
        b.set("DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", &l, n(g.clocks.sm_mhz));
        b.set(
            "DCGM_FI_DEV_MEM_CLOCK",
            "Memory clock frequency (in MHz).",
            &l,
            n(g.clocks.memory_mhz),
        );
        b.set(
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
            "Total energy consumption since boot (in mJ).",
            &l,
            g.power.energy_joules.map(|j| j * 1000.0),
        );
        b.set(
            "DCGM_FI_DEV_PCIE_TX_THROUGHPUT",
            "PCIe TX throughput (in KB/s).",
            &l,
            g.pcie.tx_bytes_per_second.map(|v| (v / 1024) as f64),
        );
        b.set(
            "DCGM_FI_DEV_PCIE_RX_THROUGHPUT",
            "PCIe RX throughput (in KB/s).",
            &l,
            g.pcie.rx_bytes_per_second.map(|v| (v / 1024) as f64),
        );
        b.set(
            "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS",
            "Current clock throttle reasons (bitmask).",
            &l,
            g.throttle.mask.map(|m| m as f64),
        );
        b.set(
            "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
            "Total number of single-bit volatile ECC errors.",
            &l,
            g.ecc.corrected.map(|v| v as f64),
        );
        b.set(
            "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
            "Total number of double-bit volatile ECC errors.",
            &l,
            g.ecc.uncorrected.map(|v| v as f64),
        );
        // As dcgm-exporter: a MIG device's memory under its GPU's labels plus GPU_I_ID and
        // GPU_I_PROFILE.
        for m in g.mig_instances.iter().flatten() {
            let mut ml = l.clone();
            ml.push(("GPU_I_PROFILE".into(), m.profile.clone().unwrap_or_default()));
            ml.push((
                "GPU_I_ID".into(),
                m.gpu_instance_id.map_or(String::new(), |v| v.to_string()),
            ));
            b.set(
                "DCGM_FI_DEV_FB_USED",
                "Framebuffer memory used (in MiB).",
                &ml,
                mib(m.memory.used_bytes),
            );
            b.set(
                "DCGM_FI_DEV_FB_FREE",
                "Framebuffer memory free (in MiB).",
                &ml,
                mib(m.memory.free_bytes),
            );
            if let Some(a) = &m.activity {
                dcgm_activity(b, a, &ml);
            }
        }
        if let Some(a) = &g.activity {
            dcgm_activity(b, a, &l);
        }
        if let Some(d) = &g.details {
            let rows = d.remapped_rows;
            let flag = |on: bool| f64::from(u8::from(on));
            for (name, help, value) in [
                ("DCGM_FI_DEV_PCIE_LINK_GEN", "PCIe link generation.", n(d.pcie_link_gen_current)),
                (
                    "DCGM_FI_DEV_PCIE_MAX_LINK_GEN",
                    "PCIe maximum link generation.",
                    n(d.pcie_link_gen_max),
                ),
                ("DCGM_FI_DEV_PCIE_LINK_WIDTH", "PCIe link width.", n(d.pcie_link_width_current)),
                (
                    "DCGM_FI_DEV_PCIE_MAX_LINK_WIDTH",
                    "PCIe maximum link width.",
                    n(d.pcie_link_width_max),
                ),
                (
                    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
                    "Number of remapped rows for uncorrectable errors.",
                    rows.map(|r| f64::from(r.uncorrectable)),
                ),
                (
                    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
                    "Number of remapped rows for correctable errors.",
                    rows.map(|r| f64::from(r.correctable)),
                ),
                (
                    "DCGM_FI_DEV_ROW_REMAP_FAILURE",
                    "Whether remapping of rows has failed.",
                    rows.map(|r| flag(r.failed)),
                ),
                (
                    "DCGM_FI_DEV_ROW_REMAP_PENDING",
                    "Whether remapping of rows is pending.",
                    rows.map(|r| flag(r.pending)),
                ),
                (
                    "DCGM_FI_DEV_RETIRED_PENDING",
                    "Whether pages are pending retirement.",
                    d.retired_pages_pending.map(flag),
                ),
                (
                    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
                    "Total number of PCIe retries.",
                    n(d.pcie_replay_count),
                ),
                (
                    "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL",
                    "Total number of single-bit persistent ECC errors.",
                    d.ecc_aggregate_corrected.map(|v| v as f64),
                ),
                (
                    "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL",
                    "Total number of double-bit persistent ECC errors.",
                    d.ecc_aggregate_uncorrected.map(|v| v as f64),
                ),
                (
                    "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL",
                    "Total number of NVLink flow-control CRC errors.",
                    d.nvlink.and_then(|v| v.crc_flit_errors).map(|v| v as f64),
                ),
                (
                    "DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL",
                    "Total number of NVLink data CRC errors.",
                    d.nvlink.and_then(|v| v.crc_data_errors).map(|v| v as f64),
                ),
                (
                    "DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL",
                    "Total number of NVLink retries.",
                    d.nvlink.and_then(|v| v.replay_errors).map(|v| v as f64),
                ),
                (
                    "DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL",
                    "Total number of NVLink recovery errors.",
                    d.nvlink.and_then(|v| v.recovery_errors).map(|v| v as f64),
                ),
            ] {
                b.set(name, help, &l, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_process_list_has_no_count() {
        let mut s = snapshot();
        s.gpus[2].processes = None;
        let text = render(
            &s,
            &MetricsOptions { naming: Naming::Gputop, processes: false },
            &Freshness::default(),
        );
        let count = |gpu: &str| {
            text.lines().any(|l| {
                l.starts_with("gputop_gpu_processes{") && l.contains(&format!("gpu=\"{gpu}\""))
            })
        };
        assert!(count("0") && !count("2"), "{text}");
    }

    #[test]
    fn memory_and_link_health_under_both_namings() {
        let mut s = snapshot();
        s.gpus[0].details = Some(Box::new(Details {
            pcie_link_width_current: Some(8),
            pcie_link_width_max: Some(16),
            remapped_rows: Some(crate::sample::RemappedRows {
                correctable: 2,
                uncorrectable: 1,
                pending: true,
                failed: false,
            }),
            ..Details::default()
        }));
        let ours = render(
            &s,
            &MetricsOptions { naming: Naming::Gputop, processes: false },
            &Freshness::default(),
        );
        let line = |text: &str, name: &str| -> Option<String> {
            text.lines()
                .find(|l| l.starts_with(&format!("{name}{{")) && l.contains("gpu=\"0\""))
                .map(String::from)
        };
        assert!(line(&ours, "gputop_gpu_pcie_link_width").unwrap().ends_with(" 8.0"));
        assert!(line(&ours, "gputop_gpu_remapped_rows_pending").unwrap().ends_with(" 1.0"));
        assert!(ours.contains("kind=\"uncorrectable\"} 1.0"), "{ours}");
        assert!(line(&ours, "gputop_gpu_retired_pages_pending").is_none(), "unknown is absent");
        let dcgm = render(
            &s,
            &MetricsOptions { naming: Naming::Dcgm, processes: false },
            &Freshness::default(),
        );
        assert!(line(&dcgm, "DCGM_FI_DEV_ROW_REMAP_PENDING").unwrap().ends_with(" 1.0"));
        assert!(line(&dcgm, "DCGM_FI_DEV_PCIE_MAX_LINK_WIDTH").unwrap().ends_with(" 16.0"));
        assert!(line(&dcgm, "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS").unwrap().ends_with(" 2.0"));
    }

    #[test]
    fn the_classic_text_names_counters_by_their_samples_and_has_no_eof() {
        let open = render(
            &snapshot(),
            &MetricsOptions { naming: Naming::Gputop, processes: false },
            &Freshness::default(),
        );
        assert!(open.ends_with("# EOF\n"));
        let classic = classic_text(&open);
        assert!(!classic.contains("# EOF"));
        assert!(classic.contains("# TYPE gputop_gpu_energy_joules_total counter\n"), "{classic}");
        assert!(classic.contains("# HELP gputop_gpu_energy_joules_total Energy"), "{classic}");
        assert!(classic.lines().any(|l| l.starts_with("gputop_gpu_energy_joules_total{")));
        assert!(classic.contains("# TYPE gputop_gpu_up gauge\n"));
    }
    use crate::scenario::Scenario;
    use crate::source::SimSource;

    fn snapshot() -> Snapshot {
        let mut s = Scenario::demo(3);
        s.gpus[1].lost = true;
        SimSource::new(s, &[]).unwrap().sample_at(1_000.0)
    }

    #[test]
    fn gputop_names_follow_prometheus_conventions() {
        let text = render(
            &snapshot(),
            &MetricsOptions { naming: Naming::Gputop, processes: false },
            &Freshness::default(),
        );
        assert!(text.contains("# TYPE gputop_gpu_utilization_ratio gauge"), "{text}");
        assert!(text.contains("# HELP gputop_gpu_memory_used_bytes GPU memory in use"));
        assert!(
            text.contains("gputop_gpu_up{gpu=\"1\",uuid=\"\",name=\"\",hostname=\"demo\"} 0"),
            "{text}"
        );
        assert!(text.contains("# TYPE gputop_gpu_energy_joules counter"));
        assert!(
            text.contains("gputop_gpu_throttle_reasons{")
                && text.contains("reason=\"sw_power_cap\"} 1")
        );
        assert!(!text.contains("gputop_process_gpu_memory_bytes"), "processes only when asked");
        // The H100 has no fan: the series is absent, not 0.
        assert!(
            !text.lines().any(|l| l.starts_with("gputop_gpu_fan_speed_ratio{gpu=\"0\"")),
            "{text}"
        );
    }

    #[test]
    fn process_metrics_when_asked() {
        let text = render(
            &snapshot(),
            &MetricsOptions { naming: Naming::Gputop, processes: true },
            &Freshness::default(),
        );
        assert!(
            text.contains("gputop_process_gpu_memory_bytes{") && text.contains("pid=\"4000\""),
            "{text}"
        );
        // The demo's first job runs under Slurm: where it runs is in its labels.
        assert!(text.contains("container=\"\",pod=\"\",namespace=\"\",job=\"4242\""), "{text}");
        // A process that names itself with escape sequences reaches no terminal raw.
        let mut s = snapshot();
        let p = &mut s.gpus[0].processes.as_mut().unwrap()[0];
        p.name = Some("evil\x1b]0;pwned\x07".into());
        p.user = Some("mal\x1b[31mlory".into());
        let opts = MetricsOptions { naming: Naming::Gputop, processes: true };
        let text = render(&s, &opts, &Freshness::default());
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    }

    #[test]
    fn dcgm_names_and_labels() {
        let text = render(
            &snapshot(),
            &MetricsOptions { naming: Naming::Dcgm, processes: false },
            &Freshness::default(),
        );
        assert!(text.contains("DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-"), "{text}");
        assert!(text.contains("modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"demo\""));
        assert!(text.contains("# TYPE DCGM_FI_DEV_FB_USED gauge"));
    }
}
