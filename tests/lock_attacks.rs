//! The lock directory of `select` and `wait` under attack, mounted for real: root runs gputop
//! against directories, links, FIFOs and lock files that `nobody` owns and planted, and a
//! canary file root owns must keep its mode and contents. Runs as root (as CI does): the
//! attacks need `chown`.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use common::*;

const NOBODY: u32 = 65534;
const UUIDS: [&str; 3] = [
    "GPU-00000000-aaaa-bbbb-cccc-000000000000",
    "GPU-11111111-aaaa-bbbb-cccc-111111111111",
    "GPU-22222222-aaaa-bbbb-cccc-222222222222",
];

/// Three idle GPUs.
fn machine() -> String {
    UUIDS
        .iter()
        .map(|u| format!("[[gpus]]\nname = \"G\"\nuuid = \"{u}\"\nutilization_gpu = 0\n"))
        .collect()
}

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    (unsafe { libc::geteuid() } == 0) || skipped("not root: the attacks chown files to nobody")
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A file root owns, mode 0600, that no attack may change.
struct Canary(PathBuf);

impl Canary {
    fn new(dir: &Path) -> Self {
        let path = dir.join("shadow");
        std::fs::write(&path, "root:secret\n").unwrap();
        chmod(&path, 0o600);
        Self(path)
    }

    fn assert_untouched(&self) {
        let meta = std::fs::metadata(&self.0).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o600, "the canary's mode changed");
        assert_eq!(meta.uid(), 0, "the canary's owner changed");
        assert_eq!(std::fs::read_to_string(&self.0).unwrap(), "root:secret\n");
    }
}

fn lock_file(dir: &Path, gpu: usize) -> PathBuf {
    dir.join(format!("{}.lock", UUIDS[gpu]))
}

/// (exit code, stderr) of a command that must finish within `limit`.
fn finishes(mut cmd: StdCommand, limit: Duration) -> (i32, String) {
    let started = Instant::now();
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status.code().unwrap_or(-1), err);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}: blocked by the planted files");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_directory_another_user_owns_is_refused_with_the_fix() {
    if !root() {
        return;
    }
    let scenario = scenario_file(&machine());
    let parent = temp_dir();
    let dir = parent.path().join("locks");
    std::fs::create_dir(&dir).unwrap();
    chown(&dir, NOBODY);
    chmod(&dir, 0o1777);
    let canary = Canary::new(parent.path());
    std::os::unix::fs::symlink(&canary.0, lock_file(&dir, 0)).unwrap();
    for sub in [&["wait", "--stable", "0", "--lock-dir"][..], &["select", "--lock-dir"]] {
        let mut cmd = gputop_std(&scenario);
        cmd.args(sub).arg(&dir);
        if sub[0] == "wait" {
            cmd.args(["--", "true"]);
        }
        let (code, err) = finishes(cmd, Duration::from_secs(10));
        assert_eq!(code, 2, "{sub:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(dir.to_str().unwrap()) && err.contains("UID 65534"), "{err}");
        assert!(err.contains("--lock-dir") && err.contains("/run/gputop/locks"), "{err}");
    }
    canary.assert_untouched();
}

#[test]
fn a_directory_others_can_write_without_the_sticky_bit_is_refused() {
    if !root() {
        return;
    }
    let scenario = scenario_file(&machine());
    let dir = temp_dir();
    chmod(dir.path(), 0o777);
    let mut cmd = gputop_std(&scenario);
    cmd.args(["wait", "--stable", "0", "--lock-dir"]).arg(dir.path()).args(["--", "true"]);
    let (code, err) = finishes(cmd, Duration::from_secs(10));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("mode 0777") && err.contains("sticky"), "{err}");
}

/// Links, a hard link and a FIFO planted in a directory everyone may write to (root's, sticky,
/// like /tmp): each denies its GPU and nothing more. Nothing blocks, the canary is untouched.
#[test]
fn planted_links_fifos_and_hard_links_deny_a_gpu_and_touch_nothing() {
    if !root() {
        return;
    }
    let scenario = scenario_file(&machine());
    let dir = temp_dir();
    chmod(dir.path(), 0o1777);
    // The canary sits in the same file system, so a hard link to it can be made.
    let canary = Canary::new(dir.path());
    let link = lock_file(dir.path(), 0);
    std::os::unix::fs::symlink(&canary.0, &link).unwrap();
    chown(&link, NOBODY);
    let fifo = std::ffi::CString::new(lock_file(dir.path(), 1).to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o666) }, 0);
    chown(&lock_file(dir.path(), 1), NOBODY);
    std::fs::hard_link(&canary.0, lock_file(dir.path(), 2)).unwrap();

    let mut select = gputop_std(&scenario);
    select.args(["select", "--lock-dir"]).arg(dir.path());
    let (code, err) = finishes(select, Duration::from_secs(10));
    assert_eq!(code, 1, "no GPU is free: {err}");
    for (gpu, what) in [(0, "symbolic link"), (1, "not a regular file"), (2, "hard link")] {
        let said = format!("GPU {gpu} claimed by an unknown holder (its lock file is ");
        assert!(err.contains(&said) && err.contains(what), "GPU {gpu}: {err}");
    }

    let mut wait = gputop_std(&scenario);
    wait.args(["--interval", "0.2", "wait", "--stable", "0", "--timeout", "1s", "--lock-dir"])
        .arg(dir.path())
        .args(["--", "true"]);
    let (code, err) = finishes(wait, Duration::from_secs(10));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("gave up after"), "{err}");
    canary.assert_untouched();
    let fifo_meta = std::fs::symlink_metadata(lock_file(dir.path(), 1)).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&fifo_meta.file_type()));
}

/// The default directory, planted in a fresh /tmp (a tmpfs in a private mount namespace, /run
/// too) before a user's first `wait`: refused. When nobody planted it, the user's `wait` makes
/// it, mode 1777. Root never uses /tmp: it makes /run/gputop/locks, which every user trusts.
#[test]
fn a_planted_default_directory_in_tmp_is_refused() {
    if !root() || !have("unshare", &["--version"], "apt-get install util-linux") {
        return;
    }
    const VICTIM: u32 = 4242;
    // Everything the run needs lives outside the /tmp it hides, readable by the victim.
    let work = tempfile::Builder::new().tempdir_in(Path::new(ROOT).join("target")).unwrap();
    chmod(work.path(), 0o755);
    let scenario = work.path().join("machine.toml");
    std::fs::write(&scenario, machine()).unwrap();
    chmod(&scenario, 0o644);
    // The victim's own file: the planted link points at it.
    let canary = Canary::new(work.path());
    chown(&canary.0, VICTIM);
    let run = |setup: &str, as_victim: bool| {
        let who = if as_victim {
            format!("setpriv --reuid={VICTIM} --regid={VICTIM} --clear-groups")
        } else {
            String::new()
        };
        let script = format!(
            "mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /run || exit 99\n{setup}\n\
             {who} \"$GPUTOP\" wait --stable 0 -n 3 -- sh -c \
             'stat -c %a:%u /tmp/gputop-locks 2>/dev/null; stat -c %a:%u /run/gputop/locks 2>/dev/null; true'"
        );
        let mut cmd = StdCommand::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .env("GPUTOP", assert_cmd::cargo::cargo_bin("gputop"))
            .env("GPUTOP_NVML_LIB", fake_nvml())
            .env("GPUTOP_FAKE_NVML_SCENARIO", &scenario)
            .env("GPUTOP_FAKE_NVML_TIME", "1000")
            .env("CANARY", &canary.0)
            .env("HOME", "/nonexistent")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CUDA_VISIBLE_DEVICES");
        let out = cmd.output().unwrap();
        assert_ne!(out.status.code(), Some(99), "cannot mount a tmpfs");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
    };
    // Nobody's directory, with a link to the victim's file where GPU 0's lock goes.
    let plant = format!(
        "mkdir -m 1777 /tmp/gputop-locks && ln -s \"$CANARY\" /tmp/gputop-locks/{}.lock && \
         chown -h {NOBODY}:{NOBODY} /tmp/gputop-locks /tmp/gputop-locks/*",
        UUIDS[0]
    );
    let (code, _, err) = run(&plant, true);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/tmp/gputop-locks") && err.contains("UID 65534"), "{err}");
    let meta = std::fs::metadata(&canary.0).unwrap();
    assert_eq!((meta.mode() & 0o7777, meta.uid()), (0o600, VICTIM), "the victim's file changed");
    assert_eq!(std::fs::read_to_string(&canary.0).unwrap(), "root:secret\n");
    // A link to the default directory is not followed either.
    let (code, _, err) =
        run("mkdir /tmp/elsewhere && ln -s /tmp/elsewhere /tmp/gputop-locks", true);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    // Not planted: made with the sticky bit, for every user, whatever the umask.
    let (code, out, err) = run("umask 077", true);
    assert_eq!((code, out.as_str()), (0, format!("1777:{VICTIM}\n").as_str()), "{err}");
    // Root ignores the planted /tmp one and makes the system's directory.
    let (code, out, err) = run(&format!("{plant}; umask 077"), false);
    assert_eq!((code, out.as_str()), (0, "1777:65534\n1777:0\n"), "{err}");
}

/// A huge lock file someone holds costs `select` nothing: the holder comes from the kernel,
/// nothing is read from the file.
#[test]
fn a_huge_held_lock_file_costs_select_nothing_more() {
    if !root() || !have("flock", &["--version"], "apt-get install util-linux") {
        return;
    }
    let scenario = scenario_file(&machine());
    let dir = temp_dir();
    chmod(dir.path(), 0o1777);
    let huge = lock_file(dir.path(), 0);
    let normal = lock_file(dir.path(), 1);
    for (file, size) in [(&huge, 4u64 << 30), (&normal, 0)] {
        let f = std::fs::File::create(file).unwrap();
        f.set_len(size).unwrap();
        chown(file, NOBODY);
        chmod(file, 0o644);
    }
    // Held by nobody, as a hostile user would hold them.
    let hold = |file: &Path| {
        let mut cmd = StdCommand::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "flock", "-x"])
            .arg(file)
            .args(["sleep", "60"]);
        // In a group of its own: flock's child (sleep) holds the lock too, and goes with it.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        KillOnDrop(cmd.stdin(Stdio::null()).spawn().unwrap())
    };
    let _held = (hold(&huge), hold(&normal));
    // Peak memory of `select` looking at one held lock file.
    let peak_kib = |exclude: &str| {
        let started = Instant::now();
        loop {
            let mut cmd = gputop_std(&scenario);
            cmd.args(["select", "--exclude", exclude, "--lock-dir"]).arg(dir.path());
            let (code, err, rss) = run_measured(cmd);
            if err.contains("claimed by nobody (pid ") {
                assert_eq!(code, 1, "{err}");
                return rss;
            }
            // flock has not taken the lock yet.
            assert!(started.elapsed() < Duration::from_secs(10), "never held: {err}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let (with_huge, with_normal) = (peak_kib("1,2"), peak_kib("0,2"));
    assert!(
        with_huge <= with_normal + 1024,
        "select's peak with a 4 GiB lock file: {with_huge} KiB, with an empty one: {with_normal} KiB"
    );
}

struct KillOnDrop(std::process::Child);

/// A child leading a process group of its own: the whole group is killed when dropped.
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: killpg on the group our own child leads.
        unsafe { libc::killpg(self.0.id() as libc::pid_t, libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

/// (exit code, stderr, peak RSS in KiB) of `cmd`, from the kernel's accounting of the child.
fn run_measured(mut cmd: StdCommand) -> (i32, String, i64) {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.take().unwrap();
    let output = std::thread::spawn(move || {
        let mut err = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
        err
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, writing into live locals.
    assert_eq!(unsafe { libc::wait4(pid, &mut status, 0, &mut usage) }, pid);
    let err = output.join().unwrap();
    // Reaped by wait4 above: `child` only forgets it.
    std::mem::forget(child);
    (libc::WEXITSTATUS(status), err, usage.ru_maxrss)
}

/// `record --out` into a directory others can write to: a link planted as the recording or
/// as its lock file is refused, and what it points to is untouched.
#[test]
fn links_planted_for_a_recording_and_its_lock_are_refused() {
    if !root() {
        return;
    }
    let scenario = scenario_file(&machine());
    let dir = temp_dir();
    chmod(dir.path(), 0o1777);
    let canary = Canary::new(dir.path());
    // An empty file of root's: SQLite would happily make it a database.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    for (planted, target) in [("a.db", &empty), ("b.db.lock", &canary.0)] {
        let link = dir.path().join(planted);
        std::os::unix::fs::symlink(target, &link).unwrap();
        chown(&link, NOBODY);
        let out_path = dir.path().join(planted.split('.').next().unwrap()).with_extension("db");
        let mut cmd = gputop_std(&scenario);
        cmd.args(["record", "--out"]).arg(&out_path);
        let (code, err) = finishes(cmd, Duration::from_secs(10));
        assert_eq!(code, 2, "{planted}: {err}");
        assert!(err.contains("symbolic link"), "{planted}: {err}");
    }
    canary.assert_untouched();
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0, "the empty file was written");
}

/// Root run with another user's HOME (`sudo` keeping it) reads no default config that user
/// controls: a link planted as `~/.config/gputop/config.toml` to a root-only file would be
/// parsed as root and its first line quoted in the TOML error.
#[test]
fn a_default_config_another_user_planted_is_not_read() {
    if !root() {
        return;
    }
    let dir = temp_dir();
    let canary = Canary::new(dir.path());
    let home = dir.path().join("home");
    let config_dir = home.join(".config/gputop");
    std::fs::create_dir_all(&config_dir).unwrap();
    for d in [&home, &home.join(".config"), &config_dir] {
        chown(d, NOBODY);
    }
    let planted = config_dir.join("config.toml");
    std::os::unix::fs::symlink(&canary.0, &planted).unwrap();
    chown(&planted, NOBODY);
    let run = || {
        StdCommand::new(assert_cmd::cargo::cargo_bin("gputop"))
            .args(["--demo", "--once"])
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("GPUTOP_CONFIG")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("going on without it") && err.contains("uid 65534"), "{err}");
    assert!(!err.contains("secret") && !String::from_utf8_lossy(&out.stdout).contains("secret"));
    // A hard link in a directory nobody owns is refused the same way: by its directory.
    std::fs::remove_file(&planted).unwrap();
    if std::fs::hard_link(&canary.0, &planted).is_ok() {
        let out = run();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("its directory belongs to uid 65534"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        std::fs::remove_file(&planted).unwrap();
    }
    canary.assert_untouched();
}
