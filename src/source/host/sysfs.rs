//! What the host's sysfs says about an NVIDIA GPU that NVML does not: the PCIe generation
//! its slot's port supports (nvidia-smi's `pcie.link.gen.hostmax`) and the kernel module's
//! version (`kmd_version`).

use std::path::Path;

/// The highest PCIe generation of the port a GPU sits behind: its parent in the sysfs device
/// tree, `max_link_speed` (`32.0 GT/s PCIe` is generation 5). `bus_id` is NVML's form
/// (`00000000:01:00.0`). `None` where the host does not say (a VM without the port, no sysfs)
/// or the device at that address is not NVIDIA's.
pub fn host_max_pcie_gen(bus_id: &str) -> Option<u32> {
    let id = bus_id.get(bus_id.len().checked_sub(12)?..)?.to_ascii_lowercase();
    let device = std::fs::canonicalize(Path::new("/sys/bus/pci/devices").join(id)).ok()?;
    // Only NVIDIA's device at that address is the GPU.
    let vendor = std::fs::read_to_string(device.join("vendor")).ok()?;
    if vendor.trim() != "0x10de" {
        return None;
    }
    let speed = std::fs::read_to_string(device.parent()?.join("max_link_speed")).ok()?;
    generation(&speed)
}

/// `8.0 GT/s PCIe` → 3: the PCIe generation of a link speed.
fn generation(speed: &str) -> Option<u32> {
    let gts: f64 = speed.split_whitespace().next()?.parse().ok()?;
    [2.5, 5.0, 8.0, 16.0, 32.0, 64.0, 128.0]
        .iter()
        .position(|&g| (gts - g).abs() < 0.01)
        .map(|i| i as u32 + 1)
}

/// The loaded NVIDIA kernel module's version.
pub fn kernel_module_version() -> Option<String> {
    let text = std::fs::read_to_string("/sys/module/nvidia/version").ok()?;
    let version = text.trim();
    (!version.is_empty()).then(|| crate::text::sanitize::sanitize(version).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_speeds_are_generations() {
        assert_eq!(generation("2.5 GT/s PCIe\n"), Some(1));
        assert_eq!(generation("16.0 GT/s PCIe"), Some(4));
        assert_eq!(generation("32.0 GT/s PCIe"), Some(5));
        assert_eq!(generation("Unknown"), None);
        assert_eq!(generation("3.0 GT/s"), None);
    }

    #[test]
    fn a_bus_id_the_host_does_not_have_is_unknown() {
        assert_eq!(host_max_pcie_gen("00000000:FE:1F.7"), None);
        assert_eq!(host_max_pcie_gen("short"), None);
    }
}
