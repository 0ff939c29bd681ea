//! ROCm compute processes, which the DRM fdinfo does not always show: the KFD driver lists
//! each process using the GPUs under `/sys/class/kfd/kfd/proc/<pid>/` with its device memory
//! per GPU in `vram_<gpu_id>` (bytes); a GPU's `gpu_id` and PCI address are in the topology,
//! `/sys/class/kfd/kfd/topology/nodes/<n>/gpu_id` and `properties` (`domain`, `location_id`:
//! bus << 8 | device << 3 | function).

use std::collections::BTreeMap;
use std::path::Path;

use super::cards::{number, read};

/// The KFD directory in sysfs.
pub const KFD: &str = "/sys/class/kfd/kfd";

/// The GPUs KFD knows, `gpu_id` → PCI address: fixed while the driver is loaded, so read
/// once, not with every sample.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    gpus: Vec<(u64, String)>,
}

impl Topology {
    pub fn read(kfd: &Path) -> Self {
        Self { gpus: gpu_addresses(&kfd.join("topology/nodes")) }
    }
}

/// PCI address → (PID → device memory bytes) for every process KFD lists.
pub fn compute_processes(kfd: &Path, topology: &Topology) -> BTreeMap<String, BTreeMap<u32, u64>> {
    let gpus = &topology.gpus;
    let mut out: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
    if gpus.is_empty() {
        return out;
    }
    let Ok(procs) = std::fs::read_dir(kfd.join("proc")) else { return out };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        for (gpu_id, address) in gpus {
            if let Some(bytes) = number(&p.path().join(format!("vram_{gpu_id}"))) {
                out.entry(address.clone()).or_default().insert(pid, bytes);
            }
        }
    }
    out
}

/// `gpu_id` → PCI address of each GPU node (CPU nodes have `gpu_id` 0).
fn gpu_addresses(nodes: &Path) -> Vec<(u64, String)> {
    let Ok(entries) = std::fs::read_dir(nodes) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|node| {
            let gpu_id = number(&node.path().join("gpu_id")).filter(|&id| id != 0)?;
            let properties = read(&node.path().join("properties"))?;
            let property = |key: &str| {
                properties.lines().find_map(|l| {
                    let (k, v) = l.split_once(' ')?;
                    (k == key).then(|| v.trim().parse::<u64>().ok()).flatten()
                })
            };
            let location = property("location_id")?;
            let domain = property("domain").unwrap_or(0);
            let (bus, device, function) = (location >> 8, (location >> 3) & 0x1f, location & 7);
            Some((gpu_id, format!("{domain:04x}:{bus:02x}:{device:02x}.{function}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_by_the_gpus_pci_address() {
        let dir = tempfile::tempdir().unwrap();
        let kfd = dir.path();
        let node = |n: u32, gpu_id: u64, location: u64| {
            let d = kfd.join(format!("topology/nodes/{n}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("gpu_id"), format!("{gpu_id}\n")).unwrap();
            let props =
                format!("cpu_cores_count 0\nsimd_count 192\nlocation_id {location}\ndomain 0\n");
            std::fs::write(d.join("properties"), props).unwrap();
        };
        node(0, 0, 0);
        node(1, 48_879, 0x0300); // 0000:03:00.0
        node(2, 12_345, 0x8308); // 0000:83:01.0
        let proc_ = kfd.join("proc/4242");
        std::fs::create_dir_all(&proc_).unwrap();
        std::fs::write(proc_.join("vram_48879"), "1073741824\n").unwrap();
        std::fs::write(proc_.join("pasid"), "32770\n").unwrap();
        std::fs::create_dir_all(kfd.join("proc/not-a-pid")).unwrap();
        let found = compute_processes(kfd, &Topology::read(kfd));
        assert_eq!(found.len(), 1);
        assert_eq!(found["0000:03:00.0"][&4242], 1 << 30);
        assert_eq!(gpu_addresses(&kfd.join("topology/nodes")).len(), 2);
        let missing = kfd.join("missing");
        assert!(compute_processes(&missing, &Topology::read(&missing)).is_empty());
    }
}
