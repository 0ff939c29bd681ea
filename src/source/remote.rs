//! Many hosts at once: the snapshots of several `gputop serve` endpoints (and, with `local`
//! in the list, this machine), fetched in parallel with a short timeout, so a host that is down
//! or slow is marked as such and never holds up the others.

use std::time::{Duration, Instant};

use serde::Deserialize;

use std::path::PathBuf;

use super::{tls, Source, SourceError};
pub use crate::sample::RemoteHost;
use crate::sample::{HostInfo, Snapshot, SCHEMA_VERSION};

/// How long a host may take to answer before it is shown as down.
const TIMEOUT: Duration = Duration::from_millis(1500);

/// A `gputop serve` endpoint to ask, the token to send it, and for https:// the CA to trust.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The snapshot's full URL.
    pub url: String,
    pub token: Option<String>,
    /// CA certificates (PEM) to trust instead of the system's; only for https://.
    pub ca_file: Option<PathBuf>,
}

impl Endpoint {
    /// `host:9835` or `http(s)://host:9835[/api/v1/snapshot]`; anything else is a usage error,
    /// and so is a CA file for a plain http endpoint (an `https://` forgotten).
    pub fn parse(
        text: &str,
        token: Option<String>,
        ca_file: Option<PathBuf>,
    ) -> Result<Self, String> {
        let rest = text.trim().split_once("://").map_or(text, |(_, rest)| rest);
        if rest.trim_matches('/').is_empty() {
            return Err(format!("`{text}` names no host"));
        }
        let url = normalize(text);
        let uri: ureq::http::Uri =
            url.parse().map_err(|_| format!("`{text}` is not a valid host:port or URL"))?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if ca_file.is_some() => {
                return Err(format!(
                    "`{text}` is plain http: a CA certificate is for https:// endpoints (write https://{})",
                    authority(&url)
                ))
            }
            Some("http") => {}
            Some(other) => {
                return Err(format!(
                    "`{text}`: only http:// and https:// endpoints are supported, not {other}://"
                ))
            }
            None => return Err(format!("`{text}` is not a valid host:port or URL")),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("`{text}` names no host"));
        }
        Ok(Self { url, token, ca_file })
    }

    /// `host:port`, as shown to people.
    pub fn authority(&self) -> String {
        authority(&self.url)
    }

    pub fn is_https(&self) -> bool {
        self.url.starts_with("https://")
    }

    /// Whether the token would cross a network in clear text: plain http to a host that is
    /// not this machine's loopback.
    pub fn sends_token_in_clear(&self) -> bool {
        self.token.is_some() && travels_in_clear(&self.url)
    }
}

/// Whether what is sent to `url` crosses a network unencrypted: plain http to a host that is
/// not this machine's loopback.
pub fn travels_in_clear(url: &str) -> bool {
    let Ok(uri) = ureq::http::Uri::try_from(url) else { return false };
    let host = uri.host().map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase());
    let loopback = host.is_some_and(|h| {
        h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    });
    uri.scheme_str() == Some("http") && !loopback
}

/// A line of a `--hosts` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostLine {
    pub url: String,
    /// `token_file=PATH`: this host's token.
    pub token_file: Option<PathBuf>,
    /// `ca=PATH`: the CA certificates (PEM) this https:// host's certificate is checked against.
    pub ca_file: Option<PathBuf>,
}

/// The lines of a `--hosts` file: `URL [token_file=PATH] [ca=PATH]`, `#` starting a comment.
pub fn parse_hosts_file(text: &str) -> Result<Vec<HostLine>, String> {
    let mut hosts = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut words = line.split('#').next().unwrap_or("").split_whitespace();
        let Some(url) = words.next() else { continue };
        let mut host = HostLine { url: url.to_string(), ..HostLine::default() };
        for word in words {
            let unexpected = || {
                format!(
                    "line {}: unexpected `{word}` (a line is `URL [token_file=PATH] [ca=PATH]`)",
                    n + 1
                )
            };
            let (key, path) = word.split_once('=').unwrap_or((word, ""));
            let slot = match key {
                "token_file" => &mut host.token_file,
                "ca" => &mut host.ca_file,
                _ => return Err(unexpected()),
            };
            if path.is_empty() || slot.is_some() {
                return Err(unexpected());
            }
            *slot = Some(PathBuf::from(path));
        }
        hosts.push(host);
    }
    Ok(hosts)
}

pub struct RemoteSource {
    /// Each endpoint with the agent that trusts its CA.
    endpoints: Vec<(Endpoint, ureq::Agent)>,
    /// This machine, when `local` is in the list; opening it may have failed (no driver), and
    /// then it is one host that is down, not the end of the command.
    local: Option<Result<Box<dyn Source>, String>>,
}

impl RemoteSource {
    /// Reads the CA files the endpoints name (each once): an unreadable one is an error.
    pub fn new(
        endpoints: Vec<Endpoint>,
        local: Option<Result<Box<dyn Source>, String>>,
    ) -> Result<Self, String> {
        // One agent per CA file (None: the system's roots), shared by the hosts that name it.
        let mut agents: Vec<(Option<PathBuf>, ureq::Agent)> = Vec::new();
        let mut with_agents = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let agent = match agents.iter().find(|(ca, _)| *ca == endpoint.ca_file) {
                Some((_, agent)) => agent.clone(),
                None => {
                    let roots = match &endpoint.ca_file {
                        Some(path) => tls::read_roots(path, "the CA file")?,
                        None => tls::system_roots(),
                    };
                    let agent = tls::agent(roots, TIMEOUT, true);
                    agents.push((endpoint.ca_file.clone(), agent.clone()));
                    agent
                }
            };
            with_agents.push((endpoint, agent));
        }
        // The `local` entry shows this machine's own CPU and memory, as the others do theirs.
        let local = local.map(|l| l.map(super::WithHostUsage::wrap));
        Ok(Self { endpoints: with_agents, local })
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
        ureq::Error::StatusCode(400) => "HTTP 400 (if it serves https, write https://)".into(),
        ureq::Error::StatusCode(code) => format!("HTTP {code}"),
        ureq::Error::Timeout(_) => format!("timeout (no answer in {} ms)", TIMEOUT.as_millis()),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is `gputop serve` running there?)".into()
        }
        ureq::Error::ConnectionFailed => "connection failed".into(),
        other => match tls::why_handshake_failed(other, "--remote-ca, or ca= in --hosts") {
            Some(why) => why,
            None => crate::text::sanitize::sanitize(&other.to_string()).into_owned(),
        },
    }
}

/// `http://gpu1:9835/api/v1/snapshot` → `gpu1:9835`.
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

type Fetched = Result<(Snapshot, Option<u64>), String>;

/// How many hosts are asked at once. A fleet of 500 hosts is asked by 32 threads, not 500
/// each sample (ureq adds a short-lived thread per name lookup while a fetch resolves); the
/// price is that hosts which do not answer hold a worker for `TIMEOUT` each, so a sample
/// with more than `MAX_CONCURRENT_FETCHES` of them takes a multiple of it.
pub const MAX_CONCURRENT_FETCHES: usize = 32;

/// Every endpoint's answer and how long it took, in the endpoints' order, fetched by at most
/// [`MAX_CONCURRENT_FETCHES`] threads that take the next endpoint as each finishes.
fn fetch_all(endpoints: &[(Endpoint, ureq::Agent)]) -> Vec<(Fetched, Duration)> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<(Fetched, Duration)>>> =
        endpoints.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..endpoints.len().min(MAX_CONCURRENT_FETCHES) {
            s.spawn(|| loop {
                let at = next.fetch_add(1, Ordering::Relaxed);
                let Some((endpoint, agent)) = endpoints.get(at) else { break };
                let started = Instant::now();
                let fetched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    fetch(agent, endpoint)
                }))
                .unwrap_or_else(|_| Err("fetch crashed".into()));
                *results[at].lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((fetched, started.elapsed()));
            });
        }
    });
    results
        .into_iter()
        .map(|r| {
            let r = r.into_inner().unwrap_or_else(|e| e.into_inner());
            r.unwrap_or((Err("not asked".into()), Duration::ZERO))
        })
        .collect()
}

/// A host's snapshot, and how old its last complete sample is when its exporter says it is
/// stale (sampling stuck there: a driver call that does not return).
fn fetch(agent: &ureq::Agent, endpoint: &Endpoint) -> Fetched {
    let mut request = agent.get(&endpoint.url);
    if let Some(token) = &endpoint.token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.call().map_err(|e| why_down(&e))?;
    let stale = response
        .headers()
        .get(crate::metric_names::STALE_HEADER)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let body = response.body_mut().read_to_string().map_err(|e| why_down(&e))?;
    Ok((parse_snapshot(&body)?, stale))
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
        let remote = fetch_all(&self.endpoints);
        let mut hosts: Vec<RemoteHost> = Vec::new();
        let mut gpus = Vec::new();
        let mut add = |url: &str, result: Fetched, took: Duration| match result {
            Ok((snap, stale)) => {
                // GPUs are grouped by host name, so two hosts must not share one.
                let mut name = snap.host.hostname.clone().unwrap_or_else(|| authority(url));
                if hosts.iter().any(|h| h.hostname.as_deref() == Some(name.as_str())) {
                    name = format!("{name}@{}", authority(url));
                }
                hosts.push(RemoteHost {
                    // Only the local entry's own live processes can be signalled from here.
                    live_here: url == "local" && snap.origin == crate::sample::Origin::Live,
                    stale: stale.is_some(),
                    age_seconds: stale.map(|s| s as f64),
                    error: stale.map(|s| super::stuck_exporter(s as f64)),
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
                Ok(source) => source.sample().map(|s| (s, None)).map_err(|e| e.to_string()),
                Err(e) => Err(e.clone()),
            };
            add("local", sampled, started.elapsed());
        }
        for ((endpoint, _), (result, took)) in self.endpoints.iter().zip(remote) {
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
        let endpoint = Endpoint::parse("127.0.0.1:9", None, None).unwrap();
        let mut src = RemoteSource::new(vec![endpoint], Some(Ok(local))).unwrap();
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
        let mut src = RemoteSource::new(Vec::new(), Some(Err("no driver".into()))).unwrap();
        let snap = src.sample().unwrap();
        assert_eq!((snap.hosts.len(), snap.hosts[0].up), (1, false));
        assert_eq!(snap.hosts[0].error.as_deref(), Some("no driver"));
    }

    #[test]
    fn hosts_files_name_endpoints_their_tokens_and_cas() {
        let text = "# lab\ngpu1:9835 token_file=/t/gpu1  # first\n\n  gpu2:9835\nhttps://gpu3 ca=/c/lab.pem token_file=/t/3\n";
        let hosts = parse_hosts_file(text).unwrap();
        let line = |url: &str, token: Option<&str>, ca: Option<&str>| HostLine {
            url: url.into(),
            token_file: token.map(Into::into),
            ca_file: ca.map(Into::into),
        };
        assert_eq!(
            hosts,
            vec![
                line("gpu1:9835", Some("/t/gpu1"), None),
                line("gpu2:9835", None, None),
                line("https://gpu3", Some("/t/3"), Some("/c/lab.pem")),
            ]
        );
        assert!(parse_hosts_file("gpu1 token=x\n").unwrap_err().starts_with("line 1:"));
        assert!(parse_hosts_file("\ngpu1 ca=\n").unwrap_err().starts_with("line 2:"));
        assert!(parse_hosts_file("gpu1 ca=/a ca=/b\n").unwrap_err().contains("`ca=/b`"));
    }

    #[test]
    fn bad_urls_are_refused_up_front() {
        assert!(Endpoint::parse("gpu1:9835", None, None).is_ok());
        assert!(Endpoint::parse("https://gpu1", None, Some("/ca.pem".into())).is_ok());
        assert!(Endpoint::parse("http://", None, None).is_err());
        assert!(Endpoint::parse("ftp://gpu1", None, None).unwrap_err().contains("only http"));
        assert!(Endpoint::parse("gpu 1:98", None, None).is_err());
        let err = Endpoint::parse("gpu1:9835", None, Some("/ca.pem".into())).unwrap_err();
        assert!(err.contains("write https://gpu1:9835"), "{err}");
    }

    #[test]
    fn a_token_in_clear_is_one_over_http_to_another_machine() {
        let token = || Some("t".to_string());
        let clear = |url: &str| Endpoint::parse(url, token(), None).unwrap().sends_token_in_clear();
        assert!(clear("gpu1:9835") && clear("http://10.0.0.5:9835"));
        assert!(!clear("127.0.0.1:9835") && !clear("localhost:9835") && !clear("[::1]:9835"));
        assert!(!clear("https://gpu1:9835"));
        assert!(!Endpoint::parse("gpu1:9835", None, None).unwrap().sends_token_in_clear());
    }

    #[test]
    fn snapshots_of_a_newer_schema_are_a_version_mismatch() {
        let newer = format!("{{\"schema_version\": {}}}", SCHEMA_VERSION + 1);
        assert!(parse_snapshot(&newer).unwrap_err().starts_with("version mismatch"));
        assert!(parse_snapshot("<html>").unwrap_err().starts_with("bad JSON"));
    }

    #[test]
    fn a_remote_gpu_keeps_its_vendor_and_one_from_before_vendors_is_nvidias() {
        use crate::sample::{GpuSample, Missing, MissingReason, Vendor};
        let mut amd = GpuSample::empty(1);
        amd.vendor = Vendor::Amd;
        amd.missing.insert(
            crate::sample::FieldKey::Throttle,
            Missing { reason: MissingReason::NotProvidedByAmdgpu, nvml_code: None },
        );
        let snapshot = Snapshot {
            schema_version: SCHEMA_VERSION,
            taken_at: chrono::Utc::now(),
            host: HostInfo::default(),
            gpus: vec![GpuSample::empty(0), amd],
            hosts: Vec::new(),
            origin: crate::sample::Origin::Live,
            warnings: Vec::new(),
        };
        let body = serde_json::to_string(&snapshot).unwrap();
        assert!(body.contains("\"vendor\":\"amd\""), "{body}");
        let read = parse_snapshot(&body).unwrap();
        assert_eq!(read.gpus[1].vendor, Vendor::Amd);
        assert_eq!(
            read.gpus[1].missing.get(crate::sample::FieldKey::Throttle).map(|m| m.reason),
            Some(MissingReason::NotProvidedByAmdgpu)
        );
        // A host running a gputop from before AMD and Intel GPUs sends no vendor.
        let old = body.replace("\"vendor\":\"nvidia\",", "").replace("\"vendor\":\"amd\",", "");
        assert!(!old.contains("vendor"), "{old}");
        let read = parse_snapshot(&old).unwrap();
        assert!(read.gpus.iter().all(|g| g.vendor == Vendor::Nvidia));
    }
}
