//! [`publish`]: a JetStream publish in a producer span, and its [`PublishError`].

use crate::headers::HeaderInjector;
use async_nats::jetstream::context::{PublishError as NatsPublishError, PublishErrorKind};
use async_nats::jetstream::{self, publish::PublishAck};
use async_nats::{HeaderMap, ToSubject};
use bytes::Bytes;
use telem::messaging::Destination;
use telem::FutureExt as _;

/// Publishes `payload` to `subject` through JetStream in a `send {destination}`
/// producer span, and waits for the stream's acknowledgement.
///
/// The span is [`Destination::send`]'s: a child of the current span, its context
/// (`traceparent`, `tracestate`, and the current `baggage`) written into `headers`
/// before the message leaves, so the [`Worker`](crate::Worker) that processes it
/// continues the trace. It covers the whole round trip, the server's acknowledgement
/// included, and records the stream sequence the server gave the message as
/// `messaging.message.id` (the [`Worker`](crate::Worker)'s `process` span records the
/// same id). If the publish fails, the span records the error with a short
/// `error.type` ([`PublishError::error_type`]).
///
/// `subject` is the NATS subject the message goes to (`jobs.reindex.42`); the
/// destination names what spans and metrics call it (`jobs.reindex`: keep it
/// low-cardinality, it is a metric label).
///
/// ```no_run
/// # async fn doc(js: async_nats::jetstream::Context) -> Result<(), telem_nats::PublishError> {
/// use telem::messaging::Destination;
///
/// let reindex = Destination::new("nats", "jobs.reindex");
/// let ack = telem_nats::publish(
///     &js,
///     &reindex,
///     "jobs.reindex.42",
///     async_nats::HeaderMap::new(),
///     "book 42".into(),
/// )
/// .await?;
/// println!("stored as message {} of stream {}", ack.sequence, ack.stream);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// The publish failed or the stream did not acknowledge it: no stream captures the
/// subject, the acknowledgement timed out, the message is too big (JetStream refuses
/// header blocks above 64 KiB) ... (see [`PublishError::kind`]).
pub async fn publish(
    js: &jetstream::Context,
    destination: &Destination,
    subject: impl ToSubject,
    mut headers: HeaderMap,
    payload: Bytes,
) -> Result<PublishAck, PublishError> {
    let subject = subject.to_subject();
    let mut send = destination.send(&mut HeaderInjector(&mut headers));
    let context = telem::Context::from_span(send.context());
    let result = async {
        js.publish_with_headers(subject.clone(), headers, payload)
            .await?
            .await
    }
    .with_context(context)
    .await;
    match result {
        Ok(ack) => {
            send.set_message_id(ack.sequence.to_string());
            send.end();
            Ok(ack)
        }
        Err(source) => {
            let error = PublishError {
                subject: subject.to_string(),
                source,
            };
            send.set_error_type(error.error_type());
            send.record_error(&error);
            send.end();
            Err(error)
        }
    }
}

/// Why [`publish`] failed: async-nats's error, with the subject, and the short class
/// of the failure its span records as `error.type`.
#[derive(Debug, thiserror::Error)]
#[error("publishing to JetStream subject `{subject}` failed: {}", advice(self.kind()))]
pub struct PublishError {
    subject: String,
    #[source]
    source: NatsPublishError,
}

/// What a kind of failure means, and what to do about it.
fn advice(kind: PublishErrorKind) -> &'static str {
    match kind {
        PublishErrorKind::StreamNotFound => {
            "no stream captures this subject: create a stream whose subjects include it"
        }
        PublishErrorKind::TimedOut => {
            "the stream did not acknowledge the message in time (it may still have stored \
             it): check the server, or retry with a message id to deduplicate"
        }
        PublishErrorKind::MaxAckPending => {
            "too many publishes await their acknowledgement: await them before publishing \
             more, or raise the context's max_ack_inflight"
        }
        PublishErrorKind::MaxPayloadExceeded => {
            "the message is larger than the server's max_payload: send a smaller payload"
        }
        PublishErrorKind::BrokenPipe => "the connection to the server broke",
        PublishErrorKind::WrongLastMessageId => {
            "the stream's last message id is not the expected one"
        }
        PublishErrorKind::WrongLastSequence => "the stream's last sequence is not the expected one",
        PublishErrorKind::Other => {
            "the server refused the message or the request failed (see the source error; \
             JetStream refuses header blocks above 64 KiB)"
        }
    }
}

impl PublishError {
    /// async-nats's kind of publish failure.
    pub fn kind(&self) -> PublishErrorKind {
        self.source.kind()
    }

    /// The subject the message was published to.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The short class of the failure, recorded as the span's `error.type`:
    /// `stream_not_found`, `timeout`, `max_ack_pending`, `max_payload_exceeded`,
    /// `broken_pipe`, `wrong_last_message_id`, `wrong_last_sequence` or `other`.
    pub fn error_type(&self) -> &'static str {
        match self.kind() {
            PublishErrorKind::StreamNotFound => "stream_not_found",
            PublishErrorKind::TimedOut => "timeout",
            PublishErrorKind::MaxAckPending => "max_ack_pending",
            PublishErrorKind::MaxPayloadExceeded => "max_payload_exceeded",
            PublishErrorKind::BrokenPipe => "broken_pipe",
            PublishErrorKind::WrongLastMessageId => "wrong_last_message_id",
            PublishErrorKind::WrongLastSequence => "wrong_last_sequence",
            PublishErrorKind::Other => "other",
        }
    }

    /// async-nats's error.
    pub fn into_inner(self) -> NatsPublishError {
        self.source
    }
}
