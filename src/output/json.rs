//! `--json`: the snapshot as one JSON document (schema in `docs/json-schema.md`); `--watch
//! --json` writes one compact document per line (JSON Lines).
//!
//! serde_json escapes C0 controls; C1 controls and the bidirectional overrides are escaped
//! here too (`\u009b`, `\u202e`), so a process name cannot drive a terminal that shows the JSON
//! (`jq` prints strings decoded) nor make it read differently. The escapes decode back to the
//! same strings.

use std::fmt::Write;

use crate::sample::Snapshot;

pub fn document(snapshot: &Snapshot) -> String {
    // Serializing plain data with string keys cannot fail.
    escape_controls(serde_json::to_string_pretty(snapshot).unwrap_or_default())
}

pub fn line(snapshot: &Snapshot) -> String {
    escape_controls(serde_json::to_string(snapshot).unwrap_or_default())
}

fn needs_escape(c: char) -> bool {
    matches!(c, '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// JSON text with C1 controls and bidi overrides written as `\uXXXX`. They can only stand inside
/// strings (JSON's own syntax is ASCII), where the escape means the same character.
pub(crate) fn escape_controls(json: String) -> String {
    if !json.chars().any(needs_escape) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if needs_escape(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_and_bidi_controls_are_escaped_and_decode_back() {
        let raw = "a\u{9b}31mb\u{202e}c\x1b";
        let json = escape_controls(serde_json::to_string(raw).unwrap());
        assert_eq!(json, "\"a\\u009b31mb\\u202ec\\u001b\"");
        assert_eq!(serde_json::from_str::<String>(&json).unwrap(), raw);
        let plain = serde_json::to_string("python train.py — ✓").unwrap();
        assert_eq!(escape_controls(plain.clone()), plain);
    }

    #[test]
    fn each_gpu_names_its_vendor_and_a_reading_its_driver_lacks_says_so() {
        use crate::sample::{FieldKey, Missing, MissingReason, Vendor};
        let mut s = crate::source::SimSource::new(crate::scenario::Scenario::demo(2), &[])
            .unwrap()
            .sample_at(0.0);
        s.gpus[1].vendor = Vendor::Amd;
        s.gpus[1].performance_state = None;
        let lacking = Missing { reason: MissingReason::NotProvidedByAmdgpu, nvml_code: None };
        s.gpus[1].missing.insert(FieldKey::PerformanceState, lacking);
        let doc: serde_json::Value = serde_json::from_str(&document(&s)).unwrap();
        assert_eq!(
            (&doc["gpus"][0]["vendor"], &doc["gpus"][1]["vendor"]),
            (&"nvidia".into(), &"amd".into())
        );
        assert_eq!(doc["gpus"][1]["performance_state"], serde_json::Value::Null);
        let reason = &doc["gpus"][1]["missing"]["performance_state"]["reason"];
        assert_eq!(reason, "not_provided_by_amdgpu", "{doc}");
    }
}
