//! What the host knows about GPU processes (user, command line, CPU, memory, running time),
//! read from `/proc` for the GPU PIDs only, never for every process on the machine.
//!
//! Per sample and process this costs one `pread` of `/proc/PID/stat` through a descriptor kept
//! open: `sysinfo` opens and renders `/proc/PID/status` and `statm` as well every time, which
//! was most of the monitor's CPU time. What cannot change for a process (user, command line,
//! start time, placement) is read once. Host-wide figures and user names still come from
//! `sysinfo`.

mod stat;

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

/// At most this many `stat` files are kept open; beyond, they are opened per sample.
const MAX_OPEN_STATS: usize = 4096;

pub struct HostLookup {
    proc_root: PathBuf,
    /// Processes seen on the previous sample, by PID.
    tracked: HashMap<u32, Tracked>,
    /// Read from the user database on the first process that needs it.
    users: OnceCell<Option<Users>>,
    /// Boot time (seconds since the epoch), for running times.
    boot_time: OnceCell<Option<u64>>,
    ticks_per_second: u64,
    page_size: u64,
    open_stats: usize,
    max_open_stats: usize,
    buf: Vec<u8>,
}

/// What is kept about one process between samples.
struct Tracked {
    /// `None` past the open-file budget: the file is then opened on each sample.
    stat_file: Option<File>,
    start_ticks: u64,
    /// CPU time and when it was read, for the next sample's CPU %.
    cpu_ticks: u64,
    at: Instant,
    /// As of the latest sample.
    comm: String,
    rss_pages: u64,
    cpu_percent: Option<f32>,
    /// Read once.
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
            users: OnceCell::new(),
            boot_time: OnceCell::new(),
            ticks_per_second: u64::try_from(ticks).unwrap_or(100).max(1),
            page_size: u64::try_from(page).unwrap_or(4096),
            open_stats: 0,
            max_open_stats: open_file_budget(),
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
        let mut previous = std::mem::take(&mut self.tracked);
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
        }
        // Whatever was not listed this time has left the GPU (or exited): forget it.
        for gone in previous.into_values() {
            self.release(gone);
        }
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
        let stat = match self.read_stat(pid, t.stat_file.as_ref()) {
            // The same process, not a new one that reused the PID.
            Some(s) if s.start_ticks == t.start_ticks => s,
            _ => {
                self.release(t);
                return self.first_sight(pid, now);
            }
        };
        let seconds = now.at.duration_since(t.at).as_secs_f64();
        let used = stat.cpu_ticks.saturating_sub(t.cpu_ticks) as f64 / self.ticks_per_second as f64;
        t.cpu_percent = (seconds > 0.0).then(|| (used * 100.0 / seconds) as f32);
        (t.cpu_ticks, t.at, t.rss_pages, t.comm) =
            (stat.cpu_ticks, now.at, stat.rss_pages, stat.comm);
        Some(t)
    }

    /// A process seen first: its CPU % is its lifetime average, as `ps` shows.
    fn first_sight(&mut self, pid: u32, now: Now) -> Option<Tracked> {
        let dir = self.proc_root.join(pid.to_string());
        let file = File::open(dir.join("stat")).ok()?;
        let stat = self.read_stat(pid, Some(&file))?;
        let stat_file = (self.open_stats < self.max_open_stats).then(|| {
            self.open_stats += 1;
            file
        });
        let cpu_percent =
            running_seconds(self.boot_time(), stat.start_ticks, self.ticks_per_second, now)
                // Boot time has whole seconds: younger than that, an average would be noise.
                .filter(|&s| s >= 1.0)
                .map(|s| (stat.cpu_ticks as f64 / self.ticks_per_second as f64 * 100.0 / s) as f32);
        Some(Tracked {
            stat_file,
            start_ticks: stat.start_ticks,
            cpu_ticks: stat.cpu_ticks,
            at: now.at,
            comm: stat.comm,
            rss_pages: stat.rss_pages,
            cpu_percent,
            user: self.user(&dir),
            command: read_proc(&dir.join("cmdline")).and_then(|raw| stat::command_line(&raw)),
            placement: read_placement(&dir),
        })
    }

    /// One `pread` through the open file, or an open-read-close past the budget.
    fn read_stat(&mut self, pid: u32, file: Option<&File>) -> Option<stat::Stat> {
        // One page holds any stat line; the buffer is zeroed once, not per read.
        self.buf.resize(4096, 0);
        let n = match file {
            Some(f) => f.read_at(&mut self.buf, 0).ok()?,
            None => {
                let path = self.proc_root.join(pid.to_string()).join("stat");
                File::open(path).ok()?.read_at(&mut self.buf, 0).ok()?
            }
        };
        stat::parse(&self.buf[..n])
    }

    fn release(&mut self, t: Tracked) {
        if t.stat_file.is_some() {
            self.open_stats -= 1;
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
    (soft / 4).min(MAX_OPEN_STATS)
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
    fn a_process_listed_on_two_gpus_is_read_once() {
        let fake = FakeProc::new("twice");
        let mut lookup = HostLookup::with_proc_root(&fake.root);
        lookup.fill([&mut fake.process()]);
        let (mut a, mut b) = (fake.process(), fake.process());
        lookup.fill([&mut a, &mut b]);
        assert_eq!(a.cpu_percent, b.cpu_percent);
        assert_eq!(lookup.tracked.len(), 1);
        assert_eq!(lookup.open_stats, 1);
        // Gone from the GPUs: forgotten, its file closed.
        lookup.fill([]);
        assert_eq!((lookup.tracked.len(), lookup.open_stats), (0, 0));
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
