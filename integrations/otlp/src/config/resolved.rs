//! What the exporter runs with: [`OtlpConfig::resolve`] takes code, then environment,
//! then defaults, and checks every value against its row of [`SETTINGS`](crate::SETTINGS).

use super::table::{
    EXPORT_TIMEOUT, LOGS_EXPORT_TIMEOUT, LOGS_MAX_EXPORT_BATCH_SIZE, LOGS_MAX_QUEUE_SIZE,
    LOGS_SCHEDULE_DELAY, MAX_EXPORT_BATCH_SIZE, MAX_QUEUE_SIZE, METRIC_EXPORT_INTERVAL,
    METRIC_EXPORT_TIMEOUT, RETRY_INITIAL_BACKOFF, RETRY_MAX_BACKOFF, SCHEDULE_DELAY, SELF_METRICS,
    SHUTDOWN_TIMEOUT, TIMEOUT,
};
use super::{index, redacted, Headers};
use crate::{
    resource, Compression, OtlpConfig, OtlpError, Protocol, RetryPolicy, Signal, Temporality,
};
use std::time::Duration;
use telem::{CodeOrEnv, ConfigError, KeyValue, Setting};

/// The default base endpoint (an OpenTelemetry Collector's OTLP/HTTP port on this host).
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// The default protocol: `http/protobuf` with the `protobuf` feature (as OpenTelemetry
/// specifies), `http/json` without it.
pub const DEFAULT_PROTOCOL: Protocol = if cfg!(feature = "protobuf") {
    Protocol::HttpProtobuf
} else {
    Protocol::HttpJson
};

/// The configuration of one signal, resolved. `Debug` shows header names, not their
/// values (they often carry credentials).
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct SignalConfig {
    /// Whether this signal is sent.
    pub enabled: bool,
    /// The full URL requests go to.
    pub endpoint: String,
    /// Extra request headers, in order, names as given.
    pub headers: Vec<(String, String)>,
    /// The per-request timeout.
    pub timeout: Duration,
    /// Body compression.
    pub compression: Compression,
    /// Body encoding.
    pub protocol: Protocol,
}

impl std::fmt::Debug for SignalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Redacted<'a>(&'a [(String, String)]);
        impl std::fmt::Debug for Redacted<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                redacted(self.0, f)
            }
        }
        f.debug_struct("SignalConfig")
            .field("enabled", &self.enabled)
            .field("endpoint", &self.endpoint)
            .field("headers", &Redacted(&self.headers))
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("protocol", &self.protocol)
            .finish()
    }
}

/// Everything the exporter runs with, resolved from an [`OtlpConfig`] (code, then
/// environment, then defaults) and checked: what [`OtlpSink::config`](crate::OtlpSink::config)
/// shows.
///
/// ```
/// use telem_otlp::{OtlpConfig, Signal};
/// let resolved = OtlpConfig::new()
///     .with_env_vars([
///         ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
///         ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:9000/otlp"),
///         ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100"),
///         ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "200"),
///     ])
///     .unwrap()
///     .resolve()
///     .unwrap();
/// assert_eq!(resolved.signal(Signal::Traces).endpoint, "http://collector:4318/v1/traces");
/// assert_eq!(resolved.signal(Signal::Metrics).endpoint, "http://metrics:9000/otlp");
/// assert_eq!(resolved.signal(Signal::Logs).endpoint, "http://collector:4318/v1/logs");
/// assert_eq!(resolved.signal(Signal::Traces).protocol, telem_otlp::DEFAULT_PROTOCOL);
/// assert_eq!(resolved.max_export_batch_size, 100);
/// assert_eq!(resolved.logs_max_export_batch_size, 200);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ResolvedConfig {
    /// Spans.
    pub traces: SignalConfig,
    /// Metrics.
    pub metrics: SignalConfig,
    /// Log records.
    pub logs: SignalConfig,
    /// The resource attributes every batch carries.
    pub resource: Vec<KeyValue>,
    /// Instrumentation scope versions, by scope name.
    pub scope_versions: Vec<(String, String)>,
    /// Cumulative or delta sums and histograms.
    pub temporality: Temporality,
    /// How often metrics are sent.
    pub metric_export_interval: Duration,
    /// How long one metrics export may take, retries included.
    pub metric_export_timeout: Duration,
    /// The longest a span waits in the queue.
    pub schedule_delay: Duration,
    /// How long one span batch may take, retries included.
    pub export_timeout: Duration,
    /// Spans the queue holds.
    pub max_queue_size: usize,
    /// Most spans per request.
    pub max_export_batch_size: usize,
    /// The longest a log record waits in its queue.
    pub logs_schedule_delay: Duration,
    /// How long one batch of log records may take, retries included.
    pub logs_export_timeout: Duration,
    /// Log records the queue holds.
    pub logs_max_queue_size: usize,
    /// Most log records per request.
    pub logs_max_export_batch_size: usize,
    /// How long flush and shutdown wait.
    pub shutdown_timeout: Duration,
    /// Retry backoff.
    pub retry: RetryPolicy,
    /// Whether outcomes are also counted in the global metrics registry.
    pub self_metrics: bool,
}

impl ResolvedConfig {
    /// The configuration of `signal`.
    pub fn signal(&self, signal: Signal) -> &SignalConfig {
        match signal {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
            Signal::Logs => &self.logs,
        }
    }

    /// A resource attribute's value as text.
    pub fn resource_attribute(&self, key: &str) -> Option<String> {
        resource::get(&self.resource, key)
    }
}

/// A setting that also comes per signal: the signal's in code, the general one in code,
/// the signal's from the environment, the general one from the environment.
fn per_signal<T: Clone>(signal: &CodeOrEnv<T>, general: &CodeOrEnv<T>) -> Option<T> {
    signal
        .code()
        .or(general.code())
        .or(signal.env())
        .or(general.env())
        .cloned()
}

/// A queue's size and its batch size (`queue_row`, `batch_row`), checked: the batch
/// defaults to its row's default or the queue size, whichever is smaller, and may not be
/// larger than the queue.
fn queue_and_batch(
    queue: &CodeOrEnv<usize>,
    batch: &CodeOrEnv<usize>,
    queue_row: &Setting,
    batch_row: &Setting,
) -> Result<(usize, usize), OtlpError> {
    let queue_size = queue_row
        .check_integer(queue.get_or(queue_row.default_integer() as usize) as u64)?
        as usize;
    let batch_size = batch.get_or((batch_row.default_integer() as usize).min(queue_size));
    batch_row.check_integer(batch_size as u64)?;
    if batch_size > queue_size {
        return Err(match batch.code() {
            Some(_) => ConfigError::from_code(batch_row, batch_size),
            None => ConfigError::from_env(batch_row, batch_size.to_string()),
        }
        .into());
    }
    Ok((queue_size, batch_size))
}

fn join(base: &str, signal: Signal) -> String {
    if base.ends_with('/') {
        format!("{base}{}", signal.path())
    } else {
        format!("{base}/{}", signal.path())
    }
}

/// Why `url` is not an absolute `http://` or `https://` URL, if it is not.
pub(crate) fn url_problem(url: &str) -> Option<String> {
    let uri: http::Uri = match url.parse() {
        Ok(uri) => uri,
        Err(e) => return Some(format!("{e}")),
    };
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Some("the scheme must be http or https".to_owned());
    }
    if uri.authority().is_none() {
        return Some("a host is required".to_owned());
    }
    None
}

fn check_endpoint(signal: Signal, url: String) -> Result<String, OtlpError> {
    if let Some(reason) = url_problem(&url) {
        return Err(OtlpError::Endpoint {
            signal: signal.as_str(),
            url,
            reason,
        });
    }
    if url.starts_with("https") && !cfg!(feature = "tls") {
        return Err(OtlpError::TlsDisabled(url));
    }
    Ok(url)
}

/// Why `(name, value)` cannot be an HTTP header, if it cannot.
pub(crate) fn header_problem(name: &str, value: &str) -> Option<&'static str> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Some("not a valid header name");
    }
    if http::HeaderValue::from_str(value).is_err() {
        return Some("the value has characters a header cannot hold");
    }
    None
}

fn check_header(name: &str, value: &str) -> Result<(), OtlpError> {
    match header_problem(name, value) {
        Some(reason) => Err(OtlpError::Header {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Sets `(name, value)` in `headers`, replacing a header of the same name (any case).
fn merge_header(headers: &mut Vec<(String, String)>, (name, value): (String, String)) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
    headers.push((name, value));
}

/// The headers of each layer in order: the environment's general then signal-specific
/// ones, then the code's.
fn layers<'a>(
    signal: &'a CodeOrEnv<Headers>,
    general: &'a CodeOrEnv<Headers>,
) -> impl Iterator<Item = &'a (String, String)> {
    [general.env(), signal.env(), general.code(), signal.code()]
        .into_iter()
        .flatten()
        .flat_map(|h| h.0.iter())
}

impl OtlpConfig {
    /// Resolves every setting (code, then environment, then defaults) and checks it.
    pub fn resolve(&self) -> Result<ResolvedConfig, OtlpError> {
        let signal = |signal: Signal| -> Result<SignalConfig, OtlpError> {
            let i = index(signal);
            let (endpoint, base) = (&self.signal_endpoint[i], &self.endpoint);
            let url = endpoint
                .code()
                .cloned()
                .or_else(|| base.code().map(|b| join(b, signal)))
                .or_else(|| endpoint.env().cloned())
                .or_else(|| base.env().map(|b| join(b, signal)))
                .unwrap_or_else(|| join(DEFAULT_ENDPOINT, signal));
            let mut headers = Vec::new();
            for h in layers(&self.signal_headers[i], &self.headers) {
                merge_header(&mut headers, h.clone());
            }
            for (name, value) in &headers {
                check_header(name, value)?;
            }
            let timeout = per_signal(&self.signal_timeout[i], &self.timeout)
                .unwrap_or(TIMEOUT.default_millis());
            let compression =
                per_signal(&self.signal_compression[i], &self.compression).unwrap_or_default();
            let protocol =
                per_signal(&self.signal_protocol[i], &self.protocol).unwrap_or(DEFAULT_PROTOCOL);
            if protocol == Protocol::HttpProtobuf && !cfg!(feature = "protobuf") {
                return Err(OtlpError::ProtobufDisabled);
            }
            Ok(SignalConfig {
                enabled: self.enabled[i].get_or(true),
                endpoint: check_endpoint(signal, url)?,
                headers,
                timeout: TIMEOUT.check_millis(timeout)?,
                compression,
                protocol,
            })
        };
        let traces = signal(Signal::Traces)?;
        let metrics = signal(Signal::Metrics)?;
        let logs = signal(Signal::Logs)?;

        let mut attributes = resource::defaults();
        let service_name = |name: &String| KeyValue::new("service.name", name.clone());
        for kv in self.resource.env().into_iter().flatten() {
            resource::merge(&mut attributes, kv.clone());
        }
        if let Some(name) = self.service_name.env() {
            resource::merge(&mut attributes, service_name(name));
        }
        for kv in self.resource.code().into_iter().flatten() {
            resource::merge(&mut attributes, kv.clone());
        }
        if let Some(name) = self.service_name.code() {
            resource::merge(&mut attributes, service_name(name));
        }

        let (max_queue_size, max_export_batch_size) = queue_and_batch(
            &self.max_queue_size,
            &self.max_export_batch_size,
            &MAX_QUEUE_SIZE,
            &MAX_EXPORT_BATCH_SIZE,
        )?;
        let (logs_max_queue_size, logs_max_export_batch_size) = queue_and_batch(
            &self.logs_max_queue_size,
            &self.logs_max_export_batch_size,
            &LOGS_MAX_QUEUE_SIZE,
            &LOGS_MAX_EXPORT_BATCH_SIZE,
        )?;
        let initial_backoff = RETRY_INITIAL_BACKOFF.check_millis(
            self.initial_backoff
                .get_or(RETRY_INITIAL_BACKOFF.default_millis()),
        )?;
        let max_backoff = RETRY_MAX_BACKOFF.check_millis(
            self.max_backoff
                .get_or(RETRY_MAX_BACKOFF.default_millis().max(initial_backoff)),
        )?;
        if max_backoff < initial_backoff {
            return Err(match self.max_backoff.code() {
                Some(_) => ConfigError::from_code(&RETRY_MAX_BACKOFF, max_backoff),
                None => {
                    ConfigError::from_env(&RETRY_MAX_BACKOFF, max_backoff.as_millis().to_string())
                }
            }
            .into());
        }
        let millis = |setting: &Setting, value: &CodeOrEnv<Duration>| {
            setting.check_millis(value.get_or(setting.default_millis()))
        };
        Ok(ResolvedConfig {
            traces,
            metrics,
            logs,
            resource: attributes,
            scope_versions: self.scope_versions.clone(),
            temporality: self.temporality.get_or(Temporality::Cumulative),
            metric_export_interval: millis(&METRIC_EXPORT_INTERVAL, &self.metric_export_interval)?,
            metric_export_timeout: millis(&METRIC_EXPORT_TIMEOUT, &self.metric_export_timeout)?,
            schedule_delay: millis(&SCHEDULE_DELAY, &self.schedule_delay)?,
            export_timeout: millis(&EXPORT_TIMEOUT, &self.export_timeout)?,
            max_queue_size,
            max_export_batch_size,
            logs_schedule_delay: millis(&LOGS_SCHEDULE_DELAY, &self.logs_schedule_delay)?,
            logs_export_timeout: millis(&LOGS_EXPORT_TIMEOUT, &self.logs_export_timeout)?,
            logs_max_queue_size,
            logs_max_export_batch_size,
            shutdown_timeout: millis(&SHUTDOWN_TIMEOUT, &self.shutdown_timeout)?,
            retry: RetryPolicy::new()
                .with_initial_backoff(initial_backoff)
                .with_max_backoff(max_backoff),
            self_metrics: self.self_metrics.get_or(SELF_METRICS.default_bool()),
        })
    }

    /// Checks every setting, as [`OtlpConfig::resolve`] does.
    pub fn validate(&self) -> Result<(), OtlpError> {
        self.resolve().map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let s = OtlpConfig::new().resolve().unwrap();
        assert_eq!(s.traces.endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(s.metrics.endpoint, "http://localhost:4318/v1/metrics");
        assert_eq!(s.logs.endpoint, "http://localhost:4318/v1/logs");
        assert_eq!(s.traces.timeout, Duration::from_secs(10));
        assert_eq!(s.logs.timeout, Duration::from_secs(10));
        assert_eq!(s.logs.compression, Compression::None);
        assert_eq!(s.logs.protocol, DEFAULT_PROTOCOL);
        assert!(s.logs.enabled);
        assert_eq!(s.traces.compression, Compression::None);
        assert_eq!(s.traces.protocol, DEFAULT_PROTOCOL);
        assert!(s.traces.enabled && s.metrics.enabled);
        assert_eq!(s.max_queue_size, 2048);
        assert_eq!(s.max_export_batch_size, 512);
        assert_eq!(s.schedule_delay, Duration::from_secs(5));
        assert_eq!(s.export_timeout, Duration::from_secs(30));
        // § "Batch LogRecord Processor": OTEL_BLRP_* defaults.
        assert_eq!(s.logs_schedule_delay, Duration::from_secs(1));
        assert_eq!(s.logs_export_timeout, Duration::from_secs(30));
        assert_eq!(s.logs_max_queue_size, 2048);
        assert_eq!(s.logs_max_export_batch_size, 512);
        assert_eq!(s.metric_export_interval, Duration::from_secs(60));
        assert_eq!(s.metric_export_timeout, Duration::from_secs(30));
        assert_eq!(s.shutdown_timeout, Duration::from_secs(3));
        assert_eq!(s.temporality, Temporality::Cumulative);
        assert_eq!(s.retry, RetryPolicy::new());
        assert_eq!(
            (s.retry.initial_backoff(), s.retry.max_backoff()),
            (Duration::from_secs(1), Duration::from_secs(30))
        );
        assert!(s.self_metrics);
        for key in [
            "service.name",
            "service.instance.id",
            "process.pid",
            "telemetry.sdk.name",
            "telemetry.sdk.language",
            "telemetry.sdk.version",
        ] {
            assert!(s.resource_attribute(key).is_some(), "{key}");
        }
    }

    #[test]
    fn signal_endpoints_are_used_as_given_and_base_endpoints_get_the_path() {
        let s = OtlpConfig::new()
            .with_endpoint("http://a:1/prefix")
            .with_metrics_endpoint("http://b:2/custom")
            .resolve()
            .unwrap();
        assert_eq!(s.traces.endpoint, "http://a:1/prefix/v1/traces");
        assert_eq!(s.metrics.endpoint, "http://b:2/custom");
        assert_eq!(s.logs.endpoint, "http://a:1/prefix/v1/logs");
    }

    #[test]
    fn invalid_settings_name_the_setting() {
        let cases: Vec<(OtlpConfig, &str)> = vec![
            (OtlpConfig::new().with_max_queue_size(0), "max_queue_size"),
            (
                OtlpConfig::new()
                    .with_max_queue_size(10)
                    .with_max_export_batch_size(11),
                "max_export_batch_size",
            ),
            (
                OtlpConfig::new().with_logs_max_queue_size(0),
                "logs.max_queue_size",
            ),
            (
                OtlpConfig::new()
                    .with_logs_max_queue_size(10)
                    .with_logs_max_export_batch_size(11),
                "logs.max_export_batch_size",
            ),
            (
                OtlpConfig::new().with_logs_schedule_delay(Duration::ZERO),
                "logs.schedule_delay",
            ),
            (
                OtlpConfig::new().with_logs_export_timeout(Duration::from_secs(3601)),
                "logs.export_timeout",
            ),
            (OtlpConfig::new().with_timeout(Duration::ZERO), "timeout"),
            (
                OtlpConfig::new().with_schedule_delay(Duration::from_secs(3601)),
                "schedule_delay",
            ),
            (
                OtlpConfig::new().with_shutdown_timeout(Duration::ZERO),
                "shutdown_timeout",
            ),
            (
                OtlpConfig::new().with_retry(
                    RetryPolicy::new()
                        .with_initial_backoff(Duration::from_secs(2))
                        .with_max_backoff(Duration::from_secs(1)),
                ),
                "retry.max_backoff",
            ),
        ];
        for (config, setting) in cases {
            match config.resolve() {
                Err(OtlpError::Config(e)) => {
                    assert_eq!((e.setting, e.variable), (setting, None));
                }
                other => panic!("{setting}: {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_endpoints_and_headers() {
        for url in ["localhost:4318", "ftp://x/", "/v1/traces", "http://"] {
            let e = OtlpConfig::new().with_logs_endpoint(url).resolve();
            assert!(
                matches!(e, Err(OtlpError::Endpoint { signal: "logs", .. })),
                "{url}: {e:?}"
            );
            let e = OtlpConfig::new().with_traces_endpoint(url).resolve();
            assert!(
                matches!(
                    e,
                    Err(OtlpError::Endpoint {
                        signal: "traces",
                        ..
                    })
                ),
                "{url}: {e:?}"
            );
        }
        let e = OtlpConfig::new()
            .with_header("bad name", "v")
            .resolve()
            .unwrap_err();
        assert!(matches!(e, OtlpError::Header { .. }));
        let e = OtlpConfig::new()
            .with_header("x-ok", "line\nbreak")
            .resolve()
            .unwrap_err();
        assert!(matches!(e, OtlpError::Header { .. }));
    }

    #[test]
    fn code_headers_replace_environment_headers_of_the_same_name() {
        let s = OtlpConfig::new()
            .with_header("Authorization", "code")
            .with_env_vars([("OTEL_EXPORTER_OTLP_HEADERS", "authorization=env,x-env=1")])
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(
            s.traces.headers,
            [
                ("x-env".to_owned(), "1".to_owned()),
                ("Authorization".to_owned(), "code".to_owned())
            ]
        );
    }

    #[cfg(not(feature = "protobuf"))]
    #[test]
    fn protobuf_without_the_feature_is_refused() {
        assert_eq!(
            OtlpConfig::new()
                .with_protocol(Protocol::HttpProtobuf)
                .resolve()
                .unwrap_err(),
            OtlpError::ProtobufDisabled
        );
    }
}
