//! Claims on GPUs, so that two `gputop wait`s never start on the same GPU: an advisory `flock`
//! on a file per GPU UUID, in a directory every user of the machine shares. The claim is held
//! by the program `wait` starts (the locked file stays open across `exec`) and ends with it,
//! however it ends. Advisory: it coordinates gputop users; a program started without gputop
//! does not look at it (and is seen as a GPU process instead).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::output::sanitize::sanitize;
use crate::sample::GpuSample;

/// Where claims are kept when `--lock-dir` is not given: the system's runtime directory when
/// an administrator made it, else a world-writable directory in /tmp.
pub const SYSTEM_DIR: &str = "/run/gputop/locks";
pub const TMP_DIR: &str = "/tmp/gputop-locks";

pub struct LockDir {
    path: PathBuf,
}

/// A GPU claimed by this process: the lock lasts as long as the file stays open.
pub struct Claim {
    file: File,
}

impl LockDir {
    /// The directory `--lock-dir` names, or the shared default, created if needed (the /tmp
    /// one with the sticky bit and mode 1777, like /tmp itself).
    pub fn open(given: Option<&Path>) -> Result<Self, String> {
        let path = match given {
            Some(p) => p.to_path_buf(),
            None if Path::new(SYSTEM_DIR).is_dir() => PathBuf::from(SYSTEM_DIR),
            None => PathBuf::from(TMP_DIR),
        };
        if !path.is_dir() {
            std::fs::create_dir_all(&path)
                .map_err(|e| format!("cannot create the lock directory {}: {e}", path.display()))?;
            if given.is_none() {
                let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o1777));
            }
        }
        // SAFETY: access only reads the path.
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("bad lock directory {}", path.display()))?;
        if unsafe { libc::access(c_path.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
            return Err(format!(
                "cannot write to the lock directory {} (give every user of the GPUs write access, or pass --lock-dir)",
                path.display()
            ));
        }
        Ok(Self { path })
    }

    /// The directory as it is, for looking at claims only: nothing is created, and where
    /// there is no directory there are no claims.
    pub fn for_reading(given: Option<&Path>) -> Self {
        let path = match given {
            Some(p) => p.to_path_buf(),
            None if Path::new(SYSTEM_DIR).is_dir() => PathBuf::from(SYSTEM_DIR),
            None => PathBuf::from(TMP_DIR),
        };
        Self { path }
    }

    fn file_of(&self, gpu: &GpuSample) -> PathBuf {
        let name = match &gpu.uuid {
            Some(uuid) => uuid.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect(),
            None => format!("gpu{}", gpu.index),
        };
        self.path.join(format!("{name}.lock"))
    }

    /// Who claims `gpu` now, if anyone: "claimed by alice's gputop wait (pid 4242: python
    /// train.py)". A claim is seen by trying to share the lock for an instant: lookers never
    /// hide a GPU from each other.
    pub fn holder(&self, gpu: &GpuSample) -> Option<String> {
        let mut file = File::open(self.file_of(gpu)).ok()?;
        // SAFETY: flock on an open descriptor.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0 {
            return None; // closing the file releases it
        }
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        let field = |key: &str| {
            text.lines().find_map(|l| l.strip_prefix(key)).map(|v| sanitize(v.trim()).into_owned())
        };
        let who = field("user=").unwrap_or_else(|| "someone".into());
        let pid = field("pid=").unwrap_or_else(|| "?".into());
        let what = field("command=").unwrap_or_default();
        let what = crate::output::units::truncate(&what, 40, false).into_owned();
        Some(format!("claimed by {who}'s gputop wait (pid {pid}: {what})"))
    }

    /// Claims `gpu` for this process, recording who holds it; `None` when someone else does.
    pub fn claim(
        &self,
        gpu: &GpuSample,
        user: &str,
        command: &str,
    ) -> Result<Option<Claim>, String> {
        let path = self.file_of(gpu);
        let mut file = open_shared(&path)
            .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
        if !try_lock(&file) {
            return Ok(None);
        }
        // Any user may claim this GPU after us, whatever our umask.
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o666));
        let record = format!("pid={}\nuser={user}\ncommand={command}\n", std::process::id());
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = file.write_all(record.as_bytes());
        Ok(Some(Claim { file }))
    }
}

impl Claim {
    /// Keeps the claim open across `exec`, so the program started holds it for its lifetime.
    pub fn hand_over_on_exec(self) {
        let fd = self.file.as_raw_fd();
        // SAFETY: clears FD_CLOEXEC on a descriptor this claim owns.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
        std::mem::forget(self.file);
    }
}

/// Opens a lock file that any user may have made. In a world-writable sticky directory such
/// as /tmp, Linux refuses `O_CREAT` on a file another user owns (`fs.protected_regular`), so
/// an existing file is opened as it is and only a missing one is created.
fn open_shared(path: &Path) -> std::io::Result<File> {
    loop {
        match OpenOptions::new().read(true).write(true).open(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => return other,
        }
        match OpenOptions::new().read(true).write(true).create_new(true).mode(0o666).open(path) {
            // Made by someone else in between: open theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            other => return other,
        }
    }
}

fn try_lock(file: &File) -> bool {
    // SAFETY: flock on an open descriptor.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_seen_by_others_until_it_is_dropped() {
        let dir = std::env::temp_dir().join(format!("gputop-locks-test-{}", std::process::id()));
        let locks = LockDir::open(Some(&dir)).unwrap();
        let mut gpu = GpuSample::empty(0);
        gpu.uuid = Some("GPU-1234/../x".into());
        assert_eq!(locks.holder(&gpu), None);
        let claim = locks.claim(&gpu, "alice", "python train.py").unwrap().unwrap();
        // Another open file description (as another process has) cannot take it.
        assert!(locks.claim(&gpu, "bob", "x").unwrap().is_none());
        let holder = locks.holder(&gpu).unwrap();
        assert!(holder.contains("alice") && holder.contains("python train.py"), "{holder}");
        assert!(dir.join("GPU-1234x.lock").exists(), "the UUID is kept to a safe file name");
        drop(claim);
        assert_eq!(locks.holder(&gpu), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
