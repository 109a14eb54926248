//! [`Worker`]: a durable pull consumer's messages processed in consumer spans, then
//! acknowledged, retried or dead-lettered; [`WorkerError`].

use crate::headers::HeaderExtractor;
use crate::outcome::{Failure, Outcome, SettleError, Settlement};
use async_nats::jetstream::consumer::pull::{MessagesError, MessagesErrorKind};
use async_nats::jetstream::consumer::{pull, AckPolicy, Consumer, StreamError};
use async_nats::jetstream::{self, message::Acker, AckKind};
use async_nats::HeaderMap;
use futures::StreamExt as _;
use std::error::Error;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;
use telem::messaging::{Delivery, Destination};
use telem::Context;

/// The server's idle heartbeat while [`Worker::run`] waits for messages (async-nats's
/// default for `messages()`).
const HEARTBEAT: Duration = Duration::from_secs(15);

/// Processes the messages of a durable JetStream pull consumer, each in a
/// `process {destination}` consumer span that continues its producer's trace, then
/// settles it: acknowledged if the handler succeeded; if it failed (returned `Err`,
/// panicked, or ran past the [timeout](Self::with_timeout)), negatively acknowledged
/// with the [retry delay](Self::with_retry_delay), or terminated on the message's last
/// attempt (its delivery count reached the consumer's `max_deliver`): dead-lettered.
///
/// Each settlement is a client span (`ack`, `nak` or `term` `{destination}`), child of
/// the `process` span. See the [crate docs](crate) for what is recorded.
///
/// Give the consumer `AckPolicy::Explicit` (the messages are settled one by one) and a
/// `max_deliver` (unlimited by default: a message that always fails would be retried
/// forever, never dead-lettered).
///
/// ```no_run
/// # async fn doc(js: async_nats::jetstream::Context) -> Result<(), Box<dyn std::error::Error>> {
/// use async_nats::jetstream::consumer::{pull, AckPolicy};
/// use std::time::Duration;
/// use telem::messaging::Destination;
///
/// let consumer = js
///     .get_stream("JOBS")
///     .await?
///     .get_or_create_consumer(
///         "indexer",
///         pull::Config {
///             durable_name: Some("indexer".into()),
///             ack_policy: AckPolicy::Explicit,
///             max_deliver: 5,
///             ..Default::default()
///         },
///     )
///     .await?;
/// let jobs = Destination::new("nats", "jobs.reindex").with_consumer_group("indexer");
/// telem_nats::Worker::new(jobs, consumer)?
///     .with_retry_delay(Duration::from_secs(10))
///     .with_timeout(Duration::from_secs(60))
///     .run(|message| async move {
///         println!("reindexing {:?}", message.payload);
///         Ok::<_, std::io::Error>(())
///     })
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a worker processes nothing until run, process or process_batch"]
pub struct Worker {
    destination: Destination,
    consumer: Consumer<pull::Config>,
    max_deliver: i64,
    retry_delay: Duration,
    timeout: Option<Duration>,
    batch_size: usize,
}

impl Worker {
    /// A worker of `consumer`'s messages, recorded as `destination`'s (give it the
    /// consumer's name as its [consumer group](Destination::with_consumer_group)).
    ///
    /// The consumer's `max_deliver` is read from its cached info: a message whose
    /// delivery count reaches it is on its last attempt (0 or -1, unlimited: never).
    /// Retry delay 1 s, no timeout, batches of 10 (see the `with_*` methods).
    ///
    /// # Errors
    ///
    /// [`WorkerError::AckPolicy`] if the consumer's acknowledgements are not explicit:
    /// with `All`, acknowledging one message would acknowledge the failed ones before
    /// it (never retried, yet recorded as retried); with `None`, `nak` and `term` do
    /// nothing.
    pub fn new(
        destination: Destination,
        consumer: Consumer<pull::Config>,
    ) -> Result<Self, WorkerError> {
        let config = &consumer.cached_info().config;
        if config.ack_policy != AckPolicy::Explicit {
            return Err(WorkerError::AckPolicy(config.ack_policy));
        }
        let max_deliver = config.max_deliver;
        Ok(Self {
            destination,
            consumer,
            max_deliver,
            retry_delay: Duration::from_secs(1),
            timeout: None,
            batch_size: 10,
        })
    }

    /// How long the server waits before delivering a failed message again (the delay of
    /// its `nak`). 1 s by default.
    pub fn with_retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// Fails a handler that runs longer than `limit` (its future is dropped), as
    /// [`Delivery::with_timeout`] does: the message is retried or dead-lettered like any
    /// failure. Keep it below the consumer's `ack_wait`, past which the server delivers
    /// the message again anyway. No limit by default.
    pub fn with_timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// How many messages [`process_batch`](Self::process_batch) fetches at most, and
    /// how many [`run`](Self::run) asks the server for at a time (at least 1; no more
    /// than the consumer's `max_batch`, if it has one). 10 by default.
    ///
    /// `run` holds the messages it asked for while it processes the ones before, so
    /// their `ack_wait` runs meanwhile: keep batches small for slow handlers.
    pub fn with_batch_size(mut self, size: usize) -> Self {
        let limit = self.consumer.cached_info().config.max_batch;
        self.batch_size = match usize::try_from(limit) {
            Ok(limit) if limit > 0 => size.clamp(1, limit),
            _ => size.max(1),
        };
        self
    }

    /// Processes the consumer's messages one at a time, each with
    /// [`process`](Self::process), until pulling fails (the consumer or its stream was
    /// deleted: [`WorkerError::Pull`]) or the client is closed (`Ok`). It never ends otherwise: drop its future (abort its
    /// task) to stop it; a message whose handler was running is not settled then, and
    /// the server delivers it again after the consumer's `ack_wait`.
    ///
    /// The handler gets the message (its payload, headers, subject; the
    /// acknowledgement is the worker's) and returns `Ok(())` or an error. A missed
    /// heartbeat (the connection was lost for a while) is no error: async-nats pulls
    /// again.
    ///
    /// # Errors
    ///
    /// Pulling could not start, or failed: see [`WorkerError`]. Start `run` again to
    /// go on.
    pub async fn run<F, Fut, E>(self, handler: F) -> Result<(), WorkerError>
    where
        F: Fn(async_nats::Message) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Error,
    {
        let mut messages = self
            .consumer
            .stream()
            .max_messages_per_batch(self.batch_size)
            .heartbeat(HEARTBEAT)
            .messages()
            .await
            .map_err(WorkerError::Subscribe)?;
        while let Some(next) = messages.next().await {
            match next {
                Ok(message) => {
                    // What became of it is on its spans.
                    let _ = self.process(message, &handler).await;
                }
                Err(e) if e.kind() == MessagesErrorKind::MissingHeartbeat => {}
                Err(e) => return Err(WorkerError::Pull(e)),
            }
        }
        Ok(())
    }

    /// Processes one message: runs `handler` in its `process {destination}` span
    /// (child of the message's `send` span, or a new trace if the message carries no
    /// valid context), then settles it: `ack` if the handler succeeded, `nak` with the
    /// retry delay if it failed, `term` if it failed on the message's last attempt.
    ///
    /// The span records the message's stream sequence as `messaging.message.id` and
    /// its delivery count as `messaging.nats.message.delivery_count` (with the
    /// destination's system `nats`). A panic in the handler is caught, recorded and
    /// settled like an error.
    pub async fn process<F, Fut, E>(&self, message: jetstream::Message, handler: F) -> Outcome<E>
    where
        F: FnOnce(async_nats::Message) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Error,
    {
        let empty = HeaderMap::new();
        let headers = message.headers.as_ref().unwrap_or(&empty);
        let mut delivery = self.destination.receive(&HeaderExtractor(headers));
        let mut last_attempt = false;
        // A message without JetStream metadata (not from a consumer) is processed; its
        // settlement fails.
        if let Ok(info) = message.info() {
            last_attempt = self.is_last_attempt(info.delivered);
            delivery = delivery
                .with_message_id(info.stream_sequence.to_string())
                .with_delivery_count(u32::try_from(info.delivered.max(0)).unwrap_or(u32::MAX))
                .with_last_attempt(last_attempt);
        }
        let (message, acker) = message.split();
        let (result, parent) = self.run_handler(delivery, || handler(message)).await;
        let (settlement, failure) = match result {
            Ok(()) => (Settlement::Acked, None),
            Err(failure) if last_attempt => (Settlement::DeadLettered, Some(failure)),
            Err(failure) => (Settlement::Retried, Some(failure)),
        };
        let settle_error = self.settle(&parent, &acker, settlement).await.err();
        Outcome {
            settlement,
            failure,
            settle_error,
        }
    }

    /// Fetches up to the [batch size](Self::with_batch_size) of messages that are
    /// ready (without waiting for more) and processes them as one batch: `handler`
    /// gets them all and runs in one `process {destination}` span, the root of a new
    /// trace linked to each message's `send` span, with
    /// `messaging.batch.message_count`. Then each message is settled in its own span,
    /// child of the batch's: `ack` if the handler succeeded; if it failed, `nak` with
    /// the retry delay, or `term` for the messages on their last attempt (the batch's
    /// span is then marked dead-lettered).
    ///
    /// Returns how many messages were processed: 0 if none was ready (the handler is
    /// not called).
    ///
    /// # Errors
    ///
    /// The fetch failed ([`WorkerError::Fetch`]): nothing was processed, and the
    /// messages already received are delivered again after the consumer's `ack_wait`.
    pub async fn process_batch<F, Fut, E>(&self, handler: F) -> Result<usize, WorkerError>
    where
        F: FnOnce(Vec<async_nats::Message>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Error,
    {
        let mut fetched = self
            .consumer
            .fetch()
            .max_messages(self.batch_size)
            .messages()
            .await
            .map_err(|e| WorkerError::Fetch(Box::new(e)))?;
        let mut messages = Vec::with_capacity(self.batch_size);
        while let Some(message) = fetched.next().await {
            match message {
                Ok(message) => messages.push(message),
                Err(e) => {
                    // What came before the failure is handed back for a retry now,
                    // rather than after its `ack_wait`.
                    for message in messages {
                        let _ = message.ack_with(AckKind::Nak(Some(self.retry_delay))).await;
                    }
                    return Err(WorkerError::Fetch(e));
                }
            }
        }
        if messages.is_empty() {
            return Ok(0);
        }
        let count = messages.len();
        let last: Vec<bool> = messages
            .iter()
            .map(|m| m.info().is_ok_and(|i| self.is_last_attempt(i.delivered)))
            .collect();
        let empty = HeaderMap::new();
        let carriers: Vec<HeaderExtractor<'_>> = messages
            .iter()
            .map(|m| HeaderExtractor(m.headers.as_ref().unwrap_or(&empty)))
            .collect();
        let delivery = self
            .destination
            .receive_batch(&carriers)
            .with_last_attempt(last.contains(&true));
        drop(carriers);
        let (payloads, ackers): (Vec<_>, Vec<_>) =
            messages.into_iter().map(jetstream::Message::split).unzip();
        let (result, parent) = self.run_handler(delivery, || handler(payloads)).await;
        for (acker, last) in ackers.iter().zip(last) {
            let settlement = match &result {
                Ok(()) => Settlement::Acked,
                Err(_) if last => Settlement::DeadLettered,
                Err(_) => Settlement::Retried,
            };
            // Recorded on the settle span; the server delivers it again after `ack_wait`.
            let _ = self.settle(&parent, acker, settlement).await;
        }
        Ok(count)
    }

    fn is_last_attempt(&self, delivered: i64) -> bool {
        self.max_deliver > 0 && delivered >= self.max_deliver
    }

    /// Runs the handler that `start` makes in `delivery`'s `process` span, and returns
    /// its result with the context the handler ran in (the span's), for the
    /// settlement's span.
    async fn run_handler<Fut, E>(
        &self,
        delivery: Delivery,
        start: impl FnOnce() -> Fut,
    ) -> (Result<(), Failure<E>>, Context)
    where
        Fut: Future<Output = Result<(), E>>,
        E: Error,
    {
        let delivery = match self.timeout {
            Some(limit) => delivery.with_timeout(limit),
            None => delivery,
        };
        let parent = OnceLock::new();
        let result = delivery
            .process(async {
                let _ = parent.set(Context::current());
                start().await
            })
            .await;
        let result = match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Failure::Error(e)),
            Err(e) => Err(Failure::Process(e)),
        };
        (result, parent.into_inner().unwrap_or_else(Context::current))
    }

    /// Settles a message in a `{ack|nak|term} {destination}` span, child of `parent`.
    async fn settle(
        &self,
        parent: &Context,
        acker: &Acker,
        settlement: Settlement,
    ) -> Result<(), SettleError> {
        let mut span = parent.run(|| self.destination.settle(settlement.operation()));
        let kind = match settlement {
            Settlement::Acked => AckKind::Ack,
            Settlement::Retried => AckKind::Nak(Some(self.retry_delay)),
            Settlement::DeadLettered => AckKind::Term,
        };
        let result = acker
            .ack_with(kind)
            .await
            .map_err(|source| SettleError { settlement, source });
        if let Err(e) = &result {
            span.record_error(e);
        }
        span.end();
        result
    }
}

/// Why [`Worker::run`] or [`Worker::process_batch`] stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// Pulling from the consumer could not start (the consumer or its stream is gone,
    /// or the server did not answer).
    #[error("could not start pulling from the consumer: check that it and its stream exist")]
    Subscribe(#[source] StreamError),
    /// Pulling failed: the consumer was deleted, the pull exceeded its limits, or the
    /// request failed.
    #[error("pulling from the consumer failed: start the worker again once it is fixed")]
    Pull(#[source] MessagesError),
    /// A batch could not be fetched (async-nats's `BatchError`, or the error of one of
    /// its messages).
    #[error("fetching a batch from the consumer failed: check that it and its stream exist")]
    Fetch(#[source] async_nats::Error),
    /// The consumer does not acknowledge explicitly (its `ack_policy`): a worker settles
    /// each message on its own.
    #[error("the consumer's ack_policy is {0:?}: a Worker needs AckPolicy::Explicit")]
    AckPolicy(AckPolicy),
}
