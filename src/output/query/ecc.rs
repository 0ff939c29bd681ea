//! The 32 `--query-gpu` ECC counters by memory location (`ecc.errors.corrected.volatile.sram`
//! and its siblings): corrected or not, since the driver loaded or over the board's life, in
//! each of eight locations (`device_memory` and `dram` are one).

use super::field::Value::Details;
use super::field::{n, Field};
use crate::sample::{FieldKey, GpuSample};

/// The eight locations of one counter (`corrected`, `volatile`): its name's middle, the field
/// of `EccCounts` it reads, and its description's words.
macro_rules! ecc_counter {
    ($errors:literal, $counter:literal, $count:ident, $kind:literal, $since:literal) => {
        [
            ecc_counter!(@one $errors, $counter, $count, $kind, $since,
                "device_memory", dram, EccLocationDram, "device memory"),
            ecc_counter!(@one $errors, $counter, $count, $kind, $since,
                "dram", dram, EccLocationDram, "device memory"),
            ecc_counter!(@one $errors, $counter, $count, $kind, $since,
                "register_file", register_file, EccLocationRegisterFile, "the register file"),
            ecc_counter!(@one $errors, $counter, $count, $kind, $since,
                "l1_cache", l1_cache, EccLocationL1Cache, "the L1 cache"),
            ecc_counter!(@one $errors, $counter, $count, $kind, $since,
                "l2_cache", l2_cache, EccLocationL2Cache, "the L2 cache"),
            ecc_counter!(@one $errors, $counter, $count, $kind, $since,
                "texture_memory", texture_memory, EccLocationTextureMemory, "texture memory"),
            ecc_counter!(@one $errors, $counter, $count, $kind, $since,
                "cbu", cbu, EccLocationCbu, "the CBU"),
            ecc_counter!(@one $errors, $counter, $count, $kind, $since,
                "sram", sram, EccLocationSram, "SRAM"),
        ]
    };
    (@one $errors:literal, $counter:literal, $count:ident, $kind:literal, $since:literal,
        $location:literal, $field:ident, $key:ident, $place:literal) => {
        Field {
            names: &[concat!("ecc.errors.", $errors, ".", $counter, ".", $location)],
            unit: None,
            missing: Some(FieldKey::$key),
            about: concat!($kind, " ECC errors in ", $place, " ", $since, "."),
            value: Details(|d| n(d.ecc_locations.$field.$count)),
        }
    };
}

pub(super) const CORRECTED_VOLATILE: &[Field<GpuSample>] = &ecc_counter!(
    "corrected",
    "volatile",
    corrected_volatile,
    "Corrected",
    "since the driver loaded"
);
pub(super) const CORRECTED_AGGREGATE: &[Field<GpuSample>] = &ecc_counter!(
    "corrected",
    "aggregate",
    corrected_aggregate,
    "Corrected",
    "over the board's life"
);
pub(super) const UNCORRECTED_VOLATILE: &[Field<GpuSample>] = &ecc_counter!(
    "uncorrected",
    "volatile",
    uncorrected_volatile,
    "Uncorrected",
    "since the driver loaded"
);
pub(super) const UNCORRECTED_AGGREGATE: &[Field<GpuSample>] = &ecc_counter!(
    "uncorrected",
    "aggregate",
    uncorrected_aggregate,
    "Uncorrected",
    "over the board's life"
);
