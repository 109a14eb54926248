//! [`MetricsConfig`]: what the drain tick does for metrics.

use crate::config::table::{
    CARDINALITY_LIMIT, METRICS_ENABLED, METRICS_PIPELINE, METRICS_PROCESS, METRICS_TOKIO_RUNTIME,
};

/// The metrics part of a drain tick: which built-in collectors run, and the
/// cardinality limit of the global registry's families. Defaults, variables and
/// accepted values: the `metrics.*` rows of [`SETTINGS`](crate::SETTINGS).
///
/// ```
/// use telem::{Config, MetricsConfig};
/// let config = Config::new().with_metrics(
///     MetricsConfig::new().with_process(false).with_cardinality_limit(500),
/// );
/// assert!(config.validate().is_ok());
/// assert!(!config.metrics().process());
/// assert_eq!(config.metrics().cardinality_limit(), 500);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct MetricsConfig {
    pub(crate) enabled: bool,
    pub(crate) process: bool,
    pub(crate) tokio_runtime: bool,
    pub(crate) pipeline: bool,
    pub(crate) cardinality_limit: usize,
}

impl MetricsConfig {
    /// The defaults: everything on, 2000 series per family.
    pub const fn new() -> Self {
        Self {
            enabled: METRICS_ENABLED.default_bool(),
            process: METRICS_PROCESS.default_bool(),
            tokio_runtime: METRICS_TOKIO_RUNTIME.default_bool(),
            pipeline: METRICS_PIPELINE.default_bool(),
            cardinality_limit: CARDINALITY_LIMIT.default_integer() as usize,
        }
    }

    /// Turns metric snapshots at each tick on or off: the global registry (collectors and
    /// metric callbacks included) handed to the sinks.
    pub const fn with_enabled(mut self, on: bool) -> Self {
        self.enabled = on;
        self
    }

    /// Turns the process collector on or off
    /// ([`collectors::process`](crate::metrics::collectors::process)).
    pub const fn with_process(mut self, on: bool) -> Self {
        self.process = on;
        self
    }

    /// Turns the tokio runtime collector on or off
    /// ([`collectors::tokio_runtime`](crate::metrics::collectors::tokio_runtime)).
    pub const fn with_tokio_runtime(mut self, on: bool) -> Self {
        self.tokio_runtime = on;
        self
    }

    /// Turns the pipeline self-metrics on or off
    /// ([`collectors::pipeline`](crate::metrics::collectors::pipeline)).
    pub const fn with_pipeline(mut self, on: bool) -> Self {
        self.pipeline = on;
        self
    }

    /// Sets the series per family in the global registry before new label combinations
    /// go to the overflow series.
    pub const fn with_cardinality_limit(mut self, series: usize) -> Self {
        self.cardinality_limit = series;
        self
    }

    /// Whether metric snapshots are taken at each tick.
    pub const fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether the process collector runs.
    pub const fn process(&self) -> bool {
        self.process
    }

    /// Whether the tokio runtime collector runs.
    pub const fn tokio_runtime(&self) -> bool {
        self.tokio_runtime
    }

    /// Whether the pipeline self-metrics are collected.
    pub const fn pipeline(&self) -> bool {
        self.pipeline
    }

    /// Series per family before the overflow series.
    pub const fn cardinality_limit(&self) -> usize {
        self.cardinality_limit
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self::new()
    }
}
