//! Where drained spans and metric snapshots go.

use crate::SpanData;
use std::sync::Arc;

/// A batch of finished spans, shared by every sink (no copy per sink).
pub type SpanBatch = Arc<Vec<SpanData>>;

/// A destination for spans and metric snapshots: stdout, memory, Prometheus, OTLP, yours.
///
/// Each sink runs in its own task behind a bounded queue: a sink that is slow, fails,
/// panics or hangs past the pipeline's `sink_timeout` loses only its own batches (they
/// are counted), never the other sinks'.
///
/// **The `export_*` methods must not block.** They run on the runtime's worker
/// threads, where a blocking call (a `write` to a pipe or file, a synchronous client, a
/// `std::sync::Mutex` held across I/O) stalls every task of that worker, and no timeout
/// can interrupt it. Await asynchronous I/O, or hand blocking work to a thread of its
/// own behind a bounded queue and count what the queue refuses (as
/// [`StdoutSink`](crate::StdoutSink) does), reporting it through
/// [`spans_dropped`](Sink::spans_dropped). For occasional blocking calls,
/// `tokio::task::spawn_blocking` will do:
///
/// ```
/// use std::io::Write;
/// use std::sync::{Arc, Mutex};
/// use telemetry::{async_trait, Sink, SinkError, SpanBatch};
///
/// #[derive(Debug)]
/// struct FileSink(Arc<Mutex<std::fs::File>>);
///
/// #[async_trait]
/// impl Sink for FileSink {
///     async fn export_spans(&self, batch: SpanBatch) -> Result<(), SinkError> {
///         let file = self.0.clone();
///         // The write happens on tokio's blocking pool; the sink's task only awaits it.
///         tokio::task::spawn_blocking(move || {
///             let mut file = file.lock().map_err(|_| SinkError::new("file poisoned"))?;
///             for span in batch.iter() {
///                 writeln!(file, "{}", span.name)?;
///             }
///             Ok(())
///         })
///         .await
///         .map_err(|e| SinkError::with_source("the write task failed", e))?
///     }
/// }
/// ```
///
/// A sink that spins in async code without ever reaching an `.await` holds its worker
/// thread the same way: nothing in a cooperative runtime can take it back.
///
/// Implement it with [`async_trait`](crate::async_trait):
///
/// ```
/// use telemetry::{async_trait, Sink, SinkError, SpanBatch};
///
/// #[derive(Debug)]
/// struct CountingSink(std::sync::atomic::AtomicUsize);
///
/// #[async_trait]
/// impl Sink for CountingSink {
///     async fn export_spans(&self, batch: SpanBatch) -> Result<(), SinkError> {
///         self.0.fetch_add(batch.len(), std::sync::atomic::Ordering::Relaxed);
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Sink: Send + Sync + std::fmt::Debug + 'static {
    /// A short name used in self-metrics and error reports. Defaults to the type name.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }

    /// Receives a batch of finished spans.
    async fn export_spans(&self, batch: SpanBatch) -> Result<(), SinkError>;

    /// Receives the metric snapshot taken at a drain tick. Default: ignore.
    async fn export_metrics(&self, snapshot: Arc<crate::MetricsSnapshot>) -> Result<(), SinkError> {
        let _ = snapshot;
        Ok(())
    }

    /// Pushes out anything buffered. Default: nothing to do.
    async fn flush(&self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Releases resources; called once, after a final flush. Default: nothing to do.
    async fn shutdown(&self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Spans this sink accepted (`export_spans` returned `Ok`, or an error after
    /// counting them here) but lost inside: its own queue or buffer was full, an export
    /// was given up, or, once [`shutdown`](Sink::shutdown) has been called, they were
    /// still waiting. Cumulative; the pipeline adds it to this sink's
    /// [`SinkStats::spans_dropped`](crate::SinkStats::spans_dropped) (the
    /// `telemetry_sink_spans_dropped_total` self-metric). Must not block. Default 0.
    fn spans_dropped(&self) -> u64 {
        0
    }

    /// Whether [`spans_dropped`](Sink::spans_dropped) already counts the spans of an
    /// `export_spans` call that failed (returned an error, timed out or panicked).
    /// Default `false`: the pipeline counts every span of a failed call as dropped by
    /// this sink. A sink that keeps part of a batch it then reports an error for (the
    /// OTLP exporter queues what fits) returns `true` and counts the rest itself.
    fn counts_own_drops(&self) -> bool {
        false
    }
}

/// A sink's failure, reported to the pipeline and counted.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SinkError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SinkError {
    /// An error with a message.
    ///
    /// ```
    /// let e = telemetry::SinkError::new("collector refused the batch");
    /// assert_eq!(e.to_string(), "collector refused the batch");
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and its cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl From<std::io::Error> for SinkError {
    fn from(e: std::io::Error) -> Self {
        Self::with_source("I/O error", e)
    }
}
