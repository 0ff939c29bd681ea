//! Signals that reach exactly the process the user chose, or none.
//!
//! A row names a process by [`ProcessKey`]: PID and start time. Before a signal is sent, the
//! process is pinned with a pidfd (`pidfd_open`), and only then is its start time compared with
//! the row's: a pidfd keeps naming the process it was opened on, so a PID that the kernel hands
//! to someone else after the check is never hit. Without pidfds (Linux before 5.3) the start
//! time is checked right before `kill`, which leaves only that instant open.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::sample::ProcessKey;
use crate::source::host::{stat, ProcDir};

/// Why no signal was sent.
#[derive(Debug)]
pub enum SignalError {
    /// The row is not a process of this machine that gputop can name safely.
    Refused(String),
    /// The process has exited (its PID may now be someone else's).
    Gone,
    PermissionDenied,
    Other(io::Error),
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(why) => f.write_str(why),
            Self::Gone => f.write_str("the process has exited; nothing was sent"),
            Self::PermissionDenied => {
                f.write_str("permission denied (another user's process: run as that user or root)")
            }
            Self::Other(e) => write!(f, "{e}"),
        }
    }
}

/// The command line of the process `key` names, read now from `/proc`: what the
/// confirmation shows. `Gone` when that PID now belongs to another process or to none.
pub fn command_line(key: &ProcessKey) -> Result<String, SignalError> {
    // Read through the directory that was checked: a newcomer's would not be readable.
    let raw = checked_dir(key)?.read("cmdline").ok_or(SignalError::Gone)?;
    Ok(stat::command_line(&raw).unwrap_or_else(|| "(no command line)".into()))
}

/// Sends `signal` to the process `key` names, if it is still that process.
pub fn send(key: &ProcessKey, signal: i32) -> Result<(), SignalError> {
    let pid = checked_pid(key)?;
    match pidfd_open(pid) {
        Ok(pidfd) => {
            // Pinned: from here on `pidfd` names one process whatever happens to the PID.
            checked_dir(key)?;
            pidfd_send_signal(&pidfd, signal).map_err(os_error)
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            checked_dir(key)?;
            // SAFETY: kill(2) with a positive PID only sends a signal.
            if unsafe { libc::kill(pid, signal) } == 0 {
                Ok(())
            } else {
                Err(os_error(io::Error::last_os_error()))
            }
        }
        Err(e) => Err(os_error(e)),
    }
}

/// The PID of a local process whose start time is known, refusing what must never be hit.
fn checked_pid(key: &ProcessKey) -> Result<libc::pid_t, SignalError> {
    if let Some(host) = &key.host {
        return Err(SignalError::Refused(format!(
            "process {} runs on {host}, not here: nothing was sent",
            key.pid
        )));
    }
    let pid = libc::pid_t::try_from(key.pid).unwrap_or(-1);
    if pid <= 1 || pid == std::process::id() as libc::pid_t {
        return Err(SignalError::Refused(format!("refusing to signal PID {}", key.pid)));
    }
    if key.start_ticks.is_none() {
        return Err(SignalError::Refused(format!(
            "cannot tell which process PID {} is (its start time is unknown): nothing was sent",
            key.pid
        )));
    }
    Ok(pid)
}

/// `/proc/PID`, opened, when the process there started when `key` says.
fn checked_dir(key: &ProcessKey) -> Result<ProcDir, SignalError> {
    checked_pid(key)?;
    let dir = ProcDir::of_pid(key.pid).ok_or(SignalError::Gone)?;
    match dir.stat() {
        Some(stat) if Some(stat.start_ticks) == key.start_ticks => Ok(dir),
        _ => Err(SignalError::Gone),
    }
}

fn os_error(e: io::Error) -> SignalError {
    match e.raw_os_error() {
        Some(libc::ESRCH) => SignalError::Gone,
        Some(libc::EPERM) => SignalError::PermissionDenied,
        _ => SignalError::Other(e),
    }
}

fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a PID and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn pidfd_send_signal(pidfd: &OwnedFd, signal: i32) -> io::Result<()> {
    // SAFETY: a valid pidfd, a signal number, no siginfo, no flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};

    /// `sleep 30`, once it has exec'd (before, `/proc` shows the forked test process).
    pub(crate) fn sleeper() -> std::process::Child {
        let child =
            Command::new("sleep").arg("30").stdin(Stdio::null()).spawn().expect("run sleep");
        let cmdline = format!("/proc/{}/cmdline", child.id());
        let started = std::time::Instant::now();
        while !std::fs::read(&cmdline).is_ok_and(|c| c.starts_with(b"sleep\0")) {
            assert!(started.elapsed().as_secs() < 5, "sleep did not start");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        child
    }

    /// The start time of a live local process.
    pub(crate) fn start_ticks_of(pid: u32) -> Option<u64> {
        ProcDir::of_pid(pid)?.stat().map(|s| s.start_ticks)
    }

    /// Stops a child the test expected to be left alone, after checking it was.
    pub(crate) fn stop_untouched(mut child: std::process::Child) {
        assert!(child.try_wait().unwrap().is_none(), "the local process must be untouched");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    fn key_of(pid: u32) -> ProcessKey {
        ProcessKey { host: None, pid, start_ticks: start_ticks_of(pid) }
    }

    #[test]
    fn a_real_child_is_signalled_through_its_key() {
        let mut child = sleeper();
        let key = key_of(child.id());
        assert!(key.start_ticks.is_some());
        let line = command_line(&key).unwrap();
        assert_eq!(line, "sleep 30");
        send(&key, libc::SIGTERM).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }

    #[test]
    fn a_pid_now_held_by_another_process_is_not_signalled() {
        let child = sleeper();
        // The row saw an earlier process under this PID: another start time.
        let mut key = key_of(child.id());
        key.start_ticks = key.start_ticks.map(|t| t.saturating_sub(1_000));
        let err = send(&key, libc::SIGKILL).unwrap_err();
        assert!(matches!(err, SignalError::Gone), "{err}");
        assert!(command_line(&key).is_err());
        stop_untouched(child);
    }

    #[test]
    fn remote_and_unidentified_processes_are_refused() {
        let child = sleeper();
        let mut key = key_of(child.id());
        key.host = Some("gpu7".into());
        assert!(matches!(send(&key, libc::SIGKILL), Err(SignalError::Refused(_))));
        let key = ProcessKey { host: None, pid: child.id(), start_ticks: None };
        assert!(matches!(send(&key, libc::SIGKILL), Err(SignalError::Refused(_))));
        let me = key_of(std::process::id());
        assert!(matches!(send(&me, 0), Err(SignalError::Refused(_))));
        stop_untouched(child);
    }

    #[test]
    fn an_exited_process_is_gone() {
        let mut child = sleeper();
        let key = key_of(child.id());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(matches!(send(&key, libc::SIGTERM), Err(SignalError::Gone)));
    }
}
