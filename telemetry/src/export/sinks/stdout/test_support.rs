//! What the stdout sink's unit tests share: a writer to read back, and spans and log
//! records with fixed ids and times, from the files the integration tests include too.

// The crate's types, for `fixtures` (which takes them from here).
use crate::{
    Attributes, Level, LogRecord, SpanBatch, SpanContext, SpanData, SpanId, SpanKind, Status, Str,
    TraceFlags, TraceId, TraceState,
};

#[path = "../../../../tests/common/stdout_fixtures.rs"]
mod fixtures;

/// A writer tests can read back.
pub(super) use super::super::writer::test_writers::Shared;
pub(super) use fixtures::{ctx, log, root, SPAN, START, TRACE};

pub(super) fn batch(spans: Vec<SpanData>) -> SpanBatch {
    spans.into()
}
