//! `gputop completions SHELL` and `gputop man`, through the real binary: each completion script
//! parses in its shell and completes a subcommand, and the man page renders without a warning
//! and says what the clap definition cannot (exit status, environment, files). A shell or
//! formatter that is missing skips the test with a `SKIPPED:` line, and fails it in CI.

mod common;

use std::path::Path;
use std::process::Command as StdCommand;

use clap::{CommandFactory, Parser};
use common::{have, ROOT};

/// `gputop ARGS`' standard output; it must succeed and say nothing on stderr.
fn gputop(args: &[&str]) -> String {
    let out = StdCommand::new(assert_cmd::cargo::cargo_bin("gputop")).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "gputop {args:?}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `tool` with `args`; its stdout, after checking it succeeded with nothing on stderr.
fn quiet(tool: &str, args: &[&str]) -> String {
    let out = StdCommand::new(tool).args(args).env("LC_ALL", "C.UTF-8").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tool} {args:?} failed: {stderr}");
    assert!(stderr.is_empty(), "{tool} {args:?} warned: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `text` written to a file in `dir`, whose path is returned.
fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn bash_completion_parses_and_completes_subcommands_and_shells() {
    if !have("bash", &["-c", "true"], "apt-get install bash") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = write(&dir, "gputop.bash", &gputop(&["completions", "bash"]));
    quiet("bash", &["-n", &script]);
    // As bash calls it on Tab: the words so far, the one under the cursor last.
    let complete = |line: &str| {
        let program = format!(
            r#"source "$1"; COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}
            read -ra COMP_WORDS <<< "$COMP_LINE"; [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
            _gputop gputop "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
            printf '%s\n' "${{COMPREPLY[@]}}""#
        );
        quiet("bash", &["-c", &program, "bash", &script])
    };
    assert_eq!(complete("gputop ser"), "serve\n");
    assert_eq!(complete("gputop completions z"), "zsh\n");
    assert!(complete("gputop serve --dcgm").contains("--dcgm-names"));
    // `man` is hidden (for packagers): no subcommand starts with m but it, so nothing comes.
    assert_eq!(complete("gputop m"), "\n");
    assert_eq!(complete("gputop help m"), "\n");
    assert!(!complete("gputop ").lines().any(|w| w == "man"));
}

#[test]
fn zsh_completion_parses() {
    if !have("zsh", &["-c", "true"], "apt-get install zsh") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = write(&dir, "_gputop", &gputop(&["completions", "zsh"]));
    quiet("zsh", &["-n", &script]);
    // The subcommands zsh offers are `'NAME:description'` entries of `commands=(…)`: serve
    // is one, the hidden man is not.
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.lines().any(|l| l.starts_with("'serve:")), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("'man:")), "{text}");
}

#[test]
fn fish_completion_parses_and_completes_subcommands() {
    if !have("fish", &["-c", "true"], "apt-get install fish") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = write(&dir, "gputop.fish", &gputop(&["completions", "fish"]));
    quiet("fish", &["--no-execute", &script]);
    let program = format!("source {script}; complete -C 'gputop ser'");
    let said = quiet("fish", &["--no-config", "-c", &program]);
    assert!(said.starts_with("serve\t"), "{said}");
    // The hidden man is not offered, after gputop or after gputop help.
    for line in ["gputop m", "gputop help m", "gputop "] {
        let program = format!("source {script}; complete -C '{line}'");
        let said = quiet("fish", &["--no-config", "-c", &program]);
        assert!(!said.lines().any(|l| l == "man" || l.starts_with("man\t")), "{line}: {said}");
    }
}

#[test]
fn elvish_and_powershell_scripts_are_printed() {
    // No shell to parse them here: that they are made for gputop is what is checked.
    assert!(gputop(&["completions", "elvish"]).contains("edit:completion:arg-completer[gputop]"));
    assert!(gputop(&["completions", "powershell"]).contains("Register-ArgumentCompleter"));
}

#[test]
fn an_option_with_completions_or_man_is_refused_and_a_variable_is_not() {
    let out = StdCommand::new(assert_cmd::cargo::cargo_bin("gputop"))
        .args(["--once", "completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "gputop: `gputop completions` prints a text and exits: --once does not apply (leave it out)\n"
    );
    let out = StdCommand::new(assert_cmd::cargo::cargo_bin("gputop"))
        .args(["man"])
        .env("GPUTOP_CONFIG", "/nonexistent.toml")
        .env("GPUTOP_INTERVAL", "2")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn man_page_renders_without_warnings() {
    if !have("groff", &["--version"], "apt-get install groff-base") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = write(&dir, "gputop.1", &gputop(&["man"]));
    // -ww: every warning; -z: no output, only the checks.
    quiet("groff", &["-man", "-ww", "-z", &page]);
    if have("man", &["--version"], "apt-get install man-db") {
        quiet("man", &["--warnings", "-l", &page]);
    }
}

#[test]
fn man_page_names_every_subcommand_exit_status_variable_and_file() {
    if !have("groff", &["--version"], "apt-get install groff-base") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = write(&dir, "gputop.1", &gputop(&["man"]));
    let text = quiet("groff", &["-man", "-Tutf8", "-P-cbou", &page]);
    for sub in gputop::Cli::command().get_subcommands() {
        let heading = format!("GPUTOP {}", sub.get_name().to_uppercase());
        assert_eq!(text.contains(&heading), !sub.is_hide_set(), "{heading}");
    }
    for section in ["SYNOPSIS", "OPTIONS", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"] {
        assert!(text.lines().any(|l| l == section), "no {section} section");
    }
    // A section runs from its heading to the next one (a line in capitals alone).
    let section = |name: &str| -> String {
        let start = text.lines().position(|l| l == name).unwrap_or_else(|| panic!("no {name}"));
        text.lines()
            .skip(start + 1)
            .take_while(|l| l.is_empty() || !l.chars().all(|c| c.is_ascii_uppercase() || c == ' '))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let exit_status = section("EXIT STATUS");
    for said in ["doctor", "health", "wait", "127", "126", "3 unknown"] {
        assert!(exit_status.contains(said), "EXIT STATUS says nothing of {said}");
    }
    for file in ["config.toml", "/run/gputop/locks", "/tmp/gputop-locks", "gputop/record.db"] {
        assert!(text.contains(file), "FILES: {file}");
    }
    let environment = section("ENVIRONMENT");
    let mut variables =
        vec!["NO_COLOR", "CUDA_VISIBLE_DEVICES", "XDG_CONFIG_HOME", "XDG_STATE_HOME"];
    let source = gputop_variables(&Path::new(ROOT).join("src"));
    variables.extend(source.iter().map(String::as_str));
    for variable in variables {
        assert!(environment.contains(variable), "ENVIRONMENT says nothing of {variable}");
    }
}

#[test]
fn man_page_examples_parse_and_serve_beyond_loopback_only_with_a_token_and_tls() {
    // Each example is a `.B` line of the roff source (the rendered page wraps long ones).
    let roff = gputop(&["man"]);
    let examples: Vec<String> = roff
        .lines()
        .skip_while(|l| *l != ".SH EXAMPLES")
        .filter_map(|l| l.strip_prefix(".B gputop "))
        .map(|l| format!("gputop {}", l.replace("\\-", "-")))
        .collect();
    assert!(examples.len() >= 8, "{examples:?}");
    let mut serves = 0;
    for example in examples {
        // The command alone, before a redirection.
        let command = example.split(" >").next().unwrap();
        let words: Vec<&str> = command.split_whitespace().collect();
        if let Err(e) = gputop::Cli::try_parse_from(&words) {
            panic!("the man page's example `{example}` does not parse: {e}");
        }
        let Some(at) = words.iter().position(|w| *w == "--listen") else { continue };
        let listen: std::net::SocketAddr = words[at + 1].parse().unwrap();
        if !listen.ip().is_loopback() {
            serves += 1;
            for flag in ["--token-file", "--tls-cert", "--tls-key"] {
                assert!(
                    words.contains(&flag),
                    "`{example}` listens beyond loopback without {flag}"
                );
            }
        }
    }
    assert_eq!(serves, 1, "the serve example beyond loopback");
}

/// Every `GPUTOP_NAME` the sources under `dir` read at run time: a variable the man page must
/// list.
fn gputop_variables(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(gputop_variables(&path));
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (at, _) in text.match_indices("\"GPUTOP_") {
            // `env!("GPUTOP_…")` is read when gputop is built (build.rs), not when it runs.
            if text[..at].ends_with("env!(") {
                continue;
            }
            let name: String = text[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            if name.len() > "GPUTOP_".len() && !found.contains(&name) {
                found.push(name);
            }
        }
    }
    found
}
