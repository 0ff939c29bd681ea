//! The top line: host, driver, CUDA, time, refresh interval, host CPU and memory, and how
//! stale the data is when NVML stops answering.

use chrono::Local;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::text::sanitize::sanitize;
use crate::text::units::human_bytes;
use crate::tui::app::App;
use crate::tui::text;
use crate::tui::theme::Theme;

/// `• CPU 12% MEM 3.1G/64G`, each part only when known.
fn push_usage(
    spans: &mut Vec<Span>,
    sep: &str,
    who: &str,
    cpu: Option<f32>,
    memory: Option<(u64, u64)>,
) {
    let mut parts = Vec::new();
    if let Some(cpu) = cpu {
        parts.push(format!("CPU {cpu:.0}%"));
    }
    if let Some((used, total)) = memory {
        parts.push(format!("MEM {}/{}", human_bytes(used), human_bytes(total)));
    }
    if !parts.is_empty() {
        // This machine's parts stand apart; a named host's stay together after its name.
        let join = if who.is_empty() { sep } else { " " };
        spans.push(Span::raw(format!("{sep}{who}{}", parts.join(join))));
    }
}

pub fn draw(frame: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    let sep = if theme.ascii { " | " } else { " • " };
    let mut spans: Vec<Span> = Vec::new();
    match &app.snapshot {
        None => spans.push(Span::styled("waiting for the first sample…", theme.dim)),
        Some(s) => {
            let host = &s.host;
            let name = if s.hosts.is_empty() {
                sanitize(host.hostname.as_deref().unwrap_or("N/A")).into_owned()
            } else {
                let up = s.hosts.iter().filter(|h| h.up).count();
                format!("{up}/{} hosts up", s.hosts.len())
            };
            spans.push(Span::styled(name, theme.title));
            // Many hosts: this machine's driver says nothing about theirs.
            // Only AMD and Intel GPUs: no NVIDIA driver to name.
            if (s.hosts.is_empty() || host.driver_version.is_some()) && s.shows_nvidia_driver() {
                spans.push(Span::raw(format!(
                    "{sep}driver {}{sep}CUDA {}",
                    sanitize(host.driver_version.as_deref().unwrap_or("N/A")),
                    host.cuda_driver_version.as_deref().unwrap_or("N/A"),
                )));
            }
            spans.push(Span::raw(format!(
                "{sep}{}{sep}every {}s",
                s.taken_at.with_timezone(&Local).format("%H:%M:%S"),
                // 1, 0.25, 2.5: no trailing zeros.
                format!("{:.2}", app.interval.as_secs_f64())
                    .trim_end_matches('0')
                    .trim_end_matches('.')
            )));
            // This machine's CPU and memory now, which a replay of another time is not about.
            if s.hosts.is_empty() && app.replay.is_none() {
                push_usage(&mut spans, sep, "", app.host_cpu, app.host_memory);
            }
            // Many hosts: each one's own CPU and memory, never this machine's; and why the
            // others did not answer.
            for h in s.hosts.iter().filter(|h| h.up) {
                let name = sanitize(h.hostname.as_deref().unwrap_or(&h.url)).into_owned();
                let memory = h.memory_used_bytes.zip(h.memory_total_bytes);
                push_usage(&mut spans, sep, &format!("{name} "), h.cpu_percent, memory);
            }
            for h in s.hosts.iter().filter(|h| !h.up) {
                let why = h.error.as_deref().unwrap_or("no answer");
                spans.push(Span::styled(
                    format!("{sep}DOWN {} ({})", sanitize(&h.url), sanitize(why)),
                    theme.alert,
                ));
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
