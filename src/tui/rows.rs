//! The process table's rows: built from a snapshot when it arrives (sanitized, filtered,
//! sorted), so drawing only paints them.

use std::cmp::Ordering;

use crate::sample::{GpuProcess, GpuSample, PidMapping, ProcessKey, ProcessKind, Snapshot};
use crate::text::sanitize::sanitize;

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessRow {
    /// Who the row is: selection, history and signals follow this, not the bare PID.
    pub key: ProcessKey,
    /// Why `k` must not signal this row's PID on this machine, when it must not.
    pub refusal: Option<&'static str>,
    pub gpu: u32,
    /// The GPU's host with many hosts (sanitized); `None` for this machine's.
    pub host: Option<String>,
    /// The GPU instance the process runs in, with MIG on.
    pub gpu_instance: Option<u32>,
    pub pid: u32,
    pub user: String,
    pub kind: &'static str,
    pub gpu_memory: Option<u64>,
    pub sm: Option<u32>,
    /// This process's GPU memory as a share of the GPU's total.
    pub gpu_memory_percent: Option<f64>,
    pub cpu: Option<f32>,
    pub host_memory: Option<u64>,
    pub running_seconds: Option<u64>,
    /// Container, pod, Slurm job or systemd unit, sanitized.
    pub placement: Option<String>,
    pub command: String,
}

pub use crate::config::SortKey;

impl SortKey {
    pub const ALL: [SortKey; 11] = [
        SortKey::Gpu,
        SortKey::Pid,
        SortKey::User,
        SortKey::Type,
        SortKey::GpuMemory,
        SortKey::Sm,
        SortKey::GpuMemoryPercent,
        SortKey::Cpu,
        SortKey::HostMemory,
        SortKey::Time,
        SortKey::Command,
    ];

    /// The process table's columns before COMMAND (which is always there, last), unless the
    /// config file names others: all of them, in `ALL`'s order.
    pub const DEFAULT_COLUMNS: &'static [SortKey] = match Self::ALL.split_last() {
        Some((_command, before)) => before,
        None => &[],
    };

    /// The next key `by` steps away among `keys` (the shown columns), wrapping around.
    pub fn step_in(self, keys: &[SortKey], by: isize) -> SortKey {
        if keys.is_empty() {
            return self;
        }
        let i = keys.iter().position(|k| *k == self).unwrap_or(0) as isize;
        keys[(i + by).rem_euclid(keys.len() as isize) as usize]
    }

    /// Width in the process table and whether right-aligned (COMMAND takes the rest).
    pub fn width(self) -> (u16, bool) {
        match self {
            SortKey::Gpu => (3, true),
            SortKey::Pid => (8, true),
            SortKey::User => (10, false),
            SortKey::Type => (4, false),
            SortKey::GpuMemory => (9, true),
            SortKey::Sm => (4, true),
            SortKey::GpuMemoryPercent => (6, true),
            SortKey::Cpu => (6, true),
            SortKey::HostMemory => (9, true),
            SortKey::Time => (9, true),
            SortKey::Command => (0, false),
        }
    }

    /// Numbers sort largest first by default, names alphabetically.
    pub fn largest_first(self) -> bool {
        !matches!(
            self,
            SortKey::Gpu | SortKey::Pid | SortKey::User | SortKey::Type | SortKey::Command
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Gpu => "GPU",
            SortKey::Pid => "PID",
            SortKey::User => "USER",
            SortKey::Type => "TYPE",
            SortKey::GpuMemory => "GPU-MEM",
            SortKey::Sm => "SM%",
            SortKey::GpuMemoryPercent => "GMEM%",
            SortKey::Cpu => "CPU%",
            SortKey::HostMemory => "HOST-MEM",
            SortKey::Time => "TIME",
            SortKey::Command => "COMMAND",
        }
    }
}

/// Rows for `snapshot` that match `filter`, sorted by `key`. Missing values sort last.
pub fn build_rows(
    snapshot: &Snapshot,
    filter: &str,
    key: SortKey,
    descending: bool,
) -> Vec<ProcessRow> {
    // `host:`, `model:`, `pod:` … narrow the GPUs; the rest is about processes.
    let (gpu_filter, filter) = crate::tui::fleet::GpuFilter::parse(filter);
    let filter = Filter::parse(&filter);
    let mut rows: Vec<ProcessRow> = snapshot
        .gpus
        .iter()
        .filter(|g| gpu_filter.matches(g))
        .flat_map(|g| {
            let local = runs_here(snapshot, g);
            g.known_processes().iter().map(move |p| ProcessRow {
                key: process_key(local, g, p),
                refusal: refusal(snapshot, g, p),
                gpu: g.index,
                host: (!local)
                    .then(|| g.host.as_deref().map(|h| sanitize(h).into_owned()))
                    .flatten(),
                gpu_instance: p.gpu_instance_id.filter(|_| g.mig_enabled == Some(true)),
                pid: p.pid,
                user: sanitize(p.user.as_deref().unwrap_or("N/A")).into_owned(),
                kind: ProcessKind::short_or_na(p.kind),
                gpu_memory: p.gpu_memory_bytes,
                sm: p.sm_percent,
                gpu_memory_percent: p
                    .gpu_memory_bytes
                    .zip(g.memory.total_bytes)
                    .filter(|(_, t)| *t > 0)
                    .map(|(u, t)| u as f64 * 100.0 / t as f64),
                cpu: p.cpu_percent,
                host_memory: p.host_memory_bytes,
                running_seconds: p.running_seconds,
                placement: p
                    .placement
                    .as_ref()
                    .and_then(|pl| pl.label())
                    .map(|l| sanitize(&l).into_owned()),
                command: sanitize(p.command.as_deref().or(p.name.as_deref()).unwrap_or(
                    match p.pid_mapping {
                        Some(PidMapping::Outside) => "(outside this container: host PID)",
                        Some(PidMapping::FoundByScan) => "(holds the GPU; not listed by NVML)",
                        _ => "N/A",
                    },
                ))
                .into_owned(),
            })
        })
        .filter(|r| filter.matches(r))
        .collect();
    rows.sort_by(|a, b| {
        let ord = compare(a, b, key);
        let ord = if descending { ord.reverse() } else { ord };
        // Rows without the value go last either way; ties keep GPU and PID order.
        missing_last(a, b, key).then(ord).then(a.gpu.cmp(&b.gpu)).then(a.pid.cmp(&b.pid))
    });
    rows
}

/// Every process of `snapshot` with its key, filter or no filter (for per-process history).
pub fn keyed_processes(snapshot: &Snapshot) -> impl Iterator<Item = (ProcessKey, &GpuProcess)> {
    snapshot.gpus.iter().flat_map(move |g| {
        let local = runs_here(snapshot, g);
        g.known_processes().iter().map(move |p| (process_key(local, g, p), p))
    })
}

fn process_key(local: bool, g: &GpuSample, p: &GpuProcess) -> ProcessKey {
    ProcessKey {
        host: if local { None } else { g.host.clone() },
        pid: p.pid,
        start_ticks: p.start_ticks,
    }
}

/// Whether `g` is this machine's: always for a live source; with `--remote`, only the `local`
/// entry. Its rows' keys then name local processes (no host).
fn runs_here(snapshot: &Snapshot, g: &GpuSample) -> bool {
    snapshot.is_local_entry(g)
}

/// Why a row's PID must not be signalled from here: it would name no process, or another one.
fn refusal(snapshot: &Snapshot, g: &GpuSample, p: &GpuProcess) -> Option<&'static str> {
    if let Some(why) = snapshot.signal_refusal(g) {
        Some(why)
    } else if p.pid_mapping == Some(PidMapping::Outside) {
        Some("it runs outside this container: its PID is the host's")
    } else if p.start_ticks.is_none() {
        Some("it could not be identified here (no start time in /proc)")
    } else {
        None
    }
}

fn missing_last(a: &ProcessRow, b: &ProcessRow, key: SortKey) -> Ordering {
    let missing = |r: &ProcessRow| match key {
        SortKey::GpuMemory => r.gpu_memory.is_none(),
        SortKey::Sm => r.sm.is_none(),
        SortKey::GpuMemoryPercent => r.gpu_memory_percent.is_none(),
        SortKey::Cpu => r.cpu.is_none(),
        SortKey::HostMemory => r.host_memory.is_none(),
        SortKey::Time => r.running_seconds.is_none(),
        _ => false,
    };
    missing(a).cmp(&missing(b))
}

fn compare(a: &ProcessRow, b: &ProcessRow, key: SortKey) -> Ordering {
    let f = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
    match key {
        SortKey::Gpu => a.gpu.cmp(&b.gpu),
        SortKey::Pid => a.pid.cmp(&b.pid),
        SortKey::User => a.user.cmp(&b.user),
        SortKey::Type => a.kind.cmp(b.kind),
        SortKey::GpuMemory => a.gpu_memory.cmp(&b.gpu_memory),
        SortKey::Sm => a.sm.cmp(&b.sm),
        SortKey::GpuMemoryPercent => f(a.gpu_memory_percent).total_cmp(&f(b.gpu_memory_percent)),
        SortKey::Cpu => f(a.cpu.map(f64::from)).total_cmp(&f(b.cpu.map(f64::from))),
        SortKey::HostMemory => a.host_memory.cmp(&b.host_memory),
        SortKey::Time => a.running_seconds.cmp(&b.running_seconds),
        SortKey::Command => a.command.cmp(&b.command),
    }
}

/// `/` filter: `gpu:N`, `pid:N`, `user:NAME`, or text found in the user or command line (or a
/// PID that starts with it). Case-insensitive.
enum Filter {
    All,
    Gpu(u32),
    Pid(u32),
    User(String),
    Text(String),
}

impl Filter {
    fn parse(s: &str) -> Filter {
        let s = s.trim().to_lowercase();
        if s.is_empty() {
            return Filter::All;
        }
        if let Some((field, value)) = s.split_once(':') {
            match (field, value.trim().parse()) {
                ("gpu", Ok(n)) => return Filter::Gpu(n),
                ("pid", Ok(n)) => return Filter::Pid(n),
                ("user", _) => return Filter::User(value.trim().to_string()),
                _ => {}
            }
        }
        Filter::Text(s)
    }

    fn matches(&self, r: &ProcessRow) -> bool {
        match self {
            Filter::All => true,
            Filter::Gpu(n) => r.gpu == *n,
            Filter::Pid(n) => r.pid == *n,
            Filter::User(u) => r.user.to_lowercase() == *u,
            Filter::Text(t) => {
                r.user.to_lowercase().contains(t)
                    || r.command.to_lowercase().contains(t)
                    || r.pid.to_string().starts_with(t.as_str())
                    || r.placement.as_ref().is_some_and(|p| p.to_lowercase().contains(t))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;
    use crate::source::SimSource;

    fn snapshot() -> Snapshot {
        SimSource::new(Scenario::demo(4), &[]).unwrap().sample_at(1_000.0)
    }

    #[test]
    fn sorts_by_gpu_memory_largest_first_with_missing_last() {
        let mut snap = snapshot();
        snap.gpus[0].processes.as_mut().unwrap()[0].gpu_memory_bytes = None;
        let rows = build_rows(&snap, "", SortKey::GpuMemory, true);
        let mems: Vec<Option<u64>> = rows.iter().map(|r| r.gpu_memory).collect();
        assert_eq!(mems.last(), Some(&None));
        assert!(mems.windows(2).all(|w| w[1].is_none() || w[0] >= w[1]), "{mems:?}");
    }

    #[test]
    fn filters_by_field_or_text() {
        let snap = snapshot();
        assert!(build_rows(&snap, "gpu:1", SortKey::Pid, false).iter().all(|r| r.gpu == 1));
        assert_eq!(build_rows(&snap, "pid:4000", SortKey::Pid, false).len(), 1);
        assert!(build_rows(&snap, "user:alice", SortKey::Pid, false)
            .iter()
            .all(|r| r.user == "alice"));
        let vllm = build_rows(&snap, "VLLM", SortKey::Pid, false);
        assert!(!vllm.is_empty() && vllm.iter().all(|r| r.command.contains("vllm")));
        assert!(build_rows(&snap, "no-such-thing", SortKey::Pid, false).is_empty());
    }

    #[test]
    fn sort_keys_cycle() {
        assert_eq!(SortKey::Command.step_in(&SortKey::ALL, 1), SortKey::Gpu);
        assert_eq!(SortKey::Gpu.step_in(&SortKey::ALL, -1), SortKey::Command);
    }
}
