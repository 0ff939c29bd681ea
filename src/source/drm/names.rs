//! A GPU's marketing name: from libdrm's `amdgpu.ids` (device, revision, name) for AMD, else
//! from the PCI ID database (`pci.ids`), else "AMD GPU 1002:744c". Never a made-up name.
//! Each table is read once per discovery, not once per card (`pci.ids` is about 1.4 MB).
//! The tables are files anyone with write access to them may have planted: a name keeps no
//! control character (an escape sequence would reach terminals and `/metrics` labels raw).

use std::path::Path;

/// Where distributions install libdrm's table.
const AMDGPU_IDS: &[&str] = &[
    "/usr/share/libdrm/amdgpu.ids",
    "/usr/local/share/libdrm/amdgpu.ids",
    "/opt/amdgpu/share/libdrm/amdgpu.ids",
];
/// Where distributions install the PCI ID database.
const PCI_IDS: &[&str] =
    &["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids"];
/// Far more than either file (pci.ids is about 1.4 MB).
const LIMIT: u64 = 16 << 20;

/// The name tables, each read at most once however many cards are named.
#[derive(Default)]
pub struct Tables {
    amdgpu_ids: Option<Option<String>>,
    pci_ids: Option<Option<String>>,
}

impl Tables {
    /// The name of the GPU `vendor:device` (revision `revision`).
    pub fn gpu_name(
        &mut self,
        vendor_label: &str,
        vendor: u16,
        device: u16,
        revision: Option<u8>,
    ) -> String {
        let mut found: Option<String> = None;
        if vendor == 0x1002 {
            let table = self.amdgpu_ids.get_or_insert_with(|| first_file(AMDGPU_IDS));
            found = table.as_deref().zip(revision).and_then(|(t, r)| amdgpu_ids_name(t, device, r));
        }
        if found.is_none() {
            let db = self.pci_ids.get_or_insert_with(|| first_file(PCI_IDS));
            found = db.as_deref().and_then(|db| pci_ids_name(db, vendor, device));
        }
        let found = found
            .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>())
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        match found {
            // `pci.ids` names the chip without the maker: "Navi 31 [Radeon RX 7900 XT/7900 XTX]".
            Some(name) if name.starts_with(vendor_label) => name,
            Some(name) => format!("{vendor_label} {name}"),
            None => format!("{vendor_label} GPU {vendor:04x}:{device:04x}"),
        }
    }
}

fn first_file(paths: &[&str]) -> Option<String> {
    use std::io::Read;
    paths.iter().find_map(|p| {
        let mut text = String::new();
        let file = std::fs::File::open(Path::new(p)).ok()?;
        file.take(LIMIT).read_to_string(&mut text).ok()?;
        Some(text)
    })
}

/// libdrm's table: `744C,\tC8,\tAMD Radeon RX 7900 XTX` (hex device and revision).
fn amdgpu_ids_name(table: &str, device: u16, revision: u8) -> Option<String> {
    table.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let mut fields = line.splitn(3, ',').map(str::trim);
        let d = u16::from_str_radix(fields.next()?, 16).ok()?;
        let r = u8::from_str_radix(fields.next()?, 16).ok()?;
        let name = fields.next()?;
        (d == device && r == revision && !name.is_empty()).then(|| name.to_string())
    })
}

/// The PCI ID database: a vendor line `1002  Advanced Micro Devices…`, then its devices
/// indented by one tab, `\t744c  Navi 31 […]`.
fn pci_ids_name(db: &str, vendor: u16, device: u16) -> Option<String> {
    let vendor = format!("{vendor:04x}  ");
    let device = format!("\t{device:04x}  ");
    let mut lines = db.lines().skip_while(|l| !l.starts_with(&vendor)).skip(1);
    lines
        .by_ref()
        .take_while(|l| l.starts_with('\t') || l.starts_with('#') || l.is_empty())
        .find_map(|l| l.strip_prefix(&device).map(|n| n.trim().to_string()))
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libdrm_table_by_device_and_revision() {
        let table = "# List of AMDGPU IDs\n\n01.00.00\n744C,\tC8,\tAMD Radeon RX 7900 XTX\n\
            744C,\tCC,\tAMD Radeon RX 7900 XT\n";
        assert_eq!(amdgpu_ids_name(table, 0x744c, 0xcc).as_deref(), Some("AMD Radeon RX 7900 XT"));
        assert_eq!(amdgpu_ids_name(table, 0x744c, 0x01), None);
    }

    #[test]
    fn pci_ids_by_vendor_then_device() {
        let db = "# comment\n10de  NVIDIA Corporation\n\t744c  Not this one\n\
            1002  Advanced Micro Devices, Inc. [AMD/ATI]\n\t7448  Navi 31 [Radeon Pro W7900]\n\
            \t\t1002 0e0d  Radeon Pro W7900\n\t744c  Navi 31 [Radeon RX 7900 XT/7900 XTX/7900M]\n\
            1022  Advanced Micro Devices, Inc. [AMD]\n\t744d  Wrong vendor\n";
        assert_eq!(
            pci_ids_name(db, 0x1002, 0x744c).as_deref(),
            Some("Navi 31 [Radeon RX 7900 XT/7900 XTX/7900M]")
        );
        assert_eq!(
            pci_ids_name(db, 0x1002, 0x744d),
            None,
            "the next vendor's devices are not AMD's"
        );
    }

    #[test]
    fn a_planted_name_keeps_no_control_character() {
        let table = "744C,\tC8,\tAMD \x1b]0;pwned\x07Radeon\x1b[2J\r\n";
        let mut tables = Tables { amdgpu_ids: Some(Some(table.into())), pci_ids: Some(None) };
        let name = tables.gpu_name("AMD", 0x1002, 0x744c, Some(0xc8));
        assert_eq!(name, "AMD ]0;pwnedRadeon[2J");
        let db = "1002  AMD\n\t744d  \x1b\x1b\x07\n";
        let mut tables = Tables { amdgpu_ids: Some(None), pci_ids: Some(Some(db.into())) };
        assert_eq!(tables.gpu_name("AMD", 0x1002, 0x744d, None), "AMD GPU 1002:744d");
    }

    #[test]
    fn without_either_table_the_ids_are_the_name() {
        // The real tables may be installed here; an ID no table has gives the fallback.
        let mut tables = Tables::default();
        assert_eq!(tables.gpu_name("AMD", 0x1002, 0xfffe, Some(0)), "AMD GPU 1002:fffe");
    }
}
