//! One process's `/proc/PID` directory, opened once: the files read through it all describe
//! the process that held the PID when it was opened. Once that process exits they can no
//! longer be opened or read, even if the PID has been handed to another process.

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::stat;

pub struct ProcDir {
    fd: OwnedFd,
}

impl ProcDir {
    /// `/proc/PID` of this machine.
    pub fn of_pid(pid: u32) -> Option<Self> {
        Self::open(&Path::new("/proc").join(pid.to_string()))
    }

    /// Any directory laid out as `/proc/PID` (a test's own tree).
    pub fn open(path: &Path) -> Option<Self> {
        let path = CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
        // SAFETY: `path` is a NUL-terminated string; open returns a new descriptor or -1.
        let fd = with_room(|| unsafe { libc::open(path.as_ptr(), flags) })?;
        Some(Self { fd })
    }

    /// Opens one of the process's files for reading.
    pub fn open_file(&self, name: &str) -> Option<File> {
        let name = CString::new(name).ok()?;
        let dir = self.fd.as_raw_fd();
        // SAFETY: `dir` is an open directory and `name` a NUL-terminated relative path.
        let fd = with_room(|| unsafe {
            libc::openat(dir, name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC)
        })?;
        Some(File::from(fd))
    }

    /// A whole file, read in pages until the end: `/proc` files report a size of 0, so the
    /// size queries `read_to_end` makes first would be two system calls for nothing.
    pub fn read(&self, name: &str) -> Option<Vec<u8>> {
        let mut file = self.open_file(name)?;
        let mut out = Vec::new();
        let mut page = [0u8; 4096];
        loop {
            match file.read(&mut page) {
                Ok(0) => return Some(out),
                Ok(n) => out.extend_from_slice(&page[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
    }

    /// The `stat` line, parsed.
    pub fn stat(&self) -> Option<stat::Stat> {
        stat::parse(&self.read("stat")?)
    }
}

/// Runs `open`, which returns a new descriptor or -1. The host lookup keeps a file open per
/// GPU process, so a machine with a thousand of them meets the usual soft limit of 1,024 open
/// files: then the soft limit is raised to the hard one (as Go programs do at start) and
/// `open` tried again.
fn with_room(open: impl Fn() -> libc::c_int) -> Option<OwnedFd> {
    let mut fd = open();
    if fd < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EMFILE) {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit and setrlimit read and write the struct they are given.
        let raised = unsafe {
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0
                && limit.rlim_cur < limit.rlim_max
                && {
                    limit.rlim_cur = limit.rlim_max;
                    libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
                }
        };
        if raised {
            fd = open();
        }
    }
    // SAFETY: a descriptor just created and owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_and_nothing_of_an_exited_one() {
        let me = ProcDir::of_pid(std::process::id()).unwrap();
        assert!(me.stat().unwrap().start_ticks > 0);
        assert!(!me.read("cmdline").unwrap().is_empty());
        assert!(me.read("no-such-file").is_none());

        let mut child = crate::process_signal::tests::sleeper();
        let dir = ProcDir::of_pid(child.id()).unwrap();
        assert_eq!(dir.stat().unwrap().comm, "sleep");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(dir.stat().is_none() && dir.read("cmdline").is_none());
        assert!(ProcDir::of_pid(u32::MAX - 1).is_none());
    }
}
