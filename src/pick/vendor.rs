//! Which vendor's GPUs `select` and `wait` choose among, how each vendor's runtime numbers
//! them, and the environment that hands the chosen ones to a program: `CUDA_VISIBLE_DEVICES`
//! for NVIDIA, `ROCR_VISIBLE_DEVICES` and `HIP_VISIBLE_DEVICES` for AMD (ROCm), and
//! `ZE_AFFINITY_MASK` for Intel (Level Zero, under oneAPI and PyTorch's XPU).
//!
//! A runtime numbers only its own vendor's GPUs, so a GPU is named by its **ordinal**: its
//! position among that vendor's GPUs on the machine, in gputop's order (NVML's GPUs in PCI bus
//! order, then the DRM cards in PCI order), never gputop's index, which counts
//! every vendor's. That is each runtime's own order:
//! - CUDA's with `CUDA_DEVICE_ORDER=PCI_BUS_ID`, which the environment sets with it;
//! - ROCm's: ROCr enumerates the KFD topology nodes, which amdgpu registers as it probes the
//!   GPUs, in PCI order;
//! - Level Zero's: devices in PCI order (`ZE_ENABLE_PCI_ID_DEVICE_ORDER=1`, set with it, asks
//!   for that where a driver's default differs).
//!
//! The AMD and Intel orders are what their runtimes document; they are unverified on
//! hardware (gputop's tests have none).

use crate::sample::{GpuSample, Vendor};
use crate::text::sanitize::sanitize;

/// The vendor to choose among: the one asked for (`--vendor`), else NVIDIA on a machine that
/// has an NVIDIA GPU, else AMD, else Intel: a CUDA job never gets an integrated Intel GPU, and
/// a ROCm machine's integrated Intel GPU is not its choice either.
pub fn chosen(gpus: &[GpuSample], asked: Option<Vendor>) -> Vendor {
    asked.unwrap_or_else(|| {
        [Vendor::Nvidia, Vendor::Amd, Vendor::Intel]
            .into_iter()
            .find(|v| gpus.iter().any(|g| g.vendor == *v))
            .unwrap_or(Vendor::Nvidia)
    })
}

/// The position of `gpu` among its vendor's GPUs in `all` (the whole machine, in gputop's
/// order): the number its vendor's runtime gives it.
pub fn ordinal(all: &[GpuSample], gpu: &GpuSample) -> u32 {
    all.iter().filter(|g| g.vendor == gpu.vendor && g.index < gpu.index).count() as u32
}

/// The variable that limits which of `vendor`'s GPUs this process may use, as the runtime
/// reads it first: gputop chooses within it.
pub fn limiting_variable(vendor: Vendor) -> &'static str {
    match vendor {
        Vendor::Nvidia => "CUDA_VISIBLE_DEVICES",
        Vendor::Amd => "ROCR_VISIBLE_DEVICES",
        Vendor::Intel => "ZE_AFFINITY_MASK",
    }
}

/// The ordinals a limiting variable's value names, in its order, up to its first entry that
/// names no GPU (as CUDA and ROCr read it); `uuid_of` finds the ordinal of a UUID entry
/// (`GPU-…`, a unique prefix as CUDA takes it). A MIG device or an Intel sub-device (`0.1`)
/// is refused: choosing among parts of GPUs is not supported.
pub fn parse_visible(
    vendor: Vendor,
    list: &str,
    count: u32,
    uuid_of: impl Fn(&str) -> Option<u32>,
) -> Result<Vec<u32>, String> {
    let variable = limiting_variable(vendor);
    let mut ordinals = Vec::new();
    for entry in list.split(',').map(str::trim) {
        if entry.starts_with("MIG-") || (vendor == Vendor::Intel && entry.contains('.')) {
            return Err(format!(
                "{variable} names a part of a GPU ({}): choosing among MIG devices or \
                 sub-devices is not supported yet; unset it to choose among whole GPUs",
                sanitize(entry)
            ));
        }
        let found = match entry.parse::<u32>() {
            Ok(n) => (n < count).then_some(n),
            Err(_) if entry.starts_with("GPU-") => uuid_of(entry),
            Err(_) => None,
        };
        match found {
            Some(n) if !ordinals.contains(&n) => ordinals.push(n),
            Some(_) => {}
            None => break,
        }
    }
    Ok(ordinals)
}

/// What a program is given to use the chosen GPUs (`ids`: their ordinals, or NVIDIA UUIDs):
/// - NVIDIA: `CUDA_VISIBLE_DEVICES`, with `CUDA_DEVICE_ORDER=PCI_BUS_ID` (CUDA's default
///   order is fastest first, which need not be the ordinals');
/// - AMD: `ROCR_VISIBLE_DEVICES` with the ordinals, and `HIP_VISIBLE_DEVICES` counting
///   within them (`0,1,…`): ROCr applies its list first and HIP's then indexes what is left,
///   so the same ordinals in both would name other GPUs, or none, past the first;
/// - Intel: `ZE_AFFINITY_MASK`, with `ZE_ENABLE_PCI_ID_DEVICE_ORDER=1`.
pub fn environment(vendor: Vendor, ids: &[String]) -> Vec<(&'static str, String)> {
    let list = ids.join(",");
    match vendor {
        Vendor::Nvidia => {
            vec![("CUDA_DEVICE_ORDER", "PCI_BUS_ID".into()), ("CUDA_VISIBLE_DEVICES", list)]
        }
        Vendor::Amd => {
            let within: Vec<String> = (0..ids.len()).map(|i| i.to_string()).collect();
            vec![("ROCR_VISIBLE_DEVICES", list), ("HIP_VISIBLE_DEVICES", within.join(","))]
        }
        Vendor::Intel => {
            vec![("ZE_ENABLE_PCI_ID_DEVICE_ORDER", "1".into()), ("ZE_AFFINITY_MASK", list)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(vendors: &[Vendor]) -> Vec<GpuSample> {
        let gpus = vendors.iter().enumerate();
        gpus.map(|(i, v)| {
            let mut g = GpuSample::empty(i as u32);
            g.vendor = *v;
            g
        })
        .collect()
    }

    #[test]
    fn each_vendor_counts_its_own_gpus() {
        use Vendor::*;
        let all = machine(&[Nvidia, Nvidia, Amd, Intel, Amd]);
        let ordinals: Vec<u32> = all.iter().map(|g| ordinal(&all, g)).collect();
        assert_eq!(ordinals, [0, 1, 0, 0, 1]);
        assert_eq!(chosen(&all, None), Nvidia);
        assert_eq!(chosen(&all[2..], None), Amd, "no NVIDIA GPU: AMD before an Intel iGPU");
        assert_eq!(chosen(&all[3..4], None), Intel);
        assert_eq!(chosen(&all, Some(Intel)), Intel);
    }

    #[test]
    fn the_environment_names_the_gpus_as_each_runtime_counts() {
        let ids = ["2".to_string(), "3".to_string()];
        assert_eq!(
            environment(Vendor::Amd, &ids),
            [("ROCR_VISIBLE_DEVICES", "2,3".into()), ("HIP_VISIBLE_DEVICES", "0,1".into())]
        );
        assert_eq!(environment(Vendor::Intel, &ids[..1])[1], ("ZE_AFFINITY_MASK", "2".into()));
        assert_eq!(environment(Vendor::Nvidia, &ids)[1], ("CUDA_VISIBLE_DEVICES", "2,3".into()));
    }

    #[test]
    fn a_limiting_list_is_read_up_to_its_first_stranger() {
        let none = |_: &str| None;
        assert_eq!(parse_visible(Vendor::Amd, "1,0,1,7,0", 2, none), Ok(vec![1, 0]));
        assert_eq!(parse_visible(Vendor::Amd, "", 2, none), Ok(vec![]));
        let err = parse_visible(Vendor::Intel, "0.1", 2, none).unwrap_err();
        assert!(err.starts_with("ZE_AFFINITY_MASK names a part of a GPU (0.1)"), "{err}");
        assert_eq!(parse_visible(Vendor::Nvidia, "GPU-ab", 2, |_| Some(1)), Ok(vec![1]));
    }
}
