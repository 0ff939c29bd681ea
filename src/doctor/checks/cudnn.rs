//! cuDNN: where its libraries are (the loader's path, the CUDA trees, pip's nvidia-cudnn-*
//! packages), which version, and whether it was built for the CUDA major version in use.

use super::Facts;
use crate::doctor::{Finding, Status, System};

struct Cudnn {
    dir: String,
    version: Option<String>,
    /// The CUDA major version it was built for, when the install tells.
    cuda_major: Option<u32>,
}

fn lib_dirs(sys: &System, facts: &Facts) -> Vec<String> {
    let mut dirs = sys.var_list("LD_LIBRARY_PATH");
    dirs.extend(["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"].map(String::from));
    if let Some(tk) = &facts.toolkit {
        dirs.push(format!("{}/lib64", tk.dir));
    }
    for name in sys.list("/usr/local") {
        if name.starts_with("cuda") {
            dirs.push(format!("/usr/local/{name}/lib64"));
        }
    }
    // pip's nvidia-cudnn-cuXX wheels, in the active environment and the system's.
    let mut prefixes: Vec<String> = ["VIRTUAL_ENV", "CONDA_PREFIX"]
        .iter()
        .filter_map(|v| sys.var(v).map(String::from))
        .collect();
    prefixes.extend(["/usr", "/usr/local"].map(String::from));
    if let Some(home) = sys.var("HOME") {
        prefixes.push(format!("{home}/.local"));
    }
    for prefix in prefixes {
        for py in sys.list(format!("{prefix}/lib")).into_iter().filter(|n| n.starts_with("python3"))
        {
            for pkgs in ["site-packages", "dist-packages"] {
                dirs.push(format!("{prefix}/lib/{py}/{pkgs}/nvidia/cudnn/lib"));
            }
        }
    }
    dirs
}

/// CUDA major of a cuDNN install: from a pip wheel's name (nvidia_cudnn_cu12-…) or a CUDA
/// tree's directory (/usr/local/cuda-11.8/lib64).
fn cuda_major_of(sys: &System, dir: &str) -> Option<u32> {
    if let Some(site) = dir.strip_suffix("/nvidia/cudnn/lib") {
        let info = sys
            .list(site)
            .into_iter()
            .find(|n| n.starts_with("nvidia_cudnn_cu") && n.ends_with(".dist-info"))?;
        return info.strip_prefix("nvidia_cudnn_cu")?.split('-').next()?.parse().ok();
    }
    let tree = dir.strip_prefix("/usr/local/cuda-")?;
    tree.split(['.', '/']).next()?.parse().ok()
}

fn version_from_header(sys: &System, dir: &str) -> Option<String> {
    let include = dir.rsplit_once('/').map(|(parent, _)| format!("{parent}/include"))?;
    let candidates = [
        format!("{include}/cudnn_version.h"),
        "/usr/include/cudnn_version.h".into(),
        "/usr/include/x86_64-linux-gnu/cudnn_version_v9.h".into(),
        "/usr/include/x86_64-linux-gnu/cudnn_version_v8.h".into(),
    ];
    let text = candidates.iter().find_map(|p| sys.read(p))?;
    let get = |name: &str| {
        text.lines().find_map(|l| {
            l.strip_prefix("#define ")
                .and_then(|r| r.strip_prefix(name))
                .map(|v| v.trim().to_string())
        })
    };
    Some(format!("{}.{}.{}", get("CUDNN_MAJOR")?, get("CUDNN_MINOR")?, get("CUDNN_PATCHLEVEL")?))
}

fn find(sys: &System, facts: &Facts) -> Vec<Cudnn> {
    let mut found = Vec::new();
    let mut seen = Vec::new();
    for dir in lib_dirs(sys, facts) {
        let real = sys.canonical(&dir);
        if seen.contains(&real) {
            continue;
        }
        seen.push(real);
        let libs: Vec<String> =
            sys.list(&dir).into_iter().filter(|n| n.starts_with("libcudnn.so")).collect();
        if libs.is_empty() {
            continue;
        }
        // The longest name carries the full version: libcudnn.so.8.9.7.
        let from_name = libs
            .iter()
            .max_by_key(|n| n.len())
            .and_then(|n| n.strip_prefix("libcudnn.so."))
            .map(str::to_string);
        let version = version_from_header(sys, &dir).or(from_name);
        found.push(Cudnn { cuda_major: cuda_major_of(sys, &dir), dir, version });
    }
    found
}

pub fn check(sys: &System, facts: &Facts) -> Vec<Finding> {
    let found = find(sys, facts);
    if found.is_empty() {
        return vec![Finding::new("cudnn", Status::Warning, "cuDNN not found")
            .evidence("PyTorch and TensorFlow wheels bring their own; it is needed to build against it, and by frameworks installed without it")
            .fix("pip install nvidia-cudnn-cu12 (or NVIDIA's cuDNN package for your CUDA major version)")];
    }
    let want = facts
        .toolkit
        .as_ref()
        .and_then(|t| t.version)
        .or(facts.driver_cuda)
        .map(|(major, _)| major);
    found
        .iter()
        .map(|c| {
            let version = c.version.as_deref().unwrap_or("of unknown version");
            let built = c.cuda_major.map_or(String::new(), |m| format!(" for CUDA {m}"));
            let title = format!("cuDNN {version}{built} at {}", c.dir);
            match (c.cuda_major, want) {
                (Some(have), Some(want)) if have != want => Finding::new("cudnn", Status::Failure, format!("{title}, but CUDA {want} is in use"))
                    .evidence("a cuDNN built for another CUDA major version fails to load or falls back to slow paths")
                    .fix(format!("install the cuDNN build for CUDA {want} (pip install nvidia-cudnn-cu{want})")),
                _ => Finding::new("cudnn", Status::Ok, title),
            }
        })
        .collect()
}
