//! The processes on AMD and Intel GPUs, from their DRM clients (`drm-usage-stats.rst`): each
//! open DRM file found by [`scan_drm_fds`] belongs to the card whose device number it opened;
//! a client is counted once however many fds share it (its `drm-client-id`), and its busy
//! share over an interval is the change of its engine time (`drm-engine-<e>` ns, over the
//! interval times `drm-engine-capacity-<e>`) or of its cycles (`drm-cycles-<e>` over
//! `drm-total-cycles-<e>` times the capacity). A counter that reads lower than before is
//! held at the larger value until it catches up, as the document asks of readers; but xe's
//! total cycles are a GPU timestamp that restarts after a reset or suspend, so there a lower
//! reading starts a new baseline (`fdinfo.rs`), and the share waits for the next interval.
//!
//! A class's busy share is known only where some client reported that class's counters: a
//! driver that prints no engine keys (i915 before Gen 8), or a ROCm process KFD lists that
//! has no engine lines, leaves it unknown, never 0. A card without any client is idle: 0.
//!
//! [`scan_drm_fds`]: crate::source::fdscan::scan_drm_fds

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use super::cards::Card;
use super::fdinfo::ClientUsage;
use crate::source::fdscan::DrmScan;

/// What the clients of one card did: its processes, and the card's totals from them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CardClients {
    /// By PID: memory in the device's own memory, busy share of the compute engines.
    pub processes: BTreeMap<u32, ProcessUse>,
    /// The busiest compute or render engine class, summed over the clients (percent); `None`
    /// on the first sample (a share needs two readings) and where clients exist but none
    /// reported such an engine.
    pub busy_percent: Option<f64>,
    /// The encode and decode engines likewise (AMD's `enc`/`dec`).
    pub encoder_percent: Option<f64>,
    pub decoder_percent: Option<f64>,
    /// Device memory of all its clients, where they report a device-memory region.
    pub memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessUse {
    pub memory_bytes: Option<u64>,
    pub busy_percent: Option<f64>,
    /// Whether any of its clients prints a compute or render engine's counters at all
    /// (without, its share is something the driver does not provide).
    pub reports_engines: bool,
}

/// The counters of every client at the previous sample, for the shares of the next.
#[derive(Default)]
pub struct Clients {
    previous: HashMap<ClientKey, ClientUsage>,
    at: Option<Instant>,
}

/// A client: its card, and its `drm-client-id` (or, where a kernel gives none, the process
/// and device: each fd then counts as the driver lists it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ClientKey {
    Id { card: usize, id: u64 },
    NoId { card: usize, pid: u32, minor: u32 },
}

/// Which busy share an engine class counts toward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EngineClass {
    Compute,
    Encode,
    Decode,
    Other,
}

fn class(engine: &str) -> EngineClass {
    match engine {
        // amdgpu: gfx, compute; i915: render, compute; xe: rcs (render), ccs (compute).
        "gfx" | "compute" | "render" | "rcs" | "ccs" => EngineClass::Compute,
        e if e.starts_with("enc") => EngineClass::Encode,
        "dec" => EngineClass::Decode,
        _ => EngineClass::Other,
    }
}

impl Clients {
    /// The clients of each card in `cards`, from a scan taken at `now`.
    pub fn sample(&mut self, cards: &[Card], scan: &DrmScan, now: Instant) -> Vec<CardClients> {
        let elapsed_ns = self.at.map(|at| now.saturating_duration_since(at).as_nanos() as f64);
        let first = self.at.is_none();
        let mut current: HashMap<ClientKey, ClientUsage> = HashMap::new();
        // (card, pid) → the clients that process holds.
        let mut holders: BTreeMap<(usize, u32), Vec<ClientKey>> = BTreeMap::new();
        for fd in &scan.fds {
            let usage = ClientUsage::parse(&fd.fdinfo);
            let Some(card) = card_of(cards, fd.minor, usage.pdev.as_deref()) else { continue };
            let key = match usage.client_id {
                Some(id) => ClientKey::Id { card, id },
                None => ClientKey::NoId { card, pid: fd.pid, minor: fd.minor },
            };
            let held = holders.entry((card, fd.pid)).or_default();
            if !held.contains(&key) {
                held.push(key);
            }
            current.insert(key, usage);
        }
        // Each client's busy share by engine class since the previous sample.
        let shares: HashMap<ClientKey, BTreeMap<String, f64>> = current
            .iter()
            .filter(|_| !first)
            .map(|(key, now)| (*key, busy_shares(now, self.previous.get(key), elapsed_ns)))
            .collect();

        let mut out = vec![CardClients::default(); cards.len()];
        for (card, totals) in out.iter_mut().enumerate() {
            let mut engines: BTreeMap<&str, f64> = BTreeMap::new();
            let mut memory: Option<u64> = None;
            for (key, usage) in current.iter().filter(|(k, _)| key_card(k) == card) {
                if let Some(bytes) = usage.device_memory_bytes() {
                    memory = Some(memory.unwrap_or(0).saturating_add(bytes));
                }
                for (engine, share) in shares.get(key).into_iter().flatten() {
                    *engines.entry(engine).or_default() += share;
                }
            }
            let clients = current.keys().filter(|k| key_card(k) == card).count();
            let busiest = |wanted: EngineClass| {
                if first {
                    return None;
                }
                // No client at all: nothing runs on it. Clients, none with such an engine's
                // counters: unknown.
                let shares = engines.iter().filter(|(e, _)| class(e) == wanted);
                let busiest = shares.map(|(_, s)| s.min(100.0)).reduce(f64::max);
                if clients == 0 {
                    Some(0.0)
                } else {
                    busiest
                }
            };
            totals.busy_percent = busiest(EngineClass::Compute);
            totals.encoder_percent = busiest(EngineClass::Encode);
            totals.decoder_percent = busiest(EngineClass::Decode);
            totals.memory_bytes = memory;
        }
        for ((card, pid), keys) in holders {
            let mut memory: Option<u64> = None;
            let mut engines: BTreeMap<&str, f64> = BTreeMap::new();
            let mut reports_engines = false;
            for key in &keys {
                let usage = &current[key];
                reports_engines |= usage
                    .engine_ns
                    .keys()
                    .chain(usage.cycles.keys())
                    .any(|e| class(e) == EngineClass::Compute);
                if let Some(bytes) = usage.device_memory_bytes() {
                    memory = Some(memory.unwrap_or(0).saturating_add(bytes));
                }
                for (engine, share) in shares.get(key).into_iter().flatten() {
                    *engines.entry(engine).or_default() += share;
                }
            }
            // `None` where none of its clients has a compute or render engine's share.
            let busy = engines
                .iter()
                .filter(|(e, _)| class(e) == EngineClass::Compute)
                .map(|(_, s)| s.min(100.0))
                .reduce(f64::max);
            out[card].processes.insert(
                pid,
                ProcessUse { memory_bytes: memory, busy_percent: busy, reports_engines },
            );
        }
        // drm-usage-stats.rst: a counter may read lower than before for a while; the reader
        // keeps the larger previous value until it catches up (else the catch-up counts twice).
        for (key, usage) in current.iter_mut() {
            if let Some(before) = self.previous.get(key) {
                usage.keep_larger_counters(before);
            }
        }
        self.previous = current;
        self.at = Some(now);
        out
    }
}

fn key_card(key: &ClientKey) -> usize {
    match *key {
        ClientKey::Id { card, .. } | ClientKey::NoId { card, .. } => card,
    }
}

/// The card a client's fd opened: by the device's minor number, else by `drm-pdev`.
fn card_of(cards: &[Card], minor: u32, pdev: Option<&str>) -> Option<usize> {
    cards.iter().position(|c| c.minors.contains(&minor)).or_else(|| {
        let pdev = pdev?;
        cards.iter().position(|c| c.pci_bus_id.as_deref() == Some(pdev))
    })
}

/// A client's busy share (percent) of each engine class since `before`. On the engine-time
/// path a client new since the previous sample started from zero within the interval; on
/// the cycles path it has no share yet (its cycles against an absolute GPU timestamp mean
/// nothing), nor after the timestamp restarted lower (a GT reset or suspend).
fn busy_shares(
    now: &ClientUsage,
    before: Option<&ClientUsage>,
    elapsed_ns: Option<f64>,
) -> BTreeMap<String, f64> {
    let mut shares = BTreeMap::new();
    let earlier = |map: fn(&ClientUsage) -> &BTreeMap<String, u64>, engine: &str| {
        before.and_then(|b| map(b).get(engine).copied()).unwrap_or(0)
    };
    if let Some(elapsed) = elapsed_ns.filter(|&e| e > 0.0) {
        for (engine, &ns) in &now.engine_ns {
            let capacity = now.engine_capacity.get(engine).copied().unwrap_or(1) as f64;
            let busy = ns.saturating_sub(earlier(|u| &u.engine_ns, engine)) as f64;
            shares.insert(engine.clone(), busy * 100.0 / (elapsed * capacity));
        }
    }
    // xe sums a class's engines in `drm-cycles-<e>` against one GPU timestamp: a class of
    // `drm-engine-capacity-<e>` engines runs up to that many times the total.
    for (engine, &cycles) in &now.cycles {
        let Some(&total) = now.total_cycles.get(engine) else { continue };
        let Some(before) = before else { continue };
        let Some(&total_before) = before.total_cycles.get(engine) else { continue };
        let capacity = now.engine_capacity.get(engine).copied().unwrap_or(1) as f64;
        if total > total_before {
            let total = total - total_before;
            let busy = cycles.saturating_sub(earlier(|u| &u.cycles, engine));
            let share = busy as f64 * 100.0 / (total as f64 * capacity);
            shares.insert(engine.clone(), share.min(100.0));
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::drm::cards::Driver;
    use crate::source::fdscan::DrmFd;
    use std::time::Duration;

    fn card(minors: &[u32]) -> Card {
        Card {
            dir: "/sys/class/drm/card1".into(),
            device: "/sys/class/drm/card1/device".into(),
            driver: Driver::Amdgpu,
            vendor_id: 0x1002,
            device_id: 0x744c,
            revision: None,
            pci_bus_id: Some("0000:03:00.0".into()),
            minors: minors.to_vec(),
            hwmon: None,
        }
    }

    fn fd(pid: u32, minor: u32, client: u64, gfx_ns: u64, vram_kib: u64) -> DrmFd {
        let text = format!(
            "drm-driver:\tamdgpu\ndrm-client-id:\t{client}\ndrm-engine-gfx:\t{gfx_ns} ns\n\
             drm-resident-vram:\t{vram_kib} KiB\n"
        );
        DrmFd { pid, minor, fdinfo: text.into_bytes() }
    }

    #[test]
    fn shared_clients_count_once_and_shares_come_from_the_change() {
        let cards = [card(&[1, 129])];
        let mut clients = Clients::default();
        let t0 = Instant::now();
        // Process 10 holds client 5 twice (dup); 11 inherited it; 12 has its own on the other node.
        let scan = |gfx5: u64, gfx6: u64| DrmScan {
            fds: vec![
                fd(10, 129, 5, gfx5, 1024),
                fd(10, 129, 5, gfx5, 1024),
                fd(11, 129, 5, gfx5, 1024),
                fd(12, 1, 6, gfx6, 2048),
                fd(13, 7, 9, 0, 4096), // another card's device: not this one's
            ],
            unreadable: 0,
            read_in_part: Vec::new(),
        };
        let first = clients.sample(&cards, &scan(1_000_000, 0), t0);
        assert_eq!(first[0].busy_percent, None, "one reading is no share");
        assert_eq!(first[0].memory_bytes, Some(3 << 20), "client 5 once, and client 6");
        assert_eq!(first[0].processes.len(), 3);
        let t1 = t0 + Duration::from_secs(1);
        let second = clients.sample(&cards, &scan(501_000_000, 250_000_000), t1);
        let c = &second[0];
        assert!((c.busy_percent.unwrap() - 75.0).abs() < 1e-9, "{c:?}");
        assert!((c.processes[&10].busy_percent.unwrap() - 50.0).abs() < 1e-9);
        assert!((c.processes[&12].busy_percent.unwrap() - 25.0).abs() < 1e-9);
        assert_eq!(c.processes[&10].memory_bytes, Some(1 << 20), "its client once, not per fd");
    }

    #[test]
    fn cycles_and_capacity_make_shares() {
        let xe = ClientUsage::parse(b"drm-cycles-rcs:\t300\ndrm-total-cycles-rcs:\t2000\n");
        let before = ClientUsage::parse(b"drm-cycles-rcs:\t100\ndrm-total-cycles-rcs:\t1000\n");
        assert_eq!(busy_shares(&xe, Some(&before), None)["rcs"], 20.0);
        let amd = ClientUsage::parse(
            b"drm-engine-compute:\t2000000000 ns\ndrm-engine-capacity-compute:\t4\n",
        );
        assert_eq!(busy_shares(&amd, None, Some(1e9))["compute"], 50.0);
        let ccs = ClientUsage::parse(
            b"drm-cycles-ccs:\t2000\ndrm-total-cycles-ccs:\t2000\ndrm-engine-capacity-ccs:\t4\n",
        );
        let ccs_before = ClientUsage::parse(b"drm-cycles-ccs:\t0\ndrm-total-cycles-ccs:\t1000\n");
        assert_eq!(busy_shares(&ccs, Some(&ccs_before), None)["ccs"], 50.0, "2 of 4 engines");
    }

    #[test]
    fn a_client_first_seen_has_no_share_of_cycles_but_one_of_engine_time() {
        let xe = ClientUsage::parse(b"drm-cycles-rcs:\t300\ndrm-total-cycles-rcs:\t2000\n");
        assert!(busy_shares(&xe, None, Some(1e9)).is_empty(), "300 of a timestamp is nothing");
        let amd = ClientUsage::parse(b"drm-engine-gfx:\t500000000 ns\n");
        assert_eq!(busy_shares(&amd, None, Some(1e9))["gfx"], 50.0);
    }

    #[test]
    fn a_restarted_gpu_timestamp_starts_a_new_baseline() {
        let cards = [card(&[129])];
        let mut clients = Clients::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let xe = |cycles: u64, total: u64| DrmScan {
            fds: vec![DrmFd {
                pid: 10,
                minor: 129,
                fdinfo: format!(
                    "drm-client-id:\t5\ndrm-cycles-rcs:\t{cycles}\ndrm-total-cycles-rcs:\t{total}\n"
                )
                .into_bytes(),
            }],
            ..DrmScan::default()
        };
        clients.sample(&cards, &xe(5_000, 1_000_000), at(0));
        let busy = clients.sample(&cards, &xe(105_000, 1_200_000), at(1));
        assert_eq!(busy[0].busy_percent, Some(50.0));
        // A GT reset: the timestamp and the cycles start again near 0. No share this time…
        let reset = clients.sample(&cards, &xe(1_000, 10_000), at(2));
        assert_eq!(reset[0].busy_percent, None, "{reset:?}");
        // …and the next interval's share is against the new baseline, not held at the old.
        let after = clients.sample(&cards, &xe(26_000, 110_000), at(3));
        assert_eq!(after[0].busy_percent, Some(25.0), "{after:?}");
    }

    #[test]
    fn a_class_no_client_reports_is_unknown_and_no_client_is_idle() {
        let cards = [card(&[129]), card(&[130])];
        let mut clients = Clients::default();
        let t0 = Instant::now();
        // An old i915 client: memory, no engine keys at all.
        let scan = DrmScan {
            fds: vec![DrmFd {
                pid: 10,
                minor: 129,
                fdinfo: b"drm-driver:\ti915\ndrm-client-id:\t3\ndrm-total-system0:\t4 KiB\n"
                    .to_vec(),
            }],
            ..DrmScan::default()
        };
        clients.sample(&cards, &scan, t0);
        let second = clients.sample(&cards, &scan, t0 + Duration::from_secs(1));
        assert_eq!(second[0].busy_percent, None, "no engine keys: unknown, not 0");
        assert_eq!(second[0].processes[&10].busy_percent, None);
        assert!(!second[0].processes[&10].reports_engines);
        assert_eq!(second[0].encoder_percent, None);
        assert_eq!(second[1].busy_percent, Some(0.0), "no client at all: idle");
        // A gfx client: its class is known; the encoder no client reports is not.
        let gfx = DrmScan { fds: vec![fd(11, 129, 4, 1_000, 0)], ..DrmScan::default() };
        let third = clients.sample(&cards, &gfx, t0 + Duration::from_secs(2));
        assert!(third[0].busy_percent.is_some());
        assert_eq!(third[0].encoder_percent, None);
    }

    #[test]
    fn a_counter_reading_lower_for_a_while_counts_nothing_twice() {
        let cards = [card(&[129])];
        let mut clients = Clients::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let scan = |gfx: u64| DrmScan { fds: vec![fd(10, 129, 5, gfx, 0)], ..DrmScan::default() };
        clients.sample(&cards, &scan(1_000_000_000), at(0));
        let dipped = clients.sample(&cards, &scan(400_000_000), at(1));
        assert_eq!(dipped[0].busy_percent, Some(0.0));
        // Back to 1.5 s: half a second busy since the larger value, not 1.1 s.
        let caught_up = clients.sample(&cards, &scan(1_500_000_000), at(2));
        assert!((caught_up[0].busy_percent.unwrap() - 50.0).abs() < 1e-9, "{caught_up:?}");
    }
}
