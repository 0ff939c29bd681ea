//! In-place refresh for `--watch` on a terminal: no alternate screen, no raw mode, no
//! clear-screen. Each frame rewrites only the character spans that changed since the last one,
//! so a refresh over a slow SSH link costs tens of bytes, not kilobytes, and nothing flickers
//! under tmux or mosh.
//!
//! Lines come in with SGR colour sequences (`ESC[…m`, as the table renderer paints them); they
//! are split into cells of (character, style) and compared cell by cell. Between frames the
//! cursor rests at the start of the line below the frame, so Ctrl-C leaves the prompt there.

use std::fmt::Write;

use unicode_width::UnicodeWidthChar;

use super::cursor::{csi, vertical};

/// One terminal column. A wide character (CJK, most emoji) fills two: its own cell and a
/// continuation cell after it, which is never written; zero-width characters (combining marks,
/// joiners) ride with the cell before them. Cursor moves therefore count columns, as the
/// terminal does.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cell {
    ch: char,
    /// Zero-width characters drawn with `ch`.
    marks: Option<Box<str>>,
    /// Index into `InPlace::styles`; 0 is no style.
    style: usize,
}

/// Marks the second column of a wide character.
const CONTINUATION: char = '\0';

impl Cell {
    fn new(ch: char, style: usize) -> Self {
        Self { ch, marks: None, style }
    }
}

#[derive(Debug, Default)]
pub struct InPlace {
    /// The frame now on screen.
    shown: Vec<Vec<Cell>>,
    /// The terminal size the frame was drawn for.
    size: (u16, u16),
    /// Distinct SGR sequences seen so far; cells refer to them by index.
    styles: Vec<String>,
}

/// Rewriting up to this many unchanged cells is cheaper than a cursor move (`ESC[nnG`).
const MAX_GAP: usize = 5;

impl InPlace {
    pub fn new() -> Self {
        Self { shown: Vec::new(), size: (0, 0), styles: vec![String::new()] }
    }

    /// The bytes that turn the frame on screen into `lines` on a terminal of `size` (columns,
    /// rows). Lines must fit the width; the frame is cut to `rows - 1` lines.
    pub fn frame(&mut self, lines: &[String], size: (u16, u16)) -> String {
        let max_lines = usize::from(size.1.saturating_sub(1)).max(1);
        let next: Vec<Vec<Cell>> = lines.iter().take(max_lines).map(|l| self.cells(l)).collect();
        let mut out = String::new();
        let full_redraw =
            self.shown.is_empty() || size != self.size || next.len() != self.shown.len();
        if full_redraw {
            if !self.shown.is_empty() {
                // Back to the top of the old frame and clear it and everything below.
                let up = self.shown.len().min(max_lines);
                let _ = write!(out, "\r\x1b[{up}A\x1b[J");
            }
            let mut style = 0;
            for line in &next {
                self.write_cells(&mut out, line, &mut style);
                out.push_str("\x1b[K\n");
            }
            reset(&mut out, style);
        } else {
            self.write_changes(&mut out, &next);
        }
        self.shown = next;
        self.size = size;
        out
    }

    fn write_changes(&self, out: &mut String, next: &[Vec<Cell>]) {
        let height = next.len();
        // Rows are counted from the frame's top; the cursor starts on the line below it.
        let mut row = height;
        let mut col = 0usize;
        let mut style = 0;
        for (r, (old, new)) in self.shown.iter().zip(next).enumerate() {
            for (start, end) in changed_spans(old, new) {
                // Never start or stop inside a wide character.
                let start = if new.get(start).is_some_and(|c| c.ch == CONTINUATION) {
                    start - 1
                } else {
                    start
                };
                let end =
                    if new.get(end).is_some_and(|c| c.ch == CONTINUATION) { end + 1 } else { end };
                out.push_str(&cursor_to((row, col), (r, start)));
                row = r;
                self.write_cells(out, &new[start..end.min(new.len())], &mut style);
                if end > new.len() {
                    out.push_str("\x1b[K");
                }
                col = end.min(new.len());
            }
        }
        reset(out, style);
        out.push_str(&cursor_to((row, col), (height, 0)));
    }

    /// Writes cells, switching the terminal's style only where it changes: a style stays in
    /// force across cursor moves, so it is reset once, at the end of the frame.
    fn write_cells(&self, out: &mut String, cells: &[Cell], style: &mut usize) {
        for cell in cells {
            if cell.style != *style {
                if *style != 0 {
                    out.push_str("\x1b[0m");
                }
                out.push_str(&self.styles[cell.style]);
                *style = cell.style;
            }
            if cell.ch != CONTINUATION {
                out.push(cell.ch);
            }
            if let Some(marks) = &cell.marks {
                out.push_str(marks);
            }
        }
    }

    /// Splits a painted line into cells, interning each SGR sequence as a style.
    fn cells(&mut self, line: &str) -> Vec<Cell> {
        let mut cells: Vec<Cell> = Vec::with_capacity(line.len());
        let mut style = 0;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' && chars.peek() == Some(&'[') {
                let mut seq = String::from(c);
                for e in chars.by_ref() {
                    seq.push(e);
                    if e.is_ascii_alphabetic() {
                        break;
                    }
                }
                style = if seq == "\x1b[0m" { 0 } else { self.intern(seq) };
                continue;
            }
            match c.width() {
                Some(0) | None => match cells.last_mut() {
                    Some(last) => {
                        let mut marks = last.marks.take().map(String::from).unwrap_or_default();
                        marks.push(c);
                        last.marks = Some(marks.into());
                    }
                    None => cells.push(Cell::new(c, style)),
                },
                Some(2) => {
                    cells.push(Cell::new(c, style));
                    cells.push(Cell::new(CONTINUATION, style));
                }
                Some(_) => cells.push(Cell::new(c, style)),
            }
        }
        cells
    }

    fn intern(&mut self, seq: String) -> usize {
        match self.styles.iter().position(|s| *s == seq) {
            Some(i) => i,
            None => {
                self.styles.push(seq);
                self.styles.len() - 1
            }
        }
    }
}

fn reset(out: &mut String, style: usize) {
    if style != 0 {
        out.push_str("\x1b[0m");
    }
}

/// The shortest sequence that moves the cursor from `from` to `to` (row, column), counted
/// from the frame's top: every byte counts over SSH. Candidates: vertical moves (CUU/CUD), a
/// newline (the terminal driver sends it as CR LF: next line, first column), CR, and absolute
/// (CHA) or relative (CUF/CUB) horizontal moves. Never moves below the line under the frame,
/// so nothing scrolls.
fn cursor_to(from: (usize, usize), to: (usize, usize)) -> String {
    let ((row, col), (r, c)) = (from, to);
    let mut best = format!("{}{}", vertical(row, r), horizontal(col, c));
    if r > row {
        // Down to the line above the target, then a newline to the start of the target line
        // (two bytes on the wire once the driver adds the CR).
        let via_newline = format!("{}\n{}", vertical(row, r - 1), horizontal(0, c));
        if via_newline.len() + 1 < best.len() {
            best = via_newline;
        }
    }
    best
}

fn horizontal(from: usize, to: usize) -> String {
    if from == to {
        return String::new();
    }
    let relative = if to > from { csi(to - from, 'C') } else { csi(from - to, 'D') };
    let candidates = [
        relative,
        format!("\x1b[{}G", to + 1),
        if to == 0 { "\r".to_string() } else { format!("\r{}", csi(to, 'C')) },
    ];
    candidates.into_iter().min_by_key(String::len).unwrap_or_default()
}

/// Spans `[start, end)` of cells that differ, merging spans separated by short gaps. `end` may
/// pass the new line's length when the line got shorter (the rest is then cleared).
fn changed_spans(old: &[Cell], new: &[Cell]) -> Vec<(usize, usize)> {
    let len = old.len().max(new.len());
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for i in 0..len {
        if old.get(i) == new.get(i) {
            continue;
        }
        match spans.last_mut() {
            Some((_, end)) if i - *end <= MAX_GAP => *end = i + 1,
            _ => spans.push((i, i + 1)),
        }
    }
    if old.len() > new.len() {
        if let Some(last) = spans.last_mut() {
            last.1 = last.1.max(old.len());
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn first_frame_is_drawn_whole() {
        let mut ip = InPlace::new();
        let out = ip.frame(&lines(&["ab", "cd"]), (80, 24));
        assert_eq!(out, "ab\x1b[K\ncd\x1b[K\n");
    }

    #[test]
    fn an_unchanged_frame_costs_nothing() {
        let mut ip = InPlace::new();
        ip.frame(&lines(&["ab", "cd"]), (80, 24));
        assert_eq!(ip.frame(&lines(&["ab", "cd"]), (80, 24)), "");
    }

    #[test]
    fn only_the_changed_cells_are_rewritten() {
        let mut ip = InPlace::new();
        ip.frame(&lines(&["GPU 0  util  50%", "GPU 1  util  70%"]), (80, 24));
        let out = ip.frame(&lines(&["GPU 0  util  55%", "GPU 1  util  70%"]), (80, 24));
        // Up two lines to row 0, to column 15, write "5", back below the frame.
        assert_eq!(out, "\x1b[2A\x1b[14C5\x1b[2B\r");
    }

    #[test]
    fn a_shorter_line_is_cleared_to_its_end() {
        let mut ip = InPlace::new();
        ip.frame(&lines(&["python train.py", "x"]), (80, 24));
        let out = ip.frame(&lines(&["python t", "x"]), (80, 24));
        assert_eq!(out, "\x1b[2A\x1b[8C\x1b[K\x1b[2B\r");
    }

    #[test]
    fn styles_are_kept_per_cell() {
        let mut ip = InPlace::new();
        ip.frame(&lines(&["t \x1b[31m90\x1b[0m"]), (80, 24));
        let out = ip.frame(&lines(&["t \x1b[31m91\x1b[0m"]), (80, 24));
        assert_eq!(out, "\x1b[A\x1b[3C\x1b[31m1\x1b[0m\n");
    }

    #[test]
    fn a_new_line_count_or_size_redraws_cleanly() {
        let mut ip = InPlace::new();
        ip.frame(&lines(&["a", "b"]), (80, 24));
        let out = ip.frame(&lines(&["a", "b", "c"]), (80, 24));
        assert_eq!(out, "\r\x1b[2A\x1b[Ja\x1b[K\nb\x1b[K\nc\x1b[K\n");
        let out = ip.frame(&lines(&["a", "b", "c"]), (100, 24));
        assert!(out.starts_with("\r\x1b[3A\x1b[J"));
    }

    /// Feeds frames through a terminal emulator (with the tty driver's LF → CR LF) and checks
    /// that the screen always shows exactly the latest frame.
    #[test]
    fn the_screen_always_shows_the_latest_frame() {
        let (cols, rows) = (60u16, 12u16);
        let nz = |n: u16| std::num::NonZeroU16::new(n).unwrap();
        let mut term = vt100::Parser::new(nz(rows), nz(cols), 0);
        let mut ip = InPlace::new();
        let mut seed = 7u64;
        let mut rand = move |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut frame: Vec<String> = (0..8).map(|i| format!("line {i} value 100 name")).collect();
        for step in 0..300 {
            for line in frame.iter_mut() {
                if rand(3) == 0 {
                    let v = rand(1000);
                    let color = if v > 500 { "\x1b[31m" } else { "\x1b[32m" };
                    // Narrow, wide (two cells) and combining (zero cells) characters.
                    let pieces = ["x", "训", "e\u{301}", "🙂", "练"];
                    let tail: String =
                        (0..rand(12)).map(|_| pieces[rand(pieces.len() as u64) as usize]).collect();
                    *line =
                        format!("gpu {} {color}{v:>4}%\x1b[0m mem {} {tail}", rand(9), rand(99999));
                }
            }
            if step % 50 == 49 {
                frame.push("an extra line".into()); // the line count changes now and then
            }
            let bytes = ip.frame(&frame, (cols, rows)).replace('\n', "\r\n");
            term.process(bytes.as_bytes());
            let screen = term.screen().contents();
            let want: Vec<String> =
                frame.iter().take(usize::from(rows) - 1).map(|l| ip_plain(l)).collect();
            let shown: Vec<&str> = screen.lines().map(str::trim_end).collect();
            let top =
                shown.len().saturating_sub(want.len() + usize::from(shown.last() == Some(&"")));
            let top =
                shown.iter().position(|l| want.first().is_some_and(|w| l == w)).unwrap_or(top);
            assert_eq!(&shown[top..top + want.len()], &want[..], "step {step}:\n{screen}");
            assert_eq!(term.screen().cursor_position().1, 0, "cursor rests at column 0");
        }
    }

    fn ip_plain(line: &str) -> String {
        let mut out = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                chars.by_ref().find(|e| e.is_ascii_alphabetic());
            } else {
                out.push(c);
            }
        }
        out.trim_end().to_string()
    }

    #[test]
    fn cursor_moves_take_the_shortest_form() {
        assert_eq!(cursor_to((3, 40), (4, 28)), "\n\x1b[28C");
        assert_eq!(cursor_to((3, 40), (4, 2)), "\n\x1b[2C");
        assert_eq!(cursor_to((3, 40), (3, 0)), "\r");
        assert_eq!(cursor_to((3, 5), (3, 6)), "\x1b[C");
        assert_eq!(cursor_to((9, 0), (2, 14)), "\x1b[7A\x1b[14C");
        assert_eq!(cursor_to((1, 7), (1, 7)), "");
    }

    #[test]
    fn the_frame_is_cut_to_the_terminal_height() {
        let mut ip = InPlace::new();
        let out = ip.frame(&lines(&["1", "2", "3", "4"]), (80, 3));
        assert_eq!(out, "1\x1b[K\n2\x1b[K\n");
    }
}
