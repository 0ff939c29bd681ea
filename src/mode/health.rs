//! `gputop health`: a line per GPU, or JSON, and the exit code a probe reads.

use std::io::Write;

use crate::cli::HealthArgs;
use crate::health::{self, Severity};
use crate::source::Source;
use crate::Error;

pub fn run(mut source: Box<dyn Source>, args: &HealthArgs) -> Result<i32, Error> {
    let snapshot = source.sample()?;
    let verdicts: Vec<_> = snapshot.gpus.iter().map(health::judge).collect();
    let worst = verdicts.iter().map(|v| v.status).max().unwrap_or(Severity::Ok);
    let mut out = std::io::stdout().lock();
    if args.json {
        let doc = serde_json::json!({ "status": worst, "gpus": verdicts });
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        writeln!(out, "{}", crate::output::json::escape_controls(text))?;
    } else {
        for v in &verdicts {
            writeln!(out, "{}", health::line(v))?;
        }
    }
    Ok(worst.exit_code())
}
