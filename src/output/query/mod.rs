//! nvidia-smi's `--query-gpu=…` / `--query-compute-apps=…` with `--format=csv[,noheader][,nounits]`,
//! byte for byte, so scripts written for nvidia-smi keep working.
//!
//! Field names are nvidia-smi's (aliases included); headers use the canonical name and the unit
//! in brackets; values the unit after a space unless `nounits`; an unavailable value is `[N/A]`.
//! Like nvidia-smi, fields are separated by ", " and not quoted; control characters in names
//! are escaped (nvidia-smi prints them raw, which no script relies on).

use std::str::FromStr;

use chrono::Local;

use crate::sample::{
    ComputeMode, Details, GpuProcess, GpuSample, GpuStatus, MissingReason, RetiredPage,
    RetirementCause, Snapshot,
};
use crate::text::sanitize::sanitize;
use crate::text::units::mib;

const NOT_AVAILABLE: &str = "[N/A]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryFormat {
    pub header: bool,
    pub units: bool,
}

/// nvidia-smi's default: `csv`, with the header and the units.
impl Default for QueryFormat {
    fn default() -> Self {
        Self { header: true, units: true }
    }
}

impl FromStr for QueryFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut format = QueryFormat { header: true, units: true };
        let mut csv = false;
        for opt in s.split(',').map(str::trim) {
            match opt {
                "csv" => csv = true,
                "noheader" => format.header = false,
                "nounits" => format.units = false,
                other => {
                    return Err(format!(
                        "unknown --format option `{other}` (expected csv, noheader, nounits)"
                    ))
                }
            }
        }
        if !csv {
            return Err("--format must include `csv`".into());
        }
        Ok(format)
    }
}

/// One queryable field: the canonical name nvidia-smi prints, its unit, and how to read it.
struct Field<T> {
    names: &'static [&'static str],
    unit: Option<&'static str>,
    value: fn(&T, &Snapshot) -> Option<String>,
}

impl<T> Field<T> {
    fn canonical(&self) -> &'static str {
        self.names[0]
    }
}

fn n<V: ToString>(v: Option<V>) -> Option<String> {
    v.map(|v| v.to_string())
}

fn yes_no(v: Option<bool>) -> Option<String> {
    v.map(|on| if on { "Yes" } else { "No" }.to_string())
}

/// A capability as nvidia-smi's `-q` words it.
fn supported(v: Option<bool>) -> Option<String> {
    v.map(|on| if on { "Supported" } else { "Not Supported" }.to_string())
}

fn enabled(v: Option<bool>) -> Option<String> {
    v.map(|on| if on { "Enabled" } else { "Disabled" }.to_string())
}

/// One clock event (throttle) reason as nvidia-smi words it: `Active` or `Not Active`.
fn reason(g: &GpuSample, bit: u64) -> Option<String> {
    g.throttle.mask.map(|m| if m & bit != 0 { "Active" } else { "Not Active" }.to_string())
}

/// The sample's time as nvidia-smi prints it: `YYYY/MM/DD HH:MM:SS.msec`, local.
fn timestamp(s: &Snapshot) -> Option<String> {
    Some(s.taken_at.with_timezone(&Local).format("%Y/%m/%d %H:%M:%S%.3f").to_string())
}

fn serial(g: &GpuSample) -> Option<String> {
    detail(g, |d| d.serial.clone())
}

fn watts(v: Option<f64>) -> Option<String> {
    v.map(|w| format!("{w:.2}"))
}

/// `ecc.errors.corrected.volatile.dram` and its 31 siblings: one counter of one location.
macro_rules! ecc_location {
    ($name:literal, $location:ident, $counter:ident) => {
        Field {
            names: &[$name],
            unit: None,
            value: |g, _| detail(g, |d| n(d.ecc_locations.$location.$counter)),
        }
    };
}

const GPU_FIELDS: &[Field<GpuSample>] = &[
    Field { names: &["timestamp"], unit: None, value: |_, s| timestamp(s) },
    Field { names: &["driver_version"], unit: None, value: |_, s| s.host.driver_version.clone() },
    Field { names: &["count"], unit: None, value: |_, s| Some(s.gpus.len().to_string()) },
    Field {
        names: &["hostname"],
        unit: None,
        value: |g, s| g.host.clone().or_else(|| s.host.hostname.clone()),
    },
    Field { names: &["name", "gpu_name"], unit: None, value: |g, _| g.name.clone() },
    Field { names: &["index"], unit: None, value: |g, _| Some(g.index.to_string()) },
    Field { names: &["uuid", "gpu_uuid"], unit: None, value: |g, _| g.uuid.clone() },
    Field { names: &["pci.bus_id", "gpu_bus_id"], unit: None, value: |g, _| g.pci_bus_id.clone() },
    Field { names: &["persistence_mode"], unit: None, value: |g, _| enabled(g.persistence_mode) },
    Field {
        names: &["pstate"],
        unit: None,
        value: |g, _| g.performance_state.map(|p| format!("P{p}")),
    },
    Field { names: &["fan.speed"], unit: Some("%"), value: |g, _| n(g.fan_percent) },
    Field {
        names: &["memory.total"],
        unit: Some("MiB"),
        value: |g, _| n(g.memory.total_bytes.map(mib)),
    },
    Field {
        names: &["memory.reserved"],
        unit: Some("MiB"),
        value: |g, _| n(g.memory.reserved_bytes.map(mib)),
    },
    Field {
        names: &["memory.used"],
        unit: Some("MiB"),
        value: |g, _| n(g.memory.used_bytes.map(mib)),
    },
    Field {
        names: &["memory.free"],
        unit: Some("MiB"),
        value: |g, _| n(g.memory.free_bytes.map(mib)),
    },
    Field {
        names: &["utilization.gpu"],
        unit: Some("%"),
        value: |g, _| n(g.utilization.gpu_percent),
    },
    Field {
        names: &["utilization.memory"],
        unit: Some("%"),
        value: |g, _| n(g.utilization.memory_percent),
    },
    Field {
        names: &["utilization.encoder"],
        unit: Some("%"),
        value: |g, _| n(g.utilization.encoder_percent),
    },
    Field {
        names: &["utilization.decoder"],
        unit: Some("%"),
        value: |g, _| n(g.utilization.decoder_percent),
    },
    Field { names: &["temperature.gpu"], unit: None, value: |g, _| n(g.temperature.gpu_celsius) },
    Field { names: &["power.draw"], unit: Some("W"), value: |g, _| watts(g.power.draw_watts) },
    Field {
        names: &["power.limit"],
        unit: Some("W"),
        value: |g, _| watts(g.power.management_limit_watts),
    },
    Field {
        names: &["enforced.power.limit"],
        unit: Some("W"),
        value: |g, _| watts(g.power.limit_watts),
    },
    Field {
        names: &["clocks.current.sm", "clocks.sm"],
        unit: Some("MHz"),
        value: |g, _| n(g.clocks.sm_mhz),
    },
    Field {
        names: &["clocks.current.memory", "clocks.mem"],
        unit: Some("MHz"),
        value: |g, _| n(g.clocks.memory_mhz),
    },
    Field { names: &["clocks.max.sm"], unit: Some("MHz"), value: |g, _| n(g.clocks.sm_max_mhz) },
    Field {
        names: &["clocks.max.memory", "clocks.max.mem"],
        unit: Some("MHz"),
        value: |g, _| n(g.clocks.memory_max_mhz),
    },
    Field {
        names: &["clocks_throttle_reasons.active", "clocks_event_reasons.active"],
        unit: None,
        value: |g, _| g.throttle.mask.map(|m| format!("0x{m:016X}")),
    },
    Field {
        names: &["clocks_throttle_reasons.gpu_idle", "clocks_event_reasons.gpu_idle"],
        unit: None,
        value: |g, _| reason(g, 0x1),
    },
    Field {
        names: &[
            "clocks_throttle_reasons.applications_clocks_setting",
            "clocks_event_reasons.applications_clocks_setting",
        ],
        unit: None,
        value: |g, _| reason(g, 0x2),
    },
    Field {
        names: &["clocks_throttle_reasons.sw_power_cap", "clocks_event_reasons.sw_power_cap"],
        unit: None,
        value: |g, _| reason(g, 0x4),
    },
    Field {
        names: &["clocks_throttle_reasons.hw_slowdown", "clocks_event_reasons.hw_slowdown"],
        unit: None,
        value: |g, _| reason(g, 0x8),
    },
    Field {
        names: &["clocks_throttle_reasons.sync_boost", "clocks_event_reasons.sync_boost"],
        unit: None,
        value: |g, _| reason(g, 0x10),
    },
    Field {
        names: &[
            "clocks_throttle_reasons.sw_thermal_slowdown",
            "clocks_event_reasons.sw_thermal_slowdown",
        ],
        unit: None,
        value: |g, _| reason(g, 0x20),
    },
    Field {
        names: &[
            "clocks_throttle_reasons.hw_thermal_slowdown",
            "clocks_event_reasons.hw_thermal_slowdown",
        ],
        unit: None,
        value: |g, _| reason(g, 0x40),
    },
    Field {
        names: &[
            "clocks_throttle_reasons.hw_power_brake_slowdown",
            "clocks_event_reasons.hw_power_brake_slowdown",
        ],
        unit: None,
        value: |g, _| reason(g, 0x80),
    },
    Field {
        names: &["ecc.errors.corrected.volatile.total"],
        unit: None,
        value: |g, _| n(g.ecc.corrected),
    },
    Field {
        names: &["ecc.errors.uncorrected.volatile.total"],
        unit: None,
        value: |g, _| n(g.ecc.uncorrected),
    },
    Field { names: &["mig.mode.current"], unit: None, value: |g, _| enabled(g.mig_enabled) },
    // Read only when asked for (`needs_details`).
    Field { names: &["serial", "gpu_serial"], unit: None, value: |g, _| serial(g) },
    Field {
        names: &["vbios_version"],
        unit: None,
        value: |g, _| detail(g, |d| d.vbios_version.clone()),
    },
    Field {
        names: &["compute_mode"],
        unit: None,
        value: |g, _| {
            detail(g, |d| {
                d.compute_mode.map(|m| {
                    match m {
                        ComputeMode::Default => "Default",
                        ComputeMode::ExclusiveThread => "Exclusive_Thread",
                        ComputeMode::Prohibited => "Prohibited",
                        ComputeMode::ExclusiveProcess => "Exclusive_Process",
                    }
                    .to_string()
                })
            })
        },
    },
    Field {
        names: &["display_mode", "display_attached"],
        unit: None,
        value: |g, _| detail(g, |d| enabled(d.display_attached)),
    },
    Field {
        names: &["display_active"],
        unit: None,
        value: |g, _| detail(g, |d| enabled(d.display_active)),
    },
    Field {
        names: &["accounting.mode"],
        unit: None,
        value: |g, _| detail(g, |d| enabled(d.accounting_mode)),
    },
    Field {
        names: &["ecc.mode.current"],
        unit: None,
        value: |g, _| detail(g, |d| enabled(d.ecc_mode_current)),
    },
    Field {
        names: &["ecc.mode.pending"],
        unit: None,
        value: |g, _| detail(g, |d| enabled(d.ecc_mode_pending)),
    },
    Field {
        names: &["pcie.link.gen.current", "pcie.link.gen.gpucurrent"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.pcie_link_gen_current)),
    },
    Field {
        names: &["pcie.link.gen.max"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.pcie_link_gen_max)),
    },
    Field {
        names: &["pcie.link.width.current"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.pcie_link_width_current)),
    },
    Field {
        names: &["pcie.link.width.max"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.pcie_link_width_max)),
    },
    Field {
        names: &["clocks.current.graphics", "clocks.gr"],
        unit: Some("MHz"),
        value: |g, _| detail(g, |d| n(d.clock_graphics_mhz)),
    },
    Field {
        names: &["clocks.max.graphics", "clocks.max.gr"],
        unit: Some("MHz"),
        value: |g, _| detail(g, |d| n(d.clock_graphics_max_mhz)),
    },
    Field {
        names: &["power.default_limit"],
        unit: Some("W"),
        value: |g, _| detail(g, |d| watts(d.power_default_limit_watts)),
    },
    Field {
        names: &["power.min_limit"],
        unit: Some("W"),
        value: |g, _| detail(g, |d| watts(d.power_min_limit_watts)),
    },
    Field {
        names: &["power.max_limit"],
        unit: Some("W"),
        value: |g, _| detail(g, |d| watts(d.power_max_limit_watts)),
    },
    Field {
        names: &["ecc.errors.corrected.aggregate.total"],
        unit: None,
        value: |g, _| detail(g, |d| d.ecc_aggregate_corrected.map(|v| v.to_string())),
    },
    Field {
        names: &["ecc.errors.uncorrected.aggregate.total"],
        unit: None,
        value: |g, _| detail(g, |d| d.ecc_aggregate_uncorrected.map(|v| v.to_string())),
    },
    Field {
        names: &["retired_pages.pending"],
        unit: None,
        value: |g, _| detail(g, |d| yes_no(d.retired_pages_pending)),
    },
    Field {
        names: &["retired_pages.single_bit_ecc.count", "retired_pages.sbe"],
        unit: None,
        value: |g, _| detail(g, |d| retired_count(d, RetirementCause::MultipleSingleBitEcc)),
    },
    Field {
        names: &["retired_pages.double_bit.count", "retired_pages.dbe"],
        unit: None,
        value: |g, _| detail(g, |d| retired_count(d, RetirementCause::DoubleBitEcc)),
    },
    Field {
        names: &["remapped_rows.correctable"],
        unit: None,
        value: |g, _| detail(g, |d| d.remapped_rows.map(|r| r.correctable.to_string())),
    },
    Field {
        names: &["remapped_rows.uncorrectable"],
        unit: None,
        value: |g, _| detail(g, |d| d.remapped_rows.map(|r| r.uncorrectable.to_string())),
    },
    Field {
        names: &["remapped_rows.pending"],
        unit: None,
        value: |g, _| detail(g, |d| yes_no(d.remapped_rows.map(|r| r.pending))),
    },
    Field {
        names: &["remapped_rows.failure"],
        unit: None,
        value: |g, _| detail(g, |d| yes_no(d.remapped_rows.map(|r| r.failed))),
    },
    Field {
        names: &["pci.domain"],
        unit: None,
        value: |g, _| detail(g, |d| d.pci.map(|p| format!("0x{:04X}", p.domain))),
    },
    Field {
        names: &["pci.bus"],
        unit: None,
        value: |g, _| detail(g, |d| d.pci.map(|p| format!("0x{:02X}", p.bus))),
    },
    Field {
        names: &["pci.device"],
        unit: None,
        value: |g, _| detail(g, |d| d.pci.map(|p| format!("0x{:02X}", p.device))),
    },
    Field {
        names: &["pci.device_id"],
        unit: None,
        value: |g, _| detail(g, |d| d.pci.map(|p| format!("0x{:08X}", p.device_id))),
    },
    Field {
        names: &["pci.sub_device_id"],
        unit: None,
        value: |g, _| {
            detail(g, |d| d.pci.and_then(|p| p.sub_device_id).map(|id| format!("0x{id:08X}")))
        },
    },
    Field {
        names: &["mig.mode.pending"],
        unit: None,
        value: |g, _| detail(g, |d| enabled(d.mig_mode_pending)),
    },
    Field {
        names: &["compute_cap"],
        unit: None,
        value: |g, _| detail(g, |d| d.compute_capability.clone()),
    },
    Field {
        names: &["clocks.current.video", "clocks.video"],
        unit: Some("MHz"),
        value: |g, _| detail(g, |d| n(d.clock_video_mhz)),
    },
    Field {
        names: &["clocks.applications.graphics", "clocks.applications.gr"],
        unit: Some("MHz"),
        value: |g, _| detail(g, |d| n(d.applications_clocks_mhz.map(|c| c.0))),
    },
    Field {
        names: &["clocks.applications.memory", "clocks.applications.mem"],
        unit: Some("MHz"),
        value: |g, _| detail(g, |d| n(d.applications_clocks_mhz.map(|c| c.1))),
    },
    Field {
        names: &["clocks.default_applications.graphics", "clocks.default_applications.gr"],
        unit: Some("MHz"),
        value: |g, _| detail(g, |d| n(d.default_applications_clocks_mhz.map(|c| c.0))),
    },
    Field {
        names: &["clocks.default_applications.memory", "clocks.default_applications.mem"],
        unit: Some("MHz"),
        value: |g, _| detail(g, |d| n(d.default_applications_clocks_mhz.map(|c| c.1))),
    },
    Field {
        names: &["encoder.stats.sessionCount"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.encoder_sessions.map(|e| e.0))),
    },
    Field {
        names: &["encoder.stats.averageFps"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.encoder_sessions.map(|e| e.1))),
    },
    Field {
        names: &["encoder.stats.averageLatency"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.encoder_sessions.map(|e| e.2))),
    },
    Field {
        names: &["clocks_throttle_reasons.supported", "clocks_event_reasons.supported"],
        unit: None,
        value: |g, _| detail(g, |d| d.throttle_supported_mask.map(|m| format!("0x{m:016X}"))),
    },
    Field {
        names: &["fabric.state"],
        unit: None,
        value: |g, _| detail(g, |d| d.fabric.as_ref().map(|f| f.state.clone())),
    },
    Field {
        names: &["fabric.status"],
        unit: None,
        value: |g, _| detail(g, |d| d.fabric.as_ref().map(|f| f.status.clone())),
    },
    Field {
        names: &["fabric.cliqueId"],
        unit: None,
        value: |g, _| detail(g, |d| d.fabric.as_ref().map(|f| f.clique_id.to_string())),
    },
    Field {
        names: &["fabric.clusterUuid"],
        unit: None,
        value: |g, _| detail(g, |d| d.fabric.as_ref().map(|f| f.cluster_uuid.clone())),
    },
    Field {
        names: &["utilization.jpeg"],
        unit: Some("%"),
        value: |g, _| detail(g, |d| n(d.utilization_jpeg_percent)),
    },
    Field {
        names: &["utilization.ofa"],
        unit: Some("%"),
        value: |g, _| detail(g, |d| n(d.utilization_ofa_percent)),
    },
    Field {
        names: &["pcie.link.gen.gpumax"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.pcie_link_gen_gpu_max)),
    },
    Field {
        names: &["accounting.buffer_size"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.accounting_buffer_size)),
    },
    Field {
        names: &["inforom.img", "inforom.image"],
        unit: None,
        value: |g, _| detail(g, |d| d.inforom.image.clone()),
    },
    Field {
        names: &["inforom.oem"],
        unit: None,
        value: |g, _| detail(g, |d| d.inforom.oem.clone()),
    },
    Field {
        names: &["inforom.ecc"],
        unit: None,
        value: |g, _| detail(g, |d| d.inforom.ecc.clone()),
    },
    Field {
        names: &["inforom.pwr", "inforom.power"],
        unit: None,
        value: |g, _| detail(g, |d| d.inforom.power.clone()),
    },
    Field {
        names: &["inforom.checksum_validation"],
        unit: None,
        value: |g, _| {
            detail(g, |d| {
                d.inforom.checksum_valid.map(|ok| if ok { "Valid" } else { "Invalid" }.into())
            })
        },
    },
    Field {
        names: &["gom.current", "gpu_operation_mode.current"],
        unit: None,
        value: |g, _| detail(g, |d| d.operation_mode.map(|m| m.0.label().to_string())),
    },
    Field {
        names: &["gom.pending", "gpu_operation_mode.pending"],
        unit: None,
        value: |g, _| detail(g, |d| d.operation_mode.map(|m| m.1.label().to_string())),
    },
    Field {
        names: &["temperature.memory"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.temperature_memory_celsius)),
    },
    Field {
        names: &["power.draw.average"],
        unit: Some("W"),
        value: |g, _| detail(g, |d| watts(d.power_average_watts)),
    },
    Field {
        names: &["power.draw.instant"],
        unit: Some("W"),
        value: |g, _| detail(g, |d| watts(d.power_instant_watts)),
    },
    Field {
        names: &["clocks_event_reasons_counters.sw_power_cap"],
        unit: Some("us"),
        value: |g, _| detail(g, |d| n(d.clock_event_counters_us.sw_power_cap)),
    },
    Field {
        names: &["clocks_event_reasons_counters.sync_boost"],
        unit: Some("us"),
        value: |g, _| detail(g, |d| n(d.clock_event_counters_us.sync_boost)),
    },
    Field {
        names: &["clocks_event_reasons_counters.sw_thermal_slowdown"],
        unit: Some("us"),
        value: |g, _| detail(g, |d| n(d.clock_event_counters_us.sw_thermal_slowdown)),
    },
    Field {
        names: &["clocks_event_reasons_counters.hw_thermal_slowdown"],
        unit: Some("us"),
        value: |g, _| detail(g, |d| n(d.clock_event_counters_us.hw_thermal_slowdown)),
    },
    Field {
        names: &["clocks_event_reasons_counters.hw_power_brake_slowdown"],
        unit: Some("us"),
        value: |g, _| detail(g, |d| n(d.clock_event_counters_us.hw_power_brake_slowdown)),
    },
    ecc_location!("ecc.errors.corrected.volatile.device_memory", dram, corrected_volatile),
    ecc_location!("ecc.errors.corrected.volatile.dram", dram, corrected_volatile),
    ecc_location!("ecc.errors.corrected.volatile.register_file", register_file, corrected_volatile),
    ecc_location!("ecc.errors.corrected.volatile.l1_cache", l1_cache, corrected_volatile),
    ecc_location!("ecc.errors.corrected.volatile.l2_cache", l2_cache, corrected_volatile),
    ecc_location!(
        "ecc.errors.corrected.volatile.texture_memory",
        texture_memory,
        corrected_volatile
    ),
    ecc_location!("ecc.errors.corrected.volatile.cbu", cbu, corrected_volatile),
    ecc_location!("ecc.errors.corrected.volatile.sram", sram, corrected_volatile),
    ecc_location!("ecc.errors.corrected.aggregate.device_memory", dram, corrected_aggregate),
    ecc_location!("ecc.errors.corrected.aggregate.dram", dram, corrected_aggregate),
    ecc_location!(
        "ecc.errors.corrected.aggregate.register_file",
        register_file,
        corrected_aggregate
    ),
    ecc_location!("ecc.errors.corrected.aggregate.l1_cache", l1_cache, corrected_aggregate),
    ecc_location!("ecc.errors.corrected.aggregate.l2_cache", l2_cache, corrected_aggregate),
    ecc_location!(
        "ecc.errors.corrected.aggregate.texture_memory",
        texture_memory,
        corrected_aggregate
    ),
    ecc_location!("ecc.errors.corrected.aggregate.cbu", cbu, corrected_aggregate),
    ecc_location!("ecc.errors.corrected.aggregate.sram", sram, corrected_aggregate),
    ecc_location!("ecc.errors.uncorrected.volatile.device_memory", dram, uncorrected_volatile),
    ecc_location!("ecc.errors.uncorrected.volatile.dram", dram, uncorrected_volatile),
    ecc_location!(
        "ecc.errors.uncorrected.volatile.register_file",
        register_file,
        uncorrected_volatile
    ),
    ecc_location!("ecc.errors.uncorrected.volatile.l1_cache", l1_cache, uncorrected_volatile),
    ecc_location!("ecc.errors.uncorrected.volatile.l2_cache", l2_cache, uncorrected_volatile),
    ecc_location!(
        "ecc.errors.uncorrected.volatile.texture_memory",
        texture_memory,
        uncorrected_volatile
    ),
    ecc_location!("ecc.errors.uncorrected.volatile.cbu", cbu, uncorrected_volatile),
    ecc_location!("ecc.errors.uncorrected.volatile.sram", sram, uncorrected_volatile),
    ecc_location!("ecc.errors.uncorrected.aggregate.device_memory", dram, uncorrected_aggregate),
    ecc_location!("ecc.errors.uncorrected.aggregate.dram", dram, uncorrected_aggregate),
    ecc_location!(
        "ecc.errors.uncorrected.aggregate.register_file",
        register_file,
        uncorrected_aggregate
    ),
    ecc_location!("ecc.errors.uncorrected.aggregate.l1_cache", l1_cache, uncorrected_aggregate),
    ecc_location!("ecc.errors.uncorrected.aggregate.l2_cache", l2_cache, uncorrected_aggregate),
    ecc_location!(
        "ecc.errors.uncorrected.aggregate.texture_memory",
        texture_memory,
        uncorrected_aggregate
    ),
    ecc_location!("ecc.errors.uncorrected.aggregate.cbu", cbu, uncorrected_aggregate),
    ecc_location!("ecc.errors.uncorrected.aggregate.sram", sram, uncorrected_aggregate),
    Field {
        names: &["temperature.gpu.tlimit"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.temperature_margin_celsius)),
    },
    Field {
        names: &["pcie.link.gen.hostmax"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.pcie_link_gen_host_max)),
    },
    Field {
        names: &["pci.baseClass"],
        unit: None,
        value: |g, _| detail(g, |d| d.pci_class.map(|c| format!("0x{:X}", c.0))),
    },
    Field {
        names: &["pci.subClass"],
        unit: None,
        value: |g, _| detail(g, |d| d.pci_class.map(|c| format!("0x{:X}", c.1))),
    },
    Field {
        names: &["power.management"],
        unit: None,
        // nvidia-smi's list: "Either "Supported" or "[Not Supported]"".
        value: |g, _| {
            detail(g, |d| {
                d.power_management.map(|on| if on { "Supported" } else { "[Not Supported]" }.into())
            })
        },
    },
    Field {
        names: &["addressing_mode"],
        unit: None,
        value: |g, _| detail(g, |d| d.addressing_mode.map(|m| m.label().to_string())),
    },
    Field {
        names: &["dramEncryption.mode.current"],
        unit: None,
        value: |g, _| detail(g, |d| enabled(d.dram_encryption.map(|e| e.0))),
    },
    Field {
        names: &["dramEncryption.mode.pending"],
        unit: None,
        value: |g, _| detail(g, |d| enabled(d.dram_encryption.map(|e| e.1))),
    },
    Field {
        names: &["gsp.mode.current"],
        unit: None,
        value: |g, _| detail(g, |d| enabled(d.gsp_firmware.map(|m| m.0))),
    },
    Field {
        names: &["gsp.mode.default"],
        unit: None,
        value: |g, _| detail(g, |d| enabled(d.gsp_firmware.map(|m| m.1))),
    },
    Field { names: &["c2c.mode"], unit: None, value: |g, _| detail(g, |d| enabled(d.c2c_enabled)) },
    Field {
        names: &["protected_memory.total"],
        unit: Some("MiB"),
        value: |g, _| detail(g, |d| n(d.protected_memory_bytes.map(|m| mib(m.0)))),
    },
    Field {
        names: &["protected_memory.used"],
        unit: Some("MiB"),
        value: |g, _| detail(g, |d| n(d.protected_memory_bytes.map(|m| mib(m.1)))),
    },
    Field {
        names: &["protected_memory.free"],
        unit: Some("MiB"),
        value: |g, _| {
            detail(g, |d| n(d.protected_memory_bytes.map(|m| mib(m.0.saturating_sub(m.1)))))
        },
    },
    Field {
        names: &["gpu_recovery_action"],
        unit: None,
        value: |g, _| detail(g, |d| d.recovery_action.map(|a| a.label().to_string())),
    },
    Field {
        names: &["kmd_version"],
        unit: None,
        value: |g, _| detail(g, |d| d.kmd_version.clone()),
    },
    Field {
        names: &["module.power.draw.average"],
        unit: Some("W"),
        value: |g, _| detail(g, |d| watts(d.module_power.and_then(|m| m.draw_average_watts))),
    },
    Field {
        names: &["module.power.draw.instant"],
        unit: Some("W"),
        value: |g, _| detail(g, |d| watts(d.module_power.and_then(|m| m.draw_instant_watts))),
    },
    Field {
        names: &["module.power.limit"],
        unit: Some("W"),
        value: |g, _| detail(g, |d| watts(d.module_power.and_then(|m| m.limit_watts))),
    },
    Field {
        names: &["module.enforced.power.limit"],
        unit: Some("W"),
        value: |g, _| detail(g, |d| watts(d.module_power.and_then(|m| m.enforced_limit_watts))),
    },
    Field {
        names: &["module.power.default_limit"],
        unit: Some("W"),
        value: |g, _| detail(g, |d| watts(d.module_power.and_then(|m| m.default_limit_watts))),
    },
    Field {
        names: &["module.power.min_limit"],
        unit: Some("W"),
        value: |g, _| detail(g, |d| watts(d.module_power.and_then(|m| m.min_limit_watts))),
    },
    Field {
        names: &["module.power.max_limit"],
        unit: Some("W"),
        value: |g, _| detail(g, |d| watts(d.module_power.and_then(|m| m.max_limit_watts))),
    },
    Field {
        names: &["reset_status.reset_required"],
        unit: None,
        value: |g, _| detail(g, |d| yes_no(d.reset_required)),
    },
    Field {
        names: &["reset_status.drain_and_reset_recommended"],
        unit: None,
        value: |g, _| detail(g, |d| yes_no(d.drain_and_reset_recommended)),
    },
    Field {
        names: &["vgpu_driver_capability.heterogenous_multivGPU"],
        unit: None,
        value: |g, _| detail(g, |d| supported(d.vgpu_heterogeneous_multi_vgpu)),
    },
    Field {
        names: &["vgpu_device_capability.fractional_multiVgpu"],
        unit: None,
        value: |g, _| {
            detail(g, |d| supported(d.vgpu_capabilities.map(|c| c.fractional_multi_vgpu)))
        },
    },
    Field {
        names: &["vgpu_device_capability.heterogeneous_timeSlice_profile"],
        unit: None,
        value: |g, _| {
            detail(g, |d| {
                supported(d.vgpu_capabilities.map(|c| c.heterogeneous_timeslice_profiles))
            })
        },
    },
    Field {
        names: &["vgpu_device_capability.heterogeneous_timeSlice_sizes"],
        unit: None,
        value: |g, _| {
            detail(g, |d| supported(d.vgpu_capabilities.map(|c| c.heterogeneous_timeslice_sizes)))
        },
    },
    Field {
        names: &["platform.chassis_serial_number"],
        unit: None,
        value: |g, _| detail(g, |d| d.platform.as_ref().map(|p| p.chassis_serial_number.clone())),
    },
    Field {
        names: &["platform.slot_number"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.platform.as_ref().map(|p| p.slot_number))),
    },
    Field {
        names: &["platform.tray_index"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.platform.as_ref().map(|p| p.tray_index))),
    },
    Field {
        names: &["platform.host_id"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.platform.as_ref().map(|p| p.host_id))),
    },
    Field {
        names: &["platform.peer_type"],
        unit: None,
        value: |g, _| detail(g, |d| n(d.platform.as_ref().map(|p| p.peer_type))),
    },
    // The rack's module id where the platform says, else the board's.
    Field {
        names: &["platform.module_id"],
        unit: None,
        value: |g, _| {
            detail(g, |d| n(d.platform.as_ref().map(|p| u32::from(p.module_id)).or(d.module_id)))
        },
    },
    Field {
        names: &["platform.gpu_fabric_guid"],
        unit: None,
        value: |g, _| detail(g, |d| d.platform.as_ref().map(|p| p.fabric_guid.clone())),
    },
    // Windows' driver model: nvidia-smi prints [N/A] for it on Linux.
    Field { names: &["driver_model.current"], unit: None, value: |_, _| None },
    Field { names: &["driver_model.pending"], unit: None, value: |_, _| None },
];

/// The first of [`GPU_FIELDS`] that are read only when asked for (they are last).
const FIRST_DETAIL: &str = "serial";

/// Whether a `--query-gpu` list names a property of [`Details`] (each costs an NVML call
/// per GPU, so the sampler reads them only then).
pub fn needs_details(spec: &str) -> bool {
    let first = GPU_FIELDS.iter().position(|f| f.canonical() == FIRST_DETAIL);
    let details = &GPU_FIELDS[first.unwrap_or(GPU_FIELDS.len())..];
    Query::gpus(spec).is_ok_and(|q| match q.0 {
        Fields::Gpus(fields) => {
            fields.iter().any(|f| details.iter().any(|d| d.canonical() == f.canonical()))
        }
        _ => false,
    })
}

fn detail(g: &GpuSample, value: impl Fn(&Details) -> Option<String>) -> Option<String> {
    g.details.as_deref().and_then(value)
}

fn retired_count(d: &Details, cause: RetirementCause) -> Option<String> {
    let pages = d.retired_pages.as_ref()?;
    Some(pages.iter().filter(|p| p.cause == cause).count().to_string())
}

/// A compute app, by position in the snapshot (the field table is `'static`, rows are not).
/// `process` is `None` on the one row of a GPU whose processes NVML could not list: its
/// process fields read `[N/A]`, so "unknown" never looks like "no processes".
pub struct AppRow {
    gpu: usize,
    process: Option<usize>,
}

impl AppRow {
    fn gpu<'s>(&self, s: &'s Snapshot) -> &'s GpuSample {
        &s.gpus[self.gpu]
    }
    fn process<'s>(&self, s: &'s Snapshot) -> Option<&'s GpuProcess> {
        s.gpus[self.gpu].processes.as_ref()?.get(self.process?)
    }
}

/// nvidia-smi shows the process's argv[0], which is what `ps` shows first too.
fn process_name(p: &GpuProcess) -> Option<String> {
    let argv0 = p.command.as_deref().and_then(|c| c.split(' ').next()).filter(|a| !a.is_empty());
    argv0.map(str::to_string).or_else(|| p.name.clone())
}

const APP_FIELDS: &[Field<AppRow>] = &[
    Field { names: &["timestamp"], unit: None, value: |_, s| timestamp(s) },
    Field { names: &["gpu_name"], unit: None, value: |a, s| a.gpu(s).name.clone() },
    Field { names: &["gpu_bus_id"], unit: None, value: |a, s| a.gpu(s).pci_bus_id.clone() },
    Field { names: &["gpu_uuid"], unit: None, value: |a, s| a.gpu(s).uuid.clone() },
    Field { names: &["pid"], unit: None, value: |a, s| a.process(s).map(|p| p.pid.to_string()) },
    Field {
        names: &["process_name", "name"],
        unit: None,
        value: |a, s| a.process(s).and_then(process_name),
    },
    Field {
        names: &["used_gpu_memory", "used_memory"],
        unit: Some("MiB"),
        value: |a, s| n(a.process(s).and_then(|p| p.gpu_memory_bytes).map(mib)),
    },
];

/// A retired page, by position in the snapshot; `page` is `None` on the one row of a GPU
/// whose retired pages NVML could not give (it does not retire pages, or refused).
pub struct PageRow {
    gpu: usize,
    page: Option<usize>,
}

impl PageRow {
    fn gpu<'s>(&self, s: &'s Snapshot) -> &'s GpuSample {
        &s.gpus[self.gpu]
    }
    fn page(&self, s: &Snapshot) -> Option<RetiredPage> {
        let pages = s.gpus[self.gpu].details.as_ref()?.retired_pages.as_ref()?;
        pages.get(self.page?).copied()
    }
}

const RETIRED_PAGE_FIELDS: &[Field<PageRow>] = &[
    Field { names: &["timestamp"], unit: None, value: |_, s| timestamp(s) },
    Field { names: &["gpu_name"], unit: None, value: |p, s| p.gpu(s).name.clone() },
    Field { names: &["gpu_bus_id"], unit: None, value: |p, s| p.gpu(s).pci_bus_id.clone() },
    Field { names: &["gpu_serial"], unit: None, value: |p, s| serial(p.gpu(s)) },
    Field { names: &["gpu_uuid"], unit: None, value: |p, s| p.gpu(s).uuid.clone() },
    Field {
        names: &["retired_pages.address", "retired_pages.addr"],
        unit: None,
        value: |p, s| p.page(s).map(|page| format!("0x{:016X}", page.address)),
    },
    Field {
        names: &["retired_pages.cause"],
        unit: None,
        value: |p, s| {
            p.page(s).map(|page| match page.cause {
                RetirementCause::MultipleSingleBitEcc => "Single Bit ECC".to_string(),
                RetirementCause::DoubleBitEcc => "Double Bit ECC".to_string(),
            })
        },
    },
];

/// `--query-remapped-rows`: a row per GPU. Pending and failure read 1 or 0 here, as nvidia-smi
/// prints them for this query (`--query-gpu` says Yes or No).
const REMAPPED_ROW_FIELDS: &[Field<GpuSample>] = &[
    Field { names: &["timestamp"], unit: None, value: |_, s| timestamp(s) },
    Field { names: &["gpu_name"], unit: None, value: |g, _| g.name.clone() },
    Field { names: &["gpu_bus_id"], unit: None, value: |g, _| g.pci_bus_id.clone() },
    Field { names: &["gpu_serial"], unit: None, value: |g, _| serial(g) },
    Field { names: &["gpu_uuid"], unit: None, value: |g, _| g.uuid.clone() },
    Field {
        names: &["remapped_rows.correctable"],
        unit: None,
        value: |g, _| detail(g, |d| d.remapped_rows.map(|r| r.correctable.to_string())),
    },
    Field {
        names: &["remapped_rows.uncorrectable"],
        unit: None,
        value: |g, _| detail(g, |d| d.remapped_rows.map(|r| r.uncorrectable.to_string())),
    },
    Field {
        names: &["remapped_rows.pending"],
        unit: None,
        value: |g, _| detail(g, |d| d.remapped_rows.map(|r| u8::from(r.pending).to_string())),
    },
    Field {
        names: &["remapped_rows.failure"],
        unit: None,
        value: |g, _| detail(g, |d| d.remapped_rows.map(|r| u8::from(r.failed).to_string())),
    },
];

/// What each property is, for `--help-query-gpu` and `--help-query-compute-apps`, by canonical
/// name (in gputop's words; the names and meanings are nvidia-smi's).
const DESCRIPTIONS: &[(&str, &str)] = &[
    ("timestamp", "When the query was made, as \"YYYY/MM/DD HH:MM:SS.msec\" in local time."),
    ("driver_version", "The version of the installed NVIDIA driver."),
    ("count", "How many NVIDIA GPUs the system has."),
    ("name", "The GPU's product name."),
    ("index", "The GPU's index, in NVML's (PCI bus) order, from 0."),
    ("uuid", "The GPU's globally unique, immutable identifier (GPU-…)."),
    ("pci.bus_id", "The PCI bus id as \"domain:bus:device.function\", in hex."),
    (
        "persistence_mode",
        "Whether persistence mode keeps the driver loaded with no client: Enabled or Disabled.",
    ),
    ("pstate", "The performance state, from P0 (maximum performance) to P12 (minimum)."),
    ("fan.speed", "The fan speed the device asks for, in percent of its maximum."),
    ("memory.total", "Total memory on the GPU."),
    ("memory.reserved", "Memory the driver and firmware reserve."),
    ("memory.used", "Memory allocated by active contexts."),
    ("memory.free", "Memory neither reserved nor allocated."),
    ("utilization.gpu", "Percent of the last sample period in which a kernel ran on the GPU."),
    (
        "utilization.memory",
        "Percent of the last sample period in which device memory was read or written.",
    ),
    ("utilization.encoder", "Percent of time the video encoder was busy."),
    ("utilization.decoder", "Percent of time the video decoder was busy."),
    ("temperature.gpu", "The core GPU temperature, in degrees C."),
    ("power.draw", "The power the board draws now, in watts."),
    ("power.limit", "The power management limit set on the GPU, in watts."),
    ("enforced.power.limit", "The power limit in force: the lowest of all limits, in watts."),
    ("clocks.current.sm", "The current streaming multiprocessor clock."),
    ("clocks.current.memory", "The current memory clock."),
    ("clocks.max.sm", "The maximum streaming multiprocessor clock."),
    ("clocks.max.memory", "The maximum memory clock."),
    (
        "clocks_throttle_reasons.active",
        "The bit mask of the reasons clocks are held down now, in hex.",
    ),
    (
        "clocks_throttle_reasons.gpu_idle",
        "Nothing runs on the GPU, so clocks are low: Active or Not Active.",
    ),
    (
        "clocks_throttle_reasons.applications_clocks_setting",
        "Clocks are limited by the applications clocks setting: Active or Not Active.",
    ),
    (
        "clocks_throttle_reasons.sw_power_cap",
        "Clocks are lowered to keep power under the limit: Active or Not Active.",
    ),
    (
        "clocks_throttle_reasons.hw_slowdown",
        "Hardware slowdown (temperature, power brake or power supply): Active or Not Active.",
    ),
    (
        "clocks_throttle_reasons.sync_boost",
        "Clocks follow other GPUs in a sync boost group: Active or Not Active.",
    ),
    (
        "clocks_throttle_reasons.sw_thermal_slowdown",
        "Clocks are lowered to keep the GPU under its temperature target: Active or Not Active.",
    ),
    (
        "clocks_throttle_reasons.hw_thermal_slowdown",
        "Hardware slowdown because the GPU is too hot: Active or Not Active.",
    ),
    (
        "clocks_throttle_reasons.hw_power_brake_slowdown",
        "Hardware slowdown by an external power brake: Active or Not Active.",
    ),
    ("ecc.errors.corrected.volatile.total", "Corrected ECC errors since the driver was loaded."),
    (
        "ecc.errors.uncorrected.volatile.total",
        "Uncorrected ECC errors since the driver was loaded.",
    ),
    ("mig.mode.current", "Whether MIG mode is on: Enabled or Disabled."),
    ("serial", "The serial number printed on the board (datacenter boards; GeForce boards have none)."),
    ("vbios_version", "The BIOS of the GPU board."),
    ("compute_mode", "Who may create contexts: Default, Exclusive_Process or Prohibited."),
    ("display_mode", "Whether a display is attached to one of the GPU's connectors: Enabled or Disabled."),
    ("display_active", "Whether a display is initialized on the GPU, with or without a monitor: Enabled or Disabled."),
    ("accounting.mode", "Whether per-process accounting is on: Enabled or Disabled."),
    ("ecc.mode.current", "Whether ECC is on now: Enabled or Disabled."),
    ("ecc.mode.pending", "What ECC will be after the next reboot: Enabled or Disabled."),
    ("pcie.link.gen.current", "The PCIe link generation now; it drops when the GPU is idle."),
    ("pcie.link.gen.max", "The highest PCIe link generation of the GPU and its slot."),
    ("pcie.link.width.current", "The PCIe link width now, in lanes."),
    ("pcie.link.width.max", "The widest PCIe link of the GPU and its slot, in lanes."),
    ("clocks.current.graphics", "The current graphics clock."),
    ("clocks.max.graphics", "The maximum graphics clock."),
    ("power.default_limit", "The power management limit the GPU starts with, in watts."),
    ("power.min_limit", "The lowest power management limit that can be set, in watts."),
    ("power.max_limit", "The highest power management limit that can be set, in watts."),
    ("ecc.errors.corrected.aggregate.total", "Corrected ECC errors over the board's lifetime."),
    ("ecc.errors.uncorrected.aggregate.total", "Uncorrected ECC errors over the board's lifetime."),
    ("retired_pages.pending", "Whether pages wait to be retired at the next reboot: Yes or No."),
    ("retired_pages.single_bit_ecc.count", "Pages retired after multiple single-bit ECC errors."),
    ("retired_pages.double_bit.count", "Pages retired after a double-bit ECC error."),
    ("gpu_serial", "The serial number of the GPU's board."),
    ("retired_pages.address", "The retired page's address, in hex."),
    (
        "retired_pages.cause",
        "Why the page was retired: Single Bit ECC (several errors) or Double Bit ECC.",
    ),
    ("remapped_rows.correctable", "Rows remapped after correctable errors."),
    ("remapped_rows.uncorrectable", "Rows remapped after uncorrectable errors."),
    (
        "remapped_rows.pending",
        "Whether a row remapping waits for a GPU reset: Yes or No (1 or 0 in --query-remapped-rows).",
    ),
    (
        "remapped_rows.failure",
        "Whether a row remapping has failed: Yes or No (1 or 0 in --query-remapped-rows).",
    ),
    ("pci.domain", "PCI domain number, in hex."),
    ("pci.bus", "PCI bus number, in hex."),
    ("pci.device", "PCI device number, in hex."),
    ("pci.device_id", "PCI vendor and device id, in hex."),
    ("pci.sub_device_id", "PCI subsystem id, in hex."),
    ("mig.mode.pending", "What MIG mode will be after the next GPU reset: Enabled or Disabled."),
    ("compute_cap", "The CUDA compute capability, as major.minor."),
    ("clocks.current.video", "The current video encoder/decoder clock."),
    ("clocks.applications.graphics", "The graphics clock applications run at."),
    ("clocks.applications.memory", "The memory clock applications run at."),
    ("clocks.default_applications.graphics", "The default applications graphics clock."),
    ("clocks.default_applications.memory", "The default applications memory clock."),
    ("encoder.stats.sessionCount", "Encoder sessions running now."),
    ("encoder.stats.averageFps", "The encoder sessions' average frames per second."),
    ("encoder.stats.averageLatency", "The encoder sessions' average latency, in microseconds."),
    ("clocks_throttle_reasons.supported", "The bit mask of the reasons this GPU can report, in hex."),
    (
        "fabric.state",
        "The GPU's registration with its NVLink fabric: Not Started, In Progress or Completed.",
    ),
    ("fabric.status", "How the fabric registration ended: Success, or why it failed."),
    ("fabric.cliqueId", "The fabric clique the GPU belongs to."),
    ("fabric.clusterUuid", "The UUID of the fabric cluster the GPU belongs to."),
    ("utilization.jpeg", "Percent of time the JPEG decoder was busy."),
    ("utilization.ofa", "Percent of time the optical flow accelerator was busy."),
    ("pcie.link.gen.gpumax", "The highest PCIe link generation the GPU supports."),
    ("accounting.buffer_size", "How many processes' statistics per-process accounting keeps."),
    ("inforom.img", "The InfoROM image version (the board's non-volatile configuration store)."),
    ("inforom.oem", "The version of the InfoROM's OEM configuration object."),
    ("inforom.ecc", "The version of the InfoROM's ECC object."),
    ("inforom.pwr", "The version of the InfoROM's power management object."),
    ("inforom.checksum_validation", "Whether the InfoROM's checksums verify: Valid or Invalid."),
    (
        "gom.current",
        "The GPU Operation Mode now: All On, Compute or Low Double Precision (GK110 boards).",
    ),
    ("gom.pending", "The GPU Operation Mode after the next reboot."),
    ("temperature.memory", "The HBM memory temperature, in degrees C."),
    ("power.draw.average", "The power the board drew, averaged over the last second, in watts."),
    ("power.draw.instant", "The power the board draws at this instant, in watts."),
    (
        "clocks_event_reasons_counters.sw_power_cap",
        "How long the clocks were held down to stay under the power limit, in microseconds.",
    ),
    (
        "clocks_event_reasons_counters.sync_boost",
        "How long the clocks were held to a sync boost group's, in microseconds.",
    ),
    (
        "clocks_event_reasons_counters.sw_thermal_slowdown",
        "How long the clocks were held down to keep GPU and memory temperature in range, in microseconds.",
    ),
    (
        "clocks_event_reasons_counters.hw_thermal_slowdown",
        "How long the hardware cut the clocks by 2x or more for temperature, in microseconds.",
    ),
    (
        "clocks_event_reasons_counters.hw_power_brake_slowdown",
        "How long an external power brake cut the clocks by 2x or more, in microseconds.",
    ),
    ("hostname", "The name of the host the GPU is in."),
    (
        "temperature.gpu.tlimit",
        "How many degrees C the GPU is below its slowdown threshold (T.Limit); negative past it.",
    ),
    ("pcie.link.gen.hostmax", "The highest PCIe link generation the GPU's slot supports."),
    ("pci.baseClass", "The PCI base class code: 0x3, a display controller."),
    ("pci.subClass", "The PCI sub class code: 0x2 for a 3D controller, 0x0 for VGA."),
    (
        "power.management",
        "Whether the driver manages the board's power: Supported or [Not Supported].",
    ),
    (
        "addressing_mode",
        "How the GPU shares the CPU's address space: HMM, ATS or None (drivers 575 and later).",
    ),
    ("dramEncryption.mode.current", "Whether GPU memory is encrypted now (Blackwell)."),
    ("dramEncryption.mode.pending", "Whether GPU memory will be encrypted after the next reboot."),
    ("gsp.mode.current", "Whether the GPU System Processor firmware runs the GPU."),
    ("gsp.mode.default", "Whether the GSP firmware runs by default on this GPU."),
    ("c2c.mode", "Whether the chip-to-chip link to a Grace CPU is on (GH200, GB200)."),
    ("protected_memory.total", "Confidential computing's protected GPU memory, in MiB."),
    ("protected_memory.used", "Protected memory in use, in MiB."),
    ("protected_memory.free", "Protected memory free, in MiB."),
    (
        "gpu_recovery_action",
        "What the driver asks for to recover the GPU: None, Reset, Reboot, Drain P2P or Drain and Reset.",
    ),
    ("kmd_version", "The version of the NVIDIA kernel module."),
    (
        "module.power.draw.average",
        "The whole module's power (GPU, CPU and memory of a GB200), averaged over a second, in watts.",
    ),
    ("module.power.draw.instant", "The whole module's power at this instant, in watts."),
    ("module.power.limit", "The module's power limit as set, in watts."),
    ("module.enforced.power.limit", "The module's power limit in force, in watts."),
    ("module.power.default_limit", "The module's default power limit, in watts."),
    ("module.power.min_limit", "The lowest the module's power limit can be set to, in watts."),
    ("module.power.max_limit", "The highest the module's power limit can be set to, in watts."),
    ("reset_status.reset_required", "Whether the GPU needs a reset (deprecated: gpu_recovery_action)."),
    (
        "reset_status.drain_and_reset_recommended",
        "Whether draining the GPU's work and resetting it is recommended (deprecated: gpu_recovery_action).",
    ),
    (
        "vgpu_driver_capability.heterogenous_multivGPU",
        "Whether the vGPU host driver runs vGPUs of different types on one GPU.",
    ),
    (
        "vgpu_device_capability.fractional_multiVgpu",
        "Whether this GPU's fractional vGPU profiles can be used in multi-vGPU set-ups.",
    ),
    (
        "vgpu_device_capability.heterogeneous_timeSlice_profile",
        "Whether time-sliced vGPUs of different profiles run on this GPU at once.",
    ),
    (
        "vgpu_device_capability.heterogeneous_timeSlice_sizes",
        "Whether time-sliced vGPUs of different memory sizes run on this GPU at once.",
    ),
    ("platform.chassis_serial_number", "The serial number of the rack's chassis (GB200 NVL)."),
    ("platform.slot_number", "The chassis slot of the GPU's compute tray."),
    ("platform.tray_index", "The index of the GPU's compute tray."),
    ("platform.host_id", "The host within the compute tray."),
    ("platform.peer_type", "How the GPU's peers connect to it, as the driver numbers it."),
    ("platform.module_id", "The GPU's module on its board or tray."),
    ("platform.gpu_fabric_guid", "The GPU's InfiniBand fabric GUID."),
    ("driver_model.current", "The Windows driver model (WDDM or TCC); [N/A] on Linux."),
    ("driver_model.pending", "The Windows driver model after the next reboot; [N/A] on Linux."),
    ("gpu_name", "The product name of the GPU (the process's, for --query-compute-apps)."),
    ("gpu_bus_id", "The PCI bus id of the GPU (the process's, for --query-compute-apps)."),
    ("gpu_uuid", "The UUID of the GPU (the process's, for --query-compute-apps)."),
    ("pid", "The process's id."),
    ("process_name", "The process's name (its argv[0])."),
    ("used_gpu_memory", "GPU memory the process uses."),
];

/// Which of nvidia-smi's queries: GPUs, compute apps, retired pages or remapped rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    Gpu,
    ComputeApps,
    RetiredPages,
    RemappedRows,
}

impl QueryKind {
    /// The switch, as nvidia-smi's help names it.
    fn switch(self) -> &'static str {
        match self {
            Self::Gpu => "--query-gpu=",
            Self::ComputeApps => "--query-compute-apps=",
            Self::RetiredPages => "--query-retired-pages=",
            Self::RemappedRows => "--query-remapped-rows=",
        }
    }

    fn names(self) -> Vec<&'static [&'static str]> {
        fn names<T>(table: &'static [Field<T>]) -> Vec<&'static [&'static str]> {
            table.iter().map(|f| f.names).collect()
        }
        match self {
            Self::Gpu => names(GPU_FIELDS),
            Self::ComputeApps => names(APP_FIELDS),
            Self::RetiredPages => names(RETIRED_PAGE_FIELDS),
            Self::RemappedRows => names(REMAPPED_ROW_FIELDS),
        }
    }
}

/// The list `nvidia-smi --help-query-gpu` (or `--help-query-compute-apps`, …) prints: each
/// property with its other names and what it is.
pub fn help(kind: QueryKind) -> String {
    let switch = kind.switch();
    let mut out = format!("List of valid properties to query for the switch \"{switch}\":\n\n");
    for names in kind.names() {
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        out.push_str(&format!("{}\n{}\n\n", quoted.join(" or "), describe(names[0])));
    }
    out
}

/// What a property is: from [`DESCRIPTIONS`], or made up from the parts of an ECC counter's
/// name (`ecc.errors.corrected.volatile.sram`).
fn describe(name: &str) -> String {
    if let Some((_, what)) = DESCRIPTIONS.iter().find(|(n, _)| *n == name) {
        return (*what).to_string();
    }
    let parts: Vec<&str> = name.split('.').collect();
    match parts[..] {
        ["ecc", "errors", kind, counter, location] => {
            let since = if counter == "volatile" {
                "since the driver loaded"
            } else {
                "over the board's life"
            };
            let place = match location {
                "device_memory" | "dram" => "device memory",
                "register_file" => "the register file",
                "l1_cache" => "the L1 cache",
                "l2_cache" => "the L2 cache",
                "texture_memory" => "texture memory",
                "cbu" => "the CBU",
                _ => "SRAM",
            };
            let kind = if kind == "corrected" { "Corrected" } else { "Uncorrected" };
            format!("{kind} ECC errors in {place} {since}.")
        }
        _ => String::new(),
    }
}

/// Why a query's list of properties cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// In nvidia-smi's words, which scripts may look for (it prints them on stdout and exits 2).
    #[error("Field \"{0}\" is not a valid field to query.")]
    NotAField(String),
    #[error("no fields to query")]
    Empty,
}

fn parse_fields<T>(
    table: &'static [Field<T>],
    spec: &str,
) -> Result<Vec<&'static Field<T>>, QueryError> {
    let fields = spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            table
                .iter()
                .find(|f| f.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
                .ok_or_else(|| QueryError::NotAField(sanitize(name).into_owned()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if fields.is_empty() {
        return Err(QueryError::Empty);
    }
    Ok(fields)
}

/// A parsed `--query-gpu`, `--query-compute-apps`, `--query-retired-pages` or
/// `--query-remapped-rows`.
pub struct Query(Fields);

enum Fields {
    Gpus(Vec<&'static Field<GpuSample>>),
    Apps(Vec<&'static Field<AppRow>>),
    Pages(Vec<&'static Field<PageRow>>),
    RemappedRows(Vec<&'static Field<GpuSample>>),
}

impl Query {
    pub fn parse(kind: QueryKind, spec: &str) -> Result<Self, QueryError> {
        Ok(Query(match kind {
            QueryKind::Gpu => Fields::Gpus(parse_fields(GPU_FIELDS, spec)?),
            QueryKind::ComputeApps => Fields::Apps(parse_fields(APP_FIELDS, spec)?),
            QueryKind::RetiredPages => Fields::Pages(parse_fields(RETIRED_PAGE_FIELDS, spec)?),
            QueryKind::RemappedRows => {
                Fields::RemappedRows(parse_fields(REMAPPED_ROW_FIELDS, spec)?)
            }
        }))
    }

    pub fn gpus(spec: &str) -> Result<Self, QueryError> {
        Self::parse(QueryKind::Gpu, spec)
    }

    pub fn header(&self, format: QueryFormat) -> Option<String> {
        format.header.then(|| match &self.0 {
            Fields::Gpus(fields) | Fields::RemappedRows(fields) => header(fields),
            Fields::Apps(fields) => header(fields),
            Fields::Pages(fields) => header(fields),
        })
    }

    /// The data rows for one snapshot (no header).
    pub fn rows(&self, snapshot: &Snapshot, format: QueryFormat) -> Vec<String> {
        match &self.0 {
            Fields::Gpus(fields) | Fields::RemappedRows(fields) => {
                snapshot.gpus.iter().map(|g| row(fields, g, snapshot, format, absent)).collect()
            }
            Fields::Pages(fields) => snapshot
                .gpus
                .iter()
                .enumerate()
                .flat_map(|(gpu, g)| -> Box<dyn Iterator<Item = PageRow>> {
                    let pages = g.details.as_ref().and_then(|d| d.retired_pages.as_ref());
                    match pages {
                        Some(list) => {
                            Box::new((0..list.len()).map(move |i| PageRow { gpu, page: Some(i) }))
                        }
                        None => Box::new(std::iter::once(PageRow { gpu, page: None })),
                    }
                })
                .map(|p| {
                    let why = |p: &PageRow, property: &str| absent(&snapshot.gpus[p.gpu], property);
                    row(fields, &p, snapshot, format, why)
                })
                .collect(),
            Fields::Apps(fields) => snapshot
                .gpus
                .iter()
                .enumerate()
                .flat_map(|(gpu, g)| -> Box<dyn Iterator<Item = AppRow>> {
                    match &g.processes {
                        Some(list) => {
                            Box::new((0..list.len()).map(move |i| AppRow { gpu, process: Some(i) }))
                        }
                        // A GPU that cannot be reached is shown by --query-gpu, not here.
                        None if g.status != GpuStatus::Ok => Box::new(std::iter::empty()),
                        None => Box::new(std::iter::once(AppRow { gpu, process: None })),
                    }
                })
                .map(|app| row(fields, &app, snapshot, format, |_, _| NOT_AVAILABLE))
                .collect(),
        }
    }
}

/// What nvidia-smi prints for a GPU property without a value: `[N/A]` where the GPU does not
/// have it (drivers since 2020; older ones printed `[Not Supported]`), and NVML's reason where
/// it refused: `[Insufficient Permissions]`, `[GPU is lost]`, `[Unknown Error]`.
fn absent(g: &GpuSample, property: &str) -> &'static str {
    // A GPU outside any NVLink fabric, or that cannot say, reads a bare N/A in every fabric
    // field (as nvidia-smi's output has been seen to print them).
    if property.starts_with("fabric.") {
        return "N/A";
    }
    let reason = missing_key(property).and_then(|key| g.missing.get(key)).map(|m| m.reason);
    if property == "power.management" && reason == Some(MissingReason::NotSupported) {
        return "[Not Supported]";
    }
    match reason {
        Some(MissingReason::NoPermission) => "[Insufficient Permissions]",
        Some(MissingReason::GpuLost) => "[GPU is lost]",
        Some(MissingReason::Error) => "[Unknown Error]",
        Some(
            MissingReason::NotSupported
            | MissingReason::NotExported
            | MissingReason::NotRecorded
            | MissingReason::Simulated,
        )
        | None => NOT_AVAILABLE,
    }
}

/// Where the sampler notes why a property's value is missing (`GpuSample::missing`).
fn missing_key(property: &str) -> Option<&'static str> {
    Some(match property {
        "name" => "name",
        "uuid" => "uuid",
        "pci.bus_id" => "pci_bus_id",
        "persistence_mode" => "persistence_mode",
        "pstate" => "performance_state",
        "fan.speed" => "fan_percent",
        "memory.total" | "memory.reserved" | "memory.used" | "memory.free" => "memory",
        "utilization.gpu" | "utilization.memory" => "utilization",
        "utilization.encoder" => "utilization.encoder_percent",
        "utilization.decoder" => "utilization.decoder_percent",
        "temperature.gpu" => "temperature.gpu_celsius",
        "power.draw" => "power.draw_watts",
        "power.limit" => "power.management_limit_watts",
        "enforced.power.limit" => "power.limit_watts",
        "clocks.current.sm" => "clocks.sm_mhz",
        "clocks.current.memory" => "clocks.memory_mhz",
        "clocks.max.sm" => "clocks.sm_max_mhz",
        "clocks.max.memory" => "clocks.memory_max_mhz",
        "ecc.errors.corrected.volatile.total" => "ecc.corrected",
        "ecc.errors.uncorrected.volatile.total" => "ecc.uncorrected",
        "mig.mode.current" => "mig_enabled",
        "serial" => "details.serial",
        "vbios_version" => "details.vbios_version",
        "compute_mode" => "details.compute_mode",
        "display_mode" => "details.display_attached",
        "display_active" => "details.display_active",
        "accounting.mode" => "details.accounting_mode",
        "ecc.mode.current" | "ecc.mode.pending" => "details.ecc_mode",
        "pcie.link.gen.current" => "details.pcie_link_gen_current",
        "pcie.link.gen.max" => "details.pcie_link_gen_max",
        "pcie.link.width.current" => "details.pcie_link_width_current",
        "pcie.link.width.max" => "details.pcie_link_width_max",
        "clocks.current.graphics" => "details.clock_graphics_mhz",
        "clocks.max.graphics" => "details.clock_graphics_max_mhz",
        "power.default_limit" => "details.power_default_limit_watts",
        "power.min_limit" | "power.max_limit" => "details.power_limit_range",
        "ecc.errors.corrected.aggregate.total" | "ecc.errors.uncorrected.aggregate.total" => {
            "details.ecc_aggregate"
        }
        "retired_pages.pending" => "details.retired_pages_pending",
        p if p.starts_with("retired_pages.") => "details.retired_pages",
        "gpu_serial" => "details.serial",
        "gpu_name" => "name",
        "gpu_uuid" => "uuid",
        "gpu_bus_id" => "pci_bus_id",
        p if p.starts_with("remapped_rows.") => "details.remapped_rows",
        p if p.starts_with("pci.") => "details.pci",
        "mig.mode.pending" => "details.mig_mode_pending",
        "compute_cap" => "details.compute_capability",
        "clocks.current.video" => "details.clock_video_mhz",
        p if p.starts_with("clocks.applications.") => "details.applications_clocks_mhz",
        p if p.starts_with("clocks.default_applications.") => {
            "details.default_applications_clocks_mhz"
        }
        p if p.starts_with("encoder.stats.") => "details.encoder_sessions",
        "clocks_throttle_reasons.supported" => "details.throttle_supported_mask",
        "utilization.jpeg" => "details.utilization_jpeg_percent",
        "utilization.ofa" => "details.utilization_ofa_percent",
        "pcie.link.gen.gpumax" => "details.pcie_link_gen_gpu_max",
        "accounting.buffer_size" => "details.accounting_buffer_size",
        p if p.starts_with("fabric.") => "details.fabric",
        "inforom.img" => "details.inforom.image",
        "inforom.oem" => "details.inforom.oem",
        "inforom.ecc" => "details.inforom.ecc",
        "inforom.pwr" => "details.inforom.power",
        "inforom.checksum_validation" => "details.inforom.checksum_valid",
        "gom.current" | "gom.pending" => "details.operation_mode",
        "temperature.memory" => "details.temperature_memory_celsius",
        "power.draw.average" => "details.power_average_watts",
        "power.draw.instant" => "details.power_instant_watts",
        p if p.starts_with("clocks_event_reasons_counters.") => "details.clock_event_counters_us",
        "temperature.gpu.tlimit" => "details.temperature_margin_celsius",
        "pci.baseClass" | "pci.subClass" => "details.pci_class",
        "power.management" => "details.power_management",
        "addressing_mode" => "details.addressing_mode",
        p if p.starts_with("dramEncryption.") => "details.dram_encryption",
        p if p.starts_with("gsp.mode.") => "details.gsp_firmware",
        "c2c.mode" => "details.c2c_enabled",
        p if p.starts_with("protected_memory.") => "details.protected_memory",
        "gpu_recovery_action" => "details.recovery_action",
        "platform.module_id" => "details.module_id",
        p if p.starts_with("module.") => "details.module_power",
        "reset_status.reset_required" => "details.reset_required",
        "reset_status.drain_and_reset_recommended" => "details.drain_and_reset_recommended",
        "vgpu_driver_capability.heterogenous_multivGPU" => "details.vgpu_heterogeneous_multi_vgpu",
        p if p.starts_with("vgpu_device_capability.") => "details.vgpu_capabilities",
        p if p.starts_with("platform.") => "details.platform",
        p if p.starts_with("ecc.errors.") => match p.rsplit('.').next().unwrap_or("") {
            "device_memory" | "dram" => "details.ecc_locations.dram",
            "register_file" => "details.ecc_locations.register_file",
            "l1_cache" => "details.ecc_locations.l1_cache",
            "l2_cache" => "details.ecc_locations.l2_cache",
            "texture_memory" => "details.ecc_locations.texture_memory",
            "cbu" => "details.ecc_locations.cbu",
            "sram" => "details.ecc_locations.sram",
            _ => return None,
        },
        p if p.starts_with("clocks_throttle_reasons.") => "throttle",
        _ => return None,
    })
}

fn header<T>(fields: &[&Field<T>]) -> String {
    fields
        .iter()
        .map(|f| match f.unit {
            Some(unit) => format!("{} [{unit}]", f.canonical()),
            None => f.canonical().to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn row<T>(
    fields: &[&Field<T>],
    item: &T,
    snapshot: &Snapshot,
    format: QueryFormat,
    absent: impl Fn(&T, &str) -> &'static str,
) -> String {
    fields
        .iter()
        .map(|f| match ((f.value)(item, snapshot), f.unit) {
            (None, _) => absent(item, f.canonical()).to_string(),
            (Some(v), Some(unit)) if format.units => format!("{} {unit}", sanitize(&v)),
            (Some(v), _) => sanitize(&v).into_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for f in GPU_FIELDS.iter().filter(|f| !not_from_a_gpu.contains(&f.canonical())) {
            assert!(missing_key(f.canonical()).is_some(), "{}", f.canonical());
        }
    }

    #[test]
    fn format_options_parse_like_nvidia_smi() {
        assert_eq!("csv".parse(), Ok(QueryFormat { header: true, units: true }));
        assert_eq!("csv,noheader,nounits".parse(), Ok(QueryFormat { header: false, units: false }));
        assert!("json".parse::<QueryFormat>().is_err());
        assert!("csv,fancy".parse::<QueryFormat>().is_err());
    }

    #[test]
    fn headers_use_canonical_names_and_units() {
        let q = Query::gpus("index,gpu_name,clocks.sm,memory.used,temperature.gpu").unwrap();
        assert_eq!(
            q.header(QueryFormat { header: true, units: true }).unwrap(),
            "index, name, clocks.current.sm [MHz], memory.used [MiB], temperature.gpu"
        );
        let q =
            Query::parse(QueryKind::ComputeApps, "pid,process_name,used_memory,gpu_uuid").unwrap();
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
    fn every_property_is_described_in_the_help() {
        use QueryKind::*;
        for kind in [Gpu, ComputeApps, RetiredPages, RemappedRows] {
            let text = help(kind);
            assert!(!text.contains("\n\n\n"), "a property without a description:\n{text}");
        }
        assert!(help(Gpu).contains("\"name\" or \"gpu_name\"\nThe GPU's product name.\n"));
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
}
