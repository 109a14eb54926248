//! Procedural macros for `telemetry`; use them through `telemetry` (`telem::trace`).
//!
//! This crate only parses and emits: `attr` reads the options, `item` the fn, `expand`
//! writes the instrumented fn, whose runtime code is all in `telem::macro_support`.
#![forbid(unsafe_code)]

mod attr;
mod expand;
mod item;
mod test_attr;

use proc_macro::TokenStream;

/// Instruments a fn with a span: it starts when the fn runs, is the current span while
/// the fn's code runs (so spans started inside become its children), and ends when the
/// fn returns.
///
/// ```
/// use telem::{trace, Config, InMemorySink};
/// use std::sync::Arc;
///
/// struct Library {
///     books: Vec<String>,
/// }
///
/// impl Library {
///     /// The books on a shelf.
///     #[trace(kind = server, record(shelf), fields(library.size = self.books.len()))]
///     async fn list_books(&self, shelf: u32) -> Vec<String> {
///         let _ = self.count();
///         self.books.clone()
///     }
///
///     #[trace]
///     fn count(&self) -> usize {
///         self.books.len()
///     }
/// }
///
/// #[trace("parse_isbn", err)]
/// fn parse(isbn: &str) -> Result<u64, std::num::ParseIntError> {
///     Ok(isbn.trim().parse()?)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let sink = Arc::new(InMemorySink::new(16));
/// let pipeline = telem::init(Config::new().with_sink(sink.clone())).unwrap();
///
/// let library = Library { books: vec!["Dune".into()] };
/// library.list_books(3).await;
/// assert!(parse("not a number").is_err());
///
/// pipeline.shutdown().await;
/// assert_eq!(sink.span_names(), ["Library::count", "Library::list_books", "parse_isbn"]);
/// let spans = sink.spans();
/// assert_eq!(spans[0].parent_span_id, spans[1].context.span_id);
/// assert_eq!(spans[1].attribute("shelf"), Some(&telem::Value::I64(3)));
/// assert!(spans[2].status.is_error());
/// # }
/// ```
///
/// # Options
///
/// | option | what it does |
/// | --- | --- |
/// | *(none)* | the span is named after the fn: `list_books`, or `Library::list_books` for a method or associated fn (see below) |
/// | `"name"` or `name = "name"` | names the span (a static string: never allocates) |
/// | `kind = server` | the span kind: `server`, `client`, `producer`, `consumer` or `internal` (the default) |
/// | `fields(key = expr, ...)` | records attributes; a key is an identifier, a dotted name (`http.route`) or a string literal |
/// | `record(arg, ...)` | records the named arguments (`self` included) as attributes keyed by their names; nothing is recorded unless asked |
/// | `err` | on an `Err(e)` return: an `exception` event (`exception.type`, `exception.message`, `exception.cause`) and an error status |
/// | `root` | starts a new trace instead of a child of the current span |
/// | `crate = path` | where to find the `telemetry` crate, for a renamed dependency (`crate = tel`) or a re-export |
///
/// Values from `fields` and `record` are recorded with their own attribute type when
/// they are integers, floats, bools or strings (`&str`, `String`, `Cow<str>`, ...), else
/// with `Display`, else with `Debug` (chosen at compile time; a type with neither is a
/// compile error pointing at it). Both are read by reference (`fields(name = self.name)`
/// moves nothing) and only when the span records (telemetry on, span sampled), before
/// the body runs. A string literal is recorded without allocating; other strings and
/// formatted values cost one allocation each (formatting goes through a stack buffer).
///
/// `err` works with any error type: an `Error` (its chain of `source()`s becomes
/// `exception.cause`), a type that derefs to one (`anyhow::Error`, `Box<dyn Error>`),
/// or a type that is only `Display` (`String`) or `Debug`. `exception.type` is the
/// type's name from `std::any::type_name`. The fn must return a `Result`.
///
/// # What can be instrumented
///
/// Free fns, methods (`&self`, `&mut self`, `self`, `self: Arc<Self>`), associated fns,
/// generic fns (lifetimes, `where` clauses, `impl Trait` arguments and returns), fns in
/// `impl Trait for T` blocks, default methods of traits, `unsafe` and `extern` fns:
///
/// - **`async fn`** (also in traits): the span starts when the future is **first
///   polled** (that is when an `async fn`'s body starts to run; the signature stays an
///   `async fn`), with the span current at that poll as its parent. It is the current
///   span during every poll of the body and not between polls, so another task on the
///   same thread never sees it; it ends when the body completes. A future dropped
///   before it is first polled records no span. The span is carried by the future
///   (no guard is held across `.await`), so the future is `Send` whenever the body's is:
///   it can go to `tokio::spawn`.
/// - **fns returning `impl Future`**: the span starts at the **call**, its parent is the
///   span current at the call, it is current while the fn's own code runs, then in every
///   poll of the returned future, and it ends when that future completes. The returned
///   future is wrapped in an `async` block, so a `+ Unpin` bound on the return type is
///   not kept.
/// - **`#[async_trait]` methods**: `#[async_trait]` on the `impl` (or the trait, for
///   default methods) runs before `#[trace]` on the method and turns the `async fn` into
///   a fn returning `Box::pin(async move { .. })`; `#[trace]` recognises that shape and
///   instruments the boxed future exactly like an `async fn` (span from the first poll).
///   Had `#[trace]` run first, its output is still an `async fn`, which `#[async_trait]`
///   transforms as usual. `record` of a destructured argument is not available there
///   (`#[async_trait]` renames those).
///
/// `const fn`s cannot be instrumented (spans start at run time), nor can trait methods
/// without a default body (put `#[trace]` on the `impl`'s method).
///
/// # Span names
///
/// Without a name, a fn in an `impl` or trait block is named `Type::method` (the trait's
/// name for a default method; generic parameters left out), and a free fn by its own
/// name. A proc macro cannot see the `impl` it is in, so the type is read from
/// `std::any::type_name` of an item declared in the fn, once per fn, on its first call;
/// the name is then a `&'static str` kept in the fn's call site: later calls never
/// allocate. A fn declared inside another fn is named `outer::inner`. Should the type
/// name's format ever change, the name falls back to the fn's own name.
///
/// # Behaviour kept
///
/// The signature is unchanged, and so are doc comments, `#[must_use]` and every other
/// attribute. Early `return`, `?` and `impl Trait` returns behave as without the
/// attribute. A panic in the fn (or in a poll of its future) ends the span with an
/// error status while unwinding. The span's instrumentation scope is the name of the
/// crate the fn is in (`CARGO_PKG_NAME`).
///
/// # Cost
///
/// What the same span costs written by hand: each fn has a `static` call site holding
/// its tracer and name, so starting its span costs what `Tracer::start_span` does, plus
/// one load of the cached name. With telemetry off (before `init`) that is one relaxed
/// load and a branch plus an inert guard; without the `enable` feature of `telemetry` the span is a no-op,
/// `fields`/`record` are never evaluated, and an async fn's future is polled as it is.
///
/// # Errors
///
/// Misuse is a compile error at the offending token: an unknown or duplicate option, a
/// `record` of a parameter the fn does not have, an attribute key given twice, an
/// unknown span kind, a `const fn`, or an item that is not a fn. A fn whose body does
/// not parse is left as it is, so the compiler's own error shows.
#[proc_macro_attribute]
pub fn trace(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::trace(args.into(), item.into()).into()
}

/// A `#[tokio::test]` with its own telemetry pipeline: the test's spans and metrics are
/// isolated from every other test's (see `telem::testing`, feature `testing`). Takes
/// `#[tokio::test]`'s options, and optionally the `TestPipeline` as a parameter.
///
/// ```ignore
/// #[telem::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn lists_books(t: telem::testing::TestPipeline) {
///     list_books().await;
///     t.spans().await.named("list_books").assert_ok();
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test_attr::expand(args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
