//! Frameworks: PyTorch, TensorFlow and JAX as the user's `python3` sees them. Each probe runs
//! in its own subprocess with a time limit, all at once, so a slow import cannot stall doctor.

use std::time::Duration;

use serde_json::Value;

use super::Facts;
use crate::doctor::{DoctorOptions, Finding, Status, System};

const LIMIT: Duration = Duration::from_secs(4);

const TORCH: &str = r#"
import importlib.util, json
if importlib.util.find_spec("torch") is None:
    print(json.dumps(None))
else:
    try:
        import torch
        ok = torch.cuda.is_available()
        print(json.dumps({"version": torch.__version__, "cuda": torch.version.cuda, "available": ok,
                          "device_count": torch.cuda.device_count() if ok else 0}))
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
"#;

const TENSORFLOW: &str = r#"
import importlib.util, json, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
def gpu_package():
    try:
        import importlib.metadata as m
        m.version("tensorflow-gpu")
        return True
    except Exception:
        return False
if importlib.util.find_spec("tensorflow") is None:
    print(json.dumps({"gpu_package": gpu_package()} if gpu_package() else None))
else:
    try:
        import tensorflow as tf
        print(json.dumps({"version": tf.__version__, "gpus": len(tf.config.list_physical_devices("GPU")),
                          "gpu_package": gpu_package()}))
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}", "gpu_package": gpu_package()}))
"#;

const JAX: &str = r#"
import importlib.util, json
if importlib.util.find_spec("jax") is None:
    print(json.dumps(None))
else:
    try:
        import jax
        print(json.dumps({"version": jax.__version__, "platforms": sorted({d.platform for d in jax.devices()})}))
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
"#;

/// PyTorch's CUDA wheel indexes, newest first.
const TORCH_WHEELS: [(u32, u32); 6] = [(12, 8), (12, 6), (12, 4), (12, 1), (11, 8), (11, 7)];

fn torch_install(driver: Option<(u32, u32)>) -> String {
    let wheel =
        TORCH_WHEELS.iter().find(|w| driver.is_none_or(|d| **w <= d)).copied().unwrap_or((11, 8));
    format!(
        "pip install torch --index-url https://download.pytorch.org/whl/cu{}{}",
        wheel.0, wheel.1
    )
}

pub fn check(sys: &System, opts: &DoctorOptions, facts: &Facts) -> Vec<Finding> {
    if !opts.python {
        return vec![Finding::new(
            "python",
            Status::Skipped,
            "Framework checks skipped (--no-python)",
        )];
    }
    let Some(python) = sys.which("python3") else {
        return vec![Finding::new(
            "python",
            Status::Skipped,
            "No python3 on PATH: framework checks skipped",
        )];
    };
    let run = |script: &str| sys.run(&python, &["-c", script], LIMIT);
    let (torch, tf, jax) = std::thread::scope(|s| {
        let t = s.spawn(|| run(TORCH));
        let f = s.spawn(|| run(TENSORFLOW));
        let j = s.spawn(|| run(JAX));
        let join = |h: std::thread::ScopedJoinHandle<'_, Result<String, String>>| {
            h.join().unwrap_or_else(|_| Err("probe crashed".into()))
        };
        (join(t), join(f), join(j))
    });
    let mut out = Vec::new();
    out.extend(probe("PyTorch", torch, |v| torch_finding(v, facts)));
    out.extend(probe("TensorFlow", tf, tf_findings));
    out.extend(probe("JAX", jax, |v| vec![jax_finding(v)]));
    let mut python_found = Finding::new("python", Status::Ok, format!("python3 at {python}"));
    if out.is_empty() {
        python_found = python_found.evidence("no PyTorch, TensorFlow or JAX installed for it");
    }
    out.insert(0, python_found);
    out
}

/// Parses a probe's output; a framework that is not installed yields nothing.
fn probe(
    name: &str,
    result: Result<String, String>,
    judge: impl FnOnce(&Value) -> Vec<Finding>,
) -> Vec<Finding> {
    let text = match result {
        Ok(t) => t,
        Err(e) => {
            return vec![Finding::new(
                "framework",
                Status::Warning,
                format!("{name} could not be checked: {e}"),
            )]
        }
    };
    match serde_json::from_str::<Value>(text.trim().lines().last().unwrap_or("")) {
        Ok(Value::Null) => Vec::new(),
        Ok(v) => match v["error"].as_str() {
            Some(err) if v.get("version").is_none() && v.get("gpu_package").is_none() => {
                vec![Finding::new(
                    "framework",
                    Status::Warning,
                    format!("{name} is installed but fails to import"),
                )
                .evidence(err)
                .fix(format!("reinstall {name} in this environment"))]
            }
            _ => judge(&v),
        },
        Err(_) => vec![Finding::new(
            "framework",
            Status::Warning,
            format!("{name} could not be checked: unreadable probe output"),
        )],
    }
}

fn torch_finding(v: &Value, facts: &Facts) -> Vec<Finding> {
    let version = v["version"].as_str().unwrap_or("?");
    let Some(cuda) = v["cuda"].as_str() else {
        return vec![Finding::new(
            "torch",
            Status::Failure,
            format!("PyTorch {version} is a CPU-only build"),
        )
        .evidence("torch.version.cuda is None: this wheel cannot use any GPU")
        .fix(format!("reinstall with CUDA: {}", torch_install(facts.driver_cuda)))];
    };
    if v["available"].as_bool() == Some(true) {
        let n = v["device_count"].as_u64().unwrap_or(0);
        return vec![Finding::new(
            "torch",
            Status::Ok,
            format!("PyTorch {version} (CUDA {cuda}) sees {n} GPU(s)"),
        )];
    }
    let built = super::major_minor(cuda);
    let f = Finding::new("torch", Status::Failure, format!("PyTorch {version} (CUDA {cuda}) cannot use the GPU: torch.cuda.is_available() is False"));
    vec![match (built, facts.driver_cuda) {
        (Some(b), Some(d)) if b > d => f
            .evidence(format!(
                "it was built for CUDA {cuda}, the driver supports CUDA {}.{}",
                d.0, d.1
            ))
            .fix(format!(
                "update the NVIDIA driver, or install a wheel for CUDA ≤ {}.{}: {}",
                d.0,
                d.1,
                torch_install(Some(d))
            )),
        _ => f.fix("fix the driver, NVML and device node findings first (see above)"),
    }]
}

fn tf_findings(v: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(version) = v["version"].as_str() {
        let gpus = v["gpus"].as_u64().unwrap_or(0);
        out.push(if gpus > 0 {
            Finding::new(
                "tensorflow",
                Status::Ok,
                format!("TensorFlow {version} sees {gpus} GPU(s)"),
            )
        } else {
            Finding::new("tensorflow", Status::Failure, format!("TensorFlow {version} sees no GPU"))
                .evidence("tf.config.list_physical_devices('GPU') is empty")
                .fix("pip install 'tensorflow[and-cuda]' (TensorFlow 2.15+ on Linux)")
        });
    }
    if v["gpu_package"].as_bool() == Some(true) {
        out.push(
            Finding::new("tensorflow_gpu", Status::Warning, "The deprecated tensorflow-gpu package is installed")
                .evidence("tensorflow-gpu stopped at 2.12 and now only fails to install or shadows tensorflow")
                .fix("pip uninstall tensorflow-gpu && pip install 'tensorflow[and-cuda]'"),
        );
    }
    out
}

fn jax_finding(v: &Value) -> Finding {
    let version = v["version"].as_str().unwrap_or("?");
    let platforms: Vec<&str> = v["platforms"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if platforms.iter().any(|p| *p == "gpu" || *p == "cuda") {
        Finding::new("jax", Status::Ok, format!("JAX {version} runs on the GPU"))
    } else {
        Finding::new(
            "jax",
            Status::Warning,
            format!("JAX {version} runs on the CPU only ({})", platforms.join(", ")),
        )
        .fix("pip install -U 'jax[cuda12]'")
    }
}
