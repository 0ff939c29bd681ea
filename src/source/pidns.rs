//! Inside a container, NVML reports host PIDs, which mean nothing in the container's PID
//! namespace. This maps them to the PIDs this process can see:
//!
//! 1. through the host's `/proc` mounted into the container (`--host-proc`, or `/host/proc`
//!    when present): for a process in our namespace, `NSpid` in `/host/proc/PID/status` lists
//!    its PID in every namespace, the last one being ours;
//! 2. otherwise through the device files: the local processes holding `/dev/nvidiaN` open are
//!    matched to NVML's processes on GPU N when the match is unambiguous (a host PID that
//!    also exists here proves nothing: it is often another process of the container);
//! 3. otherwise the process keeps its host PID, marked as outside this container.
//!
//! The same scan finds GPU users NVML does not list (no permission, MIG, some drivers). In the
//! host's PID namespace (inode 4026531836, the kernel's `PROC_PID_INIT_INO`) none of this runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::fdscan::scan_fds;
pub use crate::sample::PidMapping;
use crate::sample::{GpuProcess, GpuSample, ProcessKind};

/// `readlink /proc/self/ns/pid` in the kernel's initial PID namespace.
const HOST_PID_NAMESPACE: &str = "pid:[4026531836]";

/// Memory in use beyond what an idle GPU's driver holds.
const IN_USE: u64 = 256 << 20;

/// The fd scan walks every process's open files: at most this often.
const SCAN_EVERY: Duration = Duration::from_secs(5);

pub struct PidMapper {
    proc_root: PathBuf,
    host_proc: Option<PathBuf>,
    /// Device files are `{dev_prefix}{minor}`: `/dev/nvidia` normally, a fixture in tests.
    dev_prefix: String,
    last_scan: Option<(Instant, BTreeMap<u32, Vec<u32>>)>,
    /// In a nested PID namespace, NVML's PIDs need mapping; on the host only the fallback
    /// discovery runs.
    nested: bool,
    /// Our PID namespace (`pid:[inode]`), read once: it never changes.
    ours: Option<String>,
    scan_every: Duration,
    /// A scan in progress on its own thread.
    running: Option<std::thread::JoinHandle<BTreeMap<u32, Vec<u32>>>>,
}

impl PidMapper {
    /// A mapper for the PID namespace this process lives in.
    pub fn detect(proc_root: &Path, host_proc: Option<PathBuf>, dev_prefix: String) -> Self {
        let ours = namespace_of(&proc_root.join("self"));
        let nested = ours.as_ref().is_some_and(|ns| ns != HOST_PID_NAMESPACE);
        let host_proc = host_proc
            .or_else(|| Some(PathBuf::from("/host/proc")).filter(|p| p.join("1").exists()));
        Self {
            proc_root: proc_root.to_path_buf(),
            host_proc,
            dev_prefix,
            last_scan: None,
            nested,
            ours,
            running: None,
            scan_every: SCAN_EVERY,
        }
    }

    /// Rewrites NVML's host PIDs into local ones where possible, marks the rest, and adds the
    /// processes the scan finds on GPUs where NVML lists none.
    pub fn apply(&mut self, gpus: &mut [GpuSample], minors: &[Option<u32>]) {
        let ours = self.ours.as_deref();
        let mut unmapped = false;
        let to_map = if self.nested { gpus.len() } else { 0 };
        for p in gpus.iter_mut().take(to_map).flat_map(|g| g.processes.iter_mut().flatten()) {
            // A host PID that also exists here is no proof: inside a container it is often
            // another process. Only `NSpid` or the device files (below) map it.
            let mapped = self.host_proc.as_ref().and_then(|hp| local_pid(hp, p.pid, ours));
            p.host_pid = Some(p.pid);
            match mapped {
                Some(local) => {
                    p.pid = local;
                    p.pid_mapping = Some(PidMapping::HostProc);
                }
                None => {
                    p.pid_mapping = Some(PidMapping::Outside);
                    unmapped = true;
                }
            }
        }
        // Idle GPUs show some driver memory: only a GPU with real use and nobody listed is a
        // puzzle. A list NVML could not give (`None`) is unknown, not empty: left as it is.
        let nobody_listed = |g: &GpuSample| g.processes.as_ref().is_some_and(Vec::is_empty);
        let needs_scan = unmapped
            // Unknown memory use is no evidence of use: no scan for it.
            || gpus.iter().any(|g| nobody_listed(g) && g.memory.used_bytes.unwrap_or(0) > IN_USE);
        if !needs_scan {
            return;
        }
        let holders = self.holders();
        for (g, minor) in gpus.iter_mut().zip(minors) {
            let Some(local) = minor.and_then(|m| holders.get(&m)) else { continue };
            let Some(processes) = g.processes.as_mut() else { continue };
            let outside: Vec<usize> = (0..processes.len())
                .filter(|&i| processes[i].pid_mapping == Some(PidMapping::Outside))
                .collect();
            let known: Vec<u32> = processes
                .iter()
                .filter(|p| p.pid_mapping != Some(PidMapping::Outside))
                .map(|p| p.pid)
                .collect();
            let candidates: Vec<u32> =
                local.iter().copied().filter(|pid| !known.contains(pid)).collect();
            if processes.is_empty() {
                // NVML lists nobody: show who holds the device, without per-process memory.
                *processes = candidates.iter().map(|&pid| found_by_scan(pid)).collect();
            } else if outside.len() == 1 && candidates.len() == 1 {
                // One unknown on each side: they are the same process.
                let p = &mut processes[outside[0]];
                p.pid = candidates[0];
                p.pid_mapping = Some(PidMapping::FdScan);
            }
        }
    }

    /// Local PIDs holding each `/dev/nvidiaN` open, by minor number. The first scan is
    /// waited for (a one-shot query needs its answer); later ones, at most every `SCAN_EVERY`,
    /// run on a thread of their own while samples use the previous answer, so a host with
    /// thousands of processes never stalls a sample.
    fn holders(&mut self) -> &BTreeMap<u32, Vec<u32>> {
        if self.running.as_ref().is_some_and(|r| r.is_finished()) {
            if let Some(Ok(map)) = self.running.take().map(|r| r.join()) {
                self.last_scan = Some((Instant::now(), map));
            }
        }
        let stale = self.last_scan.as_ref().map(|(when, _)| when.elapsed() >= self.scan_every);
        if stale == Some(true) && self.running.is_none() {
            let (root, prefix) = (self.proc_root.clone(), self.dev_prefix.clone());
            self.running = Some(std::thread::spawn(move || scan_fds(&root, &prefix)));
        }
        &self
            .last_scan
            .get_or_insert_with(|| (Instant::now(), scan_fds(&self.proc_root, &self.dev_prefix)))
            .1
    }
}

fn found_by_scan(pid: u32) -> GpuProcess {
    let mut p = GpuProcess::new(pid, ProcessKind::Compute, None);
    p.pid_mapping = Some(PidMapping::FoundByScan);
    p
}

/// The PIDs in `NSpid:` of a status file, outermost first.
fn nspids(status: &str) -> Option<Vec<u32>> {
    let line = status.lines().find(|l| l.starts_with("NSpid:"))?;
    Some(line["NSpid:".len()..].split_whitespace().filter_map(|v| v.parse().ok()).collect())
}

/// `pid:[inode]` of a process's PID namespace.
fn namespace_of(proc_dir: &Path) -> Option<String> {
    std::fs::read_link(proc_dir.join("ns/pid")).ok().map(|l| l.to_string_lossy().into_owned())
}

/// Our PID for host PID `pid`: its innermost `NSpid`, when it lives in our namespace (or, if
/// the namespace cannot be read, in some nested one). Otherwise it is outside ours.
fn local_pid(host_proc: &Path, pid: u32, ours: Option<&str>) -> Option<u32> {
    let dir = host_proc.join(pid.to_string());
    let ids = nspids(&std::fs::read_to_string(dir.join("status")).ok()?)?;
    let same = match (namespace_of(&dir), ours) {
        (Some(theirs), Some(ours)) => theirs == ours,
        _ => ids.len() > 1,
    };
    same.then(|| ids.last().copied()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A fixture `/proc`: `pids` with `NSpid` lines and device files they hold.
    struct Proc {
        dir: tempfile::TempDir,
    }

    impl Proc {
        fn new() -> Self {
            Proc { dir: tempfile::tempdir().unwrap() }
        }
        fn root(&self) -> &Path {
            self.dir.path()
        }
        /// A process with these `NSpid` entries in the PID namespace `ns`.
        fn status(&self, name: &str, nspid: &str, ns: &str) {
            let d = self.root().join(name);
            std::fs::create_dir_all(d.join("ns")).unwrap();
            std::fs::write(d.join("status"), format!("Name:\tpython\nNSpid:\t{nspid}\n")).unwrap();
            symlink(format!("pid:[{ns}]"), d.join("ns/pid")).unwrap();
        }
        /// `pid` holds `target` open (a stand-in device file, created here).
        fn holds(&self, pid: u32, fd: u32, target: &str) {
            let d = self.root().join(pid.to_string()).join("fd");
            std::fs::create_dir_all(&d).unwrap();
            if !Path::new(target).exists() {
                std::fs::write(target, "").unwrap();
            }
            symlink(target, d.join(fd.to_string())).unwrap();
        }
    }

    fn gpu_with(pids: &[u32]) -> GpuSample {
        let mut g = GpuSample::empty(0);
        g.memory.used_bytes = Some(1 << 30);
        g.processes = Some(
            pids.iter().map(|&p| GpuProcess::new(p, ProcessKind::Compute, Some(1 << 20))).collect(),
        );
        g
    }

    #[test]
    fn only_a_nested_namespace_needs_mapping() {
        let host = Proc::new();
        host.status("self", "4242", "4026531836");
        assert!(!PidMapper::detect(host.root(), None, "/dev/nvidia".into()).nested);
        let container = Proc::new();
        container.status("self", "7", "4026532001");
        assert!(PidMapper::detect(container.root(), None, "/dev/nvidia".into()).nested);
    }

    /// A host `/proc` where PID 77 holds GPU 0 open; with the device path prefix.
    fn host_with_a_holder() -> (Proc, String) {
        let host = Proc::new();
        host.status("self", "4242", "4026531836");
        let dev = host.root().join("dev-nvidia").display().to_string();
        host.holds(77, 3, &format!("{dev}0"));
        (host, dev)
    }

    #[test]
    fn on_the_host_pids_stay_and_unlisted_users_are_found() {
        let (host, dev) = host_with_a_holder();
        let mut m = PidMapper::detect(host.root(), None, dev);
        let mut listed = gpu_with(&[31337]);
        m.apply(std::slice::from_mut(&mut listed), &[Some(0)]);
        assert_eq!(
            (listed.known_processes()[0].pid, listed.known_processes()[0].pid_mapping),
            (31337, None)
        );
        let mut unlisted = gpu_with(&[]);
        m.apply(std::slice::from_mut(&mut unlisted), &[Some(0)]);
        assert_eq!(unlisted.known_processes().iter().map(|p| p.pid).collect::<Vec<_>>(), vec![77]);
    }

    #[test]
    fn host_proc_nspid_maps_host_pids() {
        let local = Proc::new();
        local.status("self", "1", "4026532001");
        let host = Proc::new();
        host.status("31337", "31337 12", "4026532001"); // in our container
        host.status("4444", "4444", "4026531836"); // on the host itself
        host.status("5555", "5555 3", "4026532999"); // in another container
        let mut m =
            PidMapper::detect(local.root(), Some(host.root().to_path_buf()), "/dev/nvidia".into());
        let mut gpus = vec![gpu_with(&[31337, 4444, 5555])];
        m.apply(&mut gpus, &[Some(0)]);
        let p = gpus[0].known_processes();
        assert_eq!(
            (p[0].pid, p[0].host_pid, p[0].pid_mapping),
            (12, Some(31337), Some(PidMapping::HostProc))
        );
        assert_eq!((p[1].pid, p[1].pid_mapping), (4444, Some(PidMapping::Outside)));
        assert_eq!((p[2].pid, p[2].pid_mapping), (5555, Some(PidMapping::Outside)));
    }

    #[test]
    fn fd_scan_maps_an_unambiguous_match_and_finds_unlisted_users() {
        let local = Proc::new();
        local.status("self", "1", "4026532001");
        let dev = local.root().join("dev-nvidia").display().to_string();
        local.holds(12, 3, &format!("{dev}0"));
        local.holds(12, 4, &format!("{dev}ctl"));
        local.holds(20, 5, &format!("{dev}1"));
        local.holds(21, 5, &format!("{dev}1"));
        let mut m = PidMapper::detect(local.root(), None, dev);
        let mut nobody_listed = gpu_with(&[]);
        nobody_listed.index = 1;
        let mut gpus = vec![gpu_with(&[31337]), nobody_listed];
        m.apply(&mut gpus, &[Some(0), Some(1)]);
        assert_eq!(
            (gpus[0].known_processes()[0].pid, gpus[0].known_processes()[0].pid_mapping),
            (12, Some(PidMapping::FdScan))
        );
        let found: Vec<(u32, Option<u64>)> =
            gpus[1].known_processes().iter().map(|p| (p.pid, p.gpu_memory_bytes)).collect();
        assert_eq!(found, vec![(20, None), (21, None)]);
        assert!(gpus[1]
            .known_processes()
            .iter()
            .all(|p| p.pid_mapping == Some(PidMapping::FoundByScan)));
    }

    #[test]
    fn later_scans_run_in_the_background_and_land_on_a_later_sample() {
        let (host, dev) = host_with_a_holder();
        let mut m = PidMapper::detect(host.root(), None, dev.clone());
        m.scan_every = Duration::ZERO;
        let found = |m: &mut PidMapper| {
            let mut gpu = gpu_with(&[]);
            m.apply(std::slice::from_mut(&mut gpu), &[Some(0)]);
            gpu.known_processes().iter().map(|p| p.pid).collect::<Vec<_>>()
        };
        // The first scan is waited for.
        assert_eq!(found(&mut m), vec![77]);
        host.holds(78, 3, &format!("{dev}0"));
        // The next sample starts a scan and answers from the last one.
        assert_eq!(found(&mut m), vec![77]);
        while !m.running.as_ref().is_some_and(|r| r.is_finished()) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(found(&mut m), vec![77, 78]);
    }

    #[test]
    fn a_list_nvml_could_not_give_is_not_taken_for_nobody() {
        let (host, dev) = host_with_a_holder();
        let mut m = PidMapper::detect(host.root(), None, dev);
        let mut unknown = gpu_with(&[]);
        unknown.processes = None;
        m.apply(std::slice::from_mut(&mut unknown), &[Some(0)]);
        assert_eq!(unknown.processes, None, "PID 77 holds the device, but NVML could not say");
    }

    #[test]
    fn a_host_pid_that_exists_here_is_mapped_by_the_device_files_not_by_its_number() {
        let local = Proc::new();
        local.status("self", "1", "4026532001");
        // PID 31337 here is another process; PID 12 holds the GPU.
        local.status("31337", "31337", "4026532001");
        let dev = local.root().join("dev-nvidia").display().to_string();
        local.holds(12, 3, &format!("{dev}0"));
        let mut m = PidMapper::detect(local.root(), None, dev);
        let mut gpus = vec![gpu_with(&[31337])];
        m.apply(&mut gpus, &[Some(0)]);
        let p = &gpus[0].known_processes()[0];
        assert_eq!((p.pid, p.host_pid, p.pid_mapping), (12, Some(31337), Some(PidMapping::FdScan)));
    }

    #[test]
    fn an_ambiguous_match_stays_outside() {
        let local = Proc::new();
        local.status("self", "1", "4026532001");
        let dev = local.root().join("dev-nvidia").display().to_string();
        local.holds(12, 3, &format!("{dev}0"));
        local.holds(13, 3, &format!("{dev}0"));
        let mut m = PidMapper::detect(local.root(), None, dev);
        let mut gpus = vec![gpu_with(&[31337])];
        m.apply(&mut gpus, &[Some(0)]);
        assert_eq!(
            (gpus[0].known_processes()[0].pid, gpus[0].known_processes()[0].pid_mapping),
            (31337, Some(PidMapping::Outside))
        );
    }
}
