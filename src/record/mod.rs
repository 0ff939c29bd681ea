//! Recordings: samples, processes and events in a SQLite database (rusqlite, the bundled
//! library), written by `gputop record` and read by `gputop report` or sqlite3. The schema is
//! `docs/record-schema.md`; `PRAGMA user_version` says which.

pub mod chart;
pub mod html;
pub mod read;
pub mod recorder;
pub mod report;
pub mod rollup;
pub mod summary;
mod writer;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

pub use writer::Writer;

/// The schema version (`PRAGMA user_version`) this gputop writes. It reads this one, version 4
/// (which did not store who made each GPU: its GPUs were NVIDIA's, read through NVML),
/// version 3 (which stored an unknown process start time as 0 and no process type either),
/// version 2 (no per-minute rollups either) and version 1 (which did not say whether a GPU's
/// processes could be listed either).
pub const SCHEMA_VERSION: i64 = 5;

/// The clock event reasons that mean trouble (hardware, software thermal, hardware thermal,
/// power brake slowdowns): a sample is throttled when its mask has one.
pub const TROUBLE_MASK: u64 = 0x8 | 0x20 | 0x40 | 0x80;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gpus (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    uuid TEXT,
    name TEXT,
    pci_bus_id TEXT,
    memory_total_kib INTEGER,
    vendor TEXT
);
CREATE TABLE IF NOT EXISTS ticks (id INTEGER PRIMARY KEY, taken_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ticks_by_time ON ticks (taken_at);
CREATE TABLE IF NOT EXISTS samples (
    tick INTEGER NOT NULL,
    gpu_id INTEGER NOT NULL,
    gpu_index INTEGER NOT NULL,
    status INTEGER NOT NULL,
    utilization_gpu INTEGER,
    utilization_memory INTEGER,
    memory_used_kib INTEGER,
    temperature INTEGER,
    power_milliwatts INTEGER,
    energy_millijoules INTEGER,
    sm_clock_mhz INTEGER,
    throttle_mask INTEGER,
    processes_listed INTEGER,
    PRIMARY KEY (tick, gpu_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS processes (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start_ticks INTEGER,
    user TEXT,
    command TEXT,
    container TEXT,
    pod TEXT,
    namespace TEXT,
    job TEXT,
    kind TEXT,
    UNIQUE (host, pid, start_ticks)
);
CREATE TABLE IF NOT EXISTS process_samples (
    tick INTEGER NOT NULL,
    gpu_id INTEGER NOT NULL,
    process_id INTEGER NOT NULL,
    gpu_memory_kib INTEGER,
    sm_percent INTEGER,
    PRIMARY KEY (tick, gpu_id, process_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    tick INTEGER NOT NULL,
    gpu_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_tick ON events (tick);
CREATE TABLE IF NOT EXISTS minutes (
    minute INTEGER NOT NULL,
    gpu_id INTEGER NOT NULL,
    gpu_index INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    util_samples INTEGER NOT NULL,
    util_sum INTEGER NOT NULL,
    busy_samples INTEGER NOT NULL,
    util_histogram BLOB,
    memory_max_kib INTEGER,
    power_samples INTEGER NOT NULL,
    power_sum_mw INTEGER NOT NULL,
    energy_first_mj INTEGER,
    energy_last_mj INTEGER,
    throttled_samples INTEGER NOT NULL,
    lost_samples INTEGER NOT NULL,
    PRIMARY KEY (minute, gpu_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS process_minutes (
    minute INTEGER NOT NULL,
    gpu_id INTEGER NOT NULL,
    process_id INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    busy_samples INTEGER NOT NULL,
    idle_samples INTEGER NOT NULL,
    memory_max_kib INTEGER,
    energy_mj INTEGER,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    PRIMARY KEY (minute, gpu_id, process_id)
) WITHOUT ROWID;
";

/// Version 4 keys a process whose start time is unknown by a row of its own (a NULL start
/// time: SQLite's UNIQUE never matches two NULLs), where version 3 stored 0 and merged every
/// process that reused the PID into the first; and it records the process type. SQLite cannot
/// drop a NOT NULL, so the table is copied; the 0s written for "unknown" become NULL, and the
/// type of the processes recorded before stays NULL (not recorded).
const PROCESSES_TO_VERSION_4: &str = "
CREATE TABLE processes_v4 (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start_ticks INTEGER,
    user TEXT,
    command TEXT,
    container TEXT,
    pod TEXT,
    namespace TEXT,
    job TEXT,
    kind TEXT,
    UNIQUE (host, pid, start_ticks)
);
INSERT INTO processes_v4 (id, host, pid, start_ticks, user, command, container, pod, namespace, job)
    SELECT id, host, pid, NULLIF(start_ticks, 0), user, command, container, pod, namespace, job
    FROM processes;
DROP TABLE processes;
ALTER TABLE processes_v4 RENAME TO processes;
";

/// Where `gputop record` writes unless told: `$XDG_STATE_HOME/gputop/record.db`, else
/// `~/.local/state/gputop/record.db`.
pub fn default_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("gputop/record.db"))
}

/// Why a recording cannot be used: the file is not one this gputop can take (a usage
/// mistake, exit 2), or the database failed (exit 1).
#[derive(Debug)]
pub enum OpenError {
    NotARecording(String),
    Failed(String),
}

impl OpenError {
    pub fn message(self) -> String {
        match self {
            Self::NotARecording(m) | Self::Failed(m) => m,
        }
    }
}

impl From<OpenError> for crate::Error {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::NotARecording(m) => Self::Usage(m),
            OpenError::Failed(m) => Self::Recording(m),
        }
    }
}

/// Where the recorder of `path` holds its lock: `PATH.lock`, next to it.
pub fn lock_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// The one recorder of a file: an exclusive `flock` on `PATH.lock`, which holds the PID.
///
/// Recordings may sit in a directory other users can write to (a shared `/var/tmp`), and
/// the recorder often runs as root: the lock file is never followed through a link, must be
/// a regular file of this user's, and is written only then.
pub struct RecorderLock(#[allow(dead_code)] std::fs::File);

impl RecorderLock {
    pub fn take(path: &Path) -> Result<Self, String> {
        use rustix::fs::{FileType, FlockOperation, Mode, OFlags};
        use std::io::{Read, Seek, Write};
        // `x.db.lock` for `x.db`, `x.sqlite.lock` for `x.sqlite`: the whole name and `.lock`.
        let lock_path = lock_path(path);
        let shown = lock_path.display();
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = rustix::fs::open(&lock_path, flags, Mode::from_raw_mode(0o644)).map_err(|e| {
            let link = std::fs::symlink_metadata(&lock_path).is_ok_and(|m| m.is_symlink());
            if e == rustix::io::Errno::LOOP || link {
                format!("refusing {shown}: it is a symbolic link")
            } else {
                format!("cannot open {shown}: {}", std::io::Error::from(e))
            }
        })?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| format!("cannot examine {shown}: {e}"))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile || stat.st_nlink != 1 {
            return Err(format!("refusing {shown}: it is not a plain file"));
        }
        if stat.st_uid != rustix::process::geteuid().as_raw() {
            return Err(format!(
                "refusing {shown}: it belongs to another user (UID {}): record elsewhere",
                stat.st_uid
            ));
        }
        let mut file = std::fs::File::from(fd);
        if rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            let mut holder = String::new();
            let _ = (&mut file).take(64).read_to_string(&mut holder);
            return Err(format!(
                "{} is already being recorded by PID {} (one recorder per file)",
                path.display(),
                crate::text::sanitize::sanitize(holder.trim())
            ));
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{}", std::process::id());
        Ok(Self(file))
    }
}

/// Opens (creating) a recording to write, in a directory that exists: WAL, so readers do not wait for the writer, and a
/// commit per sample, so a recorder killed at any moment leaves every committed sample.
pub fn create(path: &Path) -> Result<Connection, OpenError> {
    let failed = |e: rusqlite::Error| OpenError::Failed(db_error(path, &e));
    // Never through a link: a planted one would have root write a database over its target.
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) {
        return Err(OpenError::NotARecording(format!(
            "refusing {}: it is a symbolic link (give the real path)",
            path.display()
        )));
    }
    let flags = rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW;
    let conn = Connection::open_with_flags(path, flags).map_err(failed)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| OpenError::NotARecording(not_a_recording(path, &e)))?;
    if version > SCHEMA_VERSION {
        return Err(OpenError::NotARecording(format!(
            "{} was written by a newer gputop (schema {version}; this one knows {SCHEMA_VERSION})",
            path.display()
        )));
    }
    let tables: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE name NOT IN ('meta', 'gpus', 'ticks', 'samples', 'processes', 'process_samples', 'events', 'minutes', 'process_minutes') AND type = 'table'", [], |r| r.get(0))
        .map_err(failed)?;
    if version == 0 && tables > 0 {
        return Err(OpenError::NotARecording(format!(
            "{} is another program's database, not a gputop recording",
            path.display()
        )));
    }
    conn.pragma_update(None, "journal_mode", "WAL").map_err(failed)?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(failed)?;
    // One transaction, the version with it: a recorder killed halfway leaves the file as it
    // was, and the next one upgrades it from the start.
    let upgrade = conn.unchecked_transaction().map_err(failed)?;
    if version == 1 {
        // Version 2 says whether each GPU's processes could be listed (NULL before).
        upgrade
            .execute_batch("ALTER TABLE samples ADD COLUMN processes_listed INTEGER")
            .map_err(failed)?;
    }
    if (1..4).contains(&version) {
        upgrade.execute_batch(PROCESSES_TO_VERSION_4).map_err(failed)?;
    }
    if (1..5).contains(&version) {
        // Version 5 says who made each GPU; the GPUs recorded before stay NULL: NVIDIA's.
        upgrade.execute_batch("ALTER TABLE gpus ADD COLUMN vendor TEXT").map_err(failed)?;
    }
    upgrade.execute_batch(SCHEMA).map_err(failed)?;
    upgrade.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(failed)?;
    upgrade.commit().map_err(failed)?;
    Ok(conn)
}

fn not_a_recording(path: &Path, e: &rusqlite::Error) -> String {
    format!("{} is not a gputop recording ({e})", path.display())
}

/// Opens a recording to read (while a recorder writes it, too); it must exist and be gputop's.
pub fn open(path: &Path) -> Result<Connection, OpenError> {
    if !path.exists() {
        return Err(OpenError::NotARecording(format!(
            "no recording at {} (start one with `gputop record`)",
            path.display()
        )));
    }
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| OpenError::Failed(db_error(path, &e)))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| OpenError::NotARecording(not_a_recording(path, &e)))?;
    match version {
        0 => Err(OpenError::NotARecording(format!("{} is not a gputop recording", path.display()))),
        1..=SCHEMA_VERSION => Ok(conn),
        v => Err(OpenError::NotARecording(format!(
            "{} has schema {v}; this gputop reads {SCHEMA_VERSION}",
            path.display()
        ))),
    }
}

/// When the recording's first and last samples were taken; `None` when it has none.
pub fn span(conn: &Connection) -> rusqlite::Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    let (first, last): (Option<i64>, Option<i64>) =
        conn.query_row("SELECT MIN(taken_at), MAX(taken_at) FROM ticks", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let at = |ms: Option<i64>| ms.and_then(DateTime::from_timestamp_millis);
    Ok(at(first).zip(at(last)))
}

pub fn db_error(path: &Path, e: &rusqlite::Error) -> String {
    format!("{}: {e}", path.display())
}
