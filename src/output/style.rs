//! Colour for human output: what the colours mean, painted when [`crate::term::caps`] says
//! colour is on (`--color auto|always|never`, `NO_COLOR`).

use crate::term::styled::StyledLine;
use anstyle::{AnsiColor, Style};

/// Applies styles only when colour is on.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    pub enabled: bool,
}

impl Painter {
    /// Appends `text` to `line`, in `style` when colour is on.
    pub fn paint(&self, line: &mut StyledLine, style: Style, text: impl std::fmt::Display) {
        line.push(if self.enabled { style } else { Style::new() }, text);
    }

    /// `text` as a line of its own, in `style` when colour is on.
    pub fn line(&self, style: Style, text: impl std::fmt::Display) -> StyledLine {
        let mut line = StyledLine::new();
        self.paint(&mut line, style, text);
        line
    }
}

pub const HEADER: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();
pub const ALERT: Style = AnsiColor::Red.on_default().bold();
pub const PLAIN: Style = Style::new();

fn fg(c: AnsiColor) -> Style {
    c.on_default()
}

/// Utilization and memory load: plain when light, yellow when busy, red when nearly full.
/// Only what needs attention is coloured, which also keeps refreshes small over SSH.
pub fn load(percent: Option<f64>) -> Style {
    match percent {
        None => DIM,
        Some(p) if p >= 90.0 => fg(AnsiColor::Red),
        Some(p) if p >= 50.0 => fg(AnsiColor::Yellow),
        Some(_) => PLAIN,
    }
}

/// Temperature against the GPU's own slowdown threshold when known.
pub fn temperature(celsius: Option<u32>, slowdown: Option<u32>) -> Style {
    let Some(t) = celsius else { return DIM };
    let hot = slowdown.map_or(83, |s| s.saturating_sub(5));
    if t >= hot {
        fg(AnsiColor::Red).bold()
    } else if t >= 75 {
        fg(AnsiColor::Yellow)
    } else {
        PLAIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painter_off_leaves_text_alone() {
        assert_eq!(Painter { enabled: false }.line(ALERT, "x").to_string(), "x");
        let on = Painter { enabled: true }.line(ALERT, "x").to_string();
        assert_eq!(on, format!("{ALERT}x{ALERT:#}"));
    }

    #[test]
    fn temperature_uses_the_slowdown_threshold() {
        assert_eq!(temperature(Some(83), Some(87)), fg(AnsiColor::Red).bold());
        assert_eq!(temperature(Some(80), Some(87)), fg(AnsiColor::Yellow));
        assert_eq!(temperature(Some(40), Some(87)), PLAIN, "only what needs attention is coloured");
        assert_eq!(load(Some(20.0)), PLAIN);
        assert_eq!(temperature(None, Some(87)), DIM);
    }
}
