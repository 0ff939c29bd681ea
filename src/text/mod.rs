//! Leaf helpers with no knowledge of GPUs or of the rest of the crate: making untrusted text
//! safe to print, and writing quantities in units. Anything may import this module; it
//! imports nothing of the crate.

pub mod sanitize;
pub mod units;
