//! Async-native tracing spans for tokio services, fast enough to leave on in production.
//!
//! - [`trace`] instruments a fn (sync, `async`, returning `impl Future`, trait methods)
//!   with one attribute.
//! - [`Tracer`] starts spans; a [`SpanGuard`] is the current span until dropped, and a
//!   span started inside another becomes its child without passing anything around.
//! - The current context follows the task: across `.await`, in each `join!`/`select!`
//!   branch ([`FutureExt::in_span`]), through [`spawn`], [`spawn_blocking`],
//!   [`spawn_local`], and across threads with [`Context`].
//! - Ended spans go to a bounded, lock-free per-thread ring; a drain task started by
//!   [`init`] hands them in batches to [`Sink`]s ([`InMemorySink`], [`StdoutSink`], yours).
//! - [`propagation`]: W3C `traceparent`/`tracestate` and `baggage` in and out of
//!   request headers ([`propagation::extract`], [`propagation::inject`]).
//! - [`metrics`]: counters, gauges and histograms ([`counter!`], [`gauge!`],
//!   [`histogram!`]) recorded without locks, exposed as Prometheus text or OpenMetrics
//!   with exemplars ([`PrometheusSink`]), and handed to sinks at each drain tick.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use telem::prelude::*;
//! use telem::{Config, StdoutSink};
//!
//! static TRACER: Tracer = Tracer::new("quickstart");
//!
//! let pipeline = telem::init(Config::new().with_sink(StdoutSink::pretty())).unwrap();
//! {
//!     let mut request = TRACER.start_span("GET /books");
//!     request.set_i64("http.response.status_code", 200);
//!     async { TRACER.in_span("db.query", |_| {}) }.in_current_span().await;
//! }
//! pipeline.shutdown().await; // flushes every span
//! # }
//! ```
//!
//! Without the default `enable` feature every span operation compiles to nothing, so
//! libraries can instrument themselves and leave the choice to the application.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod bridge;
mod config;
mod export;
mod isolation;
mod logs;
#[doc(hidden)]
pub mod macro_support;
pub mod messaging;
pub mod metrics;
mod model;
pub mod propagation;
mod record;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod util;

pub use config::env::EnvVars;
pub use config::exporters::{Exporter, ExporterSet, Exporters};
pub use config::{
    CodeOrEnv, Config, ConfigError, MetricsConfig, Setting, MAX_RING_CAPACITY, MIN_RING_CAPACITY,
    SETTINGS,
};
pub use export::pipeline::{init, InitError, Pipeline};
pub use export::sink::{Sink, SinkError, SinkFuture, SpanBatch};
pub use export::sinks::{InMemorySink, StdoutFormat, StdoutSink};
pub use export::stats::{LogCounts, MetricsSnapshot, PipelineStats, SinkStats};
pub use export::{diagnostics, otlp_json};
pub use logs::filter::{FilterError, LevelFilter, LogFilter};
pub use metrics::PrometheusSink;
pub use model::attributes::{Attributes, AttributesIntoIter, INLINE_ATTRIBUTES};
pub use model::ids::{ParseIdError, SpanId, TraceFlags, TraceId};
pub use model::log_record::{Level, LogBatch, LogRecord, ParseLevelError, Severity};
pub use model::span_context::SpanContext;
pub use model::span_data::{Event, Link, SpanData, SpanKind, SpanLimits, Status};
pub use model::trace_state::{TraceState, TraceStateError, MAX_TRACE_STATE_MEMBERS};
pub use model::value::{KeyValue, Str, Value};
pub use record::bound::{bind, bind_field, BindGuard};
pub use record::context::{Context, ContextGuard};
pub use record::instrument::{FutureExt, Instrumented};
pub use record::recording::is_enabled;
pub use record::sampler::{InvalidRatio, ParentBased, Sampler, SamplingDecision};
pub use record::span::{Span, SpanBuilder, SpanGuard, Tracer};
pub use record::spawn::{spawn, spawn_blocking, spawn_local};
#[cfg(feature = "testing")]
pub use telem_macros::test;
pub use telem_macros::trace;
pub use telem_macros::{debug, error, info, log, trace_log, warn};

/// What a file that records spans and metrics uses: `use telem::prelude::*;`.
///
/// The span types ([`Tracer`], [`Span`],
/// [`SpanGuard`]), the [`trace`] attribute, the metric
/// macros ([`counter!`](crate::counter), [`counter_f64!`](crate::counter_f64),
/// [`up_down_counter!`](crate::up_down_counter), [`gauge!`](crate::gauge),
/// [`gauge_f64!`](crate::gauge_f64), [`histogram!`](crate::histogram)), the log macros
/// ([`error!`](macro@crate::error), [`warn!`](macro@crate::warn),
/// [`info!`](macro@crate::info), [`debug!`](macro@crate::debug),
/// [`trace_log!`](macro@crate::trace_log), [`log!`](macro@crate::log)) and
/// [`FutureExt`], imported anonymously (`as _`) so its methods work
/// without its name clashing with `futures::FutureExt`. Set-up (`init`, `Config`, the
/// sinks) happens in one place and is imported by name there.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use telem::prelude::*;
///
/// static TRACER: Tracer = Tracer::new("books");
///
/// #[trace]
/// async fn load(id: u64) -> u64 {
///     counter!("books_loaded_total").increment(1);
///     id
/// }
///
/// let request: SpanGuard = TRACER.start_span("GET /books/{id}");
/// let id = load(7).in_current_span().await;
/// # assert_eq!(id, 7);
/// drop(request);
/// # }
/// ```
pub mod prelude {
    pub use crate::FutureExt as _;
    pub use crate::{
        counter, counter_f64, gauge, gauge_f64, histogram, trace, up_down_counter, Span, SpanGuard,
        Tracer,
    };
    pub use crate::{debug, error, info, log, trace_log, warn};
}
