//! `gputop wait`: polls at the sampling interval until N GPUs are free and have stayed free
//! for `--stable` seconds, claims them (see [`crate::pick::locks`]) and becomes the program
//! asked for, on those GPUs. Nothing is claimed while waiting, so an interrupted wait leaves
//! nothing behind; a claim lives as long as the program it was made for.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use crate::pick::{self, locks::LockDir, PickOptions, Verdict};
use crate::sample::{Snapshot, Vendor};
use crate::source::Source;
use crate::text::units::duration;
use crate::Error;

/// `wait`'s options: what makes a GPU free, for how long, and the program to run.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    pub pick: PickOptions,
    /// The GPUs must have stayed free this long.
    pub stable: Duration,
    /// Give up after this long (exit 1).
    pub timeout: Option<Duration>,
    /// The program and its arguments.
    pub command: Vec<OsString>,
    /// Standard error is a terminal: the status is one line rewritten in place.
    pub status_in_place: bool,
}

/// Runs CMD on the GPUs once they are free: returns only when that cannot be done (the exit
/// code to leave with).
pub fn run(
    mut source: Box<dyn Source>,
    args: &WaitOptions,
    interval: Duration,
) -> Result<i32, Error> {
    let locks = LockDir::open(args.pick.lock_dir.as_deref()).map_err(Error::Usage)?;
    let criteria = super::select::criteria(&args.pick);
    let started = Instant::now();
    let mut status = Status::new(args.status_in_place);
    // When each GPU was first seen free in the current run of free samples, by index.
    let mut free_since: HashMap<u32, Instant> = HashMap::new();
    loop {
        let pick::Survey { snapshot, verdicts, vendor, limited_by } =
            pick::survey(source.as_mut(), &args.pick.visible, &criteria, &locks)?;
        let wanted = super::select::check_count(&args.pick, verdicts.len(), vendor, limited_by)?;
        let now = Instant::now();
        free_since.retain(|index, _| verdicts.iter().any(|v| v.index == *index && v.is_free()));
        for v in verdicts.iter().filter(|v| v.is_free()) {
            free_since.entry(v.index).or_insert(now);
        }
        let settled = |v: &&&Verdict| {
            free_since.get(&v.index).is_some_and(|t| now.duration_since(*t) >= args.stable)
        };
        let ready: Vec<&Verdict> =
            pick::ranked(&verdicts).into_iter().filter(|v| settled(&v)).collect();
        if ready.len() >= wanted {
            if let Some(ids) = claim(&locks, &snapshot, &ready, wanted, args)? {
                status.clear();
                return Ok(exec(&args.command, vendor, &ids));
            }
        }
        let line = progress(wanted, &verdicts, &free_since, now, args.stable);
        if let Some(limit) = args.timeout {
            if started.elapsed() >= limit {
                status.clear();
                eprintln!("gputop: gave up after {}: {line}", duration(limit.as_secs()));
                return Ok(1);
            }
        }
        status.show(&line, &state(wanted, &verdicts, &ready), started.elapsed());
        std::thread::sleep(interval);
    }
}

/// Claims `wanted` of the ready GPUs, best first, skipping any another waiter took in the
/// meantime; the GPUs' ids for their runtime's variable, or `None` (nothing kept) when too
/// few could be claimed.
fn claim(
    locks: &LockDir,
    snapshot: &Snapshot,
    ready: &[&Verdict],
    wanted: usize,
    args: &WaitOptions,
) -> Result<Option<Vec<String>>, Error> {
    let mut claims = Vec::new();
    let mut ids = Vec::new();
    for v in ready {
        let Some(gpu) = snapshot.gpus.iter().find(|g| g.index == v.index) else { continue };
        if let Some(c) = locks.claim(gpu).map_err(Error::Usage)? {
            claims.push(c);
            ids.push(v.id(args.pick.by_uuid));
            if claims.len() == wanted {
                for c in claims {
                    c.hand_over_on_exec().map_err(Error::Usage)?;
                }
                return Ok(Some(ids));
            }
        }
    }
    Ok(None)
}

/// Becomes CMD, with `vendor`'s variables naming the GPUs ([`vendor::environment`]); returns
/// only when it cannot be started: 127 when there is no such program, 126 when it cannot be
/// run, as a shell says.
fn exec(command: &[OsString], vendor: Vendor, ids: &[String]) -> i32 {
    let program = &command[0];
    let label = vendor.label();
    let list = ids.join(",");
    eprintln!("gputop: {label} GPU {list} free: running {}", program.to_string_lossy());
    let error = std::process::Command::new(program)
        .args(&command[1..])
        .envs(pick::vendor::environment(vendor, ids))
        .exec();
    let name = crate::text::sanitize::sanitize(&program.to_string_lossy()).into_owned();
    if error.kind() == std::io::ErrorKind::NotFound {
        eprintln!("gputop: {name}: command not found");
        127
    } else {
        eprintln!("gputop: {name}: {error}");
        126
    }
}

/// Whether `command` can be started, checked before waiting for it: `None` when it can, else
/// the exit code a shell gives (127: no such program, 126: not executable), the reason said.
pub fn unrunnable(command: &[OsString]) -> Option<i32> {
    let program = std::path::Path::new(command.first()?);
    let name = crate::text::sanitize::sanitize(&program.to_string_lossy()).into_owned();
    let with_slash = program.as_os_str().as_encoded_bytes().contains(&b'/');
    let candidates = if with_slash {
        vec![program.to_path_buf()]
    } else {
        // As execvp searches: each directory of PATH, its default when PATH is unset.
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
        std::env::split_paths(&path).map(|dir| dir.join(program)).collect()
    };
    let found: Vec<_> = candidates.into_iter().filter(|p| p.exists()).collect();
    let Some(first) = found.first() else {
        let why = if with_slash { "no such file" } else { "command not found (not in PATH)" };
        eprintln!("gputop: {name}: {why}; nothing to run, so not waiting");
        return Some(127);
    };
    if found.iter().any(|p| executable(p)) {
        return None;
    }
    let why = if first.is_dir() { "is a directory" } else { "not executable (permission denied)" };
    eprintln!("gputop: {name}: {why}; nothing to run, so not waiting");
    Some(126)
}

/// A file this process may execute (its effective ids, as execve checks).
fn executable(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    if !path.is_file() {
        return false;
    }
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: faccessat reads a NUL-terminated path; no other memory is touched.
    unsafe { libc::faccessat(libc::AT_FDCWD, c_path.as_ptr(), libc::X_OK, libc::AT_EACCESS) == 0 }
}

/// What a log line is written for: which GPUs are free or settled, and why each other one is
/// not, without the numbers in the reasons (a utilization, free memory, a process's age, the
/// seconds a GPU has been free), which change every sample.
fn state(wanted: usize, verdicts: &[Verdict], ready: &[&Verdict]) -> String {
    let mut key = format!("{wanted}");
    for v in verdicts {
        let settled = ready.iter().any(|r| r.index == v.index);
        let why: String =
            v.held.as_deref().unwrap_or("free").chars().filter(|c| !c.is_ascii_digit()).collect();
        let _ = std::fmt::Write::write_fmt(&mut key, format_args!("|{}:{why}:{settled}", v.index));
    }
    key
}

/// "2 wanted, 1 free: GPU 2 held by alice, …; GPU 0 free for 3s of 5s".
fn progress(
    wanted: usize,
    verdicts: &[Verdict],
    free_since: &HashMap<u32, Instant>,
    now: Instant,
    stable: Duration,
) -> String {
    let mut line = pick::shortfall(wanted, verdicts);
    let settling: Vec<String> = verdicts
        .iter()
        .filter_map(|v| {
            let since = now.duration_since(*free_since.get(&v.index)?);
            (since < stable).then(|| {
                format!(
                    "GPU {} free for {} of {}",
                    v.index,
                    duration(since.as_secs()),
                    duration(stable.as_secs())
                )
            })
        })
        .collect();
    if !settling.is_empty() {
        line.push_str(if line.contains(": ") { "; " } else { ": " });
        line.push_str(&settling.join("; "));
    }
    line
}

/// The waiting status on stderr: one line rewritten in place on a terminal, a timestamped line
/// per change of [`state`] in a log.
struct Status {
    terminal: bool,
    /// The state last logged.
    last: String,
}

impl Status {
    fn new(terminal: bool) -> Self {
        Self { terminal, last: String::new() }
    }

    fn show(&mut self, line: &str, state: &str, waited: Duration) {
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let width = crossterm::terminal::size().map_or(80, |(w, _)| usize::from(w));
            let text = format!("waiting {}: {line}", duration(waited.as_secs()));
            let text = crate::text::units::truncate(&text, width.saturating_sub(1), false);
            let _ = write!(err, "\r\x1b[K{text}");
        } else if state != self.last {
            let at = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
            let _ = writeln!(err, "{at} waiting: {line}");
        }
        let _ = err.flush();
        self.last = state.to_string();
    }

    fn clear(&mut self) {
        if self.terminal && !self.last.is_empty() {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(index: u32, held: Option<&str>) -> Verdict {
        Verdict {
            index,
            vendor: Vendor::Nvidia,
            ordinal: index,
            uuid: None,
            pci_bus_id: None,
            free_bytes: None,
            utilization: None,
            held: held.map(Into::into),
        }
    }

    #[test]
    fn the_state_is_who_holds_what_not_the_numbers_that_move() {
        let state_of = |held: Option<&str>| state(1, &[verdict(0, held)], &[]);
        assert_eq!(
            state_of(Some("busy (37 % in the last 10 s)")),
            state_of(Some("busy (52 % in the last 10 s)"))
        );
        assert_eq!(
            state_of(Some("held by alice, python, 3m")),
            state_of(Some("held by alice, python, 4m"))
        );
        assert_ne!(state_of(Some("held by alice, python")), state_of(Some("held by bob, python")));
        assert_ne!(state_of(Some("busy (37 % in the last 10 s)")), state_of(None));
        let free = verdict(0, None);
        assert_ne!(
            state(1, std::slice::from_ref(&free), &[]),
            state(1, std::slice::from_ref(&free), &[&free]),
            "settled"
        );
    }

    #[test]
    fn a_command_that_cannot_run_is_127_or_126() {
        assert_eq!(unrunnable(&["true".into()]), None);
        assert_eq!(unrunnable(&["/bin/sh".into(), "-c".into(), "exit".into()]), None);
        assert_eq!(unrunnable(&["/nonexistent/x".into()]), Some(127));
        assert_eq!(unrunnable(&["no-such-command-gputop-29".into()]), Some(127));
        assert_eq!(unrunnable(&["/".into()]), Some(126));
    }
}
