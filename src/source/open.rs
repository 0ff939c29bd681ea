//! The one way to open a source: a [`SourcePlan`] (what the command line, `serve` or the Python
//! module resolved: the backend, the GPUs, what to sample, the wrappers) into a [`Source`].
//! A new backend is a new [`Backend`] and its arm in [`open`].

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::prometheus::{Connection, PrometheusSource};
use super::remote::{Endpoint, RemoteSource};
use super::replay::ReplaySource;
use super::{
    DemoFleet, DetailLevel, GpuSelector, PlacementFilter, SampleOptions, SimSource, Source,
    SourceError, WithHostUsage,
};
use crate::playhead::SharedPlayhead;
use crate::text::time::Moment;
use crate::Error;

/// Everything needed to open a source, resolved: files named on the command line already read.
#[derive(Debug, Clone)]
pub struct SourcePlan {
    pub backend: Backend,
    /// `--id`: only these GPUs (of this machine, or of the recording).
    pub ids: Vec<GpuSelector>,
    /// What the mode needs sampled.
    pub options: SampleOptions,
    /// `--container` / `--pod`: only those GPU processes.
    pub placement: Placement,
    /// Fill each snapshot's host CPU and memory use on the sampling thread (what `serve`
    /// exports, and the monitor's header shows).
    pub host_usage: bool,
}

/// Where samples come from.
#[derive(Debug, Clone)]
pub enum Backend {
    /// This machine's GPUs, or the simulated ones.
    Local(SourceSpec),
    /// `--remote` / `--hosts`: `gputop serve` endpoints; `local` adds this machine.
    Remote { endpoints: Vec<Endpoint>, local: Option<SourceSpec> },
    /// `--prometheus`: the fleet a Prometheus server has metrics of.
    Prometheus { connection: Connection, selector: Option<String> },
    /// `--replay`: a recording played back; `stop_at_end` ends with it (`--watch`) instead of
    /// staying on its newest sample (the monitor).
    Replay { path: PathBuf, at: Option<Moment>, stop_at_end: bool },
}

/// How to open this machine's source: NVML or the demo fleet.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    Nvml { library: Option<PathBuf>, host_proc: Option<PathBuf> },
    Demo(DemoFleet),
}

/// `--container ID` and `--pod NAME`; `quiet`: a sample matching nothing is not said on stderr
/// (the monitor's screen), only remembered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    pub container: Option<String>,
    pub pod: Option<String>,
    pub quiet: bool,
}

/// An opened source, and what its frontend watches beside the samples.
pub struct Opened {
    pub source: Box<dyn Source>,
    /// Set once a sample had no process of `--container`/`--pod` (`--once` exits 1 then).
    pub matched_nothing: Arc<AtomicBool>,
    /// `--replay`'s playhead, for the monitor to show and steer.
    pub playhead: Option<SharedPlayhead>,
}

impl SourcePlan {
    /// This machine's GPUs (or the demo's), all of them, nothing wrapped.
    pub fn local(spec: SourceSpec, ids: Vec<GpuSelector>, options: SampleOptions) -> Self {
        Self {
            backend: Backend::Local(spec),
            ids,
            options,
            placement: Placement::default(),
            host_usage: false,
        }
    }
}

/// Opens the backend of `plan` with its wrappers: the placement filter, then host usage.
pub fn open(plan: &SourcePlan) -> Result<Opened, Error> {
    let mut playhead = None;
    let source: Box<dyn Source> = match &plan.backend {
        Backend::Local(spec) => spec.open(&plan.ids, plan.options)?,
        Backend::Remote { endpoints, local } => {
            // No driver here is one host down, not the end of the command.
            let local = local
                .as_ref()
                .map(|spec| spec.open(&plan.ids, plan.options).map_err(|e| e.to_string()));
            Box::new(RemoteSource::new(endpoints.clone(), local).map_err(Error::Usage)?)
        }
        Backend::Prometheus { connection, selector } => {
            Box::new(PrometheusSource::new(connection, selector.as_deref()).map_err(Error::Usage)?)
        }
        Backend::Replay { path, at, stop_at_end } => {
            let replay = ReplaySource::open(path, *at, &plan.ids)?;
            let replay = if *stop_at_end { replay.stop_at_end() } else { replay };
            playhead = Some(replay.playhead());
            Box::new(replay)
        }
    };
    let (source, matched_nothing) = wrap(source, plan);
    Ok(Opened { source, matched_nothing, playhead })
}

/// The wrappers `plan` asks for around a backend: the placement filter, then host usage.
/// Each passes on what the backend keeps (its recent utilization, its past).
fn wrap(source: Box<dyn Source>, plan: &SourcePlan) -> (Box<dyn Source>, Arc<AtomicBool>) {
    let p = &plan.placement;
    let (source, matched_nothing) =
        PlacementFilter::wrap(source, p.container.clone(), p.pod.clone(), p.quiet);
    let source = if plan.host_usage { WithHostUsage::wrap(source) } else { source };
    (source, matched_nothing)
}

impl SourceSpec {
    pub fn open(
        &self,
        selection: &[GpuSelector],
        options: SampleOptions,
    ) -> Result<Box<dyn Source>, SourceError> {
        Ok(match self {
            Self::Nvml { library, host_proc } => {
                super::local::open(library.as_deref(), host_proc.clone(), selection, options)?
            }
            Self::Demo(fleet) => {
                let sim = SimSource::open(fleet, selection)?
                    .with_details(options.details != DetailLevel::None);
                Box::new(sim.with_activity(options.continuous).with_events(options.continuous))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo(n: usize) -> SourcePlan {
        let spec = SourceSpec::Demo(DemoFleet::gpus(n).unwrap());
        SourcePlan::local(spec, Vec::new(), SampleOptions::one_shot())
    }

    #[test]
    fn host_usage_is_filled_only_when_asked() {
        let mut plain = open(&demo(2)).unwrap();
        assert_eq!(plain.source.sample().unwrap().host.memory_total_bytes, None);
        let mut with = open(&SourcePlan { host_usage: true, ..demo(2) }).unwrap();
        assert!(with.source.sample().unwrap().host.memory_total_bytes.is_some(), "/proc/meminfo");
    }

    /// A backend that keeps history, as Prometheus and a recording do.
    struct Keeping;

    impl Source for Keeping {
        fn sample(&mut self) -> Result<crate::sample::Snapshot, SourceError> {
            Err(SourceError::EndOfRecording)
        }
        fn recent_utilization(
            &mut self,
            _: std::time::Duration,
        ) -> Vec<Option<super::super::RecentUtilization>> {
            vec![Some(super::super::RecentUtilization { mean: 5.0, max: 9 })]
        }
        fn past(
            &mut self,
            _: std::time::Duration,
            _: std::time::Duration,
        ) -> Vec<crate::sample::PastGpu> {
            vec![crate::sample::PastGpu { index: 7, ..Default::default() }]
        }
    }

    #[test]
    fn the_wrappers_pass_on_what_the_backend_keeps() {
        let placement = Placement { container: Some("c".into()), pod: None, quiet: true };
        let plan = SourcePlan { placement, host_usage: true, ..demo(1) };
        let (mut wrapped, _) = wrap(Box::new(Keeping), &plan);
        let second = std::time::Duration::from_secs(1);
        assert_eq!(wrapped.past(second, second).len(), 1, "the monitor's charts start from it");
        assert_eq!(wrapped.recent_utilization(second).len(), 1, "select and wait judge by it");
    }

    #[test]
    fn a_placement_filter_remembers_a_sample_that_matched_nothing() {
        let placement =
            Placement { container: Some("no-such-container".into()), pod: None, quiet: true };
        let mut opened = open(&SourcePlan { placement, ..demo(1) }).unwrap();
        let snapshot = opened.source.sample().unwrap();
        assert!(snapshot.gpus.iter().all(|g| g.processes.as_ref().is_none_or(Vec::is_empty)));
        assert!(opened.matched_nothing.load(std::sync::atomic::Ordering::Relaxed));
        assert!(opened.playhead.is_none());
    }
}
