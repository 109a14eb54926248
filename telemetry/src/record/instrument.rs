//! Carrying a span context with a future, across `.await` and worker threads.

use crate::record::context::{self, Carry, SavedCarry};
use crate::{Context, KeyValue, Span, SpanContext};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

pin_project_lite::pin_project! {
    /// A future that runs with its own span context: the context is made current
    /// for each poll and put away between polls, on whichever thread polls it.
    ///
    /// Changes the future makes to the current context persist across its polls and
    /// stay out of everyone else's: a [`SpanGuard`](crate::SpanGuard) held across
    /// `.await` (only possible in a future that need not be `Send`, such as a
    /// [`spawn_local`](crate::spawn_local()) task: the guard is not `Send`) is current
    /// again in the future's next poll, and in no other task's. Created by [`FutureExt`].
    ///
    /// The same goes for [`Baggage`](crate::propagation::Baggage) and the fields bound
    /// with [`bind`](crate::bind): the future's own (captured by
    /// [`in_current_span`](FutureExt::in_current_span) and [`in_span`](FutureExt::in_span),
    /// or set with [`Context::with_baggage`](crate::Context::with_baggage),
    /// [`Context::with_fields`](crate::Context::with_fields) and
    /// [`with_fields`](FutureExt::with_fields)) are current in each poll; a future without
    /// any runs with those current where it is polled, and a binding its poll leaves
    /// current (a guard held across `.await`) stays with it.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F> {
        #[pin]
        inner: F,
        context: SpanContext,
        // The baggage and bound fields; for each, `None`: the future runs with whatever
        // is current where it is polled.
        carry: Carry,
        // The test scope the future's spans belong to (see `crate::isolation`).
        scope: u32,
        span: Option<Span>,
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        // Baggage and bound fields are put back by a guard (also when the poll panics).
        // With none on the future or the thread (the common case) that costs a flag read
        // before and one after the poll; otherwise the future's are swapped in and out.
        let carried = EnteredCarry::enter(this.carry);
        // Restored on drop, so also when the poll panics: the span must not leak into
        // whatever the worker runs next.
        let entered = Entered(Some((
            context::enter(this.context),
            context::replace_scope(*this.scope),
        )));
        let result = this.inner.poll(cx);
        if context::current().span_id != this.context.span_id {
            *this.context = SpanContext::current().unwrap_or_default();
        }
        drop(entered);
        drop(carried);
        if result.is_ready() {
            // End the span as soon as the work is done, not when the future is dropped.
            this.span.take();
        }
        result
    }
}

/// Attaches span contexts to futures: the way to keep a span current across `.await`
/// (a [`SpanGuard`](crate::SpanGuard) is not `Send`). The span is current in each poll
/// of the future, on whichever thread polls it, and in no other task's polls. In the
/// [`prelude`](crate::prelude).
///
/// ```
/// use telem::prelude::*;
/// use telem::Tracer;
///
/// async fn fetch() -> u32 { 7 }
///
/// # async fn run() {
/// let tracer = Tracer::new("doc");
/// // `fetch` runs inside `fetch_books`, which ends when it completes.
/// let n = fetch().in_span(tracer.span("fetch_books").start_detached()).await;
/// assert_eq!(n, 7);
/// # }
/// ```
pub trait FutureExt: Future + Sized {
    /// Runs this future inside `span` (current in every poll) and ends the span when
    /// the future completes or is dropped.
    fn in_span(self, span: Span) -> Instrumented<Self> {
        Instrumented {
            inner: self,
            context: span.context(),
            carry: Carry::current(),
            scope: context::current_scope(),
            span: Some(span),
        }
    }

    /// Runs this future with `span` current in every poll, leaving the span with the
    /// caller: to record into it before and after the `.await`, and end it by dropping it.
    /// Like [`in_span`](Self::in_span), the future also takes the baggage and the bound
    /// fields current now.
    ///
    /// ```
    /// use telem::prelude::*;
    /// use telem::Tracer;
    ///
    /// static TRACER: Tracer = Tracer::new("doc");
    ///
    /// async fn count_books() -> i64 {
    ///     TRACER.in_span("db.query", |_| {}); // a child of `GET /books`
    ///     3
    /// }
    ///
    /// # #[tokio::main] async fn main() {
    /// let handler = tokio::spawn(async {
    ///     let mut request = TRACER.span("GET /books").start_detached();
    ///     let books = count_books().with_span(&request).await;
    ///     request.set_i64("books.count", books);
    /// }); // `request` ends when the task's block ends
    /// handler.await.unwrap();
    /// # }
    /// ```
    fn with_span(self, span: &Span) -> Instrumented<Self> {
        Instrumented {
            inner: self,
            context: span.context(),
            carry: Carry::current(),
            scope: context::current_scope(),
            span: None,
        }
    }

    /// Runs this future with the context current now, wherever it is polled later
    /// (another task, a `join!` branch, another thread).
    fn in_current_span(self) -> Instrumented<Self> {
        self.with_context(Context::current())
    }

    /// Runs this future with `context` current (and its baggage and bound fields, if it
    /// sets them).
    fn with_context(self, context: Context) -> Instrumented<Self> {
        Instrumented {
            inner: self,
            context: context.span,
            carry: context.carry,
            scope: context.scope,
            span: None,
        }
    }

    /// Runs this future with `fields` bound (see [`bind`](crate::bind)) in each of its
    /// polls, added to those bound now, and with the context current now (as
    /// [`in_current_span`](Self::in_current_span)): the way to bind fields across
    /// `.await`, since a [`BindGuard`](crate::BindGuard) is not `Send`.
    ///
    /// ```
    /// use telem::prelude::*;
    /// use telem::{Context, KeyValue};
    ///
    /// async fn fields_seen() -> Vec<KeyValue> {
    ///     tokio::task::yield_now().await;
    ///     Context::current().fields().unwrap_or_default().to_vec()
    /// }
    ///
    /// # #[tokio::main] async fn main() {
    /// let _tenant = telem::bind_field("tenant", "acme");
    /// let task = tokio::spawn(fields_seen().with_fields([KeyValue::new("job.id", 7i64)]));
    /// assert_eq!(
    ///     task.await.unwrap(),
    ///     [KeyValue::new("tenant", "acme"), KeyValue::new("job.id", 7i64)]
    /// );
    /// # }
    /// ```
    fn with_fields(self, fields: impl IntoIterator<Item = KeyValue>) -> Instrumented<Self> {
        self.with_context(Context::current().with_fields(fields))
    }
}

impl<F: Future> FutureExt for F {}

/// Puts back the context an [`Instrumented`] poll replaced, also while unwinding.
struct Entered(Option<(context::Saved, u32)>);

impl Drop for Entered {
    #[inline]
    fn drop(&mut self) {
        if let Some((saved, scope)) = self.0.take() {
            context::restore(saved);
            context::replace_scope(scope);
        }
    }
}

/// Swaps a future's baggage and bound fields in for a poll, and back out when dropped
/// (also while unwinding), keeping what the poll left current for the next poll.
struct EnteredCarry<'a> {
    own: &'a mut Carry,
    /// `None` when neither the future nor the thread carried anything (the common
    /// case): nothing was swapped, and only what the poll leaves current must be taken.
    saved: Option<SavedCarry>,
}

impl<'a> EnteredCarry<'a> {
    #[inline]
    fn enter(own: &'a mut Carry) -> Self {
        let saved = own.enter();
        Self { own, saved }
    }
}

impl Drop for EnteredCarry<'_> {
    #[inline]
    fn drop(&mut self) {
        self.own.leave(self.saved.take());
    }
}
