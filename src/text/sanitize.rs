//! Untrusted strings (process names, command lines, GPU names from a driver) never reach a
//! terminal raw: control characters are shown escaped, so `ESC]0;x BEL` cannot retitle the
//! window and `ESC[2J` cannot clear the screen.

use std::borrow::Cow;
use std::fmt::Write;

/// Escapes C0 and C1 control characters, DEL, and the bidirectional overrides that can make
/// text read differently from what it is (`\x1b`, `\x07`, `\u{202e}`). Tabs and newlines are
/// escaped too: a process table row stays one line.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_control_sequences() {
        assert_eq!(sanitize("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
        assert_eq!(sanitize("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(sanitize("x\u{9b}y\u{7f}"), "x\\x9by\\x7f");
        assert_eq!(sanitize("tab\there\nnl"), "tab\\x09here\\x0anl");
        assert_eq!(sanitize("evil\u{202e}txt"), "evil\\u{202e}txt");
    }

    #[test]
    fn leaves_clean_text_alone_without_allocating() {
        assert!(matches!(sanitize("python train.py — ünïcode ✓"), Cow::Borrowed(_)));
    }
}
