//! NATS headers as propagation carriers, without a server: case-insensitive lookups,
//! repeated headers, values NATS cannot carry skipped without a panic, a context
//! through a `HeaderMap` and back, and hostile header sizes bounded.
#![allow(clippy::unwrap_used)]

use async_nats::{HeaderMap, HeaderValue};
use telem::messaging::Destination;
use telem::propagation::{Baggage, Extractor, Injector, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS};
use telem::testing::TestPipeline;
use telem::{SpanKind, TraceId, Tracer, MAX_TRACE_STATE_MEMBERS};
use telem_nats::{HeaderExtractor, HeaderInjector};

static TRACER: Tracer = Tracer::new("nats-tests");

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// NATS header names are case-sensitive, the propagation's are not: the exact name
/// wins, then any name equal ignoring ASCII case.
#[test]
fn lookups_ignore_ascii_case_the_exact_name_first() {
    let mut headers = HeaderMap::new();
    headers.insert("Traceparent", "from-another-client");
    headers.insert("BAGGAGE", "a=1");
    let carrier = HeaderExtractor(&headers);
    assert_eq!(carrier.get("traceparent"), Some("from-another-client"));
    assert_eq!(carrier.get("baggage"), Some("a=1"));
    assert_eq!(carrier.get("tracestate"), None);
    headers.insert("traceparent", "exact");
    let carrier = HeaderExtractor(&headers);
    assert_eq!(carrier.get("traceparent"), Some("exact"));
    let mut keys = carrier.keys();
    keys.sort_unstable();
    assert_eq!(keys, ["BAGGAGE", "Traceparent", "traceparent"]);
}

/// Repeated headers (`tracestate` and `baggage` may be split over several lines): every
/// value of every matching name, the exact name's first, each name's in order.
#[test]
fn get_all_returns_every_value() {
    let mut headers = HeaderMap::new();
    headers.append("tracestate", "a=1");
    headers.append("tracestate", "b=2");
    headers.append("TraceState", "c=3");
    headers.append("TraceState", "d=4");
    let carrier = HeaderExtractor(&headers);
    assert_eq!(carrier.get_all("tracestate"), ["a=1", "b=2", "c=3", "d=4"]);
    assert_eq!(carrier.get("tracestate"), Some("a=1"));
    assert!(carrier.get_all("baggage").is_empty());
    // Only another case: its values in order.
    let mut headers = HeaderMap::new();
    headers.append("Baggage", "x=1");
    headers.append("Baggage", "y=2");
    assert_eq!(HeaderExtractor(&headers).get_all("baggage"), ["x=1", "y=2"]);
}

/// async-nats panics on a header name or value it cannot send (`HeaderMap::insert`
/// with a `&str`); the carriers never do.
#[test]
fn invalid_names_and_values_are_skipped_without_a_panic() {
    let mut headers = HeaderMap::new();
    let mut injector = HeaderInjector(&mut headers);
    injector.set("baggage", "a=1".to_owned());
    for bad in ["b=2\r\nx: y", "b=2\n", "\r"] {
        injector.set("baggage", bad.to_owned());
    }
    for bad_name in ["bad:name", "spa ce", "é", ""] {
        injector.set(bad_name, "v".to_owned());
    }
    assert_eq!(headers.len(), 1);
    assert_eq!(headers.get("baggage").unwrap().as_str(), "a=1");
    // Lookups of names NATS cannot have find nothing.
    let carrier = HeaderExtractor(&headers);
    for bad_name in ["bad:name", "spa ce", "é", "", "\r\n"] {
        assert_eq!(carrier.get(bad_name), None);
        assert!(carrier.get_all(bad_name).is_empty());
    }
    // A value set again replaces the old one.
    HeaderInjector(&mut headers).set("baggage", "c=3".to_owned());
    assert_eq!(HeaderExtractor(&headers).get_all("baggage"), ["c=3"]);
}

/// A context through a `HeaderMap` and back: the `process` span is the child of the
/// `send` span, linked to it, with the baggage of the sender.
#[telem::test]
async fn a_context_round_trips_through_a_header_map(t: TestPipeline) {
    let jobs = Destination::new("nats", "jobs").with_registry(t.registry());
    let mut headers = HeaderMap::new();
    let creation = {
        let _request = TRACER.start_span("request");
        let _tenant = Baggage::new()
            .with_entry("tenant", "acme")
            .unwrap()
            .attach();
        let send = jobs.send(&mut HeaderInjector(&mut headers));
        let creation = send.context();
        send.end();
        creation
    };
    assert!(headers
        .get("traceparent")
        .unwrap()
        .as_str()
        .contains(&creation.span_id.to_string()));
    assert_eq!(headers.get("baggage").unwrap().as_str(), "tenant=acme");
    let delivery = jobs.receive(&HeaderExtractor(&headers));
    assert_eq!(
        delivery.creation_context().unwrap().span_id,
        creation.span_id
    );
    let tenant = delivery
        .process(async {
            Ok::<_, std::io::Error>(Baggage::current().get("tenant").map(str::to_owned))
        })
        .await;
    assert_eq!(tenant.unwrap().unwrap().as_deref(), Some("acme"));
    let spans = t.spans().await;
    let process = spans
        .named("process jobs")
        .assert_kind(SpanKind::Consumer)
        .data();
    assert_eq!(process.parent_span_id, creation.span_id);
    assert_eq!(process.context.trace_id, creation.trace_id);
    assert_eq!(process.links[0].context.span_id, creation.span_id);
    spans.assert_chain(&["request", "send jobs", "process jobs"]);
}

/// Hostile header sizes are bounded: a megabyte of `tracestate` or `baggage`, or ten
/// thousand repeated lines, leave at most Trace Context §3.3.1.1's 32 members and W3C
/// Baggage's limits in the processing context, without a panic; the message still
/// continues its trace.
#[telem::test]
async fn hostile_header_sizes_are_bounded(t: TestPipeline) {
    let jobs = Destination::new("nats", "jobs").with_registry(t.registry());
    let huge: String = (0..100_000).map(|i| format!("k{i}=v{i},")).collect();
    assert!(huge.len() > 1 << 20);
    let mut one_line = HeaderMap::new();
    one_line.insert("traceparent", PARENT);
    one_line.insert("tracestate", huge.parse::<HeaderValue>().unwrap());
    one_line.insert("baggage", huge.parse::<HeaderValue>().unwrap());
    let mut many_lines = HeaderMap::new();
    many_lines.insert("traceparent", PARENT);
    for i in 0..10_000 {
        many_lines.append("tracestate", format!("s{i}=x").as_str());
        many_lines.append("Baggage", format!("b{i}=x").as_str());
    }
    let mut long_parent = HeaderMap::new();
    long_parent.insert(
        "traceparent",
        format!("{PARENT}{}", "0".repeat(1 << 20)).as_str(),
    );
    long_parent.insert("baggage", format!("k={}", "v".repeat(1 << 20)).as_str());
    for (i, headers) in [one_line, many_lines, long_parent].iter().enumerate() {
        let delivery = jobs.receive(&HeaderExtractor(headers));
        let members = delivery
            .creation_context()
            .map_or(0, |c| c.state.entries().count());
        assert!(members <= MAX_TRACE_STATE_MEMBERS, "headers {i}: {members}");
        delivery
            .process(async {
                let baggage = Baggage::current();
                assert!(baggage.len() <= MAX_BAGGAGE_MEMBERS, "headers {i}");
                assert!(
                    baggage.header_value().len() <= MAX_BAGGAGE_BYTES,
                    "headers {i}"
                );
            })
            .await
            .unwrap();
    }
    let spans = t.spans().await;
    let processes = spans.all_named("process jobs");
    assert_eq!(processes.len(), 3);
    // The first two carry a valid parent; the third's `traceparent` is too long.
    let expected = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let continued = processes
        .iter()
        .filter(|s| s.context.trace_id == expected)
        .count();
    assert_eq!(continued, 2);
}
