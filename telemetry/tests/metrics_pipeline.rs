//! Metrics through the pipeline: the drain tick runs collectors and callbacks and hands
//! the snapshot to sinks; `PrometheusSink` serves the bytes rendered at the last tick.

mod common;

use std::sync::Arc;
use telem::metrics::{Format, MetricValue, Registry};
use telem::{Config, InMemorySink, MetricsConfig, PrometheusSink, Tracer};

static TRACER: Tracer = Tracer::new("metrics-pipeline-tests");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sink_serves_the_bytes_of_the_last_tick() {
    let _slot = common::no_pipeline().await;
    let sink = Arc::new(PrometheusSink::new());
    // Before any tick (no pipeline yet): rendered live.
    telem::counter!("pipeline_sink_requests_total").increment(1);
    let live = sink.scrape("text/plain");
    assert_eq!(sink.renders(), 0);
    assert!(String::from_utf8_lossy(&live.body).contains("pipeline_sink_requests_total 1\n"));

    // No periodic tick during the test but the one the drain runs when it starts, which
    // is waited for: from then on only `drain_now` renders.
    let config = Config::new()
        .with_drain_interval(std::time::Duration::from_secs(300))
        .with_sink(sink.clone());
    let pipeline = telem::init(config).unwrap();
    while sink.renders() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    pipeline.drain_now().await;
    let renders = sink.renders();
    assert!(renders >= 1);
    // Served from the cache: an increment after the tick is not visible until the next.
    telem::counter!("pipeline_sink_requests_total").increment(1);
    let a = sink.scrape("text/plain");
    let b = sink.exposition(Format::Prometheus);
    assert!(Arc::ptr_eq(&a.body, &b.body), "the same cached bytes");
    let text = String::from_utf8_lossy(&a.body).into_owned();
    assert!(text.contains("pipeline_sink_requests_total 1\n"), "{text}");
    assert_eq!(a.content_type, "text/plain; version=0.0.4; charset=utf-8");
    // The collectors ran at the tick.
    for name in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
        "tokio_workers 2",
        "telemetry_spans_recorded_total",
        "telemetry_sink_errors_total{sink=\"prometheus\"}",
        "telemetry_build_info{version=",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    let om = sink.scrape("application/openmetrics-text");
    assert!(om.body.ends_with(b"# EOF\n"));
    assert_eq!(om.content_type, Format::OpenMetrics.content_type());

    pipeline.drain_now().await;
    assert!(sink.renders() > renders);
    let text = String::from_utf8_lossy(&sink.scrape("*/*").body).into_owned();
    assert!(text.contains("pipeline_sink_requests_total 2\n"), "{text}");
    pipeline.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sinks_receive_metric_data_points_and_self_metrics() {
    let _slot = common::no_pipeline().await;
    // Marks that the collectors turned off below would overwrite.
    let global = telem::metrics::global();
    global.gauge("tokio_workers").unwrap().set(-1);
    global.gauge_f64("process_open_fds").unwrap().set(-1.0);
    let memory = Arc::new(InMemorySink::new(100));
    let pipeline = telem::init(
        Config::new().with_sink(memory.clone()).with_metrics(
            MetricsConfig::new()
                .with_process(false)
                .with_tokio_runtime(false),
        ),
    )
    .unwrap();
    for _ in 0..5 {
        TRACER.in_span("work", |_| {});
    }
    fn callback(r: &Registry) -> Result<(), telem::metrics::CallbackError> {
        r.gauge("pipeline_sampled_gauge").unwrap().set(42);
        Ok(())
    }
    telem::metrics::global().register_callback(callback);
    pipeline.drain_now().await;
    pipeline.drain_now().await; // the second tick sees the first one's export
    let snapshot = memory.latest_metrics().unwrap();
    let find = |name: &str| snapshot.metrics.iter().find(|f| &*f.name == name);
    assert_eq!(
        find("pipeline_sampled_gauge").unwrap().series[0].value,
        MetricValue::I64(42)
    );
    let recorded = find("telemetry_spans_recorded_total").unwrap();
    assert!(recorded.is_monotonic());
    assert_eq!(
        recorded.series[0].value,
        MetricValue::U64(snapshot.pipeline.spans_recorded)
    );
    assert!(snapshot.pipeline.spans_recorded >= 5);
    // Turned off in the config.
    assert_eq!(
        find("tokio_workers").unwrap().series[0].value,
        MetricValue::I64(-1)
    );
    assert_eq!(
        find("process_open_fds").unwrap().series[0].value,
        MetricValue::F64(-1.0)
    );
    assert!(find("telemetry_drains_total").is_some());
    pipeline.shutdown().await;
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let _slot = common::no_pipeline().await;
    let memory = Arc::new(InMemorySink::new(100));
    let pipeline = telem::init(
        Config::new()
            .with_sink(memory.clone())
            .with_metrics(MetricsConfig::new().with_enabled(false)),
    )
    .unwrap();
    pipeline.drain_now().await;
    assert!(memory.latest_metrics().unwrap().metrics.is_empty());
    pipeline.shutdown().await;
}

#[tokio::test]
async fn cardinality_limit_out_of_range_is_refused() {
    let _slot = common::no_pipeline().await;
    let err =
        telem::init(Config::new().with_metrics(MetricsConfig::new().with_cardinality_limit(0)))
            .unwrap_err();
    assert!(
        err.to_string().contains("`metrics.cardinality_limit`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_sink_with_its_own_registry_renders_it_at_each_tick() {
    let _slot = common::no_pipeline().await;
    let local = Registry::new();
    local.gauge("local_only").unwrap().set(7);
    let sink = Arc::new(PrometheusSink::from_registry(local.clone()));
    let pipeline = telem::init(Config::new().with_sink(sink.clone())).unwrap();
    pipeline.drain_now().await;
    let body = sink.scrape("text/plain").body;
    assert_eq!(&**body, b"# TYPE local_only gauge\nlocal_only 7\n");
    pipeline.shutdown().await;
}
