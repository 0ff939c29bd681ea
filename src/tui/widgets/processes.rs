//! The process table across all GPUs: sortable (keys, or a click on a header), filtered,
//! selectable, and scrollable sideways for long command lines.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthChar;

use crate::text::units::{duration_coarse, human_bytes};
use crate::tui::app::App;
use crate::tui::rows::{ProcessRow, SortKey};
use crate::tui::text;
use crate::tui::theme::Theme;
use crate::tui::ui::Paint;

fn cell(row: &ProcessRow, key: SortKey) -> String {
    let na = || "N/A".to_string();
    match key {
        // In a MIG instance: the GPU and the GPU instance, "0/1"; on another host "node7:0".
        SortKey::Gpu => {
            let gpu = match row.gpu_instance {
                Some(gi) => format!("{}/{gi}", row.gpu),
                None => row.gpu.to_string(),
            };
            match &row.host {
                Some(host) => format!("{host}:{gpu}"),
                None => gpu,
            }
        }
        SortKey::Pid => row.pid.to_string(),
        SortKey::User => row.user.clone(),
        SortKey::Type => row.kind.to_string(),
        SortKey::GpuMemory => row.gpu_memory.map_or_else(na, human_bytes),
        SortKey::Sm => row.sm.map_or_else(na, |v| v.to_string()),
        SortKey::GpuMemoryPercent => row.gpu_memory_percent.map_or_else(na, |v| format!("{v:.0}%")),
        SortKey::Cpu => row.cpu.map_or_else(na, |v| format!("{v:.1}")),
        SortKey::HostMemory => row.host_memory.map_or_else(na, human_bytes),
        SortKey::Time => row.running_seconds.map_or_else(na, duration_coarse),
        SortKey::Command => row.command.clone(),
    }
}

fn fit(text: &str, width: u16, right: bool) -> String {
    let mut out = String::with_capacity(usize::from(width));
    push_fitted(&mut out, text, width, right);
    out
}

/// Appends `text` cut or padded to `width` terminal cells, aligned right or left. A wide
/// character that would straddle the edge is left out (and the cell padded).
fn push_fitted(out: &mut String, text: &str, width: u16, right: bool) {
    let width = usize::from(width);
    let mut used = 0;
    let mut end = text.len();
    for (i, c) in text.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            end = i;
            break;
        }
        used += w;
    }
    let cut = &text[..end];
    let pad = width - used;
    if right {
        out.extend(std::iter::repeat_n(' ', pad));
        out.push_str(cut);
    } else {
        out.push_str(cut);
        out.extend(std::iter::repeat_n(' ', pad));
    }
}

/// "GPU 1: processes unknown (no permission)" for each reachable GPU whose processes could not
/// be listed (a lost GPU's panel says so already), or "12 GPUs: …" where several share the
/// reason (a fleet whose exporter does not export them); and a line for each host that did
/// not answer.
fn unknown_lists(app: &App) -> Vec<String> {
    use crate::text::sanitize::sanitize;
    let Some(snapshot) = &app.snapshot else { return Vec::new() };
    let mut by_reason: Vec<(String, Vec<String>)> = Vec::new();
    for g in snapshot.gpus.iter().filter(|g| g.status == crate::sample::GpuStatus::Ok) {
        let Some(reason) = g.processes_unknown_reason() else { continue };
        let label = match &g.host {
            Some(host) => format!("{}:{}", sanitize(host), g.index),
            None => g.index.to_string(),
        };
        match by_reason.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, gpus)) => gpus.push(label),
            None => by_reason.push((reason, vec![label])),
        }
    }
    by_reason
        .into_iter()
        .map(|(reason, gpus)| match gpus.as_slice() {
            [one] => format!("GPU {one}: processes {reason}"),
            many => format!("{} GPUs: processes {reason}", many.len()),
        })
        .chain(
            snapshot
                .hosts
                .iter()
                .filter(|h| !h.up)
                .map(|h| format!("{}: processes unknown (host down)", sanitize(&h.url))),
        )
        .collect()
}

/// The GPU column holds the widest cell whole (`1023`, never `102`; `0/1` with MIG; `node7:0`
/// with many hosts), counted without formatting a string per row on every frame.
fn gpu_column_width(app: &App) -> u16 {
    use unicode_width::UnicodeWidthStr;
    let digits = |n: u32| n.checked_ilog10().unwrap_or(0) + 1;
    let width = |r: &ProcessRow| {
        let host = r.host.as_deref().map_or(0, |h| h.width() as u32 + 1);
        host + digits(r.gpu) + r.gpu_instance.map_or(0, |gi| 1 + digits(gi))
    };
    let widest = app.rows.iter().map(width).max().unwrap_or(1);
    (widest as u16).max(SortKey::Gpu.width().0)
}

fn column(key: SortKey, gpu_width: u16) -> (u16, bool) {
    match key {
        SortKey::Gpu => (gpu_width, true),
        other => other.width(),
    }
}

pub fn draw(frame: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    let unknown = unknown_lists(app);
    let title = match unknown.as_slice() {
        [] => format!(" Processes ({}) ", app.rows.len()),
        [one] => format!(" Processes ({}; {one}) ", app.rows.len()),
        many => format!(" Processes ({}; {} lists unknown) ", app.rows.len(), many.len()),
    };
    let title = Line::styled(title, theme.title);
    let inner = text::block(frame, area, theme, &title, &Line::default());
    let mut layout = app.layout.borrow_mut();
    layout.header_hitboxes.clear();
    layout.first_row_y = None;
    if inner.height == 0 || inner.width == 0 {
        return;
    }

    // Header, with the sort column marked and each column's place kept for mouse clicks.
    let arrow = match (app.descending, theme.ascii) {
        (true, false) => "▼",
        (false, false) => "▲",
        (true, true) => "v",
        (false, true) => "^",
    };
    let mut header = String::new();
    let mut x = inner.x;
    let gpu_width = gpu_column_width(app);
    for key in app.columns.iter().copied().chain([SortKey::Command]) {
        let (width, right) = column(key, gpu_width);
        let label = if key == app.sort {
            format!("{}{arrow}", key.label())
        } else {
            key.label().to_string()
        };
        let text = if width == 0 { label } else { fit(&label, width, right) };
        let w = unicode_width::UnicodeWidthStr::width(text.as_str()) as u16;
        layout.header_hitboxes.push((inner.y, x, x + w + 1, key));
        header.push_str(&text);
        header.push(' ');
        x += w + 1;
    }
    let header = fit(&header, inner.width, false);
    text::line(frame, Rect { height: 1, ..inner }, &Line::styled(header, theme.header));

    let visible = usize::from(inner.height - 1);
    if app.rows.is_empty() {
        let text = if !app.filter.is_empty() {
            "No process matches the filter.".to_string()
        } else if !unknown.is_empty() {
            unknown.join("; ")
        } else {
            "No GPU processes.".to_string()
        };
        if visible > 0 {
            frame.render_widget(
                Paragraph::new(Line::styled(text, theme.dim)),
                Rect { y: inner.y + 1, height: 1, ..inner },
            );
        }
        return;
    }
    // Keep the selection in view.
    let selected = app.selected_index();
    let mut offset = layout.table_offset.min(app.rows.len().saturating_sub(1));
    if let Some(s) = selected {
        if s < offset {
            offset = s;
        } else if visible > 0 && s >= offset + visible {
            offset = s + 1 - visible;
        }
    }
    offset = offset.min(app.rows.len().saturating_sub(visible.max(1)));
    layout.table_offset = offset;
    layout.first_row_y = Some(inner.y + 1);

    // A line per row, with plain columns joined into one span: a frame is redrawn on every
    // sample, so fewer, larger spans keep it cheap.
    let lines = app.rows.iter().enumerate().skip(offset).take(visible).map(|(i, row)| {
        let mut spans = Vec::with_capacity(5);
        let mut plain = String::with_capacity(usize::from(inner.width));
        for &key in &app.columns {
            let (width, right) = column(key, gpu_width);
            let style = match key {
                SortKey::Sm => Some(theme.load(row.sm.map(f64::from))),
                SortKey::GpuMemoryPercent => Some(theme.load(row.gpu_memory_percent)),
                _ => None,
            };
            match style {
                Some(style) => {
                    spans.push(Span::raw(std::mem::take(&mut plain)));
                    spans.push(Span::styled(fit(&cell(row, key), width, right), style));
                }
                None => push_fitted(&mut plain, &cell(row, key), width, right),
            }
            plain.push(' ');
        }
        spans.push(Span::raw(plain));
        // Where it runs (container, pod, job), then the command line; both scroll sideways.
        let place = row.placement.as_ref().map_or(String::new(), |p| format!("[{p}] "));
        let place_len = place.chars().count();
        spans.push(Span::styled(
            place.chars().skip(app.command_scroll).collect::<String>(),
            theme.dim,
        ));
        spans.push(Span::raw(
            row.command
                .chars()
                .skip(app.command_scroll.saturating_sub(place_len))
                .collect::<String>(),
        ));
        let line = Line::from(spans);
        if Some(i) == selected {
            line.style(theme.selected)
        } else {
            line
        }
    });
    for (y, line) in (inner.y + 1..inner.bottom()).zip(lines) {
        text::line(frame, Rect { y, height: 1, ..inner }, &line);
    }
}
