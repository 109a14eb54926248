//! `#[trace]`'s options: name, kind, root, fields, record, err, crate.
#![cfg(feature = "enable")]
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use telem::{trace, Config, Sampler, SpanData, SpanId, SpanKind, Status, Tracer, Value};

static TRACER: Tracer = Tracer::new("trace-options-tests");

fn config() -> Config {
    Config::new().with_drain_interval(Duration::from_millis(10))
}

fn string(s: &str) -> Option<Value> {
    Some(Value::from(s.to_owned()))
}

#[trace("literal.name")]
fn literal_name() {}

#[trace(name = "keyed.name", kind = server)]
fn keyed_name() {}

#[trace(kind = client)]
fn client() {}

#[trace(kind = producer)]
fn producer() {}

#[trace(kind = consumer)]
fn consumer() {}

#[trace(kind = internal)]
fn internal() {}

#[trace(root, kind = server)]
async fn new_trace() {}

#[tokio::test]
async fn names_kinds_and_root() {
    let p = common::start(config()).await;
    {
        let _request = TRACER.start_span("request");
        literal_name();
        keyed_name();
        client();
        producer();
        consumer();
        internal();
        new_trace().await;
    }
    let spans = p.finish().await;
    spans.assert_parent("literal.name", "request");
    let kinds = [
        ("keyed.name", SpanKind::Server),
        ("client", SpanKind::Client),
        ("producer", SpanKind::Producer),
        ("consumer", SpanKind::Consumer),
        ("internal", SpanKind::Internal),
        ("literal.name", SpanKind::Internal),
        ("new_trace", SpanKind::Server),
    ];
    for (name, kind) in kinds {
        assert_eq!(spans.get(name).kind, kind, "{name}");
    }
    spans.assert_parent("keyed.name", "request");
    spans.assert_root("new_trace");
    assert_ne!(
        spans.get("new_trace").context.trace_id,
        spans.get("request").context.trace_id
    );
}

struct Isbn(u64);

impl fmt::Display for Isbn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "isbn:{}", self.0)
    }
}

#[derive(Debug)]
#[allow(dead_code)] // read through `Debug`
struct Query {
    shelf: u32,
    tags: Vec<&'static str>,
}

#[derive(Debug)]
struct Catalog {
    name: String,
}

impl Catalog {
    #[trace(
        fields(
            catalog.name = self.name,
            "db.system" = "sqlite",
            db.rows = rows.len(),
            ratio = 0.5,
            cached = false,
            big = u64::MAX,
            example.isbn = Isbn(42),
            example.query = Query { shelf: 3, tags: vec!["sf"] },
            owned = format!("{}-{}", self.name, rows.len()),
            cow = Cow::Borrowed("borrowed"),
        ),
        record(title, year, isbn, query, self)
    )]
    fn search(&self, title: &str, year: i32, isbn: Isbn, query: Query, rows: &[u8]) -> usize {
        let _ = (title, year, &isbn, &query);
        rows.len()
    }
}

#[tokio::test]
async fn fields_and_record_become_typed_attributes() {
    let p = common::start(config()).await;
    let catalog = Catalog {
        name: "main".into(),
    };
    let query = Query {
        shelf: 1,
        tags: vec![],
    };
    assert_eq!(catalog.search("Dune", 1965, Isbn(7), query, &[1, 2, 3]), 3);
    let spans = p.finish().await;
    let span = spans.get("Catalog::search");
    let expected = [
        ("catalog.name", string("main")),
        ("db.system", string("sqlite")),
        ("db.rows", Some(Value::I64(3))),
        ("ratio", Some(Value::F64(0.5))),
        ("cached", Some(Value::Bool(false))),
        ("big", string(&u64::MAX.to_string())),
        ("example.isbn", string("isbn:42")),
        (
            "example.query",
            string("Query { shelf: 3, tags: [\"sf\"] }"),
        ),
        ("isbn", string("isbn:7")),
        ("query", string("Query { shelf: 1, tags: [] }")),
        ("owned", string("main-3")),
        ("cow", string("borrowed")),
        ("title", string("Dune")),
        ("year", Some(Value::I64(1965))),
        ("self", string("Catalog { name: \"main\" }")),
    ];
    for (key, value) in &expected {
        assert_eq!(span.attribute(key), value.as_ref(), "{key}");
    }
    assert_eq!(span.attributes.len(), expected.len());
}

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn counted() -> u32 {
    EVALUATED.fetch_add(1, Ordering::Relaxed);
    1
}

#[trace(fields(counted = counted()))]
fn lazy_fields() {}

#[tokio::test]
async fn fields_are_evaluated_only_when_the_span_records() {
    {
        let _slot = common::no_pipeline().await;
        lazy_fields();
        assert_eq!(EVALUATED.load(Ordering::Relaxed), 0, "telemetry off");
    }
    let p = common::start(config().with_sampler(Sampler::AlwaysOff)).await;
    lazy_fields();
    assert_eq!(EVALUATED.load(Ordering::Relaxed), 0, "span not sampled");
    assert!(p.finish().await.0.is_empty());
    let p = common::start(config()).await;
    lazy_fields();
    assert_eq!(EVALUATED.load(Ordering::Relaxed), 1, "span recorded");
    let spans = p.finish().await;
    assert_eq!(
        spans.get("lazy_fields").attribute("counted"),
        Some(&Value::I64(1))
    );
}

/// An `Option` field or argument: its value when `Some` (typed, `Display` or `Debug` as
/// any value), nothing when `None`; an `Option` inside it is an ordinary value.
#[trace(
    fields(
        db.query.text = log_query.then_some("SELECT title FROM books WHERE id = ?"),
        shelf.row = shelf.map(|n| n * 10),
        isbn = log_query.then_some(Isbn(7)),
        nested = Some(None::<u8>),
    ),
    record(shelf, owner)
)]
fn optional(log_query: bool, shelf: Option<u32>, owner: &Option<String>) {
    let _ = (shelf, owner);
}

#[tokio::test]
async fn option_values_are_recorded_only_when_some() {
    let p = common::start(config()).await;
    {
        let _some = TRACER.start_span("some");
        optional(true, Some(4), &Some("ada".to_owned()));
    }
    {
        let _none = TRACER.start_span("none");
        optional(false, None, &None);
    }
    let spans = p.finish().await;
    let span = |parent: &str| {
        let parent = spans.get(parent).context.span_id;
        spans
            .0
            .iter()
            .find(|s| s.name == "optional" && s.parent_span_id == parent)
            .unwrap()
            .clone()
    };
    let some = span("some");
    let expected = [
        (
            "db.query.text",
            string("SELECT title FROM books WHERE id = ?"),
        ),
        ("shelf.row", Some(Value::I64(40))),
        ("shelf", Some(Value::I64(4))),
        ("isbn", string("isbn:7")),
        ("nested", string("None")),
        ("owner", string("ada")),
    ];
    for (key, value) in &expected {
        assert_eq!(some.attribute(key), value.as_ref(), "{key}");
    }
    assert_eq!(
        some.attributes.len(),
        expected.len(),
        "{:?}",
        some.attributes
    );

    let none = span("none");
    assert_eq!(none.attribute("db.query.text"), None);
    assert_eq!(none.attribute("shelf.row"), None);
    assert_eq!(none.attribute("shelf"), None);
    assert_eq!(none.attribute("isbn"), None);
    assert_eq!(none.attribute("owner"), None);
    assert_eq!(
        none.attribute("nested"),
        string("None").as_ref(),
        "not an Option<Option>: one level"
    );
    assert_eq!(none.attributes.len(), 1, "{:?}", none.attributes);
}

#[derive(Debug, thiserror::Error)]
#[error("config unreadable")]
struct ConfigError {
    #[source]
    source: std::io::Error,
}

#[trace(err)]
fn std_error(fail: bool) -> Result<u8, ConfigError> {
    if fail {
        let source = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        return Err(ConfigError { source });
    }
    Ok(1)
}

#[trace(err)]
fn string_error() -> Result<(), String> {
    Err("plain string".to_owned())
}

#[trace(err)]
fn boxed_error() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let n: u8 = "300".parse()?;
    let _ = n;
    Ok(())
}

#[derive(Debug)]
#[allow(dead_code)] // read through `Debug`
struct DebugOnly(u8);

#[trace(err)]
fn debug_error() -> Result<(), DebugOnly> {
    Err(DebugOnly(9))
}

#[trace(err)]
async fn async_error(n: u32) -> Result<u32, std::num::ParseIntError> {
    tokio::task::yield_now().await;
    let parsed: u32 = if n == 0 { "x".parse()? } else { n };
    Ok(parsed)
}

fn exception(span: &SpanData) -> (&Value, &Value, Option<&Value>) {
    assert_eq!(span.events.len(), 1, "{}: one exception event", span.name);
    let event = &span.events[0];
    assert_eq!(event.name, "exception");
    let get = |key: &str| {
        event
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .map(|kv| &kv.value)
    };
    (
        get("exception.type").unwrap(),
        get("exception.message").unwrap(),
        get("exception.cause"),
    )
}

#[tokio::test]
async fn err_records_an_exception_event_and_error_status() {
    let p = common::start(config()).await;
    {
        let _ok = TRACER.start_span("ok.calls");
        assert!(std_error(false).is_ok());
        assert_eq!(async_error(4).await, Ok(4));
    }
    assert!(std_error(true).is_err());
    assert_eq!(string_error(), Err("plain string".into()));
    assert!(boxed_error().is_err());
    assert!(debug_error().is_err());
    assert!(async_error(0).await.is_err());
    let spans = p.finish().await;

    let ok_parent = spans.get("ok.calls").context.span_id;
    for ok in spans.0.iter().filter(|s| s.parent_span_id == ok_parent) {
        assert_eq!(ok.status, Status::Unset, "{}", ok.name);
        assert!(ok.events.is_empty());
    }
    let failed = |name: &str| {
        spans
            .0
            .iter()
            .find(|s| s.name == name && s.parent_span_id == SpanId::INVALID)
            .unwrap()
    };

    let span = failed("std_error");
    assert_eq!(span.status, Status::error("config unreadable"));
    let (ty, message, cause) = exception(span);
    assert!(ty.to_string().ends_with("ConfigError"), "{ty}");
    assert_eq!(message.to_string(), "config unreadable");
    assert_eq!(cause.unwrap().to_string(), "[no such file]");
    // The semantic conventions' `error.type` of a failed operation: the type's name.
    assert_eq!(span.attribute("error.type"), Some(ty));

    let span = failed("string_error");
    assert_eq!(span.status, Status::error("plain string"));
    let (ty, message, cause) = exception(span);
    assert_eq!(ty.to_string(), std::any::type_name::<String>());
    assert_eq!(message.to_string(), "plain string");
    assert!(cause.is_none());

    let span = failed("boxed_error");
    assert!(span.status.is_error());
    let (ty, message, _) = exception(span);
    assert!(ty.to_string().starts_with("alloc::boxed::Box<dyn"), "{ty}");
    assert_eq!(
        message.to_string(),
        "number too large to fit in target type"
    );

    let span = failed("debug_error");
    assert_eq!(span.status, Status::error("DebugOnly(9)"));

    let span = failed("async_error");
    assert!(span.status.is_error());
    let (ty, _, _) = exception(span);
    assert_eq!(ty.to_string(), "core::num::error::ParseIntError");
}

mod renamed {
    // The macro's paths go through `crate = ...`, never a hard-coded `::telem`.
    use telem as tel;

    #[tel::trace(crate = tel, kind = client, fields(k = 1), err)]
    pub(super) async fn through_renamed_path() -> Result<(), String> {
        Ok(())
    }
}

#[tokio::test]
async fn crate_option_is_used_for_every_path() {
    let p = common::start(config()).await;
    renamed::through_renamed_path().await.unwrap();
    let spans = p.finish().await;
    let span = spans.get("through_renamed_path");
    assert_eq!(span.kind, SpanKind::Client);
    assert_eq!(span.attribute("k"), Some(&Value::I64(1)));
}
