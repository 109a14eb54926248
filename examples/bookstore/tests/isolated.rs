//! The same app tested with `telem::testing`: each test has its own pipeline, so
//! these run in parallel (no turn-taking) and see only their own spans and metrics.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use std::sync::Arc;
use telem::testing::TestPipeline;
use telem::PrometheusSink;
use telem_axum::testing::send;
use telem_axum::MetricsEndpoint;

fn app() -> axum::Router {
    bookstore::app(
        bookstore::Store::seeded(),
        MetricsEndpoint::new(Arc::new(PrometheusSink::new())),
    )
}

fn get(uri: &str) -> http::Request<axum::body::Body> {
    http::Request::get(uri).body(Default::default()).unwrap()
}

#[telem::test]
async fn listing_books_records_the_handler_under_the_request(t: TestPipeline) {
    let response = send(&app(), get("/books")).await;
    assert_eq!(response.status, 200);
    let spans = t.spans().await;
    spans
        .assert_chain(&["GET /books", "list_books"])
        .assert_no_errors();
    spans
        .named("GET /books")
        .assert_attribute("http.response.status_code", 200i64)
        .assert_attribute("http.route", "/books")
        .assert_root();
}

#[telem::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewing_books_counts_them_by_genre_in_this_test_only(t: TestPipeline) {
    let app = app();
    for id in [1, 1, 2] {
        assert_eq!(send(&app, get(&format!("/books/{id}"))).await.status, 200);
    }
    // Three views in this test's own registry, whatever the tests beside it do.
    let m = t.metrics();
    m.assert_present("bookstore_books_viewed_total");
    let total: i128 = ["fiction", "fantasy", "science"]
        .iter()
        .filter_map(|g| m.counter("bookstore_books_viewed_total", &[("genre", g)]))
        .sum();
    assert_eq!(total, 3);
    t.spans().await.assert_count(3);
}

#[telem::test]
async fn an_unknown_book_is_a_404_without_error_status(t: TestPipeline) {
    assert_eq!(send(&app(), get("/books/999")).await.status, 404);
    t.spans()
        .await
        .named("GET /books/{id}")
        .assert_attribute("http.response.status_code", 404i64)
        .assert_no_attribute("error.type");
}
