//! NATS JetStream in telem's traces: a job published while handling a request, the
//! worker that processes it, the jobs that worker publishes in turn, all in the
//! request's trace; failed jobs retried, then dead-lettered, and counted.
//!
//! - [`publish`]: a JetStream publish in a `send {destination}` producer span, its
//!   context written into the message's headers, waiting for the stream's
//!   acknowledgement.
//! - [`Worker`]: a durable pull consumer's messages, each processed in a
//!   `process {destination}` consumer span (child of its `send` span), then
//!   acknowledged, retried or dead-lettered ([`Worker::run`], [`Worker::process`]), or
//!   several as one batch ([`Worker::process_batch`]).
//! - [`HeaderExtractor`], [`HeaderInjector`]: NATS headers as
//!   [`telem::propagation`] carriers, for code that publishes or consumes by itself.
//!
//! Both sides build on [`telem::messaging`], whose [`Destination`] names the subject
//! in spans and metrics.
//!
//! ```no_run
//! # async fn doc() -> Result<(), Box<dyn std::error::Error>> {
//! use async_nats::jetstream::{self, consumer::{pull, AckPolicy}, stream};
//! use std::time::Duration;
//! use telem::messaging::Destination;
//!
//! let js = jetstream::new(async_nats::connect("nats://127.0.0.1:4222").await?);
//! let jobs = js
//!     .get_or_create_stream(stream::Config {
//!         name: "JOBS".into(),
//!         subjects: vec!["jobs.>".into()],
//!         retention: stream::RetentionPolicy::WorkQueue,
//!         ..Default::default()
//!     })
//!     .await?;
//! let reindex = Destination::new("nats", "jobs.reindex").with_consumer_group("indexer");
//!
//! // Producer (in a request handler): the job continues the request's trace.
//! telem_nats::publish(&js, &reindex, "jobs.reindex", async_nats::HeaderMap::new(), "42".into())
//!     .await?;
//!
//! // Worker: each job in a `process jobs.reindex` span, child of its `send` span;
//! // acknowledged if the handler succeeds, retried 10 s later if it fails, and
//! // terminated (dead-lettered) if it fails on its fifth delivery.
//! let consumer = jobs
//!     .get_or_create_consumer(
//!         "indexer",
//!         pull::Config {
//!             durable_name: Some("indexer".into()),
//!             filter_subject: "jobs.reindex".into(),
//!             ack_policy: AckPolicy::Explicit,
//!             max_deliver: 5,
//!             ..Default::default()
//!         },
//!     )
//!     .await?;
//! // A follow-up job, sent from the handler: the child of the job's `process` span.
//! let notify = Destination::new("nats", "jobs.notify");
//! telem_nats::Worker::new(reindex.clone(), consumer)?
//!     .with_retry_delay(Duration::from_secs(10))
//!     .run(|message| {
//!         let (js, notify) = (js.clone(), notify.clone());
//!         async move {
//!             let book = message.payload;
//!             telem_nats::publish(&js, &notify, "jobs.notify", Default::default(), book)
//!                 .await
//!                 .map(drop)
//!         }
//!     })
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! # What is recorded
//!
//! The spans and metrics of [`telem::messaging`], with OpenTelemetry's messaging
//! conventions (give the [`Destination`] the system `nats`):
//!
//! | span | kind | what |
//! | --- | --- | --- |
//! | `send {destination}` | producer | [`publish`], the stream's acknowledgement included; `messaging.message.id` is the stream sequence it gave the message; a failure's `error.type` is [`PublishError::error_type`] (`stream_not_found`, `timeout`…) |
//! | `process {destination}` | consumer | the handler's run; `messaging.message.id` (the stream sequence), `messaging.nats.message.delivery_count` (1 for the first delivery); a failure's `error.type` is the error's type name, `panic` or `timeout` |
//! | `ack`, `nak`, `term` `{destination}` | client | the settlement, child of the `process` span (NATS does not answer a plain acknowledgement: the span times its sending) |
//!
//! A batch ([`Worker::process_batch`]) is processed in one span, the root of a new
//! trace, linked to each message's `send` span; its metrics count the batch's
//! messages as consumed and the batch as one processing (one dead letter at most, no
//! retries: delivery counts are per message, the span per batch). A message with no trace context (a
//! plain `js.publish`) or a malformed one is processed in a new trace.
//!
//! The metrics (in the destination's registry) count sent, consumed and failed
//! messages, time the operations and the handlers, and count retries
//! (`telem_messaging_process_retries_total`: deliveries after a message's first) and
//! dead letters (`telem_messaging_process_dead_letters_total`).
//!
//! # Retries and dead letters
//!
//! JetStream counts each message's deliveries. A handler that fails (returns `Err`,
//! panics, or runs past [`Worker::with_timeout`]) has its message negatively
//! acknowledged (`nak`) with [`Worker::with_retry_delay`]'s delay, so the server
//! delivers it again. On the delivery that reaches the consumer's `max_deliver` (its
//! last attempt), a failure terminates the message (`term`): the server delivers it no
//! more, its `process` span gets `telem.messaging.dead_letter = true`, and it counts as
//! a dead letter. JetStream has no dead-letter queue of its own: the server publishes
//! a `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{stream}.{consumer}` advisory with
//! the message's stream sequence, and a stream with limits retention still holds the
//! message then, to copy it elsewhere (a work-queue stream removes a terminated message
//! as it does an acknowledged one). A consumer without `max_deliver` retries a failing
//! message forever.
//!
//! # Why JetStream through async-nats
//!
//! async-nats is the official Rust client of the NATS project. NATS messages carry
//! headers in the protocol itself (`HPUB`), so the trace context travels beside the
//! payload without wrapping it. JetStream's durable pull consumers count each
//! message's deliveries and take a delay with a negative acknowledgement, which is
//! what the delivery counts, retries and dead letters above need; core NATS
//! subscriptions deliver at most once and have none of it.
//!
//! JetStream refuses a message whose header block is larger than 64 KiB (the publish
//! fails with the acknowledgement's error, [`PublishError::error_type`] `other`). The
//! trace context adds a 55-byte `traceparent`, and as much `tracestate` and `baggage`
//! as is current: at most about 25 KiB (32 members of up to 513 bytes, and 8 KiB),
//! usually nothing or a few dozen bytes; keep the application's own headers well below
//! the limit. Names of NATS headers are case-sensitive: [`HeaderExtractor`] finds
//! `Traceparent` as well.
//! The crate needs Rust 1.89 (async-nats's minimum), above the other telem crates'.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod headers;
mod outcome;
mod publish;
mod worker;

pub use headers::{HeaderExtractor, HeaderInjector};
pub use outcome::{Failure, Outcome, SettleError, Settlement};
pub use publish::{publish, PublishError};
pub use worker::{Worker, WorkerError};

#[doc(no_inline)]
pub use telem::messaging::Destination;
