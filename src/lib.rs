//! gputop: a fast terminal GPU monitor. The command line is parsed (`cli`), lowered once into
//! a plan (`plan`) and run; a folder per feature holds its `run`, and the rest is a library
//! the features share (sources, the sample model, history, renderers, the terminal).

mod cli;
mod config;
mod doctor;
pub mod embed;
mod health;
mod history;
mod metric_names;
mod output;
mod pick;
mod plan;
mod playhead;
mod poller;
mod process_signal;
mod record;
pub mod sample;
use gputop_scenario as scenario;
mod serve;
mod small_file;
mod source;
mod term;
#[doc(hidden)]
pub mod testing;
mod text;
mod tui;
mod watch;

pub use cli::Cli;

use std::io::{self, Write};

use source::SourceError;

/// Why gputop stopped; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{0}")]
    Usage(String),
    /// An error nvidia-smi reports on stdout, in its words, for scripts that read them there.
    #[error("{0}")]
    NvidiaSmi(String),
    #[error("sampling failed: {0}")]
    Sampling(String),
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A recording that cannot be opened, read or written (a full disk, a file that is not
    /// gputop's database).
    #[error("{0}")]
    Recording(String),
}

impl From<output::query::QueryError> for Error {
    /// An unknown property is reported as nvidia-smi reports it.
    fn from(e: output::query::QueryError) -> Self {
        match e {
            output::query::QueryError::NotAField(_) => Self::NvidiaSmi(e.to_string()),
            output::query::QueryError::Empty => Self::Usage(e.to_string()),
        }
    }
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Source(e) => e.exit_code(),
            Self::Usage(_) | Self::NvidiaSmi(_) => 2,
            Self::Sampling(_) => 3,
            Self::Io(_) | Self::Recording(_) => 1,
        }
    }

    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Source(e) => e.hint(),
            _ => None,
        }
    }

    /// `gputop … | head` closing the pipe is a normal way to stop, not an error.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// The whole command: parses `args` (the program's name first), runs it, prints an error as
/// one line (nvidia-smi's errors as nvidia-smi prints them), and gives the exit code.
pub fn main_with_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cli = Cli::parse_args(args);
    // `health`'s codes 1 and 2 are verdicts on the GPUs: anything that kept it from judging
    // them is unknown (3), so a prolog never drains a node over a typo, nor passes one.
    let health = cli.health();
    match run(cli) {
        Ok(code) => code,
        Err(e) if health.is_some() && !e.is_broken_pipe() => {
            let line = embed::error_line(&e);
            eprintln!("gputop: {line}");
            // A program that asked for JSON gets a verdict it can read: unknown, and why.
            if health == Some(true) {
                println!("{}", health::run::unknown(&line));
            }
            3
        }
        Err(e) if e.is_broken_pipe() => 0,
        Err(Error::NvidiaSmi(text)) => {
            // As nvidia-smi prints it: on stdout, then a blank line.
            print!("{text}\n\n");
            let _ = io::stdout().flush();
            2
        }
        Err(e) => {
            eprintln!("gputop: {}", embed::error_line(&e));
            e.exit_code()
        }
    }
}

/// Runs the mode the command line asks for, on this terminal; the exit code on success
/// (doctor's 0/1/2).
pub fn run(cli: Cli) -> Result<i32, Error> {
    plan::Plan::from_cli(cli, term::caps::Caps::detect())?.run()
}
