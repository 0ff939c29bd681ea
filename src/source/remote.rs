//! Many hosts at once: the snapshots of several `gputop serve` endpoints (and, with `local`
//! in the list, this machine), fetched in parallel with a short timeout, so a host that is down
//! or slow is marked as such and never holds up the others.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Source, SourceError};
use crate::sample::{HostInfo, Snapshot, SCHEMA_VERSION};

/// How long a host may take to answer before it is shown as down.
const TIMEOUT: Duration = Duration::from_millis(1500);

/// One host of a many-host snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteHost {
    /// The endpoint, or "local".
    pub url: String,
    pub hostname: Option<String>,
    pub up: bool,
    pub error: Option<String>,
    /// How long the answer took.
    pub latency_ms: Option<u64>,
}

pub struct RemoteSource {
    urls: Vec<String>,
    local: Option<Box<dyn Source>>,
    agent: ureq::Agent,
}

impl RemoteSource {
    /// `urls` are `gputop serve` base URLs (`http://host:9835`); `local` samples this machine.
    pub fn new(urls: Vec<String>, local: Option<Box<dyn Source>>) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(true)
            .build()
            .into();
        Self { urls: urls.into_iter().map(|u| normalize(&u)).collect(), local, agent }
    }
}

/// `host:9835` → `http://host:9835/api/v1/snapshot`.
fn normalize(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let url = if url.contains("://") { url.to_string() } else { format!("http://{url}") };
    if url.ends_with("/api/v1/snapshot") {
        url
    } else {
        format!("{url}/api/v1/snapshot")
    }
}

/// `http://gpu1:9835/api/v1/snapshot` → `gpu1:9835`.
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

fn fetch(agent: &ureq::Agent, url: &str) -> Result<Snapshot, String> {
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let body = response.body_mut().read_to_string().map_err(|e| e.to_string())?;
    serde_json::from_str(&body).map_err(|e| format!("not a gputop snapshot: {e}"))
}

impl Source for RemoteSource {
    fn sample(&mut self) -> Result<Snapshot, SourceError> {
        let agent = &self.agent;
        let remote: Vec<(Result<Snapshot, String>, Duration)> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .urls
                .iter()
                .map(|url| {
                    s.spawn(move || {
                        let started = Instant::now();
                        (fetch(agent, url), started.elapsed())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or((Err("fetch crashed".into()), Duration::ZERO)))
                .collect()
        });
        let mut hosts: Vec<RemoteHost> = Vec::new();
        let mut gpus = Vec::new();
        let mut add = |url: &str, result: Result<Snapshot, String>, took: Duration| match result {
            Ok(snap) => {
                // GPUs are grouped by host name, so two hosts must not share one.
                let mut name = snap.host.hostname.clone().unwrap_or_else(|| authority(url));
                if hosts.iter().any(|h| h.hostname.as_deref() == Some(name.as_str())) {
                    name = format!("{name}@{}", authority(url));
                }
                hosts.push(RemoteHost {
                    url: url.to_string(),
                    hostname: Some(name.clone()),
                    up: true,
                    error: None,
                    latency_ms: Some(took.as_millis() as u64),
                });
                gpus.extend(snap.gpus.into_iter().map(|mut g| {
                    g.host = Some(name.clone());
                    g
                }));
            }
            Err(e) => hosts.push(RemoteHost {
                url: url.to_string(),
                hostname: None,
                up: false,
                error: Some(e),
                latency_ms: None,
            }),
        };
        if let Some(local) = self.local.as_mut() {
            let started = Instant::now();
            add("local", local.sample().map_err(|e| e.to_string()), started.elapsed());
        }
        for (url, (result, took)) in self.urls.iter().zip(remote) {
            add(url, result, took);
        }
        let up = hosts.iter().filter(|h| h.up).count();
        Ok(Snapshot {
            schema_version: SCHEMA_VERSION,
            taken_at: chrono::Utc::now(),
            host: HostInfo {
                hostname: Some(format!("{up}/{} hosts up", hosts.len())),
                ..HostInfo::default()
            },
            gpus,
            hosts,
            simulated: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_completed() {
        assert_eq!(normalize("gpu1:9835"), "http://gpu1:9835/api/v1/snapshot");
        assert_eq!(normalize("http://gpu1:9835/"), "http://gpu1:9835/api/v1/snapshot");
        assert_eq!(normalize("https://x/api/v1/snapshot"), "https://x/api/v1/snapshot");
    }

    #[test]
    fn a_host_that_is_down_is_marked_and_the_others_still_count() {
        // Nothing listens on port 9 of loopback; the local demo answers.
        let local = Box::new(
            crate::source::SimSource::new(crate::scenario::Scenario::demo(2), &[]).unwrap(),
        );
        let mut src = RemoteSource::new(vec!["127.0.0.1:9".into()], Some(local));
        let snap = src.sample().unwrap();
        assert_eq!(snap.gpus.len(), 2);
        assert!(snap.gpus.iter().all(|g| g.host.as_deref() == Some("demo")));
        assert_eq!(snap.hosts.len(), 2);
        assert!(snap.hosts[0].up && !snap.hosts[1].up);
        assert!(snap.hosts[1].error.is_some());
        assert_eq!(snap.host.hostname.as_deref(), Some("1/2 hosts up"));
    }
}
