//! Every route through `oneshot`: status codes, JSON bodies and headers.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bookstore::store::{Book, Genre};
use bookstore::{BookReviews, ErrorBody};
use common::{app, get, post_json, send};
use std::sync::Arc;
use telem::PrometheusSink;
use telem_axum::MetricsEndpoint;

async fn bookstore() -> axum::Router {
    app(Arc::new(PrometheusSink::new())).await
}

fn error(answer: &common::Answer) -> String {
    answer.json::<ErrorBody>().error
}

#[tokio::test]
async fn books_lists_the_seeded_books_and_filters_by_genre_and_word() {
    let app = bookstore().await;
    let all = get(&app, "/books").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.headers["content-type"], "application/json");
    let books: Vec<Book> = all.json();
    assert_eq!(
        books.iter().map(|b| b.title.as_str()).collect::<Vec<_>>(),
        ["Dune", "The Hobbit", "A Brief History of Time", "SPQR"]
    );

    let fantasy: Vec<Book> = get(&app, "/books?genre=fantasy").await.json();
    assert_eq!(fantasy.len(), 1);
    assert_eq!(fantasy[0].genre, Genre::Fantasy);
    let by_word: Vec<Book> = get(&app, "/books?q=Hawking").await.json();
    assert_eq!(by_word.iter().map(|b| b.id).collect::<Vec<_>>(), [3]);
    let none: Vec<Book> = get(&app, "/books?genre=fantasy&q=dune").await.json();
    assert!(none.is_empty());
}

#[tokio::test]
async fn a_bad_query_string_is_a_400_saying_what_is_wrong() {
    let app = bookstore().await;
    let answer = get(&app, "/books?genre=poetry").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        error(&answer).contains("unknown variant `poetry`"),
        "{}",
        error(&answer)
    );
    let answer = get(&app, "/books?colour=red").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        error(&answer).contains("unknown field `colour`"),
        "{}",
        error(&answer)
    );
}

#[tokio::test]
async fn a_book_by_id_or_a_404_or_a_400() {
    let app = bookstore().await;
    let answer = get(&app, "/books/2").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json::<Book>(),
        Book {
            id: 2,
            title: "The Hobbit".to_owned(),
            author: "J. R. R. Tolkien".to_owned(),
            genre: Genre::Fantasy,
        }
    );
    let missing = get(&app, "/books/99").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(error(&missing), "no book with id 99");
    let bad = get(&app, "/books/two").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        error(&bad).contains("Cannot parse `two`"),
        "{}",
        error(&bad)
    );
}

#[tokio::test]
async fn a_posted_book_is_created_with_its_location_and_can_be_read_back() {
    let app = bookstore().await;
    let created = post_json(
        &app,
        "/books",
        r#"{"title": " Cosmos ", "author": "Carl Sagan", "genre": "science"}"#,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let book: Book = created.json();
    assert_eq!(book.id, 5, "after the four seeded books");
    assert_eq!(book.title, "Cosmos", "trimmed");
    assert_eq!(created.headers["location"], "/books/5");
    assert_eq!(get(&app, "/books/5").await.json::<Book>(), book);
    let found: Vec<Book> = get(&app, "/books?q=sagan").await.json();
    assert_eq!(found, [book]);
}

#[tokio::test]
async fn bad_book_bodies_are_400s_naming_the_problem() {
    let app = bookstore().await;
    let cases = [
        (
            r#"{"title": "  ", "author": "Carl Sagan", "genre": "science"}"#,
            "`title` must be 1 to 200 characters",
        ),
        (
            r#"{"title": "Cosmos", "author": "Carl Sagan", "genre": "poetry"}"#,
            "unknown variant `poetry`",
        ),
        (
            r#"{"title": "Cosmos", "genre": "science"}"#,
            "missing field `author`",
        ),
        (
            r#"{"title": "Cosmos", "author": "Carl Sagan", "genre": "science", "isbn": 1}"#,
            "unknown field `isbn`",
        ),
        (r#"{"title": "Cosmos""#, "EOF while parsing"),
    ];
    for (body, why) in cases {
        let answer = post_json(&app, "/books", body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(error(&answer).contains(why), "{body}: {}", error(&answer));
    }
    let no_content_type = Request::post("/books")
        .body(Body::from(r#"{"title": "Cosmos"}"#))
        .unwrap();
    let answer = send(&app, no_content_type).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(error(&answer).contains("Content-Type: application/json"));
    let listed: Vec<Book> = get(&app, "/books").await.json();
    assert_eq!(listed.len(), 4, "nothing was added");
}

#[tokio::test]
async fn reviews_come_with_the_book_and_its_stock() {
    let app = bookstore().await;
    let answer = get(&app, "/books/1/reviews").await;
    assert_eq!(answer.status, StatusCode::OK);
    let reviews: BookReviews = answer.json();
    assert_eq!(reviews.book.title, "Dune");
    assert_eq!(
        reviews.reviews.iter().map(|r| r.stars).collect::<Vec<_>>(),
        [5, 4]
    );
    assert_eq!(reviews.in_stock, 12);
    let none: BookReviews = get(&app, "/books/3/reviews").await.json();
    assert!(none.reviews.is_empty());
    assert_eq!(none.in_stock, 0);
    assert_eq!(
        get(&app, "/books/42/reviews").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn reindex_is_accepted_at_once_for_a_known_book_only() {
    let app = bookstore().await;
    let answer = post_json(&app, "/books/1/reindex", "").await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(
        answer.json::<serde_json::Value>(),
        serde_json::json!({ "id": 1, "status": "reindexing" })
    );
    let missing = post_json(&app, "/books/42/reindex", "").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(error(&missing), "no book with id 42");
    let wrong_method = get(&app, "/books/1/reindex").await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        wrong_method.headers["allow"], "POST",
        "axum's Allow is kept"
    );
    assert_eq!(error(&wrong_method), "/books/1/reindex does not take GET");
}

#[tokio::test]
async fn ws_without_an_upgrade_is_a_json_error_with_axums_status() {
    let answer = get(&bookstore().await, "/ws").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        error(&answer).contains("Connection header"),
        "{}",
        error(&answer)
    );
}

#[tokio::test]
async fn healthz_answers_ok() {
    let answer = get(&bookstore().await, "/healthz").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "ok");
}

#[tokio::test]
async fn metrics_are_served_and_a_token_guards_them_when_set() {
    let app = bookstore().await;
    get(&app, "/books").await;
    let open = get(&app, "/metrics").await;
    assert_eq!(open.status, StatusCode::OK);
    assert!(open
        .text()
        .contains("# TYPE bookstore_search_results histogram"));

    let guarded = bookstore::app(
        bookstore::Store::seeded().await.unwrap(),
        MetricsEndpoint::new(Arc::new(PrometheusSink::new())).with_bearer_token("s3cret"),
    )
    .await
    .unwrap();
    assert_eq!(
        get(&guarded, "/metrics").await.status,
        StatusCode::UNAUTHORIZED
    );
    let with_token = Request::get("/metrics")
        .header("authorization", "Bearer s3cret")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&guarded, with_token).await.status, StatusCode::OK);
}
