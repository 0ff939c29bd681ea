//! `gputop completions SHELL`: the shell's completion script, from the clap definition
//! (clap_complete). clap_complete offers hidden subcommands too, so the script is made from a
//! copy of the command without them: `gputop man` (for packagers) works but is never offered.

use clap::CommandFactory;
use clap_complete::Shell;

/// The completion script for `shell`, whole (clap_complete panics on a failed write, so it is
/// written to memory first and the caller prints it).
pub fn script(shell: Shell) -> Vec<u8> {
    let mut command = offered();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "gputop", &mut script);
    script
}

/// gputop's command as completion offers it: its options, and its subcommands but the hidden.
/// clap has no way to remove a subcommand, so the command is built again around the parts.
fn offered() -> clap::Command {
    let full = super::Cli::command();
    let mut command = clap::Command::new("gputop")
        .version(env!("GPUTOP_LONG_VERSION"))
        .args(full.get_arguments().cloned())
        .groups(full.get_groups().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = full.get_about() {
        command = command.about(about.clone());
    }
    command
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_subcommand_but_the_hidden_is_offered() {
        let full = <super::super::Cli as clap::CommandFactory>::command();
        let names = |c: &clap::Command| -> Vec<String> {
            c.get_subcommands().map(|s| s.get_name().to_string()).collect()
        };
        let offered = names(&super::offered());
        assert!(names(&full).contains(&"man".to_string()));
        assert!(!offered.contains(&"man".to_string()), "{offered:?}");
        assert!(
            offered.contains(&"serve".to_string()) && offered.contains(&"completions".to_string())
        );
        assert_eq!(super::offered().get_arguments().count(), full.get_arguments().count());
    }
}
