//! PyTorch on a machine whose GPUs are AMD's or Intel's: a ROCm build (`torch.version.hip`)
//! for AMD GPUs, an XPU build (`torch.xpu.is_available()`) for Intel ones. A CUDA build there
//! cannot use any GPU; the fix is the right wheel, from PyTorch's own install selector.

use serde_json::Value;

use super::dri::OtherGpus;
use crate::doctor::{Finding, Status};

const ROCM_WHEELS: &str = "install PyTorch's ROCm wheels (see pytorch.org's install selector)";
const XPU_WHEELS: &str = "install PyTorch's XPU wheels (see pytorch.org's install selector)";

/// The verdict on the torch probe's answer `v` (see `frameworks::TORCH`).
pub fn finding(v: &Value, gpus: &OtherGpus) -> Finding {
    let version = v["version"].as_str().unwrap_or("?");
    let hip = v["hip"].as_str();
    let cuda = v["cuda"].as_str();
    let xpu_build = v["xpu_build"].as_str();
    let xpu_ok = v["xpu_available"].as_bool() == Some(true);
    let count = |key: &str| match v[key].as_u64() {
        Some(n) => format!("sees {n}"),
        None => "sees an unknown number of".into(),
    };
    let f = |status, title: String| Finding::new("torch", status, title);
    if gpus.has_amd() {
        if let Some(hip) = hip {
            return if v["available"].as_bool() == Some(true) {
                f(
                    Status::Ok,
                    format!("PyTorch {version} (ROCm {hip}) {} AMD GPU(s)", count("device_count")),
                )
            } else {
                f(Status::Failure, format!("PyTorch {version} (ROCm {hip}) cannot use the GPU: torch.cuda.is_available() is False"))
                    .fix("fix the amdgpu, /dev/kfd and group findings first (see ROCm above)")
            };
        }
        if gpus.has_intel() && xpu_ok {
            return f(
                Status::Ok,
                format!("PyTorch {version} (XPU) {} Intel GPU(s)", count("xpu_device_count")),
            );
        }
        let (what, evidence) = build(cuda, xpu_build, "torch.version.hip is None");
        return f(
            Status::Failure,
            format!("PyTorch {version} is {what}: it cannot use the AMD GPU(s)"),
        )
        .evidence(evidence)
        .fix(ROCM_WHEELS);
    }
    if xpu_ok {
        return f(
            Status::Ok,
            format!("PyTorch {version} (XPU) {} Intel GPU(s)", count("xpu_device_count")),
        );
    }
    if let Some(xpu) = xpu_build {
        return f(Status::Failure, format!("PyTorch {version} (XPU {xpu}) cannot use the GPU: torch.xpu.is_available() is False"))
            .fix("fix the i915/xe, render node, group and Level Zero findings first (see oneAPI above)");
    }
    let (what, evidence) = match hip {
        Some(hip) => (
            "a ROCm build".to_string(),
            format!("torch.version.hip is {hip}: a build for AMD GPUs"),
        ),
        None => build(cuda, None, "torch.xpu.is_available() is False"),
    };
    f(Status::Failure, format!("PyTorch {version} is {what}: it cannot use the Intel GPU(s)"))
        .evidence(evidence)
        .fix(XPU_WHEELS)
}

/// What kind of build it is, and the evidence, when it is not the one the GPU needs.
fn build(cuda: Option<&str>, xpu: Option<&str>, missing: &str) -> (String, String) {
    match (cuda, xpu) {
        (Some(cuda), _) => (
            format!("a CUDA build (CUDA {cuda})"),
            format!("torch.version.cuda is {cuda} and {missing}; this machine has no NVIDIA GPU"),
        ),
        (None, Some(xpu)) => {
            (format!("an XPU build (XPU {xpu})"), format!("{missing}: a build for Intel GPUs"))
        }
        (None, None) => {
            ("a CPU-only build".into(), format!("torch.version.cuda is None and {missing}"))
        }
    }
}
