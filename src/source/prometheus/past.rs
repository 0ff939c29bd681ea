//! The charts' window from before the monitor started, read with one range query: utilization,
//! memory, power and temperature of a small fleet; utilization alone (what its rows chart) of
//! a large one, at a coarser step, each point repeated to fill the refresh intervals it spans.

use std::collections::HashMap;
use std::time::Duration;

use crate::sample::PastGpu;

use super::client::{Client, Labels};

/// More GPUs than this: utilization only, at most [`MAX_POINTS`] per series.
const SMALL_FLEET: usize = 64;
const MAX_POINTS: f64 = 120.0;

const METRICS: usize = 8;

#[derive(Clone, Copy)]
enum Metric {
    Utilization,
    Temperature,
    Power,
    MemoryUsed,
    MemoryTotal,
    FbUsed,
    FbFree,
    FbReserved,
}

fn metric(name: &str) -> Option<Metric> {
    Some(match name {
        "gputop_gpu_utilization_ratio" | "DCGM_FI_DEV_GPU_UTIL" => Metric::Utilization,
        "gputop_gpu_temperature_celsius" | "DCGM_FI_DEV_GPU_TEMP" => Metric::Temperature,
        "gputop_gpu_power_watts" | "DCGM_FI_DEV_POWER_USAGE" => Metric::Power,
        "gputop_gpu_memory_used_bytes" => Metric::MemoryUsed,
        "gputop_gpu_memory_total_bytes" => Metric::MemoryTotal,
        "DCGM_FI_DEV_FB_USED" => Metric::FbUsed,
        "DCGM_FI_DEV_FB_FREE" => Metric::FbFree,
        "DCGM_FI_DEV_FB_RESERVED" => Metric::FbReserved,
        _ => return None,
    })
}

/// Per GPU, each metric's points.
#[derive(Default)]
struct Points {
    past: PastGpu,
    /// By [`Metric`].
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
    let names = if small {
        "gputop_gpu_utilization_ratio|DCGM_FI_DEV_GPU_UTIL|gputop_gpu_temperature_celsius|DCGM_FI_DEV_GPU_TEMP|gputop_gpu_power_watts|DCGM_FI_DEV_POWER_USAGE|gputop_gpu_memory_used_bytes|gputop_gpu_memory_total_bytes|DCGM_FI_DEV_FB_USED|DCGM_FI_DEV_FB_FREE|DCGM_FI_DEV_FB_RESERVED"
    } else {
        "gputop_gpu_utilization_ratio|DCGM_FI_DEV_GPU_UTIL"
    };
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
        let Some(m) = metric(name) else { return };
        // gputop's utilization is a ratio; every other value is in the history's unit.
        let scale = if name == "gputop_gpu_utilization_ratio" { 100.0 } else { 1.0 };
        let Some(p) = gpu(&mut by_gpu, &s.metric) else { return };
        let slot = p.series[m as usize].get_or_insert_with(|| vec![None; count]);
        for (t, v) in s.values {
            let i = ((t - start) / step).round();
            if (0.0..count as f64).contains(&i) && v.is_finite() {
                slot[i as usize] = Some(v * scale);
            }
        }
    });
    if read.is_err() {
        return Vec::new(); // the charts start empty, as they would anyway
    }
    by_gpu.into_values().map(|p| finish(p, count, repeat as usize)).collect()
}

fn gpu<'m>(by_gpu: &'m mut HashMap<String, Points>, labels: &Labels) -> Option<&'m mut Points> {
    if labels.get("GPU_I_ID").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let index: u32 = labels.get("gpu")?.parse().ok()?;
    let host = super::fleet::host_name(labels).to_string();
    let uuid = labels.get("uuid").or_else(|| labels.get("UUID")).filter(|u| !u.is_empty());
    let key = format!("{host}/{index}/{}", uuid.unwrap_or(""));
    let p = by_gpu.entry(key).or_default();
    p.past.host = Some(host);
    p.past.index = index;
    p.past.uuid = uuid.map(str::to_string);
    Some(p)
}

fn finish(mut p: Points, count: usize, repeat: usize) -> PastGpu {
    let mut take = |m: Metric| p.series[m as usize].take();
    let utilization = take(Metric::Utilization);
    let temperature = take(Metric::Temperature);
    let power = take(Metric::Power);
    let used = take(Metric::MemoryUsed);
    let total = take(Metric::MemoryTotal);
    let (fb_used, fb_free, fb_reserved) =
        (take(Metric::FbUsed), take(Metric::FbFree), take(Metric::FbReserved));
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
