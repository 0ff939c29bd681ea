//! Layout: where each part of the screen goes. Drawing only paints the app's state.
//!
//! ```text
//! host • driver 550.54.15 • CUDA 12.4 • 17:40:01 • every 1.0s • CPU 12% • MEM 3.2/16 GiB
//! ╭ 0 NVIDIA H100 80GB HBM3 ─────────────────────────── P0 62°C 312/700 W ╮
//! │ UTIL ██████████░░░  87%   MEM ██████░░░░░  41000/81559 MiB  50%     │   1 GPU: big charts
//! │ SM 1755/1980 MHz  MEM 2619 MHz  ENC 0%  DEC 3%  PCIe ↑1.0 ↓2.0 MB/s   │   2–8: a panel each
//! │ util ▂▃▅▇█▇  mem ▃▃▄▄▅  power ▂▅▇▆  temp ▄▄▅▅                 10m   │   more: one row each
//! ╰───────────────────────────────────────────────────────────────────────╯
//!  GPU     PID USER     TYPE  GPU-MEM▼ SM% GMEM%  CPU% HOST-MEM   TIME COMMAND
//!    0    4000 alice    C      39.1GiB  77   49%  99.0   2.0GiB  1:00:00 python train.py
//!  q quit  ? help  / filter  s sort  k kill  g gpus  p processes
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::app::{App, Overlay};
use super::theme::Theme;
use super::widgets::{footer, gpus, header, overlays, processes, timeline};

pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
/// Rows a GPU panel takes (borders included).
const PANEL_HEIGHT: u16 = 5;
/// Rows always left to the process table when both are shown.
const MIN_PROCESS_ROWS: u16 = 5;

/// How the GPUs are shown, chosen from their number and the room there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuLayout {
    /// One GPU with room for large charts.
    Big,
    /// A bordered panel per GPU, in `columns` columns.
    Panels { columns: u16 },
    /// One row per GPU with an inline sparkline, scrollable.
    Compact,
}

pub fn gpu_layout(gpus: usize, body: Rect, with_processes: bool) -> (GpuLayout, u16) {
    let room =
        if with_processes { body.height.saturating_sub(MIN_PROCESS_ROWS + 2) } else { body.height };
    if gpus == 1 && room >= 16 {
        let height = if with_processes { (body.height / 2).max(14) } else { body.height };
        return (GpuLayout::Big, height.min(room).max(14).min(body.height));
    }
    if gpus <= 8 {
        for columns in [1u16, 2] {
            if columns == 2 && body.width < 120 {
                break;
            }
            let rows = (gpus as u16).div_ceil(columns);
            if rows * PANEL_HEIGHT <= room {
                return (GpuLayout::Panels { columns }, rows * PANEL_HEIGHT);
            }
        }
    }
    // Header row and borders, then one row per GPU; at most half the screen with processes.
    let want = gpus as u16 + 3;
    let cap = if with_processes { (body.height / 2).max(4) } else { body.height };
    (GpuLayout::Compact, want.min(cap).min(body.height))
}

/// Where each part of the screen goes; `None` below the minimum size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub gpus: Option<(GpuLayout, Rect)>,
    pub processes: Option<Rect>,
    /// `--replay`: the playback's line, above the footer.
    pub timeline: Option<Rect>,
    pub footer: Rect,
}

pub fn areas(app: &App, area: Rect) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let timeline_rows = u16::from(app.replay.is_some());
    let [header, body, timeline, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(timeline_rows),
        Constraint::Length(1),
    ])
    .areas(area);
    let timeline = app.replay.is_some().then_some(timeline);
    let gpu_count = app.snapshot.as_ref().map_or(0, |s| s.gpus.len()).max(1);
    // Several hosts: a row each over their GPUs' rows, however few GPUs there are.
    let hosts = app.snapshot.as_ref().map_or(0, |s| s.hosts.len());
    let layout_of = |with_processes: bool| {
        if hosts > 1 {
            let want = (gpu_count + hosts) as u16 + 3;
            let cap = if with_processes { (body.height / 2).max(4) } else { body.height };
            (GpuLayout::Compact, want.min(cap).min(body.height))
        } else {
            gpu_layout(gpu_count, body, with_processes)
        }
    };
    let (gpus, processes) = match (app.show_gpus, app.show_processes) {
        (true, true) => {
            let (layout, height) = layout_of(true);
            let [g, p] =
                Layout::vertical([Constraint::Length(height), Constraint::Min(0)]).areas(body);
            (Some((layout, g)), Some(p))
        }
        (true, false) => (Some((layout_of(false).0, body)), None),
        (false, true) => (None, Some(body)),
        (false, false) => (None, None),
    };
    Some(Areas { header, gpus, processes, timeline, footer })
}

pub fn draw(frame: &mut Buffer, app: &App, theme: &Theme) {
    let area = frame.area;
    let Some(areas) = areas(app, area) else {
        let lines =
            too_small(area.width, area.height).into_iter().map(|l| Line::styled(l, theme.warn));
        frame.render_widget(Paragraph::new(lines.collect::<Vec<_>>()), area);
        return;
    };
    header::draw(frame, areas.header, app, theme);
    footer::draw(frame, areas.footer, app, theme);
    if let (Some(area), Some(playhead)) = (areas.timeline, &app.replay) {
        let playhead = playhead.lock().unwrap_or_else(|e| e.into_inner()).clone();
        timeline::draw(frame, area, &playhead, theme);
    }
    if let Some((layout, area)) = areas.gpus {
        gpus::draw(frame, area, app, theme, layout);
    }
    match areas.processes {
        Some(area) => processes::draw(frame, area, app, theme),
        None => {
            let mut layout = app.layout.borrow_mut();
            layout.first_row_y = None;
            layout.header_hitboxes.clear();
        }
    }
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help => overlays::help(frame, area, app, theme),
        Overlay::Owners(by) => overlays::owners(frame, area, app, theme, *by),
        Overlay::Details { key } => overlays::details(frame, area, app, theme, key),
        Overlay::Events => overlays::events(frame, area, app, theme),
        Overlay::Workloads => overlays::workloads(frame, area, app, theme),
        Overlay::Kill { key, signal, command } => {
            overlays::kill(frame, area, theme, key.pid, *signal, command)
        }
    }
}

/// Paints a widget into the frame being drawn, as ratatui's `Frame::render_widget` does.
pub trait Paint {
    fn render_widget<W: Widget>(&mut self, widget: W, area: Rect);
}

impl Paint for Buffer {
    fn render_widget<W: Widget>(&mut self, widget: W, area: Rect) {
        widget.render(area, self);
    }
}

/// A centred rectangle of at most `width`×`height` inside `area`, cleared for an overlay.
pub fn centered(frame: &mut Buffer, area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, rect);
    rect
}

/// The too-small message in as many words as fit `width`×`height`, wrapped at spaces: the
/// longest that fits of a few, shortest last.
fn too_small(width: u16, height: u16) -> Vec<String> {
    let (w, h) = (usize::from(width), usize::from(height));
    let forms = [
        format!("Terminal too small: {width}×{height} (need {MIN_WIDTH}×{MIN_HEIGHT})"),
        format!("Too small: {width}×{height}, need {MIN_WIDTH}×{MIN_HEIGHT}"),
        format!("Need {MIN_WIDTH}×{MIN_HEIGHT}"),
        format!("{MIN_WIDTH}×{MIN_HEIGHT}"),
        "!".to_string(),
    ];
    for form in &forms {
        let lines = wrap(form, w);
        if lines.len() <= h && lines.iter().all(|l| l.chars().count() <= w) {
            return lines;
        }
    }
    Vec::new()
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word overflows).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

#[cfg(test)]
mod too_small_tests {
    use super::*;

    #[test]
    fn the_message_fits_the_terminal_it_is_shown_in() {
        for (w, h) in [(39, 9), (20, 5), (10, 3), (10, 1), (5, 1), (3, 2), (1, 1)] {
            let lines = too_small(w, h);
            assert!(lines.len() <= usize::from(h), "{w}×{h}: {lines:?}");
            assert!(
                lines.iter().all(|l| l.chars().count() <= usize::from(w)),
                "{w}×{h}: {lines:?}"
            );
            assert!(!lines.is_empty(), "{w}×{h}: something is said");
        }
        assert_eq!(too_small(39, 9), ["Terminal too small: 39×9 (need 40×10)"]);
        assert_eq!(too_small(20, 5), ["Terminal too small:", "20×5 (need 40×10)"]);
        assert_eq!(too_small(10, 3), ["Too small:", "10×3, need", "40×10"]);
        assert_eq!(too_small(10, 1), ["Need 40×10"]);
    }
}
