//! The stdout sink renders a batch without allocating (but for the boxed
//! `SinkFuture`): JSON lines and the pretty format
//! are written straight into a buffer the writer thread gives back, with no `String`
//! per span or attribute. Counted by a global allocator on the rendering thread (a
//! count, not a timing: deterministic).
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]
// A global allocator is an `unsafe impl`; this one only counts and forwards to `System`.
#![allow(unsafe_code)]

use std::sync::Arc;
use telem::{
    Event, KeyValue, Link, Sink, SpanContext, SpanData, SpanId, SpanKind, Status, StdoutFormat,
    TraceFlags, TraceId, TraceState,
};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

#[path = "common/writers.rs"]
mod writers;

#[path = "common/render_allocations.rs"]
mod render_allocations;
use render_allocations::second_batch_allocations;

/// A server span with every kind of attribute value, an event, a link, a trace state
/// and an error status: every branch of both formats.
fn span(i: u64) -> SpanData {
    let ctx = |span: u64| {
        SpanContext::new(
            TraceId::from_raw(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736 + u128::from(i)),
            SpanId::from_raw(span),
            TraceFlags::SAMPLED,
            TraceState::from_entries([("vendor", "v1")]).unwrap(),
            false,
        )
    };
    SpanData {
        name: "GET /books/{id}".into(),
        scope: "books".into(),
        context: ctx(i + 1),
        parent_span_id: SpanId::from_raw(0xabc),
        parent_is_remote: true,
        kind: SpanKind::Server,
        start_time_unix_nano: 1_700_000_000_000_000_000 + i,
        end_time_unix_nano: 1_700_000_000_001_234_567 + i,
        attributes: [
            KeyValue::new("http.route", "/books/{id}"),
            KeyValue::new("url.path", "/books/7 with space"),
            KeyValue::new("http.response.status_code", 500i64),
            KeyValue::new("ratio", 0.25),
            KeyValue::new("cached", false),
            KeyValue::new("ids", vec![1i64, 2, 3]),
            KeyValue::new("tags", vec!["a b", "c"]),
        ]
        .into_iter()
        .collect(),
        events: vec![Event {
            name: "exception".into(),
            time_unix_nano: 1_700_000_000_000_500_000,
            attributes: vec![KeyValue::new("exception.message", "connection reset")],
            dropped_attributes_count: 1,
        }],
        links: vec![Link {
            context: ctx(99),
            attributes: vec![KeyValue::new("link.reason", "retry")],
        }],
        status: Status::error("db \"timeout\""),
        dropped_attributes_count: 2,
        dropped_events_count: 0,
        dropped_links_count: 1,
    }
}

fn allocations_to_render(format: StdoutFormat) -> u64 {
    let batch: telem::SpanBatch = Arc::new((0..64).map(span).collect());
    let (during, written) =
        second_batch_allocations(format, |sink| sink.export_spans(batch.clone()));
    let lines = written.lines().count();
    assert!(lines >= 128, "both batches written: {lines} lines");
    during
}

/// The one allocation is the boxed `SinkFuture` the call itself returns.
#[test]
fn json_lines_render_without_allocating() {
    assert_eq!(allocations_to_render(StdoutFormat::Json), 1);
}

/// The same, with strings and arrays that need quoting.
#[test]
fn the_pretty_format_renders_without_allocating() {
    assert_eq!(allocations_to_render(StdoutFormat::Pretty), 1);
}
