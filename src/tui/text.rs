//! Lines and bordered blocks painted straight into the frame's cells.
//!
//! ratatui paints a `Line` grapheme by grapheme, with Unicode segmentation and a width lookup
//! for every character: the largest part of painting a frame. The monitor's text is almost all
//! ASCII, box drawing and block elements, one cell per character, so such lines are written a
//! character per cell here. Any other line (wide or combining characters, or too long for its
//! area) goes through ratatui, and comes out as ratatui draws it.
//!
//! Worth keeping: with everything painted by ratatui instead, the monitor took 0.241–0.260 %
//! of a core against 0.205–0.206 % with this (8 GPUs × 8 processes, moving load, 200×60,
//! two alternating 30 s rounds of each build, 2026-11-29): 15–21 % of its CPU.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

use super::theme::Theme;

/// Paints `line` into `area`, as `Line::render` does.
pub fn line(buf: &mut Buffer, area: Rect, line: &Line) {
    let area = area.intersection(buf.area);
    let width = simple_width(&line.spans);
    let Some(width) = width.filter(|&w| w <= usize::from(area.width)) else {
        line.render(area, buf);
        return;
    };
    if area.is_empty() || width == 0 {
        return;
    }
    let area = Rect { height: 1, ..area };
    buf.set_style(area, line.style);
    let room = usize::from(area.width) - width;
    let indent = match line.alignment {
        Some(Alignment::Center) => room / 2,
        Some(Alignment::Right) => room,
        Some(Alignment::Left) | None => 0,
    };
    let mut x = area.x + indent as u16;
    for span in &line.spans {
        for c in span.content.chars() {
            buf[(x, area.y)].set_char(c).set_style(span.style);
            x += 1;
        }
    }
}

/// Paints a bordered block in the theme's border, with `left` and `right` on its top border
/// where `Block::title` puts a left- and a right-aligned title, and returns its inside.
pub fn block(buf: &mut Buffer, area: Rect, theme: &Theme, left: &Line, right: &Line) -> Rect {
    let inside = Block::bordered().inner(area);
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return inside;
    }
    borders(buf, area, &theme.border_set(), theme.border);
    // Both measured from the whole border: the right title goes over the left one when they
    // do not fit side by side, as ratatui draws them.
    let titles = Rect { x: area.x + 1, y: area.y, width: area.width.saturating_sub(2), height: 1 };
    if !titles.is_empty() {
        line(buf, Rect { width: width(left).min(titles.width), ..titles }, left);
        let right_width = width(right);
        let x = titles.right().saturating_sub(right_width).max(titles.left());
        line(buf, Rect { x, width: right_width.min(titles.width), ..titles }, right);
    }
    inside
}

/// The four sides, then the corners, in the order `Block` draws them.
fn borders(buf: &mut Buffer, area: Rect, set: &border::Set, style: Style) {
    let (left, top) = (area.left(), area.top());
    let (right, bottom) = (area.right() - 1, area.bottom() - 1);
    let mut put = |x: u16, y: u16, symbol: &str| {
        buf[(x, y)].set_symbol(symbol).set_style(style);
    };
    (top..=bottom).for_each(|y| put(left, y, set.vertical_left));
    (left..=right).for_each(|x| put(x, top, set.horizontal_top));
    (top..=bottom).for_each(|y| put(right, y, set.vertical_right));
    (left..=right).for_each(|x| put(x, bottom, set.horizontal_bottom));
    put(right, bottom, set.bottom_right);
    put(right, top, set.top_right);
    put(left, bottom, set.bottom_left);
    put(left, top, set.top_left);
}

/// A line's width in cells, as `Block` counts it for a title.
fn width(line: &Line) -> u16 {
    let width = simple_width(&line.spans).unwrap_or_else(|| line.width());
    u16::try_from(width).unwrap_or(u16::MAX)
}

/// Paints one span at the left of `area`.
pub fn span(buf: &mut Buffer, area: Rect, span: Span) {
    line(buf, area, &Line::from(span));
}

/// The width of spans made only of [`simple`] characters; `None` if any other is there.
fn simple_width(spans: &[Span]) -> Option<usize> {
    spans.iter().try_fold(0, |width, span| {
        span.content.chars().all(simple).then(|| width + span.content.chars().count())
    })
}

/// A character that takes one cell and is a grapheme of its own next to any other of these:
/// printable ASCII, the degree sign, and the arrows, box drawing, block elements and marks
/// the monitor draws with.
fn simple(c: char) -> bool {
    matches!(c,
        ' '..='~' | '°' | '•' | '…' | '←'..='↓' | '─'..='▟' | '▲' | '▼')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::theme::ThemeName;
    use ratatui::style::{Color, Modifier};

    #[test]
    fn simple_characters_are_one_cell_and_one_grapheme_each() {
        let all: String =
            (0..=0x10FFFF_u32).filter_map(char::from_u32).filter(|&c| simple(c)).collect();
        let span = Span::raw(all.as_str());
        assert_eq!(span.width(), all.chars().count());
        assert_eq!(span.styled_graphemes(Style::default()).count(), all.chars().count());
    }

    /// Random lines of simple and other characters (wide, combining, control), in random
    /// styles and alignments, painted over random cells: the same buffer as ratatui's.
    #[test]
    fn paints_what_ratatui_paints() {
        let alphabet: Vec<&str> = vec![
            "a", "Z", " ", "7", "%", "/", "°", "█", "░", "─", "╭", "│", "▼", "↑", "…", "•", "漢",
            "e\u{301}", "\u{301}", "\t", "\x1b", "⚠", "🙂", "👍🏽",
        ];
        let styles = [
            Style::default(),
            Style::new().fg(Color::Red),
            Style::new().bg(Color::Indexed(236)).add_modifier(Modifier::BOLD),
            Style::new().remove_modifier(Modifier::BOLD).fg(Color::Reset),
        ];
        let alignments =
            [None, Some(Alignment::Left), Some(Alignment::Center), Some(Alignment::Right)];
        let themes = [
            Theme::new(ThemeName::Dark, false),
            Theme::new(ThemeName::Light, false),
            Theme::new(ThemeName::Mono, true),
        ];
        let mut seed = 0x9e37_79b9_u32;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as usize % n
        };
        for round in 0..2_000 {
            let spans: Vec<Span> = (0..next(5))
                .map(|_| {
                    // Mostly simple characters, as the monitor's lines are.
                    let text: String = (0..next(12))
                        .map(|_| {
                            if round % 3 == 0 {
                                alphabet[next(alphabet.len())]
                            } else {
                                alphabet[next(16)]
                            }
                        })
                        .collect();
                    Span::styled(text, styles[next(styles.len())])
                })
                .collect();
            let mut l = Line::from(spans).style(styles[next(styles.len())]);
            l.alignment = alignments[next(alignments.len())];
            let area = Rect::new(next(6) as u16, next(3) as u16, next(30) as u16, next(3) as u16);
            let mut expected = Buffer::empty(Rect::new(0, 0, 24, 3));
            for (i, cell) in expected.content.iter_mut().enumerate() {
                cell.set_char(if i % 2 == 0 { 'x' } else { '漢' })
                    .set_style(styles[i % styles.len()]);
            }
            let mut painted = expected.clone();
            let mut titled = expected.clone();
            (&l).render(area, &mut expected);
            line(&mut painted, area, &l);
            assert_eq!(painted, expected, "round {round}: {l:?} in {area:?}");

            // The same line as a block's left title, with another on the right.
            let frame = Rect { height: area.height + 2, ..area };
            let right = Line::from(Span::styled(alphabet[next(16)].repeat(next(8)), styles[1]))
                .right_aligned();
            let theme = &themes[next(themes.len())];
            let mut left = l.clone();
            left.alignment = alignments[next(2)];
            let mut expected = titled.clone();
            theme.block().title(left.clone()).title(right.clone()).render(frame, &mut expected);
            let inside = block(&mut titled, frame, theme, &left, &right);
            assert_eq!(titled, expected, "round {round}: {left:?} and {right:?} on {frame:?}");
            assert_eq!(inside, theme.block().inner(frame));
        }
    }
}
