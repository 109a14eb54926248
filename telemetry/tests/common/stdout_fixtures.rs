//! Spans and log records with fixed ids and times, for the stdout sink's tests. Included
//! with `#[path]` by `stdout_logs.rs` and by the crate's unit tests
//! (`src/export/sinks/stdout/test_support.rs`). The includer brings the crate's types
//! into scope (`telem::…` outside the crate, `crate::…` inside) and this file takes them
//! from there; it never unwraps (clippy allows that in `#[cfg(test)]` modules only).
#![allow(dead_code)]

use super::{
    Attributes, Level, LogRecord, SpanContext, SpanData, SpanId, SpanKind, Status, Str, TraceFlags,
    TraceId, TraceState,
};

pub(crate) const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
pub(crate) const SPAN: &str = "00f067aa0ba902b7";
/// 2023-11-14T22:13:20.123456789Z.
pub(crate) const START: u64 = 1_700_000_000_123_456_789;

/// A sampled, local span context of the ids in hex.
pub(crate) fn ctx(trace: &str, span: &str, state: TraceState) -> SpanContext {
    SpanContext::new(
        TraceId::from_hex(trace).expect("a trace id in hex"),
        SpanId::from_hex(span).expect("a span id in hex"),
        TraceFlags::SAMPLED,
        state,
        false,
    )
}

/// A root span named `name`, in [`TRACE`], lasting 1.234567 ms from [`START`].
pub(crate) fn root(name: impl Into<Str>) -> SpanData {
    SpanData {
        name: name.into(),
        scope: "tests".into(),
        context: ctx(TRACE, SPAN, TraceState::default()),
        parent_span_id: SpanId::INVALID,
        parent_is_remote: false,
        kind: SpanKind::Internal,
        start_time_unix_nano: START,
        end_time_unix_nano: START + 1_234_567,
        attributes: Attributes::new(),
        events: vec![],
        links: vec![],
        status: Status::Unset,
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        dropped_links_count: 0,
    }
}

/// A record made at [`START`] in `bookstore::routes`, outside any span.
pub(crate) fn log(level: Level, body: &'static str) -> LogRecord {
    let mut record = LogRecord::new(level, body);
    record.time_unix_nano = START;
    record.observed_time_unix_nano = START;
    record.target = "bookstore::routes".into();
    record
}
