//! [`Config`] from the environment: the standard `OTEL_*` variables that configure the
//! core (disabled, sampler, span limits), `RUST_LOG` (the log filter, the variable Rust
//! users already set) and this project's own `TELEMETRY_*` settings, each read through
//! its row of [`SETTINGS`](crate::SETTINGS).
//!
//! Precedence: a setting made in code with a `Config::with_*` method wins over the
//! environment, which wins over the defaults, whatever the order of the calls (each
//! field is a [`CodeOrEnv`](crate::CodeOrEnv)). [`Config::from_env`] starts from the
//! defaults; [`Config::with_env`] merges the environment into a config. An empty
//! variable counts as unset (as OpenTelemetry specifies); unknown variables are ignored;
//! a value that does not parse or is out of range is a [`ConfigError`] naming the
//! variable, the value and the accepted values.

use crate::config::table::{
    ATTRIBUTE_COUNT_LIMIT, BOUND_FIELDS_ON_SPANS, CARDINALITY_LIMIT, DIAGNOSTICS, DISABLED,
    DRAIN_INTERVAL, EVENT_ATTRIBUTE_COUNT_LIMIT, LINK_ATTRIBUTE_COUNT_LIMIT, LOGS_AS_SPAN_EVENTS,
    LOG_FILTER, LOG_RING_CAPACITY, MAX_BATCH_SIZE, METRICS_ENABLED, RING_CAPACITY, SAMPLER,
    SAMPLER_RATIO, SHUTDOWN_TIMEOUT, SINK_QUEUE_CAPACITY, SINK_TIMEOUT, SPAN_ATTRIBUTE_COUNT_LIMIT,
    SPAN_EVENT_COUNT_LIMIT, SPAN_LINK_COUNT_LIMIT,
};
use crate::{Config, ConfigError, LogFilter, MetricsConfig, Sampler, Setting, SpanLimits};
use std::collections::BTreeMap;
use std::time::Duration;

/// The prefixes of the variables every [`EnvVars`] keeps.
const PREFIXES: [&str; 2] = ["OTEL_", "TELEMETRY_"];
/// The variables without those prefixes every [`EnvVars`] keeps.
const NAMES: [&str; 1] = ["RUST_LOG"];

/// The `OTEL_*` and `TELEMETRY_*` variables of an environment, and `RUST_LOG` (and an
/// application's own prefix, with [`EnvVars::from_pairs_with_prefix`]), non-empty ones only (trimmed),
/// looked up by name, with parsers that read a [`Setting`]'s variable and check its
/// accepted values: an error names the variable, the value and the accepted values.
/// Other crates of this project (the OTLP exporter) and the examples read their
/// settings through it too.
///
/// ```
/// use telem::{EnvVars, Setting};
/// const DELAY: Setting = Setting::millis("delay", 5000, 1, 3_600_000).with_variable("OTEL_BSP_SCHEDULE_DELAY");
/// let vars = EnvVars::from_pairs([("OTEL_SDK_DISABLED", "TRUE"), ("OTEL_BSP_SCHEDULE_DELAY", "0"), ("HOME", "/root")]);
/// assert_eq!(vars.get("OTEL_SDK_DISABLED"), Some("TRUE"));
/// assert!(vars.get("HOME").is_none(), "only OTEL_*, TELEMETRY_* and RUST_LOG are kept");
/// let err = vars.millis(&DELAY).unwrap_err();
/// assert_eq!(err.variable, Some("OTEL_BSP_SCHEDULE_DELAY"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct EnvVars(BTreeMap<String, String>);

impl EnvVars {
    /// The variables of interest among `(name, value)` pairs (`std::env::vars()`, or a
    /// list in tests).
    pub fn from_pairs<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self::keep(vars, None)
    }

    /// [`EnvVars::from_pairs`], keeping the variables that start with `prefix` too (an
    /// application's own, `BOOKSTORE_`).
    ///
    /// ```
    /// let vars = telem::EnvVars::from_pairs_with_prefix([("APP_PORT", "80"), ("PATH", "/bin")], "APP_");
    /// assert_eq!((vars.get("APP_PORT"), vars.get("PATH")), (Some("80"), None));
    /// ```
    pub fn from_pairs_with_prefix<I, K, V>(vars: I, prefix: &str) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self::keep(vars, Some(prefix))
    }

    fn keep<I, K, V>(vars: I, prefix: Option<&str>) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let ours = |k: &str| {
            PREFIXES.iter().any(|p| k.starts_with(p))
                || NAMES.contains(&k)
                || prefix.is_some_and(|p| k.starts_with(p))
        };
        Self(
            vars.into_iter()
                .filter(|(k, v)| ours(k.as_ref()) && !v.as_ref().trim().is_empty())
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().trim().to_owned()))
                .collect(),
        )
    }

    /// The process's environment. Read with `vars_os`: a variable elsewhere that is not
    /// UTF-8 must not panic; one of ours that is not UTF-8 fails to parse and is reported.
    pub fn from_env() -> Self {
        Self::keep(Self::process_env(), None)
    }

    /// [`EnvVars::from_env`], keeping the variables that start with `prefix` too.
    pub fn from_env_with_prefix(prefix: &str) -> Self {
        Self::keep(Self::process_env(), Some(prefix))
    }

    fn process_env() -> impl Iterator<Item = (String, String)> {
        std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
    }

    /// The value of `name`, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `setting`'s variable parsed by `parse`; `None` from `parse` is an error naming the
    /// variable, the value and the setting's accepted values.
    pub fn parse<T>(
        &self,
        setting: &Setting,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        let Some(value) = setting.variable().and_then(|name| self.get(name)) else {
            return Ok(None);
        };
        parse(value)
            .map(Some)
            .ok_or_else(|| ConfigError::from_env(setting, value))
    }

    /// A [`bool`](Setting::bool) setting: `true` or `false`, any case (OpenTelemetry's
    /// boolean values).
    pub fn bool(&self, setting: &Setting) -> Result<Option<bool>, ConfigError> {
        self.parse(setting, |v| {
            if v.eq_ignore_ascii_case("true") {
                Some(true)
            } else if v.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            }
        })
    }

    /// An [`integer`](Setting::integer) or [`power_of_two`](Setting::power_of_two)
    /// setting, within its range.
    pub fn integer(&self, setting: &Setting) -> Result<Option<u64>, ConfigError> {
        self.parse(setting, |v| setting.parse_integer(v))
    }

    /// A [`millis`](Setting::millis) setting: milliseconds within its range.
    pub fn millis(&self, setting: &Setting) -> Result<Option<Duration>, ConfigError> {
        self.parse(setting, |v| setting.parse_millis(v))
    }

    /// A [`number`](Setting::number) setting, within its range.
    pub fn number(&self, setting: &Setting) -> Result<Option<f64>, ConfigError> {
        self.parse(setting, |v| setting.parse_number(v))
    }

    /// A `u32` limit (the span limits).
    fn u32(&self, setting: &Setting) -> Result<Option<u32>, ConfigError> {
        Ok(self.integer(setting)?.map(|n| n as u32))
    }
}

/// The kept variables as `(name, value)` pairs, in name order: what the `with_env_vars`
/// methods take, so one parsed environment can feed several of them.
///
/// ```
/// let vars = telem::EnvVars::from_pairs([("OTEL_TRACES_EXPORTER", "console")]);
/// let exporters = telem::Exporters::from_env_vars(&vars).unwrap();
/// assert!(exporters.traces().contains(telem::Exporter::Console));
/// ```
impl<'a> IntoIterator for &'a EnvVars {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The sampler named by `OTEL_TRACES_SAMPLER`, with the ratio of `OTEL_TRACES_SAMPLER_ARG`
/// (default 1.0, ignored by the samplers that take none).
fn sampler(vars: &EnvVars) -> Result<Option<Sampler>, ConfigError> {
    let Some(name) = SAMPLER.variable().and_then(|v| vars.get(v)) else {
        return Ok(None);
    };
    let ratio = || -> Result<f64, ConfigError> {
        Ok(vars
            .number(&SAMPLER_RATIO)?
            .unwrap_or(SAMPLER_RATIO.default_number()))
    };
    let sampler = match name {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => Sampler::parent_based(Sampler::AlwaysOn),
        "parentbased_always_off" => Sampler::parent_based(Sampler::AlwaysOff),
        "parentbased_traceidratio" => Sampler::parent_based(Sampler::TraceIdRatioBased(ratio()?)),
        _ => return Err(ConfigError::from_env(&SAMPLER, name)),
    };
    Ok(Some(sampler))
}

/// The log filter of `RUST_LOG`; an invalid directive is an error naming the variable,
/// its value and, as the reason, the directive and what is wrong with it.
fn log_filter(vars: &EnvVars) -> Result<Option<LogFilter>, ConfigError> {
    let Some(spec) = LOG_FILTER.variable().and_then(|v| vars.get(v)) else {
        return Ok(None);
    };
    LogFilter::parse(spec)
        .map(Some)
        .map_err(|e| ConfigError::from_env(&LOG_FILTER, spec).with_reason(e.to_string()))
}

/// The span limits the variables set, over `base`; `None` if none is set.
fn span_limits(vars: &EnvVars, base: SpanLimits) -> Result<Option<SpanLimits>, ConfigError> {
    let all_attributes = vars.u32(&ATTRIBUTE_COUNT_LIMIT)?;
    let span_attributes = vars.u32(&SPAN_ATTRIBUTE_COUNT_LIMIT)?;
    let events = vars.u32(&SPAN_EVENT_COUNT_LIMIT)?;
    let links = vars.u32(&SPAN_LINK_COUNT_LIMIT)?;
    let event_attributes = vars.u32(&EVENT_ATTRIBUTE_COUNT_LIMIT)?;
    let link_attributes = vars.u32(&LINK_ATTRIBUTE_COUNT_LIMIT)?;
    if [
        all_attributes,
        span_attributes,
        events,
        links,
        event_attributes,
        link_attributes,
    ]
    .iter()
    .all(Option::is_none)
    {
        return Ok(None);
    }
    let mut limits = base;
    if let Some(n) = span_attributes.or(all_attributes) {
        limits.max_attributes = n;
    }
    if let Some(n) = events {
        limits.max_events = n;
    }
    if let Some(n) = links {
        limits.max_links = n;
    }
    let per_item = match (event_attributes, link_attributes) {
        (Some(e), Some(l)) => Some(e.min(l)),
        (e, l) => e.or(l).or(all_attributes),
    };
    if let Some(n) = per_item {
        limits.max_attributes_per_event = n;
    }
    Ok(Some(limits))
}

/// The metrics settings the variables set, over `base`; `None` if none is set.
fn metrics(vars: &EnvVars, base: MetricsConfig) -> Result<Option<MetricsConfig>, ConfigError> {
    let enabled = vars.bool(&METRICS_ENABLED)?;
    let cardinality_limit = vars.integer(&CARDINALITY_LIMIT)?;
    if enabled.is_none() && cardinality_limit.is_none() {
        return Ok(None);
    }
    let mut metrics = base;
    if let Some(on) = enabled {
        metrics = metrics.with_enabled(on);
    }
    if let Some(n) = cardinality_limit {
        metrics = metrics.with_cardinality_limit(n as usize);
    }
    Ok(Some(metrics))
}

impl Config {
    /// The defaults, overridden by the environment (see [`Config::with_env`]).
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// // OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1 ./service
    /// let config = telem::Config::from_env().expect("a valid environment");
    /// let pipeline = telem::init(config).unwrap();
    /// # pipeline.shutdown().await; }
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new().with_env()
    }

    /// The defaults, overridden by the given `(name, value)` pairs as if they were the
    /// environment: for tests, and for variables read from elsewhere.
    ///
    /// ```
    /// use telem::{Config, Sampler};
    /// let config = Config::from_env_vars([
    ///     ("OTEL_TRACES_SAMPLER", "traceidratio"),
    ///     ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
    ///     ("OTEL_SPAN_EVENT_COUNT_LIMIT", "16"),
    ///     ("TELEMETRY_DRAIN_INTERVAL", "250"),
    /// ])
    /// .unwrap();
    /// assert_eq!(config.sampler(), Sampler::TraceIdRatioBased(0.25));
    /// assert_eq!(config.span_limits().max_events, 16);
    /// assert_eq!(config.drain_interval(), std::time::Duration::from_millis(250));
    /// ```
    pub fn from_env_vars<I, K, V>(vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self::new().with_env_vars(vars)
    }

    /// Merges the process environment into this config: each variable sets its setting
    /// unless that setting was made in code with a `with_*` method, before or after this
    /// call (code, then environment, then defaults). A value that is not valid UTF-8 is
    /// refused like any other invalid value. The variables, their defaults and accepted
    /// values are the rows of [`SETTINGS`](crate::SETTINGS) that name one (the table of
    /// `docs/configuration.md`); `OTEL_TRACES_SAMPLER_ARG` is read only by the samplers
    /// that take a ratio, and `OTEL_ATTRIBUTE_COUNT_LIMIT` sets the attribute limits the
    /// more specific variables leave unset.
    ///
    /// ```
    /// use telem::{Config, Sampler};
    /// // The sampler set in code stays; the drain interval comes from the environment.
    /// let config = Config::new()
    ///     .with_sampler(Sampler::AlwaysOn)
    ///     .with_env_vars([("OTEL_TRACES_SAMPLER", "always_off"), ("TELEMETRY_DRAIN_INTERVAL", "50")])
    ///     .unwrap();
    /// assert_eq!(config.sampler(), Sampler::AlwaysOn);
    /// assert_eq!(config.drain_interval().as_millis(), 50);
    /// ```
    pub fn with_env(self) -> Result<Self, ConfigError> {
        self.with_env_vars(&EnvVars::from_env())
    }

    /// [`Config::with_env`] with the given `(name, value)` pairs instead of the process
    /// environment.
    ///
    /// ```
    /// use telem::{Config, Level};
    /// let config = Config::new()
    ///     .with_env_vars([("RUST_LOG", "warn,my_service::db=debug"), ("TELEMETRY_LOGS_AS_SPAN_EVENTS", "true")])
    ///     .unwrap();
    /// assert!(config.log_filter().allows("my_service::db::pool", Level::Debug));
    /// assert!(!config.log_filter().allows("my_service::api", Level::Info));
    /// assert!(config.logs_as_span_events());
    ///
    /// // An invalid directive names the variable, the directive and what is wrong.
    /// let err = Config::from_env_vars([("RUST_LOG", "info,my_service=loud")]).unwrap_err();
    /// assert_eq!((err.setting, err.variable), ("log_filter", Some("RUST_LOG")));
    /// assert!(err.to_string().starts_with(
    ///     "invalid value \"info,my_service=loud\" for environment variable RUST_LOG: \
    ///      `my_service=loud`: `loud` is not a level (accepted: off, error, warn, info, debug, trace); "
    /// ));
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
        let disabled = vars.bool(&DISABLED)?;
        let sampler = sampler(&vars)?;
        let span_limits = span_limits(
            &vars,
            self.span_limits
                .env()
                .copied()
                .unwrap_or(SpanLimits::DEFAULT),
        )?;
        let ring_capacity = as_usize(vars.integer(&RING_CAPACITY)?);
        let drain_interval = vars.millis(&DRAIN_INTERVAL)?;
        let sink_timeout = vars.millis(&SINK_TIMEOUT)?;
        let shutdown_timeout = vars.millis(&SHUTDOWN_TIMEOUT)?;
        let sink_queue_capacity = as_usize(vars.integer(&SINK_QUEUE_CAPACITY)?);
        let max_batch_size = as_usize(vars.integer(&MAX_BATCH_SIZE)?);
        let diagnostics = vars.bool(&DIAGNOSTICS)?;
        let log_filter = log_filter(&vars)?;
        let log_ring_capacity = as_usize(vars.integer(&LOG_RING_CAPACITY)?);
        let logs_as_span_events = vars.bool(&LOGS_AS_SPAN_EVENTS)?;
        let bound_fields_on_spans = vars.bool(&BOUND_FIELDS_ON_SPANS)?;
        let metrics = metrics(
            &vars,
            self.metrics.env().copied().unwrap_or(MetricsConfig::new()),
        )?;

        self.disabled.set_env(disabled);
        self.sampler.set_env(sampler);
        self.span_limits.set_env(span_limits);
        self.ring_capacity.set_env(ring_capacity);
        self.drain_interval.set_env(drain_interval);
        self.sink_timeout.set_env(sink_timeout);
        self.shutdown_timeout.set_env(shutdown_timeout);
        self.sink_queue_capacity.set_env(sink_queue_capacity);
        self.max_batch_size.set_env(max_batch_size);
        self.diagnostics.set_env(diagnostics);
        self.log_filter.set_env(log_filter);
        self.log_ring_capacity.set_env(log_ring_capacity);
        self.logs_as_span_events.set_env(logs_as_span_events);
        self.bound_fields_on_spans.set_env(bound_fields_on_spans);
        self.metrics.set_env(metrics);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_env_vars(vars.iter().copied())
    }

    fn err(vars: &[(&str, &str)]) -> ConfigError {
        from(vars).unwrap_err()
    }

    /// The variable, the value and the accepted values of an error.
    fn parts(e: &ConfigError) -> (&str, &str, &str) {
        (e.variable.unwrap_or("(code)"), &e.value, &e.accepted)
    }

    #[test]
    fn env_empty_gives_the_defaults() {
        let config = from(&[]).unwrap();
        assert!(!config.disabled());
        assert_eq!(config.sampler(), Sampler::default());
        assert_eq!(config.span_limits(), SpanLimits::DEFAULT);
        assert_eq!(config.ring_capacity(), Config::new().ring_capacity());
        assert_eq!(config.drain_interval(), Duration::from_secs(1));
        assert_eq!(config.log_filter(), LogFilter::default());
        assert_eq!(config.log_filter().to_string(), "info");
        assert_eq!(
            config.log_ring_capacity(),
            crate::record::ring::logs::DEFAULT_LOG_CAPACITY
        );
        assert_eq!(config.log_ring_capacity(), 1024);
        assert!(!config.logs_as_span_events());
        assert!(!config.bound_fields_on_spans());
        assert!(config.validate().is_ok());
    }

    #[test]
    fn env_empty_values_count_as_unset_and_unknown_variables_are_ignored() {
        let config = from(&[
            ("OTEL_TRACES_SAMPLER", ""),
            ("TELEMETRY_RING_CAPACITY", "  "),
            ("RUST_LOG", " "),
            ("OTEL_SOMETHING_ELSE", "whatever"),
            ("PATH", "/usr/bin"),
            ("RUST_LOG_STYLE", "never"),
        ])
        .unwrap();
        assert_eq!(config.log_filter(), LogFilter::default());
        assert_eq!(config.sampler(), Sampler::default());
        assert_eq!(config.ring_capacity(), Config::new().ring_capacity());
    }

    #[test]
    fn env_every_sampler() {
        let cases = [
            ("always_on", None, Sampler::AlwaysOn),
            ("always_off", None, Sampler::AlwaysOff),
            ("traceidratio", None, Sampler::TraceIdRatioBased(1.0)),
            ("traceidratio", Some("0.5"), Sampler::TraceIdRatioBased(0.5)),
            (
                "parentbased_always_on",
                None,
                Sampler::parent_based(Sampler::AlwaysOn),
            ),
            (
                "parentbased_always_off",
                Some("0.3"),
                Sampler::parent_based(Sampler::AlwaysOff),
            ),
            (
                "parentbased_traceidratio",
                Some("0"),
                Sampler::parent_based(Sampler::TraceIdRatioBased(0.0)),
            ),
        ];
        for (name, arg, expected) in cases {
            let mut vars = vec![("OTEL_TRACES_SAMPLER", name)];
            if let Some(arg) = arg {
                vars.push(("OTEL_TRACES_SAMPLER_ARG", arg));
            }
            assert_eq!(from(&vars).unwrap().sampler(), expected, "{name} {arg:?}");
        }
    }

    #[test]
    fn env_sampler_errors_name_variable_value_and_range() {
        let e = err(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]);
        assert_eq!(e.variable, Some("OTEL_TRACES_SAMPLER"));
        assert_eq!(e.value, "jaeger_remote");
        assert!(e.accepted.contains("parentbased_traceidratio"));

        for bad in ["1.5", "-0.1", "half", "NaN"] {
            let e = err(&[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", bad),
            ]);
            assert_eq!(
                parts(&e),
                ("OTEL_TRACES_SAMPLER_ARG", bad, "a number from 0.0 to 1.0")
            );
        }
        // A bad argument for a sampler that takes none is ignored, as specified.
        assert!(from(&[
            ("OTEL_TRACES_SAMPLER", "always_on"),
            ("OTEL_TRACES_SAMPLER_ARG", "nonsense"),
        ])
        .is_ok());
    }

    #[test]
    fn env_disabled_accepts_true_and_false_in_any_case() {
        assert!(from(&[("OTEL_SDK_DISABLED", "TRUE")]).unwrap().disabled());
        assert!(!from(&[("OTEL_SDK_DISABLED", "false")]).unwrap().disabled());
        let e = err(&[("OTEL_SDK_DISABLED", "yes")]);
        assert_eq!(
            e.to_string(),
            "invalid value \"yes\" for environment variable OTEL_SDK_DISABLED: \
             accepted values are true or false"
        );
    }

    #[test]
    fn env_span_limits() {
        let config = from(&[
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "10"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "11"),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", "12"),
            ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "14"),
            ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "13"),
        ])
        .unwrap();
        let l = config.span_limits();
        assert_eq!(
            (
                l.max_attributes,
                l.max_events,
                l.max_links,
                l.max_attributes_per_event
            ),
            (10, 11, 12, 13)
        );
        // The general limit fills in the attribute limits not set specifically.
        let l = from(&[
            ("OTEL_ATTRIBUTE_COUNT_LIMIT", "7"),
            ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "3"),
        ])
        .unwrap()
        .span_limits();
        assert_eq!((l.max_attributes, l.max_attributes_per_event), (7, 3));
        let l = from(&[("OTEL_ATTRIBUTE_COUNT_LIMIT", "7")])
            .unwrap()
            .span_limits();
        assert_eq!((l.max_attributes, l.max_attributes_per_event), (7, 7));

        for var in [
            "OTEL_ATTRIBUTE_COUNT_LIMIT",
            "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
            "OTEL_SPAN_EVENT_COUNT_LIMIT",
            "OTEL_SPAN_LINK_COUNT_LIMIT",
            "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
            "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
        ] {
            for bad in ["-1", "4294967296", "many"] {
                let e = err(&[(var, bad)]);
                assert_eq!(parts(&e), (var, bad, "an integer from 0 to 4294967295"));
            }
        }
    }

    #[test]
    fn env_project_settings_and_their_errors() {
        let config = from(&[
            ("TELEMETRY_RING_CAPACITY", "1024"),
            ("TELEMETRY_DRAIN_INTERVAL", "20"),
            ("TELEMETRY_SINK_TIMEOUT", "900"),
            ("TELEMETRY_SHUTDOWN_TIMEOUT", "1500"),
            ("TELEMETRY_DIAGNOSTICS", "false"),
            ("TELEMETRY_SINK_QUEUE_CAPACITY", "8"),
            ("TELEMETRY_MAX_BATCH_SIZE", "512"),
            ("TELEMETRY_METRICS", "false"),
            ("TELEMETRY_METRICS_CARDINALITY_LIMIT", "50"),
            ("TELEMETRY_LOG_RING_CAPACITY", "8192"),
            ("TELEMETRY_LOGS_AS_SPAN_EVENTS", "TRUE"),
            ("TELEMETRY_BOUND_FIELDS_ON_SPANS", "true"),
        ])
        .unwrap();
        assert_eq!(config.log_ring_capacity(), 8192);
        assert!(config.logs_as_span_events());
        assert!(config.bound_fields_on_spans());
        assert_eq!(config.ring_capacity(), 1024);
        assert_eq!(config.drain_interval(), Duration::from_millis(20));
        assert_eq!(config.sink_timeout(), Duration::from_millis(900));
        assert_eq!(config.shutdown_timeout(), Duration::from_millis(1500));
        assert!(!config.diagnostics());
        assert_eq!(config.sink_queue_capacity(), 8);
        assert_eq!(config.max_batch_size(), 512);
        assert!(!config.metrics().enabled());
        assert_eq!(config.metrics().cardinality_limit(), 50);
        assert!(config.validate().is_ok());

        let cases: &[(&str, &[&str], &str)] = &[
            (
                "TELEMETRY_RING_CAPACITY",
                &["1000", "32", "33554432", "x"],
                "a power of two from 64 to 16777216",
            ),
            (
                "TELEMETRY_DRAIN_INTERVAL",
                &["0", "300001", "1s"],
                "1 to 300000 (milliseconds)",
            ),
            (
                "TELEMETRY_SINK_TIMEOUT",
                &["0", "600001", "-5"],
                "1 to 600000 (milliseconds)",
            ),
            (
                "TELEMETRY_SHUTDOWN_TIMEOUT",
                &["0", "600001", "5s"],
                "1 to 600000 (milliseconds)",
            ),
            (
                "TELEMETRY_SINK_QUEUE_CAPACITY",
                &["0", "65537"],
                "an integer from 1 to 65536 (batches)",
            ),
            (
                "TELEMETRY_MAX_BATCH_SIZE",
                &["0", "1048577"],
                "an integer from 1 to 1048576 (spans)",
            ),
            ("TELEMETRY_METRICS", &["on", "1"], "true or false"),
            ("TELEMETRY_DIAGNOSTICS", &["off"], "true or false"),
            (
                "TELEMETRY_LOG_RING_CAPACITY",
                &["1000", "32", "33554432", "x", "-1024"],
                "a power of two from 64 to 16777216",
            ),
            (
                "TELEMETRY_LOGS_AS_SPAN_EVENTS",
                &["yes", "1"],
                "true or false",
            ),
            (
                "TELEMETRY_BOUND_FIELDS_ON_SPANS",
                &["on", "0"],
                "true or false",
            ),
            (
                "TELEMETRY_METRICS_CARDINALITY_LIMIT",
                &["0", "1000001"],
                "an integer from 1 to 1000000 (series per family)",
            ),
        ];
        for (var, bads, accepted) in cases {
            for bad in *bads {
                let e = err(&[(var, bad)]);
                assert_eq!(parts(&e), (*var, *bad, *accepted));
            }
        }
    }

    /// Each environment-parsed row's error shows the row's accepted text: the range is
    /// written once, in the table.
    #[test]
    fn env_errors_show_the_accepted_values_of_the_table() {
        for setting in crate::SETTINGS {
            let Some(variable) = setting.variable() else {
                continue;
            };
            let mut vars = vec![(variable, "not a valid value")];
            if variable == "OTEL_TRACES_SAMPLER_ARG" {
                vars.push(("OTEL_TRACES_SAMPLER", "traceidratio"));
            }
            let e = match variable {
                "OTEL_TRACES_EXPORTER" | "OTEL_METRICS_EXPORTER" | "OTEL_LOGS_EXPORTER" => {
                    crate::Exporters::from_env_vars(vars).unwrap_err()
                }
                _ => Config::from_env_vars(vars).unwrap_err(),
            };
            assert_eq!(
                (e.setting, e.variable, e.accepted.as_ref()),
                (setting.name(), Some(variable), setting.accepted().as_ref())
            );
        }
    }

    #[test]
    fn env_code_wins_over_environment_which_wins_over_defaults() {
        let vars = [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_SAMPLER", "always_off"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "1"),
            ("TELEMETRY_RING_CAPACITY", "128"),
            ("TELEMETRY_DRAIN_INTERVAL", "7"),
            ("TELEMETRY_SINK_TIMEOUT", "8"),
            ("TELEMETRY_SHUTDOWN_TIMEOUT", "11"),
            ("TELEMETRY_SINK_QUEUE_CAPACITY", "9"),
            ("TELEMETRY_MAX_BATCH_SIZE", "10"),
            ("TELEMETRY_DIAGNOSTICS", "false"),
            ("TELEMETRY_METRICS", "false"),
            ("RUST_LOG", "debug"),
            ("TELEMETRY_LOG_RING_CAPACITY", "256"),
            ("TELEMETRY_LOGS_AS_SPAN_EVENTS", "true"),
            ("TELEMETRY_BOUND_FIELDS_ON_SPANS", "true"),
        ];
        // Every setter, then the environment.
        let code = Config::new()
            .with_disabled(false)
            .with_sampler(Sampler::AlwaysOn)
            .with_span_limits(SpanLimits::DEFAULT)
            .with_ring_capacity(4096)
            .with_drain_interval(Duration::from_secs(1))
            .with_sink_timeout(Duration::from_secs(5))
            .with_shutdown_timeout(Duration::from_secs(5))
            .with_sink_queue_capacity(64)
            .with_max_batch_size(256)
            .with_diagnostics(true)
            .with_metrics(MetricsConfig::new())
            .with_log_filter(LogFilter::new(crate::LevelFilter::Warn))
            .with_log_ring_capacity(1024)
            .with_logs_as_span_events(false)
            .with_bound_fields_on_spans(false)
            .with_env_vars(vars)
            .unwrap();
        assert!(!code.disabled());
        assert_eq!(code.sampler(), Sampler::AlwaysOn);
        assert_eq!(code.span_limits(), SpanLimits::DEFAULT);
        assert_eq!(code.ring_capacity(), 4096);
        assert_eq!(code.drain_interval(), Duration::from_secs(1));
        assert_eq!(code.sink_timeout(), Duration::from_secs(5));
        assert_eq!(code.shutdown_timeout(), Duration::from_secs(5));
        assert_eq!(code.sink_queue_capacity(), 64);
        assert_eq!(code.max_batch_size(), 256);
        assert!(code.diagnostics());
        assert!(code.metrics().enabled());
        assert_eq!(code.log_filter().to_string(), "warn");
        assert_eq!(code.log_ring_capacity(), 1024);
        assert!(!code.logs_as_span_events());
        assert!(!code.bound_fields_on_spans());

        let env = Config::new().with_env_vars(vars).unwrap();
        assert!(env.disabled());
        assert_eq!(env.sampler(), Sampler::AlwaysOff);
        assert_eq!(env.span_limits().max_events, 1);
        assert_eq!(env.ring_capacity(), 128);
        assert_eq!(env.drain_interval(), Duration::from_millis(7));
        assert_eq!(env.sink_timeout(), Duration::from_millis(8));
        assert_eq!(env.shutdown_timeout(), Duration::from_millis(11));
        assert_eq!(env.sink_queue_capacity(), 9);
        assert_eq!(env.max_batch_size(), 10);
        assert!(!env.diagnostics());
        assert!(!env.metrics().enabled());
        assert_eq!(env.log_filter().to_string(), "debug");
        assert_eq!(env.log_ring_capacity(), 256);
        assert!(env.logs_as_span_events());
        assert!(env.bound_fields_on_spans());

        // Code applied after the environment wins too.
        let later = Config::from_env_vars(vars)
            .unwrap()
            .with_ring_capacity(2048);
        assert_eq!(later.ring_capacity(), 2048);
    }

    /// A second reading of the environment keeps what the first found for the variables
    /// it does not set, and never overrides code.
    #[test]
    fn env_read_twice_merges_and_code_still_wins() {
        let config = Config::new()
            .with_drain_interval(Duration::from_millis(3))
            .with_env_vars([
                ("TELEMETRY_RING_CAPACITY", "128"),
                ("TELEMETRY_DRAIN_INTERVAL", "9"),
            ])
            .unwrap()
            .with_env_vars([
                ("TELEMETRY_SINK_TIMEOUT", "40"),
                ("TELEMETRY_DRAIN_INTERVAL", "8"),
            ])
            .unwrap();
        assert_eq!(config.ring_capacity(), 128);
        assert_eq!(config.sink_timeout(), Duration::from_millis(40));
        assert_eq!(config.drain_interval(), Duration::from_millis(3));
    }

    #[test]
    fn env_rust_log_sets_the_log_filter() {
        let config = from(&[("RUST_LOG", "warn, my_service::db=debug,http")]).unwrap();
        let filter = config.log_filter();
        assert_eq!(filter.to_string(), "warn,my_service::db=debug,http=trace");
        assert!(filter.allows("my_service::db::pool", crate::Level::Debug));
        assert!(!filter.allows("my_service::api", crate::Level::Info));
        assert!(config.validate().is_ok());
        // Targets without a level: every other target is off, as env_logger reads it.
        let only = from(&[("RUST_LOG", "my_service=info")])
            .unwrap()
            .log_filter();
        assert_eq!(only.level_for("hyper"), crate::LevelFilter::Off);
    }

    /// `RUST_LOG` is read whatever the prefixes kept, as Rust users set it.
    #[test]
    fn env_vars_keep_rust_log_and_only_it() {
        let vars = EnvVars::from_pairs([
            ("RUST_LOG", "debug"),
            ("RUST_LOG_STYLE", "never"),
            ("RUST_BACKTRACE", "1"),
        ]);
        assert_eq!(vars.get("RUST_LOG"), Some("debug"));
        assert_eq!(vars.get("RUST_LOG_STYLE"), None);
        assert_eq!(vars.get("RUST_BACKTRACE"), None);
    }

    #[test]
    fn env_invalid_rust_log_names_the_variable_and_the_directive() {
        let e = err(&[("RUST_LOG", "info,my_crate=loud")]);
        assert_eq!(
            (e.setting, e.variable, e.value.as_str()),
            ("log_filter", Some("RUST_LOG"), "info,my_crate=loud")
        );
        assert_eq!(
            e.reason.as_deref(),
            Some(
                "`my_crate=loud`: `loud` is not a level (accepted: off, error, warn, info, \
                 debug, trace)"
            )
        );
        assert_eq!(e.accepted, crate::config::table::LOG_FILTER.accepted());
        assert_eq!(
            e.to_string(),
            format!(
                "invalid value \"info,my_crate=loud\" for environment variable RUST_LOG: \
                 `my_crate=loud`: `loud` is not a level (accepted: off, error, warn, info, \
                 debug, trace); accepted values are {}",
                e.accepted
            )
        );
        // Unsupported syntax is refused, not ignored.
        for (spec, directive) in [
            (
                "info,my_crate[request{id=1}]=debug",
                "my_crate[request{id=1}]=debug",
            ),
            ("info/retry", "info/retry"),
            ("debug,=info", "=info"),
        ] {
            let e = err(&[("RUST_LOG", spec)]);
            assert_eq!(e.variable, Some("RUST_LOG"), "{spec}");
            let reason = e.reason.unwrap_or_default();
            assert!(
                reason.starts_with(&format!("`{directive}`: ")),
                "{spec}: {reason}"
            );
        }
    }

    #[test]
    fn env_invalid_variable_is_reported_even_when_code_overrides_it() {
        let e = Config::new()
            .with_ring_capacity(1024)
            .with_env_vars([("TELEMETRY_RING_CAPACITY", "3")])
            .unwrap_err();
        assert_eq!(e.variable, Some("TELEMETRY_RING_CAPACITY"));
    }
}
