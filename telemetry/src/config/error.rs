//! [`ConfigError`]: the one error for a bad setting, made in code or read from the
//! environment, in every crate of this project.

use crate::Setting;
use std::borrow::Cow;
use std::fmt;

/// A setting with a value it does not accept, set in code or read from an environment
/// variable: names the setting (and the variable), the value and the accepted values.
/// [`Config::validate`](crate::Config::validate), the environment parsers
/// ([`Config::with_env`](crate::Config::with_env), [`Exporters`](crate::Exporters),
/// `telem_otlp::OtlpConfig`) and applications reading their own variables through a
/// [`Setting`] all return it.
///
/// ```
/// use telem::Config;
/// // Set in code.
/// let err = Config::new().with_ring_capacity(1000).validate().unwrap_err();
/// assert_eq!((err.setting, err.variable), ("ring_capacity", None));
/// assert_eq!(
///     err.to_string(),
///     "invalid value 1000 for `ring_capacity`: accepted values are a power of two from 64 to 16777216"
/// );
///
/// // Read from the environment.
/// let err = Config::from_env_vars([("TELEMETRY_RING_CAPACITY", "1000")]).unwrap_err();
/// assert_eq!((err.setting, err.variable), ("ring_capacity", Some("TELEMETRY_RING_CAPACITY")));
/// assert_eq!(
///     err.to_string(),
///     "invalid value \"1000\" for environment variable TELEMETRY_RING_CAPACITY: \
///      accepted values are a power of two from 64 to 16777216"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The setting's name in code (`ring_capacity`, `metrics.cardinality_limit`).
    pub setting: &'static str,
    /// The environment variable the value was read from; `None` when it was set in code.
    pub variable: Option<&'static str>,
    /// The refused value: as written in the variable, or as the code gave it.
    pub value: String,
    /// The accepted values.
    pub accepted: Cow<'static, str>,
    /// Why the value was refused, when the accepted values alone do not say: which
    /// directive of a `RUST_LOG` is wrong, and how. `None` for a value out of range or
    /// not of the setting's kind.
    pub reason: Option<String>,
}

impl ConfigError {
    /// `setting` set in code to `value`, which it does not accept.
    pub fn from_code(setting: &Setting, value: impl fmt::Debug) -> Self {
        Self {
            setting: setting.name(),
            variable: None,
            value: format!("{value:?}"),
            accepted: setting.accepted(),
            reason: None,
        }
    }

    /// `setting`'s environment variable set to `value`, which it does not accept.
    ///
    /// ```
    /// use telem::{ConfigError, Setting};
    /// const PORT: Setting = Setting::integer("port", 3000, 0, 65535).with_variable("APP_PORT");
    /// let err = ConfigError::from_env(&PORT, "http");
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid value \"http\" for environment variable APP_PORT: accepted values are an integer from 0 to 65535"
    /// );
    /// ```
    pub fn from_env(setting: &Setting, value: impl Into<String>) -> Self {
        Self {
            setting: setting.name(),
            variable: Some(setting.variable().unwrap_or(setting.name())),
            value: value.into(),
            accepted: setting.accepted(),
            reason: None,
        }
    }

    /// The same error with other accepted values: for a value refused because of another
    /// setting's (a batch larger than the queue).
    pub fn with_accepted(mut self, accepted: impl Into<Cow<'static, str>>) -> Self {
        self.accepted = accepted.into();
        self
    }

    /// The same error with the reason the value was refused, shown before the accepted
    /// values: for a value whose parser says what is wrong with it (the bad directive of
    /// a `RUST_LOG`).
    ///
    /// ```
    /// use telem::{ConfigError, Setting};
    /// const FILTER: Setting = Setting::described("filter", "`info`", "directives").with_variable("APP_LOG");
    /// let err = ConfigError::from_env(&FILTER, "info,db=loud").with_reason("`db=loud`: `loud` is not a level");
    /// assert_eq!(err.reason.as_deref(), Some("`db=loud`: `loud` is not a level"));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid value \"info,db=loud\" for environment variable APP_LOG: \
    ///      `db=loud`: `loud` is not a level; accepted values are directives"
    /// );
    /// ```
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.variable {
            Some(variable) => write!(
                f,
                "invalid value {:?} for environment variable {variable}: ",
                self.value
            )?,
            None => write!(f, "invalid value {} for `{}`: ", self.value, self.setting)?,
        }
        if let Some(reason) = &self.reason {
            write!(f, "{reason}; ")?;
        }
        write!(f, "accepted values are {}", self.accepted)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const PORT: Setting = Setting::integer("port", 3000, 0, 65535)
        .with_variable("BOOKSTORE_PORT")
        .with_note("0: any free port");

    #[test]
    fn one_error_type_for_code_and_environment() {
        let env = ConfigError::from_env(&PORT, "70000");
        assert_eq!(
            env.to_string(),
            "invalid value \"70000\" for environment variable BOOKSTORE_PORT: \
             accepted values are an integer from 0 to 65535 (0: any free port)"
        );
        let code = ConfigError::from_code(&PORT, 70000u64);
        assert_eq!(
            code.to_string(),
            "invalid value 70000 for `port`: accepted values are an integer from 0 to 65535 \
             (0: any free port)"
        );
        let timeout = Setting::millis("timeout", 10, 1, 600_000);
        assert_eq!(
            ConfigError::from_code(&timeout, Duration::ZERO).to_string(),
            "invalid value 0ns for `timeout`: accepted values are 1 to 600000 (milliseconds)"
        );
        let other = ConfigError::from_env(&PORT, "1").with_accepted("1 to the queue size");
        assert!(other
            .to_string()
            .ends_with("accepted values are 1 to the queue size"));
    }

    #[test]
    fn a_reason_comes_before_the_accepted_values() {
        let env = ConfigError::from_env(&PORT, "http").with_reason("not a number");
        assert_eq!(
            env.to_string(),
            "invalid value \"http\" for environment variable BOOKSTORE_PORT: not a number; \
             accepted values are an integer from 0 to 65535 (0: any free port)"
        );
        let code = ConfigError::from_code(&PORT, 70000u64).with_reason("too large");
        assert_eq!(
            code.to_string(),
            "invalid value 70000 for `port`: too large; accepted values are an integer from 0 \
             to 65535 (0: any free port)"
        );
        assert_eq!(ConfigError::from_env(&PORT, "1").reason, None);
    }
}
