//! One GPU's sample: the readings every view shows (memory, utilization, temperatures, power,
//! clocks, fan, PCIe, MIG), each `None` with its reason when NVML cannot give it.

use super::details::details;
use super::processes::processes;
use super::*;

pub(super) fn sample_device(d: &Device, index: u32, options: SampleOptions) -> GpuSample {
    let mut g = GpuSample::empty(index);
    let mut r = Reader::default();
    g.name = r.get(FieldKey::Name, d.name());
    g.uuid = r.get(FieldKey::Uuid, d.uuid());
    g.pci_bus_id = r.get(FieldKey::PciBusId, d.pci_info()).map(|p| p.bus_id);
    if let Some(m) = r.get(FieldKey::Memory, d.memory_info()) {
        g.memory = Memory {
            total_bytes: Some(m.total),
            used_bytes: Some(m.used),
            free_bytes: Some(m.free),
            reserved_bytes: Some(m.reserved),
        };
    }
    if let Some(u) = r.get(FieldKey::Utilization, d.utilization_rates()) {
        g.utilization.gpu_percent = Some(u.gpu);
        g.utilization.memory_percent = Some(u.memory);
    }
    g.utilization.encoder_percent =
        r.get(FieldKey::UtilizationEncoder, d.encoder_utilization()).map(|u| u.utilization);
    g.utilization.decoder_percent =
        r.get(FieldKey::UtilizationDecoder, d.decoder_utilization()).map(|u| u.utilization);
    g.temperature = Temperature {
        gpu_celsius: r.get(FieldKey::TemperatureGpu, d.temperature(TemperatureSensor::Gpu)),
        slowdown_celsius: r.get(
            FieldKey::TemperatureSlowdown,
            d.temperature_threshold(TemperatureThreshold::Slowdown),
        ),
        shutdown_celsius: r.get(
            FieldKey::TemperatureShutdown,
            d.temperature_threshold(TemperatureThreshold::Shutdown),
        ),
    };
    g.power = Power {
        draw_watts: r.get(FieldKey::PowerDraw, d.power_usage()).map(milli),
        limit_watts: r.get(FieldKey::PowerLimit, d.enforced_power_limit()).map(milli),
        management_limit_watts: r
            .get(FieldKey::PowerManagementLimit, d.power_management_limit())
            .map(milli),
        energy_joules: r
            .get(FieldKey::PowerEnergy, d.total_energy_consumption())
            .map(|mj| mj as f64 / 1000.0),
    };
    g.fan_percent = fan_percent(d, &mut r);
    g.clocks = Clocks {
        sm_mhz: r.get(FieldKey::ClocksSm, d.clock_info(Clock::SM)),
        memory_mhz: r.get(FieldKey::ClocksMemory, d.clock_info(Clock::Memory)),
        sm_max_mhz: r.get(FieldKey::ClocksSmMax, d.max_clock_info(Clock::SM)),
        memory_max_mhz: r.get(FieldKey::ClocksMemoryMax, d.max_clock_info(Clock::Memory)),
    };
    g.performance_state =
        r.get(FieldKey::PerformanceState, d.performance_state()).and_then(pstate_number);
    if options.pcie_throughput {
        // NVML gives KB/s.
        g.pcie = Pcie {
            tx_bytes_per_second: r
                .get(FieldKey::PcieTx, d.pcie_throughput(PcieUtilCounter::Send))
                .map(|k| u64::from(k) * 1024),
            rx_bytes_per_second: r
                .get(FieldKey::PcieRx, d.pcie_throughput(PcieUtilCounter::Receive))
                .map(|k| u64::from(k) * 1024),
        };
    }
    if let Some(reasons) = r.get(FieldKey::Throttle, d.current_throttle_reasons()) {
        g.throttle = Throttle::from_mask(reasons.bits());
    }
    g.ecc = Ecc {
        corrected: r.get(
            FieldKey::EccCorrected,
            d.total_ecc_errors(MemoryError::Corrected, EccCounter::Volatile),
        ),
        uncorrected: r.get(
            FieldKey::EccUncorrected,
            d.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Volatile),
        ),
    };
    g.mig_enabled = r.get(FieldKey::MigEnabled, d.mig_mode()).map(|m| m.current == 1);
    g.persistence_mode = r.get(FieldKey::PersistenceMode, d.is_in_persistent_mode());
    if g.mig_enabled == Some(true) {
        g.mig_instances = r.get(FieldKey::MigInstances, mig_instances(d));
    }
    g.processes = processes(d, &mut r);
    if options.details != DetailLevel::None {
        let bus_id = g.pci_bus_id.as_deref();
        g.details = Some(Box::new(details(d, bus_id, options.details, &mut r)));
    }

    if r.lost {
        g.status = GpuStatus::Lost;
        g.error = Some("GPU is lost".into());
    }
    g.missing = r.missing;
    g
}

pub(super) fn milli(v: u32) -> f64 {
    f64::from(v) / 1000.0
}

/// The first fan's speed; passively cooled cards have none (NOT_SUPPORTED → `None`).
pub(super) fn fan_percent(d: &Device, r: &mut Reader) -> Option<u32> {
    match r.get(FieldKey::FanPercent, d.num_fans()) {
        Some(0) => {
            r.missing.insert(
                FieldKey::FanPercent,
                Missing { reason: MissingReason::NotSupported, nvml_code: None },
            );
            None
        }
        _ => r.get(FieldKey::FanPercent, d.fan_speed(0)),
    }
}

pub(super) fn pstate_number(p: PerformanceState) -> Option<u8> {
    use PerformanceState::*;
    let all = [
        Zero, One, Two, Three, Four, Five, Six, Seven, Eight, Nine, Ten, Eleven, Twelve, Thirteen,
        Fourteen, Fifteen,
    ];
    all.iter().position(|s| *s == p).map(|i| i as u8)
}

/// The MIG devices of a GPU with MIG on, in NVML's slots (empty slots are NOT_FOUND).
pub(super) fn mig_instances(d: &Device) -> Result<Vec<MigInstance>, NvmlError> {
    let mut instances = Vec::new();
    for index in 0..d.mig_device_count()? {
        let m = match d.mig_device_by_index(index) {
            Ok(m) => m,
            Err(NvmlError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        let memory = m.memory_info().ok();
        instances.push(MigInstance {
            index,
            uuid: m.uuid().ok(),
            // "NVIDIA H100 80GB HBM3 MIG 3g.40gb"
            profile: m.name().ok().and_then(|n| Some(n.split_once(" MIG ")?.1.to_string())),
            gpu_instance_id: ffi::gpu_instance_id(&m).ok(),
            compute_instance_id: ffi::compute_instance_id(&m).ok(),
            memory: Memory {
                total_bytes: memory.as_ref().map(|m| m.total),
                used_bytes: memory.as_ref().map(|m| m.used),
                free_bytes: memory.as_ref().map(|m| m.free),
                reserved_bytes: memory.as_ref().map(|m| m.reserved),
            },
            activity: None,
        });
    }
    Ok(instances)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pstates_are_numbered() {
        assert_eq!(pstate_number(PerformanceState::Zero), Some(0));
        assert_eq!(pstate_number(PerformanceState::Twelve), Some(12));
        assert_eq!(pstate_number(PerformanceState::Unknown), None);
    }
}
