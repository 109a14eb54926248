//! The handlers, and the JSON error every failed request gets (and logs).

use crate::jobs::{Job, JobError, Jobs};
use crate::metrics;
use crate::reviews::{ReviewsClient, ReviewsError};
use crate::store::{Book, Filter, NewBook, Review, Store, StoreError};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::fmt;
use telem_axum::ws::TracedWebSocket;
use telem_axum::CurrentSpan;

/// What the handlers share: the store, and the client of the reviews service.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) reviews: ReviewsClient,
    pub(crate) jobs: Jobs,
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Store {
        state.store.clone()
    }
}

/// A failed request: its status and a JSON body `{"error": "..."}`. Every 4xx and 5xx
/// the traced routes answer is one (the rejections of the extractors, the fallback for
/// unknown paths and the one for a method a route does not take included), and turning
/// it into a response logs it, so no route can forget to: a `warn` for a 4xx, whose
/// message is the reason (the body's `error`), an `error` for a 5xx, whose message adds
/// the cause (kept out of the body), both with the fields `http.response.status_code`
/// and `error.type` ([`ApiError::error_type`]). The response is built inside the
/// handler's future, which `TelemetryLayer` polls with the request's server span
/// current: the record carries that span's trace id and span id, and the fields the
/// layer binds to the request (`request.id`, `http.route`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ApiError {
    /// 404: no book with this id.
    NotFound(u64),
    /// 400: the path, query string or body is not what the route takes.
    BadRequest(String),
    /// 404: no route for this path.
    NoRoute(String),
    /// 405: the route does not take this method (the response keeps axum's `Allow`).
    MethodNotAllowed {
        /// The method asked for.
        method: Method,
        /// The path.
        path: String,
    },
    /// 400, 405 or 426: `/ws` asked for without a WebSocket upgrade axum can make
    /// (status and reason of axum's rejection).
    NotUpgradable {
        /// The rejection's status.
        status: StatusCode,
        /// The rejection's text.
        reason: String,
    },
    /// 503 when the database's pool had no free connection in time, 500 when the
    /// database failed.
    Store(StoreError),
    /// 503 when the reviews service answered 503 (it is busy: its database's pool had no
    /// free connection in time), passed on with its meaning, try again later; 502 when it
    /// did not answer, or not with reviews.
    Reviews(ReviewsError),
    /// 503: the job could not be enqueued (the broker did not take it).
    Jobs(JobError),
}

impl ApiError {
    /// The status it answers: a 4xx for what the client asked, a 5xx for what failed
    /// behind the bookstore.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) | ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotUpgradable { status, .. } => *status,
            ApiError::Store(StoreError::PoolTimedOut(_)) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Reviews(ReviewsError::Status(StatusCode::SERVICE_UNAVAILABLE)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Reviews(_) => StatusCode::BAD_GATEWAY,
            ApiError::Jobs(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A short, stable name for the kind of error, for grouping and alerts: the
    /// `error.type` of its log record (`book_not_found`, `bad_request`, `no_route`,
    /// `method_not_allowed`, `not_upgradable`, and for a 5xx the cause's:
    /// [`StoreError::error_type`], [`ReviewsError::error_type`], [`JobError::error_type`]).
    pub const fn error_type(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "book_not_found",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::NoRoute(_) => "no_route",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::NotUpgradable { .. } => "not_upgradable",
            ApiError::Store(e) => e.error_type(),
            ApiError::Reviews(e) => e.error_type(),
            ApiError::Jobs(e) => e.error_type(),
        }
    }

    /// What failed behind a 5xx, for the log (not for the client): `None` for a 4xx.
    fn cause(&self) -> Option<String> {
        match self {
            ApiError::Store(e) => Some(e.to_string()),
            ApiError::Reviews(e) => Some(e.to_string()),
            ApiError::Jobs(e) => Some(e.to_string()),
            _ => None,
        }
    }
}

/// The reason, for a person: what the body's `error` says. For a 5xx it says what is
/// unavailable, not why (the log has that).
impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::NotFound(id) => write!(f, "no book with id {id}"),
            ApiError::BadRequest(why) => f.write_str(why),
            ApiError::NoRoute(path) => write!(f, "no route for {path}"),
            ApiError::MethodNotAllowed { method, path } => {
                write!(f, "{path} does not take {method}")
            }
            ApiError::NotUpgradable { reason, .. } => f.write_str(reason),
            ApiError::Store(StoreError::PoolTimedOut(_)) => {
                f.write_str("the bookstore is busy, try again later")
            }
            ApiError::Store(_) => f.write_str("the bookstore's database failed"),
            ApiError::Reviews(ReviewsError::Status(StatusCode::SERVICE_UNAVAILABLE)) => {
                f.write_str("the reviews service is busy, try again later")
            }
            ApiError::Reviews(_) => f.write_str("the reviews service is unavailable"),
            ApiError::Jobs(_) => f.write_str("the job queue is unavailable, try again later"),
        }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let error = self.to_string();
        match self.cause() {
            // Something behind the bookstore failed: `error`, with the cause.
            Some(cause) => telem::error!(
                http.response.status_code = status.as_u16(),
                "error.type" = self.error_type(),
                "{error}: {cause}"
            ),
            // A client error: the service did what it should, so `warn`.
            None => telem::warn!(
                http.response.status_code = status.as_u16(),
                "error.type" = self.error_type(),
                "{error}"
            ),
        }
        (status, Json(ErrorBody { error })).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::Store(error)
    }
}

impl From<ReviewsError> for ApiError {
    fn from(error: ReviewsError) -> Self {
        ApiError::Reviews(error)
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

impl From<WebSocketUpgradeRejection> for ApiError {
    fn from(rejection: WebSocketUpgradeRejection) -> Self {
        ApiError::NotUpgradable {
            status: rejection.status(),
            reason: rejection.body_text(),
        }
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
    let books = list_books(&store, &filter).await?;
    span.set_attribute("bookstore.results", books.len() as i64);
    Ok(Json(books))
}

/// The search itself, in its own span (a child of the request's, the parent of the
/// store's `SELECT books`).
#[telem::trace("list_books", fields(bookstore.query = filter.q.as_deref().unwrap_or("")))]
async fn list_books(store: &Store, filter: &Filter) -> Result<Vec<Book>, StoreError> {
    let books = store.list(filter).await?;
    metrics::search_results(books.len());
    Ok(books)
}

/// `GET /books/{id}`
pub(crate) async fn get_book(
    State(store): State<Store>,
    span: CurrentSpan,
    id: BookId,
) -> Result<Json<Book>, ApiError> {
    let Path(id) = id?;
    let book = store.get(id).await?.ok_or(ApiError::NotFound(id))?;
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
    let book = store
        .insert(new.validate().map_err(ApiError::BadRequest)?)
        .await?;
    metrics::book_created();
    telem::info!(
        book.id = book.id,
        book.title = book.title.as_str(),
        book.genre = book.genre.as_str(),
        "book created"
    );
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

/// `GET /books/{id}/reviews`: two lookups at once, a call to the reviews service and a
/// query of the stock.
pub(crate) async fn reviews(
    State(state): State<AppState>,
    id: BookId,
) -> Result<Json<BookReviews>, ApiError> {
    let Path(id) = id?;
    let book = state.store.get(id).await?.ok_or(ApiError::NotFound(id))?;
    // The client span and the `SELECT stock` span are each current only while their
    // future is polled, so the two run concurrently as siblings under the request's span.
    let (reviews, in_stock) = tokio::join!(state.reviews.reviews(id), state.store.stock(id));
    Ok(Json(BookReviews {
        book,
        reviews: reviews?,
        in_stock: in_stock?,
    }))
}

/// `POST /books/{id}/reindex`: 202 once the job is enqueued; a worker reindexes the
/// book and enqueues a refresh of its recommendations, all in this request's trace (see
/// [`crate::jobs`]).
pub(crate) async fn reindex(
    State(state): State<AppState>,
    id: BookId,
) -> Result<impl IntoResponse, ApiError> {
    let Path(id) = id?;
    if state.store.get(id).await?.is_none() {
        return Err(ApiError::NotFound(id));
    }
    state
        .jobs
        .enqueue(Job::Reindex { book: id })
        .await
        .map_err(ApiError::Jobs)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "id": id, "status": "reindexing" })),
    ))
}

/// `GET /ws`: a WebSocket that echoes text messages, with a span per connection.
pub(crate) async fn ws(
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    span: CurrentSpan,
) -> Result<Response, ApiError> {
    Ok(telem_axum::ws::traced(upgrade?, &span, echo))
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

/// The fallback: a path no route takes.
pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}

/// The fallback of a route asked for with a method it does not take.
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method,
        path: uri.path().to_owned(),
    }
}

/// `GET /healthz`
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 503 of the reviews service (busy: try again later) is passed on as a 503; any
    /// other failure of it is the bookstore's upstream failing, a 502.
    #[test]
    fn a_busy_reviews_service_is_a_503_and_other_failures_a_502() {
        let answered = |status| ApiError::Reviews(ReviewsError::Status(status));
        let busy = answered(StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            busy.to_string(),
            "the reviews service is busy, try again later"
        );
        assert_eq!(busy.error_type(), "reviews_status");
        for status in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::NOT_FOUND,
            StatusCode::BAD_GATEWAY,
        ] {
            assert_eq!(
                answered(status).status(),
                StatusCode::BAD_GATEWAY,
                "{status}"
            );
        }
        let unreadable = ApiError::Reviews(ReviewsError::Request("bad uri".to_owned()));
        assert_eq!(unreadable.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(unreadable.to_string(), "the reviews service is unavailable");
    }
}
