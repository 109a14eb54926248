//! Exporters chosen the standard way: the bookstore builds its pipeline from
//! `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER` and `OTEL_LOGS_EXPORTER` (§ "Exporter
//! Selection" of OpenTelemetry's SDK environment variables), so with `otlp` in all three
//! and the endpoint on a loopback fake collector, a request's spans, the metrics and the
//! log records (the `warn` of a 404, in its request's trace) reach the collector, the
//! background jobs of a reindex in their request's trace, while
//! `/metrics` still serves Prometheus text; without `prometheus`, `/metrics` is an
//! unknown path.
//!
//! Cross-crate: the bookstore (example-bookstore), `telem-otlp`'s `EnvPipeline` and
//! OTLP sink, and `telem-axum`'s `/metrics`.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, Uri};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use std::sync::{Arc, Mutex};
use telem_axum::testing::{send, TestResponse};
use telem_axum::MetricsEndpoint;

/// A fake OTLP/HTTP collector on loopback: records each request's path and body and
/// answers 200 with an empty body (an empty protobuf `Export*ServiceResponse`: all
/// accepted). Stops when dropped.
struct Collector {
    endpoint: String,
    received: Arc<Mutex<Vec<(String, Bytes)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Collector {
    async fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let recorded = received.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
            let recorded = recorded.clone();
            async move {
                recorded.lock().unwrap().push((uri.path().to_owned(), body));
                StatusCode::OK
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            endpoint,
            received,
            task,
        }
    }

    /// The bodies received on `path`.
    fn bodies(&self, path: &str) -> Vec<Bytes> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, body)| body.clone())
            .collect()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `GET uri` through `app` (no network).
async fn get(app: &axum::Router, uri: &str) -> TestResponse {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// The log records of the OTLP/JSON logs requests, as JSON objects.
fn log_records(bodies: &[Bytes]) -> Vec<serde_json::Value> {
    let mut records = Vec::new();
    for body in bodies {
        let request: serde_json::Value = serde_json::from_slice(body).unwrap();
        for resource in request["resourceLogs"].as_array().unwrap() {
            for scope in resource["scopeLogs"].as_array().unwrap() {
                records.extend(scope["logRecords"].as_array().unwrap().iter().cloned());
            }
        }
    }
    records
}

/// The spans in the protobuf traces requests.
fn exported_spans(bodies: &[Bytes]) -> Vec<Span> {
    bodies
        .iter()
        .flat_map(|b| {
            ExportTraceServiceRequest::decode(b.as_ref())
                .unwrap()
                .resource_spans
        })
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .collect()
}

/// The spans' names in the protobuf traces requests.
fn span_names(bodies: &[Bytes]) -> Vec<String> {
    exported_spans(bodies).into_iter().map(|s| s.name).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The trace id (hex) a response's `server-timing` names.
fn response_trace_id(answer: &TestResponse) -> String {
    let timing = answer.headers["server-timing"].to_str().unwrap();
    timing["trace;desc=00-".len()..][..32].to_owned()
}

/// The metrics' names in the protobuf metrics requests.
fn metric_names(bodies: &[Bytes]) -> Vec<String> {
    bodies
        .iter()
        .flat_map(|b| {
            ExportMetricsServiceRequest::decode(b.as_ref())
                .unwrap()
                .resource_metrics
        })
        .flat_map(|r| r.scope_metrics)
        .flat_map(|s| s.metrics)
        .map(|m| m.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_for_every_signal_reaches_the_collector_and_metrics_is_still_served() {
    let collector = Collector::start().await;
    // What `OTEL_TRACES_EXPORTER=otlp OTEL_METRICS_EXPORTER=otlp,prometheus
    // OTEL_LOGS_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=… cargo run -p example-bookstore`
    // reads (logs in OTLP/JSON here, to read them without the proto crate's `logs`).
    let settings = bookstore::Settings::from_vars([
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
        ("OTEL_LOGS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint.as_str()),
        ("OTEL_SERVICE_NAME", "bookstore"),
    ])
    .unwrap();
    let env = settings.pipeline().unwrap();
    let otlp = env.otlp.clone().unwrap();
    let prometheus = env.prometheus.clone().unwrap();
    // The only pipeline of this test binary: no need to take turns.
    let telemetry = telem::init(env.config).unwrap();
    let store = bookstore::Store::seeded().await.unwrap();
    let app = bookstore::app(store, MetricsEndpoint::new(prometheus))
        .await
        .unwrap();

    let answer = get(&app, "/books/1").await;
    assert_eq!(answer.status, StatusCode::OK);
    let missing = get(&app, "/books/999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // Drains the spans and log records, hands every sink the tick's metric snapshot,
    // and flushes them: the OTLP sink has sent them all before this returns.
    telemetry.drain_now().await;

    let spans = span_names(&collector.bodies("/v1/traces"));
    assert!(spans.iter().any(|n| n == "GET /books/{id}"), "{spans:?}");
    assert!(spans.iter().any(|n| n == "SELECT books"), "{spans:?}");
    let metrics = metric_names(&collector.bodies("/v1/metrics"));
    for name in [
        "http_server_request_duration_seconds",
        "bookstore_books_viewed_total",
        "db_client_connections",
        "db_client_connection_wait_time_seconds",
    ] {
        assert!(metrics.iter().any(|n| n == name), "{name} in {metrics:?}");
    }
    let logs = log_records(&collector.bodies("/v1/logs"));
    // Only this request's warning: the other test of this binary runs the router at the
    // same time (its 404 for /metrics is a warning the running pipeline records too).
    let warns: Vec<_> = logs
        .iter()
        .filter(|r| {
            r["severityText"] == "WARN" && r["body"]["stringValue"] == "no book with id 999"
        })
        .collect();
    assert_eq!(warns.len(), 1, "{logs:#?}");
    assert_eq!(
        warns[0]["traceId"].as_str(),
        Some(response_trace_id(&missing).as_str()),
        "the 404's trace"
    );
    assert!(
        logs.iter().all(|r| r["severityText"] != "DEBUG"),
        "the default level hides the store's trail: {logs:#?}"
    );

    // The background jobs of a reindex: one trace with the request, in OTLP too.
    let reindex = send(
        &app,
        Request::post("/books/2/reindex")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(reindex.status, StatusCode::ACCEPTED);
    let trace_id = response_trace_id(&reindex);
    let last_job = "process bookstore.jobs.recommendations";
    let mut exported = Vec::new();
    for _ in 0..500 {
        telemetry.drain_now().await;
        exported = exported_spans(&collector.bodies("/v1/traces"));
        if exported.iter().any(|s| s.name == last_job) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for name in [
        "POST /books/{id}/reindex",
        "process bookstore.jobs.reindex",
        "Store::reindex",
        last_job,
    ] {
        let span = exported
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name} span exported"));
        assert_eq!(hex(&span.trace_id), trace_id, "{name}");
    }

    let scrape = get(&app, "/metrics").await;
    assert_eq!(scrape.status, StatusCode::OK);
    let text = scrape.text();
    assert!(
        text.lines()
            .any(|l| l == "bookstore_books_viewed_total{genre=\"fiction\"} 1"),
        "{text}"
    );

    telemetry.shutdown().await;
    let stats = otlp.stats();
    assert_eq!(
        (
            stats.spans_failed,
            stats.spans_dropped,
            stats.points_failed,
            stats.logs_failed,
            stats.logs_dropped
        ),
        (0, 0, 0, 0, 0),
        "{stats:?}"
    );
}

#[tokio::test]
async fn without_prometheus_metrics_is_an_unknown_path() {
    let settings = bookstore::Settings::from_vars([("OTEL_METRICS_EXPORTER", "otlp")]).unwrap();
    let env = settings.pipeline().unwrap();
    assert!(env.prometheus.is_none());
    // Not started: the router alone answers.
    let app = bookstore::app(
        bookstore::Store::seeded().await.unwrap(),
        env.prometheus.map(MetricsEndpoint::new),
    )
    .await
    .unwrap();
    let answer = get(&app, "/metrics").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
}
