//! How fresh the exporter's data is, exported under either naming: a scraper cannot tell old
//! values served again from new ones otherwise.

use crate::metric_names::gputop as names;
use crate::sample::Snapshot;

use super::builder::{labels, Builder};

#[derive(Debug, Clone, Default)]
pub struct Freshness {
    /// When the last complete sample was taken.
    pub last_sample: Option<chrono::DateTime<chrono::Utc>>,
    /// Samples that failed since the exporter started.
    pub errors: u64,
}

pub fn families(b: &mut Builder, snapshot: &Snapshot, freshness: &Freshness) {
    let host = snapshot.host.hostname.as_deref().unwrap_or("");
    let l = labels(names::LAST_SAMPLE_TIMESTAMP.labels, [host]);
    let last = freshness.last_sample.map(|t| t.timestamp_millis() as f64 / 1000.0);
    b.set(&names::LAST_SAMPLE_TIMESTAMP, &l, last);
    let l = labels(names::SAMPLE_ERRORS.labels, [host]);
    b.count(&names::SAMPLE_ERRORS, &l, freshness.errors as f64);
}
