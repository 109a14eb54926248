//! `OtlpConfig`: the typed builder, merged with the environment and resolved into
//! [`Settings`](crate::Settings).

use std::fmt;
use std::time::Duration;
use telemetry::{KeyValue, Str, Value};

/// How request bodies are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// `http/json`: OTLP/JSON, `application/json`. The default without the `protobuf`
    /// feature.
    HttpJson,
    /// `http/protobuf`: `application/x-protobuf`; needs the `protobuf` feature (on by
    /// default), and is then the default, as OpenTelemetry specifies.
    HttpProtobuf,
}

impl Protocol {
    /// The name `OTEL_EXPORTER_OTLP_PROTOCOL` uses: `http/json` or `http/protobuf`.
    ///
    /// ```
    /// assert_eq!(telemetry_otlp::Protocol::HttpJson.as_str(), "http/json");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::HttpJson => "http/json",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }

    /// The `Content-Type` of a request body.
    pub const fn content_type(self) -> &'static str {
        match self {
            Protocol::HttpJson => "application/json",
            Protocol::HttpProtobuf => "application/x-protobuf",
        }
    }
}

/// Whether request bodies are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Sent as encoded (the default, as OpenTelemetry specifies).
    #[default]
    None,
    /// gzip (`Content-Encoding: gzip`), fastest level: JSON shrinks 5–10x.
    Gzip,
}

/// How sums and histograms report their values over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Temporality {
    /// Totals since each series started (the default; what Prometheus expects).
    #[default]
    Cumulative,
    /// Counters (monotonic sums) and histograms report the change since the previous
    /// successful export; up-down counters and gauges stay cumulative (OpenTelemetry's
    /// delta preference). A failed export is folded into the next one.
    Delta,
}

/// The two signals this exporter sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// Spans, to `/v1/traces`.
    Traces,
    /// Metric data points, to `/v1/metrics`.
    Metrics,
}

impl Signal {
    /// `traces` or `metrics`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
        }
    }

    /// The path appended to a base endpoint: `/v1/traces` or `/v1/metrics`.
    pub const fn path(self) -> &'static str {
        match self {
            Signal::Traces => "v1/traces",
            Signal::Metrics => "v1/metrics",
        }
    }
}

/// Retries of a request that failed in a way worth retrying (connection errors,
/// timeouts, 429, 502, 503, 504): exponential backoff with jitter, or the server's
/// `Retry-After`, until the signal's export timeout runs out.
///
/// ```
/// use std::time::Duration;
/// let retry = telemetry_otlp::RetryPolicy::new()
///     .with_initial_backoff(Duration::from_millis(100))
///     .with_max_backoff(Duration::from_secs(5));
/// assert_eq!(retry.initial_backoff, Duration::from_millis(100));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The wait before the first retry (then doubled each time). Default 1 s.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts. Default 30 s.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The defaults: 1 s, doubling, at most 30 s.
    pub const fn new() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }

    /// Sets the first wait: 1 ms to 600 s.
    pub const fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Sets the longest wait: 1 ms to 600 s, not below the initial backoff.
    pub const fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

/// Request headers, in order. `Debug` shows their names only: a header often carries
/// an API key (`OTEL_EXPORTER_OTLP_HEADERS=api-key=…`), and configurations get logged.
#[derive(Clone, Default, PartialEq)]
pub(crate) struct Headers(pub(crate) Vec<(String, String)>);

impl std::ops::Deref for Headers {
    type Target = Vec<(String, String)>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Headers {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(&self.0, f)
    }
}

/// `[("name", "<redacted>"), …]`.
pub(crate) fn redacted(headers: &[(String, String)], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.debug_list()
        .entries(headers.iter().map(|(name, _)| (name, "<redacted>")))
        .finish()
}

/// One source of settings: code (the builder) or the environment. Every field is
/// optional; [`Settings`](crate::Settings) resolves code, then environment, then defaults.
#[derive(Clone, Debug, Default)]
pub(crate) struct Layer {
    pub(crate) endpoint: Option<String>,
    pub(crate) signal_endpoint: [Option<String>; 2],
    pub(crate) headers: Headers,
    pub(crate) signal_headers: [Headers; 2],
    pub(crate) timeout: Option<Duration>,
    pub(crate) signal_timeout: [Option<Duration>; 2],
    pub(crate) compression: Option<Compression>,
    pub(crate) signal_compression: [Option<Compression>; 2],
    pub(crate) protocol: Option<Protocol>,
    pub(crate) signal_protocol: [Option<Protocol>; 2],
    pub(crate) enabled: [Option<bool>; 2],
    pub(crate) service_name: Option<String>,
    pub(crate) resource: Vec<KeyValue>,
    pub(crate) temporality: Option<Temporality>,
    pub(crate) metric_export_interval: Option<Duration>,
    pub(crate) metric_export_timeout: Option<Duration>,
    pub(crate) schedule_delay: Option<Duration>,
    pub(crate) export_timeout: Option<Duration>,
    pub(crate) max_queue_size: Option<usize>,
    pub(crate) max_export_batch_size: Option<usize>,
    pub(crate) shutdown_timeout: Option<Duration>,
    pub(crate) initial_backoff: Option<Duration>,
    pub(crate) max_backoff: Option<Duration>,
    pub(crate) self_metrics: Option<bool>,
}

pub(crate) fn index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
    }
}

/// Everything the OTLP exporter can be told, as a builder. Settings made here win over
/// the environment ([`OtlpConfig::with_env`]), which wins over the defaults; nothing
/// is checked until [`OtlpConfig::settings`] or [`OtlpSink::new`](crate::OtlpSink::new).
///
/// ```
/// use std::time::Duration;
/// use telemetry_otlp::{Compression, OtlpConfig, Signal};
/// let config = OtlpConfig::new()
///     .with_endpoint("http://collector:4318")
///     .with_service_name("books")
///     .with_service_version("1.4.2")
///     .with_deployment_environment("production")
///     .with_header("x-tenant", "acme")
///     .with_compression(Compression::Gzip)
///     .with_timeout(Duration::from_secs(5));
/// let settings = config.settings().unwrap();
/// assert_eq!(settings.signal(Signal::Traces).endpoint, "http://collector:4318/v1/traces");
/// assert_eq!(settings.signal(Signal::Metrics).endpoint, "http://collector:4318/v1/metrics");
/// assert_eq!(settings.resource_attribute("service.name"), Some("books".into()));
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct OtlpConfig {
    pub(crate) code: Layer,
    pub(crate) env: Layer,
    pub(crate) scope_versions: Vec<(String, String)>,
}

impl OtlpConfig {
    /// Nothing set: every setting takes its default (or the environment's value after
    /// [`with_env`](OtlpConfig::with_env)).
    pub fn new() -> Self {
        Self::default()
    }

    /// The base URL for both signals; `/v1/traces` and `/v1/metrics` are appended.
    /// Default `http://localhost:4318`.
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.code.endpoint = Some(url.into());
        self
    }

    /// The full URL for spans, used as given (no path appended).
    pub fn with_traces_endpoint(mut self, url: impl Into<String>) -> Self {
        self.code.signal_endpoint[index(Signal::Traces)] = Some(url.into());
        self
    }

    /// The full URL for metrics, used as given (no path appended).
    pub fn with_metrics_endpoint(mut self, url: impl Into<String>) -> Self {
        self.code.signal_endpoint[index(Signal::Metrics)] = Some(url.into());
        self
    }

    /// Adds a header to every request (an API key, a tenant). A header set in code
    /// replaces one of the same name from the environment.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.code.headers.push((name.into(), value.into()));
        self
    }

    /// How long one request may take, connection included: 1 ms to 600 s. Default 10 s.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.code.timeout = Some(timeout);
        self
    }

    /// Compresses request bodies. Default none.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.code.compression = Some(compression);
        self
    }

    /// The body encoding. Default `http/protobuf` with the `protobuf` feature (on by
    /// default), `http/json` without.
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.code.protocol = Some(protocol);
        self
    }

    /// Sends (or not) this signal. Default: both.
    pub fn with_signal(mut self, signal: Signal, enabled: bool) -> Self {
        self.code.enabled[index(signal)] = Some(enabled);
        self
    }

    /// The `service.name` resource attribute. Default `unknown_service:<executable>`.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.code.service_name = Some(name.into());
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

    /// The `service.instance.id` resource attribute. Default: a random UUID per process.
    pub fn with_service_instance_id(self, id: impl Into<String>) -> Self {
        self.with_resource_attribute("service.instance.id", id.into())
    }

    /// Any resource attribute; a later one replaces an earlier one with the same key.
    pub fn with_resource_attribute(mut self, key: impl Into<Str>, value: impl Into<Value>) -> Self {
        self.code.resource.push(KeyValue::new(key, value));
        self
    }

    /// The version reported for the instrumentation scope `scope` (a
    /// [`Tracer`](telemetry::Tracer)'s name). Scopes without one are sent without a version.
    pub fn with_scope_version(
        mut self,
        scope: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        self.scope_versions.push((scope.into(), version.into()));
        self
    }

    /// Sums and histograms as totals or as changes. Default cumulative.
    pub fn with_temporality(mut self, temporality: Temporality) -> Self {
        self.code.temporality = Some(temporality);
        self
    }

    /// How often metrics are sent (the latest drain tick's snapshot): 1 ms to 3600 s.
    /// Default 60 s.
    pub fn with_metric_export_interval(mut self, interval: Duration) -> Self {
        self.code.metric_export_interval = Some(interval);
        self
    }

    /// How long one metrics export may take, retries included: 1 ms to 3600 s.
    /// Default 30 s.
    pub fn with_metric_export_timeout(mut self, timeout: Duration) -> Self {
        self.code.metric_export_timeout = Some(timeout);
        self
    }

    /// The longest a span waits in the queue before it is sent (a batch also leaves as
    /// soon as it is full): 1 ms to 3600 s. Default 5 s.
    pub fn with_schedule_delay(mut self, delay: Duration) -> Self {
        self.code.schedule_delay = Some(delay);
        self
    }

    /// How long one span batch may take, retries included: 1 ms to 3600 s. Default 30 s.
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.code.export_timeout = Some(timeout);
        self
    }

    /// Spans the queue holds while the collector is slow or down; more are dropped and
    /// counted: 1 to 1000000. Default 2048.
    pub fn with_max_queue_size(mut self, spans: usize) -> Self {
        self.code.max_queue_size = Some(spans);
        self
    }

    /// Most spans in one request: 1 to the queue size. Default 512.
    pub fn with_max_export_batch_size(mut self, spans: usize) -> Self {
        self.code.max_export_batch_size = Some(spans);
        self
    }

    /// How long flush and shutdown wait for the queue to be sent: 1 ms to 600 s.
    /// Default 3 s (below the pipeline's 5 s `sink_timeout`, so shutdown ends on ours).
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.code.shutdown_timeout = Some(timeout);
        self
    }

    /// How retries back off. Default [`RetryPolicy::new`].
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.code.initial_backoff = Some(retry.initial_backoff);
        self.code.max_backoff = Some(retry.max_backoff);
        self
    }

    /// Counts the exporter's outcomes in the global metrics registry too
    /// (`telemetry_otlp_*`). Default on.
    pub fn with_self_metrics(mut self, enabled: bool) -> Self {
        self.code.self_metrics = Some(enabled);
        self
    }
}
