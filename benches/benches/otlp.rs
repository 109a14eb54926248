//! Encoding 10,000 spans as an OTLP request body: `telem-otlp`'s encoder (JSON and
//! protobuf, written straight from `SpanData`) beside the OpenTelemetry SDK's exporter
//! path for the same spans (`opentelemetry-proto`'s transform from
//! `opentelemetry_sdk::trace::SpanData`, then prost or serde_json, as
//! `opentelemetry-otlp` does), in one run:
//!
//! ```sh
//! cargo bench -p telem-benches --features peers --bench otlp
//! ```
//!
//! The spans look like a service's: a server span per request with five HTTP
//! attributes, two children (a client call and an internal step) with two attributes
//! each, one request in ten with an `exception` event and an error status. Throughput
//! is reported in spans per second. The SDK's transform consumes its spans, so each of
//! its samples gets a fresh copy (made outside the timed part).
//!
//! A second group, `drain_and_encode_10k_spans`, starts from the recording side: the
//! same 10,000 spans are recorded through the API (untimed), then `drain_now` is timed:
//! the drain takes them from the ring, builds the `SpanData` batches and a sink encodes
//! them, on one core (the runtime's), with nothing written anywhere. Its cases: the
//! drain alone (a sink that discards), JSON lines (the real `StdoutSink`, writing to
//! `io::sink()` through its writer thread) and OTLP protobuf (the encoder into a reused
//! buffer). The SDK's rows in the first group encode the same spans.
//!
//! A third group, `otlp_encode_10k_logs`, encodes 10,000 log records as an
//! `ExportLogsServiceRequest`: `telem-otlp`'s encoder (JSON and protobuf, straight from
//! `LogRecord`) beside the SDK's exporter path (`opentelemetry-proto`'s
//! `group_logs_by_resource_and_scope` from `opentelemetry_sdk::logs::SdkLogRecord`s,
//! then prost or serde_json, as `opentelemetry-otlp` does). The records are a service's:
//! per request an `INFO` access line with three fields and the bound `request.id`, a
//! `DEBUG` store lookup with one field, one request in ten a `WARN` with an event name
//! and a reason; all in the request's trace, with the call's file and line; one record in
//! a hundred an `ERROR` from a background task, outside any span. Two targets
//! (`bookstore::routes`, `bookstore::store`). Throughput is in records per second. The
//! SDK's transform borrows its records, so its samples reuse one batch, as ours do.
#![forbid(unsafe_code)]

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, Throughput};
use opentelemetry::logs::{
    AnyValue as SdkAnyValue, LogRecord as _, Logger as _, LoggerProvider as _,
    Severity as SdkSeverity,
};
use opentelemetry::trace::{
    Event, SpanContext as SdkSpanContext, SpanId as SdkSpanId, SpanKind as SdkSpanKind,
    Status as SdkStatus, TraceFlags as SdkTraceFlags, TraceId as SdkTraceId,
    TraceState as SdkTraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue as SdkKeyValue};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::ScopeLogs;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::logs::{LogBatch as SdkLogBatch, SdkLogRecord, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
use prost::Message;
use std::hint::black_box;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use telem::{
    Config, Event as OurEvent, KeyValue, Level, LogRecord, Sampler, Sink, SinkError, SinkFuture,
    SpanBatch, SpanContext, SpanData, SpanId, SpanKind, Status, StdoutFormat, StdoutSink,
    TraceFlags, TraceId, TraceState, Tracer,
};
use telem_otlp::{Encoder, Protocol};
use tokio::runtime::Runtime;

const SPANS: usize = 10_000;
const LOGS: usize = 10_000;
const START: u64 = 1_700_000_000_000_000_000;

/// One span's content, from which both representations are built.
struct Shape {
    name: &'static str,
    kind: SpanKind,
    trace: u128,
    span: u64,
    parent: u64,
    start: u64,
    end: u64,
    attributes: Vec<(&'static str, Val)>,
    exception: bool,
}

#[derive(Clone)]
enum Val {
    Str(String),
    Int(i64),
}

fn shapes() -> Vec<Shape> {
    let mut out = Vec::with_capacity(SPANS);
    let mut request = 0u64;
    while out.len() < SPANS {
        request += 1;
        let trace = u128::from(request) * 0x9E37_79B9_7F4A_7C15 + 1;
        let root = request * 3 + 1;
        let t0 = START + request * 1_000_000;
        let failed = request % 10 == 9;
        out.push(Shape {
            name: "GET /books/{id}",
            kind: SpanKind::Server,
            trace,
            span: root,
            parent: 0,
            start: t0,
            end: t0 + 900_000,
            attributes: vec![
                ("http.request.method", Val::Str("GET".into())),
                ("http.route", Val::Str("/books/{id}".into())),
                ("url.path", Val::Str(format!("/books/{request}"))),
                (
                    "http.response.status_code",
                    Val::Int(if failed { 500 } else { 200 }),
                ),
                ("server.port", Val::Int(8080)),
            ],
            exception: failed,
        });
        out.push(Shape {
            name: "SELECT books",
            kind: SpanKind::Client,
            trace,
            span: root + 1,
            parent: root,
            start: t0 + 100_000,
            end: t0 + 600_000,
            attributes: vec![
                ("db.system", Val::Str("postgresql".into())),
                (
                    "db.query.text",
                    Val::Str("SELECT * FROM books WHERE id = $1".into()),
                ),
            ],
            exception: failed,
        });
        out.push(Shape {
            name: "render",
            kind: SpanKind::Internal,
            trace,
            span: root + 2,
            parent: root,
            start: t0 + 650_000,
            end: t0 + 850_000,
            attributes: vec![
                ("template", Val::Str("book.html".into())),
                ("bytes", Val::Int(18_342)),
            ],
            exception: false,
        });
    }
    out.truncate(SPANS);
    out
}

fn ours(shapes: &[Shape]) -> Vec<SpanData> {
    shapes
        .iter()
        .map(|s| SpanData {
            name: s.name.into(),
            scope: "books".into(),
            context: SpanContext::new(
                TraceId::from_raw(s.trace),
                SpanId::from_raw(s.span),
                TraceFlags::SAMPLED,
                TraceState::default(),
                false,
            ),
            parent_span_id: SpanId::from_raw(s.parent),
            parent_is_remote: false,
            kind: s.kind,
            start_time_unix_nano: s.start,
            end_time_unix_nano: s.end,
            attributes: s
                .attributes
                .iter()
                .map(|(k, v)| match v {
                    Val::Str(t) => KeyValue::new(*k, t.clone()),
                    Val::Int(i) => KeyValue::new(*k, *i),
                })
                .collect(),
            events: if s.exception {
                vec![OurEvent {
                    name: "exception".into(),
                    time_unix_nano: s.end,
                    attributes: vec![KeyValue::new("exception.message", "connection reset")],
                    dropped_attributes_count: 0,
                }]
            } else {
                Vec::new()
            },
            links: Vec::new(),
            status: if s.exception {
                Status::error("connection reset")
            } else {
                Status::Unset
            },
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
        })
        .collect()
}

fn sdk(shapes: &[Shape]) -> Vec<opentelemetry_sdk::trace::SpanData> {
    let scope = InstrumentationScope::builder("books").build();
    let time = |ns: u64| SystemTime::UNIX_EPOCH + Duration::from_nanos(ns);
    shapes
        .iter()
        .map(|s| {
            let mut events = SpanEvents::default();
            if s.exception {
                events.events.push(Event::new(
                    "exception",
                    time(s.end),
                    vec![SdkKeyValue::new("exception.message", "connection reset")],
                    0,
                ));
            }
            opentelemetry_sdk::trace::SpanData {
                span_context: SdkSpanContext::new(
                    SdkTraceId::from(s.trace),
                    SdkSpanId::from(s.span),
                    SdkTraceFlags::SAMPLED,
                    false,
                    SdkTraceState::default(),
                ),
                parent_span_id: SdkSpanId::from(s.parent),
                parent_span_is_remote: false,
                span_kind: match s.kind {
                    SpanKind::Server => SdkSpanKind::Server,
                    SpanKind::Client => SdkSpanKind::Client,
                    _ => SdkSpanKind::Internal,
                },
                name: s.name.into(),
                start_time: time(s.start),
                end_time: time(s.end),
                attributes: s
                    .attributes
                    .iter()
                    .map(|(k, v)| match v {
                        Val::Str(t) => SdkKeyValue::new(*k, t.clone()),
                        Val::Int(i) => SdkKeyValue::new(*k, *i),
                    })
                    .collect(),
                dropped_attributes_count: 0,
                events,
                links: SpanLinks::default(),
                status: if s.exception {
                    SdkStatus::error("connection reset")
                } else {
                    SdkStatus::Unset
                },
                instrumentation_scope: scope.clone(),
            }
        })
        .collect()
}

fn resource_attributes() -> Vec<(&'static str, &'static str)> {
    vec![
        ("service.name", "books"),
        ("service.version", "1.4.2"),
        (
            "service.instance.id",
            "4b2c6a0e-7d1f-4c52-9a43-1f0e6d5c2b7a",
        ),
        ("host.name", "books-7d9f"),
        ("telemetry.sdk.language", "rust"),
    ]
}

/// One log record's content, from which both representations are built.
struct LogShape {
    level: Level,
    body: String,
    target: &'static str,
    event_name: Option<&'static str>,
    time: u64,
    /// Call-site fields, then the fields bound to the context.
    fields: Vec<(&'static str, Val)>,
    bound: Vec<(&'static str, Val)>,
    line: u32,
    /// Trace and span ids; `None` outside any span.
    context: Option<(u128, u64)>,
}

fn log_shapes() -> Vec<LogShape> {
    let mut out = Vec::with_capacity(LOGS);
    let mut request = 0u64;
    while out.len() < LOGS {
        request += 1;
        let context = Some((
            u128::from(request) * 0x9E37_79B9_7F4A_7C15 + 1,
            request * 3 + 1,
        ));
        let t0 = START + request * 1_000_000;
        let bound = || vec![("request.id", Val::Str(format!("req-{request:08x}")))];
        out.push(LogShape {
            level: Level::Info,
            body: format!("GET /books/{request} answered 200"),
            target: "bookstore::routes",
            event_name: None,
            time: t0,
            fields: vec![
                ("http.route", Val::Str("/books/{id}".into())),
                ("http.response.status_code", Val::Int(200)),
                ("duration_us", Val::Int(850)),
            ],
            bound: bound(),
            line: 88,
            context,
        });
        out.push(LogShape {
            level: Level::Debug,
            body: "store lookup".into(),
            target: "bookstore::store",
            event_name: None,
            time: t0 + 100_000,
            fields: vec![("book.id", Val::Int(request as i64))],
            bound: bound(),
            line: 41,
            context,
        });
        if request % 10 == 9 {
            out.push(LogShape {
                level: Level::Warn,
                body: format!("book {request} not found"),
                target: "bookstore::routes",
                event_name: Some("book.missing"),
                time: t0 + 200_000,
                fields: vec![("reason", Val::Str("no such id".into()))],
                bound: bound(),
                line: 102,
                context,
            });
        }
        if request % 50 == 49 {
            out.push(LogShape {
                level: Level::Error,
                body: "reindex failed: disk full".into(),
                target: "bookstore::store",
                event_name: None,
                time: t0 + 300_000,
                fields: vec![("attempt", Val::Int(3))],
                bound: Vec::new(),
                line: 150,
                context: None,
            });
        }
    }
    out.truncate(LOGS);
    out
}

const LOG_FILE: &str = "examples/bookstore/src/routes.rs";

fn our_logs(shapes: &[LogShape]) -> Vec<LogRecord> {
    let kv = |(k, v): &(&'static str, Val)| match v {
        Val::Str(t) => KeyValue::new(*k, t.clone()),
        Val::Int(i) => KeyValue::new(*k, *i),
    };
    shapes
        .iter()
        .map(|s| {
            let mut r = LogRecord::new(s.level, s.body.clone());
            r.time_unix_nano = s.time;
            r.observed_time_unix_nano = s.time;
            r.target = s.target.into();
            r.event_name = s.event_name.map(Into::into);
            r.attributes = s.fields.iter().map(kv).collect();
            r.context_fields = s.bound.iter().map(kv).collect();
            r.file = Some(LOG_FILE.into());
            r.line = Some(s.line);
            if let Some((trace, span)) = s.context {
                r.trace_id = TraceId::from_raw(trace);
                r.span_id = SpanId::from_raw(span);
                r.trace_flags = TraceFlags::SAMPLED;
            }
            r
        })
        .collect()
}

/// The same records as the SDK holds them: made by its logger, every field set
/// through the `LogRecord` trait, as an appender bridge does. The bound fields and the
/// source location are plain attributes there.
fn sdk_logs(shapes: &[LogShape]) -> Vec<SdkLogRecord> {
    let provider = SdkLoggerProvider::builder().build();
    let logger = provider.logger("books");
    let time = |ns: u64| SystemTime::UNIX_EPOCH + Duration::from_nanos(ns);
    shapes
        .iter()
        .map(|s| {
            let mut r = logger.create_log_record();
            r.set_timestamp(time(s.time));
            r.set_observed_timestamp(time(s.time));
            let (severity, text) = match s.level {
                Level::Error => (SdkSeverity::Error, "ERROR"),
                Level::Warn => (SdkSeverity::Warn, "WARN"),
                Level::Info => (SdkSeverity::Info, "INFO"),
                Level::Debug => (SdkSeverity::Debug, "DEBUG"),
                Level::Trace => (SdkSeverity::Trace, "TRACE"),
            };
            r.set_severity_number(severity);
            r.set_severity_text(text);
            r.set_body(SdkAnyValue::from(s.body.clone()));
            r.set_target(s.target);
            if let Some(name) = s.event_name {
                r.set_event_name(name);
            }
            for (k, v) in s.fields.iter().chain(&s.bound) {
                match v {
                    Val::Str(t) => r.add_attribute(*k, t.clone()),
                    Val::Int(i) => r.add_attribute(*k, *i),
                }
            }
            r.add_attribute("code.file.path", LOG_FILE);
            r.add_attribute("code.line.number", i64::from(s.line));
            if let Some((trace, span)) = s.context {
                r.set_trace_context(
                    SdkTraceId::from(trace),
                    SdkSpanId::from(span),
                    Some(SdkTraceFlags::SAMPLED),
                );
            }
            r
        })
        .collect()
}

/// The scopes of a logs request, in scope-name order (the SDK groups through a hash
/// map).
fn sorted_scopes(request: ExportLogsServiceRequest) -> Vec<ScopeLogs> {
    let mut scopes: Vec<ScopeLogs> = request
        .resource_logs
        .into_iter()
        .flat_map(|r| r.scope_logs)
        .collect();
    scopes.sort_by(|a, b| {
        let name = |s: &ScopeLogs| s.scope.as_ref().map(|s| s.name.clone()).unwrap_or_default();
        name(a).cmp(&name(b))
    });
    scopes
}

/// Our encoder in both protocols, with the same resource.
struct Encoders {
    json: Encoder,
    protobuf: Encoder,
}

impl Encoders {
    fn new(resource: &[KeyValue]) -> Self {
        Self {
            json: Encoder::new(Protocol::HttpJson, resource.to_vec()),
            protobuf: Encoder::new(Protocol::HttpProtobuf, resource.to_vec()),
        }
    }

    /// Our cases of an encoding group, `telemetry_json` and `telemetry_protobuf`:
    /// `encode` with each encoder into `buf`.
    fn bench(
        &self,
        g: &mut BenchmarkGroup<'_, WallTime>,
        buf: &mut Vec<u8>,
        encode: impl Fn(&Encoder, &mut Vec<u8>),
    ) {
        for (name, encoder) in [
            ("telemetry_json", &self.json),
            ("telemetry_protobuf", &self.protobuf),
        ] {
            g.bench_function(name, |b| {
                b.iter(|| black_box(body_len(buf, |buf| encode(encoder, buf))));
            });
        }
    }
}

/// An encoding group: `n` items a sample, 30 samples of about 5 s after 1 s of warm-up.
fn encode_group<'a>(c: &'a mut Criterion, name: &str, n: usize) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(n as u64));
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(5));
    g.sample_size(30);
    g
}

/// The length of what `write` writes into `buf`, cleared first: a body in a reused
/// buffer, as every case writes it.
fn body_len(buf: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) -> usize {
    buf.clear();
    write(buf);
    buf.len()
}

/// Writes a request body into a buffer.
type WriteBody<R> = fn(&R, &mut Vec<u8>);

/// The SDK's cases of an encoding group: a request written as `opentelemetry-otlp` does,
/// `otel_sdk_protobuf` with prost and `otel_sdk_json` with serde_json (`json`: its bound
/// names `serde`, not a dependency here, so each request type has its own).
fn sdk_writes<R: Message>(json: WriteBody<R>) -> [(&'static str, WriteBody<R>); 2] {
    [
        ("otel_sdk_protobuf", |request, buf| {
            request.encode(buf).unwrap_or_default();
        }),
        ("otel_sdk_json", json),
    ]
}

/// Prints the sizes of the request bodies for `what`: ours (`encode` with each encoder)
/// and the SDK's (`request`, written with [`sdk_writes`]).
fn print_sizes<R: Message>(
    what: &str,
    encoders: &Encoders,
    encode: impl Fn(&Encoder, &mut Vec<u8>),
    request: &R,
    json: WriteBody<R>,
) {
    let mut buf = Vec::new();
    let [ours_json, ours_protobuf] = [&encoders.json, &encoders.protobuf]
        .map(|encoder| body_len(&mut buf, |buf| encode(encoder, buf)));
    let [sdk_protobuf, sdk_json] =
        sdk_writes(json).map(|(_, write)| body_len(&mut buf, |buf| write(request, buf)));
    println!(
        "body sizes for {what}: telemetry JSON {ours_json} B, protobuf {ours_protobuf} B; \
         SDK JSON {sdk_json} B, protobuf {sdk_protobuf} B"
    );
}

/// An SDK request in OTLP/JSON, written as `opentelemetry-otlp` does (serde_json).
fn spans_json(request: &ExportTraceServiceRequest, buf: &mut Vec<u8>) {
    serde_json::to_writer(buf, request).unwrap_or_default();
}

/// The same, for log records.
fn logs_json(request: &ExportLogsServiceRequest, buf: &mut Vec<u8>) {
    serde_json::to_writer(buf, request).unwrap_or_default();
}

fn encode_logs(
    c: &mut Criterion,
    resource: &[KeyValue],
    sdk_resource: &ResourceAttributesWithSchema,
) {
    let shapes = log_shapes();
    let ours = our_logs(&shapes);
    let theirs = sdk_logs(&shapes);
    let scope = InstrumentationScope::builder("books").build();
    let pairs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
        theirs.iter().map(|r| (r, &scope)).collect();
    let batch = SdkLogBatch::new(&pairs);
    let sdk_request = || ExportLogsServiceRequest {
        resource_logs: group_logs_by_resource_and_scope(&batch, sdk_resource),
    };

    let encoders = Encoders::new(resource);

    // The same records, decoded back, must be what both encoders wrote, field by field.
    let mut ours_pb = Vec::new();
    encoders.protobuf.encode_logs(&ours, &mut ours_pb);
    let decoded = ExportLogsServiceRequest::decode(ours_pb.as_slice()).unwrap_or_default();
    let expected = sdk_request();
    assert_eq!(
        sorted_scopes(decoded),
        sorted_scopes(expected.clone()),
        "both encoders must write the same log records"
    );

    let mut g = encode_group(c, "otlp_encode_10k_logs", LOGS);
    let mut buf = Vec::with_capacity(8 << 20);
    let encode = |encoder: &Encoder, buf: &mut Vec<u8>| encoder.encode_logs(&ours, buf);
    encoders.bench(&mut g, &mut buf, encode);
    for (name, write) in sdk_writes(logs_json) {
        g.bench_function(name, |b| {
            b.iter(|| black_box(body_len(&mut buf, |buf| write(&sdk_request(), buf))));
        });
    }
    g.finish();

    print_sizes(
        &format!("{LOGS} log records"),
        &encoders,
        encode,
        &expected,
        logs_json,
    );
}

static TRACER: Tracer = Tracer::new("books");

/// Records `shapes` through the API, a request (a server span and its two children)
/// at a time, with their attributes, exception events and error statuses.
fn record(shapes: &[Shape]) {
    let set = |span: &mut telem::Span, shape: &Shape| {
        for (k, v) in &shape.attributes {
            match v {
                Val::Str(t) => span.set_str(*k, t.clone()),
                Val::Int(i) => span.set_i64(*k, *i),
            }
        }
        if shape.exception {
            span.add_event(
                "exception",
                [KeyValue::new("exception.message", "connection reset")],
            );
            span.set_status(Status::error("connection reset"));
        }
    };
    for request in shapes.chunks(3) {
        let mut root = TRACER.span(request[0].name).kind(request[0].kind).start();
        set(&mut root, &request[0]);
        for child in &request[1..] {
            let mut span = TRACER.span(child.name).kind(child.kind).start();
            set(&mut span, child);
        }
    }
}

/// What [`EncodeSink`] does with a batch.
const DISCARD: u8 = 0;
const JSON_LINES: u8 = 1;
const PROTOBUF: u8 = 2;

/// The one sink of the drain benchmark's pipeline, switched between its cases.
#[derive(Debug)]
struct EncodeSink {
    mode: AtomicU8,
    json_lines: StdoutSink,
    protobuf: Encoder,
    buf: Mutex<Vec<u8>>,
}

impl Sink for EncodeSink {
    fn name(&self) -> &str {
        "encode"
    }

    fn export_spans(&self, batch: SpanBatch) -> SinkFuture<'_> {
        Box::pin(async move {
            match self.mode.load(Relaxed) {
                JSON_LINES => self.json_lines.export_spans(batch).await,
                PROTOBUF => {
                    let mut buf = self.buf.lock().map_err(|_| SinkError::new("poisoned"))?;
                    buf.clear();
                    self.protobuf.encode_spans(batch.iter(), &mut buf);
                    black_box(buf.len());
                    Ok(())
                }
                _ => Ok(()),
            }
        })
    }
}

fn drain_and_encode(c: &mut Criterion, rt: &Runtime, shapes: &[Shape], resource: Vec<KeyValue>) {
    let sink = Arc::new(EncodeSink {
        mode: AtomicU8::new(DISCARD),
        json_lines: StdoutSink::from_writer(std::io::sink(), StdoutFormat::Json)
            .with_buffer_bytes(256 << 20),
        protobuf: Encoder::new(Protocol::HttpProtobuf, resource),
        buf: Mutex::new(Vec::with_capacity(8 << 20)),
    });
    let pipeline = {
        let _enter = rt.enter();
        telem::init(
            Config::new()
                .with_sampler(Sampler::AlwaysOn)
                .with_ring_capacity(1 << 16)
                .with_drain_interval(Duration::from_secs(300))
                .with_sink(sink.clone()),
        )
        .expect("no other pipeline is running")
    };
    let mut g = c.benchmark_group("drain_and_encode_10k_spans");
    g.throughput(Throughput::Elements(SPANS as u64));
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(5));
    for (name, mode) in [
        ("telemetry_drain_only", DISCARD),
        ("telemetry_json_lines", JSON_LINES),
        ("telemetry_protobuf", PROTOBUF),
    ] {
        sink.mode.store(mode, Relaxed);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    record(shapes);
                    let start = Instant::now();
                    rt.block_on(pipeline.drain_now());
                    total += start.elapsed();
                }
                total
            })
        });
    }
    g.finish();
    telem_benches::stop_pipeline(rt, pipeline, "drain_and_encode_10k_spans");
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = telem_benches::pinned_runtime();
    let shapes = shapes();
    let our_spans = ours(&shapes);
    let sdk_spans = sdk(&shapes);

    let resource: Vec<KeyValue> = resource_attributes()
        .into_iter()
        .map(|(k, v)| KeyValue::new(k, v))
        .collect();
    let sdk_resource = opentelemetry_sdk::Resource::builder_empty()
        .with_attributes(
            resource_attributes()
                .into_iter()
                .map(|(k, v)| SdkKeyValue::new(k, v)),
        )
        .build();
    let sdk_resource = ResourceAttributesWithSchema::from(&sdk_resource);

    drain_and_encode(&mut c, &rt, &shapes, resource.clone());

    let encoders = Encoders::new(&resource);

    // The same spans, decoded back, must be what both encoders wrote.
    let mut ours_pb = Vec::new();
    encoders.protobuf.encode_spans(&our_spans, &mut ours_pb);
    let theirs = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(sdk_spans.clone(), &sdk_resource),
    };
    let decoded = ExportTraceServiceRequest::decode(ours_pb.as_slice()).unwrap_or_default();
    assert_eq!(
        decoded.resource_spans[0].scope_spans[0].spans,
        theirs.resource_spans[0].scope_spans[0].spans,
        "both encoders must write the same spans"
    );

    let mut g = encode_group(&mut c, "otlp_encode_10k_spans", SPANS);
    let mut buf = Vec::with_capacity(8 << 20);
    let encode = |encoder: &Encoder, buf: &mut Vec<u8>| encoder.encode_spans(&our_spans, buf);
    encoders.bench(&mut g, &mut buf, encode);
    for (name, write) in sdk_writes(spans_json) {
        g.bench_function(name, |b| {
            b.iter_batched(
                || sdk_spans.clone(),
                |spans| {
                    let request = ExportTraceServiceRequest {
                        resource_spans: group_spans_by_resource_and_scope(spans, &sdk_resource),
                    };
                    black_box(body_len(&mut buf, |buf| write(&request, buf)))
                },
                BatchSize::LargeInput,
            );
        });
    }
    g.finish();

    print_sizes(
        &format!("{SPANS} spans"),
        &encoders,
        encode,
        &theirs,
        spans_json,
    );

    encode_logs(&mut c, &resource, &sdk_resource);
    c.final_summary();
}
