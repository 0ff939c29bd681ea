//! What an XID error means and what to do about it.
//!
//! Source: NVIDIA's Xid catalog, "Xid Errors" in the GPU deployment and management
//! documentation (docs.nvidia.com/deploy/xid-errors), its descriptions and its resolution
//! buckets (RESTART_APP, RESET_GPU, RESTART_BM, CONTACT_SUPPORT). The wording here is ours and
//! short enough for one line of a terminal.

use super::Severity;

/// One XID: its meaning, how bad it is for the GPU, and the first thing to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xid {
    pub number: u32,
    pub meaning: &'static str,
    /// `Ok` for faults of the application, which leave the GPU healthy.
    pub severity: Severity,
    pub action: &'static str,
}

use Severity::{Failure, Ok as App, Warning};

const RESTART_APP: &str = "the application was stopped: fix or restart it";
const RESET_GPU: &str = "drain the GPU and reset it (nvidia-smi -r) or reboot";
const CHECK_BUS: &str = "check power and seating; reset the GPU or reboot";

/// The XIDs worth knowing by number, in order.
const TABLE: &[(u32, &str, Severity, &str)] = &[
    (8, "GPU stopped processing (channel timeout)", Warning, RESTART_APP),
    (
        13,
        "graphics engine exception (an illegal instruction or address in a kernel)",
        App,
        RESTART_APP,
    ),
    (31, "GPU memory page fault (a kernel touched an address it does not own)", App, RESTART_APP),
    (
        32,
        "invalid or corrupted command stream",
        Warning,
        "check the PCIe link; restart the application",
    ),
    (38, "driver firmware error", Warning, RESET_GPU),
    (43, "GPU stopped a faulting application", App, RESTART_APP),
    (
        45,
        "channel cleaned up after an earlier error or a killed process",
        App,
        "nothing, unless other XIDs came first",
    ),
    (48, "double-bit ECC error (uncorrectable memory error)", Failure, RESET_GPU),
    (61, "internal micro-controller breakpoint", Warning, RESET_GPU),
    (62, "internal micro-controller halted", Failure, RESET_GPU),
    (
        63,
        "memory row marked for remapping (or page for retirement)",
        Warning,
        "reset the GPU when it is idle to apply the remapping",
    ),
    (64, "row remapping or page retirement failed to record", Failure, RESET_GPU),
    (69, "graphics engine class error", Warning, RESTART_APP),
    (74, "NVLink error", Failure, "check the NVLink bridges or switch; reset the GPU"),
    (79, "GPU has fallen off the bus", Failure, CHECK_BUS),
    (
        92,
        "high rate of corrected (single-bit) ECC errors",
        Warning,
        "watch it; if it goes on, have the board checked",
    ),
    (
        94,
        "contained uncorrectable ECC error (only the application using it was stopped)",
        Warning,
        "restart the application; reset the GPU when idle",
    ),
    (
        95,
        "uncontained uncorrectable ECC error (every application on the GPU was affected)",
        Failure,
        RESET_GPU,
    ),
    (109, "context switch timeout", Warning, RESTART_APP),
    (119, "GSP firmware did not answer (RPC timeout)", Failure, RESET_GPU),
    (120, "GSP firmware error", Failure, RESET_GPU),
    (
        121,
        "corrected error on the chip-to-chip link",
        Warning,
        "watch it; if it goes on, have the board checked",
    ),
    (140, "unrecovered ECC error", Failure, RESET_GPU),
    (143, "GPU initialization failed", Failure, CHECK_BUS),
    (
        154,
        "GPU recovery action required",
        Failure,
        "do what the kernel log line asks: reset the GPU or reboot",
    ),
];

/// The XID's entry; an XID not in the table is a warning pointing at NVIDIA's catalog.
pub fn describe(number: u32) -> Xid {
    match TABLE.binary_search_by_key(&number, |row| row.0) {
        Result::Ok(i) => {
            let (number, meaning, severity, action) = TABLE[i];
            Xid { number, meaning, severity, action }
        }
        Err(_) => Xid {
            number,
            meaning: "an XID error gputop does not know",
            severity: Warning,
            action: "look it up in NVIDIA's Xid catalog",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_unknown_numbers_still_say_something() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0), "binary search needs order");
        assert_eq!(describe(79).meaning, "GPU has fallen off the bus");
        assert_eq!(describe(79).severity, Failure);
        assert_eq!(describe(13).severity, App);
        assert_eq!(describe(4242).severity, Warning);
    }
}
