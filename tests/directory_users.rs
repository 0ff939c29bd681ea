//! Users that live in a directory service (LDAP, SSSD, NIS) and not in `/etc/passwd`: gputop
//! names them through NSS, as `ps` and `ls -l` do. `libnss_wrapper` stands in for the
//! directory: preloaded into the real binary, it answers the C library's user lookups from
//! passwd and group files the test writes. A real `sleep` runs as a UID that `/etc/passwd`
//! lacks, on a fake GPU.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tempfile::TempDir;

/// A UID no system account has; checked against `/etc/passwd` before use.
const DIRECTORY_UID: u32 = 61_234;
const DIRECTORY_NAME: &str = "ldapuser";

/// The preloadable library: Debian's `libnss-wrapper` puts it under the multiarch directory,
/// Fedora's `nss_wrapper` under `/usr/lib64`.
fn nss_wrapper() -> Option<PathBuf> {
    let mut dirs = vec![PathBuf::from("/usr/lib64"), PathBuf::from("/usr/lib")];
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        dirs.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
    }
    dirs.into_iter().map(|d| d.join("libnss_wrapper.so")).find(|p| p.is_file())
}

/// The directory's users and groups, and the environment that makes a process ask them.
struct Directory {
    dir: TempDir,
    library: PathBuf,
}

impl Directory {
    /// `None` (said loudly; a failure in CI) where the library or root is missing.
    fn with_user() -> Option<Directory> {
        let Some(library) = nss_wrapper() else {
            skipped("libnss_wrapper.so is missing: apt-get install libnss-wrapper");
            return None;
        };
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        assert!(
            !passwd.lines().any(|l| l.split(':').nth(2) == Some(&DIRECTORY_UID.to_string())),
            "/etc/passwd has UID {DIRECTORY_UID}: the test needs one only the directory knows"
        );
        let dir = temp_dir();
        std::fs::write(
            dir.path().join("passwd"),
            format!(
                "root:x:0:0:root:/root:/bin/sh\n\
                 {DIRECTORY_NAME}:x:{DIRECTORY_UID}:{DIRECTORY_UID}:Directory user:/home/{DIRECTORY_NAME}:/bin/sh\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("group"),
            format!("root:x:0:\n{DIRECTORY_NAME}:x:{DIRECTORY_UID}:\n"),
        )
        .unwrap();
        Some(Directory { dir, library })
    }

    /// A directory that does not answer: its passwd file a FIFO nobody writes, so the
    /// library's open of it blocks, as a lookup does against an LDAP server that is down.
    fn hung() -> Option<Directory> {
        let directory = Directory::with_user()?;
        let passwd = directory.dir.path().join("passwd");
        std::fs::remove_file(&passwd).unwrap();
        let status = StdCommand::new("mkfifo").arg(&passwd).status().unwrap();
        assert!(status.success(), "mkfifo failed");
        Some(directory)
    }

    /// Whether a lookup is blocked on the hung directory: a FIFO opens for writing without
    /// waiting only when something has it open for reading. (That open also lets the reader
    /// go, with nothing to read.)
    fn has_a_waiting_reader(&self) -> bool {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(self.dir.path().join("passwd"))
            .is_ok()
    }

    /// `cmd` asking this directory for users.
    fn asked_by<'c>(&self, cmd: &'c mut StdCommand) -> &'c mut StdCommand {
        cmd.env("LD_PRELOAD", &self.library)
            .env("NSS_WRAPPER_PASSWD", self.dir.path().join("passwd"))
            .env("NSS_WRAPPER_GROUP", self.dir.path().join("group"))
    }
}

/// `sleep` running as the directory's user; `None` (said loudly) where this is not root.
fn directory_users_process() -> Option<Sleeper> {
    let sleeper = Sleeper::as_user(DIRECTORY_UID);
    if sleeper.is_none() {
        skipped("running a process as another UID needs root");
    }
    sleeper
}

fn scenario_with(pid: u32) -> tempfile::NamedTempFile {
    scenario_file(&format!(
        "[[gpus]]\nname = \"G\"\n[[gpus.processes]]\npid = {pid}\nused_memory_mib = 2000\nsm_util = 40\n"
    ))
}

fn output_of(cmd: &mut StdCommand) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "gputop failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_directory_user_is_named_in_the_table_and_by_user() {
    let Some(directory) = Directory::with_user() else { return };
    let Some(job) = directory_users_process() else { return };
    let scenario = scenario_with(job.pid());

    // Without the directory the UID is all there is: the name below comes from NSS.
    let plain = output_of(gputop_std(&scenario).args(["--once", "--color", "never"]));
    assert!(plain.contains(&DIRECTORY_UID.to_string()), "{plain}");
    assert!(!plain.contains(DIRECTORY_NAME), "{plain}");

    let table = output_of(
        directory.asked_by(&mut gputop_std(&scenario)).args(["--once", "--color", "never"]),
    );
    let row = table.lines().find(|l| l.contains(&job.pid().to_string())).unwrap_or_default();
    assert!(row.contains(DIRECTORY_NAME), "no name in the process row:\n{table}");
    assert!(!row.contains(&DIRECTORY_UID.to_string()), "{table}");

    let doc: Value = serde_json::from_str(&output_of(
        directory.asked_by(&mut gputop_std(&scenario)).args(["--once", "--json"]),
    ))
    .unwrap();
    assert_eq!(doc["gpus"][0]["processes"][0]["user"], DIRECTORY_NAME, "{doc:#}");

    let by_user: Value = serde_json::from_str(&output_of(
        directory.asked_by(&mut gputop_std(&scenario)).args(["--once", "--by", "user", "--json"]),
    ))
    .unwrap();
    assert_eq!(by_user["owners"][0]["name"], DIRECTORY_NAME, "{by_user:#}");
    let text = output_of(
        directory
            .asked_by(&mut gputop_std(&scenario))
            .args(["--once", "--by", "user", "--color", "never"]),
    );
    assert!(text.lines().any(|l| l.starts_with(DIRECTORY_NAME)), "{text}");
}

#[test]
fn the_exporter_labels_a_directory_users_process_with_the_name() {
    let Some(directory) = Directory::with_user() else { return };
    let Some(job) = directory_users_process() else { return };
    let scenario = scenario_with(job.pid());
    let mut gputop = gputop_std(&scenario);
    directory.asked_by(&mut gputop);
    let (mut child, addr) = spawn_serve_from(gputop, &["--processes".as_ref()]);
    let started = Instant::now();
    let body = loop {
        let body = metrics(&addr);
        if body.contains(&format!("pid=\"{}\"", job.pid())) {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no process served:\n{body}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    let process_lines: Vec<&str> =
        body.lines().filter(|l| l.contains(&format!("pid=\"{}\"", job.pid()))).collect();
    assert!(
        process_lines.iter().all(|l| l.contains(&format!("user=\"{DIRECTORY_NAME}\""))),
        "{process_lines:#?}"
    );
}

#[test]
fn a_directory_that_does_not_answer_costs_a_sample_only_a_short_wait() {
    let Some(directory) = Directory::hung() else { return };
    let Some(job) = directory_users_process() else { return };
    let scenario = scenario_with(job.pid());

    let started = Instant::now();
    let mut once = gputop_std(&scenario);
    directory.asked_by(&mut once);
    let out = assert_cmd::Command::from_std(once)
        .args(["--once", "--color", "never"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let took = started.elapsed();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}{}", String::from_utf8_lossy(&out.stderr));
    assert!(took < Duration::from_secs(3), "--once waited {took:?} for the directory");
    let row = table.lines().find(|l| l.contains(&job.pid().to_string())).unwrap_or_default();
    assert!(row.contains(&DIRECTORY_UID.to_string()), "not shown by UID:\n{table}");

    // The exporter serves samples while its lookup hangs, the process labelled by UID.
    let mut gputop = gputop_std(&scenario);
    directory.asked_by(&mut gputop);
    let (mut child, addr) = spawn_serve_from(gputop, &["--processes".as_ref()]);
    let pid_label = format!("pid=\"{}\"", job.pid());
    let started = Instant::now();
    let body = loop {
        let body = metrics(&addr);
        if body.contains(&pid_label) {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no process served:\n{body}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let stuck = directory.has_a_waiting_reader();
    let _ = child.kill();
    let _ = child.wait();
    assert!(stuck, "the lookup was not blocked on the directory: the test proves nothing");
    let line = body.lines().find(|l| l.contains(&pid_label)).unwrap();
    assert!(line.contains(&format!("user=\"{DIRECTORY_UID}\"")), "{line}");
}

/// The exporter's `/metrics` body, empty until it serves one.
fn metrics(addr: &str) -> String {
    let Ok(mut s) = TcpStream::connect(addr) else { return String::new() };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text
}
