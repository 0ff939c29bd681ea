//! A fleet's GPUs read from the Prometheus that already scrapes them (`--prometheus URL`):
//! `gputop serve` or dcgm-exporter on the nodes, nothing new to install there. Each refresh
//! asks, in four instant queries sent together, for every GPU metric of both vocabularies,
//! when each host's data was scraped, and which targets are up; the answer becomes the same many-host snapshot that
//! `--remote` gives, so every mode shows it.

pub mod client;
mod fleet;
mod past;
#[cfg(test)]
mod round_trip;
mod vocabulary;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub use client::Connection;

use super::{Source, SourceError};
use crate::metric_names::gputop;
use crate::sample::{HostInfo, PastGpu, Snapshot, SCHEMA_VERSION};

pub struct PrometheusSource {
    client: client::Client,
    queries: Vec<String>,
    /// Host names seen behind each scrape target, so a target that went down keeps its name.
    names: HashMap<(String, String), String>,
    /// `--selector`, as given (named when nothing matched, or when it is not valid).
    selector: Option<String>,
    /// Its label matchers, for the range query of the charts' past.
    matchers: String,
    /// GPUs in the last answer: a large fleet's past is its utilization alone.
    gpus_seen: usize,
}

impl PrometheusSource {
    /// `selector`: label matchers (`{cluster="a"}`) added to every query.
    pub fn new(connection: &Connection, selector: Option<&str>) -> Result<Self, String> {
        let matchers = match selector {
            Some(s) => parse_selector(s)?,
            None => String::new(),
        };
        Ok(Self {
            client: client::Client::new(connection)?,
            queries: queries(&matchers),
            matchers,
            gpus_seen: 0,
            names: HashMap::new(),
            selector: selector.map(str::to_string),
        })
    }
}

/// `{cluster="a", namespace="ml"}` (braces optional) → `cluster="a", namespace="ml"`;
/// Prometheus itself judges the matchers.
fn parse_selector(text: &str) -> Result<String, String> {
    let t = text.trim();
    let inner = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(t).trim();
    if inner.contains(['{', '}']) {
        return Err(format!(
            "--selector `{text}`: give label matchers only, like '{{cluster=\"a\",namespace=\"ml\"}}'"
        ));
    }
    Ok(inner.to_string())
}

/// The queries of a refresh, sent together: each vocabulary's GPU metrics grouped to
/// `(__name__, instance, gpu)` (gputop's with the per-process series), one labelled and dated
/// series per GPU, and the targets' `up` and scrape counts. Set operators match series
/// without their names, so the series that are not metrics carry a `gputop_kind` label of
/// their own to survive `or`.
///
/// Four queries, not one: Prometheus answers them on several cores at once, and joining the
/// parts with `or` cost it a third of its CPU. 8,000 GPUs on two cores: 2.2 s → 1.0 s
/// (`scripts/bench-prometheus.sh`).
fn queries(matchers: &str) -> Vec<String> {
    let with =
        |m: &str| if matchers.is_empty() { m.to_string() } else { format!("{m},{matchers}") };
    let grouped = |names: Vec<String>| {
        let selector = format!("{{{}}}", with(&format!("__name__=~\"{}\"", names.join("|"))));
        format!("max by ({}) ({selector})", fleet::value_labels())
    };
    let processes = vocabulary::PROCESSES.name;
    let processes = format!("{{{}}}", with(&format!("__name__=\"{processes}\"")));
    let (label, stamp, scrapes) = (fleet::KIND_LABEL, fleet::KIND_TIMESTAMP, fleet::KIND_SCRAPES);
    let last_sample = format!(
        "label_replace({{{}}}, \"{label}\", \"{}\", \"\", \"\")",
        with(&format!("__name__=\"{}\"", gputop::LAST_SAMPLE_TIMESTAMP.name)),
        fleet::KIND_LAST_SAMPLE
    );
    // One `or` term per metric: `or` keeps the first of series alike but for their name.
    let dated: Vec<String> = vocabulary::DATED
        .iter()
        .map(|metric| {
            let selector = format!("{{{}}}", with(&format!("__name__=\"{}\"", metric.name)));
            format!("label_replace(timestamp({selector}), \"{label}\", \"{stamp}\", \"\", \"\")")
        })
        .collect();
    let up = format!("up{{{matchers}}}");
    vec![
        format!("{} or {processes}", grouped(vocabulary::gputop_names())),
        grouped(vocabulary::dcgm_names()),
        dated.join(" or "),
        format!(
            "{up} or label_replace(count_over_time({up}[{window}s]), \"{label}\", \"{scrapes}\", \"\", \"\") or {last_sample}",
            window = fleet::SCRAPES_WINDOW
        ),
    ]
}

impl Source for PrometheusSource {
    fn sample(&mut self) -> Result<Snapshot, SourceError> {
        let assembly = Mutex::new(fleet::Assembly::default());
        // Every series of an answer is evaluated at one instant; it dates the answer.
        let evaluated = OnceLock::new();
        let answers: Vec<Result<Vec<String>, String>> = std::thread::scope(|scope| {
            let asked: Vec<_> = (self.queries.iter())
                .map(|query| {
                    scope.spawn(|| {
                        self.client.query(query, |s| {
                            evaluated.get_or_init(|| s.value.0);
                            assembly.lock().unwrap_or_else(|e| e.into_inner()).add(&s);
                        })
                    })
                })
                .collect();
            let answer = |h: std::thread::ScopedJoinHandle<'_, _>| {
                h.join().unwrap_or_else(|_| Err("reading the answer failed".to_string()))
            };
            asked.into_iter().map(answer).collect()
        });
        let assembly = assembly.into_inner().unwrap_or_else(|e| e.into_inner());
        let evaluated = evaluated.into_inner();
        let warnings = answers
            .into_iter()
            .try_fold(Vec::new(), |mut all: Vec<String>, answer| {
                for w in answer? {
                    if !all.contains(&w) {
                        all.push(w);
                    }
                }
                Ok(all)
            })
            .map_err(|e: String| {
                // The query is ours and valid: a PromQL error names the selector's mistake.
                match &self.selector {
                    Some(s) if e.contains(", bad_data: ") => {
                        SourceError::Prometheus(format!("--selector `{s}` is not valid: {e}"))
                    }
                    _ => SourceError::Prometheus(e),
                }
            })?;
        let now = chrono::Utc::now();
        let at = evaluated.unwrap_or(now.timestamp_millis() as f64 / 1000.0);
        let (hosts, gpus) = assembly.finish(at, &mut self.names);
        self.gpus_seen = gpus.len();
        if hosts.is_empty() {
            return Err(SourceError::Prometheus(format!(
                "{} has no GPU metrics{}: looked for gputop's (gputop_gpu_*) and dcgm-exporter's (DCGM_FI_DEV_*) names",
                self.client.shown(),
                if self.selector.is_some() { " matching --selector" } else { "" }
            )));
        }
        let taken_at = chrono::DateTime::from_timestamp_millis((at * 1000.0) as i64).unwrap_or(now);
        Ok(Snapshot {
            schema_version: SCHEMA_VERSION,
            taken_at,
            host: HostInfo { hostname: super::HostLookup::hostname(), ..HostInfo::default() },
            gpus,
            hosts,
            origin: crate::sample::Origin::Fleet,
            warnings,
        })
    }

    fn past(&mut self, window: Duration, step: Duration) -> Vec<PastGpu> {
        past::read(&self.client, &self.matchers, self.gpus_seen, window, step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_become_matchers_of_every_part() {
        assert_eq!(
            parse_selector(r#"{cluster="a", ns=~"ml.*"}"#).unwrap(),
            r#"cluster="a", ns=~"ml.*""#
        );
        assert_eq!(parse_selector("job=\"dcgm\"").unwrap(), "job=\"dcgm\"");
        assert!(parse_selector("{a=\"1\"}{b}").is_err());
        let q = queries("cluster=\"a\"").join(" ; ");
        assert!(q.contains("{__name__=~\"DCGM_FI_DEV_GPU_UTIL|"), "{q}");
        assert_eq!(q.matches(",cluster=\"a\"}").count(), 8, "{q}");
        assert_eq!(q.matches("up{cluster=\"a\"}").count(), 2, "{q}");
        assert!(queries("")[3].starts_with("up{} or "));
    }
}
