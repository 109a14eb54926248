//! What the stdout sink's unit tests share: a writer to read back, and spans and log
//! records with fixed ids and times.

use crate::{
    LogRecord, SpanBatch, SpanContext, SpanData, SpanId, SpanKind, Status, Str, TraceFlags,
    TraceId, TraceState,
};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A writer tests can read back.
#[derive(Clone, Default)]
pub(super) struct Shared(Arc<Mutex<Vec<u8>>>);

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
    pub(super) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

pub(super) fn batch(spans: Vec<SpanData>) -> SpanBatch {
    spans.into()
}

pub(super) const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
pub(super) const SPAN: &str = "00f067aa0ba902b7";
/// 2023-11-14T22:13:20.123456789Z.
pub(super) const START: u64 = 1_700_000_000_123_456_789;

pub(super) fn ctx(trace: &str, span: &str, state: TraceState) -> SpanContext {
    SpanContext::new(
        TraceId::from_hex(trace).unwrap(),
        SpanId::from_hex(span).unwrap(),
        TraceFlags::SAMPLED,
        state,
        false,
    )
}

/// A root span named `name`, in [`TRACE`], lasting 1.234567 ms from [`START`].
pub(super) fn root(name: impl Into<Str>) -> SpanData {
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

/// A record made at [`START`] in `bookstore::routes`, outside any span.
pub(super) fn log(level: crate::Level, body: &'static str) -> LogRecord {
    let mut record = LogRecord::new(level, body);
    record.time_unix_nano = START;
    record.observed_time_unix_nano = START;
    record.target = "bookstore::routes".into();
    record
}
