//! `--csv`: one row per GPU in base units, with a header. Unavailable values are `N/A`
//! (which pandas and most CSV readers take as missing), never 0. With many hosts (`--remote`,
//! `--prometheus`) a `host` column comes first.

use crate::sample::{FieldKey, GpuSample, Snapshot};
use crate::text::sanitize::sanitize;

/// One column: its header, the model field whose missing reason it shares (`None` for the
/// columns every GPU has), and its value in base units.
struct Column {
    name: &'static str,
    field: Option<FieldKey>,
    value: fn(&GpuSample) -> Option<String>,
}

fn cell(v: Option<String>) -> String {
    v.unwrap_or_else(|| "N/A".to_string())
}

fn n<T: ToString>(v: Option<T>) -> Option<String> {
    v.map(|v| v.to_string())
}

/// From the driver or another host: escaped like every untrusted string (ordinary names and
/// ids are unchanged).
fn text(v: &Option<String>) -> Option<String> {
    v.as_deref().map(|v| sanitize(v).into_owned())
}

const COLUMNS: &[Column] = &[
    Column { name: "index", field: None, value: |g| n(Some(g.index)) },
    Column { name: "uuid", field: Some(FieldKey::Uuid), value: |g| text(&g.uuid) },
    Column { name: "name", field: Some(FieldKey::Name), value: |g| text(&g.name) },
    Column { name: "pci_bus_id", field: Some(FieldKey::PciBusId), value: |g| text(&g.pci_bus_id) },
    Column {
        name: "status",
        field: None,
        value: |g| {
            let status = serde_json::to_value(g.status).ok();
            Some(status.and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())
        },
    },
    Column {
        name: "temperature_celsius",
        field: Some(FieldKey::TemperatureGpu),
        value: |g| n(g.temperature.gpu_celsius),
    },
    Column {
        name: "utilization_gpu_percent",
        field: Some(FieldKey::Utilization),
        value: |g| n(g.utilization.gpu_percent),
    },
    Column {
        name: "utilization_memory_percent",
        field: Some(FieldKey::Utilization),
        value: |g| n(g.utilization.memory_percent),
    },
    Column {
        name: "memory_used_bytes",
        field: Some(FieldKey::Memory),
        value: |g| n(g.memory.used_bytes),
    },
    Column {
        name: "memory_total_bytes",
        field: Some(FieldKey::Memory),
        value: |g| n(g.memory.total_bytes),
    },
    Column {
        name: "power_draw_watts",
        field: Some(FieldKey::PowerDraw),
        value: |g| n(g.power.draw_watts),
    },
    Column {
        name: "power_limit_watts",
        field: Some(FieldKey::PowerLimit),
        value: |g| n(g.power.limit_watts),
    },
    Column { name: "fan_percent", field: Some(FieldKey::FanPercent), value: |g| n(g.fan_percent) },
    Column { name: "clock_sm_mhz", field: Some(FieldKey::ClocksSm), value: |g| n(g.clocks.sm_mhz) },
    Column {
        name: "clock_memory_mhz",
        field: Some(FieldKey::ClocksMemory),
        value: |g| n(g.clocks.memory_mhz),
    },
    Column {
        name: "performance_state",
        field: Some(FieldKey::PerformanceState),
        value: |g| g.performance_state.map(|p| format!("P{p}")),
    },
    Column {
        name: "process_count",
        field: Some(FieldKey::Processes),
        value: |g| n(g.processes.as_ref().map(Vec::len)),
    },
];

/// The sample's time comes first, then [`COLUMNS`].
const TIMESTAMP: &str = "timestamp";

fn record<'a>(taken_at: &str, g: &'a GpuSample) -> impl Iterator<Item = String> + 'a {
    let cells = COLUMNS.iter().map(|c| cell((c.value)(g)));
    std::iter::once(taken_at.to_string()).chain(cells)
}

fn write_records(records: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut w =
        csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    for r in records {
        // Writing to memory cannot fail.
        let _ = w.write_record(&r);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn many_hosts(snapshot: &Snapshot) -> bool {
    !snapshot.hosts.is_empty()
}

/// The header for snapshots like `snapshot`.
pub fn header(snapshot: &Snapshot) -> String {
    let host = many_hosts(snapshot).then(|| "host".to_string());
    let names = std::iter::once(TIMESTAMP).chain(COLUMNS.iter().map(|c| c.name));
    write_records([host.into_iter().chain(names.map(str::to_string)).collect()])
}

/// The rows of one snapshot, without the header.
pub fn rows(snapshot: &Snapshot) -> String {
    let taken_at = snapshot.taken_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let many = many_hosts(snapshot);
    write_records(snapshot.gpus.iter().map(|g| {
        let host = many.then(|| cell(text(&g.host)));
        host.into_iter().chain(record(&taken_at, g)).collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::query;

    #[test]
    fn every_column_but_the_ones_every_gpu_has_reads_a_field_of_the_registry() {
        // gputop's own: nvidia-smi's --query-gpu has no count of processes.
        let not_queried = ["process_count"];
        for c in COLUMNS.iter().filter(|c| !not_queried.contains(&c.name)) {
            match c.field {
                Some(key) => {
                    let property = query::property_reading(key);
                    assert!(
                        property.is_some(),
                        "{}: no --query-gpu property reads {key:?}",
                        c.name
                    );
                }
                None => assert!(["index", "status"].contains(&c.name), "{}", c.name),
            }
        }
    }

    #[test]
    fn the_header_names_every_column_once() {
        let snapshot = crate::source::SimSource::new(crate::scenario::Scenario::demo(1), &[])
            .unwrap()
            .sample_at(0.0);
        let header = header(&snapshot);
        let names: Vec<&str> = header.trim_end().split(',').collect();
        assert_eq!(names.len(), COLUMNS.len() + 1);
        for (i, name) in names.iter().enumerate() {
            assert!(!names[..i].contains(name), "{name} twice");
        }
        let row = rows(&snapshot);
        assert_eq!(row.trim_end().split(',').count(), names.len(), "{row}");
    }
}
