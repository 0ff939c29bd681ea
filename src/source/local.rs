//! This machine's GPUs, every vendor's: NVIDIA's through NVML, then AMD's and Intel's through
//! the kernel (`drm/`), numbered after NVIDIA's. A machine with no AMD or Intel GPU opens NVML
//! alone, exactly as before; one with no NVIDIA driver but an AMD or Intel GPU works without
//! any NVML error.

use std::path::{Path, PathBuf};

use super::drm::DrmSource;
use super::selection::{self, GpuSelector};
use super::{HostLookup, NvmlSource, RecentUtilization, SampleOptions, Source, SourceError};
use crate::sample::{HostInfo, Origin, Snapshot, SCHEMA_VERSION};

/// NVML's GPUs (where its driver is here) and the AMD and Intel ones.
pub struct LocalSource {
    nvml: Option<NvmlSource>,
    drm: DrmSource,
    /// `--id`: the GPUs kept, by index; all when `None`.
    wanted: Option<Vec<u32>>,
    /// Why NVML could not be opened, when its library is installed but failed.
    nvml_failed: Option<String>,
}

/// Opens NVML and the kernel's GPUs: NVML alone where there is no AMD or Intel GPU.
pub fn open(
    library: Option<&Path>,
    host_proc: Option<PathBuf>,
    selection: &[GpuSelector],
    options: SampleOptions,
) -> Result<Box<dyn Source>, SourceError> {
    let nvml_only = |selection: &[GpuSelector]| {
        let mut source = NvmlSource::open(library, selection, options)?;
        source.map_container_pids(host_proc.clone());
        Ok::<_, SourceError>(source)
    };
    // Found once (the name tables are read here): numbered after NVML's GPUs below.
    let Some(mut drm) = DrmSource::discover(0, options) else {
        return Ok(Box::new(nvml_only(selection)?));
    };
    let (nvml, nvml_failed) = match nvml_only(&[]) {
        Ok(source) => (Some(source), None),
        // An NVIDIA GPU on the bus, or a library the user named, that NVML cannot reach is the
        // fault it always was: never hidden behind the other vendors' GPUs (a job would then be
        // given an integrated Intel GPU instead).
        Err(e) if library.is_some() || nvidia_on_pci_bus(Path::new(PCI_DEVICES)) => return Err(e),
        // No NVIDIA library and no NVIDIA GPU: an AMD or Intel machine, not a fault.
        Err(SourceError::LibraryNotLoadable { .. }) => (None, None),
        // The library without its GPU (a driver package left installed): said, not fatal.
        Err(e) => (None, Some(e.to_string())),
    };
    let first = nvml.as_ref().map_or(0, NvmlSource::gpu_count);
    drm.set_first_index(first);
    let count = first + drm.len() as u32;
    let wanted = (!selection.is_empty())
        .then(|| {
            selection::resolve(selection, count, |i| match &nvml {
                Some(n) if i < first => n.identity(i),
                _ => drm.identity(i - first),
            })
        })
        .transpose()?;
    Ok(Box::new(LocalSource { nvml, drm, wanted, nvml_failed }))
}

/// Where the kernel lists the PCI functions.
const PCI_DEVICES: &str = "/sys/bus/pci/devices";

/// Whether an NVIDIA display or 3D controller (vendor 0x10de, class 0x03xxxx) is on the bus.
fn nvidia_on_pci_bus(devices: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(devices) else { return false };
    let attribute = |dir: &Path, name: &str| {
        std::fs::read_to_string(dir.join(name)).map(|s| s.trim().to_ascii_lowercase()).ok()
    };
    entries.flatten().any(|e| {
        let dir = e.path();
        attribute(&dir, "vendor").as_deref() == Some("0x10de")
            && attribute(&dir, "class").is_some_and(|c| c.starts_with("0x03"))
    })
}

impl Source for LocalSource {
    fn sample(&mut self) -> Result<Snapshot, SourceError> {
        let mut snapshot = match &mut self.nvml {
            Some(nvml) => nvml.sample()?,
            None => Snapshot {
                schema_version: SCHEMA_VERSION,
                taken_at: chrono::Utc::now(),
                host: HostInfo { hostname: HostLookup::hostname(), ..HostInfo::default() },
                gpus: Vec::new(),
                hosts: Vec::new(),
                origin: Origin::Live,
                warnings: Vec::new(),
            },
        };
        let (gpus, warnings) = self.drm.sample();
        snapshot.gpus.extend(gpus);
        snapshot.warnings.extend(warnings);
        snapshot.warnings.extend(self.nvml_failed.iter().map(|e| format!("NVIDIA GPUs: {e}")));
        if let Some(wanted) = &self.wanted {
            let mut kept = Vec::with_capacity(wanted.len());
            for index in wanted {
                if let Some(at) = snapshot.gpus.iter().position(|g| g.index == *index) {
                    kept.push(snapshot.gpus.swap_remove(at));
                }
            }
            snapshot.gpus = kept;
        }
        Ok(snapshot)
    }

    /// NVML keeps a buffer of utilization samples; the kernel keeps none for AMD and Intel.
    fn recent_utilization(
        &mut self,
        window: std::time::Duration,
    ) -> Vec<Option<RecentUtilization>> {
        let mut recent = self.nvml.as_mut().map_or_else(Vec::new, |n| n.recent_utilization(window));
        recent.resize(recent.len() + self.drm.len(), None);
        match &self.wanted {
            Some(wanted) => {
                wanted.iter().map(|&i| recent.get(i as usize).copied().flatten()).collect()
            }
            None => recent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_nvidia_gpu_is_found_by_vendor_and_class() {
        let dir = tempfile::tempdir().unwrap();
        let function = |name: &str, vendor: &str, class: &str| {
            let d = dir.path().join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("vendor"), format!("{vendor}\n")).unwrap();
            std::fs::write(d.join("class"), format!("{class}\n")).unwrap();
        };
        // An NVIDIA audio function and an Intel GPU are not an NVIDIA GPU.
        function("0000:01:00.1", "0x10de", "0x040300");
        function("0000:00:02.0", "0x8086", "0x030000");
        assert!(!nvidia_on_pci_bus(dir.path()));
        function("0000:01:00.0", "0x10de", "0x030200");
        assert!(nvidia_on_pci_bus(dir.path()));
        assert!(!nvidia_on_pci_bus(&dir.path().join("missing")));
    }
}
