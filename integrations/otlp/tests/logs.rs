//! Log records to `/v1/logs` of the fake collector, decoded with independent OTLP types
//! (`opentelemetry-proto`'s logs messages) and checked field by field against the
//! records handed over, in every encoding: JSON, protobuf, each plain and gzip. Also:
//! the trace context of a record made outside any span is omitted, records are grouped
//! in one `ScopeLogs` per target, and requests hold at most
//! `logs_max_export_batch_size` records.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use common::{attributes, value, Collector, Received};
use opentelemetry_proto::tonic::logs::v1::LogRecord as PLogRecord;
use std::sync::Arc;
use telem::{KeyValue, Level, LogRecord, Severity, Sink, SpanId, TraceFlags, TraceId, Value};
use telem_otlp::{Compression, OtlpConfig, OtlpSink, Protocol};

/// The records every check below looks at, in the order handed over.
fn records() -> Vec<LogRecord> {
    // Inside a span: every field set.
    let mut warn = LogRecord::new(Level::Warn, "book \"999\" not found\n");
    warn.time_unix_nano = 1_700_000_000_000_000_001;
    warn.observed_time_unix_nano = 1_700_000_000_000_000_002;
    warn.attributes = [
        KeyValue::new("book.id", 999i64),
        KeyValue::new("reason", "no such id"),
        KeyValue::new("ratio", 0.5),
        KeyValue::new("cached", false),
        KeyValue::new("tags", vec!["a", "b\"c"]),
    ]
    .into_iter()
    .collect();
    warn.context_fields = [
        KeyValue::new("request.id", "r-17"),
        KeyValue::new("http.route", "/books/{id}"),
    ]
    .into_iter()
    .collect();
    warn.event_name = Some("book.missing".into());
    warn.target = "bookstore::routes".into();
    warn.file = Some("examples/bookstore/src/routes.rs".into());
    warn.line = Some(42);
    warn.trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    warn.span_id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
    warn.trace_flags = TraceFlags::SAMPLED.with_random(true);

    // Outside any span: invalid ids, no flags, no source location, no event name.
    let mut error = LogRecord::new(Level::Error, "reindex failed");
    error.time_unix_nano = 1_700_000_000_000_000_100;
    error.observed_time_unix_nano = 1_700_000_000_000_000_200;
    error.target = "bookstore::store".into();
    error.attributes = [KeyValue::new("attempt", 3i64)].into_iter().collect();

    // The first target again, a bridged severity, no body, no attributes.
    let mut bridged = LogRecord::new(Severity::new(10), "");
    bridged.time_unix_nano = 1_700_000_000_000_000_300;
    bridged.observed_time_unix_nano = 1_700_000_000_000_000_400;
    bridged.target = "bookstore::routes".into();
    bridged.line = Some(7);

    // An unspecified severity, and an unsampled span's context.
    let mut unspecified = LogRecord::new(Severity::UNSPECIFIED, "plain");
    unspecified.time_unix_nano = 1_700_000_000_000_000_500;
    unspecified.observed_time_unix_nano = 1_700_000_000_000_000_500;
    unspecified.target = "bookstore::store".into();
    unspecified.trace_id = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap();
    unspecified.span_id = SpanId::from_hex("b7ad6b7169203331").unwrap();
    unspecified.trace_flags = TraceFlags::NONE;

    vec![warn, error, bridged, unspecified]
}

async fn export(protocol: Protocol, compression: Compression) -> (Vec<LogRecord>, Vec<Received>) {
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(
        common::books_api(&collector, protocol, compression)
            .with_scope_version("bookstore::routes", "0.9.0")
            .with_self_metrics(false),
    )
    .unwrap();
    let records = records();
    otlp.export_logs(Arc::new(records.clone())).await.unwrap();
    otlp.shutdown().await.unwrap();
    let stats = otlp.stats();
    assert_eq!(
        (stats.logs_received, stats.logs_sent, stats.logs_queued),
        (4, 4, 0),
        "{stats:?}"
    );
    assert_eq!(otlp.logs_dropped(), 0);
    assert_eq!(stats.spans_received, 0);
    assert!(collector.received_on("/v1/traces").is_empty());
    (records, collector.received_on("/v1/logs"))
}

/// What the exported attributes must be: the call site's, the bound fields, then
/// `code.file.path` and `code.line.number` (semantic conventions, code namespace).
fn expected_attributes(want: &LogRecord) -> Vec<KeyValue> {
    let mut all: Vec<KeyValue> = want
        .attributes
        .iter()
        .chain(want.context_fields.iter())
        .cloned()
        .collect();
    if let Some(file) = &want.file {
        all.push(KeyValue::new("code.file.path", file.to_string()));
    }
    if let Some(line) = want.line {
        all.push(KeyValue::new("code.line.number", i64::from(line)));
    }
    all
}

fn check_record(got: &PLogRecord, want: &LogRecord) {
    assert_eq!(got.time_unix_nano, want.time_unix_nano);
    assert_eq!(got.observed_time_unix_nano, want.observed_time_unix_nano);
    assert_eq!(got.severity_number, i32::from(want.severity.number()));
    assert_eq!(got.severity_text, want.severity.text());
    match got.body.as_ref() {
        Some(body) => assert_eq!(value(body), Value::from(want.body.to_string())),
        None => assert!(want.body.is_empty(), "body missing"),
    }
    assert_eq!(attributes(&got.attributes), expected_attributes(want));
    assert_eq!(got.dropped_attributes_count, 0);
    // LOG_RECORD_FLAGS_TRACE_FLAGS_MASK: the W3C trace flags in bits 0-7, nothing else.
    assert_eq!(got.flags, u32::from(want.trace_flags.bits()));
    // Omitted (empty) when invalid: a record made outside any span.
    if want.trace_id.is_valid() {
        assert_eq!(got.trace_id, want.trace_id.to_bytes());
    } else {
        assert!(got.trace_id.is_empty(), "{:?}", got.trace_id);
    }
    if want.span_id.is_valid() {
        assert_eq!(got.span_id, want.span_id.to_bytes());
    } else {
        assert!(got.span_id.is_empty(), "{:?}", got.span_id);
    }
    assert_eq!(
        got.event_name,
        want.event_name.as_ref().map_or("", |n| n.as_str())
    );
}

fn check(records: &[LogRecord], received: &[Received]) {
    assert_eq!(received.len(), 1, "one request holds the four records");
    let request = &received[0];
    assert_eq!(request.path, "/v1/logs");
    let logs = request.logs();
    assert_eq!(logs.resource_logs.len(), 1);
    let rl = &logs.resource_logs[0];
    let attr = |k: &str| common::resource_attribute(rl.resource.as_ref(), k);
    assert_eq!(attr("service.name"), Some(Value::from("books-api")));
    assert_eq!(attr("service.version"), Some(Value::from("1.2.3")));
    assert_eq!(attr("telemetry.sdk.name"), Some(Value::from("telem")));

    // One ScopeLogs per target, in order of first appearance, with its version when
    // configured; the records of each in the order handed over.
    let scopes: Vec<(&str, &str, usize)> = rl
        .scope_logs
        .iter()
        .map(|s| {
            let scope = s.scope.as_ref().unwrap();
            (
                scope.name.as_str(),
                scope.version.as_str(),
                s.log_records.len(),
            )
        })
        .collect();
    assert_eq!(
        scopes,
        [
            ("bookstore::routes", "0.9.0", 2),
            ("bookstore::store", "", 2)
        ]
    );
    let by_scope = |target: &str| -> Vec<&LogRecord> {
        records.iter().filter(|r| r.target == target).collect()
    };
    for scope in &rl.scope_logs {
        let want = by_scope(&scope.scope.as_ref().unwrap().name);
        assert_eq!(scope.log_records.len(), want.len());
        for (got, want) in scope.log_records.iter().zip(want) {
            check_record(got, want);
        }
    }
}

/// The OTLP/JSON spelling, read from the raw JSON (the serde decoder above is lenient
/// about it): lowerCamelCase names, ids in lowercase hex, 64-bit integers as strings,
/// enums and 32-bit integers as numbers, fields at their default value omitted.
fn check_json_spelling(request: &Received) {
    let v = request.json();
    let scopes = v["resourceLogs"][0]["scopeLogs"].as_array().unwrap();
    let routes = scopes[0]["logRecords"].as_array().unwrap();
    let store = scopes[1]["logRecords"].as_array().unwrap();
    let warn = &routes[0];
    assert_eq!(warn["timeUnixNano"], "1700000000000000001");
    assert_eq!(warn["observedTimeUnixNano"], "1700000000000000002");
    assert_eq!(warn["severityNumber"], 13);
    assert_eq!(warn["severityText"], "WARN");
    assert_eq!(warn["body"]["stringValue"], "book \"999\" not found\n");
    assert_eq!(warn["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(warn["spanId"], "00f067aa0ba902b7");
    assert_eq!(warn["flags"], 3);
    assert_eq!(warn["eventName"], "book.missing");
    let attrs = warn["attributes"].as_array().unwrap();
    let keys: Vec<&str> = attrs.iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "book.id",
            "reason",
            "ratio",
            "cached",
            "tags",
            "request.id",
            "http.route",
            "code.file.path",
            "code.line.number"
        ]
    );
    assert_eq!(attrs[0]["value"]["intValue"], "999");
    assert_eq!(attrs[8]["value"]["intValue"], "42");
    assert_eq!(
        attrs[7]["value"]["stringValue"],
        "examples/bookstore/src/routes.rs"
    );

    // Outside any span: no trace context at all.
    let error = &store[0];
    assert_eq!(error["severityNumber"], 17);
    for absent in ["traceId", "spanId", "flags", "eventName"] {
        assert!(error.get(absent).is_none(), "{absent}: {error}");
    }
    // No body, no severity: omitted.
    let bridged = &routes[1];
    assert_eq!(bridged["severityNumber"], 10);
    assert_eq!(bridged["severityText"], "INFO2");
    assert!(bridged.get("body").is_none(), "{bridged}");
    let unspecified = &store[1];
    assert!(unspecified.get("severityNumber").is_none(), "{unspecified}");
    assert!(unspecified.get("severityText").is_none(), "{unspecified}");
    assert!(unspecified.get("flags").is_none(), "{unspecified}");
    assert_eq!(unspecified["traceId"], "0af7651916cd43dd8448eb211c80319c");
}

/// JSON and protobuf, each plain and gzip: decoded, every field is what was handed over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_exported_field_by_field_in_every_encoding() {
    common::check_every_encoding(export, check, check_json_spelling).await;
}

/// The same records give the same request in both encodings.
#[cfg(feature = "protobuf")]
#[test]
fn json_and_protobuf_encode_the_same_request() {
    let encode = |protocol| {
        let mut out = Vec::new();
        telem_otlp::Encoder::new(protocol, vec![KeyValue::new("service.name", "x")])
            .with_scope_version("bookstore::routes", "0.9.0")
            .encode_logs(&records(), &mut out);
        Received {
            path: "/v1/logs".into(),
            content_type: protocol.content_type().into(),
            content_encoding: None,
            headers: http::HeaderMap::new(),
            compressed_len: out.len(),
            body: out,
        }
        .logs()
    };
    assert_eq!(encode(Protocol::HttpJson), encode(Protocol::HttpProtobuf));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_bounded_by_logs_max_export_batch_size() {
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(
        OtlpConfig::new()
            .with_endpoint(collector.endpoint())
            .with_protocol(Protocol::HttpJson)
            .with_logs_max_export_batch_size(40)
            // The spans' batch size does not apply to log records.
            .with_max_export_batch_size(1)
            .with_self_metrics(false),
    )
    .unwrap();
    for chunk in 0..5 {
        let batch: Vec<LogRecord> = (0..50)
            .map(|i| LogRecord::new(Level::Info, format!("record {chunk}-{i}")))
            .collect();
        otlp.export_logs(Arc::new(batch)).await.unwrap();
    }
    otlp.shutdown().await.unwrap();
    let received = collector.received_on("/v1/logs");
    common::assert_batched(&received, Received::log_bodies, 40, 250);
    assert_eq!(otlp.stats().logs_sent, 250);
}

/// `with_signal(Signal::Logs, false)`: log records are ignored, not counted, not sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_with_logs_switched_off_ignores_them() {
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(
        OtlpConfig::new()
            .with_endpoint(collector.endpoint())
            .with_signal(telem_otlp::Signal::Logs, false)
            .with_self_metrics(false),
    )
    .unwrap();
    otlp.export_logs(Arc::new(records())).await.unwrap();
    otlp.shutdown().await.unwrap();
    assert_eq!(otlp.stats().logs_received, 0);
    assert!(collector.received().is_empty());
}
