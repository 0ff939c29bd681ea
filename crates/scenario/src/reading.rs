//! What NVML answers for a simulated GPU at a time `t`: each metric's value, NOT_SUPPORTED
//! where the scenario leaves it out, or the error injected into it.

use crate::board::hex_bytes;
use crate::{
    ErrorCode, GpmSpec, GpuSpec, Metric, MigSpec, NvlinkSpec, PlatformSpec, ProcessSpec, Reading,
    RecoveryActionSpec, RemappedRowsSpec, Signal, EVENT_DOUBLE_BIT_ECC, EVENT_PSTATE,
    EVENT_SINGLE_BIT_ECC, EVENT_XID_CRITICAL, MIB,
};

impl GpuSpec {
    fn read<T>(&self, metric: Metric, value: Option<T>) -> Reading<T> {
        if let Some(code) = self.errors.get(&metric) {
            return Err(*code);
        }
        value.ok_or(ErrorCode::NotSupported)
    }

    fn read_signal(&self, metric: Metric, signal: &Option<Signal>, t: f64) -> Reading<f64> {
        self.read(metric, signal.as_ref().map(|s| s.at(t)))
    }

    /// NVML reads some metrics in pairs (GPU and memory utilization, TX and RX): the pair is
    /// supported when its first member is given; a missing second member reads 0.
    fn read_pair(
        &self,
        metric: Metric,
        first: &Option<Signal>,
        second: &Option<Signal>,
        t: f64,
    ) -> Reading<(f64, f64)> {
        let a = self.read_signal(metric, first, t)?;
        Ok((a, second.as_ref().map_or(0.0, |s| s.at(t))))
    }

    pub fn uuid(&self, index: usize) -> Reading<String> {
        let default = || format!("GPU-{:08x}-fake-4000-8000-{:012x}", 0x6770_0000 + index, index);
        self.read(Metric::Uuid, Some(self.uuid.clone().unwrap_or_else(default)))
    }

    pub fn name(&self) -> Reading<String> {
        self.read(Metric::Name, Some(self.name.clone()))
    }

    pub fn pci_bus_id(&self, index: usize) -> Reading<String> {
        let default = || format!("00000000:{:02X}:00.0", index + 1);
        self.read(Metric::Pci, Some(self.pci_bus_id.clone().unwrap_or_else(default)))
    }

    /// The processes that exist at time `t`.
    pub fn processes_at(&self, t: f64) -> Reading<Vec<&ProcessSpec>> {
        self.read(Metric::Processes, Some(()))?;
        Ok(self.processes.iter().filter(|p| p.is_active(t)).collect())
    }

    /// (total, reserved, allocated) in bytes, as `nvmlMemory_v2_t` has them: allocated is
    /// the GPU's own use plus its processes', and excludes what the driver and firmware
    /// reserve; free is what is left of the three.
    pub fn memory_bytes(&self, t: f64) -> Reading<(u64, u64, u64)> {
        self.read(Metric::Memory, Some(()))?;
        let total = self.memory_total_mib * MIB;
        let reserved = (self.memory_reserved_mib * MIB).min(total);
        let own = self.memory_used_mib.as_ref().map_or(0.0, |s| s.at(t));
        let procs: f64 = self
            .processes
            .iter()
            .filter(|p| p.is_active(t))
            .filter_map(|p| p.used_memory_mib.as_ref().map(|s| s.at(t)))
            .sum();
        let allocated = (((own + procs) * MIB as f64) as u64).min(total - reserved);
        Ok((total, reserved, allocated))
    }

    /// The power management limit in mW (the enforced one unless the scenario sets it).
    pub fn power_management_limit_mw(&self) -> Reading<u32> {
        let watts = self.power_management_limit_w.or(self.power_limit_w);
        self.read(Metric::PowerLimit, watts.map(|w| (w * 1000.0) as u32))
    }

    /// How long a call made `since_init` seconds after `nvmlInit` blocks (`hangs_between_s`):
    /// `None` when it does not, infinite when it never returns.
    pub fn hang_left(&self, since_init: f64) -> Option<f64> {
        match self.hangs_between_s.as_deref()? {
            [from] if since_init >= *from => Some(f64::INFINITY),
            [from, to, ..] if since_init >= *from && since_init < *to => Some(to - since_init),
            _ => None,
        }
    }

    /// Whether the GPU is off the bus `since_init` seconds after `nvmlInit`.
    pub fn is_lost(&self, since_init: f64) -> bool {
        self.lost
            || self.lost_between_s.as_deref().is_some_and(|span| match span {
                [from] => since_init >= *from,
                [from, to, ..] => since_init >= *from && since_init < *to,
                [] => false,
            })
    }

    /// NOT_SUPPORTED with MIG on (nvml.h: "On MIG-enabled GPUs, querying device utilization
    /// rates is not currently supported").
    pub fn utilization(&self, t: f64) -> Reading<(u32, u32)> {
        if self.mig_enabled == Some(true) {
            return Err(ErrorCode::NotSupported);
        }
        let (gpu, mem) = self.read_pair(
            Metric::Utilization,
            &self.utilization_gpu,
            &self.utilization_memory,
            t,
        )?;
        Ok((percent(gpu), percent(mem)))
    }

    pub fn temperature(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Temperature, &self.temperature_c, t).map(|v| v.round() as u32)
    }

    pub fn temperature_thresholds(&self) -> Reading<(u32, u32)> {
        let both = self.temperature_slowdown_c.zip(self.temperature_shutdown_c);
        self.read(Metric::TemperatureThresholds, both)
    }

    pub fn power_mw(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Power, &self.power_w, t).map(|w| (w * 1000.0) as u32)
    }

    pub fn power_limit_mw(&self) -> Reading<u32> {
        self.read(Metric::PowerLimit, self.power_limit_w.map(|w| (w * 1000.0) as u32))
    }

    pub fn fan(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Fan, &self.fan_pct, t).map(percent)
    }

    pub fn clocks(&self, t: f64) -> Reading<(u32, u32)> {
        let (sm, mem) =
            self.read_pair(Metric::Clocks, &self.clock_sm_mhz, &self.clock_mem_mhz, t)?;
        Ok((sm as u32, mem as u32))
    }

    pub fn max_clocks(&self) -> Reading<(u32, u32)> {
        self.read(Metric::MaxClocks, self.clock_sm_max_mhz.zip(self.clock_mem_max_mhz))
    }

    pub fn pstate(&self) -> Reading<u32> {
        self.read(Metric::Pstate, self.pstate)
    }

    pub fn encoder(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Encoder, &self.encoder_pct, t).map(percent)
    }

    pub fn decoder(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Decoder, &self.decoder_pct, t).map(percent)
    }

    /// (TX, RX) in KB/s.
    pub fn pcie_kbps(&self, t: f64) -> Reading<(u32, u32)> {
        let (tx, rx) = self.read_pair(Metric::Pcie, &self.pcie_tx_kbps, &self.pcie_rx_kbps, t)?;
        Ok((tx as u32, rx as u32))
    }

    /// The reasons active at `t`.
    pub fn throttle_reasons(&self, t: f64) -> Reading<u64> {
        let on = self.throttle_active.as_ref().is_none_or(|a| a.is_on(t));
        self.read(Metric::Throttle, self.throttle_reasons.map(|mask| if on { mask } else { 0 }))
    }

    /// (corrected, uncorrected) volatile totals.
    pub fn ecc(&self) -> Reading<(u64, u64)> {
        self.read(Metric::Ecc, self.ecc_corrected.zip(self.ecc_uncorrected))
    }

    /// One ECC counter of a memory location (`nvmlMemoryErrorType_t` 0 corrected, 1
    /// uncorrected; `nvmlEccCounterType_t` 0 volatile, 1 aggregate; `nvmlMemoryLocation_t`).
    /// ECC off (no volatile totals) is NOT_SUPPORTED, as is a location the GPU does not count.
    pub fn memory_error_counter(&self, error: u32, counter: u32, location: u32) -> Reading<u64> {
        self.ecc()?;
        let l = self.ecc_locations.unwrap_or_default();
        let counts = match location {
            0 => l.l1_cache,
            1 => l.l2_cache,
            2 => l.dram,
            3 => l.register_file,
            4 => l.texture_memory,
            5 => l.texture_shm,
            6 => l.cbu,
            7 => l.sram,
            _ => None,
        };
        let slot = (counter as usize) * 2 + error as usize;
        self.read(Metric::Ecc, counts.and_then(|c| c.get(slot).copied()))
    }

    /// (corrected, uncorrected) lifetime totals.
    pub fn ecc_aggregate(&self) -> Reading<(u64, u64)> {
        let volatile = self.ecc()?;
        Ok(self.ecc_aggregate.map_or(volatile, |[c, u]| (c, u)))
    }

    pub fn nvlink(&self) -> Reading<NvlinkSpec> {
        self.read(Metric::Nvlink, self.nvlink)
    }

    /// One NVLink error counter summed over the links (DL_REPLAY 0, DL_RECOVERY 1,
    /// DL_CRC_FLIT 2, DL_CRC_DATA 3); `nvlink_error_counters` in `errors` fails it alone.
    pub fn nvlink_error_counter(&self, counter: u32) -> Reading<u64> {
        let n = self.nvlink()?;
        let value = match counter {
            0 => n.replay,
            1 => n.recovery,
            2 => n.crc_flit,
            3 => n.crc_data,
            _ => return Err(ErrorCode::InvalidArgument),
        };
        self.read(Metric::NvlinkErrorCounters, Some(value))
    }

    pub fn mig(&self) -> Reading<bool> {
        self.read(Metric::Mig, self.mig_enabled)
    }

    /// The MIG devices that exist: none unless MIG mode is on.
    pub fn mig_devices(&self) -> &[MigSpec] {
        if self.mig_enabled == Some(true) {
            &self.mig_instances
        } else {
            &[]
        }
    }

    /// A MIG device's (total, used) bytes at `t`: its own use plus its processes'.
    pub fn mig_memory_bytes(&self, mig: &MigSpec, t: f64) -> (u64, u64) {
        let total = mig.memory_total_mib * MIB;
        let own = mig.memory_used_mib.as_ref().map_or(0.0, |s| s.at(t)) as u64 * MIB;
        let procs: u64 = self
            .processes
            .iter()
            .filter(|p| p.gpu_instance_id == Some(mig.gpu_instance_id) && p.is_active(t))
            .filter_map(|p| p.used_memory_bytes(t))
            .sum();
        (total, (own + procs).min(total))
    }

    pub fn serial(&self) -> Reading<String> {
        self.read(Metric::Serial, self.serial.clone())
    }

    /// The fabric registration: (cluster UUID bytes, status, clique id, state).
    pub fn fabric(&self) -> Reading<([u8; 16], u32, u32, u8)> {
        let info = self.fabric.as_ref().map(|f| {
            let status = f.status.map_or(0, ErrorCode::as_nvml_return);
            (hex_bytes(&f.cluster_uuid), status, f.clique_id, f.state as u8)
        });
        self.read(Metric::Nvlink, info)
    }

    /// The InfoROM image version.
    pub fn inforom_image(&self) -> Reading<String> {
        self.read(Metric::Inforom, self.inforom.as_ref().and_then(|i| i.image.clone()))
    }

    /// `nvmlDeviceValidateInforom`: SUCCESS, CORRUPTED_INFOROM, or NOT_SUPPORTED without an
    /// InfoROM.
    pub fn validate_inforom(&self) -> Reading<()> {
        let inforom = self.read(Metric::Inforom, self.inforom.as_ref())?;
        match inforom.checksum_valid {
            Some(false) => Err(ErrorCode::CorruptedInforom),
            _ => Ok(()),
        }
    }

    /// An InfoROM object's version: 0 OEM, 1 ECC, 2 power (`nvmlInforomObject_t`).
    pub fn inforom_object(&self, object: u32) -> Reading<String> {
        let inforom = self.inforom.as_ref();
        let version = inforom.and_then(|i| match object {
            0 => i.oem.clone(),
            1 => i.ecc.clone(),
            2 => i.power.clone(),
            _ => None,
        });
        self.read(Metric::Inforom, version)
    }

    /// GPU Operation Mode (current, pending) as `nvmlGpuOperationMode_t` values.
    pub fn operation_mode(&self) -> Reading<(u32, u32)> {
        let mode = self.gpu_operation_mode.map(|[c, p]| (c as u32, p as u32));
        self.read(Metric::OperationMode, mode)
    }

    pub fn temperature_memory(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::MemoryTemperature, &self.temperature_memory_c, t).map(|v| v as u32)
    }

    /// Power averaged over the last second and now, in mW (`NVML_FI_DEV_POWER_AVERAGE`,
    /// `NVML_FI_DEV_POWER_INSTANT`).
    pub fn power_average_instant_mw(&self, t: f64) -> Reading<(u32, u32)> {
        let signal = self.read(Metric::Power, self.power_w.as_ref())?;
        let average = signal.integral(t) - signal.integral(t - 1.0);
        Ok(((average * 1000.0) as u32, (signal.at(t) * 1000.0) as u32))
    }

    /// A module power field value in mW: `NVML_FI_DEV_POWER_AVERAGE` (185) and `_INSTANT`
    /// (186), the limits `_MIN_LIMIT` (187), `_MAX_LIMIT` (188), `_DEFAULT_LIMIT` (189),
    /// `_CURRENT_LIMIT` (190) and `_REQUESTED_LIMIT` (192).
    pub fn module_power_mw(&self, field: u32, t: f64) -> Reading<u32> {
        let m = self.read(Metric::Power, self.module_power.as_ref())?;
        let watts = match field {
            185 => m.draw_w.integral(t) - m.draw_w.integral(t - 1.0),
            186 => m.draw_w.at(t),
            187 => m.min_limit_w,
            188 => m.max_limit_w,
            189 => m.default_limit_w,
            190 => m.enforced_limit_w.unwrap_or(m.limit_w),
            192 => m.limit_w,
            _ => return Err(ErrorCode::NotSupported),
        };
        Ok((watts * 1000.0).round() as u32)
    }

    /// How long, in µs, the clocks have been held down for the reason `bit` (one of
    /// `nvmlClocksEventReason*`) in the `since_init` seconds to `t`: the clock event reason
    /// counters (`NVML_FI_DEV_CLOCKS_EVENT_REASON_*`) that nvidia-smi prints in µs.
    pub fn throttle_counter_us(&self, bit: u64, t: f64, since_init: f64) -> Reading<u64> {
        let mask = self.read(Metric::Throttle, self.throttle_reasons)?;
        if mask & bit == 0 {
            return Ok(0);
        }
        let seconds = match &self.throttle_active {
            None => since_init,
            Some(active) => active.on_time(t - since_init, t),
        };
        Ok((seconds.max(0.0) * 1e6) as u64)
    }

    pub fn vbios_version(&self) -> Reading<String> {
        self.read(Metric::Vbios, self.vbios_version.clone())
    }

    /// (generation, width), each (current, maximum).
    pub fn pcie_link(&self) -> Reading<([u32; 2], [u32; 2])> {
        self.read(Metric::PcieLink, self.pcie_link_gen.zip(self.pcie_link_width))
    }

    /// (min, max) of the power management limit, in W.
    pub fn power_limit_range(&self) -> Reading<[f64; 2]> {
        self.read(Metric::PowerLimitRange, self.power_limit_range_w)
    }

    /// The default power management limit, in W.
    pub fn power_default_limit(&self) -> Reading<f64> {
        let limit =
            self.power_default_limit_w.or(self.power_management_limit_w).or(self.power_limit_w);
        self.read(Metric::PowerLimit, limit)
    }

    pub fn accounting_buffer_size(&self) -> Reading<u32> {
        self.read(Metric::Accounting, self.accounting_buffer_size)
    }

    pub fn jpeg(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Decoder, &self.jpeg_pct, t).map(percent)
    }

    pub fn ofa(&self, t: f64) -> Reading<u32> {
        self.read_signal(Metric::Decoder, &self.ofa_pct, t).map(percent)
    }

    /// Degrees below the slowdown threshold (`nvmlDeviceGetMarginTemperature`, nvidia-smi's
    /// T.Limit): negative once past it.
    pub fn margin_temperature(&self, t: f64) -> Reading<i32> {
        let slowdown = self.read(Metric::TemperatureThresholds, self.temperature_slowdown_c)?;
        let now = self.read_signal(Metric::Temperature, &self.temperature_c, t)?;
        Ok(slowdown as i32 - now.round() as i32)
    }

    pub fn pci_class(&self) -> Reading<[u32; 2]> {
        self.read(Metric::Pci, self.pci_class)
    }

    pub fn power_management(&self) -> Reading<bool> {
        self.read(Metric::PowerManagement, self.power_management)
    }

    pub fn addressing_mode(&self) -> Reading<u32> {
        self.read(Metric::AddressingMode, self.addressing_mode.map(|m| m as u32))
    }

    pub fn dram_encryption(&self) -> Reading<[bool; 2]> {
        self.read(Metric::DramEncryption, self.dram_encryption)
    }

    pub fn gsp_firmware(&self) -> Reading<[bool; 2]> {
        self.read(Metric::Gsp, self.gsp_firmware)
    }

    pub fn c2c_enabled(&self) -> Reading<bool> {
        self.read(Metric::C2c, self.c2c_enabled)
    }

    /// Protected memory `[total, used]` in bytes.
    pub fn protected_memory(&self) -> Reading<[u64; 2]> {
        self.read(Metric::ConfCompute, self.protected_memory_mib.map(|m| m.map(|v| v << 20)))
    }

    pub fn recovery_action(&self) -> Reading<u32> {
        self.read(Metric::RecoveryAction, self.recovery_action.map(|a| a as u32))
    }

    /// One vGPU capability (`NVML_DEVICE_VGPU_CAP_*`: 0, 1, 2); another is NOT_SUPPORTED.
    pub fn vgpu_capability(&self, capability: u32) -> Reading<bool> {
        let caps = self.read(Metric::Vgpu, self.vgpu_capabilities)?;
        caps.get(capability as usize).copied().ok_or(ErrorCode::NotSupported)
    }

    /// The deprecated reset status fields, as the recovery action implies them: a reset is
    /// required, and a drain before it recommended.
    pub fn reset_status(&self) -> Reading<(bool, bool)> {
        let action = self.read(Metric::RecoveryAction, self.recovery_action)?;
        let reset =
            matches!(action, RecoveryActionSpec::GpuReset | RecoveryActionSpec::DrainAndReset);
        Ok((reset, action == RecoveryActionSpec::DrainAndReset))
    }

    pub fn platform(&self) -> Reading<&PlatformSpec> {
        self.read(Metric::Platform, self.platform.as_ref())
    }

    pub fn module_id(&self) -> Reading<u32> {
        self.read(Metric::Platform, self.module_id)
    }

    pub fn pcie_link_gen_gpu_max(&self) -> Reading<u32> {
        self.read(Metric::PcieLink, self.pcie_link_gen_gpu_max)
    }

    pub fn accounting_mode(&self) -> Reading<bool> {
        self.read(Metric::Accounting, self.accounting_mode)
    }

    pub fn display_mode(&self) -> Reading<bool> {
        self.read(Metric::Display, self.display_mode)
    }

    pub fn remapped_rows(&self) -> Reading<RemappedRowsSpec> {
        self.read(Metric::RemappedRows, self.remapped_rows)
    }

    /// The pages retired for `cause` (`nvmlPageRetirementCause_t`): (address, timestamp).
    pub fn retired_pages(&self, cause: u32) -> Reading<Vec<(u64, u64)>> {
        let pages = self.retired_pages.as_ref().map(|pages| {
            pages
                .iter()
                .filter(|p| p.cause as u32 == cause)
                .map(|p| (p.address, p.timestamp))
                .collect()
        });
        self.read(Metric::RetiredPages, pages)
    }

    pub fn retired_pages_pending(&self) -> Reading<bool> {
        self.read(Metric::RetiredPages, self.retired_pages_pending)
    }

    /// The GPU's GPM metrics, when it has GPM.
    pub fn gpm(&self) -> Reading<&GpmSpec> {
        self.read(Metric::Gpm, self.gpm.as_ref())
    }

    pub fn clock_video(&self, t: f64) -> Reading<u32> {
        self.read(Metric::Clocks, self.clock_video_mhz.as_ref().map(|s| s.at(t) as u32))
    }

    pub fn applications_clocks(&self, default: bool) -> Reading<[u32; 2]> {
        let clocks = if default {
            self.default_applications_clocks_mhz.or(self.applications_clocks_mhz)
        } else {
            self.applications_clocks_mhz
        };
        self.read(Metric::ApplicationsClocks, clocks)
    }

    pub fn compute_capability(&self) -> Reading<[i32; 2]> {
        self.read(Metric::ComputeCapability, self.compute_capability)
    }

    pub fn encoder_stats(&self) -> Reading<[u32; 3]> {
        self.read(Metric::Encoder, self.encoder_stats)
    }

    pub fn pcie_replay_count(&self) -> Reading<u32> {
        self.read(Metric::PcieReplay, self.pcie_replay_count)
    }

    /// The `nvmlEventType*` bits this GPU can deliver: critical XIDs and P-state changes on
    /// every GPU, ECC events only where ECC is on (nvml.h, `nvmlDeviceRegisterEvents`).
    pub fn supported_events(&self) -> Reading<u64> {
        let ecc = if self.ecc().is_ok() { EVENT_SINGLE_BIT_ECC | EVENT_DOUBLE_BIT_ECC } else { 0 };
        self.read(Metric::Events, Some(EVENT_XID_CRITICAL | EVENT_PSTATE | ecc))
    }

    /// Total energy in mJ: the starting counter plus the simulated power's integral since
    /// t = 0 (a wave's by its mean).
    pub fn energy_mj(&self, t: f64) -> Reading<u64> {
        let start = self.read(Metric::Energy, self.energy_mj)?;
        // The counter restarts every 30 days, as if the driver had been reloaded.
        let t = t.max(0.0).rem_euclid(30.0 * 86_400.0);
        let joules = self.power_w.as_ref().map_or(0.0, |p| p.integral(t));
        Ok(start + (joules * 1000.0) as u64)
    }

    pub fn persistence(&self) -> Reading<bool> {
        self.read(Metric::Persistence, Some(self.persistence_mode))
    }

    /// Per-process (pid, sm %, mem %) for the processes that have utilization samples.
    pub fn process_utilization(&self, t: f64) -> Reading<Vec<(u32, u32, u32)>> {
        self.read(Metric::ProcessUtilization, Some(()))?;
        Ok(self
            .processes
            .iter()
            .filter(|p| p.is_active(t))
            .filter_map(|p| {
                let sm = p.sm_util.as_ref()?.at(t);
                let mem = p.mem_util.as_ref().map_or(0.0, |s| s.at(t));
                Some((p.pid, percent(sm), percent(mem)))
            })
            .collect())
    }
}

fn percent(v: f64) -> u32 {
    v.round().clamp(0.0, 100.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;

    const TWO_GPUS: &str = r#"
        [driver]
        version = "535.104.05"
        [[gpus]]
        name = "NVIDIA A100-SXM4-80GB"
        memory_total_mib = 81920
        memory_used_mib = 100
        utilization_gpu = 50
        utilization_memory = 10
        errors = { temperature = "NO_PERMISSION" }
        [[gpus.processes]]
        pid = 42
        used_memory_mib = 1000
        [[gpus]]
        name = "Tesla T4"
        lost = true
    "#;

    #[test]
    fn parses_and_reads_values() {
        let s = Scenario::from_toml(TWO_GPUS).unwrap();
        assert_eq!(s.driver.version, "535.104.05");
        let gpu = &s.gpus[0];
        assert_eq!(gpu.utilization(0.0), Ok((50, 10)));
        let (total, _, used) = gpu.memory_bytes(0.0).unwrap();
        assert_eq!(total, 81920 * MIB);
        assert_eq!(used, 1100 * MIB);
        assert!(s.gpus[1].lost);
    }

    #[test]
    fn missing_metric_is_not_supported_and_errors_are_injected() {
        let s = Scenario::from_toml(TWO_GPUS).unwrap();
        assert_eq!(s.gpus[0].fan(0.0), Err(ErrorCode::NotSupported));
        assert_eq!(s.gpus[0].temperature(0.0), Err(ErrorCode::NoPermission));
    }
}
