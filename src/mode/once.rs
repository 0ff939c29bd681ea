//! `--once` and one-shot `--query-*`: sample, print, exit.

use std::io::Write;

use super::Format;
use crate::output::{csv, json, owners, table};
use crate::source::Source;
use crate::Error;

pub fn run(source: &mut dyn Source, format: &Format, out: &mut dyn Write) -> Result<(), Error> {
    let snapshot = source.sample()?;
    match format {
        Format::Table(opts) => {
            for line in table::render(&snapshot, opts) {
                writeln!(out, "{line}")?;
            }
        }
        Format::Json => writeln!(out, "{}", json::document(&snapshot))?,
        Format::Owners(by, Some(opts)) => {
            for line in owners::render(&snapshot, *by, opts) {
                writeln!(out, "{line}")?;
            }
        }
        Format::Owners(by, None) => writeln!(out, "{}", owners::json(&snapshot, *by))?,
        Format::Csv => write!(out, "{}{}", csv::header(), csv::rows(&snapshot))?,
        Format::Query(query, fmt) => {
            if let Some(header) = query.header(*fmt) {
                writeln!(out, "{header}")?;
            }
            for row in query.rows(&snapshot, *fmt) {
                writeln!(out, "{row}")?;
            }
        }
    }
    out.flush()?;
    // Many hosts and none answered: the output says why for each; the exit code says so too.
    if !snapshot.hosts.is_empty() && snapshot.hosts.iter().all(|h| !h.up) {
        return Err(Error::Sampling(format!(
            "none of the {} hosts answered",
            snapshot.hosts.len()
        )));
    }
    Ok(())
}
