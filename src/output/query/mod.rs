//! nvidia-smi's `--query-gpu=…` / `--query-compute-apps=…` with `--format=csv[,noheader][,nounits]`,
//! byte for byte, so scripts written for nvidia-smi keep working.
//!
//! Field names are nvidia-smi's (aliases included); headers use the canonical name and the unit
//! in brackets; values the unit after a space unless `nounits`; an unavailable value is `[N/A]`.
//! Like nvidia-smi, fields are separated by ", " and not quoted; control characters in names
//! are escaped (nvidia-smi prints them raw, which no script relies on).
//!
//! Every property is one entry of the field registry ([`field::Field`]): its names, unit,
//! description, the key its missing reason is filed under, and how it is read. `--query-gpu`'s
//! entries are in `gpu.rs`, `details.rs`, `ecc.rs` and `newer.rs`, in the order of
//! nvidia-smi's list ([`gpu_fields`]); the other queries' in `apps.rs`.

mod apps;
mod details;
mod ecc;
mod field;
mod gpu;
mod help;
mod newer;
mod parse;

pub use apps::{AppRow, PageRow};
pub use help::{help, QueryKind};
pub use parse::{QueryError, QueryFormat};

use apps::{APP_FIELDS, REMAPPED_ROW_FIELDS, RETIRED_PAGE_FIELDS};
use field::{Field, Level, OfGpu};
use parse::parse_fields;

use crate::sample::{GpuSample, GpuStatus, MissingReason, Snapshot};
use crate::text::sanitize::sanitize;

const NOT_AVAILABLE: &str = "[N/A]";

/// The registry of `--query-gpu` properties, in the order `--help-query-gpu` lists them.
fn gpu_fields() -> impl Iterator<Item = &'static Field<GpuSample>> + Clone {
    gpu::SAMPLE_FIELDS
        .iter()
        .chain(details::DETAIL_FIELDS)
        .chain(ecc::CORRECTED_VOLATILE)
        .chain(ecc::CORRECTED_AGGREGATE)
        .chain(ecc::UNCORRECTED_VOLATILE)
        .chain(ecc::UNCORRECTED_AGGREGATE)
        .chain(newer::NEWER_FIELDS)
}

/// Whether a `--query-gpu` list names a property of `Details` (each costs an NVML call
/// per GPU, so the sampler reads them only then).
pub fn needs_details(spec: &str) -> bool {
    Query::gpus(spec).is_ok_and(|q| match q.0 {
        Fields::Gpus(fields) => fields.iter().any(|f| f.level() == Level::Details),
        _ => false,
    })
}

/// A parsed `--query-gpu`, `--query-compute-apps`, `--query-retired-pages` or
/// `--query-remapped-rows`.
pub struct Query(Fields);

enum Fields {
    Gpus(Vec<&'static Field<GpuSample>>),
    Apps(Vec<&'static Field<AppRow>>),
    Pages(Vec<&'static Field<PageRow>>),
    RemappedRows(Vec<&'static Field<GpuSample>>),
}

impl Query {
    pub fn parse(kind: QueryKind, spec: &str) -> Result<Self, QueryError> {
        Ok(Query(match kind {
            QueryKind::Gpu => Fields::Gpus(parse_fields(gpu_fields(), spec)?),
            QueryKind::ComputeApps => Fields::Apps(parse_fields(APP_FIELDS.iter(), spec)?),
            QueryKind::RetiredPages => {
                Fields::Pages(parse_fields(RETIRED_PAGE_FIELDS.iter(), spec)?)
            }
            QueryKind::RemappedRows => {
                Fields::RemappedRows(parse_fields(REMAPPED_ROW_FIELDS.iter(), spec)?)
            }
        }))
    }

    pub fn gpus(spec: &str) -> Result<Self, QueryError> {
        Self::parse(QueryKind::Gpu, spec)
    }

    pub fn header(&self, format: QueryFormat) -> Option<String> {
        format.header.then(|| match &self.0 {
            Fields::Gpus(fields) | Fields::RemappedRows(fields) => header(fields),
            Fields::Apps(fields) => header(fields),
            Fields::Pages(fields) => header(fields),
        })
    }

    /// The data rows for one snapshot (no header).
    pub fn rows(&self, snapshot: &Snapshot, format: QueryFormat) -> Vec<String> {
        match &self.0 {
            Fields::Gpus(fields) | Fields::RemappedRows(fields) => {
                snapshot.gpus.iter().map(|g| row(fields, g, snapshot, format, absent)).collect()
            }
            Fields::Pages(fields) => snapshot
                .gpus
                .iter()
                .enumerate()
                .flat_map(|(gpu, g)| -> Box<dyn Iterator<Item = PageRow>> {
                    let pages = g.details.as_ref().and_then(|d| d.retired_pages.as_ref());
                    match pages {
                        Some(list) => {
                            Box::new((0..list.len()).map(move |i| PageRow { gpu, page: Some(i) }))
                        }
                        None => Box::new(std::iter::once(PageRow { gpu, page: None })),
                    }
                })
                .map(|p| row(fields, &p, snapshot, format, |p, f| absent(p.gpu(snapshot), f)))
                .collect(),
            Fields::Apps(fields) => snapshot
                .gpus
                .iter()
                .enumerate()
                .flat_map(|(gpu, g)| -> Box<dyn Iterator<Item = AppRow>> {
                    match &g.processes {
                        Some(list) => {
                            Box::new((0..list.len()).map(move |i| AppRow { gpu, process: Some(i) }))
                        }
                        // A GPU that cannot be reached is shown by --query-gpu, not here.
                        None if g.status != GpuStatus::Ok => Box::new(std::iter::empty()),
                        None => Box::new(std::iter::once(AppRow { gpu, process: None })),
                    }
                })
                .map(|app| row(fields, &app, snapshot, format, |_, _| NOT_AVAILABLE))
                .collect(),
        }
    }
}

/// What nvidia-smi prints for a GPU property without a value: `[N/A]` where the GPU does not
/// have it (drivers since 2020; older ones printed `[Not Supported]`), and NVML's reason where
/// it refused: `[Insufficient Permissions]`, `[GPU is lost]`, `[Unknown Error]`.
fn absent<T>(g: &GpuSample, field: &Field<T>) -> &'static str {
    let property = field.names[0];
    // A GPU outside any NVLink fabric, or that cannot say, reads a bare N/A in every fabric
    // field (as nvidia-smi's output has been seen to print them).
    if property.starts_with("fabric.") {
        return "N/A";
    }
    let reason = field.missing.and_then(|key| g.missing.get(key)).map(|m| m.reason);
    if property == "power.management" && reason == Some(MissingReason::NotSupported) {
        return "[Not Supported]";
    }
    match reason {
        Some(MissingReason::NoPermission) => "[Insufficient Permissions]",
        Some(MissingReason::GpuLost) => "[GPU is lost]",
        Some(MissingReason::Error) => "[Unknown Error]",
        Some(
            MissingReason::NotSupported
            | MissingReason::NotExported
            | MissingReason::NotRecorded
            | MissingReason::Simulated
            | MissingReason::NotProvidedByAmdgpu
            | MissingReason::NotProvidedByI915
            | MissingReason::NotProvidedByXe,
        )
        | None => NOT_AVAILABLE,
    }
}

fn header<T: OfGpu>(fields: &[&Field<T>]) -> String {
    fields
        .iter()
        .map(|f| match f.unit {
            Some(unit) => format!("{} [{unit}]", f.canonical()),
            None => f.canonical().to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn row<T: OfGpu>(
    fields: &[&Field<T>],
    item: &T,
    snapshot: &Snapshot,
    format: QueryFormat,
    absent: impl Fn(&T, &Field<T>) -> &'static str,
) -> String {
    fields
        .iter()
        .map(|f| match (f.read(item, snapshot), f.unit) {
            (None, _) => absent(item, f).to_string(),
            (Some(v), Some(unit)) if format.units => format!("{} {unit}", sanitize(&v)),
            (Some(v), _) => sanitize(&v).into_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
