//! The report's charts: each GPU's utilization and memory over the window, at the data's own
//! resolution: its raw samples where they are kept, its minutes' rollups where only those
//! are. The window is cut into at most `points` equal spans, and the samples are summed into
//! them as they are read (each span's mean utilization, peak memory), so a week of
//! one-second samples costs a few hundred points of memory, not millions.

use std::collections::{BTreeMap, HashSet};

use rusqlite::{params, Connection};
use serde::Serialize;

use super::rollup::{Minutes, MINUTE_MS};

/// A GPU over the window, in time order.
#[derive(Debug, Serialize)]
pub struct GpuSeries {
    pub index: u32,
    pub name: Option<String>,
    pub points: Vec<ChartPoint>,
    /// The usual time between neighbouring points (ms): a wider step is a gap in the data.
    pub step_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartPoint {
    /// ms since the epoch.
    pub at: i64,
    pub utilization: Option<f32>,
    pub memory_percent: Option<f32>,
}

/// One span's samples, summed.
#[derive(Default)]
struct Span {
    at_sum: i64,
    samples: i64,
    util_sum: f64,
    util_samples: u64,
    memory_max_kib: Option<i64>,
}

impl Span {
    fn add(&mut self, at: i64, util: Option<(f64, u64)>, memory_kib: Option<i64>) {
        self.at_sum += at;
        self.samples += 1;
        if let Some((sum, n)) = util {
            self.util_sum += sum;
            self.util_samples += n;
        }
        self.memory_max_kib = self.memory_max_kib.max(memory_kib);
    }
}

/// The window's GPUs over time, at most `points` points each.
pub fn series(
    conn: &Connection,
    minutes: &Minutes,
    from: i64,
    to: i64,
    points: usize,
) -> rusqlite::Result<Vec<GpuSeries>> {
    let width = ((to - from) / points.max(1) as i64).max(1);
    let span_of = |at: i64| (at - from).div_euclid(width);
    // By GPU id: its index, and its spans in time order.
    let mut gpus: BTreeMap<i64, (u32, BTreeMap<i64, Span>)> = BTreeMap::new();
    // The minutes that raw samples cover, by GPU: their rollups would count them twice.
    let mut raw_minutes: HashSet<(i64, i64)> = HashSet::new();
    let mut stmt = conn.prepare_cached(
        "SELECT t.taken_at, s.gpu_id, s.gpu_index, s.utilization_gpu, s.memory_used_kib
         FROM samples s JOIN ticks t ON t.id = s.tick
         WHERE t.taken_at BETWEEN ?1 AND ?2",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    while let Some(row) = rows.next()? {
        let (at, gpu, index): (i64, i64, u32) = (row.get(0)?, row.get(1)?, row.get(2)?);
        let (util, memory): (Option<i64>, Option<i64>) = (row.get(3)?, row.get(4)?);
        raw_minutes.insert((gpu, at.div_euclid(MINUTE_MS)));
        let (_, spans) = gpus.entry(gpu).or_insert_with(|| (index, BTreeMap::new()));
        spans.entry(span_of(at)).or_default().add(at, util.map(|u| (u as f64, 1)), memory);
    }
    // Where only rollups are left: a minute counts as one point, in its middle.
    for ((m, gpu), row) in &minutes.gpus {
        if raw_minutes.contains(&(*gpu, *m)) {
            continue;
        }
        let at = m * MINUTE_MS + MINUTE_MS / 2;
        let util =
            (row.util_samples > 0).then_some((row.util_sum as f64, u64::from(row.util_samples)));
        let (_, spans) = gpus.entry(*gpu).or_insert_with(|| (row.index, BTreeMap::new()));
        spans.entry(span_of(at)).or_default().add(at, util, row.memory_max_kib);
    }
    let mut named = conn.prepare_cached("SELECT name, memory_total_kib FROM gpus WHERE id = ?1")?;
    let mut out = Vec::new();
    for (gpu, (index, spans)) in gpus {
        let (name, memory_total): (Option<String>, Option<i64>) =
            named.query_row(params![gpu], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let points: Vec<ChartPoint> = spans
            .values()
            .map(|s| ChartPoint {
                at: s.at_sum / s.samples.max(1),
                utilization: (s.util_samples > 0)
                    .then(|| (s.util_sum / s.util_samples as f64) as f32),
                memory_percent: s
                    .memory_max_kib
                    .zip(memory_total.filter(|t| *t > 0))
                    .map(|(used, t)| used as f32 * 100.0 / t as f32),
            })
            .collect();
        out.push(GpuSeries { index, name, step_ms: usual_step(&points), points });
    }
    out.sort_by_key(|g| g.index);
    Ok(out)
}

/// The median time between neighbouring points (a minute with fewer than two points).
fn usual_step(points: &[ChartPoint]) -> i64 {
    let mut steps: Vec<i64> = points.windows(2).map(|w| w[1].at - w[0].at).collect();
    if steps.is_empty() {
        return MINUTE_MS;
    }
    steps.sort_unstable();
    steps[steps.len() / 2].max(1)
}
