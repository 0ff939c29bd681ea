//! What the amdgpu driver says of a GPU in sysfs (`Documentation/gpu/amdgpu/driver-misc.rst`,
//! `thermal.rst`, `ras.rst`): `gpu_busy_percent` and `mem_busy_percent`, `mem_info_vram_*`,
//! `pp_dpm_sclk`/`pp_dpm_mclk` (the clock levels, `*` on the current one), the RAS error
//! counts `ras/*_err_count`, and `gpu_metrics`, whose APU layouts (format 2 and 3) carry the
//! graphics activity that `gpu_busy_percent` does not: on an APU that file reads a constant 100.

use std::path::Path;

use super::cards::{number, read};

/// The amdgpu files of one GPU, read now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AmdgpuReadings {
    pub busy_percent: Option<u32>,
    pub memory_busy_percent: Option<u32>,
    pub vram_total_bytes: Option<u64>,
    pub vram_used_bytes: Option<u64>,
    /// The current and highest level of each clock, MHz.
    pub sclk: Levels,
    pub mclk: Levels,
    /// Corrected and uncorrected errors summed over the RAS blocks, where RAS is exposed.
    pub ecc_corrected: Option<u64>,
    pub ecc_uncorrected: Option<u64>,
    /// A RAS count file that could not be read or held no count (amdgpu answers "Query
    /// currently inaccessible" while RAS recovers): the counts are then unknown, not absent.
    pub ecc_unreadable: bool,
    /// This GPU is an APU (its `gpu_metrics` has an APU layout): `gpu_busy_percent` is not
    /// its activity, and when `gpu_metrics` cannot give it, the activity is unknown.
    pub apu: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Levels {
    pub current_mhz: Option<u32>,
    pub max_mhz: Option<u32>,
}

impl AmdgpuReadings {
    pub fn read(device: &Path) -> Self {
        let at = |name: &str| number(&device.join(name));
        let percent = |name: &str| at(name).filter(|&p| p <= 100).map(|p| p as u32);
        let (ecc, ecc_unreadable) = match ras_counts(&device.join("ras")) {
            Ok(counts) => (counts, false),
            Err(()) => (None, true),
        };
        let (ecc_corrected, ecc_uncorrected) = (ecc.map(|c| c.0), ecc.map(|c| c.1));
        let metrics = std::fs::read(device.join("gpu_metrics")).ok();
        let apu_activity = metrics.as_deref().and_then(ApuActivity::parse);
        Self {
            busy_percent: match apu_activity {
                Some(ApuActivity::Percent(p)) => Some(p),
                Some(ApuActivity::Unknown) => None,
                None => percent("gpu_busy_percent"),
            },
            memory_busy_percent: percent("mem_busy_percent"),
            vram_total_bytes: at("mem_info_vram_total"),
            vram_used_bytes: at("mem_info_vram_used"),
            sclk: levels(read(&device.join("pp_dpm_sclk")).as_deref()),
            mclk: levels(read(&device.join("pp_dpm_mclk")).as_deref()),
            ecc_corrected,
            ecc_uncorrected,
            ecc_unreadable,
            apu: apu_activity.is_some(),
        }
    }
}

/// `pp_dpm_*`: one level a line, `1: 1000Mhz *` for the current one.
fn levels(text: Option<&str>) -> Levels {
    let Some(text) = text else { return Levels::default() };
    let mut out = Levels::default();
    for line in text.lines() {
        let Some((_, rest)) = line.split_once(':') else { continue };
        let rest = rest.trim();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(mhz) = digits.parse::<u32>() else { continue };
        if !rest[digits.len()..].trim_start().to_ascii_lowercase().starts_with("mhz") {
            continue;
        }
        out.max_mhz = Some(out.max_mhz.map_or(mhz, |m| m.max(mhz)));
        if rest.ends_with('*') {
            out.current_mhz = Some(mhz);
        }
    }
    out
}

/// The RAS blocks' `ue:`/`ce:` counts summed (`ras/umc_err_count`, `ras/gfx_err_count`, …);
/// `(None, None)` where the GPU exposes no RAS.
fn ras_counts(dir: &Path) -> Result<Option<(u64, u64)>, ()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(None) };
    let (mut ce, mut ue, mut any) = (0u64, 0u64, false);
    for e in entries.flatten() {
        let name = e.file_name();
        if !name.to_str().is_some_and(|n| n.ends_with("_err_count")) {
            continue;
        }
        // A block's file that cannot be read, or reads no count, leaves the sum unknown: a
        // total without it would pass for the card's.
        let text = read(&e.path()).ok_or(())?;
        let mut counted = false;
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else { continue };
            let Ok(n) = value.trim().parse::<u64>() else { continue };
            counted = true;
            match key.trim() {
                "ce" => ce = ce.saturating_add(n),
                "ue" => ue = ue.saturating_add(n),
                _ => {}
            }
        }
        if !counted {
            return Err(());
        }
        any = true;
    }
    Ok(any.then_some((ce, ue)))
}

/// The graphics activity in an APU's `gpu_metrics` (`kgd_pp_interface.h`): its header is
/// `u16 structure_size, u8 format_revision, u8 content_revision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApuActivity {
    Percent(u32),
    /// An APU layout this reader does not know, or 0xFFFF (not available).
    Unknown,
}

impl ApuActivity {
    /// `None` for a discrete GPU's layout (format 1) or no file.
    fn parse(bytes: &[u8]) -> Option<Self> {
        let (format, content) = (*bytes.get(2)?, *bytes.get(3)?);
        let u16_at = |at: usize| Some(u16::from_le_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
        // v2.1 to v2.4: after the header, temperature_gfx, _soc, _core[8], _l3[2], then
        // average_gfx_activity (percent; v2.4 in hundredths). v3.0: temperature_gfx, _soc,
        // _core[16], _skin, then average_gfx_activity.
        let raw = match (format, content) {
            (2, 1..=3) => u16_at(28).map(|v| (v, 1)),
            (2, 4) => u16_at(28).map(|v| (v, 100)),
            (3, 0) => u16_at(42).map(|v| (v, 1)),
            (2 | 3, _) => None,
            _ => return None,
        };
        Some(match raw {
            Some((v, scale)) if v != u16::MAX && u32::from(v) / scale <= 100 => {
                Self::Percent(u32::from(v) / scale)
            }
            _ => Self::Unknown,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_levels_mark_the_current_one() {
        let sclk = "0: 500Mhz\n1: 1800Mhz *\n2: 2482Mhz\n";
        assert_eq!(levels(Some(sclk)), Levels { current_mhz: Some(1800), max_mhz: Some(2482) });
        assert_eq!(levels(Some("garbage\n3: fast *\n")), Levels::default());
    }

    #[test]
    fn ras_blocks_are_summed_and_no_ras_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ras_counts(&dir.path().join("ras")), Ok(None));
        let ras = dir.path().join("ras");
        std::fs::create_dir(&ras).unwrap();
        std::fs::write(ras.join("umc_err_count"), "ue: 1\nce: 4\n").unwrap();
        std::fs::write(ras.join("gfx_err_count"), "ue: 0\nce: 2\n").unwrap();
        std::fs::write(ras.join("features"), "feature mask: 0x3fff\n").unwrap();
        assert_eq!(ras_counts(&ras), Ok(Some((6, 1))));
        // RAS not ready (amdgpu's answer while it recovers): unknown, not a smaller sum.
        std::fs::write(ras.join("sdma_err_count"), "Query currently inaccessible\n").unwrap();
        assert_eq!(ras_counts(&ras), Err(()));
    }

    #[test]
    fn an_apu_reads_its_activity_from_gpu_metrics() {
        let mut v2_1 = vec![0u8; 120];
        v2_1[..4].copy_from_slice(&[120, 0, 2, 1]);
        v2_1[28..30].copy_from_slice(&37u16.to_le_bytes());
        assert_eq!(ApuActivity::parse(&v2_1), Some(ApuActivity::Percent(37)));
        v2_1[3] = 4;
        v2_1[28..30].copy_from_slice(&3700u16.to_le_bytes());
        assert_eq!(ApuActivity::parse(&v2_1), Some(ApuActivity::Percent(37)), "v2.4: hundredths");
        v2_1[28..30].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(ApuActivity::parse(&v2_1), Some(ApuActivity::Unknown));
        let mut v3 = vec![0u8; 200];
        v3[..4].copy_from_slice(&[200, 0, 3, 0]);
        v3[42..44].copy_from_slice(&12u16.to_le_bytes());
        assert_eq!(ApuActivity::parse(&v3), Some(ApuActivity::Percent(12)));
        let discrete = [0x60, 0, 1, 3, 0, 0];
        assert_eq!(ApuActivity::parse(&discrete), None, "a dGPU's busy percent is its own");
        assert_eq!(ApuActivity::parse(&[120, 0, 2, 9, 1]), Some(ApuActivity::Unknown));
        assert_eq!(ApuActivity::parse(&[1]), None);
    }
}
