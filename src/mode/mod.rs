//! The modes gputop runs in, and what they share: the output format and the terminal.

pub mod health;
pub mod once;
pub mod record;
pub mod report;
pub mod select;
pub mod wait;
pub mod watch;

use std::io::IsTerminal;

use crate::cli::Cli;
use crate::output::owners::OwnerKey;
use crate::output::query::{Query, QueryFormat};
use crate::output::style::Painter;
use crate::output::table::TableOptions;
use crate::Error;

/// What a non-interactive mode prints.
pub enum Format {
    Table(TableOptions),
    Json,
    Csv,
    Query(Query, QueryFormat),
    /// Who holds the GPUs: as a table, or JSON when `None`.
    Owners(OwnerKey, Option<TableOptions>),
}

impl Format {
    pub fn from_cli(cli: &Cli) -> Result<Self, Error> {
        let out = &cli.output;
        Ok(if let Some((kind, fields)) = out.query() {
            Format::Query(Query::parse(kind, fields)?, out.format.unwrap_or_default())
        } else if let Some(by) = out.by {
            Format::Owners(by, (!out.json).then(|| table_options(cli)))
        } else if out.json {
            Format::Json
        } else if out.csv {
            Format::Csv
        } else {
            Format::Table(table_options(cli))
        })
    }
}

fn table_options(cli: &Cli) -> TableOptions {
    let out = &cli.output;
    let stdout_is_terminal = std::io::stdout().is_terminal();
    TableOptions {
        painter: Painter { enabled: out.color.enabled() },
        width: if stdout_is_terminal { terminal_width() } else { None },
        ascii: out.ascii || !locale_is_utf8(),
    }
}

fn terminal_width() -> Option<usize> {
    crossterm::terminal::size().ok().map(|(cols, _)| cols as usize).filter(|&c| c > 0)
}

/// Whether the locale promises UTF-8 (LC_ALL, then LC_CTYPE, then LANG, as setlocale reads them).
pub fn locale_is_utf8() -> bool {
    let value = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_default()
        .to_ascii_lowercase();
    value.contains("utf-8") || value.contains("utf8")
}
