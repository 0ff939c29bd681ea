//! Who holds the GPUs (`--by user|container|pod|job`): the GPU processes grouped by their
//! user, container, Kubernetes pod or Slurm job, the largest holder of GPU memory first, as a
//! table or a JSON document.
//!
//! ```text
//! USER   GPUS  GPU MEM  SM%  SINCE  PROCESSES
//! alice  0,1   12.3GiB   47  3h02m  3: python train.py --model llama
//! ```

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::style;
use super::table::{self, TableOptions};
use crate::sample::{GpuProcess, Snapshot};
use crate::term::styled::StyledLine;
use crate::text::sanitize::sanitize;
use crate::text::units::{duration_coarse, human_bytes, or_na, pad, truncate};

/// What processes are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKey {
    User,
    Container,
    Pod,
    Job,
}

impl OwnerKey {
    fn heading(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Container => "CONTAINER",
            Self::Pod => "POD",
            Self::Job => "JOB",
        }
    }

    /// The group of a process; `None` when it has none (not in a container, user unknown).
    fn of(self, p: &GpuProcess) -> Option<String> {
        let placement = p.placement.as_ref();
        match self {
            Self::User => p.user.clone(),
            Self::Container => placement.and_then(|pl| {
                Some(format!("{}:{}", pl.runtime.as_deref()?, pl.container_id.as_deref()?))
            }),
            Self::Pod => placement.and_then(|pl| {
                let pod = pl.pod_name.as_deref().or(pl.pod_uid.as_deref())?;
                Some(match &pl.namespace {
                    Some(ns) => format!("{ns}/{pod}"),
                    None => pod.to_string(),
                })
            }),
            Self::Job => placement.and_then(|pl| pl.slurm_job.clone()),
        }
    }

    fn nobody(self) -> &'static str {
        match self {
            Self::User => "(unknown user)",
            Self::Container => "(no container)",
            Self::Pod => "(no pod)",
            Self::Job => "(no job)",
        }
    }
}

/// A GPU, on its host when there are several.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GpuRef {
    pub host: Option<String>,
    pub index: u32,
}

impl GpuRef {
    fn label(&self) -> String {
        match &self.host {
            Some(h) => format!("{}/{}", sanitize(h), self.index),
            None => self.index.to_string(),
        }
    }
}

/// One holder and what it holds.
#[derive(Debug, Clone, Serialize)]
pub struct Owner {
    /// `null` for processes without one (user unknown, not in a container, …).
    pub name: Option<String>,
    pub gpus: Vec<GpuRef>,
    /// The sum over its processes whose memory is known; `null` when none is.
    pub gpu_memory_bytes: Option<u64>,
    /// Its share of the SMs of the GPUs it holds: the sum of its processes' SM use on each,
    /// averaged over those GPUs; `null` when the driver gives no per-process figure.
    pub sm_percent: Option<u32>,
    /// How long its oldest process has run.
    pub running_seconds: Option<u64>,
    pub processes: Vec<OwnedProcess>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OwnedProcess {
    pub gpu: GpuRef,
    pub pid: u32,
    pub gpu_memory_bytes: Option<u64>,
    pub command: Option<String>,
}

/// A GPU whose processes could not be listed: its holders are unknown.
#[derive(Debug, Clone, Serialize)]
pub struct UnknownGpu {
    pub gpu: GpuRef,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Owners {
    pub by: OwnerKey,
    pub taken_at: chrono::DateTime<chrono::Utc>,
    pub owners: Vec<Owner>,
    pub unknown: Vec<UnknownGpu>,
}

/// Groups the snapshot's GPU processes, the largest holder of GPU memory first.
pub fn group(snapshot: &Snapshot, by: OwnerKey) -> Owners {
    let mut groups: BTreeMap<Option<String>, Vec<(GpuRef, &GpuProcess)>> = BTreeMap::new();
    let mut unknown = Vec::new();
    for g in &snapshot.gpus {
        let gpu = GpuRef { host: g.host.clone(), index: g.index };
        match &g.processes {
            Some(list) => {
                for p in list {
                    groups.entry(by.of(p)).or_default().push((gpu.clone(), p));
                }
                // Not everyone's (other users' AMD or Intel clients): said beside the owners.
                if let Some(reason) = g.processes_unknown_reason() {
                    unknown.push(UnknownGpu { gpu, reason });
                }
            }
            None => unknown.push(UnknownGpu {
                gpu,
                reason: g.processes_unknown_reason().unwrap_or_else(|| "unknown".into()),
            }),
        }
    }
    let mut owners: Vec<Owner> =
        groups.into_iter().map(|(name, procs)| owner(name, &procs)).collect();
    owners.sort_by(|a, b| {
        b.gpu_memory_bytes
            .unwrap_or(0)
            .cmp(&a.gpu_memory_bytes.unwrap_or(0))
            .then(a.name.cmp(&b.name))
    });
    Owners { by, taken_at: snapshot.taken_at, owners, unknown }
}

fn owner(name: Option<String>, procs: &[(GpuRef, &GpuProcess)]) -> Owner {
    let mut gpus: Vec<GpuRef> = procs.iter().map(|(g, _)| g.clone()).collect();
    gpus.sort();
    gpus.dedup();
    let known = |f: fn(&GpuProcess) -> Option<u64>| -> Option<u64> {
        procs.iter().filter_map(|(_, p)| f(p)).reduce(|a, b| a + b)
    };
    let sm: Vec<u32> = gpus
        .iter()
        .filter_map(|g| {
            procs
                .iter()
                .filter(|(pg, _)| pg == g)
                .filter_map(|(_, p)| p.sm_percent)
                .reduce(|a, b| a + b)
        })
        .collect();
    let mut processes: Vec<OwnedProcess> = procs
        .iter()
        .map(|(g, p)| OwnedProcess {
            gpu: g.clone(),
            pid: p.pid,
            gpu_memory_bytes: p.gpu_memory_bytes,
            command: p.command.clone().or_else(|| p.name.clone()),
        })
        .collect();
    // Sorting only: a process of unknown memory comes last; its memory is shown as N/A.
    processes.sort_by_key(|p| std::cmp::Reverse(p.gpu_memory_bytes.unwrap_or(0)));
    Owner {
        name,
        gpu_memory_bytes: known(|p| p.gpu_memory_bytes),
        sm_percent: (!sm.is_empty()).then(|| sm.iter().sum::<u32>() / gpus.len().max(1) as u32),
        running_seconds: procs.iter().filter_map(|(_, p)| p.running_seconds).max(),
        gpus,
        processes,
    }
}

/// The table: the snapshot's header line, then a line per holder.
pub fn render(snapshot: &Snapshot, by: OwnerKey, opts: &TableOptions) -> Vec<StyledLine> {
    let owners = group(snapshot, by);
    let nobody = by.nobody();
    let names: Vec<String> = owners
        .owners
        .iter()
        .map(|o| {
            o.name
                .as_deref()
                .map_or(nobody.into(), |n| truncate(&sanitize(n), 32, opts.ascii).into_owned())
        })
        .collect();
    let gpus: Vec<String> = owners
        .owners
        .iter()
        .map(|o| o.gpus.iter().map(GpuRef::label).collect::<Vec<_>>().join(","))
        .collect();
    let name_w = names
        .iter()
        .map(|n| unicode_width::UnicodeWidthStr::width(n.as_str()))
        .max()
        .unwrap_or(0)
        .max(by.heading().len());
    let gpus_w = gpus.iter().map(String::len).max().unwrap_or(0).max(4);
    let mut lines = vec![table::header_line(snapshot)];
    lines.push(opts.painter.line(
        style::HEADER,
        format_args!(
            "{}  {:<gpus_w$}  {:>8}  {:>3}  {:>6}  PROCESSES",
            pad(by.heading(), name_w, true),
            "GPUS",
            "GPU MEM",
            "SM%",
            "SINCE"
        ),
    ));
    if owners.owners.is_empty() && owners.unknown.is_empty() {
        lines.push("No GPU processes.".into());
    }
    for ((o, name), gpus) in owners.owners.iter().zip(&names).zip(&gpus) {
        let mut line = StyledLine::new();
        let _ = write!(
            line,
            "{}  {:<gpus_w$}  {:>8}  {:>3}  {:>6}  {}",
            pad(name, name_w, true),
            gpus,
            o.gpu_memory_bytes.map_or("N/A".into(), human_bytes),
            or_na(o.sm_percent),
            o.running_seconds.map_or("N/A".into(), duration_coarse),
            o.processes.len(),
        );
        if let Some(top) = o.processes.first().and_then(|p| p.command.as_deref()) {
            let _ = write!(line, ": {}", sanitize(top));
        }
        lines.push(line);
    }
    for u in &owners.unknown {
        lines.push(opts.painter.line(
            style::ALERT,
            format_args!("GPU {}: processes {}", u.gpu.label(), sanitize(&u.reason)),
        ));
    }
    if let Some(width) = opts.width {
        for line in &mut lines {
            line.clip(width);
        }
    }
    lines
}

/// The JSON document (see `docs/json-schema.md`).
pub fn json(snapshot: &Snapshot, by: OwnerKey) -> String {
    super::json::escape_controls(
        serde_json::to_string_pretty(&group(snapshot, by)).unwrap_or_default(),
    )
}

/// One compact JSON document per line, for `--watch --json`.
pub fn json_line(snapshot: &Snapshot, by: OwnerKey) -> String {
    super::json::escape_controls(serde_json::to_string(&group(snapshot, by)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::style::Painter;
    use crate::sample::{GpuSample, Placement, ProcessKind};

    fn process(pid: u32, user: &str, gib: u64, sm: u32, secs: u64) -> GpuProcess {
        let mut p = GpuProcess::new(pid, ProcessKind::Compute, Some(gib << 30));
        p.user = Some(user.into());
        p.sm_percent = Some(sm);
        p.running_seconds = Some(secs);
        p.command = Some(format!("python job{pid}.py"));
        p
    }

    fn snapshot() -> Snapshot {
        let mut s = crate::source::SimSource::new(crate::scenario::Scenario::demo(1), &[])
            .unwrap()
            .sample_at(0.0);
        let mut g0 = GpuSample::empty(0);
        let mut g1 = GpuSample::empty(1);
        let mut in_pod = process(3, "bob", 20, 90, 60);
        in_pod.placement = Some(Placement {
            pod_name: Some("llm-0".into()),
            namespace: Some("ml".into()),
            ..Placement::default()
        });
        g0.processes =
            Some(vec![process(1, "alice", 4, 30, 3600), process(2, "alice", 1, 10, 100)]);
        g1.processes = Some(vec![process(4, "alice", 2, 40, 7200), in_pod]);
        let mut g2 = GpuSample::empty(2);
        g2.processes = None;
        s.gpus = vec![g0, g1, g2];
        s
    }

    #[test]
    fn holders_are_grouped_largest_first() {
        let o = group(&snapshot(), OwnerKey::User);
        let names: Vec<_> = o.owners.iter().map(|o| o.name.clone().unwrap()).collect();
        assert_eq!(names, ["bob", "alice"]);
        let alice = &o.owners[1];
        assert_eq!(alice.gpus.iter().map(|g| g.index).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(alice.gpu_memory_bytes, Some(7 << 30));
        // (30 + 10) on GPU 0 and 40 on GPU 1, averaged over the two.
        assert_eq!(alice.sm_percent, Some(40));
        assert_eq!(alice.running_seconds, Some(7200));
        assert_eq!(alice.processes[0].pid, 1, "largest first");
        assert_eq!(o.unknown.len(), 1, "a GPU whose processes are unknown is said so");
        let pods = group(&snapshot(), OwnerKey::Pod);
        assert_eq!(pods.owners[0].name.as_deref(), Some("ml/llm-0"));
        assert_eq!(pods.owners[1].name, None);
    }

    #[test]
    fn the_table_has_a_line_per_holder() {
        let opts = TableOptions { painter: Painter { enabled: false }, width: None, ascii: false };
        let lines: Vec<String> =
            render(&snapshot(), OwnerKey::User, &opts).iter().map(|l| l.to_string()).collect();
        assert_eq!(lines[1], "USER   GPUS   GPU MEM  SM%   SINCE  PROCESSES");
        assert_eq!(lines[2], "bob    1      20.0GiB   90      1m  1: python job3.py");
        assert_eq!(lines[3], "alice  0,1     7.0GiB   40   2h00m  3: python job1.py");
        assert!(lines[4].starts_with("GPU 2: processes unknown"), "{}", lines[4]);
    }
}
