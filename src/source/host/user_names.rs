//! User names from UIDs through NSS (`getpwuid_r`), so users that live in LDAP, SSSD or NIS
//! are named as `ls -l` and `ps` name them, not only those in `/etc/passwd`.
//!
//! A directory can be slow or down, and a sample must not wait on it: lookups run on one
//! worker thread, and a caller waits for an answer at most [`Limits::wait`]; past that it gets
//! the UID as text, and the name on a later call once the worker has it. Answers are cached
//! with a time limit, names for [`Limits::found_for`] and "no such user" for the shorter
//! [`Limits::missing_for`], so a user created after gputop started is named once that entry
//! expires. An expired name is still shown while its refresh is under way. The cache holds at
//! most [`Limits::capacity`] UIDs, and as many may wait for the worker.

use std::collections::{HashMap, HashSet};
use std::ffi::CStr;
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How long to wait, how long answers are good for, and how many are kept.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The longest a caller waits for the directory before showing the UID.
    pub wait: Duration,
    /// How long a name is good for.
    pub found_for: Duration,
    /// How long "no such user" (or a failed lookup) is good for.
    pub missing_for: Duration,
    /// The most UIDs cached, and the most waiting for the worker.
    pub capacity: usize,
}

impl Default for Limits {
    /// nscd's ten minutes for names; a minute for users not found, so a new account shows up
    /// soon; 100 ms, a tenth of the default interval, for a directory to answer.
    fn default() -> Self {
        Limits {
            wait: Duration::from_millis(100),
            found_for: Duration::from_secs(600),
            missing_for: Duration::from_secs(60),
            capacity: 4096,
        }
    }
}

/// Names UIDs, through a cache in front of one worker thread that asks the directory.
pub struct UserNames {
    shared: Arc<Shared>,
    /// To the worker; it ends when this is dropped.
    requests: SyncSender<u32>,
    limits: Limits,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled whenever the worker has an answer.
    answered: Condvar,
}

#[derive(Default)]
struct State {
    entries: HashMap<u32, Entry>,
    /// Asked of the worker and not answered yet.
    pending: HashSet<u32>,
    /// When the worker started the lookup it is on, if any.
    busy_since: Option<Instant>,
}

struct Entry {
    /// `None`: the directory has no such user, or the lookup failed.
    name: Option<String>,
    at: Instant,
}

impl UserNames {
    /// The process's one resolver, asking NSS (`getpwuid_r`) with the default limits.
    pub fn system() -> &'static UserNames {
        static SYSTEM: OnceLock<UserNames> = OnceLock::new();
        SYSTEM.get_or_init(|| UserNames::new(from_user_database, Limits::default()))
    }

    /// A resolver asking `lookup` (a user's name, or `None` for no such user) on its worker.
    pub fn new(lookup: impl Fn(u32) -> Option<String> + Send + 'static, limits: Limits) -> Self {
        let shared = Arc::new(Shared { state: Mutex::default(), answered: Condvar::new() });
        let (requests, queue) = mpsc::sync_channel::<u32>(limits.capacity);
        let worker = Arc::clone(&shared);
        let spawned = std::thread::Builder::new().name("gputop-users".into()).spawn(move || {
            for uid in queue {
                worker.lock().busy_since = Some(Instant::now());
                let name = lookup(uid);
                let mut state = worker.lock();
                state.busy_since = None;
                state.pending.remove(&uid);
                state.insert(uid, Entry { name, at: Instant::now() }, &limits);
                drop(state);
                worker.answered.notify_all();
            }
        });
        // Without a worker (no threads left) nothing is ever answered: every UID shows as is.
        drop(spawned);
        UserNames { shared, requests, limits }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// `uid`'s name, or the UID as text where the directory has none or has not answered
    /// within [`Limits::wait`].
    pub fn name(&self, uid: u32) -> String {
        self.name_by(uid, Instant::now() + self.limits.wait)
    }

    /// [`name`](Self::name), waiting no later than `deadline`: callers naming many UIDs share
    /// one deadline, so a slow directory costs them one wait in all.
    pub fn name_by(&self, uid: u32, deadline: Instant) -> String {
        let mut state = self.shared.lock();
        if !state.is_fresh(uid, &self.limits) && !state.pending.contains(&uid) {
            // A full queue is a directory far behind: this UID is asked again next time.
            if state.pending.len() < self.limits.capacity && self.requests.try_send(uid).is_ok() {
                state.pending.insert(uid);
            }
        }
        loop {
            let now = Instant::now();
            let stuck = state.busy_since.is_some_and(|t| now - t >= self.limits.wait);
            // A worker stuck on an earlier lookup past the wait answers nobody in time.
            if !state.pending.contains(&uid) || stuck || now >= deadline {
                break;
            }
            state = match self.shared.answered.wait_timeout(state, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        match state.entries.get(&uid) {
            // Fresh, or expired and being refreshed: a name beats a number.
            Some(Entry { name: Some(name), .. }) => name.clone(),
            _ => uid.to_string(),
        }
    }
}

impl Shared {
    /// The state, even if a thread panicked holding it (it is never left half-changed).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn is_fresh(&self, uid: u32, limits: &Limits) -> bool {
        self.entries.get(&uid).is_some_and(|e| e.is_fresh(limits))
    }

    /// Caches an answer; when full, expired entries go first, then the oldest.
    fn insert(&mut self, uid: u32, entry: Entry, limits: &Limits) {
        if self.entries.len() >= limits.capacity && !self.entries.contains_key(&uid) {
            self.entries.retain(|_, e| e.is_fresh(limits));
            if self.entries.len() >= limits.capacity {
                let oldest = self.entries.iter().min_by_key(|(_, e)| e.at).map(|(&u, _)| u);
                oldest.map(|u| self.entries.remove(&u));
            }
        }
        self.entries.insert(uid, entry);
    }
}

impl Entry {
    fn is_fresh(&self, limits: &Limits) -> bool {
        let good_for = if self.name.is_some() { limits.found_for } else { limits.missing_for };
        self.at.elapsed() < good_for
    }
}

/// A user's name from the system's user database through NSS (files, LDAP, SSSD, NIS: as
/// `/etc/nsswitch.conf` says); `None` for no such user or a failed lookup.
fn from_user_database(uid: u32) -> Option<String> {
    // SAFETY: sysconf only reads a configuration value.
    let suggested = unsafe { libc::sysconf(libc::_SC_GETPW_R_SIZE_MAX) };
    let mut size = usize::try_from(suggested).ok().filter(|&n| n > 0).unwrap_or(1024);
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: an all-zero passwd is valid (null pointers, zero ids); getpwuid_r fills it.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is to a live local, and `buf` is `size` bytes long.
        let error =
            unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr(), size, &mut found) };
        match error {
            // The entry does not fit: a larger buffer, up to a megabyte.
            libc::ERANGE if size < 1 << 20 => size *= 2,
            libc::EINTR => {}
            0 if !found.is_null() && !entry.pw_name.is_null() => {
                // SAFETY: getpwuid_r pointed pw_name at a NUL-terminated string inside `buf`.
                let name = unsafe { CStr::from_ptr(entry.pw_name) };
                let name = name.to_string_lossy().into_owned();
                return (!name.is_empty()).then_some(name);
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn limits(wait_ms: u64, found_ms: u64, missing_ms: u64) -> Limits {
        Limits {
            wait: Duration::from_millis(wait_ms),
            found_for: Duration::from_millis(found_ms),
            missing_for: Duration::from_millis(missing_ms),
            capacity: 8,
        }
    }

    /// Calls `name` until it gives something other than the UID, for at most two seconds.
    fn named_eventually(names: &UserNames, uid: u32) -> String {
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let name = names.name(uid);
            if name != uid.to_string() || Instant::now() > until {
                return name;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_slow_directory_gives_the_uid_within_the_wait_and_the_name_later() {
        let names = UserNames::new(
            |uid| {
                // Far longer than the wait, so that a loaded machine cannot blur the two.
                std::thread::sleep(Duration::from_millis(1500));
                Some(format!("user{uid}"))
            },
            limits(50, 60_000, 60_000),
        );
        let started = Instant::now();
        assert_eq!(names.name(4242), "4242");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(50), "gave up early: {waited:?}");
        assert!(waited < Duration::from_millis(1000), "waited for the directory: {waited:?}");
        // While the worker is still on that lookup, other UIDs do not wait for it.
        let started = Instant::now();
        assert_eq!(names.name(4343), "4343");
        assert!(started.elapsed() < Duration::from_millis(1000), "{:?}", started.elapsed());
        assert_eq!(named_eventually(&names, 4242), "user4242");
        assert_eq!(named_eventually(&names, 4343), "user4343");
    }

    #[test]
    fn a_fast_directory_is_answered_on_the_first_call_and_then_cached() {
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&asked);
        let names = UserNames::new(
            move |uid| {
                counter.fetch_add(1, Ordering::SeqCst);
                (uid == 1000).then(|| "alice".to_string())
            },
            limits(1000, 60_000, 60_000),
        );
        assert_eq!(names.name(1000), "alice");
        assert_eq!(names.name(1000), "alice");
        assert_eq!(names.name(7), "7");
        assert_eq!(names.name(7), "7");
        assert_eq!(asked.load(Ordering::SeqCst), 2, "each UID asked once");
    }

    #[test]
    fn a_user_not_found_is_asked_again_once_that_answer_expires() {
        // The directory learns of the user after the first answer, as for an account created
        // after gputop started.
        let created = Arc::new(AtomicUsize::new(0));
        let exists = Arc::clone(&created);
        let names = UserNames::new(
            move |_| (exists.load(Ordering::SeqCst) == 1).then(|| "newcomer".to_string()),
            limits(1000, 60_000, 200),
        );
        assert_eq!(names.name(5000), "5000");
        created.store(1, Ordering::SeqCst);
        assert_eq!(names.name(5000), "5000", "the negative answer is still good");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(names.name(5000), "newcomer");
    }

    #[test]
    fn an_expired_name_is_shown_while_it_is_refreshed() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let names = UserNames::new(
            move |_| {
                // The second lookup hangs past any wait.
                if counter.fetch_add(1, Ordering::SeqCst) == 1 {
                    std::thread::sleep(Duration::from_millis(500));
                }
                Some("carol".to_string())
            },
            limits(50, 100, 60_000),
        );
        assert_eq!(names.name(1), "carol");
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(names.name(1), "carol");
        let started = Instant::now();
        while calls.load(Ordering::SeqCst) < 2 {
            assert!(started.elapsed() < Duration::from_secs(10), "never refreshed");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn the_cache_holds_at_most_its_capacity() {
        let names = UserNames::new(|uid| Some(format!("u{uid}")), limits(1000, 60_000, 60_000));
        for uid in 0..20 {
            assert_eq!(names.name(uid), format!("u{uid}"));
        }
        assert_eq!(names.shared.lock().entries.len(), 8);
        // The newest are kept.
        assert!(names.shared.lock().entries.contains_key(&19));
    }

    #[test]
    fn the_system_database_names_root_and_not_an_unused_uid() {
        assert_eq!(from_user_database(0).as_deref(), Some("root"));
        assert_eq!(from_user_database(u32::MAX - 7), None);
    }
}
