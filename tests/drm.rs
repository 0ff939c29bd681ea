//! AMD and Intel GPUs through the real binary (issue 32), on fixture cards written as the
//! kernel documents them (`tests/common/drm/cards.rs`) and mounted, with real character
//! devices and live client processes, in a private mount namespace (`tests/common/drm/mod.rs`).
//! Runs as root (as CI does); elsewhere each test says SKIPPED, and fails when CI=true.
//!
//! Every test here fails on main before dc78a26, which read NVIDIA's GPUs only: there
//! `--once` on these machines exits with NVML's "library not found" error.

mod common;
#[path = "common/drm/mod.rs"]
mod drm;

use std::io::BufRead;
use std::process::{Output, Stdio};

use common::{scenario_file, Sleeper};
use drm::cards::*;
use drm::Machine;
use serde_json::Value;

const NOBODY: u32 = 65534;

fn run(mut cmd: std::process::Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "gputop failed: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The GPU of `doc` at PCI address `address`.
fn gpu<'a>(doc: &'a Value, address: &str) -> &'a Value {
    doc["gpus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["pci_bus_id"] == address)
        .unwrap_or_else(|| panic!("no GPU {address} in {doc:#}"))
}

fn reason<'a>(gpu: &'a Value, key: &str) -> &'a Value {
    &gpu["missing"][key]["reason"]
}

/// The AMD-only machine: a Radeon and an Instinct, a graphics client on the Radeon and a
/// ROCm process KFD lists on the Instinct.
fn amd_machine() -> (Machine, u32, u32) {
    let mut m = Machine::new(&[Card::Radeon, Card::Instinct]);
    let radeon = m.render_node(Card::Radeon);
    let graphics = m.client(&[(5, radeon, amdgpu_fdinfo(17, "0000:03:00.0", 786_432, 4_000))]);
    // A ROCm process: KFD lists it, and it holds the Instinct's render node (an older
    // kernel's fdinfo, `drm-memory-vram`): its memory is the larger of the two, not the sum.
    let instinct = m.render_node(Card::Instinct);
    let rocm = m.client(&[(3, instinct, amdgpu_fdinfo_old(40, "0000:83:00.0", 1 << 20, 0))]);
    let kfd = m.sys().join(format!("devices/virtual/kfd/kfd/proc/{rocm}"));
    write(&kfd.join(format!("vram_{INSTINCT_GPU_ID}")), "8589934592\n");
    write(&kfd.join("pasid"), "32774\n");
    (m, graphics, rocm)
}

#[test]
fn an_amd_only_machine_shows_its_cards_with_no_nvml_error() {
    if !drm::can_mount() {
        return;
    }
    let (m, graphics, _) = amd_machine();
    let out = run(m.gputop(&["--once"]));
    let table = stdout(&out);
    assert_eq!(stderr(&out), "", "no NVML error, no warning");
    let rows: Vec<&str> =
        table.lines().filter(|l| l.trim_start().starts_with(['0', '1'])).collect();
    assert!(rows[0].contains("AMD Navi 31 [Radeon RX 7900"), "{table}");
    for reading in ["51°C", "37%", "4096 / 24560 MiB", "211 / 303 W", "36%"] {
        assert!(rows[0].contains(reading), "{reading} in {table}");
    }
    assert!(rows[1].contains("AMD Aqua Vanjaram [Instinct"), "{table}");
    for reading in ["54°C", "88%", "16384 / 196288 MiB", "412 / 750 W", "N/A"] {
        assert!(rows[1].contains(reading), "{reading} in {table}");
    }
    assert!(table.contains(&graphics.to_string()), "the client's process: {table}");
}

#[test]
fn json_has_the_vendor_the_fixture_values_and_the_drivers_reasons() {
    if !drm::can_mount() {
        return;
    }
    let (m, graphics, rocm) = amd_machine();
    let doc = json(&run(m.gputop(&["--once", "--json"])));
    let radeon = gpu(&doc, "0000:03:00.0");
    assert_eq!(radeon["vendor"], "amd");
    assert_eq!(radeon["index"], 0);
    assert_eq!(radeon["memory"]["total_bytes"], RADEON_VRAM_TOTAL);
    assert_eq!(radeon["memory"]["used_bytes"], RADEON_VRAM_USED);
    assert_eq!(radeon["utilization"]["gpu_percent"], 37);
    assert_eq!(radeon["utilization"]["memory_percent"], 12);
    assert_eq!(radeon["temperature"]["gpu_celsius"], 51, "edge, not junction");
    assert_eq!(radeon["temperature"]["slowdown_celsius"], 100);
    assert_eq!(radeon["temperature"]["shutdown_celsius"], 105);
    assert_eq!(radeon["power"]["draw_watts"], 211.0);
    assert_eq!(radeon["power"]["limit_watts"], 303.0);
    assert_eq!(radeon["fan_percent"], 36);
    assert_eq!(radeon["clocks"]["sm_mhz"], 1895);
    assert_eq!(radeon["clocks"]["sm_max_mhz"], 2482);
    assert_eq!(radeon["clocks"]["memory_mhz"], 1249);
    assert_eq!(radeon["performance_state"], Value::Null);
    assert_eq!(reason(radeon, "performance_state"), "not_provided_by_amdgpu");
    assert_eq!(radeon["ecc"]["corrected"], Value::Null, "a Radeon exposes no RAS");
    assert_eq!(reason(radeon, "ecc"), "not_provided_by_amdgpu");
    let process = &radeon["processes"][0];
    assert_eq!(process["pid"], graphics);
    assert_eq!(process["gpu_memory_bytes"], 786_432u64 << 10, "drm-resident-vram");
    assert_eq!(process["kind"], Value::Null, "fdinfo does not say graphics from compute");
    assert_eq!(process["missing"]["kind"]["reason"], "not_provided_by_amdgpu");

    let instinct = gpu(&doc, "0000:83:00.0");
    assert_eq!(instinct["vendor"], "amd");
    assert_eq!(instinct["index"], 1);
    assert_eq!(instinct["fan_percent"], Value::Null);
    assert_eq!(reason(instinct, "fan_percent"), "not_provided_by_amdgpu");
    assert_eq!(instinct["temperature"]["gpu_celsius"], 54, "junction where there is no edge");
    assert_eq!(instinct["power"]["draw_watts"], 412.0, "power1_input");
    assert_eq!(
        (&instinct["ecc"]["corrected"], &instinct["ecc"]["uncorrected"]),
        (&6.into(), &1.into())
    );
    assert_eq!(instinct["uuid"], "a1b2c3d4e5f60718");
    let compute = &instinct["processes"][0];
    assert_eq!(compute["pid"], rocm, "KFD's process: {instinct:#}");
    assert_eq!(compute["kind"], "compute");
    assert_eq!(compute["gpu_memory_bytes"], 8_589_934_592u64);
}

#[test]
fn health_judges_an_amd_gpu_by_what_amdgpu_gives() {
    if !drm::can_mount() {
        return;
    }
    let (m, _, _) = amd_machine();
    // The Instinct's findings make it a failure or warning; what amdgpu has no file for is
    // said, not counted as unknown (as an NVIDIA GPU's NOT_SUPPORTED).
    let out = m.gputop(&["health", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    let gpus = doc["gpus"].as_array().unwrap_or_else(|| panic!("{doc}"));
    let instinct = gpus.iter().find(|g| g["pci_bus_id"] == "0000:83:00.0").unwrap();
    assert_eq!(instinct["vendor"], "amd");
    let problems: Vec<&str> = instinct["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["what"].as_str().unwrap())
        .collect();
    for expected in [
        "1 uncorrected ECC error(s) since the driver loaded",
        "PCIe link x8 of x16",
        "memory pages waiting to be retired",
    ] {
        assert!(problems.contains(&expected), "{expected} in {problems:?}");
    }
    let unseen = |g: &Value| -> Vec<String> {
        g["not_available"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["check"].as_str().unwrap().to_string())
            .collect()
    };
    // What amdgpu does not give is named, never passed; what it gives is examined.
    assert_eq!(unseen(instinct), ["hardware slowdowns"], "{instinct}");
    let radeon = gpus.iter().find(|g| g["pci_bus_id"] == "0000:03:00.0").unwrap();
    assert_eq!(
        unseen(radeon),
        ["hardware slowdowns", "ECC errors", "memory rows and pages"],
        "{radeon}"
    );
    assert_eq!(radeon["status"], "ok", "{radeon}");
    assert_eq!(radeon["not_examined"], serde_json::json!([]), "{radeon}");
    assert!(radeon["problems"].as_array().unwrap().is_empty(), "a full-width link: {radeon}");
}

#[test]
fn ras_counts_that_cannot_be_read_leave_health_unknown_not_ok() {
    if !drm::can_mount() {
        return;
    }
    let (m, _, _) = amd_machine();
    // amdgpu's answer while RAS recovers: a block's count that is no count.
    let ras = m.sys().join("bus/pci/devices/0000:83:00.0/ras/sdma_err_count");
    let ras = if ras.parent().unwrap().exists() {
        ras
    } else {
        let dev = std::fs::read_dir(m.sys().join("class/drm"))
            .unwrap()
            .flatten()
            .map(|e| e.path().join("device"))
            .find(|d| d.join("ras").exists())
            .expect("the Instinct's ras directory");
        dev.join("ras/sdma_err_count")
    };
    std::fs::write(&ras, "Query currently inaccessible\n").unwrap();
    let out = m.gputop(&["health", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc = json(&out);
    let instinct =
        doc["gpus"].as_array().unwrap().iter().find(|g| g["pci_bus_id"] == "0000:83:00.0").unwrap();
    let unseen: Vec<&str> = instinct["not_examined"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["check"].as_str().unwrap())
        .collect();
    assert!(unseen.contains(&"ECC errors"), "{instinct}");
}

#[test]
fn csv_has_a_row_per_card() {
    if !drm::can_mount() {
        return;
    }
    let (m, ..) = amd_machine();
    let csv = stdout(&run(m.gputop(&["--once", "--csv"])));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two cards: {csv}");
    assert!(lines[0].starts_with("timestamp,index,uuid,name,pci_bus_id,"), "{csv}");
    let radeon = lines[1].split_once(',').unwrap().1;
    assert_eq!(
        radeon,
        "0,N/A,AMD Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M],0000:03:00.0,ok,51,37,12,\
         4294967296,25753026560,211,303,36,1895,1249,N/A,1,amd"
    );
    let instinct = lines[2].split_once(',').unwrap().1;
    assert!(
        instinct.starts_with("1,a1b2c3d4e5f60718,AMD Aqua Vanjaram [Instinct MI300X],"),
        "{csv}"
    );
    assert!(instinct.contains(",412,750,N/A,1950,"), "no fan: {csv}");
}

#[test]
fn query_gpu_gives_the_fixture_values_and_na_where_the_driver_has_none() {
    if !drm::can_mount() {
        return;
    }
    // card0..card3 out of PCI order: the indices follow the PCI addresses, as ROCm's and
    // Level Zero's ordinals do.
    let m = Machine::new(&[Card::Radeon, Card::Instinct, Card::ArcXe, Card::IntegratedI915]);
    let fields = "index,name,pci.bus_id,utilization.gpu,memory.used,memory.total,\
                  temperature.gpu,power.draw,power.limit,fan.speed,clocks.sm";
    let query = format!("--query-gpu={fields}");
    let out = run(m.gputop(&[&query, "--format=csv,noheader"]));
    let rows: Vec<String> = stdout(&out).lines().map(|r| r.trim().to_string()).collect();
    assert_eq!(rows.len(), 4, "{rows:#?}");
    assert_eq!(
        rows[0],
        "0, Intel AlderLake-S GT1, 0000:00:02.0, 0 %, [N/A], [N/A], [N/A], [N/A], [N/A], [N/A], \
         1450 MHz"
    );
    assert_eq!(
        rows[1],
        "1, AMD Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M], 0000:03:00.0, 37 %, \
         4096 MiB, 24560 MiB, 51, 211.00 W, 303.00 W, 36 %, 1895 MHz"
    );
    assert!(
        rows[2].starts_with(
            "2, Intel Battlemage G21 [Arc B580], 0000:04:00.0, 0 %, 0 MiB, 12288 MiB, 46, "
        ),
        "{rows:#?}"
    );
    assert!(rows[2].ends_with(", 190.00 W, [N/A], 2450 MHz"), "{rows:#?}");
    assert_eq!(
        rows[3],
        "3, AMD Aqua Vanjaram [Instinct MI300X], 0000:83:00.0, 88 %, 16384 MiB, 196288 MiB, \
         54, 412.00 W, 750.00 W, [N/A], 1950 MHz"
    );
}

#[test]
fn nvidia_and_amd_together_nvidia_first() {
    if !drm::can_mount() {
        return;
    }
    let (m, ..) = amd_machine();
    let scenario = scenario_file(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\n\
         uuid = \"GPU-00000000-aaaa-bbbb-cccc-000000000000\"\nutilization_gpu = 64\n",
    );
    let out = run(m.gputop_with_nvidia(&scenario, &["--once", "--json"]));
    assert_eq!(stderr(&out), "");
    let doc = json(&out);
    let gpus: Vec<(u64, &str, &str)> = doc["gpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["index"].as_u64().unwrap(),
                g["vendor"].as_str().unwrap(),
                g["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(gpus.len(), 3, "{gpus:?}");
    assert_eq!(gpus[0], (0, "nvidia", "NVIDIA H100 80GB HBM3"));
    assert_eq!((gpus[1].0, gpus[1].1), (1, "amd"));
    assert_eq!((gpus[2].0, gpus[2].1), (2, "amd"));

    // --id by PCI address picks the AMD card, by index the NVIDIA one.
    let picked =
        json(&run(m.gputop_with_nvidia(&scenario, &["--once", "--json", "--id", "0000:03:00.0"])));
    let picked: Vec<&Value> = picked["gpus"].as_array().unwrap().iter().collect();
    assert_eq!(picked.len(), 1);
    assert_eq!((&picked[0]["index"], &picked[0]["vendor"]), (&1.into(), &"amd".into()));
    let table = stdout(&run(m.gputop_with_nvidia(&scenario, &["--once", "--id", "2"])));
    assert!(table.contains("Instinct") && !table.contains("H100"), "{table}");
}

#[test]
fn id_selects_an_amd_card_by_its_pci_address_alone() {
    if !drm::can_mount() {
        return;
    }
    let (m, ..) = amd_machine();
    let doc = json(&run(m.gputop(&["--once", "--json", "--id", "0000:83:00.0"])));
    let gpus = doc["gpus"].as_array().unwrap();
    assert_eq!(gpus.len(), 1, "{doc:#}");
    assert_eq!(gpus[0]["name"], "AMD Aqua Vanjaram [Instinct MI300X]");
    let out = m.gputop(&["--once", "--id", "0000:99:00.0"]).output().unwrap();
    assert!(!out.status.success(), "an address no card has is refused");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

/// Two samples of `--watch --json`, the fdinfo and the energy counter moved on between them:
/// the busy shares come from the engine time's and the cycles' change (the cycles of a class
/// of 4 engines over 4 times the timestamp), Intel's power from the energy's.
#[test]
fn busy_shares_and_power_come_from_the_change_between_two_samples() {
    if !drm::can_mount() {
        return;
    }
    let mut m = Machine::new(&[Card::Radeon, Card::ArcXe, Card::IntegratedI915]);
    let radeon = m.render_node(Card::Radeon);
    let (arc, igpu) = (m.render_node(Card::ArcXe), m.render_node(Card::IntegratedI915));
    let amd = m.client(&[(4, radeon, amdgpu_fdinfo(3, "0000:03:00.0", 1024, 10_000_000_000))]);
    let xe_text = |rcs, ccs, total| xe_fdinfo_ccs(9, "0000:04:00.0", 65_536, rcs, ccs, total);
    let xe = m.client(&[(6, arc, xe_text(1_000_000, 0, 100_000_000))]);
    let i915 = m.client(&[(8, igpu, i915_fdinfo(2, "0000:00:02.0", 7_000_000_000))]);
    let mut child = m
        .gputop(&["--watch", "1", "--count", "2", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let started = std::time::Instant::now();
    // Over the next second: the Radeon client busy half of it, the i915 one a quarter; the
    // xe client 30 % of its render cycles and 2 of its 4 compute engines (50 %); the Arc
    // 60 J used (60 W).
    m.set_fdinfo(amd, 4, &amdgpu_fdinfo(3, "0000:03:00.0", 1024, 10_500_000_000));
    m.set_fdinfo(xe, 6, &xe_text(31_000_000, 200_000_000, 200_000_000));
    m.set_fdinfo(i915, 8, &i915_fdinfo(2, "0000:00:02.0", 7_250_000_000));
    m.set_sys(
        "devices/pci0000:00/0000:04:00.0/hwmon/hwmon1/energy1_input",
        &format!("{}\n", ARC_ENERGY_START_UJ + 60_000_000),
    );
    let second: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let interval = started.elapsed().as_secs_f64();
    assert!(child.wait().unwrap().success());

    let arc_first = gpu(&first, "0000:04:00.0");
    // The fixture's GPU timestamp stood still over the first sample's two readings: no share.
    assert_eq!(arc_first["utilization"]["gpu_percent"], Value::Null, "{arc_first:#}");
    assert_eq!(arc_first["power"]["draw_watts"], 0.0);
    assert_eq!(arc_first["memory"]["used_bytes"], 65_536u64 << 10, "drm-resident-vram0");

    let arc_second = gpu(&second, "0000:04:00.0");
    assert_eq!(arc_second["utilization"]["gpu_percent"], 50, "ccs, 2 of 4: {arc_second:#}");
    assert_eq!(arc_second["processes"][0]["sm_percent"], 50);
    let watts = arc_second["power"]["draw_watts"].as_f64().unwrap();
    assert!((40.0..=75.0).contains(&watts), "60 J over about 1 s ({interval:.2} s): {watts} W");

    let radeon_second = gpu(&second, "0000:03:00.0");
    let share = radeon_second["processes"][0]["sm_percent"].as_u64().unwrap();
    assert!((30..=60).contains(&share), "0.5 s busy over about 1 s: {share} %");
    assert_eq!(radeon_second["utilization"]["gpu_percent"], 37, "gpu_busy_percent is amdgpu's");

    let igpu_second = gpu(&second, "0000:00:02.0");
    let busy = igpu_second["utilization"]["gpu_percent"].as_u64().unwrap();
    assert!((15..=30).contains(&busy), "0.25 s of render over about 1 s: {busy} %");
}

/// One client shared by two processes (an inherited fd) and dup'ed within one: the card's
/// memory and busy share count it once.
#[test]
fn a_shared_client_is_counted_once() {
    if !drm::can_mount() {
        return;
    }
    let mut m = Machine::new(&[Card::ArcXe]);
    let (render, card) = (m.render_node(Card::ArcXe), m.card_node(Card::ArcXe));
    let text = |cycles| xe_fdinfo(21, "0000:04:00.0", 1 << 20, cycles, 1_000_000_000);
    let parent = m.client(&[(3, render.clone(), text(0)), (7, render.clone(), text(0))]);
    let child = m.client(&[(3, render, text(0))]);
    // Another client of the same process, on the primary node: its own memory.
    let other = xe_fdinfo(22, "0000:04:00.0", 2048, 0, 1_000_000_000);
    let own = m.client(&[(5, card, other)]);
    let doc = json(&run(m.gputop(&["--once", "--json"])));
    let arc = gpu(&doc, "0000:04:00.0");
    assert_eq!(arc["memory"]["used_bytes"], (1u64 << 30) + (2048 << 10), "client 21 once: {arc:#}");
    let processes = arc["processes"].as_array().unwrap();
    let pids: Vec<u64> = processes.iter().map(|p| p["pid"].as_u64().unwrap()).collect();
    let mut expected = vec![parent as u64, child as u64, own as u64];
    expected.sort_unstable();
    assert_eq!(pids, expected);
    let parents = processes.iter().find(|p| p["pid"] == parent).unwrap();
    assert_eq!(parents["gpu_memory_bytes"], 1u64 << 30, "dup'ed fds are one client");
}

/// gputop as a user who cannot read root's processes: a client may hide among them, so
/// Intel's utilization (from the clients) is unknown with the reason, not a low number, and
/// stderr says why.
#[test]
fn an_unreadable_process_makes_intel_utilization_unknown_not_low() {
    if !drm::can_mount() || !common::have("setpriv", &["--version"], "install util-linux") {
        return;
    }
    let mut m = Machine::new(&[Card::ArcXe]);
    let render = m.render_node(Card::ArcXe);
    let text = xe_fdinfo(31, "0000:04:00.0", 4096, 0, 1_000);
    let mine = Sleeper::as_user(NOBODY).expect("root spawns nobody's process");
    let mine = m.client_of(mine, &[(3, render.clone(), text)]);
    // Root's client: its fd table is mounted, but nobody may not open it.
    let roots = m.client(&[(3, render, xe_fdinfo(32, "0000:04:00.0", 4096, 0, 1_000))]);
    std::fs::set_permissions(
        m.dir().join(format!("proc/{roots}/fd")),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let out = run(m.gputop_as(NOBODY, &["--once", "--json"]));
    let doc = json(&out);
    let arc = gpu(&doc, "0000:04:00.0");
    assert_eq!(arc["utilization"]["gpu_percent"], Value::Null, "{arc:#}");
    assert_eq!(reason(arc, "utilization"), "no_permission");
    assert_eq!(arc["memory"]["used_bytes"], Value::Null, "the clients' sum is not all of it");
    assert_eq!(reason(arc, "memory"), "no_permission");
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains("could not be read") && warnings.contains("root"), "{warnings}");
    let pids: Vec<&Value> =
        arc["processes"].as_array().unwrap().iter().map(|p| &p["pid"]).collect();
    assert_eq!(pids, [&Value::from(mine)]);

    let table = run(m.gputop_as(NOBODY, &["--once"]));
    assert!(stderr(&table).contains("could not be read"), "{}", stderr(&table));
}

/// fdinfo a hostile process controls: numbers past u64, garbage bytes, a 10 MB file, a
/// counter going backwards. gputop neither panics nor reports more than 100 %.
#[test]
fn hostile_fdinfo_does_not_panic() {
    if !drm::can_mount() {
        return;
    }
    let mut m = Machine::new(&[Card::Radeon, Card::ArcXe]);
    let (radeon, arc) = (m.render_node(Card::Radeon), m.render_node(Card::ArcXe));
    let huge = "drm-driver:\tamdgpu\ndrm-client-id:\t18446744073709551615\n\
                drm-engine-gfx:\t99999999999999999999999999 ns\n\
                drm-engine-compute:\t18446744073709551615 ns\ndrm-engine-capacity-compute:\t0\n\
                drm-resident-vram:\t18446744073709551615 MiB\ndrm-total-vram:\t-5 KiB\n";
    let mut garbage =
        b"drm-driver:\t\xff\xfe\x1b[31m\ndrm-pdev:\t../../etc\ndrm-engine-:\t5 ns\n".to_vec();
    garbage.extend(std::iter::repeat_n(b':', 4096));
    let mut big = String::from("drm-driver:\txe\ndrm-client-id:\t77\n");
    big.push_str(&"drm-cycles-rcs:\t1\ndrm-total-cycles-rcs:\t0\n".repeat(250_000)); // ~10 MB
    let hostile = m.client(&[
        (3, radeon.clone(), huge.to_string()),
        (4, radeon, String::from_utf8_lossy(&garbage).into_owned()),
        (5, arc.clone(), big),
        (6, "/dev/null".to_string(), "drm-driver:\tamdgpu\n".to_string()),
        (7, arc, xe_fdinfo(78, "0000:04:00.0", 1024, u64::MAX, u64::MAX)),
    ]);
    // A file that is not valid UTF-8 at all.
    std::fs::write(m.dir().join(format!("proc/{hostile}/fdinfo/4")), &garbage).unwrap();
    let out = run(m.gputop(&["--once", "--json"]));
    let doc = json(&out);
    for g in doc["gpus"].as_array().unwrap() {
        let busy = g["utilization"]["gpu_percent"].as_u64().unwrap_or(0);
        assert!(busy <= 100, "{g:#}");
        for p in g["processes"].as_array().unwrap() {
            assert!(p["sm_percent"].as_u64().unwrap_or(0) <= 100, "{p:#}");
        }
    }
    let table = run(m.gputop(&["--once"]));
    assert!(!stdout(&table).contains('\x1b'), "no raw escape reaches the terminal");
}

/// A process holding hundreds of open DRM files (a hostile user can open the render node
/// until its fd limit): gputop reads 256 of them, not every one every sample, and says the
/// totals from the clients are unknown rather than give a partial sum.
#[test]
fn a_process_with_too_many_drm_files_is_read_in_part() {
    if !drm::can_mount() {
        return;
    }
    let mut m = Machine::new(&[Card::ArcXe]);
    let render = m.render_node(Card::ArcXe);
    let fds: Vec<(u32, String, String)> = (3..303)
        .map(|fd| (fd, render.clone(), xe_fdinfo(1000 + fd as u64, "0000:04:00.0", 1, 0, 1)))
        .collect();
    let flood = m.client(&fds);
    let out = run(m.gputop(&["--once", "--json"]));
    let doc = json(&out);
    let arc = gpu(&doc, "0000:04:00.0");
    assert_eq!(arc["utilization"]["gpu_percent"], Value::Null, "{arc:#}");
    assert_eq!(arc["memory"]["used_bytes"], Value::Null, "a partial sum is not the total");
    assert_eq!(reason(arc, "memory"), "error");
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains(&format!("PID {flood}")) && warnings.contains("256"), "{warnings}");
    let flooding = &arc["processes"][0];
    assert_eq!(flooding["gpu_memory_bytes"], 256 << 10, "256 clients of 1 KiB read: {flooding:#}");
}

/// The number of processes a warning says could not be read.
fn unreadable_count(warnings: &str) -> usize {
    let at = warnings.find("the open files of ").expect("the unreadable warning") + 18;
    warnings[at..].split(' ').next().unwrap().parse().unwrap()
}

/// (processes, of which kernel threads) in this machine's /proc, read as root.
fn kernel_threads() -> (usize, usize) {
    let (mut all, mut kernel) = (0, 0);
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let flags: u64 = rest.split_whitespace().nth(6).unwrap().parse().unwrap();
        all += 1;
        kernel += usize::from(flags & 0x0020_0000 != 0);
    }
    (all, kernel)
}

/// Not root, with another user's client: the list is the user's own and says it is partial
/// (`missing.processes`), and the count of unreadable processes leaves out the kernel
/// threads, whose fd tables no user but root may open and which hold no GPU.
#[test]
fn an_unreadable_process_marks_the_list_partial_and_kernel_threads_are_not_counted() {
    if !drm::can_mount() || !common::have("setpriv", &["--version"], "install util-linux") {
        return;
    }
    let mut m = Machine::new(&[Card::Radeon]);
    let render = m.render_node(Card::Radeon);
    let mine = Sleeper::as_user(NOBODY).expect("root spawns nobody's process");
    let mine = m.client_of(mine, &[(3, render, amdgpu_fdinfo(5, "0000:03:00.0", 64, 1_000))]);
    let doc = json(&run(m.gputop_as(NOBODY, &["--once", "--json"])));
    let radeon = gpu(&doc, "0000:03:00.0");
    assert_eq!(radeon["processes"][0]["pid"], mine, "{radeon:#}");
    assert_eq!(reason(radeon, "processes"), "no_permission", "{radeon:#}");
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains("other users' or root's"), "{warnings}");
    let (all, kernel) = kernel_threads();
    let counted = unreadable_count(&warnings);
    assert!(counted <= all - kernel + 20, "{counted} of {all} processes, {kernel} kernel threads");
    if kernel <= 20 {
        eprintln!("few kernel threads here ({kernel} of {all}): this check tells little");
    }
}

/// `/proc` mounted with `hidepid=2`: other users' processes are not even listed, so no read
/// fails; gputop still knows the list is partial, and Intel's totals from it unknown.
#[test]
fn proc_with_hidepid_makes_the_list_partial() {
    if !drm::can_mount() || !common::have("setpriv", &["--version"], "install util-linux") {
        return;
    }
    let mut m = Machine::new(&[Card::ArcXe]);
    let render = m.render_node(Card::ArcXe);
    let mine = Sleeper::as_user(NOBODY).expect("root spawns nobody's process");
    let mine = m.client_of(mine, &[(3, render.clone(), xe_fdinfo(31, "0000:04:00.0", 4, 0, 9))]);
    m.client(&[(3, render, xe_fdinfo(32, "0000:04:00.0", 4096, 0, 1_000))]);
    m.proc_options = Some("hidepid=2".into());
    let doc = json(&run(m.gputop_as(NOBODY, &["--once", "--json"])));
    let arc = gpu(&doc, "0000:04:00.0");
    let pids: Vec<&Value> =
        arc["processes"].as_array().unwrap().iter().map(|p| &p["pid"]).collect();
    assert_eq!(pids, [&Value::from(mine)], "{arc:#}");
    assert_eq!(reason(arc, "processes"), "no_permission", "{arc:#}");
    assert_eq!(arc["memory"]["used_bytes"], Value::Null, "{arc:#}");
    assert_eq!(reason(arc, "utilization"), "no_permission");
    assert!(doc["warnings"].to_string().contains("hidepid"), "{doc:#}");

    // A mount point that is not UTF-8 (a user's FUSE mount, a Latin-1 disk label) in the
    // mount table still leaves hidepid seen.
    let dir = m.dir().join("mnt");
    std::fs::create_dir_all(&dir).unwrap();
    m.extra_script = format!(
        "odd=\"$(printf '{}/bad\\377name')\"; mkdir -p \"$odd\"; mount -t tmpfs gputop-test-odd \"$odd\"\n",
        dir.display()
    );
    let doc = json(&run(m.gputop_as(NOBODY, &["--once", "--json"])));
    assert_eq!(reason(gpu(&doc, "0000:04:00.0"), "processes"), "no_permission", "{doc:#}");
}

/// gputop in a PID namespace of its own (a container): KFD's PIDs are the host's, so its
/// ROCm process is not shown as some process of the container's, and the list is partial.
#[test]
fn in_a_pid_namespace_kfd_is_left_out_and_the_list_is_partial() {
    if !drm::can_mount() {
        return;
    }
    let (mut m, _, rocm) = amd_machine();
    m.pid_namespace = true;
    let doc = json(&run(m.gputop(&["--once", "--json"])));
    let instinct = gpu(&doc, "0000:83:00.0");
    let listed = instinct["processes"].as_array().unwrap();
    assert!(listed.iter().all(|p| p["pid"] != rocm), "the host's PID {rocm}: {instinct:#}");
    assert_eq!(reason(instinct, "processes"), "no_permission", "{instinct:#}");
    assert!(doc["warnings"].to_string().contains("PID namespace"), "{doc:#}");
}

/// An APU (its `gpu_metrics` has an APU's layout): hwmon's power is the whole SoC's, so the
/// GPU's draw is unknown, with amdgpu's reason.
#[test]
fn an_apus_power_is_not_shown_as_the_gpus() {
    if !drm::can_mount() {
        return;
    }
    let m = Machine::new(&[Card::Radeon]);
    let mut metrics = vec![0u8; 120];
    metrics[..4].copy_from_slice(&[120, 0, 2, 1]);
    metrics[28..30].copy_from_slice(&21u16.to_le_bytes());
    std::fs::write(m.sys().join("devices/pci0000:00/0000:03:00.0/gpu_metrics"), metrics).unwrap();
    let doc = json(&run(m.gputop(&["--once", "--json"])));
    let apu = gpu(&doc, "0000:03:00.0");
    assert_eq!(apu["utilization"]["gpu_percent"], 21, "{apu:#}");
    assert_eq!(apu["power"]["draw_watts"], Value::Null, "{apu:#}");
    assert_eq!(reason(apu, "power.draw_watts"), "not_provided_by_amdgpu");
}

/// A GPU that fell off the bus: sysfs still has its cached `vendor`, but its config space
/// reads all ones. It is lost, and says why.
#[test]
fn a_gpu_whose_config_space_reads_all_ones_is_lost() {
    if !drm::can_mount() {
        return;
    }
    let m = Machine::new(&[Card::Radeon, Card::ArcXe]);
    let config = m.sys().join("devices/pci0000:00/0000:03:00.0/config");
    std::fs::write(&config, [0xffu8; 64]).unwrap();
    std::fs::write(
        m.sys().join("devices/pci0000:00/0000:04:00.0/config"),
        [0x86, 0x80, 0x0b, 0xe2],
    )
    .unwrap();
    let doc = json(&run(m.gputop(&["--once", "--json"])));
    let lost = gpu(&doc, "0000:03:00.0");
    assert_eq!(lost["status"], "lost", "{lost:#}");
    assert!(lost["error"].as_str().unwrap().contains("fell off the bus"), "{lost:#}");
    assert_eq!(gpu(&doc, "0000:04:00.0")["status"], "ok");
}

/// An i915 GPU whose client prints no engine keys (before Gen 8 i915 has no busy stats):
/// its utilization and the process's share are unknown with i915's reason, never 0; on the
/// Radeon, a client with graphics time only leaves the encoder unknown.
#[test]
fn a_driver_that_prints_no_engine_keys_leaves_the_share_unknown_not_0() {
    if !drm::can_mount() {
        return;
    }
    let mut m = Machine::new(&[Card::IntegratedI915, Card::Radeon]);
    let igpu = m.render_node(Card::IntegratedI915);
    let no_engines: String = i915_fdinfo(4, "0000:00:02.0", 0)
        .lines()
        .filter(|l| !l.starts_with("drm-engine"))
        .map(|l| format!("{l}\n"))
        .collect();
    let old = m.client(&[(3, igpu, no_engines)]);
    let radeon = m.render_node(Card::Radeon);
    m.client(&[(3, radeon, amdgpu_fdinfo(6, "0000:03:00.0", 64, 1_000))]);
    let doc = json(&run(m.gputop(&["--once", "--json"])));
    let i915 = gpu(&doc, "0000:00:02.0");
    assert_eq!(i915["utilization"]["gpu_percent"], Value::Null, "{i915:#}");
    assert_eq!(reason(i915, "utilization"), "not_provided_by_i915");
    let process = &i915["processes"][0];
    assert_eq!((&process["pid"], &process["sm_percent"]), (&Value::from(old), &Value::Null));
    assert_eq!(process["missing"]["processes.sm_percent"]["reason"], "not_provided_by_i915");
    let amd = gpu(&doc, "0000:03:00.0");
    assert_eq!(amd["utilization"]["encoder_percent"], Value::Null, "{amd:#}");
    assert_eq!(amd["processes"][0]["sm_percent"], 0, "its gfx time is known: {amd:#}");
}
