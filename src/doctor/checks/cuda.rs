//! CUDA toolkits (nvcc on PATH, CUDA_HOME/CUDA_PATH, /usr/local/cuda*) against the CUDA
//! version the driver supports, and the environment variables that make or break them.

use super::{major_minor, Facts};
use crate::doctor::{Finding, Status, System};

#[derive(Debug, Clone)]
pub struct Toolkit {
    /// The toolkit's directory, as a path on the machine.
    pub dir: String,
    pub version: Option<(u32, u32)>,
    /// How it was found: "nvcc on PATH", "CUDA_HOME", "/usr/local".
    pub found_by: &'static str,
}

impl Toolkit {
    fn version_string(&self) -> String {
        self.version.map_or("unknown version".into(), |(a, b)| format!("{a}.{b}"))
    }
}

fn toolkit_version(sys: &System, dir: &str) -> Option<(u32, u32)> {
    if let Some(json) = sys.read(format!("{dir}/version.json")) {
        let v: serde_json::Value = serde_json::from_str(&json).ok()?;
        return major_minor(v["cuda"]["version"].as_str()?);
    }
    let txt = sys.read(format!("{dir}/version.txt"))?;
    major_minor(txt.split("CUDA Version").nth(1)?)
}

/// Every toolkit, the one in use first (nvcc on PATH, then CUDA_HOME, CUDA_PATH, /usr/local/cuda).
pub fn find(sys: &System) -> Vec<Toolkit> {
    let mut candidates: Vec<(String, &'static str)> = Vec::new();
    if let Some(nvcc) = sys.which("nvcc") {
        if let Some(dir) = nvcc.strip_suffix("/bin/nvcc") {
            candidates.push((dir.to_string(), "nvcc on PATH"));
        }
    }
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(dir) = sys.var(var) {
            candidates.push((
                dir.trim_end_matches('/').to_string(),
                if var == "CUDA_HOME" { "CUDA_HOME" } else { "CUDA_PATH" },
            ));
        }
    }
    for name in sys.list("/usr/local") {
        if name == "cuda" || name.starts_with("cuda-") {
            candidates.push((format!("/usr/local/{name}"), "/usr/local"));
        }
    }
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for (dir, found_by) in candidates {
        let real = sys.canonical(&dir);
        if !sys.path(&dir).is_dir() || seen.contains(&real) {
            continue;
        }
        seen.push(real);
        out.push(Toolkit { version: toolkit_version(sys, &dir), dir, found_by });
    }
    out
}

pub fn toolkits(sys: &System, facts: &mut Facts) -> Vec<Finding> {
    let all = find(sys);
    let Some(in_use) = all.first().cloned() else {
        return vec![Finding::new("toolkit", Status::Skipped, "No CUDA toolkit installed")
            .evidence("not needed to run PyTorch, TensorFlow or JAX wheels, which bring their own CUDA runtime; only to compile CUDA code")];
    };
    let mut out = Vec::new();
    for tk in &all {
        let title = format!("CUDA {} at {} ({})", tk.version_string(), tk.dir, tk.found_by);
        let finding = match (tk.version, facts.driver_cuda) {
            (Some((tmaj, tmin)), Some((dmaj, dmin))) if tmaj > dmaj => Finding::new("toolkit", Status::Failure, format!("{title} is newer than the driver supports (CUDA {dmaj}.{dmin})"))
                .evidence("programs built with it fail with 'the provided PTX was compiled with an unsupported toolchain' or 'CUDA driver version is insufficient'")
                .fix(format!("update the NVIDIA driver to one that supports CUDA {tmaj}.{tmin}, or use a CUDA {dmaj}.x toolkit")),
            (Some((tmaj, tmin)), Some((dmaj, dmin))) if tmaj == dmaj && tmin > dmin => Finding::new("toolkit", Status::Warning, format!("{title} is newer than the driver's CUDA {dmaj}.{dmin}"))
                .evidence("minor version compatibility runs most programs, but not PTX JIT or features newer than the driver")
                .fix(format!("update the NVIDIA driver to one that supports CUDA {tmaj}.{tmin}")),
            (_, None) => Finding::new("toolkit", Status::Ok, title).evidence("the driver's CUDA version is unknown (NVML unavailable), so compatibility is not checked"),
            _ => Finding::new("toolkit", Status::Ok, format!("{title} works with the driver")),
        };
        out.push(finding);
    }
    if all.len() > 1 {
        let versions: Vec<String> = all.iter().map(Toolkit::version_string).collect();
        out.push(Finding::new(
            "toolkits",
            Status::Ok,
            format!(
                "{} toolkits installed ({}); in use: {} at {}",
                all.len(),
                versions.join(", "),
                in_use.version_string(),
                in_use.dir
            ),
        ));
    }
    facts.toolkit = Some(in_use);
    out
}

pub fn environment(sys: &System, facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let ld_path = sys.var_list("LD_LIBRARY_PATH");
    let stubs: Vec<&String> =
        ld_path.iter().filter(|p| p.trim_end_matches('/').ends_with("/stubs")).collect();
    for s in &stubs {
        out.push(
            Finding::new("ld_stubs", Status::Failure, format!("LD_LIBRARY_PATH contains the CUDA stubs directory {s}"))
                .evidence("its libcuda.so is a link-time stub that shadows the driver's: every CUDA program fails at run time")
                .fix(format!("remove {s} from LD_LIBRARY_PATH (the stubs are only for linking)")),
        );
    }
    if let Some(tk) = &facts.toolkit {
        // Compared as resolved directories: /usr/local/cuda is usually a link to cuda-X.Y.
        let same = |a: &str, b: &str| sys.canonical(a) == sys.canonical(b);
        let bin = format!("{}/bin", tk.dir);
        let on_path = sys.var_list("PATH").iter().any(|p| same(p, &bin));
        out.push(if on_path {
            Finding::new("path", Status::Ok, format!("PATH contains {bin}"))
        } else {
            Finding::new("path", Status::Warning, format!("PATH does not contain {bin}"))
                .fix(format!("export PATH={bin}:$PATH (in ~/.bashrc)"))
        });
        let lib = format!("{}/lib64", tk.dir);
        let in_ld = ld_path.iter().any(|p| same(p, &lib));
        let targets = format!("{}/targets/x86_64-linux/lib", tk.dir);
        let in_ldconfig = sys.list("/etc/ld.so.conf.d").iter().any(|f| {
            let conf = sys.read(format!("/etc/ld.so.conf.d/{f}")).unwrap_or_default();
            conf.lines()
                .map(str::trim)
                .any(|l| !l.is_empty() && (same(l, &lib) || same(l, &targets)))
        });
        out.push(match (in_ld, in_ldconfig) {
            (true, _) => Finding::new("ld_library_path", Status::Ok, format!("LD_LIBRARY_PATH contains {lib}")),
            (false, true) => Finding::new("ld_library_path", Status::Ok, format!("{lib} is in the loader's configuration (/etc/ld.so.conf.d)")),
            (false, false) => Finding::new("ld_library_path", Status::Warning, format!("Neither LD_LIBRARY_PATH nor /etc/ld.so.conf.d contains {lib}"))
                .fix(format!("export LD_LIBRARY_PATH={lib}:$LD_LIBRARY_PATH (or add it to /etc/ld.so.conf.d/cuda.conf and run sudo ldconfig)")),
        });
    }
    if let Some(f) = visible_devices(sys, facts) {
        out.push(f);
    }
    if out.is_empty() {
        out.push(Finding::new("environment", Status::Ok, "No CUDA environment variables to check"));
    }
    out
}

fn visible_devices(sys: &System, facts: &Facts) -> Option<Finding> {
    // Set but empty is meaningful here: it hides every GPU.
    let raw = sys.raw_var("CUDA_VISIBLE_DEVICES")?;
    let value = raw.trim();
    let title = format!("CUDA_VISIBLE_DEVICES={value}");
    if value.is_empty() || value == "-1" || value.eq_ignore_ascii_case("NoDevFiles") {
        return Some(
            Finding::new(
                "cuda_visible_devices",
                Status::Warning,
                format!("{title} hides every GPU from CUDA programs"),
            )
            .fix("unset CUDA_VISIBLE_DEVICES (or list the GPUs to use, e.g. 0,1)"),
        );
    }
    let count = facts.nvml_gpus.as_ref().map_or(facts.pci_gpus, Vec::len);
    let uuids = facts.nvml_gpus.clone().unwrap_or_default();
    let missing: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|id| match id.parse::<usize>() {
            Ok(i) => i >= count,
            Err(_) => {
                id.starts_with("GPU-")
                    && !uuids.is_empty()
                    && !uuids.iter().any(|u| u.starts_with(id))
            }
        })
        .collect();
    Some(if missing.is_empty() {
        Finding::new("cuda_visible_devices", Status::Ok, title)
    } else {
        Finding::new(
            "cuda_visible_devices",
            Status::Failure,
            format!("{title} names GPUs that do not exist: {}", missing.join(", ")),
        )
        .evidence(format!("{count} GPU(s) on this machine; CUDA stops at the first invalid entry"))
        .fix(format!(
            "use indices 0 to {} or UUIDs from `gputop --query-gpu=index,uuid --format=csv`",
            count.saturating_sub(1)
        ))
    })
}
