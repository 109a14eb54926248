//! sqlx's own query events, through telem-tracing's bridge: log records of the
//! request's trace, inside the repository span that sent the query, although sqlx writes
//! them on its SQLite connection's thread. The bridge is installed once for this test
//! process, as the bookstore's `main` does.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use axum::body::Body;
use bookstore::Store;
use http::Request;
use std::sync::Once;
use telem::testing::TestPipeline;
use telem::{Level, TraceId, Value};
use telem_axum::testing::send;

fn bridge() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| telem_tracing::install().unwrap());
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[telem::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlx_query_events_are_log_records_in_the_repository_span(t: TestPipeline) {
    bridge();
    let app = bookstore::app(Store::seeded().await.unwrap(), None)
        .await
        .unwrap();
    let response = send(&app, get("/books/1")).await;
    assert_eq!(response.status, 200);
    let timing = response.headers["server-timing"].to_str().unwrap();
    let trace_id = TraceId::from_hex(&timing["trace;desc=00-".len()..][..32]).unwrap();

    let spans = t.spans().await;
    let logs = t.logs().await;
    let select = spans
        .named("SELECT books")
        .assert_parent("GET /books/{id}")
        .data();
    let queries: Vec<_> = logs
        .iter()
        .filter(|r| r.target == "sqlx::query" && r.span_id == select.context.span_id)
        .collect();
    assert_eq!(queries.len(), 1, "{:#?}", logs.iter().collect::<Vec<_>>());
    let query = queries[0];
    assert_eq!(query.trace_id, trace_id);
    assert_eq!(query.severity.level(), Some(Level::Debug));
    assert_eq!(query.field("rows_returned"), Some(&Value::I64(1)));
    let summary = query.field("summary").map(ToString::to_string).unwrap();
    assert!(summary.to_lowercase().starts_with("select"), "{summary}");
}
