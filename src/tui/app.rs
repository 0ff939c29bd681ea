//! The monitor's state and its transitions: new data, keys and mouse clicks in, a new state and
//! perhaps an [`Action`] out. Pure, so every transition is tested without a terminal. Rows are
//! built here when data arrives; drawing only paints them. The kill confirmation's transitions
//! are in [`super::kill`].

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use super::kill::Signal;
use super::rows::{build_rows, keyed_processes, ProcessRow, SortKey};
use crate::history::{History, Series};
use crate::output::owners::OwnerKey;
use crate::playhead::{Seek, SharedPlayhead};
use crate::sample::{GpuEventKind, ProcessKey, Snapshot};

/// How many slowdown starts and ends the events view keeps.
pub const SLOWDOWN_LOG: usize = 64;

/// A clock slowdown that started or ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Slowdown {
    pub at: chrono::DateTime<chrono::Utc>,
    pub host: Option<String>,
    pub gpu: u32,
    pub reason: &'static str,
    pub started: bool,
}

/// What sits on top of the main screen; one at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    /// Who holds the GPUs, grouped by user, container, pod or job.
    Owners(OwnerKey),
    Details {
        key: ProcessKey,
    },
    /// The XID and ECC events the driver raised on each GPU since gputop started.
    Events,
    /// The GPUs grouped by the pod or job they serve (many hosts).
    Workloads,
    /// The confirmation, with the command line of the process that would get the signal, read
    /// from `/proc` when it opened.
    Kill {
        key: ProcessKey,
        signal: Signal,
        command: String,
    },
}

/// Something the event loop must do beyond redrawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    Quit,
    /// A replay was told to move: sample it now rather than at the next tick.
    Resample,
    Signal {
        key: ProcessKey,
        signal: Signal,
    },
}

/// Where the process table's header is on screen, for mouse sorting: (x range, key).
pub type HeaderHitboxes = Vec<(u16, u16, u16, SortKey)>;

pub struct App {
    pub snapshot: Option<Arc<Snapshot>>,
    pub history: History,
    /// GPU memory of each process over time, for the details view.
    pub process_memory: HashMap<ProcessKey, Series>,
    pub rows: Vec<ProcessRow>,
    /// The process table's columns before COMMAND, in order.
    pub columns: Vec<SortKey>,
    pub sort: SortKey,
    pub descending: bool,
    pub filter: String,
    pub editing_filter: bool,
    /// The selected process, kept across refreshes.
    pub selected: Option<ProcessKey>,
    pub overlay: Overlay,
    pub show_gpus: bool,
    pub show_processes: bool,
    pub gpu_scroll: usize,
    /// How the GPU list is ordered (`o`).
    pub gpu_order: crate::tui::fleet::GpuOrder,
    pub command_scroll: usize,
    pub readonly: bool,
    pub interval: Duration,
    pub message: Option<String>,
    pub host_cpu: Option<f32>,
    pub host_memory: Option<(u64, u64)>,
    /// The newest XID, until the events view is opened: "XID 79 on GPU 0: …".
    pub alert: Option<String>,
    /// How many XIDs each GPU (by host and index) had at the last sample, to tell new ones.
    xids_seen: HashMap<(Option<String>, u32), u64>,
    /// Each GPU's alarming clock slowdowns at the last sample, to tell when one starts or ends.
    slowdowns_now: HashMap<(Option<String>, u32), Vec<&'static str>>,
    /// When slowdowns started and ended since gputop started, oldest first (the newest
    /// [`SLOWDOWN_LOG`]), for the events view.
    pub slowdowns: std::collections::VecDeque<Slowdown>,
    /// The wall clock at the last draw, to tell how old the data is.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Where the last draw put things, for the mouse.
    pub layout: RefCell<DrawnLayout>,
    /// `--replay`: the playback, steered by ←/→, PgUp/PgDn, g, space, + and -.
    pub replay: Option<SharedPlayhead>,
    /// The time being typed after `g` (replay).
    pub goto: Option<String>,
}

/// Filled in by each draw (which otherwise only reads the state): where the table's header
/// columns and first row are, and which row is at the top of the scrolled table.
#[derive(Debug, Default)]
pub struct DrawnLayout {
    pub header_hitboxes: HeaderHitboxes,
    pub first_row_y: Option<u16>,
    pub table_offset: usize,
}

impl App {
    pub fn new(interval: Duration, window: Duration, readonly: bool) -> Self {
        Self {
            snapshot: None,
            history: History::new(window, interval),
            process_memory: HashMap::new(),
            rows: Vec::new(),
            columns: SortKey::DEFAULT_COLUMNS.to_vec(),
            sort: SortKey::GpuMemory,
            descending: true,
            filter: String::new(),
            editing_filter: false,
            selected: None,
            overlay: Overlay::None,
            show_gpus: true,
            show_processes: true,
            gpu_scroll: 0,
            gpu_order: crate::tui::fleet::GpuOrder::default(),
            command_scroll: 0,
            readonly,
            interval,
            message: None,
            alert: None,
            xids_seen: HashMap::new(),
            slowdowns_now: HashMap::new(),
            slowdowns: std::collections::VecDeque::new(),
            host_cpu: None,
            host_memory: None,
            now: chrono::Utc::now(),
            layout: RefCell::default(),
            replay: None,
            goto: None,
        }
    }

    /// New data: record history and rebuild the rows.
    pub fn on_snapshot(&mut self, snapshot: Arc<Snapshot>) {
        // A jump in a replay: the charts start again from the recorded window before it.
        let jumped = self
            .replay
            .as_ref()
            .and_then(|p| p.lock().unwrap_or_else(|e| e.into_inner()).past.take());
        if let Some(past) = jumped {
            self.history.clear();
            self.history.backfill(&past);
        }
        self.history.record(&snapshot);
        // The source's warnings (Prometheus: a partial answer) stand on the bottom line.
        if let Some(w) = snapshot.warnings.first() {
            self.message = Some(format!("warning from the source: {w}"));
        }
        let capacity = self.history.capacity();
        // Every process, whatever the filter hides: a set, since with a thousand processes a
        // list lookup per entry would cost a million steps on every sample.
        let mut alive = HashSet::new();
        for (key, p) in keyed_processes(&snapshot) {
            // Listed on several GPUs: one series, pushed once per sample.
            if alive.insert(key.clone()) {
                let used = p.gpu_memory_bytes.map(|b| (b as f64 / (1 << 20) as f64) as f32);
                // MiB in steps of 16: up to 1 TiB.
                let series = || Series::new(capacity, 1.0 / 16.0);
                self.process_memory.entry(key).or_insert_with(series).push(used);
            }
        }
        // Forget processes that are gone, so the map does not grow with every job ever run.
        self.process_memory.retain(|key, _| alive.contains(key));
        self.notice_new_xids(&snapshot);
        self.notice_slowdowns(&snapshot);
        self.snapshot = Some(snapshot);
        self.rebuild_rows();
    }

    /// Logs each alarming clock slowdown (thermal, power brake, hardware) that started or
    /// ended since the last sample.
    fn notice_slowdowns(&mut self, snapshot: &Snapshot) {
        for g in &snapshot.gpus {
            let now = g.throttle.alarming();
            let before = self.slowdowns_now.insert((g.host.clone(), g.index), now.clone());
            // A GPU's first sample: no slowdown was logged for it before.
            let before = before.unwrap_or_default();
            let changes = now
                .iter()
                .filter(|r| !before.contains(r))
                .map(|r| (*r, true))
                .chain(before.iter().filter(|r| !now.contains(r)).map(|r| (*r, false)));
            for (reason, started) in changes {
                if self.slowdowns.len() == SLOWDOWN_LOG {
                    self.slowdowns.pop_front();
                }
                self.slowdowns.push_back(Slowdown {
                    at: snapshot.taken_at,
                    host: g.host.clone(),
                    gpu: g.index,
                    reason,
                    started,
                });
            }
        }
    }

    /// Raises the banner for an XID that came since the last sample.
    fn notice_new_xids(&mut self, snapshot: &Snapshot) {
        for g in &snapshot.gpus {
            let Some(events) = &g.events else { continue };
            let total: u64 = events.xid_counts.values().sum::<u64>() + events.xid_unknown;
            // A GPU's first sample: none of its XIDs has had a banner yet.
            let seen = self.xids_seen.insert((g.host.clone(), g.index), total).unwrap_or(0);
            if total <= seen {
                continue;
            }
            let newest = events.recent.iter().rev().find(|e| e.kind == GpuEventKind::Xid);
            let Some(newest) = newest else { continue };
            self.alert = Some(match newest.xid {
                Some(xid) => {
                    let x = crate::health::xid::describe(xid);
                    format!("XID {xid} on GPU {}: {}: {}", g.index, x.meaning, x.action)
                }
                None => format!(
                    "XID of unknown number on GPU {}: the driver did not say which; see `sudo dmesg | grep -i xid`",
                    g.index
                ),
            });
        }
    }

    pub fn rebuild_rows(&mut self) {
        self.rows = match &self.snapshot {
            Some(s) => build_rows(s, &self.filter, self.sort, self.descending),
            None => Vec::new(),
        };
        if self.selected.as_ref().is_some_and(|key| !self.rows.iter().any(|r| &r.key == key)) {
            self.selected = self.rows.first().map(|r| r.key.clone());
        }
    }

    /// How old the data is, once it is older than two intervals and a second (NVML stalled).
    pub fn stale_for(&self) -> Option<Duration> {
        // A replay shows the past on purpose.
        if self.replay.is_some() {
            return None;
        }
        let taken = self.snapshot.as_ref()?.taken_at;
        let age = (self.now - taken).to_std().ok()?;
        (age > self.interval * 2 + Duration::from_secs(1)).then_some(age)
    }

    pub fn selected_index(&self) -> Option<usize> {
        let key = self.selected.as_ref()?;
        self.rows.iter().position(|r| &r.key == key)
    }

    /// The row of `key`, when it is still listed.
    pub fn row(&self, key: &ProcessKey) -> Option<&ProcessRow> {
        self.rows.iter().find(|r| &r.key == key)
    }

    fn select(&mut self, index: usize) {
        self.selected =
            self.rows.get(index.min(self.rows.len().saturating_sub(1))).map(|r| r.key.clone());
    }

    fn move_selection(&mut self, by: isize) {
        if self.rows.is_empty() {
            return;
        }
        let current = self.selected_index().map_or(-1, |i| i as isize);
        let next = (current + by).clamp(0, self.rows.len() as isize - 1);
        self.select(next as usize);
    }

    /// The sort key `by` columns away, among the columns shown.
    fn sort_step(&self, by: isize) -> SortKey {
        let shown: Vec<SortKey> = self.columns.iter().copied().chain([SortKey::Command]).collect();
        self.sort.step_in(&shown, by)
    }

    fn set_sort(&mut self, key: SortKey) {
        if self.sort == key {
            self.descending = !self.descending;
        } else {
            self.sort = key;
            self.descending = key.largest_first();
        }
        self.rebuild_rows();
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        self.message = None;
        if self.editing_filter {
            return self.on_filter_key(key);
        }
        if self.goto.is_some() {
            return self.on_goto_key(key);
        }
        if matches!(self.overlay, Overlay::None) {
            if let Some(action) = self.on_replay_key(key) {
                return action;
            }
        }
        match self.overlay.clone() {
            Overlay::Help => {
                if matches!(key.code, KeyCode::Char('q')) {
                    return Action::Quit;
                }
                self.overlay = Overlay::None;
                Action::None
            }
            Overlay::Owners(by) => {
                match key.code {
                    KeyCode::Char('q') => return Action::Quit,
                    KeyCode::Char('u') => self.overlay = Overlay::Owners(next_grouping(by)),
                    _ => self.overlay = Overlay::None,
                }
                Action::None
            }
            Overlay::Details { .. } => {
                match key.code {
                    KeyCode::Char('q') => return Action::Quit,
                    KeyCode::Char('k') | KeyCode::F(9) => self.open_kill(),
                    _ => self.overlay = Overlay::None,
                }
                Action::None
            }
            Overlay::Events | Overlay::Workloads => {
                if matches!(key.code, KeyCode::Char('q')) {
                    return Action::Quit;
                }
                self.overlay = Overlay::None;
                Action::None
            }
            Overlay::Kill { key: process, signal, command } => {
                self.on_kill_key(key, process, signal, command)
            }
            Overlay::None => self.on_main_key(key),
        }
    }

    fn on_main_key(&mut self, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => {
                if key.code == KeyCode::Esc && !self.filter.is_empty() {
                    self.filter.clear();
                    self.rebuild_rows();
                    return Action::None;
                }
                return Action::Quit;
            }
            KeyCode::Char('?') | KeyCode::Char('h') | KeyCode::F(1) => self.overlay = Overlay::Help,
            KeyCode::Char('u') => self.overlay = Overlay::Owners(OwnerKey::User),
            KeyCode::Char('e') => {
                self.alert = None;
                self.overlay = Overlay::Events;
            }
            KeyCode::Up => self.move_selection(-1),
            KeyCode::Down => self.move_selection(1),
            KeyCode::PageUp => self.move_selection(-10),
            KeyCode::PageDown => self.move_selection(10),
            KeyCode::Home => self.select(0),
            KeyCode::End => self.select(usize::MAX),
            KeyCode::Left => self.command_scroll = self.command_scroll.saturating_sub(8),
            KeyCode::Right => self.command_scroll = self.command_scroll.saturating_add(8).min(4096),
            KeyCode::Char('/') => self.editing_filter = true,
            KeyCode::Char('s') | KeyCode::Char('>') => self.set_sort(self.sort_step(1)),
            KeyCode::Char('S') | KeyCode::Char('<') => self.set_sort(self.sort_step(-1)),
            KeyCode::Char('r') => {
                self.descending = !self.descending;
                self.rebuild_rows();
            }
            KeyCode::Char('g') => self.show_gpus = !self.show_gpus,
            KeyCode::Char('o') => {
                self.gpu_order = self.gpu_order.next();
                self.gpu_scroll = 0;
            }
            KeyCode::Char('w') => self.overlay = Overlay::Workloads,
            KeyCode::Char('p') => self.show_processes = !self.show_processes,
            KeyCode::Char('[') => self.gpu_scroll = self.gpu_scroll.saturating_sub(1),
            KeyCode::Char(']') => self.gpu_scroll = self.gpu_scroll.saturating_add(1),
            KeyCode::Enter => {
                let key =
                    self.selected.clone().or_else(|| self.rows.first().map(|r| r.key.clone()));
                if let Some(key) = key {
                    self.selected = Some(key.clone());
                    self.overlay = Overlay::Details { key };
                }
            }
            KeyCode::Char('k') | KeyCode::F(9) => self.open_kill(),
            _ => {}
        }
        Action::None
    }

    /// The replay's keys (a move resamples at once); `None` for any other key (or without a
    /// replay).
    fn on_replay_key(&mut self, key: KeyEvent) -> Option<Action> {
        const TEN_MINUTES: i64 = 10 * 60 * 1000;
        let playhead = self.replay.as_ref()?;
        let mut p = playhead.lock().unwrap_or_else(|e| e.into_inner());
        let seek = match key.code {
            KeyCode::Left => Seek::Step(-1),
            KeyCode::Right => Seek::Step(1),
            KeyCode::PageUp => Seek::By(-TEN_MINUTES),
            KeyCode::PageDown => Seek::By(TEN_MINUTES),
            KeyCode::Char(' ') => {
                p.paused = !p.paused;
                return Some(Action::None);
            }
            KeyCode::Char('+') => {
                p.speed = (p.speed * 2).min(64);
                return Some(Action::None);
            }
            KeyCode::Char('-') => {
                p.speed = (p.speed / 2).max(1);
                return Some(Action::None);
            }
            KeyCode::Char('g') => {
                drop(p);
                self.goto = Some(String::new());
                return Some(Action::None);
            }
            _ => return None,
        };
        // Moves add up until a sample makes them: → → is two samples on.
        p.pending = Some(match (p.pending, seek) {
            (Some(Seek::Step(a)), Seek::Step(b)) => Seek::Step(a + b),
            (Some(Seek::By(a)), Seek::By(b)) => Seek::By(a + b),
            _ => seek,
        });
        Some(Action::Resample)
    }

    /// Typing the time to go to after `g`: Enter goes, Esc gives up.
    fn on_goto_key(&mut self, key: KeyEvent) -> Action {
        let Some(text) = self.goto.as_mut() else { return Action::None };
        match key.code {
            KeyCode::Enter => {
                let text = self.goto.take().unwrap_or_default();
                match (crate::text::time::parse_time(text.trim()), &self.replay) {
                    (Ok(t), Some(p)) => {
                        p.lock().unwrap_or_else(|e| e.into_inner()).pending =
                            Some(Seek::To(t.timestamp_millis()));
                        return Action::Resample;
                    }
                    (Ok(_), None) => {}
                    (Err(e), _) => self.message = Some(e),
                }
            }
            KeyCode::Esc => self.goto = None,
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if !c.is_control() && text.chars().count() < 32 => text.push(c),
            _ => {}
        }
        Action::None
    }

    fn on_filter_key(&mut self, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::Enter => self.editing_filter = false,
            KeyCode::Esc => {
                self.editing_filter = false;
                self.filter.clear();
            }
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Char(c) if !c.is_control() && self.filter.chars().count() < 64 => {
                self.filter.push(c)
            }
            _ => {}
        }
        self.rebuild_rows();
        Action::None
    }

    pub fn on_mouse(&mut self, mouse: MouseEvent) -> Action {
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                let (hit, first, offset) = {
                    let layout = self.layout.borrow();
                    let hit = layout
                        .header_hitboxes
                        .iter()
                        .find(|(y, x0, x1, _)| {
                            *y == mouse.row && (*x0..*x1).contains(&mouse.column)
                        })
                        .map(|h| h.3);
                    (hit, layout.first_row_y, layout.table_offset)
                };
                if let Some(key) = hit {
                    self.set_sort(key);
                } else if let Some(first) = first.filter(|y| mouse.row >= *y) {
                    self.select(usize::from(mouse.row - first) + offset);
                }
            }
            MouseEventKind::ScrollUp => self.move_selection(-3),
            MouseEventKind::ScrollDown => self.move_selection(3),
            _ => {}
        }
        Action::None
    }
}

/// The grouping `u` moves to: user, container, pod, job, and round again.
fn next_grouping(by: OwnerKey) -> OwnerKey {
    match by {
        OwnerKey::User => OwnerKey::Container,
        OwnerKey::Container => OwnerKey::Pod,
        OwnerKey::Pod => OwnerKey::Job,
        OwnerKey::Job => OwnerKey::User,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process_signal::SignalError;
    use crate::scenario::Scenario;
    use crate::source::SimSource;

    fn app() -> App {
        let mut app = App::new(Duration::from_secs(1), Duration::from_secs(60), false);
        app.on_snapshot(Arc::new(
            SimSource::new(Scenario::demo(4), &[]).unwrap().sample_at(1_000.0),
        ));
        app
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn chars(app: &mut App, s: &str) {
        for c in s.chars() {
            app.on_key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn slowdowns_are_logged_when_they_start_and_end() {
        let mut scenario = Scenario::demo(2);
        let sim = SimSource::new(scenario.clone(), &[]).unwrap();
        let mut a = App::new(Duration::from_secs(1), Duration::from_secs(60), false);
        a.on_snapshot(Arc::new(sim.sample_at(1_000.0)));
        assert!(a.slowdowns.is_empty(), "a power cap is no alarm");
        scenario.gpus[1].throttle_reasons = Some(0x40); // hardware thermal slowdown
        let hot = SimSource::new(scenario, &[]).unwrap();
        a.on_snapshot(Arc::new(hot.sample_at(1_001.0)));
        a.on_snapshot(Arc::new(hot.sample_at(1_002.0)));
        a.on_snapshot(Arc::new(sim.sample_at(1_003.0)));
        let log: Vec<(u32, bool)> = a.slowdowns.iter().map(|s| (s.gpu, s.started)).collect();
        assert_eq!(log, [(1, true), (1, false)]);
        assert_eq!(a.slowdowns[0].reason, crate::sample::ThrottleReason::HwThermalSlowdown.label());
    }

    #[test]
    fn quit_keys() {
        assert_eq!(app().on_key(key(KeyCode::Char('q'))), Action::Quit);
        assert_eq!(app().on_key(key(KeyCode::Esc)), Action::Quit);
        assert_eq!(
            app().on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Action::Quit
        );
    }

    #[test]
    fn sorting_cycles_and_reverses() {
        let mut a = app();
        assert_eq!((a.sort, a.descending), (SortKey::GpuMemory, true));
        a.on_key(key(KeyCode::Char('s')));
        assert_eq!((a.sort, a.descending), (SortKey::Sm, true));
        let sms: Vec<_> = a.rows.iter().map(|r| r.sm).collect();
        assert!(sms.windows(2).all(|w| w[0] >= w[1] || w[1].is_none()), "{sms:?}");
        a.on_key(key(KeyCode::Char('r')));
        assert!(!a.descending);
        a.on_key(key(KeyCode::Char('S')));
        assert_eq!(a.sort, SortKey::GpuMemory);
    }

    #[test]
    fn sorting_cycles_through_the_columns_shown() {
        let mut a = app();
        a.columns = vec![SortKey::Pid, SortKey::GpuMemory];
        a.on_key(key(KeyCode::Char('s')));
        assert_eq!(a.sort, SortKey::Command);
        a.on_key(key(KeyCode::Char('s')));
        assert_eq!(a.sort, SortKey::Pid);
        a.on_key(key(KeyCode::Char('S')));
        assert_eq!(a.sort, SortKey::Command);
    }

    #[test]
    fn filter_is_typed_applied_and_cleared() {
        let mut a = app();
        let all = a.rows.len();
        a.on_key(key(KeyCode::Char('/')));
        assert!(a.editing_filter);
        chars(&mut a, "user:alice");
        assert!(a.rows.iter().all(|r| r.user == "alice") && a.rows.len() < all);
        a.on_key(key(KeyCode::Enter));
        assert!(!a.editing_filter);
        // q while editing is text, not quit; Esc on the main screen clears the filter first.
        a.on_key(key(KeyCode::Char('/')));
        assert_eq!(a.on_key(key(KeyCode::Char('q'))), Action::None);
        a.on_key(key(KeyCode::Backspace));
        a.on_key(key(KeyCode::Enter));
        assert_eq!(a.on_key(key(KeyCode::Esc)), Action::None);
        assert_eq!(a.rows.len(), all);
    }

    #[test]
    fn selection_follows_the_pid_across_refreshes() {
        let mut a = app();
        a.on_key(key(KeyCode::Down));
        a.on_key(key(KeyCode::Down));
        let selected = a.selected.clone().unwrap();
        assert_eq!(a.selected_index(), Some(1));
        a.on_key(key(KeyCode::Char('r'))); // reversed: the same process, elsewhere
        assert_eq!(a.selected, Some(selected));
        a.on_key(key(KeyCode::End));
        assert_eq!(a.selected_index(), Some(a.rows.len() - 1));
        a.on_key(key(KeyCode::Home));
        assert_eq!(a.selected_index(), Some(0));
    }

    #[test]
    fn processes_hidden_by_the_filter_keep_their_history() {
        let mut a = app();
        let all = a.rows.len();
        a.on_key(key(KeyCode::Char('/')));
        chars(&mut a, "user:alice");
        a.on_key(key(KeyCode::Enter));
        assert!(a.rows.len() < all);
        a.on_snapshot(Arc::new(SimSource::new(Scenario::demo(4), &[]).unwrap().sample_at(1_001.0)));
        assert_eq!(a.process_memory.len(), all, "one series per process, shown or not");
        assert!(a.process_memory.values().all(|s| s.len() == 2));
    }

    #[test]
    fn help_opens_and_any_key_closes_it() {
        let mut a = app();
        a.on_key(key(KeyCode::Char('?')));
        assert_eq!(a.overlay, Overlay::Help);
        a.on_key(key(KeyCode::Char('x')));
        assert_eq!(a.overlay, Overlay::None);
    }

    #[test]
    fn u_shows_who_holds_the_gpus_by_each_grouping_in_turn() {
        let mut a = app();
        a.on_key(key(KeyCode::Char('u')));
        assert_eq!(a.overlay, Overlay::Owners(OwnerKey::User));
        for next in [OwnerKey::Container, OwnerKey::Pod, OwnerKey::Job, OwnerKey::User] {
            a.on_key(key(KeyCode::Char('u')));
            assert_eq!(a.overlay, Overlay::Owners(next));
        }
        a.on_key(key(KeyCode::Char('x')));
        assert_eq!(a.overlay, Overlay::None);
    }

    /// The demo's snapshot made real: its first process is `pid` on this machine.
    fn app_with_local(pid: u32) -> App {
        let mut snapshot = SimSource::new(Scenario::demo(1), &[]).unwrap().sample_at(1_000.0);
        snapshot.origin = crate::sample::Origin::Live;
        let processes = snapshot.gpus[0].processes.as_mut().unwrap();
        processes.truncate(1);
        processes[0].pid = pid;
        processes[0].start_ticks = crate::process_signal::tests::start_ticks_of(pid);
        let mut a = App::new(Duration::from_secs(1), Duration::from_secs(60), false);
        a.on_snapshot(Arc::new(snapshot));
        a
    }

    use crate::process_signal::tests::{sleeper, stop_untouched};
    use crate::sample::Origin;

    #[test]
    fn kill_asks_first_shows_the_local_command_and_lets_the_signal_be_chosen() {
        let mut child = sleeper();
        let mut a = app_with_local(child.id());
        a.on_key(key(KeyCode::Char('k')));
        assert_eq!(a.overlay, Overlay::None, "nothing selected yet");
        assert!(a.message.is_some());
        a.on_key(key(KeyCode::Down));
        let process = a.selected.clone().unwrap();
        a.on_key(key(KeyCode::F(9)));
        let command = "sleep 30".to_string();
        assert_eq!(
            a.overlay,
            Overlay::Kill { key: process.clone(), signal: Signal::Term, command: command.clone() }
        );
        a.on_key(key(KeyCode::Right));
        a.on_key(key(KeyCode::Right));
        assert_eq!(
            a.overlay,
            Overlay::Kill { key: process.clone(), signal: Signal::Kill, command }
        );
        assert_eq!(
            a.on_key(key(KeyCode::Enter)),
            Action::Signal { key: process, signal: Signal::Kill }
        );
        assert_eq!(a.overlay, Overlay::None);
        // Any other key cancels.
        a.on_key(key(KeyCode::Char('k')));
        assert_eq!(a.on_key(key(KeyCode::Char('n'))), Action::None);
        assert_eq!(a.overlay, Overlay::None);
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_simulated_row_is_never_signalled() {
        // A real local process may well hold the demo's PID: `k` must not reach it.
        let mut a = app();
        a.on_key(key(KeyCode::Down));
        a.on_key(key(KeyCode::Char('k')));
        assert_eq!(a.overlay, Overlay::None);
        assert!(a.message.as_deref().unwrap().contains("simulated"), "{:?}", a.message);
    }

    /// The snapshot of `a`, changed by `change`, shown again.
    fn reshown(a: &mut App, change: impl FnOnce(&mut Snapshot)) {
        let mut snapshot = (**a.snapshot.as_ref().unwrap()).clone();
        change(&mut snapshot);
        a.on_snapshot(Arc::new(snapshot));
    }

    /// Presses `k` on the first row: the overlay stays shut, the message says why.
    fn refused_with(a: &mut App, why: &str) {
        a.on_key(key(KeyCode::Down));
        a.on_key(key(KeyCode::Char('k')));
        assert_eq!(a.overlay, Overlay::None);
        assert!(a.message.as_deref().unwrap().contains(why), "{:?}", a.message);
        assert!(!a.offers_signals(), "the footer must not offer k");
    }

    #[test]
    fn a_remote_row_is_never_signalled_here() {
        let child = sleeper();
        let mut a = app_with_local(child.id());
        reshown(&mut a, |s| {
            s.origin = Origin::Fleet;
            s.gpus[0].host = Some("gpu7".into());
        });
        a.on_key(key(KeyCode::Down));
        assert_eq!(a.selected.as_ref().unwrap().host.as_deref(), Some("gpu7"));
        a.on_key(key(KeyCode::Up));
        refused_with(&mut a, "another host");
        stop_untouched(child);
    }

    #[test]
    fn a_fleet_row_without_a_host_name_is_not_taken_for_a_local_one() {
        // A Prometheus series without a host label: its PID is still another machine's.
        let child = sleeper();
        let mut a = app_with_local(child.id());
        reshown(&mut a, |s| s.origin = Origin::Fleet);
        refused_with(&mut a, "another host");
        stop_untouched(child);
    }

    #[test]
    fn remotes_local_entry_is_signalled_as_this_machines() {
        let child = sleeper();
        let mut a = app_with_local(child.id());
        reshown(&mut a, |s| {
            s.origin = Origin::Fleet;
            s.gpus[0].host = Some("here".into());
            s.hosts = vec![crate::sample::RemoteHost {
                live_here: true,
                ..crate::sample::RemoteHost::up("local", "here")
            }];
        });
        assert!(a.offers_signals());
        a.on_key(key(KeyCode::Down));
        a.on_key(key(KeyCode::Char('k')));
        assert!(matches!(a.overlay, Overlay::Kill { .. }), "{:?}", a.message);
        stop_untouched(child);
    }

    #[test]
    fn a_host_that_calls_itself_local_is_still_another_host() {
        // A Prometheus target labelled instance="local", or a demo behind --remote local.
        let child = sleeper();
        let mut a = app_with_local(child.id());
        reshown(&mut a, |s| {
            s.origin = Origin::Fleet;
            s.gpus[0].host = Some("here".into());
            s.hosts = vec![crate::sample::RemoteHost::up("local", "here")];
        });
        refused_with(&mut a, "another host");
        stop_untouched(child);
    }

    #[test]
    fn a_recorded_row_is_never_signalled_even_when_its_process_still_runs() {
        // The recorded PID and start time are those of a live local process.
        let child = sleeper();
        let mut a = app_with_local(child.id());
        reshown(&mut a, |s| s.origin = Origin::Recorded);
        a.readonly = true; // as --replay sets it
        refused_with(&mut a, "a recorded process (replay)");
        stop_untouched(child);
    }

    #[test]
    fn a_pid_taken_by_another_process_is_refused_at_the_confirmation() {
        let child = sleeper();
        let mut a = app_with_local(child.id());
        let mut snapshot = (**a.snapshot.as_ref().unwrap()).clone();
        // The row's process started at another time: the PID now names someone else.
        let p = &mut snapshot.gpus[0].processes.as_mut().unwrap()[0];
        p.start_ticks = p.start_ticks.map(|t| t.saturating_sub(500));
        a.on_snapshot(Arc::new(snapshot));
        a.on_key(key(KeyCode::Down));
        a.on_key(key(KeyCode::Char('k')));
        assert_eq!(a.overlay, Overlay::None);
        assert!(a.message.as_deref().unwrap().contains("exited"), "{:?}", a.message);
        stop_untouched(child);
    }

    #[test]
    fn readonly_never_offers_signals() {
        let child = sleeper();
        let mut a = app_with_local(child.id());
        assert!(a.offers_signals());
        a.readonly = true;
        assert!(!a.offers_signals());
        a.on_key(key(KeyCode::Down));
        a.on_key(key(KeyCode::Char('k')));
        assert_eq!(a.overlay, Overlay::None);
        assert!(a.message.as_deref().unwrap().contains("read-only"));
        stop_untouched(child);
    }

    #[test]
    fn details_open_on_enter() {
        let mut a = app();
        a.on_key(key(KeyCode::Enter));
        assert!(matches!(a.overlay, Overlay::Details { .. }));
        a.on_key(key(KeyCode::Esc));
        assert_eq!(a.overlay, Overlay::None);
    }

    #[test]
    fn clicking_a_header_sorts_by_it() {
        let mut a = app();
        a.layout.borrow_mut().header_hitboxes =
            vec![(10, 0, 4, SortKey::Gpu), (10, 4, 13, SortKey::Pid)];
        let click = |x| MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: x,
            row: 10,
            modifiers: KeyModifiers::NONE,
        };
        a.on_mouse(click(6));
        assert_eq!((a.sort, a.descending), (SortKey::Pid, false));
        a.on_mouse(click(6));
        assert!(a.descending, "a second click reverses");
    }

    #[test]
    fn signal_errors_are_explained() {
        let mut a = app();
        a.signal_result(1234, Signal::Term, Err(SignalError::PermissionDenied));
        assert!(a.message.as_deref().unwrap().contains("permission denied"));
    }

    #[test]
    fn stale_data_is_noticed() {
        let mut a = app();
        a.now = a.snapshot.as_ref().unwrap().taken_at;
        assert_eq!(a.stale_for(), None);
        a.now += chrono::Duration::seconds(10);
        assert_eq!(a.stale_for(), Some(Duration::from_secs(10)));
    }
}
