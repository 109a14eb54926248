//! Fluent assertions on recorded spans; failures print the recorded span tree.

use crate::{SpanData, SpanId, SpanKind, Status, Value};
use std::collections::HashMap;
use std::fmt::Write as _;

/// The spans a test recorded, for assertions. Every failed assertion panics with what
/// was expected and the whole recorded tree:
///
/// ```text
/// expected a span named "db.query", found none. Recorded (3 spans):
/// GET /books [server] status=unset
/// └─ list_books [internal] status=unset books.count=3
///    └─ cache.get [internal] status=unset
/// ```
#[derive(Clone, Debug, Default)]
pub struct Spans {
    spans: Vec<SpanData>,
}

impl Spans {
    pub(crate) fn new(spans: Vec<SpanData>) -> Self {
        Self { spans }
    }

    /// How many spans.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The spans, in the order they ended.
    pub fn iter(&self) -> impl Iterator<Item = &SpanData> {
        self.spans.iter()
    }

    /// The spans named `name`.
    pub fn all_named(&self, name: &str) -> Vec<&SpanData> {
        self.spans.iter().filter(|s| s.name == name).collect()
    }

    /// Asserts exactly `n` spans were recorded.
    #[track_caller]
    pub fn assert_count(&self, n: usize) -> &Self {
        if self.spans.len() != n {
            self.fail(format!("expected {n} spans, got {}", self.spans.len()));
        }
        self
    }

    /// The one span named `name`, for assertions on it (fails if there is none or more
    /// than one).
    #[track_caller]
    pub fn named(&self, name: &str) -> SpanAssert<'_> {
        match self.all_named(name).as_slice() {
            [one] => SpanAssert {
                spans: self,
                span: one,
            },
            [] => self.fail(format!("expected a span named {name:?}, found none")),
            many => self.fail(format!(
                "expected one span named {name:?}, found {}",
                many.len()
            )),
        }
    }

    /// Asserts a chain of spans, each the parent of the next, with these names (from
    /// the outermost): `["GET /books", "list_books", "db.query"]`.
    #[track_caller]
    pub fn assert_chain(&self, names: &[&str]) -> &Self {
        let Some((first, rest)) = names.split_first() else {
            return self;
        };
        let found = self.all_named(first).into_iter().any(|start| {
            let mut current = start;
            rest.iter().all(|name| {
                match self.spans.iter().find(|s| {
                    s.name == *name
                        && s.parent_span_id == current.context.span_id
                        && s.context.trace_id == current.context.trace_id
                }) {
                    Some(child) => {
                        current = child;
                        true
                    }
                    None => false,
                }
            })
        });
        if !found {
            self.fail(format!("expected the chain {names:?}"));
        }
        self
    }

    /// Asserts no span has error status.
    #[track_caller]
    pub fn assert_no_errors(&self) -> &Self {
        let errors: Vec<&str> = self
            .spans
            .iter()
            .filter(|s| matches!(s.status, Status::Error { .. }))
            .map(|s| s.name.as_str())
            .collect();
        if !errors.is_empty() {
            self.fail(format!("expected no error spans, found {errors:?}"));
        }
        self
    }

    fn by_id(&self) -> HashMap<SpanId, &SpanData> {
        self.spans.iter().map(|s| (s.context.span_id, s)).collect()
    }

    /// The recorded spans as an indented tree (roots are spans whose parent was not
    /// recorded in this test).
    pub fn tree(&self) -> String {
        let by_id = self.by_id();
        let mut children: HashMap<SpanId, Vec<&SpanData>> = HashMap::new();
        let mut roots = Vec::new();
        for s in &self.spans {
            if s.parent_span_id.is_valid() && by_id.contains_key(&s.parent_span_id) {
                children.entry(s.parent_span_id).or_default().push(s);
            } else {
                roots.push(s);
            }
        }
        let mut out = String::new();
        for root in roots {
            write_node(&mut out, root, &children, "", None);
        }
        out
    }

    #[track_caller]
    fn fail(&self, what: String) -> ! {
        panic!(
            "{what}. Recorded ({} spans):\n{}",
            self.spans.len(),
            self.tree()
        )
    }
}

fn write_node(
    out: &mut String,
    span: &SpanData,
    children: &HashMap<SpanId, Vec<&SpanData>>,
    prefix: &str,
    last: Option<bool>,
) {
    let (branch, next) = match last {
        None => ("", String::new()),
        Some(true) => ("└─ ", format!("{prefix}   ")),
        Some(false) => ("├─ ", format!("{prefix}│  ")),
    };
    let _ = write!(
        out,
        "{prefix}{branch}{} [{}] status={}",
        span.name,
        kind(span.kind),
        status(&span.status)
    );
    for kv in &span.attributes {
        let _ = write!(out, " {}={}", kv.key.as_str(), value(&kv.value));
    }
    for e in &span.events {
        let _ = write!(out, " event:{}", e.name.as_str());
    }
    out.push('\n');
    if let Some(kids) = children.get(&span.context.span_id) {
        for (i, kid) in kids.iter().enumerate() {
            write_node(out, kid, children, &next, Some(i + 1 == kids.len()));
        }
    }
}

fn kind(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    }
}

fn status(status: &Status) -> String {
    match status {
        Status::Unset => "unset".into(),
        Status::Ok => "ok".into(),
        Status::Error { description } => format!("error({description:?})"),
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{:?}", s.as_str()),
        Value::I64(i) => i.to_string(),
        Value::F64(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

/// Assertions on one recorded span; each returns `self` to chain more.
#[derive(Debug, Clone, Copy)]
pub struct SpanAssert<'a> {
    spans: &'a Spans,
    span: &'a SpanData,
}

impl<'a> SpanAssert<'a> {
    /// The span's data.
    pub fn data(&self) -> &'a SpanData {
        self.span
    }

    #[track_caller]
    fn fail(&self, what: String) -> ! {
        self.spans
            .fail(format!("span {:?}: {what}", self.span.name.as_str()))
    }

    /// Asserts the attribute `key` equals `expected`.
    #[track_caller]
    pub fn assert_attribute(self, key: &str, expected: impl Into<Value>) -> Self {
        let expected = expected.into();
        match self.span.attribute(key) {
            Some(v) if *v == expected => self,
            Some(v) => self.fail(format!(
                "expected {key} = {}, got {}",
                value(&expected),
                value(v)
            )),
            None => self.fail(format!("expected attribute {key}, it is missing")),
        }
    }

    /// Asserts the string attribute `key` contains `needle`.
    #[track_caller]
    pub fn assert_attribute_contains(self, key: &str, needle: &str) -> Self {
        match self.span.attribute(key) {
            Some(Value::String(s)) if s.as_str().contains(needle) => self,
            Some(v) => self.fail(format!(
                "expected {key} to contain {needle:?}, got {}",
                value(v)
            )),
            None => self.fail(format!("expected attribute {key}, it is missing")),
        }
    }

    /// Asserts the span has no attribute `key`.
    #[track_caller]
    pub fn assert_no_attribute(self, key: &str) -> Self {
        match self.span.attribute(key) {
            None => self,
            Some(v) => self.fail(format!("expected no {key}, got {}", value(v))),
        }
    }

    /// Asserts the span's kind.
    #[track_caller]
    pub fn assert_kind(self, expected: SpanKind) -> Self {
        if self.span.kind == expected {
            self
        } else {
            self.fail(format!(
                "expected kind {}, got {}",
                kind(expected),
                kind(self.span.kind)
            ))
        }
    }

    /// Asserts the span's status is `Ok`.
    #[track_caller]
    pub fn assert_ok(self) -> Self {
        match self.span.status {
            Status::Ok => self,
            ref s => self.fail(format!("expected status ok, got {}", status(s))),
        }
    }

    /// Asserts the span's status is an error (any description).
    #[track_caller]
    pub fn assert_error(self) -> Self {
        match self.span.status {
            Status::Error { .. } => self,
            ref s => self.fail(format!("expected error status, got {}", status(s))),
        }
    }

    /// Asserts the span has an event named `name`.
    #[track_caller]
    pub fn assert_event(self, name: &str) -> Self {
        if self.span.events.iter().any(|e| e.name == name) {
            self
        } else {
            self.fail(format!("expected an event {name:?}"))
        }
    }

    /// Asserts the span's parent is the one span named `parent`.
    #[track_caller]
    pub fn assert_parent(self, parent: &str) -> Self {
        let p = self.spans.named(parent).span;
        if self.span.parent_span_id == p.context.span_id
            && self.span.context.trace_id == p.context.trace_id
        {
            self
        } else {
            self.fail(format!("expected parent {parent:?}"))
        }
    }

    /// Asserts the span is the root of its trace here (no parent, or a remote one).
    #[track_caller]
    pub fn assert_root(self) -> Self {
        if !self.span.parent_span_id.is_valid() || self.span.parent_is_remote {
            self
        } else {
            self.fail("expected a root span".into())
        }
    }
}
