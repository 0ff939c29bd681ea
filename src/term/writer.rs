//! Output written on a thread of its own, so that a terminal that stops reading cannot stop
//! the event loop.
//!
//! When an SSH link stalls, the terminal's buffer fills and `write` blocks until the link
//! comes back, which may be never. Written from the event loop, that `write` held up
//! everything else: keys, and SIGTERM, SIGHUP and SIGINT, which gputop handles in that loop
//! (to restore the terminal) and so did not act on. Here only the writing thread blocks.
//!
//! The descriptor stays blocking (it is shared with the user's shell, which must not find it
//! non-blocking after gputop exits), and at most one frame is handed over at a time: the
//! caller paints the next frame only once [`BackgroundWriter::is_busy`] says the last is
//! written. Frames that would have been painted meanwhile are simply never painted, so the
//! newest state goes out next, and a screen that draws only what changed always compares
//! with what was really written; nothing is ever dropped half-way.

use std::io::{self, Write};
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// How long quitting on a signal waits for the output to take what is left (the monitor's
/// restoring sequences, the last `--watch` lines): a terminal that reads nothing (a stalled
/// SSH link) never takes it, and the quit must not wait for it. Well under the half second
/// a user (or a service manager) should wait for a signalled gputop to be gone.
pub const QUIT_WAIT: Duration = Duration::from_millis(200);

/// Gathers what is written until `flush`, then hands it to the writing thread.
pub struct BackgroundWriter {
    /// Written since the last hand-over.
    pending: Vec<u8>,
    /// Buffers to write, in order.
    to_write: mpsc::Sender<Vec<u8>>,
    /// Each buffer back once written (emptied, to be used again), with how the write went.
    written: UnboundedReceiver<(Vec<u8>, io::Result<()>)>,
    /// Handed over and not yet back.
    in_flight: usize,
}

impl BackgroundWriter {
    /// Starts the thread that writes to `out`.
    pub fn spawn(mut out: impl Write + Send + 'static) -> io::Result<Self> {
        let (to_write, to_thread) = mpsc::channel::<Vec<u8>>();
        let (back, written) = unbounded_channel();
        std::thread::Builder::new().name("gputop-output".into()).spawn(move || {
            // Ends when the writer is dropped, or when the process exits while a write
            // blocks (never joined: that is the point).
            while let Ok(mut bytes) = to_thread.recv() {
                let result = out.write_all(&bytes).and_then(|()| out.flush());
                bytes.clear();
                if back.send((bytes, result)).is_err() {
                    break;
                }
            }
        })?;
        Ok(Self { pending: Vec::new(), to_write, written, in_flight: 0 })
    }

    /// Whether something handed over is still being written.
    pub fn is_busy(&self) -> bool {
        self.in_flight > 0
    }

    /// Waits until what is being written is written (cancel-safe: for `select!`, guarded by
    /// [`BackgroundWriter::is_busy`]), then hands over what was written to this writer
    /// meanwhile, if anything. The write's error, if it failed.
    pub async fn written(&mut self) -> io::Result<()> {
        let Some((mut bytes, result)) = self.written.recv().await else {
            return Err(io::Error::other("the output thread stopped"));
        };
        self.in_flight -= 1;
        if self.in_flight == 0 && !self.pending.is_empty() {
            std::mem::swap(&mut bytes, &mut self.pending);
            self.hand_over(bytes);
        } else if self.pending.capacity() == 0 {
            self.pending = bytes; // its allocation, again
        }
        result
    }

    /// Hands over `last` after everything else, and waits for all of it to be written: for
    /// at most `within` when given (a terminal that reads nothing would never take it),
    /// otherwise as long as it takes. Whether all of it was written.
    pub async fn finish(&mut self, last: &[u8], within: Option<Duration>) -> io::Result<bool> {
        self.pending.extend_from_slice(last);
        self.flush()?;
        let drain = async {
            while self.is_busy() {
                self.written().await?;
            }
            Ok(())
        };
        match within {
            Some(limit) => match tokio::time::timeout(limit, drain).await {
                Ok(result) => result.map(|()| true),
                Err(_) => Ok(false),
            },
            None => drain.await.map(|()| true),
        }
    }

    fn hand_over(&mut self, bytes: Vec<u8>) {
        // A stopped thread is reported by `written`.
        if self.to_write.send(bytes).is_ok() {
            self.in_flight += 1;
        }
    }
}

impl Write for BackgroundWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    /// Hands over what was written, unless something is still being written: then it goes
    /// once that is done ([`BackgroundWriter::written`]). Never blocks.
    fn flush(&mut self) -> io::Result<()> {
        if !self.is_busy() && !self.pending.is_empty() {
            let bytes = std::mem::take(&mut self.pending);
            self.hand_over(bytes);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// An output that takes nothing until opened, like a stalled terminal.
    #[derive(Clone, Default)]
    struct Gate {
        open: Arc<(Mutex<bool>, std::sync::Condvar)>,
        taken: Arc<Mutex<Vec<u8>>>,
    }

    impl Gate {
        fn open(&self) {
            *self.open.0.lock().unwrap() = true;
            self.open.1.notify_all();
        }
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let (lock, opened) = &*self.open;
            let _open = opened.wait_while(lock.lock().unwrap(), |open| !*open).unwrap();
            self.taken.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn a_stalled_output_blocks_only_its_thread_and_nothing_is_lost_or_reordered() {
        runtime().block_on(async {
            let gate = Gate::default();
            let mut w = BackgroundWriter::spawn(gate.clone()).unwrap();
            w.write_all(b"one ").unwrap();
            w.flush().unwrap();
            assert!(w.is_busy());
            // Written while busy: kept, not handed over (flush does not block).
            w.write_all(b"two ").unwrap();
            w.flush().unwrap();
            // A stalled output: the wait gives up in time.
            let done = w.finish(b"last", Some(Duration::from_millis(50))).await.unwrap();
            assert!(!done);
            assert!(gate.taken.lock().unwrap().is_empty());
            gate.open();
            assert!(w.finish(b"", None).await.unwrap());
            assert_eq!(gate.taken.lock().unwrap().as_slice(), b"one two last");
            assert!(!w.is_busy());
        });
    }

    #[test]
    fn a_failed_write_is_reported() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        runtime().block_on(async {
            let mut w = BackgroundWriter::spawn(Broken).unwrap();
            w.write_all(b"x").unwrap();
            w.flush().unwrap();
            let e = w.written().await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        });
    }
}
