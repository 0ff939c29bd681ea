//! The `--query-gpu` properties nvidia-smi's list ends with, after the per-location ECC
//! counters: mostly those of recent drivers and platforms (T.Limit, GSP firmware, confidential
//! computing, GB200 modules and racks, vGPU capabilities). Read from `Details`, but for the
//! host's and Windows' own.

use super::field::Value::{Details, Sample};
use super::field::{enabled, n, supported, watts, yes_no, Field};
use crate::sample::{FieldKey, GpuSample};
use crate::text::units::mib;

pub(super) const NEWER_FIELDS: &[Field<GpuSample>] = &[
    Field {
        names: &["temperature.gpu.tlimit"],
        unit: None,
        missing: Some(FieldKey::TemperatureMargin),
        about: "How many degrees C the GPU is below its slowdown threshold (T.Limit); negative past it.",
        value: Details(|d| n(d.temperature_margin_celsius)),
    },
    Field {
        names: &["pcie.link.gen.hostmax"],
        unit: None,
        missing: None,
        about: "The highest PCIe link generation the GPU's slot supports.",
        value: Details(|d| n(d.pcie_link_gen_host_max)),
    },
    Field {
        names: &["pci.baseClass"],
        unit: None,
        missing: Some(FieldKey::PciClass),
        about: "The PCI base class code: 0x3, a display controller.",
        value: Details(|d| d.pci_class.map(|c| format!("0x{:X}", c.0))),
    },
    Field {
        names: &["pci.subClass"],
        unit: None,
        missing: Some(FieldKey::PciClass),
        about: "The PCI sub class code: 0x2 for a 3D controller, 0x0 for VGA.",
        value: Details(|d| d.pci_class.map(|c| format!("0x{:X}", c.1))),
    },
    // nvidia-smi's list: "Either "Supported" or "[Not Supported]"".
    Field {
        names: &["power.management"],
        unit: None,
        missing: Some(FieldKey::PowerManagement),
        about: "Whether the driver manages the board's power: Supported or [Not Supported].",
        value: Details(|d| {
            d.power_management.map(|on| if on { "Supported" } else { "[Not Supported]" }.into())
        }),
    },
    Field {
        names: &["addressing_mode"],
        unit: None,
        missing: Some(FieldKey::AddressingMode),
        about: "How the GPU shares the CPU's address space: HMM, ATS or None (drivers 575 and later).",
        value: Details(|d| d.addressing_mode.map(|m| m.label().to_string())),
    },
    Field {
        names: &["dramEncryption.mode.current"],
        unit: None,
        missing: Some(FieldKey::DramEncryption),
        about: "Whether GPU memory is encrypted now (Blackwell).",
        value: Details(|d| enabled(d.dram_encryption.map(|e| e.0))),
    },
    Field {
        names: &["dramEncryption.mode.pending"],
        unit: None,
        missing: Some(FieldKey::DramEncryption),
        about: "Whether GPU memory will be encrypted after the next reboot.",
        value: Details(|d| enabled(d.dram_encryption.map(|e| e.1))),
    },
    Field {
        names: &["gsp.mode.current"],
        unit: None,
        missing: Some(FieldKey::GspFirmware),
        about: "Whether the GPU System Processor firmware runs the GPU.",
        value: Details(|d| enabled(d.gsp_firmware.map(|m| m.0))),
    },
    Field {
        names: &["gsp.mode.default"],
        unit: None,
        missing: Some(FieldKey::GspFirmware),
        about: "Whether the GSP firmware runs by default on this GPU.",
        value: Details(|d| enabled(d.gsp_firmware.map(|m| m.1))),
    },
    Field {
        names: &["c2c.mode"],
        unit: None,
        missing: Some(FieldKey::C2cEnabled),
        about: "Whether the chip-to-chip link to a Grace CPU is on (GH200, GB200).",
        value: Details(|d| enabled(d.c2c_enabled)),
    },
    Field {
        names: &["protected_memory.total"],
        unit: Some("MiB"),
        missing: Some(FieldKey::ProtectedMemory),
        about: "Confidential computing's protected GPU memory, in MiB.",
        value: Details(|d| n(d.protected_memory_bytes.map(|m| mib(m.0)))),
    },
    Field {
        names: &["protected_memory.used"],
        unit: Some("MiB"),
        missing: Some(FieldKey::ProtectedMemory),
        about: "Protected memory in use, in MiB.",
        value: Details(|d| n(d.protected_memory_bytes.map(|m| mib(m.1)))),
    },
    Field {
        names: &["protected_memory.free"],
        unit: Some("MiB"),
        missing: Some(FieldKey::ProtectedMemory),
        about: "Protected memory free, in MiB.",
        value: Details(|d| n(d.protected_memory_bytes.map(|m| mib(m.0.saturating_sub(m.1))))),
    },
    Field {
        names: &["gpu_recovery_action"],
        unit: None,
        missing: Some(FieldKey::RecoveryAction),
        about: "What the driver asks for to recover the GPU: None, Reset, Reboot, Drain P2P or Drain and Reset.",
        value: Details(|d| d.recovery_action.map(|a| a.label().to_string())),
    },
    Field {
        names: &["kmd_version"],
        unit: None,
        missing: None,
        about: "The version of the NVIDIA kernel module.",
        value: Details(|d| d.kmd_version.clone()),
    },
    Field {
        names: &["module.power.draw.average"],
        unit: Some("W"),
        missing: Some(FieldKey::ModulePower),
        about: "The whole module's power (GPU, CPU and memory of a GB200), averaged over a second, in watts.",
        value: Details(|d| watts(d.module_power.and_then(|m| m.draw_average_watts))),
    },
    Field {
        names: &["module.power.draw.instant"],
        unit: Some("W"),
        missing: Some(FieldKey::ModulePower),
        about: "The whole module's power at this instant, in watts.",
        value: Details(|d| watts(d.module_power.and_then(|m| m.draw_instant_watts))),
    },
    Field {
        names: &["module.power.limit"],
        unit: Some("W"),
        missing: Some(FieldKey::ModulePower),
        about: "The module's power limit as set, in watts.",
        value: Details(|d| watts(d.module_power.and_then(|m| m.limit_watts))),
    },
    Field {
        names: &["module.enforced.power.limit"],
        unit: Some("W"),
        missing: Some(FieldKey::ModulePower),
        about: "The module's power limit in force, in watts.",
        value: Details(|d| watts(d.module_power.and_then(|m| m.enforced_limit_watts))),
    },
    Field {
        names: &["module.power.default_limit"],
        unit: Some("W"),
        missing: Some(FieldKey::ModulePower),
        about: "The module's default power limit, in watts.",
        value: Details(|d| watts(d.module_power.and_then(|m| m.default_limit_watts))),
    },
    Field {
        names: &["module.power.min_limit"],
        unit: Some("W"),
        missing: Some(FieldKey::ModulePower),
        about: "The lowest the module's power limit can be set to, in watts.",
        value: Details(|d| watts(d.module_power.and_then(|m| m.min_limit_watts))),
    },
    Field {
        names: &["module.power.max_limit"],
        unit: Some("W"),
        missing: Some(FieldKey::ModulePower),
        about: "The highest the module's power limit can be set to, in watts.",
        value: Details(|d| watts(d.module_power.and_then(|m| m.max_limit_watts))),
    },
    Field {
        names: &["reset_status.reset_required"],
        unit: None,
        missing: Some(FieldKey::ResetRequired),
        about: "Whether the GPU needs a reset (deprecated: gpu_recovery_action).",
        value: Details(|d| yes_no(d.reset_required)),
    },
    Field {
        names: &["reset_status.drain_and_reset_recommended"],
        unit: None,
        missing: Some(FieldKey::DrainAndResetRecommended),
        about: "Whether draining the GPU's work and resetting it is recommended (deprecated: gpu_recovery_action).",
        value: Details(|d| yes_no(d.drain_and_reset_recommended)),
    },
    Field {
        names: &["vgpu_driver_capability.heterogenous_multivGPU"],
        unit: None,
        missing: Some(FieldKey::VgpuHeterogeneousMultiVgpu),
        about: "Whether the vGPU host driver runs vGPUs of different types on one GPU.",
        value: Details(|d| supported(d.vgpu_heterogeneous_multi_vgpu)),
    },
    Field {
        names: &["vgpu_device_capability.fractional_multiVgpu"],
        unit: None,
        missing: Some(FieldKey::VgpuCapabilities),
        about: "Whether this GPU's fractional vGPU profiles can be used in multi-vGPU set-ups.",
        value: Details(|d| supported(d.vgpu_capabilities.map(|c| c.fractional_multi_vgpu))),
    },
    Field {
        names: &["vgpu_device_capability.heterogeneous_timeSlice_profile"],
        unit: None,
        missing: Some(FieldKey::VgpuCapabilities),
        about: "Whether time-sliced vGPUs of different profiles run on this GPU at once.",
        value: Details(|d| {
            supported(d.vgpu_capabilities.map(|c| c.heterogeneous_timeslice_profiles))
        }),
    },
    Field {
        names: &["vgpu_device_capability.heterogeneous_timeSlice_sizes"],
        unit: None,
        missing: Some(FieldKey::VgpuCapabilities),
        about: "Whether time-sliced vGPUs of different memory sizes run on this GPU at once.",
        value: Details(|d| supported(d.vgpu_capabilities.map(|c| c.heterogeneous_timeslice_sizes))),
    },
    Field {
        names: &["platform.chassis_serial_number"],
        unit: None,
        missing: Some(FieldKey::Platform),
        about: "The serial number of the rack's chassis (GB200 NVL).",
        value: Details(|d| d.platform.as_ref().map(|p| p.chassis_serial_number.clone())),
    },
    Field {
        names: &["platform.slot_number"],
        unit: None,
        missing: Some(FieldKey::Platform),
        about: "The chassis slot of the GPU's compute tray.",
        value: Details(|d| n(d.platform.as_ref().map(|p| p.slot_number))),
    },
    Field {
        names: &["platform.tray_index"],
        unit: None,
        missing: Some(FieldKey::Platform),
        about: "The index of the GPU's compute tray.",
        value: Details(|d| n(d.platform.as_ref().map(|p| p.tray_index))),
    },
    Field {
        names: &["platform.host_id"],
        unit: None,
        missing: Some(FieldKey::Platform),
        about: "The host within the compute tray.",
        value: Details(|d| n(d.platform.as_ref().map(|p| p.host_id))),
    },
    Field {
        names: &["platform.peer_type"],
        unit: None,
        missing: Some(FieldKey::Platform),
        about: "How the GPU's peers connect to it, as the driver numbers it.",
        value: Details(|d| n(d.platform.as_ref().map(|p| p.peer_type))),
    },
    // The rack's module id where the platform says, else the board's.
    Field {
        names: &["platform.module_id"],
        unit: None,
        missing: Some(FieldKey::ModuleId),
        about: "The GPU's module on its board or tray.",
        value: Details(|d| n(d.platform.as_ref().map(|p| u32::from(p.module_id)).or(d.module_id))),
    },
    Field {
        names: &["platform.gpu_fabric_guid"],
        unit: None,
        missing: Some(FieldKey::Platform),
        about: "The GPU's InfiniBand fabric GUID.",
        value: Details(|d| d.platform.as_ref().map(|p| p.fabric_guid.clone())),
    },
    // Windows' driver model: nvidia-smi prints [N/A] for it on Linux.
    Field {
        names: &["driver_model.current"],
        unit: None,
        missing: None,
        about: "The Windows driver model (WDDM or TCC); [N/A] on Linux.",
        value: Sample(|_, _| None),
    },
    Field {
        names: &["driver_model.pending"],
        unit: None,
        missing: None,
        about: "The Windows driver model after the next reboot; [N/A] on Linux.",
        value: Sample(|_, _| None),
    },

];
