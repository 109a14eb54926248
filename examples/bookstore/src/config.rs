//! Settings from `BOOKSTORE_*` environment variables (and the core's and the OTLP
//! exporter's `OTEL_*` and `TELEMETRY_*` ones), all checked before anything starts.
//!
//! The exporters are chosen the standard way, by `OTEL_TRACES_EXPORTER`,
//! `OTEL_METRICS_EXPORTER` and `OTEL_LOGS_EXPORTER` ([`telem::Exporters`]), with the
//! bookstore's own defaults for when they are unset: spans and log records to the
//! console, metrics for Prometheus on `/metrics`, no collector needed.
//! `BOOKSTORE_LOG_FORMAT` and `BOOKSTORE_LOG_BUFFER` shape the console sink whenever
//! `console` is selected. Which log records are made is the core's `RUST_LOG` (default
//! `info`: the store's `debug` trail is hidden). Each database span records its query's
//! parameterized SQL unless `BOOKSTORE_DB_QUERY_TEXT=false`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use telem::{
    Config, ConfigError, EnvVars, Exporter, Exporters, Sampler, Setting, StdoutFormat, StdoutSink,
};
use telem_otlp::{EnvPipeline, OtlpConfig, OtlpError};

/// The address to listen on (an IP address).
pub const HOST: &str = "BOOKSTORE_HOST";
/// The port to listen on.
pub const PORT: &str = "BOOKSTORE_PORT";
/// The fraction of new traces recorded.
pub const SAMPLE_RATIO: &str = "BOOKSTORE_SAMPLE_RATIO";
/// How spans and log records are printed: `pretty` or `json`.
pub const LOG_FORMAT: &str = "BOOKSTORE_LOG_FORMAT";
/// A bearer token `/metrics` requires.
pub const METRICS_TOKEN: &str = "BOOKSTORE_METRICS_TOKEN";
/// How many bytes of printed spans and log records may wait for a slow stdout before
/// they are dropped.
pub const LOG_BUFFER: &str = "BOOKSTORE_LOG_BUFFER";

/// Whether database spans record their query's text (`db.query.text`).
pub const DB_QUERY_TEXT: &str = "BOOKSTORE_DB_QUERY_TEXT";
/// The NATS server the background jobs go through, or `none` (see [`Settings::nats_url`]).
pub const NATS_URL: &str = "BOOKSTORE_NATS_URL";
/// Default [`NATS_URL`]: a NATS server on this machine's default port.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

/// Default [`LOG_BUFFER`]: 8 MiB.
pub const DEFAULT_LOG_BUFFER: usize = 8 << 20;

/// Default port.
pub const DEFAULT_PORT: u16 = 3000;
/// Where spans go when `OTEL_TRACES_EXPORTER` is unset: the console.
pub const DEFAULT_TRACES_EXPORTER: Exporter = Exporter::Console;
/// Where metrics go when `OTEL_METRICS_EXPORTER` is unset: `/metrics`, for Prometheus.
pub const DEFAULT_METRICS_EXPORTER: Exporter = Exporter::Prometheus;
/// Where log records go when `OTEL_LOGS_EXPORTER` is unset: the console, beside the spans.
pub const DEFAULT_LOGS_EXPORTER: Exporter = Exporter::Console;
/// Longest accepted metrics token.
pub const MAX_TOKEN_LEN: usize = 256;

const HOST_SETTING: Setting = Setting::described(
    "host",
    "`127.0.0.1` (this machine only)",
    "an IP address, such as 127.0.0.1, 0.0.0.0 or ::1",
)
.with_variable(HOST)
.with_description("the address to listen on; `0.0.0.0` or `::` listens on every interface");

const PORT_SETTING: Setting = Setting::integer("port", DEFAULT_PORT as u64, 0, 65535)
    .with_note("0: any free port")
    .with_variable(PORT)
    .with_description(
        "the port to listen on; 0 lets the system pick a free port (the bookstore prints \
         the address it got)",
    );

const SAMPLE_RATIO_SETTING: Setting = Setting::number("sample_ratio", 1.0, 0.0, 1.0)
    .with_default_text("unset: what `OTEL_TRACES_SAMPLER` says (every trace by default)")
    .with_variable(SAMPLE_RATIO)
    .with_description(
        "the fraction of new traces recorded, \
         `Sampler::parent_based(Sampler::TraceIdRatioBased(ratio))`: a request continuing a \
         caller's trace follows the caller's decision; wins over `OTEL_TRACES_SAMPLER`",
    );

const LOG_FORMAT_SETTING: Setting =
    Setting::described("log_format", "`pretty`", "`pretty` or `json`")
        .with_variable(LOG_FORMAT)
        .with_description(
            "how the `console` exporter prints spans and log records (any case): `pretty` \
             is a line each, coloured on a terminal; `json` is one object per line, a span \
             in OpenTelemetry's JSON, a log record flat (`timestamp`, `level`, `message`, \
             `trace_id`, `span_id`, then its fields)",
        );

const METRICS_TOKEN_SETTING: Setting = Setting::described(
    "metrics_token",
    "unset: `/metrics` is open",
    "1 to 256 visible ASCII characters (no spaces)",
)
.with_variable(METRICS_TOKEN)
.with_description(
    "`/metrics` then requires `Authorization: Bearer <token>` (401 otherwise); a bad token \
     is not echoed, only its length",
);

const LOG_BUFFER_SETTING: Setting =
    Setting::integer("log_buffer", DEFAULT_LOG_BUFFER as u64, 1 << 10, 1 << 30)
        .with_note("bytes")
        .with_variable(LOG_BUFFER)
        .with_description(
            "bytes of printed spans and log records that may wait while stdout takes none \
             (a pipe nobody reads); past it, they are dropped and counted \
             (`telemetry_sink_spans_dropped_total{sink=\"stdout\"}`, \
             `telemetry_sink_logs_dropped_total{sink=\"stdout\"}`)",
        );

const DB_QUERY_TEXT_SETTING: Setting = Setting::bool("db_query_text", true)
    .with_variable(DB_QUERY_TEXT)
    .with_description(
        "whether each database span records its query's SQL in `db.query.text`: the \
         parameterized text (`SELECT ... WHERE id = ?1`), the values never in it, which \
         OpenTelemetry's database conventions recommend collecting by default; `false` \
         leaves it out",
    );

const NATS_URL_SETTING: Setting = Setting::described(
    "nats_url",
    "`nats://127.0.0.1:4222`",
    "a NATS server address (`nats://host:port` or `host:port`), or `none`",
)
.with_variable(NATS_URL)
.with_description(
    "the NATS server (with JetStream) the background jobs go through; if it does not \
     answer at start, or with `none`, jobs run in process (said once on stderr)",
);

/// The bookstore's own settings, with their `BOOKSTORE_*` variables, defaults and
/// accepted values (`docs/configuration.md` shows them; a test checks it is up to date).
/// It also reads the core's ([`telem::SETTINGS`]) and the OTLP exporter's
/// ([`telem_otlp::SETTINGS`]), with its own defaults for the exporter lists:
/// [`DEFAULT_TRACES_EXPORTER`], [`DEFAULT_METRICS_EXPORTER`] and
/// [`DEFAULT_LOGS_EXPORTER`].
pub const SETTINGS: &[Setting] = &[
    HOST_SETTING,
    PORT_SETTING,
    SAMPLE_RATIO_SETTING,
    LOG_FORMAT_SETTING,
    METRICS_TOKEN_SETTING,
    LOG_BUFFER_SETTING,
    DB_QUERY_TEXT_SETTING,
    NATS_URL_SETTING,
];

/// What the bookstore runs with. Every variable is optional; an empty one counts as
/// unset. A value that does not parse or is out of range is a [`ConfigError`] naming
/// the variable, the value and what it accepts ([`SETTINGS`]).
#[derive(Clone)]
pub struct Settings {
    /// `BOOKSTORE_HOST`: default `127.0.0.1` (this machine only); `0.0.0.0` or `::`
    /// listens on every interface.
    pub host: IpAddr,
    /// `BOOKSTORE_PORT`: default 3000; 0 lets the system pick a free port (the
    /// bookstore prints the address it got).
    pub port: u16,
    /// `BOOKSTORE_SAMPLE_RATIO`, 0.0 to 1.0: the fraction of new traces recorded
    /// (requests continuing a caller's trace follow the caller's decision). Unset: the
    /// core's sampler (`OTEL_TRACES_SAMPLER`, default: record every trace).
    pub sample_ratio: Option<f64>,
    /// `BOOKSTORE_LOG_FORMAT`: `pretty` (default) or `json` (one JSON object per span
    /// or log record per line), for the `console` exporter.
    pub log_format: StdoutFormat,
    /// `BOOKSTORE_METRICS_TOKEN`: when set, `/metrics` requires
    /// `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// `BOOKSTORE_LOG_BUFFER`, 1 KiB to 1 GiB (default 8 MiB): the bytes of printed spans
    /// and log records that may wait while stdout does not take them (a pipe nobody
    /// reads); past it, they are dropped and counted
    /// (`telemetry_sink_{spans,logs}_dropped_total{sink="stdout"}`).
    pub log_buffer: usize,
    /// `BOOKSTORE_DB_QUERY_TEXT`, `true` (default) or `false`: whether the store's spans
    /// record each query's parameterized SQL in `db.query.text`
    /// ([`Store::with_query_text`](crate::Store::with_query_text)).
    pub db_query_text: bool,
    /// `BOOKSTORE_NATS_URL` (default [`DEFAULT_NATS_URL`]): the NATS server, with
    /// JetStream, that carries the background jobs ([`Jobs::connect`](crate::Jobs::connect));
    /// `None` (`none`): jobs run in process.
    pub nats_url: Option<String>,
    /// The core's settings from `OTEL_*`, `TELEMETRY_*` and `RUST_LOG` (which log records
    /// are made, default `info`; see `telem::Config::with_env`).
    pub core: Config,
    /// `OTEL_TRACES_EXPORTER` (default [`DEFAULT_TRACES_EXPORTER`], `console`),
    /// `OTEL_METRICS_EXPORTER` (default [`DEFAULT_METRICS_EXPORTER`], `prometheus`) and
    /// `OTEL_LOGS_EXPORTER` (default [`DEFAULT_LOGS_EXPORTER`], `console`):
    /// comma-separated `otlp`, `console`, `prometheus` (metrics only), or `none`.
    pub exporters: Exporters,
    /// The OTLP exporter's settings from `OTEL_EXPORTER_OTLP_*`, `OTEL_SERVICE_NAME`, …
    /// (see `telem_otlp::OtlpConfig::with_env`), used if any list names `otlp`.
    pub otlp: OtlpConfig,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&EnvVars::from_env_with_prefix("BOOKSTORE_"))
    }

    /// Reads the given `(name, value)` pairs as if they were the environment.
    ///
    /// ```
    /// let settings = bookstore::Settings::from_vars([("BOOKSTORE_PORT", "8080")]).unwrap();
    /// assert_eq!(settings.addr().to_string(), "127.0.0.1:8080");
    /// let err = bookstore::Settings::from_vars([("BOOKSTORE_PORT", "80000")]).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid value \"80000\" for environment variable BOOKSTORE_PORT: \
    ///      accepted values are an integer from 0 to 65535 (0: any free port)"
    /// );
    /// ```
    pub fn from_vars<I, K, V>(vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars = EnvVars::from_pairs_with_prefix(vars, "BOOKSTORE_");
        let host = vars
            .parse(&HOST_SETTING, |v| v.parse().ok())?
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let port = vars
            .integer(&PORT_SETTING)?
            .map_or(DEFAULT_PORT, |n| n as u16);
        let sample_ratio = vars.number(&SAMPLE_RATIO_SETTING)?;
        let log_format = vars
            .parse(&LOG_FORMAT_SETTING, |v| {
                if v.eq_ignore_ascii_case("pretty") {
                    Some(StdoutFormat::Pretty)
                } else if v.eq_ignore_ascii_case("json") {
                    Some(StdoutFormat::Json)
                } else {
                    None
                }
            })?
            .unwrap_or(StdoutFormat::Pretty);
        let metrics_token = match vars.get(METRICS_TOKEN) {
            None => None,
            Some(v) if v.len() <= MAX_TOKEN_LEN && v.bytes().all(|b| b.is_ascii_graphic()) => {
                Some(v.to_owned())
            }
            // A secret stays out of the message (and so out of logs): only its length.
            Some(v) => {
                return Err(ConfigError::from_env(
                    &METRICS_TOKEN_SETTING,
                    format!("<hidden, {} characters>", v.chars().count()),
                ))
            }
        };
        let log_buffer = vars
            .integer(&LOG_BUFFER_SETTING)?
            .map_or(DEFAULT_LOG_BUFFER, |n| n as usize);
        let db_query_text = vars
            .bool(&DB_QUERY_TEXT_SETTING)?
            .unwrap_or(DB_QUERY_TEXT_SETTING.default_bool());
        let nats_url = match vars.get(NATS_URL) {
            None => Some(DEFAULT_NATS_URL.to_owned()),
            Some(v) if v.eq_ignore_ascii_case("none") => None,
            Some(v) if v.parse::<async_nats::ServerAddr>().is_ok() => Some(v.to_owned()),
            // A password in a URL stays out of the message (and so out of logs).
            Some(v) => {
                return Err(ConfigError::from_env(
                    &NATS_URL_SETTING,
                    crate::jobs::redacted(v).into_owned(),
                ))
            }
        };
        let core = Config::new().with_env_vars(&vars)?;
        let exporters = Exporters::new()
            .with_default_traces(DEFAULT_TRACES_EXPORTER)
            .with_default_metrics(DEFAULT_METRICS_EXPORTER)
            .with_default_logs(DEFAULT_LOGS_EXPORTER)
            .with_env_vars(&vars)?;
        let otlp = OtlpConfig::new().with_env_vars(&vars)?;
        Ok(Self {
            host,
            port,
            sample_ratio,
            log_format,
            metrics_token,
            log_buffer,
            db_query_text,
            nats_url,
            core,
            exporters,
            otlp,
        })
    }

    /// The address to listen on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The pipeline: the core's settings (with the sampler of `BOOKSTORE_SAMPLE_RATIO`
    /// if set, and the log filter of `RUST_LOG`) and the sinks the exporters select: the
    /// console in the chosen format and buffer (for spans, log records or both), a
    /// `PrometheusSink` to serve on `/metrics`, an OTLP sink. Fails only if
    /// `otlp` is selected and its settings do not fit together (a batch larger than the
    /// queue, say).
    ///
    /// ```
    /// let defaults = bookstore::Settings::from_vars([("BOOKSTORE_PORT", "0")]).unwrap().pipeline().unwrap();
    /// assert!(defaults.prometheus.is_some() && defaults.otlp.is_none());
    ///
    /// let collector = bookstore::Settings::from_vars([
    ///     ("OTEL_TRACES_EXPORTER", "otlp"),
    ///     ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
    ///     ("OTEL_LOGS_EXPORTER", "otlp,console"),
    ///     ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
    /// ])
    /// .unwrap()
    /// .pipeline()
    /// .unwrap();
    /// assert!(collector.prometheus.is_some());
    /// assert!(collector.otlp.unwrap().config().logs.enabled);
    /// ```
    pub fn pipeline(&self) -> Result<EnvPipeline, OtlpError> {
        let core = match self.sample_ratio {
            Some(ratio) => self
                .core
                .clone()
                .with_sampler(Sampler::parent_based(Sampler::TraceIdRatioBased(ratio))),
            None => self.core.clone(),
        };
        EnvPipeline::new(
            core,
            self.exporters,
            self.otlp.clone(),
            StdoutSink::from_format(self.log_format).with_buffer_bytes(self.log_buffer),
        )
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("sample_ratio", &self.sample_ratio)
            .field("log_format", &self.log_format)
            .field("log_buffer", &self.log_buffer)
            .field("db_query_text", &self.db_query_text)
            .field(
                "nats_url",
                &self.nats_url.as_deref().map(crate::jobs::redacted),
            )
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<hidden>"),
            )
            .field("core", &self.core)
            .field("exporters", &self.exporters)
            // Not the OTLP settings: their headers may hold an API key.
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telem::{ExporterSet, Level};

    fn from(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_vars(vars.iter().copied())
    }

    #[test]
    fn nothing_set_gives_the_defaults() {
        let s = from(&[]).unwrap();
        assert_eq!(s.addr(), "127.0.0.1:3000".parse().unwrap());
        assert_eq!(s.sample_ratio, None);
        assert_eq!(s.log_format, StdoutFormat::Pretty);
        assert_eq!(s.metrics_token, None);
        assert_eq!(s.log_buffer, DEFAULT_LOG_BUFFER);
        assert!(
            s.db_query_text,
            "parameterized query text is recorded by default (Recommended)"
        );
        let pipeline = s.pipeline().unwrap();
        assert_eq!(pipeline.config.sampler(), Sampler::default());
        assert_eq!(
            pipeline.config.sinks().len(),
            2,
            "stdout (spans and logs) and prometheus"
        );
        assert!(pipeline.prometheus.is_some() && pipeline.otlp.is_none());
        assert!(pipeline.config.validate().is_ok());
        assert_eq!(s.exporters.logs(), ExporterSet::from(Exporter::Console));
        assert_eq!(pipeline.config.log_filter().to_string(), "info");
    }

    #[test]
    fn the_nats_url_is_a_server_address_or_none_and_a_bad_one_hides_its_password() {
        assert_eq!(
            from(&[]).unwrap().nats_url.as_deref(),
            Some(DEFAULT_NATS_URL)
        );
        assert_eq!(from(&[(NATS_URL, "none")]).unwrap().nats_url, None);
        assert_eq!(
            from(&[(NATS_URL, "nats://10.0.0.7:4333")])
                .unwrap()
                .nats_url
                .as_deref(),
            Some("nats://10.0.0.7:4333")
        );
        let err = from(&[(NATS_URL, "nats://user:p#ss@host:notaport")]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("BOOKSTORE_NATS_URL"), "{message}");
        assert!(message.contains("nats://***@host:notaport"), "{message}");
        assert!(!message.contains("p#ss"), "{message}");
        let settings = from(&[(NATS_URL, "nats://user:secret@host:4222")]).unwrap();
        assert!(!format!("{settings:?}").contains("secret"));
    }

    /// The level comes from `RUST_LOG`, read by the core: `info` when unset, which
    /// shows the created books and the 4xx warnings and hides the store's debug trail.
    #[test]
    fn rust_log_sets_the_level_and_the_default_hides_the_store_trail() {
        let default = from(&[]).unwrap().pipeline().unwrap().config.log_filter();
        assert!(default.allows("bookstore::routes", Level::Info));
        assert!(default.allows("bookstore::routes", Level::Warn));
        assert!(!default.allows("bookstore::store", Level::Debug));

        let s = from(&[("RUST_LOG", "info,bookstore::store=debug")]).unwrap();
        let filter = s.pipeline().unwrap().config.log_filter();
        assert!(filter.allows("bookstore::store", Level::Debug));
        assert!(!filter.allows("bookstore::routes", Level::Debug));

        let err = from(&[("RUST_LOG", "info,bookstore=loud")]).unwrap_err();
        assert_eq!(err.variable, Some("RUST_LOG"));
        assert!(err.to_string().contains("bookstore=loud"), "{err}");
    }

    #[test]
    fn every_variable_is_read_and_empty_ones_count_as_unset() {
        let s = from(&[
            (HOST, "0.0.0.0"),
            (PORT, " 0 "),
            (SAMPLE_RATIO, "0.25"),
            (LOG_FORMAT, "JSON"),
            (METRICS_TOKEN, "s3cret"),
            (LOG_BUFFER, "65536"),
            (DB_QUERY_TEXT, "FALSE"),
            ("TELEMETRY_DRAIN_INTERVAL", "250"),
            ("BOOKSTORE_UNRELATED", ""),
        ])
        .unwrap();
        assert_eq!(s.addr(), "0.0.0.0:0".parse().unwrap());
        assert_eq!(s.log_format, StdoutFormat::Json);
        assert_eq!(s.metrics_token.as_deref(), Some("s3cret"));
        assert_eq!(s.log_buffer, 65536);
        assert!(!s.db_query_text, "false turns query text off");
        assert!(
            !format!("{s:?}").contains("s3cret"),
            "Debug hides the token"
        );
        let config = s.pipeline().unwrap().config;
        assert_eq!(
            config.sampler(),
            Sampler::parent_based(Sampler::TraceIdRatioBased(0.25))
        );
        assert_eq!(config.drain_interval().as_millis(), 250);
        assert_eq!(from(&[(PORT, ""), (LOG_FORMAT, " ")]).unwrap().port, 3000);
    }

    #[test]
    fn the_sample_ratio_wins_over_the_core_sampler_variable() {
        let s = from(&[("OTEL_TRACES_SAMPLER", "always_off"), (SAMPLE_RATIO, "1")]).unwrap();
        let config = s.pipeline().unwrap().config;
        assert_eq!(
            config.sampler(),
            Sampler::parent_based(Sampler::TraceIdRatioBased(1.0))
        );
        let core_only = from(&[("OTEL_TRACES_SAMPLER", "always_off")]).unwrap();
        assert_eq!(
            core_only.pipeline().unwrap().config.sampler(),
            Sampler::AlwaysOff
        );
    }

    #[test]
    fn a_bad_value_names_the_variable_the_value_and_the_range() {
        let cases = [
            (
                HOST,
                "localhost",
                "an IP address, such as 127.0.0.1, 0.0.0.0 or ::1",
            ),
            (
                PORT,
                "65536",
                "an integer from 0 to 65535 (0: any free port)",
            ),
            (PORT, "-1", "an integer from 0 to 65535 (0: any free port)"),
            (SAMPLE_RATIO, "1.5", "a number from 0.0 to 1.0"),
            (SAMPLE_RATIO, "NaN", "a number from 0.0 to 1.0"),
            (SAMPLE_RATIO, "half", "a number from 0.0 to 1.0"),
            (LOG_FORMAT, "yaml", "`pretty` or `json`"),
            (
                LOG_BUFFER,
                "1023",
                "an integer from 1024 to 1073741824 (bytes)",
            ),
            (
                LOG_BUFFER,
                "8MiB",
                "an integer from 1024 to 1073741824 (bytes)",
            ),
            (DB_QUERY_TEXT, "yes", "true or false"),
        ];
        for (variable, value, accepted) in cases {
            let err = from(&[(variable, value)]).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid value {value:?} for environment variable {variable}: \
                     accepted values are {accepted}"
                )
            );
        }
    }

    #[test]
    fn a_bad_token_is_refused_without_showing_it() {
        for token in ["has space", &"x".repeat(MAX_TOKEN_LEN + 1), "naïve"] {
            let err = from(&[(METRICS_TOKEN, token)]).unwrap_err();
            assert_eq!(err.variable, Some(METRICS_TOKEN));
            assert!(!err.to_string().contains(token), "{err}");
            assert!(err.to_string().contains("visible ASCII"), "{err}");
        }
    }

    // § "Exporter Selection" of OpenTelemetry's SDK environment variables: the lists
    // choose the sinks; unset, the bookstore's own defaults (console, prometheus).
    #[test]
    fn the_exporter_variables_choose_the_sinks_and_unset_ones_keep_the_bookstore_defaults() {
        let sinks = |vars: &[(&str, &str)]| {
            let p = from(vars).unwrap().pipeline().unwrap();
            (
                p.config.sinks().len(),
                p.otlp.is_some(),
                p.prometheus.is_some(),
            )
        };
        assert_eq!(sinks(&[]), (2, false, true), "console and prometheus");
        assert_eq!(
            sinks(&[
                ("OTEL_TRACES_EXPORTER", "otlp"),
                ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
            ]),
            (3, true, true),
            "console (logs), prometheus and otlp"
        );
        assert_eq!(
            sinks(&[
                ("OTEL_TRACES_EXPORTER", "otlp"),
                ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
                ("OTEL_LOGS_EXPORTER", "otlp"),
            ]),
            (2, true, true),
            "prometheus and otlp"
        );
        // Only the metrics variable set: spans keep going to the console.
        assert_eq!(
            sinks(&[("OTEL_METRICS_EXPORTER", "otlp")]),
            (2, true, false),
            "console and otlp"
        );
        assert_eq!(
            sinks(&[
                ("OTEL_TRACES_EXPORTER", "none"),
                ("OTEL_METRICS_EXPORTER", "none"),
            ]),
            (1, false, false),
            "log records keep going to the console"
        );
        assert_eq!(
            sinks(&[
                ("OTEL_TRACES_EXPORTER", "none"),
                ("OTEL_METRICS_EXPORTER", "none"),
                ("OTEL_LOGS_EXPORTER", "none"),
            ]),
            (0, false, false)
        );
        let p = from(&[("OTEL_TRACES_EXPORTER", "otlp,console")])
            .unwrap()
            .pipeline()
            .unwrap();
        let otlp = p.otlp.unwrap();
        assert!(otlp.config().traces.enabled && !otlp.config().metrics.enabled);
        assert!(!otlp.config().logs.enabled, "logs stay on the console");

        let p = from(&[("OTEL_LOGS_EXPORTER", "otlp,console")])
            .unwrap()
            .pipeline()
            .unwrap();
        let otlp = p.otlp.unwrap();
        assert!(otlp.config().logs.enabled);
        assert!(!otlp.config().traces.enabled && !otlp.config().metrics.enabled);
    }

    #[test]
    fn a_bad_exporter_list_names_the_variable_the_value_and_the_accepted_values() {
        let err = from(&[("OTEL_TRACES_EXPORTER", "prometheus")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"prometheus\" for environment variable OTEL_TRACES_EXPORTER: \
             accepted values are otlp, console, or both comma-separated \
             (prometheus serves metrics only), or none alone"
        );
        let err = from(&[("OTEL_METRICS_EXPORTER", "none,otlp")]).unwrap_err();
        assert_eq!(err.variable, Some("OTEL_METRICS_EXPORTER"));
        let err = from(&[("OTEL_LOGS_EXPORTER", "prometheus")]).unwrap_err();
        assert_eq!(err.variable, Some("OTEL_LOGS_EXPORTER"));
        let err = from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")]).unwrap_err();
        assert_eq!(err.variable, Some("OTEL_EXPORTER_OTLP_ENDPOINT"));
    }

    #[test]
    fn a_bad_core_variable_is_reported_too() {
        let err = from(&[("TELEMETRY_RING_CAPACITY", "1000")]).unwrap_err();
        assert_eq!(err.variable, Some("TELEMETRY_RING_CAPACITY"));
    }

    /// Every row's variable is read, and its error shows the row's accepted values.
    #[test]
    fn every_row_is_read_and_its_errors_show_the_tables_accepted_values() {
        for setting in SETTINGS {
            let variable = setting.variable().unwrap();
            let err = from(&[(variable, "not valid at all")]).unwrap_err();
            assert_eq!(
                (err.setting, err.variable),
                (setting.name(), Some(variable))
            );
            assert_eq!(err.accepted, setting.accepted());
        }
    }

    /// The sample ratio set in code by `pipeline` wins over the environment's sampler,
    /// whichever way the core's configuration was read.
    #[test]
    fn code_set_values_win_over_the_environment() {
        let s = from(&[
            (SAMPLE_RATIO, "0.5"),
            ("OTEL_TRACES_SAMPLER", "always_on"),
            ("TELEMETRY_DRAIN_INTERVAL", "40"),
        ])
        .unwrap();
        let config = s
            .pipeline()
            .unwrap()
            .config
            .with_env_vars([("OTEL_TRACES_SAMPLER", "always_off")])
            .unwrap();
        assert_eq!(
            config.sampler(),
            Sampler::parent_based(Sampler::TraceIdRatioBased(0.5))
        );
        assert_eq!(config.drain_interval().as_millis(), 40);
    }
}
