//! The command line lowered once into a plan: which mode runs and what it samples. Each mode
//! states its own sampling needs here, so what a mode shows never depends on which output format
//! happened to be chosen (the monitor shows PCIe throughput whatever `--json` would do), and
//! flags that do nothing in the chosen mode are refused before anything starts.

use std::time::Duration;

use crate::cli::{Cli, Command};
use crate::output::query::QueryKind;
use crate::source::{DetailLevel, SampleOptions};

/// What gputop will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
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
    Watch {
        every: Option<Duration>,
        count: Option<u64>,
    },
    /// One sample in the chosen format.
    Once,
    /// The GPUs' names and UUIDs, as `nvidia-smi -L`.
    ListGpus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub mode: Mode,
    /// What the mode needs sampled; `None` for modes that do not sample.
    pub sampling: Option<SampleOptions>,
}

impl Plan {
    /// The plan for `cli`; `interactive` is whether stdin and stdout are a usable terminal.
    pub fn from_cli(cli: &Cli, interactive: bool) -> Result<Self, String> {
        let out = &cli.output;
        let one_shot = out.filename.is_some()
            || out.json
            || out.csv
            || out.by.is_some()
            || out.query().is_some();
        let watch = cli.mode.watch.or(cli.mode.loop_ms.map(Some));
        let mode = match (&cli.command, watch) {
            (Some(Command::Doctor(_)), _) => Mode::Doctor,
            (Some(Command::Serve(_)), _) => Mode::Serve,
            (Some(Command::Health(_)), _) => Mode::Health,
            (Some(Command::Select(_)), _) => Mode::Select,
            (Some(Command::Wait(_)), _) => Mode::Wait,
            (Some(Command::Record(_)), _) => Mode::Record,
            (Some(Command::Report(_)), _) => Mode::Report,
            _ if cli.mode.print_config => Mode::PrintConfig,
            (None, _) if cli.mode.list_gpus => Mode::ListGpus,
            (None, Some(every)) => Mode::Watch { every, count: cli.mode.count },
            (None, None) if cli.mode.once || one_shot => Mode::Once,
            (None, None) if interactive => Mode::Monitor,
            (None, None) => Mode::Watch { every: None, count: cli.mode.count },
        };
        check_flags(cli, mode)?;
        let sampling = match mode {
            Mode::Doctor | Mode::PrintConfig | Mode::Report => None,
            // Everything a report asks about: who held which GPU, and the XIDs as they came.
            Mode::Record => Some(SampleOptions {
                pcie_throughput: false,
                host_processes: true,
                details: DetailLevel::None,
                continuous: true,
            }),
            Mode::ListGpus => Some(SampleOptions {
                pcie_throughput: false,
                host_processes: false,
                details: DetailLevel::None,
                continuous: false,
            }),
            Mode::Serve => Some(SampleOptions {
                pcie_throughput: true,
                // A recording keeps who used the GPUs, whether or not the metrics show them.
                host_processes: matches!(&cli.command, Some(Command::Serve(a)) if a.processes || a.record.is_some()),
                // Memory and link health, and the XID counters, for the exporter.
                details: DetailLevel::Health,
                continuous: true,
            }),
            // The board's details hold its memory and link health; past XIDs come from the
            // kernel log, as a one-shot check hears no events.
            Mode::Health => Some(SampleOptions {
                pcie_throughput: false,
                host_processes: false,
                details: DetailLevel::Health,
                continuous: false,
            }),
            // Who holds a GPU is told by user and command line.
            Mode::Select | Mode::Wait => Some(SampleOptions {
                pcie_throughput: false,
                host_processes: true,
                details: DetailLevel::None,
                continuous: false,
            }),
            // The monitor shows everything: PCIe in its panels, host details in its table,
            // XIDs as they come.
            Mode::Monitor => Some(SampleOptions {
                pcie_throughput: true,
                host_processes: true,
                details: DetailLevel::None,
                continuous: true,
            }),
            // Only the JSON document carries PCIe throughput (≥ 20 ms per GPU to read) and
            // events (heard only by a watch); a GPU query needs nothing from `/proc`, and the
            // details only when it names one.
            Mode::Watch { .. } | Mode::Once => Some(SampleOptions {
                pcie_throughput: out.json,
                host_processes: matches!(out.query(), None | Some((QueryKind::ComputeApps, _))),
                details: match out.query() {
                    Some((QueryKind::Gpu, fields))
                        if crate::output::query::needs_details(fields) =>
                    {
                        DetailLevel::All
                    }
                    Some((QueryKind::RetiredPages | QueryKind::RemappedRows, _)) => {
                        DetailLevel::All
                    }
                    _ => DetailLevel::None,
                },
                continuous: out.json && matches!(mode, Mode::Watch { .. }),
            }),
        };
        Ok(Self { mode, sampling })
    }
}

/// Flags that would do nothing in the mode asked for are mistakes: say what to use instead.
fn check_flags(cli: &Cli, mode: Mode) -> Result<(), String> {
    let src = &cli.source;
    if mode == Mode::Serve {
        let local_only = [
            (!src.remote.is_empty(), "--remote"),
            (src.hosts.is_some(), "--hosts"),
            (src.remote_token_file.is_some(), "--remote-token-file"),
            (src.remote_ca.is_some(), "--remote-ca"),
            (src.container.is_some(), "--container"),
            (src.pod.is_some(), "--pod"),
        ];
        if let Some((_, flag)) = local_only.iter().find(|(set, _)| *set) {
            return Err(format!(
                "`serve` exports this machine's GPUs and all their processes: {flag} does not apply (run `gputop serve` on each host and `gputop --remote` to gather them)"
            ));
        }
    }
    if src.remote.is_empty() && src.hosts.is_none() {
        let remote_only = [
            (src.remote_token_file.is_some(), "--remote-token-file"),
            (src.remote_ca.is_some(), "--remote-ca"),
        ];
        if let Some((_, flag)) = remote_only.iter().find(|(set, _)| *set) {
            return Err(format!(
                "{flag} needs --remote or --hosts: it is for the hosts asked there"
            ));
        }
    }
    // Flags that contradict each other or the mode, each with why and what to use instead.
    let out = &cli.output;
    let demo = src.demo.is_some();
    let dcgm_processes =
        matches!(&cli.command, Some(Command::Serve(a)) if a.dcgm_names && a.processes);
    let contradictions = [
        (
            out.format.is_some() && out.query().is_none(),
            "--format shapes the --query-* outputs (csv, noheader, nounits): add a --query-gpu=… or use --json or --csv",
        ),
        (
            mode == Mode::ListGpus && (out.json || out.csv || out.by.is_some() || out.query().is_some()),
            "-L/--list-gpus prints `GPU 0: NAME (UUID: …)` lines as nvidia-smi -L does: --json, --csv, --by and --query-* do not apply (use --once --json for a document)",
        ),
        (
            demo && src.nvml_lib_typed,
            "--nvml-lib loads a real NVML library and --demo simulates GPUs without one: use one or the other",
        ),
        (
            demo && (!src.remote.is_empty() || src.hosts.is_some()),
            "--demo simulates this machine's GPUs and --remote/--hosts shows other machines': use one or the other (run `gputop --demo serve` on a host to try --remote)",
        ),
        (
            dcgm_processes,
            "--dcgm-names exports dcgm-exporter's series, which have no per-process one: --processes does not apply with it (leave out --dcgm-names for gputop_process_gpu_memory_bytes)",
        ),
    ];
    if let Some((_, why)) = contradictions.iter().find(|(set, _)| *set) {
        return Err((*why).into());
    }
    if cli.output.filename.is_some() && !matches!(mode, Mode::Once | Mode::Watch { .. }) {
        return Err("-f/--filename applies to --once, --watch and the queries".into());
    }
    if matches!(mode, Mode::Select | Mode::Wait | Mode::Health | Mode::Record | Mode::Report) {
        let out = &cli.output;
        let elsewhere = [
            (!src.remote.is_empty(), "--remote"),
            (src.hosts.is_some(), "--hosts"),
            (src.container.is_some(), "--container"),
            (src.pod.is_some(), "--pod"),
            (cli.mode.once, "--once"),
            (cli.mode.watch.is_some(), "--watch"),
            (out.json, "--json (use --format json)"),
            (out.filename.is_some(), "-f/--filename"),
            (out.by.is_some(), "--by"),
            (out.csv, "--csv"),
            (out.query().is_some(), "--query-*"),
        ];
        if let Some((_, flag)) = elsewhere.iter().find(|(set, _)| *set) {
            let name = match mode {
                Mode::Select => "select",
                Mode::Wait => "wait",
                Mode::Record => "record",
                Mode::Report => "report",
                _ => "health",
            };
            return Err(format!(
                "`{name}` chooses among this machine's GPUs and prints its own answer: {flag} does not apply"
            ));
        }
    }
    if mode == Mode::Once && cli.mode.count.is_some() {
        return Err("--count applies to --watch: a one-shot output takes a single sample (use --watch --count N for several)".into());
    }
    let monitor_only = [(cli.mode.readonly, "--readonly"), (cli.mode.theme.is_some(), "--theme")];
    if matches!(mode, Mode::Once) || cli.mode.watch.is_some() {
        if let Some((_, flag)) = monitor_only.iter().find(|(set, _)| *set) {
            return Err(format!(
                "{flag} applies to the interactive monitor only (run gputop without --once, --watch or an output format)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(args: &[&str], interactive: bool) -> Result<Plan, String> {
        let args = std::iter::once("gputop").chain(args.iter().copied()).map(Into::into);
        let cli = Cli::try_parse_args(args).unwrap();
        Plan::from_cli(&cli, interactive)
    }

    #[test]
    fn remote_flags_without_remote_hosts_are_refused_in_every_mode() {
        for mode in [&[][..], &["select"], &["health"], &["record"], &["doctor"], &["--once"]] {
            for flag in [&["--remote-ca", "ca.pem"][..], &["--remote-token-file", "t"]] {
                let args: Vec<&str> = flag.iter().chain(mode).copied().collect();
                let err = plan(&args, true).err().unwrap_or_else(|| panic!("{args:?} accepted"));
                assert!(err.contains("needs --remote or --hosts"), "{args:?}: {err}");
            }
        }
    }

    #[test]
    fn each_mode_samples_what_it_shows() {
        let monitor = plan(&[], true).unwrap();
        assert_eq!(monitor.mode, Mode::Monitor);
        assert!(monitor.sampling.unwrap().pcie_throughput, "the monitor's panels show PCIe");
        let fallback = plan(&[], false).unwrap();
        assert_eq!(fallback.mode, Mode::Watch { every: None, count: None });
        let json = plan(&["--once", "--json"], true).unwrap();
        assert_eq!(json.mode, Mode::Once);
        assert!(json.sampling.unwrap().pcie_throughput);
        let table = plan(&["--once"], true).unwrap();
        assert!(!table.sampling.unwrap().pcie_throughput);
        let query = plan(&["--query-gpu=index"], true).unwrap();
        assert!(!query.sampling.unwrap().host_processes);
        assert_eq!(query.sampling.unwrap().details, DetailLevel::None, "no detail is named");
        let serial = plan(&["--query-gpu=index,gpu_serial"], true).unwrap();
        assert_eq!(serial.sampling.unwrap().details, DetailLevel::All);
        let serve = plan(&["serve", "--processes"], false).unwrap();
        assert_eq!(
            serve.sampling,
            Some(SampleOptions {
                pcie_throughput: true,
                host_processes: true,
                details: DetailLevel::Health,
                continuous: true
            })
        );
        assert!(plan(&["--watch", "--json"], false).unwrap().sampling.unwrap().continuous);
        assert!(!plan(&["--once", "--json"], false).unwrap().sampling.unwrap().continuous);
        assert_eq!(
            plan(&["health"], false).unwrap().sampling.unwrap().details,
            DetailLevel::Health
        );
        assert_eq!(plan(&["doctor"], true).unwrap().sampling, None);
    }

    #[test]
    fn flags_that_do_nothing_are_refused() {
        assert!(plan(&["--once", "--count", "2"], true).unwrap_err().contains("--count"));
        assert!(plan(&["--watch", "--theme", "mono"], true).unwrap_err().contains("--theme"));
        assert!(plan(&["--pod", "x", "serve"], true).unwrap_err().contains("--pod"));
        assert!(plan(&["--watch", "--count", "2"], true).is_ok());
        assert!(plan(&["--readonly"], true).is_ok());
    }

    #[test]
    fn contradicting_flags_are_refused_with_the_reason() {
        let refused = [
            (&["--format", "csv,noheader", "--once"][..], "--format shapes the --query-*"),
            (&["-L", "--json"], "-L/--list-gpus"),
            (&["-L", "--csv"], "-L/--list-gpus"),
            (&["--demo", "--nvml-lib", "/x.so", "--once"], "--nvml-lib loads"),
            (&["--demo", "--remote", "h:9835"], "--demo simulates"),
            (&["--demo", "--hosts", "hosts.txt", "--once"], "--demo simulates"),
            (&["serve", "--dcgm-names", "--processes"], "--dcgm-names exports"),
        ];
        for (args, why) in refused {
            let err = plan(args, true).err().unwrap_or_else(|| panic!("{args:?} accepted"));
            assert!(err.contains(why), "{args:?}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        for args in [
            &["--format", "csv,noheader", "--query-gpu=index"][..],
            &["-L"],
            &["--demo", "--once"],
            &["--demo", "serve"],
            &["serve", "--dcgm-names"],
            &["serve", "--processes"],
            &["doctor"],
            // doctor runs on the real machine, and says so (lib.rs).
            &["--demo", "doctor"],
        ] {
            assert!(plan(args, true).is_ok(), "{args:?} refused");
        }
    }
}
