//! What a non-interactive mode (`--once`, `--watch`, the queries) prints, as the plan chose it.

use crate::output::owners::OwnerKey;
use crate::output::query::{Query, QueryFormat};
use crate::output::table::TableOptions;

/// What a non-interactive mode prints.
pub enum Format {
    Table(TableOptions),
    Json,
    Csv,
    Query(Query, QueryFormat),
    /// Who holds the GPUs: as a table, or JSON when `None`.
    Owners(OwnerKey, Option<TableOptions>),
}
