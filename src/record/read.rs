//! Reading a recording back: its ticks in time order, a tick's samples and processes, its GPUs
//! and a window of values for the charts, each schema version (`PRAGMA user_version`) read as
//! it was written. `--replay` plays these; what a recording never kept is its business.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use crate::sample::{GpuProcess, GpuStatus, MissingReason, Placement, ProcessKind, Vendor};

/// A tick that has samples: its id and when it was taken (ms since the epoch).
pub type Tick = (i64, i64);

/// A tick with samples: past `--keep-raw`, ticks stay only for the events that name them.
const SAMPLED: &str = "EXISTS (SELECT 1 FROM samples WHERE samples.tick = ticks.id)";

/// The recording's schema version (`PRAGMA user_version`).
pub fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// A value the recorder noted about its host (`hostname`, `driver_version`, …).
pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| r.get(0)).optional()
}

/// The first and the newest tick with samples; `None` when there is none yet.
pub fn bounds(conn: &Connection) -> rusqlite::Result<Option<(Tick, Tick)>> {
    Ok(first_tick(conn)?.zip(last_tick(conn)?))
}

pub fn first_tick(conn: &Connection) -> rusqlite::Result<Option<Tick>> {
    one(conn, "SELECT id, taken_at FROM ticks WHERE {SAMPLED} ORDER BY taken_at, id LIMIT 1", None)
}

pub fn last_tick(conn: &Connection) -> rusqlite::Result<Option<Tick>> {
    one(
        conn,
        "SELECT id, taken_at FROM ticks WHERE {SAMPLED} ORDER BY taken_at DESC, id DESC LIMIT 1",
        None,
    )
}

pub fn tick_at_or_after(conn: &Connection, ms: i64) -> rusqlite::Result<Option<Tick>> {
    one(
        conn,
        "SELECT id, taken_at FROM ticks WHERE taken_at >= ?1 AND {SAMPLED} ORDER BY taken_at, id LIMIT 1",
        Some(ms),
    )
}

pub fn tick_at_or_before(conn: &Connection, ms: i64) -> rusqlite::Result<Option<Tick>> {
    one(
        conn,
        "SELECT id, taken_at FROM ticks WHERE taken_at <= ?1 AND {SAMPLED} ORDER BY taken_at DESC, id DESC LIMIT 1",
        Some(ms),
    )
}

/// `n` samples on from the one at `at_ms` (back when negative); the last one there is when
/// the recording ends sooner.
pub fn step(conn: &Connection, at_ms: i64, n: i64) -> rusqlite::Result<Option<Tick>> {
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

/// A GPU as the recording knows it (`gpus`); a GPU with no row is all `None`s (unknown),
/// never made-up values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordedGpu {
    pub uuid: Option<String>,
    pub name: Option<String>,
    pub pci_bus_id: Option<String>,
    pub memory_total_kib: Option<i64>,
    /// NVIDIA's where not stored (recordings before version 5 were NVML's alone).
    pub vendor: Vendor,
}

/// The GPU of id `id` (`samples.gpu_id`), from a recording of schema `version`.
pub fn gpu(conn: &Connection, version: i64, id: i64) -> rusqlite::Result<RecordedGpu> {
    // Recordings before version 5 did not store the vendor.
    let vendor = if version >= 5 { "vendor" } else { "NULL" };
    let gpu = conn
        .query_row(
            &format!(
                "SELECT uuid, name, pci_bus_id, memory_total_kib, {vendor} FROM gpus WHERE id = ?1"
            ),
            params![id],
            |r| {
                let vendor: Option<String> = r.get(4)?;
                Ok(RecordedGpu {
                    uuid: r.get(0)?,
                    name: r.get(1)?,
                    pci_bus_id: r.get(2)?,
                    memory_total_kib: r.get(3)?,
                    vendor: vendor.as_deref().and_then(Vendor::from_key).unwrap_or_default(),
                })
            },
        )
        .optional()?;
    Ok(gpu.unwrap_or_default())
}

/// A GPU sampled at some tick: the index it had and who it is.
#[derive(Debug, Clone, PartialEq)]
pub struct SampledGpu {
    pub index: u32,
    pub uuid: Option<String>,
    pub pci_bus_id: Option<String>,
}

/// The GPUs sampled at any of `ticks`, each index and identity once.
pub fn gpus_sampled_at(conn: &Connection, ticks: [i64; 3]) -> rusqlite::Result<Vec<SampledGpu>> {
    let mut query = conn.prepare(
        "SELECT DISTINCT s.gpu_index, g.uuid, g.pci_bus_id FROM samples s JOIN gpus g ON g.id = s.gpu_id
          WHERE s.tick IN (?1, ?2, ?3)",
    )?;
    let rows = query.query_map(params![ticks[0], ticks[1], ticks[2]], |r| {
        Ok(SampledGpu { index: r.get(0)?, uuid: r.get(1)?, pci_bus_id: r.get(2)? })
    })?;
    rows.collect()
}

/// A GPU's row of one tick (`samples`), in the units it is stored in.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRow {
    pub gpu_id: i64,
    pub index: u32,
    pub status: GpuStatus,
    pub utilization_gpu: Option<u32>,
    pub utilization_memory: Option<u32>,
    pub memory_used_kib: Option<i64>,
    pub temperature: Option<u32>,
    pub power_milliwatts: Option<i64>,
    pub energy_millijoules: Option<i64>,
    pub sm_clock_mhz: Option<u32>,
    pub throttle_mask: Option<i64>,
    /// Whether the GPU's processes could be listed; `None` in a version 1 recording, which
    /// did not say.
    pub processes_listed: Option<bool>,
}

impl SampleRow {
    fn read(r: &rusqlite::Row) -> rusqlite::Result<Self> {
        Ok(Self {
            gpu_id: r.get(0)?,
            index: r.get(1)?,
            status: status_from_code(r.get(2)?),
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
}

/// `samples.status` as the writer stores it: 0 ok, 1 lost, anything else an error.
fn status_from_code(code: i64) -> GpuStatus {
    match code {
        0 => GpuStatus::Ok,
        1 => GpuStatus::Lost,
        _ => GpuStatus::Error,
    }
}

/// Every GPU's row of tick `tick`, by index, from a recording of schema `version`.
pub fn samples(conn: &Connection, version: i64, tick: i64) -> rusqlite::Result<Vec<SampleRow>> {
    // Version 1 recordings have no processes_listed.
    let sql = if version == 1 {
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
    let rows = conn.prepare_cached(sql)?.query_map(params![tick], SampleRow::read)?.collect();
    rows
}

/// The processes of tick `tick`, by GPU id, from a recording of schema `version`: what the
/// recording keeps of each (its type `None`, `not_recorded`, where it was not stored).
pub fn processes(
    conn: &Connection,
    version: i64,
    tick: i64,
) -> rusqlite::Result<HashMap<i64, Vec<GpuProcess>>> {
    let mut by_gpu: HashMap<i64, Vec<GpuProcess>> = HashMap::new();
    // Recordings before version 4 did not store the type.
    let kind = if version >= 4 { "p.kind" } else { "NULL" };
    let mut stmt = conn.prepare_cached(&format!(
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

/// The program's name from a command line: its first word, without the directory.
fn command_name(command: &str) -> Option<String> {
    let first = command.split_whitespace().next()?;
    Some(first.rsplit('/').next().unwrap_or(first).to_string())
}

/// A GPU's charted values at one tick: utilization (%), memory used (% of its total), power
/// (W) and temperature (°C), each `None` where not recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartedValues {
    pub at_ms: i64,
    pub gpu_id: i64,
    pub index: u32,
    pub values: [Option<f32>; 4],
}

/// Calls `each` with every GPU's charted values taken in `from..=to` (ms), in no set order.
pub fn for_each_charted(
    conn: &Connection,
    from: i64,
    to: i64,
    mut each: impl FnMut(ChartedValues),
) -> rusqlite::Result<()> {
    // By the ticks' range (a join on the time range alone scans every sample).
    let Some((first, last)) = super::rollup::tick_range(conn, from, to)? else {
        return Ok(());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT t.taken_at, s.gpu_id, s.gpu_index, s.utilization_gpu, s.memory_used_kib,
                g.memory_total_kib, s.power_milliwatts, s.temperature
         FROM samples s JOIN ticks t ON t.id = s.tick JOIN gpus g ON g.id = s.gpu_id
         WHERE s.tick BETWEEN ?1 AND ?2",
    )?;
    let mut rows = stmt.query(params![first, last])?;
    while let Some(r) = rows.next()? {
        let used: Option<i64> = r.get(4)?;
        let total: Option<i64> = r.get(5)?;
        each(ChartedValues {
            at_ms: r.get(0)?,
            gpu_id: r.get(1)?,
            index: r.get(2)?,
            values: [
                r.get::<_, Option<i64>>(3)?.map(|v| v as f32),
                used.zip(total.filter(|t| *t > 0)).map(|(u, t)| u as f32 * 100.0 / t as f32),
                r.get::<_, Option<i64>>(6)?.map(|mw| mw as f32 / 1000.0),
                r.get::<_, Option<i64>>(7)?.map(|v| v as f32),
            ],
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sample::{GpuSample, HostInfo, Origin, Snapshot, SCHEMA_VERSION};

    /// A recording of three samples a second apart: GPU 0 busy with one process, GPU 1 lost
    /// in the second sample.
    fn recording(dir: &std::path::Path) -> Connection {
        let path = dir.join("r.db");
        let mut writer =
            super::super::Writer::new(super::super::create(&path).unwrap(), Duration::from_secs(1))
                .unwrap();
        for second in 0..3 {
            let mut gpu = GpuSample::empty(0);
            gpu.uuid = Some("GPU-0".into());
            gpu.memory.total_bytes = Some(1 << 30);
            gpu.memory.used_bytes = Some(1 << 28);
            gpu.utilization.gpu_percent = Some(50 + second as u32);
            gpu.power.draw_watts = Some(250.0);
            let mut p = GpuProcess::new(4242, ProcessKind::Graphics, Some(1 << 20));
            p.command = Some("/usr/bin/python3 train.py".into());
            p.start_ticks = Some(77);
            gpu.processes = Some(vec![p]);
            let mut gpus = vec![gpu];
            if second == 1 {
                gpus.push(GpuSample::unavailable(1, GpuStatus::Lost, "GPU is lost"));
            }
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
        super::super::open(&path).unwrap()
    }

    #[test]
    fn ticks_are_found_by_time_and_stepped_through_without_running_off_the_ends() {
        let dir = tempfile::tempdir().unwrap();
        let conn = recording(dir.path());
        let ms = |second: i64| (1_800_000_000 + second) * 1000;
        let (first, last) = bounds(&conn).unwrap().unwrap();
        assert_eq!((first.1, last.1), (ms(0), ms(2)));
        assert_eq!(step(&conn, ms(0), 1).unwrap().map(|t| t.1), Some(ms(1)));
        assert_eq!(step(&conn, ms(0), 9).unwrap(), Some(last), "stops at the newest");
        assert_eq!(step(&conn, ms(1), -9).unwrap(), Some(first), "stops at the first");
        assert_eq!(tick_at_or_after(&conn, ms(1) - 1).unwrap().map(|t| t.1), Some(ms(1)));
        assert_eq!(tick_at_or_before(&conn, ms(1) + 1).unwrap().map(|t| t.1), Some(ms(1)));
        assert_eq!(tick_at_or_after(&conn, ms(3)).unwrap(), None);
        assert_eq!(schema_version(&conn).unwrap(), super::super::SCHEMA_VERSION);
        assert_eq!(meta(&conn, "hostname").unwrap().as_deref(), Some("h"));
    }

    #[test]
    fn a_tick_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let conn = recording(dir.path());
        let version = schema_version(&conn).unwrap();
        let tick = step(&conn, bounds(&conn).unwrap().unwrap().0 .1, 1).unwrap().unwrap().0;
        let rows = samples(&conn, version, tick).unwrap();
        assert_eq!(
            rows.iter().map(|r| (r.index, r.status)).collect::<Vec<_>>(),
            [(0, GpuStatus::Ok), (1, GpuStatus::Lost)]
        );
        assert_eq!((rows[0].utilization_gpu, rows[0].processes_listed), (Some(51), Some(true)));
        assert_eq!(rows[0].memory_used_kib, Some(1 << 18));
        assert_eq!(gpu(&conn, version, rows[0].gpu_id).unwrap().uuid.as_deref(), Some("GPU-0"));
        assert_eq!(gpu(&conn, version, 999).unwrap(), RecordedGpu::default(), "no row: unknown");
        let processes = processes(&conn, version, tick).unwrap();
        let p = &processes[&rows[0].gpu_id][0];
        assert_eq!((p.pid, p.kind, p.start_ticks), (4242, Some(ProcessKind::Graphics), Some(77)));
        assert_eq!(p.name.as_deref(), Some("python3"));
        let sampled = gpus_sampled_at(&conn, [tick, tick, tick]).unwrap();
        assert_eq!(sampled.len(), 2);
    }

    #[test]
    fn older_schemas_read_what_they_kept() {
        let dir = tempfile::tempdir().unwrap();
        let conn = recording(dir.path());
        let tick = bounds(&conn).unwrap().unwrap().0 .0;
        // Version 1 did not say whether processes could be listed; before 4, no type.
        assert_eq!(samples(&conn, 1, tick).unwrap()[0].processes_listed, None);
        let processes = processes(&conn, 3, tick).unwrap();
        let p = processes.values().next().unwrap().first().unwrap();
        assert_eq!(p.kind, None);
        assert_eq!(
            p.missing[crate::sample::FieldKey::ProcessKind].reason,
            MissingReason::NotRecorded
        );
    }

    #[test]
    fn charted_values_are_in_display_units() {
        let dir = tempfile::tempdir().unwrap();
        let conn = recording(dir.path());
        let (first, last) = bounds(&conn).unwrap().unwrap();
        let mut seen = Vec::new();
        for_each_charted(&conn, first.1, last.1, |row| seen.push(row)).unwrap();
        let busy: Vec<_> = seen.iter().filter(|r| r.index == 0).collect();
        assert_eq!(busy.len(), 3);
        assert_eq!(busy[0].values[1..3], [Some(25.0), Some(250.0)], "memory %, watts");
        let mut none = 0;
        for_each_charted(&conn, last.1 + 1, last.1 + 9, |_| none += 1).unwrap();
        assert_eq!(none, 0);
    }
}
