//! `--csv`: one row per GPU in base units, with a header. Unavailable values are `N/A`
//! (which pandas and most CSV readers take as missing), never 0. With many hosts (`--remote`,
//! `--prometheus`) a `host` column comes first. Columns are only ever added at the end (so
//! `vendor`, added with AMD and Intel GPUs, is last), so a reader by position keeps working.

use crate::sample::{GpuSample, Snapshot};
use crate::text::sanitize::sanitize;

const COLUMNS: [&str; 19] = [
    "timestamp",
    "index",
    "uuid",
    "name",
    "pci_bus_id",
    "status",
    "temperature_celsius",
    "utilization_gpu_percent",
    "utilization_memory_percent",
    "memory_used_bytes",
    "memory_total_bytes",
    "power_draw_watts",
    "power_limit_watts",
    "fan_percent",
    "clock_sm_mhz",
    "clock_memory_mhz",
    "performance_state",
    "process_count",
    "vendor",
];

fn cell<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "N/A".to_string(), |v| v.to_string())
}

fn record(taken_at: &str, g: &GpuSample) -> [String; COLUMNS.len()] {
    [
        taken_at.to_string(),
        g.index.to_string(),
        // From the driver or another host: escaped like every untrusted string (ordinary
        // names and ids are unchanged).
        cell(g.uuid.as_deref().map(sanitize)),
        cell(g.name.as_deref().map(sanitize)),
        cell(g.pci_bus_id.as_deref().map(sanitize)),
        serde_json::to_value(g.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        cell(g.temperature.gpu_celsius),
        cell(g.utilization.gpu_percent),
        cell(g.utilization.memory_percent),
        cell(g.memory.used_bytes),
        cell(g.memory.total_bytes),
        cell(g.power.draw_watts),
        cell(g.power.limit_watts),
        cell(g.fan_percent),
        cell(g.clocks.sm_mhz),
        cell(g.clocks.memory_mhz),
        cell(g.performance_state.map(|p| format!("P{p}"))),
        cell(g.processes.as_ref().map(Vec::len)),
        g.vendor.key().to_string(),
    ]
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
    write_records([host.into_iter().chain(COLUMNS.iter().map(|c| c.to_string())).collect()])
}

/// The rows of one snapshot, without the header.
pub fn rows(snapshot: &Snapshot) -> String {
    let taken_at = snapshot.taken_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let many = many_hosts(snapshot);
    write_records(snapshot.gpus.iter().map(|g| {
        let host = many.then(|| cell(g.host.as_deref().map(sanitize)));
        host.into_iter().chain(record(&taken_at, g)).collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::query::{Query, QueryFormat};

    /// Each column's `--query-gpu` property: the same model field, in base units.
    const PROPERTIES: [(&str, Option<&str>); COLUMNS.len()] = [
        ("timestamp", None),
        ("index", Some("index")),
        ("uuid", Some("uuid")),
        ("name", Some("name")),
        ("pci_bus_id", Some("pci.bus_id")),
        ("status", None),
        ("temperature_celsius", Some("temperature.gpu")),
        ("utilization_gpu_percent", Some("utilization.gpu")),
        ("utilization_memory_percent", Some("utilization.memory")),
        ("memory_used_bytes", Some("memory.used")),
        ("memory_total_bytes", Some("memory.total")),
        ("power_draw_watts", Some("power.draw")),
        ("power_limit_watts", Some("enforced.power.limit")),
        ("fan_percent", Some("fan.speed")),
        ("clock_sm_mhz", Some("clocks.current.sm")),
        ("clock_memory_mhz", Some("clocks.current.memory")),
        ("performance_state", Some("pstate")),
        // gputop's own: nvidia-smi's --query-gpu has no count of processes.
        ("process_count", None),
        // gputop's own: `nvidia`, `amd` or `intel`.
        ("vendor", None),
    ];

    #[test]
    fn every_column_is_a_property_of_the_registry_and_unknown_when_it_is() {
        assert_eq!(COLUMNS, PROPERTIES.map(|(column, _)| column));
        let mut s = crate::source::SimSource::new(crate::scenario::Scenario::demo(2), &[])
            .unwrap()
            .sample_at(0.0);
        let g = &mut s.gpus[1];
        let (index, status, processes) = (g.index, g.status, g.processes.clone());
        *g = GpuSample { index, status, processes, ..GpuSample::empty(index) };
        let format = QueryFormat { header: false, units: false };
        for (gpu, g) in s.gpus.iter().enumerate() {
            let cells = record("t", g);
            for ((column, property), cell) in PROPERTIES.iter().zip(&cells) {
                let Some(property) = property else { continue };
                let query = Query::gpus(property).unwrap_or_else(|e| panic!("{column}: {e}"));
                let value = &query.rows(&s, format)[gpu];
                assert_eq!(cell == "N/A", value == "[N/A]", "GPU {gpu} {column}: {cell} {value}");
            }
        }
    }

    #[test]
    fn the_vendor_is_the_last_column() {
        let mut s = crate::source::SimSource::new(crate::scenario::Scenario::demo(2), &[])
            .unwrap()
            .sample_at(0.0);
        s.gpus[1].vendor = crate::sample::Vendor::Amd;
        assert!(header(&s).trim_end().ends_with(",process_count,vendor"), "{}", header(&s));
        let rows = rows(&s);
        let vendors: Vec<&str> = rows.lines().map(|l| l.rsplit(',').next().unwrap()).collect();
        assert_eq!(vendors, ["nvidia", "amd"], "{rows}");
    }
}
