//! A sink that prints finished spans and log records to stdout (or any writer), as JSON
//! lines or in a human-readable development format.
//!
//! This module holds the sink: its configuration, the hand-off to its writer thread and
//! the [`Sink`] impl. What it writes is rendered by [`spans`], [`logs`] and [`metrics`],
//! from the pieces the pretty lines share in [`pretty`].

mod logs;
mod metrics;
mod pretty;
mod spans;
#[cfg(test)]
mod test_support;
mod timestamp;

use super::writer::{Items, WriterThread, DEFAULT_BUFFER_BYTES};
use crate::{
    LogBatch, LogRecord, MetricsSnapshot, Sink, SinkError, SinkFuture, SpanBatch, SpanData,
};
use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};

/// How a [`StdoutSink`] renders spans and log records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StdoutFormat {
    /// One JSON object per line, ready for `jq` or a log shipper. The default.
    ///
    /// A span is OpenTelemetry's OTLP/JSON `Span` (`traceId`, `startTimeUnixNano`,
    /// `attributes: [{"key", "value": {"intValue"}}]`, …) plus its `scope`.
    ///
    /// A log record is a flat object, the shape log tools read without a mapping:
    ///
    /// ```text
    /// {"timestamp":"2023-11-14T22:13:20.123456789Z","level":"WARN","message":"book not found","target":"bookstore::routes","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","trace_flags":"01","book.id":999,"reason":"no such id","request.id":"r-17"}
    /// ```
    ///
    /// - `timestamp`: RFC 3339 in UTC with nanoseconds (always nine digits);
    /// - `level`: `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`, the level of the
    ///   severity's range (`WARN2` is `WARN`), or `FATAL` for the severities above
    ///   `ERROR`'s; omitted for an unspecified severity;
    /// - `message`, `target`: the body and the target (module path), always written;
    /// - `trace_id`, `span_id` (lowercase hex) and `trace_flags` (two hex digits, `01`
    ///   when sampled): the span the record was made in, omitted outside any span;
    /// - `event_name`: when the call gave one;
    /// - then the call-site fields, then the fields bound to the context, each a
    ///   top-level key (`"book.id":999`: a dotted key stays one key). A field whose key
    ///   is one of the keys above or `fields` (the reserved keys) goes instead into a
    ///   `"fields":{…}` object at the end, so a reserved key always means the same
    ///   thing. Values: strings, integers as JSON numbers, floats (`"NaN"`,
    ///   `"Infinity"`, `"-Infinity"` as strings), booleans, arrays.
    ///
    /// Spans and log records share the stream: a log line has `timestamp`, a span's
    /// `startTimeUnixNano`.
    #[default]
    Json,
    /// A compact line per span or log record for reading during development, colored
    /// on a terminal:
    ///
    /// ```text
    /// 14:03:07.412Z  1.23ms GET /books [server] trace=4bf92f35… span=00f067aa0ba902b7 parent=- status=OK http.route=/books
    ///   • cache.miss +210µs key=books:all
    /// 14:03:07.411Z    WARN bookstore::routes: book not found book.id=999 reason="no such id" request.id=r-17 trace=4bf92f35… span=00f067aa0ba902b7
    /// ```
    ///
    /// A log line: the time of day (UTC, milliseconds, as spans'), the level
    /// right-aligned in the spans' duration column (so messages start where span names
    /// do; colored: `ERROR` red, `WARN` yellow, `INFO` green, `DEBUG` blue, `TRACE`
    /// dim), the target and the event name in brackets if any, the message (control
    /// characters escaped), the call-site fields then the bound fields as `key=value`
    /// (a value quoted and escaped only when it is empty or holds whitespace, a quote,
    /// `=` or a control character), and, when the record was made in a span, the trace
    /// id's first 8 hex digits and the span id, as span lines show them. Colored, the
    /// bound fields and the ids are dim.
    Pretty,
}

/// A [`Sink`] that writes finished spans and log records to stdout, or to any
/// [`Write`]r, in a [`StdoutFormat`].
///
/// Each batch is rendered into a buffer on the sink's task, then written by a thread of
/// the sink's own (`telemetry-stdout`, started at the first batch) with one `write_all`
/// and a flush, so lines of different batches never interleave. Spans and log records
/// go through the same thread and the same queue, in the order their batches come. The
/// runtime never waits on the writer: while it does not take bytes (a pipe nobody
/// reads, a stopped terminal), up to [`with_buffer_bytes`](Self::with_buffer_bytes)
/// (8 MiB by default) of rendered lines wait, and further batches are dropped and
/// counted as this sink's `spans_dropped` or `logs_dropped`; the drain and the other
/// sinks carry on. At shutdown, what is still waiting when the deadline passes counts
/// as dropped too. Metric snapshots are ignored unless
/// [`with_metrics(true)`](Self::with_metrics).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use telem::{Config, StdoutFormat, StdoutSink, Tracer};
///
/// static TRACER: Tracer = Tracer::new("doc");
///
/// // JSON lines on stdout; `StdoutSink::pretty()` for humans.
/// let pipeline = telem::init(Config::new().with_sink(StdoutSink::new())).unwrap();
/// TRACER.in_span("load", |span| span.set_i64("rows", 3));
/// pipeline.shutdown().await;
///
/// // Or any writer: a file, a `Vec<u8>`, …
/// let sink = StdoutSink::from_writer(std::io::sink(), StdoutFormat::Pretty).with_metrics(true);
/// assert_eq!(sink.format(), StdoutFormat::Pretty);
/// # }
/// ```
pub struct StdoutSink {
    format: StdoutFormat,
    spans: bool,
    logs: bool,
    metrics: bool,
    color: bool,
    buffer_bytes: usize,
    /// The writer, until the first batch starts its thread.
    out: Mutex<Option<Box<dyn Write + Send>>>,
    thread: OnceLock<Result<WriterThread, String>>,
    /// Spans of batches refused because the writer thread could not start.
    unwritten_spans: AtomicU64,
    /// Log records refused the same way.
    unwritten_logs: AtomicU64,
}

impl StdoutSink {
    /// JSON lines to stdout.
    pub fn new() -> Self {
        Self::from_format(StdoutFormat::Json)
    }

    /// The [pretty](StdoutFormat::Pretty) format to stdout, colored when stdout is a
    /// terminal and `NO_COLOR` is not set.
    pub fn pretty() -> Self {
        Self::from_format(StdoutFormat::Pretty)
    }

    /// The given format to stdout.
    pub fn from_format(format: StdoutFormat) -> Self {
        let color = format == StdoutFormat::Pretty
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self::build(format, color, Box::new(std::io::stdout()))
    }

    fn build(format: StdoutFormat, color: bool, out: Box<dyn Write + Send>) -> Self {
        Self {
            format,
            spans: true,
            logs: true,
            metrics: false,
            color,
            buffer_bytes: DEFAULT_BUFFER_BYTES,
            out: Mutex::new(Some(out)),
            thread: OnceLock::new(),
            unwritten_spans: AtomicU64::new(0),
            unwritten_logs: AtomicU64::new(0),
        }
    }

    /// The given format to any writer (a file, a buffer in tests, …). Never colored.
    pub fn from_writer(writer: impl Write + Send + 'static, format: StdoutFormat) -> Self {
        Self::build(format, false, Box::new(writer))
    }

    /// Sets how many bytes of rendered spans and log records may wait for a slow writer
    /// before batches are dropped (default 8 MiB; at least one batch always fits).
    ///
    /// ```
    /// let sink = telem::StdoutSink::new().with_buffer_bytes(1 << 20);
    /// # drop(sink);
    /// ```
    pub fn with_buffer_bytes(mut self, bytes: usize) -> Self {
        self.buffer_bytes = bytes;
        self
    }

    /// Whether to also write each metric snapshot: one JSON line
    /// `{"timeUnixNano": "…", "pipeline": {"spansRecorded": "…", …, "logsRecorded":
    /// {"error": "…", …}, …}}` (the [`PipelineStats`](crate::PipelineStats), log record
    /// counts per level), or a one-line summary in the pretty format (log record counts
    /// summed over the levels). Off by default.
    pub fn with_metrics(mut self, enabled: bool) -> Self {
        self.metrics = enabled;
        self
    }

    /// Whether to write spans. On by default; off for a sink that writes only metric
    /// snapshots (`OTEL_METRICS_EXPORTER=console` without it in `OTEL_TRACES_EXPORTER`).
    ///
    /// ```
    /// let metrics_only = telem::StdoutSink::new().with_spans(false).with_metrics(true);
    /// # drop(metrics_only);
    /// ```
    pub fn with_spans(mut self, enabled: bool) -> Self {
        self.spans = enabled;
        self
    }

    /// Whether to write log records. On by default; off for a sink that should not
    /// print them (the console exporter chosen for traces or metrics but not for
    /// logs).
    ///
    /// ```
    /// let spans_only = telem::StdoutSink::new().with_logs(false);
    /// # drop(spans_only);
    /// ```
    pub fn with_logs(mut self, enabled: bool) -> Self {
        self.logs = enabled;
        self
    }

    /// The format this sink writes.
    pub fn format(&self) -> StdoutFormat {
        self.format
    }

    fn render_span(&self, span: &SpanData, buf: &mut Vec<u8>) {
        match self.format {
            StdoutFormat::Json => spans::json_line(span, buf),
            StdoutFormat::Pretty => spans::pretty_line(span, self.color, buf),
        }
    }

    fn render_log(&self, record: &LogRecord, buf: &mut Vec<u8>) {
        match self.format {
            StdoutFormat::Json => logs::json_line(record, buf),
            StdoutFormat::Pretty => logs::pretty_line(record, self.color, buf),
        }
    }

    /// The writer thread, started on first use.
    fn thread(&self) -> Result<&WriterThread, SinkError> {
        let started = self.thread.get_or_init(|| {
            let out = self
                .out
                .lock()
                .ok()
                .and_then(|mut out| out.take())
                .ok_or_else(|| "stdout sink: no writer".to_owned())?;
            WriterThread::spawn("stdout", out, self.buffer_bytes)
                .map_err(|e| format!("stdout sink: cannot start its writer thread: {e}"))
        });
        started.as_ref().map_err(|e| SinkError::new(e.clone()))
    }

    /// Renders with `render` into a buffer the writer thread gave back (or a new one),
    /// and hands it over, holding `items`.
    /// Without a writer thread the items are refused here, and counted.
    fn write(&self, items: Items, render: impl FnOnce(&mut Vec<u8>)) -> Result<(), SinkError> {
        let thread = self.thread().inspect_err(|_| {
            self.unwritten_spans.fetch_add(items.spans, Relaxed);
            self.unwritten_logs.fetch_add(items.logs, Relaxed);
        })?;
        let mut buf = thread.buffer();
        render(&mut buf);
        thread.submit_items(buf, items)
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for StdoutSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StdoutSink")
            .field("format", &self.format)
            .field("metrics", &self.metrics)
            .field("spans", &self.spans)
            .field("logs", &self.logs)
            .field("color", &self.color)
            .field("buffer_bytes", &self.buffer_bytes)
            .finish_non_exhaustive()
    }
}

impl Sink for StdoutSink {
    fn name(&self) -> &str {
        "stdout"
    }

    fn export_spans(&self, batch: SpanBatch) -> SinkFuture<'_> {
        Box::pin(async move {
            if !self.spans || batch.is_empty() {
                return Ok(());
            }
            self.write(Items::spans(batch.len() as u64), |buf| {
                for span in batch.iter() {
                    self.render_span(span, buf);
                }
            })
        })
    }

    fn export_logs(&self, batch: LogBatch) -> SinkFuture<'_> {
        Box::pin(async move {
            if !self.logs || batch.is_empty() {
                return Ok(());
            }
            self.write(Items::logs(batch.len() as u64), |buf| {
                for record in batch.iter() {
                    self.render_log(record, buf);
                }
            })
        })
    }

    fn export_metrics(&self, snapshot: Arc<MetricsSnapshot>) -> SinkFuture<'_> {
        Box::pin(async move {
            // Called at every drain tick: where the writer's failures since the last
            // tick are reported (the spans they lost are counted in `spans_dropped`).
            if let Some(Ok(thread)) = self.thread.get() {
                thread.check()?;
            }
            if !self.metrics {
                return Ok(());
            }
            self.write(Items::default(), |buf| match self.format {
                StdoutFormat::Json => metrics::json_line(&snapshot, buf),
                StdoutFormat::Pretty => metrics::pretty_line(&snapshot, self.color, buf),
            })
        })
    }

    fn flush(&self) -> SinkFuture<'_> {
        Box::pin(async move {
            match self.thread.get() {
                Some(Ok(thread)) => thread.flush().await,
                Some(Err(e)) => Err(SinkError::new(e.clone())),
                None => Ok(()), // nothing was ever written
            }
        })
    }

    fn shutdown(&self) -> SinkFuture<'_> {
        Box::pin(async move {
            // Whatever the writer has not taken when the pipeline gives up is lost.
            if let Some(Ok(thread)) = self.thread.get() {
                thread.close();
            }
            self.flush().await
        })
    }

    /// A refused batch of spans or log records (a stalled writer) is counted by the
    /// writer thread.
    fn counts_own_drops(&self) -> bool {
        true
    }

    fn spans_dropped(&self) -> u64 {
        let unwritten = self.unwritten_spans.load(Relaxed);
        match self.thread.get() {
            Some(Ok(thread)) => thread.spans_dropped() + unwritten,
            _ => unwritten,
        }
    }

    fn logs_dropped(&self) -> u64 {
        let unwritten = self.unwritten_logs.load(Relaxed);
        match self.thread.get() {
            Some(Ok(thread)) => thread.logs_dropped() + unwritten,
            _ => unwritten,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{batch, log, root, Shared};
    use super::*;

    struct Failing;

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::other("disk full"))
        }
    }

    /// The writer's failures are the sink's errors, reported at the next flush or drain
    /// tick, and the spans they lost are counted.
    #[tokio::test]
    async fn io_errors_become_sink_errors_and_drops() {
        let sink = StdoutSink::from_writer(Failing, StdoutFormat::Json);
        // Handed to the writer thread: accepted.
        assert!(sink
            .export_spans(batch(vec![root("x"), root("y")]))
            .await
            .is_ok());
        let error = sink.flush().await.unwrap_err();
        assert!(error.to_string().contains("disk full"), "{error}");
        assert_eq!(sink.spans_dropped(), 2);
        sink.export_spans(batch(vec![root("z")])).await.unwrap();
        sink.flush().await.unwrap_err();
        assert_eq!(sink.spans_dropped(), 3);
        // An empty batch writes nothing.
        assert!(sink.export_spans(batch(vec![])).await.is_ok());
    }

    struct Panicking;

    impl Write for Panicking {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            panic!("writer bug")
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A writer that panics stops its thread; the sink then refuses batches, counted,
    /// and never panics itself.
    #[tokio::test]
    async fn a_panicking_writer_is_an_error_not_a_panic() {
        let sink = StdoutSink::from_writer(Panicking, StdoutFormat::Json);
        let _ = sink.export_spans(batch(vec![root("x")])).await;
        let error = sink.flush().await.unwrap_err();
        assert!(error.to_string().contains("stopped"), "{error}");
        let error = sink.export_spans(batch(vec![root("y")])).await.unwrap_err();
        assert!(error.to_string().contains("stopped"), "{error}");
        assert!(sink.spans_dropped() >= 1);
    }

    /// A sink built for a terminal (`pretty()` on a tty without `NO_COLOR`) colors log
    /// lines as it colors span lines.
    #[tokio::test]
    async fn the_sinks_color_decision_applies_to_log_lines() {
        let out = Shared::default();
        let sink = StdoutSink::build(StdoutFormat::Pretty, true, Box::new(out.clone()));
        sink.export_logs(Arc::new(vec![log(crate::Level::Error, "boom")]))
            .await
            .unwrap();
        sink.flush().await.unwrap();
        assert!(
            out.text().contains("\x1b[31mERROR\x1b[0m"),
            "{:?}",
            out.text()
        );
        // A JSON sink is never colored.
        let out = Shared::default();
        let sink = StdoutSink::build(StdoutFormat::Json, false, Box::new(out.clone()));
        sink.export_logs(Arc::new(vec![log(crate::Level::Error, "boom")]))
            .await
            .unwrap();
        sink.flush().await.unwrap();
        assert!(!out.text().contains('\x1b'), "{:?}", out.text());
    }

    /// Without a writer thread (it could not start), log records are refused and counted
    /// as log records, not spans.
    #[tokio::test]
    async fn logs_refused_without_a_writer_thread_are_counted_as_logs() {
        let sink = StdoutSink::from_writer(Vec::new(), StdoutFormat::Json);
        let _ = sink.thread.set(Err("no thread".to_owned()));
        let records = Arc::new(vec![
            log(crate::Level::Info, "a"),
            log(crate::Level::Info, "b"),
        ]);
        assert!(sink.export_logs(records).await.is_err());
        assert_eq!((sink.logs_dropped(), sink.spans_dropped()), (2, 0));
        assert!(sink.export_spans(batch(vec![root("x")])).await.is_err());
        assert_eq!((sink.logs_dropped(), sink.spans_dropped()), (2, 1));
    }

    #[tokio::test]
    async fn with_logs_false_writes_no_log_record() {
        let out = Shared::default();
        let sink = StdoutSink::from_writer(out.clone(), StdoutFormat::Json).with_logs(false);
        sink.export_logs(Arc::new(vec![log(crate::Level::Error, "boom")]))
            .await
            .unwrap();
        sink.export_spans(batch(vec![root("kept")])).await.unwrap();
        sink.flush().await.unwrap();
        let text = out.text();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("\"kept\""), "{text}");
        assert!(format!("{sink:?}").contains("logs: false"));
    }

    #[test]
    fn api_and_debug() {
        assert_eq!(StdoutSink::new().format(), StdoutFormat::Json);
        assert_eq!(StdoutSink::default().format(), StdoutFormat::Json);
        assert_eq!(StdoutSink::pretty().format(), StdoutFormat::Pretty);
        assert_eq!(StdoutFormat::default(), StdoutFormat::Json);
        let sink = StdoutSink::from_writer(Vec::new(), StdoutFormat::Pretty).with_metrics(true);
        assert_eq!(sink.name(), "stdout");
        let dbg = format!("{sink:?}");
        assert!(
            dbg.starts_with("StdoutSink { format: Pretty, metrics: true"),
            "{dbg}"
        );
    }
}
