//! What a recording says about a window of time: per GPU (busy share, mean and p95
//! utilization, peak memory, energy, time throttled and lost), per user, container, pod, job
//! or process (GPU-hours held and busy, peak memory), and the spans where a process held a GPU's memory while the GPU sat
//! idle. A GPU counts as busy in a sample at 10 % utilization or more, and as idle under 5 %.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::cli::ReportBy;

/// Utilization at which a sample counts as busy, and under which as idle.
const BUSY_PERCENT: u32 = 10;
const IDLE_PERCENT: u32 = 5;
/// How many idle-while-held spans a report lists.
const SPANS: usize = 20;

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
}

#[derive(Debug, Serialize)]
pub struct EventReport {
    pub at: DateTime<Utc>,
    pub gpu: u32,
    /// xid, gpu_lost, gpu_back, gpu_error, slowdown_started.
    pub kind: String,
    /// The XID, the slowdown's reason or the error, as recorded: sanitize before printing.
    pub detail: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct GpuReport {
    pub index: u32,
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
    pub throttled_seconds: f64,
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
    // The window as a range of ticks (the samples' numbers), which every row carries.
    let (from_tick, to_tick): (Option<i64>, Option<i64>) = conn.query_row(
        "SELECT MIN(id), MAX(id) FROM ticks WHERE taken_at BETWEEN ?1 AND ?2",
        params![from, to],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (from_tick, to_tick) = (from_tick.unwrap_or(1), to_tick.unwrap_or(0));
    Ok(Report {
        since,
        until,
        interval_seconds: interval,
        gpus: gpus(conn, from_tick, to_tick, interval)?,
        by,
        owners: owners(conn, from_tick, to_tick, by, interval)?,
        idle_while_held: idle_spans(conn, from_tick, to_tick, interval_ms, idle_min)?,
        events: events(conn, from_tick, to_tick)?,
    })
}

fn gpus(conn: &Connection, from: i64, to: i64, interval: f64) -> rusqlite::Result<Vec<GpuReport>> {
    let mut stmt = conn.prepare(
        "SELECT g.id, g.uuid, g.name, MAX(s.gpu_index), COUNT(*),
                AVG(s.utilization_gpu), SUM(s.utilization_gpu >= ?3), COUNT(s.utilization_gpu),
                MAX(s.memory_used_kib) * 1024, MIN(s.energy_millijoules) / 1000.0,
                MAX(s.energy_millijoules) / 1000.0, SUM(s.power_milliwatts) / 1000.0,
                COALESCE(SUM((s.throttle_mask & ?4) != 0), 0), COALESCE(SUM(s.status = 1), 0)
         FROM samples s JOIN gpus g ON g.id = s.gpu_id
         WHERE s.tick BETWEEN ?1 AND ?2
         GROUP BY g.id ORDER BY MAX(s.gpu_index)",
    )?;
    let trouble = crate::record::TROUBLE_MASK as i64;
    let rows = stmt.query_map(params![from, to, BUSY_PERCENT, trouble], |r| {
        let id: i64 = r.get(0)?;
        let with_util = r.get::<_, i64>(7)? as u64;
        let busy = r.get::<_, Option<i64>>(6)?.map(|b| b as u64);
        let (first_j, last_j): (Option<f64>, Option<f64>) = (r.get(9)?, r.get(10)?);
        let power_sum: Option<f64> = r.get(11)?;
        let energy = match (first_j, last_j) {
            (Some(a), Some(b)) if b >= a => Some((b - a) / 3.6e6),
            _ => power_sum.map(|w| w * interval / 3.6e6),
        };
        Ok((
            id,
            with_util,
            GpuReport {
                index: r.get(3)?,
                uuid: r.get(1)?,
                name: r.get(2)?,
                samples: r.get::<_, i64>(4)? as u64,
                busy_share: (with_util > 0).then(|| busy.unwrap_or(0) as f64 / with_util as f64),
                mean_utilization_percent: r.get(5)?,
                p95_utilization_percent: None,
                peak_memory_bytes: r.get::<_, Option<i64>>(8)?.map(|b| b as u64),
                energy_kwh: energy,
                throttled_seconds: r.get::<_, i64>(12)? as f64 * interval,
                lost_seconds: r.get::<_, i64>(13)? as f64 * interval,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, with_util, mut gpu) = row?;
        if with_util > 0 {
            // The 95th percentile: the value at that rank in the sorted utilizations.
            let rank = ((with_util - 1) as f64 * 0.95).round() as i64;
            gpu.p95_utilization_percent = conn.query_row(
                "SELECT utilization_gpu FROM samples WHERE gpu_id = ?1 AND tick BETWEEN ?2 AND ?3
                 AND utilization_gpu IS NOT NULL ORDER BY utilization_gpu LIMIT 1 OFFSET ?4",
                params![id, from, to, rank],
                |r| r.get(0),
            )?;
        }
        out.push(gpu);
    }
    Ok(out)
}

fn owners(
    conn: &Connection,
    from: i64,
    to: i64,
    by: ReportBy,
    interval: f64,
) -> rusqlite::Result<Vec<OwnerReport>> {
    let owner = match by {
        ReportBy::Gpu => return Ok(Vec::new()),
        ReportBy::User => "COALESCE(p.user, '')",
        ReportBy::Container => "COALESCE(p.container, '')",
        ReportBy::Pod => "COALESCE(p.namespace || '/', '') || COALESCE(p.pod, '')",
        ReportBy::Job => "COALESCE(p.job, '')",
        ReportBy::Process => "p.pid || ' ' || COALESCE(p.command, '')",
    };
    let mut stmt = conn.prepare(&format!(
        // `who`, not `user`: GROUP BY would take `user` for the processes' column.
        "SELECT who, COUNT(*), COALESCE(SUM(busy), 0), MAX(memory)
         FROM (SELECT {owner} AS who, ps.tick, ps.gpu_id,
                      MAX(COALESCE(s.utilization_gpu, 0) >= ?3) AS busy,
                      SUM(ps.gpu_memory_kib) * 1024 AS memory
               FROM process_samples ps JOIN processes p ON p.id = ps.process_id
               LEFT JOIN samples s ON s.tick = ps.tick AND s.gpu_id = ps.gpu_id
               WHERE ps.tick BETWEEN ?1 AND ?2
               GROUP BY who, ps.tick, ps.gpu_id)
         GROUP BY who ORDER BY COUNT(*) DESC, who"
    ))?;
    let mut owners: Vec<OwnerReport> = stmt
        .query_map(params![from, to, BUSY_PERCENT], |r| {
            Ok(OwnerReport {
                owner: r.get(0)?,
                gpu_hours_held: r.get::<_, i64>(1)? as f64 * interval / 3600.0,
                gpu_hours_busy: r.get::<_, i64>(2)? as f64 * interval / 3600.0,
                peak_memory_bytes: r.get::<_, Option<i64>>(3)?.map(|b| b as u64),
                energy_kwh: None,
                processes: 0,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {owner}, COUNT(DISTINCT ps.process_id)
         FROM process_samples ps JOIN processes p ON p.id = ps.process_id
         WHERE ps.tick BETWEEN ?1 AND ?2 GROUP BY 1"
    ))?;
    let counts: HashMap<String, u64> = stmt
        .query_map(params![from, to], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
        .collect::<rusqlite::Result<_>>()?;
    let energy = attributed_energy(conn, from, to, owner, interval)?;
    for o in &mut owners {
        o.processes = counts.get(&o.owner).copied().unwrap_or(0);
        o.energy_kwh = energy.get(&o.owner).copied().flatten();
    }
    Ok(owners)
}

/// A GPU's utilization and memory over the window, for charts: at most `points` buckets,
/// each the mean of its samples (`None` where it had none).
#[derive(Debug, Serialize)]
pub struct GpuSeries {
    pub index: u32,
    pub name: Option<String>,
    /// Each bucket's start, ms since the epoch.
    pub starts: Vec<i64>,
    pub utilization: Vec<Option<f32>>,
    pub memory_percent: Vec<Option<f32>>,
}

pub fn series(
    conn: &Connection,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    points: usize,
) -> rusqlite::Result<Vec<GpuSeries>> {
    let (from, to) = (since.timestamp_millis(), until.timestamp_millis());
    let bucket = ((to - from) / points.max(1) as i64).max(1);
    let mut stmt = conn.prepare(
        "SELECT s.gpu_id, MAX(s.gpu_index), (t.taken_at - ?1) / ?3 AS b, AVG(s.utilization_gpu),
                AVG(s.memory_used_kib * 100.0 / g.memory_total_kib), g.name
         FROM ticks t JOIN samples s ON s.tick = t.id JOIN gpus g ON g.id = s.gpu_id
         WHERE t.taken_at BETWEEN ?1 AND ?2
         GROUP BY s.gpu_id, b ORDER BY s.gpu_id, b",
    )?;
    let mut by_gpu: Vec<(i64, GpuSeries)> = Vec::new();
    let mut rows = stmt.query(params![from, to, bucket])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if by_gpu.last().is_none_or(|(last, _)| *last != id) {
            let empty = GpuSeries {
                index: r.get(1)?,
                name: r.get(5)?,
                starts: (0..points).map(|i| from + i as i64 * bucket).collect(),
                utilization: vec![None; points],
                memory_percent: vec![None; points],
            };
            by_gpu.push((id, empty));
        }
        let Some((_, gpu)) = by_gpu.last_mut() else { continue };
        let b = r.get::<_, i64>(2)?.clamp(0, points as i64 - 1) as usize;
        gpu.index = gpu.index.max(r.get(1)?);
        gpu.utilization[b] = r.get::<_, Option<f64>>(3)?.map(|v| v as f32);
        gpu.memory_percent[b] = r.get::<_, Option<f64>>(4)?.map(|v| v as f32);
    }
    let mut out: Vec<GpuSeries> = by_gpu.into_iter().map(|(_, g)| g).collect();
    out.sort_by_key(|g| g.index);
    Ok(out)
}

/// Each owner's share of the GPUs' energy: a sample's energy (power × interval) is split among
/// the processes on the GPU by their SM use, or evenly when none is known; energy while no
/// process ran is nobody's.
fn attributed_energy(
    conn: &Connection,
    from: i64,
    to: i64,
    owner: &str,
    interval: f64,
) -> rusqlite::Result<HashMap<String, Option<f64>>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {owner}, SUM(s.power_milliwatts / 1000.0 * ?3 *
                CASE WHEN share.sm > 0 THEN COALESCE(ps.sm_percent, 0) * 1.0 / share.sm
                     ELSE 1.0 / share.n END) / 3.6e6
         FROM process_samples ps JOIN processes p ON p.id = ps.process_id
         JOIN samples s ON s.tick = ps.tick AND s.gpu_id = ps.gpu_id
         JOIN (SELECT tick, gpu_id, SUM(COALESCE(sm_percent, 0)) AS sm, COUNT(*) AS n
               FROM process_samples WHERE tick BETWEEN ?1 AND ?2 GROUP BY tick, gpu_id) share
           ON share.tick = ps.tick AND share.gpu_id = ps.gpu_id
         WHERE ps.tick BETWEEN ?1 AND ?2
         GROUP BY 1"
    ))?;
    let rows = stmt.query_map(params![from, to, interval], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// How many events a report lists.
const EVENTS: usize = 50;

fn events(conn: &Connection, from: i64, to: i64) -> rusqlite::Result<Vec<EventReport>> {
    let mut stmt = conn.prepare(
        "SELECT t.taken_at, COALESCE(s.gpu_index, 0), e.kind, e.detail
         FROM events e JOIN ticks t ON t.id = e.tick
         LEFT JOIN samples s ON s.tick = e.tick AND s.gpu_id = e.gpu_id
         WHERE e.tick BETWEEN ?1 AND ?2
           AND e.kind IN ('xid', 'gpu_lost', 'gpu_back', 'gpu_error', 'slowdown_started')
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

fn idle_spans(
    conn: &Connection,
    from: i64,
    to: i64,
    interval_ms: f64,
    idle_min: std::time::Duration,
) -> rusqlite::Result<Vec<IdleSpan>> {
    let mut stmt = conn.prepare(
        "SELECT ps.process_id, ps.gpu_id, t.taken_at, s.utilization_gpu, ps.gpu_memory_kib * 1024,
                s.gpu_index
         FROM process_samples ps JOIN samples s ON s.tick = ps.tick AND s.gpu_id = ps.gpu_id
         JOIN ticks t ON t.id = ps.tick
         WHERE ps.tick BETWEEN ?1 AND ?2 ORDER BY ps.process_id, ps.gpu_id, ps.tick",
    )?;
    // Two samples belong to one span when no more than two intervals (and a second) apart.
    let gap = (2.0 * interval_ms) as i64 + 1000;
    struct Open {
        key: (i64, i64),
        gpu: u32,
        first: i64,
        last: i64,
        peak: Option<i64>,
    }
    let mut spans: Vec<(i64, Open)> = Vec::new();
    let mut open: Option<Open> = None;
    let close = |span: Option<Open>, spans: &mut Vec<(i64, Open)>| {
        if let Some(s) = span {
            let length = s.last - s.first + interval_ms as i64;
            if length as u128 >= idle_min.as_millis() {
                spans.push((s.key.0, s));
            }
        }
    };
    let mut rows = stmt.query(params![from, to])?;
    while let Some(r) = rows.next()? {
        let key: (i64, i64) = (r.get(0)?, r.get(1)?);
        let at: i64 = r.get(2)?;
        let util: Option<u32> = r.get(3)?;
        let memory: Option<i64> = r.get(4)?;
        let idle = util.is_some_and(|u| u < IDLE_PERCENT);
        let continues = open.as_ref().is_some_and(|o| o.key == key && at - o.last <= gap);
        match (idle, continues) {
            (true, true) => {
                if let Some(o) = open.as_mut() {
                    o.last = at;
                    o.peak = o.peak.max(memory);
                }
            }
            (true, false) => {
                close(open.take(), &mut spans);
                open = Some(Open { key, gpu: r.get(5)?, first: at, last: at, peak: memory });
            }
            (false, _) => close(open.take(), &mut spans),
        }
    }
    close(open.take(), &mut spans);
    spans.sort_by_key(|(_, s)| std::cmp::Reverse(s.last - s.first));
    spans.truncate(SPANS);
    let mut who = conn.prepare("SELECT user, pid, command FROM processes WHERE id = ?1")?;
    spans
        .into_iter()
        .map(|(process, s)| {
            let (user, pid, command): (Option<String>, u32, Option<String>) =
                who.query_row(params![process], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(IdleSpan {
                gpu: s.gpu,
                user,
                pid,
                command,
                from: DateTime::from_timestamp_millis(s.first).unwrap_or_default(),
                seconds: (s.last - s.first) as f64 / 1000.0 + interval_ms / 1000.0,
                peak_memory_bytes: s.peak.map(|b| b as u64),
            })
        })
        .collect()
}
