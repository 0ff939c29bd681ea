//! Per-minute rollups: what a report needs of each GPU and each process on it, a row per
//! minute instead of a row per sample. The recorder writes a minute's rows once the minute is
//! over (and what it has of the current one when it stops); a report reads them for the minutes
//! they cover and sums the raw samples, through the same [`Minutes::add`], for the rest. A
//! week of 8 GPUs is 80 thousand rows instead of 4.8 million: `scripts/bench-report.sh` went
//! from 51 s to well under the 2 s budget. They are kept for `--keep` (90 days), the raw
//! samples for `--keep-raw` (7 days).

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

pub const MINUTE_MS: i64 = 60_000;

/// Utilization at which a sample counts as busy, and under which as idle.
pub const BUSY_PERCENT: u32 = 10;
pub const IDLE_PERCENT: u32 = 5;

/// One GPU over one minute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpuMinute {
    pub index: u32,
    pub samples: u32,
    pub util_samples: u32,
    pub util_sum: u64,
    pub busy_samples: u32,
    /// Samples per utilization value (0–100).
    pub histogram: BTreeMap<u8, u32>,
    pub memory_max_kib: Option<i64>,
    pub power_samples: u32,
    pub power_sum_mw: i64,
    pub energy_first_mj: Option<i64>,
    pub energy_last_mj: Option<i64>,
    pub throttled_samples: u32,
    pub lost_samples: u32,
}

/// One process on one GPU over one minute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessMinute {
    pub samples: u32,
    /// Samples in which the GPU was busy (10 % or more), and idle (under 5 %).
    pub busy_samples: u32,
    pub idle_samples: u32,
    pub memory_max_kib: Option<i64>,
    /// Its share of the GPU's energy (by SM use; evenly when none is known).
    pub energy_mj: Option<f64>,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// A GPU's row of one sample, as stored.
#[derive(Debug, Clone)]
pub struct TickGpu {
    pub gpu_id: i64,
    pub index: u32,
    pub status: i64,
    pub utilization: Option<u32>,
    pub memory_kib: Option<i64>,
    pub power_mw: Option<i64>,
    pub energy_mj: Option<i64>,
    pub throttle_mask: Option<i64>,
}

/// A process's row of one sample, as stored.
#[derive(Debug, Clone)]
pub struct TickProcess {
    pub gpu_id: i64,
    pub process_id: i64,
    pub memory_kib: Option<i64>,
    pub sm_percent: Option<u32>,
}

/// Minutes of GPUs and processes, keyed by (minute, GPU[, process]).
#[derive(Debug, Default)]
pub struct Minutes {
    pub gpus: BTreeMap<(i64, i64), GpuMinute>,
    pub processes: BTreeMap<(i64, i64, i64), ProcessMinute>,
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.max(b)
}

impl Minutes {
    /// Adds one sample taken at `at_ms`, standing for `interval_s` seconds.
    pub fn add(
        &mut self,
        at_ms: i64,
        interval_s: f64,
        gpus: &[TickGpu],
        processes: &[TickProcess],
    ) {
        let minute = at_ms.div_euclid(MINUTE_MS);
        for g in gpus {
            let m = self.gpus.entry((minute, g.gpu_id)).or_default();
            m.index = g.index;
            m.samples += 1;
            if let Some(u) = g.utilization {
                m.util_samples += 1;
                m.util_sum += u64::from(u);
                m.busy_samples += u32::from(u >= BUSY_PERCENT);
                *m.histogram.entry(u.min(100) as u8).or_default() += 1;
            }
            m.memory_max_kib = max_opt(m.memory_max_kib, g.memory_kib);
            if let Some(p) = g.power_mw {
                m.power_samples += 1;
                m.power_sum_mw += p;
            }
            if let Some(e) = g.energy_mj {
                m.energy_first_mj = m.energy_first_mj.or(Some(e));
                m.energy_last_mj = Some(e);
            }
            let trouble = crate::record::TROUBLE_MASK as i64;
            m.throttled_samples += u32::from(g.throttle_mask.is_some_and(|t| t & trouble != 0));
            m.lost_samples += u32::from(g.status == 1);
        }
        // Each GPU's processes' SM use together, once: a process's share of the GPU's energy
        // is its part of that, and even shares unless every process's SM use is known (an
        // unknown one read as 0 would give its energy to the others). `None`: one is unknown.
        let mut sm_totals: Vec<(i64, Option<u32>, u32)> = Vec::with_capacity(gpus.len());
        for p in processes {
            match sm_totals.iter_mut().find(|(gpu, _, _)| *gpu == p.gpu_id) {
                Some((_, sm, n)) => {
                    *sm = sm.zip(p.sm_percent).map(|(a, b)| a + b);
                    *n += 1;
                }
                None => sm_totals.push((p.gpu_id, p.sm_percent, 1)),
            }
        }
        for p in processes {
            let gpu = gpus.iter().find(|g| g.gpu_id == p.gpu_id);
            let utilization = gpu.and_then(|g| g.utilization);
            let (sm_total, count) = sm_totals
                .iter()
                .find(|(gpu, _, _)| *gpu == p.gpu_id)
                .map_or((None, 1), |(_, sm, n)| (*sm, *n));
            let share = match (sm_total, p.sm_percent) {
                (Some(total), Some(sm)) if total > 0 => f64::from(sm) / f64::from(total),
                _ => 1.0 / f64::from(count.max(1)),
            };
            let energy = gpu.and_then(|g| g.power_mw).map(|mw| mw as f64 * interval_s * share);
            let m = self.processes.entry((minute, p.gpu_id, p.process_id)).or_default();
            if m.samples == 0 {
                m.first_ms = at_ms;
            }
            m.samples += 1;
            m.last_ms = at_ms;
            m.busy_samples += u32::from(utilization.is_some_and(|u| u >= BUSY_PERCENT));
            m.idle_samples += u32::from(utilization.is_some_and(|u| u < IDLE_PERCENT));
            m.memory_max_kib = max_opt(m.memory_max_kib, p.memory_kib);
            if let Some(e) = energy {
                m.energy_mj = Some(m.energy_mj.unwrap_or(0.0) + e);
            }
        }
    }

    /// Writes the minutes before `minute` (all with `None`), merged into rows already there
    /// (a recorder stopped and started again within a minute). They are forgotten only by
    /// [`Minutes::forget_before`], once the transaction is committed.
    pub fn write_before(&self, tx: &Transaction, minute: Option<i64>) -> rusqlite::Result<()> {
        let done = |m: i64| minute.is_none_or(|current| m < current);
        for (&(m, gpu), row) in self.gpus.iter().filter(|((m, _), _)| done(*m)) {
            let mut row = row.clone();
            if let Some(stored) = load_gpu_minute(tx, m, gpu)? {
                row = merge_gpu(stored, row);
            }
            tx.prepare_cached(
                "INSERT OR REPLACE INTO minutes (minute, gpu_id, gpu_index, samples, util_samples,
                 util_sum, busy_samples, util_histogram, memory_max_kib, power_samples,
                 power_sum_mw, energy_first_mj, energy_last_mj, throttled_samples, lost_samples)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?
            .execute(params![
                m,
                gpu,
                row.index,
                row.samples,
                row.util_samples,
                row.util_sum as i64,
                row.busy_samples,
                encode(&row.histogram),
                row.memory_max_kib,
                row.power_samples,
                row.power_sum_mw,
                row.energy_first_mj,
                row.energy_last_mj,
                row.throttled_samples,
                row.lost_samples,
            ])?;
        }
        for (&(m, gpu, process), row) in self.processes.iter().filter(|((m, _, _), _)| done(*m)) {
            let mut row = row.clone();
            let stored = tx
                .prepare_cached(
                    "SELECT samples, busy_samples, idle_samples, memory_max_kib, energy_mj,
                            first_ms, last_ms
                     FROM process_minutes WHERE minute = ?1 AND gpu_id = ?2 AND process_id = ?3",
                )?
                .query_row(params![m, gpu, process], read_process_minute)
                .optional()?;
            if let Some(stored) = stored {
                row = merge_process(stored, row);
            }
            tx.prepare_cached(
                "INSERT OR REPLACE INTO process_minutes (minute, gpu_id, process_id, samples,
                 busy_samples, idle_samples, memory_max_kib, energy_mj, first_ms, last_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                m,
                gpu,
                process,
                row.samples,
                row.busy_samples,
                row.idle_samples,
                row.memory_max_kib,
                row.energy_mj.map(|e| e.round() as i64),
                row.first_ms,
                row.last_ms,
            ])?;
        }
        Ok(())
    }

    /// Forgets the minutes before `minute` (all with `None`): they are written.
    pub fn forget_before(&mut self, minute: Option<i64>) {
        let keep = |m: i64| minute.is_some_and(|current| m >= current);
        self.gpus.retain(|(m, _), _| keep(*m));
        self.processes.retain(|(m, _, _), _| keep(*m));
    }

    /// Reads the stored rows of the minutes `from..=to`.
    pub fn load(conn: &Connection, from: i64, to: i64) -> rusqlite::Result<Self> {
        let mut minutes = Self::default();
        let mut stmt = conn.prepare_cached(
            "SELECT minute, gpu_id, gpu_index, samples, util_samples, util_sum, busy_samples,
                    util_histogram, memory_max_kib, power_samples, power_sum_mw,
                    energy_first_mj, energy_last_mj, throttled_samples, lost_samples
             FROM minutes WHERE minute BETWEEN ?1 AND ?2",
        )?;
        let mut rows = stmt.query(params![from, to])?;
        while let Some(r) = rows.next()? {
            minutes.gpus.insert((r.get(0)?, r.get(1)?), read_gpu_minute(r, 2)?);
        }
        let mut stmt = conn.prepare_cached(
            "SELECT minute, gpu_id, process_id, samples, busy_samples, idle_samples,
                    memory_max_kib, energy_mj, first_ms, last_ms
             FROM process_minutes WHERE minute BETWEEN ?1 AND ?2",
        )?;
        let mut rows = stmt.query(params![from, to])?;
        while let Some(r) = rows.next()? {
            let row = ProcessMinute {
                samples: r.get(3)?,
                busy_samples: r.get(4)?,
                idle_samples: r.get(5)?,
                memory_max_kib: r.get(6)?,
                energy_mj: r.get::<_, Option<i64>>(7)?.map(|e| e as f64),
                first_ms: r.get(8)?,
                last_ms: r.get(9)?,
            };
            minutes.processes.insert((r.get(0)?, r.get(1)?, r.get(2)?), row);
        }
        Ok(minutes)
    }

    /// Sums the raw samples taken in `from..=to` (ms) into minutes.
    pub fn add_raw(
        &mut self,
        conn: &Connection,
        from: i64,
        to: i64,
        interval_s: f64,
    ) -> rusqlite::Result<()> {
        // The ticks' range first, by their time index; then the rows by their tick, which
        // their primary keys order (a join on the time range alone had SQLite scan every row).
        let Some((first, last)) = tick_range(conn, from, to)? else { return Ok(()) };
        let mut samples = conn.prepare_cached(
            "SELECT s.tick, t.taken_at, s.gpu_id, s.gpu_index, s.status, s.utilization_gpu,
                    s.memory_used_kib, s.power_milliwatts, s.energy_millijoules, s.throttle_mask
             FROM samples s JOIN ticks t ON t.id = s.tick
             WHERE s.tick BETWEEN ?1 AND ?2 ORDER BY s.tick",
        )?;
        let mut processes = conn.prepare_cached(
            "SELECT tick, gpu_id, process_id, gpu_memory_kib, sm_percent
             FROM process_samples WHERE tick BETWEEN ?1 AND ?2 ORDER BY tick",
        )?;
        let (from, to) = (first, last);
        let mut gpu_rows = samples.query(params![from, to])?;
        let mut process_rows = processes.query(params![from, to])?;
        let mut next_process: Option<(i64, TickProcess)> = read_tick_process(process_rows.next()?)?;
        let mut tick: Option<(i64, i64)> = None;
        let (mut gpus, mut procs) = (Vec::new(), Vec::new());
        loop {
            let row = gpu_rows.next()?;
            let id = row.map(|r| r.get::<_, i64>(0)).transpose()?;
            if let Some((current, at)) = tick.filter(|(t, _)| Some(*t) != id) {
                // The tick is complete: its processes, then the sums.
                while let Some((t, p)) = next_process.take() {
                    if t > current {
                        next_process = Some((t, p));
                        break;
                    }
                    if t == current {
                        procs.push(p);
                    }
                    next_process = read_tick_process(process_rows.next()?)?;
                }
                self.add(at, interval_s, &gpus, &procs);
                gpus.clear();
                procs.clear();
            }
            let Some(r) = row else { break };
            tick = Some((r.get(0)?, r.get(1)?));
            gpus.push(TickGpu {
                gpu_id: r.get(2)?,
                index: r.get(3)?,
                status: r.get(4)?,
                utilization: r.get(5)?,
                memory_kib: r.get(6)?,
                power_mw: r.get(7)?,
                energy_mj: r.get(8)?,
                throttle_mask: r.get(9)?,
            });
        }
        Ok(())
    }
}

/// The first and last tick taken in `from..=to` (ms), by the time index.
pub fn tick_range(conn: &Connection, from: i64, to: i64) -> rusqlite::Result<Option<(i64, i64)>> {
    let first: Option<i64> = conn
        .prepare_cached("SELECT id FROM ticks WHERE taken_at >= ?1 ORDER BY taken_at, id LIMIT 1")?
        .query_row(params![from], |r| r.get(0))
        .optional()?;
    let last: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM ticks WHERE taken_at <= ?1 ORDER BY taken_at DESC, id DESC LIMIT 1",
        )?
        .query_row(params![to], |r| r.get(0))
        .optional()?;
    Ok(first.zip(last).filter(|(a, b)| a <= b))
}

fn read_tick_process(row: Option<&rusqlite::Row>) -> rusqlite::Result<Option<(i64, TickProcess)>> {
    let Some(r) = row else { return Ok(None) };
    Ok(Some((
        r.get(0)?,
        TickProcess {
            gpu_id: r.get(1)?,
            process_id: r.get(2)?,
            memory_kib: r.get(3)?,
            sm_percent: r.get(4)?,
        },
    )))
}

fn read_process_minute(r: &rusqlite::Row) -> rusqlite::Result<ProcessMinute> {
    Ok(ProcessMinute {
        samples: r.get(0)?,
        busy_samples: r.get(1)?,
        idle_samples: r.get(2)?,
        memory_max_kib: r.get(3)?,
        energy_mj: r.get::<_, Option<i64>>(4)?.map(|e| e as f64),
        first_ms: r.get(5)?,
        last_ms: r.get(6)?,
    })
}

/// A `minutes` row from column `at` on (gpu_index first).
fn read_gpu_minute(r: &rusqlite::Row, at: usize) -> rusqlite::Result<GpuMinute> {
    Ok(GpuMinute {
        index: r.get(at)?,
        samples: r.get(at + 1)?,
        util_samples: r.get(at + 2)?,
        util_sum: r.get::<_, i64>(at + 3)? as u64,
        busy_samples: r.get(at + 4)?,
        histogram: decode(&r.get::<_, Option<Vec<u8>>>(at + 5)?.unwrap_or_default()),
        memory_max_kib: r.get(at + 6)?,
        power_samples: r.get(at + 7)?,
        power_sum_mw: r.get(at + 8)?,
        energy_first_mj: r.get(at + 9)?,
        energy_last_mj: r.get(at + 10)?,
        throttled_samples: r.get(at + 11)?,
        lost_samples: r.get(at + 12)?,
    })
}

fn load_gpu_minute(tx: &Transaction, minute: i64, gpu: i64) -> rusqlite::Result<Option<GpuMinute>> {
    tx.prepare_cached(
        "SELECT gpu_index, samples, util_samples, util_sum, busy_samples, util_histogram,
                memory_max_kib, power_samples, power_sum_mw, energy_first_mj, energy_last_mj,
                throttled_samples, lost_samples
         FROM minutes WHERE minute = ?1 AND gpu_id = ?2",
    )?
    .query_row(params![minute, gpu], |r| read_gpu_minute(r, 0))
    .optional()
}

/// `earlier` then `later` of the same GPU and minute.
pub fn merge_gpu(earlier: GpuMinute, later: GpuMinute) -> GpuMinute {
    let mut histogram = earlier.histogram;
    for (v, n) in later.histogram {
        *histogram.entry(v).or_default() += n;
    }
    GpuMinute {
        index: later.index,
        samples: earlier.samples + later.samples,
        util_samples: earlier.util_samples + later.util_samples,
        util_sum: earlier.util_sum + later.util_sum,
        busy_samples: earlier.busy_samples + later.busy_samples,
        histogram,
        memory_max_kib: max_opt(earlier.memory_max_kib, later.memory_max_kib),
        power_samples: earlier.power_samples + later.power_samples,
        power_sum_mw: earlier.power_sum_mw + later.power_sum_mw,
        energy_first_mj: earlier.energy_first_mj.or(later.energy_first_mj),
        energy_last_mj: later.energy_last_mj.or(earlier.energy_last_mj),
        throttled_samples: earlier.throttled_samples + later.throttled_samples,
        lost_samples: earlier.lost_samples + later.lost_samples,
    }
}

/// `earlier` then `later` of the same process, GPU and minute.
fn merge_process(earlier: ProcessMinute, later: ProcessMinute) -> ProcessMinute {
    ProcessMinute {
        samples: earlier.samples + later.samples,
        busy_samples: earlier.busy_samples + later.busy_samples,
        idle_samples: earlier.idle_samples + later.idle_samples,
        memory_max_kib: max_opt(earlier.memory_max_kib, later.memory_max_kib),
        energy_mj: match (earlier.energy_mj, later.energy_mj) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        },
        first_ms: earlier.first_ms.min(later.first_ms),
        last_ms: earlier.last_ms.max(later.last_ms),
    }
}

/// The histogram as (value, count as u16 LE) triples: a steady GPU has few values a minute.
fn encode(histogram: &BTreeMap<u8, u32>) -> Vec<u8> {
    let mut out = Vec::with_capacity(histogram.len() * 3);
    for (&v, &n) in histogram {
        let n = n.min(u32::from(u16::MAX)) as u16;
        out.push(v);
        out.extend_from_slice(&n.to_le_bytes());
    }
    out
}

fn decode(bytes: &[u8]) -> BTreeMap<u8, u32> {
    bytes.chunks_exact(3).map(|c| (c[0], u32::from(u16::from_le_bytes([c[1], c[2]])))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_round_trip() {
        let h = BTreeMap::from([(0, 3), (87, 57), (100, 1)]);
        assert_eq!(decode(&encode(&h)), h);
    }

    #[test]
    fn energy_is_split_by_sm_share_and_evenly_without_it() {
        let gpu = |id| TickGpu {
            gpu_id: id,
            index: id as u32,
            status: 0,
            utilization: Some(2),
            memory_kib: Some(1),
            power_mw: Some(100_000),
            energy_mj: None,
            throttle_mask: None,
        };
        let p = |gpu_id, process_id, sm| TickProcess {
            gpu_id,
            process_id,
            memory_kib: Some(1),
            sm_percent: sm,
        };
        let mut m = Minutes::default();
        m.add(
            0,
            1.0,
            &[gpu(1), gpu(2)],
            &[p(1, 10, Some(75)), p(1, 11, Some(25)), p(2, 12, None), p(2, 13, None)],
        );
        let energy = |gpu, process| m.processes[&(0, gpu, process)].energy_mj.unwrap();
        assert_eq!((energy(1, 10), energy(1, 11)), (75_000.0, 25_000.0));
        assert_eq!((energy(2, 12), energy(2, 13)), (50_000.0, 50_000.0));
        assert_eq!(m.processes[&(0, 1, 10)].idle_samples, 1, "the GPU sat under 5 %");
    }
}
