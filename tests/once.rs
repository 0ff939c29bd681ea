//! `gputop --once` through the real binary and the real NVML code path, against the fake
//! `libnvidia-ml.so.1`: every output format shows what the scenario says.

mod common;

use common::*;
use serde_json::Value;

/// Three GPUs: a fully reported H100 running `pid`, a lost GPU, and a GPU that reports nothing
/// but its name (every other metric NOT_SUPPORTED).
fn three_gpus(pid: u32) -> String {
    format!(
        r#"
        [driver]
        version = "550.54.15"
        cuda_version = 12040

        [[gpus]]
        name = "NVIDIA H100 80GB HBM3"
        uuid = "GPU-11111111-2222-3333-4444-555555555555"
        pci_bus_id = "00000000:18:00.0"
        memory_total_mib = 81559
        memory_reserved_mib = 559
        memory_used_mib = 441
        utilization_gpu = 87
        utilization_memory = 41
        temperature_c = 62
        temperature_slowdown_c = 87
        temperature_shutdown_c = 92
        power_w = 312.456
        power_limit_w = 700
        clock_sm_mhz = 1755
        clock_mem_mhz = 2619
        clock_sm_max_mhz = 1980
        clock_mem_max_mhz = 2619
        pstate = 0
        encoder_pct = 0
        decoder_pct = 3
        pcie_tx_kbps = 1000
        pcie_rx_kbps = 2000
        throttle_reasons = 0x44
        ecc_corrected = 2
        ecc_uncorrected = 0
        mig_enabled = false
        energy_mj = 5000
        [[gpus.processes]]
        pid = {pid}
        used_memory_mib = 40000
        sm_util = 77
        mem_util = 30

        [[gpus]]
        name = "NVIDIA A100-SXM4-40GB"
        lost = true

        [[gpus]]
        name = "Bare GPU"
        memory_total_mib = 1024
        errors = {{ memory = "NO_PERMISSION" }}
        "#
    )
}

#[test]
fn table_shows_the_scenario_values() {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&three_gpus(job.pid()));
    let out = stdout_of(gputop(&scenario).args(["--once", "--color", "never"]));

    let h100 = out.lines().find(|l| l.contains("H100")).unwrap();
    for want in ["62°C", "87%", "40441 / 81559 MiB", "50%", "312 / 700 W", "N/A"] {
        assert!(h100.contains(want), "{want:?} missing from {h100:?}");
    }
    assert!(out.contains("⚠ throttled: HW thermal slowdown"), "{out}");
    let lost = out.lines().find(|l| l.starts_with("  1  ")).unwrap();
    assert!(lost.contains("LOST"), "{lost}");
    let bare = out.lines().find(|l| l.contains("Bare GPU")).unwrap();
    assert_eq!(bare.matches("N/A").count(), 5, "{bare}");
    assert!(!bare.contains(" 0%") && !bare.contains(" 0 W"), "unsupported shown as 0: {bare}");

    let proc_line = out.lines().find(|l| l.contains(&job.pid().to_string())).unwrap();
    assert!(proc_line.contains("39.1GiB") && proc_line.contains("77"), "{proc_line}");
    assert!(proc_line.ends_with("sleep 600"), "{proc_line}");
}

#[test]
fn json_has_values_in_base_units_and_null_for_unsupported() {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&three_gpus(job.pid()));
    let doc: Value =
        serde_json::from_str(&stdout_of(gputop(&scenario).args(["--once", "--json"]))).unwrap();

    assert_eq!(doc["schema_version"], 4);
    assert_eq!(doc["host"]["driver_version"], "550.54.15");
    assert_eq!(doc["host"]["cuda_driver_version"], "12.4");
    let h100 = &doc["gpus"][0];
    assert_eq!(h100["status"], "ok");
    assert_eq!(h100["uuid"], "GPU-11111111-2222-3333-4444-555555555555");
    assert_eq!(h100["pci_bus_id"], "00000000:18:00.0");
    assert_eq!(h100["memory"]["total_bytes"], 81559u64 << 20);
    // nvml.h: used is what is allocated (nvidia-smi's memory.used); total = reserved + used + free.
    assert_eq!(h100["memory"]["used_bytes"], 40441u64 << 20);
    let m = &h100["memory"];
    let part = |k: &str| m[k].as_u64().unwrap();
    assert_eq!(
        part("total_bytes"),
        part("reserved_bytes") + part("used_bytes") + part("free_bytes")
    );
    assert_eq!(h100["memory"]["reserved_bytes"], 559u64 << 20);
    assert_eq!(h100["utilization"]["gpu_percent"], 87);
    assert_eq!(h100["utilization"]["decoder_percent"], 3);
    assert_eq!(h100["temperature"]["slowdown_celsius"], 87);
    assert_eq!(h100["power"]["draw_watts"], 312.456);
    assert_eq!(h100["power"]["limit_watts"], 700.0);
    assert_eq!(h100["fan_percent"], Value::Null);
    assert_eq!(h100["clocks"]["sm_max_mhz"], 1980);
    assert_eq!(h100["performance_state"], 0);
    assert_eq!(h100["pcie"]["rx_bytes_per_second"], 2000 * 1024);
    assert_eq!(
        h100["throttle"]["reasons"],
        serde_json::json!(["sw_power_cap", "hw_thermal_slowdown"])
    );
    assert_eq!(h100["ecc"]["corrected"], 2);
    assert_eq!(h100["mig_enabled"], false);

    let p = &h100["processes"][0];
    assert_eq!(p["pid"], job.pid());
    assert_eq!(p["kind"], "compute");
    assert_eq!(p["gpu_memory_bytes"], 40000u64 << 20);
    assert_eq!(p["sm_percent"], 77);
    assert_eq!(p["command"], "sleep 600");
    assert!(p["user"].is_string() && p["host_memory_bytes"].as_u64().unwrap() > 0);

    assert_eq!(doc["gpus"][1]["status"], "lost");
    assert_eq!(doc["gpus"][1]["name"], Value::Null);
    let bare = &doc["gpus"][2];
    assert_eq!(bare["status"], "ok");
    assert_eq!(bare["name"], "Bare GPU");
    for (group, field) in [
        ("memory", "total_bytes"),
        ("utilization", "gpu_percent"),
        ("temperature", "gpu_celsius"),
        ("power", "draw_watts"),
    ] {
        assert_eq!(bare[group][field], Value::Null, "{group}.{field}");
    }
}

#[test]
fn csv_rows_match_and_unsupported_is_na() {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&three_gpus(job.pid()));
    let out = stdout_of(gputop(&scenario).args(["--once", "--csv"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("timestamp,index,uuid,name,"));
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        &cells[1..10],
        &[
            "0",
            "GPU-11111111-2222-3333-4444-555555555555",
            "NVIDIA H100 80GB HBM3",
            "00000000:18:00.0",
            "ok",
            "62",
            "87",
            "41",
            &(40441u64 << 20).to_string()
        ]
    );
    assert_eq!(cells[13], "N/A", "fan");
    assert!(lines[2].contains(",lost,"));
}

#[test]
fn query_gpu_is_byte_identical_to_nvidia_smi() {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&three_gpus(job.pid()));
    let fields = "index,name,uuid,pci.bus_id,driver_version,temperature.gpu,utilization.gpu,utilization.memory,memory.total,memory.used,memory.free,power.draw,power.limit,fan.speed,clocks.sm,clocks.mem,pstate";
    let out =
        stdout_of(gputop(&scenario).args(["--query-gpu", fields, "--format=csv", "--id", "0"]));
    assert_eq!(
        out,
        "index, name, uuid, pci.bus_id, driver_version, temperature.gpu, utilization.gpu [%], utilization.memory [%], memory.total [MiB], memory.used [MiB], memory.free [MiB], power.draw [W], power.limit [W], fan.speed [%], clocks.current.sm [MHz], clocks.current.memory [MHz], pstate\n\
         0, NVIDIA H100 80GB HBM3, GPU-11111111-2222-3333-4444-555555555555, 00000000:18:00.0, 550.54.15, 62, 87 %, 41 %, 81559 MiB, 40441 MiB, 40559 MiB, 312.46 W, 700.00 W, [N/A], 1755 MHz, 2619 MHz, P0\n"
    );
    let out = stdout_of(
        gputop(&scenario)
            .arg("--query-gpu=index,memory.used,fan.speed,power.draw")
            .arg("--format=csv,noheader,nounits"),
    );
    // GPU 2's memory was refused (NO_PERMISSION), which nvidia-smi says as such.
    assert_eq!(
        out,
        "0, 40441, [N/A], 312.46\n1, [N/A], [N/A], [N/A]\n2, [Insufficient Permissions], [N/A], [N/A]\n"
    );
}

/// The InfoROM, GPU Operation Mode and field-value families: values as nvidia-smi prints
/// them, `[N/A]` where the board has none.
#[test]
fn query_gpu_reads_inforom_operation_mode_and_field_values() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\npower_w = 312.5\ntemperature_memory_c = 55\n\
         throttle_reasons = 0x24\n\
         inforom = { image = \"G520.0200.00.05\", oem = \"2.1\", ecc = \"7.16\" }\n\
         [[gpus]]\nname = \"Tesla K40m\"\ngpu_operation_mode = [\"compute\", \"all_on\"]\n\
         errors = { memory_temperature = \"NO_PERMISSION\" }\n",
    );
    let out = stdout_of(gputop(&scenario).args([
        "--query-gpu=index,inforom.img,inforom.oem,inforom.ecc,inforom.pwr,gom.current,gom.pending,\
         temperature.memory,power.draw.average,power.draw.instant,\
         clocks_event_reasons_counters.sw_power_cap,clocks_event_reasons_counters.hw_thermal_slowdown,\
         clocks_event_reasons_counters.sw_thermal_slowdown",
        "--format=csv",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "index, inforom.img, inforom.oem, inforom.ecc, inforom.pwr, gom.current, gom.pending, \
         temperature.memory, power.draw.average [W], power.draw.instant [W], \
         clocks_event_reasons_counters.sw_power_cap [us], \
         clocks_event_reasons_counters.hw_thermal_slowdown [us], \
         clocks_event_reasons_counters.sw_thermal_slowdown [us]"
    );
    let h100: Vec<&str> = lines[1].split(", ").collect();
    assert_eq!(
        h100[..10].join(", "),
        "0, G520.0200.00.05, 2.1, 7.16, [N/A], [N/A], [N/A], 55, 312.50 W, 312.50 W"
    );
    // SW power cap and SW thermal slowdown (0x24) have held the clocks since nvmlInit; HW
    // thermal slowdown never has.
    let micros = |cell: &str| cell.strip_suffix(" us").and_then(|n| n.parse::<u64>().ok());
    assert!(micros(h100[10]).is_some_and(|us| us > 0), "{out}");
    assert_eq!(h100[11], "0 us");
    assert!(micros(h100[12]).is_some_and(|us| us > 0), "{out}");
    assert_eq!(
        lines[2],
        "1, [N/A], [N/A], [N/A], [N/A], Compute, All On, [Insufficient Permissions], [N/A], [N/A], \
         [N/A], [N/A], [N/A]"
    );
}

/// ECC errors by memory location: each counter where the GPU counts there (device memory
/// under both its names), `[N/A]` where it does not or ECC is off.
#[test]
fn ecc_errors_are_queried_by_memory_location() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\necc_corrected = 3\necc_uncorrected = 0\n\
         ecc_locations = { dram = [2, 0, 5, 1], sram = [1, 0, 1, 0] }\n\
         [[gpus]]\nname = \"NVIDIA GeForce RTX 4090\"\n",
    );
    let out = stdout_of(gputop(&scenario).args([
        "--query-gpu=ecc.errors.corrected.volatile.dram,ecc.errors.corrected.volatile.device_memory,\
         ecc.errors.corrected.volatile.sram,ecc.errors.corrected.aggregate.dram,\
         ecc.errors.uncorrected.aggregate.dram,ecc.errors.uncorrected.volatile.l2_cache",
        "--format=csv,noheader",
    ]));
    assert_eq!(out, "2, 2, 1, 5, 1, [N/A]\n[N/A], [N/A], [N/A], [N/A], [N/A], [N/A]\n");
}

/// The video engines beyond encode and decode, the GPU's own PCIe ceiling and the accounting
/// buffer: values where the GPU has them, `[N/A]` elsewhere.
#[test]
fn query_gpu_reads_jpeg_ofa_pcie_ceiling_and_accounting_buffer() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\njpeg_pct = 12\nofa_pct = 3\n\
         pcie_link_gen = [4, 4]\npcie_link_width = [16, 16]\npcie_link_gen_gpu_max = 5\n\
         accounting_buffer_size = 4000\n\
         [[gpus]]\nname = \"Tesla V100-SXM2-32GB\"\n",
    );
    let out = stdout_of(gputop(&scenario).args([
        "--query-gpu=utilization.jpeg,utilization.ofa,pcie.link.gen.gpucurrent,pcie.link.gen.max,\
         pcie.link.gen.gpumax,accounting.buffer_size",
        "--format=csv",
    ]));
    assert_eq!(
        out,
        "utilization.jpeg [%], utilization.ofa [%], pcie.link.gen.current, pcie.link.gen.max, \
         pcie.link.gen.gpumax, accounting.buffer_size\n\
         12 %, 3 %, 4, 4, 5, 4000\n\
         [N/A], [N/A], [N/A], [N/A], [N/A], [N/A]\n"
    );
}

/// The properties of the 570–580 drivers' list: the T.Limit margin, the PCI class, power
/// management, addressing mode, DRAM encryption, GSP, C2C, protected memory and the recovery
/// action, as nvidia-smi prints them (`0x3` and `0x0` as its `-q` prints the class codes;
/// `None` as a healthy GPU's recovery action), `[N/A]` where the GPU has none and NVML's
/// reason where it refused; the rack's place and module power of GB200 GPUs; the InfoROM's
/// checksums. The host's name; the slot's PCIe ceiling and the kernel module
/// are the host's (none for a fake GPU on a machine without the driver).
#[test]
fn query_gpu_reads_the_newer_drivers_properties() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"NVIDIA GB200\"\ntemperature_c = 60\ntemperature_slowdown_c = 87\n\
         temperature_shutdown_c = 92\npci_class = [3, 2]\npower_management = true\n\
         addressing_mode = \"ats\"\ndram_encryption = [false, true]\ngsp_firmware = [true, true]\n\
         c2c_enabled = true\nprotected_memory_mib = [1024, 256]\nrecovery_action = \"drain_p2p\"\n\
         platform = { ib_guid = \"034c4931ff7d1c4f0000000000000000\", \
         chassis_serial_number = \"1821924000123\", slot_number = 7, tray_index = 3, host_id = 1, \
         peer_type = 2, module_id = 4 }\nvgpu_capabilities = [true, false, true]\n\
         module_power = { draw_w = 1810.5, limit_w = 2700, default_limit_w = 2700, \
         min_limit_w = 1000, max_limit_w = 2700, enforced_limit_w = 2400 }\n\
         [[gpus]]\nname = \"NVIDIA GeForce RTX 4090\"\ntemperature_c = 90\ntemperature_slowdown_c = 87\n\
         temperature_shutdown_c = 92\npci_class = [3, 0]\npower_management = false\n\
         addressing_mode = \"none\"\ngsp_firmware = [false, false]\nrecovery_action = \"none\"\n\
         module_id = 1\n\
         [[gpus]]\nname = \"NVIDIA H100\"\naddressing_mode = \"hmm\"\nrecovery_action = \"gpu_reset\"\n\
         errors = { addressing_mode = \"NO_PERMISSION\", recovery_action = \"UNKNOWN\" }\n",
    );
    let properties = "temperature.gpu.tlimit,pci.baseClass,pci.subClass,power.management,\
                      addressing_mode,dramEncryption.mode.current,dramEncryption.mode.pending,\
                      gsp.mode.current,gsp.mode.default,c2c.mode,protected_memory.total,\
                      protected_memory.used,protected_memory.free,gpu_recovery_action";
    let out =
        stdout_of(gputop(&scenario).args([&format!("--query-gpu={properties}"), "--format=csv"]));
    assert_eq!(
        out,
        "temperature.gpu.tlimit, pci.baseClass, pci.subClass, power.management, addressing_mode, \
         dramEncryption.mode.current, dramEncryption.mode.pending, gsp.mode.current, \
         gsp.mode.default, c2c.mode, protected_memory.total [MiB], protected_memory.used [MiB], \
         protected_memory.free [MiB], gpu_recovery_action\n\
         27, 0x3, 0x2, Supported, ATS, Disabled, Enabled, Enabled, Enabled, Enabled, 1024 MiB, \
         256 MiB, 768 MiB, Drain P2P\n\
         -3, 0x3, 0x0, [Not Supported], None, [N/A], [N/A], Disabled, Disabled, [N/A], [N/A], \
         [N/A], [N/A], None\n\
         [N/A], [N/A], [N/A], [Not Supported], [Insufficient Permissions], [N/A], [N/A], [N/A], \
         [N/A], [N/A], [N/A], [N/A], [N/A], [Unknown Error]\n"
    );
    let platform = stdout_of(gputop(&scenario).args([
        "--query-gpu=platform.chassis_serial_number,platform.slot_number,platform.tray_index,\
         platform.host_id,platform.peer_type,platform.module_id,platform.gpu_fabric_guid",
        "--format=csv,noheader",
    ]));
    // A board outside a rack still has its module id (as nvidia-smi -q shows on a laptop).
    assert_eq!(
        platform,
        "1821924000123, 7, 3, 1, 2, 4, 0x034c4931ff7d1c4f\n\
         [N/A], [N/A], [N/A], [N/A], [N/A], 1, [N/A]\n\
         [N/A], [N/A], [N/A], [N/A], [N/A], [N/A], [N/A]\n"
    );
    // The deprecated reset status follows the recovery action; the vGPU capabilities are a
    // vGPU host driver's (the second GPU's driver is bare-metal for it).
    let reset_and_vgpu = stdout_of(gputop(&scenario).args([
        "--query-gpu=reset_status.reset_required,reset_status.drain_and_reset_recommended,\
         vgpu_driver_capability.heterogenous_multivGPU,vgpu_device_capability.fractional_multiVgpu,\
         vgpu_device_capability.heterogeneous_timeSlice_profile,\
         vgpu_device_capability.heterogeneous_timeSlice_sizes",
        "--format=csv,noheader",
    ]));
    assert_eq!(
        reset_and_vgpu,
        "No, No, [N/A], Supported, Not Supported, Supported\n\
         No, No, [N/A], [N/A], [N/A], [N/A]\n\
         [Unknown Error], [Unknown Error], [N/A], [N/A], [N/A], [N/A]\n"
    );
    // The module's power (GPU, CPU and memory of a GB200), asked at the module's scope: a
    // GPU that is not a module has none.
    let module = stdout_of(gputop(&scenario).args([
        "--query-gpu=module.power.draw.average,module.power.draw.instant,module.power.limit,\
         module.enforced.power.limit,module.power.default_limit,module.power.min_limit,\
         module.power.max_limit,power.draw.instant",
        "--format=csv",
        "-i",
        "0,1",
    ]));
    assert_eq!(
        module,
        "module.power.draw.average [W], module.power.draw.instant [W], module.power.limit [W], \
         module.enforced.power.limit [W], module.power.default_limit [W], \
         module.power.min_limit [W], module.power.max_limit [W], power.draw.instant [W]\n\
         1810.50 W, 1810.50 W, 2700.00 W, 2400.00 W, 2700.00 W, 1000.00 W, 2700.00 W, [N/A]\n\
         [N/A], [N/A], [N/A], [N/A], [N/A], [N/A], [N/A], [N/A]\n"
    );
    let inforoms = scenario_file(
        "[[gpus]]\nname = \"NVIDIA H100\"\ninforom = { image = \"G520.0200.00.05\" }\n\
         [[gpus]]\nname = \"NVIDIA H100\"\ninforom = { image = \"G520.0200.00.05\", \
         checksum_valid = false }\n[[gpus]]\nname = \"NVIDIA GeForce RTX 4090\"\n",
    );
    let checksums = stdout_of(
        gputop(&inforoms)
            .args(["--query-gpu=inforom.checksum_validation", "--format=csv,noheader"]),
    );
    assert_eq!(checksums, "Valid\nInvalid\n[N/A]\n");
    let vgpu_host = scenario_file(
        "[driver]\nvgpu_heterogeneous_multi_vgpu = false\n[[gpus]]\nname = \"NVIDIA L40S\"\n",
    );
    let driver = stdout_of(gputop(&vgpu_host).args([
        "--query-gpu=vgpu_driver_capability.heterogenous_multivGPU",
        "--format=csv,noheader",
    ]));
    assert_eq!(driver, "Not Supported\n");
    let host = stdout_of(gputop(&scenario).args([
        "--query-gpu=hostname,pcie.link.gen.hostmax,kmd_version",
        "--format=csv,noheader",
        "-i",
        "0",
    ]));
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let module = std::fs::read_to_string("/sys/module/nvidia/version").ok();
    let module = module.as_deref().map_or("[N/A]", str::trim);
    assert_eq!(host, format!("{}, [N/A], {module}\n", name.trim()));
}

/// The NVLink fabric registration of NVSwitch systems: its state, outcome (in the driver's
/// words), clique and cluster; a bare `N/A` in each field outside any fabric.
#[test]
fn query_gpu_reads_the_nvlink_fabric() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\nfabric = { state = \"completed\", \
         clique_id = 7, cluster_uuid = \"4f6c2a1e-9b3d-4e8f-a012-3456789abcde\" }\n\
         [[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\n\
         fabric = { state = \"in_progress\", status = \"UNKNOWN\" }\n\
         [[gpus]]\nname = \"NVIDIA A100-SXM4-80GB\"\n",
    );
    let out = stdout_of(gputop(&scenario).args([
        "--query-gpu=fabric.state,fabric.status,fabric.cliqueId,fabric.clusterUuid",
        "--format=csv,noheader",
    ]));
    assert_eq!(
        out,
        "Completed, Success, 7, 4f6c2a1e-9b3d-4e8f-a012-3456789abcde\n\
         In Progress, Unknown Error, 0, 00000000-0000-0000-0000-000000000000\n\
         N/A, N/A, N/A, N/A\n"
    );
}

/// `--query-retired-pages`: a row per retired page (a GPU that retires none, or refused, one
/// row that says so); `--query-remapped-rows`: a row per GPU, pending and failure as 1 or 0.
#[test]
fn retired_pages_and_remapped_rows_are_queried_as_nvidia_smi_does() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"Tesla V100-SXM2-32GB\"\nserial = \"0323918012345\"\n\
         retired_pages = [{ address = 0x1ab2c, cause = \"double_bit_ecc\" }, \
         { address = 0x2000, cause = \"multiple_single_bit_ecc\" }]\n\
         [[gpus]]\nname = \"NVIDIA A100-SXM4-80GB\"\n\
         remapped_rows = { correctable = 2, uncorrectable = 1, pending = true }\n\
         [[gpus]]\nname = \"NVIDIA H100\"\nerrors = { retired_pages = \"NO_PERMISSION\" }\n",
    );
    let pages = stdout_of(gputop(&scenario).args([
        "--query-retired-pages=gpu_name,gpu_serial,retired_pages.address,retired_pages.cause",
        "--format=csv",
    ]));
    assert_eq!(
        pages,
        "gpu_name, gpu_serial, retired_pages.address, retired_pages.cause\n\
         Tesla V100-SXM2-32GB, 0323918012345, 0x0000000000002000, Single Bit ECC\n\
         Tesla V100-SXM2-32GB, 0323918012345, 0x000000000001AB2C, Double Bit ECC\n\
         NVIDIA A100-SXM4-80GB, [N/A], [N/A], [N/A]\n\
         NVIDIA H100, [N/A], [Insufficient Permissions], [Insufficient Permissions]\n"
    );
    let rows = stdout_of(gputop(&scenario).args([
        "--query-remapped-rows=gpu_bus_id,remapped_rows.correctable,remapped_rows.uncorrectable,\
         remapped_rows.pending,remapped_rows.failure",
        "--format=csv,noheader",
    ]));
    assert_eq!(
        rows,
        "00000000:01:00.0, [N/A], [N/A], [N/A], [N/A]\n\
         00000000:02:00.0, 2, 1, 1, 0\n\
         00000000:03:00.0, [N/A], [N/A], [N/A], [N/A]\n"
    );
    let counts = stdout_of(gputop(&scenario).args([
        "--query-gpu=retired_pages.sbe,retired_pages.dbe",
        "--format=csv,noheader",
        "--id",
        "0",
    ]));
    assert_eq!(counts, "1, 1\n");
    let out = gputop(&scenario).arg("--query-remapped-rows=pid").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Field \"pid\" is not a valid field to query.\n\n"
    );
}

#[test]
fn query_compute_apps_is_byte_identical_to_nvidia_smi() {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&three_gpus(job.pid()));
    let out = stdout_of(
        gputop(&scenario)
            .arg("--query-compute-apps=pid,process_name,used_memory,gpu_uuid")
            .arg("--format=csv"),
    );
    assert_eq!(
        out,
        format!(
            "pid, process_name, used_gpu_memory [MiB], gpu_uuid\n{}, sleep, 40000 MiB, GPU-11111111-2222-3333-4444-555555555555\n",
            job.pid()
        )
    );
}

#[test]
fn once_beside_a_query_changes_nothing() {
    let scenario = scenario_file(&three_gpus(1));
    let a = stdout_of(gputop(&scenario).args(["--query-gpu=index,name", "--format=csv,noheader"]));
    let b = stdout_of(gputop(&scenario).args([
        "--once",
        "--query-gpu=index,name",
        "--format=csv,noheader",
    ]));
    assert_eq!(a, b);
    assert_eq!(a, "0, NVIDIA H100 80GB HBM3\n1, [N/A]\n2, Bare GPU\n");
}

#[test]
fn gpus_are_selected_by_index_uuid_or_bus_id() {
    let scenario = scenario_file(&three_gpus(1));
    let out = stdout_of(gputop(&scenario).args([
        "--query-gpu=index",
        "--format=csv,noheader",
        "--id",
        "2,GPU-11111111-2222-3333-4444-555555555555",
    ]));
    assert_eq!(out, "2\n0\n");
    let out = stdout_of(gputop(&scenario).args([
        "--query-gpu=index",
        "--format=csv,noheader",
        "-i",
        "18:00.0",
    ]));
    assert_eq!(out, "0\n");
    gputop(&scenario)
        .args(["--once", "--id", "7"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no GPU matches --id 7"));
}

#[test]
fn process_memory_unavailable_is_na_not_zero() {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"WDDM-like GPU\"\nmemory_total_mib = 8192\n[[gpus.processes]]\npid = {}\nkind = \"both\"\n",
        job.pid()
    ));
    let doc: Value =
        serde_json::from_str(&stdout_of(gputop(&scenario).args(["--once", "--json"]))).unwrap();
    let p = &doc["gpus"][0]["processes"][0];
    assert_eq!(p["gpu_memory_bytes"], Value::Null);
    assert_eq!(p["kind"], "compute_graphics");
    let table = stdout_of(gputop(&scenario).args(["--once", "--color", "never"]));
    let line = table.lines().find(|l| l.contains(&job.pid().to_string())).unwrap();
    assert!(line.contains("C+G") && line.contains("N/A"), "{line}");
    let q = stdout_of(
        gputop(&scenario).args(["--query-compute-apps=pid,used_memory", "--format=csv,noheader"]),
    );
    assert_eq!(q, format!("{}, [N/A]\n", job.pid()));
}

#[test]
fn a_process_gone_before_the_host_lookup_keeps_its_nvml_fields() {
    // NVML lists a PID that no longer exists on the host by the time gputop looks it up.
    let scenario = scenario_file(
        "[[gpus]]\nname = \"G\"\n[[gpus.processes]]\npid = 2147480000\nused_memory_mib = 100\n",
    );
    let doc: Value =
        serde_json::from_str(&stdout_of(gputop(&scenario).args(["--once", "--json"]))).unwrap();
    let p = &doc["gpus"][0]["processes"][0];
    assert_eq!(p["pid"], 2147480000u32);
    assert_eq!(p["gpu_memory_bytes"], 100u64 << 20);
    assert_eq!(p["user"], Value::Null);
    assert_eq!(p["command"], Value::Null);
}

/// MIG on: each MIG device is a row under its GPU and an entry in JSON with its profile,
/// instance ids and memory; processes name their instance; no utilization is made up (NVML
/// gives none with MIG on); a MIG device's UUID selects its GPU.
#[test]
fn mig_devices_are_rows_under_their_gpu() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"A100\"\nmig_enabled = true\nutilization_gpu = 50\n\
         mig_instances = [{ profile = \"3g.20gb\", gpu_instance_id = 1, memory_total_mib = 20000 }, \
         { profile = \"4g.20gb\", gpu_instance_id = 2, memory_total_mib = 20000, uuid = \"MIG-second\" }]\n\
         [[gpus.processes]]\npid = 2147480001\nused_memory_mib = 10\ngpu_instance_id = 1\ncompute_instance_id = 0\n\
         [[gpus]]\nname = \"B\"\n",
    );
    let doc: Value =
        serde_json::from_str(&stdout_of(gputop(&scenario).args(["--once", "--json"]))).unwrap();
    let gpu = &doc["gpus"][0];
    assert_eq!(gpu["mig_enabled"], true);
    assert_eq!(gpu["utilization"]["gpu_percent"], Value::Null);
    assert_eq!(gpu["missing"]["utilization"]["reason"], "not_supported");
    let p = &gpu["processes"][0];
    assert_eq!(
        (p["gpu_instance_id"].as_u64(), p["compute_instance_id"].as_u64()),
        (Some(1), Some(0))
    );
    let mig = gpu["mig_instances"].as_array().unwrap();
    assert_eq!(mig.len(), 2);
    assert_eq!(mig[0]["profile"], "3g.20gb");
    assert_eq!(mig[0]["gpu_instance_id"], 1);
    assert_eq!(mig[0]["memory"]["used_bytes"], 10u64 << 20, "its process's memory");
    assert_eq!(mig[0]["memory"]["total_bytes"], 20000u64 << 20);
    assert!(mig[0]["uuid"].as_str().unwrap().starts_with("MIG-"));
    assert_eq!(doc["gpus"][1].get("mig_instances"), None, "left out with MIG off");

    let table = stdout_of(gputop(&scenario).args(["--once"]));
    assert!(table.contains("└ MIG 3g.20gb   GI 1 CI 0     10 / 20000 MiB  util N/A"), "{table}");
    assert!(table.contains("└ MIG 4g.20gb   GI 2 CI 0"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("0/1  2147480001")), "{table}");

    // nvidia-smi -L's layout, as published outputs of real drivers show it.
    let list = stdout_of(gputop(&scenario).args(["-L"]));
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].starts_with("GPU 0: A100 (UUID: GPU-"), "{list}");
    assert!(lines[1].starts_with("  MIG 3g.20gb     Device  0: (UUID: MIG-"), "{list}");
    assert_eq!(lines[2], "  MIG 4g.20gb     Device  1: (UUID: MIG-second)");
    assert!(lines[3].starts_with("GPU 1: B (UUID: GPU-"), "{list}");

    let one = stdout_of(gputop(&scenario).args(["--once", "--json", "--id", "MIG-second"]));
    let one: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one["gpus"].as_array().unwrap().len(), 1);
    assert_eq!(one["gpus"][0]["name"], "A100", "a MIG device's UUID selects its GPU");
}

#[test]
fn escape_sequences_in_command_lines_are_printed_escaped() {
    let job = Sleeper::with_argv0("evil\x1b]0;x\x07\x1b[2J");
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"G\"\n[[gpus.processes]]\npid = {}\nused_memory_mib = 1\n",
        job.pid()
    ));
    for args in [
        &["--once", "--color", "always"][..],
        &["--query-compute-apps=pid,process_name", "--format=csv"][..],
    ] {
        let out = stdout_of(gputop(&scenario).args(args));
        assert!(out.contains("evil\\x1b]0;x\\x07\\x1b[2J"), "{out}");
        assert!(
            !out.contains("\x1b]") && !out.contains("\x07") && !out.contains("\x1b[2J"),
            "raw control bytes in {out:?}"
        );
    }
}

#[test]
fn sixty_four_gpus_with_a_hundred_processes_each() {
    let mut toml = String::new();
    for g in 0..64 {
        toml += &format!(
            "[[gpus]]\nname = \"GPU {g}\"\nmemory_total_mib = 81920\nutilization_gpu = {}\n",
            g % 100
        );
        for p in 0..100 {
            toml += &format!(
                "[[gpus.processes]]\npid = {}\nused_memory_mib = {}\n",
                3_000_000_000u32 + g * 1000 + p,
                p + 1
            );
        }
    }
    let scenario = scenario_file(&toml);
    let doc: Value =
        serde_json::from_str(&stdout_of(gputop(&scenario).args(["--once", "--json"]))).unwrap();
    let gpus = doc["gpus"].as_array().unwrap();
    assert_eq!(gpus.len(), 64);
    assert!(gpus.iter().all(|g| g["processes"].as_array().unwrap().len() == 100));
    assert_eq!(gpus[63]["utilization"]["gpu_percent"], 63);
    assert_eq!(gpus[10]["processes"][99]["gpu_memory_bytes"], 100u64 << 20);
}

/// Each GPU process keeps a file open in the host lookup: more of them than the soft limit on
/// open files allows are still all read (the limit is raised to the hard one).
#[test]
fn more_gpu_processes_than_the_soft_open_file_limit() {
    use std::os::unix::process::CommandExt;
    let jobs: Vec<Sleeper> = (0..150).map(|_| Sleeper::spawn()).collect();
    let mut toml = String::new();
    for g in 0..2 {
        toml += "[[gpus]]\nname = \"GPU\"\nmemory_total_mib = 81920\n";
        for job in jobs.iter().skip(g).step_by(2) {
            toml += &format!("[[gpus.processes]]\npid = {}\nused_memory_mib = 1\n", job.pid());
        }
    }
    let scenario = scenario_file(&toml);
    let mut cmd = gputop_std(&scenario);
    cmd.args(["--once", "--json"]);
    // SAFETY: only setrlimit, which is async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
            limit.rlim_cur = 64;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let processes: Vec<&Value> = doc["gpus"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["processes"].as_array().unwrap())
        .collect();
    assert_eq!(processes.len(), 150);
    for p in processes {
        assert!(p["command"].as_str().is_some_and(|c| c.ends_with("600")), "{p}");
        assert!(p["host_memory_bytes"].as_u64().is_some_and(|m| m > 0), "{p}");
    }
}

#[test]
fn default_library_is_found_through_the_dynamic_loader() {
    let scenario = scenario_file("[[gpus]]\nname = \"Loaded by soname\"\n");
    let out = stdout_of(
        gputop(&scenario)
            .env_remove("GPUTOP_NVML_LIB")
            .env("LD_LIBRARY_PATH", fake_nvml_dir())
            .args(["--query-gpu=name", "--format=csv,noheader"]),
    );
    assert_eq!(out, "Loaded by soname\n");
}

#[test]
fn closing_the_pipe_early_exits_zero_quietly() {
    let bin = assert_cmd::cargo::cargo_bin("gputop");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' --once --demo 512 | head -1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
            bin.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// NVML refusing a GPU's process lists: every output says "unknown", none says "nobody".
#[test]
fn a_process_list_nvml_refuses_is_unknown_not_empty() {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"Locked\"\nmemory_total_mib = 1024\nmemory_used_mib = 900\n\
         errors = {{ processes = \"NO_PERMISSION\" }}\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 10\n",
        job.pid()
    ));
    let doc: Value =
        serde_json::from_str(&stdout_of(gputop(&scenario).args(["--once", "--json"]))).unwrap();
    let gpu = &doc["gpus"][0];
    assert_eq!(gpu["processes"], Value::Null, "{gpu}");
    assert_eq!(gpu["missing"]["processes"]["reason"], "no_permission");
    assert_eq!(gpu["missing"]["processes"]["nvml_code"], 4);

    let table = stdout_of(gputop(&scenario).arg("--once"));
    assert!(table.contains("GPU 0: processes unknown (no permission)"), "{table}");
    assert!(!table.contains("No GPU processes"), "{table}");

    let csv = stdout_of(gputop(&scenario).args(["--once", "--csv"]));
    let column = |name: &str| {
        let at = csv.lines().next().unwrap().split(',').position(|c| c == name).unwrap();
        csv.lines().nth(1).unwrap().split(',').nth(at).unwrap().to_string()
    };
    assert_eq!(column("process_count"), "N/A", "{csv}");
    assert_eq!(column("vendor"), "nvidia", "{csv}");

    let apps = stdout_of(
        gputop(&scenario).args(["--query-compute-apps=pid,used_memory", "--format=csv,noheader"]),
    );
    assert_eq!(apps, "[N/A], [N/A]\n");

    // The other failures NVML documents for the call read the same way.
    for (code, reason) in [("UNKNOWN", "NVML error 999"), ("GPU_IS_LOST", "GPU lost")] {
        let scenario = scenario_file(&format!(
            "[[gpus]]\nname = \"G\"\nerrors = {{ processes = \"{code}\" }}\n"
        ));
        let table = stdout_of(gputop(&scenario).arg("--once"));
        assert!(table.contains(&format!("processes unknown ({reason})")), "{code}: {table}");
    }
}

/// What real drivers do that a model of our own would not: a power management limit above the
/// enforced one, MPS clients on their own list, processes started between NVML's size query and
/// its fill, a passive card with no fans.
#[test]
fn driver_behaviours_from_the_nvml_documentation() {
    let (job, client) = (Sleeper::spawn(), Sleeper::spawn());
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"G\"\npower_limit_w = 300\npower_management_limit_w = 350\n\
         process_list_grows_by = 8\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 100\n\
         [[gpus.processes]]\npid = {}\nkind = \"mps\"\nused_memory_mib = 10\n",
        job.pid(),
        client.pid()
    ));
    let limits = stdout_of(
        gputop(&scenario)
            .args(["--query-gpu=power.limit,enforced.power.limit", "--format=csv,noheader"]),
    );
    assert_eq!(limits, "350.00 W, 300.00 W\n");

    let doc: Value =
        serde_json::from_str(&stdout_of(gputop(&scenario).args(["--once", "--json"]))).unwrap();
    let gpu = &doc["gpus"][0];
    let pids: Vec<u64> =
        gpu["processes"].as_array().unwrap().iter().map(|p| p["pid"].as_u64().unwrap()).collect();
    // The list grew past the room nvml-wrapper leaves (5): asked again, not given up on.
    assert_eq!(pids.len(), 2 + 8, "{gpu}");
    assert!(pids.contains(&u64::from(client.pid())), "the MPS client is listed: {pids:?}");
    // No fan on this card: N/A, and said why.
    assert_eq!(gpu["fan_percent"], Value::Null);
    assert_eq!(gpu["missing"]["fan_percent"]["reason"], "not_supported");
}

/// A GPU that falls off the bus mid-run shows as lost, and as itself again once it is back.
#[test]
fn a_gpu_lost_mid_run_and_back() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"Flaky\"\nutilization_gpu = 5\nlost_between_s = [0.5, 1.3]\n",
    );
    let out = stdout_of(gputop(&scenario).args([
        "--watch",
        "--json",
        "--interval",
        "0.2",
        "--count",
        "12",
    ]));
    let statuses: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["gpus"][0]["status"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let first_lost = statuses.iter().position(|s| s == "lost").expect("lost at some point");
    let back = statuses[first_lost..].iter().position(|s| s == "ok").expect("back again");
    assert!(first_lost > 0 && back > 0, "{statuses:?}");
}

/// Names from a driver or another host are escaped in CSV and JSON too; ordinary ones are not
/// touched.
#[test]
fn untrusted_names_are_escaped_in_csv_and_json() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"Evil\\u001b[2J\\u009b31m\\u202eGPU\"\n[[gpus]]\nname = \"Tesla T4\"\n",
    );
    let csv = stdout_of(gputop(&scenario).args(["--once", "--csv"]));
    assert!(csv.contains("Evil\\x1b[2J\\x9b31m\\u{202e}GPU"), "{csv}");
    assert!(csv.contains(",Tesla T4,"), "{csv}");
    assert!(!csv.contains('\x1b') && !csv.contains('\u{9b}') && !csv.contains('\u{202e}'));
    let json = stdout_of(gputop(&scenario).args(["--once", "--json"]));
    assert!(json.contains(r#""name": "Evil\u001b[2J\u009b31m\u202eGPU""#), "{json}");
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["gpus"][0]["name"], "Evil\x1b[2J\u{9b}31m\u{202e}GPU", "decodes back");
}

/// Per-process utilization NVML refuses: the processes are still listed, their SM % is unknown
/// and says why.
#[test]
fn refused_process_utilization_leaves_the_processes_with_unknown_sm() {
    let job = Sleeper::spawn();
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"G\"\nerrors = {{ process_utilization = \"NO_PERMISSION\" }}\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 10\nsm_util = 50\n",
        job.pid()
    ));
    let doc: Value =
        serde_json::from_str(&stdout_of(gputop(&scenario).args(["--once", "--json"]))).unwrap();
    let gpu = &doc["gpus"][0];
    assert_eq!(gpu["processes"][0]["pid"], job.pid());
    assert_eq!(gpu["processes"][0]["sm_percent"], Value::Null);
    assert_eq!(gpu["missing"]["processes.sm_percent"]["reason"], "no_permission", "{gpu}");
}

/// `--by user`: who holds the GPUs, the largest holder of GPU memory first.
#[test]
fn by_user_groups_processes_by_who_holds_them() {
    let alice = Sleeper::spawn();
    let bob = Sleeper::spawn();
    let toml = format!(
        "[[gpus]]\nname = \"G\"\n[[gpus.processes]]\npid = {a}\nused_memory_mib = 1000\nsm_util = 30\n\
         [[gpus.processes]]\npid = {b}\nused_memory_mib = 5000\nsm_util = 50\n\
         [[gpus]]\nname = \"G\"\n[[gpus.processes]]\npid = {a}\nused_memory_mib = 3000\nsm_util = 10\n\
         [[gpus]]\nname = \"G\"\nerrors = {{ processes = \"NO_PERMISSION\" }}\n",
        a = alice.pid(),
        b = bob.pid()
    );
    let scenario = scenario_file(&toml);
    let doc: Value = serde_json::from_str(&stdout_of(
        gputop(&scenario).args(["--once", "--by", "user", "--json"]),
    ))
    .unwrap();
    // Both sleepers run as this user: one holder, with both GPUs and all three processes.
    let owners = doc["owners"].as_array().unwrap();
    assert_eq!(owners.len(), 1, "{doc:#}");
    assert_eq!(owners[0]["gpu_memory_bytes"], 9000u64 << 20);
    assert_eq!(owners[0]["processes"].as_array().unwrap().len(), 3);
    assert_eq!(owners[0]["processes"][0]["pid"], bob.pid(), "largest first");
    assert_eq!(owners[0]["gpus"].as_array().unwrap().len(), 2);
    // (30 + 50) on GPU 0 and 10 on GPU 1, averaged.
    assert_eq!(owners[0]["sm_percent"], 45);
    assert_eq!(doc["unknown"][0]["gpu"]["index"], 2);
    assert_eq!(doc["unknown"][0]["reason"], "unknown (no permission)");

    let text = stdout_of(gputop(&scenario).args(["--once", "--by", "user", "--color", "never"]));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].starts_with("USER ") && lines[1].ends_with("PROCESSES"), "{text}");
    assert!(lines[2].contains("0,1") && lines[2].contains("8.8GiB"), "{text}");
    assert_eq!(lines[3], "GPU 2: processes unknown (no permission)");
    let out = gputop(&scenario).args(["--by", "user", "--csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// An unknown property gets nvidia-smi's own words, on stdout, and its exit code, 2: the
/// message as nvidia-smi prints it for `device_minor` in a published bug report
/// (CoHDI/composable-resource-operator#37: `Field "device_minor" is not a valid field to
/// query.` and a blank line, exit code 2).
#[test]
fn an_unknown_property_is_reported_as_nvidia_smi_does() {
    let scenario = scenario_file("[[gpus]]\nname = \"G\"\n");
    let out = gputop(&scenario)
        .args(["--query-gpu=device_minor,gpu_uuid,pci.bus_id", "--format=csv,noheader,nounits"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Field \"device_minor\" is not a valid field to query.\n\n"
    );
    assert!(out.stderr.is_empty());
}

/// `-L` in nvidia-smi's format (as in NVIDIA/open-gpu-kernel-modules#387's report:
/// `GPU 0: NVIDIA GeForce RTX 2080 Ti (UUID: GPU-67a571b1-…)`), and its line for a lost GPU.
#[test]
fn list_gpus_is_nvidia_smis() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"NVIDIA GeForce RTX 2080 Ti\"\nuuid = \"GPU-67a571b1-79ee-1016-8ea3-c1fff3f1c1d2\"\n\
         [[gpus]]\nname = \"NVIDIA A100\"\nlost = true\n",
    );
    let text = stdout_of(gputop(&scenario).arg("-L"));
    assert_eq!(
        text,
        "GPU 0: NVIDIA GeForce RTX 2080 Ti (UUID: GPU-67a571b1-79ee-1016-8ea3-c1fff3f1c1d2)\n\
         Unable to determine the device handle for GPU 1: GPU is lost.  Reboot the system to recover this GPU\n"
    );
    assert_eq!(stdout_of(gputop(&scenario).arg("--list-gpus")), text);
    let help = stdout_of(gputop(&scenario).arg("--help-query-gpu"));
    assert!(
        help.starts_with("List of valid properties to query for the switch \"--query-gpu=\":\n\n")
    );
    assert!(help.contains("\n\"uuid\" or \"gpu_uuid\"\n"), "{help}");
    let help = stdout_of(gputop(&scenario).arg("--help-query-compute-apps"));
    assert!(help.contains("\n\"used_gpu_memory\" or \"used_memory\"\n"), "{help}");
}

/// Properties of the board and its settings, read through the NVML calls that give them
/// (nvmlDeviceGetSerial, GetVbiosVersion, Get{Curr,Max}PcieLink{Generation,Width},
/// GetPowerManagementDefaultLimit / LimitConstraints, GetDisplayMode, GetAccountingMode,
/// GetEccMode, GetClockInfo(GRAPHICS)), in nvidia-smi's forms; a board without them (GeForce:
/// no serial, no ECC) reads `[N/A]`.
#[test]
fn board_properties_come_from_their_nvml_calls() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"A\"\nserial = \"1652222004547\"\nvbios_version = \"96.00.74.00.0D\"\n\
         pcie_link_gen = [1, 4]\npcie_link_width = [8, 16]\npower_limit_w = 400\n\
         power_default_limit_w = 400\npower_limit_range_w = [100, 400]\naccounting_mode = false\n\
         display_mode = false\necc_corrected = 0\necc_uncorrected = 0\nclock_sm_mhz = 1410\n\
         [[gpus]]\nname = \"GeForce\"\n",
    );
    let fields = "index,gpu_serial,vbios_version,compute_mode,pcie.link.gen.current,\
                  pcie.link.gen.max,pcie.link.width.current,pcie.link.width.max,\
                  power.default_limit,power.min_limit,power.max_limit,display_mode,\
                  accounting.mode,ecc.mode.current,clocks.gr";
    let out = stdout_of(gputop(&scenario).arg(format!("--query-gpu={fields}")).arg("--format=csv"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "index, serial, vbios_version, compute_mode, pcie.link.gen.current, pcie.link.gen.max, \
         pcie.link.width.current, pcie.link.width.max, power.default_limit [W], \
         power.min_limit [W], power.max_limit [W], display_mode, accounting.mode, \
         ecc.mode.current, clocks.current.graphics [MHz]"
    );
    assert_eq!(
        lines[1],
        "0, 1652222004547, 96.00.74.00.0D, Default, 1, 4, 8, 16, 400.00 W, 100.00 W, 400.00 W, \
         Disabled, Disabled, Enabled, 1410 MHz"
    );
    assert_eq!(
        lines[2],
        "1, [N/A], [N/A], Default, [N/A], [N/A], [N/A], [N/A], [N/A], [N/A], [N/A], [N/A], [N/A], \
         [N/A], [N/A]"
    );
}

/// The PCI identity, MIG's pending mode, the compute capability, the video and applications
/// clocks, the encoder's sessions and the supported clock event reasons, each from its NVML
/// call in nvidia-smi's form; the Windows driver model is [N/A] on Linux, as nvidia-smi says.
#[test]
fn identity_clock_and_encoder_properties_come_from_their_nvml_calls() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"A\"\npci_bus_id = \"00000000:3B:00.0\"\nmig_enabled = false\n\
         compute_capability = [9, 0]\nclock_video_mhz = 1755\n\
         applications_clocks_mhz = [1755, 2619]\ndefault_applications_clocks_mhz = [1980, 2619]\n\
         encoder_stats = [1, 60, 2300]\nthrottle_reasons = 0\n\
         [[gpus]]\nname = \"GeForce\"\n",
    );
    let fields = "pci.domain,pci.bus,pci.device,pci.device_id,pci.sub_device_id,mig.mode.pending,\
                  compute_cap,clocks.video,clocks.applications.gr,clocks.applications.mem,\
                  clocks.default_applications.graphics,clocks.default_applications.memory,\
                  encoder.stats.sessionCount,encoder.stats.averageFps,encoder.stats.averageLatency,\
                  clocks_event_reasons.supported,driver_model.current";
    let out = stdout_of(gputop(&scenario).arg(format!("--query-gpu={fields}")).arg("--format=csv"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "pci.domain, pci.bus, pci.device, pci.device_id, pci.sub_device_id, mig.mode.pending, \
         compute_cap, clocks.current.video [MHz], clocks.applications.graphics [MHz], \
         clocks.applications.memory [MHz], clocks.default_applications.graphics [MHz], \
         clocks.default_applications.memory [MHz], encoder.stats.sessionCount, \
         encoder.stats.averageFps, encoder.stats.averageLatency, \
         clocks_throttle_reasons.supported, driver_model.current"
    );
    assert_eq!(
        lines[1],
        "0x0000, 0x3B, 0x00, 0x233010DE, 0x16C110DE, Disabled, 9.0, 1755 MHz, 1755 MHz, \
         2619 MHz, 1980 MHz, 2619 MHz, 1, 60, 2300, 0x00000000000001FF, [N/A]"
    );
    assert!(
        lines[2].starts_with("0x0000, 0x02, 0x00, 0x233010DE, 0x16C110DE, [N/A], [N/A], [N/A]"),
        "{}",
        lines[2]
    );
}

/// A value NVML refused reads as nvidia-smi prints it: `[Insufficient Permissions]` for
/// NO_PERMISSION, `[Unknown Error]` for any other failure, `[N/A]` for what the GPU lacks.
#[test]
fn refused_values_say_why_as_nvidia_smi_does() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"A\"\nserial = \"1652222004547\"\npower_w = 100\n\
         errors = { serial = \"NO_PERMISSION\", power = \"UNKNOWN\" }\n",
    );
    let out = stdout_of(
        gputop(&scenario)
            .arg("--query-gpu=serial,power.draw,fan.speed,name")
            .arg("--format=csv,noheader"),
    );
    assert_eq!(out, "[Insufficient Permissions], [Unknown Error], [N/A], A\n");
}

/// The memory-health properties: lifetime ECC counts, pages pending retirement and row
/// remapping, from nvmlDeviceGetTotalEccErrors(AGGREGATE), GetRetiredPagesPendingStatus and
/// GetRemappedRows.
#[test]
fn memory_health_properties_come_from_their_nvml_calls() {
    let scenario = scenario_file(
        "[[gpus]]\nname = \"A\"\necc_corrected = 1\necc_uncorrected = 0\necc_aggregate = [7, 2]\n\
         retired_pages_pending = false\n\
         remapped_rows = { correctable = 3, uncorrectable = 1, pending = true }\n\
         [[gpus]]\nname = \"GeForce\"\n",
    );
    let fields = "ecc.errors.corrected.volatile.total,ecc.errors.corrected.aggregate.total,\
                  ecc.errors.uncorrected.aggregate.total,retired_pages.pending,\
                  remapped_rows.correctable,remapped_rows.uncorrectable,remapped_rows.pending,\
                  remapped_rows.failure";
    let out = stdout_of(
        gputop(&scenario).arg(format!("--query-gpu={fields}")).arg("--format=csv,noheader"),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1, 7, 2, No, 3, 1, Yes, No");
    assert_eq!(lines[1], "[N/A], [N/A], [N/A], [N/A], [N/A], [N/A], [N/A], [N/A]");
}
