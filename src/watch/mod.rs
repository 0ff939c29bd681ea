//! `--watch`: a plain refreshing view for SSH sessions, logs and pipes.
//!
//! On a terminal the table is refreshed in place (only changed cells are rewritten; no
//! alternate screen, no raw mode, so scrollback and Ctrl-C behave as usual). Into a pipe or
//! file, or with `TERM=dumb`, a block per sample is appended with no escape sequences. JSON
//! writes one document per line, CSV and `--query-*` one header and then rows.

use std::io::Write;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};

use crate::output::format::Format;
use crate::output::table::{self, TableOptions};
use crate::output::{csv, json, owners};
use crate::poller::Poller;
use crate::sample::Snapshot;
use crate::source::{Source, SourceError};
use crate::term::screen::{RawStdout, Screen};
use crate::term::writer::{BackgroundWriter, QUIT_WAIT};
use crate::Error;

pub struct WatchOptions {
    pub interval: Duration,
    /// Stop after this many samples.
    pub count: Option<u64>,
    /// Write here instead of standard output (`-f`).
    pub output: Option<std::fs::File>,
    /// `q` typed on the terminal quits, as in the monitor this view stands in for
    /// (`TERM=dumb`).
    pub quit_key: bool,
    /// Standard output is a terminal that moves the cursor: redraw the table in place.
    pub in_place: bool,
}

/// Runs until `count` samples, Ctrl-C, SIGTERM, SIGHUP or a closed pipe.
pub fn run(source: Box<dyn Source>, format: Format, opts: WatchOptions) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = runtime.block_on(watch(source, format, opts));
    // A sample stuck in NVML must not hold up the exit.
    runtime.shutdown_background();
    result
}

async fn watch(source: Box<dyn Source>, format: Format, opts: WatchOptions) -> Result<(), Error> {
    let mut poller = Poller::spawn(source, opts.interval);
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut resize = signal(SignalKind::window_change())?;
    let terminal = opts.in_place && opts.output.is_none();
    // Written on a thread of its own: a terminal (or pipe) that stops reading holds up that
    // thread, never the signals (see `BackgroundWriter`).
    let mut out = match opts.output {
        Some(file) => BackgroundWriter::spawn(file)?,
        None => BackgroundWriter::spawn(RawStdout::new())?,
    };
    let mut printer = Printer::new(format, terminal);
    let mut samples = 0u64;
    let (_keys_mode, mut quit) = if opts.quit_key { quit_on_q() } else { (None, None) };
    let signalled = loop {
        tokio::select! {
            Some(()) = async { quit.as_mut()?.recv().await } => break true,
            written = out.written(), if out.is_busy() => written?,
            // The next sample once the last is written: a reader that falls behind skips
            // samples, as it did when the write blocked, rather than have them pile up.
            polled = poller.next(), if !out.is_busy() => {
                match polled {
                    Some(Ok(snapshot)) => printer.print(&snapshot, &mut out)?,
                    // A recording played to its end (`--replay`): done.
                    Some(Err(e)) if matches!(*e, SourceError::EndOfRecording) => break false,
                    Some(Err(e)) => return Err(Error::Sampling(e.to_string())),
                    None => return Err(Error::Sampling("the sampler stopped".into())),
                }
                samples += 1;
                if opts.count.is_some_and(|n| samples >= n) {
                    break false;
                }
            }
            _ = resize.recv() => printer.reprint(&mut out)?,
            // Requested stops: leave the terminal as it is, with the prompt below the table.
            _ = interrupt.recv() => break true,
            _ = terminate.recv() => break true,
            _ = hangup.recv() => break true,
        }
    };
    // Everything written; after a signal, only as much as the reader takes in a moment.
    let written = out.finish(b"", signalled.then_some(QUIT_WAIT));
    tokio::select! {
        written = written => written.map(|_| ()).map_err(Error::from),
        // A reader that stopped reading holds up the last lines: a signal still ends it.
        _ = interrupt.recv() => Ok(()),
        _ = terminate.recv() => Ok(()),
        _ = hangup.recv() => Ok(()),
    }
}

/// Standard input read a key at a time (no line editing, no echo; Ctrl-C still interrupts):
/// the receiver hears of each `q`. The terminal's modes come back when the guard is dropped.
fn quit_on_q() -> (Option<KeysMode>, Option<tokio::sync::mpsc::UnboundedReceiver<()>>) {
    use std::io::Read;
    let guard = KeysMode::enter();
    let (send, receive) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut byte = [0u8];
        // Ends with stdin (end of file, an error) or once nobody listens.
        while matches!(std::io::stdin().read(&mut byte), Ok(1)) {
            if matches!(byte[0], b'q' | b'Q') && send.send(()).is_err() {
                break;
            }
        }
    });
    (guard, Some(receive))
}

/// Standard input's terminal modes before [`quit_on_q`] changed them, put back on drop.
struct KeysMode(libc::termios);

impl KeysMode {
    fn enter() -> Option<Self> {
        // SAFETY: tcgetattr fills a zeroed termios; tcsetattr reads one.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut saved) != 0 {
                return None;
            }
            let mut keys = saved;
            keys.c_lflag &= !(libc::ICANON | libc::ECHO);
            keys.c_cc[libc::VMIN] = 1;
            keys.c_cc[libc::VTIME] = 0;
            (libc::tcsetattr(0, libc::TCSANOW, &keys) == 0).then_some(Self(saved))
        }
    }
}

impl Drop for KeysMode {
    fn drop(&mut self) {
        // SAFETY: tcsetattr reads the termios saved at the start.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &self.0) };
    }
}

/// Writes successive snapshots in the chosen format.
struct Printer {
    format: Format,
    style: TableStyle,
    header_written: bool,
    last: Option<std::sync::Arc<Snapshot>>,
}

enum TableStyle {
    /// Redrawn where it stands, through a screen that collects each frame's bytes.
    InPlace(Box<Screen<Vec<u8>>>),
    Append,
}

impl Printer {
    /// `terminal`: the output is a terminal that moves the cursor, where the table is redrawn
    /// in place.
    fn new(format: Format, terminal: bool) -> Self {
        let style = if terminal {
            TableStyle::InPlace(Box::new(Screen::inline(Vec::new())))
        } else {
            TableStyle::Append
        };
        Self { format, style, header_written: false, last: None }
    }

    fn print(
        &mut self,
        snapshot: &std::sync::Arc<Snapshot>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        self.last = Some(snapshot.clone());
        match &self.format {
            Format::Table(opts) => {
                let opts = *opts;
                self.print_table(snapshot, &opts, out)?;
            }
            Format::Owners(_, Some(opts)) => {
                let opts = *opts;
                self.print_table(snapshot, &opts, out)?;
            }
            Format::Owners(by, None) => writeln!(out, "{}", owners::json_line(snapshot, *by))?,
            Format::Json => writeln!(out, "{}", json::line(snapshot))?,
            Format::Csv => {
                if !self.header_written {
                    write!(out, "{}", csv::header(snapshot))?;
                }
                write!(out, "{}", csv::rows(snapshot))?;
            }
            Format::Query(query, fmt) => {
                if !self.header_written {
                    if let Some(header) = query.header(*fmt) {
                        writeln!(out, "{header}")?;
                    }
                }
                for row in query.rows(snapshot, *fmt) {
                    writeln!(out, "{row}")?;
                }
            }
        }
        self.header_written = true;
        out.flush()?;
        Ok(())
    }

    fn print_table(
        &mut self,
        snapshot: &Snapshot,
        opts: &TableOptions,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let by = match self.format {
            Format::Owners(by, _) => Some(by),
            _ => None,
        };
        let lines = |opts: &TableOptions| match by {
            Some(by) => owners::render(snapshot, by, opts),
            None => table::render(snapshot, opts),
        };
        match &mut self.style {
            TableStyle::InPlace(screen) => {
                let size = crossterm::terminal::size().unwrap_or((80, 24));
                // One column short of the edge: a full line would leave the cursor in the
                // terminal's pending-wrap state and shift the next write.
                let width = usize::from(size.0.saturating_sub(1)).max(1);
                let lines = lines(&TableOptions { width: Some(width), ..*opts });
                screen.draw_lines(&lines, size)?;
                out.write_all(screen.writer())?;
                screen.writer_mut().clear();
            }
            TableStyle::Append => {
                for line in lines(opts) {
                    writeln!(out, "{line}")?;
                }
                writeln!(out)?;
            }
        }
        Ok(())
    }

    /// Redraws the last snapshot after a resize, at once rather than at the next sample.
    fn reprint(&mut self, out: &mut dyn Write) -> Result<(), Error> {
        let opts = match &self.format {
            Format::Table(opts) | Format::Owners(_, Some(opts)) => Some(*opts),
            _ => None,
        };
        if let (Some(opts), TableStyle::InPlace(_), Some(last)) =
            (opts, &self.style, self.last.clone())
        {
            self.print_table(&last, &opts, out)?;
            out.flush()?;
        }
        Ok(())
    }
}
