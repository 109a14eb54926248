//! Fluent assertions on recorded log records; failures print every record.

use crate::testing::Spans;
use crate::{Level, LogRecord, Value};
use std::fmt::Write as _;

/// The log records a test made, for assertions. A failed assertion panics with what
/// was expected and every record:
///
/// ```text
/// expected a WARN record containing "not found", found none. Recorded (2 records):
/// INFO  bookstore::routes: book created book.id=4
/// DEBUG bookstore::store: lookup book.id=4
/// ```
#[derive(Clone, Debug, Default)]
pub struct Logs {
    logs: Vec<LogRecord>,
}

impl Logs {
    pub(crate) fn new(logs: Vec<LogRecord>) -> Self {
        Self { logs }
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.logs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }

    /// The records, in the order each thread made them.
    pub fn iter(&self) -> impl Iterator<Item = &LogRecord> {
        self.logs.iter()
    }

    /// The records at `level`.
    pub fn at(&self, level: Level) -> Vec<&LogRecord> {
        self.logs
            .iter()
            .filter(|r| r.level() == Some(level))
            .collect()
    }

    /// Asserts there are exactly `n` records at `level`.
    #[track_caller]
    pub fn assert_count(&self, level: Level, n: usize) -> &Self {
        let found = self.at(level).len();
        if found != n {
            self.fail(format!("expected {n} {level} records, found {found}"));
        }
        self
    }

    /// The one record at `level` whose message contains `text`, for more assertions;
    /// panics if there is none, or more than one.
    #[track_caller]
    pub fn find(&self, level: Level, text: &str) -> LogAssert<'_> {
        let found: Vec<&LogRecord> = self
            .at(level)
            .into_iter()
            .filter(|r| r.body.as_str().contains(text))
            .collect();
        match found.as_slice() {
            [record] => LogAssert { logs: self, record },
            [] => self.fail(format!(
                "expected a {level} record containing {text:?}, found none"
            )),
            many => self.fail(format!(
                "expected one {level} record containing {text:?}, found {}",
                many.len()
            )),
        }
    }

    /// Asserts no record is at `level` or more severe (no warning, no error: `Level::Warn`).
    #[track_caller]
    pub fn assert_none_at_or_above(&self, level: Level) -> &Self {
        if let Some(r) = self
            .logs
            .iter()
            .find(|r| r.level().is_some_and(|l| l <= level))
        {
            self.fail(format!(
                "expected no record at {level} or above, found {:?}",
                r.body.as_str()
            ));
        }
        self
    }

    #[track_caller]
    fn fail(&self, what: String) -> ! {
        let mut out = format!("{what}. Recorded ({} records):", self.logs.len());
        for r in &self.logs {
            let _ = write!(
                out,
                "\n{:<5} {}: {}",
                r.severity.text(),
                r.target.as_str(),
                r.body.as_str()
            );
            for kv in r.attributes.iter().chain(r.context_fields.iter()) {
                let _ = write!(out, " {}={}", kv.key.as_str(), kv.value);
            }
        }
        panic!("{out}");
    }
}

/// Assertions on one log record (from [`Logs::find`]); each returns the assertion for
/// the next.
#[derive(Clone, Copy, Debug)]
pub struct LogAssert<'a> {
    logs: &'a Logs,
    record: &'a LogRecord,
}

impl<'a> LogAssert<'a> {
    /// The record.
    pub fn record(&self) -> &'a LogRecord {
        self.record
    }

    #[track_caller]
    fn fail(&self, what: String) -> ! {
        self.logs
            .fail(format!("record {:?}: {what}", self.record.body.as_str()))
    }

    /// Asserts the field `key` (given at the call site or bound to the context) equals
    /// `expected`.
    #[track_caller]
    pub fn assert_field(self, key: &str, expected: impl Into<Value>) -> Self {
        let expected = expected.into();
        match self.record.field(key) {
            Some(v) if *v == expected => self,
            Some(v) => self.fail(format!("expected {key} = {expected}, got {v}")),
            None => self.fail(format!("expected field {key}, it is missing")),
        }
    }

    /// Asserts the record has no field `key`.
    #[track_caller]
    pub fn assert_no_field(self, key: &str) -> Self {
        match self.record.field(key) {
            None => self,
            Some(v) => self.fail(format!("expected no {key}, got {v}")),
        }
    }

    /// Asserts the record was made inside the one span of `spans` named `span`.
    #[track_caller]
    pub fn assert_in_span(self, spans: &Spans, span: &str) -> Self {
        let s = spans.named(span).data();
        if self.record.span_id == s.context.span_id && self.record.trace_id == s.context.trace_id {
            self
        } else {
            self.fail(format!(
                "expected it inside span {span:?} ({}), it was made in span {}",
                s.context.span_id, self.record.span_id
            ))
        }
    }

    /// Asserts the record was made outside any span.
    #[track_caller]
    pub fn assert_outside_spans(self) -> Self {
        if self.record.span_id.is_valid() {
            self.fail(format!(
                "expected no span, it was made in {}",
                self.record.span_id
            ))
        } else {
            self
        }
    }
}
