//! The command line lowered once into a [`Plan`]: which mode runs, with everything it needs
//! resolved (its own options as plain structs, the source to open, the output and where it
//! goes, the terminal's capabilities, the interval), so that no mode reads the command line,
//! the environment or the config file itself. Flags that do nothing in the chosen mode are
//! refused here first ([`refusals`]). Each mode states its own sampling needs here, so what a
//! mode shows never depends on which output format happened to be chosen (the monitor shows
//! PCIe throughput whatever `--json` would do). `run` carries the plan out.
//!
//! A new flag goes into `cli`, its refusals into `refusals`, and its resolved value into the
//! mode's options here ([`options`]), which the mode's `run` reads.

mod options;
pub mod refusals;
mod run;
mod source;

use std::time::Duration;

pub use source::{embedded, nvml_library};

use crate::cli::{Cli, Command};
use crate::doctor::DoctorRun;
use crate::output::format::Format;
use crate::output::query::QueryKind;
use crate::pick::select::SelectOptions;
use crate::pick::wait::WaitOptions;
use crate::record::recorder::RecordOptions;
use crate::record::report::ReportOptions;
use crate::serve::ServeOptions;
use crate::source::{DetailLevel, SampleOptions, SourcePlan};
use crate::term::caps::Caps;
use crate::tui::TuiOptions;
use crate::Error;

/// Which mode the command line asks for, before its options are resolved: what the refusals
/// and the sampling needs are decided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Doctor,
    PrintConfig,
    Serve,
    /// Each GPU judged healthy or not.
    Health,
    /// Free GPUs printed, best first.
    Select,
    /// Waiting for free GPUs, then running a program on them.
    Wait,
    /// Samples written to a database.
    Record,
    /// A report read from a database.
    Report,
    /// The interactive monitor.
    Monitor,
    /// The refreshing plain view (also the monitor's stand-in when stdout is not a terminal).
    Watch,
    /// One sample in the chosen format.
    Once,
    /// The GPUs' names and UUIDs, as `nvidia-smi -L`.
    ListGpus,
    /// A shell's completion script printed.
    Completions,
    /// The manual page printed.
    Manual,
}

impl Kind {
    /// The subcommand's name, as messages say it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Doctor => "doctor",
            Self::Serve => "serve",
            Self::Health => "health",
            Self::Select => "select",
            Self::Wait => "wait",
            Self::Record => "record",
            Self::Report => "report",
            Self::PrintConfig => "--print-config",
            Self::Monitor => "the monitor",
            Self::Watch => "--watch",
            Self::Once => "--once",
            Self::ListGpus => "-L",
            Self::Completions => "completions",
            Self::Manual => "man",
        }
    }

    /// The mode `cli` asks for; `interactive`: stdin and stdout are a usable terminal.
    fn of(cli: &Cli, interactive: bool) -> Self {
        let out = &cli.output;
        let one_shot = out.filename.is_some()
            || out.json
            || out.csv
            || out.by.is_some()
            || out.query().is_some();
        let watch = cli.mode.watch.is_some() || cli.mode.loop_ms.is_some();
        match (&cli.command, watch) {
            (Some(Command::Doctor(_)), _) => Self::Doctor,
            (Some(Command::Serve(_)), _) => Self::Serve,
            (Some(Command::Health(_)), _) => Self::Health,
            (Some(Command::Select(_)), _) => Self::Select,
            (Some(Command::Wait(_)), _) => Self::Wait,
            (Some(Command::Record(_)), _) => Self::Record,
            (Some(Command::Report(_)), _) => Self::Report,
            (Some(Command::Completions(_)), _) => Self::Completions,
            (Some(Command::Man), _) => Self::Manual,
            _ if cli.mode.print_config => Self::PrintConfig,
            (None, _) if cli.mode.list_gpus => Self::ListGpus,
            (None, true) => Self::Watch,
            (None, false) if cli.mode.once || one_shot => Self::Once,
            (None, false) if interactive => Self::Monitor,
            (None, false) => Self::Watch,
        }
    }
}

/// What gputop will do, with everything the mode needs.
pub enum Mode {
    Doctor(DoctorRun),
    PrintConfig,
    /// `--help-query-*`: the properties a query knows.
    HelpQuery(QueryKind),
    Serve(ServeOptions),
    Health {
        json: bool,
    },
    Select(SelectOptions),
    Wait(WaitOptions),
    Record(RecordOptions),
    Report(ReportOptions),
    Monitor(TuiOptions),
    Watch(WatchPlan),
    Once {
        format: Format,
        to: Option<std::path::PathBuf>,
    },
    ListGpus,
    /// A shell's completion script, printed.
    Completions(clap_complete::Shell),
    /// The manual page (roff), printed.
    Manual,
}

/// `--watch` as resolved: the format, every how long, how many samples, and where to.
pub struct WatchPlan {
    pub format: Format,
    pub every: Duration,
    pub count: Option<u64>,
    /// `-f`: the file, created when the view starts.
    pub to: Option<std::path::PathBuf>,
    /// Standing in for the monitor on a `TERM=dumb` terminal: said, and `q` quits.
    pub for_monitor: bool,
    /// Standard output is a terminal that moves the cursor: the table is redrawn in place
    /// (else, and into `-f`'s file, a block is appended per sample).
    pub in_place: bool,
}

/// The command line, lowered. The terminal's capabilities are in the options they decided
/// (colour, width, ASCII, the watch view standing in for the monitor, wait's status line).
pub struct Plan {
    pub mode: Mode,
    /// What to sample and how; `None` for the modes that do not sample.
    pub source: Option<SourcePlan>,
    pub interval: Duration,
}

impl Plan {
    /// Lowers `cli` on a terminal of `caps`: refusals first, then the config file and the
    /// interval, then the mode's options and its source (token and password files read).
    pub fn from_cli(cli: Cli, caps: Caps) -> Result<Self, Error> {
        let kind = Kind::of(&cli, caps.interactive());
        refusals::check(&cli, kind).map_err(Error::Usage)?;
        let plan = |mode, source, interval| Self { mode, source, interval };
        let unsampled = Duration::from_secs(1);
        if let Some(Command::Doctor(args)) = &cli.command {
            let doctor = options::doctor(args, &cli, &caps);
            return Ok(plan(Mode::Doctor(doctor), None, unsampled));
        }
        if kind == Kind::PrintConfig {
            return Ok(plan(Mode::PrintConfig, None, unsampled));
        }
        match &cli.command {
            Some(Command::Completions(args)) => {
                return Ok(plan(Mode::Completions(args.shell), None, unsampled))
            }
            Some(Command::Man) => return Ok(plan(Mode::Manual, None, unsampled)),
            _ => {}
        }
        if let Some(query) = cli.output.help_query() {
            return Ok(plan(Mode::HelpQuery(query), None, unsampled));
        }
        let config = options::config(&cli)?;
        let env_interval = crate::cli::interval_from_env().map_err(Error::Usage)?;
        let interval = options::interval(&cli, kind, env_interval, &config);
        let sampling = sampling(&cli, kind);
        let mode = options::mode(&cli, kind, &config, interval, &caps)?;
        let source = match sampling {
            Some(options) => Some(source::plan(&cli, kind, options)?),
            None => None,
        };
        Ok(plan(mode, source, interval))
    }
}

/// What `kind` needs sampled; `None` for modes that do not sample.
fn sampling(cli: &Cli, kind: Kind) -> Option<SampleOptions> {
    let out = &cli.output;
    let serve_processes =
        matches!(&cli.command, Some(Command::Serve(a)) if a.processes || a.record.is_some());
    match kind {
        Kind::Doctor | Kind::PrintConfig | Kind::Report | Kind::Completions | Kind::Manual => None,
        // Everything a report asks about: who held which GPU, and the XIDs as they came.
        Kind::Record => Some(SampleOptions {
            pcie_throughput: false,
            host_processes: true,
            details: DetailLevel::None,
            continuous: true,
        }),
        Kind::ListGpus => Some(SampleOptions {
            pcie_throughput: false,
            host_processes: false,
            details: DetailLevel::None,
            continuous: false,
        }),
        Kind::Serve => Some(SampleOptions {
            pcie_throughput: true,
            // A recording keeps who used the GPUs, whether or not the metrics show them.
            host_processes: serve_processes,
            // Memory and link health, and the XID counters, for the exporter.
            details: DetailLevel::Health,
            continuous: true,
        }),
        // The board's details hold its memory and link health; past XIDs come from the
        // kernel log, as a one-shot check hears no events.
        Kind::Health => Some(SampleOptions {
            pcie_throughput: false,
            host_processes: false,
            details: DetailLevel::Health,
            continuous: false,
        }),
        // Who holds a GPU is told by user and command line.
        Kind::Select | Kind::Wait => Some(SampleOptions {
            pcie_throughput: false,
            host_processes: true,
            details: DetailLevel::None,
            continuous: false,
        }),
        // The monitor shows everything: PCIe in its panels, host details in its table,
        // XIDs as they come.
        Kind::Monitor => Some(SampleOptions {
            pcie_throughput: true,
            host_processes: true,
            details: DetailLevel::None,
            continuous: true,
        }),
        // Only the JSON document carries PCIe throughput (≥ 20 ms per GPU to read) and
        // events (heard only by a watch); a GPU query needs nothing from `/proc`, and the
        // details only when it names one.
        Kind::Watch | Kind::Once => Some(SampleOptions {
            pcie_throughput: out.json,
            host_processes: matches!(out.query(), None | Some((QueryKind::ComputeApps, _))),
            details: match out.query() {
                Some((QueryKind::Gpu, fields)) if crate::output::query::needs_details(fields) => {
                    DetailLevel::All
                }
                Some((QueryKind::RetiredPages | QueryKind::RemappedRows, _)) => DetailLevel::All,
                _ => DetailLevel::None,
            },
            continuous: out.json && kind == Kind::Watch,
        }),
    }
}

#[cfg(test)]
mod tests;
