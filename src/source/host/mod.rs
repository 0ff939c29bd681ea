//! What the host knows about GPU processes (user, command line, CPU, memory, running time),
//! read from `/proc` for the GPU PIDs only, never for every process on the machine.
//!
//! Per sample and process this costs two system calls: the process's CPU-time clock, and one
//! `pread` of `/proc/PID/statm` through a descriptor kept open. Rendering `/proc/PID/stat`
//! (52 fields) took the kernel twice as long as both; `sysinfo` opens and renders
//! `/proc/PID/status` and `statm` every time as well. What cannot change for a process (user,
//! command line, name, start time, placement) is read once. User names and the host name
//! come from `sysinfo`; host-wide CPU and memory from [`usage`].

pub(crate) mod stat;
pub mod usage;

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sysinfo::{System, Users};

use super::placement::{self, Placement};
use crate::sample::GpuProcess;

/// At most this many known processes are read again per sample (see [`HostLookup::fill`]).
pub const REFRESH_BUDGET: usize = 256;

/// At most this many `statm` files are kept open; beyond, `stat` is opened per sample.
const MAX_OPEN_FILES: usize = 4096;

pub struct HostLookup {
    proc_root: PathBuf,
    /// Processes seen on the previous sample, by PID.
    tracked: HashMap<u32, Tracked>,
    /// An empty map with room, swapped with `tracked` on each sample rather than growing a
    /// new one.
    spare: HashMap<u32, Tracked>,
    /// Read from the user database on the first process that needs it.
    users: OnceCell<Option<Users>>,
    /// Boot time (seconds since the epoch), for running times.
    boot_time: OnceCell<Option<u64>>,
    ticks_per_second: u64,
    page_size: u64,
    open_files: usize,
    max_open_files: usize,
    buf: Vec<u8>,
}

/// What is kept about one process between samples.
struct Tracked {
    /// The process's `statm`, kept open, and its CPU-time clock: all a sample reads. Reading
    /// `statm` fails once the process is gone, so a new process under the same PID is never
    /// taken for this one. Without them (past the open-file budget, in a fixture tree, where
    /// the clock cannot be read) `stat` is read by path, and the start time tells processes
    /// apart.
    kept: Option<(File, libc::clockid_t)>,
    start_ticks: u64,
    /// CPU time (ns) and when it was read, for the next sample's CPU %.
    cpu_ns: u64,
    at: Instant,
    /// As of the latest sample.
    rss_pages: u64,
    cpu_percent: Option<f32>,
    /// Read once.
    comm: String,
    user: Option<String>,
    command: Option<String>,
    placement: Option<Placement>,
}

impl Default for HostLookup {
    fn default() -> Self {
        Self::new()
    }
}

impl HostLookup {
    pub fn new() -> Self {
        Self::with_proc_root("/proc")
    }

    /// Reads another `/proc` (a fixture tree in tests).
    pub fn with_proc_root(root: impl Into<PathBuf>) -> Self {
        // SAFETY: sysconf only reads a configuration value.
        let (ticks, page) =
            unsafe { (libc::sysconf(libc::_SC_CLK_TCK), libc::sysconf(libc::_SC_PAGESIZE)) };
        Self {
            proc_root: root.into(),
            tracked: HashMap::new(),
            spare: HashMap::new(),
            users: OnceCell::new(),
            boot_time: OnceCell::new(),
            ticks_per_second: u64::try_from(ticks).unwrap_or(100).max(1),
            page_size: u64::try_from(page).unwrap_or(4096),
            open_files: 0,
            max_open_files: open_file_budget(),
            buf: Vec::new(),
        }
    }

    pub fn hostname() -> Option<String> {
        System::host_name().ok()
    }

    /// Fills the host fields of `processes`. A PID that has exited since NVML listed it keeps
    /// its NVML fields and `None` for the rest.
    ///
    /// At most [`REFRESH_BUDGET`] known processes are read again per sample, those read least
    /// recently first: with thousands of GPU processes each is then refreshed every few samples
    /// (its CPU % averaged since its own last read), and a sample's cost stays bounded.
    pub fn fill<'a>(&mut self, processes: impl IntoIterator<Item = &'a mut GpuProcess>) {
        let processes: Vec<&mut GpuProcess> = processes.into_iter().collect();
        let now = Now::read();
        let refresh = self.to_refresh(&processes);
        let mut previous = std::mem::replace(&mut self.tracked, std::mem::take(&mut self.spare));
        let (boot, ticks, page) = (self.boot_time(), self.ticks_per_second, self.page_size);
        for gp in processes {
            let tracked = match self.tracked.get(&gp.pid) {
                // Listed on several GPUs: read once per sample.
                Some(t) => t,
                None => {
                    let fresh = match previous.remove(&gp.pid) {
                        Some(t) if refresh.as_ref().is_none_or(|r| r.contains(&gp.pid)) => {
                            self.refresh(gp.pid, t, now)
                        }
                        Some(t) => Some(t),
                        None => self.first_sight(gp.pid, now),
                    };
                    let Some(t) = fresh else { continue };
                    self.tracked.entry(gp.pid).or_insert(t)
                }
            };
            gp.name = Some(tracked.comm.clone());
            // Kernel threads and zombies have no command line: show the name, as ps does.
            gp.command = tracked.command.clone().or_else(|| Some(tracked.comm.clone()));
            gp.user = tracked.user.clone();
            gp.placement = tracked.placement.clone();
            gp.host_memory_bytes = Some(tracked.rss_pages * page);
            gp.running_seconds =
                running_seconds(boot, tracked.start_ticks, ticks, now).map(|s| s as u64);
            gp.cpu_percent = tracked.cpu_percent;
            gp.start_ticks = Some(tracked.start_ticks);
        }
        // Whatever was not listed this time has left the GPU (or exited): forget it.
        for (_, gone) in previous.drain() {
            self.release(gone);
        }
        self.spare = previous;
    }

    /// The known processes to read again this sample, or `None` for all of them: the least
    /// recently read, up to the budget (lower PIDs first among those read together).
    fn to_refresh(&self, processes: &[&mut GpuProcess]) -> Option<HashSet<u32>> {
        if processes.len() <= REFRESH_BUDGET {
            return None;
        }
        let mut known: Vec<(Instant, u32)> = processes
            .iter()
            .filter_map(|p| self.tracked.get(&p.pid).map(|t| (t.at, p.pid)))
            .collect();
        if known.len() <= REFRESH_BUDGET {
            return None;
        }
        known.sort_unstable();
        known.dedup();
        Some(known.into_iter().take(REFRESH_BUDGET).map(|(_, pid)| pid).collect())
    }

    /// A process seen before: its CPU % is the share of one core since the previous sample.
    fn refresh(&mut self, pid: u32, mut t: Tracked, now: Now) -> Option<Tracked> {
        let read = match &t.kept {
            // The clock first: `statm` still readable after it means the same process.
            Some((statm, clock)) => clock_ns(*clock).zip(self.read_rss_pages(statm)),
            None => self
                .read_stat(pid)
                .filter(|s| s.start_ticks == t.start_ticks)
                .map(|s| (self.ticks_to_ns(s.cpu_ticks), s.rss_pages)),
        };
        let Some((cpu_ns, rss_pages)) = read else {
            // Gone, or another process under the same PID.
            self.release(t);
            return self.first_sight(pid, now);
        };
        let seconds = now.at.duration_since(t.at).as_secs_f64();
        let used = cpu_ns.saturating_sub(t.cpu_ns) as f64 / 1e9;
        t.cpu_percent = (seconds > 0.0).then(|| (used * 100.0 / seconds) as f32);
        (t.cpu_ns, t.at, t.rss_pages) = (cpu_ns, now.at, rss_pages);
        Some(t)
    }

    /// A process seen first: its CPU % is its lifetime average, as `ps` shows.
    fn first_sight(&mut self, pid: u32, now: Now) -> Option<Tracked> {
        let dir = self.proc_root.join(pid.to_string());
        let stat = self.read_stat(pid)?;
        let kept = self.keep(pid, &dir);
        let cpu_ns = kept
            .as_ref()
            .and_then(|&(_, clock)| clock_ns(clock))
            .unwrap_or_else(|| self.ticks_to_ns(stat.cpu_ticks));
        let cpu_percent =
            running_seconds(self.boot_time(), stat.start_ticks, self.ticks_per_second, now)
                // Boot time has whole seconds: younger than that, an average would be noise.
                .filter(|&s| s >= 1.0)
                .map(|s| (cpu_ns as f64 / 1e9 * 100.0 / s) as f32);
        Some(Tracked {
            kept,
            start_ticks: stat.start_ticks,
            cpu_ns,
            at: now.at,
            comm: stat.comm,
            rss_pages: stat.rss_pages,
            cpu_percent,
            user: self.user(&dir),
            command: read_proc(&dir.join("cmdline")).and_then(|raw| stat::command_line(&raw)),
            placement: read_placement(&dir),
        })
    }

    /// Opens what [`Tracked::kept`] holds, within the open-file budget. Not in a fixture tree:
    /// its PIDs are made up, and their clocks would be other processes'.
    fn keep(&mut self, pid: u32, dir: &Path) -> Option<(File, libc::clockid_t)> {
        if self.proc_root != Path::new("/proc") || self.open_files >= self.max_open_files {
            return None;
        }
        let clock = cpu_clock(pid)?;
        let statm = File::open(dir.join("statm")).ok()?;
        self.open_files += 1;
        Some((statm, clock))
    }

    fn ticks_to_ns(&self, ticks: u64) -> u64 {
        ticks.saturating_mul(1_000_000_000) / self.ticks_per_second
    }

    /// `/proc/PID/stat`, opened by path.
    fn read_stat(&mut self, pid: u32) -> Option<stat::Stat> {
        let path = self.proc_root.join(pid.to_string()).join("stat");
        stat::parse(read_from_start(&File::open(path).ok()?, &mut self.buf)?)
    }

    /// The resident set, in pages, with one `pread` through the open `statm`.
    fn read_rss_pages(&mut self, statm: &File) -> Option<u64> {
        stat::rss_pages(read_from_start(statm, &mut self.buf)?)
    }

    fn release(&mut self, t: Tracked) {
        if t.kept.is_some() {
            self.open_files -= 1;
        }
    }

    /// Boot time (seconds since the epoch), read once.
    fn boot_time(&self) -> Option<u64> {
        *self.boot_time.get_or_init(|| {
            stat::boot_time(&std::fs::read_to_string(self.proc_root.join("stat")).ok()?)
        })
    }

    /// The user's name, or the UID where the user database has none (another container's).
    fn user(&self, dir: &Path) -> Option<String> {
        let status = read_proc(&dir.join("status"))?;
        let uid = stat::real_uid(&String::from_utf8_lossy(&status))?;
        let users = self.users.get_or_init(|| Users::new_with_refreshed_list().ok());
        let id = sysinfo::Uid::try_from(uid as usize).ok()?;
        let name = users.as_ref().and_then(|u| u.get_user_by_id(&id)).map(|u| u.name().to_string());
        Some(name.unwrap_or_else(|| uid.to_string()))
    }
}

/// What one `pread` from the start of a `/proc` file gives (the kernel renders it afresh), in
/// `buf`, which is zeroed once and not per read. A page holds any `stat`, `statm` or
/// `meminfo`, and the first line of `/proc/stat`.
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

/// A whole `/proc` file, without the size query `std::fs::read` makes first (`/proc` files
/// report a size of 0 anyway): one system call fewer per file, for every new process.
fn read_proc(path: &Path) -> Option<Vec<u8>> {
    let mut file = File::open(path).ok()?;
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Some(out),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
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
fn read_placement(dir: &Path) -> Option<Placement> {
    let cgroup = String::from_utf8(read_proc(&dir.join("cgroup"))?).ok()?;
    let mut p = placement::from_cgroup(&cgroup);
    if let Some(environ) = read_proc(&dir.join("environ")) {
        placement::add_environ(&mut p, &environ);
    }
    (!p.is_empty()).then_some(p)
}

/// A quarter of the soft limit on open files, leaving the rest to NVML, the exporter's
/// connections and the terminal.
fn open_file_budget() -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct it is given.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
    } else {
        1024
    };
    (soft / 4).min(MAX_OPEN_FILES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::ProcessKind;

    /// A fixture `/proc` with one process, 4242, started 500 s after a boot 1,000 s ago.
    struct FakeProc {
        root: PathBuf,
        ticks: u64,
    }

    impl FakeProc {
        fn new(name: &str) -> Self {
            let root =
                std::env::temp_dir().join(format!("gputop-proc-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(&root).unwrap();
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
            std::fs::write(root.join("stat"), format!("cpu  1 2 3\nbtime {}\n", now - 1000))
                .unwrap();
            // SAFETY: sysconf only reads a configuration value.
            let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
            let me = FakeProc { root, ticks };
            me.add(4242);
            me
        }

        /// Adds `pid`, 250 s of CPU in 500 s of life, as `python train.py`.
        fn add(&self, pid: u32) {
            let dir = self.root.join(pid.to_string());
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("cmdline"), b"python\0train.py\0").unwrap();
            std::fs::write(dir.join("status"), "Name:\tpython\nUid:\t4000000\t0\t0\t0\n").unwrap();
            self.set_stat_of(pid, 250 * self.ticks, 500 * self.ticks);
        }

        /// Rewrites the stat file in place, as the kernel regenerates it on each read.
        fn set_stat(&self, cpu_ticks: u64, start_ticks: u64) {
            self.set_stat_of(4242, cpu_ticks, start_ticks);
        }

        fn set_stat_of(&self, pid: u32, cpu_ticks: u64, start_ticks: u64) {
            let line = format!(
                "{pid} (python) S 1 {pid} {pid} 0 -1 0 0 0 0 0 {cpu_ticks} 0 0 0 20 0 1 0 {start_ticks} 100 2560 0\n"
            );
            std::fs::write(self.root.join(format!("{pid}/stat")), line).unwrap();
            std::fs::write(self.root.join(format!("{pid}/statm")), "10000 2560 100 1 0 500 0\n")
                .unwrap();
        }

        fn process(&self) -> GpuProcess {
            GpuProcess::new(4242, ProcessKind::Compute, Some(1))
        }
    }

    impl Drop for FakeProc {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    #[test]
    fn reads_a_process_from_the_proc_tree() {
        let fake = FakeProc::new("read");
        let id = "3f4e8c1a2b9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
        std::fs::write(
            fake.root.join("4242/cgroup"),
            format!("0::/system.slice/docker-{id}.scope\n"),
        )
        .unwrap();
        let mut p = fake.process();
        HostLookup::with_proc_root(&fake.root).fill([&mut p]);
        assert_eq!(p.name.as_deref(), Some("python"));
        assert_eq!(p.command.as_deref(), Some("python train.py"));
        // No such user in this machine's database: the UID itself.
        assert_eq!(p.user.as_deref(), Some("4000000"));
        assert_eq!(p.host_memory_bytes, Some(2560 * page_size()));
        let running = p.running_seconds.unwrap();
        assert!((499..=501).contains(&running), "{running}");
        // First sight: the lifetime average, 250 s of CPU over 500 s.
        let cpu = p.cpu_percent.unwrap();
        assert!((49.0..=51.0).contains(&cpu), "{cpu}");
        assert_eq!(p.placement.and_then(|pl| pl.label()).as_deref(), Some("docker:3f4e8c1a2b9d"));
    }

    #[test]
    fn cpu_is_measured_between_samples_and_a_reused_pid_starts_over() {
        let fake = FakeProc::new("cpu");
        let mut lookup = HostLookup::with_proc_root(&fake.root);
        lookup.fill([&mut fake.process()]);
        std::thread::sleep(std::time::Duration::from_millis(200));
        // 0.1 s of CPU in (at least) 0.2 s: at most 50 %.
        fake.set_stat(250 * fake.ticks + fake.ticks / 10, 500 * fake.ticks);
        let mut p = fake.process();
        lookup.fill([&mut p]);
        let cpu = p.cpu_percent.unwrap();
        assert!((20.0..=50.0).contains(&cpu), "{cpu}");

        // Another process under the same PID: its own lifetime average, not a delta.
        fake.set_stat(0, 900 * fake.ticks);
        let mut p = fake.process();
        lookup.fill([&mut p]);
        assert_eq!(p.cpu_percent, Some(0.0));
        let running = p.running_seconds.unwrap();
        assert!((99..=101).contains(&running), "{running}");
    }

    #[test]
    fn a_live_process_is_read_once_per_sample_until_it_exits() {
        let mut child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
        let pid = child.id();
        let listed = || GpuProcess::new(pid, ProcessKind::Compute, Some(1));
        let mut lookup = HostLookup::new();
        lookup.fill([&mut listed()]);
        // Listed on two GPUs: read once, through one kept file.
        let (mut a, mut b) = (listed(), listed());
        lookup.fill([&mut a, &mut b]);
        assert_eq!(a.cpu_percent, b.cpu_percent);
        assert!(a.host_memory_bytes.unwrap() > 0);
        assert_eq!((lookup.tracked.len(), lookup.open_files), (1, 1));
        // Exited while still listed: its host fields unknown, its file closed.
        child.kill().unwrap();
        child.wait().unwrap();
        let mut gone = listed();
        lookup.fill([&mut gone]);
        assert_eq!((gone.host_memory_bytes, gone.cpu_percent), (None, None));
        assert_eq!((lookup.tracked.len(), lookup.open_files), (0, 0));
    }

    #[test]
    fn a_process_gone_from_the_gpus_is_forgotten() {
        let mut me = GpuProcess::new(std::process::id(), ProcessKind::Compute, Some(1));
        let mut lookup = HostLookup::new();
        lookup.fill([&mut me]);
        assert_eq!((lookup.tracked.len(), lookup.open_files), (1, 1));
        lookup.fill([]);
        assert_eq!((lookup.tracked.len(), lookup.open_files), (0, 0));
    }

    #[test]
    fn cpu_of_a_live_process_comes_from_its_clock() {
        let listed = || GpuProcess::new(std::process::id(), ProcessKind::Compute, Some(1));
        let mut lookup = HostLookup::new();
        let started = Instant::now();
        lookup.fill([&mut listed()]);
        // Keep this thread on a core for 100 ms of its own CPU time.
        let thread_cpu = || clock_ns(libc::CLOCK_THREAD_CPUTIME_ID).unwrap();
        let spun_from = thread_cpu();
        while thread_cpu() - spun_from < 100_000_000 {
            std::hint::black_box(0u64);
        }
        let mut me = listed();
        lookup.fill([&mut me]);
        // The process used at least what this thread did, in at most the time measured here.
        let spun = (thread_cpu() - spun_from) as f64 / 1e9;
        let floor = spun * 100.0 / started.elapsed().as_secs_f64();
        let cpu = f64::from(me.cpu_percent.unwrap());
        assert!(cpu >= floor - 0.01, "{cpu} < {floor}");
    }

    #[test]
    fn with_many_processes_the_least_recently_read_are_refreshed_first() {
        let fake = FakeProc::new("budget");
        let pids: Vec<u32> = (10_000..10_000 + REFRESH_BUDGET as u32 + 44).collect();
        pids.iter().for_each(|&pid| fake.add(pid));
        let listed = || -> Vec<GpuProcess> {
            pids.iter().map(|&pid| GpuProcess::new(pid, ProcessKind::Compute, Some(1))).collect()
        };
        let mut lookup = HostLookup::with_proc_root(&fake.root);
        lookup.fill(&mut listed());
        // Every process uses a whole core from now on; a re-read shows it.
        for &pid in &pids {
            fake.set_stat_of(pid, 250 * fake.ticks + 5 * fake.ticks, 500 * fake.ticks);
        }
        let refreshed = |lookup: &mut HostLookup| -> Vec<u32> {
            let mut procs = listed();
            lookup.fill(&mut procs);
            procs.iter().filter(|p| p.cpu_percent.unwrap() > 60.0).map(|p| p.pid).collect()
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        let first = refreshed(&mut lookup);
        assert_eq!(first.len(), REFRESH_BUDGET);
        // The 44 left out are first in line next time.
        std::thread::sleep(std::time::Duration::from_millis(20));
        for &pid in &pids {
            fake.set_stat_of(pid, 250 * fake.ticks + 10 * fake.ticks, 500 * fake.ticks);
        }
        let second = refreshed(&mut lookup);
        assert!(pids.iter().filter(|p| !first.contains(p)).all(|p| second.contains(p)));
    }

    #[test]
    fn unreadable_entries_leave_fields_unknown() {
        let fake = FakeProc::new("partial");
        std::fs::remove_file(fake.root.join("4242/status")).unwrap();
        std::fs::remove_file(fake.root.join("4242/cmdline")).unwrap();
        let mut p = fake.process();
        HostLookup::with_proc_root(&fake.root).fill([&mut p]);
        assert_eq!(p.user, None);
        // No command line (a kernel thread, a zombie): the name, as ps shows.
        assert_eq!(p.command.as_deref(), Some("python"));
        assert_eq!(p.placement, None);
    }

    #[test]
    fn fills_this_process_and_skips_a_dead_pid() {
        let mut me = GpuProcess::new(std::process::id(), ProcessKind::Compute, Some(1));
        // PIDs are at most 2^22 on Linux, so this one cannot exist.
        let mut gone = GpuProcess::new(u32::MAX - 1, ProcessKind::Compute, Some(1));
        HostLookup::new().fill([&mut me, &mut gone]);
        assert!(me.command.is_some() && me.name.is_some() && me.user.is_some());
        assert!(me.host_memory_bytes.unwrap() > 0);
        assert!(me.running_seconds.is_some());
        assert_eq!(gone.command, None);
        assert_eq!(gone.user, None);
        assert_eq!(gone.gpu_memory_bytes, Some(1));
    }

    fn page_size() -> u64 {
        // SAFETY: sysconf only reads a configuration value.
        unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
    }
}
