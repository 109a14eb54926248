//! The values the exporter's settings take: [`Protocol`], [`Compression`],
//! [`Temporality`], [`Signal`], [`RetryPolicy`], and request headers (redacted in `Debug`).

use crate::config::table::{RETRY_INITIAL_BACKOFF, RETRY_MAX_BACKOFF};
use std::fmt;
use std::time::Duration;

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
    /// assert_eq!(telem_otlp::Protocol::HttpJson.as_str(), "http/json");
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

/// The three signals this exporter sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// Spans, to `/v1/traces`.
    Traces,
    /// Metric data points, to `/v1/metrics`.
    Metrics,
    /// Log records, to `/v1/logs`.
    Logs,
}

impl Signal {
    /// Every signal, in the order of the per-signal settings.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// `traces`, `metrics` or `logs`.
    ///
    /// ```
    /// assert_eq!(telem_otlp::Signal::Logs.as_str(), "logs");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    /// The path appended to a base endpoint: `v1/traces`, `v1/metrics` or `v1/logs`
    /// (§ "Endpoint URLs for OTLP/HTTP" of the OTLP exporter specification).
    pub const fn path(self) -> &'static str {
        match self {
            Signal::Traces => "v1/traces",
            Signal::Metrics => "v1/metrics",
            Signal::Logs => "v1/logs",
        }
    }
}

/// Retries of a request that failed in a way worth retrying (connection errors,
/// timeouts, 429, 502, 503, 504): exponential backoff with jitter, or the server's
/// `Retry-After`, until the signal's export timeout runs out.
///
/// ```
/// use std::time::Duration;
/// let retry = telem_otlp::RetryPolicy::new()
///     .with_initial_backoff(Duration::from_millis(100))
///     .with_max_backoff(Duration::from_secs(5));
/// assert_eq!(retry.initial_backoff(), Duration::from_millis(100));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct RetryPolicy {
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
}

impl RetryPolicy {
    /// The defaults: 1 s, doubling, at most 30 s (the `retry.*` rows of
    /// [`SETTINGS`](crate::SETTINGS)).
    pub const fn new() -> Self {
        Self {
            initial_backoff: RETRY_INITIAL_BACKOFF.default_millis(),
            max_backoff: RETRY_MAX_BACKOFF.default_millis(),
        }
    }

    /// Sets the wait before the first retry (then doubled each time).
    pub const fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Sets the longest wait between two attempts (not below the initial backoff).
    pub const fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The wait before the first retry.
    pub const fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The longest wait between two attempts.
    pub const fn max_backoff(&self) -> Duration {
        self.max_backoff
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
