//! One answer of Prometheus, series by series, into hosts and their GPUs. The values come
//! grouped to `(__name__, instance, gpu)` (each series without the GPU's other labels: a third
//! of the bytes); one series per GPU, the `timestamp()` of a metric every exporter has, carries
//! its labels (host, UUID, model, workload) and dates its data. Hosts are marked down
//! (`up == 0`) or stale (older than two scrape intervals).

use std::collections::{BTreeMap, HashMap};

use crate::sample::{FieldKey, GpuSample, Missing, MissingReason, RemoteHost, Vendor, Workload};
use crate::text::units::age_text;

use crate::metric_names::{dcgm, gputop};

use super::client::{Labels, Sample};
use super::vocabulary::{self, GpuParts};

/// The label the query adds to the series that are not GPU metrics.
pub const KIND_LABEL: &str = "gputop_kind";
/// `timestamp()` of one metric per GPU, with all its labels: who the GPU is, and when its
/// newest sample was scraped.
pub const KIND_TIMESTAMP: &str = "timestamp";
/// `count_over_time(up[2m])`: how many scrapes a target had in two minutes.
pub const KIND_SCRAPES: &str = "scrapes";
/// `gputop_last_sample_timestamp_seconds`: when a gputop exporter last completed a sample.
/// Its scrapes stay fresh while its sampling is stuck; this does not.
pub const KIND_LAST_SAMPLE: &str = "last_sample";
/// The window `KIND_SCRAPES` counts over, in seconds.
pub const SCRAPES_WINDOW: f64 = 120.0;
/// The labels the values are grouped to: the metric, the target, the GPU, a MIG device's
/// instance (its series are not the GPU's) and an XID (one series each).
pub fn value_labels() -> String {
    format!("__name__, instance, {}, {}, {}", gputop::GPU, dcgm::GPU_I_ID, gputop::XID)
}

/// The scrape interval assumed for a target whose scrapes could not be counted.
const DEFAULT_INTERVAL: f64 = 60.0;

/// A scrape target: `instance` and `job`.
type TargetKey = (String, String);

#[derive(Debug, Default)]
struct Target {
    up: Option<bool>,
    scrapes: Option<f64>,
    /// A gputop exporter's last complete sample (Unix seconds).
    last_sample: Option<f64>,
    /// The target's own `pod` label: the exporter's pod, never a workload.
    pod: Option<String>,
}

/// Who a GPU is, from its labelled series.
#[derive(Debug, Default)]
struct Identity {
    host: String,
    job: String,
    uuid: Option<String>,
    name: Option<String>,
    pci_bus_id: Option<String>,
    vendor: Vendor,
    workload: Option<Workload>,
    newest: f64,
}

/// A host's GPUs by index, in the order first seen. A list and not a map: a host has a
/// handful, and a `HashMap` of 8 keeps 16 slots, so a large fleet's assembly took twice the
/// room (1,000 hosts × 8 GPUs: 17.5 MB of heap at the monitor's peak, `heaptrack`).
type ByGpu<T> = Vec<(u32, T)>;

/// What an answer adds up to, before it is judged.
#[derive(Debug, Default)]
pub struct Assembly {
    /// By `instance`, then GPU index.
    gpus: HashMap<String, ByGpu<GpuParts>>,
    identities: HashMap<String, ByGpu<Identity>>,
    targets: HashMap<TargetKey, Target>,
}

fn target_key(labels: &Labels) -> TargetKey {
    let get = |n| labels.get(n).unwrap_or("").to_string();
    (get("instance"), get("job"))
}

/// The host a GPU belongs to: the name its exporter gives (`hostname`, gputop's and now
/// dcgm-exporter's, or `Hostname`, dcgm-exporter's before its 4.x rename; each also as
/// `exported_…`), else the scrape target.
pub(super) fn host_name<'l>(labels: &'l Labels) -> &'l str {
    [gputop::HOSTNAME, dcgm::OLD_HOSTNAME]
        .iter()
        .find_map(|n| vocabulary::exporter_label(labels, n))
        .or_else(|| labels.get("instance").filter(|v| !v.is_empty()))
        .unwrap_or("unknown")
}

/// The entry of `map[instance][gpu]`, allocating the instance's name only the first time.
fn slot<'m, T: Default>(
    map: &'m mut HashMap<String, ByGpu<T>>,
    instance: &str,
    gpu: u32,
) -> &'m mut T {
    if !map.contains_key(instance) {
        map.insert(instance.to_string(), Vec::new());
    }
    let gpus = map.get_mut(instance).expect("inserted above");
    let at = match gpus.iter().position(|(index, _)| *index == gpu) {
        Some(at) => at,
        None => {
            gpus.push((gpu, T::default()));
            gpus.len() - 1
        }
    };
    &mut gpus[at].1
}

impl Assembly {
    pub fn add(&mut self, sample: &Sample) {
        let labels = &sample.metric;
        let (_, value) = sample.value;
        let instance = labels.get("instance").unwrap_or("");
        match labels.get(KIND_LABEL) {
            Some(KIND_SCRAPES) => {
                self.targets.entry(target_key(labels)).or_default().scrapes = Some(value);
                return;
            }
            Some(KIND_LAST_SAMPLE) => {
                self.targets.entry(target_key(labels)).or_default().last_sample = Some(value);
                return;
            }
            Some(KIND_TIMESTAMP) => {
                let Some(gpu) = labels.get(gputop::GPU).and_then(|g| g.parse().ok()) else {
                    return;
                };
                let id = slot(&mut self.identities, instance, gpu);
                *id = identity(labels, value);
                return;
            }
            _ => {}
        }
        let Some(name) = labels.get("__name__") else { return };
        if name == "up" {
            let target = self.targets.entry(target_key(labels)).or_default();
            target.up = Some(value != 0.0);
            target.pod = labels.get("pod").map(str::to_string);
            return;
        }
        // A MIG device's series (dcgm-exporter's GPU_I_ID) are not the GPU's.
        if labels.get(dcgm::GPU_I_ID).is_some_and(|v| !v.is_empty()) {
            return;
        }
        let Some(gpu) = labels.get(gputop::GPU).and_then(|g| g.parse().ok()) else { return };
        let parts = slot(&mut self.gpus, instance, gpu);
        parts.sample.index = gpu;
        vocabulary::apply(name, value, labels, parts);
    }

    /// Hosts (with why one is down or stale) and GPUs at `now` (Unix seconds). `names` maps
    /// scrape targets to the host names seen behind them, so a target that went down keeps
    /// its name; it learns from this answer.
    pub fn finish(
        mut self,
        now: f64,
        names: &mut HashMap<TargetKey, String>,
    ) -> (Vec<RemoteHost>, Vec<GpuSample>) {
        struct HostParts {
            targets: Vec<TargetKey>,
            newest: Option<f64>,
            gpus: Vec<GpuSample>,
        }
        let mut by_host: BTreeMap<String, HostParts> = BTreeMap::new();
        for (instance, gpus) in std::mem::take(&mut self.gpus) {
            let mut ids = self.identities.remove(&instance).unwrap_or_default();
            for (index, parts) in gpus {
                let id = match ids.iter().position(|(i, _)| *i == index) {
                    Some(at) => ids.swap_remove(at).1,
                    None => Identity { host: instance.clone(), ..Identity::default() },
                };
                let target = (instance.clone(), id.job.clone());
                let host = by_host.entry(id.host.clone()).or_insert_with(|| HostParts {
                    targets: Vec::new(),
                    newest: None,
                    gpus: Vec::new(),
                });
                if !host.targets.contains(&target) {
                    host.targets.push(target.clone());
                }
                if id.newest > 0.0 {
                    host.newest = Some(host.newest.map_or(id.newest, |n| n.max(id.newest)));
                }
                let mut g = finish_gpu(parts, &id.host);
                g.uuid = id.uuid;
                g.name = id.name;
                g.pci_bus_id = id.pci_bus_id;
                g.vendor = id.vendor;
                g.workload = id.workload.and_then(|w| {
                    // Without `exported_pod`, a `pod` equal to the target's own is the exporter's.
                    let own_pod = self.targets.get(&target).and_then(|t| t.pod.as_deref());
                    let w = if own_pod.is_some() && w.pod.as_deref() == own_pod {
                        Workload { job: w.job, ..Workload::default() }
                    } else {
                        w
                    };
                    (w != Workload::default()).then_some(w)
                });
                // Two exporters on one host (gputop's and dcgm-exporter's): each GPU once.
                let duplicate = g.uuid.is_some()
                    && host.gpus.iter().any(|o| o.uuid == g.uuid && o.index == g.index);
                if !duplicate {
                    host.gpus.push(g);
                }
            }
        }
        let mut hosts = Vec::new();
        let mut gpus = Vec::new();
        let mut jobs = std::collections::HashSet::new();
        for (name, mut host) in by_host {
            for target in &host.targets {
                names.insert(target.clone(), name.clone());
                jobs.insert(target.1.clone());
            }
            let interval = host
                .targets
                .iter()
                .filter_map(|t| self.targets.get(t)?.scrapes.filter(|&n| n >= 2.0))
                .map(|n| SCRAPES_WINDOW / (n - 1.0))
                .reduce(f64::max)
                .unwrap_or(DEFAULT_INTERVAL);
            let age = host.newest.map(|t| (now - t).max(0.0));
            // A gputop exporter that answers every scrape with an old sample (a driver call
            // stuck there): as stale as one nobody scrapes.
            let sampled = host
                .targets
                .iter()
                .filter_map(|t| self.targets.get(t)?.last_sample)
                .reduce(f64::max)
                .map(|t| (now - t).max(0.0));
            let stuck = sampled.filter(|a| *a > 3.0 * interval);
            let stale = age.is_some_and(|a| a > 2.0 * interval) || stuck.is_some();
            let url = host.targets.first().map(|t| t.0.clone()).unwrap_or_default();
            hosts.push(RemoteHost {
                error: match stuck {
                    Some(a) => Some(crate::source::stuck_exporter(a)),
                    // `stale` holds here only with an age: the 0 is never shown.
                    None => stale.then(|| {
                        format!("stale: its newest sample is {} old", age_text(age.unwrap_or(0.0)))
                    }),
                },
                age_seconds: age.map(|a| (a * 10.0).round() / 10.0),
                stale,
                ..RemoteHost::up(url, name.clone())
            });
            host.gpus.sort_by(|a, b| (a.index, &a.uuid).cmp(&(b.index, &b.uuid)));
            gpus.append(&mut host.gpus);
        }
        // Targets that are down: those known to have served GPUs, and the others of a job
        // that serves GPUs (a node's exporter in the same scrape job).
        let mut down: Vec<(&TargetKey, &Target)> = self
            .targets
            .iter()
            .filter(|(key, t)| {
                t.up == Some(false) && (names.contains_key(*key) || jobs.contains(&key.1))
            })
            .collect();
        down.sort_by(|a, b| a.0.cmp(b.0));
        for (key, _) in down {
            let name = names.get(key).cloned().unwrap_or_else(|| key.0.clone());
            if hosts.iter().any(|h| h.hostname.as_deref() == Some(name.as_str())) {
                continue;
            }
            let why = format!("target down (up == 0 in job {})", key.1);
            hosts.push(RemoteHost::down(key.0.clone(), Some(name), Some(why)));
        }
        (hosts, gpus)
    }
}

/// Who a GPU is, from its labelled series; `newest`: when it was scraped.
fn identity(labels: &Labels, newest: f64) -> Identity {
    let text = |names: &[&str]| {
        names.iter().find_map(|n| labels.get(n).filter(|v| !v.is_empty())).map(str::to_string)
    };
    let workload = Workload {
        namespace: vocabulary::exporter_label(labels, dcgm::NAMESPACE).map(str::to_string),
        pod: vocabulary::exporter_label(labels, dcgm::POD).map(str::to_string),
        container: vocabulary::exporter_label(labels, dcgm::CONTAINER).map(str::to_string),
        job: vocabulary::exporter_label(labels, dcgm::HPC_JOB).map(str::to_string),
    };
    // Only dcgm-exporter labels GPUs with their pods; gputop's are its processes'. Told by
    // `UUID` (gputop writes `uuid`): both exporters write `hostname` now.
    let from_dcgm = labels.get(dcgm::UUID).is_some();
    Identity {
        host: host_name(labels).to_string(),
        job: labels.get("job").unwrap_or("").to_string(),
        uuid: text(&[gputop::UUID, dcgm::UUID]),
        name: text(&[gputop::NAME, dcgm::MODEL_NAME]),
        pci_bus_id: text(&[dcgm::PCI_BUS_ID]),
        vendor: vendor(labels),
        workload: (from_dcgm && workload != Workload::default()).then_some(workload),
        newest,
    }
}

/// Who made the GPU, from gputop's `vendor` label. dcgm-exporter's series and those of a
/// gputop from before AMD and Intel GPUs have none: those are NVIDIA's, as is a vendor this
/// gputop does not know (its GPU's other values are read all the same).
fn vendor(labels: &Labels) -> Vendor {
    labels.get(gputop::VENDOR).and_then(Vendor::from_key).unwrap_or_default()
}

const MIB: f64 = 1024.0 * 1024.0;

fn finish_gpu(parts: GpuParts, host: &str) -> GpuSample {
    let mut g = parts.sample;
    g.host = Some(host.to_string());
    let m = &mut g.memory;
    if m.used_bytes.is_none() {
        m.used_bytes = parts.fb_used.map(|v| (v * MIB) as u64);
    }
    if m.free_bytes.is_none() {
        m.free_bytes = parts.fb_free.map(|v| (v * MIB) as u64);
    }
    if m.reserved_bytes.is_none() {
        m.reserved_bytes = parts.fb_reserved.map(|v| (v * MIB) as u64);
    }
    if m.total_bytes.is_none() {
        m.total_bytes = parts.fb_total.map(|v| (v * MIB) as u64).or_else(|| {
            let (used, free) = (parts.fb_used?, parts.fb_free?);
            // Exporters without FB_RESERVED (dcgm-exporter before it existed) split the
            // memory into used and free alone: their sum is the whole they report.
            Some(((used + free + parts.fb_reserved.unwrap_or(0.0)) * MIB) as u64)
        });
    }
    g.processes = if !parts.processes.is_empty() {
        let mut list = parts.processes;
        list.sort_by_key(|p| p.pid);
        Some(list)
    } else if parts.process_count == Some(0.0) {
        Some(Vec::new())
    } else {
        None
    };
    if g.status != crate::sample::GpuStatus::Ok {
        return g;
    }
    let not_exported = Missing { reason: MissingReason::NotExported, nvml_code: None };
    let absent = [
        (FieldKey::Utilization, g.utilization.gpu_percent.is_none()),
        (FieldKey::Memory, g.memory.used_bytes.is_none()),
        (FieldKey::Temperature, g.temperature.gpu_celsius.is_none()),
        (FieldKey::Power, g.power.draw_watts.is_none()),
        (FieldKey::FanPercent, g.fan_percent.is_none()),
        (FieldKey::Processes, g.processes.is_none()),
    ];
    for (key, _) in absent.into_iter().filter(|(_, absent)| *absent) {
        g.missing.insert(key, not_exported);
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::prometheus::client;

    fn assemble(body: &str, now: f64) -> (Vec<RemoteHost>, Vec<GpuSample>) {
        let mut assembly = Assembly::default();
        for sample in client::vector(body).unwrap() {
            assembly.add(&sample);
        }
        assembly.finish(now, &mut HashMap::new())
    }

    fn series(labels: &str, value: &str) -> String {
        format!(r#"{{"metric":{{{labels}}},"value":[1000,"{value}"]}}"#)
    }

    fn answer(series: &[String]) -> String {
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
            series.join(",")
        )
    }

    #[test]
    fn both_vocabularies_make_one_gpu_each() {
        let gputop = r#""instance":"a:9835","job":"gpu","hostname":"a","gpu":"0","uuid":"GPU-1","name":"MI300X","vendor":"amd""#;
        let dcgm = r#""instance":"b:9400","job":"dcgm","Hostname":"b","gpu":"0","UUID":"GPU-2","modelName":"A100","exported_pod":"train-0","exported_namespace":"ml","pod":"dcgm-exporter-x""#;
        // The values come grouped to instance and GPU; one labelled series per GPU.
        let (a, b) = (r#""instance":"a:9835","gpu":"0""#, r#""instance":"b:9400","gpu":"0""#);
        let body = answer(&[
            series(&format!(r#""__name__":"gputop_gpu_utilization_ratio",{a}"#), "0.5"),
            series(&format!(r#""__name__":"gputop_gpu_memory_used_bytes",{a}"#), "1024"),
            series(&format!(r#""__name__":"gputop_gpu_processes",{a}"#), "0"),
            series(&format!(r#""__name__":"DCGM_FI_DEV_GPU_UTIL",{b}"#), "75"),
            series(&format!(r#""__name__":"DCGM_FI_DEV_FB_USED",{b}"#), "2"),
            series(&format!(r#""__name__":"DCGM_FI_DEV_FB_FREE",{b}"#), "6"),
            series(&format!(r#""gputop_kind":"timestamp",{gputop}"#), "995"),
            series(&format!(r#""gputop_kind":"timestamp",{dcgm}"#), "990"),
            series(
                r#""__name__":"up","instance":"b:9400","job":"dcgm","pod":"dcgm-exporter-x""#,
                "1",
            ),
            series(r#""__name__":"up","instance":"c:9400","job":"dcgm""#, "0"),
            series(r#""__name__":"up","instance":"prom:9090","job":"prometheus""#, "0"),
        ]);
        let (hosts, gpus) = assemble(&body, 1000.0);
        assert_eq!(gpus.len(), 2);
        let a = &gpus[0];
        assert_eq!((a.host.as_deref(), a.name.as_deref()), (Some("a"), Some("MI300X")));
        // gputop's `vendor` label; dcgm-exporter's GPUs (no such label) are NVIDIA's.
        assert_eq!((a.vendor, gpus[1].vendor), (Vendor::Amd, Vendor::Nvidia));
        assert_eq!(a.utilization.gpu_percent, Some(50));
        assert_eq!(a.processes, Some(Vec::new()));
        assert_eq!(a.temperature.gpu_celsius, None);
        assert_eq!(a.missing[FieldKey::Temperature].reason, MissingReason::NotExported);
        let b = &gpus[1];
        assert_eq!(b.utilization.gpu_percent, Some(75));
        assert_eq!(b.memory.used_bytes, Some(2 << 20));
        assert_eq!(b.memory.total_bytes, Some(8 << 20));
        assert_eq!(b.processes, None);
        let w = b.workload.as_ref().unwrap();
        assert_eq!((w.pod.as_deref(), w.namespace.as_deref()), (Some("train-0"), Some("ml")));
        // Host b is dated; c is down in a GPU job; Prometheus's own target is not a GPU host.
        assert_eq!(hosts.len(), 3, "{hosts:?}");
        assert_eq!(hosts[1].age_seconds, Some(10.0));
        assert!(!hosts[1].stale);
        assert_eq!((hosts[2].hostname.as_deref(), hosts[2].up), (Some("c:9400"), false));
    }

    #[test]
    fn a_host_whose_data_stopped_moving_is_stale() {
        let l = r#""instance":"a:1","job":"j","hostname":"a","gpu":"0","uuid":"GPU-1""#;
        let body = answer(&[
            series(r#""__name__":"gputop_gpu_up","instance":"a:1","gpu":"0""#, "1"),
            series(&format!(r#""gputop_kind":"timestamp",{l}"#), "700"),
            series(r#""gputop_kind":"scrapes","instance":"a:1","job":"j""#, "9"),
        ]);
        let (hosts, _) = assemble(&body, 1000.0);
        // 9 scrapes in 120 s: every 15 s; 300 s old is stale.
        assert!(hosts[0].stale && hosts[0].up);
        assert_eq!(hosts[0].error.as_deref(), Some("stale: its newest sample is 5 min old"));
    }

    #[test]
    fn an_exporter_whose_sampling_is_stuck_is_stale_though_its_scrapes_are_fresh() {
        let l = r#""instance":"a:1","job":"j","hostname":"a","gpu":"0","uuid":"GPU-1""#;
        let body = |last_sample: &str| {
            answer(&[
                series(r#""__name__":"gputop_gpu_up","instance":"a:1","gpu":"0""#, "1"),
                series(&format!(r#""gputop_kind":"timestamp",{l}"#), "995"),
                series(r#""gputop_kind":"scrapes","instance":"a:1","job":"j""#, "9"),
                series(r#""gputop_kind":"last_sample","instance":"a:1","job":"j""#, last_sample),
            ])
        };
        // Scraped 5 s ago, every 15 s; its last complete sample 10 min before that.
        let (hosts, _) = assemble(&body("400"), 1000.0);
        assert!(hosts[0].stale && hosts[0].up, "{hosts:?}");
        assert_eq!(
            hosts[0].error.as_deref(),
            Some(
                "stale: its exporter has had no complete sample for 10 min (a stuck driver call?)"
            )
        );
        let (hosts, _) = assemble(&body("999"), 1000.0);
        assert!(!hosts[0].stale, "{hosts:?}");
    }

    /// One GPU's series labelled `labels` (with instance i:1 and gpu 0), assembled.
    fn one_gpu(metric: &str, labels: &str) -> (Vec<RemoteHost>, Vec<GpuSample>) {
        let l = format!(r#""instance":"i:1","job":"j","gpu":"0",{labels}"#);
        let body = answer(&[
            series(&format!(r#""__name__":"{metric}","instance":"i:1","gpu":"0""#), "1"),
            series(&format!(r#""gputop_kind":"timestamp",{l}"#), "999"),
        ]);
        assemble(&body, 1000.0)
    }

    #[test]
    fn dcgm_exporters_host_is_read_in_both_spellings_and_their_exported_forms() {
        for (label, host) in [
            (r#""hostname":"new""#, "new"),
            (r#""Hostname":"old""#, "old"),
            (r#""exported_hostname":"new","hostname":"sd""#, "new"),
            (r#""exported_Hostname":"old","Hostname":"sd""#, "old"),
        ] {
            let labels = format!(r#""UUID":"GPU-2","pci_bus_id":"00000000:17:00.0",{label}"#);
            let (hosts, gpus) = one_gpu("DCGM_FI_DEV_GPU_UTIL", &labels);
            assert_eq!(gpus[0].host.as_deref(), Some(host), "{label}");
            assert_eq!(hosts[0].hostname.as_deref(), Some(host), "{label}");
            assert_eq!(gpus[0].pci_bus_id.as_deref(), Some("00000000:17:00.0"));
        }
    }

    #[test]
    fn gputops_series_are_not_taken_for_dcgms_nor_dcgms_for_gputops() {
        // Both write `hostname` now: only dcgm-exporter's `UUID` says a series is its, and only
        // its series name a GPU's workload (a `pod` on gputop's series is the target's).
        let gputop = r#""hostname":"a","uuid":"GPU-1","pod":"gputop-x","namespace":"mon""#;
        let (_, gpus) = one_gpu("gputop_gpu_utilization_ratio", gputop);
        assert_eq!((gpus[0].host.as_deref(), gpus[0].workload.as_ref()), (Some("a"), None));
        let dcgm =
            r#""hostname":"b","UUID":"GPU-2","exported_pod":"train-0","exported_namespace":"ml""#;
        let (_, gpus) = one_gpu("DCGM_FI_DEV_GPU_UTIL", dcgm);
        let w = gpus[0].workload.as_ref().expect("dcgm-exporter's pod is a workload");
        assert_eq!((w.pod.as_deref(), w.namespace.as_deref()), (Some("train-0"), Some("ml")));
        assert_eq!(gpus[0].uuid.as_deref(), Some("GPU-2"));
    }

    #[test]
    fn the_exporters_own_pod_is_not_a_workload() {
        let l = r#""instance":"b:1","job":"dcgm","Hostname":"b","gpu":"0","UUID":"GPU-2","pod":"dcgm-exporter-x","namespace":"gpu-operator""#;
        let body = answer(&[
            series(r#""__name__":"DCGM_FI_DEV_GPU_UTIL","instance":"b:1","gpu":"0""#, "1"),
            series(&format!(r#""gputop_kind":"timestamp",{l}"#), "999"),
            series(r#""__name__":"up","instance":"b:1","job":"dcgm","pod":"dcgm-exporter-x""#, "1"),
        ]);
        let (_, gpus) = assemble(&body, 1000.0);
        assert_eq!(gpus[0].workload, None);
    }
}
