//! [`MetricsEndpoint`]: `/metrics` for Prometheus, on the app's router or its own listener.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};
use std::sync::Arc;
use telem::PrometheusSink;

/// Serves the metrics a [`PrometheusSink`] keeps, in Prometheus text or OpenMetrics as
/// the scraper's `Accept` header asks (Prometheus servers ask for OpenMetrics, which
/// carries exemplars), optionally behind a bearer token.
///
/// ```
/// use std::sync::Arc;
/// use telem::PrometheusSink;
/// use telem_axum::MetricsEndpoint;
///
/// let prometheus = Arc::new(PrometheusSink::new());
/// // On the app's own router:
/// let app: axum::Router = axum::Router::new()
///     .merge(MetricsEndpoint::new(prometheus.clone()).with_bearer_token("s3cret").into_router());
/// // Or on a separate listener: MetricsEndpoint::new(prometheus).serve(listener).await
/// ```
#[derive(Clone, Debug)]
pub struct MetricsEndpoint {
    state: Arc<EndpointState>,
}

#[derive(Debug)]
struct EndpointState {
    sink: Arc<PrometheusSink>,
    token: Option<String>,
    path: String,
}

impl MetricsEndpoint {
    /// Serves `sink` at `/metrics` without authentication.
    pub fn new(sink: Arc<PrometheusSink>) -> Self {
        Self {
            state: Arc::new(EndpointState {
                sink,
                token: None,
                path: "/metrics".to_owned(),
            }),
        }
    }

    fn edit(self, f: impl FnOnce(&mut EndpointState)) -> Self {
        let mut state = EndpointState {
            sink: self.state.sink.clone(),
            token: self.state.token.clone(),
            path: self.state.path.clone(),
        };
        f(&mut state);
        Self {
            state: Arc::new(state),
        }
    }

    /// Requires `Authorization: Bearer <token>`; anything else gets 401.
    pub fn with_bearer_token(self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.edit(|s| s.token = Some(token))
    }

    /// Serves at `path` instead of `/metrics`.
    pub fn with_path(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.edit(|s| s.path = path)
    }

    /// A router with the one route, to merge into the app's.
    pub fn into_router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let path = self.state.path.clone();
        Router::new()
            .route(&path, get(scrape))
            .with_state(self.state)
    }

    /// Serves the endpoint alone on `listener` (a port that is not exposed publicly,
    /// say) until the server fails.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.into_router::<()>()).await
    }
}

/// Equal without revealing where a guess first differs.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorised(state: &EndpointState, headers: &HeaderMap) -> bool {
    let Some(token) = &state.token else {
        return true;
    };
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()))
}

/// The scraped body, shared with the sink's cache (nothing copied).
struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

async fn scrape(State(state): State<Arc<EndpointState>>, headers: HeaderMap) -> Response {
    if !authorised(&state, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required to read the metrics",
        )
            .into_response();
    }
    let accept = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let exposition = state.sink.scrape(accept);
    (
        [(CONTENT_TYPE, exposition.content_type)],
        Body::from(Bytes::from_owner(Shared(exposition.body))),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
