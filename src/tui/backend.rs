//! A ratatui backend that writes as few bytes as the terminal needs, for slow SSH links.
//!
//! ratatui hands the backend only the cells that changed. crossterm's backend then moves the
//! cursor with an absolute `ESC[row;colH` before every gap and sets colours as
//! `ESC[38;5;Nm`/`ESC[48;5;Nm` on every change. Here, each move takes the shortest of the
//! absolute, relative and line-feed forms, or rewrites a short run of unchanged cells when
//! that is shorter; colours and attributes go out as one SGR carrying only what changed, in
//! the 16-colour forms where they exist. Everything else (size, raw mode, events) stays with
//! crossterm.

use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthStr;

use crate::output::cursor::{csi, vertical};

/// What the terminal draws with: colours and attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pen {
    fg: Color,
    bg: Color,
    modifier: Modifier,
}

impl Pen {
    const RESET: Pen = Pen { fg: Color::Reset, bg: Color::Reset, modifier: Modifier::empty() };

    fn of(cell: &Cell) -> Pen {
        Pen { fg: cell.fg, bg: cell.bg, modifier: cell.modifier }
    }
}

pub struct TtyBackend<W: Write> {
    out: W,
    /// One frame's bytes, written in one go on flush.
    buf: Vec<u8>,
    /// Where the cursor is, when known (after the last column it is not: terminals differ).
    cursor: Option<(u16, u16)>,
    /// The pen the terminal has, when known.
    pen: Option<Pen>,
    /// What the screen shows, for rewriting unchanged cells instead of moving over them:
    /// single-byte characters only, `None` where unknown or wider.
    screen: Vec<Option<(u8, Pen)>>,
    width: u16,
    cursor_hidden: Option<bool>,
    /// The terminal's size: asked once, then told on each resize event (ratatui asks before
    /// every frame, and crossterm answers by opening `/dev/tty`).
    size: Option<Size>,
}

impl<W: Write> TtyBackend<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            buf: Vec::with_capacity(16 * 1024),
            cursor: None,
            pen: None,
            screen: Vec::new(),
            width: 0,
            cursor_hidden: None,
            size: None,
        }
    }

    /// A backend of a known size (a resize event's, or a test's).
    pub fn with_size(out: W, width: u16, height: u16) -> Self {
        Self { size: Some(Size { width, height }), ..Self::new(out) }
    }

    /// The terminal now has this size (from a resize event).
    pub fn set_size(&mut self, width: u16, height: u16) {
        self.size = Some(Size { width, height });
        // Terminals may move the cursor when they resize: the next move is absolute.
        self.cursor = None;
    }

    pub fn writer(&self) -> &W {
        &self.out
    }

    /// Forgets what the screen shows (after a clear or resize).
    fn reset_screen(&mut self, fill: Option<(u8, Pen)>) {
        if self.size.is_none() {
            self.size = self.size().ok();
        }
        let size = self.size.unwrap_or_default();
        self.width = size.width;
        self.screen.clear();
        self.screen.resize(usize::from(size.width) * usize::from(size.height), fill);
    }

    fn screen_at(&self, x: u16, y: u16) -> Option<(u8, Pen)> {
        if x >= self.width {
            return None;
        }
        let i = usize::from(y) * usize::from(self.width) + usize::from(x);
        self.screen.get(i).copied().flatten()
    }

    fn remember(&mut self, x: u16, y: u16, value: Option<(u8, Pen)>) {
        if x < self.width {
            let i = usize::from(y) * usize::from(self.width) + usize::from(x);
            if let Some(slot) = self.screen.get_mut(i) {
                *slot = value;
            }
        }
    }

    fn move_to(&mut self, x: u16, y: u16) {
        if self.cursor == Some((x, y)) {
            return;
        }
        let mut best = Vec::new();
        push_cup(&mut best, x, y);
        if let Some((cx, cy)) = self.cursor {
            let mut candidate = Vec::new();
            // Down by line feeds (raw mode: LF keeps the column), or up/down by CUU/CUD.
            if y > cy && y - cy <= 3 {
                candidate.resize(usize::from(y - cy), b'\n');
            } else {
                candidate.extend_from_slice(vertical(cy.into(), y.into()).as_bytes());
            }
            self.horizontal(&mut candidate, cx, x, y);
            if candidate.len() < best.len() {
                best = candidate;
            }
        }
        self.buf.extend_from_slice(&best);
        self.cursor = Some((x, y));
    }

    /// Appends the shortest way from column `from` to `to` on row `y`.
    fn horizontal(&self, out: &mut Vec<u8>, from: u16, to: u16, y: u16) {
        if from == to {
            return;
        }
        let mut best = csi(usize::from(to) + 1, 'G').into_bytes();
        let relative = if to == 0 {
            b"\r".to_vec()
        } else if to > from {
            csi(usize::from(to - from), 'C').into_bytes()
        } else {
            csi(usize::from(from - to), 'D').into_bytes()
        };
        if relative.len() < best.len() {
            best = relative;
        }
        // Rewriting the cells in between, when they are known and in the current pen.
        if to > from && usize::from(to - from) < best.len() {
            let rewrite: Option<Vec<u8>> = (from..to)
                .map(|x| match self.screen_at(x, y) {
                    Some((ch, pen)) if Some(pen) == self.pen => Some(ch),
                    _ => None,
                })
                .collect();
            if let Some(rewrite) = rewrite {
                best = rewrite;
            }
        }
        out.extend_from_slice(&best);
    }

    fn set_pen(&mut self, pen: Pen) {
        if self.pen == Some(pen) {
            return;
        }
        let mut params: Vec<u8> = Vec::with_capacity(24);
        let from = match self.pen {
            // Attributes can only be taken away one by one or all at once: all at once.
            Some(old) if old.modifier - pen.modifier == Modifier::empty() => old,
            _ => {
                params.push(b'0');
                Pen::RESET
            }
        };
        let param = |params: &mut Vec<u8>, text: &[u8]| {
            if !params.is_empty() {
                params.push(b';');
            }
            params.extend_from_slice(text);
        };
        for (bit, code) in MODIFIER_CODES {
            if pen.modifier.contains(bit) && !from.modifier.contains(bit) {
                param(&mut params, code);
            }
        }
        if pen.fg != from.fg {
            param(&mut params, &color_code(pen.fg, false));
        }
        if pen.bg != from.bg {
            param(&mut params, &color_code(pen.bg, true));
        }
        self.buf.extend_from_slice(b"\x1b[");
        self.buf.extend_from_slice(&params);
        self.buf.push(b'm');
        self.pen = Some(pen);
    }
}

const MODIFIER_CODES: [(Modifier, &[u8]); 9] = [
    (Modifier::BOLD, b"1"),
    (Modifier::DIM, b"2"),
    (Modifier::ITALIC, b"3"),
    (Modifier::UNDERLINED, b"4"),
    (Modifier::SLOW_BLINK, b"5"),
    (Modifier::RAPID_BLINK, b"6"),
    (Modifier::REVERSED, b"7"),
    (Modifier::HIDDEN, b"8"),
    (Modifier::CROSSED_OUT, b"9"),
];

/// The SGR parameter for a colour: the short 16-colour codes where they exist.
fn color_code(color: Color, background: bool) -> Vec<u8> {
    let ansi = |n: u8| -> Vec<u8> {
        // 30–37 / 40–47 for the first eight, 90–97 / 100–107 for the bright ones.
        let base = match (n < 8, background) {
            (true, false) => 30,
            (true, true) => 40,
            (false, false) => 90 - 8,
            (false, true) => 100 - 8,
        };
        (u16::from(n) + base).to_string().into_bytes()
    };
    let layer = if background { "48" } else { "38" };
    match color {
        Color::Reset => {
            if background {
                b"49".to_vec()
            } else {
                b"39".to_vec()
            }
        }
        Color::Black => ansi(0),
        Color::Red => ansi(1),
        Color::Green => ansi(2),
        Color::Yellow => ansi(3),
        Color::Blue => ansi(4),
        Color::Magenta => ansi(5),
        Color::Cyan => ansi(6),
        Color::Gray => ansi(7),
        Color::DarkGray => ansi(8),
        Color::LightRed => ansi(9),
        Color::LightGreen => ansi(10),
        Color::LightYellow => ansi(11),
        Color::LightBlue => ansi(12),
        Color::LightMagenta => ansi(13),
        Color::LightCyan => ansi(14),
        Color::White => ansi(15),
        Color::Indexed(n) => format!("{layer};5;{n}").into_bytes(),
        Color::Rgb(r, g, b) => format!("{layer};2;{r};{g};{b}").into_bytes(),
    }
}

/// `ESC[row;colH`, 1-based, with a 1 left out where it is the default.
fn push_cup(out: &mut Vec<u8>, x: u16, y: u16) {
    out.extend_from_slice(b"\x1b[");
    if y > 0 {
        out.extend_from_slice((y + 1).to_string().as_bytes());
    }
    if x > 0 {
        out.push(b';');
        out.extend_from_slice((x + 1).to_string().as_bytes());
    }
    out.push(b'H');
}

impl<W: Write> Backend for TtyBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        if self.screen.is_empty() {
            // ratatui starts from a blank screen (the alternate screen is one).
            self.reset_screen(Some((b' ', Pen::RESET)));
        }
        for (x, y, cell) in content {
            let symbol = cell.symbol();
            if symbol.is_empty() {
                // The column under a wide character: nothing to print.
                self.remember(x, y, None);
                continue;
            }
            self.move_to(x, y);
            let pen = Pen::of(cell);
            self.set_pen(pen);
            let width = symbol.width() as u16;
            self.buf.extend_from_slice(symbol.as_bytes());
            let single = match symbol.as_bytes() {
                [b] if b.is_ascii_graphic() || *b == b' ' => Some((*b, pen)),
                _ => None,
            };
            self.remember(x, y, single);
            for dx in 1..width {
                self.remember(x + dx, y, None);
            }
            let end = x.saturating_add(width);
            // At the last column the cursor waits to wrap, and terminals disagree on where it
            // is then; after a zero-width symbol they disagree too: the next move is absolute.
            self.cursor = (width > 0 && end < self.width).then_some((end, y));
        }
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        // ratatui hides the cursor after every frame: say it once.
        if self.cursor_hidden != Some(true) {
            self.buf.extend_from_slice(b"\x1b[?25l");
            self.cursor_hidden = Some(true);
        }
        self.flush()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.buf.extend_from_slice(b"\x1b[?25h");
        self.cursor_hidden = Some(false);
        self.flush()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        let (x, y) = crossterm::cursor::position()?;
        self.cursor = Some((x, y));
        Ok(Position { x, y })
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let Position { x, y } = position.into();
        self.move_to(x, y);
        self.flush()
    }

    fn clear(&mut self) -> io::Result<()> {
        // With the pen reset first, the cleared screen is default-coloured blanks.
        self.buf.extend_from_slice(b"\x1b[0m\x1b[2J");
        self.pen = Some(Pen::RESET);
        self.cursor = None;
        self.reset_screen(Some((b' ', Pen::RESET)));
        self.flush()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        let seq: &[u8] = match clear_type {
            ClearType::All => return self.clear(),
            ClearType::AfterCursor => b"\x1b[J",
            ClearType::BeforeCursor => b"\x1b[1J",
            ClearType::CurrentLine => b"\x1b[2K",
            ClearType::UntilNewLine => b"\x1b[K",
        };
        self.buf.extend_from_slice(seq);
        self.reset_screen(None);
        self.flush()
    }

    fn size(&self) -> io::Result<Size> {
        match self.size {
            Some(size) => Ok(size),
            None => crossterm::terminal::size().map(|(width, height)| Size { width, height }),
        }
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        let size = crossterm::terminal::window_size()?;
        Ok(WindowSize {
            columns_rows: Size { width: size.columns, height: size.rows },
            pixels: Size { width: size.width, height: size.height },
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.out.flush()
    }
}

/// Standard output without its line buffer: `Stdout` writes up to the last newline at once and
/// the rest on flush, two system calls per frame where one will do (the backend buffers the
/// frame itself).
pub struct RawStdout(std::mem::ManuallyDrop<std::fs::File>);

impl RawStdout {
    pub fn new() -> Self {
        use std::os::fd::FromRawFd;
        // SAFETY: fd 1 is open for the life of the process, and ManuallyDrop never closes it.
        Self(std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) }))
    }
}

impl Default for RawStdout {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ratatui::style::{Style, Stylize};
    use ratatui::text::Line;
    use ratatui::widgets::Paragraph;
    use ratatui::Terminal;

    use super::*;

    fn terminal(w: u16, h: u16) -> Terminal<TtyBackend<Vec<u8>>> {
        Terminal::new(TtyBackend::with_size(Vec::new(), w, h)).unwrap()
    }

    /// Draws `lines`; returns the bytes written and the frame drawn.
    fn draw(
        t: &mut Terminal<TtyBackend<Vec<u8>>>,
        lines: &[Line<'static>],
    ) -> (Vec<u8>, ratatui::buffer::Buffer) {
        let before = t.backend().writer().len();
        let frame = t
            .draw(|f| f.render_widget(Paragraph::new(lines.to_vec()), f.area()))
            .unwrap()
            .buffer
            .clone();
        (t.backend().writer()[before..].to_vec(), frame)
    }

    /// What a terminal emulator shows after all the bytes written so far.
    fn screen(t: &Terminal<TtyBackend<Vec<u8>>>, w: u16, h: u16) -> vt100::Parser {
        let nz = |n: u16| std::num::NonZero::new(n).unwrap();
        let mut parser = vt100::Parser::new(nz(h), nz(w), 0);
        parser.process(t.backend().writer());
        parser
    }

    #[test]
    fn a_short_gap_is_rewritten_and_a_long_one_skipped() {
        let mut t = terminal(40, 3);
        draw(&mut t, &[Line::raw("util 50% 60C  power 300 W")]);
        let (bytes, _) = draw(&mut t, &[Line::raw("util 57% 61C  power 310 W")]);
        // "% 6" costs fewer bytes than a move over it; a move is shorter before "1".
        assert_eq!(String::from_utf8_lossy(&bytes), "\x1b[7G7% 61\x1b[22G1");
    }

    #[test]
    fn colours_use_the_short_forms_and_only_what_changed() {
        let mut t = terminal(20, 2);
        draw(&mut t, &[Line::from(vec!["ok".green(), " ".into(), "hot".red().bold()])]);
        let (bytes, _) = draw(&mut t, &[Line::from(vec!["ok".yellow(), " ".into(), "hot".red()])]);
        // Bold goes away first (a reset), then only the colour that changed.
        assert_eq!(String::from_utf8_lossy(&bytes), "\r\x1b[0;33mok\x1b[C\x1b[31mhot");
    }

    #[test]
    fn the_emulated_screen_always_matches_the_frame() {
        // Frames that differ in scattered cells, colours, wide characters and the last column.
        let (w, h) = (30u16, 6u16);
        let mut t = terminal(w, h);
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let colours =
            [Color::Reset, Color::Red, Color::Green, Color::Indexed(208), Color::Rgb(1, 2, 3)];
        for _ in 0..200 {
            let lines: Vec<Line<'static>> = (0..h)
                .map(|_| {
                    let spans: Vec<_> = (0..4)
                        .map(|_| {
                            let n = next();
                            let text = match n % 5 {
                                0 => "温度".to_string(),
                                1 => "█░".repeat((n % 4) as usize),
                                _ => format!("{:x}", n % 4096),
                            };
                            let mut style = Style::new().fg(colours[(n / 7 % 5) as usize]);
                            if n % 3 == 0 {
                                style = style.bold();
                            }
                            if n % 11 == 0 {
                                style = style.bg(Color::Blue);
                            }
                            ratatui::text::Span::styled(text, style)
                        })
                        .collect();
                    Line::from(spans)
                })
                .collect();
            let (_, buffer) = draw(&mut t, &lines);
            let parser = screen(&t, w, h);
            for y in 0..h {
                let mut expected = String::new();
                let mut x = 0;
                while x < w {
                    let symbol = buffer[(x, y)].symbol();
                    expected.push_str(symbol);
                    x += (symbol.width() as u16).max(1);
                }
                let row = parser.screen().rows(0, w).nth(usize::from(y)).unwrap();
                assert_eq!(row.trim_end(), expected.trim_end(), "row {y}");
                for x in 0..w {
                    let cell = &buffer[(x, y)];
                    let Some(shown) = parser.screen().cell(y, x) else { continue };
                    if cell.symbol() == " " || shown.is_wide_continuation() {
                        continue;
                    }
                    assert_eq!(shown.bold(), cell.modifier.contains(Modifier::BOLD), "({x},{y})");
                }
            }
        }
    }
}
