//! Every "this flag does nothing here" in one table: a flag that would do nothing in the mode
//! asked for, or two that contradict, is refused before anything starts, in one line that says
//! why and what to use instead. The first row that matches speaks.

use super::Kind;
use crate::cli::{Cli, Command};

/// A row: a flag (or a combination) that the command line sets, and the modes it is refused in.
pub struct Refusal {
    /// The flag as the message names it (`{flag}` in `why`); `{typed}`: the first option typed.
    pub flag: &'static str,
    /// Whether the command line sets it.
    pub set: fn(&Cli) -> bool,
    /// Whether it is refused in this mode.
    pub refused_in: fn(&Cli, Kind) -> bool,
    /// The one line said; `{flag}` and `{mode}` (the subcommand's name) are filled in.
    pub why: &'static str,
}

const SERVE_IS_LOCAL: &str = "`serve` exports this machine's GPUs and all their processes: {flag} does not apply (run `gputop serve` on each host and `gputop --remote` to gather them)";
const FOR_REMOTE_HOSTS: &str = "{flag} needs --remote or --hosts: it is for the hosts asked there";
const OWN_ANSWER: &str =
    "`{mode}` chooses among this machine's GPUs and prints its own answer: {flag} does not apply";
const NOT_THIS_MACHINE: &str = "`{mode}` works on this machine's own GPUs: {flag} does not apply (it feeds the monitor, --once and --watch)";
const READS_A_RECORDING: &str =
    "`report` reads the recording named after it (`gputop report PATH`): {flag} does not apply";
const PRINTS_A_TEXT: &str =
    "`gputop {mode}` prints a text and exits: {flag} does not apply (leave it out)";
const MONITOR_ONLY: &str = "{flag} applies to the interactive monitor only (run gputop without --once, --watch or an output format)";

fn serve(_: &Cli, kind: Kind) -> bool {
    kind == Kind::Serve
}

fn without_hosts(cli: &Cli, _: Kind) -> bool {
    cli.source.remote.is_empty() && cli.source.hosts.is_none()
}

fn always(_: &Cli, _: Kind) -> bool {
    true
}

/// The subcommands that sample or examine this machine, whatever source the flags name.
fn this_machine(_: &Cli, kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Select | Kind::Wait | Kind::Health | Kind::Record | Kind::Serve | Kind::Doctor
    )
}

/// The subcommands that answer for this machine's GPUs in their own form.
fn own_answer(_: &Cli, kind: Kind) -> bool {
    matches!(kind, Kind::Select | Kind::Wait | Kind::Health | Kind::Record | Kind::Report)
}

fn one_shot_or_watch(cli: &Cli, kind: Kind) -> bool {
    kind == Kind::Once || cli.mode.watch.is_some()
}

fn serve_args(cli: &Cli) -> Option<&crate::cli::ServeArgs> {
    match &cli.command {
        Some(Command::Serve(args)) => Some(args),
        _ => None,
    }
}

/// The table, in the order the rows are tried.
#[rustfmt::skip]
pub const REFUSALS: &[Refusal] = &[
    // Every option typed: none changes the script or the page.
    Refusal { flag: "{typed}", set: |c| !c.typed.is_empty(), refused_in: |_, kind| matches!(kind, Kind::Completions | Kind::Manual), why: PRINTS_A_TEXT },
    Refusal { flag: "--remote", set: |c| !c.source.remote.is_empty(), refused_in: serve, why: SERVE_IS_LOCAL },
    Refusal { flag: "--hosts", set: |c| c.source.hosts.is_some(), refused_in: serve, why: SERVE_IS_LOCAL },
    Refusal { flag: "--remote-token-file", set: |c| c.source.remote_token_file.is_some(), refused_in: serve, why: SERVE_IS_LOCAL },
    Refusal { flag: "--remote-ca", set: |c| c.source.remote_ca.is_some(), refused_in: serve, why: SERVE_IS_LOCAL },
    Refusal { flag: "--container", set: |c| c.source.container.is_some(), refused_in: serve, why: SERVE_IS_LOCAL },
    Refusal { flag: "--pod", set: |c| c.source.pod.is_some(), refused_in: serve, why: SERVE_IS_LOCAL },
    Refusal { flag: "--remote-token-file", set: |c| c.source.remote_token_file.is_some(), refused_in: without_hosts, why: FOR_REMOTE_HOSTS },
    Refusal { flag: "--remote-ca", set: |c| c.source.remote_ca.is_some(), refused_in: without_hosts, why: FOR_REMOTE_HOSTS },
    Refusal {
        flag: "--format",
        set: |c| c.output.format.is_some() && c.output.query().is_none(),
        refused_in: always,
        why: "--format shapes the --query-* outputs (csv, noheader, nounits): add a --query-gpu=… or use --json or --csv",
    },
    Refusal {
        flag: "-L",
        set: |c| c.output.json || c.output.csv || c.output.by.is_some() || c.output.query().is_some(),
        refused_in: |_, kind| kind == Kind::ListGpus,
        why: "-L/--list-gpus prints `GPU 0: NAME (UUID: …)` lines as nvidia-smi -L does: --json, --csv, --by and --query-* do not apply (use --once --json for a document)",
    },
    Refusal {
        flag: "--nvml-lib",
        set: |c| c.source.demo.is_some() && c.source.nvml_lib_typed,
        refused_in: always,
        why: "--nvml-lib loads a real NVML library and --demo simulates GPUs without one: use one or the other",
    },
    Refusal {
        flag: "--demo",
        set: |c| c.source.demo.is_some() && (!c.source.remote.is_empty() || c.source.hosts.is_some()),
        refused_in: always,
        why: "--demo simulates this machine's GPUs and --remote/--hosts shows other machines': use one or the other (run `gputop --demo serve` on a host to try --remote)",
    },
    Refusal {
        flag: "--dcgm-names",
        set: |c| serve_args(c).is_some_and(|a| a.dcgm_names && a.processes),
        refused_in: always,
        why: "--dcgm-names exports dcgm-exporter's series, which have no per-process one: --processes does not apply with it (leave out --dcgm-names for gputop_process_gpu_memory_bytes)",
    },
    Refusal {
        flag: "-f/--filename",
        set: |c| c.output.filename.is_some(),
        refused_in: |_, kind| !matches!(kind, Kind::Once | Kind::Watch),
        why: "-f/--filename applies to --once, --watch and the queries",
    },
    // A subcommand given another machine's data would judge or record this one's while seeming
    // to answer for those.
    Refusal { flag: "--prometheus", set: |c| c.source.prometheus_typed, refused_in: this_machine, why: NOT_THIS_MACHINE },
    Refusal { flag: "--replay", set: |c| c.source.replay.is_some(), refused_in: this_machine, why: NOT_THIS_MACHINE },
    Refusal { flag: "--prometheus", set: |c| c.source.prometheus_typed, refused_in: |_, kind| kind == Kind::Report, why: READS_A_RECORDING },
    Refusal { flag: "--replay", set: |c| c.source.replay.is_some(), refused_in: |_, kind| kind == Kind::Report, why: READS_A_RECORDING },
    Refusal { flag: "--remote", set: |c| !c.source.remote.is_empty(), refused_in: |_, kind| kind == Kind::Doctor, why: NOT_THIS_MACHINE },
    Refusal { flag: "--hosts", set: |c| c.source.hosts.is_some(), refused_in: |_, kind| kind == Kind::Doctor, why: NOT_THIS_MACHINE },
    Refusal { flag: "--remote", set: |c| !c.source.remote.is_empty(), refused_in: own_answer, why: OWN_ANSWER },
    Refusal { flag: "--hosts", set: |c| c.source.hosts.is_some(), refused_in: own_answer, why: OWN_ANSWER },
    Refusal { flag: "--container", set: |c| c.source.container.is_some(), refused_in: own_answer, why: OWN_ANSWER },
    Refusal { flag: "--pod", set: |c| c.source.pod.is_some(), refused_in: own_answer, why: OWN_ANSWER },
    Refusal { flag: "--once", set: |c| c.mode.once, refused_in: own_answer, why: OWN_ANSWER },
    Refusal { flag: "--watch", set: |c| c.mode.watch.is_some(), refused_in: own_answer, why: OWN_ANSWER },
    Refusal { flag: "--json (use --format json)", set: |c| c.output.json, refused_in: own_answer, why: OWN_ANSWER },
    Refusal { flag: "-f/--filename", set: |c| c.output.filename.is_some(), refused_in: own_answer, why: OWN_ANSWER },
    Refusal { flag: "--by", set: |c| c.output.by.is_some(), refused_in: own_answer, why: OWN_ANSWER },
    Refusal { flag: "--csv", set: |c| c.output.csv, refused_in: own_answer, why: OWN_ANSWER },
    Refusal { flag: "--query-*", set: |c| c.output.query().is_some(), refused_in: own_answer, why: OWN_ANSWER },
    Refusal {
        flag: "--count",
        set: |c| c.mode.count.is_some(),
        refused_in: |_, kind| kind == Kind::Once,
        why: "--count applies to --watch: a one-shot output takes a single sample (use --watch --count N for several)",
    },
    Refusal { flag: "--readonly", set: |c| c.mode.readonly, refused_in: one_shot_or_watch, why: MONITOR_ONLY },
    Refusal { flag: "--theme", set: |c| c.mode.theme.is_some(), refused_in: one_shot_or_watch, why: MONITOR_ONLY },
    Refusal {
        flag: "--id",
        set: |c| !c.source.ids.is_empty() && c.source.prometheus.is_some(),
        // Where --prometheus is the source: the views, not the subcommands.
        refused_in: |_, kind| matches!(kind, Kind::Monitor | Kind::Watch | Kind::Once | Kind::ListGpus),
        why: "--id picks local GPUs; with --prometheus, narrow with --selector '{hostname=\"node1\"}'",
    },
    Refusal {
        flag: "--tls-cert",
        set: |c| serve_args(c).is_some_and(|a| a.tls_cert.is_some() && a.tls_key.is_none()),
        refused_in: always,
        why: "--tls-cert needs --tls-key (the certificate's private key)",
    },
    Refusal {
        flag: "--tls-key",
        set: |c| serve_args(c).is_some_and(|a| a.tls_key.is_some() && a.tls_cert.is_none()),
        refused_in: always,
        why: "--tls-key needs --tls-cert (the key's certificate)",
    },
];

/// The first refusal of the table that this command line meets in `kind`, as its one line.
pub fn check(cli: &Cli, kind: Kind) -> Result<(), String> {
    match REFUSALS.iter().find(|r| (r.set)(cli) && (r.refused_in)(cli, kind)) {
        Some(r) => {
            let typed = cli.typed.first().map_or("", String::as_str);
            let flag = r.flag.replace("{typed}", typed);
            Err(r.why.replace("{flag}", &flag).replace("{mode}", kind.name()))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_says_one_line_and_fills_its_placeholders() {
        for r in REFUSALS {
            assert!(!r.why.contains('\n'), "{}", r.flag);
            let uses_mode = r.why.contains("{mode}");
            // `{mode}` is a subcommand's name: only the subcommands' own rows may name it.
            assert!(
                !uses_mode || [OWN_ANSWER, NOT_THIS_MACHINE, PRINTS_A_TEXT].contains(&r.why),
                "{}: {}",
                r.flag,
                r.why
            );
            let said = r.why.replace("{flag}", r.flag).replace("{mode}", "select");
            assert!(said.contains(r.flag.split(' ').next().unwrap()), "{}: {said}", r.flag);
        }
    }

    #[test]
    fn no_row_is_shadowed_by_an_identical_one() {
        for (i, a) in REFUSALS.iter().enumerate() {
            for b in &REFUSALS[..i] {
                assert!(
                    !(a.flag == b.flag && a.why == b.why),
                    "{} is in the table twice with the same reason",
                    a.flag
                );
            }
        }
    }
}
