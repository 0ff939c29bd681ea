//! Listening for the driver's health events: XID errors and ECC errors, delivered by an NVML
//! event set to a thread of its own. The thread sleeps in `nvmlEventSetWait` (in the driver,
//! not polling) and wakes once a second to see whether it should stop, so it costs nothing
//! measurable while the GPUs are quiet. P-state and clock events are not asked for: they come
//! with every change of load, and each sample reads those states anyway.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nvml_wrapper::bitmasks::event::EventTypes;
use nvml_wrapper::enums::event::XidError;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::{EventSet, Nvml};

use crate::sample::{EventSource, GpuEvent, GpuEventKind, GpuEvents, Missing, MissingReason};

const WANTED: EventTypes = EventTypes::CRITICAL_XID_ERROR
    .union(EventTypes::SINGLE_BIT_ECC_ERROR)
    .union(EventTypes::DOUBLE_BIT_ECC_ERROR);

/// How long one wait lasts before the thread checks whether it should stop.
const WAIT_MS: u32 = 1000;

/// A GPU whose events cannot be listened to for a reason NVML did not give.
const FAILED: Missing = Missing { reason: MissingReason::Error, nvml_code: None };

/// What is known of each listened GPU, by position in the source's GPU list.
type Log = Vec<Result<GpuEvents, Missing>>;

pub struct EventListener {
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
}

impl EventListener {
    /// Registers the GPUs at `indices` for the events each supports (before returning, so
    /// the first sample already says which GPUs are listened to) and starts the thread.
    pub fn start(nvml: Arc<Nvml>, indices: Vec<u32>) -> Self {
        let since = chrono::Utc::now();
        let log = Arc::new(Mutex::new(vec![Err(FAILED); indices.len()]));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_log, thread_stop) = (Arc::clone(&log), Arc::clone(&stop));
        let (registered, ready) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("gputop-events".into()).spawn(move || {
            let set = register(&nvml, &indices, since, &thread_log);
            let _ = registered.send(());
            if let Some(set) = set {
                listen(&set, &indices, &thread_log, &thread_stop);
            }
        });
        if spawned.is_ok() {
            let _ = ready.recv();
        }
        Self { log, stop }
    }

    /// The events of the GPU at `position` in the source's list so far.
    pub fn events(&self, position: usize) -> Result<GpuEvents, Missing> {
        let log = self.log.lock().map_err(|_| FAILED)?;
        log.get(position).cloned().unwrap_or(Err(FAILED))
    }
}

impl Drop for EventListener {
    /// The thread ends at its next wake-up; nobody waits for it (quitting stays instant).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn listen(set: &EventSet, indices: &[u32], log: &Mutex<Log>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match set.wait(WAIT_MS) {
            Ok(data) => {
                let Some(position) =
                    data.device.index().ok().and_then(|i| indices.iter().position(|&x| x == i))
                else {
                    continue;
                };
                let event =
                    |kind, xid| GpuEvent { at: chrono::Utc::now(), kind, xid, message: None };
                let event = if data.event_type.contains(EventTypes::CRITICAL_XID_ERROR) {
                    let xid = match data.event_data {
                        // XIDs count from 1: a 0 names none, so its number is unknown.
                        Some(XidError::Value(v)) => u32::try_from(v).ok().filter(|&x| x > 0),
                        _ => None,
                    };
                    event(GpuEventKind::Xid, xid)
                } else if data.event_type.contains(EventTypes::DOUBLE_BIT_ECC_ERROR) {
                    event(GpuEventKind::DoubleBitEcc, None)
                } else if data.event_type.contains(EventTypes::SINGLE_BIT_ECC_ERROR) {
                    event(GpuEventKind::SingleBitEcc, None)
                } else {
                    continue;
                };
                if let Ok(mut log) = log.lock() {
                    if let Some(Ok(events)) = log.get_mut(position) {
                        events.add(event);
                    }
                }
            }
            // Nothing came, or an interrupt cut the wait short.
            Err(NvmlError::Timeout) => {}
            // A GPU fell off the bus or the driver is in trouble: do not spin on it.
            Err(_) => std::thread::sleep(Duration::from_millis(WAIT_MS.into())),
        }
    }
}

/// One event set with every GPU that supports some of the wanted events; each GPU's slot in
/// the log says whether it is listened to, and why not.
fn register<'n>(
    nvml: &'n Nvml,
    indices: &[u32],
    since: chrono::DateTime<chrono::Utc>,
    log: &Mutex<Log>,
) -> Option<EventSet<'n>> {
    let mut slots: Log = Vec::with_capacity(indices.len());
    let mut set = match nvml.create_event_set() {
        Ok(set) => Some(set),
        Err(e) => {
            let missing = super::missing(&e);
            if let Ok(mut log) = log.lock() {
                log.iter_mut().for_each(|slot| *slot = Err(missing));
            }
            return None;
        }
    };
    let mut registered: Vec<(u32, EventTypes)> = Vec::new();
    for &index in indices {
        let result = nvml.device_by_index(index).and_then(|d| {
            let types = d.supported_event_types()? & WANTED;
            if types.is_empty() {
                return Err(NvmlError::NotSupported);
            }
            // nvml-wrapper frees the set when a registration fails: build it again then.
            let current = match set.take() {
                Some(s) => s,
                None => rebuild(nvml, &registered)?,
            };
            match d.register_events(types, current) {
                Ok(s) => {
                    set = Some(s);
                    Ok(types)
                }
                Err(e) => Err(e.error),
            }
        });
        slots.push(match result {
            Ok(types) => {
                registered.push((index, types));
                let mut events = GpuEvents::new(EventSource::Nvml, since);
                let ecc = |bit| types.contains(bit).then_some(0);
                events.ecc_single_bit = ecc(EventTypes::SINGLE_BIT_ECC_ERROR);
                events.ecc_double_bit = ecc(EventTypes::DOUBLE_BIT_ECC_ERROR);
                Ok(events)
            }
            Err(e) => Err(super::missing(&e)),
        });
    }
    if set.is_none() && !registered.is_empty() {
        set = rebuild(nvml, &registered).ok();
    }
    if let Ok(mut log) = log.lock() {
        *log = slots;
    }
    set
}

fn rebuild<'n>(
    nvml: &'n Nvml,
    registered: &[(u32, EventTypes)],
) -> Result<EventSet<'n>, NvmlError> {
    let mut set = nvml.create_event_set()?;
    for &(index, types) in registered {
        set = nvml.device_by_index(index)?.register_events(types, set).map_err(|e| e.error)?;
    }
    Ok(set)
}
