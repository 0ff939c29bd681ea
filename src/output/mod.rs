//! Non-interactive renderers: the human table, JSON, CSV and nvidia-smi queries.

pub mod bound;
pub mod csv;
pub mod json;
pub mod owners;
pub mod query;
pub mod style;
pub mod table;
