//! Driving the app with `tower::ServiceExt::oneshot`.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use telem::PrometheusSink;
use telem_axum::MetricsEndpoint;
use tower::ServiceExt as _;

/// What a request got back.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// The body as JSON of type `T`; panics with the body when it is not.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{e}: the body is not the expected JSON: {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a UTF-8 body")
    }
}

/// The seeded bookstore, with `/metrics` served from `prometheus` (and its reviews
/// service started on a local port).
pub(crate) async fn app(prometheus: Arc<PrometheusSink>) -> Router {
    let store = bookstore::Store::seeded().await.expect("a seeded store");
    bookstore::app(store, MetricsEndpoint::new(prometheus))
        .await
        .expect("the reviews service starts")
}

/// Sends `request` to `app` and reads the whole answer.
pub(crate) async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("a Router never fails");
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .expect("an in-memory body")
        .to_bytes()
        .to_vec();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// `GET uri`.
pub(crate) async fn get(app: &Router, uri: &str) -> Answer {
    let request = Request::get(uri)
        .body(Body::empty())
        .expect("a valid request");
    send(app, request).await
}

/// `POST uri` with a JSON body.
pub(crate) async fn post_json(app: &Router, uri: &str, json: &str) -> Answer {
    let request = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(json.to_owned()))
        .expect("a valid request");
    send(app, request).await
}
