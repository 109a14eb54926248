//! Spans through a real pipeline to the fake collector, decoded with independent OTLP
//! types and checked field by field against what the pipeline recorded, in every
//! encoding: JSON, protobuf, each plain and gzip.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use common::{attributes, hex, Collector, Received, ONE_PIPELINE};
use opentelemetry_proto::tonic::trace::v1::Span as PSpan;
use telem::{
    KeyValue, SpanContext, SpanData, SpanId, SpanKind, SpanLimits, Status, TraceFlags, TraceId,
    TraceState, Tracer, Value,
};
use telem_otlp::{Compression, OtlpConfig, OtlpSink, Protocol};

static TRACER: Tracer = Tracer::new("books");
static DB: Tracer = Tracer::new("db");

/// Records the spans every check below looks at.
fn record() {
    let remote = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        TraceState::from_entries([("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE")]).unwrap(),
        true,
    );
    let linked = SpanContext::new(
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
        SpanId::from_hex("b7ad6b7169203331").unwrap(),
        TraceFlags::SAMPLED,
        TraceState::default(),
        false,
    );
    let mut server = TRACER
        .span("GET /books")
        .kind(SpanKind::Server)
        .parent(remote)
        .attribute("http.request.method", "GET")
        .attribute("http.response.status_code", 200i64)
        .attribute("ratio", 0.25)
        .attribute("cached", false)
        .attribute("tags", vec!["a", "b\"c"])
        .attribute("counts", vec![1i64, -2])
        .link(linked.clone(), [KeyValue::new("link.reason", "batch")])
        .link(linked, [])
        .start();
    for i in 0..6 {
        server.set_i64(format!("extra.{i}"), i); // 2 past the limit of 10
    }
    server.add_event(
        "cache.miss",
        [
            KeyValue::new("key", "books:all"),
            KeyValue::new("a1", 1i64),
            KeyValue::new("a2", 2i64),
            KeyValue::new("a3", 3i64), // past the 3 per event
        ],
    );
    server.add_event("second", []);
    server.add_event("third", []); // past the 2 events
    {
        let mut query = DB.span("SELECT books").kind(SpanKind::Client).start();
        query.set_str("db.system", "sqlite");
        query.set_status(Status::error("database is locked\n(retry)"));
    }
    TRACER.in_span("render", |span| span.set_status(Status::Ok));
    drop(server);
}

fn limits() -> SpanLimits {
    SpanLimits::default()
        .with_max_attributes(10)
        .with_max_events(2)
        .with_max_links(1)
        .with_max_attributes_per_event(3)
}

async fn export(protocol: Protocol, compression: Compression) -> (Vec<SpanData>, Vec<Received>) {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(
        common::books_api(&collector, protocol, compression)
            .with_deployment_environment("test")
            .with_resource_attribute("team", "shelf")
            .with_scope_version("books", "0.9.0"),
    )
    .unwrap();
    let (pipeline, memory) = common::start_with_memory(
        common::pipeline_config()
            .with_span_limits(limits())
            .with_sink(otlp.clone()),
    );
    record();
    pipeline.shutdown().await;
    let stats = otlp.stats();
    assert_eq!(stats.spans_received, 3);
    assert_eq!(stats.spans_sent, 3, "{stats:?}");
    assert_eq!(stats.spans_queued, 0);
    (memory.spans(), collector.received_on("/v1/traces"))
}

fn check_span(got: &PSpan, want: &SpanData) {
    let ctx = &want.context;
    assert_eq!(got.trace_id, ctx.trace_id.to_bytes());
    assert_eq!(got.span_id, ctx.span_id.to_bytes());
    if want.parent_span_id.is_valid() {
        assert_eq!(got.parent_span_id, want.parent_span_id.to_bytes());
    } else {
        assert!(got.parent_span_id.is_empty());
    }
    assert_eq!(got.trace_state, ctx.state.header_value());
    let remote = if want.parent_is_remote { 0x200 } else { 0 };
    assert_eq!(got.flags, u32::from(ctx.flags.bits()) | 0x100 | remote);
    assert_eq!(got.name, want.name.as_str());
    assert_eq!(got.kind, i32::from(want.kind.otlp_code()));
    assert_eq!(got.start_time_unix_nano, want.start_time_unix_nano);
    assert_eq!(got.end_time_unix_nano, want.end_time_unix_nano);
    assert_eq!(attributes(&got.attributes), want.attributes.to_vec());
    assert_eq!(got.dropped_attributes_count, want.dropped_attributes_count);
    assert_eq!(got.events.len(), want.events.len());
    for (g, w) in got.events.iter().zip(&want.events) {
        assert_eq!(g.name, w.name.as_str());
        assert_eq!(g.time_unix_nano, w.time_unix_nano);
        assert_eq!(attributes(&g.attributes), w.attributes);
        assert_eq!(g.dropped_attributes_count, w.dropped_attributes_count);
    }
    assert_eq!(got.dropped_events_count, want.dropped_events_count);
    assert_eq!(got.links.len(), want.links.len());
    for (g, w) in got.links.iter().zip(&want.links) {
        assert_eq!(g.trace_id, w.context.trace_id.to_bytes());
        assert_eq!(g.span_id, w.context.span_id.to_bytes());
        assert_eq!(g.trace_state, w.context.state.header_value());
        assert_eq!(attributes(&g.attributes), w.attributes);
        let remote = if w.context.is_remote { 0x200 } else { 0 };
        assert_eq!(g.flags, u32::from(w.context.flags.bits()) | 0x100 | remote);
    }
    assert_eq!(got.dropped_links_count, want.dropped_links_count);
    let status = got.status.as_ref().unwrap();
    assert_eq!(status.code, i32::from(want.status.otlp_code()));
    match &want.status {
        Status::Error { description } => assert_eq!(status.message, description.as_str()),
        _ => assert!(status.message.is_empty()),
    }
}

fn check(spans: &[SpanData], received: &[Received]) {
    assert_eq!(received.len(), 1, "one request holds the three spans");
    let traces = received[0].traces();
    assert_eq!(traces.resource_spans.len(), 1);
    let rs = &traces.resource_spans[0];

    let attr = |k: &str| {
        common::resource_attribute(rs.resource.as_ref(), k)
            .unwrap_or_else(|| panic!("resource attribute {k} missing"))
    };
    assert_eq!(attr("service.name"), Value::from("books-api"));
    assert_eq!(attr("service.version"), Value::from("1.2.3"));
    assert_eq!(attr("deployment.environment.name"), Value::from("test"));
    assert_eq!(attr("team"), Value::from("shelf"));
    assert_eq!(
        attr("process.pid"),
        Value::I64(i64::from(std::process::id()))
    );
    assert_eq!(attr("telemetry.sdk.name"), Value::from("telem"));
    assert_eq!(attr("telemetry.sdk.language"), Value::from("rust"));
    assert_eq!(
        attr("telemetry.sdk.version"),
        Value::from(telem_otlp::SDK_VERSION)
    );
    assert!(matches!(attr("service.instance.id"), Value::String(s) if s.len() == 36));
    assert!(matches!(attr("host.name"), Value::String(s) if !s.is_empty()));

    // One ScopeSpans per tracer, named after it, with its version when configured.
    let scopes: Vec<(&str, &str, usize)> = rs
        .scope_spans
        .iter()
        .map(|s| {
            let scope = s.scope.as_ref().unwrap();
            (scope.name.as_str(), scope.version.as_str(), s.spans.len())
        })
        .collect();
    let mut sorted = scopes.clone();
    sorted.sort();
    assert_eq!(sorted, [("books", "0.9.0", 2), ("db", "", 1)]);

    let got: Vec<&PSpan> = rs.scope_spans.iter().flat_map(|s| &s.spans).collect();
    assert_eq!(got.len(), spans.len());
    for want in spans {
        let g = got
            .iter()
            .find(|g| g.span_id == want.context.span_id.to_bytes())
            .unwrap_or_else(|| panic!("span {} not exported", want.name));
        check_span(g, want);
    }

    // What the spans must be, independently of the recording.
    let server = spans.iter().find(|s| s.name == "GET /books").unwrap();
    assert!(server.parent_is_remote);
    assert_eq!(hex(&server.parent_span_id.to_bytes()), "00f067aa0ba902b7");
    assert_eq!(
        (
            server.dropped_attributes_count,
            server.dropped_events_count,
            server.dropped_links_count
        ),
        (2, 1, 1)
    );
    assert_eq!(server.events[0].dropped_attributes_count, 1);
    let query = spans.iter().find(|s| s.name == "SELECT books").unwrap();
    assert_eq!(query.parent_span_id, server.context.span_id);
    assert!(query.status.is_error());
}

/// Field names, id spelling and integer encoding of the OTLP/JSON rules, read from the
/// raw JSON (the serde decoder above is lenient about them).
fn check_json_spelling(request: &Received) {
    let v = request.json();
    let spans: Vec<&serde_json::Value> = v["resourceSpans"][0]["scopeSpans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["spans"].as_array().unwrap())
        .collect();
    let server = spans.iter().find(|s| s["name"] == "GET /books").unwrap();
    let is_lower_hex = |s: &serde_json::Value, len: usize| {
        let s = s.as_str().unwrap();
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    assert!(is_lower_hex(&server["traceId"], 32));
    assert!(is_lower_hex(&server["spanId"], 16));
    assert_eq!(server["parentSpanId"], "00f067aa0ba902b7");
    assert!(server["startTimeUnixNano"].is_string());
    assert!(server["endTimeUnixNano"].is_string());
    assert_eq!(server["kind"], 2);
    assert_eq!(
        server["traceState"],
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
    );
    assert_eq!(server["droppedAttributesCount"], 2);
    assert_eq!(server["droppedEventsCount"], 1);
    assert_eq!(server["droppedLinksCount"], 1);
    assert_eq!(server["flags"], 0x301);
    assert_eq!(server["attributes"][1]["value"]["intValue"], "200");
    assert!(server["events"][0]["timeUnixNano"].is_string());
    assert_eq!(server["status"]["code"], 0);
    let query = spans.iter().find(|s| s["name"] == "SELECT books").unwrap();
    assert_eq!(query["status"]["code"], 2);
    assert_eq!(query["status"]["message"], "database is locked\n(retry)");
    assert_eq!(query["kind"], 3);
    let render = spans.iter().find(|s| s["name"] == "render").unwrap();
    assert_eq!(render["status"]["code"], 1);
    assert_eq!(
        v["resourceSpans"][0]["resource"]["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|kv| kv["key"] == "process.pid")
            .unwrap()["value"]["intValue"],
        std::process::id().to_string()
    );
}

/// JSON and protobuf, each plain and gzip: decoded, every field is what was recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_field_by_field_in_every_encoding() {
    common::check_every_encoding(export, check, check_json_spelling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_bounded_by_max_export_batch_size() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(
        OtlpConfig::new()
            .with_endpoint(collector.endpoint())
            .with_protocol(Protocol::HttpJson)
            .with_max_export_batch_size(40),
    )
    .unwrap();
    let pipeline = common::start(common::pipeline_config().with_sink(otlp.clone()));
    for i in 0..250 {
        TRACER.in_span(format!("span {i}"), |_| {});
    }
    pipeline.shutdown().await;
    let received = collector.received_on("/v1/traces");
    common::assert_batched(&received, Received::span_names, 40, 250);
    assert_eq!(otlp.stats().spans_sent, 250);
}
