//! Reading values one NVML call at a time: a value, or `None` with NVML's reason filed under
//! its field, and whether the GPU turned out to be lost.

use super::*;

/// Turns NVML results into `Option`s, keeps why each missing value is missing, and notices a
/// GPU that is lost mid-sample.
#[derive(Default)]
pub(super) struct Reader {
    pub(super) missing: MissingFields,
    pub(super) lost: bool,
}

impl Reader {
    /// The value of `field` (its JSON name), or `None` with the reason noted.
    pub(super) fn get<T>(&mut self, field: FieldKey, result: Result<T, NvmlError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.note(field, &e);
                None
            }
        }
    }

    pub(super) fn note(&mut self, field: FieldKey, e: &NvmlError) {
        let missing = missing(e);
        self.lost |= missing.reason == MissingReason::GpuLost;
        // A pair read by several calls keeps the first reason.
        self.missing.insert_first(field, missing);
    }
}

/// Why NVML gave nothing: the reason its return code (`nvmlReturn_t`) stands for, where the
/// wrapper keeps the error's identity.
pub(super) fn missing(e: &NvmlError) -> Missing {
    let code = match e {
        // A symbol this library lacks: the feature is not there.
        NvmlError::FailedToLoadSymbol(_) => {
            return Missing { reason: MissingReason::NotSupported, nvml_code: None }
        }
        NvmlError::Uninitialized => 1,
        NvmlError::InvalidArg => 2,
        NvmlError::NotSupported => 3,
        NvmlError::NoPermission => 4,
        NvmlError::NotFound => 6,
        NvmlError::InsufficientSize(_) => 7,
        NvmlError::DriverNotLoaded => 9,
        NvmlError::Timeout => 10,
        NvmlError::FunctionNotFound => 13,
        NvmlError::GpuLost => 15,
        NvmlError::ResetRequired => 16,
        NvmlError::LibRmVersionMismatch => 18,
        NvmlError::InsufficientMemory => 20,
        NvmlError::NoData => 21,
        NvmlError::Unknown => 999,
        _ => return Missing { reason: MissingReason::Error, nvml_code: None },
    };
    Missing::from_nvml_code(code)
}
