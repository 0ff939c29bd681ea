//! The one layer through which `gputop doctor` reads the machine: files under a root directory
//! (`/`, or a test's tree), the environment, the user's identity and the commands it runs. Every path, including those taken from environment variables, is
//! resolved under the root.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::command::{self, Output};

pub struct System {
    root: PathBuf,
    env: BTreeMap<String, String>,
    uid: u32,
    gids: Vec<u32>,
    /// The directory doctor was started in, as a path on the machine; `None` when unknown (it
    /// was removed, or a test's machine says none).
    cwd: Option<PathBuf>,
    /// This is the machine doctor runs on, as the user it runs as: the kernel (access(2)) and
    /// the dynamic loader answer for it. A test's tree is judged from its files alone.
    live: bool,
}

impl System {
    /// The machine gputop runs on, as the user it runs as.
    pub fn local() -> Self {
        // SAFETY: geteuid/getgroups/getegid have no preconditions; the buffer is sized by the
        // first call.
        let (uid, gids) = unsafe {
            let n = libc::getgroups(0, std::ptr::null_mut()).max(0) as usize;
            let mut gids = vec![0; n];
            let got = libc::getgroups(n as i32, gids.as_mut_ptr()).max(0) as usize;
            gids.truncate(got);
            gids.push(libc::getegid());
            (libc::geteuid(), gids)
        };
        let mut sys = Self::with(PathBuf::from("/"), std::env::vars().collect(), uid, gids)
            .in_dir(std::env::current_dir().ok());
        sys.live = true;
        sys
    }

    /// A tree standing in for `/`, with its environment and user (a test's machine).
    pub fn with(root: PathBuf, env: BTreeMap<String, String>, uid: u32, gids: Vec<u32>) -> Self {
        Self { root, env, uid, gids, cwd: None, live: false }
    }

    /// The same machine, doctor started in `dir` (a path on the machine).
    pub fn in_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.cwd = dir;
        self
    }

    /// The directory doctor was started in, as a path on the machine.
    pub fn cwd(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }

    /// `path` (absolute, as on the machine) under the root.
    pub fn path(&self, path: impl AsRef<Path>) -> PathBuf {
        let p = path.as_ref();
        self.root.join(p.strip_prefix("/").unwrap_or(p))
    }

    /// `path` under the root with links resolved, to tell when two paths are one directory.
    pub fn canonical(&self, path: impl AsRef<Path>) -> PathBuf {
        let p = self.path(path);
        std::fs::canonicalize(&p).unwrap_or(p)
    }

    pub fn read(&self, path: impl AsRef<Path>) -> Option<String> {
        std::fs::read_to_string(self.path(path)).ok()
    }

    pub fn exists(&self, path: impl AsRef<Path>) -> bool {
        self.path(path).exists()
    }

    /// Entry names of a directory, sorted; empty when it cannot be read.
    pub fn list(&self, path: impl AsRef<Path>) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path(path))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    pub fn var(&self, key: &str) -> Option<&str> {
        self.env.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A variable as set, empty or not.
    pub fn raw_var(&self, key: &str) -> Option<&str> {
        self.env.get(key).map(String::as_str)
    }

    /// Entries of a `:`-separated variable such as `PATH`.
    pub fn var_list(&self, key: &str) -> Vec<String> {
        self.var(key)
            .map(|v| v.split(':').filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Whether this is the machine doctor runs on, as its own user (not a test's tree).
    pub fn is_live(&self) -> bool {
        self.live
    }

    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// Whether the user diagnosing is in group `gid` in this session (a group added since the
    /// login began is not, until the next login).
    pub fn in_group(&self, gid: u32) -> bool {
        self.gids.contains(&gid)
    }

    /// Whether this user may open `path` for reading and writing; `None` when it does not
    /// exist. On the live machine the kernel says (access(2) with the effective IDs, so ACLs
    /// such as logind's on render nodes count; nothing is opened); on a test's tree, the mode
    /// and owner do, as the kernel decides for device nodes without ACLs.
    pub fn can_read_write(&self, path: impl AsRef<Path>) -> Option<bool> {
        let path = self.path(path);
        let meta = std::fs::metadata(&path).ok()?;
        if self.live {
            use rustix::fs::{accessat, Access, AtFlags, CWD};
            let wanted = Access::READ_OK | Access::WRITE_OK;
            return Some(accessat(CWD, &path, wanted, AtFlags::EACCESS).is_ok());
        }
        if self.uid == 0 {
            return Some(true);
        }
        let mode = meta.mode();
        let bits = if meta.uid() == self.uid {
            mode >> 6
        } else if self.gids.contains(&meta.gid()) {
            mode >> 3
        } else {
            mode
        };
        Some(bits & 0o6 == 0o6)
    }

    /// The group and permission bits of `path` (links followed); `None` when it does not exist.
    pub fn group_and_mode(&self, path: impl AsRef<Path>) -> Option<(u32, u32)> {
        let meta = std::fs::metadata(self.path(path)).ok()?;
        Some((meta.gid(), meta.mode() & 0o7777))
    }

    /// Loads a shared library with the dynamic loader, as a program would, and unloads it:
    /// `library` is a path on the machine, or a bare soname the loader searches for (only on the
    /// live machine: a test's tree has no loader cache). `Err` with the loader's message.
    pub fn load_library(&self, library: &str) -> Result<(), String> {
        let target = if library.contains('/') {
            self.path(library)
        } else if self.live {
            PathBuf::from(library)
        } else {
            return Err(format!("{library}: not found"));
        };
        let name = std::ffi::CString::new(target.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("{library}: a path with a NUL byte"))?;
        // SAFETY: dlopen reads a NUL-terminated string; a handle it returns is closed once;
        // dlerror's message is copied before any other loader call.
        unsafe {
            let handle = libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
            if handle.is_null() {
                let err = libc::dlerror();
                return Err(if err.is_null() {
                    format!("{library}: cannot be loaded")
                } else {
                    std::ffi::CStr::from_ptr(err).to_string_lossy().into_owned()
                });
            }
            libc::dlclose(handle);
        }
        Ok(())
    }

    /// The first `name` on `PATH`, as a path on the machine (not under the root). Relative
    /// entries (`.`) are passed over: they would name a program in whatever directory doctor
    /// happens to run in.
    pub fn which(&self, name: &str) -> Option<String> {
        self.var_list("PATH")
            .into_iter()
            .filter(|dir| dir.starts_with('/'))
            .map(|dir| format!("{}/{name}", dir.trim_end_matches('/')))
            .find(|p| self.path(p).is_file())
    }

    /// Runs a program (a path on the machine) with `env` added to the environment and a time
    /// limit, from a neutral directory (see [`command`]); `Err` with what happened when it
    /// cannot start or runs out of time.
    pub fn run(
        &self,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        limit: Duration,
    ) -> Result<Output, String> {
        command::run(&self.path(program), args, env, limit).map_err(|e| format!("{program} {e}"))
    }
}
