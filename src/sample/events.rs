//! Health events a GPU raised (XID errors, ECC events), counted since a known time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The health events of one GPU known since `since`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuEvents {
    pub source: EventSource,
    /// Since when events are known: when gputop started listening, or when the machine booted.
    pub since: DateTime<Utc>,
    /// How many of each XID error, by XID.
    pub xid_counts: BTreeMap<u32, u64>,
    /// XID errors whose number the driver did not give (NVML's "unknown", 999): counted
    /// apart, never as an XID 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub xid_unknown: u64,
    /// Single-bit (corrected) ECC error events; `None` where ECC events cannot be had (ECC off).
    pub ecc_single_bit: Option<u64>,
    /// Double-bit (uncorrected) ECC error events; `None` likewise.
    pub ecc_double_bit: Option<u64>,
    /// The newest events, oldest first (at most [`GpuEvents::RECENT`]).
    pub recent: Vec<GpuEvent>,
}

impl GpuEvents {
    pub const RECENT: usize = 32;

    pub fn new(source: EventSource, since: DateTime<Utc>) -> Self {
        Self {
            source,
            since,
            xid_counts: BTreeMap::new(),
            xid_unknown: 0,
            ecc_single_bit: None,
            ecc_double_bit: None,
            recent: Vec::new(),
        }
    }

    /// Counts an event and keeps it among the recent ones.
    pub fn add(&mut self, event: GpuEvent) {
        match event.kind {
            GpuEventKind::Xid => match event.xid {
                Some(xid) => *self.xid_counts.entry(xid).or_default() += 1,
                None => self.xid_unknown += 1,
            },
            GpuEventKind::SingleBitEcc => {
                *self.ecc_single_bit.get_or_insert(0) += 1;
            }
            GpuEventKind::DoubleBitEcc => {
                *self.ecc_double_bit.get_or_insert(0) += 1;
            }
        }
        if self.recent.len() == Self::RECENT {
            self.recent.remove(0);
        }
        self.recent.push(event);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// NVML's event set, listened to since `since`.
    Nvml,
    /// The kernel log's `NVRM: Xid` lines since boot.
    KernelLog,
    /// Counted by the host's exporter since it started, read from Prometheus (`--prometheus`);
    /// `since` is when they were read. dcgm-exporter gives only the last XID, counted once.
    Exporter,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuEvent {
    pub at: DateTime<Utc>,
    pub kind: GpuEventKind,
    /// The XID of an XID error.
    pub xid: Option<u32>,
    /// What the driver said with it (from the kernel log), as untrusted text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuEventKind {
    Xid,
    SingleBitEcc,
    DoubleBitEcc,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
