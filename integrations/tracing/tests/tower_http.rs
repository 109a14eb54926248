//! A real `tracing`-instrumented crate: tower-http's `TraceLayer` on an axum router,
//! beside telem-axum's `TelemetryLayer`, in both orders. Its span nests under the
//! server span when `TelemetryLayer` is the outer layer (added last: the recommended
//! order, nothing to set); when `TraceLayer` is outer, the server span nests under its
//! span with `with_parent_from_current(true)`, and starts a trace of its own without.
//! The handler's `#[trace]` spans and tower-http's events are inside.

use axum::routing::get;
use axum::Router;
use std::sync::Once;
use telem::testing::TestPipeline;
use telem::{Level, SpanKind};
use telem_axum::testing::send;
use telem_axum::TelemetryLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};

fn bridge() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| telem_tracing::install().expect("nothing else installed"));
}

#[telem::trace]
async fn load_book() -> &'static str {
    tokio::task::yield_now().await;
    "a book"
}

async fn handler() -> &'static str {
    load_book().await
}

fn trace_layer(
) -> TraceLayer<tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>>
{
    TraceLayer::new_for_http()
        .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
}

fn request() -> http::Request<axum::body::Body> {
    http::Request::get("/books/7")
        .body(axum::body::Body::empty())
        .expect("request")
}

#[tokio::test]
async fn telemetry_layer_outside_puts_tower_http_span_under_the_server_span() {
    bridge();
    let t = TestPipeline::start();
    let app = Router::new()
        .route("/books/{id}", get(handler))
        .layer(trace_layer())
        .layer(TelemetryLayer::new().with_metrics_registry(t.registry()));
    assert_eq!(send(&app, request()).await.status, 200);
    let spans = t.spans().await;
    spans
        .assert_count(3)
        .assert_chain(&["GET /books/{id}", "request", "load_book"]);
    spans
        .named("GET /books/{id}")
        .assert_kind(SpanKind::Server)
        .assert_root();
    spans
        .named("request")
        .assert_attribute("method", "GET")
        .assert_attribute("uri", "/books/7");
    // tower-http's "finished processing request" event, in its own span.
    t.logs()
        .await
        .find(Level::Info, "finished processing request")
        .assert_in_span(&spans, "request");
}

#[tokio::test]
async fn trace_layer_outside_puts_the_server_span_under_tower_http_span() {
    bridge();
    let t = TestPipeline::start();
    let app = Router::new()
        .route("/books/{id}", get(handler))
        .layer(
            TelemetryLayer::new()
                .with_metrics_registry(t.registry())
                .with_parent_from_current(true),
        )
        .layer(trace_layer());
    assert_eq!(send(&app, request()).await.status, 200);
    let spans = t.take_spans().await;
    spans
        .assert_count(3)
        .assert_chain(&["request", "GET /books/{id}", "load_book"]);
    spans.named("request").assert_root();
    t.take_logs()
        .await
        .find(Level::Info, "finished processing request")
        .assert_in_span(&spans, "request");

    // By default the server span starts a trace even under tower-http's span.
    let app = Router::new()
        .route("/books/{id}", get(handler))
        .layer(TelemetryLayer::new().with_metrics_registry(t.registry()))
        .layer(trace_layer());
    assert_eq!(send(&app, request()).await.status, 200);
    let spans = t.spans().await;
    spans.named("request").assert_root();
    spans.named("GET /books/{id}").assert_root();
    spans.named("load_book").assert_parent("GET /books/{id}");
}
