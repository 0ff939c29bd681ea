//! What a busy GPU is waiting on, from its GPM activity: the compact "bound by" hint of the
//! monitor. The rule, first match wins, with `util` the ordinary GPU utilization:
//! - under 10 % utilization: no hint (idle);
//! - tensor cores busy ≥ 40 % of the time: `tensor-bound`;
//! - DRAM bandwidth ≥ 60 % of peak: `memory-bound`;
//! - SMs active ≥ 60 %: `compute-bound` (on the CUDA cores);
//! - SMs active < 30 % while utilization ≥ 50 %: `starved` (kernels keep few SMs busy: small
//!   batches, launch overhead, or waiting on input or the CPU);
//! - otherwise: `mixed`, no single bottleneck.

use crate::sample::Activity;

/// The hint, short enough for a GPU panel beside the figures it comes from.
pub fn bound_by(activity: &Activity, util: Option<u32>) -> Option<&'static str> {
    let util = util?;
    if util < 10 {
        return None;
    }
    let (tensor, dram, sm) =
        (activity.tensor_active_percent, activity.dram_active_percent, activity.sm_active_percent);
    Some(if tensor.is_some_and(|t| t >= 40.0) {
        "tensor-bound"
    } else if dram.is_some_and(|d| d >= 60.0) {
        "memory-bound"
    } else if sm.is_some_and(|s| s >= 60.0) {
        "compute-bound"
    } else if sm.is_some_and(|s| s < 30.0) && util >= 50 {
        "starved: few SMs busy"
    } else if sm.is_some() {
        "mixed"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_rule_that_holds_names_the_bottleneck() {
        let a = |sm, tensor, dram| Activity {
            sm_active_percent: Some(sm),
            tensor_active_percent: Some(tensor),
            dram_active_percent: Some(dram),
            ..Activity::default()
        };
        assert_eq!(bound_by(&a(90.0, 3.0, 85.0), Some(100)), Some("memory-bound"));
        assert_eq!(bound_by(&a(90.0, 70.0, 85.0), Some(100)), Some("tensor-bound"));
        assert_eq!(bound_by(&a(80.0, 0.0, 10.0), Some(100)), Some("compute-bound"));
        assert_eq!(bound_by(&a(12.0, 0.0, 5.0), Some(95)), Some("starved: few SMs busy"));
        assert_eq!(bound_by(&a(40.0, 10.0, 20.0), Some(60)), Some("mixed"));
        assert_eq!(bound_by(&a(90.0, 70.0, 85.0), Some(3)), None, "idle");
        assert_eq!(bound_by(&Activity::default(), Some(90)), None, "no GPM values");
    }
}
