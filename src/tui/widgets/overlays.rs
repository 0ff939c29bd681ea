//! What opens on top of the main screen: the help, a process's details, the GPUs' events,
//! and the confirmation before a signal is sent.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline, SparklineBar, Wrap};

use crate::health::{xid, Severity};
use crate::output::owners::{self, OwnerKey};
use crate::output::style::Painter;
use crate::output::table::TableOptions;
use crate::sample::{GpuEventKind, Origin, ProcessKey};
use crate::text::sanitize::sanitize;
use crate::text::units::{duration, human_bytes};
use crate::tui::app::App;
use crate::tui::kill::Signal;
use crate::tui::theme::Theme;
use crate::tui::ui::{centered, Paint};

/// Every key, shown by `?`: the keys in a column of [`KEY_WIDTH`], what they do in at most
/// 54 cells, so the box fits an 80-column terminal.
pub const KEYS: [(&str, &str); 22] = [
    ("q, Esc, Ctrl-C", "quit (Esc first clears a filter)"),
    ("?, h, F1", "this help (any key closes it)"),
    ("↑ ↓ PgUp PgDn Home End", "select a process (or click it)"),
    ("← →", "scroll the command lines sideways"),
    ("Enter", "details of the selected process"),
    ("/", "filter: text, user:NAME, pid:N, gpu:N (Esc clears)"),
    ("", "  many hosts: host:, model:, pod:, ns:, job:"),
    ("s, >", "sort by the next column (or click a header)"),
    ("S, <", "sort by the previous column"),
    ("r", "reverse the order"),
    ("k, F9", "send a signal to the selected process (asks first)"),
    ("u", "who holds the GPUs (u again: by container, pod, job)"),
    ("e", "XID and ECC events of the GPUs since gputop started"),
    ("  ← → / t i K", "  choose TERM, INT or KILL"),
    ("  Enter, y", "  send it; any other key cancels"),
    ("g", "hide or show the GPU panels"),
    ("p", "hide or show the process table"),
    ("[ ]", "scroll the GPU list (many GPUs)"),
    ("o, w", "order GPUs by host or a metric; GPUs by pod or job"),
    ("", ""),
    ("--readonly", "disables signals"),
    ("--theme, --ascii", "colours and drawing characters"),
];

/// The key column's width in cells.
const KEY_WIDTH: usize = 22;

fn block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    theme.block().border_style(theme.title).title(Span::styled(title, theme.title))
}

pub fn help(frame: &mut Buffer, area: Rect, _app: &App, theme: &Theme) {
    let rect = centered(frame, area, 80, KEYS.len() as u16 + 2);
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| {
            let key = if theme.ascii {
                k.replace('↑', "Up").replace('↓', "Down").replace('←', "Left").replace('→', "Right")
            } else {
                k.to_string()
            };
            Line::from(vec![
                Span::styled(format!("{key:>KEY_WIDTH$}  "), theme.title),
                Span::raw(*what),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block(" Keys ", theme)), rect);
}

/// Who holds the GPUs (`u`), grouped as `by`; `u` again groups by the next key.
pub fn owners(frame: &mut Buffer, area: Rect, app: &App, theme: &Theme, by: OwnerKey) {
    let width = area.width.min(110);
    let inner_width = usize::from(width.saturating_sub(2));
    let opts = TableOptions {
        painter: Painter { enabled: false },
        width: Some(inner_width),
        ascii: theme.ascii,
    };
    // Without the first line: the header already has the host and the time.
    let lines: Vec<String> = match &app.snapshot {
        Some(snapshot) => {
            owners::render(snapshot, by, &opts).iter().skip(1).map(|l| l.to_string()).collect()
        }
        None => vec!["No sample yet.".into()],
    };
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = centered(frame, area, width, height);
    let next = match by {
        OwnerKey::User => "container",
        OwnerKey::Container => "pod",
        OwnerKey::Pod => "job",
        OwnerKey::Job => "user",
    };
    let now = match by {
        OwnerKey::User => "user",
        OwnerKey::Container => "container",
        OwnerKey::Pod => "pod",
        OwnerKey::Job => "job",
    };
    let title = format!(" Who holds the GPUs, by {now} · u: by {next} ");
    let text: Vec<Line> = lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { Line::styled(l, theme.title) } else { Line::raw(l) })
        .collect();
    frame.render_widget(Paragraph::new(text).block(block(&title, theme)), rect);
}

pub fn details(frame: &mut Buffer, area: Rect, app: &App, theme: &Theme, key: &ProcessKey) {
    let pid = key.pid;
    let rect = centered(frame, area, 100, 16);
    let b = block(" Process ", theme);
    let inner = b.inner(rect);
    frame.render_widget(b, rect);
    let Some(row) = app.row(key) else {
        frame.render_widget(
            Paragraph::new(Line::styled(format!("Process {pid} is gone."), theme.dim)),
            inner,
        );
        return;
    };
    let na = |v: Option<String>| v.unwrap_or_else(|| "N/A".into());
    let [info, chart] = Layout::vertical([Constraint::Min(0), Constraint::Length(4)]).areas(inner);
    let lines = vec![
        Line::from(vec![
            Span::styled("PID ", theme.dim),
            Span::raw(format!("{}   ", row.pid)),
            Span::styled("GPU ", theme.dim),
            Span::raw(format!("{}   ", row.gpu)),
            Span::styled("USER ", theme.dim),
            Span::raw(format!("{}   ", row.user)),
            Span::styled("TYPE ", theme.dim),
            Span::raw(row.kind),
        ]),
        Line::from(vec![
            Span::styled("GPU memory ", theme.dim),
            Span::raw(format!("{}   ", na(row.gpu_memory.map(human_bytes)))),
            Span::styled("SM ", theme.dim),
            Span::raw(format!("{}   ", na(row.sm.map(|v| format!("{v}%"))))),
            Span::styled("CPU ", theme.dim),
            Span::raw(format!("{}   ", na(row.cpu.map(|v| format!("{v:.1}%"))))),
            Span::styled("host memory ", theme.dim),
            Span::raw(format!("{}   ", na(row.host_memory.map(human_bytes)))),
            Span::styled("running ", theme.dim),
            Span::raw(na(row.running_seconds.map(duration))),
        ]),
        Line::from(vec![
            Span::styled("runs in ", theme.dim),
            Span::raw(row.placement.clone().unwrap_or_else(|| "the host (no container)".into())),
        ]),
        Line::from(vec![
            Span::styled("N/A on this GPU ", theme.dim),
            Span::raw(missing_on_gpu(app, row.gpu)),
        ]),
        Line::styled("command line:", theme.dim),
        Line::raw(row.command.clone()),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), info);
    let history = app.process_memory.get(key);
    let data: Vec<SparklineBar> = history
        .map(|r| {
            r.columns(usize::from(chart.width))
                .into_iter()
                .map(|v| SparklineBar::from(v.map(|v| v as u64)))
                .collect()
        })
        .unwrap_or_default();
    let max = history.map_or(1, |r| r.iter().flatten().fold(1.0f32, f32::max) as u64);
    let b = theme.block().title(Span::styled(" GPU memory over time ", theme.dim));
    let chart_inner = b.inner(chart);
    frame.render_widget(b, chart);
    frame.render_widget(
        Sparkline::default().data(data).max(max).style(theme.chart).bar_set(theme.bar_set()),
        chart_inner,
    );
}

/// Each GPU's events, newest first, with what each XID means and what to do; or why a GPU's
/// events cannot be heard.
pub fn events(frame: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    let mut lines = Vec::new();
    let gpus = app.snapshot.as_ref().map_or(&[][..], |s| &s.gpus[..]);
    let origin = app.snapshot.as_ref().map(|s| s.origin);
    for g in gpus {
        let label = match &g.host {
            Some(host) => format!("GPU {}:{}", sanitize(host), g.index),
            None => format!("GPU {}", g.index),
        };
        let Some(events) = &g.events else {
            // The source's reason (NVML's answer, "simulated"), else what its origin implies.
            let why = g.missing.get(crate::sample::FieldKey::Events).map_or_else(
                || {
                    match origin {
                        Some(Origin::Recorded) => "not recorded",
                        Some(Origin::Fleet) => "not reported by its host",
                        _ => "no reason given",
                    }
                    .to_string()
                },
                |m| m.describe(),
            );
            lines.push(Line::styled(format!("{label}: not listened to ({why})"), theme.dim));
            continue;
        };
        let since = events.since.with_timezone(&chrono::Local).format("%H:%M:%S");
        if events.recent.is_empty() {
            lines.push(Line::styled(format!("{label}: none since {since}"), theme.dim));
            continue;
        }
        lines.push(Line::styled(format!("{label}: since {since}"), theme.title));
        for e in events.recent.iter().rev() {
            let at = e.at.with_timezone(&chrono::Local).format("%H:%M:%S").to_string();
            let (what, style, action) = match (e.kind, e.xid) {
                (GpuEventKind::Xid, Some(n)) => {
                    let x = xid::describe(n);
                    let style = if x.severity == Severity::Ok { theme.warn } else { theme.alert };
                    (format!("XID {n}: {}", x.meaning), style, x.action)
                }
                (GpuEventKind::Xid, None) => ("XID (number not given)".into(), theme.alert, ""),
                (GpuEventKind::DoubleBitEcc, _) => (
                    "double-bit ECC error".into(),
                    theme.alert,
                    "see `gputop health`; reset the GPU if rows wait for remapping",
                ),
                (GpuEventKind::SingleBitEcc, _) => {
                    ("single-bit ECC error (corrected)".into(), theme.warn, "")
                }
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {at}  "), theme.dim),
                Span::styled(what, style),
            ]));
            if !action.is_empty() {
                let arrow = if theme.ascii { "->" } else { "→" };
                lines.push(Line::styled(format!("            {arrow} {action}"), theme.dim));
            }
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled("No GPUs.", theme.dim));
    }
    // Clock slowdowns over time: when each started and ended, newest first.
    if !app.slowdowns.is_empty() {
        lines.push(Line::styled("Clock slowdowns (thermal, power brake, hardware):", theme.title));
        for s in app.slowdowns.iter().rev() {
            let at = s.at.with_timezone(&chrono::Local).format("%H:%M:%S");
            let gpu = match &s.host {
                Some(host) => format!("{}:{}", sanitize(host), s.gpu),
                None => s.gpu.to_string(),
            };
            let (what, style) =
                if s.started { ("started", theme.alert) } else { ("ended", theme.dim) };
            lines.push(Line::from(vec![
                Span::styled(format!("  {at}  "), theme.dim),
                Span::styled(format!("GPU {gpu} {} {what}", s.reason), style),
            ]));
        }
    }
    let rect = centered(frame, area, 110, lines.len() as u16 + 2);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block(" Events ", theme)),
        rect,
    );
}

/// The confirmation; `command` is what `/proc` says PID `pid` runs now, not what the row showed.
/// Why values are N/A on GPU `index`: "fan_percent not supported, ecc.corrected no permission".
fn missing_on_gpu(app: &App, index: u32) -> String {
    let gpu = app.snapshot.as_ref().and_then(|s| s.gpus.iter().find(|g| g.index == index));
    let reasons: Vec<String> = gpu
        .map(|g| g.missing.iter().map(|(f, m)| format!("{f} {}", m.describe())).collect())
        .unwrap_or_default();
    if reasons.is_empty() {
        "nothing".into()
    } else {
        reasons.join(", ")
    }
}

pub fn kill(
    frame: &mut Buffer,
    area: Rect,
    theme: &Theme,
    pid: u32,
    signal: Signal,
    command: &str,
) {
    let rect = centered(frame, area, 64, 7);
    let command = format!("runs: {command}");
    let mut choices = vec![Span::raw("signal: ")];
    for s in Signal::ALL {
        let style = if s == signal { theme.selected } else { theme.text };
        choices.push(Span::styled(format!(" SIG{} ", s.name()), style));
        choices.push(Span::raw(" "));
    }
    let lines = vec![
        Line::from(vec![
            Span::raw("Send "),
            Span::styled(format!("SIG{}", signal.name()), theme.alert),
            Span::raw(format!(" to process {pid}?")),
        ]),
        Line::styled(command, theme.dim),
        Line::from(choices),
        Line::styled("←/→ choose   Enter send   any other key cancels", theme.dim),
    ];
    frame.render_widget(Paragraph::new(lines).block(block(" Send a signal ", theme)), rect);
}

/// `w`: the GPUs grouped by the pod or job they serve, the most GPUs first ("who uses the
/// cluster"); the `/` filter's GPU terms narrow it.
pub fn workloads(frame: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    use crate::text::units::{pad, truncate};
    use crate::tui::fleet::{self, GpuFilter};
    let Some(snapshot) = &app.snapshot else { return };
    let (filter, _) = GpuFilter::parse(&app.filter);
    let rows = fleet::workloads(snapshot, &filter);
    let width: usize = 60;
    let mut lines = vec![Line::styled(
        format!(
            "{:<width$} {:>5} {:>5} {:>5} {:>10}",
            "POD / JOB", "GPUS", "HOSTS", "UTIL", "MEMORY"
        ),
        theme.header,
    )];
    for r in &rows {
        let name = pad(&truncate(&sanitize(&r.name), width, theme.ascii), width, true);
        let util = r.mean_utilization;
        lines.push(Line::from(vec![
            Span::raw(format!("{name} {:>5} {:>5} ", r.gpus, r.hosts)),
            Span::styled(
                format!("{:>5}", util.map_or("N/A".into(), |u| format!("{u:.0}%"))),
                theme.load(util),
            ),
            Span::raw(format!(" {:>10}", r.memory_used.map_or("N/A".into(), human_bytes))),
        ]));
    }
    if rows.is_empty() {
        lines.push(Line::styled("No GPUs.", theme.dim));
    }
    let rect = centered(frame, area, 92, lines.len() as u16 + 2);
    frame.render_widget(
        Paragraph::new(lines).block(block(" Workloads: who uses the GPUs ", theme)),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn the_help_fits_80_columns() {
        for (key, what) in KEYS {
            // Two borders, the key column, two spaces, the description.
            let width = 2 + KEY_WIDTH + 2 + what.width();
            assert!(key.width() <= KEY_WIDTH && width <= 80, "{key}: {what} ({width})");
        }
    }
}
