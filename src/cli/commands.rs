//! The subcommands' own flags (clap derive): `doctor`, `serve`, `health`, `select`, `wait`,
//! `record`, `report`, `completions` and the hidden `man`. The plan lowers them into each
//! feature's plain options.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::{parse_count, parse_duration, parse_moment, parse_time, Moment};
use crate::pick::select::PickFormat;
use crate::record::summary::ReportBy;
use crate::sample::Vendor;
use crate::source::GpuSelector;

// Each subcommand's arguments are built only when it is parsed or its help is asked for
// (`defer`): building them all cost `--once` 0.3 ms of its 2.3 (docs/performance.md).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
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
    /// Print the completion script of a shell: bash, zsh, fish, elvish or powershell.
    ///
    /// For example `gputop completions bash > /etc/bash_completion.d/gputop`, or `gputop
    /// completions fish > ~/.config/fish/completions/gputop.fish`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout: `gputop man | man -l -`. Hidden: packagers
    /// install it as gputop.1.
    #[command(hide = true)]
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_name = "SHELL", value_enum)]
    pub shell: clap_complete::Shell,
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

/// `--until`: a time only; a duration there is most likely meant for `--since`.
fn parse_until(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if parse_duration(text).is_ok() {
        return Err(format!(
            "`{text}` is a duration: --until takes a time (2026-11-29 03:00); for the last {text}, use --since {text}"
        ));
    }
    parse_time(text)
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

// What makes a GPU free, for `select` and `wait` (a plain comment: a doc comment here would
// become the about of both subcommands, flattened in after theirs).
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

    /// Name NVIDIA GPUs by UUID, which stays the same across reboots (AMD and Intel GPUs keep
    /// their number: their runtimes' UUIDs are not what the kernel shows).
    #[arg(long)]
    pub by_uuid: bool,

    /// Choose among this vendor's GPUs [default: NVIDIA when the machine has one, else AMD,
    /// else Intel]. The choice is set in the vendor's variables, numbered as its runtime
    /// numbers them: CUDA_VISIBLE_DEVICES; ROCR_VISIBLE_DEVICES and HIP_VISIBLE_DEVICES;
    /// ZE_AFFINITY_MASK.
    #[arg(long, value_name = "VENDOR", value_enum)]
    pub vendor: Option<Vendor>,

    /// The shared directory of claims [default: /run/gputop/locks when it exists, else
    /// /tmp/gputop-locks].
    #[arg(long, value_name = "DIR")]
    pub lock_dir: Option<PathBuf>,
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
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_duration)]
    pub stable: Duration,

    /// Give up after this long (90s, 30m, 2h, 1d; a bare number is seconds): exit 1.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
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
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
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
