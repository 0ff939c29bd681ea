//! Painted lines (text with the SGR colour codes `output::style` writes) laid into a frame's
//! cells, so the watch view goes through the same screen writer as the monitor.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

/// Lays `line` into row `y` of `buf` from the first column, cut at the buffer's width.
pub fn set_line(buf: &mut Buffer, y: u16, line: &str) {
    let (width, mut x) = (buf.area.width, 0u16);
    let mut style = Style::reset();
    let mut rest = line;
    while !rest.is_empty() && x < width {
        let text_end = rest.find('\x1b').unwrap_or(rest.len());
        if text_end > 0 {
            let max = usize::from(width - x);
            x = buf.set_stringn(x, y, &rest[..text_end], max, style).0;
            rest = &rest[text_end..];
            continue;
        }
        // An escape sequence: `ESC [ params final`; only SGR (`m`) changes anything.
        let body = rest.get(2..).filter(|_| rest.as_bytes().get(1) == Some(&b'['));
        let Some(end) = body.and_then(|b| b.find(|c: char| c.is_ascii_alphabetic())) else {
            break;
        };
        let body = &rest[2..2 + end + 1];
        if let Some(params) = body.strip_suffix('m') {
            style = apply(style, params);
        }
        rest = &rest[2 + body.len()..];
    }
}

/// `style` after one SGR sequence's parameters.
fn apply(mut style: Style, params: &str) -> Style {
    let mut codes = params.split(';').map(|p| p.parse::<u16>().unwrap_or(0));
    while let Some(code) = codes.next() {
        style = match code {
            0 => Style::reset(),
            1 => style.add_modifier(Modifier::BOLD),
            2 => style.add_modifier(Modifier::DIM),
            3 => style.add_modifier(Modifier::ITALIC),
            4 => style.add_modifier(Modifier::UNDERLINED),
            7 => style.add_modifier(Modifier::REVERSED),
            9 => style.add_modifier(Modifier::CROSSED_OUT),
            22 => style.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => style.remove_modifier(Modifier::ITALIC),
            24 => style.remove_modifier(Modifier::UNDERLINED),
            27 => style.remove_modifier(Modifier::REVERSED),
            30..=37 => style.fg(ansi(code - 30)),
            90..=97 => style.fg(ansi(code - 90 + 8)),
            40..=47 => style.bg(ansi(code - 40)),
            100..=107 => style.bg(ansi(code - 100 + 8)),
            38 => style.fg(extended(&mut codes)),
            48 => style.bg(extended(&mut codes)),
            39 => style.fg(Color::Reset),
            49 => style.bg(Color::Reset),
            _ => style,
        };
    }
    style
}

/// The colour after `38;` or `48;`: `5;N` (256 colours) or `2;R;G;B`.
fn extended(codes: &mut impl Iterator<Item = u16>) -> Color {
    let mut next = || codes.next().map_or(0, |c| c.min(255) as u8);
    match next() {
        5 => Color::Indexed(next()),
        2 => Color::Rgb(next(), next(), next()),
        _ => Color::Reset,
    }
}

fn ansi(n: u16) -> Color {
    const COLORS: [Color; 16] = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    COLORS[usize::from(n) % 16]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;

    #[test]
    fn codes_become_cell_styles_and_text_is_cut_to_the_width() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 1));
        set_line(&mut buf, 0, "a\x1b[1m\x1b[31mb\x1b[0m\x1b[38;5;208mc\x1b[0m训练练练");
        assert_eq!(buf[(0, 0)].symbol(), "a");
        assert_eq!(buf[(0, 0)].fg, Color::Reset);
        assert_eq!((buf[(1, 0)].fg, buf[(1, 0)].modifier), (Color::Red, Modifier::BOLD));
        assert_eq!(
            (buf[(2, 0)].fg, buf[(2, 0)].modifier),
            (Color::Indexed(208), Modifier::empty())
        );
        // Two-cell characters, as many as fit in the five columns left.
        assert_eq!(buf[(3, 0)].symbol(), "训");
        assert_eq!(buf[(5, 0)].symbol(), "练");
        assert_eq!(buf[(7, 0)].symbol(), " ");
    }
}
