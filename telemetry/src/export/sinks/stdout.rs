//! A sink that prints finished spans and log records to stdout (or any writer), as JSON
//! lines or in a human-readable development format.

use super::writer::{Items, WriterThread, DEFAULT_BUFFER_BYTES};
use crate::util::stack_text::StackText;
use crate::{
    otlp_json, KeyValue, Level, LogBatch, LogRecord, MetricsSnapshot, Severity, Sink, SinkError,
    SinkFuture, SpanBatch, SpanData, SpanId, SpanKind, Status, Value,
};
use std::fmt::{self, Write as _};
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
    /// `{"timeUnixNano": "…", "pipeline": {"spansRecorded": "…", …}}`, or a one-line
    /// summary in the pretty format. Off by default.
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
            StdoutFormat::Json => json_line(span, buf),
            StdoutFormat::Pretty => pretty_span(span, self.color, buf),
        }
    }

    fn render_log(&self, record: &LogRecord, buf: &mut Vec<u8>) {
        match self.format {
            StdoutFormat::Json => log_json_line(record, buf),
            StdoutFormat::Pretty => pretty_log(record, self.color, buf),
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
                StdoutFormat::Json => metrics_json(&snapshot, buf),
                StdoutFormat::Pretty => pretty_metrics(&snapshot, self.color, buf),
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

// ---------------------------------------------------------------------------------------
// JSON lines
// ---------------------------------------------------------------------------------------

/// A span as one line: the OTLP/JSON `Span` object (see [`otlp_json::span`]) plus
/// `"scope": {"name": …}`, and a newline.
fn json_line(span: &SpanData, buf: &mut Vec<u8>) {
    otlp_json::span_fields(span, buf);
    buf.extend_from_slice(b",\"scope\":{\"name\":");
    otlp_json::string(&span.scope, buf);
    buf.extend_from_slice(b"}}\n");
}

/// A metric snapshot as one line: `{"timeUnixNano": "…", "pipeline": {"spansRecorded":
/// "…", …, "sinks": [{"name": …, …}]}}`, 64-bit counts as strings.
fn metrics_json(snapshot: &MetricsSnapshot, buf: &mut Vec<u8>) {
    fn field(buf: &mut Vec<u8>, key: &[u8], v: u64) {
        buf.extend_from_slice(key);
        otlp_json::u64_string(v, buf);
    }
    let p = &snapshot.pipeline;
    field(buf, b"{\"timeUnixNano\":", snapshot.time_unix_nano);
    field(buf, b",\"pipeline\":{\"spansRecorded\":", p.spans_recorded);
    field(buf, b",\"spansSampledOut\":", p.spans_sampled_out);
    field(buf, b",\"spansDropped\":", p.spans_dropped);
    field(buf, b",\"spansExported\":", p.spans_exported);
    field(buf, b",\"spansQueued\":", p.spans_queued);
    field(buf, b",\"drains\":", p.drains);
    field(buf, b",\"lastDrainNanos\":", p.last_drain_nanos);
    buf.extend_from_slice(b",\"sinks\":[");
    otlp_json::list(&p.sinks, buf, |s, buf| {
        buf.extend_from_slice(b"{\"name\":");
        otlp_json::string(&s.name, buf);
        field(buf, b",\"spansDelivered\":", s.spans_delivered);
        field(buf, b",\"errors\":", s.errors);
        field(buf, b",\"timeouts\":", s.timeouts);
        field(buf, b",\"panics\":", s.panics);
        field(buf, b",\"spansDropped\":", s.spans_dropped);
        if let Some(e) = &s.last_error {
            buf.extend_from_slice(b",\"lastError\":");
            otlp_json::string(e, buf);
        }
        buf.push(b'}');
    });
    buf.extend_from_slice(b"]}}\n");
}

// ---------------------------------------------------------------------------------------
// Log records as JSON lines
// ---------------------------------------------------------------------------------------

/// Whether a field's `key` is one a log line writes itself (or `fields`, where such
/// fields go): see [`StdoutFormat::Json`].
fn is_reserved_log_key(key: &str) -> bool {
    matches!(
        key,
        "timestamp"
            | "level"
            | "message"
            | "target"
            | "trace_id"
            | "span_id"
            | "trace_flags"
            | "event_name"
            | "fields"
    )
}

/// A log record as one flat JSON object and a newline (the layout is documented on
/// [`StdoutFormat::Json`]), written in place: no `String` per record or field.
fn log_json_line(record: &LogRecord, buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"{\"timestamp\":\"");
    rfc3339_nanos(record.time_unix_nano, buf);
    buf.push(b'"');
    if let Some(level) = level_text(record.severity) {
        buf.extend_from_slice(b",\"level\":\"");
        buf.extend_from_slice(level.as_bytes());
        buf.push(b'"');
    }
    buf.extend_from_slice(b",\"message\":");
    otlp_json::string(&record.body, buf);
    buf.extend_from_slice(b",\"target\":");
    otlp_json::string(&record.target, buf);
    if record.trace_id.is_valid() {
        buf.extend_from_slice(b",\"trace_id\":");
        otlp_json::hex(&record.trace_id.to_bytes(), buf);
        if record.span_id.is_valid() {
            buf.extend_from_slice(b",\"span_id\":");
            otlp_json::hex(&record.span_id.to_bytes(), buf);
        }
        buf.extend_from_slice(b",\"trace_flags\":");
        otlp_json::hex(&[record.trace_flags.bits()], buf);
    }
    if let Some(name) = &record.event_name {
        buf.extend_from_slice(b",\"event_name\":");
        otlp_json::string(name, buf);
    }
    let fields = || record.attributes.iter().chain(record.context_fields.iter());
    let mut reserved = false;
    for kv in fields() {
        if is_reserved_log_key(&kv.key) {
            reserved = true;
        } else {
            buf.push(b',');
            json_member(kv, buf);
        }
    }
    if reserved {
        buf.extend_from_slice(b",\"fields\":{");
        otlp_json::list(
            fields().filter(|kv| is_reserved_log_key(&kv.key)),
            buf,
            json_member,
        );
        buf.push(b'}');
    }
    buf.extend_from_slice(b"}\n");
}

/// `"key":value`.
fn json_member(kv: &KeyValue, buf: &mut Vec<u8>) {
    otlp_json::string(&kv.key, buf);
    buf.push(b':');
    json_value(&kv.value, buf);
}

/// A value as plain JSON (not OTLP's `AnyValue`): a string, a number (integers as JSON
/// numbers; non-finite floats as `"NaN"`, `"Infinity"`, `"-Infinity"`), a boolean or
/// an array of them.
fn json_value(value: &Value, buf: &mut Vec<u8>) {
    match value {
        Value::String(s) => otlp_json::string(s, buf),
        Value::I64(v) => buf.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
        Value::F64(v) => otlp_json::f64(*v, buf),
        Value::Bool(v) => buf.extend_from_slice(if *v { b"true" } else { b"false" }),
        Value::Array(values) => {
            buf.push(b'[');
            otlp_json::list(values.iter(), buf, json_value);
            buf.push(b']');
        }
    }
}

/// The `level` text of a severity: the level's name, `FATAL` for the four severities
/// above `ERROR`'s range, `None` when unspecified.
fn level_text(severity: Severity) -> Option<&'static str> {
    if severity >= Severity::FATAL {
        return Some("FATAL");
    }
    severity.level().map(Level::as_str)
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (RFC 3339, UTC, nine fraction digits) from ns since
/// the Unix epoch.
fn rfc3339_nanos(unix_nanos: u64, buf: &mut Vec<u8>) {
    let secs = unix_nanos / 1_000_000_000;
    let (year, month, day) = civil_date(secs / 86_400);
    let of_day = secs % 86_400;
    let mut text = *b"0000-00-00T00:00:00.000000000Z";
    digits(&mut text[0..4], year);
    digits(&mut text[5..7], month);
    digits(&mut text[8..10], day);
    digits(&mut text[11..13], of_day / 3600);
    digits(&mut text[14..16], (of_day / 60) % 60);
    digits(&mut text[17..19], of_day % 60);
    digits(&mut text[20..29], unix_nanos % 1_000_000_000);
    buf.extend_from_slice(&text);
}

/// Writes the last `out.len()` decimal digits of `v` into `out`, zero-padded.
fn digits(out: &mut [u8], mut v: u64) {
    for d in out.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// The proleptic Gregorian date (year, month, day) of a day counted from 1970-01-01
/// (Howard Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Counted from 0000-03-01, so the leap day ends each 4-, 100- and 400-year cycle.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // 0 is March
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

// ---------------------------------------------------------------------------------------
// Pretty
// ---------------------------------------------------------------------------------------

const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const BOLD_RED: &str = "\x1b[1;31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const RESET: &str = "\x1b[0m";

/// Wraps `text` in an ANSI style when `color` is on.
struct Styled<'a, T: fmt::Display>(bool, &'a str, T);

impl<T: fmt::Display> fmt::Display for Styled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 {
            write!(f, "{}{}{RESET}", self.1, self.2)
        } else {
            self.2.fmt(f)
        }
    }
}

fn pretty_span(span: &SpanData, color: bool, buf: &mut Vec<u8>) {
    // Writing into a `Vec<u8>` cannot fail.
    let _ = write!(
        buf,
        "{} ",
        Styled(
            color,
            DIM,
            format_args!(
                "{} {:>7}",
                TimeOfDay(span.start_time_unix_nano),
                HumanDuration(span.duration_nanos())
            )
        )
    );
    let _ = write!(buf, "{}", Styled(color, BOLD, Name(&span.name)));
    if span.kind != SpanKind::Internal {
        let _ = write!(buf, " [{}]", span.kind.as_str());
    }
    // The first 8 hex digits of the trace id are enough to tell traces apart by eye.
    buf.extend_from_slice(b" trace=");
    otlp_json::hex_digits(&span.context.trace_id.to_bytes()[..4], buf);
    let _ = write!(buf, "\u{2026} span={} parent=", span.context.span_id);
    if span.parent_span_id == SpanId::INVALID {
        buf.push(b'-');
    } else {
        let _ = write!(buf, "{}", span.parent_span_id);
        if span.parent_is_remote {
            buf.extend_from_slice(b"(remote)");
        }
    }
    match &span.status {
        Status::Unset => {}
        Status::Ok => buf.extend_from_slice(b" status=OK"),
        Status::Error { description } if description.is_empty() => {
            let _ = write!(buf, " status={}", Styled(color, RED, "ERROR"));
        }
        Status::Error { description } => {
            // Quoted (the text holds a space), escaped as `{:?}` escapes.
            buf.extend_from_slice(b" status=");
            if color {
                buf.extend_from_slice(RED.as_bytes());
            }
            buf.extend_from_slice(b"\"ERROR: ");
            let start = buf.len();
            let _ = write!(buf, "{description:?}");
            buf.remove(start); // the opening quote is already written
            if color {
                buf.extend_from_slice(RESET.as_bytes());
            }
        }
    }
    push_attributes(buf, &span.attributes);
    let dropped = [
        ("attributes", span.dropped_attributes_count),
        ("events", span.dropped_events_count),
        ("links", span.dropped_links_count),
    ];
    for (what, n) in dropped {
        if n != 0 {
            let _ = write!(buf, " dropped_{what}={n}");
        }
    }
    buf.push(b'\n');

    for event in &span.events {
        let offset = i128::from(event.time_unix_nano) - i128::from(span.start_time_unix_nano);
        let sign = if offset < 0 { '-' } else { '+' };
        let offset = u64::try_from(offset.unsigned_abs()).unwrap_or(u64::MAX);
        let _ = write!(
            buf,
            "  \u{2022} {} {sign}{}",
            Name(&event.name),
            HumanDuration(offset)
        );
        push_attributes(buf, &event.attributes);
        if event.dropped_attributes_count != 0 {
            let _ = write!(
                buf,
                " dropped_attributes={}",
                event.dropped_attributes_count
            );
        }
        buf.push(b'\n');
    }
    for link in &span.links {
        let _ = write!(
            buf,
            "  \u{21aa} link trace={} span={}",
            link.context.trace_id, link.context.span_id
        );
        push_attributes(buf, &link.attributes);
        buf.push(b'\n');
    }
}

/// A log record as one line (the layout is documented on [`StdoutFormat::Pretty`]),
/// written in place: no `String` per record or field.
fn pretty_log(record: &LogRecord, color: bool, buf: &mut Vec<u8>) {
    // Writing into a `Vec<u8>` cannot fail.
    let _ = write!(
        buf,
        "{} ",
        Styled(color, DIM, TimeOfDay(record.time_unix_nano))
    );
    let (level, style) = match level_text(record.severity) {
        Some(level) => (level, level_style(record.severity)),
        None => ("-", ""),
    };
    // Right-aligned in the 7 columns of a span line's duration; the padding stays
    // outside the color.
    buf.extend(std::iter::repeat_n(
        b' ',
        7usize.saturating_sub(level.len()),
    ));
    let _ = write!(buf, "{}", Styled(color && !style.is_empty(), style, level));
    if !record.target.is_empty() || record.event_name.is_some() {
        buf.push(b' ');
        if color {
            buf.extend_from_slice(DIM.as_bytes());
        }
        let _ = write!(buf, "{}", Escaped(&record.target));
        if let Some(name) = &record.event_name {
            if !record.target.is_empty() {
                buf.push(b' ');
            }
            let _ = write!(buf, "[{}]", Escaped(name));
        }
        buf.push(b':');
        if color {
            buf.extend_from_slice(RESET.as_bytes());
        }
    }
    if !record.body.is_empty() {
        let _ = write!(buf, " {}", Escaped(&record.body));
    }
    push_attributes(buf, &record.attributes);
    let bound = !record.context_fields.is_empty();
    let in_span = record.trace_id.is_valid();
    if color && (bound || in_span) {
        buf.extend_from_slice(DIM.as_bytes());
    }
    push_attributes(buf, &record.context_fields);
    if in_span {
        // As span lines show them: enough of the trace id to tell traces apart by eye,
        // and the whole span id.
        buf.extend_from_slice(b" trace=");
        otlp_json::hex_digits(&record.trace_id.to_bytes()[..4], buf);
        buf.extend_from_slice("\u{2026}".as_bytes());
        if record.span_id.is_valid() {
            buf.extend_from_slice(b" span=");
            otlp_json::hex_digits(&record.span_id.to_bytes(), buf);
        }
    }
    if color && (bound || in_span) {
        buf.extend_from_slice(RESET.as_bytes());
    }
    buf.push(b'\n');
}

/// The color of a level: `ERROR` red (`FATAL` bold red), `WARN` yellow, `INFO` green,
/// `DEBUG` blue, `TRACE` dim.
fn level_style(severity: Severity) -> &'static str {
    if severity >= Severity::FATAL {
        return BOLD_RED;
    }
    match severity.level() {
        Some(Level::Error) => RED,
        Some(Level::Warn) => YELLOW,
        Some(Level::Info) => GREEN,
        Some(Level::Debug) => BLUE,
        Some(Level::Trace) => DIM,
        None => "",
    }
}

/// Text kept on one line and out of the terminal's control: control characters (a
/// newline, an escape sequence) written as `{:?}` writes them (`\n`, `\u{1b}`),
/// everything else as is, quotes included.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(char::is_control) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            for e in c.escape_debug() {
                f.write_char(e)?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// ` key=value` per attribute, each written in place: strings through [`Token`], numbers
/// and booleans as they print, arrays printed then quoted if they hold a space.
fn push_attributes(buf: &mut Vec<u8>, attributes: &[KeyValue]) {
    for kv in attributes {
        let _ = write!(buf, " {}=", Token(&kv.key));
        match &kv.value {
            Value::String(s) => {
                let _ = write!(buf, "{}", Token(s));
            }
            Value::I64(v) => buf.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
            Value::Bool(v) => buf.extend_from_slice(if *v { b"true" } else { b"false" }),
            other => {
                let start = buf.len();
                let _ = write!(buf, "{other}");
                if !is_plain(&buf[start..]) {
                    // Rare (an array holding a space or a quote): printed again, quoted.
                    buf.truncate(start);
                    buf.push(b'"');
                    let _ = write!(Quoted(buf), "{other}");
                    buf.push(b'"');
                }
            }
        }
    }
}

/// Writes text escaped as `{:?}` escapes the inside of a string.
struct Quoted<'a>(&'a mut Vec<u8>);

impl fmt::Write for Quoted<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut utf8 = [0; 4];
        for c in s.chars() {
            if c == '\'' {
                self.0.push(b'\'');
            } else {
                for e in c.escape_debug() {
                    self.0
                        .extend_from_slice(e.encode_utf8(&mut utf8).as_bytes());
                }
            }
        }
        Ok(())
    }
}

fn pretty_metrics(snapshot: &MetricsSnapshot, color: bool, buf: &mut Vec<u8>) {
    let p = &snapshot.pipeline;
    let _ = writeln!(
        buf,
        "{} {} recorded={} exported={} dropped={} sampled_out={} queued={} drains={} last_drain={} sink_failures={}",
        Styled(color, DIM, TimeOfDay(snapshot.time_unix_nano)),
        Styled(color, BOLD, "metrics"),
        p.spans_recorded,
        p.spans_exported,
        p.spans_dropped,
        p.spans_sampled_out,
        p.spans_queued,
        p.drains,
        HumanDuration(p.last_drain_nanos),
        p.sink_failures(),
    );
}

/// Whether `text` can stand unquoted as a `key=value` token: not empty, and without
/// whitespace, control characters, `"` or `=`.
fn is_plain(text: &[u8]) -> bool {
    !text.is_empty()
        && std::str::from_utf8(text).is_ok_and(|t| {
            !t.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=')
        })
}

/// A span or event name: as is, unless empty or holding control characters or quotes,
/// which would break the one-line layout; then quoted and escaped.
struct Name<'a>(&'a str);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() || self.0.chars().any(|c| c.is_control() || c == '"') {
            write!(f, "{:?}", self.0)
        } else {
            f.write_str(self.0)
        }
    }
}

/// A `key=value` token: as is when it is a single plain word, otherwise quoted and escaped.
struct Token<'a>(&'a str);

impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = !self.0.is_empty()
            && !self
                .0
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=');
        if plain {
            f.write_str(self.0)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

/// `HH:MM:SS.mmmZ` (UTC) from ns since the Unix epoch.
struct TimeOfDay(u64);

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1_000_000_000;
        let millis = (self.0 / 1_000_000) % 1000;
        let of_day = secs % 86_400;
        write!(
            f,
            "{:02}:{:02}:{:02}.{millis:03}Z",
            of_day / 3600,
            (of_day / 60) % 60,
            of_day % 60
        )
    }
}

/// A duration in the largest fitting unit with about three significant digits:
/// `850ns`, `12.3µs`, `1.23ms`, `4.56s`, `2m05s`, `1h02m`.
struct HumanDuration(u64);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        // Printed on the stack first, then padded as a whole, so `{:>7}` aligns the column.
        let mut text = DurationText::default();
        // Thresholds at x999.5 of the smaller unit so rounding never prints `1000µs`.
        if n < 1_000 {
            write!(text, "{n}ns")?;
        } else if n < 999_500 {
            scaled(&mut text, n as f64 / 1e3, "µs")?;
        } else if n < 999_500_000 {
            scaled(&mut text, n as f64 / 1e6, "ms")?;
        } else if n < 59_950_000_000 {
            scaled(&mut text, n as f64 / 1e9, "s")?;
        } else {
            let secs = n.saturating_add(500_000_000) / 1_000_000_000;
            if secs < 3600 {
                write!(text, "{}m{:02}s", secs / 60, secs % 60)?;
            } else {
                let mins = (secs + 30) / 60;
                write!(text, "{}h{:02}m", mins / 60, mins % 60)?;
            }
        }
        f.pad(text.as_str())
    }
}

/// A duration's text: at most `5124095h35m`.
type DurationText = StackText<24>;

fn scaled(text: &mut DurationText, v: f64, unit: &str) -> fmt::Result {
    if v < 9.995 {
        write!(text, "{v:.2}{unit}")
    } else if v < 99.95 {
        write!(text, "{v:.1}{unit}")
    } else {
        write!(text, "{v:.0}{unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, Link, SpanContext, Str, TraceFlags, TraceId, TraceState};
    use serde_json::{json, Value as Json};

    /// A writer tests can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn batch(spans: Vec<SpanData>) -> SpanBatch {
        spans.into()
    }

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";
    const PARENT: &str = "0000000000000abc";
    const START: u64 = 1_700_000_000_123_456_789;

    fn ctx(trace: &str, span: &str, state: TraceState) -> SpanContext {
        SpanContext::new(
            TraceId::from_hex(trace).unwrap(),
            SpanId::from_hex(span).unwrap(),
            TraceFlags::SAMPLED,
            state,
            false,
        )
    }

    fn root(name: impl Into<Str>) -> SpanData {
        SpanData {
            name: name.into(),
            scope: "tests".into(),
            context: ctx(TRACE, SPAN, TraceState::default()),
            parent_span_id: SpanId::INVALID,
            parent_is_remote: false,
            kind: SpanKind::Internal,
            start_time_unix_nano: START,
            end_time_unix_nano: START + 1_234_567,
            attributes: crate::Attributes::new(),
            events: vec![],
            links: vec![],
            status: Status::Unset,
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
        }
    }

    fn full() -> SpanData {
        let state = TraceState::default()
            .insert("congo", "t61rcWkgMzE")
            .unwrap();
        SpanData {
            context: ctx(TRACE, SPAN, state),
            parent_span_id: SpanId::from_hex(PARENT).unwrap(),
            kind: SpanKind::Server,
            attributes: [
                KeyValue::new("s", "text"),
                KeyValue::new("i", -123i64),
                KeyValue::new("big", i64::MAX),
                KeyValue::new("f", 1.5f64),
                KeyValue::new("b", true),
                KeyValue::new("arr", vec![1i64, 2]),
                KeyValue::new("strs", vec!["a", "b"]),
            ]
            .into_iter()
            .collect(),
            events: vec![Event {
                name: "cache.miss".into(),
                time_unix_nano: START + 210_000,
                attributes: vec![KeyValue::new("key", "books:all")],
                dropped_attributes_count: 2,
            }],
            links: vec![Link {
                context: ctx(
                    "0af7651916cd43dd8448eb211c80319c",
                    "b7ad6b7169203331",
                    TraceState::default(),
                ),
                attributes: vec![KeyValue::new("reason", "batch")],
            }],
            status: Status::error("db timeout"),
            dropped_attributes_count: 3,
            dropped_events_count: 0,
            dropped_links_count: 1,
            ..root("GET /books")
        }
    }

    fn export(format: StdoutFormat, spans: Vec<SpanData>) -> String {
        let out = Shared::default();
        let sink = StdoutSink::from_writer(out.clone(), format);
        futures::executor::block_on(async {
            sink.export_spans(batch(spans)).await.unwrap();
            sink.flush().await.unwrap();
        });
        out.text()
    }

    fn json_lines(spans: Vec<SpanData>) -> Vec<Json> {
        let text = export(StdoutFormat::Json, spans);
        assert!(text.ends_with('\n'));
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn json_has_every_otlp_field() {
        let lines = json_lines(vec![full()]);
        assert_eq!(lines.len(), 1);
        let v = &lines[0];
        assert_eq!(v["traceId"], TRACE);
        assert_eq!(v["spanId"], SPAN);
        assert_eq!(v["parentSpanId"], PARENT);
        assert_eq!(v["traceState"], "congo=t61rcWkgMzE");
        // W3C flags in bits 0-7, "parent is local" in bits 8-9.
        assert_eq!(v["flags"], 0x101);
        assert_eq!(v["name"], "GET /books");
        assert_eq!(v["kind"], 2);
        assert_eq!(v["startTimeUnixNano"], START.to_string());
        assert_eq!(v["endTimeUnixNano"], (START + 1_234_567).to_string());
        assert_eq!(v["scope"], json!({ "name": "tests" }));
        assert_eq!(
            v["attributes"],
            json!([
                { "key": "s", "value": { "stringValue": "text" } },
                { "key": "i", "value": { "intValue": "-123" } },
                { "key": "big", "value": { "intValue": "9223372036854775807" } },
                { "key": "f", "value": { "doubleValue": 1.5 } },
                { "key": "b", "value": { "boolValue": true } },
                { "key": "arr", "value": { "arrayValue": { "values": [
                    { "intValue": "1" }, { "intValue": "2" }
                ] } } },
                { "key": "strs", "value": { "arrayValue": { "values": [
                    { "stringValue": "a" }, { "stringValue": "b" }
                ] } } },
            ])
        );
        assert_eq!(v["droppedAttributesCount"], 3);
        assert!(v.get("droppedEventsCount").is_none());
        assert_eq!(v["droppedLinksCount"], 1);
        assert_eq!(
            v["events"],
            json!([{
                "timeUnixNano": (START + 210_000).to_string(),
                "name": "cache.miss",
                "attributes": [{ "key": "key", "value": { "stringValue": "books:all" } }],
                "droppedAttributesCount": 2,
            }])
        );
        assert_eq!(
            v["links"],
            json!([{
                "traceId": "0af7651916cd43dd8448eb211c80319c",
                "spanId": "b7ad6b7169203331",
                "attributes": [{ "key": "reason", "value": { "stringValue": "batch" } }],
                "flags": 0x101,
            }])
        );
        assert_eq!(v["status"], json!({ "code": 2, "message": "db timeout" }));
    }

    #[test]
    fn json_root_span_omits_optional_fields() {
        let v = &json_lines(vec![root("root")])[0];
        let obj = v.as_object().unwrap();
        for absent in [
            "parentSpanId",
            "traceState",
            "events",
            "links",
            "droppedAttributesCount",
            "droppedEventsCount",
            "droppedLinksCount",
        ] {
            assert!(!obj.contains_key(absent), "{absent} should be omitted: {v}");
        }
        assert_eq!(v["kind"], 1);
        // OTLP/JSON omits a field at its default value: no attributes, no list.
        assert!(v.get("attributes").is_none(), "{v}");
        assert_eq!(v["flags"], 0x101);
        assert_eq!(v["status"], json!({ "code": 0 }));

        let ok = SpanData {
            status: Status::Ok,
            ..root("ok")
        };
        assert_eq!(json_lines(vec![ok])[0]["status"], json!({ "code": 1 }));
        let bare_error = SpanData {
            status: Status::error(""),
            ..root("e")
        };
        assert_eq!(
            json_lines(vec![bare_error])[0]["status"],
            json!({ "code": 2 })
        );
    }

    #[test]
    fn json_escapes_quotes_and_newlines() {
        let name = "say \"hi\"\nthen\tleave \\ \u{1} ünïcödé";
        let span = SpanData {
            attributes: crate::Attributes::from(vec![KeyValue::new("k\"\n", String::from(name))]),
            status: Status::error("line1\nline2 \"q\""),
            ..root(String::from(name))
        };
        let text = export(StdoutFormat::Json, vec![span]);
        assert_eq!(text.lines().count(), 1, "one line per span: {text}");
        let v: Json = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["name"], name);
        assert_eq!(v["attributes"][0]["key"], "k\"\n");
        assert_eq!(v["attributes"][0]["value"]["stringValue"], name);
        assert_eq!(v["status"]["message"], "line1\nline2 \"q\"");
    }

    #[test]
    fn json_non_finite_doubles_are_strings() {
        let span = SpanData {
            attributes: [
                KeyValue::new("nan", f64::NAN),
                KeyValue::new("inf", f64::INFINITY),
                KeyValue::new("ninf", f64::NEG_INFINITY),
                KeyValue::new("arr", vec![f64::NAN, 0.25]),
                KeyValue::new("neg", -0.5f64),
            ]
            .into_iter()
            .collect(),
            ..root("doubles")
        };
        let v = &json_lines(vec![span])[0];
        let a = &v["attributes"];
        assert_eq!(a[0]["value"], json!({ "doubleValue": "NaN" }));
        assert_eq!(a[1]["value"], json!({ "doubleValue": "Infinity" }));
        assert_eq!(a[2]["value"], json!({ "doubleValue": "-Infinity" }));
        assert_eq!(
            a[3]["value"],
            json!({ "arrayValue": { "values": [
                { "doubleValue": "NaN" }, { "doubleValue": 0.25 }
            ] } })
        );
        assert_eq!(a[4]["value"], json!({ "doubleValue": -0.5 }));
    }

    #[test]
    fn json_one_line_per_span_in_order() {
        let lines = json_lines(vec![root("a"), full(), root("c")]);
        let names: Vec<_> = lines.iter().map(|v| v["name"].clone()).collect();
        assert_eq!(names, ["a", "GET /books", "c"]);
        assert_eq!(export(StdoutFormat::Json, vec![]), "");
    }

    #[test]
    fn pretty_line() {
        let text = export(StdoutFormat::Pretty, vec![full()]);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let first = lines[0];
        // 1_700_000_000 s is 2023-11-14 22:13:20 UTC.
        assert!(
            first.starts_with("22:13:20.123Z  1.23ms GET /books [server] "),
            "{first}"
        );
        assert!(first.contains(" trace=4bf92f35… "), "{first}");
        assert!(
            first.contains(&format!(" span={SPAN} parent={PARENT} ")),
            "{first}"
        );
        assert!(first.contains(" status=\"ERROR: db timeout\""), "{first}");
        assert!(
            first.contains(
                " s=text i=-123 big=9223372036854775807 f=1.5 b=true arr=[1,2] strs=[a,b]"
            ),
            "{first}"
        );
        assert!(
            first.contains(" dropped_attributes=3 dropped_links=1"),
            "{first}"
        );
        assert_eq!(
            lines[1],
            "  • cache.miss +210µs key=books:all dropped_attributes=2"
        );
        assert_eq!(
            lines[2],
            "  ↪ link trace=0af7651916cd43dd8448eb211c80319c span=b7ad6b7169203331 reason=batch"
        );
    }

    #[test]
    fn pretty_root_and_escaping() {
        let span = SpanData {
            attributes: crate::Attributes::from(vec![
                KeyValue::new("msg", "two words"),
                KeyValue::new("nl", "a\nb"),
                KeyValue::new("empty", ""),
                KeyValue::new("tags", vec!["a b", "c'\"d"]),
            ]),
            events: vec![Event {
                name: "early".into(),
                time_unix_nano: START - 5,
                attributes: vec![],
                dropped_attributes_count: 0,
            }],
            ..root("multi\nline")
        };
        let text = export(StdoutFormat::Pretty, vec![span]);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains("\"multi\\nline\" trace="), "{}", lines[0]);
        assert!(lines[0].contains(" parent=- "), "{}", lines[0]);
        assert!(!lines[0].contains("status="), "{}", lines[0]);
        assert!(
            lines[0].ends_with(r#" msg="two words" nl="a\nb" empty="" tags="[a b,c'\"d]""#),
            "{}",
            lines[0]
        );
        assert_eq!(lines[1], "  • early -5ns");
    }

    #[test]
    fn human_durations() {
        let cases = [
            (0, "0ns"),
            (999, "999ns"),
            (1_000, "1.00µs"),
            (12_345, "12.3µs"),
            (999_499, "999µs"),
            (999_500, "1.00ms"),
            (1_234_567, "1.23ms"),
            (1_500_000_000, "1.50s"),
            (59_940_000_000, "59.9s"),
            (59_960_000_000, "1m00s"),
            (125_000_000_000, "2m05s"),
            (3_720_000_000_000, "1h02m"),
            (u64::MAX, "5124095h35m"),
        ];
        for (n, want) in cases {
            assert_eq!(HumanDuration(n).to_string(), want, "{n}");
        }
        assert_eq!(format!("{:>7}", HumanDuration(1_000)), " 1.00µs");
        assert_eq!(TimeOfDay(0).to_string(), "00:00:00.000Z");
        assert_eq!(TimeOfDay(86_399_999_999_999).to_string(), "23:59:59.999Z");
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let span = SpanData {
            start_time_unix_nano: u64::MAX,
            end_time_unix_nano: 0,
            events: vec![Event {
                name: "".into(),
                time_unix_nano: 0,
                attributes: vec![],
                dropped_attributes_count: 0,
            }],
            ..root("")
        };
        let text = export(StdoutFormat::Pretty, vec![span.clone()]);
        assert!(text.contains("\"\""), "{text}");
        assert!(text.contains(" -"), "{text}");
        let v = &json_lines(vec![span])[0];
        assert_eq!(v["startTimeUnixNano"], u64::MAX.to_string());
    }

    fn snapshot() -> Arc<MetricsSnapshot> {
        Arc::new(MetricsSnapshot {
            time_unix_nano: START,
            pipeline: crate::PipelineStats {
                spans_recorded: 10,
                spans_exported: 9,
                spans_dropped: 1,
                sinks: vec![crate::SinkStats {
                    name: "stdout".into(),
                    errors: 2,
                    ..Default::default()
                }],
                ..Default::default()
            },
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn metrics_off_by_default() {
        let out = Shared::default();
        let sink = StdoutSink::from_writer(out.clone(), StdoutFormat::Json);
        sink.export_metrics(snapshot()).await.unwrap();
        assert_eq!(out.text(), "");
    }

    #[tokio::test]
    async fn metrics_json_and_pretty() {
        let out = Shared::default();
        let sink = StdoutSink::from_writer(out.clone(), StdoutFormat::Json).with_metrics(true);
        sink.export_metrics(snapshot()).await.unwrap();
        sink.flush().await.unwrap();
        let text = out.text();
        assert_eq!(text.lines().count(), 1);
        let v: Json = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["timeUnixNano"], START.to_string());
        assert_eq!(v["pipeline"]["spansRecorded"], "10");
        assert_eq!(v["pipeline"]["spansExported"], "9");
        assert_eq!(v["pipeline"]["spansDropped"], "1");
        assert_eq!(v["pipeline"]["sinks"][0]["name"], "stdout");
        assert_eq!(v["pipeline"]["sinks"][0]["errors"], "2");

        let out = Shared::default();
        let sink = StdoutSink::from_writer(out.clone(), StdoutFormat::Pretty).with_metrics(true);
        sink.export_metrics(snapshot()).await.unwrap();
        sink.flush().await.unwrap();
        let text = out.text();
        assert_eq!(text.lines().count(), 1);
        assert!(text.starts_with("22:13:20.123Z metrics recorded=10 exported=9 dropped=1 "));
        assert!(text.trim_end().ends_with(" sink_failures=2"), "{text}");
    }

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

    fn log(level: crate::Level, body: &'static str) -> LogRecord {
        let mut record = LogRecord::new(level, body);
        record.time_unix_nano = START;
        record.observed_time_unix_nano = START;
        record.target = "bookstore::routes".into();
        record
    }

    fn in_span(mut record: LogRecord) -> LogRecord {
        record.trace_id = TraceId::from_hex(TRACE).unwrap();
        record.span_id = SpanId::from_hex(SPAN).unwrap();
        record.trace_flags = TraceFlags::SAMPLED;
        record
    }

    fn render_log(record: &LogRecord, format: StdoutFormat, color: bool) -> String {
        let mut buf = Vec::new();
        match format {
            StdoutFormat::Json => log_json_line(record, &mut buf),
            StdoutFormat::Pretty => pretty_log(record, color, &mut buf),
        }
        String::from_utf8(buf).unwrap()
    }

    /// Every day from 1970 to 2600 is the day after the one before: the date
    /// arithmetic has no gap or repeat at any month, leap day or century.
    #[test]
    fn dates_follow_one_another_day_by_day() {
        let days_in = |y: u64, m: u64| match m {
            2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut expected = (1970, 1, 1);
        for day in 0..230_000 {
            assert_eq!(civil_date(day), expected, "day {day}");
            let (y, m, d) = expected;
            expected = if d < days_in(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_nanoseconds() {
        let text = |ns: u64| {
            let mut buf = Vec::new();
            rfc3339_nanos(ns, &mut buf);
            String::from_utf8(buf).unwrap()
        };
        assert_eq!(text(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(text(START), "2023-11-14T22:13:20.123456789Z");
        // 2000-02-29, a leap day of a year divisible by 400.
        assert_eq!(
            text(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(text(u64::MAX), "2554-07-21T23:34:33.709551615Z");
    }

    #[test]
    fn fatal_severities_write_fatal_and_unspecified_writes_no_level() {
        assert_eq!(level_text(Severity::new(24)), Some("FATAL"));
        assert_eq!(level_text(Severity::new(20)), Some("ERROR"));
        assert_eq!(level_text(Severity::new(10)), Some("INFO"));
        assert_eq!(level_text(Severity::UNSPECIFIED), None);
        let mut record = log(crate::Level::Info, "m");
        record.severity = Severity::UNSPECIFIED;
        let line = render_log(&record, StdoutFormat::Json, false);
        assert!(!line.contains("\"level\""), "{line}");
        assert_eq!(
            render_log(&record, StdoutFormat::Pretty, false),
            "22:13:20.123Z       - bookstore::routes: m\n"
        );
    }

    #[test]
    fn pretty_levels_are_colored_and_padding_stays_outside_the_color() {
        let cases = [
            (crate::Level::Error, "\x1b[31mERROR\x1b[0m"),
            (crate::Level::Warn, "\x1b[33mWARN\x1b[0m"),
            (crate::Level::Info, "\x1b[32mINFO\x1b[0m"),
            (crate::Level::Debug, "\x1b[34mDEBUG\x1b[0m"),
            (crate::Level::Trace, "\x1b[2mTRACE\x1b[0m"),
        ];
        for (level, styled) in cases {
            let line = render_log(&log(level, "m"), StdoutFormat::Pretty, true);
            let pad = " ".repeat(7 - level.as_str().len());
            assert_eq!(
                line,
                format!(
                    "\x1b[2m22:13:20.123Z\x1b[0m {pad}{styled} \x1b[2mbookstore::routes:\x1b[0m m\n"
                )
            );
        }
        let mut fatal = log(crate::Level::Error, "m");
        fatal.severity = Severity::FATAL;
        let line = render_log(&fatal, StdoutFormat::Pretty, true);
        assert!(line.contains("   \x1b[1;31mFATAL\x1b[0m "), "{line:?}");
    }

    /// Colored, the bound fields and the ids are dim; the call-site fields are not.
    #[test]
    fn pretty_colored_line_dims_bound_fields_and_ids() {
        let mut record = in_span(log(crate::Level::Warn, "book not found"));
        record.attributes = crate::Attributes::from(vec![KeyValue::new("book.id", 999i64)]);
        record.context_fields = crate::Attributes::from(vec![KeyValue::new("request.id", "r-17")]);
        assert_eq!(
            render_log(&record, StdoutFormat::Pretty, true),
            "\x1b[2m22:13:20.123Z\x1b[0m    \x1b[33mWARN\x1b[0m \x1b[2mbookstore::routes:\x1b[0m \
             book not found book.id=999\x1b[2m request.id=r-17 trace=4bf92f35\u{2026} \
             span=00f067aa0ba902b7\x1b[0m\n"
        );
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
