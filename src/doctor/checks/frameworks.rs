//! Frameworks: PyTorch, TensorFlow and JAX as the user's `python3` sees them. Each probe runs
//! in its own subprocess with a time limit, all at once, so a slow import cannot stall doctor.
//! The probes keep the user's environment (PYTHONPATH, a virtualenv on PATH) but import nothing
//! from the current directory: doctor often runs as root, wherever it was started.

use std::time::Duration;

use serde_json::Value;

use super::shadowing::{self, Installed};
use super::torch_rocm_xpu;
use super::Facts;
use crate::doctor::{DoctorOptions, Finding, Output, Status, System};

const LIMIT: Duration = Duration::from_secs(4);

/// Before any probe: the current directory leaves `sys.path` before the first import (`python3
/// -c` puts it first, as `''`). `sys` is built in, so importing it reads no file. On Python 3.11
/// and later `PYTHONSAFEPATH` (set for the probes) already keeps it out; this is for older ones.
/// Then `located`: the directory a framework is imported from, from its `__file__`, or from
/// where its spec points when it fails to import.
const PRELUDE: &str = r#"
import sys
sys.path[:] = [p for p in sys.path if p not in ("", ".")]
import importlib.util, json, os
def located(spec, module=None):
    path = getattr(module, "__file__", None) or spec.origin
    if path and os.path.isabs(path):
        return os.path.dirname(path)
    places = list(spec.submodule_search_locations or [])
    return places[0] if places else None
"#;

const TORCH: &str = r#"
spec = importlib.util.find_spec("torch")
if spec is None:
    print(json.dumps(None))
else:
    try:
        import torch
        ok = torch.cuda.is_available()
        xpu = getattr(torch, "xpu", None)
        try:
            xpu_ok = bool(xpu.is_available()) if xpu is not None else False
            xpu_count = xpu.device_count() if xpu_ok else 0
        except Exception:
            xpu_ok, xpu_count = False, 0
        print(json.dumps({"version": torch.__version__, "cuda": torch.version.cuda, "available": ok,
                          "device_count": torch.cuda.device_count() if ok else 0,
                          "hip": getattr(torch.version, "hip", None),
                          "xpu_build": getattr(torch.version, "xpu", None),
                          "xpu_available": xpu_ok, "xpu_device_count": xpu_count,
                          "location": located(spec, torch)}))
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}", "location": located(spec)}))
"#;

const TENSORFLOW: &str = r#"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
def gpu_package():
    try:
        import importlib.metadata as m
        m.version("tensorflow-gpu")
        return True
    except Exception:
        return False
spec = importlib.util.find_spec("tensorflow")
if spec is None:
    print(json.dumps({"gpu_package": gpu_package()} if gpu_package() else None))
else:
    try:
        import tensorflow as tf
        print(json.dumps({"version": tf.__version__, "gpus": len(tf.config.list_physical_devices("GPU")),
                          "gpu_package": gpu_package(), "location": located(spec, tf)}))
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}", "gpu_package": gpu_package(),
                          "location": located(spec)}))
"#;

const JAX: &str = r#"
spec = importlib.util.find_spec("jax")
if spec is None:
    print(json.dumps(None))
else:
    try:
        import jax
        print(json.dumps({"version": jax.__version__, "platforms": sorted({d.platform for d in jax.devices()}),
                          "location": located(spec, jax)}))
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}", "location": located(spec)}))
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
    let run = |script: &str| {
        let code = format!("{PRELUDE}{script}");
        sys.run(&python, &["-c", &code], &[("PYTHONSAFEPATH", "1")], LIMIT)
    };
    let (torch, tf, jax) = std::thread::scope(|s| {
        let t = s.spawn(|| run(TORCH));
        let f = s.spawn(|| run(TENSORFLOW));
        let j = s.spawn(|| run(JAX));
        let join = |h: std::thread::ScopedJoinHandle<'_, Result<Output, String>>| {
            h.join().unwrap_or_else(|_| Err("probe crashed".into()))
        };
        (join(t), join(f), join(j))
    });
    let mut out = Vec::new();
    out.extend(probe(sys, "torch", "PyTorch", torch, |v| torch_finding(v, facts)));
    out.extend(probe(sys, "tensorflow", "TensorFlow", tf, |v| tf_findings(v, facts)));
    out.extend(probe(sys, "jax", "JAX", jax, |v| vec![jax_finding(v, facts)]));
    let mut python_found = Finding::new("python", Status::Ok, format!("python3 at {python}"));
    if out.iter().all(|f| f.check == "framework_shadow") {
        python_found = python_found.evidence("no PyTorch, TensorFlow or JAX installed for it");
    }
    out.insert(0, python_found);
    out
}

/// Parses the probe of `module` (the framework `name`): a framework that is not installed yields
/// nothing; each finding names where the framework was imported from. Then whatever in the
/// current directory shadows it.
fn probe(
    sys: &System,
    module: &str,
    name: &str,
    result: Result<Output, String>,
    judge: impl FnOnce(&Value) -> Vec<Finding>,
) -> Vec<Finding> {
    let answer = result.map(|out| {
        let last = out.stdout.trim().lines().last().unwrap_or("").to_string();
        (serde_json::from_str::<Value>(&last).ok(), out.stderr)
    });
    let location = match &answer {
        Ok((Some(v), _)) => v["location"].as_str().map(str::to_string),
        _ => None,
    };
    let installed = match (&answer, location.as_deref()) {
        (_, Some(dir)) => Installed::At(dir),
        (Ok((Some(Value::Null), _)), _) => Installed::Absent,
        _ => Installed::Unknown,
    };
    let shadow = shadowing::check(sys, module, name, installed);
    let mut findings = match answer {
        Err(e) => vec![Finding::new(
            "framework",
            Status::Warning,
            format!("{name} could not be checked: {e}"),
        )],
        Ok((Some(Value::Null), _)) => Vec::new(),
        Ok((Some(v), _)) => match v["error"].as_str() {
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
        Ok((None, stderr)) => {
            // Its last line, cut short: the tail of a flood can be one long line.
            let said =
                stderr.trim().lines().last().map(|l| l.chars().take(300).collect::<String>());
            let f = Finding::new(
                "framework",
                Status::Warning,
                format!("{name} could not be checked: unreadable probe output"),
            );
            vec![match said {
                Some(line) => f.evidence(format!("python3 said: {line}")),
                None => f,
            }]
        }
    };
    // The framework's own verdict comes first; the location is about it.
    if let (Some(dir), false) = (location, findings.is_empty()) {
        let verdict = findings.remove(0);
        findings.insert(0, verdict.imported_from(&dir));
    }
    findings.extend(shadow);
    findings
}

fn torch_finding(v: &Value, facts: &Facts) -> Vec<Finding> {
    if facts.nvidia_not_applicable() {
        return vec![torch_rocm_xpu::finding(v, &facts.others)];
    }
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
        // A count the probe did not give is said to be unknown, never "sees 0 GPU(s)".
        let sees = match v["device_count"].as_u64() {
            Some(n) => format!("sees {n} GPU(s)"),
            None => "can use CUDA (how many GPUs it sees is unknown)".into(),
        };
        return vec![Finding::new(
            "torch",
            Status::Ok,
            format!("PyTorch {version} (CUDA {cuda}) {sees}"),
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

fn tf_findings(v: &Value, facts: &Facts) -> Vec<Finding> {
    // On AMD GPUs, TensorFlow's GPU build is ROCm's own package.
    let amd_only = facts.nvidia_not_applicable() && facts.others.has_amd();
    let gpu_install = if amd_only {
        "pip install tensorflow-rocm (on AMD GPUs TensorFlow needs the ROCm build)"
    } else {
        "pip install 'tensorflow[and-cuda]' (TensorFlow 2.15+ on Linux)"
    };
    let mut out = Vec::new();
    if let Some(version) = v["version"].as_str() {
        out.push(match v["gpus"].as_u64() {
            // A count the probe did not give: unknown, never "sees no GPU".
            None => Finding::new(
                "tensorflow",
                Status::Warning,
                format!("TensorFlow {version}: how many GPUs it sees is unknown"),
            )
            .evidence("the probe did not give tf.config.list_physical_devices('GPU')")
            .fix("python3 -c \"import tensorflow as tf; print(tf.config.list_physical_devices('GPU'))\""),
            Some(0) => {
                Finding::new("tensorflow", Status::Failure, format!("TensorFlow {version} sees no GPU"))
                    .evidence("tf.config.list_physical_devices('GPU') is empty")
                    .fix(gpu_install)
            }
            Some(gpus) => Finding::new(
                "tensorflow",
                Status::Ok,
                format!("TensorFlow {version} sees {gpus} GPU(s)"),
            ),
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

fn jax_finding(v: &Value, facts: &Facts) -> Finding {
    let version = v["version"].as_str().unwrap_or("?");
    let platforms: Vec<&str> = v["platforms"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if platforms.iter().any(|p| *p == "gpu" || *p == "cuda" || *p == "rocm") {
        Finding::new("jax", Status::Ok, format!("JAX {version} runs on the GPU"))
    } else {
        Finding::new(
            "jax",
            Status::Warning,
            format!("JAX {version} runs on the CPU only ({})", platforms.join(", ")),
        )
        .fix(if facts.nvidia_not_applicable() {
            "install JAX's build for your GPU (ROCm or Intel's XPU plugin): see JAX's installation guide"
        } else {
            "pip install -U 'jax[cuda12]'"
        })
    }
}
