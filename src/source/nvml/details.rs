//! A GPU's details, read only when a mode asks for them (`--query-gpu`'s properties, the
//! exporter's memory and link health): board identity, ECC by location, retired pages, field
//! values, module power, NVLink.

use super::device::milli;
use super::*;

/// The board's memory and link health, and with [`DetailLevel::All`] every other property
/// `--query-gpu` asks for beyond the sample; missing ones keep their reason under
/// `details.NAME`.
pub(super) fn details(
    d: &Device,
    bus_id: Option<&str>,
    level: DetailLevel,
    r: &mut Reader,
) -> Details {
    let rest = match level {
        DetailLevel::All => query_details(d, bus_id, r),
        DetailLevel::Health | DetailLevel::None => Details::default(),
    };
    Details {
        pcie_link_gen_current: r.get(FieldKey::PcieLinkGenCurrent, d.current_pcie_link_gen()),
        pcie_link_gen_max: r.get(FieldKey::PcieLinkGenMax, d.max_pcie_link_gen()),
        pcie_link_width_current: r.get(FieldKey::PcieLinkWidthCurrent, d.current_pcie_link_width()),
        pcie_link_width_max: r.get(FieldKey::PcieLinkWidthMax, d.max_pcie_link_width()),
        pcie_replay_count: r.get(FieldKey::PcieReplayCount, d.pcie_replay_counter()),
        remapped_rows: r.get(FieldKey::RemappedRows, ffi::remapped_rows(d)),
        retired_pages_pending: r.get(FieldKey::RetiredPagesPending, d.are_pages_pending_retired()),
        ecc_aggregate_corrected: r.get(
            FieldKey::EccAggregate,
            d.total_ecc_errors(MemoryError::Corrected, EccCounter::Aggregate),
        ),
        ecc_aggregate_uncorrected: r.get(
            FieldKey::EccAggregate,
            d.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Aggregate),
        ),
        nvlink: nvlink(d, r),
        ..rest
    }
}

/// The `--query-gpu` properties beyond the board's health.
pub(super) fn query_details(d: &Device, bus_id: Option<&str>, r: &mut Reader) -> Details {
    let ecc = r.get(FieldKey::EccMode, d.is_ecc_enabled());
    let limits = r.get(FieldKey::PowerLimitRange, d.power_management_limit_constraints());
    Details {
        serial: r.get(FieldKey::Serial, d.serial()),
        vbios_version: r.get(FieldKey::VbiosVersion, d.vbios_version()),
        compute_mode: r.get(FieldKey::ComputeMode, d.compute_mode()).map(|m| match m {
            nvml_wrapper::enum_wrappers::device::ComputeMode::Default => ComputeMode::Default,
            nvml_wrapper::enum_wrappers::device::ComputeMode::ExclusiveThread => {
                ComputeMode::ExclusiveThread
            }
            nvml_wrapper::enum_wrappers::device::ComputeMode::Prohibited => ComputeMode::Prohibited,
            nvml_wrapper::enum_wrappers::device::ComputeMode::ExclusiveProcess => {
                ComputeMode::ExclusiveProcess
            }
        }),
        display_attached: r.get(FieldKey::DisplayAttached, d.is_display_connected()),
        display_active: r.get(FieldKey::DisplayActive, d.is_display_active()),
        accounting_mode: r.get(FieldKey::AccountingMode, d.is_accounting_enabled()),
        ecc_mode_current: ecc.as_ref().map(|e| e.currently_enabled),
        ecc_mode_pending: ecc.as_ref().map(|e| e.pending_enabled),
        clock_graphics_mhz: r.get(FieldKey::ClockGraphics, d.clock_info(Clock::Graphics)),
        clock_graphics_max_mhz: r
            .get(FieldKey::ClockGraphicsMax, d.max_clock_info(Clock::Graphics)),
        power_default_limit_watts: r
            .get(FieldKey::PowerDefaultLimit, d.power_management_limit_default())
            .map(milli),
        power_min_limit_watts: limits.as_ref().map(|l| milli(l.min_limit)),
        power_max_limit_watts: limits.as_ref().map(|l| milli(l.max_limit)),
        retired_pages: r.get(FieldKey::RetiredPages, retired_pages(d)),
        pci: r.get(FieldKey::Pci, d.pci_info()).map(|p| PciIds {
            domain: p.domain,
            bus: p.bus,
            device: p.device,
            device_id: p.pci_device_id,
            sub_device_id: p.pci_sub_system_id,
        }),
        mig_mode_pending: r.get(FieldKey::MigModePending, d.mig_mode()).map(|m| m.pending == 1),
        compute_capability: r
            .get(FieldKey::ComputeCapability, d.cuda_compute_capability())
            .map(|c| format!("{}.{}", c.major, c.minor)),
        clock_video_mhz: r.get(FieldKey::ClockVideo, d.clock_info(Clock::Video)),
        applications_clocks_mhz: r.get(
            FieldKey::ApplicationsClocks,
            d.applications_clock(Clock::Graphics)
                .and_then(|g| Ok((g, d.applications_clock(Clock::Memory)?))),
        ),
        default_applications_clocks_mhz: r.get(
            FieldKey::DefaultApplicationsClocks,
            d.default_applications_clock(Clock::Graphics)
                .and_then(|g| Ok((g, d.default_applications_clock(Clock::Memory)?))),
        ),
        encoder_sessions: r
            .get(FieldKey::EncoderSessions, d.encoder_stats())
            .map(|e| (e.session_count, e.average_fps, e.average_latency)),
        throttle_supported_mask: r
            .get(FieldKey::ThrottleSupportedMask, d.supported_throttle_reasons())
            .map(|m| m.bits()),
        inforom: Inforom {
            image: r.get(FieldKey::InforomImage, d.info_rom_image_version()),
            oem: r.get(FieldKey::InforomOem, d.info_rom_version(InfoRom::OEM)),
            ecc: r.get(FieldKey::InforomEcc, d.info_rom_version(InfoRom::ECC)),
            power: r.get(FieldKey::InforomPower, d.info_rom_version(InfoRom::Power)),
            checksum_valid: match d.validate_info_rom() {
                Ok(()) => Some(true),
                Err(NvmlError::CorruptedInfoROM) => Some(false),
                Err(e) => {
                    r.note(FieldKey::InforomChecksumValid, &e);
                    None
                }
            },
        },
        ecc_locations: ecc_locations(d, r),
        fabric: r.get(FieldKey::Fabric, ffi::fabric(d)),
        utilization_jpeg_percent: r
            .get(FieldKey::UtilizationJpeg, ffi::engine_utilization(d, true)),
        utilization_ofa_percent: r.get(FieldKey::UtilizationOfa, ffi::engine_utilization(d, false)),
        pcie_link_gen_gpu_max: r.get(FieldKey::PcieLinkGenGpuMax, ffi::gpu_max_pcie_link_gen(d)),
        accounting_buffer_size: r.get(FieldKey::AccountingBufferSize, d.accounting_buffer_size()),
        operation_mode: r
            .get(FieldKey::OperationMode, d.gpu_operation_mode())
            .map(|m| (operation_mode(m.current), operation_mode(m.pending))),
        temperature_margin_celsius: r.get(FieldKey::TemperatureMargin, ffi::margin_temperature(d)),
        pcie_link_gen_host_max: bus_id.and_then(sysfs::host_max_pcie_gen),
        pci_class: r.get(FieldKey::PciClass, ffi::pci_class(d)),
        power_management: r.get(FieldKey::PowerManagement, ffi::power_management(d)),
        addressing_mode: r.get(FieldKey::AddressingMode, ffi::addressing_mode(d)),
        dram_encryption: r.get(FieldKey::DramEncryption, ffi::dram_encryption(d)),
        gsp_firmware: r.get(FieldKey::GspFirmware, ffi::gsp_firmware(d)),
        c2c_enabled: r.get(FieldKey::C2cEnabled, ffi::c2c_enabled(d)),
        protected_memory_bytes: r.get(FieldKey::ProtectedMemory, ffi::protected_memory(d)),
        kmd_version: sysfs::kernel_module_version(),
        platform: r.get(FieldKey::Platform, ffi::platform(d)),
        module_id: r.get(FieldKey::ModuleId, ffi::module_id(d)),
        vgpu_capabilities: r.get(FieldKey::VgpuCapabilities, ffi::vgpu_capabilities(d)),
        module_power: module_power(d, r),
        vgpu_heterogeneous_multi_vgpu: r
            .get(FieldKey::VgpuHeterogeneousMultiVgpu, ffi::vgpu_heterogeneous_multi_vgpu(d)),
        ..field_values(d, r)
    }
}

/// ECC counts of each memory location; a location the GPU does not count is NOT_SUPPORTED
/// at its first counter and not asked again.
pub(super) fn ecc_locations(d: &Device, r: &mut Reader) -> EccLocations {
    use nvml_wrapper::enum_wrappers::device::MemoryLocation as At;
    let mut counts = |location: At, key: FieldKey| {
        let read = |error, counter| d.memory_error_counter(error, counter, location);
        let first = read(MemoryError::Corrected, EccCounter::Volatile);
        if first.is_err() {
            r.get::<u64>(key, first);
            return EccCounts::default();
        }
        EccCounts {
            corrected_volatile: first.ok(),
            uncorrected_volatile: r.get(key, read(MemoryError::Uncorrected, EccCounter::Volatile)),
            corrected_aggregate: r.get(key, read(MemoryError::Corrected, EccCounter::Aggregate)),
            uncorrected_aggregate: r
                .get(key, read(MemoryError::Uncorrected, EccCounter::Aggregate)),
        }
    };
    EccLocations {
        l1_cache: counts(At::L1Cache, FieldKey::EccLocationL1Cache),
        l2_cache: counts(At::L2Cache, FieldKey::EccLocationL2Cache),
        dram: counts(At::Device, FieldKey::EccLocationDram),
        register_file: counts(At::RegisterFile, FieldKey::EccLocationRegisterFile),
        texture_memory: counts(At::Texture, FieldKey::EccLocationTextureMemory),
        cbu: counts(At::Cbu, FieldKey::EccLocationCbu),
        sram: counts(At::SRAM, FieldKey::EccLocationSram),
    }
}

/// The pages retired for either cause.
pub(super) fn retired_pages(d: &Device) -> Result<Vec<RetiredPage>, NvmlError> {
    let mut pages = Vec::new();
    for (cause, as_model) in [
        (
            RetirementCause::MultipleSingleBitEccErrors,
            crate::sample::RetirementCause::MultipleSingleBitEcc,
        ),
        (RetirementCause::DoubleBitEccError, crate::sample::RetirementCause::DoubleBitEcc),
    ] {
        let retired = d.retired_pages(cause)?;
        pages.extend(
            retired.into_iter().map(|p| RetiredPage { address: p.address, cause: as_model }),
        );
    }
    Ok(pages)
}

pub(super) fn operation_mode(
    m: nvml_wrapper::enum_wrappers::device::OperationMode,
) -> OperationMode {
    use nvml_wrapper::enum_wrappers::device::OperationMode as Nvml;
    match m {
        Nvml::AllOn => OperationMode::AllOn,
        Nvml::Compute => OperationMode::Compute,
        Nvml::LowDP => OperationMode::LowDoublePrecision,
    }
}

/// The details NVML gives as field values, in one call: memory temperature, power averaged
/// and instant, the clock event reason counters. Each has its own reason when missing.
pub(super) fn field_values(d: &Device, r: &mut Reader) -> Details {
    use nvml_wrapper::sys_exports::field_id::*;
    const FIELDS: [(u32, FieldKey); 11] = [
        (NVML_FI_DEV_MEMORY_TEMP, FieldKey::TemperatureMemory),
        (NVML_FI_DEV_POWER_AVERAGE, FieldKey::PowerAverage),
        (NVML_FI_DEV_POWER_INSTANT, FieldKey::PowerInstant),
        (NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_POWER_CAP, FieldKey::ClockEventCounters),
        (NVML_FI_DEV_CLOCKS_EVENT_REASON_SYNC_BOOST, FieldKey::ClockEventCounters),
        (NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN, FieldKey::ClockEventCounters),
        (NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN, FieldKey::ClockEventCounters),
        (NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN, FieldKey::ClockEventCounters),
        (NVML_FI_DEV_GET_GPU_RECOVERY_ACTION, FieldKey::RecoveryAction),
        (NVML_FI_DEV_RESET_STATUS, FieldKey::ResetRequired),
        (NVML_FI_DEV_DRAIN_AND_RESET_STATUS, FieldKey::DrainAndResetRecommended),
    ];
    let ids: Vec<FieldId> = FIELDS.iter().map(|(id, _)| FieldId(*id)).collect();
    let mut values = [None; FIELDS.len()];
    match d.field_values_for(&ids) {
        Ok(samples) => {
            for (i, sample) in samples.into_iter().enumerate().take(FIELDS.len()) {
                let value = sample.and_then(|s| s.value).map(|v| sample_number(&v));
                values[i] = r.get(FIELDS[i].1, value);
            }
        }
        Err(e) => {
            for (_, key) in FIELDS {
                r.note(key, &e);
            }
        }
    }
    let milliwatts = |v: Option<f64>| v.map(|mw| mw / 1000.0);
    Details {
        temperature_memory_celsius: values[0].map(|v| v as u32),
        power_average_watts: milliwatts(values[1]),
        power_instant_watts: milliwatts(values[2]),
        clock_event_counters_us: ClockEventCounters {
            sw_power_cap: values[3].map(|v| v as u64),
            sync_boost: values[4].map(|v| v as u64),
            sw_thermal_slowdown: values[5].map(|v| v as u64),
            hw_thermal_slowdown: values[6].map(|v| v as u64),
            hw_power_brake_slowdown: values[7].map(|v| v as u64),
        },
        recovery_action: values[8].and_then(|v| RecoveryAction::from_nvml(v as u32)),
        reset_required: values[9].map(|v| v != 0.0),
        drain_and_reset_recommended: values[10].map(|v| v != 0.0),
        ..Details::default()
    }
}

/// The module's power readings and limits (a GB200 superchip), each `None` where the driver
/// refused it; `None` with the first field's reason when it gave none.
pub(super) fn module_power(d: &Device, r: &mut Reader) -> Option<ModulePower> {
    use nvml_wrapper::sys_exports::field_id::*;
    use nvml_wrapper_sys::bindings::NVML_POWER_SCOPE_MODULE;
    const FIELDS: [u32; 7] = [
        NVML_FI_DEV_POWER_AVERAGE,
        NVML_FI_DEV_POWER_INSTANT,
        NVML_FI_DEV_POWER_REQUESTED_LIMIT,
        NVML_FI_DEV_POWER_CURRENT_LIMIT,
        NVML_FI_DEV_POWER_DEFAULT_LIMIT,
        NVML_FI_DEV_POWER_MIN_LIMIT,
        NVML_FI_DEV_POWER_MAX_LIMIT,
    ];
    let samples = r.get(
        FieldKey::ModulePower,
        ffi::field_values_at_scope(d, &FIELDS, NVML_POWER_SCOPE_MODULE),
    )?;
    let mut watts = [None; FIELDS.len()];
    let mut first_error = None;
    for (slot, sample) in watts.iter_mut().zip(samples) {
        match sample.and_then(|s| s.value) {
            Ok(v) => *slot = Some(sample_number(&v) / 1000.0),
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    if watts.iter().all(Option::is_none) {
        if let Some(e) = first_error {
            r.note(FieldKey::ModulePower, &e);
        }
        return None;
    }
    let [draw_average_watts, draw_instant_watts, limit_watts, enforced_limit_watts, default_limit_watts, min_limit_watts, max_limit_watts] =
        watts;
    Some(ModulePower {
        draw_average_watts,
        draw_instant_watts,
        limit_watts,
        enforced_limit_watts,
        default_limit_watts,
        min_limit_watts,
        max_limit_watts,
    })
}

/// A field value as a number, whatever type the driver chose for it.
pub(super) fn sample_number(v: &SampleValue) -> f64 {
    match *v {
        SampleValue::F64(x) => x,
        SampleValue::U32(x) => f64::from(x),
        SampleValue::U64(x) => x as f64,
        SampleValue::I64(x) => x as f64,
    }
}

/// The error counters of the NVLink links that are up, summed; NOT_SUPPORTED on the first
/// link of a GPU without NVLink ends it at one call. A counter refused on any link that is up
/// is `None` with its reason under `details.nvlink.<counter>`: a partial sum would read as a
/// healthy link.
pub(super) fn nvlink(d: &Device, r: &mut Reader) -> Option<NvlinkHealth> {
    use nvml_wrapper::enum_wrappers::nv_link::ErrorCounter;
    /// `NVML_NVLINK_MAX_LINKS`.
    const MAX_LINKS: u32 = 18;
    const COUNTERS: [(ErrorCounter, FieldKey); 4] = [
        (ErrorCounter::DlReplay, FieldKey::NvlinkReplayErrors),
        (ErrorCounter::DlRecovery, FieldKey::NvlinkRecoveryErrors),
        (ErrorCounter::DlCrcFlit, FieldKey::NvlinkCrcFlitErrors),
        (ErrorCounter::DlCrcData, FieldKey::NvlinkCrcDataErrors),
    ];
    let mut active_links = 0;
    let mut sums = [Some(0u64); 4];
    for link in 0..MAX_LINKS {
        let wrapper = d.link_wrapper_for(link);
        match wrapper.is_active() {
            Ok(true) => {}
            Ok(false) => continue,
            Err(NvmlError::InvalidArg) => break,
            Err(e) if link == 0 => {
                r.note(FieldKey::Nvlink, &e);
                return None;
            }
            Err(_) => continue,
        }
        active_links += 1;
        for ((counter, field), sum) in COUNTERS.into_iter().zip(&mut sums) {
            let Some(total) = sum else { continue };
            match wrapper.error_counter(counter) {
                Ok(count) => *total += count,
                Err(e) => {
                    r.note(field, &e);
                    *sum = None;
                }
            }
        }
    }
    let [replay_errors, recovery_errors, crc_flit_errors, crc_data_errors] = sums;
    Some(NvlinkHealth {
        active_links,
        replay_errors,
        recovery_errors,
        crc_flit_errors,
        crc_data_errors,
    })
}
