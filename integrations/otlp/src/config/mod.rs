//! [`OtlpConfig`]: everything the exporter can be told, in code ([`OtlpConfig`]'s
//! `with_*` methods) or by the environment (`env.rs`), resolved into the
//! [`ResolvedConfig`] the exporter runs with (`resolved.rs`). Every setting is a row of
//! [`SETTINGS`](crate::SETTINGS) (`table.rs`); every field a
//! [`CodeOrEnv`](telem::CodeOrEnv), so code wins over the environment whatever the
//! order of the calls, as in the core's [`Config`](telem::Config).

mod env;
mod resolved;
pub(crate) mod table;
mod values;

pub use resolved::{ResolvedConfig, SignalConfig, DEFAULT_ENDPOINT, DEFAULT_PROTOCOL};
pub use table::SETTINGS;
pub use values::{Compression, Protocol, RetryPolicy, Signal, Temporality};

pub(crate) use resolved::{header_problem, url_problem};
pub(crate) use values::{redacted, Headers};

use std::time::Duration;
use telem::{CodeOrEnv, KeyValue, Str, Value};

/// Settings that come once per signal: `[traces, metrics, logs]`.
type PerSignal<T> = [CodeOrEnv<T>; 3];

/// The signal's position in [`Signal::ALL`] and in every per-signal array.
pub(crate) fn index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

/// Everything the OTLP exporter can be told, as a builder. Settings made here win over
/// the environment ([`OtlpConfig::with_env`]), whatever the order of the calls, and the
/// environment wins over the defaults; nothing is checked until
/// [`OtlpConfig::resolve`] or [`OtlpSink::new`](crate::OtlpSink::new). Every setting,
/// its variable, default and accepted values: [`SETTINGS`](crate::SETTINGS)
/// (`docs/configuration.md`). `Debug` shows header names, not their values (they often
/// carry credentials).
///
/// ```
/// use std::time::Duration;
/// use telem_otlp::{Compression, OtlpConfig, Signal};
/// let config = OtlpConfig::new()
///     .with_endpoint("http://collector:4318")
///     .with_service_name("books")
///     .with_service_version("1.4.2")
///     .with_deployment_environment("production")
///     .with_header("x-tenant", "acme")
///     .with_compression(Compression::Gzip)
///     .with_timeout(Duration::from_secs(5));
/// let resolved = config.resolve().unwrap();
/// assert_eq!(resolved.signal(Signal::Traces).endpoint, "http://collector:4318/v1/traces");
/// assert_eq!(resolved.signal(Signal::Metrics).endpoint, "http://collector:4318/v1/metrics");
/// assert_eq!(resolved.signal(Signal::Logs).endpoint, "http://collector:4318/v1/logs");
/// assert_eq!(resolved.resource_attribute("service.name"), Some("books".into()));
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct OtlpConfig {
    endpoint: CodeOrEnv<String>,
    signal_endpoint: PerSignal<String>,
    headers: CodeOrEnv<Headers>,
    signal_headers: PerSignal<Headers>,
    timeout: CodeOrEnv<Duration>,
    signal_timeout: PerSignal<Duration>,
    compression: CodeOrEnv<Compression>,
    signal_compression: PerSignal<Compression>,
    protocol: CodeOrEnv<Protocol>,
    signal_protocol: PerSignal<Protocol>,
    enabled: PerSignal<bool>,
    service_name: CodeOrEnv<String>,
    resource: CodeOrEnv<Vec<KeyValue>>,
    scope_versions: Vec<(String, String)>,
    temporality: CodeOrEnv<Temporality>,
    metric_export_interval: CodeOrEnv<Duration>,
    metric_export_timeout: CodeOrEnv<Duration>,
    schedule_delay: CodeOrEnv<Duration>,
    export_timeout: CodeOrEnv<Duration>,
    max_queue_size: CodeOrEnv<usize>,
    max_export_batch_size: CodeOrEnv<usize>,
    logs_schedule_delay: CodeOrEnv<Duration>,
    logs_export_timeout: CodeOrEnv<Duration>,
    logs_max_queue_size: CodeOrEnv<usize>,
    logs_max_export_batch_size: CodeOrEnv<usize>,
    shutdown_timeout: CodeOrEnv<Duration>,
    initial_backoff: CodeOrEnv<Duration>,
    max_backoff: CodeOrEnv<Duration>,
    self_metrics: CodeOrEnv<bool>,
}

impl OtlpConfig {
    /// Nothing set: every setting takes its default (or the environment's value after
    /// [`with_env`](OtlpConfig::with_env)).
    pub fn new() -> Self {
        Self::default()
    }

    /// The base URL for every signal; `/v1/traces`, `/v1/metrics` and `/v1/logs` are
    /// appended.
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint.set_code(url.into());
        self
    }

    /// The full URL for spans, used as given (no path appended).
    pub fn with_traces_endpoint(mut self, url: impl Into<String>) -> Self {
        self.signal_endpoint[index(Signal::Traces)].set_code(url.into());
        self
    }

    /// The full URL for metrics, used as given (no path appended).
    pub fn with_metrics_endpoint(mut self, url: impl Into<String>) -> Self {
        self.signal_endpoint[index(Signal::Metrics)].set_code(url.into());
        self
    }

    /// The full URL for log records, used as given (no path appended).
    ///
    /// ```
    /// use telem_otlp::{OtlpConfig, Signal};
    /// let resolved = OtlpConfig::new()
    ///     .with_endpoint("http://collector:4318")
    ///     .with_logs_endpoint("http://logs:4318/ingest")
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(resolved.signal(Signal::Logs).endpoint, "http://logs:4318/ingest");
    /// assert_eq!(resolved.signal(Signal::Traces).endpoint, "http://collector:4318/v1/traces");
    /// ```
    pub fn with_logs_endpoint(mut self, url: impl Into<String>) -> Self {
        self.signal_endpoint[index(Signal::Logs)].set_code(url.into());
        self
    }

    /// Adds a header to every request (an API key, a tenant). A header set in code
    /// replaces one of the same name from the environment.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.code_mut().0.push((name.into(), value.into()));
        self
    }

    /// How long one request may take, connection included.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout.set_code(timeout);
        self
    }

    /// Compresses request bodies.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression.set_code(compression);
        self
    }

    /// The body encoding (`http/protobuf` needs the `protobuf` feature, on by default).
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol.set_code(protocol);
        self
    }

    /// Sends (or not) this signal.
    pub fn with_signal(mut self, signal: Signal, enabled: bool) -> Self {
        self.enabled[index(signal)].set_code(enabled);
        self
    }

    /// The `service.name` resource attribute.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name.set_code(name.into());
        self
    }

    /// The `service.version` resource attribute.
    pub fn with_service_version(self, version: impl Into<String>) -> Self {
        self.with_resource_attribute("service.version", version.into())
    }

    /// The `deployment.environment.name` resource attribute (`production`, `staging`).
    pub fn with_deployment_environment(self, name: impl Into<String>) -> Self {
        self.with_resource_attribute("deployment.environment.name", name.into())
    }

    /// The `service.instance.id` resource attribute (by default a random UUID per process).
    pub fn with_service_instance_id(self, id: impl Into<String>) -> Self {
        self.with_resource_attribute("service.instance.id", id.into())
    }

    /// Any resource attribute; a later one replaces an earlier one with the same key.
    pub fn with_resource_attribute(mut self, key: impl Into<Str>, value: impl Into<Value>) -> Self {
        self.resource.code_mut().push(KeyValue::new(key, value));
        self
    }

    /// The version reported for the instrumentation scope `scope` (a
    /// [`Tracer`](telem::Tracer)'s name). Scopes without one are sent without a version.
    pub fn with_scope_version(
        mut self,
        scope: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        self.scope_versions.push((scope.into(), version.into()));
        self
    }

    /// Sums and histograms as totals or as changes.
    pub fn with_temporality(mut self, temporality: Temporality) -> Self {
        self.temporality.set_code(temporality);
        self
    }

    /// How often metrics are sent (the latest drain tick's snapshot).
    pub fn with_metric_export_interval(mut self, interval: Duration) -> Self {
        self.metric_export_interval.set_code(interval);
        self
    }

    /// How long one metrics export may take, retries included.
    pub fn with_metric_export_timeout(mut self, timeout: Duration) -> Self {
        self.metric_export_timeout.set_code(timeout);
        self
    }

    /// The longest a span waits in the queue before it is sent (a batch also leaves as
    /// soon as it is full).
    pub fn with_schedule_delay(mut self, delay: Duration) -> Self {
        self.schedule_delay.set_code(delay);
        self
    }

    /// How long one span batch may take, retries included.
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout.set_code(timeout);
        self
    }

    /// Spans the queue holds while the collector is slow or down; more are dropped and
    /// counted.
    pub fn with_max_queue_size(mut self, spans: usize) -> Self {
        self.max_queue_size.set_code(spans);
        self
    }

    /// Most spans in one request, at most the queue size.
    pub fn with_max_export_batch_size(mut self, spans: usize) -> Self {
        self.max_export_batch_size.set_code(spans);
        self
    }

    /// The longest a log record waits in its queue before it is sent (a batch also
    /// leaves as soon as it is full).
    ///
    /// ```
    /// use std::time::Duration;
    /// let resolved = telem_otlp::OtlpConfig::new()
    ///     .with_logs_schedule_delay(Duration::from_millis(200))
    ///     .with_logs_max_queue_size(10_000)
    ///     .with_logs_max_export_batch_size(1000)
    ///     .with_logs_export_timeout(Duration::from_secs(5))
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(resolved.logs_schedule_delay, Duration::from_millis(200));
    /// assert_eq!((resolved.logs_max_queue_size, resolved.logs_max_export_batch_size), (10_000, 1000));
    /// // The spans' queue keeps its own settings.
    /// assert_eq!(resolved.max_queue_size, 2048);
    /// ```
    pub fn with_logs_schedule_delay(mut self, delay: Duration) -> Self {
        self.logs_schedule_delay.set_code(delay);
        self
    }

    /// How long one batch of log records may take, retries included.
    pub fn with_logs_export_timeout(mut self, timeout: Duration) -> Self {
        self.logs_export_timeout.set_code(timeout);
        self
    }

    /// Log records the queue holds while the collector is slow or down; more are
    /// dropped and counted.
    pub fn with_logs_max_queue_size(mut self, records: usize) -> Self {
        self.logs_max_queue_size.set_code(records);
        self
    }

    /// Most log records in one request, at most the logs queue size.
    pub fn with_logs_max_export_batch_size(mut self, records: usize) -> Self {
        self.logs_max_export_batch_size.set_code(records);
        self
    }

    /// How long flush and shutdown wait for the queue to be sent.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout.set_code(timeout);
        self
    }

    /// How retries back off (see [`RetryPolicy`]).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.initial_backoff.set_code(retry.initial_backoff());
        self.max_backoff.set_code(retry.max_backoff());
        self
    }

    /// Counts the exporter's outcomes in the global metrics registry too
    /// (`telemetry_otlp_*`).
    pub fn with_self_metrics(mut self, enabled: bool) -> Self {
        self.self_metrics.set_code(enabled);
        self
    }
}
