//! The `tracing` and `log` crates, bridged into telem: the spans and events that hyper,
//! tower-http, reqwest, sqlx, tonic and a service's own older code write through
//! `tracing` or `log` join telem's traces and logs.
//!
//! - [`TelemetryLayer`]: a `tracing_subscriber` layer. `tracing` spans become telem
//!   spans, nested both ways with `#[trace]` spans (also across `.instrument`ed futures
//!   on any worker); `tracing` events become telem log records in the current trace.
//! - [`LogBridge`]: `log` records become telem log records, correlated the same way.
//! - [`install`]: both at once, filtered by the pipeline's log filter (`RUST_LOG`).
//! - [`context_span`]: telem's current context as a `tracing` span, for code that
//!   captures `tracing::Span::current()` (sqlx's SQLite worker).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use telem::{Config, InMemorySink};
//!
//! let sink = std::sync::Arc::new(InMemorySink::new(10_000));
//! let pipeline = telem::init(Config::new().with_sink(sink.clone())).unwrap();
//! telem_tracing::install().unwrap();
//!
//! #[telem::trace]
//! fn handle() {
//!     // A dependency's `tracing` span and event, inside a `#[trace]` span.
//!     let _span = tracing::info_span!("dependency_work").entered();
//!     tracing::info!(rows = 3, "query done");
//! }
//! handle();
//! pipeline.shutdown().await;
//!
//! let spans = sink.spans();
//! assert_eq!(spans[0].name, "dependency_work");
//! assert_eq!(spans[0].parent_span_id, spans[1].context.span_id);
//! let logs = sink.logs();
//! assert_eq!(logs[0].body, "query done");
//! assert_eq!(logs[0].span_id, spans[0].context.span_id);
//! # }
//! ```

#![forbid(unsafe_code)]

mod fields;
mod layer;
mod log_bridge;
mod sites;

pub use layer::{context_span, TelemetryFilter, TelemetryLayer};
pub use log_bridge::LogBridge;

use tracing_subscriber::layer::SubscriberExt as _;

/// Why [`install`] installed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// A global `tracing` subscriber was set before (only one per process): add
    /// [`TelemetryLayer`] to that subscriber instead, and install the `log` bridge
    /// alone with [`LogBridge::install`].
    #[error(
        "a global tracing subscriber is already set: add telem_tracing::TelemetryLayer to \
         it instead of calling telem_tracing::install (and LogBridge::install for `log`)"
    )]
    TracingSubscriberSet,
    /// A `log` logger was set before (only one per process; `env_logger` or
    /// `tracing_log::LogTracer`, say): the `tracing` bridge was installed, the `log`
    /// one was not. Remove that logger to bridge `log` too.
    #[error(
        "a `log` logger is already set (env_logger, tracing_log::LogTracer, ...): the \
         tracing bridge is installed, the log bridge is not"
    )]
    LoggerSet,
}

/// Bridges `tracing` and `log` into telem: sets a global `tracing` subscriber made of
/// the registry and a [`TelemetryLayer`], and the [`LogBridge`] as `log`'s logger.
///
/// Filtering needs no setting of its own: spans, events and `log` records pass the
/// pipeline's log filter, which reads `RUST_LOG` (or
/// [`Config::with_log_filter`](telem::Config::with_log_filter)); call this before or
/// after [`telem::init`].
///
/// # Errors
///
/// If a global `tracing` subscriber is already set, nothing is installed; if a `log`
/// logger is, the `tracing` bridge is installed and the error says the `log` one is
/// not. (A subscriber set for a scope with `set_default` is no obstacle.)
pub fn install() -> Result<(), InstallError> {
    let subscriber = tracing_subscriber::registry().with(TelemetryLayer::new());
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|_| InstallError::TracingSubscriberSet)?;
    LogBridge::install().map_err(|_| InstallError::LoggerSet)
}
