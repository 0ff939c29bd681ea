//! The rows and properties of `--query-compute-apps` (a row per process),
//! `--query-retired-pages` (a row per retired page) and `--query-remapped-rows` (a row per GPU).

use super::field::Value::{Details, Sample};
use super::field::{n, timestamp, Field, OfGpu, TIMESTAMP};
use crate::sample::{FieldKey, GpuProcess, GpuSample, RetiredPage, RetirementCause, Snapshot};
use crate::text::units::mib;

/// A compute app, by position in the snapshot (the field table is `'static`, rows are not).
/// `process` is `None` on the one row of a GPU whose processes NVML could not list: its
/// process fields read `[N/A]`, so "unknown" never looks like "no processes".
pub struct AppRow {
    pub(super) gpu: usize,
    pub(super) process: Option<usize>,
}

impl OfGpu for AppRow {
    fn gpu<'s>(&'s self, s: &'s Snapshot) -> &'s GpuSample {
        &s.gpus[self.gpu]
    }
}

impl AppRow {
    fn process<'s>(&self, s: &'s Snapshot) -> Option<&'s GpuProcess> {
        s.gpus[self.gpu].processes.as_ref()?.get(self.process?)
    }
}

/// nvidia-smi shows the process's argv[0], which is what `ps` shows first too.
fn process_name(p: &GpuProcess) -> Option<String> {
    let argv0 = p.command.as_deref().and_then(|c| c.split(' ').next()).filter(|a| !a.is_empty());
    argv0.map(str::to_string).or_else(|| p.name.clone())
}

pub(super) const APP_FIELDS: &[Field<AppRow>] = &[
    Field {
        names: &["timestamp"],
        unit: None,
        missing: None,
        about: TIMESTAMP,
        value: Sample(|_, s| timestamp(s)),
    },
    Field {
        names: &["gpu_name"],
        unit: None,
        missing: Some(FieldKey::Name),
        about: "The product name of the GPU (the process's, for --query-compute-apps).",
        value: Sample(|a, s| a.gpu(s).name.clone()),
    },
    Field {
        names: &["gpu_bus_id"],
        unit: None,
        missing: Some(FieldKey::PciBusId),
        about: "The PCI bus id of the GPU (the process's, for --query-compute-apps).",
        value: Sample(|a, s| a.gpu(s).pci_bus_id.clone()),
    },
    Field {
        names: &["gpu_uuid"],
        unit: None,
        missing: Some(FieldKey::Uuid),
        about: "The UUID of the GPU (the process's, for --query-compute-apps).",
        value: Sample(|a, s| a.gpu(s).uuid.clone()),
    },
    Field {
        names: &["pid"],
        unit: None,
        missing: None,
        about: "The process's id.",
        value: Sample(|a, s| a.process(s).map(|p| p.pid.to_string())),
    },
    Field {
        names: &["process_name", "name"],
        unit: None,
        missing: None,
        about: "The process's name (its argv[0]).",
        value: Sample(|a, s| a.process(s).and_then(process_name)),
    },
    Field {
        names: &["used_gpu_memory", "used_memory"],
        unit: Some("MiB"),
        missing: None,
        about: "GPU memory the process uses.",
        value: Sample(|a, s| n(a.process(s).and_then(|p| p.gpu_memory_bytes).map(mib))),
    },
];

/// A retired page, by position in the snapshot; `page` is `None` on the one row of a GPU
/// whose retired pages NVML could not give (it does not retire pages, or refused).
pub struct PageRow {
    pub(super) gpu: usize,
    pub(super) page: Option<usize>,
}

impl OfGpu for PageRow {
    fn gpu<'s>(&'s self, s: &'s Snapshot) -> &'s GpuSample {
        &s.gpus[self.gpu]
    }
}

impl PageRow {
    fn page(&self, s: &Snapshot) -> Option<RetiredPage> {
        let pages = s.gpus[self.gpu].details.as_ref()?.retired_pages.as_ref()?;
        pages.get(self.page?).copied()
    }
}

pub(super) const RETIRED_PAGE_FIELDS: &[Field<PageRow>] = &[
    Field {
        names: &["timestamp"],
        unit: None,
        missing: None,
        about: TIMESTAMP,
        value: Sample(|_, s| timestamp(s)),
    },
    Field {
        names: &["gpu_name"],
        unit: None,
        missing: Some(FieldKey::Name),
        about: "The product name of the GPU (the process's, for --query-compute-apps).",
        value: Sample(|p, s| p.gpu(s).name.clone()),
    },
    Field {
        names: &["gpu_bus_id"],
        unit: None,
        missing: Some(FieldKey::PciBusId),
        about: "The PCI bus id of the GPU (the process's, for --query-compute-apps).",
        value: Sample(|p, s| p.gpu(s).pci_bus_id.clone()),
    },
    Field {
        names: &["gpu_serial"],
        unit: None,
        missing: Some(FieldKey::Serial),
        about: "The serial number of the GPU's board.",
        value: Details(|d| d.serial.clone()),
    },
    Field {
        names: &["gpu_uuid"],
        unit: None,
        missing: Some(FieldKey::Uuid),
        about: "The UUID of the GPU (the process's, for --query-compute-apps).",
        value: Sample(|p, s| p.gpu(s).uuid.clone()),
    },
    Field {
        names: &["retired_pages.address", "retired_pages.addr"],
        unit: None,
        missing: Some(FieldKey::RetiredPages),
        about: "The retired page's address, in hex.",
        value: Sample(|p, s| p.page(s).map(|page| format!("0x{:016X}", page.address))),
    },
    Field {
        names: &["retired_pages.cause"],
        unit: None,
        missing: Some(FieldKey::RetiredPages),
        about: "Why the page was retired: Single Bit ECC (several errors) or Double Bit ECC.",
        value: Sample(|p, s| {
            p.page(s).map(|page| match page.cause {
                RetirementCause::MultipleSingleBitEcc => "Single Bit ECC".to_string(),
                RetirementCause::DoubleBitEcc => "Double Bit ECC".to_string(),
            })
        }),
    },
];

/// `--query-remapped-rows`: a row per GPU. Pending and failure read 1 or 0 here, as nvidia-smi
/// prints them for this query (`--query-gpu` says Yes or No).
pub(super) const REMAPPED_ROW_FIELDS: &[Field<GpuSample>] = &[
    Field {
        names: &["timestamp"],
        unit: None,
        missing: None,
        about: TIMESTAMP,
        value: Sample(|_, s| timestamp(s)),
    },
    Field {
        names: &["gpu_name"],
        unit: None,
        missing: Some(FieldKey::Name),
        about: "The product name of the GPU (the process's, for --query-compute-apps).",
        value: Sample(|g, _| g.name.clone()),
    },
    Field {
        names: &["gpu_bus_id"],
        unit: None,
        missing: Some(FieldKey::PciBusId),
        about: "The PCI bus id of the GPU (the process's, for --query-compute-apps).",
        value: Sample(|g, _| g.pci_bus_id.clone()),
    },
    Field {
        names: &["gpu_serial"],
        unit: None,
        missing: Some(FieldKey::Serial),
        about: "The serial number of the GPU's board.",
        value: Details(|d| d.serial.clone()),
    },
    Field {
        names: &["gpu_uuid"],
        unit: None,
        missing: Some(FieldKey::Uuid),
        about: "The UUID of the GPU (the process's, for --query-compute-apps).",
        value: Sample(|g, _| g.uuid.clone()),
    },
    super::details::REMAPPED_CORRECTABLE,
    super::details::REMAPPED_UNCORRECTABLE,
    Field {
        names: &["remapped_rows.pending"],
        unit: None,
        missing: Some(FieldKey::RemappedRows),
        about: "Whether a row remapping waits for a GPU reset: Yes or No (1 or 0 in --query-remapped-rows).",
        value: Details(|d| d.remapped_rows.map(|r| u8::from(r.pending).to_string())),
    },
    Field {
        names: &["remapped_rows.failure"],
        unit: None,
        missing: Some(FieldKey::RemappedRows),
        about: "Whether a row remapping has failed: Yes or No (1 or 0 in --query-remapped-rows).",
        value: Details(|d| d.remapped_rows.map(|r| u8::from(r.failed).to_string())),
    },

];
