//! A terminal that stops reading, as when an SSH link stalls: gputop runs in a real
//! pseudo-terminal (200×60, so its frames are large) whose other side is never read, until
//! the terminal's buffer is full and its writes block; SIGTERM, SIGHUP and SIGINT must still
//! end it within half a second, and leave the terminal in its ordinary mode and blocking.
//! The same terminal, read, gets the monitor's screen restored.

mod common;

use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::pty::{blocked_in_terminal_write, Pty};

/// How soon gputop must be gone after the signal.
const QUIT_WITHIN: Duration = Duration::from_millis(500);

/// One at a time: the timings are the point, and the machine may be small.
static SERIAL: Mutex<()> = Mutex::new(());

/// `gputop --demo 8 --interval 0.1` and `args`; `--demo N` in `args` replaces the 8.
fn gputop(args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("gputop"));
    if !args.contains(&"--demo") {
        cmd.args(["--demo", "8"]);
    }
    cmd.args(["--interval", "0.1"])
        .args(args)
        .env("TERM", "xterm-256color")
        .env("LC_ALL", "C.UTF-8")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env_remove("NO_COLOR")
        .env_remove("GPUTOP_INTERVAL");
    cmd
}

/// Waits until gputop's writes to the unread terminal block: a thread seen asleep in a
/// terminal write for half a second in the kernel's stacks where they can be read, and
/// otherwise a full buffer that stays full for a second.
fn wait_until_blocked(child: &mut Child, pty: &Pty) {
    let started = Instant::now();
    let mut full_since: Option<Instant> = None;
    let mut blocked_since: Option<Instant> = None;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("gputop ended before its writes blocked: {status}");
        }
        match blocked_in_terminal_write(child.id()) {
            Some(true) => {
                let since = *blocked_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_millis(500) {
                    return;
                }
            }
            Some(false) => blocked_since = None,
            None => {
                // 4095 bytes is where Linux's line discipline stops taking more.
                if pty.unread() >= 4000 {
                    if full_since.get_or_insert_with(Instant::now).elapsed()
                        > Duration::from_secs(1)
                    {
                        return;
                    }
                } else {
                    full_since = None;
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "gputop's writes never blocked ({} bytes unread)",
            pty.unread()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `signal` and returns how long gputop took to exit; fails (and kills it) after
/// [`QUIT_WITHIN`].
fn signal_and_time_the_exit(child: &mut Child, signal: libc::c_int) -> Duration {
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let sent = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let took = sent.elapsed();
            assert!(status.success(), "exit after signal {signal}: {status}");
            return took;
        }
        if sent.elapsed() > QUIT_WITHIN {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running {QUIT_WITHIN:?} after signal {signal} on a terminal that reads nothing");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn quits_on_a_stalled_terminal(args: &[&str], signal: libc::c_int) {
    quits_on_a_stalled_terminal_of(200, 60, args, signal);
}

fn quits_on_a_stalled_terminal_of(cols: u16, rows: u16, args: &[&str], signal: libc::c_int) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pty = Pty::open(cols, rows);
    let mut child = pty.spawn(&mut gputop(args));
    wait_until_blocked(&mut child, &pty);
    let took = signal_and_time_the_exit(&mut child, signal);
    eprintln!(
        "{args:?}: exited {took:?} after signal {signal}, with {} bytes unread",
        pty.unread()
    );
    assert!(pty.cooked(), "the terminal is back in its ordinary mode (raw mode off)");
    assert!(!pty.nonblocking(), "the terminal's file description is left blocking");
}

#[test]
fn the_monitor_quits_on_sigterm_while_the_terminal_reads_nothing() {
    quits_on_a_stalled_terminal(&[], libc::SIGTERM);
}

#[test]
fn the_monitor_quits_on_sighup_while_the_terminal_reads_nothing() {
    quits_on_a_stalled_terminal(&[], libc::SIGHUP);
}

#[test]
fn the_monitor_quits_on_sigint_while_the_terminal_reads_nothing() {
    quits_on_a_stalled_terminal(&[], libc::SIGINT);
}

#[test]
fn watch_quits_on_sigterm_while_the_terminal_reads_nothing() {
    quits_on_a_stalled_terminal(&["--watch", "0.1"], libc::SIGTERM);
}

#[test]
fn watch_quits_on_sighup_while_the_terminal_reads_nothing() {
    quits_on_a_stalled_terminal(&["--watch", "0.1"], libc::SIGHUP);
}

#[test]
fn watch_quits_on_sigint_while_the_terminal_reads_nothing() {
    quits_on_a_stalled_terminal(&["--watch", "0.1"], libc::SIGINT);
}

/// The restore sequences close what the monitor wrote: nothing of a frame comes after them.
#[test]
fn a_terminal_that_reads_gets_its_screen_restored_after_sigterm() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pty = Pty::open(200, 60);
    let mut child = pty.spawn(&mut gputop(&[]));
    const ENTER: &[u8] = b"\x1b[?1049h";
    const LEAVE: &[u8] = b"\x1b[?1049l";
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).rposition(|w| w == needle);
    // A few frames first.
    let mut seen = pty.read_until(Duration::from_secs(10), |out| {
        find(out, ENTER).is_some() && find(out, b"NVIDIA").is_some() && out.len() > 20_000
    });
    assert!(
        find(&seen, ENTER).is_some(),
        "the monitor never started:\n{}",
        String::from_utf8_lossy(&seen)
    );
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let sent = Instant::now();
    seen.extend(pty.read_until(Duration::from_secs(5), |out| find(out, LEAVE).is_some()));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(sent.elapsed() < QUIT_WITHIN * 4, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "{status}");
    seen.extend(pty.read_until(Duration::from_millis(200), |_| false));
    let leave = find(&seen, LEAVE).expect("the alternate screen was left");
    assert!(find(&seen, ENTER).unwrap() < leave);
    let after = String::from_utf8_lossy(&seen[leave + LEAVE.len()..]).into_owned();
    assert_eq!(after, "\x1b[?25h", "only the cursor is shown again after leaving");
    let before = String::from_utf8_lossy(&seen[..leave]);
    assert!(
        before.ends_with("\x1b[?1006l") || before.contains("\x1b[?1000l"),
        "mouse reporting is off"
    );
    assert!(pty.cooked(), "raw mode is off");
    assert!(!pty.nonblocking());
}

/// `--count` reached while the last lines are still waiting for the terminal (a first table
/// of 1024 GPUs on a terminal 3000 rows tall is more than its buffers take): waited for, as a
/// reader expects all of them, until a signal says stop.
#[test]
fn watch_with_a_count_waits_for_its_last_lines_until_sigterm() {
    let args = ["--demo", "1024", "--watch", "0.1", "--count", "1"];
    quits_on_a_stalled_terminal_of(200, 3000, &args, libc::SIGTERM);
}

/// A link that stalls and comes back: the monitor kept working meanwhile and goes on where
/// the terminal left off. Everything it wrote is fed to a terminal emulator; a key typed after
/// the stall brings up the help, which shows whole, and `q` restores the screen.
#[test]
fn after_a_stall_the_monitor_goes_on_and_answers_keys() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (cols, rows) = (200, 60);
    let pty = Pty::open(cols, rows);
    let mut child = pty.spawn(&mut gputop(&[]));
    wait_until_blocked(&mut child, &pty);
    let nz = |n: u16| std::num::NonZero::new(n).unwrap();
    let mut term = vt100::Parser::new(nz(rows), nz(cols), 0);
    term.process(&pty.read_until(Duration::from_secs(1), |_| false));
    pty.type_keys(b"?");
    let shows_help = |term: &vt100::Parser| {
        let text = term.screen().contents();
        let whole = ["quit (Esc first clears a filter)", "colours and drawing characters"];
        whole.iter().all(|line| text.contains(line))
    };
    let started = Instant::now();
    while !shows_help(&term) && started.elapsed() < Duration::from_secs(10) {
        term.process(&pty.read_until(Duration::from_millis(100), |_| false));
    }
    assert!(shows_help(&term), "no help after the stall:\n{}", term.screen().contents());
    assert!(term.screen().contents().contains("NVIDIA"), "{}", term.screen().contents());
    pty.type_keys(b"q");
    let started = Instant::now();
    let status = loop {
        term.process(&pty.read_until(Duration::from_millis(20), |_| false));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "q did not quit");
    };
    term.process(&pty.read_until(Duration::from_millis(200), |_| false));
    assert!(status.success(), "{status}");
    assert!(!term.screen().alternate_screen(), "the shell's screen is back");
    assert!(!term.screen().hide_cursor(), "the cursor is shown");
    assert!(pty.cooked());
}
