//! `telem::messaging`: producer and consumer spans through a message's headers, one
//! trace across a chain of jobs, batches, failures, hostile headers, and the traced
//! channel. Each rule of OpenTelemetry's messaging conventions that a test checks is
//! named by its section of `docs/messaging/messaging-spans.md` (spans) or
//! `messaging-metrics.md` (metrics).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;
use telem::messaging::{channel, Destination, ProcessError, DEAD_LETTERS, RETRIES};
use telem::messaging::{CONSUMED_MESSAGES, OPERATION_DURATION, PROCESS_DURATION, SENT_MESSAGES};
use telem::prelude::*;
use telem::propagation::{Baggage, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS};
use telem::testing::TestPipeline;
use telem::{SpanContext, SpanData, SpanKind, Value, MAX_TRACE_STATE_MEMBERS};
use tokio::sync::mpsc;

static TRACER: Tracer = Tracer::new("messaging-tests");

type Headers = HashMap<String, String>;

/// A job on the fake broker: which step of the chain, and its headers.
struct Job {
    step: u32,
    headers: Headers,
}

fn jobs(t: &TestPipeline) -> Destination {
    Destination::new("fake", "jobs")
        .with_consumer_group("workers")
        .with_registry(t.registry())
}

fn span<'a>(spans: &'a [SpanData], name: &str, attribute: (&str, Value)) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name && s.attribute(attribute.0) == Some(&attribute.1))
        .unwrap_or_else(|| panic!("no span {name} with {attribute:?}"))
}

/// Trace structure: request → job A → job B → job C is one trace, each send span the
/// child of the consumer span of the step before, each process span the child of its
/// message's send span ("Message creation context as parent of Process span") and
/// linked to it ("Consumer spans": a process span SHOULD link to the creation context).
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_of_jobs_is_one_trace(t: TestPipeline) {
    let dest = jobs(&t);
    let (broker, mut queue) = mpsc::unbounded_channel::<Job>();
    let worker = {
        let dest = dest.clone();
        let broker = broker.clone();
        // A worker task with no span of its own: each job brings its trace.
        telem::spawn(async move {
            while let Some(job) = queue.recv().await {
                let step = job.step;
                let delivery = dest
                    .receive(&job.headers)
                    .with_message_id(format!("m{step}"));
                let broker = broker.clone();
                let dest = dest.clone();
                delivery
                    .process(async move {
                        if step < 3 {
                            let mut headers = Headers::new();
                            let mut send = dest.send(&mut headers);
                            send.set_message_id(format!("m{}", step + 1));
                            broker
                                .send(Job {
                                    step: step + 1,
                                    headers,
                                })
                                .unwrap();
                            send.end();
                        }
                        Ok::<_, std::io::Error>(())
                    })
                    .await
                    .unwrap()
                    .unwrap();
                if step == 3 {
                    break;
                }
            }
        })
    };
    async {
        let mut headers = Headers::new();
        let mut send = dest.send(&mut headers);
        send.set_message_id("m1");
        broker.send(Job { step: 1, headers }).unwrap();
        send.end();
    }
    .in_span(
        TRACER
            .span("POST /books/{id}/reindex")
            .kind(SpanKind::Server)
            .start_detached(),
    )
    .await;
    worker.await.unwrap();

    let spans = t.spans().await;
    let all: Vec<SpanData> = spans.iter().cloned().collect();
    assert_eq!(all.len(), 7, "{}", spans.tree());
    let request = spans.named("POST /books/{id}/reindex").data();
    assert!(
        all.iter()
            .all(|s| s.context.trace_id == request.context.trace_id),
        "{}",
        spans.tree()
    );
    let mut parent = request.context.span_id;
    for step in 1..=3 {
        let id = Value::from(format!("m{step}"));
        let send = span(&all, "send jobs", ("messaging.message.id", id.clone()));
        let process = span(&all, "process jobs", ("messaging.message.id", id));
        assert_eq!(send.parent_span_id, parent, "send of step {step}");
        assert_eq!(send.kind, SpanKind::Producer);
        assert_eq!(
            process.parent_span_id, send.context.span_id,
            "process of step {step}"
        );
        assert_eq!(process.kind, SpanKind::Consumer);
        assert_eq!(process.links.len(), 1);
        assert_eq!(process.links[0].context.span_id, send.context.span_id);
        parent = process.context.span_id;
    }
    // Attributes ("Messaging spans").
    for process in spans.all_named("process jobs") {
        for (key, value) in [
            ("messaging.system", "fake"),
            ("messaging.operation.name", "process"),
            ("messaging.operation.type", "process"),
            ("messaging.destination.name", "jobs"),
            ("messaging.consumer.group.name", "workers"),
        ] {
            assert_eq!(process.attribute(key), Some(&Value::from(value)), "{key}");
        }
        assert!(!process.status.is_error());
    }
    for send in spans.all_named("send jobs") {
        assert_eq!(
            send.attribute("messaging.operation.type"),
            Some(&Value::from("send"))
        );
        assert_eq!(send.attribute("messaging.consumer.group.name"), None);
    }
    // Metrics ("messaging-metrics.md"): three sent, three processed, no failure.
    let m = t.metrics();
    m.assert_counter(
        SENT_MESSAGES,
        &[
            ("messaging_system", "fake"),
            ("messaging_destination_name", "jobs"),
            ("messaging_operation_name", "send"),
            ("error_type", ""),
            ("server_address", ""),
            ("server_port", ""),
        ],
        3,
    );
    m.assert_histogram_count(
        PROCESS_DURATION,
        &[
            ("messaging_system", "fake"),
            ("messaging_destination_name", "jobs"),
            ("messaging_operation_name", "process"),
            ("messaging_consumer_group_name", "workers"),
            ("error_type", ""),
            ("server_address", ""),
            ("server_port", ""),
        ],
        3,
    );
    m.assert_histogram_count(
        OPERATION_DURATION,
        &[
            ("messaging_system", "fake"),
            ("messaging_destination_name", "jobs"),
            ("messaging_operation_name", "send"),
            ("messaging_operation_type", "send"),
            ("messaging_consumer_group_name", ""),
            ("error_type", ""),
            ("server_address", ""),
            ("server_port", ""),
        ],
        3,
    );
    m.assert_counter(
        CONSUMED_MESSAGES,
        &[
            ("messaging_system", "fake"),
            ("messaging_destination_name", "jobs"),
            ("messaging_operation_name", "process"),
            ("messaging_consumer_group_name", "workers"),
            ("server_address", ""),
            ("server_port", ""),
        ],
        3,
    );
}

/// "Consumer spans" and "Batch receiving": a batch is processed in a span of its own
/// trace, linked to each message's creation context, with the batch's size; what it
/// sends continues its trace.
#[telem::test]
async fn a_batch_is_processed_in_a_new_trace_linked_to_each_message(t: TestPipeline) {
    let dest = jobs(&t);
    let mut batch = Vec::new();
    let mut senders = Vec::new();
    for i in 0..3 {
        let mut headers = Headers::new();
        let request = TRACER.start_span(format!("request {i}"));
        senders.push(dest.send(&mut headers).context());
        drop(request);
        batch.push(headers);
    }
    // One message without any context: counted, not linked.
    batch.push(Headers::new());
    dest.receive_batch(&batch)
        .process(async {
            let mut headers = Headers::new();
            dest.send(&mut headers).end();
            Ok::<_, std::io::Error>(())
        })
        .await
        .unwrap()
        .unwrap();
    let spans = t.spans().await;
    let process = spans
        .named("process jobs")
        .assert_root()
        .assert_attribute("messaging.batch.message_count", 4_i64)
        .data();
    let linked: Vec<_> = process.links.iter().map(|l| l.context.span_id).collect();
    let sent: Vec<_> = senders.iter().map(|c| c.span_id).collect();
    assert_eq!(linked, sent);
    for sender in &senders {
        assert_ne!(process.context.trace_id, sender.trace_id);
    }
    // The send inside the batch is its child.
    let followup = spans
        .all_named("send jobs")
        .into_iter()
        .find(|s| s.context.trace_id == process.context.trace_id)
        .unwrap();
    assert_eq!(followup.parent_span_id, process.context.span_id);
}

#[derive(Debug, thiserror::Error)]
#[error("the index is locked")]
struct IndexLocked;

/// A failing job records its error ("Span status": Recording Errors, an `exception`
/// event, `error.type`); each redelivery is a new consumer span with its delivery
/// count, child of the same send span; the last failed attempt is marked dead-lettered
/// and counted.
#[telem::test]
async fn failures_retries_and_the_dead_letter_are_recorded(t: TestPipeline) {
    let dest = jobs(&t);
    let mut headers = Headers::new();
    let send = dest.send(&mut headers);
    let creation = send.context();
    send.end();
    for delivery in 1..=3 {
        let out = dest
            .receive(&headers)
            .with_message_id("m1")
            .with_delivery_count(delivery)
            .with_last_attempt(delivery == 3)
            .process(async { Err::<(), _>(IndexLocked) })
            .await
            .unwrap();
        assert!(out.is_err());
    }
    let spans = t.spans().await;
    let processes = spans.all_named("process jobs");
    assert_eq!(processes.len(), 3);
    for (i, p) in processes.iter().enumerate() {
        let count = i64::try_from(i).unwrap() + 1;
        assert_eq!(p.parent_span_id, creation.span_id);
        assert_eq!(
            p.attribute("messaging.fake.message.delivery_count"),
            Some(&Value::I64(count))
        );
        assert!(p.status.is_error());
        let event = p.events.iter().find(|e| e.name == "exception").unwrap();
        assert!(event
            .attributes
            .iter()
            .any(|kv| kv.key == "exception.message"
                && kv.value == Value::from("the index is locked")));
        assert_eq!(
            p.attribute("error.type"),
            Some(&Value::from(std::any::type_name::<IndexLocked>()))
        );
        let dead = p.attribute("telem.messaging.dead_letter");
        assert_eq!(
            dead,
            (count == 3).then_some(&Value::Bool(true)),
            "attempt {count}"
        );
    }
    let group = [
        ("messaging_system", "fake"),
        ("messaging_destination_name", "jobs"),
        ("messaging_consumer_group_name", "workers"),
    ];
    let m = t.metrics();
    m.assert_counter(RETRIES, &group, 2);
    m.assert_counter(DEAD_LETTERS, &group, 1);
    m.assert_histogram_count(
        PROCESS_DURATION,
        &[
            ("messaging_system", "fake"),
            ("messaging_destination_name", "jobs"),
            ("messaging_operation_name", "process"),
            ("messaging_consumer_group_name", "workers"),
            ("error_type", std::any::type_name::<IndexLocked>()),
            ("server_address", ""),
            ("server_port", ""),
        ],
        3,
    );
    assert!(m
        .histogram(
            PROCESS_DURATION,
            &[
                ("messaging_system", "fake"),
                ("messaging_destination_name", "jobs"),
                ("messaging_operation_name", "process"),
                ("messaging_consumer_group_name", "workers"),
                ("error_type", ""),
                ("server_address", ""),
                ("server_port", ""),
            ],
        )
        .is_none_or(|h| h.count == 0));
}

/// A handler that panics or runs past its timeout fails its span with `error.type`
/// `panic` or `timeout`, and the worker goes on.
#[telem::test(start_paused = true)]
async fn panics_and_timeouts_fail_the_span(t: TestPipeline) {
    let dest = jobs(&t);
    let headers = Headers::new();
    let panicked = dest
        .receive(&headers)
        .with_message_id("p")
        .process(async {
            if !headers.is_empty() {
                return;
            }
            panic!("reindex blew up");
        })
        .await;
    assert_eq!(
        panicked,
        Err(ProcessError::Panicked("reindex blew up".into()))
    );
    let timed_out = dest
        .receive(&headers)
        .with_message_id("t")
        .with_timeout(Duration::from_secs(5))
        .process(tokio::time::sleep(Duration::from_secs(60)))
        .await;
    assert_eq!(
        timed_out,
        Err(ProcessError::TimedOut(Duration::from_secs(5)))
    );
    let spans = t.spans().await;
    let all: Vec<SpanData> = spans.iter().cloned().collect();
    for (id, kind) in [("p", "panic"), ("t", "timeout")] {
        let s = span(
            &all,
            "process jobs",
            ("messaging.message.id", Value::from(id)),
        );
        assert!(s.status.is_error());
        assert_eq!(s.attribute("error.type"), Some(&Value::from(kind)));
        let event = s.events.iter().find(|e| e.name == "exception").unwrap();
        assert!(event
            .attributes
            .iter()
            .any(|kv| kv.key == "exception.type" && kv.value == Value::from(kind)));
    }
    let m = t.metrics();
    for kind in ["panic", "timeout"] {
        m.assert_histogram_count(
            PROCESS_DURATION,
            &[
                ("messaging_system", "fake"),
                ("messaging_destination_name", "jobs"),
                ("messaging_operation_name", "process"),
                ("messaging_consumer_group_name", "workers"),
                ("error_type", kind),
                ("server_address", ""),
                ("server_port", ""),
            ],
            1,
        );
    }
}

/// W3C Trace Context §3.2.2 (a `traceparent` that does not parse is ignored) applied to
/// messages: a message with a missing or malformed context is processed in a new trace,
/// without a panic and without a link.
#[telem::test]
async fn missing_or_malformed_contexts_start_new_traces(t: TestPipeline) {
    let dest = jobs(&t);
    let bad = [
        None,
        Some("garbage"),
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"),
        Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
        Some("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        Some("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"),
    ];
    for (i, traceparent) in bad.iter().enumerate() {
        let mut headers = Headers::new();
        if let Some(v) = traceparent {
            headers.insert("traceparent".into(), (*v).into());
        }
        headers.insert("tracestate".into(), "a=1".into());
        let delivery = dest.receive(&headers).with_message_id(i.to_string());
        assert!(delivery.creation_context().is_none(), "{traceparent:?}");
        delivery.process(async {}).await.unwrap();
    }
    let spans = t.spans().await;
    let processes = spans.all_named("process jobs");
    assert_eq!(processes.len(), bad.len());
    let mut traces: Vec<_> = processes.iter().map(|s| s.context.trace_id).collect();
    for s in &processes {
        assert!(!s.parent_span_id.is_valid());
        assert!(s.links.is_empty());
    }
    traces.dedup();
    assert_eq!(traces.len(), bad.len(), "each in its own trace");
}

/// Hostile header sizes are bounded: a megabyte of `tracestate` or `baggage`, or ten
/// thousand repeated lines, leave at most Trace Context §3.3.1.1's 32 members and the
/// W3C Baggage limits (180 entries, 8192 bytes) in the processing context, and the
/// message still continues its trace.
#[telem::test]
async fn hostile_header_sizes_are_bounded(t: TestPipeline) {
    /// A carrier with every line of a repeated header.
    struct Lines(Vec<(String, String)>);
    impl telem::propagation::Extractor for Lines {
        fn get(&self, key: &str) -> Option<&str> {
            self.0
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        }
        fn get_all(&self, key: &str) -> Vec<&str> {
            self.0
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect()
        }
        fn keys(&self) -> Vec<&str> {
            self.0.iter().map(|(k, _)| k.as_str()).collect()
        }
    }
    let dest = jobs(&t);
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let huge_state: String = (0..100_000).map(|i| format!("k{i}=v{i},")).collect();
    let huge_baggage: String = (0..100_000).map(|i| format!("k{i}=v{i},")).collect();
    let carriers = [
        Lines(vec![
            ("traceparent".into(), parent.into()),
            ("tracestate".into(), huge_state.clone()),
            ("baggage".into(), huge_baggage.clone()),
        ]),
        Lines(
            std::iter::once(("traceparent".to_owned(), parent.to_owned()))
                .chain((0..10_000).map(|i| ("tracestate".to_owned(), format!("s{i}=x"))))
                .chain((0..10_000).map(|i| ("baggage".to_owned(), format!("b{i}=x"))))
                .collect(),
        ),
        Lines(vec![
            (
                "traceparent".into(),
                format!("{parent}{}", "0".repeat(1 << 20)),
            ),
            ("baggage".into(), format!("k={}", "v".repeat(1 << 20))),
        ]),
    ];
    for (i, carrier) in carriers.iter().enumerate() {
        let delivery = dest.receive(carrier).with_message_id(i.to_string());
        let state_len = delivery
            .creation_context()
            .map_or(0, |c| c.state.entries().count());
        assert!(
            state_len <= MAX_TRACE_STATE_MEMBERS,
            "carrier {i}: {state_len} members"
        );
        delivery
            .process(async {
                let baggage = Baggage::current();
                assert!(baggage.len() <= MAX_BAGGAGE_MEMBERS, "carrier {i}");
                assert!(
                    baggage.header_value().len() <= MAX_BAGGAGE_BYTES,
                    "carrier {i}"
                );
            })
            .await
            .unwrap();
    }
    let spans = t.spans().await;
    let processes = spans.all_named("process jobs");
    assert_eq!(processes.len(), 3);
    // The first two carry a valid parent; the third's `traceparent` is too long.
    let expected = telem::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let continued = processes
        .iter()
        .filter(|s| s.context.trace_id == expected)
        .count();
    assert_eq!(continued, 2);
}

/// The message's baggage is current while it is processed, and only then.
#[telem::test]
async fn baggage_travels_with_the_message(t: TestPipeline) {
    let dest = jobs(&t);
    let mut headers = Headers::new();
    {
        let _tenant = Baggage::new()
            .with_entry("tenant", "acme")
            .unwrap()
            .attach();
        dest.send(&mut headers).end();
    }
    assert_eq!(headers["baggage"], "tenant=acme");
    let seen = dest
        .receive(&headers)
        .process(async {
            Ok::<_, std::io::Error>(Baggage::current().get("tenant").map(str::to_owned))
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.as_deref(), Some("acme"));
    assert!(Baggage::current().is_empty());
}

/// "Message creation context as parent of Process span": processed in the scope of a
/// span of another trace, the process span is still the message's child, and links to
/// that ambient span too.
#[telem::test]
async fn an_ambient_span_of_another_trace_is_linked(t: TestPipeline) {
    let dest = jobs(&t);
    let mut headers = Headers::new();
    let creation = {
        let _request = TRACER.start_span("request");
        let send = dest.send(&mut headers);
        send.context()
    };
    let ambient = TRACER.span("poll loop").root().start();
    let ambient_ctx = ambient.context();
    dest.receive(&headers).process(async {}).await.unwrap();
    drop(ambient);
    let spans = t.spans().await;
    let process = spans.named("process jobs").data();
    assert_eq!(process.parent_span_id, creation.span_id);
    let links: Vec<_> = process.links.iter().map(|l| l.context.span_id).collect();
    assert_eq!(links, [creation.span_id, ambient_ctx.span_id]);
}

/// A send that fails records its error on the producer span, and counts with
/// `error_type` ("messaging.client.sent.messages": the messages the producer *attempted*
/// to send).
#[telem::test]
async fn a_failed_send_is_recorded(t: TestPipeline) {
    let dest = jobs(&t);
    let mut headers = Headers::new();
    let sent: Result<(), IndexLocked> = dest
        .send(&mut headers)
        .run(async { Err(IndexLocked) })
        .await;
    assert!(sent.is_err());
    let spans = t.spans().await;
    spans
        .named("send jobs")
        .assert_error()
        .assert_event("exception");
    t.metrics().assert_counter(
        SENT_MESSAGES,
        &[
            ("messaging_system", "fake"),
            ("messaging_destination_name", "jobs"),
            ("messaging_operation_name", "send"),
            ("error_type", std::any::type_name::<IndexLocked>()),
            ("server_address", ""),
            ("server_port", ""),
        ],
        1,
    );
}

/// "Settle span": a settlement inside the processing is a client span, child of the
/// consumer span, with `messaging.operation.type` `settle`, timed in
/// `messaging.client.operation.duration` under its own operation name.
#[telem::test]
async fn a_settlement_is_a_client_span_in_the_processing(t: TestPipeline) {
    let dest = jobs(&t);
    let headers = Headers::new();
    dest.receive(&headers)
        .process(async {
            dest.settle("ack").end();
        })
        .await
        .unwrap();
    let spans = t.spans().await;
    let process = spans.named("process jobs").data().context.span_id;
    spans
        .named("ack jobs")
        .assert_kind(SpanKind::Client)
        .assert_attribute("messaging.operation.type", "settle")
        .assert_attribute("messaging.operation.name", "ack")
        .assert_parent("process jobs");
    assert!(spans.iter().any(|s| s.parent_span_id == process));
    t.metrics().assert_histogram_count(
        OPERATION_DURATION,
        &[
            ("messaging_system", "fake"),
            ("messaging_destination_name", "jobs"),
            ("messaging_operation_name", "ack"),
            ("messaging_operation_type", "settle"),
            ("messaging_consumer_group_name", "workers"),
            ("error_type", ""),
            ("server_address", ""),
            ("server_port", ""),
        ],
        1,
    );
}

/// The traced channel under `join!` and across workers: two requests send at once
/// from a multi-thread runtime, a receiver task handles every message in a `process`
/// span of the request that sent it, and between messages (and in a message that
/// follows one whose handler leaked a context) no other message's context is current.
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traced_channel_under_join_and_across_workers(t: TestPipeline) {
    const PER_REQUEST: u64 = 50;
    let dest = Destination::new("tokio", "reindex").with_registry(t.registry());
    let (tx, mut rx) = channel::<(u64, SpanContext)>(dest, 8);
    let receiver = telem::spawn(async move {
        let mut handled = 0;
        while let Some(message) = rx.recv().await {
            assert!(
                SpanContext::current().is_none(),
                "a context left current between messages"
            );
            message
                .process(|(n, sender)| async move {
                    let current = SpanContext::current().unwrap();
                    assert_eq!(current.trace_id, sender.trace_id, "message {n}");
                    assert_ne!(current.span_id, sender.span_id);
                    tokio::task::yield_now().await;
                    if n % 7 == 0 {
                        // A handler that leaks a context: it must not outlive the message.
                        let leaked = TRACER.span("leaked").root().start_detached();
                        std::mem::forget(leaked.attach());
                    }
                })
                .await
                .unwrap();
            handled += 1;
        }
        assert!(SpanContext::current().is_none());
        handled
    });
    let request = |r: u64| {
        let tx = tx.clone();
        async move {
            for i in 0..PER_REQUEST {
                let me = SpanContext::current().unwrap();
                tx.send((r * 1000 + i, me)).await.unwrap();
                tokio::task::yield_now().await;
            }
        }
        .in_span(TRACER.span(format!("request {r}")).root().start_detached())
    };
    let (_, _) = tokio::join!(telem::spawn(request(1)), telem::spawn(request(2)),);
    drop(tx);
    assert_eq!(receiver.await.unwrap(), 2 * PER_REQUEST);
    let spans = t.spans().await;
    for r in [1, 2] {
        let req = spans.named(&format!("request {r}")).data();
        let children = spans
            .all_named("process reindex")
            .into_iter()
            .filter(|s| {
                s.parent_span_id == req.context.span_id
                    && s.context.trace_id == req.context.trace_id
            })
            .count();
        assert_eq!(
            children,
            usize::try_from(PER_REQUEST).unwrap(),
            "request {r}"
        );
    }
    t.metrics().assert_counter(
        SENT_MESSAGES,
        &[
            ("messaging_system", "tokio"),
            ("messaging_destination_name", "reindex"),
            ("messaging_operation_name", "send"),
            ("error_type", ""),
            ("server_address", ""),
            ("server_port", ""),
        ],
        i128::from(2 * PER_REQUEST),
    );
}

/// A send into a channel whose receiver is gone gives the message back.
#[telem::test]
async fn a_closed_channel_gives_the_message_back(t: TestPipeline) {
    let (tx, rx) = channel::<String>(jobs(&t), 1);
    drop(rx);
    let err = tx.send("job".into()).await.unwrap_err();
    assert_eq!(err.0, "job");
    assert!(tx.is_closed());
    assert!(
        matches!(tx.try_send("again".into()), Err(telem::messaging::TrySendError::Closed(s)) if s == "again")
    );
}

/// A receiver task started outside the test's scope (a plain `tokio::spawn`, as a
/// server starts its workers) still records each message's spans in the scope of the
/// test that sent it: the message carries it.
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_outside_the_scope_records_in_the_senders(t: TestPipeline) {
    let (tx, mut rx) = channel::<u32>(jobs(&t), 4);
    let receiver = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            message
                .process(|_| async { TRACER.in_span("inside", |_| {}) })
                .await
                .unwrap();
        }
    });
    async { tx.send(1).await.unwrap() }
        .in_span(TRACER.span("request").start_detached())
        .await;
    drop(tx);
    receiver.await.unwrap();
    let spans = t.spans().await;
    spans.named("process jobs").assert_parent("request");
    spans.named("inside").assert_parent("process jobs");
}

/// The traced channel's `process` span has the sender's span as parent, without a link
/// repeating it; a broker's message links to its creation context (below, the
/// "Consumer spans" rule) although it is also the parent.
#[telem::test]
async fn a_channel_message_is_a_child_without_a_link(t: TestPipeline) {
    let (tx, mut rx) = channel::<u32>(jobs(&t), 1);
    async { tx.send(1).await.unwrap() }
        .in_span(TRACER.span("request").start_detached())
        .await;
    rx.recv()
        .await
        .unwrap()
        .process(|_| async {})
        .await
        .unwrap();
    let spans = t.spans().await;
    let process = spans.named("process jobs").assert_parent("request").data();
    assert!(process.links.is_empty());
}

/// An operation dropped before it ended (an early return, a cancelled publish) fails
/// with `error.type` `cancelled`, and a send that may never have reached the broker is
/// not counted as sent ("messaging.client.sent.messages" MUST NOT count messages not
/// sent); one ended is a success.
#[telem::test]
async fn a_dropped_operation_is_cancelled_not_sent(t: TestPipeline) {
    let dest = jobs(&t);
    let mut headers = Headers::new();
    drop(dest.send(&mut headers));
    let publish = dest
        .send(&mut headers)
        .run(std::future::pending::<Result<(), IndexLocked>>());
    // Cancelled after one poll, as a client's disconnect drops a handler.
    assert!(futures::poll!(Box::pin(publish)).is_pending());
    let spans = t.spans().await;
    let sends = spans.all_named("send jobs");
    assert_eq!(sends.len(), 2);
    for send in sends {
        assert!(send.status.is_error());
        assert_eq!(
            send.attribute("error.type"),
            Some(&Value::from("cancelled"))
        );
    }
    let m = t.metrics();
    assert!(m
        .counter(
            SENT_MESSAGES,
            &[
                ("messaging_system", "fake"),
                ("messaging_destination_name", "jobs"),
                ("messaging_operation_name", "send"),
                ("error_type", "cancelled"),
                ("server_address", ""),
                ("server_port", ""),
            ]
        )
        .is_none());
    m.assert_histogram_count(
        OPERATION_DURATION,
        &[
            ("messaging_system", "fake"),
            ("messaging_destination_name", "jobs"),
            ("messaging_operation_name", "send"),
            ("messaging_operation_type", "send"),
            ("messaging_consumer_group_name", ""),
            ("error_type", "cancelled"),
            ("server_address", ""),
            ("server_port", ""),
        ],
        2,
    );
}

/// A processing whose future is dropped before the handler finishes (a worker shut
/// down) is recorded too: its span fails with `cancelled`, and the process histogram
/// counts it, so consumed messages and processings agree.
#[telem::test]
async fn a_cancelled_processing_is_recorded(t: TestPipeline) {
    let dest = jobs(&t);
    let processing = dest
        .receive(&Headers::new())
        .with_message_id("c")
        .process(std::future::pending::<()>());
    assert!(futures::poll!(Box::pin(processing)).is_pending());
    let spans = t.spans().await;
    spans
        .named("process jobs")
        .assert_error()
        .assert_attribute("error.type", "cancelled")
        .assert_event("exception");
    t.metrics().assert_histogram_count(
        PROCESS_DURATION,
        &[
            ("messaging_system", "fake"),
            ("messaging_destination_name", "jobs"),
            ("messaging_operation_name", "process"),
            ("messaging_consumer_group_name", "workers"),
            ("error_type", "cancelled"),
            ("server_address", ""),
            ("server_port", ""),
        ],
        1,
    );
}

/// The traced channel counts the sends that fail, by why; and its handler's closure is
/// called inside the message's span.
#[telem::test]
async fn the_channel_counts_failed_sends_and_calls_the_handler_in_the_span(t: TestPipeline) {
    let (tx, mut rx) = channel::<u32>(jobs(&t), 1);
    tx.try_send(1).unwrap();
    assert!(matches!(
        tx.try_send(2),
        Err(telem::messaging::TrySendError::Full(2))
    ));
    let message = rx.recv().await.unwrap();
    message
        .process(|n| {
            // Before the handler's future exists: already in the span.
            let current = SpanContext::current().unwrap();
            async move {
                assert_eq!(SpanContext::current(), Some(current));
                assert_eq!(n, 1);
            }
        })
        .await
        .unwrap();
    drop(rx);
    assert!(tx.send(3).await.is_err());
    let labels = |error| {
        [
            ("messaging_system", "fake"),
            ("messaging_destination_name", "jobs"),
            ("messaging_operation_name", "send"),
            ("error_type", error),
            ("server_address", ""),
            ("server_port", ""),
        ]
    };
    let m = t.metrics();
    m.assert_counter(SENT_MESSAGES, &labels(""), 1);
    m.assert_counter(SENT_MESSAGES, &labels("channel_full"), 1);
    m.assert_counter(SENT_MESSAGES, &labels("channel_closed"), 1);
}

/// "messaging-metrics.md": `server.address` is conditionally required on the metrics
/// when available (and `server.port` recommended): a destination's server labels its
/// series.
#[telem::test]
async fn the_server_labels_the_metrics(t: TestPipeline) {
    let dest = jobs(&t).with_server("broker.local", 4222);
    dest.send(&mut Headers::new()).end();
    t.metrics().assert_counter(
        SENT_MESSAGES,
        &[
            ("messaging_system", "fake"),
            ("messaging_destination_name", "jobs"),
            ("messaging_operation_name", "send"),
            ("error_type", ""),
            ("server_address", "broker.local"),
            ("server_port", "4222"),
        ],
        1,
    );
    t.spans()
        .await
        .named("send jobs")
        .assert_attribute("server.address", "broker.local")
        .assert_attribute("server.port", 4222_i64);
}
