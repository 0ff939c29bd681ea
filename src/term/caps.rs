//! What the terminal can do, decided once at the start: whether standard input, output and
//! error are terminals, `TERM=dumb`, a UTF-8 locale, the width, and colour (`--color`,
//! `NO_COLOR`). The plan reads these; nothing else asks the environment.

use std::io::IsTerminal;

/// `--color`: when to colour the output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    Always,
    Never,
}

/// The terminal as found at the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps {
    pub stdin_tty: bool,
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    /// `TERM=dumb`: a terminal that cannot move the cursor.
    pub dumb: bool,
    /// The locale promises UTF-8 (else the views draw with ASCII).
    pub utf8: bool,
    /// `NO_COLOR` is set (and not empty).
    pub no_color: bool,
    /// Columns of standard output, when it is a terminal that says.
    pub width: Option<usize>,
}

impl Caps {
    /// This process's terminal and environment.
    pub fn detect() -> Self {
        let stdout_tty = std::io::stdout().is_terminal();
        Self {
            stdin_tty: std::io::stdin().is_terminal(),
            stdout_tty,
            stderr_tty: std::io::stderr().is_terminal(),
            dumb: std::env::var("TERM").is_ok_and(|t| t == "dumb"),
            utf8: locale_is_utf8(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            width: if stdout_tty { terminal_width() } else { None },
        }
    }

    /// Standard input and output are a terminal that moves the cursor: the monitor can run.
    pub fn interactive(&self) -> bool {
        self.stdout_tty && self.stdin_tty && !self.dumb
    }

    /// Standard input and output are a terminal, one of `TERM=dumb`: the monitor would have
    /// run on any other.
    pub fn dumb_terminal(&self) -> bool {
        self.stdin_tty && self.stdout_tty && self.dumb
    }

    /// Whether to colour standard output. An explicit `always` beats `NO_COLOR`, as flags beat
    /// the environment everywhere else.
    pub fn color(&self, choice: ColorChoice) -> bool {
        match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !self.no_color && !self.dumb && self.stdout_tty,
        }
    }

    /// For the full-screen monitor, which only runs on a terminal: `NO_COLOR` and `never` turn
    /// colour off.
    pub fn color_for_tty(&self, choice: ColorChoice) -> bool {
        match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !self.no_color,
        }
    }

    /// Draw with ASCII only: asked for (`--ascii`), or a locale that is not UTF-8.
    pub fn ascii(&self, asked: bool) -> bool {
        asked || !self.utf8
    }
}

fn terminal_width() -> Option<usize> {
    crossterm::terminal::size().ok().map(|(cols, _)| cols as usize).filter(|&c| c > 0)
}

/// Whether the locale promises UTF-8 (LC_ALL, then LC_CTYPE, then LANG, as setlocale reads them).
pub fn locale_is_utf8() -> bool {
    let value = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_default()
        .to_ascii_lowercase();
    value.contains("utf-8") || value.contains("utf8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_the_flag_then_the_environment_then_the_terminal() {
        let tty = Caps { stdout_tty: true, stdin_tty: true, utf8: true, ..Caps::default() };
        assert!(tty.color(ColorChoice::Auto));
        assert!(!Caps { no_color: true, ..tty }.color(ColorChoice::Auto));
        assert!(Caps { no_color: true, ..tty }.color(ColorChoice::Always), "the flag wins");
        assert!(!Caps { dumb: true, ..tty }.color(ColorChoice::Auto));
        assert!(!Caps { stdout_tty: false, ..tty }.color(ColorChoice::Auto), "a pipe");
        assert!(!tty.color(ColorChoice::Never));
        assert!(!Caps { no_color: true, ..tty }.color_for_tty(ColorChoice::Auto));
    }

    #[test]
    fn the_monitor_needs_both_ends_on_a_terminal_that_moves_the_cursor() {
        let tty = Caps { stdout_tty: true, stdin_tty: true, ..Caps::default() };
        assert!(tty.interactive() && !tty.dumb_terminal());
        let dumb = Caps { dumb: true, ..tty };
        assert!(!dumb.interactive() && dumb.dumb_terminal());
        assert!(!Caps { stdin_tty: false, ..tty }.interactive());
        assert!(!Caps { stdin_tty: false, ..dumb }.dumb_terminal());
    }
}
