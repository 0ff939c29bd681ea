//! Issue 7's budgets: labelling 64 GPU processes with their container/pod (≤ 1 ms per sample,
//! here the uncached first sight: read and parse /proc/PID/cgroup and environ), and the fd
//! scan of a host with 2,000 processes (≤ 20 ms, run at most every 5 s), on a fixture tree
//! on disk and on this machine's real /proc filled up to 2,000 processes; and issue 32's scan
//! for AMD and Intel GPU clients over the same /proc (within 1.5× `scripts/bench/fdscan-floor.c
//! drm`, the same system calls in C: `scripts/bench-drm-scan.sh` runs both side by side).
//!
//! `cargo bench --bench containers`

use std::hint::black_box;
use std::os::unix::fs::symlink;

use criterion::{criterion_group, criterion_main, Criterion};
use gputop::testing::{add_environ, from_cgroup};
use gputop::testing::{scan_drm_fds, scan_fds};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    // Stand-ins for /dev/nvidia0..7 (this machine has no GPU): the scan compares fds with them.
    let dev = tempfile::tempdir().unwrap();
    for minor in 0..8 {
        std::fs::write(dev.path().join(format!("nvidia{minor}")), "").unwrap();
    }
    let prefix = dev.path().join("nvidia").display().to_string();
    let id = "3f4e8c1a2b9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
    for pid in 0..2000u32 {
        let p = dir.path().join(pid.to_string());
        std::fs::create_dir_all(p.join("fd")).unwrap();
        std::fs::write(
            p.join("cgroup"),
            format!("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8a1b2c3d_4e5f_6a7b_8c9d_0e1f2a3b4c5d.slice/cri-containerd-{id}.scope\n"),
        )
        .unwrap();
        std::fs::write(p.join("environ"), "PATH=/usr/bin\0HOSTNAME=trainer-0\0").unwrap();
        for fd in 0..8 {
            let target = if pid % 50 == 0 && fd == 3 {
                format!("{prefix}{}", pid % 8)
            } else {
                format!("/tmp/file-{fd}")
            };
            symlink(target, p.join("fd").join(fd.to_string())).unwrap();
        }
    }
    c.bench_function("label_64_processes_first_sight", |b| {
        b.iter(|| {
            for pid in 0..64 {
                let p = dir.path().join(pid.to_string());
                let mut placement =
                    from_cgroup(&std::fs::read_to_string(p.join("cgroup")).unwrap());
                add_environ(&mut placement, &std::fs::read(p.join("environ")).unwrap());
                black_box(placement);
            }
        })
    });
    c.bench_function("fd_scan_2000_processes_fixture", |b| {
        b.iter(|| black_box(scan_fds(dir.path(), &prefix)))
    });
    // The real /proc with at least 2,000 processes: start sleepers until there are.
    let running = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .count();
    let mut sleepers: Vec<std::process::Child> = (running..2000)
        .map(|i| {
            let mut sleep = std::process::Command::new("sleep");
            sleep.arg("600");
            // One in fifty holds a GPU open, as its stdin.
            if i % 50 == 0 {
                let device = std::fs::File::open(format!("{prefix}{}", i % 8)).unwrap();
                sleep.stdin(device);
            }
            sleep.spawn().unwrap()
        })
        .collect();
    c.bench_function("fd_scan_real_proc_2000_processes", |b| {
        b.iter(|| black_box(scan_fds(std::path::Path::new("/proc"), &prefix)))
    });
    c.bench_function("drm_fd_scan_real_proc_2000_processes", |b| {
        b.iter(|| black_box(scan_drm_fds(std::path::Path::new("/proc"))))
    });
    for s in &mut sleepers {
        let _ = s.kill();
        let _ = s.wait();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
