//! A bounded in-memory sink for tests and debugging.

use crate::{LogBatch, LogRecord, MetricsSnapshot, Sink, SinkFuture, SpanBatch, SpanData};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// Keeps the most recent spans and log records (up to a capacity each) and the latest
/// metric snapshot in memory. Thread-safe; reads return snapshot copies. When full, the
/// oldest spans (or log records) are evicted and counted.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::Arc;
/// use telem::{Config, InMemorySink, Tracer};
///
/// let sink = Arc::new(InMemorySink::new(100));
/// let pipeline = telem::init(Config::new().with_sink(sink.clone())).unwrap();
/// Tracer::new("doc").in_span("load", |_| {});
/// pipeline.drain_now().await;
/// assert_eq!(sink.span_names(), ["load"]);
/// pipeline.shutdown().await;
/// # }
/// ```
///
/// Log records are kept beside the spans, with the same names for the same reads:
/// [`logs`](Self::logs), [`log_bodies`](Self::log_bodies),
/// [`take_logs`](Self::take_logs), [`logs_evicted`](Self::logs_evicted).
///
/// ```
/// # futures::executor::block_on(async {
/// use std::sync::Arc;
/// use telem::{InMemorySink, Level, LogRecord, Sink};
///
/// let sink = InMemorySink::new(100);
/// let batch = Arc::new(vec![LogRecord::new(Level::Warn, "book not found")]);
/// sink.export_logs(batch).await.unwrap();
/// assert_eq!(sink.log_bodies(), ["book not found"]);
/// assert_eq!(sink.take_logs()[0].level(), Some(Level::Warn));
/// assert!(sink.logs().is_empty());
/// # });
/// ```
#[derive(Debug)]
pub struct InMemorySink {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    spans: VecDeque<SpanData>,
    evicted: u64,
    logs: VecDeque<LogRecord>,
    logs_evicted: u64,
    metrics: Option<Arc<MetricsSnapshot>>,
}

impl InMemorySink {
    /// A sink keeping at most `capacity` spans and `capacity` log records (at least
    /// one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave `Inner` inconsistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the spans held, oldest first.
    pub fn spans(&self) -> Vec<SpanData> {
        self.lock().spans.iter().cloned().collect()
    }

    /// The names of the spans held, oldest first.
    pub fn span_names(&self) -> Vec<String> {
        self.lock()
            .spans
            .iter()
            .map(|s| s.name.to_string())
            .collect()
    }

    /// How many spans are held.
    pub fn len(&self) -> usize {
        self.lock().spans.len()
    }

    /// Whether no span is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many spans were evicted to respect the capacity.
    pub fn evicted(&self) -> u64 {
        self.lock().evicted
    }

    /// The latest metric snapshot received.
    pub fn latest_metrics(&self) -> Option<Arc<MetricsSnapshot>> {
        self.lock().metrics.clone()
    }

    /// Removes and returns every span held.
    pub fn take(&self) -> Vec<SpanData> {
        self.lock().spans.drain(..).collect()
    }

    /// A copy of the log records held, oldest first.
    pub fn logs(&self) -> Vec<LogRecord> {
        self.lock().logs.iter().cloned().collect()
    }

    /// The bodies (messages) of the log records held, oldest first.
    pub fn log_bodies(&self) -> Vec<String> {
        self.lock()
            .logs
            .iter()
            .map(|r| r.body.to_string())
            .collect()
    }

    /// How many log records were evicted to respect the capacity.
    pub fn logs_evicted(&self) -> u64 {
        self.lock().logs_evicted
    }

    /// Removes and returns every log record held.
    pub fn take_logs(&self) -> Vec<LogRecord> {
        self.lock().logs.drain(..).collect()
    }
}

impl Sink for InMemorySink {
    fn name(&self) -> &str {
        "memory"
    }

    fn export_spans(&self, batch: SpanBatch) -> SinkFuture<'_> {
        Box::pin(async move {
            let mut inner = self.lock();
            for span in batch.iter() {
                if inner.spans.len() == self.capacity {
                    inner.spans.pop_front();
                    inner.evicted += 1;
                }
                inner.spans.push_back(span.clone());
            }
            Ok(())
        })
    }

    fn export_metrics(&self, snapshot: Arc<MetricsSnapshot>) -> SinkFuture<'_> {
        Box::pin(async move {
            self.lock().metrics = Some(snapshot);
            Ok(())
        })
    }

    fn export_logs(&self, batch: LogBatch) -> SinkFuture<'_> {
        Box::pin(async move {
            let mut inner = self.lock();
            for record in batch.iter() {
                if inner.logs.len() == self.capacity {
                    inner.logs.pop_front();
                    inner.logs_evicted += 1;
                }
                inner.logs.push_back(record.clone());
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Level;

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        futures::executor::block_on(f)
    }

    #[test]
    fn logs_are_kept_beside_spans_oldest_first_and_evicted_past_the_capacity() {
        let sink = InMemorySink::new(2);
        let batch: LogBatch = Arc::new(
            ["a", "b", "c"]
                .into_iter()
                .map(|m| LogRecord::new(Level::Info, m))
                .collect(),
        );
        block_on(sink.export_logs(batch)).unwrap();
        assert_eq!(sink.log_bodies(), ["b", "c"]);
        assert_eq!(sink.logs_evicted(), 1);
        // Logs are not spans.
        assert!(sink.is_empty());
        assert_eq!(sink.evicted(), 0);
        assert_eq!(sink.logs().len(), 2);
        let taken = sink.take_logs();
        assert_eq!(taken.len(), 2);
        assert_eq!(taken[1].body, "c");
        assert!(sink.logs().is_empty());
        assert_eq!(
            sink.logs_dropped(),
            0,
            "evicted records are not lost by the sink"
        );
    }
}
