//! The reviews service, and the bookstore's traced HTTP client for it.
//!
//! The service is a small router of its own, `GET /reviews/{book_id}` answering the
//! book's reviews as JSON from the store, served on another local port
//! (`127.0.0.1`, a port the system picks) by a task [`ReviewsClient::start`] spawns. The
//! bookstore calls it for `GET /books/{id}/reviews` with `reqwest`, through
//! `telem_axum::ClientTraceLayer`: `reqwest::Client` wrapped in `tower::service_fn`,
//! converting the `http::Request` the layer hands on into a `reqwest::Request` and
//! `reqwest`'s response back into an `http::Response`. So one request is one trace: the
//! bookstore's server span, its client span (`GET`, a child of the server span), and the
//! reviews service's server span (`GET /reviews/{book_id}`, a child of the client span
//! through the `traceparent` the layer sends), with the store's `SELECT reviews` under it.
//!
//! The service runs as long as a clone of its client lives: the last one dropped stops
//! it, so a router dropped at the end of a test takes its reviews service along.

use crate::store::{Review, Store};
use crate::ApiError;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use http_body_util::BodyExt as _;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use telem_axum::{ClientTraceLayer, TelemetryLayer};
use tokio::task::JoinHandle;
use tower::util::BoxCloneSyncService;
use tower::{Layer as _, ServiceExt as _};

/// The reviews service's one route.
pub const ROUTE: &str = "/reviews/{book_id}";

/// The longest a call to the reviews service may take, connecting included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The reviews service's router over `store`: `GET /reviews/{book_id}`, the book's
/// reviews as a JSON list (empty for a book without any), traced by `TelemetryLayer`.
/// A failed query answers 500 or 503 ([`ApiError`]).
pub fn router(store: Store) -> Router {
    Router::new()
        .route(ROUTE, get(reviews))
        .with_state(store)
        .layer(TelemetryLayer::new())
}

/// `GET /reviews/{book_id}`
async fn reviews(
    State(store): State<Store>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<Vec<Review>>, ApiError> {
    let Path(id) = id?;
    Ok(Json(store.reviews(id).await?))
}

/// The HTTP client under the trace layer: `reqwest` as a tower service of `http` types.
type HttpClient = BoxCloneSyncService<
    http::Request<reqwest::Body>,
    http::Response<reqwest::Body>,
    reqwest::Error,
>;

/// The bookstore's client of the reviews service, which it also keeps running: the
/// service stops when the last clone of its client is dropped.
#[derive(Clone)]
pub struct ReviewsClient {
    addr: SocketAddr,
    http: HttpClient,
    _service: Arc<ServiceTask>,
}

/// The reviews service's task, stopped when dropped.
struct ServiceTask(JoinHandle<()>);

impl Drop for ServiceTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl fmt::Debug for ReviewsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReviewsClient")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ReviewsClient {
    /// Starts the reviews service over `store` on `127.0.0.1` (a free port) and returns
    /// its client. Needs a tokio runtime, which runs the service.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = bookstore::Store::seeded().await.unwrap();
    /// let reviews = bookstore::reviews::ReviewsClient::start(store).await.unwrap();
    /// assert_eq!(reviews.reviews(2).await.unwrap()[0].reviewer, "carol");
    /// # }
    /// ```
    pub async fn start(store: Store) -> Result<Self, StartError> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(StartError::Listen)?;
        let addr = listener.local_addr().map_err(StartError::Listen)?;
        let client = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            // Local calls only: never through a proxy from the environment.
            .no_proxy()
            .build()
            .map_err(StartError::Client)?;
        let send = tower::service_fn(move |request: http::Request<reqwest::Body>| {
            let client = client.clone();
            async move {
                let request = reqwest::Request::try_from(request)?;
                let response = client.execute(request).await?;
                Ok::<_, reqwest::Error>(http::Response::from(response))
            }
        });
        let http = BoxCloneSyncService::new(ClientTraceLayer::new().layer(send));
        let service = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router(store)).await {
                telem::error!("the reviews service stopped: {e}");
            }
        });
        Ok(Self {
            addr,
            http,
            _service: Arc::new(ServiceTask(service)),
        })
    }

    /// Where the reviews service listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The reviews of book `id`, from the reviews service: `GET /reviews/{id}`, in a
    /// client span (a child of the current span) whose context the request carries.
    pub async fn reviews(&self, id: u64) -> Result<Vec<Review>, ReviewsError> {
        let request = http::Request::get(format!("http://{}/reviews/{id}", self.addr))
            .body(reqwest::Body::from(Vec::new()))
            .map_err(|e| ReviewsError::Request(e.to_string()))?;
        let response = self
            .http
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| ReviewsError::Unreachable(Arc::new(e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ReviewsError::Status(status));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ReviewsError::Unreachable(Arc::new(e)))?
            .to_bytes();
        serde_json::from_slice(&body).map_err(|e| ReviewsError::Body(Arc::new(e)))
    }
}

/// The reviews service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// No local port to listen on.
    #[error("the reviews service cannot listen on 127.0.0.1: {0}")]
    Listen(std::io::Error),
    /// `reqwest` could not build its client.
    #[error("the reviews service's HTTP client cannot start: {0}")]
    Client(reqwest::Error),
}

/// A call to the reviews service that failed. Cheap to clone.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewsError {
    /// The request could not be built.
    #[error("cannot build the request to the reviews service: {0}")]
    Request(String),
    /// No answer: the connection failed, or the call took longer than [`CALL_TIMEOUT`].
    #[error("the reviews service did not answer: {0}")]
    Unreachable(Arc<reqwest::Error>),
    /// An answer that is not a success.
    #[error("the reviews service answered {0}")]
    Status(http::StatusCode),
    /// A success whose body is not a JSON list of reviews.
    #[error("the reviews service's answer is not a list of reviews: {0}")]
    Body(Arc<serde_json::Error>),
}

impl ReviewsError {
    /// A short, stable name for the kind of failure: the `error.type` of its log record.
    pub const fn error_type(&self) -> &'static str {
        match self {
            ReviewsError::Request(_) => "reviews_request",
            ReviewsError::Unreachable(_) => "reviews_unreachable",
            ReviewsError::Status(_) => "reviews_status",
            ReviewsError::Body(_) => "reviews_body",
        }
    }
}
