//! gputop's health families: the driver's events since the exporter started listening (XID
//! and ECC error events) and the board's memory and link health from its details.

use crate::metric_names::gputop as names;
use crate::sample::{Details, GpuEvents};

use super::builder::{own, Builder, Labels};

/// The driver's events since the exporter started listening.
pub fn events(b: &mut Builder, events: &GpuEvents, l: &Labels) {
    let unknown = (events.xid_unknown > 0).then(|| ("unknown".to_string(), events.xid_unknown));
    for (xid, count) in events.xid_counts.iter().map(|(x, &c)| (x.to_string(), c)).chain(unknown) {
        b.count(&names::XID_ERRORS, &own(l, &names::XID_ERRORS, &[&xid]), count as f64);
    }
    for (kind, count) in
        [("single_bit", events.ecc_single_bit), ("double_bit", events.ecc_double_bit)]
    {
        let Some(count) = count else { continue };
        let el = own(l, &names::ECC_ERROR_EVENTS, &[kind]);
        b.count(&names::ECC_ERROR_EVENTS, &el, count as f64);
    }
}

/// The board's memory and link health, from its details.
pub fn details(b: &mut Builder, d: &Details, l: &Labels) {
    let n = |v: Option<u32>| v.map(f64::from);
    let flag = |v: Option<bool>| v.map(|on| f64::from(u8::from(on)));
    b.set(&names::PCIE_LINK_GENERATION, l, n(d.pcie_link_gen_current));
    b.set(&names::PCIE_LINK_MAX_GENERATION, l, n(d.pcie_link_gen_max));
    b.set(&names::PCIE_LINK_WIDTH, l, n(d.pcie_link_width_current));
    b.set(&names::PCIE_LINK_MAX_WIDTH, l, n(d.pcie_link_width_max));
    if let Some(rows) = d.remapped_rows {
        for (kind, count) in
            [("correctable", rows.correctable), ("uncorrectable", rows.uncorrectable)]
        {
            let rl = own(l, &names::REMAPPED_ROWS, &[kind]);
            b.set(&names::REMAPPED_ROWS, &rl, Some(f64::from(count)));
        }
        b.set(&names::REMAPPED_ROWS_PENDING, l, flag(Some(rows.pending)));
        b.set(&names::REMAPPED_ROWS_FAILED, l, flag(Some(rows.failed)));
    }
    b.set(&names::RETIRED_PAGES_PENDING, l, flag(d.retired_pages_pending));
    for (kind, count) in
        [("corrected", d.ecc_aggregate_corrected), ("uncorrected", d.ecc_aggregate_uncorrected)]
    {
        let el = own(l, &names::ECC_LIFETIME_ERRORS, &[kind]);
        b.set(&names::ECC_LIFETIME_ERRORS, &el, count.map(|c| c as f64));
    }
    if let Some(n) = d.nvlink {
        b.set(&names::NVLINK_ACTIVE_LINKS, l, Some(f64::from(n.active_links)));
        for (counter, total) in [
            ("replay", n.replay_errors),
            ("recovery", n.recovery_errors),
            ("crc_flit", n.crc_flit_errors),
            ("crc_data", n.crc_data_errors),
        ] {
            // A counter the driver refused is left out: a 0 would say the link is clean.
            let Some(total) = total else { continue };
            let nl = own(l, &names::NVLINK_ERRORS, &[counter]);
            b.count(&names::NVLINK_ERRORS, &nl, total as f64);
        }
    }
    if let Some(replays) = d.pcie_replay_count {
        b.count(&names::PCIE_REPLAYS, l, f64::from(replays));
    }
}
