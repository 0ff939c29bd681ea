//! What Intel's drivers say of a GPU in sysfs: the graphics clock (i915: `cardN/gt_act_freq_mhz`,
//! else `gt_cur_freq_mhz`, with `gt_RP0_freq_mhz` the hardware's highest; xe:
//! `device/tile0/gt0/freq0/{act,cur,rp0}_freq`, `Documentation/gpu/xe/xe_gt_freq.rst`) and xe's
//! device memory (`device/tileN/physical_vram_size_bytes`). Temperature, power and energy are
//! hwmon's (`hwmon.rs`); busy time comes from the clients (`clients.rs`).

use std::path::Path;

use super::cards::{number, Card, Driver};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntelReadings {
    pub clock_mhz: Option<u32>,
    pub clock_max_mhz: Option<u32>,
    /// The device memory of every tile (xe, discrete cards); `None` on i915 and integrated GPUs.
    pub vram_total_bytes: Option<u64>,
}

impl IntelReadings {
    pub fn read(card: &Card) -> Self {
        let mhz = |path: &Path| number(path).map(|v| v as u32);
        match card.driver {
            Driver::Xe => {
                let freq = card.device.join("tile0/gt0/freq0");
                Self {
                    clock_mhz: mhz(&freq.join("act_freq")).or_else(|| mhz(&freq.join("cur_freq"))),
                    clock_max_mhz: mhz(&freq.join("rp0_freq"))
                        .or_else(|| mhz(&freq.join("max_freq"))),
                    vram_total_bytes: vram_of_tiles(&card.device),
                }
            }
            _ => Self {
                clock_mhz: mhz(&card.dir.join("gt_act_freq_mhz"))
                    .or_else(|| mhz(&card.dir.join("gt_cur_freq_mhz"))),
                clock_max_mhz: mhz(&card.dir.join("gt_RP0_freq_mhz"))
                    .or_else(|| mhz(&card.dir.join("gt_max_freq_mhz"))),
                vram_total_bytes: None,
            },
        }
    }
}

/// The sum of `tileN/physical_vram_size_bytes`, or `None` where no tile has the file.
fn vram_of_tiles(device: &Path) -> Option<u64> {
    let sizes: Vec<u64> = (0..8)
        .map_while(|n| {
            let tile = device.join(format!("tile{n}"));
            tile.is_dir().then(|| number(&tile.join("physical_vram_size_bytes")))
        })
        .flatten()
        .collect();
    (!sizes.is_empty()).then(|| sizes.iter().sum())
}
