//! The GPUs: one large panel with charts, a panel each, or one row each (many GPUs), as the
//! layout decides. A lost GPU is shown as lost, never as zeros.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, SparklineBar};
use unicode_width::UnicodeWidthStr;

use crate::health::{xid, Severity};
use crate::history::{GpuHistory, Series};
use crate::sample::{GpuSample, GpuStatus, Snapshot};
use crate::text::sanitize::sanitize;
use crate::text::units::{age_text, human_bytes, pad, truncate};
use crate::tui::app::App;
use crate::tui::fleet::{self, FleetRow, GpuFilter, GpuOrder, HostRow};
use crate::tui::text;
use crate::tui::theme::Theme;
use crate::tui::ui::{GpuLayout, Paint};

pub fn draw(frame: &mut Buffer, area: Rect, app: &App, theme: &Theme, layout: GpuLayout) {
    let Some(snapshot) = &app.snapshot else {
        let block = theme.block();
        frame.render_widget(
            Paragraph::new(Line::styled("waiting for the first sample…", theme.dim)).block(block),
            area,
        );
        return;
    };
    if snapshot.gpus.is_empty() {
        let block = theme.block();
        frame.render_widget(
            Paragraph::new(Line::styled("No GPUs found.", theme.dim)).block(block),
            area,
        );
        return;
    }
    match layout {
        GpuLayout::Big => big(frame, area, app, theme, &snapshot.gpus[0]),
        GpuLayout::Panels { columns } => {
            let rows = (snapshot.gpus.len() as u16).div_ceil(columns);
            let row_areas =
                Layout::vertical(vec![Constraint::Length(5); rows as usize]).split(area);
            for (i, gpu) in snapshot.gpus.iter().enumerate() {
                let row = row_areas[i / columns as usize];
                let cols = Layout::horizontal(vec![
                    Constraint::Ratio(1, u32::from(columns));
                    columns as usize
                ])
                .split(row);
                panel(frame, cols[i % columns as usize], app, theme, gpu);
            }
        }
        GpuLayout::Compact => compact(frame, area, app, theme, snapshot),
    }
}

fn history<'a>(app: &'a App, gpu: &GpuSample) -> Option<&'a GpuHistory> {
    app.history.gpu(gpu.host.as_deref(), gpu.index, gpu.uuid.as_deref())
}

fn title<'a>(gpu: &GpuSample, theme: &Theme) -> Line<'a> {
    let name = sanitize(gpu.name.as_deref().unwrap_or("N/A")).into_owned();
    let mut spans = vec![
        Span::styled(format!(" {} ", gpu_label(gpu)), theme.title),
        Span::styled(format!("{name} "), theme.text),
    ];
    if let Some(mark) = xid_mark(gpu, theme) {
        spans.push(Span::styled(mark, theme.alert));
    }
    Line::from(spans)
}

/// ` ⚠ XID 79,94 `: the XIDs that speak of the GPU's health (not an application's own faults)
/// since gputop started; `e` lists them.
fn xid_mark(gpu: &GpuSample, theme: &Theme) -> Option<String> {
    let events = gpu.events.as_ref()?;
    let mut bad: Vec<String> = events
        .xid_counts
        .keys()
        .filter(|&&n| xid::describe(n).severity > Severity::Ok)
        .map(u32::to_string)
        .collect();
    if events.xid_unknown > 0 {
        bad.push("?".into());
    }
    (!bad.is_empty()).then(|| format!(" {} XID {} ", theme.warn_mark(), bad.join(",")))
}

/// The GPU's index, prefixed by its host when several hosts are shown.
fn gpu_label(gpu: &GpuSample) -> String {
    match &gpu.host {
        Some(host) => format!("{}:{}", sanitize(host), gpu.index),
        None => gpu.index.to_string(),
    }
}

/// The right-hand title: performance state, temperature, power; or alarming throttle reasons.
fn status_line<'a>(gpu: &GpuSample, theme: &Theme) -> Line<'a> {
    if gpu.status != GpuStatus::Ok {
        return Line::default();
    }
    let mut spans = Vec::new();
    let alarms = gpu.throttle.alarming();
    if !alarms.is_empty() {
        spans.push(Span::styled(
            format!(" {} {} ", theme.warn_mark(), alarms.join(", ")),
            theme.alert,
        ));
    }
    if let Some(p) = gpu.performance_state {
        spans.push(Span::styled(format!(" P{p}"), theme.dim));
    }
    let t = &gpu.temperature;
    let temp_style = match (t.gpu_celsius, t.slowdown_celsius) {
        (Some(c), Some(s)) if c + 5 >= s => theme.alert,
        (Some(c), _) if c >= 80 => theme.warn,
        _ => theme.text,
    };
    spans.push(Span::styled(
        format!(" {} ", t.gpu_celsius.map_or("N/A".into(), |c| format!("{c}{}", theme.degree()))),
        temp_style,
    ));
    spans.push(Span::raw(format!("{} ", power(gpu))));
    Line::from(spans).right_aligned()
}

fn power(gpu: &GpuSample) -> String {
    match (gpu.power.draw_watts, gpu.power.limit_watts) {
        (Some(d), Some(l)) => format!("{d:.0}/{l:.0} W"),
        (Some(d), None) => format!("{d:.0} W"),
        _ => "N/A".into(),
    }
}

fn lost_text(gpu: &GpuSample) -> String {
    match gpu.status {
        GpuStatus::Lost => "LOST: the GPU fell off the bus (see `gputop doctor`)".into(),
        _ => format!("ERROR: {}", sanitize(gpu.error.as_deref().unwrap_or("unknown"))),
    }
}

/// `UTIL ████░░ 87%   MEM ███░░░ 41000/81559 MiB 50%` fitted to `width`.
fn gauges<'a>(gpu: &GpuSample, theme: &Theme, width: u16) -> Line<'a> {
    let util = gpu.utilization.gpu_percent.map(f64::from);
    let mem = gpu.memory_percent();
    let mem_text = match (gpu.memory.used_bytes, gpu.memory.total_bytes) {
        (Some(u), Some(t)) => format!("{}/{} MiB", u >> 20, t >> 20),
        _ => "N/A".into(),
    };
    let fixed = 5 + 5 + 3 + 5 + mem_text.len() + 5;
    let bar = (usize::from(width).saturating_sub(fixed) / 2).clamp(3, 40);
    let pct = |p: Option<f64>| p.map_or(" N/A".into(), |p| format!("{p:>3.0}%"));
    // An unknown value gets no bar at all: an empty bar would read as 0 %.
    let gauge = |p: Option<f64>| match p {
        Some(p) => theme.bar(p / 100.0, bar),
        None => vec![Span::raw(" ".repeat(bar))],
    };
    let mut spans = vec![Span::styled("UTIL ", theme.dim)];
    spans.extend(gauge(util));
    spans.push(Span::styled(format!(" {}", pct(util)), theme.load(util)));
    spans.push(Span::styled("   MEM ", theme.dim));
    spans.extend(gauge(mem));
    spans.push(Span::raw(format!(" {mem_text} ")));
    spans.push(Span::styled(pct(mem), theme.load(mem)));
    Line::from(spans)
}

/// Clocks, fan, encoder/decoder and PCIe: everything else worth a glance.
/// A clock and its maximum, "1500/1980 MHz"; what is unknown left out ("300 MHz"), "N/A" for
/// neither: never "N/A MHz".
fn clock(now: Option<u32>, max: Option<u32>) -> String {
    match (now, max) {
        (Some(now), Some(max)) => format!("{now}/{max} MHz"),
        (Some(now), None) => format!("{now} MHz"),
        (None, Some(max)) => format!("N/A/{max} MHz"),
        (None, None) => "N/A".into(),
    }
}

fn details<'a>(gpu: &GpuSample, theme: &Theme) -> Line<'a> {
    let c = &gpu.clocks;
    let (up, down) = if theme.ascii { ("TX ", "RX ") } else { ("↑", "↓") };
    let rate = |b: Option<u64>| b.map_or("N/A".into(), |b| format!("{}/s", human_bytes(b)));
    let mut spans = activity(gpu, theme);
    spans.extend(mig(gpu, theme));
    spans.extend([
        Span::styled("SM ", theme.dim),
        Span::raw(format!("{}  ", clock(c.sm_mhz, c.sm_max_mhz))),
        Span::styled("MEM ", theme.dim),
        Span::raw(format!("{}  ", clock(c.memory_mhz, None))),
        Span::styled("FAN ", theme.dim),
        Span::raw(format!("{}  ", gpu.fan_percent.map_or("N/A".into(), |f| format!("{f}%")))),
        Span::styled("ENC ", theme.dim),
        Span::raw(format!(
            "{}  ",
            gpu.utilization.encoder_percent.map_or("N/A".into(), |v| format!("{v}%"))
        )),
        Span::styled("DEC ", theme.dim),
        Span::raw(format!(
            "{}  ",
            gpu.utilization.decoder_percent.map_or("N/A".into(), |v| format!("{v}%"))
        )),
        Span::styled("PCIe ", theme.dim),
        Span::raw(format!(
            "{up}{} {down}{}",
            rate(gpu.pcie.tx_bytes_per_second),
            rate(gpu.pcie.rx_bytes_per_second)
        )),
    ]);
    Line::from(spans)
}

/// `MIG 3g.40gb 1000/40192 MiB  4g.40gb 12/40192 MiB  `: the GPU's MIG devices and their
/// memory, before the clocks; nothing with MIG off.
fn mig<'a>(gpu: &GpuSample, theme: &Theme) -> Vec<Span<'a>> {
    let Some(instances) = &gpu.mig_instances else { return Vec::new() };
    let mut spans = vec![Span::styled("MIG ", theme.dim)];
    for m in instances {
        let memory = match (m.memory.used_bytes, m.memory.total_bytes) {
            (Some(u), Some(t)) => format!("{}/{} MiB", u >> 20, t >> 20),
            _ => "N/A".into(),
        };
        let profile = sanitize(m.profile.as_deref().unwrap_or("N/A")).into_owned();
        spans.push(Span::styled(format!("{profile} "), theme.title));
        spans.push(Span::raw(format!("{memory} ")));
        if let Some(sm) = m.activity.as_ref().and_then(|a| a.sm_active_percent) {
            spans.push(Span::styled(format!("SM act {sm:.0}% "), theme.dim));
        }
        spans.push(Span::raw(" "));
    }
    spans
}

/// `SM act 85% tensor 70% DRAM 30% tensor-bound  `: what GPM says
/// the SMs, tensor cores and memory did, before the clocks; nothing without GPM.
fn activity<'a>(gpu: &GpuSample, theme: &Theme) -> Vec<Span<'a>> {
    let Some(a) = &gpu.activity else { return Vec::new() };
    let pct = |v: Option<f64>| v.map_or("N/A".into(), |v| format!("{v:.0}%"));
    let mut spans = vec![
        Span::styled("SM act ", theme.dim),
        Span::raw(format!("{} ", pct(a.sm_active_percent))),
        Span::styled("tensor ", theme.dim),
        Span::raw(format!("{} ", pct(a.tensor_active_percent))),
        Span::styled("DRAM ", theme.dim),
        Span::raw(format!("{} ", pct(a.dram_active_percent))),
    ];
    if let Some(hint) = crate::output::bound::bound_by(a, gpu.utilization.gpu_percent) {
        spans.push(Span::styled(format!("{hint} "), theme.warn));
    }
    spans.push(Span::raw(" "));
    spans
}

/// One metric's history, when the GPU has any yet.
type Chart<'a> = Option<&'a Series>;

/// A history ring as at most `width` bars (see `Series::columns`), `None` kept as a gap. A value
/// above zero is drawn at least as the lowest bar (`floor`): 5 % on a chart one row high would
/// otherwise round to nothing and look idle.
fn bars(ring: &Series, width: usize, floor: f32) -> Vec<SparklineBar> {
    ring.columns(width)
        .into_iter()
        .map(|v| {
            let v = v.map(|v| if v > 0.0 { v.max(floor) } else { 0.0 });
            SparklineBar::from(v.map(|v| v.round() as u64))
        })
        .collect()
}

fn sparkline<'a>(
    ring: Option<&Series>,
    (width, height): (u16, u16),
    max: u64,
    theme: &Theme,
) -> Sparkline<'a> {
    let floor = max.max(1) as f32 / (8.0 * f32::from(height.max(1)));
    let data = ring.map(|r| bars(r, usize::from(width), floor.ceil())).unwrap_or_default();
    Sparkline::default()
        .data(data)
        .max(max.max(1))
        .style(theme.chart)
        .bar_set(theme.bar_set())
        .absent_value_symbol(" ")
}

/// The history window, as "10m" or "45s".
fn window(app: &App) -> String {
    let secs = app.history.capacity() as f64 * app.interval.as_secs_f64();
    if secs >= 120.0 {
        format!("{:.0}m", secs / 60.0)
    } else {
        format!("{secs:.0}s")
    }
}

/// Draws a GPU's bordered block; its inside when the GPU answers, else it says why not.
fn framed(frame: &mut Buffer, area: Rect, theme: &Theme, gpu: &GpuSample) -> Option<Rect> {
    let inner = text::block(frame, area, theme, &title(gpu, theme), &status_line(gpu, theme));
    if gpu.status != GpuStatus::Ok {
        frame.render_widget(Paragraph::new(Line::styled(lost_text(gpu), theme.alert)), inner);
        return None;
    }
    Some(inner)
}

fn panel(frame: &mut Buffer, area: Rect, app: &App, theme: &Theme, gpu: &GpuSample) {
    let Some(inner) = framed(frame, area, theme, gpu) else { return };
    let [l1, l2, l3] = Layout::vertical([Constraint::Length(1); 3]).areas(inner);
    text::line(frame, l1, &gauges(gpu, theme, inner.width));
    text::line(frame, l2, &details(gpu, theme));
    // Four small charts side by side: utilization, memory, power, temperature.
    let h = history(app, gpu);
    let limit = gpu.power.limit_watts.unwrap_or(1.0).max(1.0) as u64;
    let label_w = window(app).len() as u16 + 1;
    let [charts, label] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(label_w)]).areas(l3);
    let cells = Layout::horizontal([Constraint::Ratio(1, 4); 4]).split(charts);
    let series: [(&str, Chart, u64); 4] = [
        ("util", h.map(|h| &h.utilization), 100),
        ("mem", h.map(|h| &h.memory_percent), 100),
        ("pwr", h.map(|h| &h.power_watts), limit),
        ("temp", h.map(|h| &h.temperature), 100),
    ];
    for ((name, ring, max), cell) in series.into_iter().zip(cells.iter()) {
        let [name_area, chart] =
            Layout::horizontal([Constraint::Length(name.len() as u16 + 1), Constraint::Min(0)])
                .areas(*cell);
        text::span(frame, name_area, Span::styled(name, theme.dim));
        frame.render_widget(
            sparkline(ring, (chart.width.saturating_sub(1), chart.height), max, theme),
            chart,
        );
    }
    text::line(frame, label, &Line::styled(window(app), theme.dim).right_aligned());
}

/// One GPU with room to spare: gauges, details, and four large charts.
fn big(frame: &mut Buffer, area: Rect, app: &App, theme: &Theme, gpu: &GpuSample) {
    let Some(inner) = framed(frame, area, theme, gpu) else { return };
    let [l1, l2, charts] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Min(0)])
            .areas(inner);
    text::line(frame, l1, &gauges(gpu, theme, inner.width));
    text::line(frame, l2, &details(gpu, theme));
    let h = history(app, gpu);
    let limit = gpu.power.limit_watts.unwrap_or(1.0).max(1.0) as u64;
    let w = window(app);
    let last = |v: Option<f64>, unit: &str| v.map_or("N/A".into(), |v| format!("{v:.0}{unit}"));
    let charts_spec: [(String, Chart, u64); 4] = [
        (
            format!("utilization {} ({w})", last(gpu.utilization.gpu_percent.map(f64::from), "%")),
            h.map(|h| &h.utilization),
            100,
        ),
        (
            format!("memory {} ({w})", last(gpu.memory_percent(), "%")),
            h.map(|h| &h.memory_percent),
            100,
        ),
        (
            format!("power {} ({w})", last(gpu.power.draw_watts, " W")),
            h.map(|h| &h.power_watts),
            limit,
        ),
        (
            format!(
                "temperature {} ({w})",
                last(gpu.temperature.gpu_celsius.map(f64::from), theme.degree())
            ),
            h.map(|h| &h.temperature),
            100,
        ),
    ];
    let [top, bottom] = Layout::vertical([Constraint::Ratio(1, 2); 2]).areas(charts);
    let cells: Vec<Rect> = [top, bottom]
        .iter()
        .flat_map(|r| Layout::horizontal([Constraint::Ratio(1, 2); 2]).split(*r).to_vec())
        .collect();
    for ((name, ring, max), cell) in charts_spec.into_iter().zip(cells) {
        let chart_area =
            text::block(frame, cell, theme, &Line::styled(name, theme.dim), &Line::default());
        frame.render_widget(
            sparkline(ring, (chart_area.width, chart_area.height), max, theme),
            chart_area,
        );
    }
}

/// Many GPUs: a row each, with an inline utilization chart; `[` and `]` scroll.
fn compact(frame: &mut Buffer, area: Rect, app: &App, theme: &Theme, snapshot: &Snapshot) {
    let (filter, _) = GpuFilter::parse(&app.filter);
    let rows = fleet::rows(snapshot, &filter, app.gpu_order);
    let gpus = rows.iter().filter(|r| matches!(r, FleetRow::Gpu(_))).count();
    let mut title = format!(" {gpus} GPUs ");
    if snapshot.hosts.len() > 1 {
        let up = snapshot.hosts.iter().filter(|h| h.up).count();
        title = format!(" {gpus} GPUs · {up}/{} hosts up ", snapshot.hosts.len());
    }
    if !filter.is_empty() {
        title.push_str(&format!("· of {} ", snapshot.gpus.len()));
    }
    let title = Line::styled(title, theme.title);
    // The order is named where it matters: many hosts, or a metric chosen with `o`.
    let order = if snapshot.hosts.len() > 1 || app.gpu_order != GpuOrder::Host {
        format!("o order: {}  ", app.gpu_order.label())
    } else {
        String::new()
    };
    let help =
        Line::styled(format!(" {order}[ ] scroll  util history {} ", window(app)), theme.dim)
            .right_aligned();
    let inner = text::block(frame, area, theme, &title, &help);
    if inner.height == 0 {
        return;
    }
    // Names are cut only when the row has no room for them and a chart of MIN_CHART cells;
    // the chart takes whatever width is left.
    const MIN_CHART: usize = 10;
    let label_width = rows
        .iter()
        .filter_map(|r| match r {
            FleetRow::Gpu(g) => Some(gpu_label(g).width()),
            FleetRow::Host(_) => None,
        })
        .max()
        .unwrap_or(3)
        .max(3);
    let fixed = label_width + 1 + 1 + 5 + 7 + 7 + 12 + 2;
    let longest = rows
        .iter()
        .filter_map(|r| match r {
            FleetRow::Gpu(g) => Some(sanitize(g.name.as_deref().unwrap_or("N/A")).width()),
            FleetRow::Host(_) => None,
        })
        .max()
        .unwrap_or(4);
    let room = usize::from(inner.width).saturating_sub(fixed + MIN_CHART);
    let name_width = longest.min(room).max(4);
    let header = Line::styled(
        format!(
            "{:>label_width$} {:<name_width$} {:>5} {:>6} {:>6} {:>11}  UTIL HISTORY",
            "GPU", "NAME", "UTIL", "MEM", "TEMP", "POWER"
        ),
        theme.header,
    );
    text::line(frame, Rect { height: 1, ..inner }, &header);
    let visible = usize::from(inner.height.saturating_sub(1));
    let scroll = app.gpu_scroll.min(rows.len().saturating_sub(visible));
    for (row, fleet_row) in rows.iter().skip(scroll).take(visible).enumerate() {
        let y = inner.y + 1 + row as u16;
        let line_area = Rect { y, height: 1, ..inner };
        let gpu = match fleet_row {
            FleetRow::Host(host) => {
                text::line(frame, line_area, &host_line(host, theme));
                continue;
            }
            FleetRow::Gpu(gpu) => gpu,
        };
        let name = sanitize(gpu.name.as_deref().unwrap_or("N/A")).into_owned();
        let name = pad(&truncate(&name, name_width, theme.ascii), name_width, true);
        let label = gpu_label(gpu);
        if gpu.status != GpuStatus::Ok {
            let text = format!("{label:>label_width$} {name} {}", lost_text(gpu));
            frame.render_widget(Paragraph::new(Line::styled(text, theme.alert)), line_area);
            continue;
        }
        let util = gpu.utilization.gpu_percent.map(f64::from);
        let mem = gpu.memory_percent();
        let pct = |p: Option<f64>| p.map_or("N/A".into(), |p| format!("{p:.0}%"));
        let temp =
            gpu.temperature.gpu_celsius.map_or("N/A".into(), |t| format!("{t}{}", theme.degree()));
        let mut row_line = Line::from(vec![
            Span::raw(format!("{label:>label_width$} {name} ")),
            Span::styled(format!("{:>5}", pct(util)), theme.load(util)),
            Span::styled(format!(" {:>6}", pct(mem)), theme.load(mem)),
            Span::raw(format!(" {temp:>6} {:>11}  ", power(gpu))),
        ]);
        if let Some(mark) = xid_mark(gpu, theme) {
            row_line.spans.push(Span::styled(mark, theme.alert));
        }
        let text_width = row_line.width() as u16;
        text::line(frame, line_area, &row_line);
        if line_area.width > text_width {
            let chart = Rect {
                x: line_area.x + text_width,
                width: line_area.width - text_width,
                ..line_area
            };
            let ring = history(app, gpu).map(|h| &h.utilization);
            frame.render_widget(sparkline(ring, (chart.width, chart.height), 100, theme), chart);
        }
    }
}

/// `▾ node1  8 GPUs  util 63%  mem 412/640 GiB  hottest 78°C  3 s old`, or why it is down.
fn host_line<'a>(row: &HostRow, theme: &Theme) -> Line<'a> {
    let host = row.host;
    let name = sanitize(host.hostname.as_deref().unwrap_or(&host.url)).into_owned();
    let mark = if theme.ascii { "-" } else { "▾" };
    if !host.up {
        let why = sanitize(host.error.as_deref().unwrap_or("down")).into_owned();
        return Line::from(vec![
            Span::styled(format!("{mark} {name} "), theme.title),
            Span::styled(format!("DOWN: {why}"), theme.alert),
        ]);
    }
    let mut spans = vec![
        Span::styled(format!("{mark} {name} "), theme.title),
        Span::styled(format!(" {} GPUs", row.gpus), theme.text),
    ];
    let util = row.mean_utilization;
    spans.push(Span::raw("  util "));
    spans.push(Span::styled(util.map_or("N/A".into(), |u| format!("{u:.0}%")), theme.load(util)));
    spans.push(Span::raw(format!(
        "  mem {}",
        match (row.memory_used, row.memory_total) {
            (Some(u), Some(t)) => format!("{}/{}", human_bytes(u), human_bytes(t)),
            (Some(u), None) => human_bytes(u),
            _ => "N/A".into(),
        }
    )));
    if let Some(t) = row.hottest {
        let style = if t >= 80 { theme.warn } else { theme.text };
        spans.push(Span::raw("  hottest "));
        spans.push(Span::styled(format!("{t}{}", theme.degree()), style));
    }
    if let Some(age) = host.age_seconds {
        let style = if host.stale { theme.alert } else { theme.dim };
        let stale = if host.stale { " STALE" } else { "" };
        spans.push(Span::styled(format!("  {} old{stale}", age_text(age)), style));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::theme::ThemeName;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn an_unknown_gauge_draws_no_bar() {
        let theme = Theme::new(ThemeName::Dark, false);
        let mut gpu = GpuSample::empty(0);
        gpu.memory.total_bytes = Some(100 << 20);
        gpu.memory.used_bytes = Some(50 << 20);
        let line = text(&gauges(&gpu, &theme, 80));
        let (util, mem) = line.split_once("MEM").unwrap();
        assert!(!util.contains('░') && !util.contains('█') && util.contains("N/A"), "{line}");
        assert!(mem.contains('█') && mem.contains('░'), "{line}");
        gpu.utilization.gpu_percent = Some(0);
        let line = text(&gauges(&gpu, &theme, 80));
        assert!(line.split_once("MEM").unwrap().0.contains('░'), "a known 0 % has its bar");
    }
}
