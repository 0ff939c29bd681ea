//! The command line: typed, documented options (clap derive).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::ThemeName;
use crate::output::query::{QueryFormat, QueryKind};
use crate::output::style::ColorChoice;
use crate::source::{DemoFleet, GpuSelector};

/// A fast terminal GPU monitor for NVIDIA GPUs.
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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the whole GPU stack (driver, NVML, CUDA, cuDNN, frameworks, containers) and say
    /// exactly what to fix. Exit code: 0 all ok, 1 warnings, 2 failures.
    Doctor(DoctorArgs),
    /// Serve Prometheus metrics (/metrics), the JSON snapshot (/api/v1/snapshot) and /healthz.
    Serve(ServeArgs),
    /// A line per GPU: ok, warning, failure or unknown, and what to do. Exit code: 0 all ok,
    /// 1 warnings, 2 failures, 3 unknown: no GPU found, or something could not be examined
    /// (for a Kubernetes probe or a Slurm prolog).
    ///
    /// Judged from one sample: a GPU that cannot be reached, memory rows that failed to remap
    /// or wait for a reset, pages waiting to be retired, uncorrected ECC errors, a PCIe link
    /// narrower than it can be, hardware slowdowns.
    Health(HealthArgs),
    /// Print free GPUs, best first, for CUDA_VISIBLE_DEVICES. Exit 1 with the reason when
    /// fewer than N are free.
    ///
    /// A GPU is free when no compute process holds it (a desktop's graphics do not count), its
    /// utilization stayed under --max-util over the last 10 s (the driver's own samples: one
    /// query, no waiting), and no `gputop wait` claimed it. Best first: most free memory, then
    /// least busy. Within CUDA_VISIBLE_DEVICES when it is set.
    Select(SelectArgs),
    /// Wait until N GPUs are free and stay free, claim them, and run CMD on them.
    ///
    /// CMD runs with CUDA_VISIBLE_DEVICES (and CUDA_DEVICE_ORDER=PCI_BUS_ID) set, in gputop's
    /// place (its signals and exit code are CMD's). The GPUs are claimed with a lock that CMD
    /// holds while it runs, so two waits never get the same GPU. The locks are advisory: they
    /// coordinate gputop's users, and do not stop a program started without gputop.
    Wait(WaitArgs),
    /// Record samples, processes and events into a SQLite database, until Ctrl-C or SIGTERM.
    ///
    /// One transaction per sample (--interval), WAL mode, so `gputop report` and sqlite3 can
    /// read it while it records. Raw samples older than --keep-raw are pruned as it goes.
    Record(RecordArgs),
    /// What happened on the GPUs: per GPU and per user, and the processes that held a GPU
    /// while it sat idle, from a recording.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The database (default: $XDG_STATE_HOME/gputop/record.db, ~/.local/state/… without it).
    #[arg(long, value_name = "PATH")]
    pub out: Option<std::path::PathBuf>,
    /// Keep raw samples this long: 90m, 36h, 7d.
    #[arg(long, value_name = "DUR", default_value = "7d", value_parser = parse_duration)]
    pub keep_raw: Duration,
    /// Keep the per-minute rollups (min, mean, max; what reports read) and events this long.
    #[arg(long, value_name = "DUR", default_value = "90d", value_parser = parse_duration)]
    pub keep: Duration,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The database (default: the one `gputop record` writes).
    #[arg(value_name = "PATH")]
    pub path: Option<std::path::PathBuf>,
    /// From when: a duration back from --until (30m, 24h, 7d) or a time (2026-11-29 03:00,
    /// local, or RFC 3339). Default: the last 24 h, or the whole recording when it is shorter.
    #[arg(long, value_name = "DUR|TIME", value_parser = parse_moment)]
    pub since: Option<Moment>,
    /// Until when: a time (default: now; with --since left out too, the recording's last
    /// sample).
    #[arg(long, value_name = "TIME", value_parser = parse_until)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Whose use to sum: user, container, pod, job or process; gpu leaves the owners out
    /// (and makes --csv a row per GPU).
    #[arg(long, value_name = "KEY", default_value = "user")]
    pub by: ReportBy,
    /// The shortest idle-while-held span worth reporting.
    #[arg(long, value_name = "DUR", default_value = "10m", value_parser = parse_duration)]
    pub idle_min: Duration,
    /// Print the report as JSON.
    #[arg(long, conflicts_with_all = ["csv", "html"])]
    pub json: bool,
    /// Print the owners (or with --by gpu, the GPUs) as CSV, a row each.
    #[arg(long, conflicts_with = "html")]
    pub csv: bool,
    /// Write the report as one self-contained HTML page with charts to OUT.
    #[arg(long, value_name = "OUT")]
    pub html: Option<std::path::PathBuf>,
}

/// Who a report sums the GPUs' use by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportBy {
    Gpu,
    User,
    Container,
    Pod,
    Job,
    Process,
}

/// A point in time given as a time, or as a duration back from another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Moment {
    Ago(Duration),
    At(chrono::DateTime<chrono::Utc>),
}

fn parse_moment(text: &str) -> Result<Moment, String> {
    parse_duration(text).map(Moment::Ago).or_else(|_| parse_time(text).map(Moment::At))
}

/// `2026-11-29 03:00` (or with seconds, or a `T`) in local time, or RFC 3339.
pub fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::TimeZone;
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, format) {
            if let Some(t) = chrono::Local.from_local_datetime(&naive).earliest() {
                return Ok(t.with_timezone(&chrono::Utc));
            }
        }
    }
    // A day alone: its midnight.
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(t) =
            day.and_hms_opt(0, 0, 0).and_then(|n| chrono::Local.from_local_datetime(&n).earliest())
        {
            return Ok(t.with_timezone(&chrono::Utc));
        }
    }
    Err(format!("`{text}` is not a time (2026-11-29 03:00) or a duration (24h)"))
}

/// `--until`: a time only; a duration there is most likely meant for `--since`.
fn parse_until(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if parse_duration(text).is_ok() {
        return Err(format!(
            "`{text}` is a duration: --until takes a time (2026-11-29 03:00); for the last {text}, use --since {text}"
        ));
    }
    parse_time(text)
}

/// `90s`, `30m`, `36h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 =
        number.parse().map_err(|_| format!("`{text}` is not a duration (30m, 24h, 7d)"))?;
    let seconds = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(format!("`{text}` is not a duration (30m, 24h, 7d)")),
    };
    Duration::try_from_secs_f64(n * seconds).map_err(|_| format!("`{text}` is out of range"))
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What makes a GPU free, for `select` and `wait`.
#[derive(Debug, Args)]
pub struct PickArgs {
    /// How many GPUs.
    #[arg(short = 'n', long = "count", value_name = "N", default_value = "1",
          value_parser = parse_count::<u32>)]
    pub count: u32,

    /// At least this much free memory (20GiB, 500M; a bare number is MiB; GB is 10^9 bytes).
    #[arg(long, value_name = "SIZE", value_parser = crate::pick::parse_size)]
    pub min_free_memory: Option<u64>,

    /// Utilization at most PCT % over the last 10 s.
    #[arg(long, value_name = "PCT", default_value = "10",
          value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_util: u32,

    /// At most K compute processes already on the GPU.
    #[arg(long, value_name = "K", default_value = "0")]
    pub max_procs: usize,

    /// Never these GPUs (indices, UUIDs or PCI bus ids, comma-separated).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub exclude: Vec<GpuSelector>,

    /// Name the GPUs by UUID, which stays the same across reboots.
    #[arg(long)]
    pub by_uuid: bool,

    /// The shared directory of claims [default: /run/gputop/locks when it exists, else
    /// /tmp/gputop-locks].
    #[arg(long, value_name = "DIR")]
    pub lock_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PickFormat {
    /// `0,3`
    List,
    /// `export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,3`, for `eval`.
    Env,
    /// The chosen GPUs with their free memory and utilization.
    Json,
}

#[derive(Debug, Args)]
pub struct SelectArgs {
    #[command(flatten)]
    pub pick: PickArgs,

    /// How to print the choice.
    #[arg(long = "format", value_name = "FORMAT", value_enum, default_value = "list")]
    pub pick_format: PickFormat,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[command(flatten)]
    pub pick: PickArgs,

    /// The GPUs must have stayed free this long (seconds).
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_seconds)]
    pub stable: Duration,

    /// Give up after this long (90s, 30m, 2h, 1d; a bare number is seconds): exit 1.
    #[arg(long, value_name = "DUR", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,

    /// The program to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback must be asked for here.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9835")]
    pub listen: std::net::SocketAddr,

    /// Use NVIDIA dcgm-exporter's metric names and labels (DCGM_FI_DEV_GPU_UTIL, …).
    #[arg(long)]
    pub dcgm_names: bool,

    /// Also export per-process GPU memory (labels pid, user, command: high cardinality).
    #[arg(long)]
    pub processes: bool,

    /// Require `Authorization: Bearer TOKEN`, the token read from this file.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Serve https with this certificate (PEM: the server's first, then its intermediates);
    /// with --tls-key. Both files are read again on SIGHUP.
    #[arg(long, value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert; it should be readable by gputop's user alone.
    #[arg(long, value_name = "PEM")]
    pub tls_key: Option<PathBuf>,

    /// Also record every sample into this database, as `gputop record` does (processes
    /// included, whatever --processes says of the metrics).
    #[arg(long, value_name = "PATH")]
    pub record: Option<PathBuf>,
    /// /healthz answers 503 once the last complete sample is older than this (a driver call
    /// that never returns); seconds, or with a unit (90s, 2m); default three intervals.
    #[arg(long, value_name = "DUR", value_parser = parse_seconds)]
    pub stale_after: Option<Duration>,

    /// With --record: keep raw samples this long.
    #[arg(long, value_name = "DUR", default_value = "7d", value_parser = parse_duration, requires = "record")]
    pub keep_raw: Duration,

    /// With --record: keep the per-minute rollups and events this long.
    #[arg(long, value_name = "DUR", default_value = "90d", value_parser = parse_duration, requires = "record")]
    pub keep: Duration,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,

    /// Skip the PyTorch, TensorFlow and JAX probes.
    #[arg(long)]
    pub no_python: bool,
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

    /// Use a simulated fleet instead of NVML: a number of GPUs (default 4) or a scenario file.
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
    #[arg(long, value_name = "PATH", env = "GPUTOP_HOST_PROC", global = true)]
    pub host_proc: Option<PathBuf>,

    /// The NVML library to load (default: libnvidia-ml.so.1 from the system).
    #[arg(long, value_name = "PATH", env = "GPUTOP_NVML_LIB", global = true)]
    pub nvml_lib: Option<PathBuf>,

    /// Whether --nvml-lib was typed on the command line, not taken from GPUTOP_NVML_LIB: an
    /// exported variable is no reason to refuse `--demo`, a typed flag is.
    #[arg(skip)]
    pub nvml_lib_typed: bool,
}

/// A duration: `90`, `90s`, `30m`, `2h`, `1d`.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1.0),
        Some((i, 'm')) => (&t[..i], 60.0),
        Some((i, 'h')) => (&t[..i], 3600.0),
        Some((i, 'd')) => (&t[..i], 86_400.0),
        _ => (t, 1.0),
    };
    let value: f64 =
        number.parse().map_err(|_| format!("`{text}` is not a duration (90s, 30m, 2h, 1d)"))?;
    if !(0.0..=1e9).contains(&value) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

impl Cli {
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
        let command = <Self as clap::CommandFactory>::command();
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
        let matches = command.try_get_matches_from(args)?;
        let mut cli = <Self as clap::FromArgMatches>::from_arg_matches(&matches)?;
        cli.source.nvml_lib_typed = typed(&matches, "nvml_lib");
        Ok(cli)
    }
}

/// Whether the argument `id` was given on the command line (of the subcommand too, for a
/// global one), not by its environment variable or default.
fn typed(matches: &clap::ArgMatches, id: &str) -> bool {
    let here = matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    here || matches.subcommand().is_some_and(|(_, sub)| typed(sub, id))
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

pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(0.1..=3600.0).contains(&secs) {
        return Err(format!("{secs} is out of range: use 0.1 to 3600 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
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
    fn a_negative_interval_is_out_of_range_not_an_unknown_flag() {
        let err = Cli::try_parse_from(["gputop", "--interval", "-1"]).unwrap_err().to_string();
        assert!(err.contains("out of range"), "{err}");
    }

    #[test]
    fn ids_split_on_commas() {
        let cli = Cli::try_parse_from(["gputop", "--once", "--id", "0,GPU-x"]).unwrap();
        assert_eq!(cli.source.ids, vec![GpuSelector::Index(0), GpuSelector::Uuid("GPU-x".into())]);
    }
}
