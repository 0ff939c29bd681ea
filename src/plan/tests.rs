//! The lowering's tests: each mode samples what it shows, and the refusals speak.

use super::*;
use crate::config::Config;
use crate::source::Backend;

/// `args` lowered on a terminal (`interactive`) or not.
fn plan(args: &[&str], interactive: bool) -> Result<Plan, String> {
    let args = std::iter::once("gputop").chain(args.iter().copied()).map(Into::into);
    let mut cli = Cli::try_parse_args(args).unwrap();
    // Not the developer's own config file: an empty one, whatever ~/.config holds.
    cli.mode.config.get_or_insert_with(|| "/dev/null".into());
    let caps = Caps { stdin_tty: interactive, stdout_tty: interactive, ..Caps::default() };
    Plan::from_cli(cli, caps).map_err(|e| e.to_string())
}

fn sampling(args: &[&str], interactive: bool) -> SampleOptions {
    plan(args, interactive).unwrap().source.expect("a sampling mode").options
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
    let monitor = plan(&["--demo"], true).unwrap();
    assert!(matches!(monitor.mode, Mode::Monitor(_)));
    assert!(monitor.source.unwrap().options.pcie_throughput, "the monitor's panels show PCIe");
    let fallback = plan(&["--demo"], false).unwrap();
    assert!(matches!(&fallback.mode, Mode::Watch(w) if w.count.is_none() && !w.for_monitor));
    let json = plan(&["--once", "--json"], true).unwrap();
    assert!(matches!(json.mode, Mode::Once { .. }));
    assert!(json.source.unwrap().options.pcie_throughput);
    assert!(!sampling(&["--once"], true).pcie_throughput);
    let query = sampling(&["--query-gpu=index"], true);
    assert!(!query.host_processes);
    assert_eq!(query.details, DetailLevel::None, "no detail is named");
    assert_eq!(sampling(&["--query-gpu=index,gpu_serial"], true).details, DetailLevel::All);
    assert_eq!(
        sampling(&["serve", "--processes"], false),
        SampleOptions {
            pcie_throughput: true,
            host_processes: true,
            details: DetailLevel::Health,
            continuous: true
        }
    );
    assert!(sampling(&["--watch", "--json"], false).continuous);
    assert!(!sampling(&["--once", "--json"], false).continuous);
    assert_eq!(sampling(&["health"], false).details, DetailLevel::Health);
    assert!(plan(&["doctor"], true).unwrap().source.is_none());
}

#[test]
fn flags_that_do_nothing_are_refused() {
    assert!(plan(&["--once", "--count", "2"], true).err().unwrap().contains("--count"));
    assert!(plan(&["--watch", "--theme", "mono"], true).err().unwrap().contains("--theme"));
    assert!(plan(&["--pod", "x", "serve"], true).err().unwrap().contains("--pod"));
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
        (&["--prometheus", "http://p:9090", "--id", "0", "--once"], "--id picks local GPUs"),
        (&["serve", "--tls-cert", "c.pem"], "--tls-cert needs --tls-key"),
        (&["serve", "--tls-key", "k.pem"], "--tls-key needs --tls-cert"),
        (&["--by", "user", "health"], "`health` chooses among this machine's GPUs"),
        (
            &["--csv", "report"],
            "`report` chooses among this machine's GPUs and prints its own answer: --csv",
        ),
        (&["--json", "-f", "x", "select"], "-f/--filename applies to"),
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
        &["--demo", "serve", "--dcgm-names"],
        &["--demo", "serve", "--processes"],
        &["doctor"],
        // doctor runs on the real machine, and says so.
        &["--demo", "doctor"],
    ] {
        assert!(plan(args, true).is_ok(), "{args:?} refused: {:?}", plan(args, true).err());
    }
}

#[test]
fn the_views_open_what_the_source_flags_name_and_the_subcommands_this_machine() {
    let backend = |args: &[&str]| plan(args, false).unwrap().source.unwrap().backend;
    assert!(matches!(backend(&["--demo", "--once"]), Backend::Local(_)));
    assert!(matches!(
        backend(&["--replay", "r.db", "--watch"]),
        Backend::Replay { stop_at_end: true, .. }
    ));
    assert!(matches!(
        backend(&["--replay", "r.db", "--once"]),
        Backend::Replay { stop_at_end: false, .. }
    ));
    assert!(matches!(
        backend(&["--prometheus", "http://p:9090", "--once"]),
        Backend::Prometheus { .. }
    ));
    assert!(matches!(
        backend(&["--remote", "h:9835,local", "--once"]),
        Backend::Remote { ref endpoints, local: Some(_) } if endpoints.len() == 1
    ));
    // GPUTOP_PROMETHEUS (a URL not typed) is the views' source: the subcommands keep to this
    // machine.
    let args = ["gputop", "--prometheus", "http://p:9090", "--id", "0", "health"].map(Into::into);
    let mut cli = Cli::try_parse_args(args).unwrap();
    cli.source.prometheus_typed = false;
    let health = Plan::from_cli(cli, Caps::default()).unwrap();
    assert!(matches!(health.source.unwrap().backend, Backend::Local(_)));
    let monitor = plan(&["--demo", "--pod", "p"], true).unwrap().source.unwrap();
    assert!(monitor.host_usage && monitor.placement.quiet);
    let once = plan(&["--demo", "--pod", "p", "--once"], true).unwrap().source.unwrap();
    assert!(!once.host_usage && !once.placement.quiet);
    assert_eq!(once.placement.pod.as_deref(), Some("p"));
}

#[test]
fn the_interval_is_the_flag_then_the_environment_then_the_config_then_the_default() {
    let secs = Duration::from_secs;
    let interval = |args: &[&str], env: Option<Duration>, config: Option<Duration>| {
        let args = std::iter::once("gputop").chain(args.iter().copied()).map(Into::into);
        let cli = Cli::try_parse_args(args).unwrap();
        let kind = Kind::of(&cli, false);
        let config = Config { interval: config, ..Config::default() };
        options::interval(&cli, kind, env, &config)
    };
    let once = ["--demo", "--once"];
    assert_eq!(
        interval(&[&once[..], &["--interval", "2s"]].concat(), Some(secs(3)), None),
        secs(2)
    );
    assert_eq!(interval(&once, Some(secs(3)), Some(secs(4))), secs(3));
    assert_eq!(interval(&once, None, Some(secs(4))), secs(4));
    assert_eq!(interval(&once, None, None), secs(1));
    assert_eq!(interval(&["--demo", "--once", "--interval", "0.5"], None, None), secs(1) / 2);
    // Prometheus has new data once a scrape: the views ask every 5 s by default; a
    // subcommand on this machine (GPUTOP_PROMETHEUS exported) every second.
    assert_eq!(interval(&["--prometheus", "http://p:9090", "--once"], None, None), secs(5));
    assert_eq!(interval(&["--prometheus", "http://p:9090", "record"], None, None), secs(1));
}

#[test]
fn completions_and_man_print_a_text_and_refuse_every_option() {
    let completions = plan(&["completions", "fish"], false).unwrap();
    assert!(matches!(completions.mode, Mode::Completions(clap_complete::Shell::Fish)));
    assert!(completions.source.is_none());
    assert!(matches!(plan(&["man"], true).unwrap().mode, Mode::Manual));
    let err = plan(&["--once", "completions", "bash"], true).err().unwrap();
    assert_eq!(
        err,
        "`gputop completions` prints a text and exits: --once does not apply (leave it out)"
    );
    // A global option typed after the subcommand is typed all the same.
    let err = plan(&["man", "--color", "never"], true).err().unwrap();
    assert!(err.contains("`gputop man` prints a text") && err.contains("--color"), "{err}");
    let err = plan(&["--demo", "completions", "zsh"], true).err().unwrap();
    assert!(err.contains("--demo does not apply"), "{err}");
}
