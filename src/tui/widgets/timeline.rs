//! `--replay`: where the playback is in the recording, and its keys.
//!
//! ```text
//! ▶ 2026-11-29 03:12:05 ├──────────●─────────────┤ 1x  ←/→ step  PgUp/PgDn 10 min  g go to  space pause  +/- speed
//! ```

use chrono::{Local, TimeZone};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::playhead::Playhead;
use crate::tui::text;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Buffer, area: Rect, playhead: &Playhead, theme: &Theme) {
    let ascii = theme.ascii;
    let local = |ms: i64| {
        Local.timestamp_millis_opt(ms).single().map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
    };
    let state = match (playhead.paused, ascii) {
        (true, false) => "⏸",
        (true, true) => "||",
        (false, false) => "▶",
        (false, true) => ">",
    };
    let at = local(playhead.at_ms).unwrap_or_else(|| "?".into());
    let keys = "  ←/→ step  PgUp/PgDn 10 min  g go to  space pause  +/- speed";
    let speed = format!(" {}x", playhead.speed);
    let fixed = state.chars().count() + 1 + at.len() + 1 + speed.len() + 2;
    let keys = if usize::from(area.width) >= fixed + 12 + keys.chars().count() { keys } else { "" };
    let bar_width = usize::from(area.width).saturating_sub(fixed + keys.chars().count());
    let span = (playhead.last_ms - playhead.first_ms).max(1);
    let inner = bar_width.saturating_sub(2);
    let position = if inner == 0 {
        0
    } else {
        (((playhead.at_ms - playhead.first_ms).clamp(0, span) as f64 / span as f64)
            * (inner - 1) as f64)
            .round() as usize
    };
    let (left, fill, mark, right) =
        if ascii { ('[', '-', '#', ']') } else { ('├', '─', '●', '┤') };
    let mut bar = String::with_capacity(bar_width * 3);
    if inner > 0 {
        bar.push(left);
        for i in 0..inner {
            bar.push(if i == position { mark } else { fill });
        }
        bar.push(right);
    }
    let line = Line::from(vec![
        Span::styled(format!("{state} {at} "), theme.title),
        Span::styled(bar, theme.dim),
        Span::styled(speed, theme.title),
        Span::styled(keys.to_string(), theme.dim),
    ]);
    text::line(frame, area, &line);
}
