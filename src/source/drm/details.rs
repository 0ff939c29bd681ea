//! The properties of an AMD or Intel GPU that `--query-gpu` and `health` read, where the kernel
//! has them: the PCIe link from the PCI device's own attributes (`current_link_width`,
//! `max_link_width`, `current_link_speed`, `max_link_speed`: every PCIe device has them, see
//! `Documentation/ABI/testing/sysfs-bus-pci`), and for amdgpu the pages its RAS retired
//! (`ras/gpu_vram_bad_pages`, one `address : size : flag` line each, `R` reserved, `P` pending,
//! `F` failed; `Documentation/gpu/amdgpu/ras.rst`).

use std::path::Path;

use super::cards::{number, read, Card, Driver};
use crate::sample::Details;

/// The details of `card`, read now.
pub fn read_details(card: &Card) -> Details {
    let d = &card.device;
    let gen = |name: &str| read(&d.join(name)).as_deref().and_then(pcie_gen);
    let width = |name: &str| number(&d.join(name)).filter(|&w| w > 0).map(|w| w as u32);
    Details {
        pcie_link_gen_current: gen("current_link_speed"),
        pcie_link_gen_max: gen("max_link_speed"),
        pcie_link_width_current: width("current_link_width"),
        pcie_link_width_max: width("max_link_width"),
        retired_pages_pending: match card.driver {
            Driver::Amdgpu => pages_pending(&d.join("ras/gpu_vram_bad_pages")),
            Driver::I915 | Driver::Xe => None,
        },
        ..Details::default()
    }
}

/// The PCIe generation of a link speed as sysfs writes it, `16.0 GT/s PCIe`.
fn pcie_gen(speed: &str) -> Option<u32> {
    let gts: f64 = speed.split_whitespace().next()?.parse().ok()?;
    [(2.5, 1), (5.0, 2), (8.0, 3), (16.0, 4), (32.0, 5), (64.0, 6)]
        .iter()
        .find(|(rate, _)| (gts - rate).abs() < 0.01)
        .map(|&(_, gen)| gen)
}

/// Whether a bad page waits to be retired (`P`); `None` where the file is absent (no RAS).
fn pages_pending(path: &Path) -> Option<bool> {
    let text = read(path)?;
    Some(text.lines().any(|l| l.rsplit(':').next().map(str::trim) == Some("P")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_speeds_are_generations() {
        assert_eq!(pcie_gen("16.0 GT/s PCIe"), Some(4));
        assert_eq!(pcie_gen("2.5 GT/s PCIe"), Some(1));
        assert_eq!(pcie_gen("Unknown"), None);
    }

    #[test]
    fn a_pending_bad_page_is_pending_and_no_file_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gpu_vram_bad_pages");
        assert_eq!(pages_pending(&path), None);
        std::fs::write(&path, "0x00000001 : 0x00001000 : R\n").unwrap();
        assert_eq!(pages_pending(&path), Some(false));
        std::fs::write(&path, "0x00000001 : 0x00001000 : R\n0x00000002 : 0x00001000 : P\n")
            .unwrap();
        assert_eq!(pages_pending(&path), Some(true));
    }
}
