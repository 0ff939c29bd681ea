//! The kill confirmation (`k`): the refusals before it opens, the signal chosen in it, and the
//! footer's word on what came of it. The signal itself is sent by the event loop.

use crossterm::event::{KeyCode, KeyEvent};

use super::app::{Action, App, Overlay};
use crate::process_signal::{self, SignalError};
use crate::sample::ProcessKey;
use crate::text::sanitize::sanitize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Int,
    Kill,
}

impl Signal {
    pub const ALL: [Signal; 3] = [Signal::Term, Signal::Int, Signal::Kill];

    pub fn name(self) -> &'static str {
        match self {
            Self::Term => "TERM",
            Self::Int => "INT",
            Self::Kill => "KILL",
        }
    }

    pub fn number(self) -> i32 {
        match self {
            Self::Term => libc::SIGTERM,
            Self::Int => libc::SIGINT,
            Self::Kill => libc::SIGKILL,
        }
    }

    fn step(self, by: isize) -> Signal {
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0) as isize;
        Self::ALL[(i + by).rem_euclid(Self::ALL.len() as isize) as usize]
    }
}

impl App {
    /// Whether `k` can signal anything: not with `--readonly`, nor when no row is this
    /// machine's live process (a demo, a replay, other hosts).
    pub fn offers_signals(&self) -> bool {
        !self.readonly && self.snapshot.as_ref().is_none_or(|s| s.offers_signals())
    }

    /// Opens the confirmation for the selected row, or says in one line why not: a row whose
    /// PID would name no process here, or another one, is never offered.
    pub(super) fn open_kill(&mut self) {
        let Some(row) = self.selected.as_ref().and_then(|k| self.row(k)) else {
            let why = if self.offers_signals() {
                "select a process first (↑/↓)"
            } else {
                "signals are disabled here"
            };
            self.message = Some(why.into());
            return;
        };
        if let Some(why) = row.refusal {
            self.message = Some(format!("cannot signal PID {}: {why}", row.pid));
            return;
        }
        if self.readonly {
            self.message = Some("read-only mode: signals are disabled".into());
            return;
        }
        let key = row.key.clone();
        match process_signal::command_line(&key) {
            Ok(command) => {
                self.overlay = Overlay::Kill {
                    key,
                    signal: Signal::Term,
                    command: sanitize(&command).into_owned(),
                }
            }
            Err(e) => self.message = Some(format!("cannot signal PID {}: {e}", key.pid)),
        }
    }

    pub(super) fn on_kill_key(
        &mut self,
        pressed: KeyEvent,
        key: ProcessKey,
        signal: Signal,
        command: String,
    ) -> Action {
        let signal = match pressed.code {
            KeyCode::Left | KeyCode::Up | KeyCode::BackTab => signal.step(-1),
            KeyCode::Right | KeyCode::Down | KeyCode::Tab => signal.step(1),
            KeyCode::Char('t') => Signal::Term,
            KeyCode::Char('i') => Signal::Int,
            KeyCode::Char('K') => Signal::Kill,
            KeyCode::Enter | KeyCode::Char('y') => {
                self.overlay = Overlay::None;
                return Action::Signal { key, signal };
            }
            _ => {
                self.overlay = Overlay::None;
                return Action::None;
            }
        };
        self.overlay = Overlay::Kill { key, signal, command };
        Action::None
    }

    /// Result of sending a signal, shown in the footer.
    pub fn signal_result(&mut self, pid: u32, signal: Signal, result: Result<(), SignalError>) {
        self.message = Some(match result {
            Ok(()) => format!("sent SIG{} to {pid}", signal.name()),
            Err(e) => format!("SIG{} not sent to {pid}: {e}", signal.name()),
        });
    }
}
