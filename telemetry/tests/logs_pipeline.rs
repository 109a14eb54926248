//! Log records through a running global pipeline: trace context, filtering and its
//! change at run time, drops counted per level, self-metrics, and the framework's own
//! failures as log records. One pipeline per process, so one test walks the phases.

mod common;

use common::Failing;
use std::sync::{Arc, Mutex, PoisonError};
use telem::{Config, Level, LogBatch, LogRecord, Sink, SinkFuture, SpanBatch, Tracer};

static TRACER: Tracer = Tracer::new("logs-test");

/// Keeps every log record it is given.
#[derive(Debug, Default)]
struct Capture(Mutex<Vec<LogRecord>>);

impl Capture {
    fn take(&self) -> Vec<LogRecord> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Sink for Capture {
    fn export_spans(&self, _: SpanBatch) -> SinkFuture<'_> {
        Box::pin(async { Ok(()) })
    }

    fn export_logs(&self, batch: LogBatch) -> SinkFuture<'_> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(batch.iter().cloned());
        Box::pin(async { Ok(()) })
    }
}

fn bodies(records: &[LogRecord]) -> Vec<&str> {
    records.iter().map(|r| r.body.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_through_the_pipeline() {
    let capture = Arc::new(Capture::default());
    let pipeline = telem::init(
        Config::new()
            .with_sink(capture.clone())
            .with_sink(Failing)
            .with_log_filter("info,logs_pipeline::quiet=error".parse().unwrap())
            .with_log_ring_capacity(64)
            .with_drain_interval(std::time::Duration::from_secs(300)),
    )
    .unwrap();

    // Trace context: inside a sampled span the record carries its ids.
    let (trace_id, span_id) = {
        let span = TRACER.start_span("request");
        telem::warn!(book.id = 999, "book {} not found", 999);
        (span.context().trace_id, span.context().span_id)
    };
    telem::info!("outside any span");
    telem::debug!("hidden at info");
    telem::info!(target: "logs_pipeline::quiet", "silenced by its directive");
    telem::error!(target: "logs_pipeline::quiet::deeper", "errors still pass");
    pipeline.drain_now().await;
    let records = capture.take();
    let ours: Vec<_> = records
        .iter()
        .filter(|r| r.target.as_str() != "telem::diagnostics")
        .cloned()
        .collect();
    assert_eq!(
        bodies(&ours),
        [
            "book 999 not found",
            "outside any span",
            "errors still pass"
        ]
    );
    assert_eq!(ours[0].trace_id, trace_id);
    assert_eq!(ours[0].span_id, span_id);
    assert!(ours[0].trace_flags.is_sampled());
    assert_eq!(ours[0].level(), Some(Level::Warn));
    assert_eq!(ours[0].field("book.id"), Some(&telem::Value::I64(999)));
    assert!(!ours[1].trace_id.is_valid() && !ours[1].span_id.is_valid());

    // The failing sink's report arrived as a log record (once: rate-limited). It is
    // made when that sink's worker fails, after the drain took this cycle's logs: the
    // next drain carries it.
    pipeline.drain_now().await;
    let mut records = records;
    records.extend(capture.take());
    let report = records
        .iter()
        .find(|r| r.target.as_str() == "telem::diagnostics")
        .expect("the failing sink's error is reported as a log record");
    assert_eq!(report.level(), Some(Level::Error));
    assert_eq!(
        report.field("telemetry.source"),
        Some(&telem::Value::from("failing"))
    );
    assert!(report.body.as_str().contains(Failing::ERROR));

    // The filter changes at run time through the handle.
    pipeline.set_log_filter("debug".parse().unwrap());
    telem::debug!("shown at debug");
    telem::info!(target: "logs_pipeline::quiet", "no longer silenced");
    pipeline.set_log_filter("warn".parse().unwrap());
    telem::info!("hidden again");
    telem::debug!("hidden again");
    pipeline.drain_now().await;
    assert_eq!(
        bodies(&capture.take()),
        ["shown at debug", "no longer silenced"]
    );
    assert_eq!(pipeline.log_filter().unwrap().to_string(), "warn");

    // A full ring drops, counted per level; recorded == exported + dropped.
    let before = pipeline.stats().logs;
    for i in 0..200 {
        telem::warn!(i, "storm");
    }
    pipeline.drain_now().await;
    let after = pipeline.stats().logs;
    let recorded = after.recorded(Level::Warn) - before.recorded(Level::Warn);
    let dropped = after.dropped(Level::Warn) - before.dropped(Level::Warn);
    let exported = after.exported(Level::Warn) - before.exported(Level::Warn);
    assert_eq!(recorded, 200);
    assert!(
        dropped >= 200 - 64,
        "a 64-record ring drops the rest: {dropped}"
    );
    assert_eq!(recorded, exported + dropped);
    assert_eq!(capture.take().len() as u64, exported);
    assert_eq!(after.dropped(Level::Info), before.dropped(Level::Info));

    // Self-metrics: per level, and the users' `log_records_total`.
    let text =
        String::from_utf8(telem::metrics::global().render(telem::metrics::Format::Prometheus))
            .unwrap();
    assert!(
        text.contains(&format!(
            "log_records_total{{level=\"warn\"}} {}",
            after.recorded(Level::Warn)
        )),
        "{text}"
    );
    assert!(
        text.contains("telemetry_logs_dropped_total{level=\"warn\"}"),
        "{text}"
    );

    pipeline.shutdown().await;
    // After shutdown nothing is recorded (the call costs a load and a compare).
    telem::error!("after shutdown");
    assert_eq!(
        pipeline.stats().logs.recorded(Level::Error),
        after.recorded(Level::Error)
    );
}
