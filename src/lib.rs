//! gputop: a fast terminal GPU monitor. `run` is the one dispatch over modes; everything
//! else is a library the modes share (sources, the sample model, history, renderers).

mod cli;
mod config;
mod doctor;
pub mod embed;
mod health;
mod history;
mod metric_names;
mod mode;
mod output;
mod pick;
mod plan;
mod poller;
mod process_signal;
mod record;
pub mod sample;
use gputop_scenario as scenario;
mod serve;
mod small_file;
mod source;
mod term;
#[doc(hidden)]
pub mod testing;
mod text;
mod tui;

pub use cli::Cli;

use std::io::{self, BufWriter, Write};
use std::time::Duration;

use mode::Format;
use plan::Mode;
use source::{SourceError, SourceSpec};

/// Why gputop stopped; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{0}")]
    Usage(String),
    /// An error nvidia-smi reports on stdout, in its words, for scripts that read them there.
    #[error("{0}")]
    NvidiaSmi(String),
    #[error("sampling failed: {0}")]
    Sampling(String),
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A recording that cannot be opened, read or written (a full disk, a file that is not
    /// gputop's database).
    #[error("{0}")]
    Recording(String),
}

impl From<output::query::QueryError> for Error {
    /// An unknown property is reported as nvidia-smi reports it.
    fn from(e: output::query::QueryError) -> Self {
        match e {
            output::query::QueryError::NotAField(_) => Self::NvidiaSmi(e.to_string()),
            output::query::QueryError::Empty => Self::Usage(e.to_string()),
        }
    }
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Source(e) => e.exit_code(),
            Self::Usage(_) | Self::NvidiaSmi(_) => 2,
            Self::Sampling(_) => 3,
            Self::Io(_) | Self::Recording(_) => 1,
        }
    }

    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Source(e) => e.hint(),
            _ => None,
        }
    }

    /// `gputop … | head` closing the pipe is a normal way to stop, not an error.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// The whole command: parses `args` (the program's name first), runs it, prints an error as
/// one line (nvidia-smi's errors as nvidia-smi prints them), and gives the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cli = Cli::parse_args(args);
    // `health`'s codes 1 and 2 are verdicts on the GPUs: anything that kept it from judging
    // them is unknown (3), so a prolog never drains a node over a typo, nor passes one.
    let health = match &cli.command {
        Some(cli::Command::Health(args)) => Some(args.json),
        _ => None,
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) if health.is_some() && !e.is_broken_pipe() => {
            let line = embed::error_line(&e);
            eprintln!("gputop: {line}");
            // A program that asked for JSON gets a verdict it can read: unknown, and why.
            if health == Some(true) {
                println!("{}", mode::health::unknown(&line));
            }
            3
        }
        Err(e) if e.is_broken_pipe() => 0,
        Err(Error::NvidiaSmi(text)) => {
            // As nvidia-smi prints it: on stdout, then a blank line.
            print!("{text}\n\n");
            let _ = io::stdout().flush();
            2
        }
        Err(e) => {
            eprintln!("gputop: {}", embed::error_line(&e));
            e.exit_code()
        }
    }
}

/// Runs the mode the command line asks for; the exit code on success (doctor's 0/1/2).
pub fn run(cli: Cli) -> Result<i32, Error> {
    let plan = plan::Plan::from_cli(&cli, interactive_terminal()).map_err(Error::Usage)?;
    if let Some(cli::Command::Doctor(args)) = &cli.command {
        return Ok(doctor(args, &cli));
    }
    if plan.mode == Mode::PrintConfig {
        print!("{}", config::TEMPLATE);
        return Ok(0);
    }
    if let Some(kind) = cli.output.help_query() {
        let _ = write!(io::stdout(), "{}", output::query::help(kind));
        return Ok(0);
    }
    // A file named on the command line (or in GPUTOP_CONFIG) must exist; the default may not.
    let config = match (&cli.mode.config, config::default_path()) {
        (Some(path), _) => config::Config::load_named(path).map_err(Error::Usage)?,
        (None, Some(path)) => {
            let (config, warning) = config::Config::load_default(&path).map_err(Error::Usage)?;
            if let Some(w) = warning {
                eprintln!("gputop: warning: {w}");
            }
            config
        }
        (None, None) => config::Config::default(),
    };
    let interval = match cli.mode.interval {
        Some(i) => Some(i),
        None => cli::interval_from_env().map_err(Error::Usage)?,
    };
    // Prometheus has new data once a scrape (15 s by default): asking every second would
    // re-read the same samples of thousands of GPUs.
    let default_interval = Duration::from_secs(if cli.source.prometheus.is_some() { 5 } else { 1 });
    let interval =
        interval.or(config.interval.map(Duration::from_secs_f64)).unwrap_or(default_interval);
    let sampling = plan.sampling.unwrap_or_default();
    match &cli.command {
        Some(cli::Command::Serve(args)) => {
            return serve(args, &cli, interval, sampling).map(|()| 0)
        }
        Some(cli::Command::Health(args)) => {
            let source = source_spec(&cli).open(&cli.source.ids, sampling)?;
            return mode::health::run(source, args);
        }
        Some(cli::Command::Select(args)) => {
            return mode::select::run(source_spec(&cli).open(&cli.source.ids, sampling)?, args)
        }
        Some(cli::Command::Wait(args)) => {
            if let Some(code) = mode::wait::unrunnable(&args.command) {
                return Ok(code);
            }
            let source = source_spec(&cli).open(&cli.source.ids, sampling)?;
            return mode::wait::run(source, args, interval);
        }
        Some(cli::Command::Record(args)) => {
            let source = source_spec(&cli).open(&cli.source.ids, sampling)?;
            return mode::record::run(source, args, interval).map(|()| 0);
        }
        Some(cli::Command::Report(args)) => return mode::report::run(args).map(|()| 0),
        _ => {}
    }
    let format = Format::from_cli(&cli)?;
    let (source, playhead) = match &cli.source.replay {
        Some(path) => {
            let replay = source::replay::ReplaySource::open(path, cli.source.at, &cli.source.ids)?;
            // --watch ends with the recording; the monitor stays on its newest sample.
            let replay =
                if matches!(plan.mode, Mode::Watch { .. }) { replay.stop_at_end() } else { replay };
            let playhead = replay.playhead();
            (Box::new(replay) as Box<dyn source::Source>, Some(playhead))
        }
        None => (open_source(&cli, sampling)?, None),
    };
    // Nothing of the container or pod: said once on stderr (not over the monitor's screen);
    // a one-shot output exits 1 then, as grep does when nothing matches.
    let (mut source, matched_nothing) = source::PlacementFilter::wrap(
        source,
        cli.source.container.clone(),
        cli.source.pod.clone(),
        plan.mode == Mode::Monitor,
    );
    match plan.mode {
        Mode::Monitor => {
            let result = tui::run(source, monitor_options(&cli, &config, interval, playhead));
            // Said once the screen is the shell's again.
            if matched_nothing.load(std::sync::atomic::Ordering::Relaxed) {
                eprintln!("gputop: a sample had no GPU process matching --container/--pod");
            }
            result
        }
        Mode::ListGpus => mode::once::list_gpus(source.as_mut(), &mut io::stdout().lock()),
        Mode::Watch { every, count } => {
            let output = output_file(&cli)?;
            // On a terminal that cannot move the cursor, the watch view stands in for the
            // monitor asked for: said once, and `q` quits it as it would the monitor.
            let for_monitor = cli.mode.watch.is_none()
                && cli.mode.loop_ms.is_none()
                && mode::watch::is_dumb_terminal();
            if for_monitor {
                eprintln!("gputop: TERM=dumb: the monitor needs a terminal that moves the cursor; showing the plain watch view instead (q or Ctrl-C quits)");
            }
            let options = mode::watch::WatchOptions {
                interval: every.unwrap_or(interval),
                count,
                output,
                quit_key: for_monitor,
            };
            mode::watch::run(source, format, options)
        }
        _ => {
            let mut out: Box<dyn Write> = match output_file(&cli)? {
                Some(file) => Box::new(BufWriter::new(file)),
                None => Box::new(BufWriter::new(io::stdout().lock())),
            };
            let result = mode::once::run(source.as_mut(), &format, &mut out);
            // The process is about to exit, which releases NVML and all memory anyway; tearing
            // the library down by hand (nvmlShutdown, dlclose, frees) adds ~20% to `--once`.
            std::mem::forget(source);
            let nothing = matched_nothing.load(std::sync::atomic::Ordering::Relaxed);
            return result.map(|()| if nothing { 1 } else { 0 });
        }
    }
    .map(|()| 0)
}

fn serve(
    args: &cli::ServeArgs,
    cli: &Cli,
    interval: Duration,
    options: source::SampleOptions,
) -> Result<(), Error> {
    let token = match &args.token_file {
        Some(path) => Some(read_token(path)?),
        None => None,
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let files = serve::tls::TlsFiles { cert: cert.clone(), key: key.clone() };
            let certificate = serve::tls::Reloading::load(files).map_err(Error::Usage)?;
            if let Some(w) = serve::tls::key_warning(key) {
                eprintln!("{w}");
            }
            Some(certificate)
        }
        (Some(_), None) => {
            return Err(Error::Usage(
                "--tls-cert needs --tls-key (the certificate's private key)".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(Error::Usage("--tls-key needs --tls-cert (the key's certificate)".into()))
        }
        (None, None) => None,
    };
    let recorder = match &args.record {
        Some(path) => {
            let r = mode::record::Recorder::open(Some(path), interval, args.keep_raw, args.keep)?;
            eprintln!(
                "gputop: recording every {}s into {}",
                interval.as_secs_f64(),
                path.display()
            );
            Some(r)
        }
        None => None,
    };
    let source = source_spec(cli).open(&cli.source.ids, options)?;
    let naming =
        if args.dcgm_names { serve::metrics::Naming::Dcgm } else { serve::metrics::Naming::Gputop };
    serve::run(
        source,
        serve::ServeOptions {
            listen: args.listen,
            interval,
            metrics: serve::metrics::MetricsOptions { naming, processes: args.processes },
            stale_after: args.stale_after.unwrap_or(interval * 3),
            token,
            tls,
            recorder,
        },
    )
}

/// The local source, or with --remote/--hosts the many-host source around it.
fn open_source(
    cli: &Cli,
    options: source::SampleOptions,
) -> Result<Box<dyn source::Source>, Error> {
    if let Some(url) = &cli.source.prometheus {
        return open_prometheus(cli, url);
    }
    let shared_token = cli.source.remote_token_file.as_deref().map(read_token).transpose()?;
    let mut entries: Vec<source::remote::HostLine> = cli
        .source
        .remote
        .iter()
        .map(|u| source::remote::HostLine { url: u.clone(), ..Default::default() })
        .collect();
    if let Some(path) = &cli.source.hosts {
        let text = small_file::read_to_string(path)
            .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
        let hosts = source::remote::parse_hosts_file(&text)
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
        entries.extend(hosts);
    }
    if entries.is_empty() {
        // A hosts file that names nobody is a mistake, never a fall-back to the local GPUs.
        if let Some(path) = &cli.source.hosts {
            return Err(Error::Usage(format!(
                "{} names no host (one URL per line; `local` for this machine)",
                path.display()
            )));
        }
        return Ok(source_spec(cli).open(&cli.source.ids, options)?);
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
        let ca_file = line.ca_file.or_else(|| cli.source.remote_ca.clone().filter(|_| https));
        endpoints.push(
            source::remote::Endpoint::parse(&line.url, token, ca_file).map_err(Error::Usage)?,
        );
    }
    if cli.source.remote_ca.is_some() && !endpoints.iter().any(|e| e.is_https()) {
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
    // No driver here is one host down, not the end of the command.
    let local = with_local
        .then(|| source_spec(cli).open(&cli.source.ids, options).map_err(|e| e.to_string()));
    Ok(Box::new(source::remote::RemoteSource::new(endpoints, local).map_err(Error::Usage)?))
}

/// The fleet a Prometheus server has metrics of.
fn open_prometheus(cli: &Cli, url: &str) -> Result<Box<dyn source::Source>, Error> {
    if !cli.source.ids.is_empty() {
        return Err(Error::Usage(
            "--id picks local GPUs; with --prometheus, narrow with --selector '{Hostname=\"node1\"}'".into(),
        ));
    }
    let connection = source::prometheus::Connection {
        url: url.to_string(),
        token: cli.source.prometheus_token_file.as_deref().map(read_token).transpose()?,
        password: cli.source.prometheus_password_file.as_deref().map(read_password).transpose()?,
        ca_file: cli.source.prometheus_ca.clone(),
    };
    let secret = if connection.token.is_some() {
        Some("token")
    } else {
        connection.password.as_ref().map(|_| "password")
    };
    if let Some(secret) = secret.filter(|_| source::remote::travels_in_clear(url)) {
        eprintln!(
            "gputop: warning: the Prometheus {secret} goes over plain http to {}, readable on the network: use https://",
            text::sanitize::sanitize(url)
        );
    }
    let source =
        source::prometheus::PrometheusSource::new(&connection, cli.source.selector.as_deref())
            .map_err(Error::Usage)?;
    Ok(Box::new(source))
}

/// A password from its file, the line end taken off (spaces in it are the password's).
fn read_password(path: &std::path::Path) -> Result<String, Error> {
    let text = small_file::read_to_string(path).map_err(|e| {
        Error::Usage(format!("cannot read the password file {}: {e}", path.display()))
    })?;
    let password = text.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(Error::Usage(format!("the password file {} is empty", path.display())));
    }
    Ok(password.to_string())
}

/// A token from its file; a file other users can read is warned about on stderr.
fn read_token(path: &std::path::Path) -> Result<String, Error> {
    let (token, warning) = serve::token::read(path).map_err(Error::Usage)?;
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    Ok(token)
}

fn source_spec(cli: &Cli) -> SourceSpec {
    match &cli.source.demo {
        Some(fleet) => SourceSpec::Demo(fleet.clone()),
        None => SourceSpec::Nvml {
            library: cli.source.nvml_lib.clone(),
            host_proc: cli.source.host_proc.clone(),
        },
    }
}

fn interactive_terminal() -> bool {
    use std::io::IsTerminal;
    io::stdout().is_terminal()
        && io::stdin().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Flags over the config file over defaults; no colour means the monochrome theme.
fn monitor_options(
    cli: &Cli,
    config: &config::Config,
    interval: Duration,
    replay: Option<source::replay::SharedPlayhead>,
) -> tui::TuiOptions {
    let name = if cli.output.color.enabled_for_tty() {
        cli.mode.theme.or(config.theme).unwrap_or_default()
    } else {
        tui::theme::ThemeName::Mono
    };
    let sort = config.sort.unwrap_or(tui::SortKey::GpuMemory);
    tui::TuiOptions {
        interval,
        window: Duration::from_secs(config.history_seconds.unwrap_or(600).clamp(10, 86_400)),
        theme: tui::theme::Theme::new(name, cli.output.ascii || !mode::locale_is_utf8()),
        // A replay's rows are history: nothing in it is ever signalled.
        readonly: cli.mode.readonly || replay.is_some(),
        show_gpus: !config.hide_gpus,
        show_processes: !config.hide_processes,
        sort,
        descending: config.sort_descending.unwrap_or(sort.largest_first()),
        columns: config.process_columns(),
        replay,
    }
}

fn doctor(args: &cli::DoctorArgs, cli: &Cli) -> i32 {
    // The demo simulates GPUs, not a driver, CUDA or frameworks to diagnose.
    if cli.source.demo.is_some() {
        eprintln!("gputop: doctor checks this machine's real GPU stack (driver, NVML, CUDA, frameworks), not the --demo fleet");
    }
    let system = doctor::System::local();
    let options = doctor::DoctorOptions {
        nvml_library: cli.source.nvml_lib.clone(),
        python: !args.no_python,
    };
    let report = doctor::diagnose(&system, &options);
    let text = if args.json {
        doctor::render_json(&report)
    } else {
        let painter = output::style::Painter { enabled: cli.output.color.enabled() };
        doctor::render_text(&report, painter, cli.output.ascii || !mode::locale_is_utf8())
    };
    // A closed pipe is no reason to change the verdict.
    let _ = writeln!(io::stdout(), "{text}");
    report.exit_code()
}

/// The file `-f` names, created or emptied, as nvidia-smi does.
fn output_file(cli: &Cli) -> Result<Option<std::fs::File>, Error> {
    let Some(path) = &cli.output.filename else { return Ok(None) };
    std::fs::File::create(path)
        .map(Some)
        .map_err(|e| Error::Usage(format!("cannot write to {}: {e}", path.display())))
}
