//! `gputop health`: a line per GPU, or JSON, and the exit code a probe reads.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::cli::HealthArgs;
use crate::health::kernel_log::KernelXids;
use crate::health::{self, GpuHealth, Severity};
use crate::sample::{Missing, MissingReason};
use crate::source::Source;
use crate::Error;

/// Where the kernel keeps its log.
pub const KERNEL_LOG: &str = "/dev/kmsg";

#[derive(Debug, Serialize)]
pub struct Report {
    pub status: Severity,
    pub gpus: Vec<GpuHealth>,
    /// Why the XIDs since boot are unknown (the kernel log could not be read); `null` when read.
    pub xid_history_error: Option<String>,
}

/// Samples the GPUs, adds the XIDs the kernel log (`kernel_log`) holds for each, and judges.
pub fn report(source: &mut dyn Source, kernel_log: &Path) -> Result<Report, Error> {
    let mut snapshot = source.sample()?;
    let xids = KernelXids::read(kernel_log);
    match &xids {
        Ok(xids) => xids.attach(&mut snapshot.gpus),
        Err(e) => {
            let reason =
                if e.permission { MissingReason::NoPermission } else { MissingReason::Error };
            for g in &mut snapshot.gpus {
                g.missing.insert("events", Missing { reason, nvml_code: None });
            }
        }
    }
    let gpus: Vec<GpuHealth> = snapshot.gpus.iter().map(health::judge).collect();
    let status = gpus.iter().map(|v| v.status).max().unwrap_or(Severity::Ok);
    Ok(Report { status, gpus, xid_history_error: xids.err().map(|e| e.message) })
}

pub fn run(mut source: Box<dyn Source>, args: &HealthArgs) -> Result<i32, Error> {
    let report = report(source.as_mut(), Path::new(KERNEL_LOG))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        writeln!(out, "{}", crate::output::json::escape_controls(text))?;
    } else {
        for v in &report.gpus {
            writeln!(out, "{}", health::line(v))?;
        }
        if let Some(e) = &report.xid_history_error {
            eprintln!("gputop: XIDs since boot not checked: {e}");
        }
    }
    Ok(report.status.exit_code())
}
