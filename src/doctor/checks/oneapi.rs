//! oneAPI, for the Intel GPUs: the i915 or xe kernel module, the cards' render nodes and the
//! groups that own them, the Level Zero loader (`libze_loader.so.1`, which every oneAPI and XPU
//! program opens, loaded here as a program would), and `ZE_AFFINITY_MASK` naming devices that
//! exist.

use super::dri::{self, OtherGpus};
use super::visible;
use crate::doctor::{Finding, Status, System};
use crate::source::drm::cards::{Card, Driver};

const LEVEL_ZERO: &str = "libze_loader.so.1";

pub fn check(sys: &System, gpus: &OtherGpus) -> Vec<Finding> {
    let mut out = vec![module(sys, gpus)];
    if gpus.intel.is_empty() {
        return out;
    }
    let (render, without) = dri::render_nodes(&gpus.intel);
    if !without.is_empty() {
        out.push(
            Finding::new("intel_render_nodes", Status::Failure, format!("No render node for {}", without.join(", ")))
                .evidence("sysfs lists no renderD* under the card's device/drm")
                .fix("`sudo dmesg | grep -iE 'i915|xe'` says why the card did not initialise (often missing GuC/HuC firmware: update linux-firmware)"),
        );
    }
    if !render.is_empty() {
        out.push(dri::nodes_finding(
            sys,
            "intel_render_nodes",
            "Render nodes",
            &render,
            "the nodes come with the driver (udev creates them): in a container pass them in with --device=/dev/dri",
        ));
        out.push(dri::groups_finding(sys, "intel_groups", &render));
    }
    out.push(level_zero(sys));
    if let Some(raw) = sys.raw_var("ZE_AFFINITY_MASK") {
        let tiles: usize = gpus.intel.iter().map(tiles).sum();
        out.push(
            visible::check(visible::Spec {
                check: "ze_affinity_mask",
                var: "ZE_AFFINITY_MASK",
                value: raw,
                count: tiles,
                counted: "Intel GPU tile(s) on this machine (a multi-tile card is one device per tile in Level Zero's FLAT hierarchy)",
                subdevices: true,
            }),
        );
    }
    out
}

/// The tiles of a card, which Level Zero's default (FLAT) hierarchy shows as devices: xe's
/// `device/tileN`, i915's `gt/gtN`; at least one.
fn tiles(card: &Card) -> usize {
    let count = |dir: &std::path::Path, prefix: &str| {
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .filter(|e| {
                        e.file_name()
                            .to_str()
                            .and_then(|n| n.strip_prefix(prefix))
                            .is_some_and(|n| n.parse::<u32>().is_ok())
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    let n = match card.driver {
        Driver::Xe => count(&card.device, "tile"),
        _ => count(&card.dir.join("gt"), "gt"),
    };
    n.max(1)
}

fn module(sys: &System, gpus: &OtherGpus) -> Finding {
    let loaded: Vec<&str> =
        ["i915", "xe"].into_iter().filter(|m| sys.exists(format!("/sys/module/{m}"))).collect();
    if !gpus.intel.is_empty() {
        let cards: Vec<String> = gpus
            .intel
            .iter()
            .map(|c| {
                let driver = if c.driver == Driver::Xe { "xe" } else { "i915" };
                format!("{} on {driver}", dri::describe_card(c))
            })
            .collect();
        let title = if loaded.is_empty() {
            format!("{} Intel GPU(s) on their kernel driver", gpus.intel.len())
        } else {
            format!(
                "{} kernel module loaded: {} Intel GPU(s)",
                loaded.join(" and "),
                gpus.intel.len()
            )
        };
        return Finding::new("intel_module", Status::Ok, title).evidence(cards.join(", "));
    }
    let f = Finding::new(
        "intel_module",
        Status::Failure,
        if loaded.is_empty() {
            "Neither the i915 nor the xe kernel module is loaded".to_string()
        } else {
            format!("{} is loaded but drives no GPU", loaded.join(" and "))
        },
    )
    .evidence(format!("Intel GPU(s) on the PCI bus: {}", gpus.intel_pci.join(", ")));
    if loaded.is_empty() {
        f.fix("load it: sudo modprobe i915 (Arc and Data Center GPUs on recent kernels: sudo modprobe xe); `sudo dmesg | grep -iE 'i915|xe'` says why it failed")
    } else {
        f.fix("`sudo dmesg | grep -iE 'i915|xe'` says why the card did not initialise (often missing GuC/HuC firmware: update linux-firmware; new cards may need i915.force_probe or xe.force_probe)")
    }
}

/// Where a program's loader would look for a library: `LD_LIBRARY_PATH`, the directories in
/// `/etc/ld.so.conf.d`, then the usual system ones.
fn library_dirs(sys: &System) -> Vec<String> {
    let mut dirs = sys.var_list("LD_LIBRARY_PATH");
    for conf in sys.list("/etc/ld.so.conf.d").into_iter().filter(|f| f.ends_with(".conf")) {
        let text = sys.read(format!("/etc/ld.so.conf.d/{conf}")).unwrap_or_default();
        dirs.extend(text.lines().map(str::trim).filter(|l| l.starts_with('/')).map(str::to_string));
    }
    dirs.extend(
        ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"].map(String::from),
    );
    dirs
}

/// The Level Zero loader, found where the loader looks and loaded; on the live machine, the
/// loader's own search (its cache) too.
fn level_zero(sys: &System) -> Finding {
    let found = library_dirs(sys)
        .into_iter()
        .map(|d| format!("{}/{LEVEL_ZERO}", d.trim_end_matches('/')))
        .find(|p| sys.exists(p));
    let target = found.clone().unwrap_or_else(|| LEVEL_ZERO.to_string());
    match (sys.load_library(&target), found) {
        (Ok(()), Some(path)) => Finding::new("level_zero", Status::Ok, format!("Level Zero loader loads: {path}")),
        (Ok(()), None) => Finding::new("level_zero", Status::Ok, format!("Level Zero loader loads: {LEVEL_ZERO} (from the loader's cache)")),
        (Err(e), Some(path)) => Finding::new("level_zero", Status::Failure, format!("The Level Zero loader {path} cannot be loaded"))
            .evidence(e)
            .fix("reinstall the Level Zero loader (Ubuntu: libze1; elsewhere level-zero) for this architecture"),
        (Err(_), None) => Finding::new("level_zero", Status::Warning, format!("No Level Zero loader ({LEVEL_ZERO}): oneAPI and XPU programs cannot reach the GPU"))
            .fix("install Intel's GPU compute runtime with the Level Zero loader (Ubuntu: libze1 and libze-intel-gpu1; elsewhere level-zero and intel-compute-runtime)"),
    }
}
