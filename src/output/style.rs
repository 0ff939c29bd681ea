//! Colour for human output: `--color auto|always|never`, `NO_COLOR`, and what the colours mean.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};
use clap::ValueEnum;

use crate::term::styled::StyledLine;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour stdout. An explicit `always` beats `NO_COLOR`, as flags beat the
    /// environment everywhere else.
    pub fn enabled(self) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
                !no_color && !dumb && std::io::stdout().is_terminal()
            }
        }
    }
}

impl ColorChoice {
    /// For the full-screen monitor, which only runs on a terminal: `NO_COLOR` and `never` turn
    /// colour off.
    pub fn enabled_for_tty(self) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

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
