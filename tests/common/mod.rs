//! Shared by the integration tests: the fake NVML library (built on first use, however the
//! tests are started), scenario files, real processes to put on the fake GPUs, and a
//! `gputop` command wired to all of it.

#![allow(dead_code)] // each test binary uses its own part of this

pub mod pty;
pub mod tmux;

use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::OnceLock;

use assert_cmd::Command;
use tempfile::{NamedTempFile, TempDir};

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Builds `tests/fake-nvml` once per test process and returns the path of the library.
///
/// It builds into its own target directory: the outer `cargo test` may still hold the lock on
/// the main one. Concurrent test processes (nextest) wait on each other through cargo's lock.
pub fn fake_nvml() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let target = Path::new(ROOT).join("target/fake-nvml");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = StdCommand::new(cargo)
            .args(["build", "--quiet", "-p", "fake-nvml", "--manifest-path"])
            .arg(Path::new(ROOT).join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("run cargo to build the fake NVML library");
        assert!(status.success(), "building tests/fake-nvml failed");
        target.join("debug/libfake_nvml.so")
    })
}

/// A directory holding the fake library as `libnvidia-ml.so.1`, for `LD_LIBRARY_PATH` loading.
pub fn fake_nvml_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(ROOT).join(format!("target/fake-nvml/lib-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("libnvidia-ml.so.1");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(fake_nvml(), &link).unwrap();
        dir
    })
}

pub fn scenario_file(toml: &str) -> NamedTempFile {
    let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(file.path(), toml).unwrap();
    file
}

/// `gputop` loading the fake library with `scenario`, in a fixed, colourless environment.
pub fn gputop(scenario: &NamedTempFile) -> Command {
    Command::from_std(gputop_std(scenario))
}

/// [`gputop`] as a plain `std` command, for tests that manage the child themselves.
pub fn gputop_std(scenario: &NamedTempFile) -> StdCommand {
    let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("gputop"));
    cmd.env("GPUTOP_NVML_LIB", fake_nvml())
        .env("GPUTOP_FAKE_NVML_SCENARIO", scenario.path())
        .env("GPUTOP_FAKE_NVML_TIME", "1000")
        .env("LC_ALL", "C.UTF-8")
        .env("TZ", "UTC")
        .env_remove("NO_COLOR")
        .env_remove("GPUTOP_INTERVAL");
    cmd
}

/// A real process (so the host lookup finds it) that is killed when dropped.
pub struct Sleeper(pub Child);

impl Sleeper {
    pub fn spawn() -> Self {
        Self::with_argv0("sleep")
    }

    /// `sleep 600` whose argv[0] (and so its command line) is `argv0`.
    pub fn with_argv0(argv0: &str) -> Self {
        use std::os::unix::process::CommandExt;
        let child =
            StdCommand::new("sleep").arg0(argv0).arg("600").stdin(Stdio::null()).spawn().unwrap();
        Self(child)
    }

    /// `sleep 600` run as user `uid` (group `uid` too); `None` where this user may not (not root).
    pub fn as_user(uid: u32) -> Option<Self> {
        use std::os::unix::process::CommandExt;
        let mut cmd = StdCommand::new("sleep");
        cmd.arg("600").stdin(Stdio::null()).uid(uid).gid(uid);
        cmd.spawn().ok().map(Self)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether a test can run `tool` (with `args`, which must succeed). In CI (`CI=true`) a missing
/// tool fails the test with what to install; elsewhere the test is skipped with a visible
/// `SKIPPED:` line on stderr.
pub fn have(tool: &str, args: &[&str], install: &str) -> bool {
    let ok = StdCommand::new(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok || skipped(&format!("{tool} is missing: {install}"))
}

/// Whether this runs in the host's PID namespace, where gputop shows NVML's PIDs as they are.
/// In a container it marks PIDs it cannot find as outside, and output made for the host
/// differs: such a test is skipped there, as [`have`] skips.
pub fn in_host_pid_namespace() -> bool {
    let ns = std::fs::read_link("/proc/self/ns/pid").unwrap_or_default();
    ns.to_string_lossy() == "pid:[4026531836]"
        || skipped("not in the host's PID namespace (a container): run on the host or a VM")
}

/// Says why a test cannot run: a panic in CI, a `SKIPPED:` line elsewhere. Always `false`.
pub fn skipped(why: &str) -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why} (CI must run every test)");
    }
    let line = format!("SKIPPED: {} ({why})\n", std::thread::current().name().unwrap_or("test"));
    // Straight to fd 2, past the test harness's capture, so it shows without --nocapture.
    // SAFETY: write(2) reads `line.len()` bytes from a live buffer.
    unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
    false
}

pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "gputop failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

pub fn temp_dir() -> TempDir {
    tempfile::tempdir().unwrap()
}

/// Starts `gputop serve` on a free loopback port with `scenario` and `args`; returns the child
/// and its `host:port`, read from the line it prints once listening.
pub fn spawn_serve(scenario: &NamedTempFile, args: &[&std::ffi::OsStr]) -> (Child, String) {
    spawn_serve_from(gputop_std(scenario), args)
}

/// [`spawn_serve`] from a command set up by the test (its environment, say).
pub fn spawn_serve_from(mut gputop: StdCommand, args: &[&std::ffi::OsStr]) -> (Child, String) {
    use std::io::BufRead;
    let mut child = gputop
        .args(["serve", "--listen", "127.0.0.1:0", "--interval", "0.2"])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let addr =
        line.trim().rsplit("http://").next().unwrap().trim_end_matches("/metrics").to_string();
    (child, addr)
}
