//! Procedural macros for `telemetry`; use them through `telemetry` (`telem::trace`,
//! `telem::info!`).
//!
//! This crate only parses and emits: `attr` reads the options, `item` the fn, `expand`
//! writes the instrumented fn; `logs/` parses and writes the log macros' calls. Their
//! runtime code is all in `telem::macro_support`.
#![forbid(unsafe_code)]

mod attr;
mod expand;
mod item;
mod logs;
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
/// | `fields(key = expr, ...)` | records attributes; a key is an identifier, a dotted name (`http.route`) or a string literal; an `Option` value only when it is `Some` |
/// | `record(arg, ...)` | records the named arguments (`self` included) as attributes keyed by their names; nothing is recorded unless asked |
/// | `err` | on an `Err(e)` return: an `exception` event (`exception.type`, `exception.message`, `exception.cause`), the `error.type` attribute (the type's name) and an error status |
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
/// A value of type `Option<T>` or `&Option<T>` (from `fields` or `record`) is recorded
/// only when it is `Some`, as its `T` would be; `None` sets no attribute. That is how an attribute is
/// recorded only sometimes, say only when a setting allows it:
/// `fields(db.query.text = self.query_text_if_allowed())`. Only the outer `Option` is
/// looked through: a `Some(None)` records the inner `None` with `Debug`.
///
/// ```
/// # use telem::{trace, Config, InMemorySink, Value};
/// # use std::sync::Arc;
/// #[trace(fields(db.query.text = logged.then_some("SELECT 1")))]
/// fn query(logged: bool) {}
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let sink = Arc::new(InMemorySink::new(16));
/// # let pipeline = telem::init(Config::new().with_sink(sink.clone())).unwrap();
/// query(true);
/// query(false);
/// # pipeline.shutdown().await;
/// # let spans = sink.spans();
/// # assert_eq!(spans[0].attribute("db.query.text"), Some(&Value::from("SELECT 1")));
/// # assert_eq!(spans[1].attribute("db.query.text"), None);
/// # }
/// ```
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

/// Records a log record at any level: `log!(LEVEL, ...)`, where `LEVEL` is a constant
/// `telem::Level` (`telem::Level::Debug`). The level macros ([`error!`](macro@error),
/// [`warn!`](macro@warn), [`info!`](macro@info), [`debug!`](macro@debug),
/// [`trace_log!`](macro@trace_log)) are `log!` with the level filled in; what follows
/// describes them all.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use telem::{log, Level};
/// # let t = telem::testing::TestPipeline::start();
///
/// let (id, attempt) = (7, 2);
/// log!(Level::Warn, book.id = id, "retrying book {id}, attempt {}", attempt);
///
/// # let logs = t.logs().await;
/// # logs.find(Level::Warn, "retrying book 7, attempt 2").assert_field("book.id", 7);
/// # }
/// ```
///
/// # Syntax
///
/// `tracing`'s, in this order, each part optional, separated by commas (a trailing comma
/// is fine):
///
/// ```text
/// info!(target: "http", name: "book.created", key = value, %key, "message {}", arg)
/// ```
///
/// - **`target: EXPR`**: where the record comes from (its instrumentation scope, what
///   `RUST_LOG`'s `target=level` directives match); a constant `&'static str`. The
///   default is the module path of the call (`module_path!()`).
/// - **`name: EXPR`**: the record's event name (OpenTelemetry's `EventName`), a constant
///   `&'static str`: `name: "book.created"`.
/// - **`crate: PATH`**: where to find the `telemetry` crate, for a renamed dependency
///   (`crate: tel`) or a re-export; `::telem` by default.
/// - **Fields**, recorded as the record's attributes, in the order written:
///
///   | field | key | value |
///   | --- | --- | --- |
///   | `key = value` | `key`; dotted (`book.id`) or a string literal (`"http.route"`) | `value` typed (integers, floats, bools, strings), else with `Display`, else with `Debug` |
///   | `key = %value` | | `value`'s `Display` text |
///   | `key = ?value` | | `value`'s `Debug` text |
///   | `count` (or `self.count`) | `count` (`self.count`) | as `count = count` |
///   | `%user` / `?req` | `user` / `req` | as `user = %user` / `req = ?req` |
///
/// - **The message**: a string literal with `format!`'s placeholders, then its arguments:
///   `{}` (the next argument), `{0}` (the first), `{name}` (the argument `name = expr`,
///   else the variable `name` from the caller's scope), `{{` and `}}` for braces, and any
///   format spec (`{:?}`, `{x:>5}`, `{:.2}`). Arguments are taken by reference and each
///   evaluated once, as `format!` does; an argument that no placeholder uses, a
///   placeholder without an argument, or an argument that is not `Display` (for `{}`)
///   is a compile error. Without a message the record's body is empty.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use telem::{debug, error, info, warn, Level, Value};
/// # let t = telem::testing::TestPipeline::start();
/// #[derive(Debug)]
/// struct Request {
///     path: &'static str,
/// }
/// let err = std::io::Error::other("disk full");
/// let (id, user, count, req) = (7, "ada", 3, Request { path: "/books" });
///
/// info!("book {id} not found");
/// info!("a {} b {x}", id + 1, x = 2);
/// warn!(book.id = id, reason = %err, "lookup failed");
/// debug!(?req, %user, count, "msg");
/// error!(target: "http", name: "book.created", "k" = 1, "msg {count:>5}");
/// info!(a = 1);
///
/// # let logs = t.logs().await;
/// # logs.find(Level::Info, "book 7 not found");
/// # logs.find(Level::Info, "a 8 b 2");
/// # logs.find(Level::Warn, "lookup failed").assert_field("reason", "disk full");
/// # logs.find(Level::Debug, "msg")
/// #     .assert_field("req", r#"Request { path: "/books" }"#)
/// #     .assert_field("user", "ada")
/// #     .assert_field("count", 3);
/// # let created = logs.find(Level::Error, "msg     3").record();
/// # assert_eq!((created.target.as_str(), created.event_name.as_deref()), ("http", Some("book.created")));
/// # assert_eq!(created.field("k"), Some(&Value::I64(1)));
/// # assert_eq!(logs.at(Level::Info)[2].body.as_str(), "");
/// # }
/// ```
///
/// # Cost
///
/// Each call is a `static` call site. Whether it records is decided first: at compile
/// time (the cargo features below), then by one relaxed load and a compare when its level
/// is filtered out everywhere, then by the filter's answer for this call site, asked on
/// its first call and kept (asked again when the filter changes). A call that does not
/// record evaluates none of its fields and arguments.
///
/// A call that records never blocks and never takes a lock: it writes its values into
/// the calling thread's ring, and the drain formats the message. A message whose
/// placeholders have no format spec is not formatted at the call: its arguments are
/// kept as values (numbers as numbers, strings copied, inline up to 22 bytes, other
/// types formatted with `Display` on the stack) and the drain writes the text, exactly
/// as `format!` would have. A message with a format spec is formatted at the call, on
/// the stack (no allocation up to 22 bytes of text).
///
/// # Levels removed at compile time
///
/// As with `log` and `tracing`, cargo features of `telemetry` remove levels from the
/// build: with `max_level_info`, `debug!` and `trace_log!` calls compile to nothing
/// (their arguments are still type-checked, never evaluated). The features are
/// `max_level_off`, `max_level_error`, `max_level_warn`, `max_level_info`,
/// `max_level_debug`, `max_level_trace`, and `release_max_level_*` the same, which apply
/// only to builds without `debug_assertions` and win over `max_level_*` there. When
/// several are on, the most restrictive wins. Without the `enable` feature every log
/// call compiles to nothing.
///
/// # Why `trace_log!`
///
/// Attribute macros and function-like macros share one namespace, and `trace` is already
/// [`#[trace]`](macro@trace), the attribute that instruments a fn: a `trace!` beside it
/// could not be imported under the same name, and `use telem::prelude::*` could not bring
/// both. So the finest level's macro is `trace_log!`. The level itself keeps its name
/// everywhere else: `Level::Trace`, `RUST_LOG=trace`, `TRACE` in the output.
///
/// # Errors
///
/// Misuse is a compile error at the offending token: a message that is not a string
/// literal, a malformed format string, an argument without a placeholder or a
/// placeholder without an argument, a field given twice, `%`/`?` on a message argument,
/// an unknown `option:`, or `log!` without a level.
#[proc_macro]
pub fn log(input: TokenStream) -> TokenStream {
    logs::expand("log", None, input.into()).into()
}

/// Records a log record at level `ERROR`: something failed and needs attention.
///
/// Syntax, cost and features: see [`log!`](macro@log), without the level.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use telem::error;
/// # let t = telem::testing::TestPipeline::start();
/// let err = std::io::Error::other("connection reset");
/// error!(job = "reindex", error = %err, "reindex failed after {} books", 120);
/// # t.logs().await.find(telem::Level::Error, "reindex failed after 120 books")
/// #     .assert_field("error", "connection reset");
/// # }
/// ```
#[proc_macro]
pub fn error(input: TokenStream) -> TokenStream {
    logs::expand("error", Some("Error"), input.into()).into()
}

/// Records a log record at level `WARN`: something unexpected that the service handled.
///
/// Syntax, cost and features: see [`log!`](macro@log), without the level.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use telem::warn;
/// # let t = telem::testing::TestPipeline::start();
/// let id = 999;
/// warn!(book.id = id, http.response.status_code = 404, "book {id} not found");
/// # t.logs().await.find(telem::Level::Warn, "book 999 not found")
/// #     .assert_field("http.response.status_code", 404);
/// # }
/// ```
#[proc_macro]
pub fn warn(input: TokenStream) -> TokenStream {
    logs::expand("warn", Some("Warn"), input.into()).into()
}

/// Records a log record at level `INFO`: what an operator wants to see in normal
/// operation.
///
/// Syntax, cost and features: see [`log!`](macro@log), without the level.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use telem::info;
/// # let t = telem::testing::TestPipeline::start();
/// let (id, title) = (4, "Dune");
/// info!(name: "book.created", book.id = id, "created {title:?}");
/// # t.logs().await.find(telem::Level::Info, r#"created "Dune""#).assert_field("book.id", 4);
/// # }
/// ```
#[proc_macro]
pub fn info(input: TokenStream) -> TokenStream {
    logs::expand("info", Some("Info"), input.into()).into()
}

/// Records a log record at level `DEBUG`: detail for investigating a problem, hidden
/// at the default level (`info`).
///
/// Syntax, cost and features: see [`log!`](macro@log), without the level.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use telem::debug;
/// # let t = telem::testing::TestPipeline::start();
/// let shelf = vec![1, 2, 3];
/// debug!(?shelf, "looked up {} books", shelf.len());
/// # t.logs().await.find(telem::Level::Debug, "looked up 3 books")
/// #     .assert_field("shelf", "[1, 2, 3]");
/// # }
/// ```
#[proc_macro]
pub fn debug(input: TokenStream) -> TokenStream {
    logs::expand("debug", Some("Debug"), input.into()).into()
}

/// Records a log record at level `TRACE`, the finest detail.
///
/// The macro is `trace_log!` because `trace` is taken: attribute and function-like
/// macros share one namespace, and `trace` is [`#[trace]`](macro@trace), which
/// instruments a fn. The level is still `Level::Trace`, enabled by `RUST_LOG=trace`.
///
/// Syntax, cost and features: see [`log!`](macro@log), without the level.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use telem::trace_log;
/// # let t = telem::testing::TestPipeline::start();
/// let bytes = [0xde, 0xad];
/// trace_log!(len = bytes.len(), "frame {bytes:02x?}");
/// # t.logs().await.find(telem::Level::Trace, "frame [de, ad]").assert_field("len", 2);
/// # }
/// ```
#[proc_macro]
pub fn trace_log(input: TokenStream) -> TokenStream {
    logs::expand("trace_log", Some("Trace"), input.into()).into()
}
