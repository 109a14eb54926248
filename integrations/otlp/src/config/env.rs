//! The exporter's environment variables: OpenTelemetry's `OTEL_*` ones and this
//! project's `TELEMETRY_OTLP_*`, each read through its row of
//! [`SETTINGS`](crate::SETTINGS). `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER` and
//! `OTEL_LOGS_EXPORTER` are parsed by the core ([`telem::Exporters`]); here they only
//! switch this exporter's signals (on where the list names `otlp`).

use super::table::{
    COMPRESSION, ENDPOINT, EXPORT_TIMEOUT, HEADERS, LOGS_COMPRESSION, LOGS_ENDPOINT,
    LOGS_EXPORT_TIMEOUT, LOGS_HEADERS, LOGS_MAX_EXPORT_BATCH_SIZE, LOGS_MAX_QUEUE_SIZE,
    LOGS_PROTOCOL, LOGS_SCHEDULE_DELAY, LOGS_TIMEOUT, MAX_EXPORT_BATCH_SIZE, MAX_QUEUE_SIZE,
    METRICS_COMPRESSION, METRICS_ENDPOINT, METRICS_HEADERS, METRICS_PROTOCOL, METRICS_TIMEOUT,
    METRIC_EXPORT_INTERVAL, METRIC_EXPORT_TIMEOUT, PROTOCOL, RESOURCE, RETRY_INITIAL_BACKOFF,
    RETRY_MAX_BACKOFF, SCHEDULE_DELAY, SELF_METRICS, SERVICE_NAME, SHUTDOWN_TIMEOUT, TEMPORALITY,
    TIMEOUT, TRACES_COMPRESSION, TRACES_ENDPOINT, TRACES_HEADERS, TRACES_PROTOCOL, TRACES_TIMEOUT,
};
use super::{header_problem, index, url_problem, Headers};
use crate::{Compression, OtlpConfig, Protocol, Signal, Temporality};
use telem::{ConfigError, EnvVars, Exporter, Exporters, KeyValue, Setting};

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

/// Headers: pairs that are valid HTTP headers.
fn parse_headers(vars: &EnvVars, setting: &Setting) -> Result<Option<Headers>, ConfigError> {
    vars.parse(setting, |v| {
        parse_pairs(v)
            .filter(|pairs| pairs.iter().all(|(n, v)| header_problem(n, v).is_none()))
            .map(Headers)
    })
}

fn parse_url(vars: &EnvVars, setting: &Setting) -> Result<Option<String>, ConfigError> {
    vars.parse(setting, |v| url_problem(v).is_none().then(|| v.to_owned()))
}

fn parse_compression(
    vars: &EnvVars,
    setting: &Setting,
) -> Result<Option<Compression>, ConfigError> {
    vars.parse(setting, |v| match v {
        "gzip" => Some(Compression::Gzip),
        "none" => Some(Compression::None),
        _ => None,
    })
}

fn parse_protocol(vars: &EnvVars, setting: &Setting) -> Result<Option<Protocol>, ConfigError> {
    vars.parse(setting, |v| match v {
        "http/json" => Some(Protocol::HttpJson),
        "http/protobuf" => Some(Protocol::HttpProtobuf),
        _ => None,
    })
}

impl OtlpConfig {
    /// The defaults, overridden by the environment: `OtlpConfig::new().with_env()`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new().with_env()
    }

    /// Reads the exporter's environment variables; settings made in code keep their
    /// value, whether they were made before or after this call (code, then environment,
    /// then defaults). An empty variable counts as unset; a value that does not parse or
    /// is out of range is a [`ConfigError`] naming the variable, the value and what it
    /// accepts. The variables, their defaults and accepted values are the rows of
    /// [`SETTINGS`](crate::SETTINGS) (the table of `docs/configuration.md`); the
    /// signal-specific ones (`_TRACES_`, `_METRICS_`, `_LOGS_`) win over the general
    /// ones, and `OTEL_SERVICE_NAME` wins over a `service.name` in
    /// `OTEL_RESOURCE_ATTRIBUTES`. `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER` and
    /// `OTEL_LOGS_EXPORTER` ([`telem::Exporters`]) switch a signal on where their list
    /// names `otlp`.
    pub fn with_env(self) -> Result<Self, ConfigError> {
        self.with_env_vars(&EnvVars::from_env())
    }

    /// [`OtlpConfig::with_env`] with the given `(name, value)` pairs instead of the
    /// process environment.
    ///
    /// ```
    /// use telem_otlp::{Compression, OtlpConfig, Signal};
    /// let resolved = OtlpConfig::new()
    ///     .with_env_vars([
    ///         ("OTEL_SERVICE_NAME", "books"),
    ///         ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=prod,team=shelf%20A"),
    ///         ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"),
    ///     ])
    ///     .unwrap()
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(resolved.resource_attribute("service.name").unwrap(), "books");
    /// assert_eq!(resolved.resource_attribute("team").unwrap(), "shelf A");
    /// assert_eq!(resolved.signal(Signal::Traces).compression, Compression::Gzip);
    /// assert_eq!(resolved.signal(Signal::Metrics).compression, Compression::None);
    ///
    /// let err = OtlpConfig::new().with_env_vars([("OTEL_BSP_MAX_QUEUE_SIZE", "lots")]).unwrap_err();
    /// assert_eq!(err.variable, Some("OTEL_BSP_MAX_QUEUE_SIZE"));
    /// ```
    pub fn with_env_vars<I, K, V>(mut self, vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars = EnvVars::from_pairs(vars);
        let as_usize = |n: Option<u64>| n.map(|n| n as usize);
        // Everything is parsed before anything is set, so an invalid variable is
        // reported even when code overrides its setting.
        let endpoint = parse_url(&vars, &ENDPOINT)?;
        let headers = parse_headers(&vars, &HEADERS)?;
        let timeout = vars.millis(&TIMEOUT)?;
        let compression = parse_compression(&vars, &COMPRESSION)?;
        let protocol = parse_protocol(&vars, &PROTOCOL)?;
        let service_name = vars.parse(&SERVICE_NAME, |v| Some(v.to_owned()))?;
        let resource = vars.parse(&RESOURCE, |v| {
            parse_pairs(v).map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(k, v)| KeyValue::new(k, v))
                    .collect::<Vec<_>>()
            })
        })?;
        let temporality = vars.parse(&TEMPORALITY, |v| match v.to_ascii_lowercase().as_str() {
            "cumulative" => Some(Temporality::Cumulative),
            // lowmemory: delta for synchronous counters and histograms, which is
            // what every counter and histogram of this registry is.
            "delta" | "lowmemory" => Some(Temporality::Delta),
            _ => None,
        })?;
        let metric_export_interval = vars.millis(&METRIC_EXPORT_INTERVAL)?;
        let metric_export_timeout = vars.millis(&METRIC_EXPORT_TIMEOUT)?;
        let schedule_delay = vars.millis(&SCHEDULE_DELAY)?;
        let export_timeout = vars.millis(&EXPORT_TIMEOUT)?;
        let max_queue_size = as_usize(vars.integer(&MAX_QUEUE_SIZE)?);
        let max_export_batch_size = as_usize(vars.integer(&MAX_EXPORT_BATCH_SIZE)?);
        let logs_schedule_delay = vars.millis(&LOGS_SCHEDULE_DELAY)?;
        let logs_export_timeout = vars.millis(&LOGS_EXPORT_TIMEOUT)?;
        let logs_max_queue_size = as_usize(vars.integer(&LOGS_MAX_QUEUE_SIZE)?);
        let logs_max_export_batch_size = as_usize(vars.integer(&LOGS_MAX_EXPORT_BATCH_SIZE)?);
        let shutdown_timeout = vars.millis(&SHUTDOWN_TIMEOUT)?;
        let initial_backoff = vars.millis(&RETRY_INITIAL_BACKOFF)?;
        let max_backoff = vars.millis(&RETRY_MAX_BACKOFF)?;
        let self_metrics = vars.bool(&SELF_METRICS)?;
        // The lists name the core's sinks too; this exporter sends a signal whose list
        // names `otlp`. Unset: no opinion here (the default, on, or the code's choice).
        let exporters = Exporters::new().with_env_vars(&vars)?;
        let signals = [
            (
                Signal::Traces,
                "OTEL_TRACES_EXPORTER",
                [TRACES_ENDPOINT, TRACES_HEADERS, TRACES_TIMEOUT],
                [TRACES_COMPRESSION, TRACES_PROTOCOL],
            ),
            (
                Signal::Metrics,
                "OTEL_METRICS_EXPORTER",
                [METRICS_ENDPOINT, METRICS_HEADERS, METRICS_TIMEOUT],
                [METRICS_COMPRESSION, METRICS_PROTOCOL],
            ),
            (
                Signal::Logs,
                "OTEL_LOGS_EXPORTER",
                [LOGS_ENDPOINT, LOGS_HEADERS, LOGS_TIMEOUT],
                [LOGS_COMPRESSION, LOGS_PROTOCOL],
            ),
        ];
        let mut per_signal = Vec::with_capacity(signals.len());
        for (
            signal,
            exporter_var,
            [endpoint_row, headers_row, timeout_row],
            [compression_row, protocol_row],
        ) in signals
        {
            let list = match signal {
                Signal::Traces => exporters.traces(),
                Signal::Metrics => exporters.metrics(),
                Signal::Logs => exporters.logs(),
            };
            per_signal.push((
                index(signal),
                vars.get(exporter_var)
                    .map(|_| list.contains(Exporter::Otlp)),
                parse_url(&vars, &endpoint_row)?,
                parse_headers(&vars, &headers_row)?,
                vars.millis(&timeout_row)?,
                parse_compression(&vars, &compression_row)?,
                parse_protocol(&vars, &protocol_row)?,
            ));
        }

        self.endpoint.set_env(endpoint);
        self.headers.set_env(headers);
        self.timeout.set_env(timeout);
        self.compression.set_env(compression);
        self.protocol.set_env(protocol);
        self.service_name.set_env(service_name);
        self.resource.set_env(resource);
        self.temporality.set_env(temporality);
        self.metric_export_interval.set_env(metric_export_interval);
        self.metric_export_timeout.set_env(metric_export_timeout);
        self.schedule_delay.set_env(schedule_delay);
        self.export_timeout.set_env(export_timeout);
        self.max_queue_size.set_env(max_queue_size);
        self.max_export_batch_size.set_env(max_export_batch_size);
        self.logs_schedule_delay.set_env(logs_schedule_delay);
        self.logs_export_timeout.set_env(logs_export_timeout);
        self.logs_max_queue_size.set_env(logs_max_queue_size);
        self.logs_max_export_batch_size
            .set_env(logs_max_export_batch_size);
        self.shutdown_timeout.set_env(shutdown_timeout);
        self.initial_backoff.set_env(initial_backoff);
        self.max_backoff.set_env(max_backoff);
        self.self_metrics.set_env(self_metrics);
        for (i, enabled, endpoint, headers, timeout, compression, protocol) in per_signal {
            self.enabled[i].set_env(enabled);
            self.signal_endpoint[i].set_env(endpoint);
            self.signal_headers[i].set_env(headers);
            self.signal_timeout[i].set_env(timeout);
            self.signal_compression[i].set_env(compression);
            self.signal_protocol[i].set_env(protocol);
        }
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
