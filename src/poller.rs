//! The poller: samples on a fixed schedule and publishes owned snapshots to async consumers.
//!
//! NVML calls block, so sampling runs on a thread of its own; the consumer only ever reads the
//! latest published snapshot, so a slow or hung NVML call makes the data stale (visible by its
//! `taken_at`) but never blocks the consumer. Sample N is due at start + N × interval; a late
//! sample delays itself, not the schedule; a wake (a replay told to move) samples at once and
//! restarts the schedule from there. The consumer's runtime wakes once per sample (a
//! timer and a blocking-pool task on it woke it three times).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::sample::{PastGpu, Snapshot};
use crate::source::{Source, SourceError};

/// What the poller publishes: the newest snapshot, or why the newest sample failed.
pub type Polled = Result<Arc<Snapshot>, Arc<SourceError>>;

pub struct Poller {
    pub updates: watch::Receiver<Option<Polled>>,
    /// Asks for a sample now, off the schedule (a replay that was told to seek); `None` for a
    /// poller nothing wakes, which simply sleeps between samples.
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    /// What the GPUs did over the charts' window before the first sample, from a source that
    /// keeps history; sent once, after the first sample (which is shown first).
    pub past: Option<oneshot::Receiver<Vec<PastGpu>>>,
}

impl Poller {
    /// Starts sampling `source` every `interval`, the first sample at once. The sampling thread
    /// ends once the poller is dropped, at its next sample.
    pub fn spawn(source: Box<dyn Source>, interval: Duration) -> Self {
        Self::spawn_with_past(source, interval, None, false)
    }

    /// [`Poller::spawn`], and after the first sample the source's history over `window`;
    /// `wakeable`: [`Poller::wake`] can ask for a sample at once.
    pub fn spawn_with_past(
        source: Box<dyn Source>,
        interval: Duration,
        window: Option<Duration>,
        wakeable: bool,
    ) -> Self {
        let (tx, updates) = watch::channel(None);
        let (wake, woken) = if wakeable {
            let (wake, woken) = std::sync::mpsc::sync_channel(1);
            (Some(wake), Some(woken))
        } else {
            (None, None)
        };
        let (past_tx, past) = oneshot::channel();
        let past_wanted = window.map(|w| (w, past_tx));
        let spawned = std::thread::Builder::new()
            .name("gputop-sampler".into())
            .spawn(move || run(source, interval, tx, woken, past_wanted));
        // Without a thread (the system refused one) nothing is published, and `next` says the
        // sampler stopped.
        drop(spawned);
        Self { updates, wake, past: window.map(|_| past) }
    }

    /// Samples at once instead of at the next due time (a wakeable poller); the schedule
    /// restarts from there.
    pub fn wake(&self) {
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(()); // one wake already waiting is enough
        }
    }

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

fn run(
    mut source: Box<dyn Source>,
    interval: Duration,
    tx: watch::Sender<Option<Polled>>,
    woken: Option<std::sync::mpsc::Receiver<()>>,
    mut past_wanted: Option<(Duration, oneshot::Sender<Vec<PastGpu>>)>,
) {
    let interval = interval.max(Duration::from_millis(1));
    let mut due = Instant::now();
    while !tx.is_closed() {
        let polled = source.sample().map(Arc::new).map_err(Arc::new);
        if tx.send(Some(polled)).is_err() {
            return; // nobody listens any more
        }
        if let Some((window, past_tx)) = past_wanted.take() {
            let _ = past_tx.send(source.past(window, interval));
        }
        due = next_due(due, interval, Instant::now());
        let pause = due.saturating_duration_since(Instant::now());
        match &woken {
            Some(woken) => {
                if woken.recv_timeout(pause).is_ok() {
                    due = Instant::now();
                }
            }
            // Every mode but a replay's monitor: a plain sleep, which a clock sped up by
            // libfaketime (the recorder's tests) speeds up too; a futex's timeout it does not.
            None => std::thread::sleep(pause),
        }
    }
}

/// The first tick of the grid `due + k × interval` after `now`: after a stall the schedule
/// resumes on its grid instead of firing a burst.
fn next_due(due: Instant, interval: Duration, now: Instant) -> Instant {
    let next = due + interval;
    if next > now {
        return next;
    }
    let behind = (now - next).as_nanos() / interval.as_nanos();
    next + interval * u32::try_from(behind + 1).unwrap_or(u32::MAX)
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

    /// Dropped with its source: tells when the sampling thread let go of it.
    struct Dropped(SimSource, Arc<AtomicUsize>);

    impl Source for Dropped {
        fn sample(&mut self) -> Result<Snapshot, SourceError> {
            self.0.sample()
        }
    }

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.1.store(1, Ordering::SeqCst);
        }
    }

    /// The Python `Monitor(interval=60)` stopped and started again in a notebook must not
    /// leave a thread (and NVML) behind for a minute each time.
    #[tokio::test(flavor = "current_thread")]
    async fn a_wakeable_poller_lets_go_of_its_source_as_soon_as_it_is_dropped() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let source = Dropped(SimSource::new(Scenario::demo(1), &[]).unwrap(), dropped.clone());
        let mut poller =
            Poller::spawn_with_past(Box::new(source), Duration::from_secs(60), None, true);
        poller.next().await.unwrap().unwrap();
        drop(poller);
        let started = std::time::Instant::now();
        while dropped.load(Ordering::SeqCst) == 0 {
            assert!(started.elapsed() < Duration::from_secs(5), "still sampling after 5 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }

    #[test]
    fn a_stalled_sample_skips_the_ticks_it_missed() {
        let (start, tick) = (Instant::now(), Duration::from_secs(1));
        assert_eq!(next_due(start, tick, start), start + tick);
        // Done at 3.5 ticks: the next is the grid's fourth tick, not a burst of those missed.
        let late = start + tick * 3 + tick / 2;
        assert_eq!(next_due(start, tick, late), start + tick * 4);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_hung_source_does_not_block_the_consumer() {
        let (source, calls) = counting(Duration::from_millis(800));
        let mut poller = Poller::spawn(source, Duration::from_millis(10));
        // The consumer's runtime keeps running (keys, redraws) while the sample hangs: its
        // own timer fires on time, long before the sample ends.
        let started = std::time::Instant::now();
        let waited = tokio::time::timeout(Duration::from_millis(50), poller.next()).await;
        assert!(waited.is_err(), "nothing can have been published yet");
        assert!(started.elapsed() < Duration::from_millis(400), "{:?}", started.elapsed());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the sample is under way");
        // And the hung sample still lands once it ends.
        assert!(poller.next().await.unwrap().is_ok());
    }
}
