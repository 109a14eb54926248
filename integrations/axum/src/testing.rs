//! Testing an axum app with its telemetry (feature `testing`): the router gets the
//! layer wired to the test's own pipeline, and requests go through `oneshot`.

use crate::TelemetryLayer;
use axum::body::{Body, Bytes};
use axum::Router;
use http::{HeaderMap, Request, StatusCode};
use telem::testing::TestPipeline;
use tower::ServiceExt as _;

/// `router` with a [`TelemetryLayer`] whose HTTP metrics go to the test's registry (its
/// spans go to the test's pipeline like every span started in the test).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use axum::{routing::get, Router};
/// use telem::testing::TestPipeline;
/// use telem_axum::testing::{send, traced};
///
/// let t = TestPipeline::start();
/// let app = traced(Router::new().route("/books/{id}", get(|| async { "a book" })), &t);
/// let response = send(&app, http::Request::get("/books/7").body(Default::default()).unwrap()).await;
/// assert_eq!(response.status, 200);
/// assert_eq!(response.text(), "a book");
///
/// t.spans().await.named("GET /books/{id}").assert_attribute("http.response.status_code", 200i64);
/// t.metrics().assert_histogram_count(
///     "http_server_request_duration_seconds",
///     &[("http_request_method", "GET"), ("http_route", "/books/{id}"), ("http_response_status_code", "200")],
///     1,
/// );
/// # }
/// ```
pub fn traced(router: Router, t: &TestPipeline) -> Router {
    router.layer(TelemetryLayer::new().with_metrics_registry(t.registry()))
}

/// A response read to the end.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl TestResponse {
    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` through `router` (no network) and reads the whole response.
///
/// # Panics
/// If the body cannot be read (a test failure, with the error).
pub async fn send(router: &Router, request: Request<Body>) -> TestResponse {
    let response = match router.clone().oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_else(|e| panic!("reading the response body failed: {e}"));
    TestResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}
