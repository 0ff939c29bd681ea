//! The terminal screen: each frame is painted into one buffer, compared with what the terminal
//! shows, and only the cells that differ are written, in as few bytes as a slow SSH link needs.
//!
//! ratatui's `Terminal` keeps two full buffers and diffs them; its crossterm backend then moves
//! the cursor with an absolute `ESC[row;colH` before every gap and sets colours as
//! `ESC[38;5;Nm` on every change. Here one buffer is painted and compared with a compact record
//! of the screen; each move takes the shortest of the absolute, relative and line-feed forms,
//! or rewrites a short run of unchanged cells when that is shorter; colours and attributes go
//! out as one SGR carrying only what changed, in the 16-colour forms where they exist. Raw
//! mode, events and the alternate screen stay with crossterm.

use std::io::{self, Write};

use ratatui::buffer::{Buffer, Cell, CellDiffOption, CellWidth};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};

use super::cursor::{csi, vertical};
use super::styled::StyledLine;

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

/// What one cell of the terminal shows, in 7 bytes (a ratatui cell takes 48).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shown {
    /// The symbol's bytes when it is one character; `len` 0 when unknown or longer.
    text: [u8; 4],
    len: u8,
    width: u8,
    /// Its pen, as an index into [`Pens`].
    pen: u8,
}

impl Shown {
    /// After a clear: a blank in the default colours.
    const BLANK: Shown = Shown { text: [b' ', 0, 0, 0], len: 1, width: 1, pen: Pens::RESET };

    fn of(cell: &Cell, pen: u8) -> Shown {
        let symbol = cell.symbol();
        let bytes = symbol.as_bytes();
        let (text, len) = match bytes {
            [b] => ([*b, 0, 0, 0], 1),
            _ if symbol.chars().count() == 1 => {
                let mut text = [0; 4];
                text[..bytes.len()].copy_from_slice(bytes);
                (text, bytes.len() as u8)
            }
            _ => ([0; 4], 0),
        };
        let width = symbol.cell_width().min(u16::from(u8::MAX)) as u8;
        Shown { text, len, width, pen }
    }

    /// Known to show `cell` already (an unknown symbol never does).
    fn shows(&self, cell: &Cell, pens: &Pens) -> bool {
        // Compared a byte at a time: a call to `memcmp` per cell cost more than the bytes.
        let symbol = cell.symbol().as_bytes();
        self.len > 0
            && pens.get(self.pen) == Pen::of(cell)
            && symbol.len() == usize::from(self.len)
            && symbol.iter().zip(self.text).all(|(a, b)| *a == b)
    }

    /// The byte that redraws this cell, when it is one printable ASCII character.
    fn ascii(&self) -> Option<u8> {
        let b = self.text[0];
        (self.len == 1 && (b.is_ascii_graphic() || b == b' ')).then_some(b)
    }
}

/// The pens a screen uses, numbered: a frame has a few dozen.
struct Pens(Vec<Pen>);

impl Pens {
    const RESET: u8 = 0;

    fn new() -> Self {
        Pens(vec![Pen::RESET])
    }

    fn get(&self, id: u8) -> Pen {
        self.0[usize::from(id)]
    }

    /// The number of `pen`; `None` when all 256 are taken by others.
    fn id(&mut self, pen: Pen) -> Option<u8> {
        match self.0.iter().position(|&p| p == pen) {
            Some(i) => Some(i as u8),
            None if self.0.len() <= usize::from(u8::MAX) => {
                self.0.push(pen);
                Some((self.0.len() - 1) as u8)
            }
            None => None,
        }
    }
}

/// The monitor's terminal: the frame being painted, and what the terminal shows.
pub struct Screen<W: Write> {
    out: W,
    /// The frame being painted; blank between frames (each cell is cleared once written).
    frame: Buffer,
    /// What the terminal shows, cell by cell, row-major like `frame`.
    shown: Vec<Shown>,
    /// The pens `shown` refers to.
    pens: Pens,
    /// One frame's bytes, written in one go.
    bytes: Vec<u8>,
    /// Where the cursor is, when known (after the last column it is not: terminals differ).
    cursor: Option<(u16, u16)>,
    /// The pen the terminal has, when known.
    pen: Option<Pen>,
    /// Drawn in the scrolling text where the cursor was (the watch view), rather than on a
    /// screen of its own: see [`Screen::inline`].
    inline: Option<Inline>,
}

/// An inline frame's place: it starts at the cursor's line, and between frames the cursor
/// rests at the start of the line below it, so Ctrl-C leaves the prompt there. Moves are
/// relative (where the frame is on the terminal is not known), and the terminal driver turns
/// each newline into CR LF (no raw mode).
#[derive(Debug, Clone, Copy)]
struct Inline {
    /// Whether a frame has been drawn.
    drawn: bool,
}

impl<W: Write> Screen<W> {
    /// A screen of `width`×`height` that starts blank (the alternate screen does).
    pub fn new(out: W, width: u16, height: u16) -> Self {
        let area = Rect::new(0, 0, width, height);
        Self {
            out,
            frame: Buffer::empty(area),
            shown: vec![Shown::BLANK; usize::from(width) * usize::from(height)],
            pens: Pens::new(),
            bytes: Vec::with_capacity(16 * 1024),
            cursor: None,
            pen: None,
            inline: None,
        }
    }

    /// A screen drawn inline, in the scrolling text below the cursor: no alternate screen, no
    /// raw mode. Frames come as styled lines through [`Screen::draw_lines`].
    pub fn inline(out: W) -> Self {
        let mut screen = Self::new(out, 0, 0);
        screen.inline = Some(Inline { drawn: false });
        // At the shell's prompt the terminal draws in its default colours.
        screen.pen = Some(Pen::RESET);
        screen
    }

    /// Draws `lines` (each narrower than the terminal) inline on
    /// a terminal of `size` (columns, rows), cut to `rows - 1` lines. A frame of the same size
    /// as the last one costs the cells that changed; another size clears the old frame and
    /// draws the new one whole.
    pub fn draw_lines(&mut self, lines: &[StyledLine], size: (u16, u16)) -> io::Result<()> {
        let drawn = self.inline.is_some_and(|i| i.drawn);
        let height = lines.len().min(usize::from(size.1.saturating_sub(1)).max(1)) as u16;
        let area = Rect::new(0, 0, size.0, height);
        let whole = !drawn || self.frame.area != area;
        if whole {
            if drawn {
                // Back to the top of the old frame; clear it and everything below.
                self.set_pen(Pen::RESET);
                self.bytes.push(b'\r');
                self.bytes
                    .extend_from_slice(vertical(usize::from(self.frame.area.height), 0).as_bytes());
                self.bytes.extend_from_slice(b"\x1b[J");
            }
            self.frame.resize(area);
            self.frame.reset();
            self.shown.clear();
            self.shown.resize(self.frame.content.len(), Shown::BLANK);
        }
        for (y, line) in lines.iter().take(usize::from(height)).enumerate() {
            line.set_in(&mut self.frame, y as u16);
        }
        if whole {
            self.write_whole();
        } else {
            // Between frames the cursor rests below the frame, at the first column.
            self.cursor = Some((0, height));
            self.write_changes();
            self.set_pen(Pen::RESET);
            self.move_to(0, height);
        }
        self.inline = Some(Inline { drawn: true });
        if self.bytes.is_empty() {
            return Ok(());
        }
        self.out.write_all(&self.bytes)?;
        self.bytes.clear();
        self.out.flush()
    }

    /// An inline frame's first drawing: line after line, each ended by clearing the rest of
    /// the line (whatever the terminal showed there) and a newline, which also makes room at
    /// the bottom of the terminal.
    fn write_whole(&mut self) {
        let width = usize::from(self.frame.area.width);
        for y in 0..self.frame.area.height {
            self.cursor = Some((0, y));
            let row = usize::from(y) * width..usize::from(y + 1) * width;
            let blank = |c: &Cell| c.symbol() == " " && Pen::of(c) == Pen::RESET;
            let end = self.frame.content[row.clone()]
                .iter()
                .rposition(|c| !blank(c))
                .map_or(0, |e| e + 1);
            let mut to_skip = 0u8;
            for i in row.start..row.start + end {
                let now = self.record(i);
                if to_skip == 0 {
                    self.put((i - row.start) as u16, y, i);
                }
                to_skip = now.width.saturating_sub(1);
                self.shown[i] = now;
            }
            for i in row {
                self.frame.content[i].reset();
            }
            self.set_pen(Pen::RESET);
            self.bytes.extend_from_slice(b"\x1b[K\n");
        }
        self.cursor = Some((0, self.frame.area.height));
    }

    /// The terminal now has this size (from a resize event): it is cleared, and the next frame
    /// is drawn whole.
    pub fn set_size(&mut self, width: u16, height: u16) {
        self.frame.resize(Rect::new(0, 0, width, height));
        self.shown.clear();
        self.shown.resize(usize::from(width) * usize::from(height), Shown::BLANK);
        // With the pen reset first, the cleared screen is default-coloured blanks.
        self.bytes.extend_from_slice(b"\x1b[0m\x1b[2J");
        self.pen = Some(Pen::RESET);
        // Terminals may move the cursor when they resize: the next move is absolute.
        self.cursor = None;
    }

    pub fn writer(&self) -> &W {
        &self.out
    }

    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Paints a frame and writes what changed, in one `write`.
    pub fn draw(&mut self, paint: impl FnOnce(&mut Buffer)) -> io::Result<()> {
        paint(&mut self.frame);
        self.write_changes();
        if !self.bytes.is_empty() {
            self.out.write_all(&self.bytes)?;
            self.bytes.clear();
        }
        self.out.flush()
    }

    /// Writes the cells that differ from the screen. A wide character covers the next cell,
    /// which is skipped; where one was and is no more, the cells it covered are redrawn.
    fn write_changes(&mut self) {
        let width = usize::from(self.frame.area.width).max(1);
        let (mut to_skip, mut invalidated) = (0u8, 0u8);
        for i in 0..self.frame.content.len() {
            let cell = &self.frame.content[i];
            let before = self.shown[i];
            // Most cells are as they were: compared without working out their width again.
            let same = before.shows(cell, &self.pens);
            let option = cell.diff_option;
            let now = if same { before } else { self.record(i) };
            let changed = match option {
                CellDiffOption::Skip => false,
                CellDiffOption::AlwaysUpdate => true,
                _ => !same || invalidated > 0,
            };
            if changed && to_skip == 0 {
                let (x, y) = ((i % width) as u16, (i / width) as u16);
                self.put(x, y, i);
            }
            to_skip = now.width.saturating_sub(1);
            invalidated = now.width.max(before.width).max(invalidated).saturating_sub(1);
            self.shown[i] = now;
            // Cleared for the next frame while at hand, rather than in a pass of its own.
            self.frame.content[i].reset();
        }
    }

    /// What the terminal will show for the frame's cell `i`. With more than 256 pens on
    /// screen (never with gputop's themes) the numbering starts again and every cell counts
    /// as unknown, to be redrawn.
    fn record(&mut self, i: usize) -> Shown {
        let pen = Pen::of(&self.frame.content[i]);
        let id = self.pens.id(pen).unwrap_or_else(|| {
            self.pens = Pens::new();
            self.shown.iter_mut().for_each(|s| s.len = 0);
            self.pens.id(pen).unwrap_or(Pens::RESET)
        });
        Shown::of(&self.frame.content[i], id)
    }

    /// Prints the frame's cell `i`, at (`x`, `y`).
    fn put(&mut self, x: u16, y: u16, i: usize) {
        let cell = &self.frame.content[i];
        let symbol = cell.symbol();
        if symbol.is_empty() {
            // The column under a wide character: nothing to print.
            return;
        }
        let pen = Pen::of(cell);
        self.move_to(x, y);
        self.set_pen(pen);
        let symbol = self.frame.content[i].symbol();
        self.bytes.extend_from_slice(symbol.as_bytes());
        let width = symbol.cell_width();
        let end = x.saturating_add(width);
        // At the last column the cursor waits to wrap, and terminals disagree on where it is
        // then; after a zero-width symbol they disagree too: the next move is absolute.
        self.cursor = (width > 0 && end < self.frame.area.width).then_some((end, y));
        if self.inline.is_some() && self.cursor.is_none() {
            // Inline there is no absolute move to fall back on: back to the first column.
            self.bytes.push(b'\r');
            self.cursor = Some((0, y));
        }
    }

    /// The byte that redraws cell (`x`, `y`) as it is, in the current pen: a single ASCII
    /// character not covered by a wide one to its left.
    fn rewritable(&self, x: u16, y: u16) -> Option<u8> {
        let i = usize::from(y) * usize::from(self.frame.area.width) + usize::from(x);
        let shown = self.shown.get(i)?;
        let byte = shown.ascii()?;
        let covered = x > 0 && self.shown[i - 1].width > 1;
        (!covered && Some(self.pens.get(shown.pen)) == self.pen).then_some(byte)
    }

    fn move_to(&mut self, x: u16, y: u16) {
        if self.cursor == Some((x, y)) {
            return;
        }
        if self.inline.is_some() {
            return self.move_inline(x, y);
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
        self.bytes.extend_from_slice(&best);
        self.cursor = Some((x, y));
    }

    /// The shortest relative move for an inline frame: up or down, or down to the line above
    /// and a newline (two bytes on the wire once the driver adds the CR) to the first column.
    fn move_inline(&mut self, x: u16, y: u16) {
        let (cx, cy) = self.cursor.unwrap_or((0, y));
        let mut best = vertical(cy.into(), y.into()).into_bytes();
        self.horizontal(&mut best, cx, x, y);
        if y > cy {
            let mut candidate = vertical(cy.into(), usize::from(y) - 1).into_bytes();
            candidate.push(b'\n');
            self.horizontal(&mut candidate, 0, x, y);
            if candidate.len() + 1 < best.len() {
                best = candidate;
            }
        }
        self.bytes.extend_from_slice(&best);
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
            let rewrite: Option<Vec<u8>> = (from..to).map(|x| self.rewritable(x, y)).collect();
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
        self.bytes.extend_from_slice(b"\x1b[");
        self.bytes.extend_from_slice(&params);
        self.bytes.push(b'm');
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

/// Standard output without its line buffer: `Stdout` writes up to the last newline at once and
/// the rest on flush, two system calls per frame where one will do (the screen buffers the
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
    use ratatui::widgets::{Paragraph, Widget};

    use super::*;

    /// Draws `lines`; returns the bytes written and the frame drawn.
    fn draw(t: &mut Screen<Vec<u8>>, lines: &[Line<'static>]) -> (Vec<u8>, Buffer) {
        let before = t.writer().len();
        let mut painted = Buffer::empty(Rect::ZERO);
        t.draw(|buf| {
            Paragraph::new(lines.to_vec()).render(buf.area, buf);
            painted = buf.clone();
        })
        .unwrap();
        (t.writer()[before..].to_vec(), painted)
    }

    /// What a terminal emulator shows after all the bytes written so far.
    fn screen(t: &Screen<Vec<u8>>, w: u16, h: u16) -> vt100::Parser {
        let nz = |n: u16| std::num::NonZero::new(n).unwrap();
        let mut parser = vt100::Parser::new(nz(h), nz(w), 0);
        parser.process(t.writer());
        parser
    }

    #[test]
    fn a_short_gap_is_rewritten_and_a_long_one_skipped() {
        let mut t = Screen::new(Vec::new(), 40, 3);
        draw(&mut t, &[Line::raw("util 50% 60C  power 300 W")]);
        let (bytes, _) = draw(&mut t, &[Line::raw("util 57% 61C  power 310 W")]);
        // "% 6" costs fewer bytes than a move over it; a move is shorter before "1".
        assert_eq!(String::from_utf8_lossy(&bytes), "\x1b[7G7% 61\x1b[22G1");
    }

    #[test]
    fn colours_use_the_short_forms_and_only_what_changed() {
        let mut t = Screen::new(Vec::new(), 20, 2);
        draw(&mut t, &[Line::from(vec!["ok".green(), " ".into(), "hot".red().bold()])]);
        let (bytes, _) = draw(&mut t, &[Line::from(vec!["ok".yellow(), " ".into(), "hot".red()])]);
        // Bold goes away first (a reset), then only the colour that changed.
        assert_eq!(String::from_utf8_lossy(&bytes), "\r\x1b[0;33mok\x1b[C\x1b[31mhot");
    }

    #[test]
    fn the_emulated_screen_always_matches_the_frame() {
        // Frames that differ in scattered cells, colours, wide characters and the last column.
        let (w, h) = (30u16, 6u16);
        let mut t = Screen::new(Vec::new(), w, h);
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
            assert_shows(&screen(&t, w, h), &buffer);
        }
    }

    #[test]
    fn after_a_resize_the_frame_is_drawn_whole_on_a_cleared_screen() {
        let mut t = Screen::new(Vec::new(), 30, 4);
        draw(&mut t, &[Line::raw("a long first line that fills it"), Line::raw("温度 2")]);
        let before = t.writer().len();
        t.set_size(12, 3);
        let (_, buffer) = draw(&mut t, &[Line::raw("温度 3"), Line::raw("short")]);
        let nz = |n: u16| std::num::NonZero::new(n).unwrap();
        let mut parser = vt100::Parser::new(nz(4), nz(30), 0);
        parser.process(&t.writer()[..before]);
        parser.screen_mut().set_size(nz(3), nz(12));
        parser.process(&t.writer()[before..]);
        assert_shows(&parser, &buffer);
    }

    #[test]
    fn more_pens_than_can_be_numbered_are_still_drawn_right() {
        let (w, h) = (20u16, 20u16);
        let mut t = Screen::new(Vec::new(), w, h);
        let rgb = |n: u16, shift: u16| Color::Rgb((n % 256) as u8, ((n + shift) / 2) as u8, 7);
        let frame = |shift: u16| -> Vec<Line<'static>> {
            (0..h)
                .map(|y| {
                    let spans: Vec<_> = (0..w)
                        .map(|x| {
                            let n = y * w + x;
                            ratatui::text::Span::styled(
                                ((b'a' + (n % 26) as u8) as char).to_string(),
                                Style::new().fg(rgb(n, shift)),
                            )
                        })
                        .collect();
                    Line::from(spans)
                })
                .collect()
        };
        for shift in [0, 0, 1, 1] {
            // 400 pens a frame: the numbering overflows and starts again.
            let (_, buffer) = draw(&mut t, &frame(shift));
            let parser = screen(&t, w, h);
            assert_shows(&parser, &buffer);
            for (x, y) in [(0, 0), (13, 7), (19, 19)] {
                let Color::Rgb(r, g, b) = buffer[(x, y)].fg else { unreachable!() };
                let shown = parser.screen().cell(y, x).unwrap().fgcolor();
                assert_eq!(shown, vt100::Color::Rgb(r, g, b), "({x},{y})");
            }
        }
    }

    /// The emulated screen shows `buffer`: its text, and bold where the buffer has it.
    fn assert_shows(parser: &vt100::Parser, buffer: &Buffer) {
        let (w, h) = (buffer.area.width, buffer.area.height);
        for y in 0..h {
            let mut expected = String::new();
            let mut x = 0;
            while x < w {
                let symbol = buffer[(x, y)].symbol();
                expected.push_str(symbol);
                x += symbol.cell_width().max(1);
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

    /// Inline frames: the bytes each frame writes.
    fn inline_frame(t: &mut Screen<Vec<u8>>, lines: &[&str], size: (u16, u16)) -> String {
        let lines: Vec<StyledLine> = lines.iter().map(|&l| l.into()).collect();
        styled_frame(t, &lines, size)
    }

    fn styled_frame(t: &mut Screen<Vec<u8>>, lines: &[StyledLine], size: (u16, u16)) -> String {
        t.draw_lines(lines, size).unwrap();
        String::from_utf8(std::mem::take(t.writer_mut())).unwrap()
    }

    #[test]
    fn an_inline_frame_is_drawn_whole_first_then_costs_only_its_changes() {
        let mut t = Screen::inline(Vec::new());
        assert_eq!(inline_frame(&mut t, &["ab", "cd"], (80, 24)), "ab\x1b[K\ncd\x1b[K\n");
        assert_eq!(inline_frame(&mut t, &["ab", "cd"], (80, 24)), "");
        let mut t = Screen::inline(Vec::new());
        inline_frame(&mut t, &["GPU 0  util  50%", "GPU 1  util  70%"], (80, 24));
        let out = inline_frame(&mut t, &["GPU 0  util  55%", "GPU 1  util  70%"], (80, 24));
        // Up two lines to row 0, to column 15, write "5", back below the frame.
        assert_eq!(out, "\x1b[2A\x1b[15G5\x1b[2B\r");
    }

    #[test]
    fn inline_styles_are_kept_per_cell_and_reset_after_the_frame() {
        let red = |v: &str| {
            let mut line = StyledLine::from("t ");
            line.push(anstyle::AnsiColor::Red.on_default(), v);
            line
        };
        let mut t = Screen::inline(Vec::new());
        styled_frame(&mut t, &[red("90")], (80, 24));
        let out = styled_frame(&mut t, &[red("91")], (80, 24));
        assert_eq!(out, "\x1b[A\x1b[4G\x1b[31m1\x1b[39m\n");
    }

    #[test]
    fn a_new_line_count_or_size_redraws_the_inline_frame_cleanly() {
        let mut t = Screen::inline(Vec::new());
        inline_frame(&mut t, &["a", "b"], (80, 24));
        let out = inline_frame(&mut t, &["a", "b", "c"], (80, 24));
        assert_eq!(out, "\r\x1b[2A\x1b[Ja\x1b[K\nb\x1b[K\nc\x1b[K\n");
        let out = inline_frame(&mut t, &["a", "b", "c"], (100, 24));
        assert!(out.starts_with("\r\x1b[3A\x1b[J"), "{out:?}");
        // Cut to the terminal's height, less the line the cursor rests on.
        let mut t = Screen::inline(Vec::new());
        assert_eq!(inline_frame(&mut t, &["1", "2", "3", "4"], (80, 3)), "1\x1b[K\n2\x1b[K\n");
    }

    /// Feeds inline frames through a terminal emulator (with the tty driver's LF → CR LF) and
    /// checks that the screen always shows exactly the latest frame.
    #[test]
    fn the_terminal_always_shows_the_latest_inline_frame() {
        let (cols, rows) = (60u16, 12u16);
        let nz = |n: u16| std::num::NonZeroU16::new(n).unwrap();
        let mut term = vt100::Parser::new(nz(rows), nz(cols), 0);
        let mut t = Screen::inline(Vec::new());
        let mut seed = 7u64;
        let mut rand = move |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut frame: Vec<StyledLine> =
            (0..8).map(|i| format!("line {i} value 100 name").into()).collect();
        for step in 0..300 {
            for line in frame.iter_mut() {
                if rand(3) == 0 {
                    let v = rand(1000);
                    let color = if v > 500 {
                        anstyle::AnsiColor::Red.on_default()
                    } else {
                        anstyle::AnsiColor::Green.on_default().bold()
                    };
                    // Narrow, wide (two cells) and combining (zero cells) characters.
                    let pieces = ["x", "训", "e\u{301}", "🙂", "练"];
                    let tail: String =
                        (0..rand(12)).map(|_| pieces[rand(pieces.len() as u64) as usize]).collect();
                    *line = format!("gpu {} ", rand(9)).into();
                    line.push(color, format_args!("{v:>4}%"));
                    line.push(anstyle::Style::new(), format_args!(" mem {} {tail}", rand(99999)));
                }
            }
            if step % 50 == 49 {
                frame.push("an extra line".into()); // the line count changes now and then
            }
            t.draw_lines(&frame, (cols, rows)).unwrap();
            let bytes = String::from_utf8(std::mem::take(t.writer_mut())).unwrap();
            term.process(bytes.replace('\n', "\r\n").as_bytes());
            let screen = term.screen().contents();
            let want: Vec<String> =
                frame.iter().take(usize::from(rows) - 1).map(|l| plain(l, cols)).collect();
            let shown: Vec<&str> = screen.lines().map(str::trim_end).collect();
            let top = shown.iter().position(|l| want.first().is_some_and(|w| l == w)).unwrap_or(0);
            assert_eq!(&shown[top..top + want.len()], &want[..], "step {step}:\n{screen}");
            assert_eq!(term.screen().cursor_position().1, 0, "cursor rests at column 0");
        }
    }

    /// A styled line as the terminal shows it: without its colours, cut to `cols` cells.
    fn plain(line: &StyledLine, cols: u16) -> String {
        let mut buf = Buffer::empty(Rect::new(0, 0, cols, 1));
        line.set_in(&mut buf, 0);
        let mut text = String::new();
        let mut hidden = 0;
        for cell in &buf.content {
            if hidden > 0 {
                hidden -= 1;
                continue;
            }
            text.push_str(cell.symbol());
            hidden = cell.symbol().cell_width().saturating_sub(1);
        }
        text.trim_end().to_string()
    }
}
