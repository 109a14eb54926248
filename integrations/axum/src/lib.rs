//! axum and tower integration of [`telem`]: install one layer and every request gets
//! a server span named after its route, with OpenTelemetry's HTTP attributes, W3C trace
//! context in and out, a request id, and HTTP metrics.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use std::sync::Arc;
//! use telem::{Config, PrometheusSink, StdoutSink};
//! use telem_axum::{CurrentSpan, MetricsEndpoint, TelemetryLayer};
//!
//! async fn hello(span: CurrentSpan) -> String {
//!     span.set_attribute("greeting.lang", "en");
//!     format!("hello from trace {}", span.trace_id())
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let prometheus = Arc::new(PrometheusSink::new());
//! let pipeline = telem::init(
//!     Config::new().with_sink(StdoutSink::pretty()).with_sink(prometheus.clone()),
//! )
//! .expect("telemetry");
//! let app = Router::new()
//!     .route("/hello", get(hello))
//!     .layer(TelemetryLayer::new())
//!     .merge(MetricsEndpoint::new(prometheus).into_router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! pipeline.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! - [`TelemetryLayer`]: the server span, trace context, request id, HTTP metrics.
//! - [`CurrentSpan`]: an extractor giving a handler the request's span.
//! - [`MetricsEndpoint`]: `/metrics` with content negotiation and an optional bearer
//!   token, on the app's router or its own listener.
//! - [`ClientTraceLayer`]: client spans and `traceparent` for outgoing requests, and a
//!   link to a trace the response's `server-timing` names.
//! - [`ws::traced`] (feature `ws`): a span per WebSocket connection.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod client;
mod current_span;
mod http_metrics;
mod intern;
mod layer;
mod metrics_endpoint;
mod propagate;
mod rejection;
mod request_id;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "ws")]
pub mod ws;

pub use client::{ClientFuture, ClientTraceLayer, ClientTraceService};
pub use current_span::CurrentSpan;
pub use http_metrics::{ACTIVE_REQUESTS, REQUEST_DURATION};
pub use layer::{ResponseFuture, TelemetryLayer, TelemetryService, Trust, UNMATCHED_ROUTE};
pub use metrics_endpoint::MetricsEndpoint;
pub use rejection::MissingTelemetryLayer;
pub use request_id::{RequestId, MAX_REQUEST_ID_LEN, REQUEST_ID_HEADER};
