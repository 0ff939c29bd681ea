//! `gputop record`: the poller's samples into a database until Ctrl-C, SIGTERM or SIGHUP.

use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};

use crate::cli::RecordArgs;
use crate::poller::Poller;
use crate::record::{self, Writer};
use crate::source::Source;
use crate::Error;

pub fn run(source: Box<dyn Source>, args: &RecordArgs, interval: Duration) -> Result<(), Error> {
    let path = match (&args.out, record::default_path()) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => p,
        (None, None) => {
            return Err(Error::Usage("no place for the recording: give --out PATH".into()))
        }
    };
    let conn = record::create(&path).map_err(Error::Recording)?;
    let mut writer =
        Writer::new(conn, interval).map_err(|e| Error::Recording(record::db_error(&path, &e)))?;
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
                        let fail = |e: rusqlite::Error| Error::Recording(record::db_error(&path, &e));
                        writer.write(&snapshot).map_err(fail)?;
                        writer.prune(snapshot.taken_at.timestamp_millis(), args.keep_raw).map_err(fail)?;
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
