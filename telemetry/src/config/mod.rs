//! Pipeline configuration, validated when the pipeline starts.

pub(crate) mod env;
pub(crate) mod exporters;

use crate::{Sampler, Sink, SpanLimits};
use std::sync::Arc;
use std::time::Duration;

/// Everything [`init`](crate::init) needs. Start from [`Config::new`] (sane defaults)
/// and override with the `with_*` methods; values are validated by `init`, and an
/// out-of-range value is a [`ConfigError`] naming the setting and its accepted range.
/// [`Config::from_env`] and [`Config::with_env`] read the standard `OTEL_*` variables
/// (sampler, span limits, disabled) and this project's `TELEMETRY_*` settings; a setting
/// made in code wins over the environment, which wins over the defaults.
///
/// ```
/// use std::time::Duration;
/// use telemetry::{Config, InMemorySink, Sampler};
/// let config = Config::new()
///     .with_sampler(Sampler::parent_based(Sampler::TraceIdRatioBased(0.05)))
///     .with_drain_interval(Duration::from_millis(500))
///     .with_ring_capacity(8192)
///     .with_sink(InMemorySink::new(10_000));
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Which spans are recorded. Default: parent-based, always on for roots.
    pub sampler: Sampler,
    /// Per-span limits. Default: 128 attributes, events and links.
    pub span_limits: SpanLimits,
    /// Spans each recording thread can hold between drains. Default 4096.
    pub ring_capacity: usize,
    /// How often the drain moves spans to the sinks. Default 1 s.
    pub drain_interval: Duration,
    /// How long one sink call may take before it is abandoned and counted. Default 5 s.
    pub sink_timeout: Duration,
    /// Batches queued per sink before that sink's new batches are dropped. Default 64.
    pub sink_queue_capacity: usize,
    /// The most [`Telemetry::shutdown`](crate::Telemetry::shutdown) waits, all sinks
    /// together: past it, whatever a stalled sink still holds is counted as dropped and
    /// `shutdown` returns. Default 5 s.
    pub shutdown_timeout: Duration,
    /// Most spans in one batch handed to a sink. Default 256 (a batch stays under the
    /// allocator's mmap threshold, so the drain reuses heap pages instead of faulting in
    /// fresh ones; exporters re-batch as their protocol prefers).
    pub max_batch_size: usize,
    /// The sinks, in order.
    pub sinks: Vec<Arc<dyn Sink>>,
    /// What the drain tick does for metrics. Default: everything on.
    pub metrics: MetricsConfig,
    /// Whether the framework's own failures (a sink's errors, timeouts and panics, an
    /// exporter giving up, a metric registration refused) are reported on stderr, once
    /// per cause and then at most once a minute; see [`diagnostics`](crate::export::diagnostics).
    /// They are counted in the self-metrics either way. Default `true`.
    pub diagnostics: bool,
    /// Whether the whole pipeline is off (`OTEL_SDK_DISABLED=true`): [`init`](crate::init)
    /// then starts nothing (no drain, no sinks, recording stays off) and returns a handle
    /// whose `drain_now` and `shutdown` do nothing. Default `false`.
    pub disabled: bool,
    /// Settings made in code, which [`Config::with_env`] leaves alone.
    pub(crate) explicit: crate::config::env::Explicit,
}

/// The metrics part of a drain tick: which built-in collectors run, and the
/// cardinality limit of the global registry's families.
///
/// ```
/// use telemetry::{Config, MetricsConfig};
/// let config = Config::new().with_metrics(
///     MetricsConfig::new().with_process(false).with_cardinality_limit(500),
/// );
/// assert!(config.validate().is_ok());
/// assert!(!config.metrics.process);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Snapshot the global registry at each tick (collectors and samplers included)
    /// and hand it to the sinks. Default on.
    pub enabled: bool,
    /// Process metrics from `/proc` ([`collectors::process`](crate::metrics::collectors::process)). Default on.
    pub process: bool,
    /// The drain's tokio runtime metrics ([`collectors::tokio_runtime`](crate::metrics::collectors::tokio_runtime)). Default on.
    pub tokio_runtime: bool,
    /// The pipeline's self-metrics ([`collectors::pipeline`](crate::metrics::collectors::pipeline)). Default on.
    pub pipeline: bool,
    /// Series per family in the global registry before new label combinations go to
    /// the overflow series. Default 2000.
    pub cardinality_limit: usize,
}

impl MetricsConfig {
    /// The defaults: everything on, 2000 series per family.
    pub const fn new() -> Self {
        Self {
            enabled: true,
            process: true,
            tokio_runtime: true,
            pipeline: true,
            cardinality_limit: crate::metrics::DEFAULT_CARDINALITY_LIMIT,
        }
    }

    /// Turns metric snapshots at each tick on or off.
    pub fn with_enabled(mut self, on: bool) -> Self {
        self.enabled = on;
        self
    }

    /// Turns the process collector on or off.
    pub fn with_process(mut self, on: bool) -> Self {
        self.process = on;
        self
    }

    /// Turns the tokio runtime collector on or off.
    pub fn with_tokio_runtime(mut self, on: bool) -> Self {
        self.tokio_runtime = on;
        self
    }

    /// Turns the pipeline self-metrics on or off.
    pub fn with_pipeline(mut self, on: bool) -> Self {
        self.pipeline = on;
        self
    }

    /// Sets the cardinality limit: 1 to 1000000 series per family.
    pub fn with_cardinality_limit(mut self, series: usize) -> Self {
        self.cardinality_limit = series;
        self
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// A configuration value outside its accepted range.
///
/// ```
/// let err = telemetry::Config::new().with_ring_capacity(1000).validate().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid value 1000 for `ring_capacity`: accepted values are a power of two from 64 to 16777216"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value {value} for `{setting}`: accepted values are {accepted}")]
#[non_exhaustive]
pub struct ConfigError {
    /// The setting's name.
    pub setting: &'static str,
    /// The refused value, as given.
    pub value: String,
    /// The accepted range.
    pub accepted: &'static str,
}

/// Smallest accepted ring capacity.
pub const MIN_RING_CAPACITY: usize = 64;
/// Largest accepted ring capacity.
pub const MAX_RING_CAPACITY: usize = 1 << 24;

impl Config {
    /// The defaults.
    pub fn new() -> Self {
        Self {
            sampler: Sampler::default(),
            span_limits: SpanLimits::DEFAULT,
            ring_capacity: crate::record::ring::DEFAULT_CAPACITY,
            drain_interval: Duration::from_secs(1),
            sink_timeout: Duration::from_secs(5),
            sink_queue_capacity: 64,
            shutdown_timeout: Duration::from_secs(5),
            max_batch_size: 256,
            sinks: Vec::new(),
            metrics: MetricsConfig::new(),
            diagnostics: true,
            disabled: false,
            explicit: crate::config::env::Explicit::default(),
        }
    }

    /// Adds a sink.
    pub fn with_sink(mut self, sink: impl Sink) -> Self {
        self.sinks.push(Arc::new(sink));
        self
    }

    /// Adds a sink the caller keeps a handle to (to read an [`InMemorySink`](crate::InMemorySink), say).
    pub fn with_shared_sink(mut self, sink: Arc<dyn Sink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// Sets the sampler.
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = sampler;
        self.explicit.mark(crate::config::env::Explicit::SAMPLER);
        self
    }

    /// Sets the per-span limits.
    pub fn with_span_limits(mut self, limits: SpanLimits) -> Self {
        self.span_limits = limits;
        self.explicit
            .mark(crate::config::env::Explicit::SPAN_LIMITS);
        self
    }

    /// Sets the per-thread ring capacity: a power of two from 64 to 2^24.
    pub fn with_ring_capacity(mut self, capacity: usize) -> Self {
        self.ring_capacity = capacity;
        self.explicit
            .mark(crate::config::env::Explicit::RING_CAPACITY);
        self
    }

    /// Sets the drain interval: 1 ms to 300 s.
    pub fn with_drain_interval(mut self, interval: Duration) -> Self {
        self.drain_interval = interval;
        self.explicit
            .mark(crate::config::env::Explicit::DRAIN_INTERVAL);
        self
    }

    /// Sets the sink timeout: 1 ms to 600 s.
    pub fn with_sink_timeout(mut self, timeout: Duration) -> Self {
        self.sink_timeout = timeout;
        self.explicit
            .mark(crate::config::env::Explicit::SINK_TIMEOUT);
        self
    }

    /// Sets how many batches may wait for each sink: 1 to 65536.
    pub fn with_sink_queue_capacity(mut self, batches: usize) -> Self {
        self.sink_queue_capacity = batches;
        self.explicit
            .mark(crate::config::env::Explicit::SINK_QUEUE_CAPACITY);
        self
    }

    /// Sets the overall shutdown deadline: 1 ms to 600 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = telemetry::Config::new().with_shutdown_timeout(Duration::from_secs(2));
    /// assert_eq!(config.shutdown_timeout, Duration::from_secs(2));
    /// ```
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self.explicit
            .mark(crate::config::env::Explicit::SHUTDOWN_TIMEOUT);
        self
    }

    /// Turns the stderr reports of the framework's own failures on or off.
    ///
    /// ```
    /// let quiet = telemetry::Config::new().with_diagnostics(false);
    /// assert!(!quiet.diagnostics);
    /// ```
    pub fn with_diagnostics(mut self, enabled: bool) -> Self {
        self.diagnostics = enabled;
        self.explicit
            .mark(crate::config::env::Explicit::DIAGNOSTICS);
        self
    }

    /// Sets the largest batch handed to a sink: 1 to 1048576 spans.
    pub fn with_max_batch_size(mut self, spans: usize) -> Self {
        self.max_batch_size = spans;
        self.explicit
            .mark(crate::config::env::Explicit::MAX_BATCH_SIZE);
        self
    }

    /// Turns the whole pipeline off (or back on): see [`Config::disabled`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::Arc;
    /// use telemetry::{Config, InMemorySink, Tracer};
    /// let sink = Arc::new(InMemorySink::new(10));
    /// let off = telemetry::init(Config::new().with_disabled(true).with_shared_sink(sink.clone())).unwrap();
    /// assert!(!telemetry::is_enabled());
    /// Tracer::new("doc").in_span("work", |_| {});
    /// off.drain_now().await; // nothing to do
    /// off.shutdown().await;
    /// assert!(sink.spans().is_empty());
    ///
    /// // A disabled pipeline does not hold the process's one pipeline slot.
    /// let on = telemetry::init(Config::new().with_shared_sink(sink.clone())).unwrap();
    /// Tracer::new("doc").in_span("work", |_| {});
    /// on.shutdown().await;
    /// assert_eq!(sink.spans().len(), 1);
    /// # }
    /// ```
    pub fn with_disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self.explicit.mark(crate::config::env::Explicit::DISABLED);
        self
    }

    /// Sets what the drain tick does for metrics.
    pub fn with_metrics(mut self, metrics: MetricsConfig) -> Self {
        self.metrics = metrics;
        self.explicit.mark(crate::config::env::Explicit::METRICS);
        self
    }

    /// Checks every setting against its accepted range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn check(
            ok: bool,
            setting: &'static str,
            value: impl std::fmt::Debug,
            accepted: &'static str,
        ) -> Result<(), ConfigError> {
            if ok {
                Ok(())
            } else {
                Err(ConfigError {
                    setting,
                    value: format!("{value:?}"),
                    accepted,
                })
            }
        }
        let c = self.ring_capacity;
        check(
            c.is_power_of_two() && (MIN_RING_CAPACITY..=MAX_RING_CAPACITY).contains(&c),
            "ring_capacity",
            c,
            "a power of two from 64 to 16777216",
        )?;
        check(
            (Duration::from_millis(1)..=Duration::from_secs(300)).contains(&self.drain_interval),
            "drain_interval",
            self.drain_interval,
            "1ms to 300s",
        )?;
        check(
            (Duration::from_millis(1)..=Duration::from_secs(600)).contains(&self.sink_timeout),
            "sink_timeout",
            self.sink_timeout,
            "1ms to 600s",
        )?;
        check(
            (Duration::from_millis(1)..=Duration::from_secs(600)).contains(&self.shutdown_timeout),
            "shutdown_timeout",
            self.shutdown_timeout,
            "1ms to 600s",
        )?;
        check(
            (1..=65536).contains(&self.sink_queue_capacity),
            "sink_queue_capacity",
            self.sink_queue_capacity,
            "1 to 65536 batches",
        )?;
        check(
            (1..=1 << 20).contains(&self.max_batch_size),
            "max_batch_size",
            self.max_batch_size,
            "1 to 1048576 spans",
        )?;
        check(
            (1..=1_000_000).contains(&self.metrics.cardinality_limit),
            "metrics.cardinality_limit",
            self.metrics.cardinality_limit,
            "1 to 1000000 series per family",
        )?;
        self.sampler.validate().map_err(|e| ConfigError {
            setting: "sampler",
            value: e.0.to_string(),
            accepted: "trace id ratios from 0.0 to 1.0",
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}
