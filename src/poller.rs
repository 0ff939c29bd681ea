//! The async poller: samples on a fixed schedule and publishes owned snapshots.
//!
//! NVML calls block, so each sample runs on tokio's blocking pool; the consumer only ever
//! reads the latest published snapshot, so a slow or hung NVML call makes the data stale
//! (visible by its `taken_at`) but never blocks the consumer. Sample N is due at
//! start + N × interval; a late sample delays itself, not the schedule.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{self, Instant, MissedTickBehavior};

use crate::sample::Snapshot;
use crate::source::{Source, SourceError};

/// What the poller publishes: the newest snapshot, or why the newest sample failed.
pub type Polled = Result<Arc<Snapshot>, Arc<SourceError>>;

pub struct Poller {
    pub updates: watch::Receiver<Option<Polled>>,
    task: JoinHandle<()>,
}

impl Poller {
    /// Starts sampling `source` every `interval`, the first sample at once. Must be called
    /// inside a tokio runtime.
    pub fn spawn(source: Box<dyn Source>, interval: Duration) -> Self {
        let (tx, updates) = watch::channel(None);
        let task = tokio::spawn(run(source, interval, tx));
        Self { updates, task }
    }
}

impl Poller {
    /// The next published result; `None` once the sampler has stopped.
    pub async fn next(&mut self) -> Option<Polled> {
        loop {
            self.updates.changed().await.ok()?;
            if let Some(polled) = self.updates.borrow_and_update().clone() {
                return Some(polled);
            }
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(mut source: Box<dyn Source>, interval: Duration, tx: watch::Sender<Option<Polled>>) {
    let mut ticks = time::interval_at(Instant::now(), interval);
    // Skip: after a stall, resume on the original grid instead of firing a burst.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        ticks.tick().await;
        let joined = tokio::task::spawn_blocking(move || {
            let result = source.sample();
            (source, result)
        })
        .await;
        let Ok((returned, result)) = joined else {
            return;
        }; // the sampler panicked
        source = returned;
        let polled = result.map(Arc::new).map_err(Arc::new);
        if tx.send(Some(polled)).is_err() {
            return; // nobody listens any more
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;
    use crate::source::SimSource;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        inner: SimSource,
        calls: Arc<AtomicUsize>,
        delay: Duration,
    }

    impl Source for Counting {
        fn sample(&mut self) -> Result<Snapshot, SourceError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(self.delay);
            self.inner.sample()
        }
    }

    fn counting(delay: Duration) -> (Box<dyn Source>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let inner = SimSource::new(Scenario::demo(2), &[]).unwrap();
        (Box::new(Counting { inner, calls: calls.clone(), delay }), calls)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn publishes_successive_snapshots() {
        let (source, calls) = counting(Duration::ZERO);
        let mut poller = Poller::spawn(source, Duration::from_millis(10));
        for _ in 0..3 {
            poller.updates.changed().await.unwrap();
            let latest = poller.updates.borrow_and_update().clone().unwrap().unwrap();
            assert_eq!(latest.gpus.len(), 2);
        }
        assert!(calls.load(Ordering::SeqCst) >= 3);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_hung_source_does_not_block_the_consumer() {
        // The runtime waits for blocking work at shutdown, so "hung" is kept short here.
        let (source, _) = counting(Duration::from_millis(500));
        let poller = Poller::spawn(source, Duration::from_millis(10));
        // The consumer reads at once; there is simply nothing yet.
        let started = std::time::Instant::now();
        assert!(poller.updates.borrow().is_none());
        assert!(started.elapsed() < Duration::from_millis(100));
    }
}
