//! One entry of the field registry: a property's names, unit, where its missing reason is
//! filed, what it is, and how its value is read and written as nvidia-smi writes it; with the
//! small formatters the tables share.

use chrono::Local;

use crate::sample::{Details, FieldKey, GpuSample, RetirementCause, Snapshot};

/// One queryable property: nvidia-smi's canonical name first, then its other spellings.
pub(super) struct Field<T> {
    pub names: &'static [&'static str],
    /// Written after the value (`45 %`) and in the header (`fan.speed [%]`).
    pub unit: Option<&'static str>,
    /// Where a source files why the value is missing (`GpuSample::missing`); `None` for
    /// values that do not come from the GPU (the time, the host's).
    pub missing: Option<FieldKey>,
    /// What it is, for `--help-query-gpu` (in gputop's words; names and meanings are
    /// nvidia-smi's).
    pub about: &'static str,
    pub value: Value<T>,
}

/// How a property is read, which says how much the sampler must read for it.
pub(super) enum Value<T> {
    /// From what every sample has.
    Sample(fn(&T, &Snapshot) -> Option<String>),
    /// From the GPU's [`Details`]: each costs NVML calls per GPU, so the sampler reads them
    /// only when a query names one ([`super::needs_details`]).
    Details(fn(&Details) -> Option<String>),
}

/// How much of the GPU the sampler must read for a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    Sample,
    Details,
}

/// A row of a query's output, and the GPU it belongs to.
pub(super) trait OfGpu {
    fn gpu<'s>(&'s self, snapshot: &'s Snapshot) -> &'s GpuSample;
}

impl OfGpu for GpuSample {
    fn gpu<'s>(&'s self, _: &'s Snapshot) -> &'s GpuSample {
        self
    }
}

impl<T: OfGpu> Field<T> {
    pub fn canonical(&self) -> &'static str {
        self.names[0]
    }

    pub fn level(&self) -> Level {
        match self.value {
            Value::Sample(_) => Level::Sample,
            Value::Details(_) => Level::Details,
        }
    }

    /// The value as nvidia-smi prints it, before the unit; `None` where there is none.
    pub fn read(&self, row: &T, snapshot: &Snapshot) -> Option<String> {
        match self.value {
            Value::Sample(read) => read(row, snapshot),
            Value::Details(read) => row.gpu(snapshot).details.as_deref().and_then(read),
        }
    }
}

/// The description of the time of the query, in every table.
pub(super) const TIMESTAMP: &str =
    "When the query was made, as \"YYYY/MM/DD HH:MM:SS.msec\" in local time.";

pub(super) fn n<V: ToString>(v: Option<V>) -> Option<String> {
    v.map(|v| v.to_string())
}

pub(super) fn yes_no(v: Option<bool>) -> Option<String> {
    v.map(|on| if on { "Yes" } else { "No" }.to_string())
}

/// A capability as nvidia-smi's `-q` words it.
pub(super) fn supported(v: Option<bool>) -> Option<String> {
    v.map(|on| if on { "Supported" } else { "Not Supported" }.to_string())
}

pub(super) fn enabled(v: Option<bool>) -> Option<String> {
    v.map(|on| if on { "Enabled" } else { "Disabled" }.to_string())
}

pub(super) fn watts(v: Option<f64>) -> Option<String> {
    v.map(|w| format!("{w:.2}"))
}

/// One clock event (throttle) reason as nvidia-smi words it: `Active` or `Not Active`.
pub(super) fn reason(g: &GpuSample, bit: u64) -> Option<String> {
    g.throttle.mask.map(|m| if m & bit != 0 { "Active" } else { "Not Active" }.to_string())
}

/// The sample's time as nvidia-smi prints it: `YYYY/MM/DD HH:MM:SS.msec`, local.
pub(super) fn timestamp(s: &Snapshot) -> Option<String> {
    Some(s.taken_at.with_timezone(&Local).format("%Y/%m/%d %H:%M:%S%.3f").to_string())
}

pub(super) fn retired_count(d: &Details, cause: RetirementCause) -> Option<String> {
    let pages = d.retired_pages.as_ref()?;
    Some(pages.iter().filter(|p| p.cause == cause).count().to_string())
}
