//! Whether the walk over `/proc` can see every process, so that the GPU's process list (and
//! the totals summed from its clients) may be called complete. Two things hide processes
//! without any read failing: `/proc` mounted with `hidepid=` (`Documentation/filesystems/
//! proc.rst`: 1/`noaccess` and 2/`invisible` hide other users' processes from a user without
//! `CAP_SYS_PTRACE`, 4/`ptraceable` all but the ones it may trace), read from the `/proc`
//! mount's super options in `/proc/self/mountinfo`; and a PID namespace of its own (a
//! container): processes outside it are not listed, and KFD's PIDs, which are the host's,
//! name other processes here. The initial PID namespace's inode is fixed
//! (`PROC_PID_INIT_INO`, 0xEFFFFFFC, `include/linux/proc_ns.h`), so `/proc/self/ns/pid`
//! reading anything else is a child namespace. (`NSpid:` in `/proc/self/status`, more than
//! one number, says so too, but only where `/proc` is the parent namespace's: a container
//! mounts its own, which shows one.)

use std::path::Path;

/// `/proc/self/ns/pid` in the initial PID namespace: `PROC_PID_INIT_INO` is 0xEFFFFFFC.
const INITIAL_PID_NAMESPACE: &str = "pid:[4026531836]";

/// What hides processes from this one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Visibility {
    /// `/proc` hides other users' processes, and this process is not root.
    pub hidepid: bool,
    /// This process is in a PID namespace below the initial one.
    pub child_pid_namespace: bool,
}

impl Visibility {
    /// This process's view, read now.
    pub fn of_this_process() -> Self {
        let text = |path: &str| super::cards::read(Path::new(path)).unwrap_or_default();
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        // Whole and as bytes: a mount point that is not UTF-8 (a user's FUSE mount, a disk's
        // Latin-1 label) or a long table must not hide the /proc line; unreadable, it is
        // taken to hide processes, never to show them all.
        let hidepid = match std::fs::read("/proc/self/mountinfo") {
            Ok(bytes) => proc_hides_processes(&String::from_utf8_lossy(&bytes)),
            Err(_) => true,
        };
        Self {
            hidepid: !root && hidepid,
            child_pid_namespace: match std::fs::read_link("/proc/self/ns/pid") {
                Ok(ns) => ns.as_os_str() != INITIAL_PID_NAMESPACE,
                Err(_) => in_child_pid_namespace(&text("/proc/self/status")),
            },
        }
    }

    /// Whether processes may be missing from the walk.
    pub fn hides_processes(self) -> bool {
        self.hidepid || self.child_pid_namespace
    }
}

/// Whether the filesystem mounted last on `/proc` is a proc with `hidepid` other than off.
/// A mountinfo line: `22 27 0:21 / /proc rw,relatime - proc proc rw,hidepid=2`.
fn proc_hides_processes(mountinfo: &str) -> bool {
    let proc_mount = mountinfo.lines().rev().find_map(|line| {
        let (mount, sup) = line.split_once(" - ")?;
        let mount_point = mount.split(' ').nth(4)?;
        let mut sup = sup.split(' ');
        (mount_point == "/proc" && sup.next()? == "proc").then(|| sup.nth(1).unwrap_or(""))
    });
    let Some(options) = proc_mount else { return false };
    options.split(',').filter_map(|o| o.strip_prefix("hidepid=")).any(|v| v != "0" && v != "off")
}

/// Whether the `NSpid:` line lists more than one PID (one per PID namespace, outermost first).
fn in_child_pid_namespace(status: &str) -> bool {
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .is_some_and(|pids| pids.split_whitespace().count() > 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidepid_is_read_from_the_last_proc_mount() {
        let plain = "22 27 0:21 / /proc rw,relatime - proc proc rw\n";
        assert!(!proc_hides_processes(plain));
        for hidden in ["hidepid=2", "hidepid=invisible", "hidepid=1", "hidepid=noaccess"] {
            let line = format!("22 27 0:21 / /proc rw,nosuid - proc proc rw,{hidden},gid=4\n");
            assert!(proc_hides_processes(&line), "{hidden}");
        }
        let off = "22 27 0:21 / /proc rw - proc proc rw,hidepid=off\n";
        assert!(!proc_hides_processes(off));
        // Mounted over: the later line wins; another mount point's options are not /proc's.
        let remounted =
            format!("{}30 22 0:50 / /proc rw - proc proc rw\n", off.replace("off", "2"));
        assert!(!proc_hides_processes(&remounted));
        let elsewhere = "40 27 0:60 / /mnt/proc rw - proc proc rw,hidepid=2\n";
        assert!(!proc_hides_processes(&format!("{plain}{elsewhere}")));
        assert!(!proc_hides_processes(""));
    }

    #[test]
    fn a_pid_namespace_shows_as_more_than_one_pid() {
        assert!(!in_child_pid_namespace("Name:\tgputop\nNSpid:\t4242\n"));
        assert!(in_child_pid_namespace("Name:\tgputop\nNSpid:\t4242\t7\n"));
        assert!(!in_child_pid_namespace("Name:\tgputop\n"), "an old kernel: unknown, assume not");
        assert_eq!(format!("pid:[{}]", 0xEFFF_FFFCu32), INITIAL_PID_NAMESPACE);
    }
}
