//! The handlers, and the JSON error every failed request gets.

use crate::metrics;
use crate::store::{Book, Filter, NewBook, Review, Store};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use telem_axum::ws::TracedWebSocket;
use telem_axum::CurrentSpan;

/// A failed request: its status and a JSON body `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 404: no book with this id.
    NotFound(u64),
    /// 400: the path, query string or body is not what the route takes.
    BadRequest(String),
    /// 404: no route for this path.
    NoRoute(String),
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = match self {
            ApiError::NotFound(id) => (StatusCode::NOT_FOUND, format!("no book with id {id}")),
            ApiError::BadRequest(why) => (StatusCode::BAD_REQUEST, why),
            ApiError::NoRoute(path) => (StatusCode::NOT_FOUND, format!("no route for {path}")),
        };
        (status, Json(ErrorBody { error })).into_response()
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

type BookId = Result<Path<u64>, PathRejection>;

/// `GET /books?genre=fantasy&q=word`
pub(crate) async fn list(
    State(store): State<Store>,
    span: CurrentSpan,
    query: Result<Query<Filter>, QueryRejection>,
) -> Result<Json<Vec<Book>>, ApiError> {
    let Query(filter) = query?;
    let books = list_books(&store, &filter);
    span.set_attribute("bookstore.results", books.len() as i64);
    Ok(Json(books))
}

/// The search itself, in its own span (a child of the request's).
#[telem::trace("list_books", fields(bookstore.query = filter.q.as_deref().unwrap_or("")))]
fn list_books(store: &Store, filter: &Filter) -> Vec<Book> {
    let books = store.list(filter);
    metrics::search_results(books.len());
    books
}

/// `GET /books/{id}`
pub(crate) async fn get_book(
    State(store): State<Store>,
    span: CurrentSpan,
    id: BookId,
) -> Result<Json<Book>, ApiError> {
    let Path(id) = id?;
    let book = store.get(id).ok_or(ApiError::NotFound(id))?;
    span.set_attribute("bookstore.genre", book.genre.as_str());
    metrics::book_viewed(book.genre);
    Ok(Json(book))
}

/// `POST /books` with a JSON [`NewBook`]: 201 with the book and its `Location`.
pub(crate) async fn create(
    State(store): State<Store>,
    body: Result<Json<NewBook>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(new) = body?;
    let book = store.insert(new.validate().map_err(ApiError::BadRequest)?);
    metrics::book_created();
    let location = format!("/books/{}", book.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(book),
    ))
}

/// What `GET /books/{id}/reviews` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookReviews {
    /// The book.
    pub book: Book,
    /// Its reviews.
    pub reviews: Vec<Review>,
    /// Copies in stock.
    pub in_stock: u32,
}

/// `GET /books/{id}/reviews`: two lookups at once.
pub(crate) async fn reviews(
    State(store): State<Store>,
    id: BookId,
) -> Result<Json<BookReviews>, ApiError> {
    let Path(id) = id?;
    let book = store.get(id).ok_or(ApiError::NotFound(id))?;
    // Each `#[trace]` async fn's span is current only while that fn is polled, so
    // the two run concurrently as siblings under the request's span.
    let (reviews, in_stock) = tokio::join!(store.reviews(id), store.stock(id));
    Ok(Json(BookReviews {
        book,
        reviews,
        in_stock,
    }))
}

/// `POST /books/{id}/reindex`: 202 at once, the work goes on in the background.
pub(crate) async fn reindex(
    State(store): State<Store>,
    id: BookId,
) -> Result<impl IntoResponse, ApiError> {
    let Path(id) = id?;
    if store.get(id).is_none() {
        return Err(ApiError::NotFound(id));
    }
    // `telem::spawn` carries the request's context into the task, so the
    // `Store::reindex` span is a child of this request's span although it ends later.
    drop(telem::spawn(store.reindex(id)));
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "id": id, "status": "reindexing" })),
    ))
}

/// `GET /ws`: a WebSocket that echoes text messages, with a span per connection.
pub(crate) async fn ws(upgrade: WebSocketUpgrade, span: CurrentSpan) -> Response {
    telem_axum::ws::traced(upgrade, &span, echo)
}

async fn echo(mut socket: TracedWebSocket) {
    // Ends after the close handshake (the next `recv` after a close frame sends the
    // reply and returns `None`) or when the connection fails. Pings are answered for
    // us; binary messages are not part of this protocol and are ignored.
    while let Some(Ok(message)) = socket.recv().await {
        if let Message::Text(text) = message {
            metrics::ws_message();
            if socket.send(Message::Text(text)).await.is_err() {
                break;
            }
        }
    }
}

/// `GET /healthz`
/// The fallback: a path no route takes.
pub(crate) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}

pub(crate) async fn healthz() -> &'static str {
    "ok"
}
