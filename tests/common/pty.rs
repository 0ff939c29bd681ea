//! A real pseudo-terminal to run gputop in as on a terminal of its own (its controlling
//! terminal, its stdin, stdout and stderr), with the other side, the master, left to the test:
//! read it like a terminal emulator, or never read it, like an SSH link that has stalled.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Pty {
    /// The terminal's side: what the program writes is read here.
    pub master: OwnedFd,
    /// The program's side. The child's stdin, stdout and stderr share this open file
    /// description, so its flags (`O_NONBLOCK`) and the terminal's modes can be read here.
    pub slave: OwnedFd,
}

impl Pty {
    /// A terminal of `cols`×`rows`.
    pub fn open(cols: u16, rows: u16) -> Self {
        let (mut master, mut slave) = (-1, -1);
        let size = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: openpty writes two descriptors; the name and termios are optional (null).
        let rc = unsafe {
            libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size)
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        for fd in [master, slave] {
            // Not inherited by the child (nor by any other process a test starts meanwhile).
            // SAFETY: fcntl on a descriptor just opened.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        // SAFETY: both descriptors were just opened and are owned here alone.
        unsafe { Self { master: OwnedFd::from_raw_fd(master), slave: OwnedFd::from_raw_fd(slave) } }
    }

    /// Starts `cmd` on this terminal: in a session of its own with the terminal as its
    /// controlling terminal (as a login shell has it), so `/dev/tty`, raw mode, the window
    /// size and SIGWINCH work as on a real one.
    pub fn spawn(&self, cmd: &mut Command) -> Child {
        let stdio = || Stdio::from(self.slave.try_clone().unwrap());
        cmd.stdin(stdio()).stdout(stdio()).stderr(stdio());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.spawn().unwrap()
    }

    /// Types `keys` on the terminal.
    pub fn type_keys(&self, keys: &[u8]) {
        // SAFETY: write(2) from a live buffer of its length.
        let n = unsafe { libc::write(self.master.as_raw_fd(), keys.as_ptr().cast(), keys.len()) };
        assert_eq!(n, keys.len() as isize, "{}", std::io::Error::last_os_error());
    }

    /// Bytes written by the program and not yet read from the master.
    pub fn unread(&self) -> usize {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        unsafe { libc::ioctl(self.master.as_raw_fd(), libc::FIONREAD, &mut n) };
        n.max(0) as usize
    }

    /// Whether the terminal's open file description is non-blocking (shared with the shell
    /// that would run next on it).
    pub fn nonblocking(&self) -> bool {
        // SAFETY: F_GETFL on an open descriptor.
        let flags = unsafe { libc::fcntl(self.slave.as_raw_fd(), libc::F_GETFL) };
        flags & libc::O_NONBLOCK != 0
    }

    /// Whether the terminal is in its ordinary (cooked) mode: line editing and echo on.
    pub fn cooked(&self) -> bool {
        // SAFETY: tcgetattr fills a zeroed termios.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::tcgetattr(self.slave.as_raw_fd(), &mut t) };
        assert_eq!(rc, 0, "tcgetattr: {}", std::io::Error::last_os_error());
        t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
    }

    /// Reads what the program writes, as a terminal emulator would, until `done` says so of
    /// everything read or `limit` passes; returns everything read.
    pub fn read_until(&self, limit: Duration, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let started = Instant::now();
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        while !done(&out) && started.elapsed() < limit {
            let mut poll =
                libc::pollfd { fd: self.master.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one pollfd; then a read into a live buffer of its length.
            if unsafe { libc::poll(&mut poll, 1, 20) } <= 0 {
                continue;
            }
            let n =
                unsafe { libc::read(self.master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        out
    }
}

/// Whether a thread of `pid` sleeps in a write to a terminal, waiting for room. Read from the
/// kernel's stacks where they can be read (root); elsewhere `None`.
pub fn blocked_in_terminal_write(pid: u32) -> Option<bool> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut readable = false;
    for task in tasks.flatten() {
        if let Ok(stack) = std::fs::read_to_string(task.path().join("stack")) {
            readable |= !stack.is_empty();
            if stack.contains("tty_write") && stack.contains("wait_woken") {
                return Some(true);
            }
        }
    }
    readable.then_some(false)
}
