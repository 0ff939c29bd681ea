//! Formatting of values for people: `N/A` for what is unknown, binary units for memory.

use std::fmt::Display;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

pub const NA: &str = "N/A";
pub const MIB: u64 = 1024 * 1024;

/// The value, or `N/A`.
pub fn or_na<T: Display>(v: Option<T>) -> String {
    v.map_or_else(|| NA.to_string(), |v| v.to_string())
}

/// Whole MiB, rounded down as nvidia-smi does.
pub fn mib(bytes: u64) -> u64 {
    bytes / MIB
}

/// A size in the largest binary unit that keeps it readable: `812MiB`, `3.2GiB`, `1.5TiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit <= 2 || value >= 100.0 {
        format!("{value:.0}{}", UNITS[unit])
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

/// Elapsed time as `ps` shows it: `59s`, `12:05`, `3:02:01`, `2d 03h`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}:{s:02}"),
        (0, _, _) => format!("{h}:{m:02}:{s:02}"),
        _ => format!("{d}d {h:02}h"),
    }
}

/// Energy in the unit that reads best: `12.5 Wh`, `3.40 kWh`; `N/A` when unknown.
pub fn energy(kwh: Option<f64>) -> String {
    match kwh {
        None => "N/A".into(),
        Some(e) if e < 1.0 => format!("{:.1} Wh", e * 1000.0),
        Some(e) => format!("{e:.2} kWh"),
    }
}

/// How old data is, in the unit that reads best: `95 s`, `12 min`, `3.0 h`.
pub fn age_text(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// Elapsed time to the minute, for live tables where a per-second clock on every row would
/// only cost redraws: `<1m`, `12m`, `3h02m`, `2d03h`.
pub fn duration_coarse(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (d, h, m) {
        (0, 0, 0) => "<1m".into(),
        (0, 0, _) => format!("{m}m"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}

/// Cuts `s` to at most `width` terminal cells, marking the cut with `…` (or `~` in ASCII
/// mode). A wide character (CJK, most emoji) takes two cells and is never split.
pub fn truncate(s: &str, width: usize, ascii: bool) -> std::borrow::Cow<'_, str> {
    if s.width() <= width {
        return s.into();
    }
    let mark = if ascii { '~' } else { '…' };
    let mut out = String::with_capacity(width + 3);
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push(mark);
    }
    out.into()
}

/// `s` padded with spaces to `width` terminal cells, on the right (`left_aligned`) or the left;
/// `s` itself is not cut.
pub fn pad(s: &str, width: usize, left_aligned: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.width()));
    if left_aligned {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_terminal_cells() {
        assert_eq!(truncate("训练数据集", 5, false), "训练…");
        assert_eq!(truncate("训练数据集", 6, false), "训练…", "a wide character is never split");
        assert_eq!(truncate("训练", 4, false), "训练");
        assert_eq!(pad("训练", 6, true), "训练  ");
        assert_eq!(pad("ab", 4, false), "  ab");
    }

    #[test]
    fn unknown_is_na_and_zero_is_zero() {
        assert_eq!(or_na::<u32>(None), "N/A");
        assert_eq!(or_na(Some(0)), "0");
    }

    #[test]
    fn human_bytes_picks_a_readable_unit() {
        assert_eq!(human_bytes(0), "0B");
        assert_eq!(human_bytes(812 * MIB), "812MiB");
        assert_eq!(human_bytes(3277 * MIB), "3.2GiB");
        assert_eq!(human_bytes(150 * 1024 * MIB), "150GiB");
    }

    #[test]
    fn mib_rounds_down() {
        assert_eq!(mib(2 * MIB - 1), 1);
    }

    #[test]
    fn durations_read_like_ps() {
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(725), "12:05");
        assert_eq!(duration(10_921), "3:02:01");
        assert_eq!(duration(2 * 86_400 + 3 * 3600), "2d 03h");
    }

    #[test]
    fn coarse_durations_change_once_a_minute() {
        assert_eq!(duration_coarse(59), "<1m");
        assert_eq!(duration_coarse(61), "1m");
        assert_eq!(duration_coarse(10_921), "3h02m");
        assert_eq!(duration_coarse(2 * 86_400 + 3 * 3600), "2d03h");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4, false), "abc…");
        assert_eq!(truncate("abcdef", 4, true), "abc~");
        assert_eq!(truncate("abc", 4, false), "abc");
    }
}
