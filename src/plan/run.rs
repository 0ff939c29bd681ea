//! The plan carried out: each mode's `run`, with its source opened by `source::open`.

use std::io::Write;

use super::{Mode, Plan, WatchPlan};
use crate::source::{self, Opened};
use crate::Error;

impl Plan {
    /// Runs the mode; the exit code on success (doctor's 0/1/2, health's verdict, …).
    pub fn run(self) -> Result<i32, Error> {
        let open = || match &self.source {
            Some(plan) => source::open(plan),
            None => Err(Error::Usage("this mode samples nothing".into())),
        };
        match self.mode {
            Mode::Doctor(doctor) => Ok(crate::doctor::run(&doctor)),
            Mode::PrintConfig => {
                print!("{}", crate::config::TEMPLATE);
                Ok(0)
            }
            Mode::Completions(shell) => {
                std::io::stdout().write_all(&crate::cli::completions::script(shell))?;
                Ok(0)
            }
            Mode::Manual => {
                std::io::stdout().write_all(&crate::cli::manual::page()?)?;
                Ok(0)
            }
            Mode::HelpQuery(kind) => {
                let _ = write!(std::io::stdout(), "{}", crate::output::query::help(kind));
                Ok(0)
            }
            Mode::Serve(options) => {
                let plan = self.source.as_ref().ok_or_else(|| Error::Usage("no source".into()))?;
                crate::serve::run(plan, options).map(|()| 0)
            }
            Mode::Health { json } => crate::health::run::run(open()?.source, json),
            Mode::Select(options) => crate::pick::select::run(open()?.source, &options),
            Mode::Wait(options) => {
                if let Some(code) = crate::pick::wait::unrunnable(&options.command) {
                    return Ok(code);
                }
                crate::pick::wait::run(open()?.source, &options, self.interval)
            }
            Mode::Record(options) => {
                crate::record::recorder::run(open()?.source, &options, self.interval).map(|()| 0)
            }
            Mode::Report(options) => crate::record::report::run(&options).map(|()| 0),
            Mode::Monitor(options) => crate::tui::run(open()?, options).map(|()| 0),
            Mode::ListGpus => crate::output::once::run_list(open()?),
            Mode::Watch(watch) => run_watch(open()?, watch).map(|()| 0),
            Mode::Once { format, to } => crate::output::once::run(open()?, &format, to.as_deref()),
        }
    }
}

/// `--watch`, into the file `-f` names (created now, as nvidia-smi does) or standard output.
fn run_watch(opened: Opened, plan: WatchPlan) -> Result<(), Error> {
    let output = plan.to.as_deref().map(crate::output::once::create).transpose()?;
    if plan.for_monitor {
        eprintln!("gputop: TERM=dumb: the monitor needs a terminal that moves the cursor; showing the plain watch view instead (q or Ctrl-C quits)");
    }
    let options = crate::watch::WatchOptions {
        interval: plan.every,
        count: plan.count,
        output,
        quit_key: plan.for_monitor,
        in_place: plan.in_place,
    };
    crate::watch::run(opened.source, plan.format, options)
}
