//! The exporter's environment variables: OpenTelemetry's `OTEL_*` ones and this
//! project's `TELEMETRY_OTLP_*`. `OTEL_TRACES_EXPORTER` and `OTEL_METRICS_EXPORTER` are
//! parsed by the core ([`telemetry::Exporters`]); here they only switch this exporter's
//! signals (on where the list names `otlp`).

use crate::config::{index, Layer};
use crate::{Compression, OtlpConfig, Protocol, Signal, Temporality};
use std::time::Duration;
use telemetry::{EnvError, EnvVars, Exporter, Exporters, KeyValue};

/// The exporter's parsers on top of the core's [`EnvVars`].
trait ExporterVars {
    fn millis_upto(&self, name: &'static str, max_ms: u64) -> Result<Option<Duration>, EnvError>;
    fn count(&self, name: &'static str) -> Result<Option<usize>, EnvError>;
    fn url(&self, name: &'static str) -> Result<Option<String>, EnvError>;
    fn headers(&self, name: &'static str) -> Result<Vec<(String, String)>, EnvError>;
    fn pairs(&self, name: &'static str) -> Result<Vec<(String, String)>, EnvError>;
}

impl ExporterVars for EnvVars {
    fn millis_upto(&self, name: &'static str, max_ms: u64) -> Result<Option<Duration>, EnvError> {
        let accepted = match max_ms {
            600_000 => "1 to 600000 (milliseconds)",
            _ => "1 to 3600000 (milliseconds)",
        };
        self.millis(name, max_ms, accepted)
    }

    fn count(&self, name: &'static str) -> Result<Option<usize>, EnvError> {
        self.parse(name, "1 to 1000000", |v| {
            v.parse::<usize>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
        })
    }

    fn url(&self, name: &'static str) -> Result<Option<String>, EnvError> {
        self.parse(name, "an absolute http:// or https:// URL", |v| {
            crate::settings::url_problem(v)
                .is_none()
                .then(|| v.to_owned())
        })
    }

    fn headers(&self, name: &'static str) -> Result<Vec<(String, String)>, EnvError> {
        let headers = self.pairs(name)?;
        if headers
            .iter()
            .any(|(n, v)| crate::settings::header_problem(n, v).is_some())
        {
            let value = self.get(name).unwrap_or_default();
            return Err(EnvError::new(
                name,
                value,
                "comma-separated name=value pairs, percent-encoded, that are valid HTTP headers",
            ));
        }
        Ok(headers)
    }

    fn pairs(&self, name: &'static str) -> Result<Vec<(String, String)>, EnvError> {
        Ok(self
            .parse(
                name,
                "comma-separated key=value pairs, percent-encoded",
                parse_pairs,
            )?
            .unwrap_or_default())
    }
}

/// `key1=value1,key2=value2` (W3C Baggage's format, which `OTEL_RESOURCE_ATTRIBUTES`
/// and `OTEL_EXPORTER_OTLP_HEADERS` use): keys and values percent-decoded, spaces
/// around them trimmed, empty members skipped. `None` if any member is malformed.
fn parse_pairs(v: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for member in v.split(',') {
        let member = member.trim();
        if member.is_empty() {
            continue;
        }
        let (key, value) = member.split_once('=')?;
        let key = percent_decode(key.trim())?;
        if key.is_empty() {
            return None;
        }
        pairs.push((key, percent_decode(value.trim())?));
    }
    Some(pairs)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn compression(v: &str) -> Option<Compression> {
    match v {
        "gzip" => Some(Compression::Gzip),
        "none" => Some(Compression::None),
        _ => None,
    }
}

fn protocol(v: &str) -> Option<Protocol> {
    match v {
        "http/json" => Some(Protocol::HttpJson),
        "http/protobuf" => Some(Protocol::HttpProtobuf),
        _ => None,
    }
}

const COMPRESSIONS: &str = "gzip or none";
const PROTOCOLS: &str = "http/protobuf or http/json (grpc is not supported)";

fn layer(vars: &EnvVars) -> Result<Layer, EnvError> {
    let mut l = Layer {
        endpoint: vars.url("OTEL_EXPORTER_OTLP_ENDPOINT")?,
        headers: crate::config::Headers(vars.headers("OTEL_EXPORTER_OTLP_HEADERS")?),
        timeout: vars.millis_upto("OTEL_EXPORTER_OTLP_TIMEOUT", 600_000)?,
        compression: vars.parse("OTEL_EXPORTER_OTLP_COMPRESSION", COMPRESSIONS, compression)?,
        protocol: vars.parse("OTEL_EXPORTER_OTLP_PROTOCOL", PROTOCOLS, protocol)?,
        service_name: vars.get("OTEL_SERVICE_NAME").map(str::to_owned),
        resource: vars
            .pairs("OTEL_RESOURCE_ATTRIBUTES")?
            .into_iter()
            .map(|(k, v)| KeyValue::new(k, v))
            .collect(),
        temporality: vars.parse(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "cumulative, delta or lowmemory",
            |v| match v.to_ascii_lowercase().as_str() {
                "cumulative" => Some(Temporality::Cumulative),
                // lowmemory: delta for synchronous counters and histograms, which is
                // what every counter and histogram of this registry is.
                "delta" | "lowmemory" => Some(Temporality::Delta),
                _ => None,
            },
        )?,
        metric_export_interval: vars.millis_upto("OTEL_METRIC_EXPORT_INTERVAL", 3_600_000)?,
        metric_export_timeout: vars.millis_upto("OTEL_METRIC_EXPORT_TIMEOUT", 3_600_000)?,
        schedule_delay: vars.millis_upto("OTEL_BSP_SCHEDULE_DELAY", 3_600_000)?,
        export_timeout: vars.millis_upto("OTEL_BSP_EXPORT_TIMEOUT", 3_600_000)?,
        max_queue_size: vars.count("OTEL_BSP_MAX_QUEUE_SIZE")?,
        max_export_batch_size: vars.count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")?,
        shutdown_timeout: vars.millis_upto("TELEMETRY_OTLP_SHUTDOWN_TIMEOUT", 600_000)?,
        initial_backoff: vars.millis_upto("TELEMETRY_OTLP_RETRY_INITIAL_BACKOFF", 600_000)?,
        max_backoff: vars.millis_upto("TELEMETRY_OTLP_RETRY_MAX_BACKOFF", 600_000)?,
        self_metrics: vars.bool("TELEMETRY_OTLP_SELF_METRICS")?,
        ..Layer::default()
    };
    // The lists name the core's sinks too; this exporter sends a signal whose list
    // names `otlp`. Unset: no opinion here (the default, on, or the code's choice).
    let exporters = Exporters::new().with_env_vars(vars)?;
    let signals = [
        (
            Signal::Traces,
            "OTEL_TRACES_EXPORTER",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        ),
        (
            Signal::Metrics,
            "OTEL_METRICS_EXPORTER",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
            "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
            "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        ),
    ];
    for (signal, exporter_var, endpoint, headers, timeout, compression_var, protocol_var) in signals
    {
        let i = index(signal);
        let list = match signal {
            Signal::Traces => exporters.traces(),
            Signal::Metrics => exporters.metrics(),
        };
        l.enabled[i] = vars
            .get(exporter_var)
            .map(|_| list.contains(Exporter::Otlp));
        l.signal_endpoint[i] = vars.url(endpoint)?;
        l.signal_headers[i] = crate::config::Headers(vars.headers(headers)?);
        l.signal_timeout[i] = vars.millis_upto(timeout, 600_000)?;
        l.signal_compression[i] = vars.parse(compression_var, COMPRESSIONS, compression)?;
        l.signal_protocol[i] = vars.parse(protocol_var, PROTOCOLS, protocol)?;
    }
    Ok(l)
}

impl OtlpConfig {
    /// The defaults, overridden by the environment: `OtlpConfig::new().with_env()`.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::new().with_env()
    }

    /// Reads the exporter's environment variables; settings made in code keep their
    /// value (code, then environment, then defaults). An empty variable counts as
    /// unset; a value that does not parse is an [`EnvError`] naming the variable, the
    /// value and what it accepts. Ranges are checked by [`settings`](OtlpConfig::settings).
    ///
    /// | variable | default | accepted |
    /// | --- | --- | --- |
    /// | `OTEL_SERVICE_NAME` | `unknown_service:<executable>` | any text |
    /// | `OTEL_RESOURCE_ATTRIBUTES` | none | `key=value,…`, percent-encoded |
    /// | `OTEL_EXPORTER_OTLP_ENDPOINT` | `http://localhost:4318` | `http://` or `https://` base URL (`/v1/traces`, `/v1/metrics` appended) |
    /// | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `…_METRICS_ENDPOINT` | from the base | full URL, used as given |
    /// | `OTEL_EXPORTER_OTLP_HEADERS` (and `_TRACES_`, `_METRICS_`) | none | `name=value,…`, percent-encoded |
    /// | `OTEL_EXPORTER_OTLP_TIMEOUT` (and `_TRACES_`, `_METRICS_`) | 10000 | 1 to 600000 ms |
    /// | `OTEL_EXPORTER_OTLP_COMPRESSION` (and `_TRACES_`, `_METRICS_`) | `none` | `gzip`, `none` |
    /// | `OTEL_EXPORTER_OTLP_PROTOCOL` (and `_TRACES_`, `_METRICS_`) | `http/protobuf` (`http/json` without the `protobuf` feature) | `http/protobuf`, `http/json` |
    /// | `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` | `cumulative` | `cumulative`, `delta`, `lowmemory` |
    /// | `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER` | `otlp` | comma-separated lists ([`telemetry::Exporters`]); a signal is sent if its list names `otlp` |
    /// | `OTEL_METRIC_EXPORT_INTERVAL` | 60000 | 1 to 3600000 ms |
    /// | `OTEL_METRIC_EXPORT_TIMEOUT` | 30000 | 1 to 3600000 ms |
    /// | `OTEL_BSP_SCHEDULE_DELAY` | 5000 | 1 to 3600000 ms |
    /// | `OTEL_BSP_EXPORT_TIMEOUT` | 30000 | 1 to 3600000 ms |
    /// | `OTEL_BSP_MAX_QUEUE_SIZE` | 2048 | 1 to 1000000 |
    /// | `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` | 512 | 1 to the queue size |
    /// | `TELEMETRY_OTLP_SHUTDOWN_TIMEOUT` | 3000 | 1 to 600000 ms |
    /// | `TELEMETRY_OTLP_RETRY_INITIAL_BACKOFF` | 1000 | 1 to 600000 ms |
    /// | `TELEMETRY_OTLP_RETRY_MAX_BACKOFF` | 30000 | 1 to 600000 ms |
    /// | `TELEMETRY_OTLP_SELF_METRICS` | `true` | `true`, `false` |
    ///
    /// `OTEL_SERVICE_NAME` wins over a `service.name` in `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn with_env(self) -> Result<Self, EnvError> {
        self.with_env_vars(&EnvVars::from_env())
    }

    /// [`OtlpConfig::with_env`] with the given `(name, value)` pairs instead of the
    /// process environment.
    ///
    /// ```
    /// use telemetry_otlp::{Compression, OtlpConfig, Signal};
    /// let settings = OtlpConfig::new()
    ///     .with_env_vars([
    ///         ("OTEL_SERVICE_NAME", "books"),
    ///         ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=prod,team=shelf%20A"),
    ///         ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"),
    ///     ])
    ///     .unwrap()
    ///     .settings()
    ///     .unwrap();
    /// assert_eq!(settings.resource_attribute("service.name").unwrap(), "books");
    /// assert_eq!(settings.resource_attribute("team").unwrap(), "shelf A");
    /// assert_eq!(settings.signal(Signal::Traces).compression, Compression::Gzip);
    /// assert_eq!(settings.signal(Signal::Metrics).compression, Compression::None);
    ///
    /// let err = OtlpConfig::new().with_env_vars([("OTEL_BSP_MAX_QUEUE_SIZE", "lots")]).unwrap_err();
    /// assert_eq!(err.variable, "OTEL_BSP_MAX_QUEUE_SIZE");
    /// ```
    pub fn with_env_vars<I, K, V>(mut self, vars: I) -> Result<Self, EnvError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.env = layer(&EnvVars::from_pairs(vars))?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_percent_decoded_and_trimmed() {
        assert_eq!(
            parse_pairs(" a = 1 ,, b=x%2Cy%3Dz , c%20d=%E2%9C%93").unwrap(),
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "x,y=z".to_owned()),
                ("c d".to_owned(), "✓".to_owned()),
            ]
        );
        for bad in ["novalue", "=v", "a=%zz", "a=%4", "a=%ff"] {
            assert_eq!(parse_pairs(bad), None, "{bad}");
        }
    }
}
