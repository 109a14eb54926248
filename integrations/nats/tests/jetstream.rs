//! End to end against a real nats-server with JetStream (`--ignored`; `.ci/run` starts
//! one and sets `NATS_URL`): one trace across a chain of jobs, batches, retries and
//! dead letters, messages without a context, panics and timeouts, failed publishes.
//! Each test makes its own stream and consumer with a random name, so they run in
//! parallel on one server; none waits a fixed time, each polls for what it expects
//! (at most [`PATIENCE`]).
#![allow(clippy::unwrap_used)]

use async_nats::jetstream::consumer::{pull, AckPolicy, Consumer};
use async_nats::jetstream::{self, stream};
use async_nats::HeaderMap;
use futures::StreamExt as _;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use telem::messaging::{Destination, ProcessError, DEAD_LETTERS, RETRIES};
use telem::prelude::*;
use telem::testing::{Spans, TestPipeline};
use telem::{SpanData, SpanId, SpanKind, Value};
use telem_nats::{Failure, Settlement, Worker};

const IGNORE: &str = "needs a nats-server with JetStream: .ci/run starts one and sets NATS_URL";

/// How long a test waits for what it expects before it fails.
const PATIENCE: Duration = Duration::from_secs(10);

static TRACER: Tracer = Tracer::new("nats-tests");

#[derive(Debug, thiserror::Error)]
#[error("the index is locked")]
struct IndexLocked;

/// A test's own stream (`T_{id}`, subjects `{id}.>`), its consumer (`worker`, on
/// `{id}.jobs`) and the destination both sides record as (`jobs`, group `workers`).
struct Setup {
    js: jetstream::Context,
    stream: stream::Stream,
    consumer: Consumer<pull::Config>,
    subject: String,
    jobs: Destination,
}

impl Setup {
    async fn new(t: &TestPipeline, max_deliver: i64) -> Self {
        let url = std::env::var("NATS_URL").expect(IGNORE);
        let client = async_nats::connect(url.as_str()).await.unwrap();
        let js = jetstream::new(client);
        let id = format!(
            "t{:016x}",
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        );
        let stream = js
            .create_stream(stream::Config {
                name: format!("T_{id}"),
                subjects: vec![format!("{id}.>")],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::Memory,
                ..Default::default()
            })
            .await
            .unwrap();
        let subject = format!("{id}.jobs");
        let consumer = stream
            .create_consumer(pull::Config {
                durable_name: Some("worker".into()),
                filter_subject: subject.clone(),
                ack_policy: AckPolicy::Explicit,
                max_deliver,
                ..Default::default()
            })
            .await
            .unwrap();
        let jobs = Destination::new("nats", "jobs")
            .with_consumer_group("workers")
            .with_registry(t.registry());
        Self {
            js,
            stream,
            consumer,
            subject,
            jobs,
        }
    }

    fn worker(&self) -> Worker {
        Worker::new(self.jobs.clone(), self.consumer.clone())
            .unwrap()
            .with_retry_delay(Duration::from_millis(50))
    }

    /// Publishes `payload` through `telem_nats::publish`; returns its stream sequence.
    async fn publish(&self, payload: &str) -> u64 {
        telem_nats::publish(
            &self.js,
            &self.jobs,
            self.subject.clone(),
            HeaderMap::new(),
            payload.to_owned().into(),
        )
        .await
        .unwrap()
        .sequence
    }

    /// The next message the consumer delivers.
    async fn next_message(&self) -> jetstream::Message {
        let mut messages = self
            .consumer
            .stream()
            .max_messages_per_batch(1)
            .messages()
            .await
            .unwrap();
        tokio::time::timeout(PATIENCE, messages.next())
            .await
            .expect("no message delivered in time")
            .unwrap()
            .unwrap()
    }

    /// Waits until the consumer has no message left unacknowledged or undelivered.
    async fn wait_until_settled(&self) {
        let start = Instant::now();
        let mut consumer = self.consumer.clone();
        loop {
            let info = consumer.info().await.unwrap();
            if info.num_ack_pending == 0 && info.num_pending == 0 {
                return;
            }
            assert!(start.elapsed() < PATIENCE, "consumer not settled: {info:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn delete(&self) {
        let name = self.stream.cached_info().config.name.clone();
        self.js.delete_stream(name).await.unwrap();
    }
}

/// Polls the test's spans until `done` says they are all there.
async fn wait_for_spans(t: &TestPipeline, done: impl Fn(&Spans) -> bool) -> Spans {
    let start = Instant::now();
    loop {
        let spans = t.spans().await;
        if done(&spans) {
            return spans;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "spans still missing after {PATIENCE:?}:\n{}",
            spans.tree()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn count(spans: &Spans, name: &str) -> usize {
    spans.all_named(name).len()
}

fn with_id<'a>(spans: &'a Spans, name: &str, sequence: u64) -> &'a SpanData {
    let id = Value::from(sequence.to_string());
    spans
        .iter()
        .find(|s| s.name == name && s.attribute("messaging.message.id") == Some(&id))
        .unwrap_or_else(|| panic!("no {name} of message {sequence}:\n{}", spans.tree()))
}

fn children<'a>(spans: &'a Spans, name: &str, parent: SpanId) -> Vec<&'a SpanData> {
    spans
        .iter()
        .filter(|s| s.name == name && s.parent_span_id == parent)
        .collect()
}

/// request → job 1 → job 2 → job 3 through JetStream is one trace: each `send` span
/// the child of the `process` span before it (the request's span for the first), each
/// `process` span the child of its message's `send` span and linked to it, each `ack`
/// the child of its `process` span, all with the message's stream sequence.
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a nats-server with JetStream: .ci/run starts one and sets NATS_URL"]
async fn a_chain_of_jobs_is_one_trace(t: TestPipeline) {
    let setup = Arc::new(Setup::new(&t, 3).await);
    let worker = {
        let setup = setup.clone();
        telem::spawn(setup.worker().run(move |message| {
            let setup = setup.clone();
            async move {
                let step: u32 = std::str::from_utf8(&message.payload)
                    .unwrap()
                    .parse()
                    .unwrap();
                if step < 3 {
                    setup.publish(&(step + 1).to_string()).await;
                }
                Ok::<_, IndexLocked>(())
            }
        }))
    };
    let request = TRACER
        .span("POST /books/{id}/reindex")
        .kind(SpanKind::Server)
        .start_detached();
    let request_id = request.context().span_id;
    setup.publish("1").in_span(request).await;
    let spans = wait_for_spans(&t, |s| count(s, "ack jobs") == 3).await;
    worker.abort();
    setup.wait_until_settled().await;

    assert_eq!(spans.len(), 10, "{}", spans.tree());
    let trace = spans
        .named("POST /books/{id}/reindex")
        .data()
        .context
        .trace_id;
    assert!(
        spans.iter().all(|s| s.context.trace_id == trace),
        "{}",
        spans.tree()
    );
    let mut parent = request_id;
    for step in 1..=3 {
        let sends = children(&spans, "send jobs", parent);
        assert_eq!(sends.len(), 1, "send of step {step}:\n{}", spans.tree());
        let send = sends[0];
        assert_eq!(send.kind, SpanKind::Producer);
        let Some(Value::String(id)) = send.attribute("messaging.message.id") else {
            panic!("send of step {step} without its stream sequence");
        };
        let process = with_id(&spans, "process jobs", id.parse().unwrap());
        assert_eq!(process.parent_span_id, send.context.span_id, "step {step}");
        assert_eq!(process.kind, SpanKind::Consumer);
        assert_eq!(process.links[0].context.span_id, send.context.span_id);
        assert_eq!(
            process.attribute("messaging.nats.message.delivery_count"),
            Some(&Value::I64(1))
        );
        assert!(!process.status.is_error());
        let acks = children(&spans, "ack jobs", process.context.span_id);
        assert_eq!(acks.len(), 1, "ack of step {step}");
        assert_eq!(acks[0].kind, SpanKind::Client);
        assert_eq!(
            acks[0].attribute("messaging.operation.type"),
            Some(&Value::from("settle"))
        );
        parent = process.context.span_id;
    }
    assert!(children(&spans, "send jobs", parent).is_empty());
    setup.delete().await;
}

/// A batch is processed in one `process` span, the root of a new trace, linked to each
/// message's `send` span, with `messaging.batch.message_count`; then each message is
/// acknowledged in a span of its own under it.
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a nats-server with JetStream: .ci/run starts one and sets NATS_URL"]
async fn a_batch_is_processed_in_a_new_trace_linked_to_each_message(t: TestPipeline) {
    let setup = Setup::new(&t, 3).await;
    for i in 0..3 {
        let request = TRACER.span(format!("request {i}")).root().start_detached();
        setup.publish(&i.to_string()).in_span(request).await;
    }
    let handled = AtomicU32::new(0);
    let n = setup
        .worker()
        .with_batch_size(10)
        .process_batch(|messages| {
            handled.store(messages.len().try_into().unwrap(), Ordering::Relaxed);
            async { Ok::<_, IndexLocked>(()) }
        })
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(handled.load(Ordering::Relaxed), 3);
    setup.wait_until_settled().await;
    let spans = wait_for_spans(&t, |s| count(s, "ack jobs") == 3).await;
    let process = spans
        .named("process jobs")
        .assert_root()
        .assert_attribute("messaging.batch.message_count", 3_i64)
        .data();
    let mut linked: Vec<_> = process.links.iter().map(|l| l.context.span_id).collect();
    let mut sent: Vec<_> = spans
        .all_named("send jobs")
        .iter()
        .map(|s| s.context.span_id)
        .collect();
    linked.sort_unstable();
    sent.sort_unstable();
    assert_eq!(linked, sent);
    assert_eq!(sent.len(), 3);
    for send in spans.all_named("send jobs") {
        assert_ne!(send.context.trace_id, process.context.trace_id);
    }
    assert_eq!(
        children(&spans, "ack jobs", process.context.span_id).len(),
        3
    );
    // Nothing left: the next fetch finds no message and calls no handler.
    let none = setup
        .worker()
        .process_batch(|_| async { Err::<(), _>(IndexLocked) })
        .await
        .unwrap();
    assert_eq!(none, 0);
    setup.delete().await;
}

/// A job that always fails is delivered `max_deliver` (3) times: three `process` spans,
/// children of the same `send` span, with their delivery counts 1, 2, 3 and the error;
/// `nak`, `nak`, then `term` (dead-lettered: the third span is marked); two retries and
/// one dead letter counted.
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a nats-server with JetStream: .ci/run starts one and sets NATS_URL"]
async fn a_failing_job_is_retried_then_dead_lettered(t: TestPipeline) {
    let setup = Setup::new(&t, 3).await;
    let worker = telem::spawn(setup.worker().run(|_| async { Err::<(), _>(IndexLocked) }));
    let sequence = setup.publish("1").await;
    let spans = wait_for_spans(&t, |s| count(s, "term jobs") == 1).await;
    setup.wait_until_settled().await;
    worker.abort();

    let send = with_id(&spans, "send jobs", sequence);
    let mut processes = spans.all_named("process jobs");
    assert_eq!(processes.len(), 3, "{}", spans.tree());
    processes.sort_by_key(
        |p| match p.attribute("messaging.nats.message.delivery_count") {
            Some(Value::I64(n)) => *n,
            other => panic!("delivery count {other:?}"),
        },
    );
    for (i, process) in processes.iter().enumerate() {
        let delivery = i64::try_from(i).unwrap() + 1;
        assert_eq!(
            process.attribute("messaging.nats.message.delivery_count"),
            Some(&Value::I64(delivery))
        );
        assert_eq!(process.parent_span_id, send.context.span_id);
        assert_eq!(
            process.attribute("messaging.message.id"),
            Some(&Value::from(sequence.to_string()))
        );
        assert!(process.status.is_error());
        assert_eq!(
            process.attribute("error.type"),
            Some(&Value::from(std::any::type_name::<IndexLocked>()))
        );
        assert_eq!(
            process.attribute("telem.messaging.dead_letter"),
            (delivery == 3).then_some(&Value::Bool(true)),
            "delivery {delivery}"
        );
        let settle = if delivery < 3 {
            "nak jobs"
        } else {
            "term jobs"
        };
        assert_eq!(
            children(&spans, settle, process.context.span_id).len(),
            1,
            "{settle} of delivery {delivery}:\n{}",
            spans.tree()
        );
    }
    assert_eq!(count(&spans, "nak jobs"), 2);
    assert_eq!(count(&spans, "ack jobs"), 0);
    let group = [
        ("messaging_system", "nats"),
        ("messaging_destination_name", "jobs"),
        ("messaging_consumer_group_name", "workers"),
    ];
    let m = t.metrics();
    m.assert_counter(RETRIES, &group, 2);
    m.assert_counter(DEAD_LETTERS, &group, 1);
    setup.delete().await;
}

/// A job that fails once is retried, then acknowledged: `Worker::process` says so.
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a nats-server with JetStream: .ci/run starts one and sets NATS_URL"]
async fn a_job_failing_once_is_retried_then_acked(t: TestPipeline) {
    let setup = Setup::new(&t, 3).await;
    let worker = setup.worker();
    let sequence = setup.publish("1").await;
    let first = worker
        .process(setup.next_message().await, |_| async {
            Err::<(), _>(IndexLocked)
        })
        .await;
    assert_eq!(first.settlement, Settlement::Retried);
    assert!(matches!(first.failure, Some(Failure::Error(IndexLocked))));
    assert!(first.settle_error.is_none());
    let second = worker
        .process(setup.next_message().await, |message| async move {
            assert_eq!(&message.payload[..], b"1");
            Ok::<_, IndexLocked>(())
        })
        .await;
    assert_eq!(second.settlement, Settlement::Acked);
    assert!(second.is_acked());
    setup.wait_until_settled().await;
    let spans = wait_for_spans(&t, |s| count(s, "ack jobs") == 1).await;
    let send = with_id(&spans, "send jobs", sequence);
    let processes = children(&spans, "process jobs", send.context.span_id);
    assert_eq!(processes.len(), 2);
    let retried = processes
        .iter()
        .find(|p| p.status.is_error())
        .expect("the failed delivery");
    let acked = processes
        .iter()
        .find(|p| !p.status.is_error())
        .expect("the successful delivery");
    assert_eq!(
        retried.attribute("messaging.nats.message.delivery_count"),
        Some(&Value::I64(1))
    );
    assert_eq!(
        acked.attribute("messaging.nats.message.delivery_count"),
        Some(&Value::I64(2))
    );
    assert_eq!(
        children(&spans, "nak jobs", retried.context.span_id).len(),
        1
    );
    assert_eq!(children(&spans, "ack jobs", acked.context.span_id).len(), 1);
    assert_eq!(retried.attribute("telem.messaging.dead_letter"), None);
    let group = [
        ("messaging_system", "nats"),
        ("messaging_destination_name", "jobs"),
        ("messaging_consumer_group_name", "workers"),
    ];
    t.metrics().assert_counter(RETRIES, &group, 1);
    assert!(t.metrics().counter(DEAD_LETTERS, &group).unwrap_or(0) == 0);
    setup.delete().await;
}

/// W3C Trace Context §3.2.2 for messages: one published without headers (a plain
/// `js.publish`) and one with a malformed `traceparent` are processed in new traces,
/// each the root of its own, without a link or a panic, and acknowledged.
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a nats-server with JetStream: .ci/run starts one and sets NATS_URL"]
async fn messages_without_a_valid_context_start_new_traces(t: TestPipeline) {
    let setup = Setup::new(&t, 3).await;
    let plain = setup
        .js
        .publish(setup.subject.clone(), "plain".into())
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence;
    let mut garbage = HeaderMap::new();
    garbage.insert("traceparent", "00-not-a-trace-context-01");
    garbage.insert("tracestate", "=,=,=");
    garbage.insert("baggage", ";;;=");
    let malformed = setup
        .js
        .publish_with_headers(setup.subject.clone(), garbage, "garbage".into())
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence;
    let worker = setup.worker();
    for _ in 0..2 {
        let outcome = worker
            .process(setup.next_message().await, |_| async {
                Ok::<_, IndexLocked>(())
            })
            .await;
        assert!(outcome.is_acked());
    }
    setup.wait_until_settled().await;
    let spans = wait_for_spans(&t, |s| count(s, "ack jobs") == 2).await;
    let a = with_id(&spans, "process jobs", plain);
    let b = with_id(&spans, "process jobs", malformed);
    for process in [a, b] {
        assert!(!process.parent_span_id.is_valid());
        assert!(process.links.is_empty());
        assert!(!process.status.is_error());
        assert_eq!(
            children(&spans, "ack jobs", process.context.span_id).len(),
            1
        );
    }
    assert_ne!(a.context.trace_id, b.context.trace_id);
    setup.delete().await;
}

/// A handler that panics, or runs past the worker's timeout, fails its span with
/// `error.type` `panic` or `timeout`; the message is retried (`nak`), and the worker
/// goes on.
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a nats-server with JetStream: .ci/run starts one and sets NATS_URL"]
async fn panics_and_timeouts_are_retried(t: TestPipeline) {
    let setup = Setup::new(&t, 3).await;
    let sequence = setup.publish("1").await;
    let worker = setup.worker().with_timeout(Duration::from_millis(100));
    let panicked = worker
        .process(setup.next_message().await, |message| async move {
            if !message.payload.is_empty() {
                panic!("reindex blew up");
            }
            Ok::<_, IndexLocked>(())
        })
        .await;
    assert_eq!(panicked.settlement, Settlement::Retried);
    assert!(matches!(
        panicked.failure,
        Some(Failure::Process(ProcessError::Panicked(ref m))) if m == "reindex blew up"
    ));
    let timed_out = worker
        .process(setup.next_message().await, |_| async {
            tokio::time::sleep(PATIENCE).await;
            Ok::<_, IndexLocked>(())
        })
        .await;
    assert_eq!(timed_out.settlement, Settlement::Retried);
    assert!(matches!(
        timed_out.failure,
        Some(Failure::Process(ProcessError::TimedOut(_)))
    ));
    let last = worker
        .process(setup.next_message().await, |_| async {
            Ok::<_, IndexLocked>(())
        })
        .await;
    assert!(last.is_acked());
    setup.wait_until_settled().await;
    let spans = wait_for_spans(&t, |s| count(s, "ack jobs") == 1).await;
    let send = with_id(&spans, "send jobs", sequence);
    let processes = children(&spans, "process jobs", send.context.span_id);
    assert_eq!(processes.len(), 3);
    for (delivery, kind) in [(1, "panic"), (2, "timeout")] {
        let process = processes
            .iter()
            .find(|p| {
                p.attribute("messaging.nats.message.delivery_count") == Some(&Value::I64(delivery))
            })
            .unwrap();
        assert!(process.status.is_error());
        assert_eq!(process.attribute("error.type"), Some(&Value::from(kind)));
        assert!(process.events.iter().any(|e| e.name == "exception"));
        assert_eq!(
            children(&spans, "nak jobs", process.context.span_id).len(),
            1,
            "{kind}"
        );
    }
    setup.delete().await;
}

/// A publish that fails records its error on the `send` span with a short
/// `error.type`: no stream captures the subject (`stream_not_found`), a header block
/// JetStream refuses (above 64 KiB).
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a nats-server with JetStream: .ci/run starts one and sets NATS_URL"]
async fn failed_publishes_are_recorded(t: TestPipeline) {
    let setup = Setup::new(&t, 3).await;
    let nowhere = format!("nowhere.{}", setup.subject);
    let err = telem_nats::publish(
        &setup.js,
        &setup.jobs,
        nowhere.clone(),
        HeaderMap::new(),
        "x".into(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "stream_not_found");
    assert_eq!(err.subject(), nowhere);
    let mut huge = HeaderMap::new();
    huge.insert("x-big", "x".repeat(70 * 1024).as_str());
    let too_big = telem_nats::publish(
        &setup.js,
        &setup.jobs,
        setup.subject.clone(),
        huge,
        "x".into(),
    )
    .await
    .unwrap_err();
    // async-nats has no kind of its own for it: the server's error is the source.
    assert_eq!(too_big.error_type(), "other");
    let source = std::error::Error::source(&too_big).unwrap().to_string();
    assert!(source.contains("header size exceeds"), "{source}");
    let spans = wait_for_spans(&t, |s| count(s, "send jobs") == 2).await;
    let errors: Vec<_> = spans
        .all_named("send jobs")
        .iter()
        .map(|s| {
            assert!(s.status.is_error());
            assert!(s.events.iter().any(|e| e.name == "exception"));
            s.attribute("error.type").cloned()
        })
        .collect();
    assert!(errors.contains(&Some(Value::from("stream_not_found"))));
    assert!(errors.contains(&Some(Value::from(too_big.error_type()))));
    // The metrics count each failed send under the same short class.
    for class in ["stream_not_found", "other"] {
        t.metrics().assert_counter(
            telem::messaging::SENT_MESSAGES,
            &[
                ("messaging_system", "nats"),
                ("messaging_destination_name", setup.jobs.name()),
                ("messaging_operation_name", "send"),
                ("error_type", class),
                ("server_address", ""),
                ("server_port", ""),
            ],
            1,
        );
    }
    setup.delete().await;
}

/// `Worker::run` goes on until pulling fails: a deleted consumer ends it with an
/// error, after it processed what came before.
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a nats-server with JetStream: .ci/run starts one and sets NATS_URL"]
async fn run_ends_with_an_error_when_its_consumer_is_deleted(t: TestPipeline) {
    let setup = Setup::new(&t, 3).await;
    setup.publish("1").await;
    let worker = telem::spawn(setup.worker().run(|_| async { Ok::<_, IndexLocked>(()) }));
    wait_for_spans(&t, |s| count(s, "ack jobs") == 1).await;
    setup.stream.delete_consumer("worker").await.unwrap();
    let ended = tokio::time::timeout(PATIENCE, worker)
        .await
        .expect("run did not end after its consumer was deleted")
        .unwrap();
    assert!(
        matches!(ended, Err(telem_nats::WorkerError::Pull(_))),
        "{ended:?}"
    );
    setup.delete().await;
}

/// A consumer that does not acknowledge explicitly is refused: with `All`, the
/// acknowledgement of one message would acknowledge failed ones before it.
#[telem::test]
#[ignore = "needs a nats-server with JetStream: .ci/run starts one and sets NATS_URL"]
async fn a_consumer_without_explicit_acks_is_refused(t: TestPipeline) {
    let setup = Setup::new(&t, 3).await;
    // A work-queue stream takes only explicit acks: another stream, with limits.
    let id = setup.subject.trim_end_matches(".jobs");
    let limits = setup
        .js
        .create_stream(stream::Config {
            name: format!("L_{id}"),
            subjects: vec![format!("{id}-limits.>")],
            storage: stream::StorageType::Memory,
            ..Default::default()
        })
        .await
        .unwrap();
    for policy in [AckPolicy::All, AckPolicy::None] {
        let consumer = limits
            .create_consumer(pull::Config {
                ack_policy: policy,
                ..Default::default()
            })
            .await
            .unwrap();
        let refused = Worker::new(setup.jobs.clone(), consumer).unwrap_err();
        assert!(matches!(refused, telem_nats::WorkerError::AckPolicy(p) if p == policy));
    }
    setup.js.delete_stream(format!("L_{id}")).await.unwrap();
    setup.delete().await;
}
