//! `OtlpSink`: the pipeline's side of the exporter.

use crate::exporter::Shared;
use crate::{OtlpConfig, OtlpError, OtlpStats, ResolvedConfig};
use std::fmt;
use std::sync::Arc;
use telem::{LogBatch, MetricsSnapshot, Sink, SinkFuture, SpanBatch};

/// Sends spans to `/v1/traces`, log records to `/v1/logs` and metrics to `/v1/metrics`
/// of an OpenTelemetry Collector (or any OTLP/HTTP receiver).
///
/// The pipeline's calls only touch two bounded queues (spans, log records) and a
/// one-snapshot slot (metrics); a task of the exporter's own does the network: batches
/// of at most `max_export_batch_size` spans (`logs_max_export_batch_size` log records)
/// leave when full or after `schedule_delay` (`logs_schedule_delay`), metrics every
/// `metric_export_interval`, each request under a timeout, with retries on connection
/// errors, timeouts, 429, 502, 503 and 504 (exponential backoff with jitter, or the
/// server's `Retry-After`) until the export timeout. A burst larger than the room left
/// in a queue waits up to a second for the network task to make room; a slow, refusing
/// or dead collector fills the queues and further spans and log records are dropped and
/// counted: the drain and the other sinks never wait, memory stays bounded, and sending
/// resumes by itself when the collector is back. Shutdown sends what is queued within
/// `shutdown_timeout`.
///
/// Clones share one exporter: keep one to read [`stats`](OtlpSink::stats).
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use telem::{Config, Tracer};
/// use telem_otlp::{OtlpConfig, OtlpSink};
///
/// let otlp = OtlpSink::new(
///     OtlpConfig::from_env()? // OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...
///         .with_service_version(env!("CARGO_PKG_VERSION")),
/// )?;
/// let pipeline = telem::init(Config::from_env()?.with_sink(otlp.clone()))?;
/// Tracer::new("books").in_span("GET /books", |_| {});
/// pipeline.shutdown().await; // flushes the queue to the collector
/// assert_eq!(otlp.stats().spans_queued, 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OtlpSink {
    shared: Arc<Shared>,
}

impl OtlpSink {
    /// An exporter with `config` (code, then environment if
    /// [`OtlpConfig::with_env`] was called, then defaults). Nothing is sent until the
    /// pipeline hands it data; its task starts then, on the pipeline's runtime.
    ///
    /// ```
    /// use telem_otlp::{OtlpConfig, OtlpSink};
    /// let sink = OtlpSink::new(OtlpConfig::new().with_endpoint("http://127.0.0.1:4318")).unwrap();
    /// assert_eq!(sink.stats().spans_sent, 0);
    /// assert!(OtlpSink::new(OtlpConfig::new().with_endpoint("not a url")).is_err());
    /// ```
    pub fn new(config: OtlpConfig) -> Result<Self, OtlpError> {
        let resolved = config.resolve()?;
        Ok(Self {
            shared: Arc::new(Shared::new(resolved)?),
        })
    }

    /// An exporter configured by the environment only ([`OtlpConfig::from_env`]).
    pub fn from_env() -> Result<Self, OtlpError> {
        Self::new(OtlpConfig::from_env()?)
    }

    /// What became of every span, log record and data point so far.
    pub fn stats(&self) -> OtlpStats {
        self.shared.counters.snapshot()
    }

    /// The configuration the exporter runs with.
    pub fn config(&self) -> &ResolvedConfig {
        &self.shared.config
    }
}

impl fmt::Debug for OtlpSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpSink")
            .field("traces", &self.shared.config.traces.endpoint)
            .field("metrics", &self.shared.config.metrics.endpoint)
            .field("logs", &self.shared.config.logs.endpoint)
            .finish_non_exhaustive()
    }
}

impl Sink for OtlpSink {
    fn name(&self) -> &str {
        "otlp"
    }

    fn export_spans(&self, batch: SpanBatch) -> SinkFuture<'_> {
        Box::pin(self.shared.export(batch))
    }

    fn export_logs(&self, batch: LogBatch) -> SinkFuture<'_> {
        Box::pin(self.shared.export(batch))
    }

    fn export_metrics(&self, snapshot: Arc<MetricsSnapshot>) -> SinkFuture<'_> {
        Box::pin(async move { self.shared.export_metrics(snapshot) })
    }

    fn flush(&self) -> SinkFuture<'_> {
        Box::pin(self.shared.flush())
    }

    fn shutdown(&self) -> SinkFuture<'_> {
        Box::pin(self.shared.shutdown())
    }

    /// Spans dropped by the exporter's queue (full, or still queued at its shutdown
    /// deadline) and spans whose export failed for good: the pipeline reports them as
    /// this sink's `telemetry_sink_spans_dropped_total{sink="otlp"}`.
    fn spans_dropped(&self) -> u64 {
        self.shared.counters.spans.lost()
    }

    /// Log records dropped by the exporter's logs queue (full, or still queued at its
    /// shutdown deadline) and log records whose export failed for good, counted as
    /// spans are.
    fn logs_dropped(&self) -> u64 {
        self.shared.counters.logs.lost()
    }

    /// A batch (of spans or of log records) that did not fit is partly queued: the
    /// exporter counts the rest (also when the pipeline cancels the call).
    fn counts_own_drops(&self) -> bool {
        true
    }
}
