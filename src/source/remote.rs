//! Many hosts at once: the snapshots of several `gputop serve` endpoints (and, with `local`
//! in the list, this machine), fetched in parallel with a short timeout, so a host that is down
//! or slow is marked as such and never holds up the others.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{Source, SourceError};
pub use crate::sample::RemoteHost;
use crate::sample::{HostInfo, Snapshot, SCHEMA_VERSION};

/// How long a host may take to answer before it is shown as down.
const TIMEOUT: Duration = Duration::from_millis(1500);

/// A `gputop serve` endpoint to ask, and the token to send it.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The snapshot's full URL.
    pub url: String,
    pub token: Option<String>,
}

impl Endpoint {
    /// `host:9835` or `http://host:9835[/api/v1/snapshot]`; anything else is a usage error.
    pub fn parse(text: &str, token: Option<String>) -> Result<Self, String> {
        let rest = text.trim().split_once("://").map_or(text, |(_, rest)| rest);
        if rest.trim_matches('/').is_empty() {
            return Err(format!("`{text}` names no host"));
        }
        let url = normalize(text);
        let uri: ureq::http::Uri =
            url.parse().map_err(|_| format!("`{text}` is not a valid host:port or URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => {
                return Err(format!(
                    "`{text}`: only http:// endpoints are supported, not {other}:// (reach a TLS endpoint through a local proxy or an SSH tunnel)"
                ))
            }
            None => return Err(format!("`{text}` is not a valid host:port or URL")),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("`{text}` names no host"));
        }
        Ok(Self { url, token })
    }
}

/// The lines of a `--hosts` file: `HOST:PORT [token_file=PATH]`, `#` starting a comment; each
/// endpoint with its own token file, if it names one.
pub fn parse_hosts_file(text: &str) -> Result<Vec<(String, Option<std::path::PathBuf>)>, String> {
    let mut hosts = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut words = line.split('#').next().unwrap_or("").split_whitespace();
        let Some(url) = words.next() else { continue };
        let mut token_file = None;
        for word in words {
            match word.strip_prefix("token_file=") {
                Some(p) if !p.is_empty() => token_file = Some(std::path::PathBuf::from(p)),
                _ => {
                    return Err(format!(
                        "line {}: unexpected `{word}` (a line is `HOST:PORT [token_file=PATH]`)",
                        n + 1
                    ))
                }
            }
        }
        hosts.push((url.to_string(), token_file));
    }
    Ok(hosts)
}

pub struct RemoteSource {
    endpoints: Vec<Endpoint>,
    /// This machine, when `local` is in the list; opening it may have failed (no driver), and
    /// then it is one host that is down, not the end of the command.
    local: Option<Result<Box<dyn Source>, String>>,
    agent: ureq::Agent,
}

impl RemoteSource {
    pub fn new(endpoints: Vec<Endpoint>, local: Option<Result<Box<dyn Source>, String>>) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(true)
            .build()
            .into();
        // The `local` entry shows this machine's own CPU and memory, as the others do theirs.
        let local = local.map(|l| l.map(super::WithHostUsage::wrap));
        Self { endpoints, local, agent }
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

/// Why a host did not answer, in a few words a person can act on.
fn why_down(e: &ureq::Error) -> String {
    match e {
        ureq::Error::StatusCode(401 | 403) => {
            "unauthorized: wrong or missing token (--remote-token-file, or token_file= in --hosts)"
                .into()
        }
        ureq::Error::StatusCode(code) => format!("HTTP {code}"),
        ureq::Error::Timeout(_) => format!("timeout (no answer in {} ms)", TIMEOUT.as_millis()),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is `gputop serve` running there?)".into()
        }
        ureq::Error::ConnectionFailed => "connection failed".into(),
        other => other.to_string(),
    }
}

/// `http://gpu1:9835/api/v1/snapshot` → `gpu1:9835`.
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

fn fetch(agent: &ureq::Agent, endpoint: &Endpoint) -> Result<Snapshot, String> {
    let mut request = agent.get(&endpoint.url);
    if let Some(token) = &endpoint.token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.call().map_err(|e| why_down(&e))?;
    let body = response.body_mut().read_to_string().map_err(|e| why_down(&e))?;
    parse_snapshot(&body)
}

/// A snapshot from another gputop: one of a newer schema is refused by name, not misread.
fn parse_snapshot(body: &str) -> Result<Snapshot, String> {
    #[derive(Deserialize)]
    struct Version {
        schema_version: u32,
    }
    let version: Version =
        serde_json::from_str(body).map_err(|_| "bad JSON: not a gputop snapshot".to_string())?;
    if version.schema_version > SCHEMA_VERSION {
        return Err(format!(
            "version mismatch: the host sends schema {}, this gputop reads up to {SCHEMA_VERSION} (upgrade gputop here)",
            version.schema_version
        ));
    }
    serde_json::from_str(body).map_err(|e| format!("bad JSON: not a gputop snapshot ({e})"))
}

impl Source for RemoteSource {
    fn sample(&mut self) -> Result<Snapshot, SourceError> {
        let agent = &self.agent;
        let remote: Vec<(Result<Snapshot, String>, Duration)> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .endpoints
                .iter()
                .map(|endpoint| {
                    s.spawn(move || {
                        let started = Instant::now();
                        (fetch(agent, endpoint), started.elapsed())
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
                    latency_ms: Some(took.as_millis() as u64),
                    cpu_percent: snap.host.cpu_percent,
                    memory_used_bytes: snap.host.memory_used_bytes,
                    memory_total_bytes: snap.host.memory_total_bytes,
                    ..RemoteHost::up(url, name.clone())
                });
                gpus.extend(snap.gpus.into_iter().map(|mut g| {
                    g.host = Some(name.clone());
                    g
                }));
            }
            Err(e) => hosts.push(RemoteHost::down(url, None, Some(e))),
        };
        if let Some(local) = self.local.as_mut() {
            let started = Instant::now();
            let sampled = match local {
                Ok(source) => source.sample().map_err(|e| e.to_string()),
                Err(e) => Err(e.clone()),
            };
            add("local", sampled, started.elapsed());
        }
        for (endpoint, (result, took)) in self.endpoints.iter().zip(remote) {
            add(&endpoint.url, result, took);
        }
        Ok(Snapshot {
            schema_version: SCHEMA_VERSION,
            taken_at: chrono::Utc::now(),
            // This machine's name: the hosts' own are in `hosts`.
            host: HostInfo { hostname: super::HostLookup::hostname(), ..HostInfo::default() },
            gpus,
            hosts,
            origin: crate::sample::Origin::Fleet,
            warnings: Vec::new(),
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
        let endpoint = Endpoint::parse("127.0.0.1:9", None).unwrap();
        let mut src = RemoteSource::new(vec![endpoint], Some(Ok(local)));
        let snap = src.sample().unwrap();
        assert_eq!(snap.gpus.len(), 2);
        assert!(snap.gpus.iter().all(|g| g.host.as_deref() == Some("demo")));
        assert_eq!(snap.hosts.len(), 2);
        assert!(snap.hosts[0].up && !snap.hosts[1].up);
        assert!(snap.hosts[0].cpu_percent.is_some() || snap.hosts[0].memory_total_bytes.is_some());
        assert!(snap.hosts[1].error.as_deref().unwrap().contains("refused"), "{:?}", snap.hosts[1]);
        assert_eq!(snap.host.hostname, crate::source::HostLookup::hostname());
    }

    #[test]
    fn a_local_entry_without_nvml_is_one_host_down() {
        let mut src = RemoteSource::new(Vec::new(), Some(Err("no driver".into())));
        let snap = src.sample().unwrap();
        assert_eq!((snap.hosts.len(), snap.hosts[0].up), (1, false));
        assert_eq!(snap.hosts[0].error.as_deref(), Some("no driver"));
    }

    #[test]
    fn hosts_files_name_endpoints_and_their_tokens() {
        let text = "# lab\ngpu1:9835 token_file=/t/gpu1  # first\n\n  gpu2:9835\n";
        let hosts = parse_hosts_file(text).unwrap();
        assert_eq!(
            hosts,
            vec![("gpu1:9835".into(), Some("/t/gpu1".into())), ("gpu2:9835".into(), None)]
        );
        assert!(parse_hosts_file("gpu1 token=x\n").unwrap_err().starts_with("line 1:"));
    }

    #[test]
    fn bad_urls_are_refused_up_front() {
        assert!(Endpoint::parse("gpu1:9835", None).is_ok());
        assert!(Endpoint::parse("http://", None).is_err());
        assert!(Endpoint::parse("https://gpu1", None).unwrap_err().contains("only http"));
        assert!(Endpoint::parse("gpu 1:98", None).is_err());
    }

    #[test]
    fn snapshots_of_a_newer_schema_are_a_version_mismatch() {
        let newer = format!("{{\"schema_version\": {}}}", SCHEMA_VERSION + 1);
        assert!(parse_snapshot(&newer).unwrap_err().starts_with("version mismatch"));
        assert!(parse_snapshot("<html>").unwrap_err().starts_with("bad JSON"));
    }
}
