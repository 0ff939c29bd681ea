//! `--replay PATH`: a recording played back as a source, so every mode (the monitor, `--once`,
//! `--json`, `--watch`) shows a past moment as it shows the present. Each sample is the
//! recording's next one: at the recording's own interval the playback runs at its pace. It
//! reads while a recorder writes, and a recording that grows is followed to its end.
//! The recording's tables and schema versions are `record::read`'s; this file plays them.
//!
//! A recording keeps a GPU's utilization, memory, temperature, power, energy, SM clock,
//! clock-event reasons and processes; anything else is `null` with the reason `not_recorded`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use rusqlite::Connection;

use super::selection::GpuIdentity;
use super::{GpuSelector, Source, SourceError};
use crate::playhead::{Playhead, Seek, SharedPlayhead};
use crate::record;
use crate::record::read::{self, RecordedGpu, SampleRow};
use crate::sample::{
    FieldKey, GpuProcess, GpuSample, GpuStatus, HostInfo, Missing, MissingFields, MissingReason,
    PastGpu, Snapshot, Throttle, SCHEMA_VERSION,
};
use crate::text::time::Moment;

/// The fields of the JSON model a recording does not keep.
const NOT_RECORDED: &[FieldKey] = &[
    FieldKey::MemoryReserved,
    FieldKey::UtilizationEncoder,
    FieldKey::UtilizationDecoder,
    FieldKey::TemperatureSlowdown,
    FieldKey::TemperatureShutdown,
    FieldKey::PowerLimit,
    FieldKey::FanPercent,
    FieldKey::ClocksMemory,
    FieldKey::ClocksSmMax,
    FieldKey::ClocksMemoryMax,
    FieldKey::PerformanceState,
    FieldKey::Pcie,
    FieldKey::Ecc,
    FieldKey::MigEnabled,
    FieldKey::PersistenceMode,
];

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
        let (first, last) = read::bounds(&conn).map_err(fail)?.ok_or_else(|| {
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
            Some(ms) => read::tick_at_or_after(&conn, ms).map_err(fail)?.unwrap_or(last),
        };
        let known = read::gpus_sampled_at(&conn, [first.0, start.0, last.0]).map_err(fail)?;
        if let Some(missing) = selection.iter().find(|sel| {
            !known.iter().any(|gpu| {
                let identity = GpuIdentity {
                    uuid: gpu.uuid.clone(),
                    pci_bus_id: gpu.pci_bus_id.clone(),
                    mig_uuids: Vec::new(),
                };
                sel.matches(gpu.index, &mut |_| identity.clone())
            })
        }) {
            return Err(SourceError::NoSuchGpu(missing.to_string()));
        }
        let version = read::schema_version(&conn).map_err(fail)?;
        let meta = |key: &str| read::meta(&conn, key);
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
        if let Some((first, last)) = read::bounds(&self.conn)? {
            (p.first_ms, p.last_ms) = (first.1, last.1);
        }
        let seek = match asked {
            Some(seek) => Some(seek),
            None if self.started && !p.paused => Some(Seek::Step(i64::from(p.speed))),
            None => None,
        };
        self.started = true;
        let conn = &self.conn;
        let target = match seek {
            None => None,
            Some(Seek::Step(n)) => read::step(conn, p.at_ms, n)?,
            Some(Seek::By(ms)) if ms >= 0 => {
                read::tick_at_or_after(conn, p.at_ms + ms)?.or(read::last_tick(conn)?)
            }
            Some(Seek::By(ms)) => {
                read::tick_at_or_before(conn, p.at_ms + ms)?.or(read::first_tick(conn)?)
            }
            Some(Seek::To(ms)) => read::tick_at_or_after(conn, ms)?.or(read::last_tick(conn)?),
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
        let g = read::gpu(&self.conn, self.version, id)?;
        self.gpus.insert(id, g.clone());
        Ok(g)
    }

    fn snapshot(&mut self, tick: i64, at_ms: i64) -> rusqlite::Result<Snapshot> {
        let rows = read::samples(&self.conn, self.version, tick)?;
        let mut processes = read::processes(&self.conn, self.version, tick)?;
        let mut gpus = Vec::with_capacity(rows.len());
        for row in rows {
            let info = self.gpu(row.gpu_id)?;
            let theirs = processes.remove(&row.gpu_id).unwrap_or_default();
            gpus.push(recorded_gpu(row, info, theirs));
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
}

/// A GPU's recorded row as the model has it: what the recording does not keep is `null`,
/// `not_recorded`.
fn recorded_gpu(row: SampleRow, info: RecordedGpu, processes: Vec<GpuProcess>) -> GpuSample {
    let status = row.status;
    let mut g = if status == GpuStatus::Ok {
        GpuSample::empty(row.index)
    } else {
        let what = if status == GpuStatus::Lost { "GPU is lost" } else { "GPU error" };
        GpuSample::unavailable(row.index, status, what)
    };
    g.uuid = info.uuid;
    g.name = info.name;
    g.pci_bus_id = info.pci_bus_id;
    g.vendor = info.vendor;
    if status != GpuStatus::Ok {
        return g;
    }
    let bytes = |kib: i64| kib.max(0) as u64 * 1024;
    g.memory.total_bytes = info.memory_total_kib.map(bytes);
    g.memory.used_bytes = row.memory_used_kib.map(bytes);
    g.memory.free_bytes =
        g.memory.total_bytes.zip(g.memory.used_bytes).map(|(t, u)| t.saturating_sub(u));
    g.utilization.gpu_percent = row.utilization_gpu;
    g.utilization.memory_percent = row.utilization_memory;
    g.temperature.gpu_celsius = row.temperature;
    g.power.draw_watts = row.power_milliwatts.map(|mw| mw as f64 / 1000.0);
    g.power.energy_joules = row.energy_millijoules.map(|mj| mj as f64 / 1000.0);
    g.clocks.sm_mhz = row.sm_clock_mhz;
    if let Some(mask) = row.throttle_mask {
        g.throttle = Throttle::from_mask(mask as u64);
    }
    let not_recorded = Missing { reason: MissingReason::NotRecorded, nvml_code: None };
    let mut missing = MissingFields::default();
    for field in NOT_RECORDED {
        missing.insert(*field, not_recorded);
    }
    // Processes: listed (none stored is nobody), not listed (unknown), or a version 1
    // recording that did not say (unknown unless some were stored).
    g.processes = match row.processes_listed {
        Some(true) => Some(processes),
        None if !processes.is_empty() => Some(processes),
        Some(false) => {
            missing.insert(
                FieldKey::Processes,
                Missing { reason: MissingReason::Error, nvml_code: None },
            );
            None
        }
        None => {
            missing.insert(FieldKey::Processes, not_recorded);
            None
        }
    };
    g.missing = missing;
    g
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
        read::for_each_charted(&self.conn, from, at - 1, |row| {
            let slot = ((row.at_ms - from) / step_ms) as usize;
            let entry = sums
                .entry((row.index, row.gpu_id))
                .or_insert_with(|| std::array::from_fn(|_| vec![(0.0, 0); slots]));
            for (series, value) in entry.iter_mut().zip(row.values) {
                if let (Some(v), Some(cell)) = (value, series.get_mut(slot)) {
                    cell.0 += v;
                    cell.1 += 1;
                }
            }
        })?;
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sample::{HostInfo, Origin, Vendor};

    /// Two samples of a host with an NVIDIA GPU and an AMD one whose driver gives no UUID;
    /// in the second the NVIDIA GPU is gone and the AMD one, now first, has index 0.
    fn recording(path: &Path) {
        let conn = record::create(path).unwrap();
        let mut writer = record::Writer::new(conn, Duration::from_secs(1)).unwrap();
        let mut nvidia = GpuSample::empty(0);
        nvidia.uuid = Some("GPU-0".into());
        let amd = |index: u32, used_mib: u64| {
            let mut g = GpuSample::empty(index);
            g.vendor = Vendor::Amd;
            g.name = Some("AMD Instinct MI210".into());
            g.pci_bus_id = Some("0000:03:00.0".into());
            g.memory.total_bytes = Some(64 << 30);
            g.memory.used_bytes = Some(used_mib << 20);
            g
        };
        for (second, gpus) in [(0, vec![nvidia, amd(1, 100)]), (1, vec![amd(0, 200)])] {
            writer
                .write(&Snapshot {
                    schema_version: SCHEMA_VERSION,
                    taken_at: chrono::DateTime::from_timestamp(1_800_000_000 + second, 0).unwrap(),
                    host: HostInfo { hostname: Some("h".into()), ..HostInfo::default() },
                    gpus,
                    hosts: Vec::new(),
                    origin: Origin::Live,
                    warnings: Vec::new(),
                })
                .unwrap();
        }
        writer.finish().unwrap();
    }

    #[test]
    fn a_gpu_without_a_uuid_is_one_gpu_by_its_bus_id_and_replays_with_its_vendor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        recording(&path);
        let conn = record::open(&path).unwrap();
        let keys: Vec<String> = conn
            .prepare("SELECT key FROM gpus ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(keys, ["GPU-0", "@0000:03:00.0"], "its index moved; it is the same GPU");
        let first = Moment::At(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let mut replay = ReplaySource::open(&path, Some(first), &[]).unwrap();
        let s = replay.sample().unwrap();
        let who = |g: &GpuSample| (g.index, g.vendor, g.uuid.clone(), g.pci_bus_id.clone());
        let bus = Some("0000:03:00.0".to_string());
        assert_eq!(
            s.gpus.iter().map(who).collect::<Vec<_>>(),
            [(0, Vendor::Nvidia, Some("GPU-0".into()), None), (1, Vendor::Amd, None, bus.clone())]
        );
        // Picked by its bus id, at its new index.
        let by_bus: GpuSelector = "0000:03:00.0".parse().unwrap();
        let mut replay = ReplaySource::open(&path, None, &[by_bus]).unwrap();
        let s = replay.sample().unwrap();
        assert_eq!(s.gpus.iter().map(who).collect::<Vec<_>>(), [(0, Vendor::Amd, None, bus)]);
        assert_eq!(s.gpus[0].memory.used_bytes, Some(200 << 20));
    }

    #[test]
    fn a_recording_from_before_vendors_replays_its_gpus_as_nvidias_and_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        recording(&path);
        // As version 4 wrote it: no vendor column.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("ALTER TABLE gpus DROP COLUMN vendor; PRAGMA user_version = 4;")
            .unwrap();
        drop(conn);
        let s = ReplaySource::open(&path, None, &[]).unwrap().sample().unwrap();
        assert_eq!(s.gpus[0].vendor, Vendor::Nvidia, "recorded by NVML alone");
        let conn = record::create(&path).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        let stored: Option<String> =
            conn.query_row("SELECT vendor FROM gpus WHERE id = 2", [], |r| r.get(0)).unwrap();
        assert_eq!((version, stored), (record::SCHEMA_VERSION, None));
    }
}
