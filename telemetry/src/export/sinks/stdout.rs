//! A sink that prints finished spans to stdout (or any writer), as OTLP-shaped JSON lines
//! or in a human-readable development format.

use super::writer::{WriterThread, DEFAULT_BUFFER_BYTES};
use crate::util::stack_text::StackText;
use crate::{
    otlp_json, KeyValue, MetricsSnapshot, Sink, SinkError, SinkFuture, SpanBatch, SpanData, SpanId,
    SpanKind, Status, Value,
};
use std::fmt::{self, Write as _};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};

/// How a [`StdoutSink`] renders spans.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StdoutFormat {
    /// One JSON object per span per line, with OpenTelemetry's OTLP/JSON field names
    /// (`traceId`, `startTimeUnixNano`, `attributes: [{"key", "value": {"intValue"}}]`, …),
    /// ready for `jq` or a log shipper. The default.
    #[default]
    Json,
    /// A compact line per span for reading during development:
    ///
    /// ```text
    /// 14:03:07.412Z  1.23ms GET /books [server] trace=4bf92f35… span=00f067aa0ba902b7 parent=- status=OK http.route=/books
    ///   • cache.miss +210µs key=books:all
    /// ```
    Pretty,
}

/// A [`Sink`] that writes finished spans to stdout, or to any [`Write`]r.
///
/// Each batch is rendered into a buffer on the sink's task, then written by a thread of
/// the sink's own (`telemetry-stdout`, started at the first batch) with one `write_all`
/// and a flush, so lines of different batches never interleave. The runtime never
/// waits on the writer: while it does not take bytes (a pipe nobody reads, a stopped
/// terminal), up to [`with_buffer_bytes`](Self::with_buffer_bytes) (8 MiB by default) of rendered
/// spans wait, and further batches are dropped and counted as this sink's
/// `spans_dropped`; the drain and the other sinks carry on. At shutdown, what is still
/// waiting when the deadline passes counts as dropped too.
/// Metric snapshots are ignored unless [`with_metrics(true)`](Self::with_metrics).
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
    metrics: bool,
    color: bool,
    buffer_bytes: usize,
    /// The writer, until the first batch starts its thread.
    out: Mutex<Option<Box<dyn Write + Send>>>,
    thread: OnceLock<Result<WriterThread, String>>,
    /// Spans of batches refused because the writer thread could not start.
    unwritten: AtomicU64,
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
            metrics: false,
            color,
            buffer_bytes: DEFAULT_BUFFER_BYTES,
            out: Mutex::new(Some(out)),
            thread: OnceLock::new(),
            unwritten: AtomicU64::new(0),
        }
    }

    /// The given format to any writer (a file, a buffer in tests, …). Never colored.
    pub fn from_writer(writer: impl Write + Send + 'static, format: StdoutFormat) -> Self {
        Self::build(format, false, Box::new(writer))
    }

    /// Sets how many bytes of rendered spans may wait for a slow writer before batches
    /// are dropped (default 8 MiB; at least one batch always fits).
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
    /// and hands it over, holding `spans` spans.
    /// Without a writer thread the spans are refused here, and counted.
    fn write(&self, spans: u64, render: impl FnOnce(&mut Vec<u8>)) -> Result<(), SinkError> {
        let thread = self.thread().inspect_err(|_| {
            self.unwritten.fetch_add(spans, Relaxed);
        })?;
        let mut buf = thread.buffer();
        render(&mut buf);
        thread.submit(buf, spans)
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
            self.write(batch.len() as u64, |buf| {
                for span in batch.iter() {
                    self.render_span(span, buf);
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
            self.write(0, |buf| match self.format {
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

    /// A refused batch (a stalled writer) is counted by the writer thread.
    fn counts_own_drops(&self) -> bool {
        true
    }

    fn spans_dropped(&self) -> u64 {
        let unwritten = self.unwritten.load(Relaxed);
        match self.thread.get() {
            Some(Ok(thread)) => thread.spans_dropped() + unwritten,
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
// Pretty
// ---------------------------------------------------------------------------------------

const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
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
