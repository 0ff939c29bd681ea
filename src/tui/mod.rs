//! The interactive monitor: a full-screen ratatui interface, with crossterm for raw mode and
//! events and [`screen`] for the output.
//!
//! The poller publishes snapshots; this loop owns the state ([`App`]) and redraws only when
//! something happens: a snapshot, a key, a mouse event, a resize, or data going stale. There
//! is no frame timer, and the loop never waits on the terminal: frames are written on a thread
//! of their own. The terminal is restored on quit, Ctrl-C, SIGTERM, SIGHUP and panic, within
//! [`QUIT_WAIT`] when it reads nothing.

pub mod app;
pub mod fleet;
pub mod kill;
pub mod rows;
mod text;
pub mod theme;
pub mod ui;
mod widgets;

use std::io::{self, Write};
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind};
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, queue, style};
use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::signal::unix::{signal, SignalKind};
use tokio::time::Instant;

use crate::term::screen::{RawStdout, Screen};
use crate::term::writer::{BackgroundWriter, QUIT_WAIT};
pub use app::App;
pub use rows::SortKey;
use theme::Theme;

use crate::poller::Poller;
use crate::source::{Opened, Source};
use crate::Error;

pub struct TuiOptions {
    pub interval: Duration,
    pub window: Duration,
    pub theme: Theme,
    pub readonly: bool,
    pub show_gpus: bool,
    pub show_processes: bool,
    pub sort: SortKey,
    pub descending: bool,
    /// The process table's columns before COMMAND.
    pub columns: Vec<SortKey>,
    /// `--replay`: the playback to show and steer.
    pub replay: Option<crate::playhead::SharedPlayhead>,
}

/// Draws one frame of `app` on a ratatui backend (`TestBackend` in tests); the monitor itself
/// draws on a [`Screen`].
pub fn render<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &App,
    theme: &Theme,
) -> Result<(), B::Error> {
    terminal.draw(|frame| ui::draw(frame.buffer_mut(), app, theme)).map(|_| ())
}

/// Runs the monitor on `opened` until quit; a `--replay`'s playhead is steered by its keys.
pub fn run(opened: Opened, mut opts: TuiOptions) -> Result<(), Error> {
    opts.replay = opened.playhead;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = runtime.block_on(event_loop(opened.source, opts));
    // A sample stuck in NVML must not hold up the exit.
    runtime.shutdown_background();
    // Said once the screen is the shell's again.
    if opened.matched_nothing.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("gputop: a sample had no GPU process matching --container/--pod");
    }
    result
}

/// How long quitting by a key waits for the terminal to take the sequences that restore it:
/// a key came in, so the terminal is there, and a slow link gets more time than after a
/// signal ([`QUIT_WAIT`]).
const QUIT_BY_KEY_WAIT: Duration = Duration::from_secs(2);

/// Raw mode, the alternate screen and mouse reporting for as long as it lives.
struct TerminalGuard {
    /// The sequences that restore the screen were handed to the output already.
    sequences_sent: bool,
}

impl TerminalGuard {
    /// Raw mode on, and the sequences that enter the alternate screen handed to `out`.
    fn enter(out: &mut impl Write) -> io::Result<Self> {
        terminal::enable_raw_mode()?;
        let guard = TerminalGuard { sequences_sent: false };
        queue!(out, EnterAlternateScreen, EnableMouseCapture, cursor::Hide)?;
        out.flush()?;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            write_within(restore_sequences(), QUIT_WAIT);
            let _ = terminal::disable_raw_mode();
            previous(info);
        }));
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    /// Best effort: after SIGHUP the terminal may be gone, and that is fine. Raw mode goes off
    /// whether the sequences were taken or not: it is a setting of the terminal driver, which
    /// a full buffer does not hold up.
    fn drop(&mut self) {
        if !self.sequences_sent {
            write_within(restore_sequences(), QUIT_WAIT);
        }
        let _ = terminal::disable_raw_mode();
    }
}

/// The sequences that leave the monitor's screen: the shell's screen back, with the cursor,
/// no mouse reporting and the default colours (the screen keeps its colours between frames,
/// and the shell would inherit them).
fn restore_sequences() -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = queue!(
        bytes,
        style::SetAttribute(style::Attribute::Reset),
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    bytes
}

/// Writes `bytes` to standard output on a thread of its own, waiting at most `within` (where
/// the output thread is not at hand: an error or a panic).
fn write_within(bytes: Vec<u8>, within: Duration) {
    let (done, wait) = std::sync::mpsc::channel();
    let writing = std::thread::Builder::new().spawn(move || {
        let _ = RawStdout::new().write_all(&bytes);
        let _ = done.send(());
    });
    if writing.is_ok() {
        let _ = wait.recv_timeout(within);
    }
}

async fn event_loop(source: Box<dyn Source>, opts: TuiOptions) -> Result<(), Error> {
    let mut app = App::new(opts.interval, opts.window, opts.readonly);
    app.show_gpus = opts.show_gpus;
    app.show_processes = opts.show_processes;
    app.sort = opts.sort;
    app.descending = opts.descending;
    app.columns = opts.columns;
    app.replay = opts.replay;
    let theme = opts.theme;

    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    // Frames are written on a thread of their own: see `BackgroundWriter`.
    let mut output = BackgroundWriter::spawn(RawStdout::new())?;
    let mut guard = TerminalGuard::enter(&mut output)?;
    let (width, height) = terminal::size()?;
    let mut screen = Screen::new(output, width, height);
    // A replay's moves are sampled at once.
    let wakeable = app.replay.is_some();
    let mut poller = Poller::spawn_with_past(source, opts.interval, Some(opts.window), wakeable);

    // Terminal input blocks, so it is read on its own thread and forwarded.
    let (keys_tx, mut keys) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        while let Ok(ev) = event::read() {
            if keys_tx.send(ev).is_err() {
                break;
            }
        }
    });

    let mut last_data = Instant::now();
    let stale_after = opts.interval * 2 + Duration::from_secs(1);
    let mut next_stale_check = last_data + stale_after;
    let mut past = poller.past.take();
    // Whether the screen shows less than the app knows. It is drawn once the last frame is
    // written: while the terminal is slow, the frames between are never painted.
    let mut redraw = true;
    let restore_wait = loop {
        if redraw && !screen.writer().is_busy() {
            app.now = chrono::Utc::now();
            screen.draw(|frame| ui::draw(frame, &app, &theme))?;
            redraw = false;
        }
        tokio::select! {
            written = screen.writer_mut().written(), if screen.writer().is_busy() => {
                written?;
                continue;
            }
            polled = poller.next() => {
                match polled {
                    Some(Ok(snapshot)) => {
                        // Filled on the sampling thread (`SourcePlan::host_usage`), as `serve` does.
                        let host = &snapshot.host;
                        app.host_cpu = host.cpu_percent;
                        app.host_memory = host.memory_used_bytes.zip(host.memory_total_bytes);
                        app.on_snapshot(snapshot);
                        last_data = Instant::now();
                        next_stale_check = last_data + stale_after;
                    }
                    Some(Err(e)) => app.message = Some(format!("sampling failed: {e}")),
                    None => return Err(Error::Sampling("the sampler stopped".into())),
                }
            }
            // The charts' window from before the first sample (Prometheus keeps it).
            got = async { past.as_mut().expect("guarded").await }, if past.is_some() => {
                past = None;
                if let Ok(gpus) = got {
                    app.history.backfill(&gpus);
                }
            }
            Some(ev) = keys.recv() => match ev {
                Event::Key(key) if key.kind != KeyEventKind::Release => match app.on_key(key) {
                    app::Action::Quit => break QUIT_BY_KEY_WAIT,
                    app::Action::Signal { key, signal } => {
                        let result = crate::process_signal::send(&key, signal.number());
                        app.signal_result(key.pid, signal, result);
                    }
                    app::Action::Resample => poller.wake(),
                    app::Action::None => {}
                },
                Event::Mouse(mouse) => {
                    app.on_mouse(mouse);
                }
                Event::Resize(width, height) => {
                    screen.set_size(width, height);
                }
                _ => continue,
            },
            // No data for a while: redraw to show how stale it is, then once a second.
            _ = tokio::time::sleep_until(next_stale_check) => {
                next_stale_check = Instant::now() + Duration::from_secs(1);
            }
            _ = terminate.recv() => break QUIT_WAIT,
            _ = hangup.recv() => break QUIT_WAIT,
            _ = interrupt.recv() => break QUIT_WAIT,
        }
        redraw = true;
    };
    // After any frame still being written, so that nothing of it lands on the shell's screen.
    let _ = screen.writer_mut().finish(&restore_sequences(), Some(restore_wait)).await;
    guard.sequences_sent = true;
    Ok(())
}
