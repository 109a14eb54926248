//! Log records against a collector that is refusing, throttling, silent or partly
//! accepting: the spans' machinery (retries, no retry on 4xx, timeouts, partial
//! successes, the bounded queue, shutdown within its deadline) applied to `/v1/logs`,
//! every record counted once (`OtlpStats::logs_*`) and the lost ones reported through
//! `Sink::logs_dropped`. Every check reads counters, never elapsed time.

mod common;

use common::{assert_accounted, fast, self_metric, wait_until, Collector, Received, Reply};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use telem::{Level, LogBatch, LogRecord, Sink};
use telem_otlp::{OtlpSink, Signal};

fn batch(prefix: &str, n: usize) -> LogBatch {
    Arc::new(
        (0..n)
            .map(|i| {
                let mut r = LogRecord::new(Level::Info, format!("{prefix} {i}"));
                r.target = "logs-delivery".into();
                r
            })
            .collect(),
    )
}

fn bodies(received: &[Received]) -> Vec<String> {
    received.iter().flat_map(Received::log_bodies).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_503_then_200_is_retried_once_with_the_same_body() {
    let collector = Collector::start().await;
    collector.script([Reply::status(503)]);
    let otlp = OtlpSink::new(fast(collector.endpoint())).unwrap();
    let requests_before = self_metric("telemetry_otlp_requests_total", "signal", "logs");
    otlp.export_logs(batch("unavailable", 10)).await.unwrap();
    otlp.shutdown().await.unwrap();

    let received = collector.received_on("/v1/logs");
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body);
    let s = otlp.stats();
    assert_eq!((s.requests, s.retries, s.retry_after_waits), (2, 1, 0));
    assert_eq!((s.logs_sent, s.logs_failed), (10, 0));
    assert_eq!(otlp.logs_dropped(), 0);
    assert_accounted(&s, Signal::Logs);
    // The per-signal self-metrics name the logs signal.
    assert!(self_metric("telemetry_otlp_requests_total", "signal", "logs") >= requests_before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_429_waits_for_retry_after() {
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(
        common::throttled_once(&collector).with_logs_export_timeout(Duration::from_secs(20)),
    )
    .unwrap();
    otlp.export_logs(batch("throttled", 10)).await.unwrap();
    let received = collector.wait_for("/v1/logs", 2).await;
    otlp.shutdown().await.unwrap();
    assert_eq!(received[0].body, received[1].body);
    let s = otlp.stats();
    assert_eq!((s.requests, s.retries, s.retry_after_waits), (2, 1, 1));
    assert_eq!(s.logs_sent, 10);
    assert_accounted(&s, Signal::Logs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_400_is_not_retried_and_the_records_count_as_lost() {
    let collector = Collector::start().await;
    collector.always(Reply::json(
        400,
        br#"{"code":3,"message":"invalid log record"}"#,
    ));
    let otlp = OtlpSink::new(fast(collector.endpoint())).unwrap();
    let failed_before = self_metric("telemetry_otlp_log_records_total", "outcome", "failed");
    otlp.export_logs(batch("refused", 10)).await.unwrap();
    otlp.shutdown().await.unwrap();

    assert_eq!(collector.received_on("/v1/logs").len(), 1);
    let s = otlp.stats();
    assert_eq!((s.requests, s.retries), (1, 0));
    assert_eq!((s.logs_failed, s.logs_sent), (10, 0));
    // Reported to the pipeline as this sink's lost log records; spans untouched.
    assert_eq!(otlp.logs_dropped(), 10);
    assert_eq!(otlp.spans_dropped(), 0);
    let error = s.last_error.clone().unwrap();
    assert!(
        error.starts_with("logs: 10 log records lost: HTTP 400")
            && error.contains("invalid log record"),
        "{error}"
    );
    assert_accounted(&s, Signal::Logs);
    assert!(
        self_metric("telemetry_otlp_log_records_total", "outcome", "failed") >= failed_before + 10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_success_counts_the_rejected_log_records() {
    let collector = Collector::start().await;
    collector.script([Reply::json(
        200,
        br#"{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"record too old"}}"#,
    )]);
    let otlp = OtlpSink::new(fast(collector.endpoint())).unwrap();
    otlp.export_logs(batch("partly", 10)).await.unwrap();
    otlp.shutdown().await.unwrap();
    let s = otlp.stats();
    assert_eq!((s.requests, s.logs_rejected, s.logs_sent), (1, 3, 7));
    assert_eq!(s.partial_successes, 1);
    assert!(s.last_error.clone().unwrap().contains("record too old"));
    // Rejected by the collector is not lost by the exporter.
    assert_eq!(otlp.logs_dropped(), 0);
    assert_accounted(&s, Signal::Logs);
}

#[cfg(feature = "protobuf")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_partial_success_is_read_too() {
    let collector = Collector::start().await;
    let otlp = common::partial_success_in_protobuf(&collector);
    otlp.export_logs(batch("partly", 5)).await.unwrap();
    otlp.shutdown().await.unwrap();
    let s = otlp.stats();
    assert_eq!((s.logs_rejected, s.logs_sent), (2, 3));
}

/// A collector that never answers: requests time out, the logs queue fills, what does
/// not fit after the room wait is dropped and reported, and shutdown settles the rest
/// within its deadline. The spans' queue is not touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_collector_fills_the_logs_queue_and_drops_are_counted() {
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(common::silent(&collector)).unwrap();

    // The queue holds 20 and the request on its way 10; each batch given up on (after
    // 250 ms) makes room for more, and what still does not fit after the second of
    // waiting for room is dropped and reported as the call's error.
    let err = otlp.export_logs(batch("first", 100)).await.unwrap_err();
    assert!(
        err.to_string().contains("log records dropped") && err.to_string().contains("of 100"),
        "{err}"
    );
    let s = otlp.stats();
    assert!(s.logs_queued <= 30, "the queue stays bounded: {s:?}");
    assert!(s.logs_dropped > 0, "{s:?}");
    assert_accounted(&s, Signal::Logs);
    wait_until("a request to time out and its batch to fail", || {
        let s = otlp.stats();
        s.timeouts >= 1 && s.logs_failed >= 1
    })
    .await;
    assert_eq!(otlp.logs_dropped(), {
        let s = otlp.stats();
        s.logs_dropped + s.logs_failed
    });

    let _ = otlp.shutdown().await;
    let s = otlp.stats();
    assert_eq!(s.logs_received, 100);
    assert_eq!(s.logs_sent, 0);
    assert_eq!(s.logs_queued, 0, "shutdown settles everything: {s:?}");
    assert_eq!(otlp.logs_dropped(), 100);
    assert_eq!((s.spans_received, s.spans_dropped), (0, 0));
    assert_accounted(&s, Signal::Logs);
}

/// A burst ten times the logs queue, against a collector that keeps up, waits for room
/// instead of being dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_larger_than_the_logs_queue_is_delivered_whole() {
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(common::small_queues(fast(collector.endpoint()))).unwrap();
    otlp.export_logs(batch("burst", 200)).await.unwrap();
    otlp.shutdown().await.unwrap();
    let s = otlp.stats();
    assert_accounted(&s, Signal::Logs);
    assert_eq!((s.logs_dropped, s.logs_sent), (0, 200), "{s:?}");
    let got: HashSet<String> = bodies(&collector.received_on("/v1/logs"))
        .into_iter()
        .collect();
    assert_eq!(got.len(), 200);
}

/// After shutdown, new log records are refused and counted, never queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_records_after_shutdown_are_refused_and_counted() {
    let otlp = OtlpSink::new(fast("http://127.0.0.1:9".into())).unwrap();
    otlp.shutdown().await.unwrap();
    assert!(otlp.export_logs(batch("late", 3)).await.is_err());
    let s = otlp.stats();
    assert_eq!((s.logs_received, s.logs_dropped, s.logs_queued), (3, 3, 0));
    assert_eq!(otlp.logs_dropped(), 3);
}

/// `flush` sends the queued log records before it returns, whatever the schedule delay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_sends_the_queued_log_records() {
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(
        fast(collector.endpoint()).with_logs_schedule_delay(Duration::from_secs(3600)),
    )
    .unwrap();
    otlp.export_logs(batch("flushed", 4)).await.unwrap();
    otlp.flush().await.unwrap();
    assert_eq!(bodies(&collector.received_on("/v1/logs")).len(), 4);
    assert_eq!(otlp.stats().logs_sent, 4);
    otlp.shutdown().await.unwrap();
    assert!(collector.received_on("/v1/traces").is_empty());
}
