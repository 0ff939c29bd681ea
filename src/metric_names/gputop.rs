//! gputop's own metric names (`gputop serve`), by Prometheus conventions: base units, `_ratio`
//! for 0 to 1, counters for running totals; and the labels they carry.

use super::Metric;
use super::Unit::*;

// The labels.
pub const GPU: &str = "gpu";
pub const UUID: &str = "uuid";
pub const NAME: &str = "name";
pub const HOSTNAME: &str = "hostname";
/// Who made the GPU: `nvidia`, `amd` or `intel` (`Vendor::key`); a reader takes a series
/// without it (an exporter from before AMD and Intel GPUs) as NVIDIA's.
pub const VENDOR: &str = "vendor";
pub const VERSION: &str = "version";
pub const DRIVER_VERSION: &str = "driver_version";
pub const PID: &str = "pid";
pub const USER: &str = "user";
pub const COMMAND: &str = "command";
pub const CONTAINER: &str = "container";
pub const POD: &str = "pod";
pub const NAMESPACE: &str = "namespace";
/// The Slurm job (Prometheus keeps its own `job` and files this one as `exported_job`).
pub const JOB: &str = "job";
pub const GPU_INSTANCE: &str = "gpu_instance";
pub const PROFILE: &str = "profile";
pub const MIG_UUID: &str = "mig_uuid";
pub const REASON: &str = "reason";
pub const XID: &str = "xid";
pub const KIND: &str = "kind";
pub const COUNTER: &str = "counter";

/// The labels of every GPU's series, in order (`vendor` last: added after the others, so the
/// series of older exporters differ only by its absence).
pub const GPU_LABELS: [&str; 5] = [GPU, UUID, NAME, HOSTNAME, VENDOR];
/// A process's labels after its GPU's: who it is, and where it runs (container, pod, Slurm
/// job; empty on the host).
pub const PROCESS_LABELS: &[&str] = &[PID, USER, COMMAND, CONTAINER, POD, NAMESPACE, JOB];
/// A MIG device's labels after its GPU's.
pub const MIG_LABELS: &[&str] = &[GPU_INSTANCE, PROFILE, MIG_UUID];

// The exporter's own.
pub const BUILD_INFO: Metric =
    Metric::gauge("gputop_build_info", Info, "gputop version and the NVIDIA driver version")
        .with(&[VERSION, DRIVER_VERSION]);
pub const LAST_SAMPLE_TIMESTAMP: Metric = Metric::gauge(
    "gputop_last_sample_timestamp_seconds",
    Seconds,
    "Unix time of the last complete sample: old while sampling is stuck",
)
.with(&[HOSTNAME]);
pub const SAMPLE_ERRORS: Metric = Metric::counter(
    "gputop_sample_errors",
    Count,
    "Samples that failed since the exporter started",
)
.with(&[HOSTNAME]);

// A GPU's.
pub const GPU_UP: Metric =
    Metric::gauge("gputop_gpu_up", Flag, "1 if the GPU answers, 0 if it is lost or failing");
pub const GPU_ENERGY: Metric =
    Metric::counter("gputop_gpu_energy_joules", Joules, "Energy used since the driver was loaded");
pub const GPU_PROCESSES: Metric = Metric::gauge(
    "gputop_gpu_processes",
    Count,
    "Processes using the GPU (absent when NVML could not list them)",
);
pub const UTILIZATION: Metric =
    Metric::gauge("gputop_gpu_utilization_ratio", Ratio, "Time a kernel was running, 0 to 1");
pub const MEMORY_UTILIZATION: Metric = Metric::gauge(
    "gputop_gpu_memory_utilization_ratio",
    Ratio,
    "Time memory was read or written, 0 to 1",
);
pub const ENCODER_UTILIZATION: Metric = Metric::gauge(
    "gputop_gpu_encoder_utilization_ratio",
    Ratio,
    "Video encoder utilization, 0 to 1",
);
pub const DECODER_UTILIZATION: Metric = Metric::gauge(
    "gputop_gpu_decoder_utilization_ratio",
    Ratio,
    "Video decoder utilization, 0 to 1",
);
pub const MEMORY_USED: Metric =
    Metric::gauge("gputop_gpu_memory_used_bytes", Bytes, "GPU memory in use");
pub const MEMORY_TOTAL: Metric =
    Metric::gauge("gputop_gpu_memory_total_bytes", Bytes, "GPU memory in total");
pub const MEMORY_FREE: Metric =
    Metric::gauge("gputop_gpu_memory_free_bytes", Bytes, "GPU memory free");
pub const TEMPERATURE: Metric =
    Metric::gauge("gputop_gpu_temperature_celsius", Celsius, "GPU temperature");
pub const SLOWDOWN_TEMPERATURE: Metric = Metric::gauge(
    "gputop_gpu_slowdown_temperature_celsius",
    Celsius,
    "Temperature at which the GPU slows down",
);
pub const POWER: Metric = Metric::gauge("gputop_gpu_power_watts", Watts, "Power draw");
pub const POWER_LIMIT: Metric =
    Metric::gauge("gputop_gpu_power_limit_watts", Watts, "Enforced power limit");
pub const FAN_SPEED: Metric =
    Metric::gauge("gputop_gpu_fan_speed_ratio", Ratio, "Fan speed, 0 to 1");
pub const SM_CLOCK: Metric = Metric::gauge("gputop_gpu_sm_clock_hertz", Hertz, "SM clock");
pub const MEMORY_CLOCK: Metric =
    Metric::gauge("gputop_gpu_memory_clock_hertz", Hertz, "Memory clock");
pub const PERFORMANCE_STATE: Metric = Metric::gauge(
    "gputop_gpu_performance_state",
    Number,
    "Performance state, 0 (P0, fastest) to 15",
);
pub const PCIE_TX: Metric = Metric::gauge(
    "gputop_gpu_pcie_tx_bytes_per_second",
    BytesPerSecond,
    "PCIe transmit throughput",
);
pub const PCIE_RX: Metric =
    Metric::gauge("gputop_gpu_pcie_rx_bytes_per_second", BytesPerSecond, "PCIe receive throughput");
pub const ECC_CORRECTED: Metric = Metric::gauge(
    "gputop_gpu_ecc_corrected_errors",
    Count,
    "Corrected ECC errors since the driver loaded",
);
pub const ECC_UNCORRECTED: Metric = Metric::gauge(
    "gputop_gpu_ecc_uncorrected_errors",
    Count,
    "Uncorrected ECC errors since the driver loaded",
);
pub const THROTTLE_REASONS: Metric =
    Metric::gauge("gputop_gpu_throttle_reasons", Flag, "1 while this reason holds the clocks down")
        .with(&[REASON]);

// A GPU's GPM activity since the previous sample.
pub const SM_ACTIVE: Metric = Metric::gauge(
    "gputop_gpu_sm_active_ratio",
    Ratio,
    "Share of time the SMs had a warp assigned, 0 to 1 (GPM)",
);
pub const SM_OCCUPANCY: Metric = Metric::gauge(
    "gputop_gpu_sm_occupancy_ratio",
    Ratio,
    "Resident warps against the most the SMs hold, 0 to 1 (GPM)",
);
pub const TENSOR_ACTIVE: Metric = Metric::gauge(
    "gputop_gpu_tensor_active_ratio",
    Ratio,
    "Share of time the tensor cores were busy, 0 to 1 (GPM)",
);
pub const DRAM_ACTIVE: Metric = Metric::gauge(
    "gputop_gpu_dram_active_ratio",
    Ratio,
    "DRAM bandwidth used against its peak, 0 to 1 (GPM)",
);
pub const FP64_ACTIVE: Metric =
    Metric::gauge("gputop_gpu_fp64_active_ratio", Ratio, "FP64 pipe activity, 0 to 1 (GPM)");
pub const FP32_ACTIVE: Metric =
    Metric::gauge("gputop_gpu_fp32_active_ratio", Ratio, "FP32 pipe activity, 0 to 1 (GPM)");
pub const FP16_ACTIVE: Metric =
    Metric::gauge("gputop_gpu_fp16_active_ratio", Ratio, "FP16 pipe activity, 0 to 1 (GPM)");
pub const NVLINK_TX: Metric = Metric::gauge(
    "gputop_gpu_nvlink_tx_bytes_per_second",
    BytesPerSecond,
    "NVLink transmit throughput, all links (GPM)",
);
pub const NVLINK_RX: Metric = Metric::gauge(
    "gputop_gpu_nvlink_rx_bytes_per_second",
    BytesPerSecond,
    "NVLink receive throughput, all links (GPM)",
);

// A MIG device's.
pub const MIG_MEMORY_USED: Metric =
    Metric::gauge("gputop_mig_memory_used_bytes", Bytes, "MIG device memory in use")
        .with(MIG_LABELS);
pub const MIG_MEMORY_TOTAL: Metric =
    Metric::gauge("gputop_mig_memory_total_bytes", Bytes, "MIG device memory in total")
        .with(MIG_LABELS);
pub const MIG_SM_ACTIVE: Metric = Metric::gauge(
    "gputop_mig_sm_active_ratio",
    Ratio,
    "Share of time the instance's SMs had a warp assigned, 0 to 1 (GPM)",
)
.with(MIG_LABELS);
pub const MIG_TENSOR_ACTIVE: Metric = Metric::gauge(
    "gputop_mig_tensor_active_ratio",
    Ratio,
    "Share of time the instance's tensor cores were busy, 0 to 1 (GPM)",
)
.with(MIG_LABELS);
pub const MIG_DRAM_ACTIVE: Metric = Metric::gauge(
    "gputop_mig_dram_active_ratio",
    Ratio,
    "The instance's DRAM bandwidth against its peak, 0 to 1 (GPM)",
)
.with(MIG_LABELS);

// A process's (`--processes`).
pub const PROCESS_GPU_MEMORY: Metric =
    Metric::gauge("gputop_process_gpu_memory_bytes", Bytes, "GPU memory used by a process")
        .with(PROCESS_LABELS);
pub const PROCESS_SM_UTILIZATION: Metric =
    Metric::gauge("gputop_process_sm_utilization_ratio", Ratio, "SM utilization of a process")
        .with(PROCESS_LABELS);

// The driver's events since the exporter started listening.
pub const XID_ERRORS: Metric =
    Metric::counter("gputop_gpu_xid_errors", Count, "XID errors since the exporter started")
        .with(&[XID]);
pub const ECC_ERROR_EVENTS: Metric = Metric::counter(
    "gputop_gpu_ecc_error_events",
    Count,
    "ECC error events since the exporter started",
)
.with(&[KIND]);

// The board's memory and link health (its details).
pub const PCIE_LINK_GENERATION: Metric =
    Metric::gauge("gputop_gpu_pcie_link_generation", Number, "PCIe link generation now");
pub const PCIE_LINK_MAX_GENERATION: Metric = Metric::gauge(
    "gputop_gpu_pcie_link_max_generation",
    Number,
    "Highest PCIe link generation of the GPU and its slot",
);
pub const PCIE_LINK_WIDTH: Metric =
    Metric::gauge("gputop_gpu_pcie_link_width", Count, "PCIe link width now, in lanes");
pub const PCIE_LINK_MAX_WIDTH: Metric = Metric::gauge(
    "gputop_gpu_pcie_link_max_width",
    Count,
    "Widest PCIe link of the GPU and its slot, in lanes",
);
pub const REMAPPED_ROWS: Metric =
    Metric::gauge("gputop_gpu_remapped_rows", Count, "Memory rows remapped after errors")
        .with(&[KIND]);
pub const REMAPPED_ROWS_PENDING: Metric = Metric::gauge(
    "gputop_gpu_remapped_rows_pending",
    Flag,
    "1 while a row remapping waits for a GPU reset",
);
pub const REMAPPED_ROWS_FAILED: Metric =
    Metric::gauge("gputop_gpu_remapped_rows_failed", Flag, "1 once a row could not be remapped");
pub const RETIRED_PAGES_PENDING: Metric = Metric::gauge(
    "gputop_gpu_retired_pages_pending",
    Flag,
    "1 while memory pages wait to be retired",
);
pub const ECC_LIFETIME_ERRORS: Metric = Metric::gauge(
    "gputop_gpu_ecc_lifetime_errors",
    Count,
    "ECC errors over the board's lifetime (kept across reboots)",
)
.with(&[KIND]);
pub const NVLINK_ACTIVE_LINKS: Metric =
    Metric::gauge("gputop_gpu_nvlink_active_links", Count, "NVLink links that are up");
pub const NVLINK_ERRORS: Metric = Metric::counter(
    "gputop_gpu_nvlink_errors",
    Count,
    "NVLink errors since the driver loaded, all links",
)
.with(&[COUNTER]);
pub const PCIE_REPLAYS: Metric = Metric::counter(
    "gputop_gpu_pcie_replays",
    Count,
    "PCIe replays (retransmissions after link errors) since the driver loaded",
);

/// Every metric gputop writes under its own names (for the tests that hold the table to its
/// conventions and to the exporter).
#[cfg(test)]
pub const ALL: &[&Metric] = &[
    &BUILD_INFO,
    &LAST_SAMPLE_TIMESTAMP,
    &SAMPLE_ERRORS,
    &GPU_UP,
    &GPU_ENERGY,
    &GPU_PROCESSES,
    &UTILIZATION,
    &MEMORY_UTILIZATION,
    &ENCODER_UTILIZATION,
    &DECODER_UTILIZATION,
    &MEMORY_USED,
    &MEMORY_TOTAL,
    &MEMORY_FREE,
    &TEMPERATURE,
    &SLOWDOWN_TEMPERATURE,
    &POWER,
    &POWER_LIMIT,
    &FAN_SPEED,
    &SM_CLOCK,
    &MEMORY_CLOCK,
    &PERFORMANCE_STATE,
    &PCIE_TX,
    &PCIE_RX,
    &ECC_CORRECTED,
    &ECC_UNCORRECTED,
    &THROTTLE_REASONS,
    &SM_ACTIVE,
    &SM_OCCUPANCY,
    &TENSOR_ACTIVE,
    &DRAM_ACTIVE,
    &FP64_ACTIVE,
    &FP32_ACTIVE,
    &FP16_ACTIVE,
    &NVLINK_TX,
    &NVLINK_RX,
    &MIG_MEMORY_USED,
    &MIG_MEMORY_TOTAL,
    &MIG_SM_ACTIVE,
    &MIG_TENSOR_ACTIVE,
    &MIG_DRAM_ACTIVE,
    &PROCESS_GPU_MEMORY,
    &PROCESS_SM_UTILIZATION,
    &XID_ERRORS,
    &ECC_ERROR_EVENTS,
    &PCIE_LINK_GENERATION,
    &PCIE_LINK_MAX_GENERATION,
    &PCIE_LINK_WIDTH,
    &PCIE_LINK_MAX_WIDTH,
    &REMAPPED_ROWS,
    &REMAPPED_ROWS_PENDING,
    &REMAPPED_ROWS_FAILED,
    &RETIRED_PAGES_PENDING,
    &ECC_LIFETIME_ERRORS,
    &NVLINK_ACTIVE_LINKS,
    &NVLINK_ERRORS,
    &PCIE_REPLAYS,
];
