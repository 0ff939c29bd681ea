//! Non-interactive output: the human table, JSON, CSV and nvidia-smi queries, the format the
//! plan chose among them, and the one-shot run (`--once`, `-L`) that prints one sample.

pub mod bound;
pub mod csv;
pub mod format;
pub mod json;
pub mod once;
pub mod owners;
pub mod query;
pub mod style;
pub mod table;
