//! Pipeline configuration: one model for every crate of this project.
//!
//! - [`Setting`]: one row of a crate's table ([`SETTINGS`](crate::SETTINGS) here,
//!   `telem_otlp::SETTINGS` there): name, environment variable, default, accepted
//!   values. Validation, the environment parser and `docs/configuration.md` read it.
//! - [`CodeOrEnv`]: each field of a config holds what code set and what the environment
//!   said; code wins, then the environment, then the default.
//! - [`ConfigError`]: the one error for a bad value, from code or from a variable.
//! - [`Config`] and [`MetricsConfig`] (here), [`Exporters`](crate::Exporters)
//!   (`exporters.rs`), [`EnvVars`](crate::EnvVars) (`env.rs`).

mod code_or_env;
pub(crate) mod env;
mod error;
pub(crate) mod exporters;
mod metrics;
mod setting;
pub(crate) mod table;

pub use code_or_env::CodeOrEnv;
pub use error::ConfigError;
pub use metrics::MetricsConfig;
pub use setting::Setting;
pub use table::SETTINGS;

use crate::{LogFilter, Sampler, Sink, SpanLimits};
use std::sync::Arc;
use std::time::Duration;
use table::{
    BOUND_FIELDS_ON_SPANS, CARDINALITY_LIMIT, DIAGNOSTICS, DISABLED, DRAIN_INTERVAL,
    LOGS_AS_SPAN_EVENTS, LOG_RING_CAPACITY, MAX_BATCH_SIZE, RING_CAPACITY, SAMPLER, SAMPLER_RATIO,
    SHUTDOWN_TIMEOUT, SINK_QUEUE_CAPACITY, SINK_TIMEOUT,
};

/// Everything [`init`](crate::init) needs. Start from [`Config::new`] (sane defaults)
/// and override with the `with_*` methods; values are validated by `init`, and an
/// out-of-range value is a [`ConfigError`] naming the setting and its accepted values.
/// [`Config::from_env`] and [`Config::with_env`] read the standard `OTEL_*` variables
/// (sampler, span limits, disabled), `RUST_LOG` (the log filter) and this project's
/// `TELEMETRY_*` settings; a setting
/// made in code wins over the environment, whatever the order of the calls, and the
/// environment wins over the defaults. Every setting, its variable, default and accepted
/// values: [`SETTINGS`](crate::SETTINGS) (`docs/configuration.md`).
///
/// ```
/// use std::time::Duration;
/// use telem::{Config, InMemorySink, Sampler};
/// let config = Config::new()
///     .with_sampler(Sampler::parent_based(Sampler::TraceIdRatioBased(0.05)))
///     .with_drain_interval(Duration::from_millis(500))
///     .with_ring_capacity(8192)
///     .with_sink(InMemorySink::new(10_000));
/// assert!(config.validate().is_ok());
/// assert_eq!(config.ring_capacity(), 8192);
/// assert_eq!(config.sinks().len(), 1);
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
#[must_use]
pub struct Config {
    sampler: CodeOrEnv<Sampler>,
    span_limits: CodeOrEnv<SpanLimits>,
    ring_capacity: CodeOrEnv<usize>,
    drain_interval: CodeOrEnv<Duration>,
    sink_timeout: CodeOrEnv<Duration>,
    sink_queue_capacity: CodeOrEnv<usize>,
    shutdown_timeout: CodeOrEnv<Duration>,
    max_batch_size: CodeOrEnv<usize>,
    sinks: Vec<Arc<dyn Sink>>,
    metrics: CodeOrEnv<MetricsConfig>,
    diagnostics: CodeOrEnv<bool>,
    disabled: CodeOrEnv<bool>,
    log_filter: CodeOrEnv<LogFilter>,
    log_ring_capacity: CodeOrEnv<usize>,
    logs_as_span_events: CodeOrEnv<bool>,
    bound_fields_on_spans: CodeOrEnv<bool>,
}

/// Smallest accepted ring capacity (of the span rings and of the log rings).
pub const MIN_RING_CAPACITY: usize = 64;
/// Largest accepted ring capacity (of the span rings and of the log rings).
pub const MAX_RING_CAPACITY: usize = 1 << 24;

impl Config {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sink. To keep a handle to it (to read an
    /// [`InMemorySink`](crate::InMemorySink), or serve a
    /// [`PrometheusSink`](crate::PrometheusSink)), pass an `Arc` and keep a clone:
    /// `Arc<S>` is a [`Sink`] too.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use telem::{Config, InMemorySink, StdoutSink};
    ///
    /// let memory = Arc::new(InMemorySink::new(1000));
    /// let config = Config::new()
    ///     .with_sink(StdoutSink::pretty())
    ///     .with_sink(memory.clone()); // `memory` still reads what it receives
    /// assert_eq!(config.sinks().len(), 2);
    /// ```
    pub fn with_sink(mut self, sink: impl Sink) -> Self {
        self.sinks.push(Arc::new(sink));
        self
    }

    /// Sets which spans are recorded. Default: parent-based, always on for roots.
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        self.sampler.set_code(sampler);
        self
    }

    /// Sets the per-span limits. Default: 128 attributes, events and links.
    pub fn with_span_limits(mut self, limits: SpanLimits) -> Self {
        self.span_limits.set_code(limits);
        self
    }

    /// Sets how many spans each recording thread can hold between drains (a power of two).
    pub fn with_ring_capacity(mut self, capacity: usize) -> Self {
        self.ring_capacity.set_code(capacity);
        self
    }

    /// Sets how often the drain moves spans to the sinks.
    pub fn with_drain_interval(mut self, interval: Duration) -> Self {
        self.drain_interval.set_code(interval);
        self
    }

    /// Sets how long one sink call may take before it is abandoned and counted.
    pub fn with_sink_timeout(mut self, timeout: Duration) -> Self {
        self.sink_timeout.set_code(timeout);
        self
    }

    /// Sets how many batches may wait for each sink before that sink's new batches are
    /// dropped.
    pub fn with_sink_queue_capacity(mut self, batches: usize) -> Self {
        self.sink_queue_capacity.set_code(batches);
        self
    }

    /// Sets the most [`Pipeline::shutdown`](crate::Pipeline::shutdown) waits, all sinks
    /// together: past it, whatever a stalled sink still holds is counted as dropped and
    /// `shutdown` returns.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = telem::Config::new().with_shutdown_timeout(Duration::from_secs(2));
    /// assert_eq!(config.shutdown_timeout(), Duration::from_secs(2));
    /// ```
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout.set_code(timeout);
        self
    }

    /// Turns the stderr reports of the framework's own failures (a sink's errors,
    /// timeouts and panics, an exporter giving up, a metric registration refused) on or
    /// off; see [`diagnostics`](crate::export::diagnostics). They are counted in the
    /// self-metrics either way.
    ///
    /// ```
    /// let quiet = telem::Config::new().with_diagnostics(false);
    /// assert!(!quiet.diagnostics());
    /// ```
    pub fn with_diagnostics(mut self, enabled: bool) -> Self {
        self.diagnostics.set_code(enabled);
        self
    }

    /// Sets the most spans in one batch handed to a sink (exporters re-batch as their
    /// protocol prefers).
    pub fn with_max_batch_size(mut self, spans: usize) -> Self {
        self.max_batch_size.set_code(spans);
        self
    }

    /// Turns the whole pipeline off (or back on): [`init`](crate::init) then starts
    /// nothing (no drain, no sinks, recording stays off) and returns a handle whose
    /// `drain_now` and `shutdown` do nothing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::Arc;
    /// use telem::{Config, InMemorySink, Tracer};
    /// let sink = Arc::new(InMemorySink::new(10));
    /// let off = telem::init(Config::new().with_disabled(true).with_sink(sink.clone())).unwrap();
    /// assert!(!telem::is_enabled());
    /// Tracer::new("doc").in_span("work", |_| {});
    /// off.drain_now().await; // nothing to do
    /// off.shutdown().await;
    /// assert!(sink.spans().is_empty());
    ///
    /// // A disabled pipeline does not hold the process's one pipeline slot.
    /// let on = telem::init(Config::new().with_sink(sink.clone())).unwrap();
    /// Tracer::new("doc").in_span("work", |_| {});
    /// on.shutdown().await;
    /// assert_eq!(sink.spans().len(), 1);
    /// # }
    /// ```
    pub fn with_disabled(mut self, disabled: bool) -> Self {
        self.disabled.set_code(disabled);
        self
    }

    /// Sets what the drain tick does for metrics.
    pub fn with_metrics(mut self, metrics: MetricsConfig) -> Self {
        self.metrics.set_code(metrics);
        self
    }

    /// Sets which log records are recorded: a default level and a level per target, as
    /// `RUST_LOG` writes them (the variable this setting reads). Default: `info`
    /// everywhere.
    ///
    /// ```
    /// use telem::{Config, Level, LevelFilter, LogFilter};
    /// let config = Config::new()
    ///     .with_log_filter(LogFilter::new(LevelFilter::Warn).with_target("my_service::db", LevelFilter::Debug));
    /// assert!(config.log_filter().allows("my_service::db::pool", Level::Debug));
    /// assert_eq!(config.log_filter().to_string(), "warn,my_service::db=debug");
    ///
    /// // Or from a spec, as `RUST_LOG` holds it.
    /// let config = Config::new().with_log_filter("info,hyper=warn".parse().unwrap());
    /// assert!(!config.log_filter().allows("hyper::proto", Level::Info));
    /// ```
    pub fn with_log_filter(mut self, filter: LogFilter) -> Self {
        self.log_filter.set_code(filter);
        self
    }

    /// Sets how many log records each logging thread can hold between drains (a power of
    /// two, within the same bounds as [`Config::with_ring_capacity`]). Past it, a
    /// thread's records are dropped and counted per level until the next drain.
    ///
    /// ```
    /// let config = telem::Config::new().with_log_ring_capacity(4096);
    /// assert_eq!(config.log_ring_capacity(), 4096);
    /// assert!(config.validate().is_ok());
    /// assert!(telem::Config::new().with_log_ring_capacity(1000).validate().is_err());
    /// ```
    pub fn with_log_ring_capacity(mut self, capacity: usize) -> Self {
        self.log_ring_capacity.set_code(capacity);
        self
    }

    /// Turns on (or off) copying logs into spans: logs made inside a sampled span also
    /// become events of that span. Off by default.
    ///
    /// ```
    /// let config = telem::Config::new().with_logs_as_span_events(true);
    /// assert!(config.logs_as_span_events());
    /// assert!(!telem::Config::new().logs_as_span_events());
    /// ```
    pub fn with_logs_as_span_events(mut self, enabled: bool) -> Self {
        self.logs_as_span_events.set_code(enabled);
        self
    }

    /// Turns on (or off) bound fields on spans: fields bound with `telem::bind` are also
    /// added as attributes of every span started inside the binding (they are always
    /// added to the log records made inside it). Off by default.
    ///
    /// ```
    /// let config = telem::Config::new().with_bound_fields_on_spans(true);
    /// assert!(config.bound_fields_on_spans());
    /// assert!(!telem::Config::new().bound_fields_on_spans());
    /// ```
    pub fn with_bound_fields_on_spans(mut self, enabled: bool) -> Self {
        self.bound_fields_on_spans.set_code(enabled);
        self
    }

    /// Which spans are recorded.
    pub fn sampler(&self) -> Sampler {
        self.sampler.get().cloned().unwrap_or_default()
    }

    /// The per-span limits.
    pub fn span_limits(&self) -> SpanLimits {
        self.span_limits.get_or(SpanLimits::DEFAULT)
    }

    /// Spans each recording thread can hold between drains.
    pub fn ring_capacity(&self) -> usize {
        self.ring_capacity
            .get_or(RING_CAPACITY.default_integer() as usize)
    }

    /// How often the drain moves spans to the sinks.
    pub fn drain_interval(&self) -> Duration {
        self.drain_interval.get_or(DRAIN_INTERVAL.default_millis())
    }

    /// How long one sink call may take.
    pub fn sink_timeout(&self) -> Duration {
        self.sink_timeout.get_or(SINK_TIMEOUT.default_millis())
    }

    /// Batches queued per sink.
    pub fn sink_queue_capacity(&self) -> usize {
        self.sink_queue_capacity
            .get_or(SINK_QUEUE_CAPACITY.default_integer() as usize)
    }

    /// The most [`Pipeline::shutdown`](crate::Pipeline::shutdown) waits.
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
            .get_or(SHUTDOWN_TIMEOUT.default_millis())
    }

    /// Most spans in one batch handed to a sink.
    pub fn max_batch_size(&self) -> usize {
        self.max_batch_size
            .get_or(MAX_BATCH_SIZE.default_integer() as usize)
    }

    /// The sinks, in order.
    pub fn sinks(&self) -> &[Arc<dyn Sink>] {
        &self.sinks
    }

    /// What the drain tick does for metrics.
    pub fn metrics(&self) -> MetricsConfig {
        self.metrics.get_or(MetricsConfig::new())
    }

    /// Whether the framework's own failures are reported on stderr.
    pub fn diagnostics(&self) -> bool {
        self.diagnostics.get_or(DIAGNOSTICS.default_bool())
    }

    /// Whether the whole pipeline is off ([`Config::with_disabled`]).
    pub fn disabled(&self) -> bool {
        self.disabled.get_or(DISABLED.default_bool())
    }

    /// Which log records are recorded ([`Config::with_log_filter`], `RUST_LOG`).
    pub fn log_filter(&self) -> LogFilter {
        self.log_filter.get().cloned().unwrap_or_default()
    }

    /// Log records each logging thread can hold between drains.
    pub fn log_ring_capacity(&self) -> usize {
        self.log_ring_capacity
            .get_or(LOG_RING_CAPACITY.default_integer() as usize)
    }

    /// Whether logs made inside a sampled span also become events of that span.
    pub fn logs_as_span_events(&self) -> bool {
        self.logs_as_span_events
            .get_or(LOGS_AS_SPAN_EVENTS.default_bool())
    }

    /// Whether fields bound with `telem::bind` are also attributes of the spans started
    /// inside the binding.
    pub fn bound_fields_on_spans(&self) -> bool {
        self.bound_fields_on_spans
            .get_or(BOUND_FIELDS_ON_SPANS.default_bool())
    }

    /// The sinks, taken out: the pipeline starts one worker per sink.
    pub(crate) fn take_sinks(&mut self) -> Vec<Arc<dyn Sink>> {
        std::mem::take(&mut self.sinks)
    }

    /// Checks every setting against its accepted values ([`SETTINGS`](crate::SETTINGS)).
    /// Values read from the environment were checked when they were read, so an error
    /// here names a setting made in code.
    pub fn validate(&self) -> Result<(), ConfigError> {
        RING_CAPACITY.check_integer(self.ring_capacity() as u64)?;
        LOG_RING_CAPACITY.check_integer(self.log_ring_capacity() as u64)?;
        DRAIN_INTERVAL.check_millis(self.drain_interval())?;
        SINK_TIMEOUT.check_millis(self.sink_timeout())?;
        SHUTDOWN_TIMEOUT.check_millis(self.shutdown_timeout())?;
        SINK_QUEUE_CAPACITY.check_integer(self.sink_queue_capacity() as u64)?;
        MAX_BATCH_SIZE.check_integer(self.max_batch_size() as u64)?;
        CARDINALITY_LIMIT.check_integer(self.metrics().cardinality_limit() as u64)?;
        self.sampler().validate().map_err(|ratio| {
            ConfigError::from_code(&SAMPLER, ratio.0).with_accepted(format!(
                "samplers whose ratio is {}",
                SAMPLER_RATIO.accepted()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Level, LevelFilter};

    #[test]
    fn log_settings_defaults() {
        let config = Config::new();
        assert_eq!(config.log_filter(), LogFilter::new(LevelFilter::Info));
        assert_eq!(
            config.log_ring_capacity(),
            crate::record::ring::logs::DEFAULT_LOG_CAPACITY
        );
        assert!(!config.logs_as_span_events());
        assert!(!config.bound_fields_on_spans());
    }

    #[test]
    fn log_settings_setters() {
        let config = Config::new()
            .with_log_filter(
                LogFilter::new(LevelFilter::Error).with_target("db", LevelFilter::Trace),
            )
            .with_log_ring_capacity(MAX_RING_CAPACITY)
            .with_logs_as_span_events(true)
            .with_bound_fields_on_spans(true);
        assert!(config.log_filter().allows("db::pool", Level::Trace));
        assert!(!config.log_filter().allows("api", Level::Warn));
        assert_eq!(config.log_ring_capacity(), MAX_RING_CAPACITY);
        assert!(config.logs_as_span_events());
        assert!(config.bound_fields_on_spans());
        assert!(config.validate().is_ok());
    }

    /// The log ring takes the span ring's bounds: a power of two from 64 to 2^24.
    #[test]
    fn validate_checks_the_log_ring_capacity() {
        for ok in [MIN_RING_CAPACITY, 1024, MAX_RING_CAPACITY] {
            assert!(
                Config::new().with_log_ring_capacity(ok).validate().is_ok(),
                "{ok}"
            );
        }
        for bad in [0, 1000, MIN_RING_CAPACITY / 2, MAX_RING_CAPACITY * 2] {
            let e = Config::new()
                .with_log_ring_capacity(bad)
                .validate()
                .unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "invalid value {bad} for `log_ring_capacity`: accepted values are a power \
                     of two from 64 to 16777216"
                )
            );
        }
    }
}
