//! The background log writer when alerting-core is built without its
//! `log-files` feature: std only, the same behaviour as tracing-appender's
//! lossy non-blocking writer (which the `log-files` build uses).
//!
//! Each formatted event is one message on a bounded channel; one thread,
//! `alerting-log`, writes them to the sink in order and flushes it when the
//! channel is momentarily empty. When the channel is full the line is
//! dropped (and counted) rather than blocking the task that logged it.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// Lines buffered before new ones are dropped: tracing-appender's default.
const BUFFERED_LINES: usize = 128_000;
/// How long the guard tries to queue its shutdown message.
const SIGNAL_TIMEOUT: Duration = Duration::from_millis(100);
/// How long the guard then waits for the thread to write what is queued.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

enum Msg {
    Line(Vec<u8>),
    Shutdown,
}

/// The writer the fmt layer writes to: queues each event's bytes.
#[derive(Clone)]
pub(crate) struct NonBlocking {
    sender: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl io::Write for &NonBlocking {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.sender.try_send(Msg::Line(buf.to_vec())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The guard was dropped: the writer has stopped and lines are
            // lost, as documented on `LogGuard`.
            Err(TrySendError::Disconnected(_)) => {}
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for NonBlocking {
    type Writer = &'a NonBlocking;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// Stops the thread, after it has written what is queued, when dropped.
pub(crate) struct WorkerGuard {
    sender: SyncSender<Msg>,
    done: Receiver<()>,
    handle: Option<JoinHandle<()>>,
    dropped: Arc<AtomicU64>,
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        // Queue the shutdown behind the lines already queued; if the
        // channel stays full, stop waiting after SIGNAL_TIMEOUT.
        let deadline = Instant::now() + SIGNAL_TIMEOUT;
        let mut msg = Msg::Shutdown;
        loop {
            match self.sender.try_send(msg) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => break,
                Err(TrySendError::Full(back)) => {
                    if Instant::now() >= deadline {
                        break;
                    }
                    msg = back;
                    thread::sleep(Duration::from_millis(1));
                }
            }
        }
        // The thread says when it is done; join it only then, so that a
        // stuck sink cannot hold the caller for longer than FLUSH_TIMEOUT.
        if self.done.recv_timeout(FLUSH_TIMEOUT).is_ok()
            && let Some(handle) = self.handle.take()
        {
            let _ = handle.join();
        }
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            eprintln!(
                "alerting-log: {dropped} log lines were dropped because the log buffer was full"
            );
        }
    }
}

/// The writer and the guard of a new `alerting-log` thread writing to
/// `sink`.
pub(crate) fn non_blocking(sink: impl io::Write + Send + 'static) -> (NonBlocking, WorkerGuard) {
    non_blocking_with(sink, BUFFERED_LINES)
}

fn non_blocking_with(
    mut sink: impl io::Write + Send + 'static,
    capacity: usize,
) -> (NonBlocking, WorkerGuard) {
    let (sender, receiver) = mpsc::sync_channel::<Msg>(capacity);
    let (done_tx, done) = mpsc::sync_channel::<()>(1);
    let dropped = Arc::new(AtomicU64::new(0));
    let spawned = thread::Builder::new()
        .name("alerting-log".to_owned())
        .spawn(move || {
            work(&receiver, &mut sink);
            let _ = sink.flush();
            let _ = done_tx.send(());
        });
    let handle = match spawned {
        Ok(handle) => Some(handle),
        // No thread: every line is lost (the receiver is gone, so writes
        // see a closed channel), the same as after the guard is dropped.
        Err(e) => {
            eprintln!("alerting-log: cannot start the log writer thread: {e}");
            None
        }
    };
    (
        NonBlocking {
            sender: sender.clone(),
            dropped: Arc::clone(&dropped),
        },
        WorkerGuard {
            sender,
            done,
            handle,
            dropped,
        },
    )
}

fn work(receiver: &Receiver<Msg>, sink: &mut impl io::Write) {
    while let Ok(msg) = receiver.recv() {
        let mut next = Some(msg);
        // Write what is queued, then flush once.
        while let Some(msg) = next {
            match msg {
                Msg::Line(line) => {
                    let _ = sink.write_all(&line);
                }
                Msg::Shutdown => return,
            }
            next = receiver.try_recv().ok();
        }
        let _ = sink.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::sync::Mutex;

    /// A sink that says when it has a line, then waits for `gate`.
    struct Gated {
        started: SyncSender<()>,
        gate: Arc<Mutex<()>>,
        out: Arc<Mutex<Vec<u8>>>,
    }

    impl io::Write for Gated {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _ = self.started.try_send(());
            let _open = self.gate.lock().unwrap();
            self.out.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_channel_drops_and_counts_lines() {
        let gate = Arc::new(Mutex::new(()));
        let out = Arc::new(Mutex::new(Vec::new()));
        let (started_tx, started) = mpsc::sync_channel(1);
        let held = gate.lock().unwrap();
        let sink = Gated {
            started: started_tx,
            gate: Arc::clone(&gate),
            out: Arc::clone(&out),
        };
        let (writer, guard) = non_blocking_with(sink, 2);
        let mut w = &writer;
        // The thread takes line 0 and waits on the gate; lines 1 and 2
        // fill the channel; 3 to 9 are dropped.
        w.write_all(b"0\n").unwrap();
        started.recv().unwrap();
        for i in 1..10 {
            w.write_all(format!("{i}\n").as_bytes()).unwrap();
        }
        assert_eq!(writer.dropped.load(Ordering::Relaxed), 7);
        drop(held);
        drop(guard);
        assert_eq!(&*out.lock().unwrap(), b"0\n1\n2\n");
        // What is written after the guard is dropped is lost, silently.
        w.write_all(b"late\n").unwrap();
        assert_eq!(&*out.lock().unwrap(), b"0\n1\n2\n");
    }
}
