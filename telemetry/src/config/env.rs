//! [`Config`] from the environment: the standard `OTEL_*` variables that configure the
//! core (disabled, sampler, span limits) and this project's own `TELEMETRY_*` settings.
//!
//! Precedence: a setting made in code with a `Config::with_*` method wins over the
//! environment, which wins over the defaults. [`Config::from_env`] starts from the
//! defaults; [`Config::with_env`] merges the environment into a config, leaving every
//! setting made in code alone. An empty variable counts as unset (as OpenTelemetry
//! specifies); unknown variables are ignored; a value that does not parse or is out of
//! range is an [`EnvError`] naming the variable, the value and the accepted range.

use crate::{Config, Sampler};
use std::collections::BTreeMap;
use std::time::Duration;

/// An environment variable whose value does not parse or is out of range.
///
/// ```
/// let err = telemetry::Config::from_env_vars([("TELEMETRY_RING_CAPACITY", "1000")]).unwrap_err();
/// assert_eq!(err.variable, "TELEMETRY_RING_CAPACITY");
/// assert_eq!(
///     err.to_string(),
///     "invalid value \"1000\" for environment variable TELEMETRY_RING_CAPACITY: \
///      accepted values are a power of two from 64 to 16777216"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid value {value:?} for environment variable {variable}: accepted values are {accepted}"
)]
#[non_exhaustive]
pub struct EnvError {
    /// The variable's name.
    pub variable: &'static str,
    /// The refused value, as given.
    pub value: String,
    /// What the variable accepts.
    pub accepted: &'static str,
}

impl EnvError {
    /// An error for `variable` set to `value`, which accepts `accepted`. For crates
    /// that read their own variables (`telemetry-otlp`), so every such error reads alike.
    ///
    /// ```
    /// let e = telemetry::EnvError::new("OTEL_EXPORTER_OTLP_TIMEOUT", "soon", "milliseconds");
    /// assert_eq!(e.value, "soon");
    /// ```
    pub fn new(variable: &'static str, value: impl Into<String>, accepted: &'static str) -> Self {
        Self {
            variable,
            value: value.into(),
            accepted,
        }
    }
}

/// Settings made in code, which the environment must not override.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Explicit(u16);

impl Explicit {
    pub(crate) const DISABLED: u16 = 1 << 0;
    pub(crate) const SAMPLER: u16 = 1 << 1;
    pub(crate) const SPAN_LIMITS: u16 = 1 << 2;
    pub(crate) const RING_CAPACITY: u16 = 1 << 3;
    pub(crate) const DRAIN_INTERVAL: u16 = 1 << 4;
    pub(crate) const SINK_TIMEOUT: u16 = 1 << 5;
    pub(crate) const SINK_QUEUE_CAPACITY: u16 = 1 << 6;
    pub(crate) const MAX_BATCH_SIZE: u16 = 1 << 7;
    pub(crate) const METRICS: u16 = 1 << 8;
    pub(crate) const SHUTDOWN_TIMEOUT: u16 = 1 << 9;
    pub(crate) const DIAGNOSTICS: u16 = 1 << 10;

    pub(crate) fn mark(&mut self, setting: u16) {
        self.0 |= setting;
    }

    fn has(self, setting: u16) -> bool {
        self.0 & setting != 0
    }
}

/// The `OTEL_*` and `TELEMETRY_*` variables of an environment, non-empty ones only
/// (trimmed), looked up by name, with parsers whose errors name the variable, its value
/// and the accepted range. Other crates of this project (the OTLP exporter) read their
/// settings through it too.
///
/// ```
/// use telemetry::EnvVars;
/// let vars = EnvVars::from_pairs([("OTEL_SDK_DISABLED", "TRUE"), ("OTEL_BSP_SCHEDULE_DELAY", "0"), ("HOME", "/root")]);
/// assert_eq!(vars.bool("OTEL_SDK_DISABLED").unwrap(), Some(true));
/// assert!(vars.get("HOME").is_none(), "only OTEL_* and TELEMETRY_* are kept");
/// let err = vars.millis("OTEL_BSP_SCHEDULE_DELAY", 3_600_000, "1 to 3600000 (milliseconds)").unwrap_err();
/// assert_eq!(err.variable, "OTEL_BSP_SCHEDULE_DELAY");
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
        Self(
            vars.into_iter()
                .filter(|(k, v)| {
                    let k = k.as_ref();
                    (k.starts_with("OTEL_") || k.starts_with("TELEMETRY_"))
                        && !v.as_ref().trim().is_empty()
                })
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().trim().to_owned()))
                .collect(),
        )
    }

    /// The process's environment. Read with `vars_os`: a variable elsewhere that is not
    /// UTF-8 must not panic; one of ours that is not UTF-8 fails to parse and is reported.
    pub fn from_env() -> Self {
        Self::from_pairs(std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        }))
    }

    /// The value of `name`, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `name` parsed by `parse`; `None` from `parse` is an error naming the variable,
    /// the value and `accepted`.
    pub fn parse<T>(
        &self,
        name: &'static str,
        accepted: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, EnvError> {
        self.get(name)
            .map(|v| parse(v).ok_or_else(|| EnvError::new(name, v, accepted)))
            .transpose()
    }

    /// `true` or `false`, any case (OpenTelemetry's boolean values).
    pub fn bool(&self, name: &'static str) -> Result<Option<bool>, EnvError> {
        self.parse(name, "true or false", |v| {
            if v.eq_ignore_ascii_case("true") {
                Some(true)
            } else if v.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            }
        })
    }

    /// Milliseconds from 1 to `max_ms`.
    pub fn millis(
        &self,
        name: &'static str,
        max_ms: u64,
        accepted: &'static str,
    ) -> Result<Option<Duration>, EnvError> {
        self.parse(name, accepted, |v| {
            v.parse::<u64>()
                .ok()
                .filter(|ms| (1..=max_ms).contains(ms))
                .map(Duration::from_millis)
        })
    }

    fn u32(&self, name: &'static str) -> Result<Option<u32>, EnvError> {
        self.parse(name, "an integer from 0 to 4294967295", |v| v.parse().ok())
    }

    fn usize_in(
        &self,
        name: &'static str,
        ok: impl Fn(usize) -> bool,
        accepted: &'static str,
    ) -> Result<Option<usize>, EnvError> {
        self.parse(name, accepted, |v| v.parse().ok().filter(|n| ok(*n)))
    }
}

/// The kept variables as `(name, value)` pairs, in name order: what the `with_env_vars`
/// methods take, so one parsed environment can feed several of them.
///
/// ```
/// let vars = telemetry::EnvVars::from_pairs([("OTEL_TRACES_EXPORTER", "console")]);
/// let exporters = telemetry::Exporters::from_env_vars(&vars).unwrap();
/// assert!(exporters.traces().contains(telemetry::Exporter::Console));
/// ```
impl<'a> IntoIterator for &'a EnvVars {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

const SAMPLERS: &str = "always_on, always_off, traceidratio, parentbased_always_on, \
                        parentbased_always_off or parentbased_traceidratio";

/// The sampler named by `OTEL_TRACES_SAMPLER`, with the ratio of `OTEL_TRACES_SAMPLER_ARG`
/// (default 1.0, ignored by the samplers that take none).
fn sampler(vars: &EnvVars) -> Result<Option<Sampler>, EnvError> {
    const NAME: &str = "OTEL_TRACES_SAMPLER";
    const ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
    let Some(name) = vars.get(NAME) else {
        return Ok(None);
    };
    let ratio = || -> Result<f64, EnvError> {
        match vars.get(ARG) {
            None => Ok(1.0),
            Some(v) => match v.parse::<f64>() {
                Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
                _ => Err(EnvError::new(ARG, v, "a number from 0.0 to 1.0")),
            },
        }
    };
    let sampler = match name {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => Sampler::parent_based(Sampler::AlwaysOn),
        "parentbased_always_off" => Sampler::parent_based(Sampler::AlwaysOff),
        "parentbased_traceidratio" => Sampler::parent_based(Sampler::TraceIdRatioBased(ratio()?)),
        _ => return Err(EnvError::new(NAME, name, SAMPLERS)),
    };
    Ok(Some(sampler))
}

impl Config {
    /// The defaults, overridden by the environment (see [`Config::with_env`]).
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// // OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1 ./service
    /// let config = telemetry::Config::from_env().expect("a valid environment");
    /// let pipeline = telemetry::init(config).unwrap();
    /// # pipeline.shutdown().await; }
    /// ```
    pub fn from_env() -> Result<Self, EnvError> {
        Self::new().with_env()
    }

    /// The defaults, overridden by the given `(name, value)` pairs as if they were the
    /// environment: for tests, and for variables read from elsewhere.
    ///
    /// ```
    /// use telemetry::{Config, Sampler};
    /// let config = Config::from_env_vars([
    ///     ("OTEL_TRACES_SAMPLER", "traceidratio"),
    ///     ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
    ///     ("OTEL_SPAN_EVENT_COUNT_LIMIT", "16"),
    ///     ("TELEMETRY_DRAIN_INTERVAL", "250"),
    /// ])
    /// .unwrap();
    /// assert_eq!(config.sampler, Sampler::TraceIdRatioBased(0.25));
    /// assert_eq!(config.span_limits.max_events, 16);
    /// assert_eq!(config.drain_interval, std::time::Duration::from_millis(250));
    /// ```
    pub fn from_env_vars<I, K, V>(vars: I) -> Result<Self, EnvError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self::new().with_env_vars(vars)
    }

    /// Merges the process environment into this config: each variable sets its setting
    /// unless that setting was made in code with a `with_*` method (code, then
    /// environment, then defaults). A value that is not valid UTF-8 is refused like any
    /// other invalid value.
    ///
    /// | variable | setting | default | accepted |
    /// | --- | --- | --- | --- |
    /// | `OTEL_SDK_DISABLED` | [`disabled`](Config::disabled) | `false` | `true`, `false` |
    /// | `OTEL_TRACES_SAMPLER` | [`sampler`](Config::sampler) | `parentbased_always_on` | `always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio` |
    /// | `OTEL_TRACES_SAMPLER_ARG` | the ratio of the `traceidratio` samplers | 1.0 | 0.0 to 1.0 |
    /// | `OTEL_ATTRIBUTE_COUNT_LIMIT` | the attribute limits not set by the two below | 128 | 0 to 4294967295 |
    /// | `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` | `span_limits.max_attributes` | 128 | 0 to 4294967295 |
    /// | `OTEL_SPAN_EVENT_COUNT_LIMIT` | `span_limits.max_events` | 128 | 0 to 4294967295 |
    /// | `OTEL_SPAN_LINK_COUNT_LIMIT` | `span_limits.max_links` | 128 | 0 to 4294967295 |
    /// | `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT` | `span_limits.max_attributes_per_event` (one limit for both: the smaller if both are set) | 128 | 0 to 4294967295 |
    /// | `TELEMETRY_RING_CAPACITY` | [`ring_capacity`](Config::ring_capacity) | 4096 | a power of two, 64 to 16777216 |
    /// | `TELEMETRY_DRAIN_INTERVAL` | [`drain_interval`](Config::drain_interval), ms | 1000 | 1 to 300000 |
    /// | `TELEMETRY_SINK_TIMEOUT` | [`sink_timeout`](Config::sink_timeout), ms | 5000 | 1 to 600000 |
    /// | `TELEMETRY_SHUTDOWN_TIMEOUT` | [`shutdown_timeout`](Config::shutdown_timeout), ms | 5000 | 1 to 600000 |
    /// | `TELEMETRY_DIAGNOSTICS` | [`diagnostics`](Config::diagnostics) | `true` | `true`, `false` |
    /// | `TELEMETRY_SINK_QUEUE_CAPACITY` | [`sink_queue_capacity`](Config::sink_queue_capacity) | 64 | 1 to 65536 |
    /// | `TELEMETRY_MAX_BATCH_SIZE` | [`max_batch_size`](Config::max_batch_size) | 256 | 1 to 1048576 |
    /// | `TELEMETRY_METRICS` | `metrics.enabled` | `true` | `true`, `false` |
    /// | `TELEMETRY_METRICS_CARDINALITY_LIMIT` | `metrics.cardinality_limit` | 2000 | 1 to 1000000 |
    ///
    /// ```
    /// use telemetry::{Config, Sampler};
    /// // The sampler set in code stays; the drain interval comes from the environment.
    /// let config = Config::new()
    ///     .with_sampler(Sampler::AlwaysOn)
    ///     .with_env_vars([("OTEL_TRACES_SAMPLER", "always_off"), ("TELEMETRY_DRAIN_INTERVAL", "50")])
    ///     .unwrap();
    /// assert_eq!(config.sampler, Sampler::AlwaysOn);
    /// assert_eq!(config.drain_interval.as_millis(), 50);
    /// ```
    pub fn with_env(self) -> Result<Self, EnvError> {
        self.with_env_vars(&EnvVars::from_env())
    }

    /// [`Config::with_env`] with the given `(name, value)` pairs instead of the process
    /// environment.
    pub fn with_env_vars<I, K, V>(mut self, vars: I) -> Result<Self, EnvError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars = EnvVars::from_pairs(vars);
        let code = self.explicit;

        // Parse everything first, so an invalid variable is reported even when code
        // overrides its setting.
        let disabled = vars.bool("OTEL_SDK_DISABLED")?;
        let sampler = sampler(&vars)?;
        let all_attributes = vars.u32("OTEL_ATTRIBUTE_COUNT_LIMIT")?;
        let span_attributes = vars.u32("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT")?;
        let events = vars.u32("OTEL_SPAN_EVENT_COUNT_LIMIT")?;
        let links = vars.u32("OTEL_SPAN_LINK_COUNT_LIMIT")?;
        let event_attributes = vars.u32("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT")?;
        let link_attributes = vars.u32("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT")?;
        let ring_capacity = vars.usize_in(
            "TELEMETRY_RING_CAPACITY",
            |n| {
                n.is_power_of_two()
                    && (crate::MIN_RING_CAPACITY..=crate::MAX_RING_CAPACITY).contains(&n)
            },
            "a power of two from 64 to 16777216",
        )?;
        let drain_interval = vars.millis(
            "TELEMETRY_DRAIN_INTERVAL",
            300_000,
            "1 to 300000 (milliseconds)",
        )?;
        let sink_timeout = vars.millis(
            "TELEMETRY_SINK_TIMEOUT",
            600_000,
            "1 to 600000 (milliseconds)",
        )?;
        let shutdown_timeout = vars.millis(
            "TELEMETRY_SHUTDOWN_TIMEOUT",
            600_000,
            "1 to 600000 (milliseconds)",
        )?;
        let sink_queue_capacity = vars.usize_in(
            "TELEMETRY_SINK_QUEUE_CAPACITY",
            |n| (1..=65536).contains(&n),
            "1 to 65536 (batches)",
        )?;
        let max_batch_size = vars.usize_in(
            "TELEMETRY_MAX_BATCH_SIZE",
            |n| (1..=1 << 20).contains(&n),
            "1 to 1048576 (spans)",
        )?;
        let metrics_enabled = vars.bool("TELEMETRY_METRICS")?;
        let diagnostics = vars.bool("TELEMETRY_DIAGNOSTICS")?;
        let cardinality_limit = vars.usize_in(
            "TELEMETRY_METRICS_CARDINALITY_LIMIT",
            |n| (1..=1_000_000).contains(&n),
            "1 to 1000000 (series per family)",
        )?;

        let unless_code = |setting: u16| !code.has(setting);
        if let (Some(v), true) = (disabled, unless_code(Explicit::DISABLED)) {
            self.disabled = v;
        }
        if let (Some(v), true) = (sampler, unless_code(Explicit::SAMPLER)) {
            self.sampler = v;
        }
        if unless_code(Explicit::SPAN_LIMITS) {
            let limits = &mut self.span_limits;
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
        }
        if let (Some(v), true) = (ring_capacity, unless_code(Explicit::RING_CAPACITY)) {
            self.ring_capacity = v;
        }
        if let (Some(v), true) = (drain_interval, unless_code(Explicit::DRAIN_INTERVAL)) {
            self.drain_interval = v;
        }
        if let (Some(v), true) = (sink_timeout, unless_code(Explicit::SINK_TIMEOUT)) {
            self.sink_timeout = v;
        }
        if let (Some(v), true) = (shutdown_timeout, unless_code(Explicit::SHUTDOWN_TIMEOUT)) {
            self.shutdown_timeout = v;
        }
        if let (Some(v), true) = (diagnostics, unless_code(Explicit::DIAGNOSTICS)) {
            self.diagnostics = v;
        }
        if let (Some(v), true) = (
            sink_queue_capacity,
            unless_code(Explicit::SINK_QUEUE_CAPACITY),
        ) {
            self.sink_queue_capacity = v;
        }
        if let (Some(v), true) = (max_batch_size, unless_code(Explicit::MAX_BATCH_SIZE)) {
            self.max_batch_size = v;
        }
        if unless_code(Explicit::METRICS) {
            if let Some(v) = metrics_enabled {
                self.metrics.enabled = v;
            }
            if let Some(v) = cardinality_limit {
                self.metrics.cardinality_limit = v;
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SpanLimits;

    fn from(vars: &[(&str, &str)]) -> Result<Config, EnvError> {
        Config::from_env_vars(vars.iter().copied())
    }

    fn err(vars: &[(&str, &str)]) -> EnvError {
        from(vars).unwrap_err()
    }

    #[test]
    fn env_empty_gives_the_defaults() {
        let config = from(&[]).unwrap();
        assert!(!config.disabled);
        assert_eq!(config.sampler, Sampler::default());
        assert_eq!(config.span_limits, SpanLimits::DEFAULT);
        assert_eq!(config.ring_capacity, Config::new().ring_capacity);
        assert_eq!(config.drain_interval, Duration::from_secs(1));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn env_empty_values_count_as_unset_and_unknown_variables_are_ignored() {
        let config = from(&[
            ("OTEL_TRACES_SAMPLER", ""),
            ("TELEMETRY_RING_CAPACITY", "  "),
            ("OTEL_SOMETHING_ELSE", "whatever"),
            ("PATH", "/usr/bin"),
        ])
        .unwrap();
        assert_eq!(config.sampler, Sampler::default());
        assert_eq!(config.ring_capacity, Config::new().ring_capacity);
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
            assert_eq!(from(&vars).unwrap().sampler, expected, "{name} {arg:?}");
        }
    }

    #[test]
    fn env_sampler_errors_name_variable_value_and_range() {
        let e = err(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]);
        assert_eq!(e.variable, "OTEL_TRACES_SAMPLER");
        assert_eq!(e.value, "jaeger_remote");
        assert!(e.accepted.contains("parentbased_traceidratio"));

        for bad in ["1.5", "-0.1", "half", "NaN"] {
            let e = err(&[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", bad),
            ]);
            assert_eq!(
                (e.variable, e.value.as_str(), e.accepted),
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
        assert!(from(&[("OTEL_SDK_DISABLED", "TRUE")]).unwrap().disabled);
        assert!(!from(&[("OTEL_SDK_DISABLED", "false")]).unwrap().disabled);
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
        let l = config.span_limits;
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
        .span_limits;
        assert_eq!((l.max_attributes, l.max_attributes_per_event), (7, 3));
        let l = from(&[("OTEL_ATTRIBUTE_COUNT_LIMIT", "7")])
            .unwrap()
            .span_limits;
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
                assert_eq!(
                    (e.variable, e.value.as_str(), e.accepted),
                    (var, bad, "an integer from 0 to 4294967295")
                );
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
        ])
        .unwrap();
        assert_eq!(config.ring_capacity, 1024);
        assert_eq!(config.drain_interval, Duration::from_millis(20));
        assert_eq!(config.sink_timeout, Duration::from_millis(900));
        assert_eq!(config.shutdown_timeout, Duration::from_millis(1500));
        assert!(!config.diagnostics);
        assert_eq!(config.sink_queue_capacity, 8);
        assert_eq!(config.max_batch_size, 512);
        assert!(!config.metrics.enabled);
        assert_eq!(config.metrics.cardinality_limit, 50);
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
                "1 to 65536 (batches)",
            ),
            (
                "TELEMETRY_MAX_BATCH_SIZE",
                &["0", "1048577"],
                "1 to 1048576 (spans)",
            ),
            ("TELEMETRY_METRICS", &["on", "1"], "true or false"),
            ("TELEMETRY_DIAGNOSTICS", &["off"], "true or false"),
            (
                "TELEMETRY_METRICS_CARDINALITY_LIMIT",
                &["0", "1000001"],
                "1 to 1000000 (series per family)",
            ),
        ];
        for (var, bads, accepted) in cases {
            for bad in *bads {
                let e = err(&[(var, bad)]);
                assert_eq!(
                    (e.variable, e.value.as_str(), e.accepted),
                    (*var, *bad, *accepted)
                );
            }
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
            ("TELEMETRY_METRICS", "false"),
        ];
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
            .with_metrics(crate::MetricsConfig::new())
            .with_env_vars(vars)
            .unwrap();
        assert!(!code.disabled);
        assert_eq!(code.sampler, Sampler::AlwaysOn);
        assert_eq!(code.span_limits, SpanLimits::DEFAULT);
        assert_eq!(code.ring_capacity, 4096);
        assert_eq!(code.drain_interval, Duration::from_secs(1));
        assert_eq!(code.sink_timeout, Duration::from_secs(5));
        assert_eq!(code.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(code.sink_queue_capacity, 64);
        assert_eq!(code.max_batch_size, 256);
        assert!(code.metrics.enabled);

        let env = Config::new().with_env_vars(vars).unwrap();
        assert!(env.disabled);
        assert_eq!(env.sampler, Sampler::AlwaysOff);
        assert_eq!(env.span_limits.max_events, 1);
        assert_eq!(env.ring_capacity, 128);
        assert_eq!(env.drain_interval, Duration::from_millis(7));
        assert_eq!(env.shutdown_timeout, Duration::from_millis(11));
        assert_eq!(env.sink_queue_capacity, 9);
        assert_eq!(env.max_batch_size, 10);
        assert!(!env.metrics.enabled);

        // Code applied after the environment wins too.
        let later = Config::from_env_vars(vars)
            .unwrap()
            .with_ring_capacity(2048);
        assert_eq!(later.ring_capacity, 2048);
    }

    #[test]
    fn env_invalid_variable_is_reported_even_when_code_overrides_it() {
        let e = Config::new()
            .with_ring_capacity(1024)
            .with_env_vars([("TELEMETRY_RING_CAPACITY", "3")])
            .unwrap_err();
        assert_eq!(e.variable, "TELEMETRY_RING_CAPACITY");
    }
}
