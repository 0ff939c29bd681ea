//! Each mode's options, resolved from the command line, the config file and the terminal:
//! the plain structs the modes' `run` functions take (no clap type leaves `cli` and `plan`).

use std::time::Duration;

use super::{Kind, Mode, WatchPlan};
use crate::cli::{self, Cli, Command};
use crate::config::Config;
use crate::doctor::{DoctorOptions, DoctorRun};
use crate::output::format::Format;
use crate::output::query::Query;
use crate::output::style::Painter;
use crate::output::table::TableOptions;
use crate::pick::select::SelectOptions;
use crate::pick::wait::WaitOptions;
use crate::pick::PickOptions;
use crate::record::recorder::RecordOptions;
use crate::record::report::ReportOptions;
use crate::serve::{self, metrics, ServeOptions};
use crate::term::caps::Caps;
use crate::tui::theme::{Theme, ThemeName};
use crate::tui::{SortKey, TuiOptions};
use crate::Error;

/// The config file the command line names (or `GPUTOP_CONFIG`), which must exist; else the
/// default one, which may not.
pub fn config(cli: &Cli) -> Result<Config, Error> {
    Ok(match (&cli.mode.config, crate::config::default_path()) {
        (Some(path), _) => Config::load_named(path).map_err(Error::Usage)?,
        (None, Some(path)) => {
            let (config, warning) = Config::load_default(&path).map_err(Error::Usage)?;
            if let Some(w) = warning {
                eprintln!("gputop: warning: {w}");
            }
            config
        }
        (None, None) => Config::default(),
    })
}

/// `--interval`, else `GPUTOP_INTERVAL` (`env`), else the config file's, else the default: a
/// second, or five when the mode reads Prometheus, which has new data once a scrape (15 s by
/// default): asking every second would re-read the same samples of thousands of GPUs.
pub fn interval(cli: &Cli, kind: Kind, env: Option<Duration>, config: &Config) -> Duration {
    let reads_prometheus =
        cli.source.prometheus.is_some() && super::source::shows_named_source(kind);
    let default = Duration::from_secs(if reads_prometheus { 5 } else { 1 });
    cli.mode.interval.or(env).or(config.interval).unwrap_or(default)
}

pub fn doctor(args: &cli::DoctorArgs, cli: &Cli, caps: &Caps) -> DoctorRun {
    DoctorRun {
        options: DoctorOptions {
            nvml_library: cli.source.nvml_lib.clone(),
            python: !args.no_python,
        },
        json: args.json,
        demo: cli.source.demo.is_some(),
        color: caps.color(cli.output.color),
        ascii: caps.ascii(cli.output.ascii),
    }
}

/// The options of the mode `kind` (not doctor's, `--print-config`'s or `--help-query-*`'s).
pub fn mode(
    cli: &Cli,
    kind: Kind,
    config: &Config,
    interval: Duration,
    caps: &Caps,
) -> Result<Mode, Error> {
    Ok(match &cli.command {
        Some(Command::Serve(args)) => Mode::Serve(serve(args, interval)?),
        Some(Command::Health(args)) => Mode::Health { json: args.json },
        Some(Command::Select(args)) => Mode::Select(SelectOptions {
            pick: pick(&args.pick, &cli.source.ids),
            pick_format: args.pick_format,
        }),
        Some(Command::Wait(args)) => Mode::Wait(WaitOptions {
            pick: pick(&args.pick, &cli.source.ids),
            stable: args.stable,
            timeout: args.timeout,
            command: args.command.clone(),
            status_in_place: caps.stderr_tty,
        }),
        Some(Command::Record(args)) => Mode::Record(RecordOptions {
            out: args.out.clone().or_else(crate::record::default_path).ok_or_else(|| {
                Error::Usage("no place for the recording: give --out PATH".into())
            })?,
            keep_raw: args.keep_raw,
            keep: args.keep,
        }),
        Some(Command::Report(args)) => Mode::Report(ReportOptions {
            path: args
                .path
                .clone()
                .or_else(crate::record::default_path)
                .ok_or_else(|| Error::Usage("which recording? give its PATH".into()))?,
            since: args.since,
            until: args.until,
            by: args.by,
            idle_min: args.idle_min,
            json: args.json,
            csv: args.csv,
            html: args.html.clone(),
        }),
        _ => match kind {
            Kind::Monitor => Mode::Monitor(monitor(cli, config, interval, caps)),
            Kind::ListGpus => Mode::ListGpus,
            Kind::Watch => Mode::Watch(WatchPlan {
                format: format(cli, caps)?,
                every: cli.mode.watch.flatten().or(cli.mode.loop_ms).unwrap_or(interval),
                count: cli.mode.count,
                to: cli.output.filename.clone(),
                // On a terminal that cannot move the cursor, the watch view stands in for the
                // monitor asked for.
                for_monitor: cli.mode.watch.is_none()
                    && cli.mode.loop_ms.is_none()
                    && caps.dumb_terminal(),
                in_place: cli.output.filename.is_none() && caps.stdout_tty && !caps.dumb,
            }),
            _ => Mode::Once { format: format(cli, caps)?, to: cli.output.filename.clone() },
        },
    })
}

/// `serve`'s options: the token file read, the certificate and key loaded.
fn serve(args: &cli::ServeArgs, interval: Duration) -> Result<ServeOptions, Error> {
    let token = match &args.token_file {
        Some(path) => Some(super::source::read_token(path)?),
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
        // One without the other is refused (`refusals`).
        _ => None,
    };
    let naming = if args.dcgm_names { metrics::Naming::Dcgm } else { metrics::Naming::Gputop };
    Ok(ServeOptions {
        listen: args.listen,
        interval,
        metrics: metrics::MetricsOptions { naming, processes: args.processes },
        stale_after: args.stale_after.unwrap_or(interval * 3),
        token,
        tls,
        record: args.record.as_ref().map(|path| RecordOptions {
            out: path.clone(),
            keep_raw: args.keep_raw,
            keep: args.keep,
        }),
    })
}

fn pick(args: &cli::PickArgs, ids: &[crate::source::GpuSelector]) -> PickOptions {
    PickOptions {
        count: args.count,
        min_free_memory: args.min_free_memory,
        max_util: args.max_util,
        max_procs: args.max_procs,
        exclude: args.exclude.clone(),
        by_uuid: args.by_uuid,
        lock_dir: args.lock_dir.clone(),
        vendor: args.vendor,
        only: ids.to_vec(),
        visible: crate::pick::VISIBLE_VARIABLES
            .iter()
            .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
            .collect(),
    }
}

/// What `--once` and `--watch` print.
fn format(cli: &Cli, caps: &Caps) -> Result<Format, Error> {
    let out = &cli.output;
    let table = || TableOptions {
        painter: Painter { enabled: caps.color(out.color) },
        width: caps.width,
        ascii: caps.ascii(out.ascii),
    };
    Ok(if let Some((kind, fields)) = out.query() {
        Format::Query(Query::parse(kind, fields)?, out.format.unwrap_or_default())
    } else if let Some(by) = out.by {
        Format::Owners(by, (!out.json).then(table))
    } else if out.json {
        Format::Json
    } else if out.csv {
        Format::Csv
    } else {
        Format::Table(table())
    })
}

/// Flags over the config file over defaults; no colour means the monochrome theme.
fn monitor(cli: &Cli, config: &Config, interval: Duration, caps: &Caps) -> TuiOptions {
    let name = if caps.color_for_tty(cli.output.color) {
        cli.mode.theme.or(config.theme).unwrap_or_default()
    } else {
        ThemeName::Mono
    };
    let sort = config.sort.unwrap_or(SortKey::GpuMemory);
    TuiOptions {
        interval,
        window: Duration::from_secs(config.history_seconds.unwrap_or(600).clamp(10, 86_400)),
        theme: Theme::new(name, caps.ascii(cli.output.ascii)),
        // A replay's rows are history: nothing in it is ever signalled.
        readonly: cli.mode.readonly || cli.source.replay.is_some(),
        show_gpus: !config.hide_gpus,
        show_processes: !config.hide_processes,
        sort,
        descending: config.sort_descending.unwrap_or(sort.largest_first()),
        columns: config.process_columns(),
        // Set once the recording is open (`tui::run`).
        replay: None,
    }
}
