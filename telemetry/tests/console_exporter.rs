//! The `console` exporter for one signal only (`OTEL_TRACES_EXPORTER=console` without
//! it in `OTEL_METRICS_EXPORTER`, or the reverse): `StdoutSink::with_spans` and
//! `with_metrics` switch what the one sink writes.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use telem::{Config, StdoutFormat, StdoutSink, Tracer};

#[path = "common/writers.rs"]
mod writers;
use writers::Shared;

static TRACER: Tracer = Tracer::new("console-exporter-tests");

/// Records a span, drains (a metric snapshot each drain, then a flush of the sink's
/// writer) and shuts down; returns the JSON lines the sink wrote.
async fn written(sink: impl FnOnce(Shared) -> StdoutSink) -> Vec<serde_json::Value> {
    let out = Shared::default();
    let pipeline = telem::init(Config::new().with_sink(sink(out.clone()))).unwrap();
    TRACER.in_span("console-span", |_| {});
    pipeline.drain_now().await;
    pipeline.shutdown().await;
    out.text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn is_span(line: &serde_json::Value) -> bool {
    line.get("traceId").is_some()
}

fn is_metrics(line: &serde_json::Value) -> bool {
    line.get("pipeline").is_some()
}

// One test, so the pipelines (one per process) run one after the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_sink_writes_only_the_signals_it_is_given() {
    // § "Exporter Selection": console in OTEL_METRICS_EXPORTER only: snapshots, no spans.
    let lines = written(|out| {
        StdoutSink::from_writer(out, StdoutFormat::Json)
            .with_spans(false)
            .with_metrics(true)
    })
    .await;
    assert!(!lines.iter().any(is_span), "{lines:?}");
    assert!(lines.iter().any(is_metrics), "{lines:?}");

    // Console in OTEL_TRACES_EXPORTER only: spans, no snapshots (the default sink).
    let lines = written(|out| StdoutSink::from_writer(out, StdoutFormat::Json)).await;
    assert!(
        lines
            .iter()
            .any(|l| is_span(l) && l["name"] == "console-span"),
        "{lines:?}"
    );
    assert!(!lines.iter().any(is_metrics), "{lines:?}");
}
