//! The field registry's consistency, and queries read as nvidia-smi reads them.

use super::*;
use crate::sample::FieldKey;

/// One property of one query, as the registry has it.
struct Entry {
    kind: QueryKind,
    names: &'static [&'static str],
    about: &'static str,
    missing: Option<FieldKey>,
    level: Level,
}

/// Every table of the registry.
fn registry() -> Vec<Entry> {
    fn rows<T: OfGpu + 'static>(
        kind: QueryKind,
        table: impl Iterator<Item = &'static Field<T>>,
    ) -> Vec<Entry> {
        table
            .map(|f| Entry {
                kind,
                names: f.names,
                about: f.about,
                missing: f.missing,
                level: f.level(),
            })
            .collect()
    }
    let mut all = rows(QueryKind::Gpu, gpu_fields());
    all.extend(rows(QueryKind::ComputeApps, APP_FIELDS.iter()));
    all.extend(rows(QueryKind::RetiredPages, RETIRED_PAGE_FIELDS.iter()));
    all.extend(rows(QueryKind::RemappedRows, REMAPPED_ROW_FIELDS.iter()));
    all
}

#[test]
fn every_property_has_a_description() {
    for Entry { kind, names, about, .. } in registry() {
        assert!(about.ends_with('.') && about.len() > 10, "{kind:?} {}: {about:?}", names[0]);
    }
}

#[test]
fn no_two_properties_of_a_query_share_a_name() {
    let all = registry();
    for (i, Entry { kind, names, .. }) in all.iter().enumerate() {
        for name in *names {
            let others = all[..i].iter().filter(|e| e.kind == *kind);
            let same = others.flat_map(|e| e.names).find(|n| n.eq_ignore_ascii_case(name));
            assert_eq!(same, None, "{kind:?}: {name} twice");
        }
    }
}

#[test]
fn every_gpu_property_read_from_nvml_knows_where_its_reason_is_kept() {
    let not_from_a_gpu = [
        "timestamp",
        "driver_version",
        "count",
        "index",
        "driver_model.current",
        "driver_model.pending",
        // The host's, from sysfs: N/A where it does not say.
        "hostname",
        "pcie.link.gen.hostmax",
        "kmd_version",
    ];
    for Entry { kind, names, missing, .. } in registry() {
        let from_a_gpu = !not_from_a_gpu.contains(&names[0]) && names[0] != "pid";
        let what = format!("{kind:?} {}", names[0]);
        if kind != QueryKind::ComputeApps || names[0].starts_with("gpu_") {
            assert_eq!(missing.is_some(), from_a_gpu, "{what}");
        }
    }
}

/// Every key a source can file a reason under is read by a property, or is listed here as
/// one no nvidia-smi property reads: a new key needs a decision.
#[test]
fn every_missing_key_is_read_by_a_property_or_known_not_to_be() {
    use FieldKey::*;
    let not_queried = [
        MemoryReserved,
        Temperature,
        TemperatureSlowdown,
        TemperatureShutdown,
        Power,
        PowerEnergy,
        Pcie,
        PcieTx,
        PcieRx,
        Ecc,
        MigInstances,
        Processes,
        ProcessesUtilization,
        Events,
        Activity,
        PcieReplayCount,
        Nvlink,
        NvlinkReplayErrors,
        NvlinkRecoveryErrors,
        NvlinkCrcFlitErrors,
        NvlinkCrcDataErrors,
        ProcessKind,
    ];
    let read: Vec<FieldKey> = registry().iter().filter_map(|e| e.missing).collect();
    for key in FieldKey::ALL {
        assert!(
            read.contains(key) != not_queried.contains(key),
            "{key:?} ({}): read by a property and listed as not, or neither",
            key.name()
        );
    }
}

#[test]
fn a_property_whose_reason_is_kept_in_the_details_is_read_from_them() {
    for Entry { kind, names, missing, level, .. } in
        registry().into_iter().filter(|e| e.kind == QueryKind::Gpu)
    {
        let in_details = missing.is_some_and(|k| k.name().starts_with("details."));
        let what = format!("{kind:?} {}", names[0]);
        if in_details {
            assert_eq!(level, Level::Details, "{what}");
        }
        // The host's values kept in the details (`kmd_version`) have no reason to keep.
        if level == Level::Details {
            assert!(in_details || missing.is_none(), "{what}");
        }
    }
}

#[test]
fn every_detail_property_and_only_those_make_the_sampler_read_the_details() {
    for f in gpu_fields() {
        for name in f.names {
            assert_eq!(needs_details(name), f.level() == Level::Details, "{name}");
        }
    }
}

#[test]
fn headers_use_canonical_names_and_units() {
    let q = Query::gpus("index,gpu_name,clocks.sm,memory.used,temperature.gpu").unwrap();
    assert_eq!(
        q.header(QueryFormat { header: true, units: true }).unwrap(),
        "index, name, clocks.current.sm [MHz], memory.used [MiB], temperature.gpu"
    );
    let q = Query::parse(QueryKind::ComputeApps, "pid,process_name,used_memory,gpu_uuid").unwrap();
    assert_eq!(
        q.header(QueryFormat { header: true, units: false }).unwrap(),
        "pid, process_name, used_gpu_memory [MiB], gpu_uuid"
    );
}

#[test]
fn each_clock_event_reason_is_active_or_not() {
    let mut s = crate::source::SimSource::new(crate::scenario::Scenario::demo(1), &[])
        .unwrap()
        .sample_at(0.0);
    // SW power cap (0x4) and HW thermal slowdown (0x40).
    s.gpus[0].throttle.mask = Some(0x44);
    let q = Query::gpus(
        "clocks_event_reasons.sw_power_cap,clocks_throttle_reasons.hw_thermal_slowdown,\
         clocks_event_reasons.gpu_idle,clocks_event_reasons.active",
    )
    .unwrap();
    let format = QueryFormat { header: false, units: true };
    assert_eq!(q.rows(&s, format), ["Active, Active, Not Active, 0x0000000000000044"]);
    s.gpus[0].throttle.mask = None;
    assert_eq!(q.rows(&s, format), ["[N/A], [N/A], [N/A], [N/A]"]);
}

#[test]
fn a_refused_value_reads_nvml_s_reason_under_its_key() {
    use crate::sample::Missing;
    let mut s = crate::source::SimSource::new(crate::scenario::Scenario::demo(1), &[])
        .unwrap()
        .sample_at(0.0);
    s.gpus[0].details = None;
    s.gpus[0].memory.used_bytes = None;
    let why = |reason| Missing { reason, nvml_code: None };
    s.gpus[0].missing.insert(FieldKey::Serial, why(MissingReason::NoPermission));
    s.gpus[0].missing.insert(FieldKey::Memory, why(MissingReason::GpuLost));
    s.gpus[0].missing.insert(FieldKey::PowerManagement, why(MissingReason::NotSupported));
    let q = Query::gpus("serial,memory.used,power.management,vbios_version").unwrap();
    assert_eq!(
        q.rows(&s, QueryFormat { header: false, units: true }),
        ["[Insufficient Permissions], [GPU is lost], [Not Supported], [N/A]"]
    );
}

#[test]
fn only_queries_that_name_a_detail_read_the_details() {
    assert!(!needs_details("index,name,memory.used,clocks_event_reasons.active"));
    assert!(needs_details("index,gpu_serial"));
    assert!(needs_details("pcie.link.gen.current"));
    assert!(!needs_details("index,bogus,serial"), "an invalid query samples nothing");
}

#[test]
fn unknown_fields_are_named_in_the_error() {
    let err = Query::gpus("index,bogus").err().unwrap().to_string();
    assert_eq!(err, "Field \"bogus\" is not a valid field to query.");
}
