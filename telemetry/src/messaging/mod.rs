//! Messaging and background jobs in one trace: producer and consumer spans for any
//! message type with headers, OpenTelemetry's messaging conventions, and a traced
//! in-process channel.
//!
//! A [`Destination`] names a queue or topic of a messaging system. Its
//! [`send`](Destination::send) starts a producer span (`send {destination}`) and writes
//! its trace context (`traceparent`, `tracestate`, `baggage`) into the message's headers
//! through any [`Injector`](crate::propagation::Injector); its
//! [`receive`](Destination::receive) reads them back through any
//! [`Extractor`](crate::propagation::Extractor) and gives a [`Delivery`], whose
//! [`process`](Delivery::process) runs the handler in a consumer span
//! (`process {destination}`), child of the producer span. A job sent while processing
//! is the child of that consumer span, so request → job A → job B → job C stays one
//! trace.
//!
//! ```
//! use std::collections::HashMap;
//! use telem::messaging::Destination;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! # let _test = telem::testing::TestPipeline::start();
//! let jobs = Destination::new("redis", "jobs");
//!
//! // Producer: a span around the broker call, its context in the message's headers.
//! let mut headers = HashMap::new();
//! let send = jobs.send(&mut headers);
//! // broker.publish(headers.clone(), payload).await ...
//! send.end();
//! assert!(headers.contains_key("traceparent"));
//!
//! // Consumer (in the worker): the handler runs in a `process jobs` span, child of
//! // the producer span, with the job's id and delivery count.
//! let done = jobs
//!     .receive(&headers)
//!     .with_message_id("42")
//!     .with_delivery_count(1)
//!     .process(async { Ok::<_, std::io::Error>("reindexed") })
//!     .await;
//! assert_eq!(done.unwrap().unwrap(), "reindexed");
//! # }
//! ```
//!
//! # What is recorded
//!
//! Spans follow OpenTelemetry's messaging span conventions:
//!
//! | span | kind | when |
//! | --- | --- | --- |
//! | `send {destination}` | producer | [`Destination::send`]; its context is the message's creation context |
//! | `process {destination}` | consumer | [`Delivery::process`]: the handler's run |
//! | `{operation} {destination}` | client | [`Destination::settle`] (`ack`, `nak`, `term`…) and [`Destination::receive_operation`] (a pull) |
//!
//! with `messaging.system`, `messaging.operation.name`, `messaging.operation.type`
//! (`send`, `receive`, `process`, `settle`), `messaging.destination.name`, and where
//! given `messaging.message.id`, `messaging.message.conversation_id`,
//! `messaging.consumer.group.name`, `messaging.client.id`, `server.address` and
//! `server.port`. A delivery's count (1 for the first delivery, 2 for the first retry)
//! is `messaging.{system}.message.delivery_count`, in the system's own namespace as the
//! conventions ask of attributes they do not define (Service Bus's
//! `messaging.servicebus.message.delivery_count` is the model).
//!
//! A single message's `process` span takes the message's creation context as its
//! parent (the conventions allow it for single messages) and links to it. If a span of
//! another trace is current where the message is processed, it is linked too. A
//! message without a valid context (none, malformed) is processed in a new trace (or
//! under the current span, if any). A batch ([`Destination::receive_batch`]) is
//! processed in a span of its own new trace, linked to every message's context, with
//! `messaging.batch.message_count`.
//!
//! A handler that returns `Err`, panics or runs past its [timeout](Delivery::with_timeout)
//! leaves an `exception` event, `error.type` (the error's type name, `panic` or
//! `timeout`) and an error status on its span. A failed last attempt
//! ([`Delivery::with_last_attempt`]) is dead-lettered: its span gets
//! `telem.messaging.dead_letter = true`.
//!
//! # Metrics
//!
//! In Prometheus naming, in the destination's registry (the global one unless
//! [`Destination::with_registry`]); the labels come only from the bounded set the
//! conventions allow (never a message id):
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `messaging_client_operation_duration_seconds` | histogram | system, destination, operation name and type, consumer group, `error_type`, server address and port |
//! | `messaging_process_duration_seconds` | histogram | system, destination, operation name, consumer group, `error_type`, server address and port |
//! | `messaging_client_sent_messages_total` | counter | system, destination, operation name, `error_type`, server address and port |
//! | `messaging_client_consumed_messages_total` | counter | system, destination, operation name, consumer group, server address and port |
//! | `telem_messaging_process_retries_total` | counter | system, destination, consumer group: deliveries after the first |
//! | `telem_messaging_process_dead_letters_total` | counter | system, destination, consumer group |
//!
//! The histograms use the conventions' buckets ([`DURATION_BUCKETS`]). The last two
//! are not in the conventions, hence our own prefix. Labels absent for a destination
//! (no consumer group, no server) are empty, which Prometheus reads as absent (and
//! telem-otlp leaves out); `error_type` is
//! empty for a success. Failed jobs are the `process` histogram's series with an
//! `error_type`.
//!
//! # The traced channel
//!
//! [`channel`] is a tokio `mpsc` channel whose messages carry the sender's context: a
//! receiver loop handles each message in a `process` span of the sender's trace, and
//! never runs under a context another message left current. It records no producer
//! span (the sender's current span is the creation context), which keeps a message's
//! cost to one consumer span, and its `process` span has the sender's span as parent
//! without a link to it (the link would repeat the parent).

mod channel;
mod destination;
mod metrics;
mod operation;
mod process;

pub use channel::{channel, Received, Receiver, SendError, Sender, TrySendError};
pub use destination::Destination;
pub use metrics::{
    CONSUMED_MESSAGES, DEAD_LETTERS, DURATION_BUCKETS, OPERATION_DURATION, PROCESS_DURATION,
    RETRIES, SENT_MESSAGES,
};
pub use operation::Operation;
pub use process::{Delivery, ProcessError, ProcessOutput};

use std::sync::OnceLock;

/// The value cached for `key` in `slots`, made by `make` in the first free slot the
/// first time; `None` once every slot holds another key (the caller then makes the
/// value each time). Lock-free: what a destination keeps per operation name.
fn cached<K: Copy + PartialEq, V>(
    slots: &[OnceLock<(K, V)>],
    key: K,
    make: impl Fn() -> V,
) -> Option<&V> {
    slots
        .iter()
        .map(|slot| slot.get_or_init(|| (key, make())))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}
