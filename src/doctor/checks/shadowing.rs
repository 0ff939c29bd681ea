//! A module named like a framework in the current directory: `python3 -c`, `python3 -m` and
//! every script run from here put this directory first on `sys.path` and import it instead of
//! the installed framework. Found by listing the directory, never by importing anything from it
//! (doctor's own probes run elsewhere and ignore it).

use crate::doctor::{Finding, Status, System};

/// The files in the current directory that Python imports as module `module`, in the order its
/// path finder tries them (package first, then extension modules, source, bytecode); each as
/// `./name` and as a path on the machine.
fn shadowing_files(sys: &System, module: &str) -> Vec<(String, String)> {
    let Some(cwd) = sys.cwd() else { return Vec::new() };
    let names = sys.list(cwd);
    let mut found: Vec<String> = Vec::new();
    let package = cwd.join(module);
    let package_init = sys
        .list(&package)
        .into_iter()
        .find(|n| n == "__init__.py" || n == "__init__.pyc" || is_extension(n, "__init__"));
    if let Some(init) = package_init.filter(|_| sys.path(&package).is_dir()) {
        found.push(format!("{module}/{init}"));
    }
    found.extend(names.iter().filter(|n| is_extension(n, module)).cloned());
    for suffix in ["py", "pyc"] {
        let file = format!("{module}.{suffix}");
        if names.contains(&file) {
            found.push(file);
        }
    }
    found.into_iter().map(|f| (format!("./{f}"), cwd.join(&f).display().to_string())).collect()
}

/// `name` is an extension module for `module`: `torch.so`, `torch.cpython-311-x86_64-linux-gnu.so`.
fn is_extension(name: &str, module: &str) -> bool {
    name.strip_prefix(module)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|rest| rest.ends_with(".so") || rest == "so")
}

/// What doctor's probe learned of the installed framework.
pub enum Installed<'a> {
    /// Imported from this directory.
    At(&'a str),
    Absent,
    /// The probe failed or did not say.
    Unknown,
}

/// A warning naming the file(s) that shadow `module` (the framework `name`), if any.
pub fn check(sys: &System, module: &str, name: &str, installed: Installed) -> Option<Finding> {
    let files = shadowing_files(sys, module);
    let (first, first_path) = files.first()?;
    let mut finding = Finding::new(
        "framework_shadow",
        Status::Warning,
        format!(
            "{first} in the current directory shadows {name} for `python3 -c`, `python3 -m` and scripts run from here"
        ),
    );
    for (_, path) in &files {
        finding =
            finding.evidence(format!("{path} is imported as `{module}` (not imported by doctor)"));
    }
    finding = finding.evidence(match installed {
        Installed::At(dir) => format!("the installed {name} is at {dir}"),
        Installed::Absent => {
            format!("{name} is not installed: only this answers `import {module}`")
        }
        Installed::Unknown => format!("where the installed {name} is, if any, is unknown"),
    });
    Some(finding.fix(format!(
        "remove or rename {first_path} (and find out who put it there), or run Python from another directory"
    )))
}
