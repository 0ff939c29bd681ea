//! A MIG device of a simulated GPU: a GPU instance of a profile with one compute instance.

use serde::Deserialize;

use crate::{GpmSpec, Signal};

/// A MIG device: a GPU instance of a profile with one compute instance.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigSpec {
    /// The profile, as in the device's name: "3g.40gb".
    pub profile: String,
    pub gpu_instance_id: u32,
    #[serde(default)]
    pub compute_instance_id: u32,
    pub memory_total_mib: u64,
    /// Used memory beyond what its processes hold.
    pub memory_used_mib: Option<Signal>,
    pub uuid: Option<String>,
    /// GPM metrics of this instance (`nvmlGpmMigSampleGet`), on a GPU with GPM.
    pub gpm: Option<GpmSpec>,
}

impl MigSpec {
    /// `MIG-` and a UUID, as drivers from R470 name MIG devices.
    pub fn uuid(&self, gpu: usize, position: usize) -> String {
        self.uuid.clone().unwrap_or_else(|| {
            format!("MIG-{:08x}-fake-4000-8000-{:012x}", 0x6770_0000 + gpu, position)
        })
    }
}
