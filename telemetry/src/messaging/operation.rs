//! [`Operation`]: a messaging client operation (send, receive, settle) in a span, timed
//! for `messaging_client_operation_duration_seconds`.

use super::destination::Destination;
use crate::record::clock;
use crate::{FutureExt, Span, SpanContext, SpanKind, Status, Str, Tracer};
use std::error::Error;
use std::future::Future;

/// `error.type` of an operation or a processing dropped before it ended.
pub(super) const CANCELLED: &str = "cancelled";

/// The instrumentation scope of the messaging spans.
pub(super) static TRACER: Tracer = Tracer::new("telem::messaging");

/// Sets the attributes every messaging span has: the system, the operation, the
/// destination, and the consumer group (if `group`), the client id and the server the
/// destination has. Set on the started span rather than through the builder, whose
/// attribute and link lists would take an allocation per message.
pub(super) fn set_attributes(
    span: &mut Span,
    destination: &Destination,
    name: &'static str,
    kind: OperationType,
    group: bool,
) {
    if !span.is_recording() {
        return;
    }
    let inner = &destination.inner;
    span.set_str("messaging.system", inner.system.clone());
    span.set_str("messaging.operation.name", name);
    span.set_str("messaging.operation.type", kind.as_str());
    span.set_str("messaging.destination.name", inner.name.clone());
    if group {
        if let Some(group) = &inner.group {
            span.set_str("messaging.consumer.group.name", group.clone());
        }
    }
    if let Some(id) = &inner.client_id {
        span.set_str("messaging.client.id", id.clone());
    }
    if let Some((address, port)) = &inner.server {
        span.set_str("server.address", address.clone());
        span.set_i64("server.port", i64::from(*port));
    }
}

/// `messaging.operation.type`: what an operation does to messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum OperationType {
    /// Messages handed to a broker (`send`).
    Send,
    /// Messages pulled from a broker (`receive`).
    Receive,
    /// Messages handled by the application (`process`).
    Process,
    /// Messages acknowledged, rejected or dead-lettered (`settle`).
    Settle,
}

impl OperationType {
    /// The attribute's value.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Receive => "receive",
            Self::Process => "process",
            Self::Settle => "settle",
        }
    }
}

/// A messaging client operation in progress: its span (detached: current only where
/// you make it so) and its start time. From [`Destination::send`],
/// [`Destination::settle`] and [`Destination::receive_operation`].
///
/// Ending it (with [`end`](Self::end) or [`run`](Self::run)) ends the span and records
/// `messaging_client_operation_duration_seconds`, with `error_type` if
/// [`record_error`](Self::record_error) was called; a send also counts the message in
/// `messaging_client_sent_messages_total`. Dropped without `end`, it is recorded as
/// failed, `error.type` `cancelled`.
#[derive(Debug)]
#[must_use = "the operation is recorded when it ends"]
pub struct Operation {
    destination: Destination,
    kind: OperationType,
    name: &'static str,
    span: Span,
    start: u64,
    error: Option<&'static str>,
    /// Whether `error` came from [`Operation::set_error_type`] (then it stays).
    explicit_error: bool,
    /// Whether [`Operation::end`] (or [`Operation::run`]) ended it; dropped otherwise.
    ended: bool,
}

impl Operation {
    pub(super) fn start(
        destination: Destination,
        kind: OperationType,
        name: &'static str,
        span_name: Str,
        span_kind: SpanKind,
    ) -> Self {
        let mut span = TRACER.span(span_name).kind(span_kind).start_detached();
        set_attributes(
            &mut span,
            &destination,
            name,
            kind,
            kind != OperationType::Send,
        );
        Self {
            span,
            start: clock::raw_now(),
            destination,
            kind,
            name,
            error: None,
            explicit_error: false,
            ended: false,
        }
    }

    /// The span's context: the message's creation context for a send.
    pub fn context(&self) -> SpanContext {
        self.span.context()
    }

    /// The span, to add attributes the system knows (a partition, a routing key).
    pub fn span_mut(&mut self) -> &mut Span {
        &mut self.span
    }

    /// `messaging.message.id`: the broker's id for the message (known only after the
    /// broker's answer for some systems: set it then).
    pub fn set_message_id(&mut self, id: impl Into<Str>) {
        self.span.set_str("messaging.message.id", id);
    }

    /// `messaging.message.conversation_id` (a correlation id).
    pub fn set_conversation_id(&mut self, id: impl Into<Str>) {
        self.span.set_str("messaging.message.conversation_id", id);
    }

    /// The operation failed: an `exception` event, `error.type` (the error's type name,
    /// unless [`set_error_type`](Self::set_error_type) gave a shorter one) and an error
    /// status on the span, and `error_type` on the metrics.
    pub fn record_error<E: Error + ?Sized>(&mut self, error: &E) {
        self.span.record_error(error);
        match self.error.filter(|_| self.explicit_error) {
            Some(kind) => self.span.set_str("error.type", kind),
            None => self.error = Some(std::any::type_name::<E>()),
        }
    }

    /// Sets `error.type`, on the span and the metrics, to a short class of the failure
    /// the system knows (`timeout`, `stream_not_found`), in place of the error's type
    /// name that [`record_error`](Self::record_error) sets; it also marks the operation
    /// failed if `record_error` was not called.
    pub fn set_error_type(&mut self, error_type: &'static str) {
        self.span.set_str("error.type", error_type);
        self.error = Some(error_type);
        self.explicit_error = true;
    }

    /// Ends the operation: records its span and metrics, as a success unless an error
    /// was recorded. An operation dropped without `end` (an early return, a cancelled
    /// future) is recorded as failed with `error.type` `cancelled`: a send that never
    /// reached the broker is not counted as sent.
    pub fn end(mut self) {
        self.ended = true;
    }

    /// Runs `call` (the broker call) with the span current, records its error if it
    /// fails, and ends the operation.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let _test = telem::testing::TestPipeline::start();
    /// let jobs = telem::messaging::Destination::new("redis", "jobs");
    /// let mut headers = std::collections::HashMap::new();
    /// let sent: Result<(), std::io::Error> = jobs
    ///     .send(&mut headers)
    ///     .run(async { Ok(()) /* broker.publish(headers, payload).await */ })
    ///     .await;
    /// # sent.unwrap();
    /// # }
    /// ```
    pub async fn run<T, E: Error>(
        mut self,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let result = call.with_span(&self.span).await;
        if let Err(e) = &result {
            self.record_error(e);
        }
        self.end();
        result
    }
}

impl Drop for Operation {
    fn drop(&mut self) {
        let seconds = clock::elapsed_seconds(self.start);
        if !self.ended && self.error.is_none() {
            self.error = Some(CANCELLED);
            self.span.set_str("error.type", CANCELLED);
            self.span
                .set_status(Status::error("the operation was dropped before it ended"));
        }
        let error = self.error.unwrap_or("");
        if let Some(h) = self.destination.handles() {
            // A send dropped before it ended may never have reached the broker: it is
            // timed, not counted as sent.
            let sent = self.kind == OperationType::Send && error != CANCELLED;
            h.record_operation(self.kind, self.name, error, sent, seconds);
        }
    }
}
