//! `#[trace]` fns called from axum handlers: under `TelemetryLayer` their spans are
//! children of the request's server span, in its trace, across `.await`, `join!` and
//! `telem::spawn`, and a handler's `#[trace(err)]` fn that fails marks its own span.
//!
//! Cross-crate: `telem-macros` (`#[trace]`), `telemetry`'s task-following context and
//! `telem-axum`'s layer.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use telem::{trace, Config, InMemorySink, SpanData, SpanKind, Status};
use telem_axum::testing::send;
use telem_axum::TelemetryLayer;

#[trace]
async fn load(id: u32) -> u32 {
    tokio::task::yield_now().await;
    id * 10
}

#[trace(kind = client)]
async fn stock(id: u32) -> u32 {
    tokio::task::yield_now().await;
    id + 1
}

#[trace]
async fn audit() {
    tokio::task::yield_now().await;
}

#[trace(err)]
async fn find(id: u32) -> Result<u32, String> {
    if id == 0 {
        Err("no book 0".to_owned())
    } else {
        Ok(id)
    }
}

async fn book(axum::extract::Path(id): axum::extract::Path<u32>) -> (StatusCode, String) {
    let Ok(id) = find(id).await else {
        return (StatusCode::NOT_FOUND, String::new());
    };
    let (loaded, in_stock) = tokio::join!(load(id), stock(id));
    telem::spawn(audit())
        .await
        .expect("the audit task does not panic");
    (StatusCode::OK, format!("{loaded} {in_stock}"))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traced_fns_in_a_handler_are_children_of_the_request_span() {
    // The only pipeline of this test binary: no need to take turns.
    let sink = Arc::new(InMemorySink::new(1000));
    let pipeline = telem::init(Config::new().with_sink(sink.clone())).unwrap();
    let app = Router::new()
        .route("/books/{id}", get(book))
        .layer(TelemetryLayer::new().with_metrics(false));

    let ok = send(&app, Request::get("/books/7").body(Body::empty()).unwrap()).await;
    assert_eq!((ok.status, ok.text().as_str()), (StatusCode::OK, "70 8"));
    let missing = send(&app, Request::get("/books/0").body(Body::empty()).unwrap()).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    pipeline.shutdown().await;
    let spans = sink.spans();
    let servers: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "GET /books/{id}")
        .collect();
    assert_eq!(servers.len(), 2, "{:?}", sink.span_names());
    assert!(servers.iter().all(|s| s.kind == SpanKind::Server));
    let (found, failed): (Vec<_>, Vec<_>) = spans
        .iter()
        .filter(|s| s.name == "find")
        .partition(|s| s.status == Status::Unset);
    assert_eq!((found.len(), failed.len()), (1, 1), "{spans:?}");
    let server = servers
        .iter()
        .find(|s| s.context.span_id == found[0].parent_span_id)
        .expect("the successful find is a child of a server span");
    let failed_server = servers
        .iter()
        .find(|s| s.context.span_id == failed[0].parent_span_id)
        .expect("the failed find is a child of the other server span");
    assert_ne!(server.context.trace_id, failed_server.context.trace_id);
    assert!(failed[0].status.is_error());

    for name in ["load", "stock", "audit"] {
        let span = one(&spans, name);
        assert_eq!(
            span.parent_span_id, server.context.span_id,
            "{name} is a child of the request's span"
        );
        assert_eq!(span.context.trace_id, server.context.trace_id);
    }
    assert_eq!(one(&spans, "stock").kind, SpanKind::Client);
}
