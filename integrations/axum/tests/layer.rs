//! The layer through `oneshot` and a real server: spans, trace context, request ids,
//! errors, panics, the extractor and metrics.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use telem::metrics::Registry;
use telem::{Config, InMemorySink, SpanData, SpanKind, Status, Value};
use telem_axum::{CurrentSpan, TelemetryLayer, Trust};
use tower::ServiceExt as _;

static ONE_PIPELINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Pipeline {
    telemetry: telem::Pipeline,
    sink: Arc<InMemorySink>,
    _slot: tokio::sync::MutexGuard<'static, ()>,
}

async fn pipeline() -> Pipeline {
    let slot = ONE_PIPELINE.lock().await;
    let sink = Arc::new(InMemorySink::new(10_000));
    let telemetry = telem::init(Config::new().with_sink(sink.clone())).unwrap();
    Pipeline {
        telemetry,
        sink,
        _slot: slot,
    }
}

impl Pipeline {
    async fn spans(self) -> Vec<SpanData> {
        self.telemetry.shutdown().await;
        self.sink.spans()
    }
}

fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "one {name:?} among {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    found[0]
}

/// The span of the request to `path`.
fn with_path<'a>(spans: &'a [SpanData], path: &'static str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.attribute("url.path") == Some(&Value::from(path)))
        .unwrap_or_else(|| panic!("no span for {path}"))
}

fn attr<'a>(span: &'a SpanData, key: &str) -> &'a Value {
    span.attribute(key)
        .unwrap_or_else(|| panic!("{key} missing from {:?}", span.attributes))
}

async fn book(span: CurrentSpan) -> String {
    span.set_attribute("books.found", 1i64);
    telem::Tracer::new("test").in_span("db.query", |_| {});
    span.request_id()
        .map(|id| id.to_string())
        .unwrap_or_default()
}

async fn panicking() -> &'static str {
    panic!("handler bug")
}

fn app(layer: TelemetryLayer) -> Router {
    Router::new()
        .route("/books/{id}", get(book))
        .route("/fail", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .route("/panic", get(panicking))
        .layer(layer)
}

fn get_request(uri: &str) -> axum::http::request::Builder {
    Request::get(uri)
        .header("host", "books.example:8080")
        .header("user-agent", "test-agent/1.0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_gets_a_server_span_named_after_its_route() {
    let p = pipeline().await;
    let response = app(TelemetryLayer::new().with_metrics(false))
        .oneshot(
            get_request("/books/7?secret=1")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let server_timing: Vec<_> = response
        .headers()
        .get_all("server-timing")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        response.headers().get("traceparent").is_none(),
        "no traceparent response header by default"
    );
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let spans = p.spans().await;
    let server = one(&spans, "GET /books/{id}");
    assert_eq!(server.kind, SpanKind::Server);
    assert!(
        !server.parent_span_id.is_valid(),
        "no inbound context: a new trace"
    );
    assert_eq!(attr(server, "http.request.method"), &Value::from("GET"));
    assert_eq!(attr(server, "http.route"), &Value::from("/books/{id}"));
    assert_eq!(attr(server, "url.path"), &Value::from("/books/7"));
    assert_eq!(attr(server, "url.scheme"), &Value::from("http"));
    assert_eq!(attr(server, "http.response.status_code"), &Value::I64(200));
    assert_eq!(
        attr(server, "server.address"),
        &Value::from("books.example")
    );
    assert_eq!(attr(server, "server.port"), &Value::I64(8080));
    assert_eq!(
        attr(server, "user_agent.original"),
        &Value::from("test-agent/1.0")
    );
    assert_eq!(
        attr(server, "network.protocol.version"),
        &Value::from("1.1")
    );
    assert_eq!(
        attr(server, "books.found"),
        &Value::I64(1),
        "set through CurrentSpan"
    );
    assert_eq!(attr(server, "request.id"), &Value::from(request_id.clone()));
    assert!(
        server
            .attributes
            .iter()
            .all(|kv| !format!("{:?}", kv.value).contains("secret")),
        "the query string is never recorded"
    );
    assert_eq!(server.status, Status::Unset);
    // The response names the server span in its `server-timing` trace metric (W3C
    // Trace Context Level 2); the handler's span is its child.
    assert_eq!(
        server_timing,
        [format!(
            "trace;desc=00-{}-{}-{:02x}",
            server.context.trace_id,
            server.context.span_id,
            server.context.flags.bits() & 0x03
        )]
    );
    assert!(server.context.is_sampled());
    let db = one(&spans, "db.query");
    assert_eq!(db.parent_span_id, server.context.span_id);
    assert_eq!(request_id.len(), 22, "a generated request id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_trace_context_is_honoured_ignored_or_linked() {
    let p = pipeline().await;
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    for (layer, path) in [
        (TelemetryLayer::new(), "/books/honour"),
        (
            TelemetryLayer::new().with_trust(Trust::Ignore),
            "/books/ignore",
        ),
        (
            TelemetryLayer::new().with_trust(Trust::LinkOnly),
            "/books/link",
        ),
    ] {
        let request = get_request(path)
            .header("traceparent", parent)
            .body(Body::empty())
            .unwrap();
        app(layer.with_metrics(false))
            .oneshot(request)
            .await
            .unwrap();
    }
    let spans = p.spans().await;
    let by_path = |path: &'static str| with_path(&spans, path);
    let honour = by_path("/books/honour");
    assert_eq!(
        honour.context.trace_id.to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(honour.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(honour.parent_is_remote);
    let ignore = by_path("/books/ignore");
    assert_ne!(
        ignore.context.trace_id.to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert!(!ignore.parent_span_id.is_valid());
    assert!(ignore.links.is_empty());
    let link = by_path("/books/link");
    assert!(!link.parent_span_id.is_valid());
    assert_eq!(link.links.len(), 1);
    assert_eq!(
        link.links[0].context.span_id.to_string(),
        "00f067aa0ba902b7"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_traceparent_starts_a_new_trace() {
    let p = pipeline().await;
    let bad = [
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // forbidden version
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", // bad hex
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // zero parent id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",  // short parent id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", // upper case
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", // extra field in 00
        "",
    ];
    for (i, header) in bad.iter().enumerate() {
        let request = get_request(&format!("/books/{i}"))
            .header("traceparent", *header)
            .body(Body::empty())
            .unwrap();
        let response = app(TelemetryLayer::new().with_metrics(false))
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "a bad header never fails the request"
        );
    }
    let spans = p.spans().await;
    let servers: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Server)
        .collect();
    assert_eq!(servers.len(), bad.len());
    for s in servers {
        assert!(
            !s.parent_span_id.is_valid(),
            "{:?} got a parent",
            s.attribute("url.path")
        );
        assert_ne!(
            s.context.trace_id.to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_accepted_only_when_safe() {
    let p = pipeline().await;
    for (sent, echoed_same) in [
        ("req-1.a_B", true),
        ("bad id!", false),
        (&*"x".repeat(129), false),
    ] {
        let request = get_request("/books/1")
            .header("x-request-id", sent)
            .body(Body::empty())
            .unwrap();
        let response = app(TelemetryLayer::new().with_metrics(false))
            .oneshot(request)
            .await
            .unwrap();
        let echoed = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(echoed == sent, echoed_same, "{sent:?} -> {echoed:?}");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(body, echoed.as_bytes(), "the handler sees the same id");
    }
    // Shut down before the next test takes its turn.
    drop(p.spans().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_panics_set_error_status() {
    let p = pipeline().await;
    let response = app(TelemetryLayer::new().with_metrics(false))
        .oneshot(get_request("/fail").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let panicked = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        app(TelemetryLayer::new().with_metrics(false))
            .oneshot(get_request("/panic").body(Body::empty()).unwrap()),
    ))
    .await;
    assert!(panicked.is_err(), "the panic reaches the server");
    let spans = p.spans().await;
    let fail = one(&spans, "GET /fail");
    assert!(matches!(fail.status, Status::Error { .. }));
    assert_eq!(attr(fail, "http.response.status_code"), &Value::I64(503));
    let panic = one(&spans, "GET /panic");
    assert!(
        matches!(&panic.status, Status::Error { description } if description.contains("panicked"))
    );
    assert_eq!(attr(panic, "http.response.status_code"), &Value::I64(500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extractor_without_the_layer_is_a_clear_500() {
    let response = Router::new()
        .route(
            "/",
            get(|span: CurrentSpan| async move { span.trace_id().to_string() }),
        )
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&body).contains("TelemetryLayer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_use_the_route_not_the_path() {
    let p = pipeline().await;
    let registry = Registry::new();
    let layer = TelemetryLayer::new().with_metrics_registry(&registry);
    for path in ["/books/1", "/books/2", "/books/3", "/nowhere/1", "/fail"] {
        app(layer.clone())
            .oneshot(get_request(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
    }
    let spans = p.spans().await;
    let openmetrics =
        String::from_utf8(registry.render(telem::metrics::Format::OpenMetrics)).unwrap();
    let fail = one(&spans, "GET /fail");
    let exemplar = format!(
        r#"trace_id="{}",span_id="{}""#,
        fail.context.trace_id, fail.context.span_id
    );
    assert!(
        openmetrics.lines().any(
            |l| l.starts_with("http_server_request_duration_seconds_bucket")
                && l.contains(&exemplar)
        ),
        "a bucket's exemplar links to the request's span {exemplar}:\n{openmetrics}"
    );
    let text = String::from_utf8(registry.render(telem::metrics::Format::Prometheus)).unwrap();
    let count = |labels: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("http_server_request_duration_seconds_count") && l.contains(labels)
            })
            .and_then(|l| l.rsplit(' ').next())
            .map(|v| v.to_owned())
    };
    assert_eq!(
        count(r#"http_route="/books/{id}",http_response_status_code="200""#).as_deref(),
        Some("3"),
        "{text}"
    );
    assert_eq!(
        count(r#"http_response_status_code="503""#).as_deref(),
        Some("1"),
        "{text}"
    );
    assert!(
        !text.contains("/books/1"),
        "no raw path becomes a label:\n{text}"
    );
    assert!(
        text.contains(
            r#"http_server_active_requests{http_request_method="GET",url_scheme="http"} 0"#
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_negotiates_the_format_and_checks_the_token() {
    let registry = Registry::new();
    registry
        .counter("endpoint_test_total")
        .unwrap()
        .increment(3);
    let sink = Arc::new(telem::PrometheusSink::from_registry(registry));
    let app: Router = telem_axum::MetricsEndpoint::new(sink)
        .with_bearer_token("s3cret")
        .into_router();
    let scrape = |auth: Option<&str>, accept: &str| {
        let mut request = Request::get("/metrics").header("accept", accept);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        app.clone().oneshot(request.body(Body::empty()).unwrap())
    };
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic s3cret"),
        Some("Bearer s3cret2"),
    ] {
        let response = scrape(auth, "text/plain").await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }
    let response = scrape(Some("Bearer s3cret"), "text/plain;version=0.0.4")
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        telem::metrics::PROMETHEUS_CONTENT_TYPE
    );
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.contains("endpoint_test_total 3\n"), "{body}");
    assert!(!body.contains("# EOF"));

    let response = scrape(
        Some("Bearer s3cret"),
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
    )
    .await
    .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        telem::metrics::OPENMETRICS_CONTENT_TYPE
    );
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&body).ends_with("# EOF\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_telemetry_off_the_layer_passes_requests_through() {
    let _slot = ONE_PIPELINE.lock().await;
    assert!(!telem::is_enabled());
    let response = app(TelemetryLayer::new().with_metrics(false))
        .oneshot(get_request("/books/1").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("traceparent").is_none());
    assert!(response.headers().get("server-timing").is_none());
    assert!(response.headers().get("x-request-id").is_none());
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    assert!(
        body.is_empty(),
        "the handler got the no-op span, without a request id"
    );
}

async fn tenant() -> String {
    telem::propagation::Baggage::current()
        .get("tenant")
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracestate_and_baggage_follow_the_trust_policy() {
    let p = pipeline().await;
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let too_many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
    let cases = [
        (
            "/t/good",
            TelemetryLayer::new(),
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7".to_owned(),
        ),
        ("/t/over", TelemetryLayer::new(), too_many.join(",")),
        (
            "/t/ignored",
            TelemetryLayer::new().with_trust(Trust::Ignore),
            "congo=x".to_owned(),
        ),
    ];
    let mut bodies = Vec::new();
    for (path, layer, state) in cases {
        let app = Router::new()
            .route("/t/{case}", get(tenant))
            .layer(layer.with_metrics(false));
        let request = get_request(path)
            .header("traceparent", parent)
            .header("tracestate", state)
            .header("baggage", "tenant=acme, region=eu%2Dwest")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        bodies.push(
            axum::body::to_bytes(response.into_body(), 1024)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        bodies[0], "acme",
        "a trusted caller's baggage reaches the handler"
    );
    assert_eq!(bodies[1], "acme");
    assert_eq!(bodies[2], "", "an ignored caller's baggage is dropped");
    let spans = p.spans().await;
    let by_path = |path: &'static str| with_path(&spans, path);
    let good = by_path("/t/good");
    assert_eq!(good.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert_eq!(good.context.state.get("congo"), Some("t61rcWkgMzE"));
    let over = by_path("/t/over");
    assert_eq!(
        over.parent_span_id.to_string(),
        "00f067aa0ba902b7",
        "traceparent still counts"
    );
    assert!(
        over.context.state.is_empty(),
        "a tracestate over 32 members is dropped whole"
    );
    assert!(by_path("/t/ignored").context.state.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_traceparent_version_is_understood() {
    let p = pipeline().await;
    let request = get_request("/books/1")
        .header(
            "traceparent",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds",
        )
        .body(Body::empty())
        .unwrap();
    app(TelemetryLayer::new().with_metrics(false))
        .oneshot(request)
        .await
        .unwrap();
    let spans = p.spans().await;
    let server = one(&spans, "GET /books/{id}");
    assert_eq!(server.parent_span_id.to_string(), "00f067aa0ba902b7");
}
