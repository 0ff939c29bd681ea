//! The top line: host, driver, CUDA, time, refresh interval, host CPU and memory, and how
//! stale the data is when NVML stops answering.

use chrono::Local;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::output::sanitize::sanitize;
use crate::output::units::human_bytes;
use crate::tui::app::App;
use crate::tui::text;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    let sep = if theme.ascii { " | " } else { " • " };
    let mut spans: Vec<Span> = Vec::new();
    match &app.snapshot {
        None => spans.push(Span::styled("waiting for the first sample…", theme.dim)),
        Some(s) => {
            let host = &s.host;
            spans.push(Span::styled(
                sanitize(host.hostname.as_deref().unwrap_or("N/A")).into_owned(),
                theme.title,
            ));
            spans.push(Span::raw(format!(
                "{sep}driver {}{sep}CUDA {}{sep}{}{sep}every {}s",
                sanitize(host.driver_version.as_deref().unwrap_or("N/A")),
                host.cuda_driver_version.as_deref().unwrap_or("N/A"),
                s.taken_at.with_timezone(&Local).format("%H:%M:%S"),
                // 1, 0.25, 2.5: no trailing zeros.
                format!("{:.2}", app.interval.as_secs_f64())
                    .trim_end_matches('0')
                    .trim_end_matches('.')
            )));
            if let Some(cpu) = app.host_cpu {
                spans.push(Span::raw(format!("{sep}CPU {cpu:.0}%")));
            }
            if let Some((used, total)) = app.host_memory {
                spans.push(Span::raw(format!(
                    "{sep}MEM {}/{}",
                    human_bytes(used),
                    human_bytes(total)
                )));
            }
            // Many hosts: name the ones that did not answer.
            let down: Vec<String> =
                s.hosts.iter().filter(|h| !h.up).map(|h| sanitize(&h.url).into_owned()).collect();
            if !down.is_empty() {
                spans.push(Span::styled(format!("{sep}DOWN: {}", down.join(", ")), theme.alert));
            }
            if let Some(age) = app.stale_for() {
                spans.push(Span::styled(
                    format!("{sep}STALE {}s: NVML is not answering", age.as_secs()),
                    theme.alert,
                ));
            }
        }
    }
    text::line(frame, area, &Line::from(spans));
}
