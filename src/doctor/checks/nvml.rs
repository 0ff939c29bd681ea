//! NVML: the library loads and initialises; versions, GPU count, and per GPU the things that
//! hurt without being obvious: persistence mode off, lost GPUs, ECC errors, throttling.

use super::{major_minor, Facts};
use crate::doctor::{DoctorOptions, Finding, Status, System};
use crate::health::kernel_log::KernelXids;
use crate::health::{self, Severity};
use crate::sample::{GpuStatus, MissingReason, Snapshot};
use crate::source::{DetailLevel, NvmlSource, SampleOptions, Source, SourceError};

pub fn check(sys: &System, opts: &DoctorOptions, facts: &mut Facts) -> Vec<Finding> {
    let library = opts
        .nvml_library
        .as_ref()
        .map_or("libnvidia-ml.so.1 (from the dynamic loader)".into(), |p| p.display().to_string());
    // The details carry the board's memory and link health.
    let options = SampleOptions { details: DetailLevel::Health, ..SampleOptions::one_shot() };
    let mut loaded_from = None;
    let snapshot =
        NvmlSource::open(opts.nvml_library.as_deref(), &[], options).and_then(|mut s| {
            // While the library is loaded, the kernel knows which file it came from.
            loaded_from = mapped_file(opts.nvml_library.as_deref());
            s.sample()
        });
    let library = loaded_from.map_or(library, |file| format!("{file} (loaded)"));
    match snapshot {
        Err(e) => {
            vec![Finding::new("nvml_init", Status::Failure, format!("NVML cannot be used: {e}"))
                .evidence(format!("library: {library}"))
                .fix(init_fix(&e))]
        }
        Ok(mut snap) => {
            facts.driver_cuda = snap.host.cuda_driver_version.as_deref().and_then(major_minor);
            facts.nvml_gpus =
                // An unknown UUID is "", which no CUDA_VISIBLE_DEVICES entry matches; the
                // count stays right.
                Some(snap.gpus.iter().map(|g| g.uuid.clone().unwrap_or_default()).collect());
            let host = &snap.host;
            let na = |v: &Option<String>| v.clone().unwrap_or_else(|| "N/A".into());
            let mut out = vec![Finding::new(
                "nvml_init",
                Status::Ok,
                format!(
                    "NVML {} works: driver {}, CUDA {} supported, {} GPU(s)",
                    na(&host.nvml_version),
                    na(&host.driver_version),
                    na(&host.cuda_driver_version),
                    snap.gpus.len()
                ),
            )
            .evidence(format!("library: {library}"))];
            out.extend(attach_kernel_xids(sys, &mut snap));
            out.extend(gpu_findings(&snap));
            out
        }
    }
}

/// The XIDs since boot from the kernel log, onto each GPU; a finding only when the log could
/// not be read.
fn attach_kernel_xids(sys: &System, snap: &mut Snapshot) -> Option<Finding> {
    match KernelXids::read(&sys.path("/dev/kmsg")) {
        Ok(xids) => {
            xids.attach(&mut snap.gpus);
            None
        }
        Err(e) => Some(
            Finding::new("xid_log", Status::Skipped, "XID errors since boot not checked")
                .evidence(e.message)
                .fix("run `sudo gputop doctor` to include them"),
        ),
    }
}

/// The file behind the loaded NVML library, from this process's memory map: which of several
/// installed copies the loader actually picked.
fn mapped_file(requested: Option<&std::path::Path>) -> Option<String> {
    let name = requested
        .and_then(|p| p.file_name())
        .map_or("libnvidia-ml.so".into(), |n| n.to_string_lossy().into_owned());
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|path| {
            path.rsplit('/').next().is_some_and(|f| f.starts_with(name.trim_end_matches(".1")))
        })
        .map(str::to_string)
}

fn init_fix(e: &SourceError) -> &'static str {
    match e {
        SourceError::LibraryNotLoadable { .. } => {
            "install the driver's user-space libraries (libnvidia-ml.so.1 ships with the driver: e.g. libnvidia-compute-<version> or nvidia-utils), or point --nvml-lib at it"
        }
        SourceError::DriverNotLoaded => "load the NVIDIA kernel module (see Hardware and kernel driver above)",
        SourceError::NoPermission => "give this user access to /dev/nvidia* (see the device nodes above)",
        SourceError::VersionMismatch => "the kernel module and the user-space libraries are from different driver versions (a driver update without a reboot): reboot",
        _ => "check `sudo dmesg | grep -i nvrm` for driver errors; reinstalling the driver usually helps",
    }
}

fn gpu_findings(snap: &Snapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    let label = |g: &crate::sample::GpuSample| {
        format!("GPU {} ({})", g.index, g.name.as_deref().unwrap_or("unknown"))
    };
    for g in &snap.gpus {
        match g.status {
            GpuStatus::Lost => out.push(
                Finding::new("gpu_lost", Status::Failure, format!("GPU {} is lost (fell off the bus)", g.index))
                    .fix("look for Xid errors (sudo dmesg | grep -i xid); a lost GPU needs a reset (sudo nvidia-smi -r) or a reboot; if it recurs, check power and seating"),
            ),
            GpuStatus::Error => out.push(
                Finding::new("gpu_error", Status::Failure, format!("GPU {} cannot be read: {}", g.index, g.error.as_deref().unwrap_or("unknown error")))
                    .fix("check `sudo dmesg | grep -i nvrm` for driver errors"),
            ),
            GpuStatus::Ok => {}
        }
        if let Some(n) = g.ecc.uncorrected.filter(|n| *n > 0) {
            out.push(
                Finding::new("ecc", Status::Warning, format!("{}: {n} uncorrected ECC errors since the driver loaded", label(g)))
                    .fix("see `nvidia-smi -q -d ECC,PAGE_RETIREMENT`; if errors keep coming, drain the GPU and contact the vendor"),
            );
        }
        for p in health::xid_problems(g) {
            let status =
                if p.severity == Severity::Failure { Status::Failure } else { Status::Warning };
            out.push(Finding::new("xid", status, format!("{}: {}", label(g), p.what)).fix(p.fix));
        }
        for p in health::memory_problems(g) {
            let status =
                if p.severity == Severity::Failure { Status::Failure } else { Status::Warning };
            out.push(
                Finding::new("memory_health", status, format!("{}: {}", label(g), p.what))
                    .fix(p.fix),
            );
        }
        for p in health::link_problems(g) {
            out.push(
                Finding::new("pcie_link", Status::Warning, format!("{}: {}", label(g), p.what))
                    .evidence("a narrow link slows every transfer between host and GPU")
                    .fix(p.fix),
            );
        }
        for p in health::nvlink_problems(g) {
            out.push(
                Finding::new("nvlink", Status::Warning, format!("{}: {}", label(g), p.what))
                    .fix(p.fix),
            );
        }
        let alarms = g.throttle.alarming();
        if !alarms.is_empty() {
            out.push(
                Finding::new("throttle", Status::Warning, format!("{} is throttled right now: {}", label(g), alarms.join(", ")))
                    .fix("check cooling, airflow and power cables; `nvidia-smi -q -d PERFORMANCE,TEMPERATURE` shows details"),
            );
        }
    }
    // Values NVML refused (not merely unsupported) say something about permissions or health.
    let refused: Vec<String> = snap
        .gpus
        .iter()
        .filter(|g| g.status == GpuStatus::Ok)
        .flat_map(|g| {
            g.missing
                .iter()
                .filter(|(_, m)| m.reason != MissingReason::NotSupported)
                .map(move |(field, m)| format!("GPU {} {field}: {}", g.index, m.describe()))
        })
        .collect();
    if !refused.is_empty() {
        let no_permission = snap
            .gpus
            .iter()
            .flat_map(|g| g.missing.values())
            .any(|m| m.reason == MissingReason::NoPermission);
        out.push(
            Finding::new("nvml_values", Status::Warning, format!("NVML refused {} value(s): {}", refused.len(), refused.join(", ")))
                .fix(if no_permission {
                    "some values need more privileges (process lists of other users' processes in some set-ups, or a restricted container): run as root or add the user to the group that owns /dev/nvidia*"
                } else {
                    "check `sudo dmesg | grep -i nvrm` for driver errors; `nvidia-smi -q` shows the same fields"
                }),
        );
    }
    let off: Vec<String> = snap
        .gpus
        .iter()
        .filter(|g| g.persistence_mode == Some(false))
        .map(|g| g.index.to_string())
        .collect();
    if !off.is_empty() {
        out.push(
            Finding::new("persistence", Status::Warning, format!("Persistence mode is off on GPU {}", off.join(", ")))
                .evidence("without it the driver tears the GPU down when the last client exits: every start pays up to seconds")
                .fix("enable it: sudo systemctl enable --now nvidia-persistenced (or sudo nvidia-smi -pm 1)"),
        );
    }
    let healthy = snap.gpus.iter().filter(|g| g.status == GpuStatus::Ok).count();
    if out.is_empty() && healthy > 0 {
        let xids = if snap.gpus.iter().all(|g| g.events.is_some()) { "XID errors, " } else { "" };
        out.push(Finding::new(
            "gpus",
            Status::Ok,
            format!("{healthy} GPU(s) healthy: no lost GPU, {xids}ECC errors, memory or link faults, or throttling"),
        ));
    }
    out
}
