//! What the host knows about GPU processes (user, command line, CPU, memory, running time),
//! read from `/proc` for the GPU PIDs only, never for every process on the machine.
//!
//! Each process is read one way. On first sight its `/proc/PID` is opened as a directory
//! ([`ProcDir`]) and `stat`, `status`, `cmdline`, `cgroup` and `environ` are read through it,
//! so they all describe one process; its `statm` is opened through it and kept. Every sample
//! then reads the process's CPU-time clock and one `pread` of the kept `statm`. Reading
//! `statm` fails once the process has exited, so a new process under the same PID is never
//! taken for it: the PID is then read afresh, as a first sight.
//!
//! The CPU-time clock earns its place: with it a sample costs 2.6 µs a process, against
//! 5.9 µs for a `pread` of a kept `stat` and 11 µs for opening `stat` each time
//! (`scripts/bench/proc-reads.c`, 1,000 processes), as the kernel renders `stat`'s 52 fields
//! on every read. User names come from NSS through [`user_names`] (directory users too, a slow
//! directory never holding a sample up for long), the host name from `sysinfo`; host-wide CPU
//! and memory from [`usage`].

mod proc_dir;
pub(crate) mod stat;
pub mod sysfs;
pub mod usage;
pub mod user_names;

use std::cell::OnceCell;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sysinfo::System;

pub(crate) use proc_dir::ProcDir;
pub use user_names::UserNames;

use super::placement::{self, Placement};
use crate::sample::GpuProcess;

#[derive(Default)]
pub struct HostLookup {
    /// Processes seen on the previous sample, by PID.
    tracked: HashMap<u32, Tracked>,
    /// An empty map with room, swapped with `tracked` on each sample rather than growing a
    /// new one.
    spare: HashMap<u32, Tracked>,
    /// Boot time (seconds since the epoch), for running times.
    boot_time: OnceCell<Option<u64>>,
    /// Clock ticks per second and the page size.
    units: OnceCell<(u64, u64)>,
    buf: Vec<u8>,
}

/// What is kept about one process between samples.
struct Tracked {
    /// Opened through the process's directory: readable while that process lives.
    statm: File,
    /// Its CPU-time clock; `None` where the system does not give it (CPU % is then unknown).
    clock: Option<libc::clockid_t>,
    start_ticks: u64,
    /// CPU time (ns) and when it was read, for the next sample's CPU %.
    cpu_ns: Option<u64>,
    at: Instant,
    /// As of the latest sample.
    rss_pages: u64,
    cpu_percent: Option<f32>,
    /// Read once.
    comm: String,
    /// The real UID; named on every sample, through the cache, so a name the directory was
    /// slow to give shows once it has.
    uid: Option<u32>,
    command: Option<String>,
    placement: Option<Placement>,
}

impl HostLookup {
    pub fn new() -> Self {
        Self::default()
    }

    /// The machine's name, or `GPUTOP_HOSTNAME` where it is set: in a Kubernetes pod the
    /// hostname is the pod's, and the DaemonSet passes the node's name (`spec.nodeName`).
    pub fn hostname() -> Option<String> {
        std::env::var("GPUTOP_HOSTNAME")
            .ok()
            .filter(|h| !h.trim().is_empty())
            .or_else(|| System::host_name().ok())
    }

    /// Fills the host fields of `processes`. A PID that has exited since NVML listed it keeps
    /// its NVML fields and `None` for the rest.
    pub fn fill<'a>(&mut self, processes: impl IntoIterator<Item = &'a mut GpuProcess>) {
        let now = Now::read();
        let mut previous = std::mem::replace(&mut self.tracked, std::mem::take(&mut self.spare));
        let (boot, (ticks, page)) = (self.boot_time(), self.units());
        let users = UserNames::system();
        // One wait for the directory per sample, however many users are new.
        let named_by = now.at + users.limits().wait;
        for gp in processes {
            let tracked = match self.tracked.get(&gp.pid) {
                // Listed on several GPUs: read once per sample.
                Some(t) => t,
                None => {
                    let fresh = match previous.remove(&gp.pid) {
                        Some(t) => self.refresh(gp.pid, t, now),
                        None => self.first_sight(gp.pid, now),
                    };
                    let Some(t) = fresh else { continue };
                    self.tracked.entry(gp.pid).or_insert(t)
                }
            };
            gp.name = Some(tracked.comm.clone());
            // Kernel threads and zombies have no command line: show the name, as ps does.
            gp.command = tracked.command.clone().or_else(|| Some(tracked.comm.clone()));
            gp.user = tracked.uid.map(|uid| users.name_by(uid, named_by));
            gp.placement = tracked.placement.clone();
            gp.host_memory_bytes = Some(tracked.rss_pages * page);
            gp.running_seconds =
                running_seconds(boot, tracked.start_ticks, ticks, now).map(|s| s as u64);
            gp.cpu_percent = tracked.cpu_percent;
            gp.start_ticks = Some(tracked.start_ticks);
        }
        // Whatever was not listed this time has left the GPU (or exited): forgotten, its file
        // closed.
        previous.clear();
        self.spare = previous;
    }

    /// A process seen before: its CPU % is the share of one core since the previous sample.
    fn refresh(&mut self, pid: u32, mut t: Tracked, now: Now) -> Option<Tracked> {
        // The clock first: `statm` still readable after it means the time was this process's.
        let cpu_ns = t.clock.map(clock_ns);
        let rss_pages = read_from_start(&t.statm, &mut self.buf).and_then(stat::rss_pages);
        let (Some(rss_pages), None | Some(Some(_))) = (rss_pages, cpu_ns) else {
            // Exited; the PID may be another process's by now.
            return self.first_sight(pid, now);
        };
        let cpu_ns = cpu_ns.flatten();
        let seconds = now.at.duration_since(t.at).as_secs_f64();
        t.cpu_percent = match (cpu_ns, t.cpu_ns) {
            (Some(ns), Some(before)) if seconds > 0.0 => {
                Some((ns.saturating_sub(before) as f64 / 1e9 * 100.0 / seconds) as f32)
            }
            _ => None,
        };
        (t.cpu_ns, t.at, t.rss_pages) = (cpu_ns, now.at, rss_pages);
        Some(t)
    }

    /// A process seen first: its CPU % is its lifetime average, as `ps` shows.
    fn first_sight(&mut self, pid: u32, now: Now) -> Option<Tracked> {
        let dir = ProcDir::of_pid(pid)?;
        let stat = dir.stat()?;
        let clock = cpu_clock(pid);
        let cpu_ns = clock.and_then(clock_ns);
        // Read after the clock: still readable, so the time was this process's.
        let statm = dir.open_file("statm")?;
        let rss_pages = read_from_start(&statm, &mut self.buf).and_then(stat::rss_pages)?;
        let cpu_percent = running_seconds(self.boot_time(), stat.start_ticks, self.units().0, now)
            // Boot time has whole seconds: younger than that, an average would be noise.
            .filter(|&s| s >= 1.0)
            .zip(cpu_ns)
            .map(|(s, ns)| (ns as f64 / 1e9 * 100.0 / s) as f32);
        Some(Tracked {
            statm,
            clock,
            start_ticks: stat.start_ticks,
            cpu_ns,
            at: now.at,
            comm: stat.comm,
            rss_pages,
            cpu_percent,
            uid: real_uid(&dir),
            command: dir.read("cmdline").and_then(|raw| stat::command_line(&raw)),
            placement: read_placement(&dir),
        })
    }

    /// Boot time (seconds since the epoch), read once.
    fn boot_time(&self) -> Option<u64> {
        *self
            .boot_time
            .get_or_init(|| stat::boot_time(&std::fs::read_to_string("/proc/stat").ok()?))
    }

    /// Clock ticks per second and the page size.
    fn units(&self) -> (u64, u64) {
        *self.units.get_or_init(|| {
            // SAFETY: sysconf only reads a configuration value.
            let (ticks, page) =
                unsafe { (libc::sysconf(libc::_SC_CLK_TCK), libc::sysconf(libc::_SC_PAGESIZE)) };
            (u64::try_from(ticks).unwrap_or(100).max(1), u64::try_from(page).unwrap_or(4096))
        })
    }
}

/// The process's real UID, from its `status`.
fn real_uid(dir: &ProcDir) -> Option<u32> {
    stat::real_uid(&String::from_utf8_lossy(&dir.read("status")?))
}

/// A user's name from the system's user database (NSS), or the UID where it has none or is
/// slow to answer.
pub fn user_name(uid: u32) -> String {
    UserNames::system().name(uid)
}

/// What one `pread` from the start of a `/proc` file gives (the kernel renders it afresh), in
/// `buf`, which is zeroed once and not per read. A page holds any `statm` or `meminfo`, and
/// the first line of `/proc/stat`.
fn read_from_start<'b>(file: &File, buf: &'b mut Vec<u8>) -> Option<&'b [u8]> {
    buf.resize(4096, 0);
    let n = file.read_at(buf, 0).ok()?;
    Some(&buf[..n])
}

/// The clock of the CPU time a process (all its threads) uses: reading it is one system call,
/// with no text for the kernel to render, and Linux lets any process read another's.
fn cpu_clock(pid: u32) -> Option<libc::clockid_t> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    let mut clock: libc::clockid_t = 0;
    // SAFETY: only writes the clock's id into `clock`.
    (unsafe { libc::clock_getcpuclockid(pid, &mut clock) } == 0).then_some(clock)
}

/// A clock's time in ns; `None` once a process clock's process is gone.
fn clock_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: only writes the time into `time`.
    if unsafe { libc::clock_gettime(clock, &mut time) } != 0 {
        return None;
    }
    Some(u64::try_from(time.tv_sec).ok()? * 1_000_000_000 + u64::try_from(time.tv_nsec).ok()?)
}

/// One sample's clocks, read once for all its processes: the monotonic one for CPU %, the wall
/// clock (seconds since the epoch) for running times.
#[derive(Clone, Copy)]
struct Now {
    at: Instant,
    epoch: Option<f64>,
}

impl Now {
    fn read() -> Self {
        let epoch = SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs_f64());
        Now { at: Instant::now(), epoch }
    }
}

/// Seconds since the process started, from its start time after boot.
fn running_seconds(
    boot_time: Option<u64>,
    start_ticks: u64,
    ticks_per_second: u64,
    now: Now,
) -> Option<f64> {
    let started = boot_time? as f64 + start_ticks as f64 / ticks_per_second as f64;
    Some((now.epoch? - started).max(0.0))
}

/// Where the process runs; unreadable `/proc` entries (hidepid, permissions) mean "unknown".
fn read_placement(dir: &ProcDir) -> Option<Placement> {
    let cgroup = String::from_utf8(dir.read("cgroup")?).ok()?;
    let mut p = placement::from_cgroup(&cgroup);
    if let Some(environ) = dir.read("environ") {
        placement::add_environ(&mut p, &environ);
    }
    (!p.is_empty()).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::ProcessKind;

    fn listed(pid: u32) -> GpuProcess {
        GpuProcess::new(pid, ProcessKind::Compute, Some(1))
    }

    use crate::process_signal::tests::sleeper;

    #[test]
    fn fills_this_process_and_skips_a_dead_pid() {
        let mut me = listed(std::process::id());
        // PIDs are at most 2^22 on Linux, so this one cannot exist.
        let mut gone = listed(u32::MAX - 1);
        HostLookup::new().fill([&mut me, &mut gone]);
        assert!(me.command.is_some() && me.name.is_some() && me.user.is_some());
        assert!(me.host_memory_bytes.unwrap() > 0);
        assert!(me.running_seconds.is_some() && me.start_ticks.is_some());
        assert_eq!((gone.command, gone.user, gone.start_ticks), (None, None, None));
        assert_eq!(gone.gpu_memory_bytes, Some(1));
    }

    #[test]
    fn reads_a_child_by_its_directory() {
        let mut child = sleeper();
        let mut p = listed(child.id());
        HostLookup::new().fill([&mut p]);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(p.name.as_deref(), Some("sleep"));
        assert_eq!(p.command.as_deref(), Some("sleep 30"));
        // SAFETY: getuid has no preconditions.
        assert_eq!(p.user, Some(user_name(unsafe { libc::getuid() })));
        assert!(p.running_seconds.unwrap() < 30);
    }

    #[test]
    fn a_live_process_is_read_once_per_sample_until_it_exits() {
        let mut child = sleeper();
        let pid = child.id();
        let mut lookup = HostLookup::new();
        lookup.fill([&mut listed(pid)]);
        // Listed on two GPUs: read once.
        let (mut a, mut b) = (listed(pid), listed(pid));
        lookup.fill([&mut a, &mut b]);
        assert_eq!(a.cpu_percent, b.cpu_percent);
        assert!(a.host_memory_bytes.unwrap() > 0);
        assert_eq!(lookup.tracked.len(), 1);
        // Exited while still listed: its host fields unknown, and forgotten.
        child.kill().unwrap();
        child.wait().unwrap();
        let mut gone = listed(pid);
        lookup.fill([&mut gone]);
        assert_eq!((gone.host_memory_bytes, gone.cpu_percent, gone.command), (None, None, None));
        assert!(lookup.tracked.is_empty());
    }

    #[test]
    fn a_process_gone_from_the_gpus_is_forgotten() {
        let mut lookup = HostLookup::new();
        lookup.fill([&mut listed(std::process::id())]);
        assert_eq!(lookup.tracked.len(), 1);
        lookup.fill([]);
        assert!(lookup.tracked.is_empty());
    }

    #[test]
    fn cpu_of_a_live_process_comes_from_its_clock() {
        let mut lookup = HostLookup::new();
        let started = Instant::now();
        lookup.fill([&mut listed(std::process::id())]);
        // Keep this thread on a core for 100 ms of its own CPU time.
        let thread_cpu = || clock_ns(libc::CLOCK_THREAD_CPUTIME_ID).unwrap();
        let spun_from = thread_cpu();
        while thread_cpu() - spun_from < 100_000_000 {
            std::hint::black_box(0u64);
        }
        let mut me = listed(std::process::id());
        lookup.fill([&mut me]);
        // The process used at least what this thread did, in at most the time measured here.
        let spun = (thread_cpu() - spun_from) as f64 / 1e9;
        let floor = spun * 100.0 / started.elapsed().as_secs_f64();
        let cpu = f64::from(me.cpu_percent.unwrap());
        assert!(cpu >= floor - 0.01, "{cpu} < {floor}");
    }

    #[test]
    fn placement_comes_from_the_cgroup_and_environment() {
        let dir = std::env::temp_dir().join(format!("gputop-proc-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let id = "3f4e8c1a2b9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
        std::fs::write(dir.join("cgroup"), format!("0::/system.slice/docker-{id}.scope\n"))
            .unwrap();
        let placement = read_placement(&ProcDir::open(&dir).unwrap());
        assert_eq!(placement.and_then(|p| p.label()).as_deref(), Some("docker:3f4e8c1a2b9d"));
        // Unreadable: unknown, not empty.
        std::fs::remove_file(dir.join("cgroup")).unwrap();
        assert_eq!(read_placement(&ProcDir::open(&dir).unwrap()), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
