//! `--container ID` and `--pod NAME`: only the GPU processes running there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{Source, SourceError};
use crate::sample::{GpuProcess, Snapshot};

pub struct PlacementFilter {
    inner: Box<dyn Source>,
    container: Option<String>,
    pod: Option<String>,
    /// Set once a sample had no process of the container or pod: said on stderr then, once,
    /// unless `quiet` (the monitor's screen).
    matched_nothing: Arc<AtomicBool>,
    quiet: bool,
}

impl PlacementFilter {
    /// Wraps `inner` when a filter is asked for; the flag is set once a sample found no
    /// process of the container or pod (`--once` exits 1 then).
    pub fn wrap(
        inner: Box<dyn Source>,
        container: Option<String>,
        pod: Option<String>,
        quiet: bool,
    ) -> (Box<dyn Source>, Arc<AtomicBool>) {
        let matched_nothing = Arc::new(AtomicBool::new(false));
        if container.is_none() && pod.is_none() {
            return (inner, matched_nothing);
        }
        let filter =
            Self { inner, container, pod, matched_nothing: matched_nothing.clone(), quiet };
        (Box::new(filter), matched_nothing)
    }

    /// `--container X` / `--pod X`, as typed (made safe for the terminal).
    fn asked(&self) -> String {
        let flag = |name: &str, v: &Option<String>| {
            v.as_deref().map(|v| format!("--{name} {}", crate::text::sanitize::sanitize(v)))
        };
        [flag("container", &self.container), flag("pod", &self.pod)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn keeps(&self, p: &GpuProcess) -> bool {
        let Some(pl) = &p.placement else { return false };
        let container_ok = self.container.as_deref().is_none_or(|want| {
            // A short id, a full id, or the runtime:id label.
            let want = want.rsplit(':').next().unwrap_or(want);
            pl.container_id
                .as_deref()
                .is_some_and(|id| want.starts_with(id) || id.starts_with(want))
        });
        let pod_ok = self.pod.as_deref().is_none_or(|want| {
            pl.pod_name.as_deref() == Some(want)
                || pl.pod_uid.as_deref().is_some_and(|uid| uid.starts_with(want))
        });
        container_ok && pod_ok
    }
}

impl Source for PlacementFilter {
    fn sample(&mut self) -> Result<Snapshot, SourceError> {
        let mut snapshot = self.inner.sample()?;
        let mut kept = 0;
        for processes in snapshot.gpus.iter_mut().filter_map(|g| g.processes.as_mut()) {
            processes.retain(|p| self.keeps(p));
            kept += processes.len();
        }
        // A GPU whose processes could not be listed may hold a match: nothing can be said.
        let unknown = snapshot.gpus.iter().any(|g| g.processes.is_none());
        if kept == 0
            && !unknown
            && !self.matched_nothing.swap(true, Ordering::Relaxed)
            && !self.quiet
        {
            eprintln!(
                "gputop: no GPU process matches {}: the GPUs are shown without processes",
                self.asked()
            );
        }
        Ok(snapshot)
    }

    fn wrapped(&mut self) -> Option<&mut dyn Source> {
        Some(self.inner.as_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::ProcessKind;
    use crate::source::placement::Placement;

    fn with(placement: Option<Placement>) -> GpuProcess {
        let mut p = GpuProcess::new(1, ProcessKind::Compute, None);
        p.placement = placement;
        p
    }

    fn filter(container: Option<&str>, pod: Option<&str>) -> PlacementFilter {
        let inner = Box::new(
            crate::source::SimSource::new(crate::scenario::Scenario::demo(1), &[]).unwrap(),
        );
        PlacementFilter {
            inner,
            container: container.map(String::from),
            pod: pod.map(String::from),
            matched_nothing: Arc::default(),
            quiet: true,
        }
    }

    #[test]
    fn matches_containers_by_short_or_full_id_and_pods_by_name_or_uid() {
        let p = with(Some(Placement {
            runtime: Some("docker".into()),
            container_id: Some("3f4e8c1a2b9d".into()),
            pod_uid: Some("8a1b2c3d-4e5f".into()),
            pod_name: Some("trainer-0".into()),
            ..Placement::default()
        }));
        assert!(filter(Some("3f4e8c1a2b9d"), None).keeps(&p));
        assert!(filter(Some("3f4e8c1a2b9d7e6f5a4b"), None).keeps(&p));
        assert!(filter(Some("docker:3f4e"), None).keeps(&p));
        assert!(!filter(Some("ffff"), None).keeps(&p));
        assert!(filter(None, Some("trainer-0")).keeps(&p));
        assert!(filter(None, Some("8a1b")).keeps(&p));
        assert!(!filter(None, Some("other")).keeps(&p));
        assert!(
            !filter(Some("3f4e"), None).keeps(&with(None)),
            "host processes are not in a container"
        );
    }
}
