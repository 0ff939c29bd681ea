//! Many hosts in one list (`--remote`, `--prometheus`): a row per host (how many GPUs, their
//! mean utilization, memory in use, the hottest, how old the data is) over a row per GPU; the
//! GPUs ordered by host or by a metric; the `/` filter's `host:`, `model:`, `pod:`, `ns:` and
//! `job:` terms narrowing them; and the GPUs grouped by the workload they serve.

use std::collections::BTreeMap;

use crate::sample::{GpuSample, GpuStatus, RemoteHost, Snapshot};

/// How the GPU rows are ordered (`o` cycles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GpuOrder {
    /// Grouped under their host, hosts in the source's order.
    #[default]
    Host,
    Utilization,
    Memory,
    Temperature,
    Power,
}

impl GpuOrder {
    pub fn next(self) -> Self {
        match self {
            Self::Host => Self::Utilization,
            Self::Utilization => Self::Memory,
            Self::Memory => Self::Temperature,
            Self::Temperature => Self::Power,
            Self::Power => Self::Host,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Utilization => "util",
            Self::Memory => "memory",
            Self::Temperature => "temp",
            Self::Power => "power",
        }
    }

    /// The value a GPU is ordered by, largest first; `None` sorts last.
    fn key(self, g: &GpuSample) -> Option<f64> {
        match self {
            Self::Host => None,
            Self::Utilization => g.utilization.gpu_percent.map(f64::from),
            Self::Memory => g.memory.used_bytes.map(|b| b as f64),
            Self::Temperature => g.temperature.gpu_celsius.map(f64::from),
            Self::Power => g.power.draw_watts,
        }
    }
}

/// The `/` filter's terms about GPUs (the rest of it is about processes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpuFilter {
    terms: Vec<(Term, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Term {
    Host,
    Model,
    Pod,
    Namespace,
    Job,
}

impl GpuFilter {
    /// The GPU terms of `filter` and what is left of it for the process table.
    pub fn parse(filter: &str) -> (Self, String) {
        let mut terms = Vec::new();
        let mut rest = Vec::new();
        for word in filter.split_whitespace() {
            let term = word.split_once(':').and_then(|(field, value)| {
                let term = match field.to_lowercase().as_str() {
                    "host" => Term::Host,
                    "model" => Term::Model,
                    "pod" => Term::Pod,
                    "ns" | "namespace" => Term::Namespace,
                    "job" => Term::Job,
                    _ => return None,
                };
                Some((term, value.to_lowercase()))
            });
            match term {
                Some(t) => terms.push(t),
                None => rest.push(word),
            }
        }
        (Self { terms }, rest.join(" "))
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Every term matches (a substring, ignoring case).
    pub fn matches(&self, g: &GpuSample) -> bool {
        self.terms.iter().all(|(term, value)| {
            let has = |text: Option<&str>| text.is_some_and(|t| t.to_lowercase().contains(value));
            let workload = g.workload.as_ref();
            let placements = || g.known_processes().iter().filter_map(|p| p.placement.as_ref());
            match term {
                Term::Host => has(g.host.as_deref()),
                Term::Model => has(g.name.as_deref()),
                Term::Pod => {
                    has(workload.and_then(|w| w.pod.as_deref()))
                        || placements().any(|p| has(p.pod_name.as_deref()))
                }
                Term::Namespace => {
                    has(workload.and_then(|w| w.namespace.as_deref()))
                        || placements().any(|p| has(p.namespace.as_deref()))
                }
                Term::Job => {
                    has(workload.and_then(|w| w.job.as_deref()))
                        || placements().any(|p| has(p.slurm_job.as_deref()))
                }
            }
        })
    }

    /// A host with no GPUs to show (down) stays listed unless a term other than `host:`
    /// would have to judge its GPUs.
    fn keeps_host(&self, host: &RemoteHost) -> bool {
        self.terms.iter().all(|(term, value)| match term {
            Term::Host => {
                host.hostname.as_deref().unwrap_or(&host.url).to_lowercase().contains(value)
            }
            _ => false,
        })
    }
}

/// A host's row: its GPUs summed up.
#[derive(Debug, Clone, PartialEq)]
pub struct HostRow<'a> {
    pub host: &'a RemoteHost,
    pub gpus: usize,
    pub mean_utilization: Option<f64>,
    pub memory_used: Option<u64>,
    pub memory_total: Option<u64>,
    pub hottest: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FleetRow<'a> {
    Host(HostRow<'a>),
    Gpu(&'a GpuSample),
}

/// The rows of the GPU list: host rows over their GPUs when ordered by host, else the GPUs
/// alone, largest first.
pub fn rows<'a>(snapshot: &'a Snapshot, filter: &GpuFilter, order: GpuOrder) -> Vec<FleetRow<'a>> {
    let shown: Vec<&GpuSample> = snapshot.gpus.iter().filter(|g| filter.matches(g)).collect();
    if order != GpuOrder::Host {
        let mut gpus = shown;
        gpus.sort_by(|a, b| {
            let (ka, kb) = (order.key(a), order.key(b));
            kb.is_some().cmp(&ka.is_some()).then(kb.unwrap_or(0.0).total_cmp(&ka.unwrap_or(0.0)))
        });
        return gpus.into_iter().map(FleetRow::Gpu).collect();
    }
    if snapshot.hosts.is_empty() {
        return shown.into_iter().map(FleetRow::Gpu).collect();
    }
    // One pass over the GPUs (a fleet has thousands on hundreds of hosts).
    let mut by_host: std::collections::HashMap<&str, Vec<&GpuSample>> =
        std::collections::HashMap::with_capacity(snapshot.hosts.len());
    for g in shown {
        by_host.entry(g.host.as_deref().unwrap_or("")).or_default().push(g);
    }
    let mut rows = Vec::with_capacity(snapshot.gpus.len() + snapshot.hosts.len());
    for host in &snapshot.hosts {
        let gpus: Vec<&GpuSample> = match &host.hostname {
            Some(name) if host.up => by_host.remove(name.as_str()).unwrap_or_default(),
            _ => Vec::new(),
        };
        if gpus.is_empty() && (host.up || !filter.keeps_host(host)) {
            continue;
        }
        rows.push(FleetRow::Host(summary(host, &gpus)));
        rows.extend(gpus.into_iter().map(FleetRow::Gpu));
    }
    rows
}

fn summary<'a>(host: &'a RemoteHost, gpus: &[&GpuSample]) -> HostRow<'a> {
    let ok: Vec<&&GpuSample> = gpus.iter().filter(|g| g.status == GpuStatus::Ok).collect();
    let utils: Vec<f64> =
        ok.iter().filter_map(|g| g.utilization.gpu_percent.map(f64::from)).collect();
    let sum = |f: fn(&GpuSample) -> Option<u64>| {
        let values: Vec<u64> = ok.iter().filter_map(|g| f(g)).collect();
        (!values.is_empty()).then(|| values.iter().sum())
    };
    HostRow {
        host,
        gpus: gpus.len(),
        mean_utilization: (!utils.is_empty())
            .then(|| utils.iter().sum::<f64>() / utils.len() as f64),
        memory_used: sum(|g| g.memory.used_bytes),
        memory_total: sum(|g| g.memory.total_bytes),
        hottest: ok.iter().filter_map(|g| g.temperature.gpu_celsius).max(),
    }
}

/// One workload's GPUs: "who uses the cluster".
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadRow {
    /// `namespace/pod`, `job 1234`, or `(none)` for GPUs assigned to nothing that is known.
    pub name: String,
    pub gpus: usize,
    pub hosts: usize,
    pub mean_utilization: Option<f64>,
    pub memory_used: Option<u64>,
}

/// The GPUs grouped by what they serve: the pod or job their exporter names, else the pods
/// and jobs of their processes; the most GPUs first.
pub fn workloads(snapshot: &Snapshot, filter: &GpuFilter) -> Vec<WorkloadRow> {
    let mut groups: BTreeMap<String, Vec<&GpuSample>> = BTreeMap::new();
    for g in snapshot.gpus.iter().filter(|g| filter.matches(g)) {
        let mut names: Vec<String> = Vec::new();
        if let Some(w) = &g.workload {
            names.extend(name_of(w.namespace.as_deref(), w.pod.as_deref(), w.job.as_deref()));
        }
        if names.is_empty() {
            for p in g.known_processes().iter().filter_map(|p| p.placement.as_ref()) {
                let pod = p.pod_name.as_deref().or(p.pod_uid.as_deref());
                if let Some(n) = name_of(p.namespace.as_deref(), pod, p.slurm_job.as_deref()) {
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
        }
        if names.is_empty() {
            names.push("(none)".into());
        }
        for n in names {
            groups.entry(n).or_default().push(g);
        }
    }
    let mut rows: Vec<WorkloadRow> = groups
        .into_iter()
        .map(|(name, gpus)| {
            let utils: Vec<f64> =
                gpus.iter().filter_map(|g| g.utilization.gpu_percent.map(f64::from)).collect();
            let mems: Vec<u64> = gpus.iter().filter_map(|g| g.memory.used_bytes).collect();
            let mut hosts: Vec<&str> = gpus.iter().filter_map(|g| g.host.as_deref()).collect();
            hosts.sort_unstable();
            hosts.dedup();
            WorkloadRow {
                name,
                gpus: gpus.len(),
                hosts: hosts.len(),
                mean_utilization: (!utils.is_empty())
                    .then(|| utils.iter().sum::<f64>() / utils.len() as f64),
                memory_used: (!mems.is_empty()).then(|| mems.iter().sum()),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.name == "(none)")
            .cmp(&(b.name == "(none)"))
            .then(b.gpus.cmp(&a.gpus))
            .then(a.name.cmp(&b.name))
    });
    rows
}

fn name_of(namespace: Option<&str>, pod: Option<&str>, job: Option<&str>) -> Option<String> {
    match (namespace, pod, job) {
        (Some(ns), Some(pod), _) => Some(format!("{ns}/{pod}")),
        (None, Some(pod), _) => Some(pod.to_string()),
        (_, None, Some(job)) => Some(format!("job {job}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Workload;

    fn host(name: &str, up: bool) -> RemoteHost {
        let url = format!("{name}:9400");
        if up {
            RemoteHost::up(url, name)
        } else {
            RemoteHost::down(url, Some(name.into()), Some("target down".into()))
        }
    }

    fn gpu(host: &str, index: u32, util: u32, pod: Option<&str>) -> GpuSample {
        let mut g = GpuSample::empty(index);
        g.host = Some(host.into());
        g.name = Some(if host == "b" { "NVIDIA A100".into() } else { "NVIDIA H100".into() });
        g.utilization.gpu_percent = Some(util);
        g.memory.used_bytes = Some(u64::from(util) << 20);
        g.memory.total_bytes = Some(100 << 20);
        g.temperature.gpu_celsius = Some(40 + util / 10);
        g.workload = pod.map(|p| Workload {
            namespace: Some("ml".into()),
            pod: Some(p.into()),
            ..Workload::default()
        });
        g
    }

    fn fleet() -> Snapshot {
        let mut s = crate::source::SimSource::new(crate::scenario::Scenario::demo(1), &[])
            .unwrap()
            .sample_at(0.0);
        s.hosts = vec![host("a", true), host("b", true), host("c", false)];
        s.gpus = vec![
            gpu("a", 0, 10, Some("train-0")),
            gpu("a", 1, 90, Some("train-0")),
            gpu("b", 0, 50, Some("serve-1")),
        ];
        s
    }

    fn names(rows: &[FleetRow]) -> Vec<String> {
        rows.iter()
            .map(|r| match r {
                FleetRow::Host(h) => format!("[{}]", h.host.hostname.as_deref().unwrap()),
                FleetRow::Gpu(g) => format!("{}:{}", g.host.as_deref().unwrap(), g.index),
            })
            .collect()
    }

    #[test]
    fn hosts_head_their_gpus_and_sum_them_up() {
        let s = fleet();
        let rows = rows(&s, &GpuFilter::default(), GpuOrder::Host);
        assert_eq!(names(&rows), ["[a]", "a:0", "a:1", "[b]", "b:0", "[c]"]);
        let FleetRow::Host(a) = &rows[0] else { panic!() };
        assert_eq!((a.gpus, a.mean_utilization, a.memory_used), (2, Some(50.0), Some(100 << 20)));
        assert_eq!((a.memory_total, a.hottest), (Some(200 << 20), Some(49)));
    }

    #[test]
    fn ordered_by_a_metric_the_gpus_stand_alone() {
        let s = fleet();
        let rows = rows(&s, &GpuFilter::default(), GpuOrder::Utilization);
        assert_eq!(names(&rows), ["a:1", "b:0", "a:0"]);
    }

    #[test]
    fn filter_terms_narrow_gpus_and_leave_the_rest_to_processes() {
        let s = fleet();
        let (filter, rest) = GpuFilter::parse("host:A model:h100 python");
        assert_eq!(rest, "python");
        assert_eq!(names(&rows(&s, &filter, GpuOrder::Host)), ["[a]", "a:0", "a:1"]);
        let (filter, _) = GpuFilter::parse("pod:serve");
        assert_eq!(names(&rows(&s, &filter, GpuOrder::Host)), ["[b]", "b:0"]);
        let (filter, _) = GpuFilter::parse("host:c");
        assert_eq!(names(&rows(&s, &filter, GpuOrder::Host)), ["[c]"]);
    }

    #[test]
    fn workloads_group_gpus_by_pod() {
        let mut s = fleet();
        s.gpus.push(gpu("b", 1, 0, None));
        let w = workloads(&s, &GpuFilter::default());
        let got: Vec<(&str, usize, usize)> =
            w.iter().map(|r| (r.name.as_str(), r.gpus, r.hosts)).collect();
        assert_eq!(got, [("ml/train-0", 2, 1), ("ml/serve-1", 1, 1), ("(none)", 1, 1)]);
        assert_eq!(w[0].mean_utilization, Some(50.0));
    }
}
