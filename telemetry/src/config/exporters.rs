//! Which exporters each signal goes to: OpenTelemetry's `OTEL_TRACES_EXPORTER`,
//! `OTEL_METRICS_EXPORTER` and `OTEL_LOGS_EXPORTER` (§ "Exporter Selection" of the SDK
//! environment variable specification), parsed into [`Exporters`]. This module only decides;
//! `telem-otlp`'s `EnvPipeline` builds the sinks.
//!
//! Rules deliberately not followed to the letter:
//!
//! - § "Enum": a value the implementation does not recognize "MUST generate a warning and
//!   gracefully ignore the setting". Here it is a [`ConfigError`] naming the variable, the
//!   value and the accepted values, like every other variable of this project: a typo
//!   then stops the program at start instead of sending its telemetry nowhere, or
//!   somewhere unexpected.
//! - `zipkin`, `otlp/stdout` and the deprecated `logging` (which "SHOULD NOT be
//!   supported") are refused, as is `prometheus` for traces and logs (it serves metrics
//!   only).
//! - `none` with other names (`none,otlp`) is refused rather than guessed at.

use crate::config::env::EnvVars;
use crate::config::table::{LOGS_EXPORTER, METRICS_EXPORTER, TRACES_EXPORTER};
use crate::ConfigError;
use std::fmt;

/// What `OTEL_TRACES_EXPORTER` accepts (its row of [`SETTINGS`](crate::SETTINGS)).
pub(crate) const TRACES_ACCEPTED: &str =
    "otlp, console, or both comma-separated (prometheus serves metrics only), or none alone";
/// What `OTEL_METRICS_EXPORTER` accepts.
pub(crate) const METRICS_ACCEPTED: &str =
    "a comma-separated list of otlp, prometheus and console, or none alone";
/// What `OTEL_LOGS_EXPORTER` accepts.
pub(crate) const LOGS_ACCEPTED: &str =
    "otlp, console, or both comma-separated (prometheus serves metrics only), or none alone";

/// One exporter a signal can go to, named as in `OTEL_TRACES_EXPORTER`,
/// `OTEL_METRICS_EXPORTER` and `OTEL_LOGS_EXPORTER`.
///
/// ```
/// assert_eq!(telem::Exporter::Console.as_str(), "console");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Exporter {
    /// `otlp`: OTLP/HTTP to a collector (`telem-otlp`'s `OtlpSink`).
    Otlp,
    /// `console`: standard output ([`StdoutSink`](crate::StdoutSink)).
    Console,
    /// `prometheus`, metrics only: a [`PrometheusSink`](crate::PrometheusSink) the
    /// application serves for scrapes.
    Prometheus,
}

impl Exporter {
    /// Every exporter, in the order [`ExporterSet`] lists them.
    const ALL: [Exporter; 3] = [Exporter::Otlp, Exporter::Console, Exporter::Prometheus];

    /// The name the variables use: `otlp`, `console` or `prometheus`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Exporter::Otlp => "otlp",
            Exporter::Console => "console",
            Exporter::Prometheus => "prometheus",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Exporter::Otlp => 1,
            Exporter::Console => 2,
            Exporter::Prometheus => 4,
        }
    }
}

impl fmt::Display for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The exporters of one signal; empty is `none`. Built from an [`Exporter`], an array of
/// them, or any iterator of them; shown as the variable would say it (`otlp,console`,
/// `none`).
///
/// ```
/// use telem::{Exporter, ExporterSet};
/// let set = ExporterSet::from([Exporter::Otlp, Exporter::Prometheus]);
/// assert!(set.contains(Exporter::Prometheus) && !set.contains(Exporter::Console));
/// assert_eq!(set.to_string(), "otlp,prometheus");
/// assert!(ExporterSet::NONE.is_empty());
/// assert_eq!(ExporterSet::NONE.to_string(), "none");
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ExporterSet(u8);

impl ExporterSet {
    /// No exporter (`none`).
    pub const NONE: Self = Self(0);

    /// Whether `exporter` is in the set.
    pub const fn contains(self, exporter: Exporter) -> bool {
        self.0 & exporter.bit() != 0
    }

    /// Whether the set is `none`.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The exporters in the set: `otlp`, `console`, `prometheus`, in that order.
    pub fn iter(self) -> impl Iterator<Item = Exporter> {
        Exporter::ALL.into_iter().filter(move |e| self.contains(*e))
    }

    const fn with(self, exporter: Exporter) -> Self {
        Self(self.0 | exporter.bit())
    }

    const fn without(self, exporter: Exporter) -> Self {
        Self(self.0 & !exporter.bit())
    }
}

impl From<Exporter> for ExporterSet {
    fn from(exporter: Exporter) -> Self {
        Self::NONE.with(exporter)
    }
}

impl<const N: usize> From<[Exporter; N]> for ExporterSet {
    fn from(exporters: [Exporter; N]) -> Self {
        exporters.into_iter().collect()
    }
}

impl FromIterator<Exporter> for ExporterSet {
    fn from_iter<I: IntoIterator<Item = Exporter>>(iter: I) -> Self {
        iter.into_iter().fold(Self::NONE, Self::with)
    }
}

impl fmt::Display for ExporterSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, exporter) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(exporter.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for ExporterSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The exporters spans, metrics and log records go to: `OTEL_TRACES_EXPORTER`,
/// `OTEL_METRICS_EXPORTER` and `OTEL_LOGS_EXPORTER` when set, the defaults otherwise
/// (the `exporters.*` rows of [`SETTINGS`](crate::SETTINGS)).
///
/// Each is a comma-separated list, names in any case, spaces around them ignored,
/// duplicates counted once. `otlp` is `telem-otlp`'s `OtlpSink`; `console` is
/// [`StdoutSink`](crate::StdoutSink) (spans, metric snapshots and log records as lines);
/// `prometheus` is a [`PrometheusSink`](crate::PrometheusSink) for the application to
/// serve on `/metrics` (`telem_axum::MetricsEndpoint`). `telem_otlp::EnvPipeline`
/// builds those sinks from an `Exporters`.
///
/// OpenTelemetry's defaults are `otlp` for all three ([`Exporters::new`]); an application
/// that wants others when a variable is unset says so with
/// [`with_default_traces`](Exporters::with_default_traces),
/// [`with_default_metrics`](Exporters::with_default_metrics) and
/// [`with_default_logs`](Exporters::with_default_logs). A variable that is set wins over
/// any default, whatever the order of the calls. An unknown name, `prometheus` for traces
/// or logs, or `none` beside other names is a [`ConfigError`] naming the variable, the
/// value and the accepted values.
///
/// ```
/// use telem::{Exporter, ExporterSet, Exporters};
/// // The spec's defaults.
/// let spec = Exporters::from_env_vars([("OTEL_METRICS_EXPORTER", "Prometheus, otlp")]).unwrap();
/// assert_eq!(spec.traces(), ExporterSet::from(Exporter::Otlp));
/// assert_eq!(spec.metrics().to_string(), "otlp,prometheus");
/// assert_eq!(spec.logs(), ExporterSet::from(Exporter::Otlp));
///
/// // An application's defaults: spans to the console, metrics for Prometheus.
/// let app = Exporters::new()
///     .with_default_traces(Exporter::Console)
///     .with_default_metrics(Exporter::Prometheus)
///     .with_default_logs(Exporter::Console);
/// let unset = app.with_env_vars([("OTEL_TRACES_EXPORTER", "")]).unwrap();
/// assert_eq!((unset.traces().to_string(), unset.metrics().to_string()), ("console".into(), "prometheus".into()));
/// assert_eq!(unset.logs().to_string(), "console");
/// let set = app.with_env_vars([("OTEL_TRACES_EXPORTER", "none"), ("OTEL_LOGS_EXPORTER", "otlp")]).unwrap();
/// assert!(set.traces().is_empty());
/// assert_eq!(set.logs(), ExporterSet::from(Exporter::Otlp));
///
/// let err = Exporters::from_env_vars([("OTEL_TRACES_EXPORTER", "prometheus")]).unwrap_err();
/// assert_eq!((err.variable, err.value.as_str()), (Some("OTEL_TRACES_EXPORTER"), "prometheus"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Exporters {
    /// Traces, metrics, logs: used when the variable is unset.
    defaults: [ExporterSet; 3],
    /// Traces, metrics, logs: from the variables, when set.
    env: [Option<ExporterSet>; 3],
}

const TRACES: usize = 0;
const METRICS: usize = 1;
const LOGS: usize = 2;

impl Exporters {
    /// OpenTelemetry's defaults, `otlp` for every signal; no variable read yet.
    pub const fn new() -> Self {
        let otlp = ExporterSet::NONE.with(Exporter::Otlp);
        Self {
            defaults: [otlp, otlp, otlp],
            env: [None, None, None],
        }
    }

    /// The traces exporters when `OTEL_TRACES_EXPORTER` is unset (or empty):
    /// `Exporter::Console`, `[Exporter::Otlp, Exporter::Console]`, `ExporterSet::NONE`.
    /// [`Exporter::Prometheus`] has no spans to serve and is left out.
    pub fn with_default_traces(mut self, exporters: impl Into<ExporterSet>) -> Self {
        self.defaults[TRACES] = exporters.into().without(Exporter::Prometheus);
        self
    }

    /// The metrics exporters when `OTEL_METRICS_EXPORTER` is unset (or empty).
    pub fn with_default_metrics(mut self, exporters: impl Into<ExporterSet>) -> Self {
        self.defaults[METRICS] = exporters.into();
        self
    }

    /// The logs exporters when `OTEL_LOGS_EXPORTER` is unset (or empty), as
    /// [`with_default_traces`](Exporters::with_default_traces) for spans;
    /// [`Exporter::Prometheus`] has no log records to serve and is left out.
    pub fn with_default_logs(mut self, exporters: impl Into<ExporterSet>) -> Self {
        self.defaults[LOGS] = exporters.into().without(Exporter::Prometheus);
        self
    }

    /// The exporters spans go to.
    pub fn traces(&self) -> ExporterSet {
        self.env[TRACES].unwrap_or(self.defaults[TRACES])
    }

    /// The exporters metric snapshots go to.
    pub fn metrics(&self) -> ExporterSet {
        self.env[METRICS].unwrap_or(self.defaults[METRICS])
    }

    /// The exporters log records go to.
    pub fn logs(&self) -> ExporterSet {
        self.env[LOGS].unwrap_or(self.defaults[LOGS])
    }

    /// Whether any signal goes to `exporter`.
    ///
    /// ```
    /// use telem::{Exporter, Exporters};
    /// let e = Exporters::from_env_vars([
    ///     ("OTEL_TRACES_EXPORTER", "console"),
    ///     ("OTEL_METRICS_EXPORTER", "none"),
    ///     ("OTEL_LOGS_EXPORTER", "none"),
    /// ])
    /// .unwrap();
    /// assert!(e.is_selected(Exporter::Console) && !e.is_selected(Exporter::Otlp));
    /// ```
    pub fn is_selected(&self, exporter: Exporter) -> bool {
        self.traces().contains(exporter)
            || self.metrics().contains(exporter)
            || self.logs().contains(exporter)
    }

    /// OpenTelemetry's defaults, overridden by the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new().with_env()
    }

    /// OpenTelemetry's defaults, overridden by the given `(name, value)` pairs as if they
    /// were the environment.
    pub fn from_env_vars<I, K, V>(vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self::new().with_env_vars(vars)
    }

    /// Reads `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER` and `OTEL_LOGS_EXPORTER`
    /// from the process environment: a variable that is set replaces the default of its
    /// signal. An empty
    /// variable counts as unset; a value that does not parse is a [`ConfigError`] naming
    /// the variable, the value and the accepted values.
    pub fn with_env(self) -> Result<Self, ConfigError> {
        self.with_env_vars(&EnvVars::from_env())
    }

    /// [`Exporters::with_env`] with the given `(name, value)` pairs instead of the
    /// process environment.
    pub fn with_env_vars<I, K, V>(mut self, vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars = EnvVars::from_pairs(vars);
        let otlp_or_console = ExporterSet::from([Exporter::Otlp, Exporter::Console]);
        let traces = vars.parse(&TRACES_EXPORTER, |v| parse_list(v, otlp_or_console))?;
        let metrics = vars.parse(&METRICS_EXPORTER, |v| {
            parse_list(v, ExporterSet::from(Exporter::ALL))
        })?;
        let logs = vars.parse(&LOGS_EXPORTER, |v| parse_list(v, otlp_or_console))?;
        for (signal, set) in [(TRACES, traces), (METRICS, metrics), (LOGS, logs)] {
            if set.is_some() {
                self.env[signal] = set;
            }
        }
        Ok(self)
    }
}

impl Default for Exporters {
    fn default() -> Self {
        Self::new()
    }
}

/// A comma-separated list of the exporters in `allowed`, or `none` alone; names in any
/// case, spaces around them and empty members ignored. `None` if a name is unknown or
/// not allowed, if `none` comes with other names, or if there is no name at all.
fn parse_list(v: &str, allowed: ExporterSet) -> Option<ExporterSet> {
    let mut set = ExporterSet::NONE;
    let (mut names, mut none) = (0, false);
    for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        names += 1;
        if name.eq_ignore_ascii_case("none") {
            none = true;
            continue;
        }
        let exporter = allowed
            .iter()
            .find(|e| name.eq_ignore_ascii_case(e.as_str()))?;
        set = set.with(exporter);
    }
    match (names, none) {
        (0, _) => None,
        (_, true) if !set.is_empty() => None,
        _ => Some(set),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Exporter::{Console, Otlp, Prometheus};

    const TRACES_EXPORTER_VAR: &str = "OTEL_TRACES_EXPORTER";
    const METRICS_EXPORTER_VAR: &str = "OTEL_METRICS_EXPORTER";
    const LOGS_EXPORTER_VAR: &str = "OTEL_LOGS_EXPORTER";

    fn from(vars: &[(&str, &str)]) -> Result<Exporters, ConfigError> {
        Exporters::from_env_vars(vars.iter().copied())
    }

    fn set(exporters: &[Exporter]) -> ExporterSet {
        exporters.iter().copied().collect()
    }

    // § "Exporter Selection": the default of the three variables is `otlp`.
    #[test]
    fn unset_or_empty_variables_give_otlp_for_every_signal() {
        for vars in [
            &[][..],
            &[
                (TRACES_EXPORTER_VAR, ""),
                (METRICS_EXPORTER_VAR, "  "),
                (LOGS_EXPORTER_VAR, ""),
            ][..],
        ] {
            let e = from(vars).unwrap();
            assert_eq!(
                (e.traces(), e.metrics(), e.logs()),
                (set(&[Otlp]), set(&[Otlp]), set(&[Otlp]))
            );
        }
    }

    // § "Exporter Selection": "The implementation MAY accept a comma-separated list to
    // enable setting multiple exporters."
    #[test]
    fn lists_are_comma_separated_with_spaces_ignored_and_duplicates_once() {
        let e = from(&[
            (TRACES_EXPORTER_VAR, " console ,otlp"),
            (METRICS_EXPORTER_VAR, "otlp,prometheus, console,otlp,"),
            (LOGS_EXPORTER_VAR, "otlp , console,console"),
        ])
        .unwrap();
        assert_eq!(e.traces(), set(&[Otlp, Console]));
        assert_eq!(e.metrics(), set(&[Otlp, Console, Prometheus]));
        assert_eq!(e.logs(), set(&[Otlp, Console]));
        assert_eq!(e.metrics().to_string(), "otlp,console,prometheus");
    }

    // § "Enum": "Enum values SHOULD be interpreted in a case-insensitive manner."
    #[test]
    fn names_are_case_insensitive() {
        let e = from(&[
            (TRACES_EXPORTER_VAR, "OTLP,Console"),
            (METRICS_EXPORTER_VAR, "PROMETHEUS"),
            (LOGS_EXPORTER_VAR, "Console"),
        ])
        .unwrap();
        assert_eq!(e.traces(), set(&[Otlp, Console]));
        assert_eq!(e.metrics(), set(&[Prometheus]));
        assert_eq!(e.logs(), set(&[Console]));
        assert!(from(&[(TRACES_EXPORTER_VAR, "NONE")])
            .unwrap()
            .traces()
            .is_empty());
    }

    // § "Exporter Selection": `none`, "No automatically configured exporter"; and
    // § "Enum" (common configuration): the null value "MUST be `none`".
    #[test]
    fn none_alone_selects_nothing_and_with_other_names_is_an_error() {
        let e = from(&[
            (TRACES_EXPORTER_VAR, "none"),
            (METRICS_EXPORTER_VAR, "none"),
            (LOGS_EXPORTER_VAR, "none"),
        ])
        .unwrap();
        assert!(e.traces().is_empty() && e.metrics().is_empty() && e.logs().is_empty());
        assert!(!e.is_selected(Otlp));
        for (var, value) in [
            (TRACES_EXPORTER_VAR, "none,otlp"),
            (METRICS_EXPORTER_VAR, "prometheus, NONE"),
            (LOGS_EXPORTER_VAR, "console,none"),
        ] {
            let err = from(&[(var, value)]).unwrap_err();
            assert_eq!((err.variable, err.value.as_str()), (Some(var), value));
        }
    }

    // § "Exporter Selection": `prometheus` is a known value of OTEL_METRICS_EXPORTER
    // only; zipkin, otlp/stdout and the deprecated logging are not supported here.
    // Known values for OTEL_LOGS_EXPORTER: otlp, console, logging (deprecated), none.
    #[test]
    fn unknown_names_and_prometheus_for_traces_name_the_variable_value_and_accepted_values() {
        let cases = [
            (TRACES_EXPORTER_VAR, "prometheus", TRACES_ACCEPTED),
            (TRACES_EXPORTER_VAR, "otlp,zipkin", TRACES_ACCEPTED),
            (TRACES_EXPORTER_VAR, "logging", TRACES_ACCEPTED),
            (TRACES_EXPORTER_VAR, ",", TRACES_ACCEPTED),
            (METRICS_EXPORTER_VAR, "otlp/stdout", METRICS_ACCEPTED),
            (METRICS_EXPORTER_VAR, "otlp;prometheus", METRICS_ACCEPTED),
            (METRICS_EXPORTER_VAR, "stdout", METRICS_ACCEPTED),
            (LOGS_EXPORTER_VAR, "prometheus", LOGS_ACCEPTED),
            (LOGS_EXPORTER_VAR, "logging", LOGS_ACCEPTED),
            (LOGS_EXPORTER_VAR, "otlp/stdout", LOGS_ACCEPTED),
            (LOGS_EXPORTER_VAR, "otlp,zipkin", LOGS_ACCEPTED),
        ];
        for (var, value, accepted) in cases {
            let err = from(&[(var, value)]).unwrap_err();
            assert_eq!(
                (err.variable, err.value.as_str(), err.accepted.as_ref()),
                (Some(var), value, accepted)
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid value {value:?} for environment variable {var}: \
                     accepted values are {accepted}"
                )
            );
        }
    }

    // § "Parsing empty value": empty is unset, so the application's default applies.
    #[test]
    fn application_defaults_apply_only_to_unset_variables() {
        let app = Exporters::new()
            .with_default_traces(Console)
            .with_default_metrics([Prometheus, Console])
            .with_default_logs([Otlp, Console]);
        let unset = app
            .with_env_vars([(TRACES_EXPORTER_VAR, ""), (LOGS_EXPORTER_VAR, " ")])
            .unwrap();
        assert_eq!(unset.traces(), set(&[Console]));
        assert_eq!(unset.metrics(), set(&[Prometheus, Console]));
        assert_eq!(unset.logs(), set(&[Otlp, Console]));

        let set_ = app
            .with_env_vars([
                (TRACES_EXPORTER_VAR, "otlp"),
                (METRICS_EXPORTER_VAR, "none"),
                (LOGS_EXPORTER_VAR, "console"),
            ])
            .unwrap();
        assert_eq!(set_.traces(), set(&[Otlp]));
        assert!(set_.metrics().is_empty());
        assert_eq!(set_.logs(), set(&[Console]));

        // A default given after the environment was read does not replace it.
        let later = Exporters::from_env_vars([(TRACES_EXPORTER_VAR, "none")])
            .unwrap()
            .with_default_traces(Console);
        assert!(later.traces().is_empty());

        let later = Exporters::from_env_vars([(LOGS_EXPORTER_VAR, "none")])
            .unwrap()
            .with_default_logs(Console);
        assert!(later.logs().is_empty());

        // Prometheus has no spans or log records to serve.
        let e = Exporters::new()
            .with_default_traces([Prometheus, Console])
            .with_default_logs([Prometheus, Otlp]);
        assert_eq!(e.traces(), set(&[Console]));
        assert_eq!(e.logs(), set(&[Otlp]));
        assert!(Exporters::new()
            .with_default_traces(ExporterSet::NONE)
            .traces()
            .is_empty());
    }

    #[test]
    fn other_variables_are_ignored() {
        let e = from(&[("OTEL_PROPAGATORS", "b3"), ("HOME", "/")]).unwrap();
        assert_eq!(
            e,
            Exporters::new()
                .with_env_vars(Vec::<(&str, &str)>::new())
                .unwrap()
        );
    }
}
