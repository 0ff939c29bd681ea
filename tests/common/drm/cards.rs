//! The four cards of the fixtures, written as the kernel lays them out in sysfs, and the
//! fdinfo text of their clients as each driver prints it. Every file name and format follows
//! the kernel's documentation, not gputop's model:
//!
//! - the PCI function and its DRM nodes: `Documentation/ABI/testing/sysfs-bus-pci`
//!   (`vendor`, `device`, `revision`, `class`, `uevent` with `DRIVER=` and `PCI_SLOT_NAME=`),
//!   `/sys/class/drm/cardN` → `/sys/devices/…/<pci address>/drm/cardN`, `cardN/device` → the
//!   function, `renderD128+` beside it (`Documentation/gpu/drm-uapi.rst`, "Render nodes");
//! - amdgpu: `Documentation/gpu/amdgpu/driver-misc.rst` (`mem_info_vram_*`, `unique_id`,
//!   `current_link_*`), `thermal.rst` (`gpu_busy_percent`, `mem_busy_percent`, `pp_dpm_*`,
//!   hwmon `temp1..3` edge/junction/mem, `power1_average`/`power1_input`, `power1_cap`,
//!   `pwm1`, `fan1_input`, `freq1_input` sclk in Hz), `ras.rst` (`ras/*_err_count`,
//!   `ue: N` / `ce: N`); KFD's topology and process directories (`kfd_topology.c`,
//!   `kfd_process.c`: `nodes/N/gpu_id`, `properties` with `location_id` and `domain`,
//!   `proc/<pid>/vram_<gpu_id>`);
//! - xe: `Documentation/gpu/xe/xe_gt_freq.rst` (`device/tile0/gt0/freq0/{act,cur,rp0,
//!   rpn,min,max}_freq`, MHz), `xe_tile_sysfs.c` (`tileN/physical_vram_size_bytes`),
//!   `Documentation/ABI/testing/sysfs-driver-intel-xe-hwmon` (`energy1_input` µJ,
//!   `power1_max` µW, `temp2_input` with label `pkg`);
//! - i915: `Documentation/ABI/testing/sysfs-class-drm` and `i915_sysfs.c`
//!   (`cardN/gt_{act,cur,RP0,RPn,min,max,boost}_freq_mhz`); an integrated GPU has no VRAM and
//!   no hwmon of its own;
//! - hwmon units: `Documentation/hwmon/sysfs-interface.rst` (millidegrees, µW, µJ, Hz).
//! - fdinfo: `Documentation/gpu/drm-usage-stats.rst` and each driver's example
//!   (`amdgpu_fdinfo.c`, `xe_drm_client.c`, `Documentation/gpu/i915.rst` "i915 DRM client
//!   usage stats").

use std::path::Path;

/// One card of a fixture machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Card {
    /// AMD Radeon RX 7900 XTX (Navi 31, 1002:744c rev c8) on amdgpu at 0000:03:00.0: a fan,
    /// edge/junction/mem temperatures, 24 GiB of VRAM, no RAS.
    Radeon,
    /// AMD Instinct MI300X (1002:74a1) on amdgpu at 0000:83:00.0: no fan (passively cooled:
    /// hwmon has no `pwm1`), no edge sensor, RAS error counts, a KFD topology node.
    Instinct,
    /// Intel Arc B580 (8086:e20b, Battlemage) on xe at 0000:04:00.0: GT frequencies under
    /// `tile0/gt0/freq0`, 12 GiB of VRAM, energy but no power reading.
    ArcXe,
    /// Intel UHD Graphics 770 (8086:4680, Alder Lake-S) on i915 at 0000:00:02.0: the
    /// `gt_*_freq_mhz` files, no VRAM, no hwmon.
    IntegratedI915,
}

impl Card {
    pub fn pci_address(self) -> &'static str {
        match self {
            Card::Radeon => "0000:03:00.0",
            Card::Instinct => "0000:83:00.0",
            Card::ArcXe => "0000:04:00.0",
            Card::IntegratedI915 => "0000:00:02.0",
        }
    }

    pub fn driver(self) -> &'static str {
        match self {
            Card::Radeon | Card::Instinct => "amdgpu",
            Card::ArcXe => "xe",
            Card::IntegratedI915 => "i915",
        }
    }

    /// (vendor, device, revision) as sysfs writes them.
    fn ids(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Card::Radeon => ("0x1002", "0x744c", "0xc8"),
            Card::Instinct => ("0x1002", "0x74a1", "0x00"),
            Card::ArcXe => ("0x8086", "0xe20b", "0x00"),
            Card::IntegratedI915 => ("0x8086", "0x4680", "0x0c"),
        }
    }
}

/// The PCI ID database's lines for the four cards, in its format (a vendor line, its
/// devices indented by a tab); the real file is the host's and changes with its age.
pub const PCI_IDS: &str = "# pci.ids fixture: the four cards of tests/common/drm\n\
    1002  Advanced Micro Devices, Inc. [AMD/ATI]\n\
    \t744c  Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M]\n\
    \t74a1  Aqua Vanjaram [Instinct MI300X]\n\
    8086  Intel Corporation\n\
    \t4680  AlderLake-S GT1\n\
    \te20b  Battlemage G21 [Arc B580]\n";

/// KFD's `gpu_id` of the Instinct (a hash the driver makes; any non-zero number).
pub const INSTINCT_GPU_ID: u64 = 53_054;

/// The Radeon's and the Instinct's sysfs readings, for the tests' expectations.
pub const RADEON_VRAM_TOTAL: u64 = 25_753_026_560; // 24560 MiB, as the RX 7900 XTX reports
pub const RADEON_VRAM_USED: u64 = 4_294_967_296; // 4096 MiB
pub const INSTINCT_VRAM_TOTAL: u64 = 205_822_885_888; // 196288 MiB
pub const INSTINCT_VRAM_USED: u64 = 17_179_869_184; // 16384 MiB
pub const ARC_VRAM_TOTAL: u64 = 12_884_901_888; // 12 GiB

/// Writes `card` (DRM minor `card_minor`, render node `render_minor`, hwmon `hwmonN` with
/// N = `card_minor`) into the sysfs tree at `sys`.
pub fn write_card(sys: &Path, card: Card, card_minor: u32, render_minor: u32) {
    let address = card.pci_address();
    let bus = if card == Card::Instinct { "pci0000:80" } else { "pci0000:00" };
    let function = format!("devices/{bus}/{address}");
    let dev = sys.join(&function);
    let (vendor, device, revision) = card.ids();
    // A processing accelerator (0x12) or a VGA controller (0x03).
    let class = if card == Card::Instinct { "0x120000" } else { "0x030000" };
    let driver = card.driver();
    let files: &[(&str, String)] = &[
        ("vendor", format!("{vendor}\n")),
        ("device", format!("{device}\n")),
        ("revision", format!("{revision}\n")),
        ("class", format!("{class}\n")),
        (
            "uevent",
            format!(
                "DRIVER={driver}\nPCI_CLASS={}\nPCI_ID={}:{}\nPCI_SLOT_NAME={address}\n\
                 MODALIAS=pci:v0000{}d0000{}\n",
                &class[2..],
                &vendor[2..].to_uppercase(),
                &device[2..].to_uppercase(),
                &vendor[2..].to_uppercase(),
                &device[2..].to_uppercase(),
            ),
        ),
    ];
    for (name, text) in files {
        write(&dev.join(name), text);
    }
    link(&dev.join("driver"), &format!("../../../bus/pci/drivers/{driver}"));
    std::fs::create_dir_all(sys.join("bus/pci/drivers").join(driver)).unwrap();
    link(&sys.join("bus/pci/devices").join(address), &format!("../../../{function}"));

    // The DRM nodes: `cardN/dev` is `major:minor`; the class links point into the function.
    for node in [format!("card{card_minor}"), format!("renderD{render_minor}")] {
        let minor = node.trim_start_matches(|c: char| c.is_ascii_alphabetic());
        let dir = dev.join("drm").join(&node);
        write(&dir.join("dev"), &format!("226:{minor}\n"));
        write(&dir.join("uevent"), &format!("MAJOR=226\nMINOR={minor}\nDEVNAME=dri/{node}\n"));
        link(&dir.join("device"), &format!("../../../{address}"));
        link(&sys.join("class/drm").join(&node), &format!("../../{function}/drm/{node}"));
    }

    let hwmon = dev.join(format!("hwmon/hwmon{card_minor}"));
    link(
        &sys.join(format!("class/hwmon/hwmon{card_minor}")),
        &format!("../../{function}/hwmon/hwmon{card_minor}"),
    );
    match card {
        Card::Radeon => radeon(&dev, &hwmon),
        Card::Instinct => instinct(sys, &dev, &hwmon),
        Card::ArcXe => arc(&dev, &hwmon),
        Card::IntegratedI915 => i915(&dev.join(format!("drm/card{card_minor}"))),
    }
}

fn radeon(dev: &Path, hwmon: &Path) {
    amdgpu_common(dev, RADEON_VRAM_TOTAL, RADEON_VRAM_USED, 37, 12);
    write_all(
        dev,
        &[
            // thermal.rst: one level a line, `*` on the current one.
            ("pp_dpm_sclk", "0: 500Mhz\n1: 1895Mhz *\n2: 2482Mhz\n"),
            ("pp_dpm_mclk", "0: 96Mhz\n1: 456Mhz\n2: 772Mhz\n3: 1249Mhz *\n"),
            // Documentation/ABI/testing/sysfs-bus-pci: every PCIe device's link.
            ("current_link_speed", "16.0 GT/s PCIe\n"),
            ("current_link_width", "16\n"),
            ("max_link_speed", "16.0 GT/s PCIe\n"),
            ("max_link_width", "16\n"),
        ],
    );
    write_all(
        hwmon,
        &[
            ("name", "amdgpu\n"),
            ("temp1_input", "51000\n"),
            ("temp1_label", "edge\n"),
            ("temp1_crit", "100000\n"),
            ("temp1_emergency", "105000\n"),
            ("temp2_input", "68000\n"),
            ("temp2_label", "junction\n"),
            ("temp2_crit", "110000\n"),
            ("temp3_input", "62000\n"),
            ("temp3_label", "mem\n"),
            ("power1_average", "211000000\n"),
            ("power1_cap", "303000000\n"),
            ("power1_cap_max", "339000000\n"),
            ("pwm1", "94\n"), // 94/255 = 36 %
            ("pwm1_max", "255\n"),
            ("pwm1_enable", "2\n"),
            ("fan1_input", "1187\n"),
            ("freq1_input", "1895000000\n"),
            ("freq1_label", "sclk\n"),
            ("freq2_input", "1249000000\n"),
            ("freq2_label", "mclk\n"),
        ],
    );
}

fn instinct(sys: &Path, dev: &Path, hwmon: &Path) {
    amdgpu_common(dev, INSTINCT_VRAM_TOTAL, INSTINCT_VRAM_USED, 88, 41);
    write_all(
        dev,
        &[
            ("pp_dpm_sclk", "0: 500Mhz\n1: 1950Mhz *\n2: 2100Mhz\n"),
            ("pp_dpm_mclk", "0: 900Mhz\n1: 1300Mhz *\n"),
            ("unique_id", "a1b2c3d4e5f60718\n"),
            // ras.rst: each block's counts; the features mask file is not a count.
            ("ras/features", "feature mask: 0x3fff\n"),
            ("ras/umc_err_count", "ue: 1\nce: 4\n"),
            ("ras/gfx_err_count", "ue: 0\nce: 2\n"),
            // ras.rst: one retired page (R) and one waiting for a reset (P).
            (
                "ras/gpu_vram_bad_pages",
                "0x00000100 : 0x00001000 : R\n0x00000200 : 0x00001000 : P\n",
            ),
            // A link trained at half its width: health's PCIe finding.
            ("current_link_speed", "32.0 GT/s PCIe\n"),
            ("current_link_width", "8\n"),
            ("max_link_speed", "32.0 GT/s PCIe\n"),
            ("max_link_width", "16\n"),
        ],
    );
    // No edge sensor and no fan: MI300 reports the hotspot (junction) and HBM temperatures.
    write_all(
        hwmon,
        &[
            ("name", "amdgpu\n"),
            ("temp2_input", "54000\n"),
            ("temp2_label", "junction\n"),
            ("temp2_crit", "110000\n"),
            ("temp3_input", "47000\n"),
            ("temp3_label", "mem\n"),
            ("power1_input", "412000000\n"),
            ("power1_cap", "750000000\n"),
        ],
    );
    // KFD: /sys/class/kfd/kfd is /sys/devices/virtual/kfd/kfd; node 0 is the CPU.
    let kfd = sys.join("devices/virtual/kfd/kfd");
    link(&sys.join("class/kfd/kfd"), "../../devices/virtual/kfd/kfd");
    write_all(
        &kfd.join("topology/nodes/0"),
        &[("gpu_id", "0\n"), ("name", "\n"), ("properties", "cpu_cores_count 96\nsimd_count 0\n")],
    );
    // location_id is bus << 8 | device << 3 | function: 0x83 << 8 = 33536.
    let properties =
        "cpu_cores_count 0\nsimd_count 1216\nlocation_id 33536\ndomain 0\nvendor_id 4098\n\
         device_id 29857\n";
    write_all(
        &kfd.join("topology/nodes/1"),
        &[
            ("gpu_id", &format!("{INSTINCT_GPU_ID}\n")),
            ("name", "gfx942\n"),
            ("properties", properties),
        ],
    );
    std::fs::create_dir_all(kfd.join("proc")).unwrap();
}

/// What both amdgpu cards have (driver-misc.rst, thermal.rst).
fn amdgpu_common(dev: &Path, total: u64, used: u64, busy: u32, memory_busy: u32) {
    let total = format!("{total}\n");
    let used = format!("{used}\n");
    write_all(
        dev,
        &[
            ("gpu_busy_percent", &format!("{busy}\n")),
            ("mem_busy_percent", &format!("{memory_busy}\n")),
            ("mem_info_vram_total", &total),
            ("mem_info_vram_used", &used),
            ("mem_info_gtt_total", "33554432000\n"),
            ("mem_info_gtt_used", "123731968\n"),
            ("power_dpm_force_performance_level", "auto\n"),
        ],
    );
}

fn arc(dev: &Path, hwmon: &Path) {
    write_all(
        &dev.join("tile0/gt0/freq0"),
        &[
            ("act_freq", "2450\n"),
            ("cur_freq", "2850\n"),
            ("rp0_freq", "2850\n"),
            ("rpe_freq", "2000\n"),
            ("rpn_freq", "400\n"),
            ("min_freq", "400\n"),
            ("max_freq", "2850\n"),
        ],
    );
    write(&dev.join("tile0/physical_vram_size_bytes"), &format!("{ARC_VRAM_TOTAL}\n"));
    // xe's hwmon: the card's energy and power limit, the package temperature.
    write_all(
        hwmon,
        &[
            ("name", "xe\n"),
            ("energy1_input", &format!("{}\n", ARC_ENERGY_START_UJ)),
            ("energy1_label", "card\n"),
            ("power1_max", "190000000\n"),
            ("power1_label", "card\n"),
            ("temp2_input", "46000\n"),
            ("temp2_label", "pkg\n"),
        ],
    );
}

/// The Arc's energy counter at the start, µJ.
pub const ARC_ENERGY_START_UJ: u64 = 5_000_000_000;

fn i915(card_dir: &Path) {
    write_all(
        card_dir,
        &[
            ("gt_act_freq_mhz", "1450\n"),
            ("gt_cur_freq_mhz", "1450\n"),
            ("gt_RP0_freq_mhz", "1550\n"),
            ("gt_RPn_freq_mhz", "300\n"),
            ("gt_min_freq_mhz", "300\n"),
            ("gt_max_freq_mhz", "1550\n"),
            ("gt_boost_freq_mhz", "1550\n"),
        ],
    );
}

/// An amdgpu client's fdinfo as `amdgpu_fdinfo.c` prints it (6.12 and later: the common
/// memory keys, with amdgpu's own `amd-*` beside them), `gfx_ns` of graphics time.
pub fn amdgpu_fdinfo(client_id: u64, pdev: &str, vram_kib: u64, gfx_ns: u64) -> String {
    format!(
        "pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t1134\n\
         drm-driver:\tamdgpu\ndrm-client-id:\t{client_id}\ndrm-pdev:\t{pdev}\npasid:\t32770\n\
         drm-total-cpu:\t0\ndrm-shared-cpu:\t0\ndrm-active-cpu:\t0\ndrm-resident-cpu:\t0\n\
         drm-purgeable-cpu:\t0\n\
         drm-total-gtt:\t4100 KiB\ndrm-shared-gtt:\t0\ndrm-active-gtt:\t0\n\
         drm-resident-gtt:\t4100 KiB\ndrm-purgeable-gtt:\t0\n\
         drm-total-vram:\t{vram_kib} KiB\ndrm-shared-vram:\t0\ndrm-active-vram:\t0\n\
         drm-resident-vram:\t{vram_kib} KiB\ndrm-purgeable-vram:\t0\n\
         amd-evicted-vram:\t0\namd-requested-vram:\t{vram_kib} KiB\n\
         amd-requested-gtt:\t4100 KiB\n\
         drm-engine-gfx:\t{gfx_ns} ns\n"
    )
}

/// The same from an older kernel (before 6.12): the deprecated `drm-memory-<region>`.
pub fn amdgpu_fdinfo_old(client_id: u64, pdev: &str, vram_kib: u64, compute_ns: u64) -> String {
    format!(
        "pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t1135\npasid:\t32771\n\
         drm-driver:\tamdgpu\ndrm-pdev:\t{pdev}\ndrm-client-id:\t{client_id}\n\
         drm-memory-vram:\t{vram_kib} KiB\ndrm-memory-gtt: \t2048 KiB\n\
         drm-memory-cpu: \t0 KiB\namd-memory-visible-vram:\t0 KiB\n\
         drm-engine-compute:\t{compute_ns} ns\n"
    )
}

/// An xe client as `xe_drm_client.c`'s example shows it: cycles against the GPU's timestamp
/// per engine class, memory per region (`vram0` is the card's).
pub fn xe_fdinfo(client_id: u64, pdev: &str, vram_kib: u64, rcs: u64, total: u64) -> String {
    xe_fdinfo_ccs(client_id, pdev, vram_kib, rcs, 0, total)
}

/// [`xe_fdinfo`] with compute cycles too: `drm-cycles-ccs` sums the class's 4 engines
/// (`drm-engine-capacity-ccs: 4`), so it runs up to 4 times the GPU timestamp.
pub fn xe_fdinfo_ccs(
    client_id: u64,
    pdev: &str,
    vram_kib: u64,
    rcs: u64,
    ccs: u64,
    total: u64,
) -> String {
    format!(
        "pos:\t0\nflags:\t0100002\nmnt_id:\t26\nino:\t685\n\
         drm-driver:\txe\ndrm-client-id:\t{client_id}\ndrm-pdev:\t{pdev}\n\
         drm-total-system:\t0\ndrm-shared-system:\t0\ndrm-active-system:\t0\n\
         drm-resident-system:\t0\ndrm-purgeable-system:\t0\n\
         drm-total-gtt:\t192 KiB\ndrm-shared-gtt:\t0\ndrm-active-gtt:\t0\n\
         drm-resident-gtt:\t192 KiB\n\
         drm-total-vram0:\t{vram_kib} KiB\ndrm-shared-vram0:\t0\ndrm-active-vram0:\t0\n\
         drm-resident-vram0:\t{vram_kib} KiB\n\
         drm-cycles-rcs:\t{rcs}\ndrm-total-cycles-rcs:\t{total}\n\
         drm-cycles-bcs:\t0\ndrm-total-cycles-bcs:\t{total}\n\
         drm-cycles-vcs:\t0\ndrm-total-cycles-vcs:\t{total}\ndrm-engine-capacity-vcs:\t2\n\
         drm-cycles-ccs:\t{ccs}\ndrm-total-cycles-ccs:\t{total}\ndrm-engine-capacity-ccs:\t4\n"
    )
}

/// An i915 client as `Documentation/gpu/i915.rst` shows it: engine time per class, system
/// memory only (an integrated GPU).
pub fn i915_fdinfo(client_id: u64, pdev: &str, render_ns: u64) -> String {
    format!(
        "pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t1157\n\
         drm-driver:\ti915\ndrm-pdev:\t{pdev}\ndrm-client-id:\t{client_id}\n\
         drm-total-system0:\t45056 KiB\ndrm-shared-system0:\t0\ndrm-active-system0:\t0\n\
         drm-resident-system0:\t45056 KiB\ndrm-purgeable-system0:\t0\n\
         drm-total-stolen-system0:\t0\ndrm-resident-stolen-system0:\t0\n\
         drm-engine-render:\t{render_ns} ns\ndrm-engine-copy:\t0 ns\n\
         drm-engine-video:\t0 ns\ndrm-engine-capacity-video:\t2\n\
         drm-engine-video-enhance:\t0 ns\n"
    )
}

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn write_all(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        write(&dir.join(name), text);
    }
}

/// A symbolic link at `at` to `target`, relative as sysfs makes them.
fn link(at: &Path, target: &str) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(at);
    std::os::unix::fs::symlink(target, at).unwrap();
}
