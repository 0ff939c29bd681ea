//! The AMD and Intel GPUs of this machine, from the kernel's DRM class in sysfs:
//! `/sys/class/drm/cardN` is a GPU, `cardN/device` its PCI function (`vendor`, `device`,
//! `revision`, and `uevent` with `DRIVER=` and `PCI_SLOT_NAME=`), `cardN/device/drm/renderD*`
//! its render node, `cardN/device/hwmon/hwmon*` its sensors (`Documentation/gpu/amdgpu/
//! thermal.rst`, `Documentation/hwmon/sysfs-interface.rst`). NVIDIA's cards are NVML's; a card
//! on any other driver (a virtual display, nouveau) is left out.

use std::path::{Path, PathBuf};

use crate::sample::{MissingReason, Vendor};

/// The kernel driver a card is read through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Amdgpu,
    I915,
    Xe,
}

impl Driver {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "amdgpu" => Some(Self::Amdgpu),
            "i915" => Some(Self::I915),
            "xe" => Some(Self::Xe),
            _ => None,
        }
    }

    pub fn vendor(self) -> Vendor {
        match self {
            Self::Amdgpu => Vendor::Amd,
            Self::I915 | Self::Xe => Vendor::Intel,
        }
    }

    /// The reason a value this driver has no file for is missing.
    pub fn not_provided(self) -> MissingReason {
        match self {
            Self::Amdgpu => MissingReason::NotProvidedByAmdgpu,
            Self::I915 => MissingReason::NotProvidedByI915,
            Self::Xe => MissingReason::NotProvidedByXe,
        }
    }
}

/// One AMD or Intel GPU.
#[derive(Debug, Clone)]
pub struct Card {
    /// `/sys/class/drm/cardN`.
    pub dir: PathBuf,
    /// `/sys/class/drm/cardN/device`: the PCI function.
    pub device: PathBuf,
    pub driver: Driver,
    pub vendor_id: u16,
    pub device_id: u16,
    pub revision: Option<u8>,
    pub pci_bus_id: Option<String>,
    /// The minor numbers of its device files (`card`N and `renderD`M), which its clients'
    /// fds open.
    pub minors: Vec<u32>,
    pub hwmon: Option<PathBuf>,
}

/// The sysfs directory of the DRM class.
pub const DRM_CLASS: &str = "/sys/class/drm";

/// The AMD and Intel cards under `class` (the real one is [`DRM_CLASS`]), in PCI address
/// order: the order ROCm's runtime and Level Zero (with `ZE_ENABLE_PCI_ID_DEVICE_ORDER`)
/// number them in, whereas `cardN` follows the order the drivers probed them.
pub fn discover(class: &Path) -> Vec<Card> {
    let Ok(entries) = std::fs::read_dir(class) else { return Vec::new() };
    let mut cards: Vec<(u32, Card)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            // `card0`, not the connectors `card0-DP-1`.
            let minor: u32 = name.to_str()?.strip_prefix("card")?.parse().ok()?;
            Some((minor, card(&e.path(), minor)?))
        })
        .collect();
    cards.sort_by_key(|(minor, card)| (card.pci_bus_id.as_deref().map(pci_order), *minor));
    cards.into_iter().map(|(_, c)| c).collect()
}

/// A PCI address `dddd:bb:dd.f` as numbers to sort by (a domain may have more digits).
fn pci_order(address: &str) -> Vec<u32> {
    address
        .split([':', '.'])
        .map(|part| u32::from_str_radix(part, 16).unwrap_or(u32::MAX))
        .collect()
}

fn card(dir: &Path, minor: u32) -> Option<Card> {
    let device = dir.join("device");
    let uevent = read(&device.join("uevent")).unwrap_or_default();
    let field = |key: &str| {
        uevent.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=')).map(str::to_string)
    };
    let driver = Driver::from_name(&field("DRIVER")?)?;
    let vendor_id = hex(&device.join("vendor"))? as u16;
    let expected = match driver.vendor() {
        Vendor::Amd => 0x1002,
        Vendor::Intel => 0x8086,
        Vendor::Nvidia => return None,
    };
    if vendor_id != expected {
        return None;
    }
    let mut minors = vec![minor];
    if let Ok(nodes) = std::fs::read_dir(device.join("drm")) {
        minors.extend(
            nodes.flatten().filter_map(|e| {
                e.file_name().to_str()?.strip_prefix("renderD")?.parse::<u32>().ok()
            }),
        );
    }
    Some(Card {
        dir: dir.to_path_buf(),
        driver,
        vendor_id,
        device_id: hex(&device.join("device"))? as u16,
        revision: hex(&device.join("revision")).map(|r| r as u8),
        pci_bus_id: field("PCI_SLOT_NAME").map(|s| s.to_ascii_lowercase()),
        minors,
        hwmon: first_hwmon(&device),
        device,
    })
}

/// The card's hwmon directory (`device/hwmon/hwmonN`), the first if there are several.
fn first_hwmon(device: &Path) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(device.join("hwmon"))
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with("hwmon")))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs.into_iter().next()
}

/// Whether the PCI function no longer answers: its config space (`device/config`) reads all
/// ones, 0xffff for the vendor ID in its first two bytes, as it does for a device that fell
/// off the bus. sysfs's `vendor` file keeps the value read at probe time, so it cannot tell.
/// A config space that cannot be read says nothing, and a runtime-suspended GPU's is not
/// read (the read would wake it: a laptop's idle discrete GPU).
pub fn fell_off_the_bus(device: &Path) -> bool {
    use std::io::Read;
    if read(&device.join("power/runtime_status")).as_deref() == Some("suspended") {
        return false;
    }
    let mut vendor = [0u8; 2];
    std::fs::File::open(device.join("config"))
        .and_then(|mut f| f.read_exact(&mut vendor))
        .is_ok_and(|()| vendor == [0xff, 0xff])
}

/// A sysfs attribute, trimmed: these are a line each, so a few KiB bound any of them.
pub fn read(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path).ok()?.take(64 << 10).read_to_string(&mut text).ok()?;
    Some(text.trim().to_string())
}

/// A sysfs attribute that is one number.
pub fn number(path: &Path) -> Option<u64> {
    read(path)?.parse().ok()
}

/// A hexadecimal attribute, `0x1002`.
fn hex(path: &Path) -> Option<u32> {
    let text = read(path)?;
    u32::from_str_radix(text.strip_prefix("0x").unwrap_or(&text), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn amd_and_intel_cards_are_found_and_others_left_out() {
        let class = tempfile::tempdir().unwrap();
        let c = class.path();
        let pci = |card: &str, driver: &str, vendor: &str, device: &str, slot: &str| {
            let d = c.join(card).join("device");
            write(&d.join("uevent"), &format!("DRIVER={driver}\nPCI_SLOT_NAME={slot}\n"));
            write(&d.join("vendor"), &format!("{vendor}\n"));
            write(&d.join("device"), &format!("{device}\n"));
            write(&d.join("revision"), "0xc8\n");
        };
        pci("card1", "amdgpu", "0x1002", "0x744c", "0000:03:00.0");
        std::fs::create_dir_all(c.join("card1/device/drm/renderD129")).unwrap();
        std::fs::create_dir_all(c.join("card1/device/hwmon/hwmon4")).unwrap();
        pci("card0", "nvidia", "0x10de", "0x2330", "0000:01:00.0");
        pci("card2", "i915", "0x8086", "0x56a0", "0000:04:00.0");
        pci("card3", "virtio-pci", "0x1af4", "0x1050", "0000:05:00.0");
        std::fs::create_dir_all(c.join("card1-DP-1")).unwrap();
        // A card claiming amdgpu with another vendor's ID is not taken for AMD's.
        pci("card4", "amdgpu", "0x8086", "0x744c", "0000:06:00.0");
        let cards = discover(c);
        let found: Vec<_> =
            cards.iter().map(|c| (c.driver, c.device_id, c.minors.clone())).collect();
        assert_eq!(
            found,
            [(Driver::Amdgpu, 0x744c, vec![1, 129]), (Driver::I915, 0x56a0, vec![2])]
        );
        // Numbered out of PCI order (card5 at 0000:02:00.0, before card1's 03): PCI order.
        pci("card5", "xe", "0x8086", "0xe20b", "0000:02:00.0");
        pci("card6", "amdgpu", "0x1002", "0x74a1", "10000:01:00.0");
        let order: Vec<_> = discover(c).iter().map(|c| c.pci_bus_id.clone().unwrap()).collect();
        assert_eq!(order, ["0000:02:00.0", "0000:03:00.0", "0000:04:00.0", "10000:01:00.0"]);
        assert_eq!(cards[0].pci_bus_id.as_deref(), Some("0000:03:00.0"));
        assert_eq!(cards[0].revision, Some(0xc8));
        assert!(cards[0].hwmon.as_ref().unwrap().ends_with("hwmon4"));
        assert!(discover(&c.join("missing")).is_empty());
    }

    #[test]
    fn a_config_space_of_all_ones_fell_off_the_bus() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!fell_off_the_bus(dir.path()), "no config file says nothing");
        std::fs::write(dir.path().join("config"), [0x02, 0x10, 0x4c, 0x74]).unwrap();
        assert!(!fell_off_the_bus(dir.path()));
        std::fs::write(dir.path().join("config"), [0xff; 64]).unwrap();
        assert!(fell_off_the_bus(dir.path()));
        std::fs::create_dir(dir.path().join("power")).unwrap();
        std::fs::write(dir.path().join("power/runtime_status"), "suspended\n").unwrap();
        assert!(!fell_off_the_bus(dir.path()), "not woken to be checked");
    }
}
