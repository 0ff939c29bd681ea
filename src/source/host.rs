//! What the host knows about GPU processes (user, command line, CPU, memory, running time),
//! looked up through `sysinfo` for the GPU PIDs only, never for every process on the machine.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind, Users};

use super::placement::{self, Placement};
use crate::sample::GpuProcess;

pub struct HostLookup {
    /// `None` where sysinfo cannot work on this platform: host fields then stay `None`.
    system: Option<System>,
    /// Read from the user database on the first process that needs it.
    users: OnceCell<Option<Users>>,
    /// PIDs refreshed before, whose `cpu_usage` is a delta since the last sample; for a PID
    /// seen first, the CPU % is its lifetime average, as `ps` shows.
    seen: HashSet<u32>,
    /// Placement never changes for a PID, so it is read once (two small /proc reads).
    placements: HashMap<u32, Option<Placement>>,
    proc_root: PathBuf,
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

    /// Reads placements from another `/proc` (a fixture tree in tests).
    pub fn with_proc_root(root: impl Into<PathBuf>) -> Self {
        Self {
            system: System::new().ok(),
            users: OnceCell::new(),
            seen: HashSet::new(),
            placements: HashMap::new(),
            proc_root: root.into(),
        }
    }

    pub fn hostname() -> Option<String> {
        System::host_name().ok()
    }

    /// Fills the host fields of `processes`. A PID that has exited since NVML listed it keeps
    /// its NVML fields and `None` for the rest.
    pub fn fill<'a>(&mut self, processes: impl IntoIterator<Item = &'a mut GpuProcess>) {
        let mut processes: Vec<&mut GpuProcess> = processes.into_iter().collect();
        let Some(system) = self.system.as_mut() else {
            return;
        };
        let pids: Vec<Pid> = processes.iter().map(|p| Pid::from_u32(p.pid)).collect();
        let kind = ProcessRefreshKind::nothing()
            .without_tasks()
            .with_cpu()
            .with_memory()
            .with_cmd(UpdateKind::OnlyIfNotSet)
            .with_user(UpdateKind::OnlyIfNotSet);
        // Removing dead processes keeps the table from growing as jobs come and go.
        system.refresh_processes_specifics(ProcessesToUpdate::Some(&pids), true, kind);

        let mut seen_now = HashSet::with_capacity(processes.len());
        for gp in processes.iter_mut() {
            let Some(proc_) = system.process(Pid::from_u32(gp.pid)) else {
                continue;
            };
            let first_sight = !self.seen.contains(&gp.pid);
            seen_now.insert(gp.pid);
            gp.name = Some(proc_.name().to_string_lossy().into_owned());
            let cmd = proc_.cmd();
            gp.command = if cmd.is_empty() {
                // Kernel threads and zombies have no command line: show the name, as ps does.
                gp.name.clone()
            } else {
                Some(cmd.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "))
            };
            gp.host_memory_bytes = Some(proc_.memory());
            gp.running_seconds = Some(proc_.run_time());
            gp.cpu_percent = if first_sight {
                let run_ms = proc_.run_time().saturating_mul(1000);
                (run_ms > 0).then(|| proc_.accumulated_cpu_time() as f32 * 100.0 / run_ms as f32)
            } else {
                Some(proc_.cpu_usage())
            };
            gp.user = proc_.user_id().map(|uid| {
                let users = self.users.get_or_init(|| Users::new_with_refreshed_list().ok());
                let name = users
                    .as_ref()
                    .and_then(|u| u.get_user_by_id(uid))
                    .map(|u| u.name().to_string());
                // A UID with no name (e.g. from another container's user database) shows as its number.
                name.unwrap_or_else(|| uid.to_string())
            });
        }
        for gp in processes.iter_mut().filter(|gp| seen_now.contains(&gp.pid)) {
            gp.placement = self.placement(gp.pid);
        }
        self.placements.retain(|pid, _| seen_now.contains(pid));
        self.seen = seen_now;
    }

    /// Where `pid` runs; unreadable `/proc` entries (hidepid, permissions) mean "unknown".
    fn placement(&mut self, pid: u32) -> Option<Placement> {
        let root = &self.proc_root;
        self.placements
            .entry(pid)
            .or_insert_with(|| {
                let cgroup =
                    std::fs::read_to_string(root.join(pid.to_string()).join("cgroup")).ok()?;
                let mut p = placement::from_cgroup(&cgroup);
                if let Ok(environ) = std::fs::read(root.join(pid.to_string()).join("environ")) {
                    placement::add_environ(&mut p, &environ);
                }
                (!p.is_empty()).then_some(p)
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::ProcessKind;

    #[test]
    fn placement_is_read_from_the_proc_tree() {
        let dir = std::env::temp_dir().join(format!("gputop-proc-{}", std::process::id()));
        let me = std::process::id();
        std::fs::create_dir_all(dir.join(me.to_string())).unwrap();
        let id = "3f4e8c1a2b9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
        std::fs::write(
            dir.join(format!("{me}/cgroup")),
            format!("0::/system.slice/docker-{id}.scope\n"),
        )
        .unwrap();
        let mut p = GpuProcess::new(me, ProcessKind::Compute, Some(1));
        HostLookup::with_proc_root(&dir).fill([&mut p]);
        assert_eq!(p.placement.and_then(|pl| pl.label()).as_deref(), Some("docker:3f4e8c1a2b9d"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn fills_this_process_and_skips_a_dead_pid() {
        let mut me = GpuProcess::new(std::process::id(), ProcessKind::Compute, Some(1));
        // PIDs are at most 2^22 on Linux, so this one cannot exist.
        let mut gone = GpuProcess::new(u32::MAX - 1, ProcessKind::Compute, Some(1));
        HostLookup::new().fill([&mut me, &mut gone]);
        assert!(me.command.is_some() && me.name.is_some() && me.user.is_some());
        assert!(me.host_memory_bytes.unwrap() > 0);
        assert_eq!(gone.command, None);
        assert_eq!(gone.user, None);
        assert_eq!(gone.gpu_memory_bytes, Some(1));
    }
}
