//! Metric snapshots through a real pipeline to the fake collector: sums (monotonic and
//! not, cumulative and delta), gauges and histograms with bounds, counts, sums and
//! exemplars, decoded with independent OTLP types.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use common::{Collector, Received, ONE_PIPELINE};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, Metric, ResourceMetrics};
use telem::metrics::{global, MetricValue};
use telem::Tracer;
use telem_otlp::{OtlpSink, Protocol, Temporality};

static TRACER: Tracer = Tracer::new("jobs");

/// The metric `name` of a metrics request, and the request's resource metrics.
fn find(request: &Received, name: &str) -> (Metric, ResourceMetrics) {
    let metrics = request.metrics();
    let rm = metrics.resource_metrics[0].clone();
    let metric = rm.scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("metric {name} not exported"))
        .clone();
    (metric, rm)
}

async fn every_kind(protocol: Protocol) {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(common::metrics_exporter(&collector, protocol, "jobs")).unwrap();
    let telemetry = common::start_metrics(&otlp);

    let prefix = match protocol {
        Protocol::HttpJson => "json",
        _ => "pb",
    };
    let (jobs, temperature, inflight, latency) = (
        format!("{prefix}_jobs_total"),
        format!("{prefix}_temperature_celsius"),
        format!("{prefix}_jobs_inflight"),
        format!("{prefix}_job_duration_seconds"),
    );
    let r = global();
    r.describe(&jobs, "Jobs run.").unwrap();
    r.describe_with_unit(&latency, "seconds", "Job duration.")
        .unwrap();
    let jobs_family = r.counter_family(&jobs, &["queue"]).unwrap();
    let histogram = r
        .histogram_family(&latency, &["queue"], &[0.1, 1.0])
        .unwrap()
        .get(&["mail"])
        .unwrap();
    let (trace_id, span_id) = TRACER.in_span("job", |span| {
        jobs_family.get(&["mail"]).unwrap().increment(5);
        histogram.record(0.05);
        histogram.record(0.5);
        histogram.record(5.0);
        let ctx = span.context();
        (ctx.trace_id, ctx.span_id)
    });
    jobs_family.get(&["print"]).unwrap().increment(2);
    // An empty label value is an absent label, in OTLP as in Prometheus.
    let outcomes = format!("{prefix}_job_outcomes_total");
    let outcome_family = r
        .counter_family(&outcomes, &["queue", "error_type"])
        .unwrap();
    outcome_family.get(&["mail", ""]).unwrap().increment(1);
    outcome_family
        .get(&["mail", "timeout"])
        .unwrap()
        .increment(1);
    r.gauge_f64(&temperature).unwrap().set(21.5);
    r.up_down_counter(&inflight).unwrap().add(-3);

    telemetry.drain_now().await;
    let received = collector.wait_for("/v1/metrics", 1).await;
    let request = received.last().unwrap();
    assert_eq!(
        request.content_type,
        match protocol {
            Protocol::HttpJson => "application/json",
            _ => "application/x-protobuf",
        }
    );
    let registry_view = r.snapshot();
    let series_start = |name: &str, label: Option<&str>| {
        let f = registry_view.iter().find(|f| &*f.name == name).unwrap();
        f.series
            .iter()
            .find(|s| label.is_none_or(|l| s.labels.get("queue") == Some(l)))
            .unwrap()
            .start_time_unix_nano
    };

    // Resource and scope.
    let (counter, rm) = find(request, &jobs);
    let service = rm
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .unwrap();
    assert_eq!(
        service.value.as_ref().unwrap().value,
        Some(any_value::Value::StringValue("jobs".into()))
    );
    let scope = rm.scope_metrics[0].scope.as_ref().unwrap();
    assert_eq!(scope.name, "telem");
    assert_eq!(scope.version, telem_otlp::SDK_VERSION);

    let (outcome, _) = find(request, &outcomes);
    let Some(metric::Data::Sum(sum)) = &outcome.data else {
        panic!("{outcomes} should be a sum: {outcome:?}")
    };
    let mut keys: Vec<Vec<&str>> = sum
        .data_points
        .iter()
        .map(|p| p.attributes.iter().map(|kv| kv.key.as_str()).collect())
        .collect();
    keys.sort();
    assert_eq!(keys, [vec!["queue"], vec!["queue", "error_type"]]);

    // A counter: a monotonic cumulative sum, one point per label set, with its exemplar.
    assert_eq!(counter.description, "Jobs run.");
    let Some(metric::Data::Sum(sum)) = &counter.data else {
        panic!("{jobs} should be a sum: {counter:?}")
    };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2);
    assert_eq!(sum.data_points.len(), 2);
    let mail = sum
        .data_points
        .iter()
        .find(|p| {
            p.attributes[0].key == "queue"
                && p.attributes[0].value.as_ref().unwrap().value
                    == Some(any_value::Value::StringValue("mail".into()))
        })
        .unwrap();
    assert_eq!(mail.value, Some(number_data_point::Value::AsInt(5)));
    assert_eq!(mail.start_time_unix_nano, series_start(&jobs, Some("mail")));
    assert!(mail.time_unix_nano >= mail.start_time_unix_nano);
    assert_eq!(mail.exemplars.len(), 1);
    let e = &mail.exemplars[0];
    assert_eq!(e.trace_id, trace_id.to_bytes());
    assert_eq!(e.span_id, span_id.to_bytes());
    assert_eq!(
        e.value,
        Some(opentelemetry_proto::tonic::metrics::v1::exemplar::Value::AsDouble(5.0))
    );
    assert!(e.time_unix_nano > 0);
    let print = sum
        .data_points
        .iter()
        .find(|p| p.value == Some(number_data_point::Value::AsInt(2)));
    assert!(
        print.unwrap().exemplars.is_empty(),
        "recorded outside a span"
    );

    // A gauge: no start time.
    let (gauge, _) = find(request, &temperature);
    let Some(metric::Data::Gauge(g)) = &gauge.data else {
        panic!("{temperature} should be a gauge")
    };
    assert_eq!(g.data_points.len(), 1);
    assert_eq!(
        g.data_points[0].value,
        Some(number_data_point::Value::AsDouble(21.5))
    );
    assert_eq!(g.data_points[0].start_time_unix_nano, 0);
    assert!(g.data_points[0].attributes.is_empty());

    // An up-down counter: a cumulative sum that is not monotonic.
    let (updown, _) = find(request, &inflight);
    let Some(metric::Data::Sum(s)) = &updown.data else {
        panic!("{inflight} should be a sum")
    };
    assert!(!s.is_monotonic);
    assert_eq!(s.aggregation_temporality, 2);
    assert_eq!(
        s.data_points[0].value,
        Some(number_data_point::Value::AsInt(-3))
    );

    // A histogram: bounds, per-bucket counts, count, sum, exemplars, unit in UCUM.
    let (hist, _) = find(request, &latency);
    assert_eq!(hist.unit, "s");
    assert_eq!(hist.description, "Job duration.");
    let Some(metric::Data::Histogram(h)) = &hist.data else {
        panic!("{latency} should be a histogram")
    };
    assert_eq!(h.aggregation_temporality, 2);
    let p = &h.data_points[0];
    assert_eq!(p.explicit_bounds, [0.1, 1.0]);
    assert_eq!(p.bucket_counts, [1, 1, 1]);
    assert_eq!(p.count, 3);
    assert!((p.sum.unwrap() - 5.55).abs() < 1e-9);
    assert_eq!(p.start_time_unix_nano, series_start(&latency, None));
    assert_eq!(p.exemplars.len(), 3, "one per bucket");
    for e in &p.exemplars {
        assert_eq!(e.trace_id, trace_id.to_bytes());
        assert_eq!(e.span_id, span_id.to_bytes());
    }

    if protocol == Protocol::HttpJson {
        // 64-bit integers as strings, enums as integers (read from the raw JSON).
        let v = request.json();
        let metrics = v["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
            .as_array()
            .unwrap();
        let m = metrics.iter().find(|m| m["name"] == jobs.as_str()).unwrap();
        let point = &m["sum"]["dataPoints"][0];
        assert!(point["asInt"].is_string());
        assert!(point["startTimeUnixNano"].is_string());
        assert!(point["timeUnixNano"].is_string());
        assert_eq!(m["sum"]["aggregationTemporality"], 2);
        assert_eq!(m["sum"]["isMonotonic"], true);
        let h = metrics
            .iter()
            .find(|m| m["name"] == latency.as_str())
            .unwrap();
        let point = &h["histogram"]["dataPoints"][0];
        assert_eq!(point["count"], "3");
        assert_eq!(point["bucketCounts"], serde_json::json!(["1", "1", "1"]));
        assert_eq!(point["explicitBounds"], serde_json::json!([0.1, 1.0]));
        assert!(point["exemplars"][0]["traceId"].as_str().unwrap().len() == 32);
    }

    telemetry.shutdown().await;
    let stats = otlp.stats();
    assert!(stats.points_sent >= 5, "{stats:?}");
    assert_eq!(stats.points_failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_kind_as_json() {
    every_kind(Protocol::HttpJson).await;
}

#[cfg(feature = "protobuf")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_kind_as_protobuf() {
    every_kind(Protocol::HttpProtobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_temporality_reports_changes_since_the_last_export() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let otlp = OtlpSink::new(
        common::metrics_exporter(&collector, telem_otlp::DEFAULT_PROTOCOL, "jobs")
            .with_temporality(Temporality::Delta),
    )
    .unwrap();
    let telemetry = common::start_metrics(&otlp);
    let counter = global().counter("delta_requests_total").unwrap();
    let gauge = global().gauge("delta_queue_depth").unwrap();

    counter.increment(5);
    gauge.set(10);
    telemetry.drain_now().await;
    counter.increment(3);
    gauge.set(4);
    telemetry.drain_now().await;
    let received = collector.wait_for("/v1/metrics", 2).await;

    let point = |request: &Received, name: &str| {
        let (m, _) = find(request, name);
        match m.data.unwrap() {
            metric::Data::Sum(s) => (s.aggregation_temporality, s.data_points[0].clone()),
            metric::Data::Gauge(g) => (0, g.data_points[0].clone()),
            other => panic!("{other:?}"),
        }
    };
    let (t1, first) = point(&received[0], "delta_requests_total");
    let (t2, second) = point(&received[1], "delta_requests_total");
    assert_eq!((t1, t2), (1, 1), "AGGREGATION_TEMPORALITY_DELTA");
    assert_eq!(first.value, Some(number_data_point::Value::AsInt(5)));
    assert_eq!(second.value, Some(number_data_point::Value::AsInt(3)));
    assert_eq!(
        second.start_time_unix_nano, first.time_unix_nano,
        "a delta starts where the previous one ended"
    );
    let (_, g1) = point(&received[0], "delta_queue_depth");
    let (_, g2) = point(&received[1], "delta_queue_depth");
    assert_eq!(g1.value, Some(number_data_point::Value::AsInt(10)));
    assert_eq!(
        g2.value,
        Some(number_data_point::Value::AsInt(4)),
        "gauges are not deltas"
    );
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_success_counts_the_rejected_points() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    collector.script([common::Reply::Status(
        200,
        vec![("content-type", "application/json".into())],
        br#"{"partialSuccess":{"rejectedDataPoints":"1","errorMessage":"metric name too long"}}"#
            .to_vec(),
    )]);
    let otlp = OtlpSink::new(common::metrics_exporter(
        &collector,
        Protocol::HttpJson,
        "jobs",
    ))
    .unwrap();
    let telemetry = common::start_metrics(&otlp);
    global().counter("partial_total").unwrap().increment(1);
    telemetry.drain_now().await;
    collector.wait_for("/v1/metrics", 1).await;
    let stats = otlp.stats();
    assert_eq!(stats.points_rejected, 1, "{stats:?}");
    assert_eq!(stats.partial_successes, 1);
    assert!(stats.last_error.unwrap().contains("metric name too long"));
    // The registry's families at that moment, less the one refused.
    let families = global().snapshot();
    let total: u64 = families.iter().map(|f| f.series.len() as u64).sum();
    assert!(stats.points_sent < total);
    assert!(families
        .iter()
        .any(|f| &*f.name == "partial_total" && f.series[0].value == MetricValue::U64(1)));
    telemetry.shutdown().await;
}
