//! Runs one of doctor's probes with a time limit, so that neither the directory doctor runs in
//! nor the probe itself can turn against the user:
//! - from a neutral working directory (`/`, writable by root alone), so nothing planted in the
//!   current directory is picked up;
//! - in its own process group, so a timeout kills the probe and everything it started, and
//!   whatever it left running after it answered;
//! - with both pipes drained while it runs, so a probe that prints a lot never blocks on a full
//!   pipe; only the last bytes of each are kept, where a probe prints its answer.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The working directory of every probe: root's own, never the user's current one.
const NEUTRAL_DIR: &str = "/";

/// How much of each pipe is kept, from its end.
const KEEP: usize = 256 * 1024;

/// How long the pipes may stay open once the probe's group is gone (a process that left the
/// group still holding them); its output is given up after that.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// What a probe printed (the last [`KEEP`] bytes of each pipe).
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program` (a real path) with `args` and, on top of the inherited environment, `env`;
/// `Err` with what happened ("cannot start: …", "did not answer within … s") when it cannot
/// start or does not finish within `limit`.
pub fn run(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> Result<Output, String> {
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(env.iter().copied())
        .current_dir(NEUTRAL_DIR)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: prctl is async-signal-safe and touches nothing of the parent's. It kills the probe
    // should doctor die (Ctrl-C reaches doctor's group, not the probe's) before reaping it.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|e| format!("cannot start: {e}"))?;
    let (sender, pipes) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        drain(out, 0, sender.clone());
    }
    if let Some(err) = child.stderr.take() {
        drain(err, 1, sender);
    }

    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + limit;
    let finished = loop {
        if has_exited(pid) {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // The probe is not reaped yet, so its process id still names its group: kill the group
    // (the probe itself on a timeout, anything it left behind otherwise), then reap the probe.
    // SAFETY: kill has no memory preconditions; a negative pid names a process group.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let _ = child.wait();
    if !finished {
        return Err(format!("did not answer within {} s", limit.as_secs()));
    }

    let mut kept = [Vec::new(), Vec::new()];
    let give_up = Instant::now() + DRAIN_GRACE;
    for _ in 0..2 {
        match pipes.recv_timeout(give_up.saturating_duration_since(Instant::now())) {
            Ok((which, bytes)) => kept[which] = bytes,
            Err(_) => break,
        }
    }
    let [stdout, stderr] = kept.map(|b| String::from_utf8_lossy(&b).into_owned());
    Ok(Output { stdout, stderr })
}

/// Reads `pipe` to its end on a thread of its own, keeping its last [`KEEP`] bytes, and sends
/// them tagged `which`.
fn drain(mut pipe: impl Read + Send + 'static, which: usize, done: mpsc::Sender<(usize, Vec<u8>)>) {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = vec![0; 64 * 1024];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => kept.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
            // Trimmed in batches, so a long output costs a copy per KEEP bytes, not per read.
            if kept.len() > 2 * KEEP {
                kept.drain(..kept.len() - KEEP);
            }
        }
        if kept.len() > KEEP {
            kept.drain(..kept.len() - KEEP);
        }
        let _ = done.send((which, kept));
    });
}

/// Whether the child `pid` has exited, without reaping it (its id stays reserved for the
/// group kill above). An error other than an interrupted call (the child is gone) counts as
/// exited.
fn has_exited(pid: libc::pid_t) -> bool {
    // SAFETY: waitid writes only into `info`, a plain C struct for which zeroes are valid.
    let (result, info) = unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        (libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags), info)
    };
    if result != 0 {
        return std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted;
    }
    // SAFETY: after a successful waitid, si_pid is the field it filled (0 while running).
    unsafe { info.si_pid() != 0 }
}
