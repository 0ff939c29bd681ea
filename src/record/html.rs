//! `gputop report --html OUT`: the report as one self-contained page (no scripts, no fonts
//! or styles from elsewhere) with plain SVG charts: utilization and memory per GPU over time,
//! GPU-hours per owner (busy stacked on held), and the idle-while-held spans on a timeline.
//! Every string from the recording is sanitized and HTML-escaped.

use std::fmt::Write;

use chrono::{DateTime, Local, Utc};

use super::chart::{ChartPoint, GpuSeries};
use super::summary::Report;
use crate::text::sanitize::sanitize;
use crate::text::units::{duration, energy, human_bytes};

const WIDTH: f64 = 900.0;
const PALETTE: [&str; 8] =
    ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// Text from the recording, safe in HTML text and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in sanitize(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn local(t: &DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
}

pub fn render(r: &Report) -> String {
    let series = &r.series;
    let mut page = String::with_capacity(64 * 1024);
    let title = format!("gputop report: {} to {}", local(&r.since), local(&r.until));
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{t}</title><style>\
         body{{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:960px}}\
         table{{border-collapse:collapse;margin:0.5em 0 1.5em}}\
         th,td{{padding:0.2em 0.7em;text-align:right;border-bottom:1px solid #ddd}}\
         th:nth-child(2),td:nth-child(2),.text{{text-align:left}}\
         svg text{{font-size:11px;fill:#444}} .legend span{{margin-right:1em}}\
         </style></head><body>\n<h1>{t}</h1>\n<p>{n} GPUs, samples every {i} s, {rec} recorded.</p>\n",
        t = esc(&title),
        n = r.gpus.len(),
        i = r.interval_seconds,
        rec = duration(r.recorded_seconds.round() as u64)
    );
    if !r.gaps.is_empty() {
        let list: Vec<String> = r
            .gaps
            .iter()
            .map(|g| format!("{} for {}", local(&g.from), duration(g.seconds.round() as u64)))
            .collect();
        let _ = writeln!(page, "<p>Not recorded (longest first): {}</p>", esc(&list.join(", ")));
    }
    if r.gpus.is_empty() {
        page.push_str("<p>No samples in this window.</p>\n</body></html>\n");
        return page;
    }
    legend(&mut page, series);
    page.push_str("<h2>Utilization</h2>\n");
    line_chart(&mut page, r, |p| p.utilization);
    page.push_str("<h2>Memory in use (peak)</h2>\n");
    line_chart(&mut page, r, |p| p.memory_percent);
    gpu_table(&mut page, r);
    owners(&mut page, r);
    idle_spans(&mut page, r);
    events(&mut page, r);
    page.push_str("</body></html>\n");
    page
}

fn legend(page: &mut String, series: &[GpuSeries]) {
    page.push_str("<p class=\"legend\">");
    for (i, g) in series.iter().enumerate() {
        let _ = write!(
            page,
            "<span><svg width=\"12\" height=\"12\"><rect width=\"12\" height=\"12\" fill=\"{}\"/></svg> GPU {} {}</span>",
            PALETTE[i % PALETTE.len()],
            g.index,
            esc(g.name.as_deref().unwrap_or(""))
        );
    }
    page.push_str("</p>\n");
}

/// A 0–100 % chart over the window, a line per GPU, broken where there is no value.
/// One chart of a percentage per GPU over the report's window: time runs left to right,
/// neighbouring points are joined, a point with no neighbour within a few usual steps (a gap
/// in the recording) starts a new line, and a point alone is drawn as a dot.
fn line_chart(page: &mut String, r: &Report, value: impl Fn(&ChartPoint) -> Option<f32>) {
    let (height, left, bottom) = (180.0, 40.0, 20.0);
    let plot = WIDTH - left - 10.0;
    let (from, to) = (r.since.timestamp_millis(), r.until.timestamp_millis());
    let x_of = |at: i64| left + plot * (at - from) as f64 / (to - from).max(1) as f64;
    let y_of = |p: f32| height - f64::from(p.clamp(0.0, 100.0)) / 100.0 * (height - 10.0);
    let _ = write!(page, "<svg width=\"{WIDTH}\" height=\"{}\" role=\"img\">", height + bottom);
    for pct in [0.0, 50.0, 100.0] {
        let y = height - pct / 100.0 * (height - 10.0);
        let _ = write!(
            page,
            "<line x1=\"{left}\" x2=\"{WIDTH}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"4\" y=\"{:.1}\">{pct}%</text>",
            y + 4.0
        );
    }
    // Seconds on the axis where the window is short enough for them to differ.
    let format = if to - from < 2 * 3_600_000 { "%Y-%m-%d %H:%M:%S" } else { "%Y-%m-%d %H:%M" };
    for (at, anchor) in [(from, "start"), (from + (to - from) / 2, "middle"), (to, "end")] {
        let label = DateTime::from_timestamp_millis(at)
            .map(|t| t.with_timezone(&Local).format(format).to_string())
            .unwrap_or_default();
        let _ = write!(
            page,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{label}</text>",
            x_of(at),
            height + 15.0,
        );
    }
    for (i, g) in r.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let gap = g.step_ms.saturating_mul(3);
        // Runs of points each close to the one before.
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut last_at: Option<i64> = None;
        for p in &g.points {
            let Some(v) = value(p) else {
                last_at = None;
                continue;
            };
            let joined = last_at.is_some_and(|t| p.at - t <= gap);
            if !joined {
                runs.push(Vec::new());
            }
            if let Some(run) = runs.last_mut() {
                run.push((x_of(p.at), y_of(v)));
            }
            last_at = Some(p.at);
        }
        let mut path = String::new();
        for run in &runs {
            match run.as_slice() {
                [(x, y)] => {
                    let _ = write!(
                        page,
                        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{colour}\"/>"
                    );
                }
                points => {
                    for (j, (x, y)) in points.iter().enumerate() {
                        let _ = write!(path, "{}{x:.1},{y:.1} ", if j == 0 { "M" } else { "L" });
                    }
                }
            }
        }
        if !path.is_empty() {
            let _ = write!(
                page,
                "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"/>",
                path.trim_end()
            );
        }
    }
    page.push_str("</svg>\n");
}

fn gpu_table(page: &mut String, r: &Report) {
    page.push_str(
        "<h2>GPUs</h2>\n<table><tr><th>GPU</th><th>Name</th><th class=\"text\">Vendor</th><th>Busy</th><th>Mean</th><th>P95</th>\
         <th>Peak memory</th><th>Energy</th><th>Throttled</th><th>Lost</th></tr>\n",
    );
    let pct = |v: Option<f64>| v.map_or("N/A".into(), |v| format!("{v:.0} %"));
    for g in &r.gpus {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td class=\"text\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            g.index,
            esc(g.name.as_deref().unwrap_or("N/A")),
            g.vendor.label(),
            pct(g.busy_share.map(|b| b * 100.0)),
            pct(g.mean_utilization_percent),
            g.p95_utilization_percent.map_or("N/A".into(), |p| format!("{p} %")),
            g.peak_memory_bytes.map_or("N/A".into(), human_bytes),
            energy(g.energy_kwh),
            g.throttled_seconds.map_or("N/A".into(), |t| duration(t.round() as u64)),
            duration(g.lost_seconds.round() as u64),
        );
    }
    page.push_str("</table>\n");
}

/// GPU-hours held per owner, the busy ones stacked on the held ones.
fn owners(page: &mut String, r: &Report) {
    if r.owners.is_empty() {
        return;
    }
    let by = format!("{:?}", r.by).to_lowercase();
    let _ = writeln!(page, "<h2>GPU-hours by {by}</h2>");
    let max = r.owners.iter().map(|o| o.gpu_hours_held).fold(0.0, f64::max).max(1e-9);
    let (row, label, plot) = (22.0, 200.0, WIDTH - 200.0 - 210.0);
    let shown = &r.owners[..r.owners.len().min(30)];
    let _ = write!(
        page,
        "<svg width=\"{WIDTH}\" height=\"{}\" role=\"img\">",
        row * shown.len() as f64 + 4.0
    );
    for (i, o) in shown.iter().enumerate() {
        let y = i as f64 * row + 2.0;
        let name = if o.owner.is_empty() { "-" } else { &o.owner };
        let held = plot * o.gpu_hours_held / max;
        let busy = plot * o.gpu_hours_busy / max;
        let _ = write!(
            page,
            "<text x=\"0\" y=\"{:.1}\">{}</text>\
             <rect x=\"{label}\" y=\"{y:.1}\" width=\"{held:.1}\" height=\"16\" fill=\"#aec7e8\"/>\
             <rect x=\"{label}\" y=\"{y:.1}\" width=\"{busy:.1}\" height=\"16\" fill=\"#1f77b4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{:.2} h ({:.2} busy)</text>",
            y + 12.0,
            esc(&crate::text::units::truncate(name, 30, false)),
            label + held + 6.0,
            y + 12.0,
            o.gpu_hours_held,
            o.gpu_hours_busy
        );
    }
    page.push_str(
        "</svg>\n<p>Dark: the GPU was busy (10 % or more); light: held while idle.</p>\n",
    );
    let _ = writeln!(
        page,
        "<table><tr><th>#</th><th>{}</th><th>GPU-hours held</th><th>busy</th><th>Energy</th>\
         <th>Peak memory</th><th>Processes</th></tr>",
        esc(&by)
    );
    for (i, o) in r.owners.iter().enumerate() {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            esc(if o.owner.is_empty() { "-" } else { &o.owner }),
            o.gpu_hours_held,
            o.gpu_hours_busy,
            energy(o.energy_kwh),
            o.peak_memory_bytes.map_or("N/A".into(), human_bytes),
            o.processes
        );
    }
    page.push_str("</table>\n");
}

/// The idle-while-held spans on the window's timeline, a row each, longest first.
fn idle_spans(page: &mut String, r: &Report) {
    page.push_str("<h2>Held while idle</h2>\n");
    if r.idle_while_held.is_empty() {
        page.push_str("<p>No process held a GPU while it sat idle.</p>\n");
        return;
    }
    let (from, to) = (r.since.timestamp_millis() as f64, r.until.timestamp_millis() as f64);
    let span = (to - from).max(1.0);
    let (row, left) = (20.0, 120.0);
    let plot = WIDTH - left - 10.0;
    let _ = write!(
        page,
        "<svg width=\"{WIDTH}\" height=\"{}\" role=\"img\">",
        row * r.idle_while_held.len() as f64 + 20.0
    );
    for (i, s) in r.idle_while_held.iter().enumerate() {
        let y = i as f64 * row;
        let start = s.from.timestamp_millis() as f64;
        let x = left + plot * ((start - from) / span).clamp(0.0, 1.0);
        let w = (plot * s.seconds * 1000.0 / span).max(2.0);
        let _ = write!(
            page,
            "<text x=\"0\" y=\"{:.1}\">GPU {} {}</text>\
             <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"14\" fill=\"#ff7f0e\"><title>{}</title></rect>",
            y + 11.0,
            s.gpu,
            esc(s.user.as_deref().unwrap_or("?")),
            esc(&format!("PID {} {}", s.pid, s.command.as_deref().unwrap_or("")))
        );
    }
    let _ = writeln!(
        page,
        "<text x=\"{left}\" y=\"{y:.1}\">{}</text><text x=\"{:.1}\" y=\"{y:.1}\" text-anchor=\"end\">{}</text></svg>",
        esc(&local(&r.since)),
        WIDTH - 10.0,
        esc(&local(&r.until)),
        y = row * r.idle_while_held.len() as f64 + 14.0
    );
    page.push_str(
        "<table><tr><th>GPU</th><th>User</th><th>PID</th><th>From</th><th>For</th><th>Peak memory</th><th>Command</th></tr>\n",
    );
    for s in &r.idle_while_held {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            s.gpu,
            esc(s.user.as_deref().unwrap_or("N/A")),
            s.pid,
            esc(&local(&s.from)),
            duration(s.seconds.round() as u64),
            s.peak_memory_bytes.map_or("N/A".into(), human_bytes),
            esc(s.command.as_deref().unwrap_or("N/A"))
        );
    }
    page.push_str("</table>\n");
}

fn events(page: &mut String, r: &Report) {
    if r.events.is_empty() {
        return;
    }
    page.push_str("<h2>Events</h2>\n<table><tr><th>When</th><th>GPU</th><th>What</th></tr>\n");
    for e in &r.events {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            esc(&e.at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S").to_string()),
            e.gpu,
            esc(&e.describe())
        );
    }
    page.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::chart::{ChartPoint, GpuSeries};
    use crate::record::summary::ReportBy;

    fn report(points: Vec<(i64, Option<f32>)>, step_ms: i64) -> Report {
        let at = |ms| DateTime::from_timestamp_millis(ms).unwrap();
        Report {
            since: at(0),
            until: at(100_000),
            interval_seconds: 1.0,
            gpus: Vec::new(),
            by: ReportBy::User,
            owners: Vec::new(),
            idle_while_held: Vec::new(),
            events: Vec::new(),
            series: vec![GpuSeries {
                index: 0,
                name: None,
                points: points
                    .into_iter()
                    .map(|(at, utilization)| ChartPoint { at, utilization, memory_percent: None })
                    .collect(),
                step_ms,
            }],
            recorded_seconds: 0.0,
            gaps: Vec::new(),
        }
    }

    fn chart(r: &Report) -> String {
        let mut page = String::new();
        line_chart(&mut page, r, |p| p.utilization);
        page
    }

    #[test]
    fn neighbours_are_joined_a_gap_starts_a_new_line_and_a_lone_point_is_a_dot() {
        // Every second for 3 s; nothing for 50 s; one sample; nothing; 2 s again.
        let points = [0, 1000, 2000, 3000, 53_000, 90_000, 91_000].map(|t| (t, Some(50.0)));
        let svg = chart(&report(points.to_vec(), 1000));
        let path = svg.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert_eq!(path.matches('L').count(), 4, "{path}");
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
    }

    #[test]
    fn an_unknown_value_breaks_the_line_and_is_not_drawn_as_zero() {
        let points = vec![(0, Some(10.0)), (1000, None), (2000, Some(10.0)), (3000, Some(10.0))];
        let svg = chart(&report(points, 1000));
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
        assert!(!svg.contains(",180.0"), "nothing at 0 %: {svg}");
    }
}
