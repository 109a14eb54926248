//! The bookstore: the main example of `telemetry` with axum.
//!
//! Run it with `cargo run -p example-bookstore`, then
//! `curl localhost:3000/books/1/reviews` and `curl localhost:3000/metrics`; the spans
//! and the log records print to stdout. docs/guide.md lists every route,
//! docs/configuration.md every setting.
//!
//! The books are in SQLite, in memory (compiled in: no database to install), through an
//! sqlx pool; every query is a client span with OpenTelemetry's database attributes
//! (`SELECT books`), its duration is in `/metrics`
//! (`db_client_operation_duration_seconds`), and so is the pool's state
//! (`db_client_connections`, `db_client_connection_wait_time_seconds`, ...). `GET /books/{id}/reviews` calls a
//! second, local service with `reqwest` through `telem_axum::ClientTraceLayer`: the
//! bookstore's server span, its client span and the reviews service's server span are
//! one trace.
//!
//! What it logs: `info` when a book is created (`routes`), `warn` for every 4xx it
//! answers and `error` for every 5xx ([`ApiError`]), `error` when a background reindex
//! fails and a `debug` trail of the store's lookups (`store`, hidden at the default level
//! `info`), each inside the span current where it is made, so it carries that span's
//! trace id.
//!
//! | module | what |
//! | --- | --- |
//! | `config` | [`Settings`] from `BOOKSTORE_*` (and the core's) environment variables |
//! | `store` | [`Store`]: books, reviews and stock in SQLite; the repository functions (client spans with the database conventions' attributes), their `debug` trail and duration metric, the pool and its metrics |
//! | `reviews` | the reviews service (its own router and port) and [`ReviewsClient`], the traced `reqwest` client the bookstore calls it with |
//! | `routes` | the handlers and [`ApiError`], which logs every 4xx and 5xx |
//! | `metrics` | the business metrics (`counter!`, `histogram!`), and the names of the pool's |
//!
//! `main.rs` reads the settings, opens the store, starts the pipeline and serves [`app`];
//! [`app_with`] builds the same router with other middleware in place of ours (the
//! service benchmark).

#![forbid(unsafe_code)]

pub mod config;
pub mod jobs;
pub mod metrics;
pub mod reviews;
mod routes;
pub mod store;

pub use config::Settings;
pub use jobs::{Job, JobError, Jobs};
pub use reviews::{ReviewsClient, StartError};
pub use routes::{ApiError, BookReviews, ErrorBody};
pub use store::{ReindexError, Store, StoreError};

use axum::routing::{get, post};
use axum::Router;
use telem_axum::{MetricsEndpoint, TelemetryLayer};

/// The README's Rust snippets, compiled by `cargo test` (doctests) so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

/// The guide's Rust snippets, compiled the same way.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide.md")]
struct GuideDoctests;

/// The configuration reference's Rust snippets, compiled the same way.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/configuration.md")]
struct ConfigurationDoctests;

/// The bookstore's router over `store`, with `/metrics` served by `metrics`, or not
/// routed at all with `None` (the `prometheus` exporter not selected): `/metrics` then
/// answers the JSON 404 of any unknown path. It starts the reviews service first
/// ([`ReviewsClient::start`], on another local port), which runs as long as the router
/// lives; that fails only if no local port is free.
///
/// Every route but `/healthz` and `/metrics` goes through [`TelemetryLayer`]: a server
/// span per request named after its route (`GET /books/{id}`), trace context in and
/// out, and `http_server_request_duration_seconds`. So do the fallbacks, which answer
/// unknown paths with a JSON 404 and a method a route does not take with a JSON 405:
/// the layer is added after them, and unknown paths get the route label `unmatched`.
/// Every 4xx of the traced part is an [`ApiError`], logged as a `warn` inside the
/// request's span. Health checks and scrapes are left out, deliberately (they are added
/// after the layer), so they do not drown the spans worth reading.
///
/// ```
/// use std::sync::Arc;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bookstore::Store;
/// let metrics = telem_axum::MetricsEndpoint::new(Arc::new(telem::PrometheusSink::new()));
/// let app: axum::Router = bookstore::app(Store::seeded().await?, metrics).await?;
/// let without_metrics: axum::Router = bookstore::app(Store::seeded().await?, None).await?;
/// # Ok(())
/// # }
/// ```
pub async fn app(
    store: Store,
    metrics: impl Into<Option<MetricsEndpoint>>,
) -> Result<Router, StartError> {
    app_with(store, metrics, |traced| traced.layer(TelemetryLayer::new())).await
}

/// The bookstore's router as [`app`] builds it, with `wrap` in place of adding
/// [`TelemetryLayer`]: `wrap` gets the traced part (every route and the fallback) and
/// returns it with its middleware; `/healthz` and `/metrics` are added after it.
/// [`app`] is `app_with(store, metrics, |traced| traced.layer(TelemetryLayer::new()))`.
///
/// For putting other middleware where ours goes, as the service benchmark
/// (`benches/src/bin/service.rs`) does with tower-http's `TraceLayer`. The handlers
/// extract [`CurrentSpan`](telem_axum::CurrentSpan), which only [`TelemetryLayer`]
/// provides (without it they answer 500): keep it inside, with metrics off if you like.
/// With no pipeline running it only hands the handlers a no-op span.
///
/// ```
/// use std::sync::Arc;
/// use telem_axum::TelemetryLayer;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let metrics = telem_axum::MetricsEndpoint::new(Arc::new(telem::PrometheusSink::new()));
/// let store = bookstore::Store::seeded().await?;
/// let app: axum::Router = bookstore::app_with(store, metrics, |traced| {
///     traced.layer(TelemetryLayer::new().with_metrics(false))
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
pub async fn app_with(
    store: Store,
    metrics: impl Into<Option<MetricsEndpoint>>,
    wrap: impl FnOnce(Router) -> Router,
) -> Result<Router, StartError> {
    let jobs = Jobs::in_process(store.clone());
    app_with_jobs(store, jobs, metrics, wrap).await
}

/// The bookstore's router as [`app_with`] builds it, with background jobs going to
/// `jobs` ([`app`] and [`app_with`] run them in process, [`Jobs::in_process`]); the
/// server passes its own (see `main.rs`).
pub async fn app_with_jobs(
    store: Store,
    jobs: Jobs,
    metrics: impl Into<Option<MetricsEndpoint>>,
    wrap: impl FnOnce(Router) -> Router,
) -> Result<Router, StartError> {
    let metrics = metrics.into();
    metrics::register();
    let reviews = ReviewsClient::start(store.clone()).await?;
    let traced = Router::new()
        .route("/books", get(routes::list).post(routes::create))
        .route("/books/{id}", get(routes::get_book))
        .route("/books/{id}/reviews", get(routes::reviews))
        .route("/books/{id}/reindex", post(routes::reindex))
        .route("/ws", get(routes::ws))
        // After the routes: it covers those registered before it.
        .method_not_allowed_fallback(routes::method_not_allowed)
        .fallback(routes::not_found)
        .with_state(routes::AppState {
            store,
            reviews,
            jobs,
        });
    // After the routes and the fallback: it wraps both.
    let router = wrap(traced)
        // Added after the layer, so not traced (a deliberate choice).
        .route("/healthz", get(routes::healthz));
    Ok(match metrics {
        Some(metrics) => router.merge(metrics.into_router()),
        None => router,
    })
}
