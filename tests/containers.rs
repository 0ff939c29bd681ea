//! gputop inside a real PID namespace (`unshare --pid --fork --mount-proc`, as root), with the
//! fake NVML library reporting host PIDs as the driver does: gputop shows the PIDs of its own
//! namespace, through the host's /proc or through the device files processes hold.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Whether PID namespaces can be made here (as root they can; CI runs as root).
fn can_unshare() -> bool {
    have(
        "unshare",
        &["--pid", "--fork", "--mount-proc", "true"],
        "run as root with util-linux's unshare (PID namespaces)",
    )
}

/// Host PID of the process whose command line is `marker`, and its PID inside its namespace.
fn find(marker: &str) -> Option<(u32, u32)> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).replace('\0', " ").trim() != marker {
            continue;
        }
        let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
        let ids: Vec<u32> = status.lines().find(|l| l.starts_with("NSpid:"))?[6..]
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if ids.len() == 2 {
            return Some((pid, ids[1]));
        }
    }
    None
}

/// Runs `script` as PID 1's child in a new PID namespace (with its own /proc, and the host's
/// bound at `$HOSTPROC`), once `marker` runs in it and the scenario names its host PID.
fn in_namespace(
    marker_secs: &str,
    prepare: &str,
    redirect: &str,
    gputop_args: &str,
) -> (Value, u32) {
    let dir = temp_dir();
    let scenario = dir.path().join("scenario.toml");
    let hostproc = dir.path().join("hostproc");
    std::fs::create_dir_all(&hostproc).unwrap();
    let marker = format!("sleep {marker_secs}");
    let bin = assert_cmd::cargo::cargo_bin("gputop");
    let inner = format!(
        "{prepare} sleep {marker_secs} {redirect} & while [ ! -s {s}.ready ]; do sleep 0.05; done; \
         GPUTOP_NVML_LIB='{lib}' GPUTOP_FAKE_NVML_SCENARIO='{s}' '{bin}' --once --json {gputop_args} > '{out}'",
        s = scenario.display(),
        lib = fake_nvml().display(),
        bin = bin.display(),
        out = dir.path().join("out.json").display(),
    );
    // A private mount namespace first, so the bind of the host's /proc does not leak.
    let outer = format!(
        "mount --bind /proc '{}' && exec unshare --pid --fork --mount-proc sh -c \"{inner}\"",
        hostproc.display()
    );
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &outer])
        .env("HOSTPROC", &hostproc)
        .spawn()
        .unwrap();
    let started = Instant::now();
    let (host_pid, ns_pid) = loop {
        if let Some(found) = find(&marker) {
            break found;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{marker} never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::fs::write(&scenario, format!("[[gpus]]\nname = \"G\"\nmemory_total_mib = 1024\n[[gpus.processes]]\npid = {host_pid}\nused_memory_mib = 100\n")).unwrap();
    std::fs::write(format!("{}.ready", scenario.display()), "go").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "gputop in the namespace failed");
    let _ = Command::new("pkill").args(["-f", &format!("^{marker}$")]).status();
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap())
            .unwrap();
    assert_ne!(host_pid, ns_pid);
    (doc, ns_pid)
}

#[test]
fn host_pids_are_mapped_through_the_host_proc() {
    if !can_unshare() {
        return;
    }
    let (doc, ns_pid) = in_namespace("611", "", "", "--host-proc \"$HOSTPROC\"");
    let p = &doc["gpus"][0]["processes"][0];
    assert_eq!(p["pid"], ns_pid, "{p}");
    assert_eq!(p["pid_mapping"], "host_proc");
    assert_eq!(p["command"], "sleep 611", "host details come from the namespace's own /proc");
    assert!(p["host_pid"].as_u64().unwrap() > 0);
}

#[test]
fn host_pids_are_mapped_through_the_device_files() {
    if !can_unshare() {
        return;
    }
    // No host /proc: the process holding the device file is matched instead. The namespace
    // has a mount namespace of its own: a tmpfs over /dev there holds a stand-in /dev/nvidia0.
    let prepare =
        "mount -t tmpfs gputop-test-dev /dev && mknod -m 666 /dev/null c 1 3 && : > /dev/nvidia0;";
    let (doc, ns_pid) = in_namespace("612", prepare, "3</dev/nvidia0", "");
    let p = &doc["gpus"][0]["processes"][0];
    assert_eq!(p["pid"], ns_pid, "{p}");
    assert_eq!(p["pid_mapping"], "fd_scan");
    assert_eq!(p["gpu_memory_bytes"], 100u64 << 20);
}

#[test]
fn an_unmappable_pid_is_marked_outside_with_a_hint() {
    if !can_unshare() {
        return;
    }
    // NVML names a process that is not in this namespace at all.
    let scenario = scenario_file(
        "[[gpus]]\nname = \"G\"\n[[gpus.processes]]\npid = 3999999\nused_memory_mib = 50\n",
    );
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(assert_cmd::cargo::cargo_bin("gputop"))
        .args(["--once", "--color", "never"])
        .env("GPUTOP_NVML_LIB", fake_nvml())
        .env("GPUTOP_FAKE_NVML_SCENARIO", scenario.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(outside this container)"), "{text}");
    assert!(text.contains("--pid=host"), "{text}");
}

/// Inside a container a host PID often exists with another process behind it: that PID is
/// not taken for NVML's process (its user, command and start time would be the impostor's,
/// and a signal would reach it). Without the host's /proc or device-file evidence it stays
/// the host's, marked outside.
#[test]
fn a_host_pid_that_a_local_process_also_has_is_not_taken_for_it() {
    if !can_unshare() {
        return;
    }
    let dir = temp_dir();
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(
        &scenario,
        "[[gpus]]\nname = \"G\"\nmemory_total_mib = 1024\n\
         [[gpus.processes]]\npid = 4000\nused_memory_mib = 100\n",
    )
    .unwrap();
    // The impostor gets PID 4000 in the new namespace: the next PID after 3999.
    let inner = format!(
        "echo 3999 > /proc/sys/kernel/ns_last_pid; sleep 614 & echo $! > '{pid}'; \
         '{bin}' --once --json > '{out}'; kill $!",
        pid = dir.path().join("impostor").display(),
        bin = assert_cmd::cargo::cargo_bin("gputop").display(),
        out = dir.path().join("out.json").display(),
    );
    let status = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "sh", "-c", &inner])
        .env("GPUTOP_NVML_LIB", fake_nvml())
        .env("GPUTOP_FAKE_NVML_SCENARIO", &scenario)
        .status()
        .unwrap();
    assert!(status.success());
    let impostor = std::fs::read_to_string(dir.path().join("impostor")).unwrap();
    assert_eq!(impostor.trim(), "4000", "the colliding process did not get PID 4000");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap())
            .unwrap();
    let p = &doc["gpus"][0]["processes"][0];
    assert_eq!(p["pid_mapping"], "outside", "{p}");
    assert_ne!(p["command"], "sleep 614", "the impostor's command line: {p}");
    assert!(p["start_ticks"].is_null() && p["user"].is_null(), "the impostor's identity: {p}");
}
