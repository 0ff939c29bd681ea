//! The source flags lowered into a [`SourcePlan`]: which backend, with the token, password and
//! hosts files read (their warnings said once, before any view takes the terminal), and the
//! same for the Python module ([`embedded`]), so both open through `source::open`.

use std::path::{Path, PathBuf};

use super::Kind;
use crate::cli::{Cli, HOST_PROC_ENV, NVML_LIB_ENV};
use crate::source::prometheus::Connection;
use crate::source::remote::{self, Endpoint, HostLine};
use crate::source::{
    Backend, DemoFleet, GpuSelector, Placement, SampleOptions, SourcePlan, SourceSpec,
};
use crate::Error;

/// The source of `kind`: the subcommands sample this machine (or the demo); the views may
/// play a recording, or ask Prometheus or other hosts.
/// Whether `kind` shows the source the flags name (a recording, Prometheus, other hosts):
/// the views do; the subcommands keep to this machine.
pub fn shows_named_source(kind: Kind) -> bool {
    matches!(kind, Kind::Monitor | Kind::Watch | Kind::Once | Kind::ListGpus)
}

pub fn plan(cli: &Cli, kind: Kind, options: SampleOptions) -> Result<SourcePlan, Error> {
    let src = &cli.source;
    let views = shows_named_source(kind);
    let backend = match (&src.replay, &src.prometheus) {
        _ if !views => Backend::Local(local(cli)),
        // --watch ends with the recording; the monitor stays on its newest sample.
        (Some(path), _) => {
            Backend::Replay { path: path.clone(), at: src.at, stop_at_end: kind == Kind::Watch }
        }
        (None, Some(url)) => prometheus(cli, url)?,
        (None, None) => remote(cli)?,
    };
    Ok(SourcePlan {
        backend,
        // select and wait sample every GPU, so that each vendor's ordinals count them all:
        // their --id narrows the choice instead (PickOptions::only).
        ids: if matches!(kind, Kind::Select | Kind::Wait) { Vec::new() } else { src.ids.clone() },
        options,
        // Nothing of the container or pod is said once on stderr, not over the monitor's
        // screen (said once it is the shell's again).
        placement: Placement {
            container: src.container.clone(),
            pod: src.pod.clone(),
            quiet: kind == Kind::Monitor,
        },
        // This host's CPU and memory: what `serve` exports and the monitor's header shows.
        host_usage: matches!(kind, Kind::Serve | Kind::Monitor),
    })
}

/// This machine's GPUs through NVML, or the demo's.
fn local(cli: &Cli) -> SourceSpec {
    match &cli.source.demo {
        Some(fleet) => SourceSpec::Demo(fleet.clone()),
        None => SourceSpec::Nvml {
            library: cli.source.nvml_lib.clone(),
            host_proc: cli.source.host_proc.clone(),
        },
    }
}

/// The local source, or with --remote/--hosts the many-host source around it.
fn remote(cli: &Cli) -> Result<Backend, Error> {
    let src = &cli.source;
    let shared_token = src.remote_token_file.as_deref().map(read_token).transpose()?;
    let mut entries: Vec<HostLine> =
        src.remote.iter().map(|u| HostLine { url: u.clone(), ..Default::default() }).collect();
    if let Some(path) = &src.hosts {
        let text = crate::small_file::read_to_string(path)
            .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
        let hosts = remote::parse_hosts_file(&text)
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
        entries.extend(hosts);
    }
    if entries.is_empty() {
        // A hosts file that names nobody is a mistake, never a fall-back to the local GPUs.
        if let Some(path) = &src.hosts {
            return Err(Error::Usage(format!(
                "{} names no host (one URL per line; `local` for this machine)",
                path.display()
            )));
        }
        return Ok(Backend::Local(local(cli)));
    }
    let mut endpoints = Vec::new();
    let mut with_local = false;
    for line in entries {
        if line.url == "local" {
            with_local = true;
            continue;
        }
        let token = match &line.token_file {
            Some(path) => Some(read_token(path)?),
            None => shared_token.clone(),
        };
        // --remote-ca is for the https:// hosts; a host's own ca= comes first.
        let https = line.url.trim_start().starts_with("https://");
        let ca_file = line.ca_file.or_else(|| src.remote_ca.clone().filter(|_| https));
        endpoints.push(Endpoint::parse(&line.url, token, ca_file).map_err(Error::Usage)?);
    }
    if src.remote_ca.is_some() && !endpoints.iter().any(|e| e.is_https()) {
        return Err(Error::Usage(
            "--remote-ca is for https:// endpoints, and none is given (write https://HOST:PORT)"
                .into(),
        ));
    }
    // Once per host, before the views take the terminal.
    let mut warned = std::collections::HashSet::new();
    for endpoint in endpoints.iter().filter(|e| e.sends_token_in_clear()) {
        if warned.insert(endpoint.authority()) {
            eprintln!(
                "gputop: warning: the token for {} goes over plain http, readable on the network: serve it with --tls-cert/--tls-key and write https://{}",
                endpoint.authority(),
                endpoint.authority()
            );
        }
    }
    Ok(Backend::Remote { endpoints, local: with_local.then(|| local(cli)) })
}

/// The fleet a Prometheus server has metrics of.
fn prometheus(cli: &Cli, url: &str) -> Result<Backend, Error> {
    let src = &cli.source;
    let connection = Connection {
        url: url.to_string(),
        token: src.prometheus_token_file.as_deref().map(read_token).transpose()?,
        password: src.prometheus_password_file.as_deref().map(read_password).transpose()?,
        ca_file: src.prometheus_ca.clone(),
    };
    let secret = if connection.token.is_some() {
        Some("token")
    } else {
        connection.password.as_ref().map(|_| "password")
    };
    if let Some(secret) = secret.filter(|_| remote::travels_in_clear(url)) {
        eprintln!(
            "gputop: warning: the Prometheus {secret} goes over plain http to {}, readable on the network: use https://",
            crate::text::sanitize::sanitize(url)
        );
    }
    Ok(Backend::Prometheus { connection, selector: src.selector.clone() })
}

/// A password from its file, the line end taken off (spaces in it are the password's).
fn read_password(path: &Path) -> Result<String, Error> {
    let text = crate::small_file::read_to_string(path).map_err(|e| {
        Error::Usage(format!("cannot read the password file {}: {e}", path.display()))
    })?;
    let password = text.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(Error::Usage(format!("the password file {} is empty", path.display())));
    }
    Ok(password.to_string())
}

/// A token from its file; a file other users can read is warned about on stderr.
pub fn read_token(path: &Path) -> Result<String, Error> {
    let (token, warning) = crate::serve::token::read(path).map_err(Error::Usage)?;
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    Ok(token)
}

/// The Python module's source: `library` (else `GPUTOP_NVML_LIB`, as `--nvml-lib`), the GPUs
/// `ids` names, or `demo` GPUs; `/proc` looked up for `processes`; `continuous` for a
/// background sampler, which pays for PCIe throughput and listens for events in its thread
/// (a one-shot query does not: 20 ms per GPU on real hardware, which a notebook cell asking
/// for memory should not pay).
pub fn embedded(
    library: Option<PathBuf>,
    ids: &[String],
    processes: bool,
    demo: Option<usize>,
    continuous: bool,
) -> Result<SourcePlan, Error> {
    let ids = ids
        .iter()
        .map(|s| s.parse::<GpuSelector>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::Usage)?;
    let spec = match demo {
        Some(n) => SourceSpec::Demo(DemoFleet::gpus(n).map_err(Error::Usage)?),
        None => SourceSpec::Nvml {
            library: nvml_library(library),
            host_proc: std::env::var_os(HOST_PROC_ENV).map(PathBuf::from),
        },
    };
    let options = SampleOptions {
        host_processes: processes,
        pcie_throughput: continuous,
        details: crate::source::DetailLevel::None,
        continuous,
    };
    Ok(SourcePlan::local(spec, ids, options))
}

/// The NVML library the Python module loads: the one named, else `GPUTOP_NVML_LIB`'s, as
/// `--nvml-lib` reads it; `None` is the system's.
pub fn nvml_library(named: Option<PathBuf>) -> Option<PathBuf> {
    named.or_else(|| std::env::var_os(NVML_LIB_ENV).map(PathBuf::from))
}
