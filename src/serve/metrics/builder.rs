//! The families of one rendering, registered as they are first set (the order of the
//! exposition), from the metric table: a value that is `None` registers its family and
//! writes no sample.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::metric_names::Metric;

pub type Labels = Vec<(String, String)>;
type GaugeFamily = Family<Labels, Gauge<f64, AtomicU64>>;
pub type CounterFamily = Family<Labels, Counter<f64, AtomicU64>>;

/// Registers gauges and counters on demand and sets them, skipping values that are `None`.
#[derive(Default)]
pub struct Builder {
    pub registry: Registry,
    gauges: Vec<(&'static str, GaugeFamily)>,
    counters: Vec<(&'static str, CounterFamily)>,
}

impl Builder {
    fn gauge(&mut self, m: &Metric) -> GaugeFamily {
        if let Some((_, f)) = self.gauges.iter().find(|(n, _)| *n == m.name) {
            return f.clone();
        }
        let family = GaugeFamily::default();
        self.registry.register(m.name, m.help, family.clone());
        self.gauges.push((m.name, family.clone()));
        family
    }

    /// A counter's family, registered the first time (its name without `_total`, which the
    /// encoding adds).
    pub fn counter(&mut self, m: &Metric) -> CounterFamily {
        if let Some((_, f)) = self.counters.iter().find(|(n, _)| *n == m.name) {
            return f.clone();
        }
        let family = CounterFamily::default();
        self.registry.register(m.name, m.help, family.clone());
        self.counters.push((m.name, family.clone()));
        family
    }

    pub fn set(&mut self, m: &Metric, labels: &Labels, value: Option<f64>) {
        let family = self.gauge(m);
        if let Some(v) = value {
            family.get_or_create(labels).set(v);
        }
    }

    /// A counter's running total.
    pub fn count(&mut self, m: &Metric, labels: &Labels, total: f64) {
        self.counter(m).get_or_create(labels).inc_by(total);
    }
}

/// Label pairs from names and values, in order.
pub fn labels<'a>(names: &[&str], values: impl IntoIterator<Item = &'a str>) -> Labels {
    names.iter().zip(values).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A series' labels: its subject's, then the metric's own (`values` in the order of
/// `m.labels`).
pub fn own(base: &Labels, m: &Metric, values: &[&str]) -> Labels {
    debug_assert_eq!(m.labels.len(), values.len(), "{}: one value per label", m.name);
    let mut all = base.clone();
    all.extend(m.labels.iter().zip(values).map(|(k, v)| (k.to_string(), v.to_string())));
    all
}
