//! `gputop record`'s run: the poller's samples into a database until Ctrl-C, SIGTERM or
//! SIGHUP; and the [`Recorder`] that `gputop serve --record` writes with too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};

use crate::poller::Poller;
use crate::record::{self, Writer};
use crate::sample::Snapshot;
use crate::source::Source;
use crate::Error;

/// A recording being written: the file locked against a second recorder, and whether writing
/// is failing (a full disk, a size limit), said once when it starts and once when it ends.
pub struct Recorder {
    path: PathBuf,
    _lock: record::RecorderLock,
    writer: Writer,
    keep_raw: Duration,
    keep: Duration,
    failing: bool,
}

impl Recorder {
    /// Opens (or creates) the recording at `path`, or the default one.
    pub fn open(
        path: &Path,
        interval: Duration,
        keep_raw: Duration,
        keep: Duration,
    ) -> Result<Self, Error> {
        // A file size limit must fail the write (EFBIG), not kill the recorder (SIGXFSZ).
        // SAFETY: setting a signal's disposition to ignore has no preconditions.
        unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
        let path = path.to_path_buf();
        // A missing directory is made, and said: a mistyped --out shows at once.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::Recording(format!(
                    "cannot create the directory {} for {}: {e}",
                    dir.display(),
                    path.display()
                ))
            })?;
            eprintln!("gputop: created the directory {} for the recording", dir.display());
        }
        let lock = record::RecorderLock::take(&path).map_err(Error::Usage)?;
        let conn = record::create(&path)?;
        let writer = Writer::new(conn, interval)
            .map_err(|e| Error::Recording(record::db_error(&path, &e)))?;
        Ok(Self { path, _lock: lock, writer, keep_raw, keep, failing: false })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one sample. A full disk or a size limit: say so once, keep sampling, and write
    /// again once there is room (the report shows the gap).
    pub fn write(&mut self, snapshot: &Snapshot) {
        let written = self.writer.write(snapshot).and_then(|()| {
            let now = snapshot.taken_at.timestamp_millis();
            self.writer.prune(now, self.keep_raw, self.keep)
        });
        match written {
            Err(e) if !self.failing => {
                let why = match self.writer.os_error() {
                    Some(os) => format!("{e}: {os}"),
                    None => e.to_string(),
                };
                eprintln!(
                    "gputop: cannot write {}: {why}; still sampling, writing resumes when it can",
                    self.path.display()
                );
                self.failing = true;
            }
            Err(_) => {}
            Ok(()) if self.failing => {
                eprintln!("gputop: writing {} again", self.path.display());
                self.failing = false;
            }
            Ok(()) => {}
        }
    }
}

impl Drop for Recorder {
    /// The current minute's rollup, so a report has it without summing its raw samples.
    fn drop(&mut self) {
        let _ = self.writer.finish();
    }
}

/// Where to record and how long to keep what (`record`, and `serve --record`).
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// The database (`--out`, else the default place).
    pub out: PathBuf,
    /// Keep raw samples this long.
    pub keep_raw: Duration,
    /// Keep the per-minute rollups and events this long.
    pub keep: Duration,
}

pub fn run(source: Box<dyn Source>, args: &RecordOptions, interval: Duration) -> Result<(), Error> {
    let mut recorder = Recorder::open(&args.out, interval, args.keep_raw, args.keep)?;
    eprintln!(
        "gputop: recording every {}s into {}",
        interval.as_secs_f64(),
        recorder.path().display()
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = runtime.block_on(async {
        let mut poller = Poller::spawn(source, interval);
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut hangup = signal(SignalKind::hangup())?;
        loop {
            tokio::select! {
                polled = poller.next() => match polled {
                    Some(Ok(snapshot)) => recorder.write(&snapshot),
                    Some(Err(e)) => return Err(Error::Sampling(e.to_string())),
                    None => return Err(Error::Sampling("the sampler stopped".into())),
                },
                _ = interrupt.recv() => return Ok(()),
                _ = terminate.recv() => return Ok(()),
                _ = hangup.recv() => return Ok(()),
            }
        }
    });
    runtime.shutdown_background();
    result
}
