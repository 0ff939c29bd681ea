//! The bottom line: the filter being typed, a message, or the main keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::text::sanitize::sanitize;
use crate::tui::app::App;
use crate::tui::text;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    let line = if let Some(goto) = &app.goto {
        Line::from(vec![
            Span::styled("go to (2026-11-29 03:00): ", theme.title),
            Span::raw(sanitize(goto).into_owned()),
            Span::styled("_", theme.dim),
        ])
    } else if app.editing_filter {
        Line::from(vec![
            Span::styled("filter: ", theme.title),
            Span::raw(sanitize(&app.filter).into_owned()),
            Span::styled("_", theme.dim),
        ])
    } else if let Some(msg) = &app.message {
        Line::styled(sanitize(msg).into_owned(), theme.warn)
    } else if let Some(alert) = &app.alert {
        Line::from(vec![
            Span::styled(format!(" {} {alert} ", theme.warn_mark()), theme.alert),
            Span::styled(" e", theme.title),
            Span::styled(" events ", theme.dim),
        ])
    } else {
        let mut spans = Vec::new();
        let keys = [
            ("q", "quit"),
            ("?", "help"),
            ("/", "filter"),
            ("s", "sort"),
            ("Enter", "details"),
            ("k", "kill"),
            ("g", "gpus"),
            ("p", "processes"),
        ];
        for (key, what) in keys {
            // In a replay, g goes to a time (the timeline line says so).
            if key == "k" && !app.offers_signals() || key == "g" && app.replay.is_some() {
                continue;
            }
            spans.push(Span::styled(format!(" {key}"), theme.title));
            spans.push(Span::styled(format!(" {what} "), theme.dim));
        }
        if !app.filter.is_empty() {
            spans.push(Span::styled(format!(" [filter: {}]", sanitize(&app.filter)), theme.warn));
        }
        Line::from(spans)
    };
    text::line(frame, area, &line);
}
