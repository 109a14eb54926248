//! Per-request overhead of `telem_axum::TelemetryLayer` beside `tower-http`'s
//! `TraceLayer` with `tracing-opentelemetry` and the OpenTelemetry SDK, in one run:
//!
//! ```sh
//! cargo bench -p telem-benches --features peers --bench http
//! ```
//!
//! Every case sends the same `GET /books/{id}` through `Router::oneshot` (no network);
//! the `bare` router is the baseline, and a layer's overhead is its time minus `bare`'s.
//! Ours runs unsampled (parent-based always-off) and sampled (every request exported to
//! a discarding sink, HTTP metrics recorded); the peer exports every span through the
//! SDK's batch processor to a discarding exporter.
#![forbid(unsafe_code)]

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use criterion::Criterion;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::time::{Duration, Instant};
use telem::{Config, Sampler};
use telem_axum::TelemetryLayer;
use telem_benches::{on_runtime_cores, start_pipeline, stop_pipeline, DiscardExporter};
use tokio::runtime::Runtime;
use tower::ServiceExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

async fn book() -> &'static str {
    "a book"
}

fn router() -> Router {
    Router::new().route("/books/{id}", get(book))
}

fn request() -> http::Request<Body> {
    http::Request::get("/books/7")
        .header("host", "books.example")
        .header("user-agent", "bench/1.0")
        .body(Body::empty())
        .expect("request")
}

/// `iters` requests through `app`, each awaited to its response.
fn drive(rt: &Runtime, app: &Router, iters: u64) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let response = app.clone().oneshot(request()).await.expect("infallible");
            assert_eq!(response.status(), 200);
        }
        start.elapsed()
    })
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = telem_benches::pinned_runtime();
    let mut g = c.benchmark_group("http_request");

    let bare = router();
    g.bench_function("bare_router", |b| b.iter_custom(|n| drive(&rt, &bare, n)));

    let ours = router().layer(TelemetryLayer::new());
    let pipeline = start_pipeline(
        &rt,
        Config::new().with_sampler(Sampler::parent_based(Sampler::AlwaysOff)),
    );
    g.bench_function("telemetry_layer/unsampled", |b| {
        b.iter_custom(|n| drive(&rt, &ours, n))
    });
    stop_pipeline(&rt, pipeline, "http unsampled");

    let pipeline = start_pipeline(&rt, Config::new());
    g.bench_function("telemetry_layer/sampled", |b| {
        b.iter_custom(|n| drive(&rt, &ours, n))
    });
    // The span alone: no HTTP metrics (which the peer does not record either).
    let spans_only = router().layer(TelemetryLayer::new().with_metrics(false));
    g.bench_function("telemetry_layer/sampled_without_metrics", |b| {
        b.iter_custom(|n| drive(&rt, &spans_only, n))
    });
    stop_pipeline(&rt, pipeline, "http sampled");

    // Built on the runtime's cores, so its batch processor thread runs there (as our
    // drain does), not on the core sending the requests.
    let provider = on_runtime_cores(|| {
        let _enter = rt.enter();
        SdkTracerProvider::builder()
            .with_batch_exporter(DiscardExporter)
            .build()
    });
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let peer = router().layer(tower_http::trace::TraceLayer::new_for_http());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(otel), || {
        g.bench_function("tower_http_trace_layer/tracing_opentelemetry", |b| {
            b.iter_custom(|n| drive(&rt, &peer, n))
        });
    });
    let _ = provider.shutdown();

    g.finish();
    c.final_summary();
}
