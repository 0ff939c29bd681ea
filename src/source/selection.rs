//! `--id 0,2,GPU-…`: which GPUs to show, by index, UUID or PCI bus id (as nvidia-smi's `-i`).

use std::str::FromStr;

use super::SourceError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuSelector {
    Index(u32),
    Uuid(String),
    PciBusId(String),
}

impl FromStr for GpuSelector {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty GPU id".into());
        }
        if let Ok(i) = s.parse() {
            return Ok(Self::Index(i));
        }
        if s.starts_with("GPU-") || s.starts_with("MIG-") {
            return Ok(Self::Uuid(s.to_string()));
        }
        if s.contains(':') {
            return Ok(Self::PciBusId(s.to_string()));
        }
        Err(format!("`{s}` is not a GPU index, UUID (GPU-…) or PCI bus id"))
    }
}

impl std::fmt::Display for GpuSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Index(i) => write!(f, "{i}"),
            Self::Uuid(s) | Self::PciBusId(s) => f.write_str(s),
        }
    }
}

/// Identity of a GPU, fetched only when a selector needs more than its index.
#[derive(Clone)]
pub struct GpuIdentity {
    pub uuid: Option<String>,
    pub pci_bus_id: Option<String>,
    /// The UUIDs of its MIG devices: naming one selects the GPU.
    pub mig_uuids: Vec<String>,
}

impl GpuSelector {
    /// Whether this selector names `gpu`.
    pub fn names(&self, gpu: &crate::sample::GpuSample) -> bool {
        self.matches(gpu.index, &mut |_| GpuIdentity {
            uuid: gpu.uuid.clone(),
            pci_bus_id: gpu.pci_bus_id.clone(),
            mig_uuids: gpu.mig_instances.iter().flatten().filter_map(|m| m.uuid.clone()).collect(),
        })
    }

    /// Whether this selector names GPU `index`, whose identity `identity` fetches if needed.
    pub fn matches(&self, index: u32, identity: &mut dyn FnMut(u32) -> GpuIdentity) -> bool {
        match self {
            Self::Index(i) => *i == index,
            Self::Uuid(u) => {
                let id = identity(index);
                id.uuid.as_deref() == Some(u.as_str()) || id.mig_uuids.contains(u)
            }
            Self::PciBusId(b) => identity(index).pci_bus_id.is_some_and(|id| same_bus_id(&id, b)),
        }
    }
}

/// nvidia-smi accepts "00000000:01:00.0" and the short "01:00.0" for the same GPU.
fn same_bus_id(full: &str, given: &str) -> bool {
    let (full, given) = (canonical_bus_id(full), canonical_bus_id(given));
    full == given || full.ends_with(&format!(":{given}")) && given.matches(':').count() == 1
}

/// A bus id with its domain as the kernel writes it, 4 digits: NVML's `00000000:03:00.0` and
/// sysfs's `0000:03:00.0` are the same function.
fn canonical_bus_id(id: &str) -> String {
    let id = id.to_ascii_lowercase();
    match id.split_once(':') {
        Some((domain, rest)) if rest.contains(':') && domain.len() > 4 => {
            match u32::from_str_radix(domain, 16) {
                Ok(d) => format!("{d:04x}:{rest}"),
                Err(_) => id,
            }
        }
        _ => id,
    }
}

/// Resolves selectors to GPU indices in selection order (all GPUs when there are none).
pub fn resolve(
    selectors: &[GpuSelector],
    count: u32,
    mut identity: impl FnMut(u32) -> GpuIdentity,
) -> Result<Vec<u32>, SourceError> {
    if selectors.is_empty() {
        return Ok((0..count).collect());
    }
    let mut indices = Vec::with_capacity(selectors.len());
    for sel in selectors {
        let found = (0..count).find(|&i| sel.matches(i, &mut identity));
        match found {
            Some(i) if !indices.contains(&i) => indices.push(i),
            Some(_) => {}
            None => return Err(SourceError::NoSuchGpu(sel.to_string())),
        }
    }
    Ok(indices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(i: u32) -> GpuIdentity {
        GpuIdentity {
            uuid: Some(format!("GPU-{i}")),
            pci_bus_id: Some(format!("00000000:0{}:00.0", i + 1)),
            mig_uuids: vec![format!("MIG-{i}")],
        }
    }

    #[test]
    fn parses_each_kind_of_id() {
        assert_eq!("2".parse(), Ok(GpuSelector::Index(2)));
        assert_eq!("GPU-abc".parse(), Ok(GpuSelector::Uuid("GPU-abc".into())));
        assert_eq!("01:00.0".parse(), Ok(GpuSelector::PciBusId("01:00.0".into())));
        assert!("banana".parse::<GpuSelector>().is_err());
    }

    #[test]
    fn resolves_in_the_given_order_without_duplicates() {
        let sel: Vec<GpuSelector> =
            ["2", "GPU-0", "2", "02:00.0"].iter().map(|s| s.parse().unwrap()).collect();
        assert_eq!(resolve(&sel, 4, ids).unwrap(), vec![2, 0, 1]);
        assert_eq!(resolve(&[], 3, ids).unwrap(), vec![0, 1, 2]);
        let mig: Vec<GpuSelector> = vec!["MIG-3".parse().unwrap()];
        assert_eq!(resolve(&mig, 4, ids).unwrap(), vec![3], "a MIG device selects its GPU");
    }

    #[test]
    fn a_bus_id_matches_whichever_width_its_domain_is_written() {
        assert!(same_bus_id("0000:10:00.0", "00000000:10:00.0"));
        assert!(same_bus_id("00000000:10:00.0", "0000:10:00.0"));
        assert!(same_bus_id("0000:10:00.0", "10:00.0"));
        assert!(!same_bus_id("0000:10:00.0", "00000001:10:00.0"));
    }

    #[test]
    fn unknown_gpu_is_an_error_naming_it() {
        let err = resolve(&[GpuSelector::Index(7)], 4, ids).unwrap_err();
        assert_eq!(err.to_string(), "no GPU matches --id 7");
    }
}
