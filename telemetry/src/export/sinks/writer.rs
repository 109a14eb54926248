//! A blocking [`Write`]r moved off the runtime: a dedicated thread writes what sinks
//! render, behind a buffer bounded in bytes.
//!
//! A sink renders a batch on its own task and hands the bytes over with
//! [`WriterThread::submit`], which never blocks: when the writer has stopped taking
//! bytes (a pipe nobody reads, a full disk, a stopped terminal) the buffer fills, and
//! from then on batches are dropped and counted until it drains. The thread is never
//! joined, so a writer blocked forever costs one parked thread, not a runtime worker,
//! the drain, the other sinks, or the process's exit.
//!
//! Spans and log records go through the same thread and the same bound (their lines
//! interleave in the order their batches were handed over); what is lost is counted
//! per signal ([`Items`]).

use crate::SinkError;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The default bound of a writer's buffer: 8 MiB of rendered spans and log records.
pub(crate) const DEFAULT_BUFFER_BYTES: usize = 8 << 20;

/// What a buffer handed to the thread holds: the spans and log records lost with it if
/// it is never written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Items {
    pub(crate) spans: u64,
    pub(crate) logs: u64,
}

impl Items {
    /// `n` spans.
    pub(crate) const fn spans(n: u64) -> Self {
        Self { spans: n, logs: 0 }
    }

    /// `n` log records.
    pub(crate) const fn logs(n: u64) -> Self {
        Self { spans: 0, logs: n }
    }
}

impl std::fmt::Display for Items {
    /// `3 spans`, `2 log records`, `3 spans and 2 log records`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.spans, self.logs) {
            (spans, 0) => write!(f, "{spans} spans"),
            (0, logs) => write!(f, "{logs} log records"),
            (spans, logs) => write!(f, "{spans} spans and {logs} log records"),
        }
    }
}

/// A count of spans and one of log records, shared between threads.
#[derive(Debug, Default)]
struct Counts {
    spans: AtomicU64,
    logs: AtomicU64,
}

impl Counts {
    fn add(&self, items: Items) {
        self.spans.fetch_add(items.spans, Relaxed);
        self.logs.fetch_add(items.logs, Relaxed);
    }

    fn sub(&self, items: Items) {
        self.spans.fetch_sub(items.spans, Relaxed);
        self.logs.fetch_sub(items.logs, Relaxed);
    }

    fn load(&self) -> Items {
        Items {
            spans: self.spans.load(Relaxed),
            logs: self.logs.load(Relaxed),
        }
    }
}

enum Job {
    Write { bytes: Vec<u8>, items: Items },
    Flush(oneshot::Sender<()>),
}

/// What the sink side and the writer thread share.
#[derive(Debug, Default)]
struct Shared {
    /// Bytes handed over and not yet written.
    queued_bytes: AtomicUsize,
    /// Spans and log records in those bytes.
    pending: Counts,
    /// Spans and log records lost: refused with a full buffer, or in a write that
    /// failed.
    dropped: Counts,
    /// The sink was shut down: what is still pending counts as lost.
    closed: AtomicBool,
    /// The last write error not yet reported to the pipeline.
    error: Mutex<Option<String>>,
    /// A written buffer given back for the next batch, so a steady stream of batches
    /// renders into the same memory.
    spare: Mutex<Option<Vec<u8>>>,
}

/// Buffers up to this size are given back for reuse; a larger one (a burst) is freed.
const MAX_SPARE_BYTES: usize = 4 << 20;

impl Shared {
    fn give_back(&self, mut bytes: Vec<u8>) {
        if bytes.capacity() <= MAX_SPARE_BYTES {
            if let Ok(mut spare) = self.spare.lock() {
                if spare.is_none() {
                    bytes.clear();
                    *spare = Some(bytes);
                }
            }
        }
    }
}

/// The thread and the bounded buffer in front of it.
#[derive(Debug)]
pub(crate) struct WriterThread {
    jobs: mpsc::Sender<Job>,
    shared: Arc<Shared>,
    max_bytes: usize,
    name: &'static str,
}

impl WriterThread {
    /// Starts a thread named `telemetry-{name}` that writes into `out`.
    pub(crate) fn spawn(
        name: &'static str,
        mut out: Box<dyn Write + Send>,
        max_bytes: usize,
    ) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        std::thread::Builder::new()
            .name(format!("telemetry-{name}"))
            .spawn(move || {
                for job in rx {
                    match job {
                        Job::Write { bytes, items } => {
                            // One buffer per batch: a line never interleaves with another
                            // batch's, and a failed write loses exactly its items.
                            let written = out.write_all(&bytes).and_then(|()| out.flush());
                            if let Err(e) = written {
                                theirs.dropped.add(items);
                                if let Ok(mut slot) = theirs.error.lock() {
                                    *slot = Some(format!("{name} write failed: {e}"));
                                }
                            }
                            theirs.pending.sub(items);
                            theirs.queued_bytes.fetch_sub(bytes.len(), Relaxed);
                            theirs.give_back(bytes);
                        }
                        Job::Flush(ack) => {
                            let _ = out.flush();
                            let _ = ack.send(());
                        }
                    }
                }
            })?;
        Ok(Self {
            jobs,
            shared,
            max_bytes,
            name,
        })
    }

    /// An empty buffer to render the next batch into: the last one written, given back,
    /// or a new one.
    pub(crate) fn buffer(&self) -> Vec<u8> {
        self.shared
            .spare
            .lock()
            .ok()
            .and_then(|mut spare| spare.take())
            .unwrap_or_else(|| Vec::with_capacity(64 << 10))
    }

    /// Hands `bytes` (holding `spans` spans) to the thread, or drops them, counted, if
    /// the buffer would pass its bound. Never blocks.
    pub(crate) fn submit(&self, bytes: Vec<u8>, spans: u64) -> Result<(), SinkError> {
        self.submit_items(bytes, Items::spans(spans))
    }

    /// Hands `bytes` (holding `items`) to the thread, or drops them, counted per
    /// signal, if the buffer would pass its bound. Never blocks.
    pub(crate) fn submit_items(&self, bytes: Vec<u8>, items: Items) -> Result<(), SinkError> {
        let queued = self.shared.queued_bytes.load(Relaxed);
        // An empty buffer takes any batch, so one larger than the bound still goes out.
        if queued > 0 && queued + bytes.len() > self.max_bytes {
            self.shared.dropped.add(items);
            self.shared.give_back(bytes);
            return Err(SinkError::new(format!(
                "{} writer stalled: {queued} bytes still waiting to be written, {items} dropped",
                self.name
            )));
        }
        let len = bytes.len();
        self.shared.queued_bytes.fetch_add(len, Relaxed);
        self.shared.pending.add(items);
        if self.jobs.send(Job::Write { bytes, items }).is_err() {
            // The thread is gone (it panicked in the writer): nothing will be written.
            self.shared.queued_bytes.fetch_sub(len, Relaxed);
            self.shared.pending.sub(items);
            self.shared.dropped.add(items);
            return Err(SinkError::new(format!(
                "{} writer thread has stopped",
                self.name
            )));
        }
        Ok(())
    }

    /// A write error the thread met since the last call (each is reported once; the
    /// items it lost are already counted).
    pub(crate) fn check(&self) -> Result<(), SinkError> {
        match self.shared.error.lock().ok().and_then(|mut e| e.take()) {
            Some(error) => Err(SinkError::new(error)),
            None => Ok(()),
        }
    }

    /// Waits until everything handed over before this call is written and the writer
    /// flushed. Pending while the writer is stalled: the pipeline's `sink_timeout`
    /// bounds the wait.
    pub(crate) async fn flush(&self) -> Result<(), SinkError> {
        let (ack, done) = oneshot::channel();
        if self.jobs.send(Job::Flush(ack)).is_err() || done.await.is_err() {
            return Err(SinkError::new(format!(
                "{} writer thread has stopped",
                self.name
            )));
        }
        self.check()
    }

    /// From now on, spans and log records not yet written count as lost (they are,
    /// unless the writer takes them before the process exits).
    pub(crate) fn close(&self) {
        self.shared.closed.store(true, Relaxed);
    }

    /// Spans and log records lost so far: dropped with a full buffer, failed writes,
    /// and once closed, those still waiting.
    pub(crate) fn dropped(&self) -> Items {
        let dropped = self.shared.dropped.load();
        if !self.shared.closed.load(Relaxed) {
            return dropped;
        }
        let pending = self.shared.pending.load();
        Items {
            spans: dropped.spans + pending.spans,
            logs: dropped.logs + pending.logs,
        }
    }

    /// Spans lost so far ([`dropped`](Self::dropped)).
    pub(crate) fn spans_dropped(&self) -> u64 {
        self.dropped().spans
    }

    /// Log records lost so far ([`dropped`](Self::dropped)).
    pub(crate) fn logs_dropped(&self) -> u64 {
        self.dropped().logs
    }
}

/// The writers the sinks' unit tests write into, read back or hold up: the file the
/// integration tests include too.
#[cfg(test)]
#[path = "../../../tests/common/writers.rs"]
pub(super) mod test_writers;

#[cfg(test)]
mod tests {
    use super::test_writers::Gate;
    use super::*;

    #[tokio::test]
    async fn a_stalled_writer_fills_its_buffer_then_drops_counted() {
        let gate = Gate::default();
        let w = WriterThread::spawn("test", Box::new(gate.clone()), 100).unwrap();
        // The first batch is taken by the thread (which then blocks in `write`); the
        // buffer then holds what fits in 100 bytes.
        assert!(w.submit(vec![b'a'; 60], 6).is_ok());
        assert!(w.submit(vec![b'b'; 30], 3).is_ok());
        let refused = w.submit(vec![b'c'; 30], 3).unwrap_err();
        assert!(refused.to_string().contains("stalled"), "{refused}");
        assert_eq!(w.spans_dropped(), 3);
        // Released: what was accepted is written, in order; nothing else is lost.
        gate.open();
        w.flush().await.unwrap();
        let written = gate.written();
        assert_eq!(written.len(), 90);
        assert!(written[..60].iter().all(|&b| b == b'a'));
        assert_eq!(w.spans_dropped(), 3);
    }

    /// Spans and log records share the thread and its bound; what is lost is counted
    /// per signal.
    #[tokio::test]
    async fn spans_and_logs_share_the_bound_and_are_counted_apart() {
        let gate = Gate::default();
        let w = WriterThread::spawn("test", Box::new(gate.clone()), 100).unwrap();
        w.submit_items(vec![b'a'; 60], Items::logs(6)).unwrap();
        w.submit_items(vec![b'b'; 30], Items::spans(3)).unwrap();
        let refused = w.submit_items(vec![b'c'; 30], Items::logs(2)).unwrap_err();
        assert!(
            refused.to_string().ends_with("2 log records dropped"),
            "{refused}"
        );
        w.submit(vec![b'd'; 30], 4).unwrap_err();
        assert_eq!(w.dropped(), Items { spans: 4, logs: 2 });
        w.close();
        assert_eq!((w.spans_dropped(), w.logs_dropped()), (7, 8));
        gate.open();
        w.flush().await.unwrap();
        assert_eq!((w.spans_dropped(), w.logs_dropped()), (4, 2));
        assert_eq!(
            Items { spans: 3, logs: 2 }.to_string(),
            "3 spans and 2 log records"
        );
    }

    #[tokio::test]
    async fn spans_still_waiting_at_close_count_as_dropped() {
        let gate = Gate::default();
        let w = WriterThread::spawn("test", Box::new(gate.clone()), 1 << 20).unwrap();
        w.submit(vec![b'a'; 10], 4).unwrap();
        w.submit(vec![b'b'; 10], 5).unwrap();
        assert_eq!(w.spans_dropped(), 0);
        w.close();
        assert_eq!(w.spans_dropped(), 9);
        gate.open();
        w.flush().await.unwrap();
        assert_eq!(w.spans_dropped(), 0, "written after all");
    }

    #[tokio::test]
    async fn write_errors_lose_their_batch_and_are_reported_once() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let w = WriterThread::spawn("test", Box::new(Broken), 1 << 20).unwrap();
        w.submit(b"x\n".to_vec(), 2).unwrap();
        let error = w.flush().await.unwrap_err();
        assert!(error.to_string().contains("write failed"), "{error}");
        assert_eq!(w.spans_dropped(), 2);
        // Each failure is reported once, by `check` or `flush`.
        assert!(w.check().is_ok());
        w.submit(b"y\n".to_vec(), 1).unwrap();
        assert!(w.flush().await.is_err());
        assert_eq!(w.spans_dropped(), 3);
    }
}
