//! Colours and symbols of the interface: a dark theme (default), a light one, and a monochrome
//! one for `NO_COLOR` / `--color never`; Unicode or ASCII drawing. Only the 16 ANSI colours,
//! so it looks right over SSH, in tmux and in PuTTY without true colour.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols;
use ratatui::text::Span;
use ratatui::widgets::Block;

pub use crate::config::ThemeName;

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub border: Style,
    pub title: Style,
    pub text: Style,
    pub dim: Style,
    pub header: Style,
    pub selected: Style,
    pub alert: Style,
    pub warn: Style,
    pub ok: Style,
    pub gauge_low: Style,
    pub gauge_mid: Style,
    pub gauge_high: Style,
    pub chart: Style,
    pub ascii: bool,
}

impl Theme {
    pub fn new(name: ThemeName, ascii: bool) -> Self {
        let plain = Style::new();
        let fg = |c: Color| Style::new().fg(c);
        match name {
            ThemeName::Dark => Theme {
                border: fg(Color::DarkGray),
                title: fg(Color::Cyan).add_modifier(Modifier::BOLD),
                text: plain,
                dim: fg(Color::DarkGray),
                header: fg(Color::Black).bg(Color::Cyan).add_modifier(Modifier::BOLD),
                selected: fg(Color::Black).bg(Color::White),
                alert: fg(Color::Red).add_modifier(Modifier::BOLD),
                warn: fg(Color::Yellow),
                ok: fg(Color::Green),
                gauge_low: fg(Color::Green),
                gauge_mid: fg(Color::Yellow),
                gauge_high: fg(Color::Red),
                chart: fg(Color::Cyan),
                ascii,
            },
            ThemeName::Light => Theme {
                border: fg(Color::Gray),
                title: fg(Color::Blue).add_modifier(Modifier::BOLD),
                text: fg(Color::Black),
                dim: fg(Color::Gray),
                header: fg(Color::White).bg(Color::Blue).add_modifier(Modifier::BOLD),
                selected: fg(Color::White).bg(Color::Black),
                alert: fg(Color::Red).add_modifier(Modifier::BOLD),
                warn: fg(Color::Magenta),
                ok: fg(Color::Green),
                gauge_low: fg(Color::Green),
                gauge_mid: fg(Color::Magenta),
                gauge_high: fg(Color::Red),
                chart: fg(Color::Blue),
                ascii,
            },
            ThemeName::Mono => Theme {
                border: plain,
                title: plain.add_modifier(Modifier::BOLD),
                text: plain,
                dim: plain,
                header: plain.add_modifier(Modifier::REVERSED),
                selected: plain.add_modifier(Modifier::REVERSED),
                alert: plain.add_modifier(Modifier::BOLD),
                warn: plain.add_modifier(Modifier::BOLD),
                ok: plain,
                gauge_low: plain,
                gauge_mid: plain,
                gauge_high: plain,
                chart: plain,
                ascii,
            },
        }
    }

    /// Load colour: light, busy, nearly full.
    pub fn load(&self, percent: Option<f64>) -> Style {
        match percent {
            None => self.dim,
            Some(p) if p >= 90.0 => self.gauge_high,
            Some(p) if p >= 50.0 => self.gauge_mid,
            Some(_) => self.gauge_low,
        }
    }

    pub fn border_set(&self) -> symbols::border::Set<'static> {
        if self.ascii {
            symbols::border::Set {
                top_left: "+",
                top_right: "+",
                bottom_left: "+",
                bottom_right: "+",
                vertical_left: "|",
                vertical_right: "|",
                horizontal_top: "-",
                horizontal_bottom: "-",
            }
        } else {
            symbols::border::ROUNDED
        }
    }

    /// The bordered box every part of the screen is drawn in.
    pub fn block<'a>(&self) -> Block<'a> {
        Block::bordered().border_set(self.border_set()).border_style(self.border)
    }

    pub fn bar_set(&self) -> symbols::bar::Set<'static> {
        if self.ascii {
            symbols::bar::Set {
                full: "#",
                seven_eighths: "#",
                three_quarters: "=",
                five_eighths: "=",
                half: "-",
                three_eighths: "-",
                one_quarter: ".",
                one_eighth: ".",
                empty: " ",
            }
        } else {
            symbols::bar::NINE_LEVELS
        }
    }

    /// A horizontal bar of `width` cells filled to `ratio`, coloured like a level meter: each
    /// cell by its own position (green, then yellow from 50 %, red from 90 %), not by the value.
    /// A value crossing a threshold then repaints only the cells it gains or loses, where
    /// colouring the whole bar by the value would repaint all of it (bytes over SSH).
    pub fn bar(&self, ratio: f64, width: usize) -> Vec<Span<'static>> {
        let filled = ((ratio.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
        let (full, empty) = if self.ascii { ("#", ".") } else { ("█", "░") };
        let mut spans: Vec<Span<'static>> = Vec::with_capacity(4);
        for cell in 0..width {
            let (symbol, style) = if cell < filled {
                (full, self.load(Some((cell + 1) as f64 * 100.0 / width as f64)))
            } else {
                (empty, self.dim)
            };
            match spans.last_mut() {
                Some(last) if last.style == style => last.content.to_mut().push_str(symbol),
                _ => spans.push(Span::styled(symbol.to_string(), style)),
            }
        }
        spans
    }

    pub fn degree(&self) -> &'static str {
        if self.ascii {
            "C"
        } else {
            "°C"
        }
    }

    pub fn warn_mark(&self) -> &'static str {
        if self.ascii {
            "!"
        } else {
            "⚠"
        }
    }
}
