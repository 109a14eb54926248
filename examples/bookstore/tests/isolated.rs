//! The same app tested with `telem::testing`: each test has its own pipeline, so
//! these run in parallel (no turn-taking) and see only their own spans and metrics.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use std::sync::Arc;
use telem::testing::TestPipeline;
use telem::PrometheusSink;
use telem_axum::testing::send;
use telem_axum::MetricsEndpoint;

async fn app() -> axum::Router {
    bookstore::app(
        bookstore::Store::seeded().await.unwrap(),
        MetricsEndpoint::new(Arc::new(PrometheusSink::new())),
    )
    .await
    .unwrap()
}

fn get(uri: &str) -> http::Request<axum::body::Body> {
    http::Request::get(uri).body(Default::default()).unwrap()
}

#[telem::test]
async fn listing_books_records_the_handler_under_the_request(t: TestPipeline) {
    let response = send(&app().await, get("/books")).await;
    assert_eq!(response.status, 200);
    let spans = t.spans().await;
    spans
        .assert_chain(&["GET /books", "list_books", "SELECT books"])
        .assert_no_errors();
    spans
        .named("GET /books")
        .assert_attribute("http.response.status_code", 200i64)
        .assert_attribute("http.route", "/books")
        .assert_root();
}

#[telem::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewing_books_counts_them_by_genre_in_this_test_only(t: TestPipeline) {
    let app = app().await;
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
    // A server span and its `SELECT books` per request.
    let spans = t.spans().await;
    spans.assert_count(6);
    assert_eq!(spans.all_named("SELECT books").len(), 3);
}

/// Database spans, as OpenTelemetry's database conventions describe them: named
/// `{db.operation.name} {db.collection.name}`, kind client, `db.system.name`,
/// `db.operation.name`, `db.collection.name`, and `db.query.text`, the SQL with its
/// placeholders (Recommended, so recorded by default), except for a store made
/// `with_query_text(false)` (`BOOKSTORE_DB_QUERY_TEXT=false`).
#[telem::test]
async fn database_spans_follow_the_conventions_and_show_the_query_unless_turned_off(
    t: TestPipeline,
) {
    let store = bookstore::Store::seeded().await.unwrap();
    let quiet = store.clone().with_query_text(false);
    assert!(quiet.get(1).await.unwrap().is_some());
    let spans = t.spans().await;
    spans
        .named("SELECT books")
        .assert_kind(telem::SpanKind::Client)
        .assert_attribute("db.system.name", "sqlite")
        .assert_attribute("db.operation.name", "SELECT")
        .assert_attribute("db.collection.name", "books")
        .assert_attribute("book.id", 1i64)
        .assert_no_attribute("db.query.text");
    spans.assert_no_errors();

    // The default: the query's text.
    let book = store
        .insert(bookstore::store::NewBook {
            title: "Cosmos".to_owned(),
            author: "Carl Sagan".to_owned(),
            genre: bookstore::store::Genre::Science,
        })
        .await
        .unwrap();
    assert_eq!(store.stock(book.id).await.unwrap(), 0);
    let spans = t.spans().await;
    spans
        .named("INSERT books")
        .assert_attribute("db.operation.name", "INSERT")
        .assert_attribute("db.collection.name", "books")
        .assert_attribute(
            "db.query.text",
            "INSERT INTO books (title, author, genre, keywords) VALUES (?1, ?2, ?3, ?4) \
             RETURNING id",
        )
        .assert_attribute_contains("db.query.text", "?1");
    spans
        .named("SELECT stock")
        .assert_attribute("db.collection.name", "stock")
        .assert_attribute(
            "db.query.text",
            "SELECT copies FROM stock WHERE book_id = ?1",
        )
        .assert_attribute("book.id", 5i64);
    for span in spans.iter() {
        let text = span.attribute("db.query.text").map(ToString::to_string);
        assert!(
            !text.is_some_and(|text| text.contains("Cosmos") || text.contains('5')),
            "values are bound, never in the text: {span:?}"
        );
    }
}

#[telem::test]
async fn an_unknown_book_is_a_404_without_error_status(t: TestPipeline) {
    assert_eq!(send(&app().await, get("/books/999")).await.status, 404);
    t.spans()
        .await
        .named("GET /books/{id}")
        .assert_attribute("http.response.status_code", 404i64)
        .assert_no_attribute("error.type");
}
