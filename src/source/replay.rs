//! `--replay PATH`: a recording played back as a source, so every mode (the monitor, `--once`,
//! `--json`, `--watch`) shows a past moment as it shows the present. Each sample is the
//! recording's next one: at the recording's own interval the playback runs at its pace. It
//! reads while a recorder writes, and a recording that grows is followed to its end.
//!
//! A recording keeps a GPU's utilization, memory, temperature, power, energy, SM clock,
//! clock-event reasons and processes; anything else is `null` with the reason `not_recorded`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::selection::GpuIdentity;
use super::{GpuSelector, Source, SourceError};
use crate::history::PastGpu;
use crate::record;
use crate::sample::{
    GpuProcess, GpuSample, GpuStatus, HostInfo, Missing, MissingFields, MissingReason, Placement,
    ProcessKind, Snapshot, Throttle, SCHEMA_VERSION,
};
use crate::text::time::Moment;

/// The fields of the JSON model a recording does not keep.
const NOT_RECORDED: &[&str] = &[
    "memory.reserved_bytes",
    "utilization.encoder_percent",
    "utilization.decoder_percent",
    "temperature.slowdown_celsius",
    "temperature.shutdown_celsius",
    "power.limit_watts",
    "fan_percent",
    "clocks.memory_mhz",
    "clocks.sm_max_mhz",
    "clocks.memory_max_mhz",
    "performance_state",
    "pcie",
    "ecc",
    "mig_enabled",
    "persistence_mode",
];

/// Where the playback is, shared with whoever steers it (the monitor's keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Playhead {
    /// The sample shown: its tick id and time (ms since the epoch).
    pub tick: i64,
    pub at_ms: i64,
    /// First and last sample of the recording, as of the last look.
    pub first_ms: i64,
    pub last_ms: i64,
    pub paused: bool,
    /// Samples to move on per refresh: 1 is the recording's pace (at its interval).
    pub speed: u32,
    /// A move asked for and not yet made.
    pub pending: Option<Seek>,
    /// After a move: the recorded window before the new position, for the charts.
    pub past: Option<Vec<PastGpu>>,
}

/// A move of the playhead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seek {
    /// That many samples on (or back, when negative).
    Step(i64),
    /// By that many milliseconds of recorded time.
    By(i64),
    /// To the sample at or after this time (ms since the epoch).
    To(i64),
}

pub type SharedPlayhead = Arc<Mutex<Playhead>>;

pub struct ReplaySource {
    conn: Connection,
    path: PathBuf,
    playhead: SharedPlayhead,
    /// The first sample is the one asked for; the playback moves on from the second.
    started: bool,
    stop_at_end: bool,
    /// The charts' window and step, from the frontend's one call of `past`.
    past_window: Option<(std::time::Duration, std::time::Duration)>,
    selection: Vec<GpuSelector>,
    gpus: HashMap<i64, RecordedGpu>,
    /// The recording host, as its recorder saw it.
    host: HostInfo,
    /// The recording's schema version (`PRAGMA user_version`).
    version: i64,
}

#[derive(Debug, Clone, Default)]
struct RecordedGpu {
    uuid: Option<String>,
    name: Option<String>,
    pci_bus_id: Option<String>,
    memory_total_kib: Option<i64>,
}

impl ReplaySource {
    /// Opens `path` at the sample at or after `at` (a time, or a duration before the newest
    /// sample); its first sample when `at` is before it, its newest when `at` is `None` or
    /// after it. `selection` keeps only those GPUs.
    pub fn open(
        path: &Path,
        at: Option<Moment>,
        selection: &[GpuSelector],
    ) -> Result<Self, SourceError> {
        let conn = record::open(path).map_err(|e| SourceError::Scenario(e.message()))?;
        let fail = |e: rusqlite::Error| SourceError::Scenario(record::db_error(path, &e));
        let (first, last) = bounds(&conn).map_err(fail)?.ok_or_else(|| {
            SourceError::Scenario(format!("{} has no samples yet", path.display()))
        })?;
        let at_ms = match at {
            None => None,
            Some(Moment::At(t)) => Some(t.timestamp_millis()),
            Some(Moment::Ago(d)) => Some(
                i64::try_from(d.as_millis())
                    .ok()
                    .and_then(|d| last.1.checked_sub(d))
                    .unwrap_or(i64::MIN),
            ),
        };
        // A moment the recording does not cover is said, never shown as its first or last.
        if let Some(ms) = at_ms.filter(|ms| *ms < first.1 || *ms > last.1) {
            let when = |ms: i64| {
                Utc.timestamp_millis_opt(ms).single().map(|t| {
                    t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string()
                })
            };
            let asked =
                when(ms).map_or("reaches back before any date, and".into(), |t| format!("{t} is"));
            return Err(SourceError::Scenario(format!(
                "--at {asked} outside the recording {} ({} to {})",
                path.display(),
                when(first.1).unwrap_or_default(),
                when(last.1).unwrap_or_default()
            )));
        }
        let start = match at_ms {
            None => last,
            Some(ms) => tick_at_or_after(&conn, ms).map_err(fail)?.unwrap_or(last),
        };
        let known = recorded_gpus(&conn, [first.0, start.0, last.0]).map_err(fail)?;
        if let Some(missing) = selection.iter().find(|sel| {
            !known.iter().any(|(index, identity)| sel.matches(*index, &mut |_| identity.clone()))
        }) {
            return Err(SourceError::NoSuchGpu(missing.to_string()));
        }
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(fail)?;
        let meta = |key: &str| -> rusqlite::Result<Option<String>> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| r.get(0))
                .optional()
        };
        let host = HostInfo {
            hostname: meta("hostname").map_err(fail)?,
            driver_version: meta("driver_version").map_err(fail)?,
            cuda_driver_version: meta("cuda_driver_version").map_err(fail)?,
            ..HostInfo::default()
        };
        let playhead = Playhead {
            tick: start.0,
            at_ms: start.1,
            first_ms: first.1,
            last_ms: last.1,
            paused: false,
            speed: 1,
            pending: None,
            past: None,
        };
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            playhead: Arc::new(Mutex::new(playhead)),
            started: false,
            stop_at_end: false,
            past_window: None,
            selection: selection.to_vec(),
            gpus: HashMap::new(),
            host,
            version,
        })
    }

    /// Past the newest sample, end (`--watch`) instead of staying on it (the monitor, which
    /// follows a recording that grows).
    pub fn stop_at_end(mut self) -> Self {
        self.stop_at_end = true;
        self
    }

    /// The playhead, for a frontend to show and steer.
    pub fn playhead(&self) -> SharedPlayhead {
        Arc::clone(&self.playhead)
    }

    fn fail(&self, e: rusqlite::Error) -> SourceError {
        SourceError::Scenario(record::db_error(&self.path, &e))
    }

    /// Moves the playhead as asked, or one step of the playback; `false` when a step of the
    /// playback found no newer sample.
    fn advance(&mut self) -> rusqlite::Result<bool> {
        let (mut p, asked) = {
            let mut shared = self.playhead.lock().unwrap_or_else(|e| e.into_inner());
            let asked = shared.pending.take();
            (shared.clone(), asked)
        };
        if let Some((first, last)) = bounds(&self.conn)? {
            (p.first_ms, p.last_ms) = (first.1, last.1);
        }
        let seek = match asked {
            Some(seek) => Some(seek),
            None if self.started && !p.paused => Some(Seek::Step(i64::from(p.speed))),
            None => None,
        };
        self.started = true;
        let target = match seek {
            None => None,
            Some(Seek::Step(n)) => step(&self.conn, p.at_ms, n)?,
            Some(Seek::By(ms)) if ms >= 0 => {
                tick_at_or_after(&self.conn, p.at_ms + ms)?.or(last_tick(&self.conn)?)
            }
            Some(Seek::By(ms)) => {
                tick_at_or_before(&self.conn, p.at_ms + ms)?.or(first_tick(&self.conn)?)
            }
            Some(Seek::To(ms)) => tick_at_or_after(&self.conn, ms)?.or(last_tick(&self.conn)?),
        };
        let moved = target.is_some_and(|(tick, _)| tick != p.tick);
        let (tick, at_ms) = target.unwrap_or((p.tick, p.at_ms));
        {
            // What the frontend changed meanwhile (pause, speed, a new move) stays.
            let mut shared = self.playhead.lock().unwrap_or_else(|e| e.into_inner());
            (shared.tick, shared.at_ms, shared.first_ms, shared.last_ms) =
                (tick, at_ms, p.first_ms, p.last_ms);
        }
        // A move the user asked for: the charts' window before the new position.
        if asked.is_some() && moved {
            if let Some((window, step)) = self.past_window {
                let past = self.recorded_past(window, step)?;
                self.playhead.lock().unwrap_or_else(|e| e.into_inner()).past = Some(past);
            }
        }
        Ok(moved || !matches!(seek, Some(Seek::Step(n)) if n > 0))
    }

    fn gpu(&mut self, id: i64) -> rusqlite::Result<RecordedGpu> {
        if let Some(g) = self.gpus.get(&id) {
            return Ok(g.clone());
        }
        let g = self
            .conn
            .query_row(
                "SELECT uuid, name, pci_bus_id, memory_total_kib FROM gpus WHERE id = ?1",
                params![id],
                |r| {
                    Ok(RecordedGpu {
                        uuid: r.get(0)?,
                        name: r.get(1)?,
                        pci_bus_id: r.get(2)?,
                        memory_total_kib: r.get(3)?,
                    })
                },
            )
            .optional()?
            // A GPU with no row: an identity of `None`s (unknown), never made-up values.
            .unwrap_or_default();
        self.gpus.insert(id, g.clone());
        Ok(g)
    }

    fn snapshot(&mut self, tick: i64, at_ms: i64) -> rusqlite::Result<Snapshot> {
        // Version 1 recordings have no processes_listed.
        let sql = if self.version == 1 {
            "SELECT gpu_id, gpu_index, status, utilization_gpu, utilization_memory,
                    memory_used_kib, temperature, power_milliwatts, energy_millijoules,
                    sm_clock_mhz, throttle_mask, NULL
             FROM samples WHERE tick = ?1 ORDER BY gpu_index"
        } else {
            "SELECT gpu_id, gpu_index, status, utilization_gpu, utilization_memory,
                    memory_used_kib, temperature, power_milliwatts, energy_millijoules,
                    sm_clock_mhz, throttle_mask, processes_listed
             FROM samples WHERE tick = ?1 ORDER BY gpu_index"
        };
        let rows: Vec<SampleRow> = self
            .conn
            .prepare_cached(sql)?
            .query_map(params![tick], SampleRow::read)?
            .collect::<Result<_, _>>()?;
        let mut processes = self.processes(tick)?;
        let mut gpus = Vec::with_capacity(rows.len());
        for row in rows {
            let info = self.gpu(row.gpu_id)?;
            let theirs = processes.remove(&row.gpu_id).unwrap_or_default();
            gpus.push(row.into_gpu(info, theirs));
        }
        Ok(Snapshot {
            schema_version: SCHEMA_VERSION,
            taken_at: Utc.timestamp_millis_opt(at_ms).single().unwrap_or_default(),
            host: self.host.clone(),
            gpus,
            hosts: Vec::new(),
            origin: crate::sample::Origin::Recorded,
            warnings: Vec::new(),
        })
    }

    fn processes(&self, tick: i64) -> rusqlite::Result<HashMap<i64, Vec<GpuProcess>>> {
        let mut by_gpu: HashMap<i64, Vec<GpuProcess>> = HashMap::new();
        // Recordings before version 4 did not store the type.
        let kind = if self.version >= 4 { "p.kind" } else { "NULL" };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT ps.gpu_id, p.pid, p.start_ticks, p.user, p.command, p.container, p.pod,
                    p.namespace, p.job, ps.gpu_memory_kib, ps.sm_percent, {kind}
             FROM process_samples ps JOIN processes p ON p.id = ps.process_id
             WHERE ps.tick = ?1 ORDER BY p.pid"
        ))?;
        let mut rows = stmt.query(params![tick])?;
        while let Some(r) = rows.next()? {
            let memory: Option<i64> = r.get(9)?;
            let kind: Option<String> = r.get(11)?;
            let mut p = GpuProcess::new(
                r.get(1)?,
                ProcessKind::Compute,
                memory.map(|kib| kib.max(0) as u64 * 1024),
            );
            p.kind = kind.as_deref().and_then(ProcessKind::from_short);
            if p.kind.is_none() {
                p = p.kind_unknown(MissingReason::NotRecorded);
            }
            // NULL since version 4; version 3 and before stored 0 for "unknown".
            let start: Option<i64> = r.get(2)?;
            p.start_ticks = start.filter(|&t| t > 0).map(|t| t as u64);
            p.user = r.get(3)?;
            p.command = r.get(4)?;
            p.name = p.command.as_deref().and_then(command_name);
            let placement = Placement {
                container_id: r.get(5)?,
                pod_name: r.get(6)?,
                namespace: r.get(7)?,
                slurm_job: r.get(8)?,
                ..Placement::default()
            };
            p.placement = (!placement.is_empty()).then_some(placement);
            p.sm_percent = r.get(10)?;
            by_gpu.entry(r.get(0)?).or_default().push(p);
        }
        Ok(by_gpu)
    }
}

/// The program's name from a command line: its first word, without the directory.
fn command_name(command: &str) -> Option<String> {
    let first = command.split_whitespace().next()?;
    Some(first.rsplit('/').next().unwrap_or(first).to_string())
}

struct SampleRow {
    gpu_id: i64,
    index: u32,
    status: i64,
    utilization_gpu: Option<u32>,
    utilization_memory: Option<u32>,
    memory_used_kib: Option<i64>,
    temperature: Option<u32>,
    power_milliwatts: Option<i64>,
    energy_millijoules: Option<i64>,
    sm_clock_mhz: Option<u32>,
    throttle_mask: Option<i64>,
    processes_listed: Option<bool>,
}

impl SampleRow {
    fn read(r: &rusqlite::Row) -> rusqlite::Result<Self> {
        Ok(Self {
            gpu_id: r.get(0)?,
            index: r.get(1)?,
            status: r.get(2)?,
            utilization_gpu: r.get(3)?,
            utilization_memory: r.get(4)?,
            memory_used_kib: r.get(5)?,
            temperature: r.get(6)?,
            power_milliwatts: r.get(7)?,
            energy_millijoules: r.get(8)?,
            sm_clock_mhz: r.get(9)?,
            throttle_mask: r.get(10)?,
            processes_listed: r.get(11)?,
        })
    }

    fn into_gpu(self, info: RecordedGpu, processes: Vec<GpuProcess>) -> GpuSample {
        let status = match self.status {
            0 => GpuStatus::Ok,
            1 => GpuStatus::Lost,
            _ => GpuStatus::Error,
        };
        let mut g = if status == GpuStatus::Ok {
            GpuSample::empty(self.index)
        } else {
            let what = if status == GpuStatus::Lost { "GPU is lost" } else { "GPU error" };
            GpuSample::unavailable(self.index, status, what)
        };
        g.uuid = info.uuid;
        g.name = info.name;
        g.pci_bus_id = info.pci_bus_id;
        if status != GpuStatus::Ok {
            return g;
        }
        let bytes = |kib: i64| kib.max(0) as u64 * 1024;
        g.memory.total_bytes = info.memory_total_kib.map(bytes);
        g.memory.used_bytes = self.memory_used_kib.map(bytes);
        g.memory.free_bytes =
            g.memory.total_bytes.zip(g.memory.used_bytes).map(|(t, u)| t.saturating_sub(u));
        g.utilization.gpu_percent = self.utilization_gpu;
        g.utilization.memory_percent = self.utilization_memory;
        g.temperature.gpu_celsius = self.temperature;
        g.power.draw_watts = self.power_milliwatts.map(|mw| mw as f64 / 1000.0);
        g.power.energy_joules = self.energy_millijoules.map(|mj| mj as f64 / 1000.0);
        g.clocks.sm_mhz = self.sm_clock_mhz;
        if let Some(mask) = self.throttle_mask {
            g.throttle = Throttle::from_mask(mask as u64);
        }
        let not_recorded = Missing { reason: MissingReason::NotRecorded, nvml_code: None };
        let mut missing = MissingFields::default();
        for field in NOT_RECORDED {
            missing.insert(*field, not_recorded);
        }
        // Processes: listed (none stored is nobody), not listed (unknown), or a version 1
        // recording that did not say (unknown unless some were stored).
        g.processes = match self.processes_listed {
            Some(true) => Some(processes),
            None if !processes.is_empty() => Some(processes),
            Some(false) => {
                missing
                    .insert("processes", Missing { reason: MissingReason::Error, nvml_code: None });
                None
            }
            None => {
                missing.insert("processes", not_recorded);
                None
            }
        };
        g.missing = missing;
        g
    }
}

type Tick = (i64, i64);

/// A tick with samples: past `--keep-raw`, ticks stay only for the events that name them.
const SAMPLED: &str = "EXISTS (SELECT 1 FROM samples WHERE samples.tick = ticks.id)";

/// The GPUs sampled at `ticks` (the first, the one opened at, the newest), by index.
fn recorded_gpus(conn: &Connection, ticks: [i64; 3]) -> rusqlite::Result<Vec<(u32, GpuIdentity)>> {
    let mut query = conn.prepare(
        "SELECT DISTINCT s.gpu_index, g.uuid, g.pci_bus_id FROM samples s JOIN gpus g ON g.id = s.gpu_id
          WHERE s.tick IN (?1, ?2, ?3)",
    )?;
    let rows = query.query_map(params![ticks[0], ticks[1], ticks[2]], |r| {
        Ok((
            r.get(0)?,
            GpuIdentity { uuid: r.get(1)?, pci_bus_id: r.get(2)?, mig_uuids: Vec::new() },
        ))
    })?;
    rows.collect()
}

fn bounds(conn: &Connection) -> rusqlite::Result<Option<(Tick, Tick)>> {
    Ok(first_tick(conn)?.zip(last_tick(conn)?))
}

fn first_tick(conn: &Connection) -> rusqlite::Result<Option<Tick>> {
    one(conn, "SELECT id, taken_at FROM ticks WHERE {SAMPLED} ORDER BY taken_at, id LIMIT 1", None)
}

fn last_tick(conn: &Connection) -> rusqlite::Result<Option<Tick>> {
    one(
        conn,
        "SELECT id, taken_at FROM ticks WHERE {SAMPLED} ORDER BY taken_at DESC, id DESC LIMIT 1",
        None,
    )
}

fn tick_at_or_after(conn: &Connection, ms: i64) -> rusqlite::Result<Option<Tick>> {
    one(
        conn,
        "SELECT id, taken_at FROM ticks WHERE taken_at >= ?1 AND {SAMPLED} ORDER BY taken_at, id LIMIT 1",
        Some(ms),
    )
}

fn tick_at_or_before(conn: &Connection, ms: i64) -> rusqlite::Result<Option<Tick>> {
    one(
        conn,
        "SELECT id, taken_at FROM ticks WHERE taken_at <= ?1 AND {SAMPLED} ORDER BY taken_at DESC, id DESC LIMIT 1",
        Some(ms),
    )
}

/// `n` samples on from the one at `at_ms` (back when negative); the last one there is when
/// the recording ends sooner.
fn step(conn: &Connection, at_ms: i64, n: i64) -> rusqlite::Result<Option<Tick>> {
    if n == 0 {
        return tick_at_or_after(conn, at_ms);
    }
    let sql = if n > 0 {
        "SELECT id, taken_at FROM ticks WHERE taken_at > ?1 AND {SAMPLED} ORDER BY taken_at, id LIMIT 1 OFFSET ?2"
    } else {
        "SELECT id, taken_at FROM ticks WHERE taken_at < ?1 AND {SAMPLED} ORDER BY taken_at DESC, id DESC LIMIT 1 OFFSET ?2"
    };
    let found = conn
        .prepare_cached(&sql.replace("{SAMPLED}", SAMPLED))?
        .query_row(params![at_ms, n.abs() - 1], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match found {
        Some(t) => Ok(Some(t)),
        None if n > 0 => last_tick(conn),
        None => first_tick(conn),
    }
}

fn one(conn: &Connection, sql: &str, ms: Option<i64>) -> rusqlite::Result<Option<Tick>> {
    let mut stmt = conn.prepare_cached(&sql.replace("{SAMPLED}", SAMPLED))?;
    let map = |r: &rusqlite::Row| Ok((r.get(0)?, r.get(1)?));
    match ms {
        Some(ms) => stmt.query_row(params![ms], map).optional(),
        None => stmt.query_row([], map).optional(),
    }
}

/// A sum and a count per slot of the charts' window.
type Slots = Vec<(f32, u32)>;

impl ReplaySource {
    /// Each GPU's recorded values over `window` before the playhead, a slot per `step` (the
    /// mean of the samples in it; `None` where there were none).
    fn recorded_past(
        &mut self,
        window: std::time::Duration,
        step: std::time::Duration,
    ) -> rusqlite::Result<Vec<PastGpu>> {
        let at = self.playhead.lock().unwrap_or_else(|e| e.into_inner()).at_ms;
        let step_ms = (step.as_millis() as i64).max(1);
        let slots = (window.as_millis() as i64 / step_ms).clamp(1, 100_000) as usize;
        let from = at - slots as i64 * step_ms;
        let mut sums: BTreeMap<(u32, i64), [Slots; 4]> = BTreeMap::new();
        // By the ticks' range (a join on the time range alone scans every sample).
        let Some((first, last)) = crate::record::rollup::tick_range(&self.conn, from, at - 1)?
        else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.taken_at, s.gpu_id, s.gpu_index, s.utilization_gpu, s.memory_used_kib,
                    g.memory_total_kib, s.power_milliwatts, s.temperature
             FROM samples s JOIN ticks t ON t.id = s.tick JOIN gpus g ON g.id = s.gpu_id
             WHERE s.tick BETWEEN ?1 AND ?2",
        )?;
        let mut rows = stmt.query(params![first, last])?;
        while let Some(r) = rows.next()? {
            let slot = ((r.get::<_, i64>(0)? - from) / step_ms) as usize;
            let used: Option<i64> = r.get(4)?;
            let total: Option<i64> = r.get(5)?;
            let values = [
                r.get::<_, Option<i64>>(3)?.map(|v| v as f32),
                used.zip(total.filter(|t| *t > 0)).map(|(u, t)| u as f32 * 100.0 / t as f32),
                r.get::<_, Option<i64>>(6)?.map(|mw| mw as f32 / 1000.0),
                r.get::<_, Option<i64>>(7)?.map(|v| v as f32),
            ];
            let entry = sums
                .entry((r.get(2)?, r.get(1)?))
                .or_insert_with(|| std::array::from_fn(|_| vec![(0.0, 0); slots]));
            for (series, value) in entry.iter_mut().zip(values) {
                if let (Some(v), Some(cell)) = (value, series.get_mut(slot)) {
                    cell.0 += v;
                    cell.1 += 1;
                }
            }
        }
        drop(rows);
        drop(stmt);
        let mean = |s: &Slots| -> Vec<Option<f32>> {
            s.iter().map(|(sum, n)| (*n > 0).then(|| sum / *n as f32)).collect()
        };
        let mut past = Vec::new();
        for ((index, gpu_id), [util, memory, power, temperature]) in sums {
            past.push(PastGpu {
                host: None,
                index,
                uuid: self.gpu(gpu_id)?.uuid,
                utilization: mean(&util),
                memory_percent: mean(&memory),
                power_watts: mean(&power),
                temperature: mean(&temperature),
            });
        }
        Ok(past)
    }
}

impl Source for ReplaySource {
    fn past(&mut self, window: std::time::Duration, step: std::time::Duration) -> Vec<PastGpu> {
        // Asked for after the first sample, with the playhead still on it: the window ends just
        // before it. A recording that cannot be read here leaves the charts to fill as it plays.
        self.past_window = Some((window, step));
        self.recorded_past(window, step).unwrap_or_default()
    }

    fn sample(&mut self) -> Result<Snapshot, SourceError> {
        let moved = self.advance().map_err(|e| self.fail(e))?;
        if !moved && self.stop_at_end {
            return Err(SourceError::EndOfRecording);
        }
        let (tick, at) = {
            let p = self.playhead.lock().unwrap_or_else(|e| e.into_inner());
            (p.tick, p.at_ms)
        };
        let mut snapshot = self.snapshot(tick, at).map_err(|e| self.fail(e))?;
        if !self.selection.is_empty() {
            snapshot.gpus.retain(|g| self.selection.iter().any(|s| s.names(g)));
        }
        Ok(snapshot)
    }
}
