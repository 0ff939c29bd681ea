//! Leaf helpers with no knowledge of GPUs or of the rest of the crate: making untrusted text
//! safe to print, writing quantities in units, and reading durations and times. Anything may
//! import this module; it imports nothing of the crate.

pub mod sanitize;
pub mod time;
pub mod units;
