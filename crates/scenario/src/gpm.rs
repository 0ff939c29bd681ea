//! What a simulated GPU's (or MIG device's) GPU Performance Monitoring reports, by NVML's
//! metric ids.

use serde::Deserialize;

use crate::Signal;

/// What `nvmlGpmMetricsGet` computes between two samples: percentages 0 to 100 and
/// throughputs in MiB/s, each at the second sample's time. A metric left out is NOT_SUPPORTED
/// in its `nvmlReturn`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpmSpec {
    pub sm_active: Option<Signal>,
    pub sm_occupancy: Option<Signal>,
    pub tensor_active: Option<Signal>,
    pub dram_active: Option<Signal>,
    pub fp64_active: Option<Signal>,
    pub fp32_active: Option<Signal>,
    pub fp16_active: Option<Signal>,
    pub pcie_tx_mib_s: Option<Signal>,
    pub pcie_rx_mib_s: Option<Signal>,
    pub nvlink_tx_mib_s: Option<Signal>,
    pub nvlink_rx_mib_s: Option<Signal>,
}

impl GpmSpec {
    /// The value of GPM metric `id` (`nvmlGpmMetricId_t`) at time `t`.
    pub fn metric(&self, id: u32, t: f64) -> Option<f64> {
        let signal = match id {
            2 => &self.sm_active,
            3 => &self.sm_occupancy,
            5 => &self.tensor_active,
            10 => &self.dram_active,
            11 => &self.fp64_active,
            12 => &self.fp32_active,
            13 => &self.fp16_active,
            20 => &self.pcie_tx_mib_s,
            21 => &self.pcie_rx_mib_s,
            60 => &self.nvlink_rx_mib_s,
            61 => &self.nvlink_tx_mib_s,
            _ => return None,
        };
        signal.as_ref().map(|s| s.at(t))
    }
}
