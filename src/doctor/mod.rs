//! `gputop doctor`: walks the GPU stack link by link (hardware and kernel driver → NVML →
//! CUDA toolkit → environment → cuDNN → frameworks → containers and cloud) and says, for each
//! link, what it found and exactly what to fix; for AMD and Intel GPUs, ROCm's and oneAPI's
//! chains the same way (where the machine has no NVIDIA GPU, NVIDIA's sections say they do not
//! apply). Read-only, never needs root.

mod checks;
mod command;
mod report;
mod system;

use std::path::PathBuf;

use serde::Serialize;

use command::Output;
pub use report::{render_json, render_text};
pub use system::System;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Skipped,
    Warning,
    Failure,
}

/// One checked link: what was found (evidence) and, when it is not ok, the fix.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub status: Status,
    pub title: String,
    pub evidence: Vec<String>,
    pub fix: Option<String>,
    /// For a framework: the directory its package was imported from (its `__file__`'s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<String>,
}

impl Finding {
    pub fn new(check: &'static str, status: Status, title: impl Into<String>) -> Self {
        Self {
            check,
            status,
            title: title.into(),
            evidence: Vec::new(),
            fix: None,
            imported_from: None,
        }
    }

    pub fn evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    /// Where the framework this finding is about was imported from, also shown as evidence.
    pub fn imported_from(mut self, dir: &str) -> Self {
        self.evidence.push(format!("imported from {dir}"));
        self.imported_from = Some(dir.to_string());
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub name: &'static str,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub sections: Vec<Section>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub ok: usize,
    pub warnings: usize,
    pub failures: usize,
    pub skipped: usize,
}

impl Report {
    fn new(sections: Vec<Section>) -> Self {
        let mut summary = Summary::default();
        for f in sections.iter().flat_map(|s| &s.findings) {
            match f.status {
                Status::Ok => summary.ok += 1,
                Status::Warning => summary.warnings += 1,
                Status::Failure => summary.failures += 1,
                Status::Skipped => summary.skipped += 1,
            }
        }
        Self { schema_version: 1, sections, summary }
    }

    /// 0 all ok, 1 warnings only, 2 any failure.
    pub fn exit_code(&self) -> i32 {
        match (self.summary.failures, self.summary.warnings) {
            (0, 0) => 0,
            (0, _) => 1,
            _ => 2,
        }
    }

    /// The fixes to apply, failures first, in the order of the stack; fixes that only point at
    /// another finding ("see … below") are left out, as are repeats.
    pub fn fixes(&self) -> Vec<&str> {
        let all = || self.sections.iter().flat_map(|s| &s.findings);
        let of =
            |status| all().filter(move |f| f.status == status).filter_map(|f| f.fix.as_deref());
        let mut fixes: Vec<&str> = Vec::new();
        for fix in of(Status::Failure).chain(of(Status::Warning)) {
            if !fix.contains(" below)") && !fix.contains(" above)") && !fixes.contains(&fix) {
                fixes.push(fix);
            }
        }
        fixes
    }
}

/// What `gputop doctor` was asked to do.
pub struct DoctorOptions {
    pub nvml_library: Option<PathBuf>,
    pub python: bool,
}

/// Runs every check, in the order of the stack.
pub fn diagnose(sys: &System, opts: &DoctorOptions) -> Report {
    Report::new(checks::run_all(sys, opts))
}

/// `gputop doctor` as the plan resolved it: what to check, and how to print the findings.
pub struct DoctorRun {
    pub options: DoctorOptions,
    pub json: bool,
    /// `--demo` was given: the doctor checks the real machine all the same, and says so.
    pub demo: bool,
    pub color: bool,
    pub ascii: bool,
}

/// Diagnoses this machine and prints the report; the exit code is the verdict (0/1/2).
pub fn run(plan: &DoctorRun) -> i32 {
    use std::io::Write;
    // The demo simulates GPUs, not a driver, CUDA or frameworks to diagnose.
    if plan.demo {
        eprintln!("gputop: doctor checks this machine's real GPU stack (drivers, NVML, CUDA, ROCm, oneAPI, frameworks), not the --demo fleet");
    }
    let report = diagnose(&System::local(), &plan.options);
    let text = if plan.json {
        render_json(&report)
    } else {
        let painter = crate::output::style::Painter { enabled: plan.color };
        render_text(&report, painter, plan.ascii)
    };
    // A closed pipe is no reason to change the verdict.
    let _ = writeln!(std::io::stdout(), "{text}");
    report.exit_code()
}
