//! Bounded history per GPU metric, for sparklines: O(1) push, never more than the window.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::sample::{PastGpu, Snapshot};

/// A ring buffer that overwrites its oldest value once full. It grows as values arrive, so a
/// short-lived process or a fresh start does not hold a whole window of memory.
#[derive(Debug, Clone)]
pub struct Ring<T> {
    buf: Vec<T>,
    capacity: usize,
    /// Where the next value goes once the buffer is full.
    next: usize,
    /// Values pushed since creation, so charts can bucket samples by absolute position.
    pushed: u64,
}

impl<T: Copy> Ring<T> {
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { buf: Vec::new(), capacity, next: 0, pushed: 0 }
    }

    pub fn push(&mut self, value: T) {
        let len = self.buf.len();
        if len < self.capacity {
            if len == self.buf.capacity() {
                // Doubling, but never past the window (`Vec` alone would round 600 up to 1024).
                self.buf.reserve_exact((len * 2).max(8).min(self.capacity) - len);
            }
            self.buf.push(value);
        } else {
            self.buf[self.next] = value;
        }
        self.next = (self.next + 1) % self.capacity;
        self.pushed += 1;
    }

    /// Values pushed since creation (not only those still held).
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let (newer, older) = if self.buf.len() < self.capacity {
            (&self.buf[..], &[][..])
        } else {
            let (a, b) = self.buf.split_at(self.next);
            (a, b)
        };
        older.iter().chain(newer.iter()).copied()
    }

    pub fn latest(&self) -> Option<T> {
        if self.buf.is_empty() {
            None
        } else {
            Some(self.buf[(self.next + self.capacity - 1) % self.capacity])
        }
    }
}

/// A metric's history for charts: a value or a gap per sample in two bytes, fixed point with
/// `per_unit` steps to the unit (a percent to 0.01, watts to 0.1); a gap is `u16::MAX`, a value
/// past the top is kept as the top. Values are decoded by dividing, so `87.28` comes back as
/// the `f32` nearest 87.28. Two bytes and not an `f32`'s four: with an 8,000-GPU fleet from
/// Prometheus the monitor keeps 4 × 120 samples a GPU, 15 MB in `f32` (`scripts/bench-prometheus.sh`,
/// the monitor after its window filled).
#[derive(Debug, Clone)]
pub struct Series {
    ring: Ring<u16>,
    per_unit: f32,
}

const GAP: u16 = u16::MAX;

impl Series {
    /// Room for `capacity` samples of values from 0 to 65,534 / `per_unit`.
    pub fn new(capacity: usize, per_unit: f32) -> Self {
        Self { ring: Ring::new(capacity), per_unit }
    }

    /// Percentages (0–100) to a hundredth.
    pub fn percent(capacity: usize) -> Self {
        Self::new(capacity, 100.0)
    }

    pub fn push(&mut self, value: Option<f32>) {
        let top = f32::from(GAP - 1);
        let encoded = value
            .filter(|v| !v.is_nan())
            .map_or(GAP, |v| (v * self.per_unit).round().clamp(0.0, top) as u16);
        self.ring.push(encoded);
    }

    fn decode(&self, v: u16) -> Option<f32> {
        (v != GAP).then(|| f32::from(v) / self.per_unit)
    }

    /// Oldest first; `None` for a gap.
    pub fn iter(&self) -> impl Iterator<Item = Option<f32>> + '_ {
        self.ring.iter().map(|v| self.decode(v))
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    pub fn latest(&self) -> Option<f32> {
        self.ring.latest().and_then(|v| self.decode(v))
    }

    /// At most `width` chart columns: each the mean of `ceil(len / width)` consecutive samples,
    /// buckets aligned on the absolute sample count, so that as samples arrive only the newest
    /// column changes and the chart shifts once per bucket, not on every sample (which would
    /// redraw every column and cost bytes over SSH). A bucket with no value is a gap.
    pub fn columns(&self, width: usize) -> Vec<Option<f32>> {
        let n = self.len();
        if n == 0 || width == 0 {
            return Vec::new();
        }
        let per = n.div_ceil(width) as u64;
        let first = self.ring.pushed() - n as u64;
        let mut out: Vec<Option<f32>> = Vec::with_capacity(width + 1);
        let (mut bucket, mut sum, mut count) = (first / per, 0.0f32, 0u32);
        for (i, v) in self.iter().enumerate() {
            let b = (first + i as u64) / per;
            if b != bucket {
                out.push((count > 0).then(|| sum / count as f32));
                (bucket, sum, count) = (b, 0.0, 0);
            }
            if let Some(v) = v {
                sum += v;
                count += 1;
            }
        }
        out.push((count > 0).then(|| sum / count as f32));
        let skip = out.len().saturating_sub(width);
        out.split_off(skip)
    }
}

/// Power to a tenth of a watt (up to 6,553 W) and temperature to a hundredth of a degree.
const WATTS_PER_UNIT: f32 = 10.0;
const DEGREES_PER_UNIT: f32 = 100.0;

/// The history of one GPU; a gap (`None`) is kept as a gap, not as 0.
#[derive(Debug, Clone)]
pub struct GpuHistory {
    pub utilization: Series,
    pub memory_percent: Series,
    pub power_watts: Series,
    pub temperature: Series,
    /// When a snapshot last had this GPU: a GPU unseen for longer than the window is
    /// forgotten.
    last_seen: Option<DateTime<Utc>>,
}

impl GpuHistory {
    fn new(capacity: usize) -> Self {
        Self {
            utilization: Series::percent(capacity),
            memory_percent: Series::percent(capacity),
            power_watts: Series::new(capacity, WATTS_PER_UNIT),
            temperature: Series::new(capacity, DEGREES_PER_UNIT),
            last_seen: None,
        }
    }
}

/// History of every GPU, keyed by its host (with many) and UUID when known (indices can change
/// across driver reloads), else its index.
#[derive(Debug, Clone)]
pub struct History {
    capacity: usize,
    /// How far back the charts reach: the history of a GPU no snapshot has had for longer
    /// (a host gone from the fleet, a GPU replaced) would show nothing and is dropped, so the
    /// map stays as large as the GPUs seen within the window under any churn.
    window: chrono::TimeDelta,
    /// Boxed: a map's table has up to twice the slots of its entries, and a GPU's four series
    /// are 224 bytes (8,000 GPUs: 4.1 MB of table unboxed, 2.4 MB boxed, `heaptrack`).
    gpus: HashMap<String, Box<GpuHistory>>,
}

impl History {
    /// Enough samples to cover `window` at `interval`.
    pub fn new(window: Duration, interval: Duration) -> Self {
        let samples = window.as_secs_f64() / interval.as_secs_f64().max(0.001);
        Self {
            capacity: (samples.ceil() as usize).clamp(2, 100_000),
            window: chrono::TimeDelta::from_std(window).unwrap_or(chrono::TimeDelta::MAX),
            gpus: HashMap::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forgets every GPU's history (a replay jumped elsewhere).
    pub fn clear(&mut self) {
        self.gpus.clear();
    }

    pub fn record(&mut self, snapshot: &Snapshot) {
        for g in &snapshot.gpus {
            let capacity = self.capacity;
            let h = self
                .gpus
                .entry(key(g.host.as_deref(), g.index, g.uuid.as_deref()))
                .or_insert_with(|| Box::new(GpuHistory::new(capacity)));
            h.utilization.push(g.utilization.gpu_percent.map(|v| v as f32));
            h.memory_percent.push(g.memory_percent().map(|v| v as f32));
            h.power_watts.push(g.power.draw_watts.map(|v| v as f32));
            h.temperature.push(g.temperature.gpu_celsius.map(|v| v as f32));
            h.last_seen = Some(snapshot.taken_at);
        }
        self.forget_unseen(snapshot.taken_at);
    }

    /// Drops the GPUs no snapshot has had for longer than the window (by the snapshots' own
    /// times, so a replay's clock counts and not the wall's). A GPU only backfilled, never
    /// seen, waits for its first snapshot.
    fn forget_unseen(&mut self, now: DateTime<Utc>) {
        let window = self.window;
        self.gpus.retain(|_, h| {
            h.last_seen.is_none_or(|seen| now.signed_duration_since(seen) <= window)
        });
    }

    pub fn gpu(&self, host: Option<&str>, index: u32, uuid: Option<&str>) -> Option<&GpuHistory> {
        self.gpus.get(&key(host, index, uuid)).map(|h| &**h)
    }

    /// Puts what happened before the first sample in front of the samples taken since.
    pub fn backfill(&mut self, past: &[PastGpu]) {
        let capacity = self.capacity;
        for p in past {
            // Before its first value the GPU was not known (Prometheus had not scraped it yet):
            // the chart starts there, as a live one would.
            let known = p.utilization.iter().position(Option::is_some);
            let Some(first) = known else { continue };
            let k = key(p.host.as_deref(), p.index, p.uuid.as_deref());
            let h = self.gpus.entry(k).or_insert_with(|| Box::new(GpuHistory::new(capacity)));
            for (series, values) in [
                (&mut h.utilization, &p.utilization),
                (&mut h.memory_percent, &p.memory_percent),
                (&mut h.power_watts, &p.power_watts),
                (&mut h.temperature, &p.temperature),
            ] {
                // A series the source gave nothing of (a large fleet's memory, power and
                // temperature) keeps only its samples: a window of gaps for thousands of GPUs
                // would be memory spent on nothing.
                if values.is_empty() {
                    continue;
                }
                let mut merged = Series::new(capacity, series.per_unit);
                for v in values.iter().copied().skip(first).chain(series.iter()) {
                    merged.push(v);
                }
                *series = merged;
            }
        }
    }
}

fn key(host: Option<&str>, index: u32, uuid: Option<&str>) -> String {
    let gpu = uuid.map_or_else(|| format!("#{index}"), str::to_string);
    match host {
        Some(host) => format!("{host}/{gpu}"),
        None => gpu,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_past_goes_before_the_samples_taken_since() {
        let mut h = History::new(Duration::from_secs(4), Duration::from_secs(1));
        let mut snap = crate::source::SimSource::new(crate::scenario::Scenario::demo(1), &[])
            .unwrap()
            .sample_at(0.0);
        snap.gpus[0].host = Some("node1".into());
        snap.gpus[0].utilization.gpu_percent = Some(50);
        h.record(&snap);
        let g = &snap.gpus[0];
        let past = PastGpu {
            host: g.host.clone(),
            index: g.index,
            uuid: g.uuid.clone(),
            utilization: vec![None, Some(1.0), None, Some(3.0), Some(4.0)],
            temperature: vec![Some(40.0); 5],
            ..PastGpu::default()
        };
        h.backfill(&[past]);
        let got = h.gpu(Some("node1"), g.index, g.uuid.as_deref()).unwrap();
        // The window holds four: the oldest past value gave way to the sample.
        assert_eq!(
            got.utilization.iter().collect::<Vec<_>>(),
            [None, Some(3.0), Some(4.0), Some(50.0)]
        );
        // A series the source gave nothing of keeps its samples alone, never zeros.
        assert_eq!(got.power_watts.len(), 1);
        assert_eq!(got.temperature.len(), 4);
        // Another host's GPU with the same UUID has a history of its own.
        assert!(h.gpu(Some("node2"), g.index, g.uuid.as_deref()).is_none());
    }

    /// Ten simulated minutes of a fleet whose hosts come and go: every 10 s one host leaves
    /// and a new one (with new GPU UUIDs) joins, sampled each second. The history holds only
    /// the GPUs seen within the 60 s window, never every GPU ever seen.
    #[test]
    fn gpus_unseen_for_longer_than_the_window_are_forgotten() {
        let window = Duration::from_secs(60);
        let mut h = History::new(window, Duration::from_secs(1));
        let template = crate::source::SimSource::new(crate::scenario::Scenario::demo(1), &[])
            .unwrap()
            .sample_at(0.0);
        let start = template.taken_at;
        const HOSTS_UP: usize = 5;
        const GPUS_PER_HOST: u32 = 4;
        let mut largest = 0;
        for second in 0..600i64 {
            let first_host = second as usize / 10;
            let mut snap = template.clone();
            snap.taken_at = start + chrono::TimeDelta::seconds(second);
            snap.gpus = (first_host..first_host + HOSTS_UP)
                .flat_map(|host| {
                    let g = &template.gpus[0];
                    (0..GPUS_PER_HOST).map(move |index| {
                        let mut g = g.clone();
                        g.host = Some(format!("node{host}"));
                        g.index = index;
                        g.uuid = Some(format!("GPU-{host}-{index}"));
                        g
                    })
                })
                .collect();
            h.record(&snap);
            largest = largest.max(h.gpus.len());
        }
        // 60 hosts were seen over the ten minutes, 240 GPUs: the map never held more than the
        // hosts of one window (the 5 up and the 6 that left in the last 60 s).
        let per_window = (HOSTS_UP + 6) * GPUS_PER_HOST as usize;
        assert!(largest <= per_window, "{largest} GPUs kept, at most {per_window} expected");
        assert!(h.gpu(Some("node0"), 0, Some("GPU-0-0")).is_none(), "node0 left 9 minutes ago");
        assert!(h.gpu(Some("node59"), 0, Some("GPU-59-0")).is_some(), "node59 is up");
        // One that left 30 s ago still has its chart.
        assert!(h.gpu(Some("node56"), 0, Some("GPU-56-0")).is_some());
    }

    #[test]
    fn ring_keeps_the_newest_values_in_order() {
        let mut r = Ring::new(3);
        assert!(r.is_empty());
        assert_eq!(r.latest(), None);
        for v in 1..=5 {
            r.push(v);
        }
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(r.latest(), Some(5));
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn ring_partially_filled() {
        let mut r = Ring::new(4);
        r.push(1);
        r.push(2);
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(r.latest(), Some(2));
    }

    #[test]
    fn a_series_keeps_gaps_and_values_to_its_resolution_in_two_bytes_a_sample() {
        let mut s = Series::new(600, 10.0);
        for v in [Some(1.0), None, Some(f32::NAN), Some(312.46), Some(-3.0), Some(1e9)] {
            s.push(v);
        }
        let got: Vec<Option<f32>> = s.iter().collect();
        assert_eq!(got[..3], [Some(1.0), None, None]);
        assert!((got[3].unwrap() - 312.5).abs() < 1e-3, "{got:?}");
        // Below zero is zero; past the top is the top, never a gap.
        assert_eq!(got[4], Some(0.0));
        assert!((got[5].unwrap() - 6553.4).abs() < 1e-2, "{got:?}");
        assert_eq!(std::mem::size_of_val(&s.ring.buf[0]), 2);
        // Memory follows the samples held, not the window.
        assert!(s.ring.buf.capacity() < 600, "{}", s.ring.buf.capacity());
        // Every hundredth of a percent comes back as the f32 nearest it (87.28, not 87.27999).
        let mut percent = Series::percent(4);
        for hundredths in 0..=10_000u16 {
            let v = f32::from(hundredths) / 100.0;
            percent.push(Some(v));
            assert_eq!(percent.latest(), Some(v));
        }
    }

    #[test]
    fn ring_never_grows_past_capacity() {
        let mut r = Ring::new(100);
        for v in 0..10_000 {
            r.push(v);
        }
        assert_eq!(r.len(), 100);
        assert_eq!(r.buf.capacity(), 100);
        assert_eq!(r.iter().next(), Some(9_900));
    }

    #[test]
    fn chart_columns_bucket_samples_and_only_the_newest_moves() {
        let mut r = Series::new(100, 1.0);
        for v in 0..4 {
            r.push(Some(v as f32));
        }
        assert_eq!(
            r.columns(10),
            vec![Some(0.0), Some(1.0), Some(2.0), Some(3.0)],
            "one column per sample while they fit"
        );
        for v in 4..100 {
            r.push(if v == 50 || v == 51 { None } else { Some(v as f32) });
        }
        let cols = r.columns(10);
        assert_eq!(cols.len(), 10);
        assert_eq!(cols[0], Some(4.5));
        // Ten samples later the chart has shifted by exactly one bucket.
        let before = r.columns(10);
        for v in 100..110 {
            r.push(Some(v as f32));
        }
        assert_eq!(&r.columns(10)[..9], &before[1..]);
        // A bucket whose samples are all missing is a gap, not zero.
        let mut gaps = Series::new(4, 1.0);
        gaps.push(None);
        assert_eq!(gaps.columns(4), vec![None]);
    }

    #[test]
    fn history_capacity_covers_the_window() {
        let h = History::new(Duration::from_secs(600), Duration::from_secs(1));
        assert_eq!(h.capacity(), 600);
        let h = History::new(Duration::from_secs(600), Duration::from_millis(250));
        assert_eq!(h.capacity(), 2400);
    }

    #[test]
    fn history_records_gaps_as_none() {
        use crate::source::SimSource;
        let sim = SimSource::new(crate::scenario::Scenario::demo(3), &[]).unwrap();
        let mut h = History::new(Duration::from_secs(10), Duration::from_secs(1));
        // Every third sample NVML gives no utilization (a timeout, a lost reading).
        for t in 0..15 {
            let mut snap = sim.sample_at(1_000.0 + f64::from(t));
            if t % 3 == 0 {
                snap.gpus[0].utilization.gpu_percent = None;
            }
            h.record(&snap);
        }
        let g = &sim.sample_at(0.0).gpus[0];
        let gh = h.gpu(g.host.as_deref(), g.index, g.uuid.as_deref()).unwrap();
        assert_eq!(gh.utilization.len(), 10);
        // The window holds samples 5..15: gaps at 6, 9 and 12 stay gaps, never 0.
        let gaps: Vec<bool> = gh.utilization.iter().map(|v| v.is_none()).collect();
        let expected: Vec<bool> = (5..15).map(|t| t % 3 == 0).collect();
        assert_eq!(gaps, expected);
        assert!(gh.power_watts.iter().all(|v| v.is_some()), "other series are untouched");
    }
}
