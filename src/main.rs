//! Parses the command line, runs gputop, and turns errors into one line and an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = gputop::Cli::parse_args(std::env::args_os());
    match gputop::run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(gputop::Error::NvidiaSmi(text)) => {
            // As nvidia-smi prints it: on stdout, then a blank line.
            print!("{text}\n\n");
            ExitCode::from(2)
        }
        Err(e) => {
            match e.hint() {
                Some(hint) => eprintln!("gputop: {e}; {hint}"),
                None => eprintln!("gputop: {e}"),
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
