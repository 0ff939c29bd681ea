//! The metrics GPU exporters publish, each spelled once: gputop's own names (`gputop serve`)
//! and NVIDIA dcgm-exporter's (`gputop serve --dcgm-names`, and what the `--prometheus`
//! source reads from either). `serve` writes by this table and the Prometheus source reads by
//! it; it imports nothing of the crate, so both may import it.

pub mod dcgm;
pub mod gputop;

/// The header on `/api/v1/snapshot` that tells a `--remote` reader the snapshot it gets is
/// stale, and how old (seconds).
pub const STALE_HEADER: &str = "gputop-stale-seconds";

/// A gauge (a value now) or a counter (a running total).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

/// The unit of a metric's values as exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// 0 to 1.
    Ratio,
    /// 0 to 100.
    Percent,
    Bytes,
    /// MiB, as DCGM's frame buffer fields.
    Mebibytes,
    BytesPerSecond,
    /// 1,024 bytes per second, as DCGM's PCIe throughput.
    KibibytesPerSecond,
    Celsius,
    Watts,
    Joules,
    Millijoules,
    Hertz,
    Megahertz,
    /// Unix time.
    Seconds,
    /// How many (errors, processes, links, lanes).
    Count,
    /// 1 or 0.
    Flag,
    /// A number that names something: a performance state, a PCIe generation, an XID.
    Number,
    /// A bit per reason (DCGM's throttle reasons).
    Bitmask,
    /// Always 1: the labels are the news.
    Info,
}

impl Unit {
    /// A value in this unit in the unit the model keeps (percent, MHz, joules); the other
    /// units are kept as they are.
    pub fn to_model(self, value: f64) -> f64 {
        match self {
            Unit::Ratio => value * 100.0,
            Unit::Hertz => value / 1e6,
            Unit::Millijoules => value / 1000.0,
            _ => value,
        }
    }
}

/// One metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The family's name, as in its `# TYPE` line; a counter's samples add `_total`.
    /// dcgm-exporter names each metric after its DCGM field (`DCGM_FI_DEV_GPU_UTIL`).
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub unit: Unit,
    /// Its own labels, in order: after the GPU's (the naming's `GPU_LABELS`) for a GPU's
    /// metric, all of them for the exporter's own (build, freshness).
    pub labels: &'static [&'static str],
}

impl Metric {
    pub const fn gauge(name: &'static str, unit: Unit, help: &'static str) -> Self {
        Self { name, help, kind: Kind::Gauge, unit, labels: &[] }
    }

    /// A counter, named without the `_total` its samples get.
    pub const fn counter(name: &'static str, unit: Unit, help: &'static str) -> Self {
        Self { name, help, kind: Kind::Counter, unit, labels: &[] }
    }

    /// The same metric with its own labels.
    pub const fn with(self, labels: &'static [&'static str]) -> Self {
        Self { labels, ..self }
    }

    /// Whether a sample's name (`…_total` for a counter) is of this family.
    pub fn is_sample(&self, sample: &str) -> bool {
        match self.kind {
            Kind::Gauge => sample == self.name,
            Kind::Counter => sample.strip_suffix("_total") == Some(self.name),
        }
    }

    /// A sample's name: the family's, with `_total` for a counter.
    pub fn sample_name(&self) -> String {
        match self.kind {
            Kind::Gauge => self.name.to_string(),
            Kind::Counter => format!("{}_total", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_is_spelled_once_and_follows_its_conventions() {
        let all: Vec<&Metric> = gputop::ALL.iter().chain(dcgm::ALL).copied().collect();
        for (i, m) in all.iter().enumerate() {
            assert!(all[..i].iter().all(|o| o.name != m.name), "{} twice", m.name);
            assert!(!m.name.ends_with("_total"), "{}: the encoding adds _total", m.name);
        }
        for m in gputop::ALL {
            assert!(m.name.starts_with("gputop_"), "{}", m.name);
            // The encoding ends each help with a period.
            assert!(!m.help.is_empty() && !m.help.ends_with('.'), "{}", m.name);
            let suffix = match m.unit {
                Unit::Ratio => Some("_ratio"),
                Unit::Bytes => Some("_bytes"),
                Unit::BytesPerSecond => Some("_bytes_per_second"),
                Unit::Celsius => Some("_celsius"),
                Unit::Watts => Some("_watts"),
                Unit::Joules => Some("_joules"),
                Unit::Hertz => Some("_hertz"),
                Unit::Seconds => Some("_seconds"),
                Unit::Info => Some("_info"),
                _ => None,
            };
            assert!(suffix.is_none_or(|s| m.name.ends_with(s)), "{} in {:?}", m.name, m.unit);
        }
        for m in dcgm::ALL {
            assert!(m.name.starts_with("DCGM_FI_"), "{}", m.name);
            // As dcgm-exporter's own (the encoding adds a second period, as it always has).
            assert!(m.help.ends_with('.'), "{}", m.name);
        }
    }

    #[test]
    fn a_counters_samples_end_in_total() {
        assert!(gputop::GPU_ENERGY.is_sample("gputop_gpu_energy_joules_total"));
        assert!(!gputop::GPU_ENERGY.is_sample("gputop_gpu_energy_joules"));
        assert!(gputop::GPU_UP.is_sample("gputop_gpu_up"));
        assert_eq!(gputop::XID_ERRORS.sample_name(), "gputop_gpu_xid_errors_total");
        assert_eq!(Unit::Ratio.to_model(0.5), 50.0);
        assert_eq!(Unit::Megahertz.to_model(1980.0), 1980.0);
    }
}
