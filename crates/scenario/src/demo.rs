//! The built-in demo fleet behind `--demo N`: a mix of datacenter and workstation GPUs whose
//! metrics move, whose processes come and go, and where some metrics are unsupported, as on
//! real machines.

use super::signal::Wave;
use super::{
    Activity, AddressingModeSpec, DriverSpec, EccLocationsSpec, GpmSpec, GpuSpec, InforomSpec,
    ProcessKindSpec, ProcessSpec, RecoveryActionSpec, Scenario, Signal,
};

struct Model {
    name: &'static str,
    memory_mib: u64,
    power_limit_w: f64,
    has_fan: bool,
    has_ecc: bool,
    mig: Option<bool>,
    sm_max: u32,
    mem_max: u32,
    compute_capability: [i32; 2],
}

const MODELS: [Model; 4] = [
    Model {
        name: "NVIDIA H100 80GB HBM3",
        memory_mib: 81_559,
        power_limit_w: 700.0,
        has_fan: false,
        has_ecc: true,
        mig: Some(false),
        sm_max: 1980,
        mem_max: 2619,
        compute_capability: [9, 0],
    },
    Model {
        name: "NVIDIA A100-SXM4-40GB",
        memory_mib: 40_960,
        power_limit_w: 400.0,
        has_fan: false,
        has_ecc: true,
        mig: Some(false),
        sm_max: 1410,
        mem_max: 1215,
        compute_capability: [8, 0],
    },
    Model {
        name: "NVIDIA GeForce RTX 4090",
        memory_mib: 24_564,
        power_limit_w: 450.0,
        has_fan: true,
        has_ecc: false,
        mig: None,
        sm_max: 3105,
        mem_max: 10_501,
        compute_capability: [8, 9],
    },
    Model {
        name: "NVIDIA L4",
        memory_mib: 23_034,
        power_limit_w: 72.0,
        has_fan: false,
        has_ecc: true,
        mig: None,
        sm_max: 2040,
        mem_max: 6251,
        compute_capability: [8, 9],
    },
];

/// What runs on the demo's GPUs, and where: a Slurm job, a Kubernetes pod, a Docker and a
/// Podman container, a systemd unit, each as its cgroup path (and environment) would say, so
/// the container, pod and job views have something to show.
struct Job {
    name: &'static str,
    user: &'static str,
    command: &'static str,
    cgroup: &'static str,
    environ: &'static [&'static str],
}

const JOBS: [Job; 6] = [
    Job {
        name: "python",
        user: "alice",
        command: "python train.py --model llama-3-8b --batch-size 16",
        cgroup: "/system.slice/slurmstepd.scope/job_4242/step_0/user/task_0",
        environ: &[],
    },
    Job {
        name: "vllm",
        user: "bob",
        command: "vllm serve meta-llama/Llama-3.1-8B-Instruct --port 8000",
        cgroup: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8a1b2c3d_4e5f_6a7b_8c9d_0e1f2a3b4c5d.slice/cri-containerd-5f3e8c1a2b9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f.scope",
        environ: &["HOSTNAME=vllm-7d9f8b-x2k4p", "POD_NAMESPACE=inference"],
    },
    Job {
        name: "python3",
        user: "carol",
        command: "python3 -m torch.distributed.run --nproc-per-node 8 finetune.py",
        cgroup: "/system.slice/slurmstepd.scope/job_4251/step_batch/user/task_0",
        environ: &[],
    },
    Job {
        name: "jupyter-lab",
        user: "dave",
        command: "/opt/conda/bin/python /opt/conda/bin/jupyter-lab --no-browser",
        cgroup: "/system.slice/docker-a41c07e9b3d25f68c1e0a9b8d7c6f5e4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8.scope",
        environ: &[],
    },
    Job {
        name: "ffmpeg",
        user: "eve",
        command: "ffmpeg -hwaccel cuda -i in.mp4 -c:v h264_nvenc out.mp4",
        cgroup: "/user.slice/user-1005.slice/user@1005.service/user.slice/libpod-c93b1d2e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c.scope",
        environ: &[],
    },
    Job {
        name: "Xorg",
        user: "root",
        command: "/usr/lib/xorg/Xorg :0 -seat seat0 -auth /run/lightdm/root/:0",
        cgroup: "/system.slice/display-manager.service",
        environ: &[],
    },
];

fn wave(base: f64, amplitude: f64, period_s: f64, phase: f64) -> Option<Signal> {
    Some(Signal::Wave(Wave { base, amplitude, period_s, phase }))
}

pub(super) fn fleet(n: usize) -> Scenario {
    Scenario { driver: DriverSpec::default(), gpus: (0..n).map(gpu).collect() }
}

/// `n` NVIDIA GPUs, then an AMD Instinct MI300X running jobs (so `--by user` and the process
/// views have AMD processes) and an idle Intel Data Center GPU Max 1550 (so `select --vendor
/// intel` finds one), numbered after NVML's GPUs as gputop numbers a real machine's.
pub(super) fn machine(n: usize) -> Scenario {
    let mut scenario = fleet(n);
    scenario.gpus.push(amd(n));
    scenario.gpus.push(intel(n + 1));
    scenario
}

/// An AMD Instinct MI300X: 192 GB of HBM3, 750 W, no fan; amdgpu's unique_id as its UUID.
fn amd(index: usize) -> GpuSpec {
    let phase = index as f64 * 0.137;
    GpuSpec {
        vendor: Some("amd".into()),
        name: "AMD Instinct MI300X".into(),
        uuid: Some("8e0ac1c1726b0c3a".into()),
        pci_bus_id: Some("0000:c1:00.0".into()),
        memory_total_mib: 196_592,
        memory_reserved_mib: 0,
        utilization_gpu: wave(70.0, 25.0, 37.0, phase),
        utilization_memory: wave(40.0, 15.0, 29.0, phase),
        temperature_c: wave(58.0, 6.0, 90.0, phase),
        temperature_slowdown_c: Some(100),
        temperature_shutdown_c: Some(105),
        power_w: wave(520.0, 120.0, 37.0, phase),
        power_limit_w: Some(750.0),
        fan_pct: None,
        clock_sm_mhz: wave(1_900.0, 150.0, 23.0, phase),
        clock_mem_mhz: Some(Signal::Constant(1_300.0)),
        clock_sm_max_mhz: Some(2_100),
        clock_mem_max_mhz: Some(1_300),
        processes: processes(index),
        ..other_vendor(index)
    }
}

/// An Intel Data Center GPU Max 1550 on i915: 128 GB, 600 W; i915 gives no UUID and no
/// temperature, and it idles.
fn intel(index: usize) -> GpuSpec {
    GpuSpec {
        vendor: Some("intel".into()),
        name: "Intel Data Center GPU Max 1550".into(),
        uuid: None,
        pci_bus_id: Some("0000:e1:00.0".into()),
        memory_total_mib: 131_072,
        memory_reserved_mib: 0,
        utilization_gpu: Some(Signal::Constant(0.0)),
        utilization_memory: None,
        temperature_c: None,
        temperature_slowdown_c: None,
        temperature_shutdown_c: None,
        power_w: wave(90.0, 5.0, 37.0, 0.0),
        power_limit_w: Some(600.0),
        fan_pct: None,
        clock_sm_mhz: Some(Signal::Constant(300.0)),
        clock_mem_mhz: None,
        clock_sm_max_mhz: Some(1_600),
        clock_mem_max_mhz: None,
        processes: Vec::new(),
        ..other_vendor(index)
    }
}

/// An NVIDIA demo GPU with what only NVML reports taken away: the base of the AMD and Intel
/// GPUs, which then say what their drivers give.
fn other_vendor(index: usize) -> GpuSpec {
    GpuSpec {
        memory_used_mib: wave(300.0, 100.0, 45.0, 0.0),
        encoder_pct: None,
        decoder_pct: None,
        jpeg_pct: None,
        ofa_pct: None,
        throttle_reasons: None,
        mig_enabled: None,
        gpm: None,
        serial: None,
        inforom: None,
        remapped_rows: None,
        ecc_locations: None,
        ecc_corrected: Some(0),
        ecc_uncorrected: Some(0),
        compute_capability: None,
        ..gpu(index)
    }
}

fn gpu(index: usize) -> GpuSpec {
    let m = &MODELS[index % MODELS.len()];
    let phase = index as f64 * 0.137;
    // Every fourth GPU idles, as on a shared machine, so `select` and `wait` find one.
    let busy = index % 4 != 3;
    let load = if busy { 65.0 } else { 2.0 };
    let swing = if busy { 30.0 } else { 2.0 };
    GpuSpec {
        name: m.name.into(),
        vendor: None,
        uuid: None,
        pci_bus_id: None,
        lost: false,
        lost_between_s: None,
        hangs_between_s: None,
        minor_number: None,
        process_list_grows_by: 0,
        memory_total_mib: m.memory_mib,
        memory_reserved_mib: m.memory_mib / 100,
        memory_used_mib: wave(300.0, 100.0, 45.0, phase),
        utilization_gpu: wave(load, swing, 37.0, phase),
        utilization_memory: wave(load * 0.5, swing * 0.5, 29.0, phase),
        temperature_c: wave(if busy { 62.0 } else { 34.0 }, 8.0, 90.0, phase),
        temperature_slowdown_c: Some(87),
        temperature_shutdown_c: Some(92),
        power_management_limit_w: None,
        power_w: wave(
            m.power_limit_w * (load / 120.0 + 0.05),
            m.power_limit_w * swing / 150.0,
            37.0,
            phase,
        ),
        power_limit_w: Some(m.power_limit_w),
        fan_pct: if m.has_fan { wave(45.0, 15.0, 90.0, phase) } else { None },
        clock_sm_mhz: wave(f64::from(m.sm_max) * if busy { 0.9 } else { 0.2 }, 60.0, 23.0, phase),
        clock_mem_mhz: Some(Signal::Constant(f64::from(m.mem_max))),
        clock_sm_max_mhz: Some(m.sm_max),
        clock_mem_max_mhz: Some(m.mem_max),
        clock_video_mhz: Some(Signal::Constant(1_755.0)),
        applications_clocks_mhz: Some([m.sm_max, m.mem_max]),
        default_applications_clocks_mhz: Some([m.sm_max, m.mem_max]),
        compute_capability: Some(m.compute_capability),
        encoder_stats: Some(if index % 4 == 2 { [1, 60, 2_300] } else { [0, 0, 0] }),
        pstate: Some(if busy { 0 } else { 8 }),
        encoder_pct: wave(if index % 4 == 2 { 30.0 } else { 0.0 }, 0.0, 60.0, 0.0),
        decoder_pct: wave(0.0, 0.0, 60.0, 0.0),
        jpeg_pct: m.has_ecc.then_some(Signal::Constant(0.0)),
        ofa_pct: m.has_ecc.then_some(Signal::Constant(0.0)),
        pcie_tx_kbps: wave(120_000.0, 100_000.0, 17.0, phase),
        pcie_rx_kbps: wave(800_000.0, 600_000.0, 13.0, phase),
        throttle_reasons: Some(if busy { 0x4 } else { 0x1 }),
        throttle_active: None,
        ecc_corrected: m.has_ecc.then_some(0),
        ecc_uncorrected: m.has_ecc.then_some(0),
        ecc_aggregate: None,
        fabric: None,
        ecc_locations: m.has_ecc.then_some(EccLocationsSpec {
            dram: Some([0; 4]),
            sram: Some([0; 4]),
            ..EccLocationsSpec::default()
        }),
        nvlink: None,
        mig_enabled: m.mig,
        mig_instances: Vec::new(),
        energy_mj: Some(1_000_000 * (index as u64 + 1)),
        persistence_mode: true,
        // Datacenter boards carry a serial; GeForce boards have none.
        serial: m.has_ecc.then(|| format!("16523200{:05}", index)),
        vbios_version: Some("96.00.89.00.01".into()),
        // Datacenter boards: an InfoROM with OEM and ECC objects, HBM with its temperature.
        inforom: m.has_ecc.then(|| InforomSpec {
            image: Some("G520.0200.00.05".into()),
            oem: Some("2.1".into()),
            ecc: Some("7.16".into()),
            power: None,
            checksum_valid: None,
        }),
        gpu_operation_mode: None,
        temperature_memory_c: m.has_ecc.then_some(Signal::Constant(if busy { 70.0 } else { 40.0 })),
        pcie_link_gen: Some([if busy { 5 } else { 1 }, 5]),
        pcie_link_width: Some([16, 16]),
        pcie_link_gen_gpu_max: Some(5),
        // Datacenter boards are 3D controllers; boards with display outputs VGA controllers.
        pci_class: Some([3, if m.has_ecc { 2 } else { 0 }]),
        power_management: Some(true),
        addressing_mode: Some(AddressingModeSpec::Hmm),
        dram_encryption: None,
        gsp_firmware: Some([m.has_ecc, m.has_ecc]),
        c2c_enabled: None,
        protected_memory_mib: m.name.contains("H100").then_some([0, 0]),
        recovery_action: Some(RecoveryActionSpec::None),
        platform: None,
        module_id: Some(1),
        vgpu_capabilities: None,
        module_power: None,
        power_limit_range_w: Some([m.power_limit_w * 0.3, m.power_limit_w]),
        power_default_limit_w: None,
        accounting_mode: Some(false),
        accounting_buffer_size: Some(4000),
        display_mode: Some(!m.has_ecc),
        remapped_rows: m.has_ecc.then(Default::default),
        retired_pages_pending: None,
        retired_pages: None,
        pcie_replay_count: None,
        // Hopper has GPU Performance Monitoring: a training job busy on its tensor cores.
        gpm: m.name.contains("H100").then(|| GpmSpec {
            sm_active: wave(load, swing, 37.0, phase),
            sm_occupancy: wave(load * 0.5, swing * 0.3, 37.0, phase),
            tensor_active: wave(load * 0.6, swing * 0.5, 37.0, phase),
            dram_active: wave(load * 0.7, swing * 0.5, 29.0, phase),
            fp16_active: wave(load * 0.2, swing * 0.2, 37.0, phase),
            fp32_active: wave(load * 0.3, swing * 0.2, 37.0, phase),
            fp64_active: Some(Signal::Constant(0.0)),
            nvlink_tx_mib_s: wave(load * 300.0, swing * 200.0, 17.0, phase),
            nvlink_rx_mib_s: wave(load * 300.0, swing * 200.0, 13.0, phase),
            ..GpmSpec::default()
        }),
        events: Vec::new(),
        errors: Default::default(),
        processes: if busy { processes(index) } else { Vec::new() },
    }
}

fn processes(gpu: usize) -> Vec<ProcessSpec> {
    (0..3)
        .map(|slot| {
            let job = &JOBS[(gpu + slot * 2) % JOBS.len()];
            let graphics = job.name == "Xorg";
            ProcessSpec {
                pid: 4000 + (gpu * 10 + slot) as u32,
                kind: if graphics { ProcessKindSpec::Graphics } else { ProcessKindSpec::Compute },
                used_memory_mib: wave(
                    if graphics { 200.0 } else { 3000.0 + 1500.0 * slot as f64 },
                    if graphics { 50.0 } else { 500.0 },
                    53.0,
                    0.1 * gpu as f64,
                ),
                sm_util: wave(
                    if graphics { 2.0 } else { 40.0 },
                    20.0,
                    31.0,
                    0.2 * slot as f64 + 0.15 * gpu as f64,
                ),
                mem_util: wave(if graphics { 1.0 } else { 15.0 }, 10.0, 31.0, 0.2 * slot as f64),
                gpu_instance_id: None,
                compute_instance_id: None,
                // The first job runs throughout; the others come and go, each running for
                // minutes, long enough to open its details.
                active: (slot > 0).then_some(Activity {
                    period_s: 300.0 + 120.0 * slot as f64,
                    on_s: 240.0 + 60.0 * slot as f64,
                    offset_s: gpu as f64 * 53.0,
                }),
                name: Some(job.name.into()),
                user: Some(job.user.into()),
                command: Some(job.command.into()),
                cpu_percent: wave(
                    if graphics { 1.5 } else { 60.0 + 15.0 * slot as f64 },
                    5.0,
                    11.0,
                    0.3 * gpu as f64 + 0.2 * slot as f64,
                ),
                host_memory_mib: Some(Signal::Constant(if graphics {
                    120.0
                } else {
                    2048.0 + 512.0 * slot as f64
                })),
                cgroup: Some(job.cgroup.into()),
                environ: job.environ.iter().map(|v| v.to_string()).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_fleet_has_the_requested_size_and_moves() {
        let s = Scenario::demo(8);
        assert_eq!(s.gpus.len(), 8);
        let utils: Vec<_> = (0..20).map(|t| s.gpus[0].utilization(t as f64 * 7.0)).collect();
        assert!(utils.windows(2).any(|w| w[0] != w[1]), "demo metrics must move");
    }

    #[test]
    fn the_demo_machine_adds_an_amd_and_an_intel_gpu_after_the_nvidia_ones() {
        let s = Scenario::demo_machine(4);
        let vendors: Vec<_> = s.gpus.iter().map(GpuSpec::vendor).collect();
        use crate::VendorSpec::*;
        assert_eq!(vendors, [Nvidia, Nvidia, Nvidia, Nvidia, Amd, Intel]);
        assert!(!s.gpus[4].processes.is_empty(), "the AMD GPU runs jobs");
        assert!(s.gpus[5].processes.is_empty(), "the Intel GPU idles");
        assert_eq!(s.nvidia_only().gpus.len(), 4);
    }
}
