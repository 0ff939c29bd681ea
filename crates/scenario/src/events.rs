//! Events a simulated GPU raises (XID errors, ECC errors) and their `nvmlEventType*` bits.

use serde::Deserialize;

/// An event on a GPU at a time counted from `nvmlInit`: `{ at_s = 2.0, xid = 79 }` or
/// `{ at_s = 3.0, kind = "double_bit_ecc" }`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    pub at_s: f64,
    #[serde(default)]
    pub kind: EventKindSpec,
    /// The XID number of a critical XID error.
    pub xid: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKindSpec {
    #[default]
    Xid,
    SingleBitEcc,
    DoubleBitEcc,
}

impl EventKindSpec {
    /// The event's `nvmlEventType*` bit.
    pub fn nvml_bit(self) -> u64 {
        match self {
            Self::SingleBitEcc => EVENT_SINGLE_BIT_ECC,
            Self::DoubleBitEcc => EVENT_DOUBLE_BIT_ECC,
            Self::Xid => EVENT_XID_CRITICAL,
        }
    }
}

/// `nvmlEventType*` bits (nvml.h).
pub const EVENT_SINGLE_BIT_ECC: u64 = 0x1;
pub const EVENT_DOUBLE_BIT_ECC: u64 = 0x2;
pub const EVENT_PSTATE: u64 = 0x4;
pub const EVENT_XID_CRITICAL: u64 = 0x8;
