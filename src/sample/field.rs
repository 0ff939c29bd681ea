//! The fields of the model whose value can be missing, each a [`FieldKey`] named by its JSON
//! path, and [`MissingFields`], the list of why each missing one is missing. Sources file a
//! reason under a key, so a reason filed under a name that is not a field does not compile.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Missing;

/// Declares [`FieldKey`]: each variant with the JSON name its reason is filed under.
macro_rules! field_keys {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// A field of the model that can be missing, with the reason filed under its JSON
        /// name (`missing` in a GPU's or a process's JSON).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FieldKey {
            $($(#[$doc])* $variant,)*
        }

        impl FieldKey {
            /// Every key, in declaration order.
            pub const ALL: &'static [FieldKey] = &[$(FieldKey::$variant,)*];

            /// The name its reason is filed under in JSON: the field's path in the GPU's
            /// object (`details.serial`), or a group of fields read by one call (`memory`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(FieldKey::$variant => $name,)*
                }
            }
        }
    };
}

field_keys! {
    // The GPU's own fields.
    Name => "name",
    Uuid => "uuid",
    PciBusId => "pci_bus_id",
    /// Every `memory` value, read by one call.
    Memory => "memory",
    MemoryReserved => "memory.reserved_bytes",
    /// GPU and memory utilization, read by one call.
    Utilization => "utilization",
    UtilizationEncoder => "utilization.encoder_percent",
    UtilizationDecoder => "utilization.decoder_percent",
    /// Every temperature (an exporter that exports none).
    Temperature => "temperature",
    TemperatureGpu => "temperature.gpu_celsius",
    TemperatureSlowdown => "temperature.slowdown_celsius",
    TemperatureShutdown => "temperature.shutdown_celsius",
    /// Every power value (an exporter that exports none).
    Power => "power",
    PowerDraw => "power.draw_watts",
    PowerLimit => "power.limit_watts",
    PowerManagementLimit => "power.management_limit_watts",
    PowerEnergy => "power.energy_joules",
    FanPercent => "fan_percent",
    ClocksSm => "clocks.sm_mhz",
    ClocksMemory => "clocks.memory_mhz",
    ClocksSmMax => "clocks.sm_max_mhz",
    ClocksMemoryMax => "clocks.memory_max_mhz",
    PerformanceState => "performance_state",
    /// Every PCIe throughput value (a recording, which keeps none).
    Pcie => "pcie",
    PcieTx => "pcie.tx_bytes_per_second",
    PcieRx => "pcie.rx_bytes_per_second",
    Throttle => "throttle",
    /// Every ECC total (a recording, which keeps none).
    Ecc => "ecc",
    EccCorrected => "ecc.corrected",
    EccUncorrected => "ecc.uncorrected",
    MigEnabled => "mig_enabled",
    PersistenceMode => "persistence_mode",
    MigInstances => "mig_instances",
    Processes => "processes",
    /// The processes' SM and memory utilization, read by one call.
    ProcessesUtilization => "processes.sm_percent",
    Events => "events",
    Activity => "activity",

    // The GPU's `details`.
    Serial => "details.serial",
    VbiosVersion => "details.vbios_version",
    ComputeMode => "details.compute_mode",
    DisplayAttached => "details.display_attached",
    DisplayActive => "details.display_active",
    AccountingMode => "details.accounting_mode",
    /// ECC mode, current and pending, read by one call.
    EccMode => "details.ecc_mode",
    PcieLinkGenCurrent => "details.pcie_link_gen_current",
    PcieLinkGenMax => "details.pcie_link_gen_max",
    PcieLinkWidthCurrent => "details.pcie_link_width_current",
    PcieLinkWidthMax => "details.pcie_link_width_max",
    PcieReplayCount => "details.pcie_replay_count",
    ClockGraphics => "details.clock_graphics_mhz",
    ClockGraphicsMax => "details.clock_graphics_max_mhz",
    PowerDefaultLimit => "details.power_default_limit_watts",
    /// The power limit's minimum and maximum, read by one call.
    PowerLimitRange => "details.power_limit_range",
    /// Lifetime ECC totals, corrected and uncorrected.
    EccAggregate => "details.ecc_aggregate",
    RetiredPagesPending => "details.retired_pages_pending",
    RetiredPages => "details.retired_pages",
    RemappedRows => "details.remapped_rows",
    /// The PCI ids: domain, bus, device, device and subsystem ids.
    Pci => "details.pci",
    MigModePending => "details.mig_mode_pending",
    ComputeCapability => "details.compute_capability",
    ClockVideo => "details.clock_video_mhz",
    ApplicationsClocks => "details.applications_clocks_mhz",
    DefaultApplicationsClocks => "details.default_applications_clocks_mhz",
    EncoderSessions => "details.encoder_sessions",
    ThrottleSupportedMask => "details.throttle_supported_mask",
    Fabric => "details.fabric",
    UtilizationJpeg => "details.utilization_jpeg_percent",
    UtilizationOfa => "details.utilization_ofa_percent",
    PcieLinkGenGpuMax => "details.pcie_link_gen_gpu_max",
    AccountingBufferSize => "details.accounting_buffer_size",
    InforomImage => "details.inforom.image",
    InforomOem => "details.inforom.oem",
    InforomEcc => "details.inforom.ecc",
    InforomPower => "details.inforom.power",
    InforomChecksumValid => "details.inforom.checksum_valid",
    OperationMode => "details.operation_mode",
    TemperatureMemory => "details.temperature_memory_celsius",
    PowerAverage => "details.power_average_watts",
    PowerInstant => "details.power_instant_watts",
    ClockEventCounters => "details.clock_event_counters_us",
    EccLocationDram => "details.ecc_locations.dram",
    EccLocationRegisterFile => "details.ecc_locations.register_file",
    EccLocationL1Cache => "details.ecc_locations.l1_cache",
    EccLocationL2Cache => "details.ecc_locations.l2_cache",
    EccLocationTextureMemory => "details.ecc_locations.texture_memory",
    EccLocationCbu => "details.ecc_locations.cbu",
    EccLocationSram => "details.ecc_locations.sram",
    TemperatureMargin => "details.temperature_margin_celsius",
    PciClass => "details.pci_class",
    PowerManagement => "details.power_management",
    AddressingMode => "details.addressing_mode",
    DramEncryption => "details.dram_encryption",
    GspFirmware => "details.gsp_firmware",
    C2cEnabled => "details.c2c_enabled",
    ProtectedMemory => "details.protected_memory",
    RecoveryAction => "details.recovery_action",
    ModuleId => "details.module_id",
    ModulePower => "details.module_power",
    ResetRequired => "details.reset_required",
    DrainAndResetRecommended => "details.drain_and_reset_recommended",
    VgpuHeterogeneousMultiVgpu => "details.vgpu_heterogeneous_multi_vgpu",
    VgpuCapabilities => "details.vgpu_capabilities",
    Platform => "details.platform",
    /// NVLink as a whole: the GPU has none, or the first link refused.
    Nvlink => "details.nvlink",
    NvlinkReplayErrors => "details.nvlink.replay_errors",
    NvlinkRecoveryErrors => "details.nvlink.recovery_errors",
    NvlinkCrcFlitErrors => "details.nvlink.crc_flit_errors",
    NvlinkCrcDataErrors => "details.nvlink.crc_data_errors",

    // A process's fields (`missing` in the process's JSON).
    /// A process's `kind`: compute, graphics or both.
    ProcessKind => "kind",
}

impl FieldKey {
    /// The key filed under `name`, if `name` is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }
}

/// Why each `null` field of a GPU is null, by the field's JSON name, in name order. A short
/// list and not a `BTreeMap`, whose first node has room for 11 entries (~430 bytes for the
/// one or two most GPUs have: 3.8 MB per snapshot of an 8,000-GPU fleet, `heaptrack`), and
/// names kept as the static strings of [`FieldKey::name`]. Read from JSON (another host's,
/// a newer version's), it keeps every name as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MissingFields(Vec<(Cow<'static, str>, Missing)>);

impl MissingFields {
    /// Notes why `field` is missing, replacing an earlier reason.
    pub fn insert(&mut self, field: FieldKey, missing: Missing) {
        let name = field.name();
        match self.0.binary_search_by(|(f, _)| f.as_ref().cmp(name)) {
            Ok(at) => self.0[at].1 = missing,
            Err(at) => self.0.insert(at, (Cow::Borrowed(name), missing)),
        }
    }

    /// Notes why `field` is missing unless a reason is already noted (the first one stays).
    pub fn insert_first(&mut self, field: FieldKey, missing: Missing) {
        let name = field.name();
        if let Err(at) = self.0.binary_search_by(|(f, _)| f.as_ref().cmp(name)) {
            self.0.insert(at, (Cow::Borrowed(name), missing));
        }
    }

    pub fn get(&self, field: FieldKey) -> Option<&Missing> {
        let at = self.0.binary_search_by(|(f, _)| f.as_ref().cmp(field.name())).ok()?;
        Some(&self.0[at].1)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each reason by the name it is filed under.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Missing)> {
        self.0.iter().map(|(f, m)| (f.as_ref(), m))
    }

    pub fn values(&self) -> impl Iterator<Item = &Missing> {
        self.0.iter().map(|(_, m)| m)
    }
}

impl<const N: usize> From<[(FieldKey, Missing); N]> for MissingFields {
    fn from(entries: [(FieldKey, Missing); N]) -> Self {
        let mut fields = Self::default();
        for (field, missing) in entries {
            fields.insert(field, missing);
        }
        fields
    }
}

impl std::ops::Index<FieldKey> for MissingFields {
    type Output = Missing;
    fn index(&self, field: FieldKey) -> &Missing {
        self.get(field).unwrap_or_else(|| panic!("no reason noted for {}", field.name()))
    }
}

impl Serialize for MissingFields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for MissingFields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, Missing>::deserialize(deserializer)?;
        Ok(Self(map.into_iter().map(|(f, m)| (Cow::Owned(f), m)).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{self as model, Details, GpuProcess, GpuSample, MissingReason};

    /// Whether `path` (`details.inforom.image`) names a member of `json`.
    fn resolves(json: &serde_json::Value, path: &str) -> bool {
        path.split('.').try_fold(json, |v, part| v.get(part)).is_some()
    }

    /// Each key's name is the JSON path of what it stands for, in a GPU (or, for a
    /// process's, in a process), but for the few that stand for the values one call reads.
    #[test]
    fn every_key_names_a_field_of_the_json_model() {
        use FieldKey as K;
        let read_by_one_call =
            [K::EccMode, K::PowerLimitRange, K::EccAggregate, K::ProtectedMemory];
        let mut g = GpuSample::empty(0);
        g.details = Some(Box::new(Details {
            nvlink: Some(model::NvlinkHealth::default()),
            ..Details::default()
        }));
        g.activity = Some(Box::<model::Activity>::default());
        g.mig_instances = Some(Vec::new());
        let gpu = serde_json::to_value(&g).unwrap();
        let process =
            serde_json::to_value(GpuProcess::new(1, model::ProcessKind::Compute, None)).unwrap();
        for key in FieldKey::ALL.iter().filter(|k| !read_by_one_call.contains(k)) {
            let name = key.name();
            let found = match *key {
                K::ProcessKind => resolves(&process, name),
                K::ProcessesUtilization => resolves(&process, "sm_percent"),
                // Left out of a GPU's JSON when there are none.
                K::Events => true,
                _ => resolves(&gpu, name),
            };
            assert!(found, "{key:?}: {name} is not in a GPU's JSON");
        }
        for key in read_by_one_call {
            assert!(!resolves(&gpu, key.name()), "{key:?} is a field now: list it no more");
        }
    }

    #[test]
    fn every_key_has_its_own_name() {
        for (i, key) in FieldKey::ALL.iter().enumerate() {
            let same = FieldKey::ALL[..i].iter().find(|k| k.name() == key.name());
            assert_eq!(same, None, "{key:?} shares the name {}", key.name());
            assert_eq!(FieldKey::from_name(key.name()), Some(*key));
        }
        assert_eq!(FieldKey::from_name("details.bogus"), None);
    }

    #[test]
    fn reasons_are_kept_in_name_order_and_round_trip_through_json() {
        let why = |reason| Missing { reason, nvml_code: None };
        let mut m = MissingFields::default();
        m.insert(FieldKey::Serial, why(MissingReason::NoPermission));
        m.insert(FieldKey::FanPercent, why(MissingReason::NotSupported));
        m.insert_first(FieldKey::FanPercent, why(MissingReason::Error));
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"details.serial":{"reason":"no_permission"},"fan_percent":{"reason":"not_supported"}}"#
        );
        assert_eq!(serde_json::from_str::<MissingFields>(&json).unwrap(), m);
        assert_eq!(m[FieldKey::FanPercent].reason, MissingReason::NotSupported);
        // Another version's name is kept as written.
        let newer = r#"{"details.someday":{"reason":"error"}}"#;
        let kept = serde_json::from_str::<MissingFields>(newer).unwrap();
        assert_eq!(serde_json::to_string(&kept).unwrap(), newer);
    }
}
