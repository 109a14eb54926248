//! What the bookstore logs, for an operator: `info` when a book is created, `warn` for
//! every 4xx it answers (with the status and the reason, inside the request's span and
//! trace), `error` when a background reindex fails, and a `debug` trail of the store's
//! lookups that the default level hides. Each test has its own pipeline
//! (`telem::testing`), which captures every level.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use axum::body::Body;
use bookstore::store::Book;
use bookstore::{ReindexError, Settings, Store};
use http::Request;
use std::time::Duration;
use telem::testing::{Spans, TestPipeline};
use telem::{Level, LogRecord, TraceId};
use telem_axum::testing::{send, TestResponse};

async fn app() -> axum::Router {
    bookstore::app(Store::seeded().await.unwrap(), None)
        .await
        .unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post_json(uri: &str, json: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(json.to_owned()))
        .unwrap()
}

/// The trace a response names in its `server-timing` header
/// (`trace;desc=00-<trace id>-<span id>-<flags>`): what a client sees.
fn response_trace_id(response: &TestResponse) -> TraceId {
    let timing = response.headers["server-timing"].to_str().unwrap();
    let traceparent = timing.strip_prefix("trace;desc=").unwrap();
    TraceId::from_hex(&traceparent[3..35]).unwrap()
}

/// The request id the response carries (`x-request-id`).
fn request_id(response: &TestResponse) -> String {
    response.headers["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Drains until the span `name` has ended (it ends in the background), then returns
/// every span of the test.
async fn spans_once_ended(t: &TestPipeline, name: &str) -> Spans {
    for _ in 0..1000 {
        let spans = t.spans().await;
        if !spans.all_named(name).is_empty() {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "no {name:?} span after 1000 drains:\n{}",
        t.spans().await.tree()
    );
}

#[telem::test]
async fn creating_a_book_logs_info_with_its_id_and_title(t: TestPipeline) {
    let response = send(
        &app().await,
        post_json(
            "/books",
            r#"{"title": "Cosmos", "author": "Carl Sagan", "genre": "science"}"#,
        ),
    )
    .await;
    assert_eq!(response.status, 201);
    let book: Book = serde_json::from_slice(&response.body).unwrap();
    let spans = t.spans().await;
    let logs = t.logs().await;
    logs.assert_count(Level::Info, 1)
        .assert_none_at_or_above(Level::Warn)
        .find(Level::Info, "book created")
        .assert_field("book.id", book.id as i64)
        .assert_field("book.title", "Cosmos")
        .assert_field("book.genre", "science")
        .assert_in_span(&spans, "POST /books");
}

/// `curl localhost:3000/books/999`: one `warn`, with the status and the reason, in the
/// request's server span, so its trace id is the one the response names.
#[telem::test]
async fn an_unknown_book_logs_one_warn_in_the_requests_span_and_trace(t: TestPipeline) {
    let response = send(&app().await, get("/books/999")).await;
    assert_eq!(response.status, 404);
    let spans = t.spans().await;
    let logs = t.logs().await;
    logs.assert_count(Level::Warn, 1)
        .assert_count(Level::Error, 0);
    let warn = logs
        .find(Level::Warn, "no book with id 999")
        .assert_field("http.response.status_code", 404i64)
        .assert_field("error.type", "book_not_found")
        .assert_in_span(&spans, "GET /books/{id}")
        // Bound to the request by `TelemetryLayer`.
        .assert_field("request.id", request_id(&response))
        .assert_field("http.route", "/books/{id}");
    assert_eq!(warn.record().trace_id, response_trace_id(&response));
    assert_eq!(warn.record().target.as_str(), "bookstore::routes");
}

/// Every kind of 4xx goes through `ApiError`, so each logs exactly one `warn`: a body
/// that is not JSON, one that fails validation, a path or query string that does not
/// parse, an unknown path, a method a route does not take, `/ws` without an upgrade.
#[telem::test]
async fn every_client_error_logs_one_warn_with_its_status_and_reason(t: TestPipeline) {
    let app = app().await;
    let cases = [
        (
            post_json("/books", r#"{"title": "Cosmos""#),
            400,
            "bad_request",
            "EOF while parsing",
        ),
        (
            post_json(
                "/books",
                r#"{"title": "  ", "author": "Carl Sagan", "genre": "science"}"#,
            ),
            400,
            "bad_request",
            "`title` must be 1 to 200 characters",
        ),
        (get("/books/two"), 400, "bad_request", "Cannot parse `two`"),
        (
            get("/books?genre=poetry"),
            400,
            "bad_request",
            "unknown variant `poetry`",
        ),
        (
            get("/no/such/page"),
            404,
            "no_route",
            "no route for /no/such/page",
        ),
        (
            get("/books/1/reindex"),
            405,
            "method_not_allowed",
            "/books/1/reindex does not take GET",
        ),
        (get("/ws"), 400, "not_upgradable", "Connection header"),
    ];
    let count = cases.len();
    let mut expected = Vec::new();
    for (request, status, error_type, reason) in cases {
        let uri = request.uri().clone();
        let response = send(&app, request).await;
        assert_eq!(response.status, status, "{uri}");
        let body: bookstore::ErrorBody = serde_json::from_slice(&response.body).unwrap();
        assert!(body.error.contains(reason), "{uri}: {}", body.error);
        expected.push((status, error_type, reason, response_trace_id(&response)));
    }
    let logs = t.logs().await;
    logs.assert_count(Level::Warn, count)
        .assert_count(Level::Info, 0);
    for (status, error_type, reason, trace_id) in expected {
        let warn = logs
            .find(Level::Warn, reason)
            .assert_field("http.response.status_code", i64::from(status))
            .assert_field("error.type", error_type);
        assert_eq!(warn.record().trace_id, trace_id, "{reason}");
    }
}

/// A failure behind the bookstore (the database, the reviews service) is a 5xx whose
/// body says what is unavailable, and one `error` whose message adds the cause. A busy
/// reviews service's 503 is passed on as a 503 (try again later), its other failures
/// are a 502.
#[telem::test]
async fn a_failure_behind_the_bookstore_is_a_5xx_logged_as_an_error_with_its_cause(
    t: TestPipeline,
) {
    use axum::response::IntoResponse as _;
    use bookstore::reviews::ReviewsError;
    use bookstore::{ApiError, StoreError};
    let cases = [
        (
            ApiError::Reviews(ReviewsError::Status(
                http::StatusCode::INTERNAL_SERVER_ERROR,
            )),
            502,
            "reviews_status",
            "the reviews service is unavailable",
            "the reviews service answered 500 Internal Server Error",
        ),
        (
            ApiError::Reviews(ReviewsError::Status(http::StatusCode::SERVICE_UNAVAILABLE)),
            503,
            "reviews_status",
            "the reviews service is busy, try again later",
            "the reviews service answered 503 Service Unavailable",
        ),
        (
            ApiError::Store(StoreError::PoolTimedOut(Duration::from_secs(5))),
            503,
            "db_pool_timed_out",
            "the bookstore is busy, try again later",
            "no database connection came free within 5s",
        ),
    ];
    for (error, status, error_type, body, cause) in cases {
        let response = error.into_response();
        assert_eq!(response.status(), status);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let answer: bookstore::ErrorBody = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(answer.error, body, "the cause stays out of the body");
        t.logs()
            .await
            .find(Level::Error, cause)
            .assert_field("http.response.status_code", i64::from(status))
            .assert_field("error.type", error_type);
    }
    t.logs()
        .await
        .assert_count(Level::Error, 3)
        .assert_count(Level::Warn, 0);
}

#[telem::test]
async fn answers_that_succeed_log_no_warning(t: TestPipeline) {
    let app = app().await;
    for uri in [
        "/books",
        "/books?q=dune",
        "/books/1",
        "/books/1/reviews",
        "/healthz",
    ] {
        assert_eq!(send(&app, get(uri)).await.status, 200, "{uri}");
    }
    t.logs().await.assert_none_at_or_above(Level::Warn);
}

/// The store's lookups leave a `debug` trail, each record in the span of its query;
/// the default level (`info`, `RUST_LOG` unset) hides every one of them. The reviews
/// lookup is the reviews service's: it serves on this test's runtime, whose one thread
/// carries the test's scope (`#[telem::test]` is current-thread), so its records are the
/// test's too.
#[telem::test]
async fn the_stores_lookups_leave_a_debug_trail_the_default_level_hides(t: TestPipeline) {
    assert_eq!(
        send(&app().await, get("/books/1/reviews")).await.status,
        200
    );
    let spans = t.spans().await;
    let logs = t.logs().await;
    logs.assert_count(Level::Debug, 3);
    logs.find(Level::Debug, "book lookup")
        .assert_field("book.id", 1i64)
        .assert_field("found", true)
        .assert_field("http.route", "/books/{id}/reviews")
        .assert_in_span(&spans, "SELECT books");
    logs.find(Level::Debug, "reviews lookup")
        .assert_field("reviews", 2i64)
        .assert_field("http.route", "/reviews/{book_id}")
        .assert_in_span(&spans, "SELECT reviews");
    logs.find(Level::Debug, "stock lookup")
        .assert_field("in_stock", 12i64)
        .assert_in_span(&spans, "SELECT stock");

    let default = Settings::from_vars([("RUST_LOG", "")])
        .unwrap()
        .pipeline()
        .unwrap()
        .config
        .log_filter();
    let hidden: Vec<&LogRecord> = logs
        .iter()
        .filter(|r| !default.allows(r.target.as_str(), r.level().unwrap()))
        .collect();
    assert_eq!(hidden.len(), 3, "the whole debug trail: {hidden:?}");
    assert!(hidden
        .iter()
        .all(|r| r.level() == Some(Level::Debug) && r.target.as_str() == "bookstore::store"));
}

/// A reindex of a book that is not there fails: the store's method is what the route
/// spawns, called here directly (through HTTP the route checks the book first). It
/// logs an `error` inside its own span, which gets an error status.
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_background_reindex_logs_an_error_in_its_span(t: TestPipeline) {
    let store = Store::seeded().await.unwrap();
    let result = telem::spawn(store.reindex(999)).await.unwrap();
    assert!(
        matches!(result, Err(ReindexError::NoSuchBook(999))),
        "{result:?}"
    );
    let spans = t.spans().await;
    spans.named("Store::reindex").assert_error();
    t.logs()
        .await
        .assert_count(Level::Error, 1)
        .find(Level::Error, "reindex failed: no book with id 999")
        .assert_field("book.id", 999i64)
        .assert_field("error.type", "book_not_found")
        .assert_in_span(&spans, "Store::reindex");
}

/// The reindex job a request enqueues logs in the request's trace, after the 202.
#[telem::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_reindex_logs_in_the_trace_of_the_request_that_asked(t: TestPipeline) {
    let response = send(&app().await, post_json("/books/2/reindex", "")).await;
    assert_eq!(response.status, 202);
    let spans = spans_once_ended(&t, "process bookstore.jobs.reindex").await;
    spans
        .named("Store::reindex")
        .assert_parent("process bookstore.jobs.reindex");
    let logs = t.logs().await;
    logs.assert_count(Level::Error, 0);
    let done = logs
        .find(Level::Debug, "book reindexed")
        .assert_field("book.id", 2i64)
        .assert_field("words", 5i64) // the, hobbit, j, r, tolkien
        .assert_in_span(&spans, "Store::reindex")
        // The job carried the request's bound fields to its worker.
        .assert_field("request.id", request_id(&response));
    assert_eq!(done.record().trace_id, response_trace_id(&response));
}
