//! A pipeline's sinks chosen the standard way: [`EnvPipeline`] adds to a
//! [`telem::Config`] the sinks that [`Exporters`] (`OTEL_TRACES_EXPORTER`,
//! `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`) select, and [`config_from_env`] does
//! it all from the environment (plus `TELEMETRY_CONSOLE_FORMAT` for the console sink).

use crate::config::table::CONSOLE_FORMAT;
use crate::{OtlpConfig, OtlpError, OtlpSink, Signal};
use std::sync::Arc;
use telem::{
    Config, ConfigError, EnvVars, Exporter, Exporters, PrometheusSink, StdoutFormat, StdoutSink,
};

/// A pipeline's configuration with the sinks that [`Exporters`] select already added,
/// and the handles the application needs: the OTLP sink (for its
/// [`stats`](OtlpSink::stats)) and the Prometheus sink (to serve on `/metrics`, with
/// `telem_axum::MetricsEndpoint`).
///
/// | exporter | traces | metrics | logs |
/// | --- | --- | --- | --- |
/// | `otlp` | one [`OtlpSink`] for every signal, each switched on where its list names `otlp` | | |
/// | `console` | the console [`StdoutSink`] writes spans | the same sink writes metric snapshots | the same sink writes log records |
/// | `prometheus` | (refused) | a new [`PrometheusSink`], in [`prometheus`](EnvPipeline::prometheus) | (refused) |
///
/// The one console sink writes only the signals whose lists name `console`: with
/// `OTEL_TRACES_EXPORTER=console` and `OTEL_LOGS_EXPORTER=otlp`, spans are printed and
/// log records are not.
///
/// With [`Config::with_disabled`] (`OTEL_SDK_DISABLED=true`) no sink is added and both
/// handles are `None`: an application then serves no `/metrics`.
///
/// ```
/// use telem::{Config, Exporter, Exporters, StdoutSink};
/// use telem_otlp::{EnvPipeline, OtlpConfig};
/// // Spans and logs to the console and metrics for Prometheus unless the variables say
/// // otherwise.
/// let vars = [("OTEL_METRICS_EXPORTER", "otlp,prometheus")];
/// let pipeline = EnvPipeline::new(
///     Config::from_env_vars(vars)?,
///     Exporters::new()
///         .with_default_traces(Exporter::Console)
///         .with_default_metrics(Exporter::Prometheus)
///         .with_default_logs(Exporter::Console)
///         .with_env_vars(vars)?,
///     OtlpConfig::new().with_env_vars(vars)?,
///     StdoutSink::pretty(),
/// )?;
/// assert_eq!(pipeline.config.sinks().len(), 3, "console, prometheus, otlp");
/// assert!(pipeline.prometheus.is_some());
/// let otlp = pipeline.otlp.expect("otlp is selected for metrics");
/// assert!(!otlp.config().traces.enabled && otlp.config().metrics.enabled);
/// assert!(!otlp.config().logs.enabled);
/// # Ok::<(), telem_otlp::OtlpError>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct EnvPipeline {
    /// The configuration to pass to [`telem::init`], with the sinks added after any
    /// it had: console, then Prometheus, then OTLP.
    pub config: Config,
    /// What the lists selected.
    pub exporters: Exporters,
    /// The OTLP sink, if any list names `otlp`.
    pub otlp: Option<OtlpSink>,
    /// The Prometheus sink, if `OTEL_METRICS_EXPORTER` names `prometheus`: serve its
    /// scrapes (`telem_axum::MetricsEndpoint::new(prometheus)`).
    pub prometheus: Option<Arc<PrometheusSink>>,
}

impl EnvPipeline {
    /// Adds to `config` the sinks `exporters` selects: `console` (spans, metric
    /// snapshots, log records or any of them, switched with [`StdoutSink::with_spans`],
    /// [`StdoutSink::with_metrics`] and [`StdoutSink::with_logs`]; dropped if no list
    /// names it), a new
    /// [`PrometheusSink`], and an [`OtlpSink`] built from `otlp` with its signals set to
    /// match the lists (over any [`OtlpConfig::with_signal`]). Fails only if the OTLP
    /// sink is needed and its configuration is invalid.
    pub fn new(
        config: Config,
        exporters: Exporters,
        otlp: OtlpConfig,
        console: StdoutSink,
    ) -> Result<Self, OtlpError> {
        let mut pipeline = Self {
            config,
            exporters,
            otlp: None,
            prometheus: None,
        };
        if pipeline.config.disabled() {
            return Ok(pipeline);
        }
        let (traces, metrics, logs) = (exporters.traces(), exporters.metrics(), exporters.logs());
        let mut config = pipeline.config;
        if exporters.is_selected(Exporter::Console) {
            config = config.with_sink(
                console
                    .with_spans(traces.contains(Exporter::Console))
                    .with_metrics(metrics.contains(Exporter::Console))
                    .with_logs(logs.contains(Exporter::Console)),
            );
        }
        if metrics.contains(Exporter::Prometheus) {
            let prometheus = Arc::new(PrometheusSink::new());
            config = config.with_sink(prometheus.clone());
            pipeline.prometheus = Some(prometheus);
        }
        if exporters.is_selected(Exporter::Otlp) {
            let sink = OtlpSink::new(
                otlp.with_signal(Signal::Traces, traces.contains(Exporter::Otlp))
                    .with_signal(Signal::Metrics, metrics.contains(Exporter::Otlp))
                    .with_signal(Signal::Logs, logs.contains(Exporter::Otlp)),
            )?;
            config = config.with_sink(sink.clone());
            pipeline.otlp = Some(sink);
        }
        pipeline.config = config;
        Ok(pipeline)
    }
}

/// A whole pipeline from the process environment, with OpenTelemetry's defaults:
/// [`telem::Config::from_env`] (sampler, span limits, `OTEL_SDK_DISABLED`,
/// `TELEMETRY_*`), [`Exporters::from_env`] (`OTEL_TRACES_EXPORTER`,
/// `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`, `otlp` when unset),
/// [`OtlpConfig::from_env`], and a console
/// sink in the format of `TELEMETRY_CONSOLE_FORMAT` (`json`, the default, or `pretty`;
/// any case), all built by [`EnvPipeline::new`]. For other defaults when a variable is
/// unset, call [`EnvPipeline::new`] with your own [`Exporters`].
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // OTEL_SERVICE_NAME=books OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 \
/// // OTEL_METRICS_EXPORTER=otlp,prometheus ./books
/// let env = telem_otlp::config_from_env()?;
/// let pipeline = telem::init(env.config)?;
/// if let Some(prometheus) = env.prometheus {
///     // serve it: telem_axum::MetricsEndpoint::new(prometheus)
/// #   drop(prometheus);
/// }
/// // ...
/// pipeline.shutdown().await;
/// if let Some(otlp) = env.otlp {
///     println!("{:?}", otlp.stats());
/// }
/// # Ok(()) }
/// ```
pub fn config_from_env() -> Result<EnvPipeline, OtlpError> {
    config_from_env_vars(&telem::EnvVars::from_env())
}

/// [`config_from_env`] with the given `(name, value)` pairs instead of the process
/// environment.
///
/// ```
/// use telem::{Exporter, StdoutFormat};
/// let env = telem_otlp::config_from_env_vars([
///     ("OTEL_TRACES_EXPORTER", "otlp,console"),
///     ("OTEL_METRICS_EXPORTER", "prometheus"),
///     ("TELEMETRY_CONSOLE_FORMAT", "pretty"),
///     ("OTEL_TRACES_SAMPLER", "always_on"),
/// ])
/// .unwrap();
/// assert_eq!(env.config.sinks().len(), 3);
/// assert!(env.exporters.traces().contains(Exporter::Console));
/// assert!(env.otlp.is_some() && env.prometheus.is_some());
///
/// let err = telem_otlp::config_from_env_vars([("OTEL_METRICS_EXPORTER", "statsd")]).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid value \"statsd\" for environment variable OTEL_METRICS_EXPORTER: \
///      accepted values are a comma-separated list of otlp, prometheus and console, or none alone"
/// );
/// ```
pub fn config_from_env_vars<I, K, V>(vars: I) -> Result<EnvPipeline, OtlpError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let vars = EnvVars::from_pairs(vars);
    let config = Config::from_env_vars(&vars)?;
    let exporters = Exporters::from_env_vars(&vars)?;
    let otlp = OtlpConfig::new().with_env_vars(&vars)?;
    let format = console_format(&vars)?.unwrap_or(StdoutFormat::Json);
    EnvPipeline::new(config, exporters, otlp, StdoutSink::from_format(format))
}

/// `TELEMETRY_CONSOLE_FORMAT`: `json` or `pretty`, any case.
fn console_format(vars: &EnvVars) -> Result<Option<StdoutFormat>, ConfigError> {
    vars.parse(&CONSOLE_FORMAT, |v| {
        if v.eq_ignore_ascii_case("json") {
            Some(StdoutFormat::Json)
        } else if v.eq_ignore_ascii_case("pretty") {
            Some(StdoutFormat::Pretty)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_format_is_json_or_pretty_in_any_case() {
        let format =
            |v: &str| console_format(&EnvVars::from_pairs([("TELEMETRY_CONSOLE_FORMAT", v)]));
        assert_eq!(format("").unwrap(), None);
        assert_eq!(format("JSON").unwrap(), Some(StdoutFormat::Json));
        assert_eq!(format(" Pretty ").unwrap(), Some(StdoutFormat::Pretty));
        let err = format("yaml").unwrap_err();
        assert_eq!(
            (err.variable, err.value.as_str(), err.accepted.as_ref()),
            (Some("TELEMETRY_CONSOLE_FORMAT"), "yaml", "json or pretty")
        );
    }
}
