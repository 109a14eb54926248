//! Testing your instrumentation: an isolated pipeline per test, and assertions that
//! print what was recorded as a span tree when they fail. Behind the `testing` feature:
//!
//! ```toml
//! [dev-dependencies]
//! telemetry = { version = "0.1", features = ["testing"] }
//! ```
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use telem::testing::TestPipeline;
//! use telem::Tracer;
//!
//! static TRACER: Tracer = Tracer::new("doc");
//!
//! let t = TestPipeline::start();
//! TRACER.in_span("GET /books", |_| {
//!     TRACER.in_span("list_books", |span| span.set_i64("books.count", 3));
//! });
//! telem::counter!("books_listed_total").increment(1);
//!
//! let spans = t.spans().await;
//! spans.assert_chain(&["GET /books", "list_books"]).assert_no_errors();
//! spans.named("list_books").assert_attribute("books.count", 3i64);
//! t.metrics().assert_counter("books_listed_total", &[], 1);
//! # }
//! ```
//!
//! # How isolation works
//!
//! [`TestPipeline::start`] opens a *scope*: a number that travels with the current
//! context exactly as the current span does (the thread's context, [`Context`],
//! [`Instrumented`](crate::Instrumented) futures, [`spawn`](crate::spawn) and the other
//! wrappers). Every span records the scope current where it starts, and the drain
//! routes each span to its scope's own in-memory list. Metric macros (`counter!` and
//! co.) called in a scope record into the scope's own [`Registry`] instead of the
//! global one. So tests running in parallel in one process (`cargo test` runs them on
//! many threads) never see each other's spans or metrics.
//!
//! The scope is set on the thread that calls `start` (the test's thread, where
//! `#[tokio::test]` polls the test body, for the current-thread and the multi-thread
//! runtime alike) and carried from there. Work that leaves it without the context, a
//! plain `tokio::spawn` onto another worker or a `std::thread` without
//! [`Context::attach`], is outside the test's scope: use [`crate::spawn`],
//! [`FutureExt::in_current_span`](crate::FutureExt::in_current_span) or
//! [`TestPipeline::context`] as you would to keep the trace.
//!
//! Sampling and span limits stay global (always-on by default), and a test's spans are
//! recorded whether or not a global pipeline is running.

mod assert;
mod logs;
mod metrics;

pub use assert::{SpanAssert, Spans};
pub use logs::{LogAssert, Logs};
pub use metrics::Metrics;

use crate::isolation::{self, Scope};
use crate::metrics::Registry;
use crate::record::raw_span::RawSpan;
use crate::record::{context, ring};
use crate::Context;
use std::sync::{Arc, PoisonError};

/// One test's own pipeline: its spans and its metrics, isolated from every other
/// test's (see the [module docs](self)). Dropping it closes the scope.
#[derive(Debug)]
#[must_use = "the test's scope closes when this is dropped"]
pub struct TestPipeline {
    id: u32,
    scope: Arc<Scope>,
    /// The scope the starting thread had before, put back on drop.
    previous: u32,
}

impl TestPipeline {
    /// Opens a scope and makes it current on the calling thread: spans and metrics of
    /// this test go to it from now on.
    pub fn start() -> Self {
        let (id, scope) = isolation::open();
        let previous = context::replace_scope(id);
        Self {
            id,
            scope,
            previous,
        }
    }

    /// The test's context, to carry the scope where it does not follow by itself (a
    /// `std::thread`, a plain `tokio::spawn`): `t.context().attach()` there.
    pub fn context(&self) -> Context {
        let mut ctx = Context::current();
        ctx.scope = self.id;
        ctx
    }

    /// Moves every ended span out of the rings, to its scope. Spans of other tests go
    /// to theirs; spans of the global pipeline are kept for it.
    pub async fn drain_now(&self) {
        ring::drain(|raw| {
            if isolation::route(raw) {
                isolation::keep_stray(std::mem::replace(raw, RawSpan::blank()));
            }
        });
        ring::logs::LogCycle::drain(|raw| {
            if isolation::route_log(raw) {
                isolation::keep_log_stray(raw.take_record());
            }
        });
    }

    /// Drains, then returns every log record this test made so far, ready for
    /// assertions.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use telem::{testing::TestPipeline, Level};
    /// let t = TestPipeline::start();
    /// telem::warn!(book.id = 999, "book {} not found", 999);
    /// t.logs()
    ///     .await
    ///     .assert_count(Level::Warn, 1)
    ///     .find(Level::Warn, "not found")
    ///     .assert_field("book.id", 999);
    /// # }
    /// ```
    pub async fn logs(&self) -> Logs {
        self.drain_now().await;
        Logs::new(
            self.scope
                .logs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }

    /// Drains, then takes the log records made so far, so the next call sees only newer
    /// ones.
    pub async fn take_logs(&self) -> Logs {
        self.drain_now().await;
        Logs::new(std::mem::take(
            &mut *self
                .scope
                .logs
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        ))
    }

    /// Drains, then returns every span this test recorded so far (in the order they
    /// ended), ready for assertions.
    pub async fn spans(&self) -> Spans {
        self.drain_now().await;
        Spans::new(
            self.scope
                .spans
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }

    /// Drains, then takes the spans recorded so far, so the next call sees only newer ones.
    pub async fn take_spans(&self) -> Spans {
        self.drain_now().await;
        Spans::new(std::mem::take(
            &mut *self
                .scope
                .spans
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        ))
    }

    /// The test's own metrics registry: metric macros called in the scope record here.
    /// Hand it to code that takes a registry (`TelemetryLayer::metrics_registry`).
    pub fn registry(&self) -> &Registry {
        &self.scope.registry
    }

    /// Assertions on the test's metrics.
    pub fn metrics(&self) -> Metrics<'_> {
        Metrics::new(&self.scope.registry)
    }
}

impl Drop for TestPipeline {
    fn drop(&mut self) {
        isolation::close(self.id);
        if context::current_scope() == self.id {
            context::replace_scope(self.previous);
        }
    }
}
