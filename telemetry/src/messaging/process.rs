//! [`Delivery`]: a received message (or batch) and the consumer span its handler runs
//! in.

use super::destination::Destination;
use super::metrics::Handles;
use super::operation::{set_attributes, OperationType, CANCELLED, TRACER};
use crate::record::{clock, context};
use crate::{Context, FutureExt as _, KeyValue, Span, SpanContext, SpanKind, Status, Str};
use futures::FutureExt as _;
use std::error::Error;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

/// A message (or a batch) received and about to be processed: from
/// [`Destination::receive`], [`Destination::receive_batch`] or the traced
/// [`channel`](super::channel). Say what the system knows about it, then
/// [`process`](Self::process) it.
#[derive(Debug)]
#[must_use = "a delivery records nothing until processed"]
pub struct Delivery {
    destination: Destination,
    /// The creation context (a single message), with the baggage it carried.
    context: Context,
    /// The creation contexts of a batch's messages, and the batch's size.
    batch: Option<(Vec<SpanContext>, u64)>,
    message_id: Option<Str>,
    conversation_id: Option<Str>,
    delivery_count: u32,
    last_attempt: bool,
    timeout: Option<Duration>,
    /// Whether the span links to the creation context it is the child of (not for the
    /// traced channel, where the creation context is just the sender's span).
    link_creation: bool,
}

impl Delivery {
    pub(super) fn single(destination: Destination, context: Context) -> Self {
        Self::new(destination, context, None)
    }

    /// A message of the traced channel: the sender's span is its parent, not linked.
    pub(super) fn in_process(destination: Destination, context: Context) -> Self {
        Self {
            link_creation: false,
            ..Self::new(destination, context, None)
        }
    }

    pub(super) fn batch(destination: Destination, links: Vec<SpanContext>, count: u64) -> Self {
        Self::new(destination, Context::current(), Some((links, count)))
    }

    fn new(
        destination: Destination,
        context: Context,
        batch: Option<(Vec<SpanContext>, u64)>,
    ) -> Self {
        Self {
            destination,
            context,
            batch,
            message_id: None,
            conversation_id: None,
            delivery_count: 0,
            last_attempt: false,
            timeout: None,
            link_creation: true,
        }
    }

    /// `messaging.message.id`: the broker's id for the message.
    pub fn with_message_id(mut self, id: impl Into<Str>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// `messaging.message.conversation_id` (a correlation id).
    pub fn with_conversation_id(mut self, id: impl Into<Str>) -> Self {
        self.conversation_id = Some(id.into());
        self
    }

    /// How many times the broker has delivered the message, this time included: 1 the
    /// first time, 2 for the first retry. Recorded as
    /// `messaging.{system}.message.delivery_count`; above 1 it counts in
    /// `telem_messaging_process_retries_total`.
    pub fn with_delivery_count(mut self, count: u32) -> Self {
        self.delivery_count = count;
        self
    }

    /// Whether this is the message's last attempt (the broker will not deliver it
    /// again): if processing fails, the message is dead-lettered, which its span
    /// (`telem.messaging.dead_letter`) and `telem_messaging_process_dead_letters_total`
    /// show.
    pub fn with_last_attempt(mut self, last: bool) -> Self {
        self.last_attempt = last;
        self
    }

    /// Fails the processing with [`ProcessError::TimedOut`] if the handler runs longer
    /// than `limit` (the handler's future is dropped). Needs a tokio runtime with the
    /// time driver.
    pub fn with_timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// The creation context the message carried (invalid for a batch, or a message
    /// without one).
    pub fn creation_context(&self) -> Option<&SpanContext> {
        self.context.span()
    }

    /// Runs `handler` in the `process {destination}` consumer span and records the
    /// outcome: the span, `messaging_process_duration_seconds`,
    /// `messaging_client_consumed_messages_total`.
    ///
    /// The span is current in each poll of the handler, with the message's baggage, so
    /// a message the handler sends is the span's child; it is not current anywhere
    /// else, before or after. A handler returning `Err` (see [`ProcessOutput`]) leaves
    /// its error on the span and is given back as `Ok(Err(e))`; a handler that panics
    /// or times out gives [`ProcessError`] (the panic is caught, so a worker loop goes
    /// on to its next message; resume it with [`std::panic::resume_unwind`] if the
    /// process should die).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let test = telem::testing::TestPipeline::start();
    /// use telem::messaging::{Destination, ProcessError};
    /// let jobs = Destination::new("redis", "jobs");
    /// let failed = jobs
    ///     .receive(&std::collections::HashMap::<String, String>::new())
    ///     .with_delivery_count(3)
    ///     .with_last_attempt(true)
    ///     .process(async {
    ///         if "the book" != "found" {
    ///             panic!("no such book");
    ///         }
    ///     })
    ///     .await;
    /// assert!(matches!(failed, Err(ProcessError::Panicked(m)) if m == "no such book"));
    /// # test.spans().await.named("process jobs")
    /// #     .assert_error()
    /// #     .assert_attribute("error.type", "panic")
    /// #     .assert_attribute("telem.messaging.dead_letter", true)
    /// #     .assert_attribute("messaging.redis.message.delivery_count", 3_i64);
    /// # }
    /// ```
    pub async fn process<F>(self, handler: F) -> Result<F::Output, ProcessError>
    where
        F: Future,
        F::Output: ProcessOutput,
    {
        let start = clock::raw_now();
        // The span belongs where the message came from: a traced channel's message
        // carries its sender's test scope to a receiver that runs outside it.
        let scope = context::replace_scope(self.context.scope);
        let span = self.start_span();
        context::replace_scope(scope);
        let count = self.batch.as_ref().map_or(1, |(_, n)| *n);
        let handles = self.destination.handles();
        if let Some(h) = handles {
            h.consumed(count, self.delivery_count);
        }
        // Records the outcome, or `cancelled` if this future is dropped first.
        let mut processing = Processing {
            span,
            start,
            handles,
            done: false,
        };
        let timeout = self.timeout;
        let run = async move {
            match timeout {
                Some(limit) => tokio::time::timeout(limit, handler)
                    .await
                    .map_err(|_| ProcessError::TimedOut(limit)),
                None => Ok(handler.await),
            }
        };
        // With no span recorded (no pipeline, or recording compiled out) the handler
        // still runs in the message's context, so what it sends continues the trace.
        let current = match processing.span.context() {
            own if own.is_valid() => own,
            _ => self.context.span.clone(),
        };
        let context = Context {
            span: current,
            carry: self.context.carry,
            scope: self.context.scope,
        };
        let outcome = AssertUnwindSafe(run)
            .catch_unwind()
            .with_context(context)
            .await
            .unwrap_or_else(|panic| Err(ProcessError::Panicked(panic_message(&*panic))));
        let span = &mut processing.span;
        let error = match &outcome {
            Ok(output) => output.record_error(span),
            Err(e) => {
                fail(span, e.error_type(), e.to_string());
                Some(e.error_type())
            }
        };
        let dead_letter = error.is_some() && self.last_attempt;
        if dead_letter {
            span.set_bool("telem.messaging.dead_letter", true);
        }
        processing.finish(error.unwrap_or(""), dead_letter);
        outcome
    }

    fn start_span(&self) -> Span {
        let inner = &self.destination.inner;
        let builder = TRACER
            .span(inner.process_span.clone())
            .kind(SpanKind::Consumer);
        let ambient = SpanContext::current();
        let mut links: [Option<SpanContext>; 2] = [None, None];
        let mut span = match (&self.batch, self.context.span()) {
            (Some(_), _) => {
                links[0] = ambient;
                builder.root().start_detached()
            }
            (None, Some(creation)) => {
                if self.link_creation {
                    links[0] = Some(creation.clone());
                }
                // Processing in the scope of another span: keep that relation too.
                links[1] = ambient.filter(|a| a.span_id != creation.span_id);
                builder.parent(creation.clone()).start_detached()
            }
            // No creation context: the current span, if any, or a new trace.
            (None, None) => builder.start_detached(),
        };
        if !span.is_recording() {
            return span;
        }
        set_attributes(
            &mut span,
            &self.destination,
            "process",
            OperationType::Process,
            true,
        );
        if let Some(id) = &self.message_id {
            span.set_str("messaging.message.id", id.clone());
        }
        if let Some(id) = &self.conversation_id {
            span.set_str("messaging.message.conversation_id", id.clone());
        }
        if self.delivery_count > 0 {
            span.set_i64(
                inner.delivery_count_key.clone(),
                i64::from(self.delivery_count),
            );
        }
        if let Some((messages, count)) = &self.batch {
            span.set_i64(
                "messaging.batch.message_count",
                i64::try_from(*count).unwrap_or(i64::MAX),
            );
            for link in messages {
                span.add_link(link.clone(), []);
            }
        }
        for link in links.into_iter().flatten() {
            span.add_link(link, []);
        }
        span
    }
}

/// A processing in progress: its span and start, recorded when it finishes, or as
/// `cancelled` if the future running it is dropped first.
struct Processing<'a> {
    span: Span,
    start: u64,
    handles: Option<&'a Handles>,
    done: bool,
}

impl Processing<'_> {
    /// Records the outcome: the histogram first, then the span's end (so whoever sees
    /// the span ended finds the metric too).
    fn finish(&mut self, error: &str, dead_letter: bool) {
        self.done = true;
        if let Some(h) = self.handles {
            h.record_process(error, dead_letter, clock::elapsed_seconds(self.start));
        }
    }
}

impl Drop for Processing<'_> {
    fn drop(&mut self) {
        if !self.done {
            fail(
                &mut self.span,
                CANCELLED,
                "the processing was dropped before the handler finished".to_owned(),
            );
            self.finish(CANCELLED, false);
        }
    }
}

/// An `exception` event, `error.type` and an error status on `span`.
fn fail(span: &mut Span, error_type: &'static str, message: String) {
    span.add_event(
        "exception",
        [
            KeyValue::new("exception.type", error_type),
            KeyValue::new("exception.message", message.clone()),
        ],
    );
    span.set_str("error.type", error_type);
    span.set_status(Status::error(message));
}

/// What a handler returns, and the error it leaves on its span: `Result<T, E>` with
/// `E: Error` (an `Err` is recorded as [`Span::record_error`] does: an `exception`
/// event, `error.type` its type name, an error status) and `()` (never an error).
pub trait ProcessOutput {
    /// Records the error on `span`, if this is one, and returns its `error.type`.
    fn record_error(&self, span: &mut Span) -> Option<&'static str>;
}

impl ProcessOutput for () {
    fn record_error(&self, _: &mut Span) -> Option<&'static str> {
        None
    }
}

impl<T, E: Error> ProcessOutput for Result<T, E> {
    fn record_error(&self, span: &mut Span) -> Option<&'static str> {
        let e = self.as_ref().err()?;
        span.record_error(e);
        Some(std::any::type_name::<E>())
    }
}

/// A handler that did not return: it panicked or ran past its time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The handler panicked, with this message (`<non-string panic payload>` if the
    /// payload was not a string).
    #[error("the handler panicked: {0}")]
    Panicked(String),
    /// The handler ran longer than the [timeout](Delivery::with_timeout) and was
    /// dropped.
    #[error("the handler timed out after {0:?}")]
    TimedOut(Duration),
}

impl ProcessError {
    /// The `error.type` it is recorded as: `panic` or `timeout`.
    pub const fn error_type(&self) -> &'static str {
        match self {
            Self::Panicked(_) => "panic",
            Self::TimedOut(_) => "timeout",
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}
