//! Rejections of this crate's extractors.

use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// [`CurrentSpan`](crate::CurrentSpan) was extracted from a request that did not pass
/// through [`TelemetryLayer`](crate::TelemetryLayer). Responds 500 with a message that
/// says how to fix the router.
///
/// ```
/// use axum::response::IntoResponse;
/// let response = telem_axum::MissingTelemetryLayer.into_response();
/// assert_eq!(response.status(), 500);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "CurrentSpan needs telem_axum::TelemetryLayer: add `.layer(TelemetryLayer::new())` \
     to the router that serves this handler"
)]
pub struct MissingTelemetryLayer;

impl IntoResponse for MissingTelemetryLayer {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}
