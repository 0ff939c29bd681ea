//! The properties of an AMD or Intel GPU that `--query-gpu` and `health` read, where the kernel
//! has them: the PCIe link from the PCI device's own attributes (`current_link_width`,
//! `max_link_width`, `current_link_speed`, `max_link_speed`: every PCIe device has them, see
//! `Documentation/ABI/testing/sysfs-bus-pci`), and for amdgpu the pages its RAS retired
//! (`ras/gpu_vram_bad_pages`, one `address : size : flag` line each, `R` reserved, `P` pending,
//! `F` failed; `Documentation/gpu/amdgpu/ras.rst`).
//!
//! An AMD GPU on Navi or Instinct boards sits behind a PCIe switch of AMD's own on the board
//! (an upstream and a downstream port, vendor 0x1002, class 0x0604), and a discrete Intel Arc
//! behind one of Intel's: the GPU function's own link is the one inside the board (on Arc it
//! reads 2.5 GT/s x1). The link to the machine is the switch's upstream port's, so the link is
//! read from the topmost bridge of the GPU's own vendor above it in the sysfs device path, as
//! amdgpu itself skips those bridges to find its link partner
//! (`amdgpu_device_partner_bandwidth` in `drivers/gpu/drm/amd/amdgpu/amdgpu_device.c`); never
//! the root port (its parent is the host bridge, no PCI function), whose maximum is the slot's,
//! not the card's.

use std::path::{Path, PathBuf};

use super::cards::{number, read, Card, Driver};
use crate::sample::Details;

/// The details of `card`, read now.
pub fn read_details(card: &Card) -> Details {
    let link = outermost_own_bridge(&card.device, card.vendor_id);
    let d = &link;
    let bad_pages = match card.driver {
        Driver::Amdgpu => bad_page_flags(&card.device.join("ras/gpu_vram_bad_pages")),
        Driver::I915 | Driver::Xe => None,
    };
    let bad_pages = bad_pages.as_deref();
    let gen = |name: &str| read(&d.join(name)).as_deref().and_then(pcie_gen);
    let width = |name: &str| number(&d.join(name)).filter(|&w| w > 0).map(|w| w as u32);
    Details {
        pcie_link_gen_current: gen("current_link_speed"),
        pcie_link_gen_max: gen("max_link_speed"),
        pcie_link_width_current: width("current_link_width"),
        pcie_link_width_max: width("max_link_width"),
        retired_pages_pending: bad_pages.map(|flags| flags.contains(&'P')),
        retired_pages_failed: bad_pages.map(|flags| flags.contains(&'F')),
        ..Details::default()
    }
}

/// The PCI device whose link is the GPU's link to the machine: walking up the canonical
/// sysfs path (`/sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/0000:02:00.0/0000:03:00.0`)
/// while the parent is a PCI bridge of the GPU's own vendor that is not a root port, the
/// topmost such bridge; else the device itself.
fn outermost_own_bridge(device: &Path, vendor_id: u16) -> PathBuf {
    let Ok(mut at) = std::fs::canonicalize(device) else { return device.to_path_buf() };
    let vendor = format!("0x{vendor_id:04x}");
    while let Some(parent) = at.parent() {
        let attribute = |dir: &Path, name: &str| read(&dir.join(name));
        let own = attribute(parent, "vendor").as_deref() == Some(vendor.as_str());
        let bridge = attribute(parent, "class").is_some_and(|c| c.starts_with("0x0604"));
        // A root port's parent is the host bridge's directory, which is no PCI function.
        let root_port = parent.parent().is_none_or(|up| !up.join("vendor").exists());
        if !(own && bridge) || root_port {
            break;
        }
        at = parent.to_path_buf();
    }
    at
}

/// The PCIe generation of a link speed as sysfs writes it, `16.0 GT/s PCIe`.
fn pcie_gen(speed: &str) -> Option<u32> {
    let gts: f64 = speed.split_whitespace().next()?.parse().ok()?;
    [(2.5, 1), (5.0, 2), (8.0, 3), (16.0, 4), (32.0, 5), (64.0, 6)]
        .iter()
        .find(|(rate, _)| (gts - rate).abs() < 0.01)
        .map(|&(_, gen)| gen)
}

/// The flag of each bad page (`R` reserved, `P` pending, `F` failed to be reserved); `None`
/// where the file is absent (no RAS).
fn bad_page_flags(path: &Path) -> Option<Vec<char>> {
    let text = read(path)?;
    let flag = |line: &str| line.rsplit(':').next().map(str::trim)?.chars().next();
    Some(text.lines().filter(|l| l.contains(':')).filter_map(flag).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_amd_gpus_link_is_its_boards_switchs_upstream_port() {
        let sys = tempfile::tempdir().unwrap();
        let devices = sys.path().join("devices/pci0000:00");
        let function = |path: &str, vendor: &str, class: &str, gts: &str, width: &str| {
            let d = devices.join(path);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("vendor"), format!("{vendor}\n")).unwrap();
            std::fs::write(d.join("class"), format!("{class}\n")).unwrap();
            std::fs::write(d.join("current_link_speed"), format!("{gts} GT/s PCIe\n")).unwrap();
            std::fs::write(d.join("max_link_speed"), "32.0 GT/s PCIe\n").unwrap();
            std::fs::write(d.join("current_link_width"), format!("{width}\n")).unwrap();
            std::fs::write(d.join("max_link_width"), "16\n").unwrap();
        };
        // The CPU's root port (AMD the CPU maker, 0x1022), then the board's switch.
        function("0000:00:01.1", "0x1022", "0x060400", "8.0", "8");
        function("0000:00:01.1/0000:01:00.0", "0x1002", "0x060400", "8.0", "8");
        function("0000:00:01.1/0000:01:00.0/0000:02:00.0", "0x1002", "0x060400", "32.0", "16");
        let gpu = "0000:00:01.1/0000:01:00.0/0000:02:00.0/0000:03:00.0";
        function(gpu, "0x1002", "0x030000", "32.0", "16");
        let drm = sys.path().join("class/drm/card0");
        std::fs::create_dir_all(&drm).unwrap();
        std::os::unix::fs::symlink(devices.join(gpu), drm.join("device")).unwrap();
        let card = Card {
            dir: drm.clone(),
            device: drm.join("device"),
            driver: Driver::Amdgpu,
            vendor_id: 0x1002,
            device_id: 0x744c,
            revision: None,
            pci_bus_id: Some("0000:03:00.0".into()),
            minors: vec![0],
            hwmon: None,
        };
        let ras = devices.join(gpu).join("ras");
        std::fs::create_dir_all(&ras).unwrap();
        std::fs::write(ras.join("gpu_vram_bad_pages"), "0x00000003 : 0x00001000 : F\n").unwrap();
        let d = read_details(&card);
        assert_eq!((d.retired_pages_failed, d.retired_pages_pending), (Some(true), Some(false)));
        assert_eq!((d.pcie_link_gen_current, d.pcie_link_width_current), (Some(3), Some(8)));
        assert_eq!((d.pcie_link_gen_max, d.pcie_link_width_max), (Some(5), Some(16)));
        // A card of another vendor under these bridges reads its own link; so does a GPU with
        // no bridge above it.
        let intel = read_details(&Card { driver: Driver::Xe, vendor_id: 0x8086, ..card.clone() });
        assert_eq!(intel.pcie_link_gen_current, Some(5));
        // An Arc behind Intel's switch on an Intel root port: the switch's upstream port, not
        // the root port (whose maximum is the slot's) nor the GPU's x1 inside the board.
        function("0000:00:01.0", "0x8086", "0x060400", "16.0", "16");
        function("0000:00:01.0/0000:05:00.0", "0x8086", "0x060400", "16.0", "8");
        function("0000:00:01.0/0000:05:00.0/0000:06:01.0", "0x8086", "0x060400", "2.5", "1");
        let arc = "0000:00:01.0/0000:05:00.0/0000:06:01.0/0000:07:00.0";
        function(arc, "0x8086", "0x030000", "2.5", "1");
        let arc = Card {
            device: devices.join(arc),
            driver: Driver::Xe,
            vendor_id: 0x8086,
            ..card.clone()
        };
        let d = read_details(&arc);
        assert_eq!((d.pcie_link_gen_current, d.pcie_link_width_current), (Some(4), Some(8)));
        let plain = sys.path().join("plain");
        function("../../plain", "0x1002", "0x030000", "16.0", "16");
        let alone = read_details(&Card { device: plain, ..card });
        assert_eq!(alone.pcie_link_gen_current, Some(4));
    }

    #[test]
    fn link_speeds_are_generations() {
        assert_eq!(pcie_gen("16.0 GT/s PCIe"), Some(4));
        assert_eq!(pcie_gen("2.5 GT/s PCIe"), Some(1));
        assert_eq!(pcie_gen("Unknown"), None);
    }

    #[test]
    fn bad_pages_pending_and_failed_and_no_file_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gpu_vram_bad_pages");
        assert_eq!(bad_page_flags(&path), None);
        std::fs::write(&path, "0x00000001 : 0x00001000 : R\n").unwrap();
        assert_eq!(bad_page_flags(&path), Some(vec!['R']));
        let text = "0x00000001 : 0x00001000 : R\n0x00000002 : 0x00001000 : P\n\
                    0x00000003 : 0x00001000 : F\n";
        std::fs::write(&path, text).unwrap();
        assert_eq!(bad_page_flags(&path), Some(vec!['R', 'P', 'F']));
    }
}
