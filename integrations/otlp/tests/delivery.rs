//! Delivery against a collector that is down, refusing, throttling or silent: retries,
//! `Retry-After`, no retry on 4xx, timeouts, partial successes, the bounded queue, drops
//! counted, recovery, and shutdown within its deadline. Every check reads counters,
//! never elapsed time.

mod common;

use common::{
    assert_accounted, fast, free_addr, wait_until, Collector, Received, Reply, ONE_PIPELINE,
};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use telem::{Sink, Tracer};
use telem_otlp::{OtlpConfig, OtlpSink, OtlpStats, Signal};

static TRACER: Tracer = Tracer::new("delivery");

fn spans(prefix: &str, n: usize) {
    for i in 0..n {
        TRACER.in_span(format!("{prefix} {i}"), |_| {});
    }
}

fn names(received: &[Received]) -> Vec<String> {
    received.iter().flat_map(Received::span_names).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_down_at_start_then_up_delivers_everything_after_recovery() {
    let _one = ONE_PIPELINE.lock().await;
    let addr = free_addr().await;
    let otlp = OtlpSink::new(
        fast(format!("http://{addr}"))
            .with_max_queue_size(100)
            .with_max_export_batch_size(50)
            .with_export_timeout(Duration::from_millis(300)),
    )
    .unwrap();
    let (telemetry, memory) =
        common::start_with_memory(common::pipeline_config().with_sink(otlp.clone()));

    // Nothing listens: connection refused, retried, given up; the queue fills and drops.
    for burst in 0..5 {
        spans(&format!("before {burst}"), 100);
        telemetry.drain_now().await;
    }
    wait_until("failures while the collector is down", || {
        let s = otlp.stats();
        s.spans_failed > 0 && s.requests >= 2
    })
    .await;
    let down = otlp.stats();
    assert!(down.retries > 0, "connection errors are retried: {down:?}");
    assert_eq!(down.spans_sent, 0);

    // The collector comes up on the same address; the exporter finds it by itself.
    let collector = Collector::start_on(addr).await;
    wait_until("the queue to empty", || otlp.stats().spans_queued == 0).await;

    // Within the queue's capacity, everything recorded after recovery arrives.
    for burst in 0..4 {
        spans(&format!("after {burst}"), 50);
        telemetry.drain_now().await;
    }
    telemetry.shutdown().await;

    let received = names(&collector.received_on("/v1/traces"));
    let unique: HashSet<&String> = received.iter().collect();
    assert_eq!(unique.len(), received.len(), "no span sent twice");
    for burst in 0..4 {
        for i in 0..50 {
            let name = format!("after {burst} {i}");
            assert!(unique.contains(&name), "span {name:?} was not delivered");
        }
    }
    let s = otlp.stats();
    assert_eq!(s.spans_received, 700);
    assert_eq!(s.spans_queued, 0);
    assert_accounted(&s, Signal::Traces);
    assert!(
        s.spans_dropped + s.spans_failed > 0,
        "the gap is counted: {s:?}"
    );
    assert_eq!(s.spans_sent as usize, received.len());
    // The drain and the other sink never waited on the dead collector.
    assert_eq!(memory.spans().len(), 700);
    assert_eq!(telemetry.stats().spans_dropped, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_429_waits_for_retry_after() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(
        common::throttled_once(&collector).with_export_timeout(Duration::from_secs(20)),
    )
    .unwrap();
    let telemetry = common::start(
        common::pipeline_config()
            .with_sink_timeout(Duration::from_secs(10))
            .with_sink(otlp.clone()),
    );
    spans("throttled", 10);
    telemetry.drain_now().await;
    let received = collector.wait_for("/v1/traces", 2).await;
    telemetry.shutdown().await;

    assert_eq!(
        received[0].body, received[1].body,
        "the same batch is retried"
    );
    let s = otlp.stats();
    assert_eq!(s.requests, 2);
    assert_eq!(s.retries, 1);
    assert_eq!(s.retry_after_waits, 1);
    assert_eq!(s.spans_sent, 10);
    assert_accounted(&s, Signal::Traces);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_503_then_200_is_retried_once() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    collector.script([Reply::status(503)]);
    let otlp = OtlpSink::new(fast(collector.endpoint())).unwrap();
    let telemetry = common::start(common::pipeline_config().with_sink(otlp.clone()));
    spans("unavailable", 10);
    telemetry.shutdown().await;

    let received = collector.received_on("/v1/traces");
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body);
    let s = otlp.stats();
    assert_eq!((s.requests, s.retries, s.retry_after_waits), (2, 1, 0));
    assert_eq!(s.spans_sent, 10);
    assert_eq!(s.spans_failed, 0);
    assert_accounted(&s, Signal::Traces);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_400_is_not_retried() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    collector.always(Reply::json(400, br#"{"code":3,"message":"invalid span"}"#));
    let otlp = OtlpSink::new(fast(collector.endpoint())).unwrap();
    let failed_before = self_metric("failed");
    let telemetry = common::start(common::pipeline_config().with_sink(otlp.clone()));
    spans("refused", 10);
    telemetry.shutdown().await;

    assert_eq!(collector.received_on("/v1/traces").len(), 1);
    let s = otlp.stats();
    assert_eq!((s.requests, s.retries), (1, 0));
    assert_eq!(s.spans_failed, 10);
    assert_eq!(s.spans_sent, 0);
    let error = s.last_error.clone().unwrap();
    assert!(
        error.contains("HTTP 400") && error.contains("invalid span"),
        "{error}"
    );
    assert_accounted(&s, Signal::Traces);
    // Also counted in the global registry's self-metrics.
    assert!(self_metric("failed") >= failed_before + 10);
}

fn self_metric(outcome: &str) -> u64 {
    common::self_metric("telemetry_otlp_spans_total", "outcome", outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_never_answers_times_out_and_the_drain_keeps_running() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(common::silent(&collector)).unwrap();
    let (telemetry, memory) =
        common::start_with_memory(common::pipeline_config().with_sink(otlp.clone()));

    spans("first", 50);
    wait_until("a request to time out and its batch to fail", || {
        let s = otlp.stats();
        s.timeouts >= 1 && s.spans_failed >= 1
    })
    .await;
    let s = otlp.stats();
    // Queued: at most the queue (20) plus the batch on its way (10).
    assert!(s.spans_queued <= 30, "the queue stays bounded: {s:?}");
    let drains = telemetry.stats().drains;

    // The pipeline keeps draining into the other sink meanwhile.
    spans("second", 50);
    wait_until("the other sink to get every span", || {
        memory.spans().len() == 100
    })
    .await;
    wait_until("more drain cycles", || {
        telemetry.stats().drains > drains + 2
    })
    .await;
    let pipeline = telemetry.stats();
    let otlp_sink = pipeline.sinks.iter().find(|s| s.name == "otlp").unwrap();
    assert_eq!(
        otlp_sink.timeouts, 0,
        "the sink's calls never hang the pipeline"
    );

    telemetry.shutdown().await;
    let s = otlp.stats();
    assert_eq!(s.spans_received, 100);
    assert_eq!(s.spans_sent, 0);
    assert_eq!(
        s.spans_queued, 0,
        "shutdown settles everything within its deadline"
    );
    assert!(s.timeouts >= 1);
    assert!(s.spans_dropped > 0, "a full queue drops: {s:?}");
    assert_accounted(&s, Signal::Traces);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_success_counts_the_rejected_spans() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    collector.script([Reply::json(
        200,
        br#"{"partialSuccess":{"rejectedSpans":"3","errorMessage":"span too large"}}"#,
    )]);
    let otlp = OtlpSink::new(fast(collector.endpoint())).unwrap();
    let telemetry = common::start(common::pipeline_config().with_sink(otlp.clone()));
    spans("partly", 10);
    telemetry.shutdown().await;

    let s = otlp.stats();
    assert_eq!(s.requests, 1);
    assert_eq!(s.spans_rejected, 3);
    assert_eq!(s.spans_sent, 7);
    assert_eq!(s.partial_successes, 1);
    assert!(s.last_error.clone().unwrap().contains("span too large"));
    assert_accounted(&s, Signal::Traces);
}

#[cfg(feature = "protobuf")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_partial_success_is_read_too() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let otlp = common::partial_success_in_protobuf(&collector);
    let telemetry = common::start(common::pipeline_config().with_sink(otlp.clone()));
    spans("partly", 5);
    telemetry.shutdown().await;
    let s = otlp.stats();
    assert_eq!((s.spans_rejected, s.spans_sent), (2, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_never_received_anything_shuts_down_cleanly() {
    let otlp = OtlpSink::new(OtlpConfig::new().with_endpoint("http://127.0.0.1:9")).unwrap();
    otlp.flush().await.unwrap();
    otlp.shutdown().await.unwrap();
    otlp.shutdown().await.unwrap();
    assert_eq!(otlp.stats(), OtlpStats::default());
    // After shutdown, new spans are refused and counted, never queued.
    let span = telem::SpanData {
        name: "late".into(),
        scope: "delivery".into(),
        context: telem::SpanContext::INVALID,
        parent_span_id: telem::SpanId::INVALID,
        parent_is_remote: false,
        kind: telem::SpanKind::Internal,
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        attributes: Default::default(),
        events: vec![],
        links: vec![],
        status: telem::Status::Unset,
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        dropped_links_count: 0,
    };
    assert!(otlp.export_spans(Arc::new(vec![span])).await.is_err());
    let s = otlp.stats();
    assert_eq!(
        (s.spans_received, s.spans_dropped, s.spans_queued),
        (1, 1, 0)
    );
}

/// The drain hands over a tick's worth of spans at once. A burst ten times the queue,
/// against a collector that keeps up, waits for room instead of being dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_larger_than_the_queue_is_delivered_whole() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(common::small_queues(fast(collector.endpoint()))).unwrap();
    let telemetry = common::start(common::pipeline_config().with_sink(otlp.clone()));

    spans("burst", 200);
    telemetry.drain_now().await;
    telemetry.shutdown().await;

    let s = otlp.stats();
    assert_accounted(&s, Signal::Traces);
    assert_eq!(s.spans_dropped, 0, "{s:?}");
    assert_eq!(s.spans_sent, 200, "{s:?}");
    let got: HashSet<String> = names(&collector.received_on("/v1/traces"))
        .into_iter()
        .collect();
    assert_eq!(got.len(), 200);
}
