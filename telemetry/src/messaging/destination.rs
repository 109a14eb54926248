//! [`Destination`]: a queue or topic of a messaging system, what its spans and metrics
//! say about it.

use super::metrics::Handles;
use super::operation::{Operation, OperationType};
use super::process::Delivery;
use crate::metrics::Registry;
use crate::propagation::{Extractor, Injector};
use crate::{Context, SpanContext, SpanKind, Str};
use std::sync::{Arc, OnceLock};

/// A queue or topic of a messaging system: the producer and consumer spans and the
/// metrics of its messages. Cheap to clone (one reference count); make one per queue
/// and keep it.
///
/// ```
/// use telem::messaging::Destination;
/// let reindex = Destination::new("nats", "jobs.reindex")
///     .with_consumer_group("indexer")
///     .with_client_id("worker-1")
///     .with_server("127.0.0.1", 4222);
/// assert_eq!(reindex.name(), "jobs.reindex");
/// assert_eq!(reindex.system(), "nats");
/// ```
#[derive(Clone, Debug)]
pub struct Destination {
    pub(super) inner: Arc<Inner>,
}

#[derive(Clone, Debug)]
pub(super) struct Inner {
    pub(super) system: Str,
    pub(super) name: Str,
    pub(super) group: Option<Str>,
    pub(super) client_id: Option<Str>,
    pub(super) server: Option<(Str, u16)>,
    /// `send {name}` and `process {name}`, made once.
    pub(super) send_span: Str,
    pub(super) process_span: Str,
    /// `messaging.{system}.message.delivery_count`.
    pub(super) delivery_count_key: Str,
    /// `{operation} {name}` of the first settle and receive operations.
    operation_spans: [OnceLock<(&'static str, Str)>; 4],
    registry: Option<Registry>,
    /// The metric handles, resolved at first use (after the `with_*` calls).
    handles: OnceLock<Option<Arc<Handles>>>,
}

impl Destination {
    /// The destination `name` (`messaging.destination.name`: a queue, topic or subject;
    /// keep it low-cardinality, it is a metric label) of the messaging system `system`
    /// (`messaging.system`: `kafka`, `rabbitmq`, `aws_sqs`… as the conventions list them,
    /// or the system's own name, such as `nats` or `redis`).
    pub fn new(system: impl Into<Str>, name: impl Into<Str>) -> Self {
        let system = system.into();
        let name = name.into();
        Self {
            inner: Arc::new(Inner {
                send_span: Str::from(format!("send {name}")),
                process_span: Str::from(format!("process {name}")),
                delivery_count_key: Str::from(format!("messaging.{system}.message.delivery_count")),
                system,
                name,
                group: None,
                client_id: None,
                server: None,
                operation_spans: Default::default(),
                registry: None,
                handles: OnceLock::new(),
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        f(inner);
        inner.handles = OnceLock::new();
        self
    }

    /// The consumer group the receiving side belongs to (`messaging.consumer.group.name`:
    /// a Kafka consumer group, a NATS durable consumer, a Redis stream group).
    pub fn with_consumer_group(self, group: impl Into<Str>) -> Self {
        let group = group.into();
        self.with(|i| i.group = Some(group))
    }

    /// This client's identifier (`messaging.client.id`), on spans only.
    pub fn with_client_id(self, id: impl Into<Str>) -> Self {
        let id = id.into();
        self.with(|i| i.client_id = Some(id))
    }

    /// The broker's address and port (`server.address`, `server.port`), on spans and as
    /// the metrics' `server_address` and `server_port` labels.
    pub fn with_server(self, address: impl Into<Str>, port: u16) -> Self {
        let address = address.into();
        self.with(|i| i.server = Some((address, port)))
    }

    /// Records the metrics in `registry` instead of the [global](crate::metrics::global)
    /// one (a test's, a library's own).
    pub fn with_registry(self, registry: &Registry) -> Self {
        let registry = registry.clone();
        self.with(|i| i.registry = Some(registry))
    }

    /// `messaging.system`.
    pub fn system(&self) -> &str {
        &self.inner.system
    }

    /// `messaging.destination.name`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// `messaging.consumer.group.name`, if set.
    pub fn consumer_group(&self) -> Option<&str> {
        self.inner.group.as_deref()
    }

    /// The metric handles, `None` if the registry refused the names (a metric of
    /// another shape took one; reported by the registry).
    pub(super) fn handles(&self) -> Option<&Handles> {
        self.inner
            .handles
            .get_or_init(|| {
                let registry = self
                    .inner
                    .registry
                    .as_ref()
                    .unwrap_or_else(|| crate::metrics::global());
                Handles::new(registry, &self.inner).map(Arc::new)
            })
            .as_deref()
    }

    /// Starts the `send {destination}` producer span, child of the current span, and
    /// writes its context (`traceparent`, `tracestate`, and the current `baggage`) into
    /// `carrier`, the message's headers. Send the message, then end the returned
    /// [`Operation`] ([`end`](Operation::end), or
    /// [`record_error`](Operation::record_error) first if sending failed, or
    /// [`run`](Operation::run) around the broker call): that records the span and
    /// counts the message in `messaging_client_sent_messages_total` and
    /// `messaging_client_operation_duration_seconds`.
    ///
    /// ```
    /// # let _test = telem::testing::TestPipeline::start();
    /// let jobs = telem::messaging::Destination::new("redis", "jobs");
    /// let mut headers = std::collections::HashMap::new();
    /// let send = jobs.send(&mut headers);
    /// let ids = format!("00-{}-{}-", send.context().trace_id, send.context().span_id);
    /// assert!(headers["traceparent"].starts_with(&ids));
    /// send.end();
    /// ```
    pub fn send(&self, carrier: &mut (impl Injector + ?Sized)) -> Operation {
        let op = Operation::start(
            self.clone(),
            OperationType::Send,
            "send",
            self.inner.send_span.clone(),
            SpanKind::Producer,
        );
        let mut context = Context::current();
        // A span that records nothing (no pipeline, recording compiled out) has no
        // context: the current one goes on instead, so the trace still passes through.
        let own = op.context();
        if own.is_valid() {
            context.span = own;
        }
        crate::propagation::inject_context(&context, carrier);
        op
    }

    /// Starts a client span for a settlement (`messaging.operation.type` `settle`): an
    /// acknowledgement, a negative one, a dead-lettering, named by the system
    /// (`ack`, `nak`, `term`, `reject`…). Call it inside the processing (the span is a
    /// child of the current span) and end it once the settlement is done: sent, or
    /// answered for a system that answers (a plain NATS `ack` gets no answer).
    pub fn settle(&self, operation: &'static str) -> Operation {
        self.client_operation(OperationType::Settle, operation)
    }

    /// Starts a client span for a pull (`messaging.operation.type` `receive`), named by
    /// the system (`receive`, `fetch`, `poll`…). The spans of the messages it returns
    /// are not its children: each continues its producer's trace.
    pub fn receive_operation(&self, operation: &'static str) -> Operation {
        self.client_operation(OperationType::Receive, operation)
    }

    fn client_operation(&self, kind: OperationType, operation: &'static str) -> Operation {
        Operation::start(
            self.clone(),
            kind,
            operation,
            self.span_name(operation),
            SpanKind::Client,
        )
    }

    /// `{operation} {destination}`, made once for the first few operation names (an
    /// `ack` per message takes no allocation), then each time.
    fn span_name(&self, operation: &'static str) -> Str {
        let make = || Str::from(format!("{operation} {}", self.inner.name));
        super::cached(&self.inner.operation_spans, operation, make)
            .cloned()
            .unwrap_or_else(make)
    }

    /// A message received: reads its creation context from `carrier` (its headers) for
    /// the [`Delivery`] that processes it. A missing or malformed context is no error:
    /// the message is processed in a new trace (or under the current span).
    pub fn receive(&self, carrier: &(impl Extractor + ?Sized)) -> Delivery {
        Delivery::single(self.clone(), crate::propagation::extract(carrier))
    }

    /// A message that carries its creation context already extracted (an in-process
    /// queue, a job record that stored it).
    pub fn receive_context(&self, context: Context) -> Delivery {
        Delivery::single(self.clone(), context)
    }

    /// A batch of messages received together, processed as one: a `process` span in a
    /// new trace, linked to each message's creation context (the valid ones), with
    /// `messaging.batch.message_count`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let test = telem::testing::TestPipeline::start();
    /// let jobs = telem::messaging::Destination::new("redis", "jobs");
    /// let mut batch = vec![std::collections::HashMap::new(); 3];
    /// for headers in &mut batch {
    ///     jobs.send(headers).end();
    /// }
    /// let n = jobs
    ///     .receive_batch(&batch)
    ///     .process(async { Ok::<_, std::io::Error>(batch.len()) })
    ///     .await;
    /// assert_eq!(n.unwrap().unwrap(), 3);
    /// # assert_eq!(test.spans().await.named("process jobs").data().links.len(), 3);
    /// # }
    /// ```
    pub fn receive_batch<'a, C>(&self, carriers: impl IntoIterator<Item = &'a C>) -> Delivery
    where
        C: Extractor + ?Sized + 'a,
    {
        let mut count = 0;
        let links: Vec<SpanContext> = carriers
            .into_iter()
            .filter_map(|c| {
                count += 1;
                crate::propagation::extract(c).span().cloned()
            })
            .collect();
        Delivery::batch(self.clone(), links, count)
    }
}
