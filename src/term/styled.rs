//! Styled text, made once by the table renderers: written as SGR codes to a stream (`--once`,
//! `--watch` into a pipe) or set straight into a frame's cells (`--watch` on a terminal), so
//! neither view has to read the other's output back.
//!
//! A type of its own rather than ratatui's `Line`: its styles are anstyle's, whose codes are
//! the bytes `--once` has always written (ratatui's would need a second SGR writer that
//! matches them byte for byte); a line is one `String` with its styled byte ranges beside it
//! (no allocation per span); and it remembers where it was cut to the terminal's width, which
//! decides how a cut line's codes end.

use std::fmt::{self, Write};
use std::ops::Range;

use anstyle::{Effects, Style};
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthChar;

/// A line of text with runs in a style. Widths are terminal cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StyledLine {
    text: String,
    /// The styled runs of `text`, in order and apart; the rest is plain. Never `Style::new()`.
    styled: Vec<(Range<usize>, Style)>,
    /// Cut by [`StyledLine::clip`]: the codes end with a reset.
    cut: bool,
    /// The cut fell in the last run (or at its start): its own end code is left to that reset.
    last_run_cut: bool,
}

impl StyledLine {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `text` in `style` (plain when `style` is `Style::new()`).
    pub fn push(&mut self, style: Style, text: impl fmt::Display) {
        let start = self.text.len();
        let _ = write!(self.text, "{text}");
        if style != Style::new() {
            self.styled.push((start..self.text.len(), style));
        }
    }

    /// The text without its styles.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Cuts the line to `width` terminal cells. A wide character that would straddle the edge
    /// is left out: a line that wrapped would throw every later cursor move off.
    pub fn clip(&mut self, width: usize) {
        let (mut visible, mut cut) = (0, None);
        for (i, c) in self.text.char_indices() {
            let w = c.width().unwrap_or(0);
            if visible + w > width {
                cut = Some(i);
                break;
            }
            visible += w;
        }
        let Some(cut) = cut else { return };
        self.text.truncate(cut);
        // A run that starts at the cut stays, empty: its start code came before the cut.
        self.styled.retain(|(range, _)| range.start <= cut);
        if let Some((range, _)) = self.styled.last_mut().filter(|(range, _)| range.end > cut) {
            range.end = cut;
            self.last_run_cut = true;
        }
        self.cut = true;
    }

    /// Sets the line into row `y` of `buf` from its first column, cut at its width: the same
    /// cells a terminal shows after the line's SGR codes.
    pub fn set_in(&self, buf: &mut Buffer, y: u16) {
        let (left, right) = (buf.area.left(), buf.area.right());
        let mut set = |x: u16, text: &str, style: ratatui::style::Style| {
            if x >= right || text.is_empty() {
                return x;
            }
            buf.set_stringn(x, y, text, usize::from(right - x), style).0
        };
        let plain = ratatui::style::Style::reset();
        let (mut x, mut at) = (left, 0);
        for (range, style) in &self.styled {
            x = set(x, &self.text[at..range.start], plain);
            x = set(x, &self.text[range.clone()], cell_style(*style));
            at = range.end;
        }
        set(x, &self.text[at..], plain);
    }
}

/// SGR codes: each run between its style's start code and a reset; a line cut by
/// [`StyledLine::clip`] ends with a reset when it has any code.
impl fmt::Display for StyledLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut at = 0;
        for (i, (range, style)) in self.styled.iter().enumerate() {
            f.write_str(&self.text[at..range.start])?;
            write!(f, "{style}")?;
            f.write_str(&self.text[range.clone()])?;
            if !(self.last_run_cut && i + 1 == self.styled.len()) {
                write!(f, "{style:#}")?;
            }
            at = range.end;
        }
        f.write_str(&self.text[at..])?;
        if self.cut && !self.styled.is_empty() {
            f.write_str("\x1b[0m")?;
        }
        Ok(())
    }
}

/// Appends plain text: `write!(line, …)`.
impl Write for StyledLine {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.text.push_str(s);
        Ok(())
    }
}

impl From<String> for StyledLine {
    fn from(text: String) -> Self {
        Self { text, ..Self::default() }
    }
}

impl From<&str> for StyledLine {
    fn from(text: &str) -> Self {
        Self::from(text.to_string())
    }
}

/// A cell's style for an anstyle style: what the terminal shows after its SGR codes, from the
/// default colours.
fn cell_style(style: Style) -> ratatui::style::Style {
    const MODIFIERS: [(Effects, Modifier); 6] = [
        (Effects::BOLD, Modifier::BOLD),
        (Effects::DIMMED, Modifier::DIM),
        (Effects::ITALIC, Modifier::ITALIC),
        (Effects::UNDERLINE, Modifier::UNDERLINED),
        (Effects::INVERT, Modifier::REVERSED),
        (Effects::STRIKETHROUGH, Modifier::CROSSED_OUT),
    ];
    let mut cell = ratatui::style::Style::reset();
    for (effect, modifier) in MODIFIERS {
        if style.get_effects().contains(effect) {
            cell = cell.add_modifier(modifier);
        }
    }
    if let Some(fg) = style.get_fg_color() {
        cell = cell.fg(color(fg));
    }
    if let Some(bg) = style.get_bg_color() {
        cell = cell.bg(color(bg));
    }
    cell
}

fn color(color: anstyle::Color) -> Color {
    use anstyle::AnsiColor::*;
    match color {
        anstyle::Color::Ansi(ansi) => match ansi {
            Black => Color::Black,
            Red => Color::Red,
            Green => Color::Green,
            Yellow => Color::Yellow,
            Blue => Color::Blue,
            Magenta => Color::Magenta,
            Cyan => Color::Cyan,
            White => Color::Gray,
            BrightBlack => Color::DarkGray,
            BrightRed => Color::LightRed,
            BrightGreen => Color::LightGreen,
            BrightYellow => Color::LightYellow,
            BrightBlue => Color::LightBlue,
            BrightMagenta => Color::LightMagenta,
            BrightCyan => Color::LightCyan,
            BrightWhite => Color::White,
        },
        anstyle::Color::Ansi256(c) => Color::Indexed(c.index()),
        anstyle::Color::Rgb(c) => Color::Rgb(c.r(), c.g(), c.b()),
    }
}

#[cfg(test)]
mod tests {
    use anstyle::AnsiColor;
    use ratatui::layout::Rect;

    use super::*;

    const RED_BOLD: Style = AnsiColor::Red.on_default().bold();
    const DIM: Style = Style::new().dimmed();

    fn line(pieces: &[(Style, &str)]) -> StyledLine {
        let mut line = StyledLine::new();
        for (style, text) in pieces {
            line.push(*style, text);
        }
        line
    }

    /// What the table wrote before it made styled text: each piece painted on its own, the line
    /// cut by counting the cells outside escape sequences, a reset after a cut line with codes.
    fn painted_then_cut(pieces: &[(Style, &str)], width: Option<usize>) -> String {
        let painted: String = pieces
            .iter()
            .map(|(s, t)| if *s == Style::new() { t.to_string() } else { format!("{s}{t}{s:#}") })
            .collect();
        let Some(width) = width else { return painted };
        let (mut out, mut visible, mut cut) = (String::new(), 0, false);
        let mut chars = painted.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                out.push(c);
                for e in chars.by_ref() {
                    out.push(e);
                    if e.is_ascii_alphabetic() {
                        break;
                    }
                }
                continue;
            }
            let w = c.width().unwrap_or(0);
            if visible + w > width {
                cut = true;
                break;
            }
            out.push(c);
            visible += w;
        }
        if cut && out.contains('\x1b') {
            out.push_str("\x1b[0m");
        }
        out
    }

    #[test]
    fn sgr_is_the_bytes_of_painting_each_piece_then_cutting() {
        let pieces = [
            (Style::new(), "  0  H100  "),
            (RED_BOLD, " 91°C"),
            (Style::new(), "  "),
            (DIM, ""),
            (DIM, "训练x"),
            (Style::new(), "e\u{301}nd"),
            (RED_BOLD, "!"),
        ];
        let full = line(&pieces);
        assert_eq!(full.to_string(), painted_then_cut(&pieces, None));
        for width in 0..=30 {
            let mut cut = full.clone();
            cut.clip(width);
            assert_eq!(cut.to_string(), painted_then_cut(&pieces, Some(width)), "width {width}");
            let mut plain = StyledLine::from(full.text());
            plain.clip(width);
            assert_eq!(plain.text(), cut.text(), "the same text with or without styles");
        }
    }

    #[test]
    fn clip_counts_cells_and_leaves_out_a_straddling_wide_character() {
        let mut l = StyledLine::from("ab训c");
        l.clip(3);
        assert_eq!(l.to_string(), "ab");
        let mut l = line(&[(RED_BOLD, "abcdef")]);
        l.clip(2);
        assert_eq!(l.text(), "ab");
        assert_eq!(l.to_string(), format!("{RED_BOLD}ab\x1b[0m"), "one reset ends the cut run");
        let mut l = StyledLine::from("ab");
        l.clip(5);
        assert_eq!(l.to_string(), "ab");
    }

    #[test]
    fn cells_take_the_runs_styles_and_the_text_is_cut_to_the_width() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 1));
        let l = line(&[
            (Style::new(), "a"),
            (RED_BOLD, "b"),
            (AnsiColor::Yellow.on_default(), "c"),
            (Style::new(), "训练练练"),
        ]);
        l.set_in(&mut buf, 0);
        assert_eq!(buf[(0, 0)].symbol(), "a");
        assert_eq!((buf[(0, 0)].fg, buf[(0, 0)].modifier), (Color::Reset, Modifier::empty()));
        assert_eq!((buf[(1, 0)].fg, buf[(1, 0)].modifier), (Color::Red, Modifier::BOLD));
        assert_eq!((buf[(2, 0)].fg, buf[(2, 0)].modifier), (Color::Yellow, Modifier::empty()));
        // Two-cell characters, as many as fit in the five columns left.
        assert_eq!(buf[(3, 0)].symbol(), "训");
        assert_eq!(buf[(3, 0)].fg, Color::Reset);
        assert_eq!(buf[(5, 0)].symbol(), "练");
        assert_eq!(buf[(7, 0)].symbol(), " ");
    }

    #[test]
    fn cell_styles_follow_the_sgr_codes() {
        let cell = cell_style(DIM.fg_color(Some(AnsiColor::BrightBlack.into())));
        assert_eq!(cell.fg, Some(Color::DarkGray));
        assert_eq!(cell.bg, Some(Color::Reset), "from the default colours");
        assert_eq!(cell.add_modifier, Modifier::DIM);
        let rgb = Style::new().bg_color(Some(anstyle::RgbColor(1, 2, 3).into())).underline();
        assert_eq!(cell_style(rgb).bg, Some(Color::Rgb(1, 2, 3)));
        assert_eq!(cell_style(rgb).add_modifier, Modifier::UNDERLINED);
    }
}
