//! Choosing free GPUs on a shared machine, for `gputop select` and `gputop wait`: which GPUs
//! qualify, in what order, and why the others do not.
//!
//! A GPU qualifies when it is not claimed by another `gputop wait` ([`locks`]), its process
//! list is known and holds at most `max_procs` compute processes (graphics processes, such as
//! a desktop's, do not count), its utilization stayed at most `max_util` % over the last few
//! seconds (the driver's own samples; the instant's value where it keeps none), and it has at
//! least `min_free_memory` free. Qualifying GPUs come best first: most free memory, then the
//! lowest recent utilization. They are chosen among one vendor's GPUs (`--vendor`, see
//! [`vendor`]), and named as that vendor's runtime numbers them.

pub mod locks;
pub mod select;
mod size;
pub mod vendor;
pub mod wait;

use std::fmt::Write;

pub use size::parse_size;

use std::collections::BTreeMap;

use crate::sample::{FieldKey, GpuSample, GpuStatus, ProcessKind, Snapshot, Vendor};
use crate::source::{GpuSelector, RecentUtilization, Source};
use crate::text::sanitize::sanitize;
use crate::text::units::{duration_coarse, human_bytes};

/// What makes a GPU free and how to name it, for `select` and `wait` (`-n`, `--min-free-memory`,
/// `--max-util`, `--max-procs`, `--exclude`, `--by-uuid`, `--lock-dir`, `--vendor`, `--id`).
#[derive(Debug, Clone)]
pub struct PickOptions {
    pub count: u32,
    pub min_free_memory: Option<u64>,
    pub max_util: u32,
    pub max_procs: usize,
    pub exclude: Vec<GpuSelector>,
    pub by_uuid: bool,
    pub lock_dir: Option<std::path::PathBuf>,
    /// The vendor asked for; `None`: [`vendor::chosen`]'s default.
    pub vendor: Option<Vendor>,
    /// Only these GPUs (`--id`). The source samples every GPU, so that each vendor's
    /// ordinals count them all.
    pub only: Vec<GpuSelector>,
    /// The runtimes' variables as this process got them (`CUDA_VISIBLE_DEVICES`,
    /// `ROCR_VISIBLE_DEVICES`, `HIP_VISIBLE_DEVICES`, `ZE_AFFINITY_MASK`): the GPUs to
    /// choose among.
    pub visible: BTreeMap<String, String>,
}

/// The variables [`PickOptions::visible`] reads.
pub const VISIBLE_VARIABLES: [&str; 4] =
    ["CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ZE_AFFINITY_MASK"];

/// How far back "recent" utilization looks.
pub const RECENT: std::time::Duration = std::time::Duration::from_secs(10);

/// What makes a GPU free enough.
#[derive(Debug, Clone, PartialEq)]
pub struct Criteria {
    pub min_free_memory: Option<u64>,
    pub max_util: u32,
    pub max_procs: usize,
    pub exclude: Vec<GpuSelector>,
    pub only: Vec<GpuSelector>,
    pub vendor: Option<Vendor>,
}

/// One GPU as judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// gputop's index, which counts every vendor's GPUs.
    pub index: u32,
    pub vendor: Vendor,
    /// Its position among its vendor's GPUs: the number its runtime gives it.
    pub ordinal: u32,
    pub uuid: Option<String>,
    pub pci_bus_id: Option<String>,
    pub free_bytes: Option<u64>,
    /// Mean utilization over [`RECENT`], or the instant's.
    pub utilization: Option<f64>,
    /// `None` when it qualifies; otherwise why not, in a few words.
    pub held: Option<String>,
}

impl Verdict {
    pub fn is_free(&self) -> bool {
        self.held.is_none()
    }

    /// How the GPU is named in its runtime's variable: its ordinal, or with `by_uuid` an
    /// NVIDIA GPU's UUID (ROCm's and Level Zero's UUID forms are not what the kernel shows).
    pub fn id(&self, by_uuid: bool) -> String {
        match (&self.uuid, by_uuid && self.vendor == Vendor::Nvidia) {
            (Some(uuid), true) => uuid.clone(),
            _ => self.ordinal.to_string(),
        }
    }
}

/// The GPUs gputop may choose from, and the variable that limited them (if any).
pub struct Candidates<'a> {
    pub vendor: Vendor,
    pub gpus: Vec<&'a GpuSample>,
    pub limited_by: Option<&'static str>,
}

/// The GPUs gputop may choose from: `vendor`'s ([`vendor::chosen`]), those its runtime's
/// variable (when set) lets this process see, those `--id` names, less the excluded ones.
/// The variables are read as the runtimes read them, up to their first entry that names no
/// device; for AMD, `ROCR_VISIBLE_DEVICES` first, then `HIP_VISIBLE_DEVICES` counting within
/// it. Ordinals are taken in gputop's order, which is each runtime's (see [`vendor`]); UUIDs
/// mean the same to both.
pub fn candidates<'a>(
    snapshot: &'a Snapshot,
    visible: &BTreeMap<String, String>,
    criteria: &Criteria,
) -> Result<Candidates<'a>, String> {
    let vendor = vendor::chosen(&snapshot.gpus, criteria.vendor);
    let mut gpus: Vec<&GpuSample> = snapshot.gpus.iter().filter(|g| g.vendor == vendor).collect();
    let count = gpus.len() as u32;
    // CUDA takes a unique prefix of a UUID too.
    let uuid_of = |entry: &str| {
        let found =
            gpus.iter().position(|g| g.uuid.as_deref().is_some_and(|u| u.starts_with(entry)));
        found.map(|p| p as u32)
    };
    let variable = vendor::limiting_variable(vendor);
    let mut limited_by = None;
    let mut ordinals: Option<Vec<u32>> = None;
    if let Some(list) = visible.get(variable) {
        ordinals = Some(vendor::parse_visible(vendor, list, count, uuid_of)?);
        limited_by = Some(variable);
    }
    if vendor == Vendor::Amd {
        if let Some(list) = visible.get("HIP_VISIBLE_DEVICES") {
            let within = ordinals.clone().unwrap_or_else(|| (0..count).collect());
            let n = within.len() as u32;
            let picked = vendor::parse_visible(vendor, list, n, |_| None)?;
            ordinals = Some(picked.into_iter().map(|i| within[i as usize]).collect());
            limited_by = Some("HIP_VISIBLE_DEVICES");
        }
    }
    if let Some(ordinals) = ordinals {
        gpus = ordinals.into_iter().map(|o| gpus[o as usize]).collect();
    }
    gpus.retain(|g| !criteria.exclude.iter().any(|sel| sel.names(g)));
    if !criteria.only.is_empty() {
        gpus.retain(|g| criteria.only.iter().any(|sel| sel.names(g)));
    }
    Ok(Candidates { vendor, gpus, limited_by })
}

/// Judges each candidate: `recent` gives its utilization over the last seconds where known,
/// `claimed` who claimed it.
pub fn judge(
    all: &[GpuSample],
    gpus: &[&GpuSample],
    recent: impl Fn(&GpuSample) -> Option<RecentUtilization>,
    criteria: &Criteria,
    claimed: impl Fn(&GpuSample) -> Option<String>,
) -> Vec<Verdict> {
    gpus.iter()
        .map(|g| {
            let recent = recent(g);
            let utilization = recent.map(|r| r.mean).or(g.utilization.gpu_percent.map(f64::from));
            let peak = recent.map(|r| r.max).or(g.utilization.gpu_percent);
            Verdict {
                index: g.index,
                vendor: g.vendor,
                ordinal: vendor::ordinal(all, g),
                uuid: g.uuid.clone(),
                pci_bus_id: g.pci_bus_id.clone(),
                free_bytes: g.memory.free_bytes,
                utilization,
                held: why_not(g, peak, recent.is_some(), criteria, &claimed),
            }
        })
        .collect()
}

fn why_not(
    g: &GpuSample,
    peak: Option<u32>,
    over_window: bool,
    criteria: &Criteria,
    claimed: &impl Fn(&GpuSample) -> Option<String>,
) -> Option<String> {
    if g.status != GpuStatus::Ok {
        return Some(match g.status {
            GpuStatus::Lost => "lost (fallen off the bus)".into(),
            _ => format!("unreachable ({})", sanitize(g.error.as_deref().unwrap_or("error"))),
        });
    }
    if let Some(holder) = claimed(g) {
        return Some(holder);
    }
    let Some(processes) = g.processes.as_ref() else {
        let reason = g.processes_unknown_reason().unwrap_or_else(|| "unknown".into());
        return Some(format!("processes {reason}"));
    };
    // A process of unknown type counts as compute: it may be holding the GPU.
    let compute: Vec<_> =
        processes.iter().filter(|p| p.kind != Some(ProcessKind::Graphics)).collect();
    if compute.len() > criteria.max_procs {
        // Named by its largest user of memory.
        // Only to name one: a process of unknown memory is named last.
        let top = compute.iter().max_by_key(|p| p.gpu_memory_bytes.unwrap_or(0)).copied();
        let mut why = String::from("held by ");
        if let Some(p) = top {
            let user = p.user.as_deref().map_or("?".into(), sanitize);
            let what = p.command.as_deref().or(p.name.as_deref()).map_or_else(
                || format!("pid {}", p.pid),
                |c| sanitize(&crate::text::units::truncate(c, 40, false)).into_owned(),
            );
            let _ = write!(why, "{user}, {what}");
            if let Some(secs) = p.running_seconds {
                let _ = write!(why, ", {}", duration_coarse(secs));
            }
        }
        if compute.len() > 1 {
            let _ = write!(why, " (+{} more)", compute.len() - 1);
        }
        return Some(why);
    }
    // A list that is not everyone's (an AMD or Intel GPU's clients, other users' unreadable):
    // who else holds the GPU is unknown, so it is not free.
    if let Some(missing) = g.missing.get(FieldKey::Processes) {
        return Some(format!("other processes unknown ({})", missing.describe()));
    }
    match peak {
        Some(peak) if peak > criteria.max_util => {
            let when = if over_window { " in the last 10 s" } else { "" };
            return Some(format!("busy ({peak} %{when})"));
        }
        None => return Some("utilization unknown".into()),
        _ => {}
    }
    if let Some(min) = criteria.min_free_memory {
        match g.memory.free_bytes {
            Some(free) if free >= min => {}
            Some(free) => {
                return Some(format!("{} free, {} wanted", human_bytes(free), human_bytes(min)))
            }
            None => return Some("free memory unknown".into()),
        }
    }
    None
}

/// One look at the machine: a snapshot and every candidate GPU judged.
pub struct Survey {
    pub snapshot: Snapshot,
    pub verdicts: Vec<Verdict>,
    /// The vendor chosen among.
    pub vendor: Vendor,
    /// The variable of this process's environment that limited the choice, if any.
    pub limited_by: Option<&'static str>,
}

/// One look at the machine: a snapshot and every candidate GPU judged.
pub fn survey(
    source: &mut dyn Source,
    visible: &BTreeMap<String, String>,
    criteria: &Criteria,
    locks: &locks::LockDir,
) -> Result<Survey, crate::Error> {
    let snapshot = source.sample()?;
    let recent = source.recent_utilization(RECENT);
    let chosen = candidates(&snapshot, visible, criteria).map_err(crate::Error::Usage)?;
    // In snapshot order, as the source gives it.
    let recent_of = |g: &GpuSample| {
        let position = snapshot.gpus.iter().position(|x| std::ptr::eq(x, g))?;
        recent.get(position).copied().flatten()
    };
    let verdicts = judge(&snapshot.gpus, &chosen.gpus, recent_of, criteria, |g| locks.holder(g));
    let (vendor, limited_by) = (chosen.vendor, chosen.limited_by);
    Ok(Survey { snapshot, verdicts, vendor, limited_by })
}

/// The free GPUs, best first: most free memory, then least busy, then lowest index.
pub fn ranked(verdicts: &[Verdict]) -> Vec<&Verdict> {
    let mut free: Vec<&Verdict> = verdicts.iter().filter(|v| v.is_free()).collect();
    // An unknown free memory or load ranks after every known one (a sort key, not a value).
    free.sort_by(|a, b| {
        b.free_bytes
            .unwrap_or(0)
            .cmp(&a.free_bytes.unwrap_or(0))
            .then(a.utilization.unwrap_or(0.0).total_cmp(&b.utilization.unwrap_or(0.0)))
            .then(a.index.cmp(&b.index))
    });
    free
}

/// "2 wanted, 1 free: GPU 2 held by alice, python train.py, 3h02m; GPU 3 busy (45 %)".
pub fn shortfall(wanted: usize, verdicts: &[Verdict]) -> String {
    let free = verdicts.iter().filter(|v| v.is_free()).count();
    let mut line = format!("{wanted} wanted, {free} free");
    let held: Vec<String> = verdicts
        .iter()
        .filter_map(|v| v.held.as_ref().map(|why| format!("GPU {} {why}", v.index)))
        .collect();
    if !held.is_empty() {
        let _ = write!(line, ": {}", held.join("; "));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::GpuProcess;

    fn gpu(index: u32, free_gib: u64, util: u32, procs: &[(u32, ProcessKind)]) -> GpuSample {
        let mut g = GpuSample::empty(index);
        g.uuid = Some(format!("GPU-{index}aaa"));
        g.memory.free_bytes = Some(free_gib << 30);
        g.utilization.gpu_percent = Some(util);
        g.processes = Some(
            procs
                .iter()
                .map(|&(pid, kind)| {
                    let mut p = GpuProcess::new(pid, kind, Some(1 << 30));
                    p.user = Some("alice".into());
                    p.command = Some("python train.py".into());
                    p.running_seconds = Some(3 * 3600 + 120);
                    p
                })
                .collect(),
        );
        g
    }

    fn criteria() -> Criteria {
        Criteria {
            min_free_memory: None,
            max_util: 10,
            max_procs: 0,
            exclude: Vec::new(),
            only: Vec::new(),
            vendor: None,
        }
    }

    fn snapshot(gpus: Vec<GpuSample>) -> Snapshot {
        let mut s = crate::source::SimSource::new(crate::scenario::Scenario::demo(1), &[])
            .unwrap()
            .sample_at(0.0);
        s.gpus = gpus;
        s
    }

    fn judged(s: &Snapshot, recent: &[Option<RecentUtilization>], c: &Criteria) -> Vec<Verdict> {
        let gpus = candidates(s, &BTreeMap::new(), c).unwrap().gpus;
        judge(&s.gpus, &gpus, |g| recent.get(g.index as usize).copied().flatten(), c, |_| None)
    }

    #[test]
    fn free_gpus_come_best_first_and_the_others_say_why() {
        let s = snapshot(vec![
            gpu(0, 40, 0, &[]),
            gpu(1, 70, 0, &[(7, ProcessKind::Graphics)]),
            gpu(2, 79, 0, &[(42, ProcessKind::Compute)]),
            gpu(3, 79, 45, &[]),
        ]);
        let v = judged(&s, &[], &criteria());
        assert_eq!(ranked(&v).iter().map(|v| v.index).collect::<Vec<_>>(), vec![1, 0]);
        assert_eq!(
            shortfall(3, &v),
            "3 wanted, 2 free: GPU 2 held by alice, python train.py, 3h02m; GPU 3 busy (45 %)"
        );
        // A busy moment in the last seconds counts, though the instant is idle.
        let recent = [None, None, None, Some(RecentUtilization { mean: 3.0, max: 60 })];
        let s = snapshot(vec![
            gpu(0, 40, 0, &[]),
            gpu(1, 40, 0, &[]),
            gpu(2, 40, 0, &[]),
            gpu(3, 40, 0, &[]),
        ]);
        let v = judged(&s, &recent, &criteria());
        assert_eq!(v[3].held.as_deref(), Some("busy (60 % in the last 10 s)"));
    }

    #[test]
    fn a_gpu_whose_list_is_not_everyones_is_not_free() {
        // An AMD GPU seen by a user who cannot read other users' processes: none visible.
        let mut partial = gpu(0, 40, 0, &[]);
        partial.missing.insert(
            FieldKey::Processes,
            crate::sample::Missing {
                reason: crate::sample::MissingReason::NoPermission,
                nvml_code: None,
            },
        );
        let s = snapshot(vec![partial, gpu(1, 40, 0, &[])]);
        let v = judged(&s, &[], &criteria());
        assert_eq!(v[0].held.as_deref(), Some("other processes unknown (no permission)"));
        assert_eq!(v[1].held, None);
    }

    #[test]
    fn options_tighten_and_loosen_and_unknown_is_never_free() {
        let mut s =
            snapshot(vec![gpu(0, 10, 0, &[]), gpu(1, 70, 30, &[(9, ProcessKind::Compute)])]);
        let c =
            Criteria { min_free_memory: Some(20 << 30), max_util: 50, max_procs: 1, ..criteria() };
        let v = judged(&s, &[], &c);
        assert_eq!(v[0].held.as_deref(), Some("10.0GiB free, 20.0GiB wanted"));
        assert!(v[1].is_free());
        s.gpus[1].processes = None;
        let v = judged(&s, &[], &c);
        assert!(v[1].held.as_deref().unwrap().starts_with("processes unknown"), "{:?}", v[1]);
    }

    #[test]
    fn cuda_visible_devices_and_exclusions_limit_the_choice() {
        let s = snapshot(vec![
            gpu(0, 1, 0, &[]),
            gpu(1, 1, 0, &[]),
            gpu(2, 1, 0, &[]),
            gpu(3, 1, 0, &[]),
        ]);
        let ids = |visible: Option<&str>, c: &Criteria| {
            let env = visible.map(|v| ("CUDA_VISIBLE_DEVICES".to_string(), v.to_string()));
            let chosen = candidates(&s, &env.into_iter().collect(), c)?;
            Ok::<_, String>(chosen.gpus.iter().map(|g| g.index).collect::<Vec<_>>())
        };
        assert_eq!(ids(Some("3,GPU-1a,1"), &criteria()).unwrap(), vec![3, 1]);
        // Up to the first entry that names no device, as CUDA reads it.
        assert_eq!(ids(Some("2,9,0"), &criteria()).unwrap(), vec![2]);
        assert_eq!(ids(Some(""), &criteria()).unwrap(), Vec::<u32>::new());
        let exclude = vec![GpuSelector::Index(0), GpuSelector::Uuid("GPU-2aaa".into())];
        assert_eq!(ids(None, &Criteria { exclude, ..criteria() }).unwrap(), vec![1, 3]);
        let only = vec![GpuSelector::Index(2), GpuSelector::Index(0)];
        assert_eq!(ids(None, &Criteria { only, ..criteria() }).unwrap(), vec![0, 2]);
        assert!(ids(Some("MIG-abc"), &criteria()).unwrap_err().contains("MIG"));
    }
}
