//! A bounded in-memory sink for tests and debugging.

use crate::{MetricsSnapshot, Sink, SinkFuture, SpanBatch, SpanData};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// Keeps the most recent spans (up to a capacity) and the latest metric snapshot in
/// memory. Thread-safe; reads return snapshot copies. When full, the oldest spans are
/// evicted and counted.
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
#[derive(Debug)]
pub struct InMemorySink {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    spans: VecDeque<SpanData>,
    evicted: u64,
    metrics: Option<Arc<MetricsSnapshot>>,
}

impl InMemorySink {
    /// A sink keeping at most `capacity` spans (at least one).
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
}
