//! `gputop record`: the poller's samples into a database until Ctrl-C, SIGTERM or SIGHUP.

use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};

use crate::cli::RecordArgs;
use crate::poller::Poller;
use crate::record::{self, Writer};
use crate::source::Source;
use crate::Error;

pub fn run(source: Box<dyn Source>, args: &RecordArgs, interval: Duration) -> Result<(), Error> {
    // A file size limit must fail the write (EFBIG), not kill the recorder (SIGXFSZ).
    // SAFETY: setting a signal's disposition to ignore has no preconditions.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let path = match (&args.out, record::default_path()) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => p,
        (None, None) => {
            return Err(Error::Usage("no place for the recording: give --out PATH".into()))
        }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Recording(format!("cannot create {}: {e}", dir.display())))?;
    }
    let _lock = record::RecorderLock::take(&path).map_err(Error::Usage)?;
    let conn = record::create(&path)?;
    let mut writer =
        Writer::new(conn, interval).map_err(|e| Error::Recording(record::db_error(&path, &e)))?;
    let mut failing = false;
    eprintln!("gputop: recording every {}s into {}", interval.as_secs_f64(), path.display());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = runtime.block_on(async {
        let mut poller = Poller::spawn(source, interval);
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut hangup = signal(SignalKind::hangup())?;
        loop {
            tokio::select! {
                polled = poller.next() => match polled {
                    Some(Ok(snapshot)) => {
                        // A full disk or a size limit: say so once, keep sampling, and write
                        // again once there is room (the report shows the gap).
                        let written = writer.write(&snapshot).and_then(|()| {
                            writer.prune(snapshot.taken_at.timestamp_millis(), args.keep_raw)
                        });
                        match written {
                            Err(e) if !failing => {
                                eprintln!("gputop: cannot write {}: {e}; still sampling, writing resumes when it can", path.display());
                                failing = true;
                            }
                            Err(_) => {}
                            Ok(()) if failing => {
                                eprintln!("gputop: writing {} again", path.display());
                                failing = false;
                            }
                            Ok(()) => {}
                        }
                    }
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
