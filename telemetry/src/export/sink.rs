//! Where drained spans and metric snapshots go.

use crate::{LogBatch, SpanData};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A batch of finished spans, shared by every sink (no copy per sink).
pub type SpanBatch = Arc<Vec<SpanData>>;

/// What a [`Sink`] method returns: its work as a boxed future, so `Arc<dyn Sink>` stays
/// possible without tying the trait to a macro crate.
///
/// Write the body as `Box::pin(async move { .. })`, and put all the work inside the
/// `async` block: the pipeline's timeout and panic guard apply to the future it awaits.
/// A future that holds nothing (`Box::pin(async { Ok(()) })`) does not allocate.
///
/// ```
/// use telem::{SinkError, SinkFuture};
///
/// fn ready(ok: bool) -> SinkFuture<'static> {
///     Box::pin(async move {
///         if ok { Ok(()) } else { Err(SinkError::new("not ready")) }
///     })
/// }
/// # assert!(futures::executor::block_on(ready(true)).is_ok());
/// ```
pub type SinkFuture<'a, T = ()> = Pin<Box<dyn Future<Output = Result<T, SinkError>> + Send + 'a>>;

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
/// use telem::{Sink, SinkError, SinkFuture, SpanBatch};
///
/// #[derive(Debug)]
/// struct FileSink(Arc<Mutex<std::fs::File>>);
///
/// impl Sink for FileSink {
///     fn export_spans(&self, batch: SpanBatch) -> SinkFuture<'_> {
///         let file = self.0.clone();
///         Box::pin(async move {
///             // The write happens on tokio's blocking pool; the sink's task only awaits it.
///             tokio::task::spawn_blocking(move || {
///                 let mut file = file.lock().map_err(|_| SinkError::new("file poisoned"))?;
///                 for span in batch.iter() {
///                     writeln!(file, "{}", span.name)?;
///                 }
///                 Ok(())
///             })
///             .await
///             .map_err(|e| SinkError::from_source("the write task failed", e))?
///         })
///     }
/// }
/// ```
///
/// A sink that spins in async code without ever reaching an `.await` holds its worker
/// thread the same way: nothing in a cooperative runtime can take it back.
///
/// Each async method returns a [`SinkFuture`]: write its body as
/// `Box::pin(async move { .. })`, with all the work inside the `async` block. Only
/// `export_spans` is required; the others have defaults.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use telem::{Sink, SinkFuture, SpanBatch};
///
/// #[derive(Debug)]
/// struct CountingSink(AtomicUsize);
///
/// impl Sink for CountingSink {
///     fn export_spans(&self, batch: SpanBatch) -> SinkFuture<'_> {
///         Box::pin(async move {
///             self.0.fetch_add(batch.len(), Ordering::Relaxed);
///             Ok(())
///         })
///     }
/// }
///
/// // A sink the caller keeps a handle to is passed as an `Arc` (`Arc<S>` is a `Sink`).
/// let sink = std::sync::Arc::new(CountingSink(AtomicUsize::new(0)));
/// let config = telem::Config::new().with_sink(sink.clone());
/// # drop(config);
/// ```
pub trait Sink: Send + Sync + std::fmt::Debug + 'static {
    /// A short name used in self-metrics and error reports. Defaults to the type name.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }

    /// Receives a batch of finished spans.
    fn export_spans(&self, batch: SpanBatch) -> SinkFuture<'_>;

    /// Receives the metric snapshot taken at a drain tick. Default: ignore.
    fn export_metrics(&self, snapshot: Arc<crate::MetricsSnapshot>) -> SinkFuture<'_> {
        drop(snapshot);
        Box::pin(async { Ok(()) })
    }

    /// Receives a batch of log records (see [`crate::info!`] and the other log macros).
    /// Default: ignore, so a sink written for spans keeps compiling and only sees spans.
    fn export_logs(&self, batch: LogBatch) -> SinkFuture<'_> {
        drop(batch);
        Box::pin(async { Ok(()) })
    }

    /// Pushes out anything buffered. Default: nothing to do.
    fn flush(&self) -> SinkFuture<'_> {
        Box::pin(async { Ok(()) })
    }

    /// Releases resources; called once, after a final flush. Default: nothing to do.
    fn shutdown(&self) -> SinkFuture<'_> {
        Box::pin(async { Ok(()) })
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

    /// Log records this sink accepted but lost inside, as
    /// [`spans_dropped`](Sink::spans_dropped) counts spans. Cumulative; added to
    /// [`SinkStats::logs_dropped`](crate::SinkStats::logs_dropped). Must not block.
    /// Default 0.
    fn logs_dropped(&self) -> u64 {
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

/// A shared sink: `Config::new().with_sink(sink.clone())` keeps a handle to read it (an
/// [`InMemorySink`](crate::InMemorySink), a [`PrometheusSink`](crate::PrometheusSink)).
/// Every method, the name included, is the inner sink's.
impl<S: Sink + ?Sized> Sink for Arc<S> {
    #[inline]
    fn name(&self) -> &str {
        (**self).name()
    }

    #[inline]
    fn export_spans(&self, batch: SpanBatch) -> SinkFuture<'_> {
        (**self).export_spans(batch)
    }

    #[inline]
    fn export_metrics(&self, snapshot: Arc<crate::MetricsSnapshot>) -> SinkFuture<'_> {
        (**self).export_metrics(snapshot)
    }

    #[inline]
    fn export_logs(&self, batch: LogBatch) -> SinkFuture<'_> {
        (**self).export_logs(batch)
    }

    #[inline]
    fn flush(&self) -> SinkFuture<'_> {
        (**self).flush()
    }

    #[inline]
    fn shutdown(&self) -> SinkFuture<'_> {
        (**self).shutdown()
    }

    #[inline]
    fn spans_dropped(&self) -> u64 {
        (**self).spans_dropped()
    }

    #[inline]
    fn logs_dropped(&self) -> u64 {
        (**self).logs_dropped()
    }

    #[inline]
    fn counts_own_drops(&self) -> bool {
        (**self).counts_own_drops()
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
    /// let e = telem::SinkError::new("collector refused the batch");
    /// assert_eq!(e.to_string(), "collector refused the batch");
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and its cause.
    pub fn from_source(
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
        Self::from_source("I/O error", e)
    }
}
