//! `gputop health`'s run: a line per GPU, or JSON, and the exit code a probe reads.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::health::kernel_log::KernelXids;
use crate::health::{self, GpuHealth, NotExamined, Severity};
use crate::sample::{Missing, MissingReason, Vendor};
use crate::source::Source;
use crate::text::sanitize::sanitize;
use crate::Error;

/// Where the kernel keeps its log.
pub const KERNEL_LOG: &str = "/dev/kmsg";

#[derive(Debug, Serialize)]
pub struct Report {
    pub status: Severity,
    pub gpus: Vec<GpuHealth>,
    /// Why the XIDs since boot are unknown (the kernel log could not be read); `null` when read.
    pub xid_history_error: Option<String>,
    /// What could not be examined at all: no GPU found. Empty otherwise.
    pub not_examined: Vec<NotExamined>,
}

/// Samples the GPUs, adds the XIDs the kernel log (`kernel_log`) holds for each, and judges.
/// No GPU, a GPU whose state could not be read, or a kernel log that could not be read make
/// the verdict unknown at best: what was not seen is never reported as ok.
pub fn report(source: &mut dyn Source, kernel_log: &Path) -> Result<Report, Error> {
    let mut snapshot = source.sample()?;
    let xids = KernelXids::read(kernel_log);
    let mut unseen = Vec::new();
    match &xids {
        Ok(xids) => xids.attach(&mut snapshot.gpus),
        Err(e) => {
            let reason =
                if e.permission { MissingReason::NoPermission } else { MissingReason::Error };
            for g in snapshot.gpus.iter_mut().filter(|g| g.vendor == Vendor::Nvidia) {
                g.missing
                    .insert(crate::sample::FieldKey::Events, Missing { reason, nvml_code: None });
            }
            unseen.push(NotExamined {
                check: "XID history",
                why: e.cause.clone(),
                fix: if e.permission {
                    "run as root, or let users read the kernel log: sysctl kernel.dmesg_restrict=0"
                } else {
                    "check that /dev/kmsg exists and is readable"
                },
            });
        }
    }
    // XIDs are NVIDIA's driver's: an unread log leaves another vendor's GPU nothing unseen.
    let gpus: Vec<GpuHealth> = snapshot
        .gpus
        .iter()
        .map(|g| {
            let unseen = if g.vendor == Vendor::Nvidia { unseen.clone() } else { Vec::new() };
            health::judge(g, unseen)
        })
        .collect();
    let mut not_examined = Vec::new();
    if gpus.is_empty() {
        let driver = snapshot.host.driver_version.as_deref().map(sanitize);
        not_examined.push(NotExamined {
            check: "GPUs",
            why: match driver {
                Some(v) => format!("no GPU found (the driver, {v}, reports none)"),
                None => "no GPU found".into(),
            },
            fix: "run `gputop doctor`; `nvidia-smi -L` should list the GPUs",
        });
    }
    let status = gpus
        .iter()
        .map(|v| v.status)
        .max()
        .unwrap_or(Severity::Unknown)
        .max(if not_examined.is_empty() { Severity::Ok } else { Severity::Unknown });
    Ok(Report { status, gpus, xid_history_error: xids.err().map(|e| e.message), not_examined })
}

/// The JSON of a health check that could not run at all: unknown, with why.
pub fn unknown(why: &str) -> String {
    let report = Report {
        status: Severity::Unknown,
        gpus: Vec::new(),
        xid_history_error: None,
        not_examined: vec![NotExamined {
            check: "GPUs",
            why: why.to_string(),
            fix: "run `gputop doctor` to check the GPU stack",
        }],
    };
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    crate::output::json::escape_controls(text).to_string()
}

/// Judges one sample; `json`: the report as JSON instead of a line per GPU.
pub fn run(mut source: Box<dyn Source>, json: bool) -> Result<i32, Error> {
    let report = report(source.as_mut(), Path::new(KERNEL_LOG))?;
    let mut out = std::io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        writeln!(out, "{}", crate::output::json::escape_controls(text))?;
    } else {
        for v in &report.gpus {
            writeln!(out, "{}", health::line(v))?;
        }
        for n in &report.not_examined {
            writeln!(out, "unknown: {} ({})", n.why, n.fix)?;
        }
    }
    Ok(report.status.exit_code())
}
