//! The background jobs through a real NATS server (JetStream): `POST /books/{id}/reindex`
//! enqueues the reindex job, its worker enqueues the recommendations job, and the
//! request, both jobs' send and process spans, their acknowledgements and their
//! database spans are one trace; each queue's messaging metrics are on `/metrics`.
//! Needs a `nats-server -js`: `.ci/run` starts one and sets `NATS_URL`. Without a
//! server, `Jobs::connect` fails at once (the bookstore then runs jobs in process).

use axum::body::Body;
use bookstore::{Jobs, Store};
use http::Request;
use std::sync::Arc;
use std::time::{Duration, Instant};
use telem::{Config, InMemorySink, PrometheusSink, SpanData};
use telem_axum::testing::send;
use telem_axum::{MetricsEndpoint, TelemetryLayer};

fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one {name:?} among {:?}", names(spans));
    found[0]
}

fn names(spans: &[SpanData]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a nats-server with JetStream: .ci/run starts one and sets NATS_URL"]
async fn jobs_through_nats_are_one_trace_with_the_request() {
    let url = std::env::var("NATS_URL").expect("NATS_URL names the server");
    // The only pipeline of this test binary.
    let spans = Arc::new(InMemorySink::new(100_000));
    let prometheus = Arc::new(PrometheusSink::new());
    let pipeline = telem::init(
        Config::new()
            .with_sink(spans.clone())
            .with_sink(prometheus.clone()),
    )
    .unwrap();
    let store = Store::seeded().await.unwrap();
    let jobs = Jobs::connect(&url, store.clone()).await.unwrap();
    assert_eq!(jobs.backend_name(), "nats");
    let app = bookstore::app_with_jobs(store, jobs, MetricsEndpoint::new(prometheus), |t| {
        t.layer(TelemetryLayer::new())
    })
    .await
    .unwrap();
    let answer = send(
        &app,
        Request::post("/books/3/reindex")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, 202);

    // Both jobs' acknowledgements end the chain.
    let deadline = Instant::now() + Duration::from_secs(30);
    let recorded = loop {
        pipeline.drain_now().await;
        let recorded = spans.spans();
        let acks = recorded
            .iter()
            .filter(|s| s.name.starts_with("ack bookstore.jobs."))
            .count();
        if acks == 2 {
            break recorded;
        }
        assert!(
            Instant::now() < deadline,
            "the jobs did not finish: {:?}",
            names(&recorded)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let server = one(&recorded, "POST /books/{id}/reindex");
    let mut parent = server;
    for name in [
        "send bookstore.jobs.reindex",
        "process bookstore.jobs.reindex",
        "send bookstore.jobs.recommendations",
        "process bookstore.jobs.recommendations",
    ] {
        let span = one(&recorded, name);
        assert_eq!(span.parent_span_id, parent.context.span_id, "{name}");
        assert_eq!(span.context.trace_id, server.context.trace_id, "{name}");
        parent = span;
    }
    let reindex = one(&recorded, "process bookstore.jobs.reindex");
    assert_eq!(
        reindex.attribute("messaging.system"),
        Some(&telem::Value::from("nats"))
    );
    assert_eq!(
        reindex.attribute("messaging.consumer.group.name"),
        Some(&telem::Value::from("reindex"))
    );
    assert_eq!(
        reindex.attribute("messaging.nats.message.delivery_count"),
        Some(&telem::Value::I64(1))
    );
    assert_eq!(
        one(&recorded, "Store::reindex").parent_span_id,
        reindex.context.span_id
    );
    for queue in ["reindex", "recommendations"] {
        let ack = one(&recorded, &format!("ack bookstore.jobs.{queue}"));
        let process = one(&recorded, &format!("process bookstore.jobs.{queue}"));
        assert_eq!(ack.parent_span_id, process.context.span_id);
    }

    let scrape = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    let text = scrape.text();
    for queue in ["bookstore.jobs.reindex", "bookstore.jobs.recommendations"] {
        for (metric, labels) in [
            (
                "messaging_client_sent_messages_total",
                format!("messaging_destination_name=\"{queue}\",messaging_operation_name=\"send\",error_type=\"\",server_address=\"127.0.0.1\",server_port=\""),
            ),
            (
                "messaging_process_duration_seconds_count",
                format!("messaging_destination_name=\"{queue}\",messaging_operation_name=\"process\""),
            ),
        ] {
            let prefix = format!("{metric}{{messaging_system=\"nats\",{labels}");
            assert!(
                text.lines().any(|l| l.starts_with(&prefix)),
                "{prefix} in\n{text}"
            );
        }
    }
    pipeline.shutdown().await;
}

/// With nothing listening, connecting fails (refused at once): the bookstore then runs its jobs in
/// process (and says so).
#[tokio::test]
async fn without_a_server_connect_fails_fast() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = Store::seeded().await.unwrap();
    let err = Jobs::connect(&format!("nats://127.0.0.1:{port}"), store)
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("connecting failed"), "{err}");
}
