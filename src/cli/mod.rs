//! The command line: typed, documented options (clap derive), as typed; `plan` lowers them.
//! The subcommands' flags are in `commands`.

mod commands;
pub mod completions;
pub mod manual;
mod values;

pub use commands::*;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser};

use crate::config::ThemeName;
use crate::output::query::{QueryFormat, QueryKind};
use crate::source::{DemoFleet, GpuSelector};
use crate::term::caps::ColorChoice;
use crate::text::time::{parse_duration, parse_moment, parse_time, Moment};

/// The variable `--nvml-lib` defaults to, for the Python module too.
pub const NVML_LIB_ENV: &str = "GPUTOP_NVML_LIB";
/// The variable `--host-proc` defaults to, for the Python module too.
pub const HOST_PROC_ENV: &str = "GPUTOP_HOST_PROC";

/// A fast terminal GPU monitor for NVIDIA, AMD and Intel GPUs.
///
/// Run without options for the interactive monitor; `--once` for a one-shot table, JSON or CSV;
/// `--query-gpu` for nvidia-smi compatible output; `--watch` for a plain refreshing view that
/// also logs to files and pipes; `doctor` to check the GPU stack. `--demo` simulates GPUs, so
/// all of it works anywhere.
#[derive(Debug, Parser)]
#[command(name = "gputop", version = env!("GPUTOP_LONG_VERSION"), about, long_about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub mode: ModeArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub source: SourceArgs,

    /// The options typed on the command line (`--once`, `-f`), the subcommand's too, as typed:
    /// not those an environment variable or a default set. `completions` and `man` refuse them.
    #[arg(skip)]
    pub typed: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ModeArgs {
    /// Sample once, print, and exit.
    #[arg(short = '1', long, conflicts_with = "watch")]
    pub once: bool,

    /// List the GPUs as nvidia-smi -L does: `GPU 0: NAME (UUID: GPU-…)`.
    #[arg(short = 'L', long, conflicts_with_all = ["watch", "once"])]
    pub list_gpus: bool,

    /// Refresh a plain view every SECS seconds (default: --interval) without taking over the
    /// terminal; appends timestamped blocks when stdout is not a terminal.
    #[arg(short = 'w', long, value_name = "SECS", num_args = 0..=1, value_parser = parse_interval,
          visible_alias = "loop", short_alias = 'l')]
    pub watch: Option<Option<Duration>>,

    /// Like --watch, every MS milliseconds (nvidia-smi's -lms; 100 to 3,600,000).
    #[arg(long = "loop-ms", value_name = "MS", conflicts_with_all = ["watch", "once"],
          value_parser = parse_millis)]
    pub loop_ms: Option<Duration>,

    /// Stop after N samples (watch modes).
    #[arg(long, value_name = "N", value_parser = parse_count::<u64>)]
    pub count: Option<u64>,

    /// Seconds between samples, 0.1 to 3600 [default: $GPUTOP_INTERVAL, the config file's, or 1].
    #[arg(long, value_name = "SECS", value_parser = parse_interval, allow_negative_numbers = true, global = true)]
    pub interval: Option<Duration>,

    /// Monitor only: never send signals to processes.
    #[arg(long)]
    pub readonly: bool,

    /// Monitor colours [default: dark, or the config file's; mono with NO_COLOR].
    #[arg(long, value_name = "THEME", value_enum)]
    pub theme: Option<ThemeName>,

    /// The configuration file [default: ~/.config/gputop/config.toml].
    #[arg(long, value_name = "PATH", env = "GPUTOP_CONFIG")]
    pub config: Option<PathBuf>,

    /// Print a commented configuration template and exit.
    #[arg(long)]
    pub print_config: bool,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print JSON (one document; one line per sample with --watch).
    #[arg(long, conflicts_with_all = ["csv", "query_gpu", "query_compute_apps", "query_retired_pages", "query_remapped_rows"])]
    pub json: bool,

    /// Print GPUs as CSV with a header.
    #[arg(long, conflicts_with_all = ["query_gpu", "query_compute_apps", "query_retired_pages", "query_remapped_rows"])]
    pub csv: bool,

    /// nvidia-smi compatible GPU query, e.g. `index,name,memory.used,utilization.gpu`.
    #[arg(long, value_name = "FIELDS", conflicts_with = "query_compute_apps")]
    pub query_gpu: Option<String>,

    /// nvidia-smi compatible process query, e.g. `pid,process_name,used_memory,gpu_uuid`.
    #[arg(long, value_name = "FIELDS", conflicts_with_all = ["query_retired_pages", "query_remapped_rows"])]
    pub query_compute_apps: Option<String>,

    /// nvidia-smi compatible query of pages retired after ECC errors (before Ampere), e.g.
    /// `gpu_uuid,retired_pages.address,retired_pages.cause`.
    #[arg(long, value_name = "FIELDS", conflicts_with_all = ["query_gpu", "query_remapped_rows"])]
    pub query_retired_pages: Option<String>,

    /// nvidia-smi compatible query of memory rows remapped after errors (Ampere and later),
    /// e.g. `gpu_bus_id,remapped_rows.pending,remapped_rows.failure`.
    #[arg(long, value_name = "FIELDS", conflicts_with = "query_gpu")]
    pub query_remapped_rows: Option<String>,

    /// Who holds the GPUs: processes grouped by user, container, pod or Slurm job, a line per
    /// holder, the largest holder of GPU memory first (as a table, --json or --watch).
    #[arg(long, value_name = "KEY", value_enum,
          conflicts_with_all = ["csv", "query_gpu", "query_compute_apps", "query_retired_pages", "query_remapped_rows"])]
    pub by: Option<crate::output::owners::OwnerKey>,

    /// List the properties --query-gpu knows, with what each is, and exit.
    #[arg(long)]
    pub help_query_gpu: bool,

    /// List the properties --query-compute-apps knows, with what each is, and exit.
    #[arg(long)]
    pub help_query_compute_apps: bool,

    /// List the properties --query-retired-pages knows, with what each is, and exit.
    #[arg(long)]
    pub help_query_retired_pages: bool,

    /// List the properties --query-remapped-rows knows, with what each is, and exit.
    #[arg(long)]
    pub help_query_remapped_rows: bool,

    /// Write the output to FILE instead of the terminal (nvidia-smi's -f): one sample, or every
    /// sample with --watch, appended as to a pipe.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filename: Option<PathBuf>,

    /// Output format for --query-*: `csv` with optional `noheader` and `nounits` [default: csv].
    #[arg(long, value_name = "FORMAT", value_parser = parse_query_format)]
    pub format: Option<QueryFormat>,

    /// When to colour the output.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_enum, global = true)]
    pub color: ColorChoice,

    /// Draw with ASCII only (automatic when the locale is not UTF-8).
    #[arg(long, global = true)]
    pub ascii: bool,
}

impl OutputArgs {
    /// The nvidia-smi query asked for, and its list of properties.
    pub fn query(&self) -> Option<(QueryKind, &str)> {
        [
            (QueryKind::Gpu, &self.query_gpu),
            (QueryKind::ComputeApps, &self.query_compute_apps),
            (QueryKind::RetiredPages, &self.query_retired_pages),
            (QueryKind::RemappedRows, &self.query_remapped_rows),
        ]
        .into_iter()
        .find_map(|(kind, fields)| Some((kind, fields.as_deref()?)))
    }

    /// The nvidia-smi query whose properties `--help-query-*` asks to list.
    pub fn help_query(&self) -> Option<QueryKind> {
        [
            (QueryKind::Gpu, self.help_query_gpu),
            (QueryKind::ComputeApps, self.help_query_compute_apps),
            (QueryKind::RetiredPages, self.help_query_retired_pages),
            (QueryKind::RemappedRows, self.help_query_remapped_rows),
        ]
        .into_iter()
        .find_map(|(kind, asked)| asked.then_some(kind))
    }
}

#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Only these GPUs: indices, UUIDs or PCI bus ids, comma-separated.
    #[arg(short = 'i', long = "id", value_name = "IDS", value_delimiter = ',', global = true)]
    pub ids: Vec<GpuSelector>,

    /// Use a simulated fleet instead of NVML: N NVIDIA GPUs (default 4) then an AMD and an
    /// Intel one, or a scenario file.
    #[arg(long, value_name = "N|SCENARIO", num_args = 0..=1, default_missing_value = "4", value_parser = parse_demo, global = true)]
    pub demo: Option<DemoFleet>,

    /// Show the GPUs of these `gputop serve` endpoints (host:port or URLs, comma-separated;
    /// `local` adds this machine).
    #[arg(long, value_name = "URLS", value_delimiter = ',', global = true)]
    pub remote: Vec<String>,

    /// Like --remote, one endpoint per line of FILE (# starts a comment); a line may end with
    /// `token_file=PATH` for that host's token and, for https://, `ca=PATH` for its CA.
    #[arg(long, value_name = "FILE", global = true)]
    pub hosts: Option<PathBuf>,

    /// Send `Authorization: Bearer TOKEN` to the --remote and --hosts endpoints, the token read
    /// from FILE (a host's own token_file= in --hosts comes first).
    #[arg(long, value_name = "FILE", global = true)]
    pub remote_token_file: Option<PathBuf>,

    /// Check the certificates of the https:// --remote and --hosts endpoints against the CA
    /// certificates in FILE (PEM) instead of the system's (a host's own ca= comes first).
    #[arg(long, value_name = "FILE", global = true)]
    pub remote_ca: Option<PathBuf>,

    /// Show the GPUs a Prometheus server has metrics of (`gputop serve` or dcgm-exporter on
    /// the nodes): http(s)://[USER[:PASSWORD]@]HOST:PORT[/PATH].
    #[arg(long, value_name = "URL", env = "GPUTOP_PROMETHEUS", conflicts_with_all = ["remote", "hosts", "demo"])]
    pub prometheus: Option<String>,

    /// With --prometheus: label matchers added to every query, like '{cluster="a",namespace="ml"}'.
    #[arg(long, value_name = "MATCHERS", requires = "prometheus")]
    pub selector: Option<String>,

    /// With --prometheus: send `Authorization: Bearer TOKEN`, the token read from FILE.
    #[arg(long, value_name = "FILE", requires = "prometheus")]
    pub prometheus_token_file: Option<PathBuf>,

    /// With --prometheus: the password of the URL's user, read from FILE (basic auth).
    #[arg(long, value_name = "FILE", requires = "prometheus")]
    pub prometheus_password_file: Option<PathBuf>,

    /// With --prometheus: trust the CA certificates in FILE (PEM) instead of the system's.
    #[arg(long, value_name = "FILE", requires = "prometheus")]
    pub prometheus_ca: Option<PathBuf>,

    /// Play back a recording (`gputop record`, `serve --record`) instead of sampling: the
    /// monitor, --once, --json, --csv and --watch show what it holds.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["remote", "hosts", "demo", "prometheus"])]
    pub replay: Option<PathBuf>,

    /// With --replay: start at this time (2026-11-29 03:00, local, or RFC 3339), or this long
    /// before the recording's end (2h) [default: its newest sample].
    #[arg(long, value_name = "TIME|DUR", requires = "replay", value_parser = parse_moment)]
    pub at: Option<Moment>,

    /// Only the GPU processes of this container (short or full id).
    #[arg(long, value_name = "ID")]
    pub container: Option<String>,

    /// Only the GPU processes of this Kubernetes pod (name or UID prefix).
    #[arg(long, value_name = "POD")]
    pub pod: Option<String>,

    /// Inside a container: the host's /proc mounted here, to map NVML's host PIDs to local
    /// ones [default: /host/proc when present].
    #[arg(long, value_name = "PATH", env = HOST_PROC_ENV, global = true)]
    pub host_proc: Option<PathBuf>,

    /// The NVML library to load (default: libnvidia-ml.so.1 from the system).
    #[arg(long, value_name = "PATH", env = NVML_LIB_ENV, global = true)]
    pub nvml_lib: Option<PathBuf>,

    /// Whether --nvml-lib was typed on the command line, not taken from GPUTOP_NVML_LIB: an
    /// exported variable is no reason to refuse `--demo`, a typed flag is.
    #[arg(skip)]
    pub nvml_lib_typed: bool,

    /// Whether --prometheus was typed, not taken from GPUTOP_PROMETHEUS: an exported URL is
    /// for the views, and no reason to refuse `health` or `select` on this machine.
    #[arg(skip)]
    pub prometheus_typed: bool,
}

impl Cli {
    /// `Some(--json)` for `health`, whose exit codes 1 and 2 are verdicts on the GPUs.
    pub fn health(&self) -> Option<bool> {
        match &self.command {
            Some(Command::Health(args)) => Some(args.json),
            _ => None,
        }
    }

    /// Parses the command line. `--demo` takes an optional value, so `gputop --demo serve`
    /// would read `serve` as a scenario file: a subcommand's name right after `--demo` is the
    /// subcommand, with the default demo fleet.
    pub fn parse_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Self {
        let args: Vec<std::ffi::OsString> = args.into_iter().collect();
        let health = args.iter().skip(1).take_while(|a| *a != "--").any(|a| a == "health");
        match Self::try_parse_args(args) {
            Ok(cli) => cli,
            // `health`'s codes 1 and 2 are verdicts: a command line it cannot run is unknown.
            Err(e) if health && e.use_stderr() => {
                let _ = e.print();
                std::process::exit(3);
            }
            Err(e) => e.exit(),
        }
    }

    /// [`Cli::parse_args`] without exiting: the command line as the user meant it, or clap's
    /// error.
    pub fn try_parse_args(
        args: impl IntoIterator<Item = std::ffi::OsString>,
    ) -> Result<Self, clap::Error> {
        let mut args: Vec<std::ffi::OsString> = args.into_iter().collect();
        // nvidia-smi spells its millisecond loop with one dash.
        for arg in args.iter_mut().skip(1) {
            if let Some(rest) = arg.to_str().and_then(|a| a.strip_prefix("-lms")) {
                if rest.is_empty() || rest.starts_with('=') {
                    *arg = format!("--loop-ms{rest}").into();
                }
            }
        }
        // `--demo` takes an optional value: before a subcommand's name it means the default
        // fleet, not a scenario of that name. The names come from the definition itself.
        let mut command = <Self as clap::CommandFactory>::command();
        let subcommands: Vec<String> = command
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .chain(["help".into()])
            .collect();
        for i in 0..args.len().saturating_sub(1) {
            let next = args[i + 1].to_str();
            if args[i] == "--demo" && next.is_some_and(|n| subcommands.iter().any(|s| s == n)) {
                args[i] = "--demo=4".into();
            }
        }
        let matches = command.try_get_matches_from_mut(args)?;
        let mut cli = <Self as clap::FromArgMatches>::from_arg_matches(&matches)?;
        cli.typed = typed_options(&command, &matches);
        cli.source.nvml_lib_typed = typed(&matches, "nvml_lib");
        cli.source.prometheus_typed =
            matches.value_source("prometheus") == Some(clap::parser::ValueSource::CommandLine);
        Ok(cli)
    }
}

/// Whether the argument `id` was given on the command line (of the subcommand too, for a
/// global one), not by its environment variable or default.
fn typed(matches: &clap::ArgMatches, id: &str) -> bool {
    let here = matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    here || matches.subcommand().is_some_and(|(_, sub)| typed(sub, id))
}

/// The options given on the command line (not by a variable or a default), each by its long
/// name, else its short one, once; the subcommand's after the top level's.
fn typed_options(command: &clap::Command, matches: &clap::ArgMatches) -> Vec<String> {
    let mut typed: Vec<String> = Vec::new();
    let mut level = Some((command, matches));
    while let Some((command, matches)) = level {
        for arg in command.get_arguments().filter(|a| !a.is_positional()) {
            let source = matches.value_source(arg.get_id().as_str());
            let name = match (arg.get_long(), arg.get_short()) {
                (Some(long), _) => format!("--{long}"),
                (None, Some(short)) => format!("-{short}"),
                (None, None) => continue,
            };
            if source == Some(clap::parser::ValueSource::CommandLine) && !typed.contains(&name) {
                typed.push(name);
            }
        }
        level = matches
            .subcommand()
            .and_then(|(name, sub)| Some((command.find_subcommand(name)?, sub)));
    }
    typed
}

/// A count of 1 or more (`--count`, `-n`), said in those words when it is not.
fn parse_count<T: std::str::FromStr + PartialOrd + From<u8>>(text: &str) -> Result<T, String> {
    match text.trim().parse::<T>() {
        Ok(n) if n >= T::from(1) => Ok(n),
        Ok(_) => Err("use 1 or more".into()),
        Err(_) => Err("not a count: use 1 or more".into()),
    }
}

/// `GPUTOP_INTERVAL`, when set: its errors name the variable.
pub fn interval_from_env() -> Result<Option<Duration>, String> {
    match std::env::var("GPUTOP_INTERVAL") {
        Ok(v) if !v.trim().is_empty() => {
            parse_interval(&v).map(Some).map_err(|e| format!("GPUTOP_INTERVAL: {e}"))
        }
        _ => Ok(None),
    }
}

/// `--interval` and `--watch`: a duration (a bare number is seconds) from 0.1 s to an hour.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let range = || format!("`{}` is out of range: use 0.1 to 3600 seconds", s.trim());
    let d = parse_duration(s).map_err(|e| if e.ends_with("out of range") { range() } else { e })?;
    if !(0.1..=3600.0).contains(&d.as_secs_f64()) {
        return Err(range());
    }
    Ok(d)
}

fn parse_millis(s: &str) -> Result<Duration, String> {
    let ms: u64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number of milliseconds"))?;
    if !(100..=3_600_000).contains(&ms) {
        return Err(format!("{ms} ms is out of range: use 100 to 3600000"));
    }
    Ok(Duration::from_millis(ms))
}

fn parse_query_format(s: &str) -> Result<QueryFormat, String> {
    s.parse()
}

fn parse_demo(s: &str) -> Result<DemoFleet, String> {
    match s.parse::<usize>() {
        Ok(n) => DemoFleet::gpus(n),
        Err(_) => Ok(DemoFleet::Scenario(PathBuf::from(s))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_count_is_1_or_more_in_those_words() {
        assert_eq!(parse_count::<u64>("3"), Ok(3));
        assert_eq!(parse_count::<u32>("0"), Err("use 1 or more".into()));
        assert!(parse_count::<u64>("-1").unwrap_err().contains("1 or more"));
    }

    #[test]
    fn intervals_are_bounded() {
        assert_eq!(parse_interval("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_interval("0.05").is_err());
        assert!(parse_interval("3601").is_err());
        assert!(parse_interval("soon").is_err());
    }

    #[test]
    fn demo_takes_a_count_or_a_file() {
        assert_eq!(parse_demo("8"), Ok(DemoFleet::Gpus(8)));
        assert_eq!(parse_demo("x.toml"), Ok(DemoFleet::Scenario("x.toml".into())));
        assert!(parse_demo("0").is_err());
    }

    #[test]
    fn a_subcommand_after_demo_is_the_subcommand() {
        let cli = Cli::parse_args(["gputop", "--demo", "serve"].map(Into::into));
        assert!(matches!(cli.command, Some(Command::Serve(_))));
        assert_eq!(cli.source.demo, Some(DemoFleet::Gpus(4)));
        let cli = Cli::parse_args(["gputop", "--demo", "8", "doctor"].map(Into::into));
        assert!(matches!(cli.command, Some(Command::Doctor(_))));
        assert_eq!(cli.source.demo, Some(DemoFleet::Gpus(8)));
    }

    #[test]
    fn every_duration_flag_reads_a_bare_number_as_seconds() {
        let secs = Duration::from_secs;
        let cli = Cli::try_parse_from(["gputop", "record", "--keep", "90", "--keep-raw", "2h"]);
        let Some(Command::Record(r)) = cli.unwrap().command else { panic!("record") };
        assert_eq!((r.keep, r.keep_raw), (secs(90), secs(7200)));
        let cli = Cli::try_parse_from(["gputop", "serve", "--stale-after", "90", "--record", "x"]);
        let Some(Command::Serve(s)) = cli.unwrap().command else { panic!("serve") };
        assert_eq!((s.stale_after, s.keep), (Some(secs(90)), secs(90 * 86_400)));
        let cli = Cli::try_parse_from(["gputop", "report", "--idle-min", "90", "--since", "90"]);
        let Some(Command::Report(r)) = cli.unwrap().command else { panic!("report") };
        assert_eq!((r.idle_min, r.since), (secs(90), Some(Moment::Ago(secs(90)))));
        let cli =
            Cli::try_parse_from(["gputop", "wait", "--stable", "1m", "--timeout", "90", "--", "x"]);
        let Some(Command::Wait(w)) = cli.unwrap().command else { panic!("wait") };
        assert_eq!((w.stable, w.timeout), (secs(60), Some(secs(90))));
    }

    #[test]
    fn a_negative_interval_is_out_of_range_not_an_unknown_flag() {
        let err = Cli::try_parse_from(["gputop", "--interval", "-1"]).unwrap_err().to_string();
        assert!(err.contains("out of range"), "{err}");
    }

    #[test]
    fn typed_options_are_those_on_the_command_line_only() {
        let typed = |args: &[&str]| Cli::try_parse_args(args.iter().map(Into::into)).unwrap().typed;
        assert_eq!(typed(&["gputop", "-1", "--json"]), ["--once", "--json"]);
        assert_eq!(typed(&["gputop", "completions", "bash", "--color", "never"]), ["--color"]);
        assert_eq!(
            typed(&["gputop", "--readonly", "serve", "--dcgm-names"]),
            ["--readonly", "--dcgm-names"]
        );
        // A default (--color auto) and a positional (the shell) are not options typed.
        assert!(typed(&["gputop", "completions", "zsh"]).is_empty());
    }

    #[test]
    fn ids_split_on_commas() {
        let cli = Cli::try_parse_from(["gputop", "--once", "--id", "0,GPU-x"]).unwrap();
        assert_eq!(cli.source.ids, vec![GpuSelector::Index(0), GpuSelector::Uuid("GPU-x".into())]);
    }
}
