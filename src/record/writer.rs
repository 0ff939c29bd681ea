//! Writes one sample per transaction: each GPU's metrics, its processes (each process stored
//! once, keyed by host, PID and start time), and the events read off the difference from the
//! previous sample: a GPU lost and back, a clock slowdown started and ended, an XID, a process
//! started and ended.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::rollup::{Minutes, TickGpu, TickProcess, MINUTE_MS};
use crate::sample::{GpuEventKind, GpuProcess, GpuSample, GpuStatus, ProcessKind, Snapshot};

pub struct Writer {
    conn: Connection,
    gpus: HashMap<String, i64>,
    /// Each process listed at the last sample: its row id and the user and type recorded for
    /// it, by host, PID and start time. A process whose start time is unknown is known here
    /// only while it stays listed: seen again after that, it gets a row of its own, since
    /// its PID may name another process by then.
    processes: HashMap<(String, u32, Option<u64>), Recorded>,
    last: HashMap<i64, Seen>,
    samples_since_prune: u32,
    host_written: bool,
    /// The minutes not yet written as rollups (the current one, and any a failed write left).
    minutes: Minutes,
    interval_s: f64,
}

/// A process's row and what it holds.
struct Recorded {
    id: i64,
    user: Option<String>,
    kind: Option<ProcessKind>,
}

/// How the type is stored: nvidia-smi's `C`, `G`, `C+G`; NULL when not known.
fn kind_text(kind: Option<ProcessKind>) -> Option<&'static str> {
    kind.map(ProcessKind::short)
}

/// What a GPU looked like at the previous sample.
#[derive(Default)]
struct Seen {
    status: Option<GpuStatus>,
    slowdowns: Vec<&'static str>,
    xids: u64,
    processes: HashSet<i64>,
}

impl Writer {
    pub fn new(conn: Connection, interval: Duration) -> rusqlite::Result<Self> {
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('interval_ms', ?1)",
            params![interval.as_millis().to_string()],
        )?;
        Ok(Self {
            conn,
            gpus: HashMap::new(),
            processes: HashMap::new(),
            last: HashMap::new(),
            samples_since_prune: 0,
            host_written: false,
            minutes: Minutes::default(),
            interval_s: interval.as_secs_f64(),
        })
    }

    /// Writes a sample in one transaction. When it fails (a full disk), it is rolled back, and
    /// the ids remembered from it are forgotten so the next sample looks them up again.
    pub fn write(&mut self, s: &Snapshot) -> rusqlite::Result<()> {
        let result = self.write_sample(s);
        if result.is_err() {
            self.gpus.clear();
            self.processes.clear();
        }
        result
    }

    /// The operating system's error behind SQLite's last failure (`disk I/O error` says
    /// little; `File too large` and `No space left on device` say what to do).
    pub fn os_error(&self) -> Option<std::io::Error> {
        // SAFETY: the handle is this open connection's, used on this thread only, and
        // sqlite3_system_errno only reads the connection's last error number.
        let errno = unsafe { rusqlite::ffi::sqlite3_system_errno(self.conn.handle()) };
        (errno > 0).then(|| std::io::Error::from_raw_os_error(errno))
    }

    fn write_sample(&mut self, s: &Snapshot) -> rusqlite::Result<()> {
        let host = s.host.hostname.clone().unwrap_or_default();
        let at_ms = s.taken_at.timestamp_millis();
        let minute = at_ms.div_euclid(MINUTE_MS);
        let tx = self.conn.transaction()?;
        // The minutes that are over, as rollups, in the same transaction.
        self.minutes.write_before(&tx, Some(minute))?;
        let mut tick_gpus = Vec::with_capacity(s.gpus.len());
        let mut tick_processes = Vec::new();
        if !self.host_written {
            // Who recorded, for a replay's header: the host, its driver and CUDA versions.
            for (key, value) in [
                ("hostname", &s.host.hostname),
                ("driver_version", &s.host.driver_version),
                ("cuda_driver_version", &s.host.cuda_driver_version),
            ] {
                if let Some(value) = value {
                    tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
                        .execute(params![key, value])?;
                }
            }
        }
        // The sample's time, once; every row of it refers to it by a small number.
        tx.prepare_cached("INSERT INTO ticks (taken_at) VALUES (?1)")?
            .execute(params![s.taken_at.timestamp_millis()])?;
        let at = tx.last_insert_rowid();
        for g in &s.gpus {
            let gpu = gpu_id(&tx, &mut self.gpus, g)?;
            tick_gpus.push(insert_sample(&tx, at, gpu, g)?);
            let seen = self.last.entry(gpu).or_default();
            let mut events: Vec<(&str, String)> = Vec::new();
            if let Some(before) = seen.status.filter(|b| *b != g.status) {
                let kind = match (before, g.status) {
                    (_, GpuStatus::Ok) => "gpu_back",
                    (_, GpuStatus::Lost) => "gpu_lost",
                    _ => "gpu_error",
                };
                events.push((kind, g.error.clone().unwrap_or_default()));
            }
            seen.status = Some(g.status);
            let slowdowns = g.throttle.alarming();
            for r in slowdowns.iter().filter(|r| !seen.slowdowns.contains(r)) {
                events.push(("slowdown_started", (*r).to_string()));
            }
            for r in seen.slowdowns.iter().filter(|r| !slowdowns.contains(r)) {
                events.push(("slowdown_ended", (*r).to_string()));
            }
            seen.slowdowns = slowdowns;
            if let Some(ev) = &g.events {
                let total: u64 = ev.xid_counts.values().sum::<u64>() + ev.xid_unknown;
                let new = total.saturating_sub(seen.xids) as usize;
                let xids = ev.recent.iter().filter(|e| e.kind == GpuEventKind::Xid);
                for e in xids.rev().take(new).collect::<Vec<_>>().into_iter().rev() {
                    // An XID the driver gave no number for is recorded as one, never as 0.
                    let number = e.xid.map_or_else(|| "unknown".to_string(), |x| x.to_string());
                    events.push(("xid", number));
                }
                seen.xids = total;
            }
            let mut now = HashSet::new();
            for p in g.known_processes() {
                let key = (g.host.clone().unwrap_or_else(|| host.clone()), p.pid, p.start_ticks);
                let id = match self.processes.get_mut(&key) {
                    Some(recorded) => {
                        refresh(&tx, recorded, p)?;
                        recorded.id
                    }
                    None => {
                        let place = p.placement.clone().unwrap_or_default();
                        // With a start time, the row of an earlier recorder of this file is
                        // this process's; without one, nothing says so and it gets its own
                        // (a NULL start time never matches under UNIQUE).
                        tx.prepare_cached(
                            "INSERT OR IGNORE INTO processes (host, pid, start_ticks, user, command, container, pod, namespace, job, kind)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        )?
                        .execute(params![
                            key.0,
                            key.1,
                            key.2.map(|t| t as i64),
                            p.user,
                            p.command.as_deref().or(p.name.as_deref()),
                            place.container_id,
                            place.pod_name.or(place.pod_uid),
                            place.namespace,
                            place.slurm_job,
                            kind_text(p.kind),
                        ])?;
                        let mut recorded = match key.2 {
                            None => Recorded {
                                id: tx.last_insert_rowid(),
                                user: p.user.clone(),
                                kind: p.kind,
                            },
                            Some(start) => {
                                let (id, user, kind): (i64, Option<String>, Option<String>) = tx
                                    .prepare_cached("SELECT id, user, kind FROM processes WHERE host = ?1 AND pid = ?2 AND start_ticks = ?3")?
                                    .query_row(params![key.0, key.1, start as i64], |r| {
                                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                                    })?;
                                Recorded {
                                    id,
                                    user,
                                    kind: kind.as_deref().and_then(ProcessKind::from_short),
                                }
                            }
                        };
                        refresh(&tx, &mut recorded, p)?;
                        let id = recorded.id;
                        self.processes.insert(key, recorded);
                        id
                    }
                };
                if !now.insert(id) {
                    continue;
                }
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO process_samples (tick, gpu_id, process_id, gpu_memory_kib, sm_percent)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![at, gpu, id, p.gpu_memory_bytes.map(kib), p.sm_percent])?;
                tick_processes.push(TickProcess {
                    gpu_id: gpu,
                    process_id: id,
                    memory_kib: p.gpu_memory_bytes.map(kib),
                    sm_percent: p.sm_percent,
                });
                if !seen.processes.contains(&id) && seen.status.is_some() {
                    events.push(("process_started", id.to_string()));
                }
            }
            for gone in seen.processes.difference(&now) {
                events.push(("process_ended", gone.to_string()));
            }
            seen.processes = now;
            for (kind, detail) in events {
                tx.prepare_cached(
                    "INSERT INTO events (tick, gpu_id, kind, detail) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![at, gpu, kind, detail])?;
            }
        }
        tx.commit()?;
        self.host_written = true;
        self.minutes.forget_before(Some(minute));
        self.minutes.add(at_ms, self.interval_s, &tick_gpus, &tick_processes);
        // Forget the ids of processes no GPU lists any more, so the cache does not grow with
        // every job ever run (the database keeps them).
        self.processes.retain(|_, r| self.last.values().any(|s| s.processes.contains(&r.id)));
        self.samples_since_prune += 1;
        Ok(())
    }

    /// Writes what it has of the current minute (a recorder that stops). Another recorder
    /// on the file later in the same minute adds to it.
    pub fn finish(&mut self) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        self.minutes.write_before(&tx, None)?;
        tx.commit()?;
        self.minutes.forget_before(None);
        Ok(())
    }

    /// Deletes raw samples older than `keep_raw` before `now_ms`, and rollups and events older
    /// than `keep`, once a hundred samples. Events (a few a day) stay as long as the rollups.
    pub fn prune(
        &mut self,
        now_ms: i64,
        keep_raw: Duration,
        keep: Duration,
    ) -> rusqlite::Result<()> {
        if self.samples_since_prune < 100 {
            return Ok(());
        }
        self.samples_since_prune = 0;
        let before = now_ms - keep_raw.as_millis() as i64;
        let tx = self.conn.transaction()?;
        let first_kept: Option<i64> =
            tx.query_row("SELECT MIN(id) FROM ticks WHERE taken_at >= ?1", params![before], |r| {
                r.get(0)
            })?;
        if let Some(tick) = first_kept {
            for table in ["samples", "process_samples"] {
                tx.execute(&format!("DELETE FROM {table} WHERE tick < ?1"), params![tick])?;
            }
            // Ticks stay while events name them.
            tx.execute(
                "DELETE FROM ticks WHERE id < ?1 AND id NOT IN (SELECT tick FROM events)",
                params![tick],
            )?;
        }
        let minute = (now_ms - keep.as_millis() as i64).div_euclid(MINUTE_MS);
        for table in ["minutes", "process_minutes"] {
            tx.execute(&format!("DELETE FROM {table} WHERE minute < ?1"), params![minute])?;
        }
        let old = "SELECT id FROM ticks WHERE taken_at < ?1";
        tx.execute(
            &format!("DELETE FROM events WHERE tick IN ({old})"),
            params![minute * MINUTE_MS],
        )?;
        tx.execute(&format!("DELETE FROM ticks WHERE id IN ({old})"), params![minute * MINUTE_MS])?;
        tx.commit()
    }
}

fn gpu_id(
    tx: &Transaction,
    known: &mut HashMap<String, i64>,
    g: &GpuSample,
) -> rusqlite::Result<i64> {
    let key = gpu_key(g);
    if let Some(id) = known.get(&key) {
        return Ok(*id);
    }
    let found: Option<i64> = tx
        .query_row("SELECT id FROM gpus WHERE key = ?1", params![key], |r| r.get(0))
        .optional()?;
    let id = match found {
        Some(id) => id,
        None => {
            tx.execute(
                "INSERT INTO gpus (key, uuid, name, pci_bus_id, vendor) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key, g.uuid, g.name, g.pci_bus_id, g.vendor.key()],
            )?;
            tx.last_insert_rowid()
        }
    };
    known.insert(key, id);
    Ok(id)
}

/// Who a GPU is across samples (`gpus.key`): its UUID; else, for a GPU whose driver has no
/// UUID (an AMD card without `unique_id`, an Intel card), its PCI bus id on its host, which
/// stays when the GPUs before it come and go and its index moves; else (a GPU never seen
/// whole) its index on its host.
fn gpu_key(g: &GpuSample) -> String {
    let host = g.host.as_deref().unwrap_or("");
    match (&g.uuid, &g.pci_bus_id) {
        (Some(uuid), _) => uuid.clone(),
        (None, Some(bus)) => format!("{host}@{bus}"),
        (None, None) => format!("{host}#{}", g.index),
    }
}

/// Names a process's user where it was recorded by UID (a directory slow to answer on its
/// first sample) or under an older name: the report groups its samples under the latest.
/// Brings a process's row up to date with this sample: a user the directory has named since,
/// a type NVML now lists it under too (`C` and later `G` is `C+G`).
fn refresh(tx: &Transaction, recorded: &mut Recorded, p: &GpuProcess) -> rusqlite::Result<()> {
    if p.user.is_some() && recorded.user != p.user {
        set_user(tx, recorded.id, p.user.as_deref())?;
        recorded.user.clone_from(&p.user);
    }
    if let Some(kind) = p.kind {
        let merged = recorded.kind.map_or(kind, |k| k.merge(kind));
        if recorded.kind != Some(merged) {
            tx.prepare_cached("UPDATE processes SET kind = ?1 WHERE id = ?2")?
                .execute(params![kind_text(Some(merged)), recorded.id])?;
            recorded.kind = Some(merged);
        }
    }
    Ok(())
}

fn set_user(tx: &Transaction, id: i64, user: Option<&str>) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE processes SET user = ?1 WHERE id = ?2")?
        .execute(params![user, id])?;
    Ok(())
}

/// Bytes in KiB, as stored: 4 bytes for an 80 GB GPU's memory instead of 6.
fn kib(bytes: u64) -> i64 {
    (bytes / 1024) as i64
}

/// `samples.status`: 0 ok, 1 lost, 2 error (SQLite stores 0 and 1 in no bytes at all).
fn status_code(status: GpuStatus) -> i64 {
    match status {
        GpuStatus::Ok => 0,
        GpuStatus::Lost => 1,
        GpuStatus::Error => 2,
    }
}

/// Inserts a GPU's row of a sample; the row, for the minute's rollup.
fn insert_sample(tx: &Transaction, at: i64, gpu: i64, g: &GpuSample) -> rusqlite::Result<TickGpu> {
    if let Some(total) = g.memory.total_bytes {
        tx.prepare_cached(
            "UPDATE gpus SET memory_total_kib = ?2 WHERE id = ?1 AND memory_total_kib IS NOT ?2",
        )?
        .execute(params![gpu, kib(total)])?;
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO samples (tick, gpu_id, gpu_index, status, utilization_gpu,
         utilization_memory, memory_used_kib, temperature, power_milliwatts,
         energy_millijoules, sm_clock_mhz, throttle_mask, processes_listed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        at,
        gpu,
        g.index,
        status_code(g.status),
        g.utilization.gpu_percent,
        g.utilization.memory_percent,
        g.memory.used_bytes.map(kib),
        g.temperature.gpu_celsius,
        // Integers (SQLite stores them in as few bytes as they need): mW and mJ.
        g.power.draw_watts.map(|w| (w * 1000.0).round() as i64),
        g.power.energy_joules.map(|j| (j * 1000.0).round() as i64),
        g.clocks.sm_mhz,
        g.throttle.mask.map(|m| m as i64),
        // Unknown (NVML could not list them) is not the same as nobody.
        g.processes.is_some(),
    ])?;
    Ok(TickGpu {
        gpu_id: gpu,
        index: g.index,
        status: status_code(g.status),
        utilization: g.utilization.gpu_percent,
        memory_kib: g.memory.used_bytes.map(kib),
        power_mw: g.power.draw_watts.map(|w| (w * 1000.0).round() as i64),
        energy_mj: g.power.energy_joules.map(|j| (j * 1000.0).round() as i64),
        throttle_mask: g.throttle.mask.map(|m| m as i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{GpuProcess, HostInfo, ProcessKind, SCHEMA_VERSION};

    fn snapshot_with_user(user: &str, second: i64) -> Snapshot {
        let mut gpu = GpuSample::empty(0);
        gpu.uuid = Some("GPU-00000000-0000-4000-8000-000000000000".into());
        let mut p = GpuProcess::new(4242, ProcessKind::Compute, Some(1 << 30));
        p.user = Some(user.into());
        p.start_ticks = Some(77);
        gpu.processes = Some(vec![p]);
        Snapshot {
            schema_version: SCHEMA_VERSION,
            taken_at: chrono::DateTime::from_timestamp(1_800_000_000 + second, 0).unwrap(),
            host: HostInfo { hostname: Some("h".into()), ..HostInfo::default() },
            gpus: vec![gpu],
            hosts: Vec::new(),
            origin: crate::sample::Origin::Live,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_process_first_recorded_by_uid_is_named_once_the_directory_answers() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::create(&dir.path().join("r.db")).unwrap();
        let mut writer = Writer::new(conn, Duration::from_secs(1)).unwrap();
        let user = |w: &Writer| -> String {
            w.conn.query_row("SELECT user FROM processes", [], |r| r.get(0)).unwrap()
        };
        writer.write(&snapshot_with_user("61234", 0)).unwrap();
        assert_eq!(user(&writer), "61234");
        writer.write(&snapshot_with_user("ldapuser", 1)).unwrap();
        assert_eq!(user(&writer), "ldapuser");
        let rows: i64 =
            writer.conn.query_row("SELECT COUNT(*) FROM processes", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 1, "the same process");
    }
}
