//! What the exporter runs with: code, then environment, then defaults, checked.

use crate::config::index;
use crate::{
    resource, Compression, OtlpConfig, OtlpError, Protocol, RetryPolicy, Signal, Temporality,
};
use std::time::Duration;
use telemetry::{EnvError, KeyValue};

/// The default base endpoint (an OpenTelemetry Collector's OTLP/HTTP port on this host).
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// The default protocol: `http/protobuf` with the `protobuf` feature (as OpenTelemetry
/// specifies), `http/json` without it.
pub const DEFAULT_PROTOCOL: Protocol = if cfg!(feature = "protobuf") {
    Protocol::HttpProtobuf
} else {
    Protocol::HttpJson
};

/// The settings of one signal, resolved. `Debug` shows header names, not their values
/// (they often carry credentials).
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct SignalSettings {
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

impl std::fmt::Debug for SignalSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Headers<'a>(&'a [(String, String)]);
        impl std::fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                crate::config::redacted(self.0, f)
            }
        }
        f.debug_struct("SignalSettings")
            .field("enabled", &self.enabled)
            .field("endpoint", &self.endpoint)
            .field("headers", &Headers(&self.headers))
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("protocol", &self.protocol)
            .finish()
    }
}

/// Everything the exporter runs with, resolved from an [`OtlpConfig`] (code, then
/// environment, then defaults) and checked.
///
/// ```
/// use telemetry_otlp::{OtlpConfig, Signal};
/// let settings = OtlpConfig::new()
///     .with_env_vars([
///         ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
///         ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:9000/otlp"),
///         ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100"),
///     ])
///     .unwrap()
///     .settings()
///     .unwrap();
/// assert_eq!(settings.signal(Signal::Traces).endpoint, "http://collector:4318/v1/traces");
/// assert_eq!(settings.signal(Signal::Metrics).endpoint, "http://metrics:9000/otlp");
/// assert_eq!(settings.signal(Signal::Traces).protocol, telemetry_otlp::DEFAULT_PROTOCOL);
/// assert_eq!(settings.max_export_batch_size, 100);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Settings {
    /// Spans.
    pub traces: SignalSettings,
    /// Metrics.
    pub metrics: SignalSettings,
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
    /// How long flush and shutdown wait.
    pub shutdown_timeout: Duration,
    /// Retry backoff.
    pub retry: RetryPolicy,
    /// Whether outcomes are also counted in the global metrics registry.
    pub self_metrics: bool,
}

impl Settings {
    /// The settings of `signal`.
    pub fn signal(&self, signal: Signal) -> &SignalSettings {
        match signal {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
        }
    }

    /// A resource attribute's value as text.
    pub fn resource_attribute(&self, key: &str) -> Option<String> {
        resource::get(&self.resource, key)
    }
}

fn pick<T: Clone>(code: &Option<T>, env: &Option<T>, default: T) -> T {
    code.clone().or_else(|| env.clone()).unwrap_or(default)
}

fn check_duration(
    setting: &'static str,
    value: Duration,
    max: Duration,
    accepted: &'static str,
) -> Result<Duration, OtlpError> {
    if (Duration::from_millis(1)..=max).contains(&value) {
        Ok(value)
    } else {
        Err(OtlpError::Invalid {
            setting,
            value: format!("{value:?}"),
            accepted,
        })
    }
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

impl OtlpConfig {
    /// Resolves every setting (code, then environment, then defaults) and checks it.
    pub fn settings(&self) -> Result<Settings, OtlpError> {
        let (code, env) = (&self.code, &self.env);
        let signal = |signal: Signal| -> Result<SignalSettings, OtlpError> {
            let i = index(signal);
            let endpoint = code.signal_endpoint[i]
                .clone()
                .or_else(|| code.endpoint.as_deref().map(|b| join(b, signal)))
                .or_else(|| env.signal_endpoint[i].clone())
                .or_else(|| env.endpoint.as_deref().map(|b| join(b, signal)))
                .unwrap_or_else(|| join(DEFAULT_ENDPOINT, signal));
            let mut headers = Vec::new();
            for h in env.headers.iter().chain(env.signal_headers[i].iter()) {
                merge_header(&mut headers, h.clone());
            }
            for h in code.headers.iter().chain(code.signal_headers[i].iter()) {
                merge_header(&mut headers, h.clone());
            }
            for (name, value) in &headers {
                check_header(name, value)?;
            }
            let timeout = code.signal_timeout[i]
                .or(code.timeout)
                .or(env.signal_timeout[i])
                .or(env.timeout)
                .unwrap_or(Duration::from_secs(10));
            let compression = code.signal_compression[i]
                .or(code.compression)
                .or(env.signal_compression[i])
                .or(env.compression)
                .unwrap_or_default();
            let protocol = code.signal_protocol[i]
                .or(code.protocol)
                .or(env.signal_protocol[i])
                .or(env.protocol)
                .unwrap_or(DEFAULT_PROTOCOL);
            if protocol == Protocol::HttpProtobuf && !cfg!(feature = "protobuf") {
                return Err(OtlpError::ProtobufDisabled);
            }
            Ok(SignalSettings {
                enabled: pick(&code.enabled[i], &env.enabled[i], true),
                endpoint: check_endpoint(signal, endpoint)?,
                headers,
                timeout: check_duration(
                    "timeout",
                    timeout,
                    Duration::from_secs(600),
                    "1ms to 600s",
                )?,
                compression,
                protocol,
            })
        };
        let traces = signal(Signal::Traces)?;
        let metrics = signal(Signal::Metrics)?;

        let mut attributes = resource::defaults();
        for kv in &env.resource {
            resource::merge(&mut attributes, kv.clone());
        }
        if let Some(name) = &env.service_name {
            resource::merge(&mut attributes, KeyValue::new("service.name", name.clone()));
        }
        for kv in &code.resource {
            resource::merge(&mut attributes, kv.clone());
        }
        if let Some(name) = &code.service_name {
            resource::merge(&mut attributes, KeyValue::new("service.name", name.clone()));
        }

        let hour = Duration::from_secs(3600);
        let max_queue_size = pick(&code.max_queue_size, &env.max_queue_size, 2048);
        if !(1..=1_000_000).contains(&max_queue_size) {
            return Err(OtlpError::Invalid {
                setting: "max_queue_size",
                value: max_queue_size.to_string(),
                accepted: "1 to 1000000 spans",
            });
        }
        let max_export_batch_size = pick(
            &code.max_export_batch_size,
            &env.max_export_batch_size,
            512.min(max_queue_size),
        );
        if !(1..=max_queue_size).contains(&max_export_batch_size) {
            if code.max_export_batch_size.is_none() {
                return Err(EnvError::new(
                    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                    max_export_batch_size.to_string(),
                    "1 to the queue size (OTEL_BSP_MAX_QUEUE_SIZE, default 2048)",
                )
                .into());
            }
            return Err(OtlpError::Invalid {
                setting: "max_export_batch_size",
                value: max_export_batch_size.to_string(),
                accepted: "1 to max_queue_size spans",
            });
        }
        let backoff = |setting, code: &Option<Duration>, env: &Option<Duration>, default| {
            check_duration(
                setting,
                pick(code, env, default),
                Duration::from_secs(600),
                "1ms to 600s",
            )
        };
        let initial_backoff = backoff(
            "retry.initial_backoff",
            &code.initial_backoff,
            &env.initial_backoff,
            RetryPolicy::new().initial_backoff,
        )?;
        let max_backoff = backoff(
            "retry.max_backoff",
            &code.max_backoff,
            &env.max_backoff,
            RetryPolicy::new().max_backoff.max(initial_backoff),
        )?;
        if max_backoff < initial_backoff {
            if code.max_backoff.is_none() {
                return Err(EnvError::new(
                    "TELEMETRY_OTLP_RETRY_MAX_BACKOFF",
                    max_backoff.as_millis().to_string(),
                    "the initial backoff to 600000 (milliseconds)",
                )
                .into());
            }
            return Err(OtlpError::Invalid {
                setting: "retry.max_backoff",
                value: format!("{max_backoff:?}"),
                accepted: "retry.initial_backoff to 600s",
            });
        }
        Ok(Settings {
            traces,
            metrics,
            resource: attributes,
            scope_versions: self.scope_versions.clone(),
            temporality: pick(&code.temporality, &env.temporality, Temporality::Cumulative),
            metric_export_interval: check_duration(
                "metric_export_interval",
                pick(
                    &code.metric_export_interval,
                    &env.metric_export_interval,
                    Duration::from_secs(60),
                ),
                hour,
                "1ms to 3600s",
            )?,
            metric_export_timeout: check_duration(
                "metric_export_timeout",
                pick(
                    &code.metric_export_timeout,
                    &env.metric_export_timeout,
                    Duration::from_secs(30),
                ),
                hour,
                "1ms to 3600s",
            )?,
            schedule_delay: check_duration(
                "schedule_delay",
                pick(
                    &code.schedule_delay,
                    &env.schedule_delay,
                    Duration::from_secs(5),
                ),
                hour,
                "1ms to 3600s",
            )?,
            export_timeout: check_duration(
                "export_timeout",
                pick(
                    &code.export_timeout,
                    &env.export_timeout,
                    Duration::from_secs(30),
                ),
                hour,
                "1ms to 3600s",
            )?,
            max_queue_size,
            max_export_batch_size,
            shutdown_timeout: check_duration(
                "shutdown_timeout",
                pick(
                    &code.shutdown_timeout,
                    &env.shutdown_timeout,
                    Duration::from_secs(3),
                ),
                Duration::from_secs(600),
                "1ms to 600s",
            )?,
            retry: RetryPolicy::new()
                .with_initial_backoff(initial_backoff)
                .with_max_backoff(max_backoff),
            self_metrics: pick(&code.self_metrics, &env.self_metrics, true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let s = OtlpConfig::new().settings().unwrap();
        assert_eq!(s.traces.endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(s.metrics.endpoint, "http://localhost:4318/v1/metrics");
        assert_eq!(s.traces.timeout, Duration::from_secs(10));
        assert_eq!(s.traces.compression, Compression::None);
        assert_eq!(s.traces.protocol, DEFAULT_PROTOCOL);
        assert!(s.traces.enabled && s.metrics.enabled);
        assert_eq!(s.max_queue_size, 2048);
        assert_eq!(s.max_export_batch_size, 512);
        assert_eq!(s.schedule_delay, Duration::from_secs(5));
        assert_eq!(s.export_timeout, Duration::from_secs(30));
        assert_eq!(s.metric_export_interval, Duration::from_secs(60));
        assert_eq!(s.metric_export_timeout, Duration::from_secs(30));
        assert_eq!(s.temporality, Temporality::Cumulative);
        assert_eq!(s.retry, RetryPolicy::new());
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
            .settings()
            .unwrap();
        assert_eq!(s.traces.endpoint, "http://a:1/prefix/v1/traces");
        assert_eq!(s.metrics.endpoint, "http://b:2/custom");
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
            match config.settings() {
                Err(OtlpError::Invalid { setting: s, .. }) => assert_eq!(s, setting),
                other => panic!("{setting}: {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_endpoints_and_headers() {
        for url in ["localhost:4318", "ftp://x/", "/v1/traces", "http://"] {
            let e = OtlpConfig::new().with_traces_endpoint(url).settings();
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
            .settings()
            .unwrap_err();
        assert!(matches!(e, OtlpError::Header { .. }));
        let e = OtlpConfig::new()
            .with_header("x-ok", "line\nbreak")
            .settings()
            .unwrap_err();
        assert!(matches!(e, OtlpError::Header { .. }));
    }

    #[test]
    fn code_headers_replace_environment_headers_of_the_same_name() {
        let s = OtlpConfig::new()
            .with_header("Authorization", "code")
            .with_env_vars([("OTEL_EXPORTER_OTLP_HEADERS", "authorization=env,x-env=1")])
            .unwrap()
            .settings()
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
                .settings()
                .unwrap_err(),
            OtlpError::ProtobufDisabled
        );
    }
}
