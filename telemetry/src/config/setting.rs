//! [`Setting`]: one row of a crate's configuration table (its name in code, its
//! environment variable, its default and what it accepts), the one place validation,
//! the environment parser and `docs/configuration.md` read.

use crate::ConfigError;
use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::time::Duration;

/// One setting: its name in code, its environment variable, its default and the values it
/// accepts. Each crate of this project lists its settings once, in a `SETTINGS` table
/// ([`telem::SETTINGS`](crate::SETTINGS), `telem_otlp::SETTINGS`); code-side
/// validation ([`Setting::check_integer`], [`Setting::check_millis`],
/// [`Setting::check_number`]), the environment parser ([`EnvVars`](crate::EnvVars)'s
/// `integer`, `millis`, `number`, `bool` and `parse`) and the documentation
/// ([`Setting::markdown_table`]) all read the same row, so a range is written once.
///
/// ```
/// use std::time::Duration;
/// use telem::{EnvVars, Setting};
/// const TIMEOUT: Setting = Setting::millis("timeout", 10_000, 1, 600_000)
///     .with_variable("TELEMETRY_EXAMPLE_TIMEOUT")
///     .with_description("how long one request may take");
/// assert_eq!(TIMEOUT.default_millis(), Duration::from_secs(10));
/// assert_eq!(TIMEOUT.accepted(), "1 to 600000 (milliseconds)");
///
/// // In code: a `Duration`.
/// let err = TIMEOUT.check_millis(Duration::ZERO).unwrap_err();
/// assert_eq!(err.to_string(), "invalid value 0ns for `timeout`: accepted values are 1 to 600000 (milliseconds)");
///
/// // From the environment: milliseconds.
/// let vars = EnvVars::from_pairs([("TELEMETRY_EXAMPLE_TIMEOUT", "0")]);
/// let err = vars.millis(&TIMEOUT).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid value \"0\" for environment variable TELEMETRY_EXAMPLE_TIMEOUT: \
///      accepted values are 1 to 600000 (milliseconds)"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[must_use]
pub struct Setting {
    name: &'static str,
    variable: Option<&'static str>,
    kind: Kind,
    default: DefaultValue,
    default_text: Option<&'static str>,
    note: Option<&'static str>,
    description: &'static str,
}

/// What a setting accepts.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// `true` or `false`, any case (OpenTelemetry's boolean values).
    Bool,
    /// An integer in `min..=max`.
    Integer { min: u64, max: u64 },
    /// A power of two in `min..=max`.
    PowerOfTwo { min: u64, max: u64 },
    /// A duration from `min` to `max` milliseconds; in the environment, milliseconds.
    Millis { min: u64, max: u64 },
    /// A number in `min..=max`.
    Number { min: f64, max: f64 },
    /// Values in words, parsed by the setting's own parser.
    Described(&'static str),
}

/// A setting's default.
#[derive(Clone, Copy, Debug, PartialEq)]
enum DefaultValue {
    Bool(bool),
    Integer(u64),
    Millis(u64),
    Number(f64),
    /// In words (a [`described`](Setting::described) setting's).
    Text(&'static str),
}

impl Setting {
    const fn row(name: &'static str, kind: Kind, default: DefaultValue) -> Self {
        Self {
            name,
            variable: None,
            kind,
            default,
            default_text: None,
            note: None,
            description: "",
        }
    }

    /// A boolean setting: `true` or `false` (any case in the environment).
    pub const fn bool(name: &'static str, default: bool) -> Self {
        Self::row(name, Kind::Bool, DefaultValue::Bool(default))
    }

    /// An integer setting accepting `min..=max`.
    pub const fn integer(name: &'static str, default: u64, min: u64, max: u64) -> Self {
        Self::row(
            name,
            Kind::Integer { min, max },
            DefaultValue::Integer(default),
        )
    }

    /// An integer setting accepting the powers of two in `min..=max`.
    pub const fn power_of_two(name: &'static str, default: u64, min: u64, max: u64) -> Self {
        Self::row(
            name,
            Kind::PowerOfTwo { min, max },
            DefaultValue::Integer(default),
        )
    }

    /// A duration accepting `min..=max` milliseconds: a `Duration` in code, a number of
    /// milliseconds in the environment (as OpenTelemetry's variables specify).
    pub const fn millis(name: &'static str, default_ms: u64, min_ms: u64, max_ms: u64) -> Self {
        Self::row(
            name,
            Kind::Millis {
                min: min_ms,
                max: max_ms,
            },
            DefaultValue::Millis(default_ms),
        )
    }

    /// A number accepting `min..=max`.
    pub const fn number(name: &'static str, default: f64, min: f64, max: f64) -> Self {
        Self::row(
            name,
            Kind::Number { min, max },
            DefaultValue::Number(default),
        )
    }

    /// A setting whose values are described in words (a list of names, a URL) and
    /// parsed by its own parser ([`EnvVars::parse`](crate::EnvVars::parse)), with its
    /// default in words too.
    pub const fn described(
        name: &'static str,
        default: &'static str,
        accepted: &'static str,
    ) -> Self {
        Self::row(name, Kind::Described(accepted), DefaultValue::Text(default))
    }

    /// The environment variable that sets it.
    pub const fn with_variable(mut self, variable: &'static str) -> Self {
        self.variable = Some(variable);
        self
    }

    /// What it is, for the documentation.
    pub const fn with_description(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    /// A note after the range of an integer or a duration: its unit, or a constraint
    /// that involves another setting (`"an integer from 1 to 65536 (batches)"`).
    pub const fn with_note(mut self, note: &'static str) -> Self {
        self.note = Some(note);
        self
    }

    /// The default in words, for the documentation, where the value alone would not say
    /// it ("`timeout`'s", "unset: serve until Ctrl-C"). The typed default stays what the
    /// constructor gave.
    pub const fn with_default_text(mut self, default: &'static str) -> Self {
        self.default_text = Some(default);
        self
    }

    /// Its name in code, as error messages show it: `ring_capacity`, `metrics.enabled`.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Its environment variable, if it has one.
    pub const fn variable(&self) -> Option<&'static str> {
        self.variable
    }

    /// What it is.
    pub const fn description(&self) -> &'static str {
        self.description
    }

    /// The values it accepts, as error messages and the documentation say them.
    ///
    /// ```
    /// use telem::Setting;
    /// assert_eq!(Setting::integer("port", 3000, 0, 65535).accepted(), "an integer from 0 to 65535");
    /// assert_eq!(Setting::bool("on", true).accepted(), "true or false");
    /// ```
    pub fn accepted(&self) -> Cow<'static, str> {
        let note = |unit: Option<&str>| match (unit, self.note) {
            (Some(unit), Some(note)) => format!(" ({unit}, {note})"),
            (Some(one), None) | (None, Some(one)) => format!(" ({one})"),
            (None, None) => String::new(),
        };
        match self.kind {
            Kind::Bool => Cow::Borrowed("true or false"),
            Kind::Integer { min, max } => {
                Cow::Owned(format!("an integer from {min} to {max}{}", note(None)))
            }
            Kind::PowerOfTwo { min, max } => {
                Cow::Owned(format!("a power of two from {min} to {max}{}", note(None)))
            }
            Kind::Millis { min, max } => {
                Cow::Owned(format!("{min} to {max}{}", note(Some("milliseconds"))))
            }
            Kind::Number { min, max } => {
                Cow::Owned(format!("a number from {min:?} to {max:?}{}", note(None)))
            }
            Kind::Described(accepted) => Cow::Borrowed(accepted),
        }
    }

    /// The default as the documentation shows it.
    pub fn default_text(&self) -> Cow<'static, str> {
        if let Some(text) = self.default_text {
            return Cow::Borrowed(text);
        }
        match self.default {
            DefaultValue::Bool(b) => Cow::Owned(format!("`{b}`")),
            DefaultValue::Integer(n) | DefaultValue::Millis(n) => Cow::Owned(n.to_string()),
            DefaultValue::Number(x) => Cow::Owned(format!("{x:?}")),
            DefaultValue::Text(text) => Cow::Borrowed(text),
        }
    }

    /// The default of a [`bool`](Setting::bool) setting.
    ///
    /// # Panics
    ///
    /// If the setting is of another kind: a mistake in the table, caught by its tests.
    pub const fn default_bool(&self) -> bool {
        match self.default {
            DefaultValue::Bool(b) => b,
            _ => panic!("not a boolean setting"),
        }
    }

    /// The default of an [`integer`](Setting::integer) or
    /// [`power_of_two`](Setting::power_of_two) setting.
    ///
    /// # Panics
    ///
    /// If the setting is of another kind.
    pub const fn default_integer(&self) -> u64 {
        match self.default {
            DefaultValue::Integer(n) => n,
            _ => panic!("not an integer setting"),
        }
    }

    /// The default of a [`millis`](Setting::millis) setting.
    ///
    /// # Panics
    ///
    /// If the setting is of another kind.
    pub const fn default_millis(&self) -> Duration {
        match self.default {
            DefaultValue::Millis(ms) => Duration::from_millis(ms),
            _ => panic!("not a duration setting"),
        }
    }

    /// The default of a [`number`](Setting::number) setting.
    ///
    /// # Panics
    ///
    /// If the setting is of another kind.
    pub const fn default_number(&self) -> f64 {
        match self.default {
            DefaultValue::Number(x) => x,
            _ => panic!("not a number setting"),
        }
    }

    /// Whether `n` is accepted by an integer setting (any `n` for other kinds).
    pub(crate) fn accepts_integer(&self, n: u64) -> bool {
        match self.kind {
            Kind::Integer { min, max } => (min..=max).contains(&n),
            Kind::PowerOfTwo { min, max } => n.is_power_of_two() && (min..=max).contains(&n),
            _ => true,
        }
    }

    /// Whether `d` is accepted by a duration setting (any `d` for other kinds).
    pub(crate) fn accepts_millis(&self, d: Duration) -> bool {
        match self.kind {
            Kind::Millis { min, max } => {
                (Duration::from_millis(min)..=Duration::from_millis(max)).contains(&d)
            }
            _ => true,
        }
    }

    /// Whether `x` is accepted by a number setting (any `x` for other kinds; never NaN).
    pub(crate) fn accepts_number(&self, x: f64) -> bool {
        match self.kind {
            Kind::Number { min, max } => (min..=max).contains(&x),
            _ => true,
        }
    }

    /// `n`, set in code, if the setting accepts it; otherwise an error naming the
    /// setting, `n` and the accepted range.
    ///
    /// ```
    /// let ring = telem::Setting::power_of_two("ring_capacity", 4096, 64, 1 << 24);
    /// assert!(ring.check_integer(1024).is_ok());
    /// assert_eq!(ring.check_integer(1000).unwrap_err().value, "1000");
    /// ```
    pub fn check_integer(&self, n: u64) -> Result<u64, ConfigError> {
        if self.accepts_integer(n) {
            Ok(n)
        } else {
            Err(ConfigError::from_code(self, n))
        }
    }

    /// `d`, set in code, if the setting accepts it; otherwise an error naming the
    /// setting, `d` and the accepted range.
    pub fn check_millis(&self, d: Duration) -> Result<Duration, ConfigError> {
        if self.accepts_millis(d) {
            Ok(d)
        } else {
            Err(ConfigError::from_code(self, d))
        }
    }

    /// `x`, set in code, if the setting accepts it; otherwise an error naming the
    /// setting, `x` and the accepted range.
    pub fn check_number(&self, x: f64) -> Result<f64, ConfigError> {
        if self.accepts_number(x) {
            Ok(x)
        } else {
            Err(ConfigError::from_code(self, x))
        }
    }

    /// `raw`, an environment value, parsed as this setting's kind and checked against its
    /// range. `None` if it does not parse or is out of range.
    pub(crate) fn parse_integer(&self, raw: &str) -> Option<u64> {
        raw.parse().ok().filter(|n| self.accepts_integer(*n))
    }

    pub(crate) fn parse_millis(&self, raw: &str) -> Option<Duration> {
        raw.parse()
            .ok()
            .map(Duration::from_millis)
            .filter(|d| self.accepts_millis(*d))
    }

    pub(crate) fn parse_number(&self, raw: &str) -> Option<f64> {
        raw.parse().ok().filter(|x| self.accepts_number(*x))
    }

    /// The settings as a Markdown table: setting, environment variable, default,
    /// accepted values and what it is. `docs/configuration.md` holds each crate's table
    /// as rendered here, and a test in each crate checks it.
    ///
    /// ```
    /// use telem::Setting;
    /// let table = Setting::markdown_table(&[Setting::bool("diagnostics", true)
    ///     .with_variable("TELEMETRY_DIAGNOSTICS")
    ///     .with_description("failures reported on stderr")]);
    /// assert_eq!(
    ///     table,
    ///     "| setting | environment variable | default | accepted | what it is |\n\
    ///      | --- | --- | --- | --- | --- |\n\
    ///      | `diagnostics` | `TELEMETRY_DIAGNOSTICS` | `true` | true or false | failures reported on stderr |\n"
    /// );
    /// ```
    pub fn markdown_table(settings: &[Setting]) -> String {
        let mut out = String::from(
            "| setting | environment variable | default | accepted | what it is |\n\
             | --- | --- | --- | --- | --- |\n",
        );
        for s in settings {
            let variable = s.variable.map(|v| format!("`{v}`")).unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                s.name,
                variable,
                cell(&s.default_text()),
                cell(&s.accepted()),
                cell(s.description),
            );
        }
        out
    }
}

/// A table cell: `|` escaped.
fn cell(text: &str) -> Cow<'_, str> {
    if text.contains('|') {
        Cow::Owned(text.replace('|', "\\|"))
    } else {
        Cow::Borrowed(text)
    }
}

impl fmt::Display for Setting {
    /// The name, and the variable if there is one: ``ring_capacity (TELEMETRY_RING_CAPACITY)``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        if let Some(variable) = self.variable {
            write!(f, " ({variable})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_texts_come_from_the_bounds() {
        let cases = [
            (
                Setting::integer("a", 1, 1, 65536).with_note("batches"),
                "an integer from 1 to 65536 (batches)",
            ),
            (
                Setting::power_of_two("b", 4096, 64, 1 << 24),
                "a power of two from 64 to 16777216",
            ),
            (
                Setting::millis("c", 1000, 1, 300_000),
                "1 to 300000 (milliseconds)",
            ),
            (
                Setting::millis("d", 1000, 1, 600_000).with_note("at least `c`"),
                "1 to 600000 (milliseconds, at least `c`)",
            ),
            (
                Setting::number("e", 1.0, 0.0, 1.0),
                "a number from 0.0 to 1.0",
            ),
            (Setting::described("f", "x", "x or y"), "x or y"),
        ];
        for (setting, accepted) in cases {
            assert_eq!(setting.accepted(), accepted, "{setting}");
        }
    }

    #[test]
    fn checks_and_parsers_use_the_same_bounds() {
        let ring = Setting::power_of_two("ring", 4096, 64, 1024);
        for n in [64, 128, 1024] {
            assert!(ring.check_integer(n).is_ok() && ring.parse_integer(&n.to_string()).is_some());
        }
        for n in [32, 100, 2048] {
            assert!(ring.check_integer(n).is_err() && ring.parse_integer(&n.to_string()).is_none());
        }
        let ms = Setting::millis("ms", 5, 1, 10);
        assert!(ms.check_millis(Duration::from_millis(10)).is_ok());
        assert!(ms.check_millis(Duration::from_micros(10_001)).is_err());
        assert!(ms.check_millis(Duration::from_micros(999)).is_err());
        assert_eq!(ms.parse_millis("10"), Some(Duration::from_millis(10)));
        assert_eq!(ms.parse_millis("11"), None);
        let ratio = Setting::number("ratio", 1.0, 0.0, 1.0);
        for bad in ["NaN", "-0.1", "1.01", "x"] {
            assert_eq!(ratio.parse_number(bad), None, "{bad}");
        }
        assert!(ratio.check_number(f64::NAN).is_err());
    }

    #[test]
    fn defaults_are_typed_and_shown() {
        let s = Setting::millis("t", 1500, 1, 2000);
        assert_eq!(s.default_millis(), Duration::from_millis(1500));
        assert_eq!(s.default_text(), "1500");
        assert_eq!(Setting::bool("b", false).default_text(), "`false`");
        assert_eq!(
            Setting::integer("n", 7, 1, 9)
                .with_default_text("the queue's")
                .default_text(),
            "the queue's"
        );
    }

    #[test]
    fn markdown_cells_escape_pipes() {
        let table = Setting::markdown_table(&[Setting::described("x", "a|b", "c")]);
        assert!(table.contains("a\\|b"), "{table}");
    }
}
