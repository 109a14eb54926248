//! Futures: the span of an `async fn` or of a fn returning `impl Future`.

use crate::{Context, Span};
#[cfg(feature = "enable")]
use crate::{FutureExt, Instrumented};
use std::future::Future;

/// Runs `future` with `span` current in every poll (and not between polls). The span
/// stays with the caller, a local of the generated async body, so that it can record
/// the output and so that a panic in a poll drops it while unwinding (error status).
#[cfg(feature = "enable")]
#[inline]
pub fn instrument<F: Future>(future: F, span: &Span) -> Instrumented<F> {
    future.with_context(Context::from_span(span.context()))
}

/// Without the `enable` feature the span is a no-op: the future runs as it is.
#[cfg(not(feature = "enable"))]
#[inline(always)]
pub fn instrument<F: Future>(future: F, _span: &Span) -> F {
    future
}

/// Runs `f` (the synchronous part of a fn returning `impl Future`) with `span` current.
#[inline]
pub fn run_in<R>(span: &Span, f: impl FnOnce() -> R) -> R {
    if span.span_id().is_valid() {
        Context::from_span(span.context()).run(f)
    } else {
        f()
    }
}
