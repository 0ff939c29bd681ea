//! GPU Performance Monitoring (Hopper and later): what the SMs, tensor cores and memory did
//! between two samples, through nvml-wrapper's `gpm` module. Each GPU's previous sample is
//! kept from one `sample()` to the next as its raw handle, because a `GpmSample` borrows the
//! `Nvml` it came from and the source owns that `Nvml`; this file is the only place that
//! holds such handles, and it frees them.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::Arc;

use nvml_wrapper::enums::gpm::GpmMetricId;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::gpm::gpm_metrics_get;
use nvml_wrapper::{Device, GpmSample, Nvml};

use crate::sample::Activity;

/// The metrics asked for, in one call per GPU per sample.
const METRICS: [GpmMetricId; 11] = [
    GpmMetricId::SmUtil,
    GpmMetricId::SmOccupancy,
    GpmMetricId::AnyTensorUtil,
    GpmMetricId::DramBwUtil,
    GpmMetricId::Fp64Util,
    GpmMetricId::Fp32Util,
    GpmMetricId::Fp16Util,
    GpmMetricId::PcieTxPerSec,
    GpmMetricId::PcieRxPerSec,
    GpmMetricId::NvlinkTotalTxPerSec,
    GpmMetricId::NvlinkTotalRxPerSec,
];

/// Whose sample: a GPU by position in the source's list, and one of its GPU instances (MIG).
type Key = (usize, Option<u32>);

/// Each GPU's (and GPU instance's) last GPM sample, as NVML's opaque `nvmlGpmSample_t` (which
/// nvml-wrapper does not re-export: kept as a void pointer).
pub struct GpmSampler {
    nvml: Arc<Nvml>,
    previous: HashMap<Key, *mut c_void>,
}

// SAFETY: the handles are only used through `&mut self`, one call at a time, and nvml-wrapper
// declares a `GpmSample` (which wraps one) `Send`.
unsafe impl Send for GpmSampler {}

impl GpmSampler {
    pub fn new(nvml: Arc<Nvml>) -> Self {
        Self { nvml, previous: HashMap::new() }
    }

    /// Takes a new sample of the GPU at `position` (or of its GPU instance `instance`, with
    /// MIG on) and gives the activity since the previous one: `Ok(None)` on the first. An
    /// error says why there is none (NOT_SUPPORTED without GPM).
    pub fn activity(
        &mut self,
        position: usize,
        instance: Option<u32>,
        device: &Device,
    ) -> Result<Option<Activity>, NvmlError> {
        if !device.gpm_support()? {
            return Err(NvmlError::NotSupported);
        }
        let nvml: &Nvml = &self.nvml;
        let now = match instance {
            None => device.gpm_sample()?,
            Some(gi) => device.gpm_mig_sample(gi)?,
        };
        let before = self.previous.remove(&(position, instance)).map(|handle| {
            // SAFETY: the handle came from `into_handle` on a sample of this `Nvml` and was
            // taken out of its slot: it is owned here alone and freed once, on drop.
            unsafe { GpmSample::from_handle(nvml, handle.cast()) }
        });
        let results = match &before {
            Some(before) => Some(gpm_metrics_get(nvml, before, &now, &METRICS)?),
            None => None,
        };
        self.previous.insert((position, instance), now.into_handle().cast());
        Ok(results.map(|results| {
            let value = |i: usize| results.get(i).and_then(|r| r.as_ref().ok()).map(|r| r.value);
            let bytes = |i: usize| value(i).map(|mib_s| (mib_s * 1_048_576.0) as u64);
            Activity {
                sm_active_percent: value(0),
                sm_occupancy_percent: value(1),
                tensor_active_percent: value(2),
                dram_active_percent: value(3),
                fp64_active_percent: value(4),
                fp32_active_percent: value(5),
                fp16_active_percent: value(6),
                pcie_tx_bytes_per_second: bytes(7),
                pcie_rx_bytes_per_second: bytes(8),
                nvlink_tx_bytes_per_second: bytes(9),
                nvlink_rx_bytes_per_second: bytes(10),
            }
        }))
    }
}

impl Drop for GpmSampler {
    fn drop(&mut self) {
        for (_, handle) in self.previous.drain() {
            // SAFETY: as in `activity`: owned here alone, freed once.
            drop(unsafe { GpmSample::from_handle(&self.nvml, handle.cast()) });
        }
    }
}
