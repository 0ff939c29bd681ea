//! `--json`: the snapshot as one JSON document (schema in `docs/json-schema.md`); `--watch
//! --json` writes one compact document per line (JSON Lines).

use crate::sample::Snapshot;

pub fn document(snapshot: &Snapshot) -> String {
    // Serializing plain data with string keys cannot fail.
    serde_json::to_string_pretty(snapshot).unwrap_or_default()
}

pub fn line(snapshot: &Snapshot) -> String {
    serde_json::to_string(snapshot).unwrap_or_default()
}
