//! The first five minutes, without a GPU: `gputop --demo` through the real binary does what the
//! README shows. Its fleet has a free GPU, so `select` and `wait` succeed, and its processes
//! say where they run (a Slurm job, a Kubernetes pod, containers), so the container, pod and
//! job views and the WHERE column have something to show.

mod common;

use std::process::Command;

use common::*;

/// `gputop --demo ARGS`: (exit code, stdout, stderr).
fn demo(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin("gputop"))
        .arg("--demo")
        .args(args)
        .env_remove("CUDA_VISIBLE_DEVICES")
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

#[test]
fn select_and_wait_find_the_demos_idle_gpu() {
    let locks = temp_dir();
    let dir = locks.path().to_str().unwrap();
    let (code, out, err) = demo(&["select", "--lock-dir", dir]);
    assert_eq!((code, out.as_str()), (0, "3\n"), "{err}");
    // Two wanted, one free: exit 1 and why, naming who holds the others.
    let (code, _, err) = demo(&["select", "-n", "2", "--lock-dir", dir]);
    assert_eq!(code, 1);
    assert!(err.starts_with("gputop: 2 wanted, 1 free: GPU 0 held by "), "{err}");
    assert!(!err.contains("GPU 3"), "the idle GPU is free: {err}");
    // `wait` claims the idle GPU and becomes the command, with CUDA_VISIBLE_DEVICES set.
    let (code, out, err) = demo(&[
        "--interval",
        "0.2",
        "wait",
        "--stable",
        "1",
        "--timeout",
        "30s",
        "--lock-dir",
        dir,
        "--",
        "sh",
        "-c",
        "echo \"GPUs $CUDA_VISIBLE_DEVICES\"",
    ]);
    assert_eq!((code, out.as_str()), (0, "GPUs 3\n"), "{err}");
}

#[test]
fn demo_processes_say_where_they_run() {
    // The processes that run throughout: alice's Slurm job on GPU 0, bob's pod on GPU 1,
    // carol's Slurm job on GPU 2.
    let (code, out, err) = demo(&["--once", "--color", "never"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("WHERE"), "{out}");
    for label in ["slurm:4242", "pod/vllm-7d9f8b-x2k4p", "slurm:4251"] {
        assert!(out.contains(label), "no {label}:\n{out}");
    }
    let by = |key: &str| {
        let (code, out, err) = demo(&["--once", "--color", "never", "--by", key]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let containers = by("container");
    assert!(containers.contains("containerd:5f3e8c1a2b9d"), "{containers}");
    let pods = by("pod");
    assert!(pods.contains("inference/vllm-7d9f8b-x2k4p"), "{pods}");
    let jobs = by("job");
    assert!(jobs.contains("4242") && jobs.contains("4251"), "{jobs}");
    // The filters find them too.
    let (code, out, err) = demo(&["--once", "--color", "never", "--pod", "vllm-7d9f8b-x2k4p"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("vllm serve") && !out.contains("train.py"), "{out}");
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let out =
        Command::new(assert_cmd::cargo::cargo_bin("gputop")).arg("--version").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    // From a git checkout, its HEAD; from a source tarball, "unknown commit".
    let head = Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "--short=7", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string());
    let commit = head.as_deref().unwrap_or("unknown commit");
    assert_eq!(text, format!("gputop {} ({commit})\n", env!("CARGO_PKG_VERSION")));
}
