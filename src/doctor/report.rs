//! The doctor's report as a readable checklist (coloured marks, ASCII fallback, sanitized
//! strings) or as JSON.

use std::fmt::Write;

use super::{Report, Status};
use crate::output::style::{self, Painter};
use crate::text::sanitize::sanitize;

fn mark(status: Status, ascii: bool) -> &'static str {
    match (status, ascii) {
        (Status::Ok, false) => "✔",
        (Status::Warning, false) => "⚠",
        (Status::Failure, false) => "✘",
        (Status::Skipped, false) => "–",
        (Status::Ok, true) => "[ok]  ",
        (Status::Warning, true) => "[warn]",
        (Status::Failure, true) => "[FAIL]",
        (Status::Skipped, true) => "[skip]",
    }
}

fn mark_style(status: Status) -> anstyle::Style {
    use anstyle::AnsiColor::*;
    match status {
        Status::Ok => Green.on_default(),
        Status::Warning => Yellow.on_default().bold(),
        Status::Failure => Red.on_default().bold(),
        Status::Skipped => style::DIM,
    }
}

pub fn render_text(report: &Report, painter: Painter, ascii: bool) -> String {
    let mut out = String::new();
    let arrow = if ascii { "->" } else { "→" };
    for section in &report.sections {
        let _ = writeln!(out, "{}", painter.line(style::HEADER, section.name));
        for f in &section.findings {
            let m = painter.line(mark_style(f.status), mark(f.status, ascii));
            let _ = writeln!(out, "  {m} {}", sanitize(&f.title));
            for e in &f.evidence {
                let _ = writeln!(out, "      {}", painter.line(style::DIM, sanitize(e)));
            }
            if let (Some(fix), true) = (&f.fix, f.status >= Status::Warning) {
                let _ = writeln!(out, "      {arrow} {}", sanitize(fix));
            }
        }
        out.push('\n');
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{}",
        painter.line(
            style::HEADER,
            format_args!(
                "{} ok, {}, {}, {} skipped",
                s.ok,
                plural(s.warnings, "warning"),
                plural(s.failures, "failure"),
                s.skipped
            )
        )
    );
    let fixes = report.fixes();
    if fixes.is_empty() {
        let _ = writeln!(out, "Nothing to fix: the GPU stack looks healthy.");
    } else {
        let _ = writeln!(out, "What to do first:");
        for (i, fix) in fixes.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, sanitize(fix));
        }
    }
    if ascii {
        out = to_ascii(&out);
    }
    out
}

/// The text for a terminal without UTF-8: the few signs the findings use spelled out, and
/// anything else (a GPU's name, a path) with `?` for each character it cannot show.
fn to_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '…' => out.push_str("..."),
            '≤' => out.push_str("<="),
            '≥' => out.push_str(">="),
            '×' => out.push('x'),
            c if c.is_ascii() => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub fn render_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_default()
}
