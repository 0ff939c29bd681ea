//! `--once`, one-shot `--query-*` and `-L`: sample, print, exit.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::Ordering;

use super::format::Format;
use crate::output::{csv, json, owners, table};
use crate::sample::{GpuStatus, Vendor};
use crate::source::{Opened, Source};
use crate::text::sanitize::sanitize;
use crate::Error;

/// One sample in `format`, to `to` (`-f`) or standard output; exit 1 when `--container` or
/// `--pod` matched nothing, as grep does.
pub fn run(opened: Opened, format: &Format, to: Option<&Path>) -> Result<i32, Error> {
    let Opened { mut source, matched_nothing, .. } = opened;
    let mut out: Box<dyn Write> = match to {
        Some(path) => Box::new(BufWriter::new(create(path)?)),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let result = print(source.as_mut(), format, &mut out);
    // The process is about to exit, which releases NVML and all memory anyway; tearing
    // the library down by hand (nvmlShutdown, dlclose, frees) adds ~20% to `--once`.
    std::mem::forget(source);
    let nothing = matched_nothing.load(Ordering::Relaxed);
    result.map(|()| if nothing { 1 } else { 0 })
}

/// `-L`: see [`list_gpus`], on standard output.
pub fn run_list(mut opened: Opened) -> Result<i32, Error> {
    list_gpus(opened.source.as_mut(), &mut io::stdout().lock()).map(|()| 0)
}

/// The file `-f` names, created or emptied, as nvidia-smi does.
pub fn create(path: &Path) -> Result<std::fs::File, Error> {
    std::fs::File::create(path)
        .map_err(|e| Error::Usage(format!("cannot write to {}: {e}", path.display())))
}

/// One sample in `format` to `out`.
pub fn print(source: &mut dyn Source, format: &Format, out: &mut dyn Write) -> Result<(), Error> {
    let snapshot = source.sample()?;
    match format {
        Format::Table(opts) => {
            for line in table::render(&snapshot, opts) {
                writeln!(out, "{line}")?;
            }
        }
        Format::Json => writeln!(out, "{}", json::document(&snapshot))?,
        Format::Owners(by, Some(opts)) => {
            for line in owners::render(&snapshot, *by, opts) {
                writeln!(out, "{line}")?;
            }
        }
        Format::Owners(by, None) => writeln!(out, "{}", owners::json(&snapshot, *by))?,
        Format::Csv => write!(out, "{}{}", csv::header(&snapshot), csv::rows(&snapshot))?,
        Format::Query(query, fmt) => {
            if let Some(header) = query.header(*fmt) {
                writeln!(out, "{header}")?;
            }
            for row in query.rows(&snapshot, *fmt) {
                writeln!(out, "{row}")?;
            }
        }
    }
    out.flush()?;
    // Prometheus's warnings (a partial answer): on stderr beside any output, and in the JSON.
    if !matches!(format, Format::Json) {
        for w in &snapshot.warnings {
            eprintln!("gputop: warning from the source: {}", sanitize(w));
        }
    }
    // Many hosts and none answered: the output says why for each; the exit code says so too.
    if !snapshot.hosts.is_empty() && snapshot.hosts.iter().all(|h| !h.up) {
        return Err(Error::Sampling(format!(
            "none of the {} hosts answered",
            snapshot.hosts.len()
        )));
    }
    Ok(())
}

/// `-L`: a line per GPU, `GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-…)`, as nvidia-smi prints it,
/// its MIG devices under it (`  MIG 3g.40gb     Device  0: (UUID: MIG-…)`); for a GPU that
/// cannot be reached, nvidia-smi's line for it.
pub fn list_gpus(source: &mut dyn Source, out: &mut dyn Write) -> Result<(), Error> {
    let snapshot = source.sample()?;
    for g in &snapshot.gpus {
        let which = g.pci_bus_id.clone().unwrap_or_else(|| g.index.to_string());
        match (g.status, &g.name, &g.uuid) {
            (GpuStatus::Ok, Some(name), Some(uuid)) => {
                writeln!(out, "GPU {}: {} (UUID: {})", g.index, sanitize(name), sanitize(uuid))?;
                for m in g.mig_instances.iter().flatten() {
                    let profile = sanitize(m.profile.as_deref().unwrap_or("N/A")).into_owned();
                    let uuid = sanitize(m.uuid.as_deref().unwrap_or("N/A")).into_owned();
                    writeln!(out, "  MIG {profile:<11} Device {:>2}: (UUID: {uuid})", m.index)?;
                }
            }
            // An AMD or Intel GPU without a unique ID: reachable, its ID not provided.
            (GpuStatus::Ok, Some(name), None) if g.vendor != Vendor::Nvidia => {
                writeln!(out, "GPU {}: {} (UUID: N/A)", g.index, sanitize(name))?
            }
            (GpuStatus::Lost, ..) => writeln!(
                out,
                "Unable to determine the device handle for GPU {which}: GPU is lost.  Reboot the system to recover this GPU"
            )?,
            _ => writeln!(out, "Unable to determine the device handle for GPU {which}: Unknown Error")?,
        }
    }
    out.flush()?;
    Ok(())
}
