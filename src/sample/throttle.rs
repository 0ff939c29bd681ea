//! Why a GPU's clocks are held down: NVML's clock event (throttle) reason bits, decoded.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throttle {
    /// The raw `nvmlClocksThrottleReasons` bit mask.
    pub mask: Option<u64>,
    /// The mask decoded; bits gputop does not know are left out of this list but kept in `mask`.
    pub reasons: Option<Vec<ThrottleReason>>,
}

impl Throttle {
    pub fn from_mask(mask: u64) -> Self {
        Self { mask: Some(mask), reasons: Some(ThrottleReason::decode(mask)) }
    }

    /// Labels of the reasons that mean trouble (heat, power brake), for every view to flag.
    pub fn alarming(&self) -> Vec<&'static str> {
        self.reasons.iter().flatten().filter(|r| r.is_alarming()).map(|r| r.label()).collect()
    }
}

/// Why clocks are held down, decoded from NVML's clock throttle (clock event) reason bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleReason {
    Idle,
    ApplicationsClocksSetting,
    SwPowerCap,
    HwSlowdown,
    SyncBoost,
    SwThermalSlowdown,
    HwThermalSlowdown,
    HwPowerBrakeSlowdown,
    DisplayClockSetting,
}

impl ThrottleReason {
    const BITS: [(u64, ThrottleReason); 9] = [
        (0x1, Self::Idle),
        (0x2, Self::ApplicationsClocksSetting),
        (0x4, Self::SwPowerCap),
        (0x8, Self::HwSlowdown),
        (0x10, Self::SyncBoost),
        (0x20, Self::SwThermalSlowdown),
        (0x40, Self::HwThermalSlowdown),
        (0x80, Self::HwPowerBrakeSlowdown),
        (0x100, Self::DisplayClockSetting),
    ];

    /// Decodes a throttle reason mask into reasons, lowest bit first.
    pub fn decode(mask: u64) -> Vec<ThrottleReason> {
        Self::BITS.iter().filter(|(bit, _)| mask & bit != 0).map(|(_, r)| *r).collect()
    }

    /// The name people know from `nvidia-smi -q`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::ApplicationsClocksSetting => "applications clocks setting",
            Self::SwPowerCap => "SW power cap",
            Self::HwSlowdown => "HW slowdown",
            Self::SyncBoost => "sync boost",
            Self::SwThermalSlowdown => "SW thermal slowdown",
            Self::HwThermalSlowdown => "HW thermal slowdown",
            Self::HwPowerBrakeSlowdown => "HW power brake slowdown",
            Self::DisplayClockSetting => "display clock setting",
        }
    }

    /// Reasons that mean the GPU is held back by trouble, not by choice or idleness.
    pub fn is_alarming(self) -> bool {
        matches!(
            self,
            Self::HwSlowdown
                | Self::SwThermalSlowdown
                | Self::HwThermalSlowdown
                | Self::HwPowerBrakeSlowdown
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_reasons_decode_every_known_bit() {
        assert_eq!(ThrottleReason::decode(0), vec![]);
        assert_eq!(
            ThrottleReason::decode(0x1 | 0x40),
            vec![ThrottleReason::Idle, ThrottleReason::HwThermalSlowdown]
        );
        assert_eq!(ThrottleReason::decode(0x1ff).len(), 9);
        // Unknown high bits are ignored in the decoded list but kept in the mask.
        let t = Throttle::from_mask(0x8000_0000_0000_0004);
        assert_eq!(t.reasons, Some(vec![ThrottleReason::SwPowerCap]));
        assert_eq!(t.mask, Some(0x8000_0000_0000_0004));
    }

    #[test]
    fn throttle_reason_labels_and_json_names() {
        assert_eq!(ThrottleReason::HwThermalSlowdown.label(), "HW thermal slowdown");
        let json = serde_json::to_string(&ThrottleReason::SwPowerCap).unwrap();
        assert_eq!(json, "\"sw_power_cap\"");
        assert!(ThrottleReason::HwSlowdown.is_alarming());
        assert!(!ThrottleReason::Idle.is_alarming());
    }
}
