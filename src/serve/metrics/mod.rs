//! A snapshot as Prometheus metrics (encoded by `prometheus-client`, OpenMetrics text, which
//! Prometheus and the classic text parser both read): gputop's own names by Prometheus
//! conventions, or NVIDIA dcgm-exporter's names and labels so existing dashboards keep working.
//! A value NVML cannot give is left out, never exported as 0.

mod builder;
mod classic;
mod dcgm;
mod freshness;
mod gpu;
mod health;
mod processes;

use prometheus_client::encoding::text::encode;

use crate::sample::Snapshot;

pub use classic::classic_text;
pub use freshness::Freshness;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    Gputop,
    Dcgm,
}

pub struct MetricsOptions {
    pub naming: Naming,
    /// Per-process GPU memory, with `pid`, `user` and `command` labels (high cardinality).
    pub processes: bool,
}

/// A snapshot's metrics under the naming asked for, then the exporter's freshness, as
/// OpenMetrics text.
pub fn render(snapshot: &Snapshot, opts: &MetricsOptions, freshness: &Freshness) -> String {
    let mut b = builder::Builder::default();
    match opts.naming {
        Naming::Gputop => gpu::families(&mut b, snapshot, opts),
        Naming::Dcgm => dcgm::families(&mut b, snapshot, opts),
    }
    freshness::families(&mut b, snapshot, freshness);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = encode(&mut out, &b.registry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Details;

    #[test]
    fn an_unknown_process_list_has_no_count() {
        let mut s = snapshot();
        s.gpus[2].processes = None;
        let text = render(
            &s,
            &MetricsOptions { naming: Naming::Gputop, processes: false },
            &Freshness::default(),
        );
        let count = |gpu: &str| {
            text.lines().any(|l| {
                l.starts_with("gputop_gpu_processes{") && l.contains(&format!("gpu=\"{gpu}\""))
            })
        };
        assert!(count("0") && !count("2"), "{text}");
    }

    #[test]
    fn memory_and_link_health_under_both_namings() {
        let mut s = snapshot();
        s.gpus[0].details = Some(Box::new(Details {
            pcie_link_width_current: Some(8),
            pcie_link_width_max: Some(16),
            remapped_rows: Some(crate::sample::RemappedRows {
                correctable: 2,
                uncorrectable: 1,
                pending: true,
                failed: false,
            }),
            ..Details::default()
        }));
        let ours = render(
            &s,
            &MetricsOptions { naming: Naming::Gputop, processes: false },
            &Freshness::default(),
        );
        let line = |text: &str, name: &str| -> Option<String> {
            text.lines()
                .find(|l| l.starts_with(&format!("{name}{{")) && l.contains("gpu=\"0\""))
                .map(String::from)
        };
        assert!(line(&ours, "gputop_gpu_pcie_link_width").unwrap().ends_with(" 8.0"));
        assert!(line(&ours, "gputop_gpu_remapped_rows_pending").unwrap().ends_with(" 1.0"));
        assert!(ours.contains("kind=\"uncorrectable\"} 1.0"), "{ours}");
        assert!(line(&ours, "gputop_gpu_retired_pages_pending").is_none(), "unknown is absent");
        let dcgm = render(
            &s,
            &MetricsOptions { naming: Naming::Dcgm, processes: false },
            &Freshness::default(),
        );
        assert!(line(&dcgm, "DCGM_FI_DEV_ROW_REMAP_PENDING").unwrap().ends_with(" 1.0"));
        assert!(line(&dcgm, "DCGM_FI_DEV_PCIE_MAX_LINK_WIDTH").unwrap().ends_with(" 16.0"));
        assert!(line(&dcgm, "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS").unwrap().ends_with(" 2.0"));
    }

    #[test]
    fn the_classic_text_names_counters_by_their_samples_and_has_no_eof() {
        let open = render(
            &snapshot(),
            &MetricsOptions { naming: Naming::Gputop, processes: false },
            &Freshness::default(),
        );
        assert!(open.ends_with("# EOF\n"));
        let classic = classic_text(&open);
        assert!(!classic.contains("# EOF"));
        assert!(classic.contains("# TYPE gputop_gpu_energy_joules_total counter\n"), "{classic}");
        assert!(classic.contains("# HELP gputop_gpu_energy_joules_total Energy"), "{classic}");
        assert!(classic.lines().any(|l| l.starts_with("gputop_gpu_energy_joules_total{")));
        assert!(classic.contains("# TYPE gputop_gpu_up gauge\n"));
    }
    use crate::scenario::Scenario;
    use crate::source::SimSource;

    fn snapshot() -> Snapshot {
        let mut s = Scenario::demo(3);
        s.gpus[1].lost = true;
        SimSource::new(s, &[]).unwrap().sample_at(1_000.0)
    }

    #[test]
    fn gputop_names_follow_prometheus_conventions() {
        let text = render(
            &snapshot(),
            &MetricsOptions { naming: Naming::Gputop, processes: false },
            &Freshness::default(),
        );
        assert!(text.contains("# TYPE gputop_gpu_utilization_ratio gauge"), "{text}");
        assert!(text.contains("# HELP gputop_gpu_memory_used_bytes GPU memory in use"));
        assert!(
            text.contains(
                "gputop_gpu_up{gpu=\"1\",uuid=\"\",name=\"\",hostname=\"demo\",vendor=\"nvidia\"} 0"
            ),
            "{text}"
        );
        assert!(text.contains("# TYPE gputop_gpu_energy_joules counter"));
        assert!(
            text.contains("gputop_gpu_throttle_reasons{")
                && text.contains("reason=\"sw_power_cap\"} 1")
        );
        assert!(!text.contains("gputop_process_gpu_memory_bytes"), "processes only when asked");
        // The H100 has no fan: the series is absent, not 0.
        assert!(
            !text.lines().any(|l| l.starts_with("gputop_gpu_fan_speed_ratio{gpu=\"0\"")),
            "{text}"
        );
    }

    #[test]
    fn each_gpu_says_who_made_it_and_dcgm_names_are_for_nvidia_alone() {
        let mut s = snapshot();
        s.gpus[2].vendor = crate::sample::Vendor::Amd;
        let gputop_names = MetricsOptions { naming: Naming::Gputop, processes: false };
        let text = render(&s, &gputop_names, &Freshness::default());
        let up = |text: &str, gpu: &str| -> Option<String> {
            let prefix = format!("gputop_gpu_up{{gpu=\"{gpu}\"");
            text.lines().find(|l| l.starts_with(&prefix)).map(String::from)
        };
        assert!(up(&text, "0").unwrap().contains(",vendor=\"nvidia\"}"), "{text}");
        assert!(up(&text, "2").unwrap().contains(",vendor=\"amd\"}"), "{text}");
        // dcgm-exporter's names for the NVIDIA GPUs; the AMD one under gputop's, not dropped
        // and not dressed up as `nvidia2`.
        let dcgm_names = MetricsOptions { naming: Naming::Dcgm, processes: false };
        let text = render(&s, &dcgm_names, &Freshness::default());
        let dcgm = |gpu: &str| {
            text.lines().any(|l| l.starts_with(&format!("DCGM_FI_DEV_GPU_UTIL{{gpu=\"{gpu}\"")))
        };
        assert!(dcgm("0") && !dcgm("2"), "{text}");
        assert!(!text.contains("device=\"nvidia2\""), "{text}");
        assert!(up(&text, "2").unwrap().contains(",vendor=\"amd\"}"), "{text}");
        let amd_util = "gputop_gpu_utilization_ratio{gpu=\"2\"";
        assert!(text.lines().any(|l| l.starts_with(amd_util)), "{text}");
        assert!(up(&text, "0").is_none(), "an NVIDIA GPU only under dcgm-exporter's names");
    }

    #[test]
    fn process_metrics_when_asked() {
        let text = render(
            &snapshot(),
            &MetricsOptions { naming: Naming::Gputop, processes: true },
            &Freshness::default(),
        );
        assert!(
            text.contains("gputop_process_gpu_memory_bytes{") && text.contains("pid=\"4000\""),
            "{text}"
        );
        // The demo's first job runs under Slurm: where it runs is in its labels.
        assert!(text.contains("container=\"\",pod=\"\",namespace=\"\",job=\"4242\""), "{text}");
        // A process that names itself with escape sequences reaches no terminal raw.
        let mut s = snapshot();
        let p = &mut s.gpus[0].processes.as_mut().unwrap()[0];
        p.name = Some("evil\x1b]0;pwned\x07".into());
        p.user = Some("mal\x1b[31mlory".into());
        let opts = MetricsOptions { naming: Naming::Gputop, processes: true };
        let text = render(&s, &opts, &Freshness::default());
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    }

    #[test]
    fn dcgm_names_and_labels() {
        let text = render(
            &snapshot(),
            &MetricsOptions { naming: Naming::Dcgm, processes: false },
            &Freshness::default(),
        );
        assert!(text.contains("DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-"), "{text}");
        // dcgm-exporter's current labels: pci_bus_id after the UUID, `hostname` in lower case.
        assert!(text.contains("\",pci_bus_id=\"00000000:01:00.0\",device=\"nvidia0\","), "{text}");
        assert!(text.contains("modelName=\"NVIDIA H100 80GB HBM3\",hostname=\"demo\""));
        assert!(!text.contains("Hostname="));
        assert!(text.contains("# TYPE DCGM_FI_DEV_FB_USED gauge"));
    }
}
