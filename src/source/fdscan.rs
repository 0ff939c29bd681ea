//! Who holds the GPU device files open: a walk over `/proc/*/fd`. For NVIDIA, who holds
//! `/dev/nvidiaN`; for AMD and Intel, every open DRM device (major 226) with its `fdinfo`,
//! the kernel's per-client usage (`Documentation/gpu/drm-usage-stats.rst`).
//!
//! This is the expensive part of container support (every fd of every process), so it works
//! at the system-call level: `/proc` is opened once and each `PID/fd` relative to it; each fd
//! is `statx`-ed relative to its directory, which follows the magic link to the open file
//! without the kernel building its path as `readlink` does; and the answer is compared by
//! device number (or, for the stand-in files of tests, by inode), with no allocation per fd.
//!
//! Any user can hold a file open on a dead hard-mounted NFS share or an unresponsive FUSE
//! mount; a plain `stat` of it waits on the server for ever, and would hang root's gputop
//! (`health`, `--once`, `serve`). So the stat is `statx` with `AT_STATX_DONT_SYNC` (take the
//! attributes the kernel has cached, never ask the server) for the file type alone
//! (`STATX_TYPE`, plus `STATX_INO` for the stand-ins): a device file's type and number are
//! the inode's own, never the server's. Following the magic link itself does no lookup.
//!
//! Kernel threads have no files: a user who is not root cannot open their `fd` directory
//! either, so those are told apart (`PF_KTHREAD` in `/proc/PID/stat`) from other users'
//! processes, which may hold a GPU.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// What identifies an open device file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum FileKey {
    /// A character device, by (major, minor): the same GPU whichever `/dev` node was opened.
    Device(u32, u32),
    /// Any other file (a test's stand-in), by filesystem (major, minor) and inode.
    Inode(u32, u32, u64),
}

impl FileKey {
    fn of(st: &FileStat) -> Self {
        match st.device() {
            Some((major, minor)) => FileKey::Device(major, minor),
            None => FileKey::Inode(st.dev.0, st.dev.1, st.ino),
        }
    }
}

/// What [`stat_at`] learns of a file: its type, its device number if it is a character
/// device, and the filesystem and inode it lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStat {
    mode: u32,
    rdev: (u32, u32),
    dev: (u32, u32),
    ino: u64,
}

impl FileStat {
    /// (major, minor) of a character device; `None` for any other file.
    fn device(&self) -> Option<(u32, u32)> {
        (self.mode & libc::S_IFMT == libc::S_IFCHR).then_some(self.rdev)
    }
}

/// Walks `/proc/*/fd`, collecting who holds which `{prefix}N` (minor number N → PIDs, sorted).
/// Processes that vanish or whose fds cannot be read (other users, hidepid) are skipped quietly.
pub fn scan_fds(proc_root: &Path, prefix: &str) -> BTreeMap<u32, Vec<u32>> {
    let targets = device_files(prefix);
    if targets.is_empty() {
        return BTreeMap::new();
    }
    let Some(proc_dir) = Dir::open(proc_root) else { return BTreeMap::new() };
    // gputop itself holds the devices open through NVML.
    let me = std::process::id();
    let mut pids: Vec<u32> = Vec::with_capacity(1024);
    proc_dir.for_each_entry(|name| {
        let pid = std::str::from_utf8(name.to_bytes()).ok().and_then(|n| n.parse::<u32>().ok());
        pids.extend(pid.filter(|&pid| pid != me));
    });
    // Spread over the cores: the kernel's work per fd is the cost.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let chunk = pids.len().div_ceil(threads).max(1);
    let partial: Vec<Vec<(u32, u32)>> = std::thread::scope(|s| {
        let handles: Vec<_> = pids
            .chunks(chunk)
            .map(|part| s.spawn(|| holders_in(&proc_dir, &targets, part)))
            .collect();
        // A scan thread that panicked finds no holder in its part: the fallback it serves
        // (naming holders NVML did not list) then names fewer, never wrong ones.
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let mut map: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (minor, pid) in partial.into_iter().flatten() {
        map.entry(minor).or_default().push(pid);
    }
    for holders in map.values_mut() {
        holders.sort_unstable();
        holders.dedup();
    }
    map
}

/// The files `{prefix}N` that exist, by what identifies them once opened.
fn device_files(prefix: &str) -> HashMap<FileKey, u32> {
    let prefix = Path::new(prefix);
    let (Some(dir), Some(stem)) = (prefix.parent(), prefix.file_name()) else {
        return HashMap::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else { return HashMap::new() };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let minor = name.as_bytes().strip_prefix(stem.as_bytes())?;
            let minor: u32 = std::str::from_utf8(minor).ok()?.parse().ok()?;
            let path = CString::new(e.path().as_os_str().as_bytes()).ok()?;
            let st = stat_at(libc::AT_FDCWD, &path)?;
            Some((FileKey::of(&st), minor))
        })
        .collect()
}

/// (minor, pid) for each device in `targets` that one of `pids` holds open.
fn holders_in(proc_dir: &Dir, targets: &HashMap<FileKey, u32>, pids: &[u32]) -> Vec<(u32, u32)> {
    let mut found = Vec::new();
    let mut name = Vec::with_capacity(32);
    for &pid in pids {
        name.clear();
        name.extend_from_slice(pid.to_string().as_bytes());
        name.extend_from_slice(b"/fd\0");
        let Ok(path) = CStr::from_bytes_with_nul(&name) else { continue };
        let Some(fds) = proc_dir.open_at(path) else { continue };
        fds.for_each_entry(|fd_name| {
            if let Some(minor) =
                stat_at(fds.fd, fd_name).and_then(|st| targets.get(&FileKey::of(&st)))
            {
                found.push((*minor, pid));
            }
        });
    }
    found
}

/// The character device major number of DRM (`/dev/dri/card*`, `/dev/dri/renderD*`).
pub const DRM_MAJOR: u32 = 226;

/// One open DRM file: the process, the device's minor number, and its `fdinfo` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrmFd {
    pub pid: u32,
    pub minor: u32,
    pub fdinfo: Vec<u8>,
}

/// Every open DRM file found, and how many processes' fd tables could not be read (other
/// users' or root's processes, without root; kernel threads are not counted): while that is
/// not 0 the list is not everyone's.
#[derive(Debug, Default)]
pub struct DrmScan {
    pub fds: Vec<DrmFd>,
    pub unreadable: usize,
    /// Processes holding more than [`DRM_FDS_PER_PROCESS`] open DRM files, read in part:
    /// while any is listed the list is not complete either.
    pub read_in_part: Vec<u32>,
}

/// The most open DRM files read of one process. A real client holds a few; a process that
/// opens the render node a million times would otherwise cost a million fdinfo reads (and
/// their text in memory) every sample.
pub const DRM_FDS_PER_PROCESS: usize = 256;

/// The bound on one `fdinfo` read: a DRM client's is a few hundred bytes.
const FDINFO_LIMIT: usize = 64 << 10;

/// Walks `/proc/*/fd` for open DRM devices and reads each one's `/proc/PID/fdinfo/FD`. One
/// walk per sample, spread over up to four threads like [`scan_fds`]; a process that exits
/// meanwhile is skipped.
pub fn scan_drm_fds(proc_root: &Path) -> DrmScan {
    let Some(proc_dir) = Dir::open(proc_root) else { return DrmScan::default() };
    let me = std::process::id();
    let mut pids: Vec<u32> = Vec::with_capacity(1024);
    proc_dir.for_each_entry(|name| {
        let pid = std::str::from_utf8(name.to_bytes()).ok().and_then(|n| n.parse::<u32>().ok());
        pids.extend(pid.filter(|&pid| pid != me));
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let chunk = pids.len().div_ceil(threads).max(1);
    let parts: Vec<DrmScan> = std::thread::scope(|s| {
        let handles: Vec<_> =
            pids.chunks(chunk).map(|part| s.spawn(|| drm_fds_in(&proc_dir, part))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let mut scan = DrmScan::default();
    for part in parts {
        scan.fds.extend(part.fds);
        scan.unreadable += part.unreadable;
        scan.read_in_part.extend(part.read_in_part);
    }
    scan
}

/// The open DRM files of `pids`, with their fdinfo.
fn drm_fds_in(proc_dir: &Dir, pids: &[u32]) -> DrmScan {
    let mut scan = DrmScan::default();
    for &pid in pids {
        let Ok(path) = CString::new(format!("{pid}/fd")) else { continue };
        let fds = match Dir::open_at_fd_errno(proc_dir.fd, &path) {
            Ok(fds) => fds,
            // EACCES: another user's process (or a kernel thread, which holds no file);
            // ENOENT: it exited. Only another user's process hides a client.
            Err(libc::EACCES) | Err(libc::EPERM) => {
                let kernel = read_at(proc_dir.fd, &format!("{pid}/stat"))
                    .is_some_and(|stat| is_kernel_thread(&stat));
                if !kernel {
                    scan.unreadable += 1;
                }
                continue;
            }
            Err(_) => continue,
        };
        let mut read = 0;
        fds.for_each_entry(|fd_name| {
            if read > DRM_FDS_PER_PROCESS {
                return;
            }
            let Some(st) = stat_at(fds.fd, fd_name) else { return };
            let Some((DRM_MAJOR, minor)) = st.device() else { return };
            read += 1;
            if read > DRM_FDS_PER_PROCESS {
                scan.read_in_part.push(pid);
                return;
            }
            let Ok(fd) = std::str::from_utf8(fd_name.to_bytes()) else { return };
            if let Some(fdinfo) = read_at(proc_dir.fd, &format!("{pid}/fdinfo/{fd}")) {
                scan.fds.push(DrmFd { pid, minor, fdinfo });
            }
        });
    }
    scan
}

/// Reads the file `name` under the directory `dir`, up to [`FDINFO_LIMIT`] bytes.
fn read_at(dir: libc::c_int, name: &str) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is NUL-terminated; the fd is owned by the `File` from here on.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    let mut bytes = Vec::with_capacity(1024);
    file.take(FDINFO_LIMIT as u64).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// `statx(dir, name, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO)`, following links; `None`
/// when it fails (the fd was closed meanwhile). `AT_STATX_DONT_SYNC`: the kernel answers
/// from what it has cached and never asks a network filesystem's server (or a FUSE daemon),
/// so a file held open on a dead NFS mount cannot hang the scan (see the module's doc).
///
/// Called as the system call, not glibc's wrapper, which arrived in glibc 2.28: the release
/// binaries keep a glibc 2.17 baseline. A kernel before 4.11 has no `statx` (ENOSYS); there
/// the scan uses `fstatat`, as it can.
fn stat_at(dir: libc::c_int, name: &CStr) -> Option<FileStat> {
    static NO_STATX: AtomicBool = AtomicBool::new(false);
    if NO_STATX.load(Ordering::Relaxed) {
        return fstat_at(dir, name);
    }
    let mut st = std::mem::MaybeUninit::<libc::statx>::uninit();
    let flags = libc::AT_STATX_DONT_SYNC;
    let mask = libc::STATX_TYPE | libc::STATX_INO;
    // SAFETY: `name` is NUL-terminated and `st` is written by the kernel before being read.
    let rc =
        unsafe { libc::syscall(libc::SYS_statx, dir, name.as_ptr(), flags, mask, st.as_mut_ptr()) };
    if rc != 0 {
        if std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
            NO_STATX.store(true, Ordering::Relaxed);
            return fstat_at(dir, name);
        }
        return None;
    }
    // SAFETY: statx filled `st` when it returned 0.
    let st = unsafe { st.assume_init() };
    Some(FileStat {
        mode: u32::from(st.stx_mode),
        rdev: (st.stx_rdev_major, st.stx_rdev_minor),
        dev: (st.stx_dev_major, st.stx_dev_minor),
        ino: st.stx_ino,
    })
}

/// `fstatat(dir, name)`, following links, for a kernel without `statx`.
fn fstat_at(dir: libc::c_int, name: &CStr) -> Option<FileStat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `name` is NUL-terminated and `st` is written by the kernel before being read.
    let rc = unsafe { libc::fstatat(dir, name.as_ptr(), st.as_mut_ptr(), 0) };
    if rc != 0 {
        return None;
    }
    // SAFETY: fstatat filled `st` when it returned 0.
    let st = unsafe { st.assume_init() };
    Some(FileStat {
        mode: st.st_mode,
        rdev: (libc::major(st.st_rdev), libc::minor(st.st_rdev)),
        dev: (libc::major(st.st_dev), libc::minor(st.st_dev)),
        ino: st.st_ino,
    })
}

/// Whether `/proc/PID/stat` (its text) is a kernel thread's: `PF_KTHREAD` in the flags, the
/// 9th field. The 2nd, the command in parentheses, may itself hold spaces and `)`, so the
/// fields are counted after the last `)`.
fn is_kernel_thread(stat: &[u8]) -> bool {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let Some(close) = stat.iter().rposition(|&b| b == b')') else { return false };
    let Ok(rest) = std::str::from_utf8(&stat[close + 1..]) else { return false };
    // After the command: state (3), ppid, pgrp, session, tty_nr, tpgid, flags (9).
    rest.split_ascii_whitespace()
        .nth(6)
        .and_then(|f| f.parse::<u64>().ok())
        .is_some_and(|flags| flags & PF_KTHREAD != 0)
}

/// An open directory, read with `getdents64` into a buffer on the stack (no `DIR` stream:
/// that costs an allocation and an `fcntl` per process), closed on drop.
struct Dir {
    fd: libc::c_int,
}

impl Dir {
    fn open(path: &Path) -> Option<Dir> {
        let path = CString::new(path.as_os_str().as_bytes()).ok()?;
        Self::open_at_fd(libc::AT_FDCWD, &path)
    }

    fn open_at(&self, name: &CStr) -> Option<Dir> {
        Self::open_at_fd(self.fd, name)
    }

    fn open_at_fd(base: libc::c_int, name: &CStr) -> Option<Dir> {
        Self::open_at_fd_errno(base, name).ok()
    }

    /// [`Self::open_at_fd`], with the `errno` of a failure.
    fn open_at_fd_errno(base: libc::c_int, name: &CStr) -> Result<Dir, libc::c_int> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        // SAFETY: `name` is NUL-terminated; the fd is owned by the `Dir` from here on.
        let fd = unsafe { libc::openat(base, name.as_ptr(), flags) };
        if fd >= 0 {
            Ok(Dir { fd })
        } else {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        }
    }

    /// Calls `f` with each entry's name, `.` and `..` left out.
    fn for_each_entry(&self, mut f: impl FnMut(&CStr)) {
        // `linux_dirent64`: inode (8 bytes), offset (8), record length (2), type (1), name.
        const NAME_AT: usize = 19;
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
            let n = unsafe {
                libc::syscall(libc::SYS_getdents64, self.fd, buf.as_mut_ptr(), buf.len())
            };
            let Ok(n) = usize::try_from(n) else { return };
            if n == 0 {
                return;
            }
            let mut at = 0;
            while at + NAME_AT <= n {
                let len = usize::from(u16::from_ne_bytes([buf[at + 16], buf[at + 17]]));
                let Some(record) = buf.get(at + NAME_AT..at + len) else { return };
                if let Ok(name) = CStr::from_bytes_until_nul(record) {
                    if name.to_bytes() != b"." && name.to_bytes() != b".." {
                        f(name);
                    }
                }
                at += len.max(1);
            }
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: the fd is open and closed once.
        unsafe { libc::close(self.fd) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn finds_holders_by_the_file_their_fds_open() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("dev");
        std::fs::create_dir(&dev).unwrap();
        for name in ["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"] {
            std::fs::write(dev.join(name), "").unwrap();
        }
        let proc_ = dir.path().join("proc");
        let hold = |pid: u32, fd: u32, target: &Path| {
            let fds = proc_.join(pid.to_string()).join("fd");
            std::fs::create_dir_all(&fds).unwrap();
            symlink(target, fds.join(fd.to_string())).unwrap();
        };
        hold(10, 3, &dev.join("nvidia0"));
        hold(10, 4, &dev.join("nvidiactl"));
        hold(11, 7, &dev.join("nvidia1"));
        hold(11, 8, &dev.join("nvidia1"));
        hold(12, 5, &dev.join("nvidia1"));
        hold(13, 0, Path::new("/nonexistent/closed-meanwhile"));
        hold(14, 0, &dir.path().join("some-file"));
        std::fs::create_dir_all(proc_.join("not-a-pid/fd")).unwrap();
        let prefix = dev.join("nvidia").display().to_string();
        let found = scan_fds(&proc_, &prefix);
        assert_eq!(found, BTreeMap::from([(0, vec![10]), (1, vec![11, 12])]));
    }

    #[test]
    fn statx_without_sync_finds_a_device_through_the_fd_link() {
        let null = std::fs::File::open("/dev/null").unwrap();
        let fds = Dir::open(Path::new("/proc/self/fd")).unwrap();
        let name = CString::new(std::os::fd::AsRawFd::as_raw_fd(&null).to_string()).unwrap();
        let st = stat_at(fds.fd, &name).expect("statx of an open fd");
        assert_eq!(st.device(), Some((1, 3)), "/dev/null is 1:3: {st:?}");
        let file = tempfile::NamedTempFile::new().unwrap();
        let name = CString::new(std::os::fd::AsRawFd::as_raw_fd(file.as_file()).to_string());
        let st = stat_at(fds.fd, &name.unwrap()).unwrap();
        assert_eq!(st.device(), None, "a regular file is no device");
        let meta = std::os::unix::fs::MetadataExt::ino(&file.as_file().metadata().unwrap());
        assert_eq!(st.ino, meta);
    }

    #[test]
    fn kernel_threads_are_told_by_their_flags_whatever_their_name() {
        let kthreadd = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 2 0 0 20 0 1 0 24\n";
        assert!(is_kernel_thread(kthreadd));
        let user = b"77 (a) b) S 1 77 77 0 -1 4194560 0 0 0 0\n";
        assert!(!is_kernel_thread(user));
        // A process naming itself like a kernel thread's stat line cannot fool the count.
        let tricky = b"78 (x) S 0 0 0 0 -1 2129984 0) S 1 78 78 0 -1 4194560 0\n";
        assert!(!is_kernel_thread(tricky));
        assert!(!is_kernel_thread(b"garbage"));
    }

    #[test]
    fn without_device_files_nothing_is_scanned() {
        assert!(scan_fds(Path::new("/proc"), "/nonexistent/nvidia").is_empty());
    }
}
