//! Claims on GPUs, so that two `gputop wait`s never start on the same GPU: an advisory `flock`
//! on a file per GPU UUID (PCI address for a GPU without one), in a directory every user of
//! the machine shares. The claim is held by the program `wait` starts (the locked file stays
//! open across `exec`) and ends with it, however it ends. Advisory: it coordinates gputop
//! users; a program started without gputop does not look at it (and is seen as a GPU process
//! instead).
//!
//! The directory is shared with every local user, some of whom may be hostile, and gputop is
//! often run as root. So:
//! - the directory is used only when it is a real directory (not a link) owned by root or by
//!   the user running gputop, and writable by nobody else unless it has the sticky bit;
//! - every file in it is reached relative to the directory's descriptor, never followed
//!   through a link, and opened only when it is a regular file with one name (not a FIFO, a
//!   device, a hard link to a file elsewhere);
//! - files are opened read-only (`flock` needs no write access), never written, truncated or
//!   chmod-ed, except a lock file this process has just created, made readable by all;
//! - the holder of a claim is found from the lock itself: the kernel's `/proc/locks` names the
//!   process holding it, and `/proc/PID` its user and command. Nothing is read from the lock
//!   file, so a planted file, however large, costs nothing, and nobody can forge a holder.
//!
//! A file another user planted can at worst keep that GPU from being claimed, reported as
//! "claimed by an unknown holder".

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::sample::GpuSample;
use crate::source::host::{self, stat, ProcDir};
use crate::text::sanitize::sanitize;

/// Where claims are kept when `--lock-dir` is not given: the system's runtime directory when
/// an administrator made it, else a world-writable directory in /tmp.
pub const SYSTEM_DIR: &str = "/run/gputop/locks";
pub const TMP_DIR: &str = "/tmp/gputop-locks";

/// The lock directory, opened and checked: every file is reached through this descriptor.
pub struct LockDir {
    path: PathBuf,
    /// `None` when there is no directory yet (looking only): then there are no claims.
    fd: Option<OwnedFd>,
}

/// A GPU claimed by this process: the lock lasts as long as the file stays open.
pub struct Claim {
    file: File,
}

/// What the lock file of a GPU is.
enum LockFile {
    /// No file: nobody has claimed the GPU since the directory was made.
    Absent,
    /// A lock file, open read-only.
    Usable(File),
    /// Something that must not be opened (a link, a FIFO, a device, a hard link): the GPU
    /// cannot be claimed through it.
    Planted(&'static str),
}

impl LockDir {
    /// The directory `--lock-dir` names, or the shared default, for claiming: created if
    /// needed (the /tmp one with the sticky bit and mode 1777, like /tmp itself), then checked.
    pub fn open(given: Option<&Path>) -> Result<Self, String> {
        // Root makes the system's directory, which every user then trusts; a user's default
        // in /tmp is trusted by that user alone.
        let path = match given {
            None if rustix::process::geteuid().is_root() => PathBuf::from(SYSTEM_DIR),
            _ => chosen(given),
        };
        let shared_default = given.is_none();
        let mut created = false;
        if !exists(&path) {
            let made = if shared_default {
                if let Some(parent) = path.parent() {
                    // /run/gputop: root's, 0755, made only when missing.
                    let _ = rustix::fs::mkdir(parent, Mode::from_raw_mode(0o755));
                }
                rustix::fs::mkdir(&path, Mode::from_raw_mode(0o1777)).map_err(std::io::Error::from)
            } else {
                std::fs::create_dir_all(&path)
            };
            match made {
                Ok(()) => created = true,
                // Made by someone else in between: checked below like any other.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(format!("cannot create the lock directory {}: {e}", path.display()))
                }
            }
        }
        let fd = open_dir(&path)?;
        if created && shared_default {
            // mkdir's mode went through the umask: every user must be able to claim here.
            // Only the directory this process made is changed, through its own descriptor.
            let stat = rustix::fs::fstat(&fd).map_err(|e| bad(&path, e))?;
            if stat.st_uid == rustix::process::geteuid().as_raw() {
                rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o1777)).map_err(|e| bad(&path, e))?;
            }
        }
        check_trusted(&path, &fd)?;
        if rustix::fs::accessat(
            &fd,
            ".",
            rustix::fs::Access::WRITE_OK,
            rustix::fs::AtFlags::EACCESS,
        )
        .is_err()
        {
            return Err(format!(
                "cannot write to the lock directory {} (give every user of the GPUs write access, or pass --lock-dir)",
                path.display()
            ));
        }
        Ok(Self { path, fd: Some(fd) })
    }

    /// The directory as it is, for looking at claims only: nothing is created, and where
    /// there is no directory there are no claims. A directory that fails the checks of
    /// [`LockDir::open`] is an error here too: its claims could be anyone's invention.
    pub fn for_reading(given: Option<&Path>) -> Result<Self, String> {
        let path = chosen(given);
        if !exists(&path) {
            return Ok(Self { path, fd: None });
        }
        let fd = open_dir(&path)?;
        check_trusted(&path, &fd)?;
        Ok(Self { path, fd: Some(fd) })
    }

    /// The lock file's name for `gpu`: its UUID kept to letters, digits and dashes; a GPU
    /// without one (an Intel GPU, a Radeon without amdgpu's `unique_id`) by its PCI address,
    /// which is as stable while the machine runs and the same for every user
    /// (`pci-0000-c1-00-0`); its index only when it has neither.
    fn name_of(gpu: &GpuSample) -> String {
        let safe = |id: &str| -> String {
            id.chars()
                .map(|c| if c == ':' || c == '.' { '-' } else { c.to_ascii_lowercase() })
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect()
        };
        let name: String = match (&gpu.uuid, &gpu.pci_bus_id) {
            (Some(uuid), _) => {
                uuid.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect()
            }
            (None, Some(bus)) => format!("pci-{}", safe(bus)),
            (None, None) => format!("gpu{}", gpu.index),
        };
        format!("{name}.lock")
    }

    /// Who claims `gpu` now, if anyone: "claimed by alice (pid 4242: python train.py)". A claim is seen by trying to share the lock for an instant: lookers never
    /// hide a GPU from each other.
    pub fn holder(&self, gpu: &GpuSample) -> Option<String> {
        let dir = self.fd.as_ref()?;
        let file = match open_lock_file(dir, &Self::name_of(gpu)) {
            LockFile::Absent => return None,
            LockFile::Planted(what) => return Some(unknown_holder(what)),
            LockFile::Usable(file) => file,
        };
        if rustix::fs::flock(&file, FlockOperation::NonBlockingLockShared).is_ok() {
            return None; // closing the file releases it
        }
        Some(describe_holder(&file))
    }

    /// Claims `gpu` for this process; `None` when someone else holds it, or when a file
    /// planted in its place keeps it from being claimed.
    pub fn claim(&self, gpu: &GpuSample) -> Result<Option<Claim>, String> {
        let Some(dir) = self.fd.as_ref() else {
            return Err(format!("no lock directory at {}", self.path.display()));
        };
        let name = Self::name_of(gpu);
        let file = match create_lock_file(dir, &name) {
            Ok(Some(file)) => file,
            Ok(None) => match open_lock_file(dir, &name) {
                LockFile::Usable(file) => file,
                LockFile::Planted(_) => return Ok(None),
                // Removed in between (by its owner): try again next round.
                LockFile::Absent => return Ok(None),
            },
            Err(e) => {
                return Err(format!(
                    "cannot create the lock file {}: {e}",
                    self.path.join(&name).display()
                ))
            }
        };
        if rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            return Ok(None);
        }
        Ok(Some(Claim { file }))
    }
}

impl Claim {
    /// Keeps the claim open across `exec`, so the program started holds it for its lifetime.
    pub fn hand_over_on_exec(self) -> Result<(), String> {
        let fd = OwnedFd::from(self.file);
        rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::empty())
            .map_err(|e| format!("cannot hand the GPU's claim to the command: {e}"))?;
        std::mem::forget(fd);
        Ok(())
    }
}

fn chosen(given: Option<&Path>) -> PathBuf {
    match given {
        Some(p) => p.to_path_buf(),
        None if is_real_dir(Path::new(SYSTEM_DIR)) => PathBuf::from(SYSTEM_DIR),
        None => PathBuf::from(TMP_DIR),
    }
}

/// Whether anything (a link too, even a dangling one) has that name.
fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

fn bad(path: &Path, e: Errno) -> String {
    format!("cannot use the lock directory {}: {}", path.display(), std::io::Error::from(e))
}

/// The directory itself, never through a link in its last component.
fn open_dir(path: &Path) -> Result<OwnedFd, String> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::open(path, flags, Mode::empty()).map_err(|e| match e {
        Errno::NOTDIR if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) => format!(
            "refusing the lock directory {}: it is a symbolic link (pass --lock-dir with the real directory)",
            path.display()
        ),
        Errno::NOTDIR => {
            format!("refusing the lock directory {}: it is not a directory", path.display())
        }
        e => bad(path, e),
    })
}

/// A directory other users cannot turn against us: owned by root or by us, and writable by
/// nobody else unless the sticky bit keeps each user to their own files.
fn check_trusted(path: &Path, fd: &OwnedFd) -> Result<(), String> {
    let stat = rustix::fs::fstat(fd).map_err(|e| bad(path, e))?;
    let me = rustix::process::geteuid().as_raw();
    let fix = "pass --lock-dir with a directory of your own, or ask an administrator to create \
               /run/gputop/locks (owned by root, mode 1777)";
    if stat.st_uid != 0 && stat.st_uid != me {
        let uid = stat.st_uid;
        let name = host::user_name(uid);
        let owner = if name == uid.to_string() {
            format!("UID {uid}")
        } else {
            format!("{} (UID {uid})", sanitize(&name))
        };
        return Err(format!(
            "refusing the lock directory {}: it belongs to {owner}, not to root or to you, who \
             could plant files in it: {fix}",
            path.display(),
        ));
    }
    let mode = stat.st_mode;
    let others_write = mode & 0o022 != 0;
    let sticky = mode & 0o1000 != 0;
    if others_write && !sticky {
        return Err(format!(
            "refusing the lock directory {}: its mode {:04o} lets other users replace any lock \
             file in it; add the sticky bit (chmod +t), or {fix}",
            path.display(),
            mode & 0o7777
        ));
    }
    Ok(())
}

/// Creates the lock file, if there is none: `Ok(None)` when a file (or anything else) by that
/// name exists already. A file just made here is made readable by all, whatever our umask,
/// so that every user can lock it later.
fn create_lock_file(dir: &OwnedFd, name: &str) -> Result<Option<File>, std::io::Error> {
    let flags = OFlags::RDONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o644)) {
        Ok(fd) => {
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o644))?;
            Ok(Some(File::from(fd)))
        }
        Err(Errno::EXIST) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Opens an existing lock file read-only, when it is one: a regular file with a single name.
/// It is first opened as a path (which opens nothing: a FIFO does not block, a device is not
/// touched), checked, and only then opened for reading through that same descriptor.
fn open_lock_file(dir: &OwnedFd, name: &str) -> LockFile {
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let path_fd = match rustix::fs::openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return LockFile::Absent,
        Err(_) => return LockFile::Planted("its lock file cannot be opened"),
    };
    let Ok(stat) = rustix::fs::fstat(&path_fd) else {
        return LockFile::Planted("its lock file cannot be examined");
    };
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile if stat.st_nlink == 1 => {}
        FileType::RegularFile => return LockFile::Planted("its lock file is a hard link"),
        FileType::Symlink => return LockFile::Planted("its lock file is a symbolic link"),
        _ => return LockFile::Planted("its lock file is not a regular file"),
    }
    let reopen = format!("/proc/self/fd/{}", path_fd.as_fd().as_raw_fd());
    let flags = OFlags::RDONLY | OFlags::NOCTTY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    match rustix::fs::open(reopen.as_str(), flags, Mode::empty()) {
        Ok(fd) => LockFile::Usable(File::from(fd)),
        Err(_) => LockFile::Planted("its lock file cannot be read"),
    }
}

fn unknown_holder(why: &str) -> String {
    format!("claimed by an unknown holder ({why})")
}

/// "claimed by alice (pid 4242: python train.py)", from the kernel's record of who holds the
/// lock on `file`: the program `wait` became, or whoever else locked the file.
fn describe_holder(file: &File) -> String {
    let Ok(stat) = rustix::fs::fstat(file) else {
        return unknown_holder("the lock file cannot be examined");
    };
    let Some(pid) = locker_of(stat.st_dev, stat.st_ino) else {
        return unknown_holder("the kernel does not say who holds the lock");
    };
    let Some(dir) = ProcDir::of_pid(pid) else {
        return unknown_holder(&format!("pid {pid}, no longer running"));
    };
    let user = dir
        .read("status")
        .and_then(|s| stat::real_uid(&String::from_utf8_lossy(&s)))
        .map(host::user_name)
        .unwrap_or_else(|| "someone".into());
    let command = dir.read("cmdline").and_then(|raw| stat::command_line(&raw)).unwrap_or_default();
    let command = crate::text::units::truncate(&command, 40, false).into_owned();
    format!("claimed by {} (pid {pid}: {})", sanitize(&user), sanitize(&command))
}

/// The PID `/proc/locks` gives for the `flock` on the file `dev`:`ino`, as seen from this
/// PID namespace. Its lines read `1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF`, the
/// device in hex, the inode in decimal.
fn locker_of(dev: u64, ino: u64) -> Option<u32> {
    let file = File::open("/proc/locks").ok()?;
    let (major, minor) = (rustix::fs::major(dev), rustix::fs::minor(dev));
    let wanted = format!("{major:02x}:{minor:02x}:{ino}");
    // A user can hold many locks; the table is read line by line, up to a bound.
    let reader = BufReader::new(file.take(64 << 20));
    reader.lines().map_while(Result::ok).find_map(|line| {
        let mut fields = line.split_whitespace().skip(1);
        let (kind, _, _, pid, id) =
            (fields.next()?, fields.next()?, fields.next()?, fields.next()?, fields.next()?);
        (kind == "FLOCK" && id == wanted).then(|| pid.parse().ok()).flatten().filter(|&p| p > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu(uuid: &str) -> GpuSample {
        let mut gpu = GpuSample::empty(0);
        gpu.uuid = Some(uuid.into());
        gpu
    }

    #[test]
    fn a_claim_is_seen_by_others_until_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let locks = LockDir::open(Some(dir.path())).unwrap();
        let gpu = gpu("GPU-1234/../x");
        assert_eq!(locks.holder(&gpu), None);
        let claim = locks.claim(&gpu).unwrap().unwrap();
        // Another open file description (as another process has) cannot take it.
        assert!(locks.claim(&gpu).unwrap().is_none());
        let holder = locks.holder(&gpu).unwrap();
        let me = format!("(pid {}: ", std::process::id());
        assert!(holder.starts_with("claimed by ") && holder.contains(&me), "{holder}");
        let file = dir.path().join("GPU-1234x.lock");
        assert!(file.exists(), "the UUID is kept to a safe file name");
        drop(claim);
        assert_eq!(locks.holder(&gpu), None);
        // Readable by all, so that others can lock it; written by nobody.
        let meta = std::fs::metadata(&file).unwrap();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777, 0o644);
        assert_eq!(meta.len(), 0);
    }

    #[test]
    fn a_gpu_without_a_uuid_is_claimed_by_its_pci_address() {
        let dir = tempfile::tempdir().unwrap();
        let locks = LockDir::open(Some(dir.path())).unwrap();
        let intel = |index: u32, bus: &str| {
            let mut gpu = GpuSample::empty(index);
            gpu.pci_bus_id = Some(bus.into());
            gpu
        };
        let (a, b) = (intel(5, "0000:E1:00.0"), intel(5, "0000:e2:00.0"));
        let claim = locks.claim(&a).unwrap().unwrap();
        assert!(dir.path().join("pci-0000-e1-00-0.lock").exists());
        // The same GPU numbered otherwise (another --id, another NVML count) is still held;
        // another GPU of the same index is not.
        assert!(locks.claim(&intel(7, "0000:e1:00.0")).unwrap().is_none());
        assert!(locks.holder(&intel(7, "0000:e1:00.0")).is_some());
        assert_eq!(locks.holder(&b), None);
        assert!(locks.claim(&b).unwrap().is_some());
        drop(claim);
    }

    #[test]
    fn a_directory_others_may_write_without_the_sticky_bit_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = LockDir::open(Some(dir.path())).err().unwrap();
        assert!(err.contains("mode 0777") && err.contains("sticky"), "{err}");
        assert!(LockDir::for_reading(Some(dir.path())).is_err());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(LockDir::open(Some(dir.path())).is_ok());
    }

    #[test]
    fn a_link_in_place_of_the_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = LockDir::open(Some(&link)).err().unwrap();
        assert!(err.contains("symbolic link"), "{err}");
    }

    #[test]
    fn planted_links_and_fifos_deny_the_gpu_and_are_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let locks = LockDir::open(Some(dir.path())).unwrap();
        let canary = dir.path().join("canary");
        std::fs::write(&canary, "keep").unwrap();
        std::os::unix::fs::symlink(&canary, dir.path().join("GPU-a.lock")).unwrap();
        std::fs::hard_link(&canary, dir.path().join("GPU-b.lock")).unwrap();
        let fifo = std::ffi::CString::new(dir.path().join("GPU-c.lock").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o666) }, 0);
        for (uuid, what) in
            [("GPU-a", "symbolic link"), ("GPU-b", "hard link"), ("GPU-c", "not a regular file")]
        {
            let holder = locks.holder(&gpu(uuid)).unwrap();
            assert!(holder.contains("unknown holder") && holder.contains(what), "{holder}");
            assert!(locks.claim(&gpu(uuid)).unwrap().is_none(), "{uuid}");
        }
        assert_eq!(std::fs::read_to_string(&canary).unwrap(), "keep");
    }
}
