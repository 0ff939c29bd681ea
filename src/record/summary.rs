//! What a recording says about a window of time: per GPU (busy share, mean and p95
//! utilization, peak memory, energy, time throttled and lost), per user, container, pod, job
//! or process (GPU-hours held and busy, peak memory, energy), and the spans where a process
//! held a GPU's memory while the GPU sat idle. A GPU counts as busy in a sample at 10 %
//! utilization or more, and as idle under 5 %. Everything is summed from per-minute rollups
//! ([`super::rollup`]), read where the recorder wrote them and made from raw samples elsewhere.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;

use super::rollup::{self, GpuMinute, Minutes, ProcessMinute, MINUTE_MS};
use crate::sample::Vendor;
/// How many idle-while-held spans a report lists.
const SPANS: usize = 20;

/// Who a report sums the GPUs' use by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportBy {
    Gpu,
    User,
    Container,
    Pod,
    Job,
    Process,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// The recording's sampling interval: each sample stands for this much time.
    pub interval_seconds: f64,
    pub gpus: Vec<GpuReport>,
    /// What `owners` sums by: user, container, pod, job or process.
    pub by: ReportBy,
    pub owners: Vec<OwnerReport>,
    pub idle_while_held: Vec<IdleSpan>,
    /// What happened to the GPUs (XIDs, lost and back, slowdowns started), newest first.
    pub events: Vec<EventReport>,
    /// Each GPU over the window, for the HTML page's charts (when asked for).
    #[serde(skip)]
    pub series: Vec<super::chart::GpuSeries>,
    /// Time the recording covers in the window (samples × interval); less than the window
    /// where the recorder was stopped or could not write (a full disk).
    pub recorded_seconds: f64,
    /// Whole minutes between the first and last sample with none, longest first.
    pub gaps: Vec<Gap>,
}

#[derive(Debug, Serialize)]
pub struct Gap {
    pub from: DateTime<Utc>,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct EventReport {
    pub at: DateTime<Utc>,
    pub gpu: u32,
    /// xid, gpu_lost, gpu_back, gpu_error, slowdown_started, slowdown_ended.
    pub kind: String,
    /// The XID, the slowdown's reason or the error, as recorded: sanitize before printing.
    pub detail: Option<String>,
}

impl EventReport {
    /// What happened, in words: `XID 79: GPU has fallen off the bus`, `SW power cap ended`.
    /// Unsanitized: the detail is as recorded.
    pub fn describe(&self) -> String {
        match (self.kind.as_str(), self.detail.as_deref()) {
            ("xid", Some("unknown")) => {
                "XID of unknown number: the driver did not say which".into()
            }
            ("xid", Some(x)) => {
                let meaning = x.parse().map(|n| crate::health::xid::describe(n).meaning);
                format!("XID {x}: {}", meaning.unwrap_or("an XID error"))
            }
            ("gpu_lost", _) => "fell off the bus".into(),
            ("gpu_back", _) => "answers again".into(),
            ("slowdown_started", Some(reason)) => format!("{reason} started"),
            ("slowdown_ended", Some(reason)) => format!("{reason} ended"),
            (kind, detail) => format!("{kind} {}", detail.unwrap_or("")),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct GpuReport {
    pub index: u32,
    /// Who made it (`nvidia` in recordings from before vendors were stored).
    pub vendor: Vendor,
    pub uuid: Option<String>,
    pub name: Option<String>,
    pub samples: u64,
    /// Share of the samples with a utilization at 10 % or more.
    pub busy_share: Option<f64>,
    pub mean_utilization_percent: Option<f64>,
    pub p95_utilization_percent: Option<u32>,
    pub peak_memory_bytes: Option<u64>,
    /// From the energy counter where the GPU has one, else power × time.
    pub energy_kwh: Option<f64>,
    /// `None` for an AMD or Intel GPU: their drivers give no clock slowdown reasons.
    pub throttled_seconds: Option<f64>,
    pub lost_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct OwnerReport {
    /// The user, container id, pod, Slurm job, or `PID command` of a process; empty for
    /// processes outside any container, pod or job.
    pub owner: String,
    /// GPU-hours in which the owner's processes held memory on the GPU.
    pub gpu_hours_held: f64,
    /// Of those, the hours the GPU was busy.
    pub gpu_hours_busy: f64,
    /// The most GPU memory the owner's processes held on one GPU at once.
    pub peak_memory_bytes: Option<u64>,
    /// The GPUs' energy while the owner's processes ran on them, each sample's share split
    /// by SM use (evenly when no SM use is known); `None` without power readings.
    pub energy_kwh: Option<f64>,
    pub processes: u64,
}

#[derive(Debug, Serialize)]
pub struct IdleSpan {
    pub gpu: u32,
    pub user: Option<String>,
    pub pid: u32,
    /// As recorded: sanitize before printing.
    pub command: Option<String>,
    pub from: DateTime<Utc>,
    pub seconds: f64,
    pub peak_memory_bytes: Option<u64>,
}

pub fn build(
    conn: &Connection,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    by: ReportBy,
    idle_min: std::time::Duration,
    chart_points: Option<usize>,
) -> rusqlite::Result<Report> {
    let to = until.timestamp_millis();
    let from = since.timestamp_millis();
    let interval_ms: f64 = conn
        .query_row("SELECT value FROM meta WHERE key = 'interval_ms'", [], |r| {
            r.get::<_, String>(0)
        })
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000.0);
    let interval = interval_ms / 1000.0;
    let minutes = window(conn, from, to, interval)?;
    // Events by the window's ticks (the samples' numbers), which they carry.
    let (from_tick, to_tick) = rollup::tick_range(conn, from, to)?.unwrap_or((1, 0));
    let processes = if minutes.processes.is_empty() { HashMap::new() } else { who(conn)? };
    Ok(Report {
        since,
        until,
        interval_seconds: interval,
        gpus: gpus(conn, &minutes, interval)?,
        by,
        owners: owners(&minutes, &processes, by, interval),
        idle_while_held: idle_spans(&minutes, &processes, interval, idle_min),
        events: events(conn, from_tick, to_tick)?,
        recorded_seconds: recorded_seconds(&minutes, interval),
        gaps: gaps(&minutes),
        series: match chart_points {
            Some(points) => super::chart::series(conn, &minutes, from, to, points)?,
            None => Vec::new(),
        },
    })
}

/// The window `from..=to` (ms) in minutes: the rollups of the whole minutes that have them, the
/// raw samples summed for the rest (the window's ends, the minute under way, a recording made
/// before rollups).
fn window(conn: &Connection, from: i64, to: i64, interval: f64) -> rusqlite::Result<Minutes> {
    let has_rollups: bool = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'minutes'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    // The minutes wholly inside the window.
    let first = (from + MINUTE_MS - 1).div_euclid(MINUTE_MS);
    let last = (to + 1).div_euclid(MINUTE_MS) - 1;
    let mut minutes = if has_rollups && first <= last {
        Minutes::load(conn, first, last)?
    } else {
        Minutes::default()
    };
    let rolled: std::collections::BTreeSet<i64> = minutes.gpus.keys().map(|(m, _)| *m).collect();
    // The raw samples between the runs of rolled-up minutes.
    let mut cursor = from;
    let mut run_start: Option<i64> = None;
    let mut previous: Option<i64> = None;
    let mut runs = Vec::new();
    for &m in &rolled {
        if previous.is_some_and(|p| p + 1 != m) {
            runs.push((run_start.unwrap_or(m), previous.unwrap_or(m)));
            run_start = None;
        }
        run_start = run_start.or(Some(m));
        previous = Some(m);
    }
    if let (Some(a), Some(b)) = (run_start, previous) {
        runs.push((a, b));
    }
    for (a, b) in runs {
        if a * MINUTE_MS > cursor {
            minutes.add_raw(conn, cursor, a * MINUTE_MS - 1, interval)?;
        }
        cursor = (b + 1) * MINUTE_MS;
    }
    if cursor <= to {
        minutes.add_raw(conn, cursor, to, interval)?;
    }
    Ok(minutes)
}

fn gpus(conn: &Connection, minutes: &Minutes, interval: f64) -> rusqlite::Result<Vec<GpuReport>> {
    // Each GPU's minutes in order, merged.
    let mut by_gpu: BTreeMap<i64, Vec<(i64, &GpuMinute)>> = BTreeMap::new();
    for ((m, gpu), row) in &minutes.gpus {
        by_gpu.entry(*gpu).or_default().push((*m, row));
    }
    let mut out = Vec::new();
    let version = super::read::schema_version(conn)?;
    for (gpu, rows) in by_gpu {
        let super::read::RecordedGpu { uuid, name, vendor, .. } =
            super::read::gpu(conn, version, gpu)?;
        let mut total = GpuMinute::default();
        let mut index = 0;
        for (_, row) in &rows {
            index = index.max(row.index);
            total = rollup::merge_gpu(total, (*row).clone());
        }
        let with_util = u64::from(total.util_samples);
        let energy = match (total.energy_first_mj, total.energy_last_mj) {
            (Some(a), Some(b)) if b > a => Some((b - a) as f64 / 3.6e9),
            _ => (total.power_samples > 0)
                .then(|| total.power_sum_mw as f64 / 1000.0 * interval / 3.6e6),
        };
        out.push(GpuReport {
            index,
            vendor,
            uuid,
            name,
            samples: u64::from(total.samples),
            busy_share: (with_util > 0).then(|| f64::from(total.busy_samples) / with_util as f64),
            mean_utilization_percent: (with_util > 0)
                .then(|| total.util_sum as f64 / with_util as f64),
            p95_utilization_percent: percentile(&total.histogram, with_util, 0.95),
            peak_memory_bytes: total.memory_max_kib.map(|k| k.max(0) as u64 * 1024),
            energy_kwh: energy,
            throttled_seconds: (vendor == Vendor::Nvidia)
                .then(|| f64::from(total.throttled_samples) * interval),
            lost_seconds: f64::from(total.lost_samples) * interval,
        });
    }
    out.sort_by_key(|g| g.index);
    Ok(out)
}

/// The samples of the busiest-recorded GPU in each minute, as time.
fn recorded_seconds(minutes: &Minutes, interval: f64) -> f64 {
    let mut per_minute: BTreeMap<i64, u32> = BTreeMap::new();
    for ((m, _), row) in &minutes.gpus {
        let n = per_minute.entry(*m).or_default();
        *n = (*n).max(row.samples);
    }
    per_minute.values().map(|n| f64::from(*n) * interval).sum()
}

/// How many gaps a report lists.
const GAPS: usize = 10;

fn gaps(minutes: &Minutes) -> Vec<Gap> {
    let recorded: std::collections::BTreeSet<i64> = minutes.gpus.keys().map(|(m, _)| *m).collect();
    let mut gaps: Vec<Gap> = recorded
        .iter()
        .zip(recorded.iter().skip(1))
        .filter(|(a, b)| **b > **a + 1)
        .map(|(a, b)| Gap {
            from: DateTime::from_timestamp_millis((a + 1) * MINUTE_MS).unwrap_or_default(),
            seconds: ((b - a - 1) * 60) as f64,
        })
        .collect();
    gaps.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    gaps.truncate(GAPS);
    gaps
}

/// The value at rank `p` of `n` samples counted by value.
fn percentile(histogram: &BTreeMap<u8, u32>, n: u64, p: f64) -> Option<u32> {
    if n == 0 {
        return None;
    }
    let rank = ((n - 1) as f64 * p).round() as u64;
    let mut seen = 0u64;
    for (&value, &count) in histogram {
        seen += u64::from(count);
        if seen > rank {
            return Some(u32::from(value));
        }
    }
    histogram.keys().next_back().map(|v| u32::from(*v))
}

/// Who each process in the recording is.
struct Who {
    user: Option<String>,
    pid: u32,
    command: Option<String>,
    container: Option<String>,
    pod: Option<String>,
    namespace: Option<String>,
    job: Option<String>,
}

fn who(conn: &Connection) -> rusqlite::Result<HashMap<i64, Who>> {
    let mut stmt = conn
        .prepare("SELECT id, user, pid, command, container, pod, namespace, job FROM processes")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            Who {
                user: r.get(1)?,
                pid: r.get(2)?,
                command: r.get(3)?,
                container: r.get(4)?,
                pod: r.get(5)?,
                namespace: r.get(6)?,
                job: r.get(7)?,
            },
        ))
    })?;
    rows.collect()
}

fn owner_of(w: &Who, by: ReportBy) -> String {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    match by {
        ReportBy::Gpu | ReportBy::User => text(&w.user),
        ReportBy::Container => text(&w.container),
        ReportBy::Pod => {
            let ns = w.namespace.as_ref().map(|n| format!("{n}/")).unwrap_or_default();
            format!("{ns}{}", text(&w.pod))
        }
        ReportBy::Job => text(&w.job),
        ReportBy::Process => format!("{} {}", w.pid, text(&w.command)),
    }
}

/// Per owner: in each minute on each GPU, the samples in which any of its processes held the
/// GPU (the most of any one of them), and of those the busy ones; its processes' memory
/// together (each at its peak of the minute); their share of the energy.
fn owners(
    minutes: &Minutes,
    processes: &HashMap<i64, Who>,
    by: ReportBy,
    interval: f64,
) -> Vec<OwnerReport> {
    if by == ReportBy::Gpu {
        return Vec::new();
    }
    #[derive(Default)]
    struct Cell {
        held: u32,
        busy: u32,
        memory: Option<i64>,
    }
    #[derive(Default)]
    struct Sum {
        held: u64,
        busy: u64,
        peak: Option<i64>,
        energy: Option<f64>,
        processes: std::collections::HashSet<i64>,
    }
    let mut cells: HashMap<(String, i64, i64), Cell> = HashMap::new();
    let mut sums: HashMap<String, Sum> = HashMap::new();
    for ((m, gpu, process), row) in &minutes.processes {
        let owner = processes.get(process).map(|w| owner_of(w, by)).unwrap_or_default();
        let cell = cells.entry((owner.clone(), *m, *gpu)).or_default();
        cell.held = cell.held.max(row.samples);
        cell.busy = cell.busy.max(row.busy_samples);
        if let Some(k) = row.memory_max_kib {
            // A sum of the known values: a cell with none stays `None`.
            cell.memory = Some(cell.memory.unwrap_or(0) + k);
        }
        let sum = sums.entry(owner).or_default();
        sum.processes.insert(*process);
        if let Some(e) = row.energy_mj {
            sum.energy = Some(sum.energy.unwrap_or(0.0) + e);
        }
    }
    for ((owner, _, _), cell) in cells {
        let sum = sums.entry(owner).or_default();
        sum.held += u64::from(cell.held);
        sum.busy += u64::from(cell.busy);
        sum.peak = sum.peak.max(cell.memory);
    }
    let mut owners: Vec<OwnerReport> = sums
        .into_iter()
        .map(|(owner, s)| OwnerReport {
            owner,
            gpu_hours_held: s.held as f64 * interval / 3600.0,
            gpu_hours_busy: s.busy as f64 * interval / 3600.0,
            peak_memory_bytes: s.peak.map(|k| k.max(0) as u64 * 1024),
            energy_kwh: s.energy.map(|mj| mj / 3.6e9),
            processes: s.processes.len() as u64,
        })
        .collect();
    owners.sort_by(|a, b| {
        b.gpu_hours_held.total_cmp(&a.gpu_hours_held).then_with(|| a.owner.cmp(&b.owner))
    });
    owners
}

/// Runs of minutes, one after another, in which a process held a GPU and the GPU stayed under
/// 5 % in every sample it was there; at least `idle_min` of them, the longest first.
fn idle_spans(
    minutes: &Minutes,
    processes: &HashMap<i64, Who>,
    interval: f64,
    idle_min: std::time::Duration,
) -> Vec<IdleSpan> {
    struct Open {
        gpu: i64,
        process: i64,
        last_minute: i64,
        first_ms: i64,
        idle: u64,
        peak: Option<i64>,
    }
    let mut by_process: Vec<(&(i64, i64, i64), &ProcessMinute)> =
        minutes.processes.iter().collect();
    by_process.sort_by_key(|((m, gpu, process), _)| (*process, *gpu, *m));
    let mut spans: Vec<Open> = Vec::new();
    let mut open: Option<Open> = None;
    for ((m, gpu, process), row) in by_process {
        let idle = row.samples > 0 && row.idle_samples == row.samples;
        let continues = open
            .as_ref()
            .is_some_and(|o| o.process == *process && o.gpu == *gpu && o.last_minute + 1 == *m);
        match (idle, continues) {
            (true, true) => {
                if let Some(o) = open.as_mut() {
                    o.last_minute = *m;
                    o.idle += u64::from(row.idle_samples);
                    o.peak = o.peak.max(row.memory_max_kib);
                }
            }
            (true, false) => {
                spans.extend(open.take());
                open = Some(Open {
                    gpu: *gpu,
                    process: *process,
                    last_minute: *m,
                    first_ms: row.first_ms,
                    idle: u64::from(row.idle_samples),
                    peak: row.memory_max_kib,
                });
            }
            (false, _) => spans.extend(open.take()),
        }
    }
    spans.extend(open.take());
    let seconds = |o: &Open| o.idle as f64 * interval;
    spans.retain(|o| seconds(o) >= idle_min.as_secs_f64());
    spans.sort_by(|a, b| seconds(b).total_cmp(&seconds(a)));
    spans.truncate(SPANS);
    spans
        .into_iter()
        .map(|o| {
            let w = processes.get(&o.process);
            let index =
                minutes.gpus.iter().find(|((_, gpu), _)| *gpu == o.gpu).map_or(0, |(_, g)| g.index);
            IdleSpan {
                gpu: index,
                user: w.and_then(|w| w.user.clone()),
                pid: w.map_or(0, |w| w.pid),
                command: w.and_then(|w| w.command.clone()),
                from: DateTime::from_timestamp_millis(o.first_ms).unwrap_or_default(),
                seconds: seconds(&o),
                peak_memory_bytes: o.peak.map(|k| k.max(0) as u64 * 1024),
            }
        })
        .collect()
}

/// How many events a report lists.
const EVENTS: usize = 50;

fn events(conn: &Connection, from: i64, to: i64) -> rusqlite::Result<Vec<EventReport>> {
    let mut stmt = conn.prepare(
        "SELECT t.taken_at, COALESCE(s.gpu_index, 0), e.kind, e.detail
         FROM events e JOIN ticks t ON t.id = e.tick
         LEFT JOIN samples s ON s.tick = e.tick AND s.gpu_id = e.gpu_id
         WHERE e.tick BETWEEN ?1 AND ?2
           AND e.kind IN ('xid', 'gpu_lost', 'gpu_back', 'gpu_error', 'slowdown_started', 'slowdown_ended')
         ORDER BY e.tick DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![from, to, EVENTS as i64], |r| {
        Ok(EventReport {
            at: DateTime::from_timestamp_millis(r.get(0)?).unwrap_or_default(),
            gpu: r.get(1)?,
            kind: r.get(2)?,
            detail: r.get(3)?,
        })
    })?;
    rows.collect()
}
