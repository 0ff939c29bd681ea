//! An NVIDIA GPU that NVML cannot reach is the fault it always was, even beside an AMD or
//! Intel GPU: never hidden behind them (issue 32's review found `--once` exiting 0 and `select`
//! handing a CUDA job the integrated Intel GPU). Same fixtures as tests/drm.rs, in a private
//! mount namespace, as root (CI); elsewhere SKIPPED, and a failure when CI=true.

mod common;
// The fixtures serve tests/drm.rs too: what this file leaves unused is theirs.
#[allow(dead_code)]
#[path = "common/drm/mod.rs"]
mod drm;

use drm::cards::Card;
use drm::Machine;

/// A PCI function in the fixture's sysfs.
fn pci_function(m: &Machine, address: &str, vendor: &str, class: &str) {
    let dir = m.sys().join("bus/pci/devices").join(address);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("vendor"), format!("{vendor}\n")).unwrap();
    std::fs::write(dir.join("class"), format!("{class}\n")).unwrap();
}

#[test]
fn an_nvidia_gpu_nvml_cannot_reach_is_an_error_beside_an_intel_gpu() {
    if !drm::can_mount() {
        return;
    }
    let m = Machine::new(&[Card::IntegratedI915]);
    // No NVIDIA library here (GPUTOP_NVML_LIB unset), but an NVIDIA GPU on the bus.
    pci_function(&m, "0000:01:00.0", "0x10de", "0x030200");
    let out = m.gputop(&["--once"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "NVML's error, as without the Intel GPU: {err}");
    assert!(err.contains("NVIDIA management library"), "{err}");
    let out = m.gputop(&["select", "--format", "env"]).output().unwrap();
    assert!(!out.status.success(), "no ZE_AFFINITY_MASK for a CUDA job");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ZE_AFFINITY_MASK"));

    // Without the NVIDIA GPU the same machine is an Intel one, with no NVML error.
    let m = Machine::new(&[Card::IntegratedI915]);
    pci_function(&m, "0000:01:00.1", "0x10de", "0x040300"); // an NVIDIA audio function only
    let out = m.gputop(&["--once"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
