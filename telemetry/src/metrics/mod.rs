//! Metrics: counters, gauges and histograms recorded without locks, exposed as
//! Prometheus text or OpenMetrics (with exemplars linking to traces), and handed to
//! sinks at each drain tick.
//!
//! - Macros against the [`global`] registry, cached at the call site:
//!   [`counter!`](crate::counter), [`counter_f64!`](crate::counter_f64),
//!   [`up_down_counter!`](crate::up_down_counter), [`gauge!`](crate::gauge),
//!   [`gauge_f64!`](crate::gauge_f64), [`histogram!`](crate::histogram), and
//!   [`describe_counter!`](crate::describe_counter) and co.
//! - A [`Registry`] (the global one, or your own) registers [`Family`]s of [`Counter`],
//!   [`CounterF64`], [`UpDownCounter`], [`Gauge`], [`GaugeF64`] and [`Histogram`]
//!   handles, runs callbacks, takes [snapshots](MetricFamilySnapshot) and renders them
//!   ([`Format`], [`render`]).
//! - [`PrometheusSink`] serves what the pipeline rendered at the
//!   last tick; [`collectors`] add process, tokio and pipeline metrics.
//!
//! ```
//! use telem::metrics::{Format, Registry};
//! telem::counter!("app_requests_total", "method" => "GET").increment(1);
//! telem::histogram!("app_request_duration_seconds").record(0.012);
//!
//! let local = Registry::new();
//! local.gauge("queue_depth").unwrap().set(3);
//! assert_eq!(local.render(Format::Prometheus), b"# TYPE queue_depth gauge\nqueue_depth 3\n");
//! ```
//!
//! Recording is a thread-local read plus plain loads and stores to the calling thread's
//! own cache line (see `shard.rs`); reads sum every thread's shard exactly.

/// What every metric handle has: built from its core by the registry, a no-op
/// handle (what a failed registration returns) and the test for one.
macro_rules! handle_basics {
    ($ty:ident, $core:ty) => {
        impl $ty {
            pub(crate) fn from_core(core: Arc<$core>) -> Self {
                Self { core: Some(core) }
            }

            /// A handle that records nothing (what a failed registration returns).
            ///
            /// ```
            #[doc = concat!("let h = telem::metrics::", stringify!($ty), "::noop();")]
            /// assert!(h.is_noop());
            /// ```
            pub const fn noop() -> Self {
                Self { core: None }
            }

            /// Whether this handle records nothing.
            pub const fn is_noop(&self) -> bool {
                self.core.is_none()
            }
        }
    };
}

mod callback;
pub(crate) mod callsite;
pub mod collectors;
mod counter;
mod error;
mod exemplar;
pub mod exposition;
mod family;
mod gauge;
mod histogram;
mod kind;
mod labels;
mod macros;
mod name;
mod registry;
mod series;
mod shard;
mod sink;
mod snapshot;

pub use callback::{CallbackError, CallbackId, CallbackReport};
pub use counter::{Counter, CounterF64, UpDownCounter};
pub use error::MetricError;
pub use exemplar::Exemplar;
pub use exposition::{render, Format, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE};
pub use family::{Family, DEFAULT_CARDINALITY_LIMIT};
pub use gauge::{Gauge, GaugeF64};
pub use histogram::{Histogram, HistogramValue, DEFAULT_BUCKETS, MAX_BUCKETS};
pub use kind::InstrumentKind;
pub use labels::{LabelSet, OVERFLOW_LABEL};
pub use registry::{global, Registry, RegistryStats};
pub use series::Instrument;
pub use sink::{Exposition, PrometheusSink};
pub use snapshot::{MetricFamilySnapshot, MetricValue, SeriesSnapshot};

pub(crate) use collectors::tick;

/// Now, in ns since the Unix epoch (registration times; not on a hot path).
pub(crate) fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
