//! NVIDIA dcgm-exporter's metric names and labels: each metric is named after its DCGM field
//! and declared as a row of dcgm-exporter's counters file (field, type, help), with the units
//! DCGM gives (percent, MiB, MHz, mJ). `gputop serve --dcgm-names` writes the ones it can fill;
//! the Prometheus source reads them from either exporter.

use super::Metric;
use super::Unit::*;

// The labels.
pub const GPU: &str = "gpu";
pub const UUID: &str = "UUID";
pub const DEVICE: &str = "device";
pub const MODEL_NAME: &str = "modelName";
/// The host's name, as dcgm-exporter writes it since its PR #655 (merged in May 2026, after
/// 4.5.3-4.8.2): `hostname`, the same as gputop's own label. Its template
/// (internal/pkg/rendermetrics/render_metrics.go) writes
/// `gpu, UUID, pci_bus_id, device, modelName, [GPU_I_PROFILE, GPU_I_ID,] hostname`, then
/// DCGM_FI_DRIVER_VERSION and the pod's labels.
pub const HOSTNAME: &str = "hostname";
/// The host's name as dcgm-exporter wrote it before (3.x and 4.x up to 4.5.3-4.8.2): still
/// read, from exporters not yet upgraded.
pub const OLD_HOSTNAME: &str = "Hostname";
pub const DRIVER_VERSION: &str = "DCGM_FI_DRIVER_VERSION";
/// The GPU's PCI address as NVML and DCGM spell it, an 8-digit domain first:
/// `00000000:17:00.0` (dcgm-exporter's PR #326, since 3.3.7-3.5.0).
pub const PCI_BUS_ID: &str = "pci_bus_id";
pub const GPU_I_PROFILE: &str = "GPU_I_PROFILE";
pub const GPU_I_ID: &str = "GPU_I_ID";
// The workload a GPU is given to, where dcgm-exporter maps GPUs to Kubernetes pods or HPC jobs.
pub const POD: &str = "pod";
pub const NAMESPACE: &str = "namespace";
pub const CONTAINER: &str = "container";
pub const HPC_JOB: &str = "hpc_job";

/// The labels of every GPU's series, in dcgm-exporter's order.
pub const GPU_LABELS: [&str; 7] =
    [GPU, UUID, PCI_BUS_ID, DEVICE, MODEL_NAME, HOSTNAME, DRIVER_VERSION];
/// A MIG device's labels after its GPU's, on the GPU's metrics that a MIG device has too
/// (frame buffer, profiling).
pub const MIG_LABELS: &[&str] = &[GPU_I_PROFILE, GPU_I_ID];

const fn gauge(field: &'static str, unit: super::Unit, help: &'static str) -> Metric {
    Metric::gauge(field, unit, help)
}

pub const XID_ERRORS: Metric =
    gauge("DCGM_FI_DEV_XID_ERRORS", Number, "Value of the last XID error encountered.");
pub const GPU_UTIL: Metric = gauge("DCGM_FI_DEV_GPU_UTIL", Percent, "GPU utilization (in %).");
pub const MEM_COPY_UTIL: Metric =
    gauge("DCGM_FI_DEV_MEM_COPY_UTIL", Percent, "Memory utilization (in %).");
pub const ENC_UTIL: Metric = gauge("DCGM_FI_DEV_ENC_UTIL", Percent, "Encoder utilization (in %).");
pub const DEC_UTIL: Metric = gauge("DCGM_FI_DEV_DEC_UTIL", Percent, "Decoder utilization (in %).");
pub const FB_USED: Metric =
    gauge("DCGM_FI_DEV_FB_USED", Mebibytes, "Framebuffer memory used (in MiB).");
pub const FB_FREE: Metric =
    gauge("DCGM_FI_DEV_FB_FREE", Mebibytes, "Framebuffer memory free (in MiB).");
/// Read, not written (dcgm-exporter's newer versions have it).
pub const FB_RESERVED: Metric =
    gauge("DCGM_FI_DEV_FB_RESERVED", Mebibytes, "Framebuffer memory reserved (in MiB).");
/// Read, not written (where dcgm-exporter's configuration has it).
pub const FB_TOTAL: Metric =
    gauge("DCGM_FI_DEV_FB_TOTAL", Mebibytes, "Framebuffer memory total (in MiB).");
pub const GPU_TEMP: Metric = gauge("DCGM_FI_DEV_GPU_TEMP", Celsius, "GPU temperature (in C).");
pub const POWER_USAGE: Metric = gauge("DCGM_FI_DEV_POWER_USAGE", Watts, "Power draw (in W).");
/// Read, not written (where dcgm-exporter's configuration has it).
pub const POWER_MGMT_LIMIT: Metric =
    gauge("DCGM_FI_DEV_POWER_MGMT_LIMIT", Watts, "Power management limit (in W).");
pub const SM_CLOCK: Metric =
    gauge("DCGM_FI_DEV_SM_CLOCK", Megahertz, "SM clock frequency (in MHz).");
pub const MEM_CLOCK: Metric =
    gauge("DCGM_FI_DEV_MEM_CLOCK", Megahertz, "Memory clock frequency (in MHz).");
pub const TOTAL_ENERGY_CONSUMPTION: Metric = gauge(
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    Millijoules,
    "Total energy consumption since boot (in mJ).",
);
pub const PCIE_TX_THROUGHPUT: Metric =
    gauge("DCGM_FI_DEV_PCIE_TX_THROUGHPUT", KibibytesPerSecond, "PCIe TX throughput (in KB/s).");
pub const PCIE_RX_THROUGHPUT: Metric =
    gauge("DCGM_FI_DEV_PCIE_RX_THROUGHPUT", KibibytesPerSecond, "PCIe RX throughput (in KB/s).");
pub const CLOCK_THROTTLE_REASONS: Metric = gauge(
    "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS",
    Bitmask,
    "Current clock throttle reasons (bitmask).",
);
pub const ECC_SBE_VOL_TOTAL: Metric = gauge(
    "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
    Count,
    "Total number of single-bit volatile ECC errors.",
);
pub const ECC_DBE_VOL_TOTAL: Metric = gauge(
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
    Count,
    "Total number of double-bit volatile ECC errors.",
);

// The board's memory and link health.
pub const PCIE_LINK_GEN: Metric =
    gauge("DCGM_FI_DEV_PCIE_LINK_GEN", Number, "PCIe link generation.");
pub const PCIE_MAX_LINK_GEN: Metric =
    gauge("DCGM_FI_DEV_PCIE_MAX_LINK_GEN", Number, "PCIe maximum link generation.");
pub const PCIE_LINK_WIDTH: Metric = gauge("DCGM_FI_DEV_PCIE_LINK_WIDTH", Count, "PCIe link width.");
pub const PCIE_MAX_LINK_WIDTH: Metric =
    gauge("DCGM_FI_DEV_PCIE_MAX_LINK_WIDTH", Count, "PCIe maximum link width.");
pub const UNCORRECTABLE_REMAPPED_ROWS: Metric = gauge(
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
    Count,
    "Number of remapped rows for uncorrectable errors.",
);
pub const CORRECTABLE_REMAPPED_ROWS: Metric = gauge(
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
    Count,
    "Number of remapped rows for correctable errors.",
);
pub const ROW_REMAP_FAILURE: Metric =
    gauge("DCGM_FI_DEV_ROW_REMAP_FAILURE", Flag, "Whether remapping of rows has failed.");
pub const ROW_REMAP_PENDING: Metric =
    gauge("DCGM_FI_DEV_ROW_REMAP_PENDING", Flag, "Whether remapping of rows is pending.");
pub const RETIRED_PENDING: Metric =
    gauge("DCGM_FI_DEV_RETIRED_PENDING", Flag, "Whether pages are pending retirement.");
pub const PCIE_REPLAY_COUNTER: Metric =
    gauge("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", Count, "Total number of PCIe retries.");
pub const ECC_SBE_AGG_TOTAL: Metric = gauge(
    "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL",
    Count,
    "Total number of single-bit persistent ECC errors.",
);
pub const ECC_DBE_AGG_TOTAL: Metric = gauge(
    "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL",
    Count,
    "Total number of double-bit persistent ECC errors.",
);
pub const NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL: Metric = gauge(
    "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL",
    Count,
    "Total number of NVLink flow-control CRC errors.",
);
pub const NVLINK_CRC_DATA_ERROR_COUNT_TOTAL: Metric = gauge(
    "DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL",
    Count,
    "Total number of NVLink data CRC errors.",
);
pub const NVLINK_REPLAY_ERROR_COUNT_TOTAL: Metric =
    gauge("DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL", Count, "Total number of NVLink retries.");
pub const NVLINK_RECOVERY_ERROR_COUNT_TOTAL: Metric = gauge(
    "DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL",
    Count,
    "Total number of NVLink recovery errors.",
);

// Profiling (GPM) fields, where dcgm-exporter's configuration has them.
pub const SM_ACTIVE: Metric = gauge(
    "DCGM_FI_PROF_SM_ACTIVE",
    Ratio,
    "The ratio of cycles an SM has at least 1 warp assigned.",
);
pub const SM_OCCUPANCY: Metric =
    gauge("DCGM_FI_PROF_SM_OCCUPANCY", Ratio, "The ratio of number of warps resident on an SM.");
pub const PIPE_TENSOR_ACTIVE: Metric = gauge(
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    Ratio,
    "Ratio of cycles the tensor (HMMA) pipe is active.",
);
pub const DRAM_ACTIVE: Metric = gauge(
    "DCGM_FI_PROF_DRAM_ACTIVE",
    Ratio,
    "Ratio of cycles the device memory interface is active sending or receiving data.",
);
pub const PIPE_FP64_ACTIVE: Metric =
    gauge("DCGM_FI_PROF_PIPE_FP64_ACTIVE", Ratio, "Ratio of cycles the fp64 pipes are active.");
pub const PIPE_FP32_ACTIVE: Metric =
    gauge("DCGM_FI_PROF_PIPE_FP32_ACTIVE", Ratio, "Ratio of cycles the fp32 pipes are active.");
pub const PIPE_FP16_ACTIVE: Metric =
    gauge("DCGM_FI_PROF_PIPE_FP16_ACTIVE", Ratio, "Ratio of cycles the fp16 pipes are active.");
pub const PCIE_TX_BYTES: Metric = gauge(
    "DCGM_FI_PROF_PCIE_TX_BYTES",
    BytesPerSecond,
    "The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second.",
);
pub const PCIE_RX_BYTES: Metric = gauge(
    "DCGM_FI_PROF_PCIE_RX_BYTES",
    BytesPerSecond,
    "The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second.",
);
pub const NVLINK_TX_BYTES: Metric = gauge(
    "DCGM_FI_PROF_NVLINK_TX_BYTES",
    BytesPerSecond,
    "The rate of data transmitted over NVLink, not including protocol headers, in bytes per second.",
);
pub const NVLINK_RX_BYTES: Metric = gauge(
    "DCGM_FI_PROF_NVLINK_RX_BYTES",
    BytesPerSecond,
    "The rate of data received over NVLink, not including protocol headers, in bytes per second.",
);

/// Every dcgm-exporter metric gputop knows, written or read (for the tests that hold the table to its
/// conventions and to the exporter).
#[cfg(test)]
pub const ALL: &[&Metric] = &[
    &XID_ERRORS,
    &GPU_UTIL,
    &MEM_COPY_UTIL,
    &ENC_UTIL,
    &DEC_UTIL,
    &FB_USED,
    &FB_FREE,
    &FB_RESERVED,
    &FB_TOTAL,
    &GPU_TEMP,
    &POWER_USAGE,
    &POWER_MGMT_LIMIT,
    &SM_CLOCK,
    &MEM_CLOCK,
    &TOTAL_ENERGY_CONSUMPTION,
    &PCIE_TX_THROUGHPUT,
    &PCIE_RX_THROUGHPUT,
    &CLOCK_THROTTLE_REASONS,
    &ECC_SBE_VOL_TOTAL,
    &ECC_DBE_VOL_TOTAL,
    &PCIE_LINK_GEN,
    &PCIE_MAX_LINK_GEN,
    &PCIE_LINK_WIDTH,
    &PCIE_MAX_LINK_WIDTH,
    &UNCORRECTABLE_REMAPPED_ROWS,
    &CORRECTABLE_REMAPPED_ROWS,
    &ROW_REMAP_FAILURE,
    &ROW_REMAP_PENDING,
    &RETIRED_PENDING,
    &PCIE_REPLAY_COUNTER,
    &ECC_SBE_AGG_TOTAL,
    &ECC_DBE_AGG_TOTAL,
    &NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL,
    &NVLINK_CRC_DATA_ERROR_COUNT_TOTAL,
    &NVLINK_REPLAY_ERROR_COUNT_TOTAL,
    &NVLINK_RECOVERY_ERROR_COUNT_TOTAL,
    &SM_ACTIVE,
    &SM_OCCUPANCY,
    &PIPE_TENSOR_ACTIVE,
    &DRAM_ACTIVE,
    &PIPE_FP64_ACTIVE,
    &PIPE_FP32_ACTIVE,
    &PIPE_FP16_ACTIVE,
    &PCIE_TX_BYTES,
    &PCIE_RX_BYTES,
    &NVLINK_TX_BYTES,
    &NVLINK_RX_BYTES,
];
