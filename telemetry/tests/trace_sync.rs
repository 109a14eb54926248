//! `#[trace]` on sync fns: the span tree, names (`Type::method`), early returns and panics.
#![cfg(feature = "enable")]

mod common;

use std::fmt::Debug;
use std::time::Duration;
use telem::{trace, Config, SpanId, SpanKind, Status, Tracer};

static TRACER: Tracer = Tracer::new("trace-sync-tests");

fn config() -> Config {
    Config::new().with_drain_interval(Duration::from_millis(10))
}

#[trace]
fn outer() -> u32 {
    middle() + middle_named()
}

#[trace]
fn middle() -> u32 {
    inner(1)
}

#[trace("middle.named")]
fn middle_named() -> u32 {
    2
}

#[trace]
fn inner(x: u32) -> u32 {
    x
}

#[trace]
fn current_in_body() -> Option<SpanId> {
    telem::SpanContext::current().map(|c| c.span_id)
}

#[tokio::test]
async fn nested_fns_make_a_span_tree() {
    let p = common::start(config()).await;
    {
        let _request = TRACER.start_span("request");
        assert_eq!(outer(), 3);
    }
    assert!(telem::SpanContext::current().is_none());
    let seen = current_in_body();
    let spans = p.finish().await;
    assert_eq!(
        seen,
        Some(spans.get("current_in_body").context.span_id),
        "current in its body"
    );
    spans.assert_root("request");
    spans.assert_parent("outer", "request");
    spans.assert_parent("middle", "outer");
    spans.assert_parent("middle.named", "outer");
    spans.assert_parent("inner", "middle");
    let outer = spans.get("outer");
    assert_eq!(outer.scope, "telem", "the scope is the crate the fn is in");
    assert_eq!(outer.kind, SpanKind::Internal);
    assert_eq!(outer.status, Status::Unset);
    assert!(
        outer.attributes.is_empty(),
        "nothing is recorded unless asked"
    );
    let inner = spans.get("inner");
    assert!(inner.start_time_unix_nano >= outer.start_time_unix_nano);
    assert!(inner.end_time_unix_nano <= outer.end_time_unix_nano);
}

#[derive(Debug, Default)]
struct Library {
    books: Vec<&'static str>,
}

trait Shelf {
    fn shelf_name(&self) -> &'static str;

    #[trace]
    fn describe(&self) -> String {
        format!("shelf {}", self.shelf_name())
    }
}

impl Library {
    #[trace]
    fn new() -> Self {
        Self::default()
    }

    #[trace]
    fn count(&self) -> usize {
        self.books.len()
    }

    #[trace]
    fn add(&mut self, title: &'static str) -> &mut Self {
        self.books.push(title);
        self
    }

    #[trace]
    fn into_books(self) -> Vec<&'static str> {
        self.books
    }
}

impl Shelf for Library {
    #[trace]
    fn shelf_name(&self) -> &'static str {
        "fiction"
    }
}

struct Wrapper<T>(T);

impl<T: Clone + Debug> Wrapper<T> {
    #[trace]
    fn get(&self) -> T {
        self.0.clone()
    }
}

#[trace]
fn longest<'a, T>(a: &'a T, b: &'a T) -> &'a str
where
    T: AsRef<str> + ?Sized,
{
    if a.as_ref().len() >= b.as_ref().len() {
        a.as_ref()
    } else {
        b.as_ref()
    }
}

fn enclosing() -> u8 {
    #[trace]
    fn nested() -> u8 {
        7
    }
    nested()
}

#[tokio::test]
async fn methods_are_named_type_colon_colon_method() {
    let p = common::start(config()).await;
    let mut library = Library::new();
    library.add("Dune").add("Emma");
    assert_eq!(library.count(), 2);
    assert_eq!(library.describe(), "shelf fiction");
    assert_eq!(Wrapper(5u8).get(), 5);
    assert_eq!(longest("ab", "abc"), "abc");
    assert_eq!(enclosing(), 7);
    assert_eq!(library.into_books(), ["Dune", "Emma"]);
    let spans = p.finish().await;
    let mut names: Vec<_> = spans.0.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names,
        [
            "Library::add",
            "Library::count",
            "Library::into_books",
            "Library::new",
            "Library::shelf_name",
            "Shelf::describe",
            "Wrapper::get",
            "enclosing::nested",
            "longest",
        ]
    );
    spans.assert_parent("Library::shelf_name", "Shelf::describe");
}

#[trace]
fn early_return(n: i32) -> &'static str {
    if n < 0 {
        return "negative";
    }
    for i in 0.. {
        if i == n {
            return "found";
        }
    }
    unreachable!()
}

#[tokio::test]
async fn early_return_ends_the_span_with_the_same_result() {
    let p = common::start(config()).await;
    assert_eq!(early_return(-1), "negative");
    assert_eq!(early_return(3), "found");
    let spans = p.finish().await;
    assert_eq!(spans.0.len(), 2);
    for span in &spans.0 {
        assert_eq!(span.name, "early_return");
        assert_eq!(span.status, Status::Unset);
        assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
    }
}

#[trace]
fn question_mark(input: &str) -> Result<u8, std::num::ParseIntError> {
    let n: u8 = input.parse()?;
    Ok(n * 2)
}

#[tokio::test]
async fn question_mark_without_err_leaves_the_status_alone() {
    let p = common::start(config()).await;
    assert_eq!(question_mark("4"), Ok(8));
    assert!(question_mark("x").is_err());
    let spans = p.finish().await;
    assert_eq!(spans.0.len(), 2);
    assert!(spans
        .0
        .iter()
        .all(|s| s.status == Status::Unset && s.events.is_empty()));
}

#[trace]
fn explode(message: &str) {
    let _child = TRACER.start_span("before.panic");
    drop(_child);
    panic!("{message}");
}

#[tokio::test]
async fn panic_ends_the_span_with_error_status() {
    let p = common::start(config()).await;
    {
        let _request = TRACER.start_span("request");
        let caught = std::panic::catch_unwind(|| explode("boom"));
        assert!(caught.is_err());
        let current = telem::SpanContext::current().unwrap();
        assert_eq!(
            current.span_id,
            _request.span_id(),
            "the caller's span is current again"
        );
    }
    let spans = p.finish().await;
    let explode = spans.get("explode");
    assert!(explode.status.is_error(), "status {:?}", explode.status);
    spans.assert_parent("explode", "request");
    spans.assert_parent("before.panic", "explode");
    assert_eq!(spans.get("before.panic").status, Status::Unset);
}

#[tokio::test]
async fn telemetry_off_runs_the_fn_unchanged() {
    let _slot = common::no_pipeline().await;
    assert_eq!(outer(), 3);
    assert_eq!(current_in_body(), None);
    assert!(telem::SpanContext::current().is_none());
}

#[tokio::test]
async fn every_call_is_its_own_span() {
    let p = common::start(config()).await;
    for _ in 0..3 {
        middle_named();
    }
    let spans = p.finish().await;
    let mut ids: Vec<SpanId> = spans.0.iter().map(|s| s.context.span_id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert!(spans.0.iter().all(|s| s.parent_span_id == SpanId::INVALID));
}
