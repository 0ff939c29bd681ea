//! The charts' window from before the monitor started, read with one range query: utilization,
//! memory, power and temperature of a small fleet; utilization alone (what its rows chart) of
//! a large one, at a coarser step, each point repeated to fill the refresh intervals it spans.

use std::collections::HashMap;
use std::time::Duration;

use crate::metric_names::{dcgm, gputop, Metric};
use crate::sample::PastGpu;

use super::client::{Client, Labels};

/// More GPUs than this: utilization only, at most [`MAX_POINTS`] per series.
const SMALL_FLEET: usize = 64;
const MAX_POINTS: f64 = 120.0;

const METRICS: usize = 8;

/// What a series charts.
#[derive(Clone, Copy)]
enum Charted {
    Utilization,
    Temperature,
    Power,
    MemoryUsed,
    MemoryTotal,
    FbUsed,
    FbFree,
    FbReserved,
}

/// The series read, gputop's and dcgm-exporter's; a large fleet's are the first two.
const READ: [(&Metric, Charted); 11] = [
    (&gputop::UTILIZATION, Charted::Utilization),
    (&dcgm::GPU_UTIL, Charted::Utilization),
    (&gputop::TEMPERATURE, Charted::Temperature),
    (&dcgm::GPU_TEMP, Charted::Temperature),
    (&gputop::POWER, Charted::Power),
    (&dcgm::POWER_USAGE, Charted::Power),
    (&gputop::MEMORY_USED, Charted::MemoryUsed),
    (&gputop::MEMORY_TOTAL, Charted::MemoryTotal),
    (&dcgm::FB_USED, Charted::FbUsed),
    (&dcgm::FB_FREE, Charted::FbFree),
    (&dcgm::FB_RESERVED, Charted::FbReserved),
];
const LARGE_FLEET_READS: usize = 2;

/// Per GPU, each metric's points.
#[derive(Default)]
struct Points {
    past: PastGpu,
    /// By [`Charted`].
    series: [Option<Vec<Option<f64>>>; METRICS],
}

/// What the fleet did over `window` before now, one value per `interval` for the history.
pub fn read(
    client: &Client,
    matchers: &str,
    gpus: usize,
    window: Duration,
    interval: Duration,
) -> Vec<PastGpu> {
    let interval = interval.as_secs_f64().max(0.001);
    let small = gpus <= SMALL_FLEET;
    let read = if small { &READ[..] } else { &READ[..LARGE_FLEET_READS] };
    let names: Vec<&str> = read.iter().map(|(m, _)| m.name).collect();
    let names = names.join("|");
    let matchers = if matchers.is_empty() { String::new() } else { format!(",{matchers}") };
    let query = format!("{{__name__=~\"{names}\"{matchers}}}");
    // Whole refresh intervals per point, so each point fills the history slots it spans.
    let points = window.as_secs_f64() / interval;
    let repeat = if small { 1.0 } else { (points / MAX_POINTS).ceil().max(1.0) };
    let step = interval * repeat;
    let end = chrono::Utc::now().timestamp_millis() as f64 / 1000.0 - interval;
    let count = (window.as_secs_f64() / step).floor().max(1.0) as usize;
    let start = end - step * (count - 1) as f64;
    let mut by_gpu: HashMap<String, Points> = HashMap::new();
    let read = client.query_range(&query, (start, end, step), |s| {
        let name = s.metric.get("__name__").unwrap_or("");
        let Some((metric, charted)) = read.iter().find(|(m, _)| m.is_sample(name)) else {
            return;
        };
        let Some(p) = gpu(&mut by_gpu, &s.metric) else { return };
        let slot = p.series[*charted as usize].get_or_insert_with(|| vec![None; count]);
        for (t, v) in s.values {
            let i = ((t - start) / step).round();
            if (0.0..count as f64).contains(&i) && v.is_finite() {
                // In the history's unit: gputop's utilization is a ratio.
                slot[i as usize] = Some(metric.unit.to_model(v));
            }
        }
    });
    if read.is_err() {
        return Vec::new(); // the charts start empty, as they would anyway
    }
    by_gpu.into_values().map(|p| finish(p, count, repeat as usize)).collect()
}

fn gpu<'m>(by_gpu: &'m mut HashMap<String, Points>, labels: &Labels) -> Option<&'m mut Points> {
    if labels.get(dcgm::GPU_I_ID).is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let index: u32 = labels.get(gputop::GPU)?.parse().ok()?;
    let host = super::fleet::host_name(labels).to_string();
    let uuid =
        labels.get(gputop::UUID).or_else(|| labels.get(dcgm::UUID)).filter(|u| !u.is_empty());
    let key = format!("{host}/{index}/{}", uuid.unwrap_or(""));
    let p = by_gpu.entry(key).or_default();
    p.past.host = Some(host);
    p.past.index = index;
    p.past.uuid = uuid.map(str::to_string);
    Some(p)
}

fn finish(mut p: Points, count: usize, repeat: usize) -> PastGpu {
    let mut take = |m: Charted| p.series[m as usize].take();
    let utilization = take(Charted::Utilization);
    let temperature = take(Charted::Temperature);
    let power = take(Charted::Power);
    let used = take(Charted::MemoryUsed);
    let total = take(Charted::MemoryTotal);
    let (fb_used, fb_free, fb_reserved) =
        (take(Charted::FbUsed), take(Charted::FbFree), take(Charted::FbReserved));
    let memory: Option<Vec<Option<f64>>> = match (used, total, fb_used, fb_free) {
        (Some(u), Some(t), _, _) => Some(
            u.iter()
                .zip(&t)
                .map(|(u, t)| Some(u.as_ref()? * 100.0 / t.filter(|t| *t > 0.0)?))
                .collect(),
        ),
        (_, _, Some(u), Some(f)) => Some(
            (0..count)
                .map(|i| {
                    let (u, f) = (u[i]?, f[i]?);
                    // No FB_RESERVED series: used and free are the whole (as in fleet.rs).
                    let r = fb_reserved.as_ref().and_then(|r| r[i]).unwrap_or(0.0);
                    (u + f + r > 0.0).then(|| u * 100.0 / (u + f + r))
                })
                .collect(),
        ),
        _ => None,
    };
    let expand = |values: Option<Vec<Option<f64>>>, f: &dyn Fn(f64) -> f64| -> Vec<Option<f32>> {
        values.map_or_else(Vec::new, |v| {
            v.iter().flat_map(|x| std::iter::repeat_n(x.map(|x| f(x) as f32), repeat)).collect()
        })
    };
    let mut past = p.past;
    past.utilization = expand(utilization, &|v| v);
    if past.utilization.is_empty() {
        past.utilization = vec![None; count * repeat];
    }
    past.memory_percent = expand(memory, &|v| v);
    past.power_watts = expand(power, &|v| v);
    past.temperature = expand(temperature, &|v| v);
    past
}
