//! OTLP/JSON writes every 64-bit integer as a decimal string (OTLP specification, "JSON
//! Protobuf Encoding": `int64`/`uint64`/`fixed64` fields are strings), so a collector
//! reading JSON numbers as doubles never rounds a timestamp. Checked here on whole
//! bodies sent through a real pipeline to the fake collector: every key ending in
//! `UnixNano`, wherever it is (spans, events, data points, exemplars), holds a string
//! that reads back as a u64.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use common::{Collector, Received, ONE_PIPELINE};
use serde_json::Value;
use std::collections::BTreeSet;
use telem::metrics::global;
use telem::{KeyValue, SpanContext, SpanId, TraceFlags, TraceId, Tracer};
use telem_otlp::{OtlpSink, Protocol, Temporality};

static TRACER: Tracer = Tracer::new("unix-nano");

/// Every key ending in `UnixNano` in `v`, with its path (array indices written `[]`).
fn unix_nano_fields<'a>(v: &'a Value, path: &str, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(map) => {
            for (key, value) in map {
                let path = format!("{path}.{key}");
                if key.ends_with("UnixNano") {
                    out.push((path.clone(), value));
                }
                unix_nano_fields(value, &path, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                unix_nano_fields(item, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

/// Asserts that every `*UnixNano` field of the bodies is a string holding a u64;
/// returns the paths found.
fn check(received: &[Received]) -> BTreeSet<String> {
    assert!(!received.is_empty(), "no request");
    let mut paths = BTreeSet::new();
    for request in received {
        assert_eq!(request.content_type, "application/json");
        let body = request.json();
        let mut fields = Vec::new();
        unix_nano_fields(&body, "", &mut fields);
        for (path, value) in fields {
            let Value::String(s) = value else {
                panic!("{path} is {value}, not a string, in {body}");
            };
            assert!(
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u64>().is_ok(),
                "{path} is {s:?}, not a u64 in decimal, in {body}"
            );
            paths.insert(path);
        }
    }
    paths
}

/// Fails unless every path of `expected` was found (so the walk cannot pass on a body
/// that lacks the fields it is about).
fn assert_found(paths: &BTreeSet<String>, expected: &[&str]) {
    for e in expected {
        assert!(paths.contains(*e), "no {e} in the bodies; found {paths:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unix_nano_of_a_traces_body_is_a_string() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(common::metrics_exporter(
        &collector,
        Protocol::HttpJson,
        "unix-nano",
    ))
    .unwrap();
    let telemetry = common::start_metrics(&otlp);
    let linked = SpanContext::new(
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
        SpanId::from_hex("b7ad6b7169203331").unwrap(),
        TraceFlags::SAMPLED,
        Default::default(),
        false,
    );
    let mut span = TRACER
        .span("GET /books")
        .link(linked, [KeyValue::new("link.reason", "batch")])
        .start();
    span.add_event("cache.miss", [KeyValue::new("key", "books:all")]);
    TRACER.in_span("SELECT books", |s| s.add_event("rows", []));
    drop(span);
    telemetry.shutdown().await;

    let paths = check(&collector.received_on("/v1/traces"));
    assert_found(
        &paths,
        &[
            ".resourceSpans[].scopeSpans[].spans[].startTimeUnixNano",
            ".resourceSpans[].scopeSpans[].spans[].endTimeUnixNano",
            ".resourceSpans[].scopeSpans[].spans[].events[].timeUnixNano",
        ],
    );
}

/// Every kind of instrument, each with an exemplar (recorded inside a span), drained
/// twice so that delta points start where the previous export ended.
async fn metrics_bodies(temporality: Temporality) -> Vec<Received> {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(
        common::metrics_exporter(&collector, Protocol::HttpJson, "unix-nano")
            .with_temporality(temporality),
    )
    .unwrap();
    let telemetry = common::start_metrics(&otlp);
    let prefix = match temporality {
        Temporality::Delta => "delta",
        _ => "cumulative",
    };
    let r = global();
    let counter = r.counter(&format!("{prefix}_nano_jobs_total")).unwrap();
    let counter_f64 = r
        .counter_f64(&format!("{prefix}_nano_work_seconds_total"))
        .unwrap();
    let updown = r
        .up_down_counter(&format!("{prefix}_nano_inflight"))
        .unwrap();
    let gauge = r.gauge_f64(&format!("{prefix}_nano_temperature")).unwrap();
    let histogram = r
        .histogram(&format!("{prefix}_nano_duration_seconds"))
        .unwrap();
    for round in 1..=2u32 {
        TRACER.in_span("job", |_| {
            counter.increment(u64::from(round));
            counter_f64.increment(0.5);
            updown.add(-1);
            gauge.set(21.5);
            histogram.record(0.05);
            histogram.record(5.0);
        });
        telemetry.drain_now().await;
        collector.wait_for("/v1/metrics", round as usize).await;
    }
    telemetry.shutdown().await;
    collector.received_on("/v1/metrics")
}

const METRIC_PATHS: &[&str] = &[
    ".resourceMetrics[].scopeMetrics[].metrics[].sum.dataPoints[].startTimeUnixNano",
    ".resourceMetrics[].scopeMetrics[].metrics[].sum.dataPoints[].timeUnixNano",
    ".resourceMetrics[].scopeMetrics[].metrics[].sum.dataPoints[].exemplars[].timeUnixNano",
    ".resourceMetrics[].scopeMetrics[].metrics[].gauge.dataPoints[].timeUnixNano",
    ".resourceMetrics[].scopeMetrics[].metrics[].histogram.dataPoints[].startTimeUnixNano",
    ".resourceMetrics[].scopeMetrics[].metrics[].histogram.dataPoints[].timeUnixNano",
    ".resourceMetrics[].scopeMetrics[].metrics[].histogram.dataPoints[].exemplars[].timeUnixNano",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unix_nano_of_a_cumulative_metrics_body_is_a_string_exemplars_included() {
    let paths = check(&metrics_bodies(Temporality::Cumulative).await);
    assert_found(&paths, METRIC_PATHS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unix_nano_of_a_delta_metrics_body_is_a_string_exemplars_included() {
    let paths = check(&metrics_bodies(Temporality::Delta).await);
    assert_found(&paths, METRIC_PATHS);
}
