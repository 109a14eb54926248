//! Which log records are recorded: [`LogFilter`], written as `RUST_LOG` directives the
//! way `env_logger` and `tracing-subscriber`'s `EnvFilter` read them, and
//! [`LevelFilter`], the most detailed level one directive lets through.

use crate::Level;
use std::fmt;
use std::str::FromStr;

/// The most detailed level a filter lets through, or none: the level of one `RUST_LOG`
/// directive. Ordered from [`Off`](LevelFilter::Off) to [`Trace`](LevelFilter::Trace),
/// so the more detailed of two filters is their `max`.
///
/// ```
/// use telem::{Level, LevelFilter};
/// let filter: LevelFilter = "DEBUG".parse().unwrap();
/// assert_eq!(filter, LevelFilter::Debug);
/// assert!(filter.allows(Level::Info) && !filter.allows(Level::Trace));
/// assert_eq!(filter.to_string(), "debug");
/// assert_eq!(LevelFilter::default(), LevelFilter::Info);
/// assert!(LevelFilter::Off < LevelFilter::Error);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum LevelFilter {
    /// Nothing.
    Off = 0,
    /// `error` only.
    Error = 1,
    /// `warn` and more severe.
    Warn = 2,
    /// `info` and more severe (the default).
    #[default]
    Info = 3,
    /// `debug` and more severe.
    Debug = 4,
    /// Everything.
    Trace = 5,
}

impl LevelFilter {
    /// Every filter, from `Off` to `Trace`.
    const ALL: [LevelFilter; 6] = [
        LevelFilter::Off,
        LevelFilter::Error,
        LevelFilter::Warn,
        LevelFilter::Info,
        LevelFilter::Debug,
        LevelFilter::Trace,
    ];

    /// The filter that lets through `level` and everything more severe.
    ///
    /// ```
    /// use telem::{Level, LevelFilter};
    /// assert_eq!(LevelFilter::from_level(Level::Warn), LevelFilter::Warn);
    /// assert_eq!(LevelFilter::from(Level::Trace), LevelFilter::Trace);
    /// ```
    pub const fn from_level(level: Level) -> Self {
        match level {
            Level::Error => LevelFilter::Error,
            Level::Warn => LevelFilter::Warn,
            Level::Info => LevelFilter::Info,
            Level::Debug => LevelFilter::Debug,
            Level::Trace => LevelFilter::Trace,
        }
    }

    /// Whether records at `level` pass.
    ///
    /// ```
    /// use telem::{Level, LevelFilter};
    /// assert!(LevelFilter::Warn.allows(Level::Error));
    /// assert!(LevelFilter::Warn.allows(Level::Warn));
    /// assert!(!LevelFilter::Warn.allows(Level::Info));
    /// assert!(!LevelFilter::Off.allows(Level::Error));
    /// ```
    #[inline(always)]
    pub const fn allows(self, level: Level) -> bool {
        level as u8 <= self as u8
    }

    /// The filter as a number (0 off … 5 trace), as the call sites' cache keeps it.
    pub(crate) const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The filter of [`as_u8`](Self::as_u8)'s number; past `Trace`, `Trace`.
    pub(crate) const fn from_u8(n: u8) -> Self {
        match n {
            0 => LevelFilter::Off,
            1 => LevelFilter::Error,
            2 => LevelFilter::Warn,
            3 => LevelFilter::Info,
            4 => LevelFilter::Debug,
            _ => LevelFilter::Trace,
        }
    }

    /// The lower-case name, as `RUST_LOG` writes it.
    const fn name(self) -> &'static str {
        match self {
            LevelFilter::Off => "off",
            LevelFilter::Error => "error",
            LevelFilter::Warn => "warn",
            LevelFilter::Info => "info",
            LevelFilter::Debug => "debug",
            LevelFilter::Trace => "trace",
        }
    }

    /// The filter named `name`, in any case.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(name))
    }
}

/// [`LevelFilter::from_level`].
///
/// ```
/// use telem::{Level, LevelFilter};
/// let filter: LevelFilter = Level::Debug.into();
/// assert_eq!(filter, LevelFilter::Debug);
/// ```
impl From<Level> for LevelFilter {
    fn from(level: Level) -> Self {
        Self::from_level(level)
    }
}

/// The lower-case name, as `RUST_LOG` writes it: `off`, `error`, … `trace`.
///
/// ```
/// assert_eq!(telem::LevelFilter::Warn.to_string(), "warn");
/// assert_eq!(format!("[{:>5}]", telem::LevelFilter::Off), "[  off]");
/// ```
impl fmt::Display for LevelFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A level name as `RUST_LOG` writes it: `off`, `error`, `warn`, `info`, `debug` or
/// `trace`, in any case.
///
/// ```
/// use telem::LevelFilter;
/// assert_eq!("Trace".parse::<LevelFilter>(), Ok(LevelFilter::Trace));
/// assert_eq!("off".parse::<LevelFilter>(), Ok(LevelFilter::Off));
/// let err = "loud".parse::<LevelFilter>().unwrap_err();
/// assert_eq!(err.directive(), "loud");
/// assert_eq!(
///     err.to_string(),
///     "`loud` is not a level (accepted: off, error, warn, info, debug, trace)"
/// );
/// ```
impl FromStr for LevelFilter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| FilterError::new(s, Reason::NotALevel(s.to_owned())))
    }
}

/// A `RUST_LOG` directive this crate does not accept: the directive as written, and why.
/// [`LogFilter::parse`] (and `FromStr`) and `LevelFilter`'s `FromStr` return it;
/// [`Config::with_env`](crate::Config::with_env) reports it for `RUST_LOG` inside a
/// [`ConfigError`](crate::ConfigError).
///
/// ```
/// use telem::LogFilter;
/// let err = LogFilter::parse("info, my_crate=loud").unwrap_err();
/// assert_eq!(err.directive(), "my_crate=loud");
/// assert_eq!(
///     err.to_string(),
///     "`my_crate=loud`: `loud` is not a level (accepted: off, error, warn, info, debug, trace)"
/// );
///
/// let err = LogFilter::parse("my_crate[request{id=7}]=debug").unwrap_err();
/// assert_eq!(err.directive(), "my_crate[request{id=7}]=debug");
/// assert!(err.to_string().contains("span directives"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", self.prefix())]
pub struct FilterError {
    directive: String,
    reason: Reason,
}

/// Why a directive was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
enum Reason {
    #[error("`{0}` is not a level (accepted: off, error, warn, info, debug, trace)")]
    NotALevel(String),
    #[error(
        "`{0}` is not a target (a module path such as `my_crate::db`, or a name made of \
         letters, digits, `_`, `-`, `.` and `:`)"
    )]
    NotATarget(String),
    #[error("no target before `=` (a directive is `level`, `target` or `target=level`)")]
    NoTarget,
    #[error("more than one `=` (a directive is `level`, `target` or `target=level`)")]
    TwoEquals,
    #[error(
        "span directives (`target[span{{field=value}}]`) are not supported: filter by \
         target and level"
    )]
    Span,
    #[error("env_logger's `/regex` message filter is not supported: filter by target and level")]
    Regex,
}

impl FilterError {
    fn new(directive: &str, reason: Reason) -> Self {
        Self {
            directive: directive.to_owned(),
            reason,
        }
    }

    /// The refused directive, as written (trimmed): one comma-separated part of the spec.
    ///
    /// ```
    /// let err = telem::LogFilter::parse("debug,=info").unwrap_err();
    /// assert_eq!(err.directive(), "=info");
    /// ```
    pub fn directive(&self) -> &str {
        &self.directive
    }

    /// "`directive`: ", unless the reason already shows the whole directive.
    fn prefix(&self) -> String {
        match &self.reason {
            Reason::NotALevel(word) | Reason::NotATarget(word) if *word == self.directive => {
                String::new()
            }
            _ => format!("`{}`: ", self.directive),
        }
    }
}

/// Which log records are recorded: a default level and a level per target (a module
/// path or a `target:` name), as `RUST_LOG` writes them (`info,my_crate::db=debug`).
/// A target's level covers the targets under it (`my_crate::db::pool`); the most
/// specific directive wins. The default filter lets `info` and more severe through
/// everywhere.
///
/// # Syntax
///
/// A spec is a comma-separated list of directives:
///
/// - `level` sets the default, for the targets no other directive covers: `off`,
///   `error`, `warn`, `info`, `debug` or `trace`, in any case;
/// - `target=level` sets the level of a target and of every target under it:
///   `my_crate::db` covers `my_crate::db` and `my_crate::db::pool`, not `my_crate::dbx`;
///   the most specific (longest) directive that covers a target wins;
/// - `target` alone (or `target=`) lets everything of that target through (`trace`), as
///   `env_logger` reads it.
///
/// A target is a module path (`my_crate::db`, what the log macros use by default) or a
/// name given with `target:` (`http`), made of letters, digits, `_`, `-`, `.` and `:`.
/// Whitespace around a directive and around its `=` is ignored, and so are empty
/// directives (`info,,`). A later directive for the same target, or a later `level`,
/// replaces the earlier one. A spec with target directives and no `level` leaves every
/// other target off (`my_crate=debug` shows only `my_crate`), as both peers do.
///
/// ```
/// use telem::{Level, LevelFilter, LogFilter};
/// let filter: LogFilter = "warn, my_crate::db=debug, http".parse().unwrap();
/// assert!(filter.allows("my_crate::db::pool", Level::Debug));
/// assert!(!filter.allows("my_crate::dbx", Level::Info));
/// assert!(filter.allows("http", Level::Trace));
/// assert_eq!(filter.max_level(), LevelFilter::Trace);
/// assert_eq!(filter.to_string(), "warn,my_crate::db=debug,http=trace");
/// ```
///
/// # Where this differs from `env_logger` and `EnvFilter`, deliberately
///
/// - **An invalid or unsupported directive is an error**, naming the directive and why
///   ([`FilterError`]), never skipped with a warning: span directives
///   (`[span{field=value}]`, `target[span]`) and `env_logger`'s `/regex` message filter
///   are refused rather than half-applied, and so are numeric levels (`3`, which
///   `EnvFilter` reads as `info` and `env_logger` as a target).
/// - **Targets match whole path segments.** Both peers match any prefix of the
///   target's text, so their `my_crate::db` also covers `my_crate::dbx`.
/// - **An empty spec is the default filter** (`info`), as an unset `RUST_LOG` is;
///   `env_logger` then shows errors only and `EnvFilter` nothing.
///
/// # Equality and display
///
/// Two filters with the same directives are equal whatever the order they were given
/// in, and [`Display`](fmt::Display) writes a spec that [`LogFilter::parse`] reads back
/// to an equal filter.
///
/// ```
/// use telem::{Level, LevelFilter, LogFilter};
/// let filter = LogFilter::new(LevelFilter::Warn).with_target("my_crate::db", LevelFilter::Debug);
/// assert_eq!(filter, LogFilter::parse("warn,my_crate::db=debug").unwrap());
/// assert!(filter.allows("my_crate::db", Level::Debug));
/// assert!(!filter.allows("my_crate::api", Level::Info));
/// assert_eq!(LogFilter::default().to_string(), "info");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LogFilter {
    default: LevelFilter,
    /// (target, level), one per target, the most specific (longest) target first, then
    /// in name order (so equal filters compare equal).
    targets: Vec<(String, LevelFilter)>,
}

impl LogFilter {
    /// A filter letting through `default` everywhere.
    ///
    /// ```
    /// use telem::{Level, LevelFilter, LogFilter};
    /// let filter = LogFilter::new(LevelFilter::Error);
    /// assert!(filter.allows("anything", Level::Error));
    /// assert!(!filter.allows("anything", Level::Warn));
    /// ```
    pub const fn new(default: LevelFilter) -> Self {
        Self {
            default,
            targets: Vec::new(),
        }
    }

    /// Reads a `RUST_LOG` spec: comma-separated `level`, `target` or `target=level`
    /// directives (syntax: [`LogFilter`]). An empty spec is the default
    /// filter (`info`).
    ///
    /// # Errors
    ///
    /// A [`FilterError`] naming the first directive that is not valid or not supported
    /// (span directives, `env_logger`'s `/regex`), and why.
    ///
    /// ```
    /// use telem::{Level, LevelFilter, LogFilter};
    /// let filter = LogFilter::parse("info,my_crate::db=debug,my_crate::db=warn").unwrap();
    /// assert!(!filter.allows("my_crate::db", Level::Info), "the later directive wins");
    /// assert_eq!(LogFilter::parse("  ").unwrap(), LogFilter::default());
    ///
    /// // Only the named targets: every other one is off.
    /// let only = LogFilter::parse("my_crate=debug").unwrap();
    /// assert!(only.allows("my_crate::api", Level::Debug));
    /// assert!(!only.allows("hyper", Level::Error));
    ///
    /// let err = LogFilter::parse("info,my_crate=debug/retry").unwrap_err();
    /// assert_eq!(err.directive(), "my_crate=debug/retry");
    /// ```
    pub fn parse(spec: &str) -> Result<Self, FilterError> {
        let mut filter = LogFilter::default();
        let mut default = None;
        for directive in directives(spec).map(str::trim).filter(|d| !d.is_empty()) {
            match parse_directive(directive)? {
                (None, level) => default = Some(level),
                (Some(target), level) => filter = filter.with_target(target, level),
            }
        }
        filter.default = match default {
            Some(level) => level,
            None if !filter.targets.is_empty() => LevelFilter::Off,
            None => LevelFilter::default(),
        };
        Ok(filter)
    }

    /// This filter with `target` (and the targets under it) at `level`, replacing what
    /// an earlier call said for the same target.
    ///
    /// `target` is used as given; one that `RUST_LOG` cannot write (empty, or holding
    /// `,`, `=`, whitespace or brackets) still filters, but this filter's
    /// [`Display`](fmt::Display) then does not parse back.
    ///
    /// ```
    /// use telem::{Level, LevelFilter, LogFilter};
    /// let filter = LogFilter::new(LevelFilter::Info)
    ///     .with_target("my_crate", LevelFilter::Warn)
    ///     .with_target("my_crate::db", LevelFilter::Trace);
    /// assert!(filter.allows("my_crate::db::pool", Level::Trace), "the most specific wins");
    /// assert!(!filter.allows("my_crate::api", Level::Info));
    /// assert!(filter.allows("other", Level::Info));
    /// ```
    #[must_use]
    pub fn with_target(mut self, target: impl Into<String>, level: LevelFilter) -> Self {
        let target = target.into();
        self.targets.retain(|(t, _)| *t != target);
        self.targets.push((target, level));
        self.targets
            .sort_by(|(a, _), (b, _)| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self
    }

    /// The level for records of `target`: the most specific directive whose target is
    /// `target` or one of its parents (whole `::` segments), else the default.
    ///
    /// ```
    /// use telem::{LevelFilter, LogFilter};
    /// let filter = LogFilter::parse("warn,a::b=debug").unwrap();
    /// assert_eq!(filter.level_for("a::b"), LevelFilter::Debug);
    /// assert_eq!(filter.level_for("a::b::c"), LevelFilter::Debug);
    /// assert_eq!(filter.level_for("a::bc"), LevelFilter::Warn);
    /// assert_eq!(filter.level_for("a"), LevelFilter::Warn);
    /// ```
    pub fn level_for(&self, target: &str) -> LevelFilter {
        self.targets
            .iter()
            .find(|(t, _)| covers(t, target))
            .map_or(self.default, |&(_, level)| level)
    }

    /// Whether a record of `target` at `level` passes.
    ///
    /// ```
    /// use telem::{Level, LogFilter};
    /// let filter = LogFilter::parse("info,http=warn").unwrap();
    /// assert!(filter.allows("my_crate", Level::Info));
    /// assert!(!filter.allows("http", Level::Info));
    /// ```
    pub fn allows(&self, target: &str, level: Level) -> bool {
        self.level_for(target).allows(level)
    }

    /// The most detailed level any directive lets through: a record more detailed than
    /// this passes nowhere, whatever its target.
    ///
    /// ```
    /// use telem::{LevelFilter, LogFilter};
    /// assert_eq!(LogFilter::parse("warn,my_crate::db=debug").unwrap().max_level(), LevelFilter::Debug);
    /// assert_eq!(LogFilter::parse("debug,noisy=error").unwrap().max_level(), LevelFilter::Debug);
    /// assert_eq!(LogFilter::parse("off").unwrap().max_level(), LevelFilter::Off);
    /// ```
    pub fn max_level(&self) -> LevelFilter {
        self.targets
            .iter()
            .map(|&(_, l)| l)
            .fold(self.default, LevelFilter::max)
    }
}

/// Whether a directive for `directive` covers records of `target`: the same target, or
/// one under it (`a::b` covers `a::b::c`, not `a::bc`).
fn covers(directive: &str, target: &str) -> bool {
    target
        .strip_prefix(directive)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// The comma-separated parts of `spec`; a comma inside `[…]` or `{…}` does not
/// separate, so a span directive is reported whole.
fn directives(spec: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0usize;
    spec.split(move |c| {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        c == ',' && depth == 0
    })
}

/// One trimmed, non-empty directive: `(None, level)` for the default, `(Some(target),
/// level)` for a target.
fn parse_directive(directive: &str) -> Result<(Option<&str>, LevelFilter), FilterError> {
    let refuse = |reason| Err(FilterError::new(directive, reason));
    if directive.contains(['[', ']', '{', '}']) {
        return refuse(Reason::Span);
    }
    if directive.contains('/') {
        return refuse(Reason::Regex);
    }
    let Some((target, level)) = directive.split_once('=') else {
        if let Some(level) = LevelFilter::from_name(directive) {
            return Ok((None, level));
        }
        if directive.bytes().all(|b| b.is_ascii_digit()) {
            return refuse(Reason::NotALevel(directive.to_owned()));
        }
        return match is_target(directive) {
            true => Ok((Some(directive), LevelFilter::Trace)),
            false => refuse(Reason::NotATarget(directive.to_owned())),
        };
    };
    let (target, level) = (target.trim(), level.trim());
    if level.contains('=') {
        return refuse(Reason::TwoEquals);
    }
    if target.is_empty() {
        return refuse(Reason::NoTarget);
    }
    if !is_target(target) {
        return refuse(Reason::NotATarget(target.to_owned()));
    }
    if level.is_empty() {
        return Ok((Some(target), LevelFilter::Trace));
    }
    match LevelFilter::from_name(level) {
        Some(level) => Ok((Some(target), level)),
        None => refuse(Reason::NotALevel(level.to_owned())),
    }
}

/// Whether `RUST_LOG` can name `target`: letters, digits, `_`, `-`, `.` and `:`, not
/// starting or ending with `:`.
fn is_target(target: &str) -> bool {
    !target.is_empty()
        && !target.starts_with(':')
        && !target.ends_with(':')
        && target
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// A `RUST_LOG` spec: [`LogFilter::parse`].
///
/// ```
/// let filter: telem::LogFilter = "info,my_crate::db=debug".parse().unwrap();
/// assert_eq!(filter.to_string(), "info,my_crate::db=debug");
/// ```
impl FromStr for LogFilter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The filter as a `RUST_LOG` spec that [`LogFilter::parse`] reads back: the default
/// level, then each target's `target=level`, the most specific first.
///
/// ```
/// use telem::{LevelFilter, LogFilter};
/// let filter = LogFilter::new(LevelFilter::Off).with_target("http", LevelFilter::Warn);
/// assert_eq!(filter.to_string(), "off,http=warn");
/// assert_eq!(filter.to_string().parse::<LogFilter>().unwrap(), filter);
/// ```
impl fmt::Display for LogFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.default)?;
        for (target, level) in &self.targets {
            write!(f, ",{target}={level}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(spec: &str) -> LogFilter {
        LogFilter::parse(spec).unwrap_or_else(|e| panic!("{spec:?}: {e}"))
    }

    fn refused(spec: &str) -> FilterError {
        match LogFilter::parse(spec) {
            Ok(filter) => panic!("{spec:?} accepted as {filter}"),
            Err(e) => e,
        }
    }

    #[test]
    fn level_filter_allows_its_level_and_the_more_severe_ones() {
        for filter in LevelFilter::ALL {
            for level in Level::ALL {
                assert_eq!(
                    filter.allows(level),
                    level as u8 <= filter.as_u8(),
                    "{filter} {level}"
                );
            }
        }
        assert!(!LevelFilter::Off.allows(Level::Error));
        assert!(LevelFilter::Trace.allows(Level::Trace));
    }

    #[test]
    fn level_filter_keeps_its_numbers() {
        let numbers: Vec<u8> = LevelFilter::ALL.iter().map(|l| l.as_u8()).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 4, 5]);
        for level in Level::ALL {
            assert_eq!(LevelFilter::from_level(level).as_u8(), level as u8);
            assert_eq!(LevelFilter::from(level), LevelFilter::from_level(level));
        }
    }

    #[test]
    fn level_filter_names_parse_in_any_case_and_display_lower_case() {
        for filter in LevelFilter::ALL {
            let name = filter.to_string();
            assert_eq!(name, name.to_lowercase());
            assert_eq!(name.parse::<LevelFilter>(), Ok(filter));
            assert_eq!(name.to_uppercase().parse::<LevelFilter>(), Ok(filter));
        }
        assert_eq!("wArN".parse::<LevelFilter>(), Ok(LevelFilter::Warn));
        for bad in ["", "warning", "3", "fatal", " info"] {
            let e = bad.parse::<LevelFilter>().unwrap_err();
            assert_eq!(e.directive(), bad);
            assert_eq!(e.reason, Reason::NotALevel(bad.to_owned()));
        }
    }

    #[test]
    fn empty_spec_is_the_default_filter() {
        for spec in ["", "   ", ",", " , ,, "] {
            assert_eq!(parse(spec), LogFilter::default(), "{spec:?}");
        }
        assert_eq!(LogFilter::default().level_for("x"), LevelFilter::Info);
    }

    #[test]
    fn a_level_alone_sets_the_default_in_any_case() {
        for (spec, level) in [
            ("off", LevelFilter::Off),
            ("ERROR", LevelFilter::Error),
            ("Warn", LevelFilter::Warn),
            ("info", LevelFilter::Info),
            ("DeBuG", LevelFilter::Debug),
            ("trace", LevelFilter::Trace),
        ] {
            assert_eq!(parse(spec), LogFilter::new(level), "{spec}");
        }
    }

    #[test]
    fn the_later_default_wins() {
        assert_eq!(parse("info,debug"), LogFilter::new(LevelFilter::Debug));
        assert_eq!(parse("debug,info"), LogFilter::new(LevelFilter::Info));
    }

    #[test]
    fn target_equals_level() {
        let filter = parse("info,my_crate::db=debug");
        assert_eq!(filter.level_for("my_crate::db"), LevelFilter::Debug);
        assert_eq!(filter.level_for("my_crate"), LevelFilter::Info);
        assert_eq!(
            filter,
            LogFilter::new(LevelFilter::Info).with_target("my_crate::db", LevelFilter::Debug)
        );
        assert_eq!(
            parse("my_crate=OFF").level_for("my_crate"),
            LevelFilter::Off
        );
    }

    /// `env_logger` reads a bare target (and `target=`) as everything of that target.
    #[test]
    fn a_target_alone_is_trace() {
        for spec in ["my_crate", "my_crate=", "my_crate = "] {
            let filter = parse(spec);
            assert_eq!(
                filter.level_for("my_crate::x"),
                LevelFilter::Trace,
                "{spec:?}"
            );
        }
        let filter = parse("warn,http");
        assert_eq!(filter.level_for("http"), LevelFilter::Trace);
        assert_eq!(filter.level_for("other"), LevelFilter::Warn);
    }

    /// Both peers: with target directives and no level, the other targets are off.
    #[test]
    fn targets_without_a_level_leave_everything_else_off() {
        let filter = parse("my_crate=debug,http=warn");
        assert_eq!(filter.level_for("hyper"), LevelFilter::Off);
        assert_eq!(filter.level_for("my_crate::api"), LevelFilter::Debug);
        assert_eq!(filter.to_string(), "off,my_crate=debug,http=warn");
    }

    #[test]
    fn whitespace_around_directives_and_equals_and_empty_directives_are_ignored() {
        assert_eq!(
            parse("  info , my_crate::db = debug ,, "),
            parse("info,my_crate::db=debug")
        );
        assert_eq!(parse("info,,"), LogFilter::new(LevelFilter::Info));
        assert_eq!(parse("\twarn\n"), LogFilter::new(LevelFilter::Warn));
    }

    #[test]
    fn the_later_directive_for_a_target_wins() {
        let filter = parse("a=debug,b=info,a=warn");
        assert_eq!(filter.level_for("a"), LevelFilter::Warn);
        assert_eq!(filter.targets.len(), 2);
        let built = LogFilter::new(LevelFilter::Info)
            .with_target("a", LevelFilter::Trace)
            .with_target("a", LevelFilter::Error);
        assert_eq!(built.level_for("a::x"), LevelFilter::Error);
    }

    #[test]
    fn a_target_covers_whole_segments_only() {
        let filter = parse("off,a::b=debug");
        assert_eq!(filter.level_for("a::b"), LevelFilter::Debug);
        assert_eq!(filter.level_for("a::b::c"), LevelFilter::Debug);
        assert_eq!(filter.level_for("a::b::c::d"), LevelFilter::Debug);
        assert_eq!(filter.level_for("a::bc"), LevelFilter::Off);
        assert_eq!(filter.level_for("a::b_c"), LevelFilter::Off);
        assert_eq!(filter.level_for("a"), LevelFilter::Off);
        assert_eq!(filter.level_for("x::a::b"), LevelFilter::Off);
        assert_eq!(filter.level_for("a::b:"), LevelFilter::Off);
    }

    #[test]
    fn the_most_specific_target_wins_whatever_the_order() {
        for spec in [
            "warn,a=error,a::b=debug,a::b::c=trace",
            "warn,a::b::c=trace,a::b=debug,a=error",
        ] {
            let filter = parse(spec);
            assert_eq!(filter.level_for("a::b::c::d"), LevelFilter::Trace, "{spec}");
            assert_eq!(filter.level_for("a::b::x"), LevelFilter::Debug, "{spec}");
            assert_eq!(filter.level_for("a::x"), LevelFilter::Error, "{spec}");
            assert_eq!(filter.level_for("b"), LevelFilter::Warn, "{spec}");
        }
        assert_eq!(
            parse("warn,a=error,a::b=debug"),
            parse("a::b=debug,warn,a=error"),
            "equal whatever the order"
        );
    }

    /// `target:` names need not be module paths.
    #[test]
    fn targets_that_are_not_module_paths() {
        let filter = parse("info,http=warn,my-service.db=debug,audit:log=trace,résumé=error");
        assert_eq!(filter.level_for("http"), LevelFilter::Warn);
        assert_eq!(filter.level_for("http::client"), LevelFilter::Warn);
        assert_eq!(filter.level_for("https"), LevelFilter::Info);
        assert_eq!(filter.level_for("my-service.db"), LevelFilter::Debug);
        assert_eq!(filter.level_for("audit:log"), LevelFilter::Trace);
        assert_eq!(filter.level_for("résumé"), LevelFilter::Error);
        // A level name is a target on the left of `=`.
        assert_eq!(
            parse("warn,info=debug").level_for("info"),
            LevelFilter::Debug
        );
    }

    #[test]
    fn max_level_is_the_most_detailed_directive() {
        let cases = [
            ("", LevelFilter::Info),
            ("off", LevelFilter::Off),
            ("warn,a=debug", LevelFilter::Debug),
            ("debug,a=error", LevelFilter::Debug),
            ("error,a=warn,b=trace,c=off", LevelFilter::Trace),
            ("a=warn", LevelFilter::Warn),
            ("a=off", LevelFilter::Off),
        ];
        for (spec, max) in cases {
            assert_eq!(parse(spec).max_level(), max, "{spec:?}");
        }
    }

    #[test]
    fn display_writes_rust_log() {
        assert_eq!(LogFilter::default().to_string(), "info");
        assert_eq!(
            parse("info,my_crate::db=debug").to_string(),
            "info,my_crate::db=debug"
        );
        assert_eq!(
            parse(" a = WARN , debug , a::b ").to_string(),
            "debug,a::b=trace,a=warn"
        );
    }

    #[test]
    fn an_invalid_level_names_the_directive_and_the_word() {
        let e = refused("info,my_crate=loud");
        assert_eq!(e.directive(), "my_crate=loud");
        assert_eq!(
            e.to_string(),
            "`my_crate=loud`: `loud` is not a level (accepted: off, error, warn, info, debug, trace)"
        );
        for (spec, word) in [("a=3", "3"), ("a=warning", "warning"), ("5", "5")] {
            assert_eq!(
                refused(spec).reason,
                Reason::NotALevel(word.to_owned()),
                "{spec}"
            );
        }
        assert_eq!(
            refused("0").to_string(),
            "`0` is not a level (accepted: off, error, warn, info, debug, trace)"
        );
    }

    #[test]
    fn an_invalid_target_is_refused() {
        for (spec, directive, target) in [
            ("info,my crate=debug", "my crate=debug", "my crate"),
            ("my crate", "my crate", "my crate"),
            ("my_*=debug", "my_*=debug", "my_*"),
            ("a::=debug", "a::=debug", "a::"),
            ("::a", "::a", "::a"),
            ("\"a\"=info", "\"a\"=info", "\"a\""),
        ] {
            let e = refused(spec);
            assert_eq!(e.directive(), directive, "{spec}");
            assert_eq!(e.reason, Reason::NotATarget(target.to_owned()), "{spec}");
        }
        assert!(refused("info,not a valid value")
            .to_string()
            .starts_with("`not a valid value` is not a target"));
    }

    #[test]
    fn a_directive_without_a_target_or_with_two_equals_is_refused() {
        let e = refused("debug,=info");
        assert_eq!((e.directive(), &e.reason), ("=info", &Reason::NoTarget));
        assert_eq!(
            e.to_string(),
            "`=info`: no target before `=` (a directive is `level`, `target` or `target=level`)"
        );
        let e = refused("a=b=c");
        assert_eq!((e.directive(), &e.reason), ("a=b=c", &Reason::TwoEquals));
    }

    /// EnvFilter's span directives are refused, not ignored, and reported whole.
    #[test]
    fn span_directives_are_refused() {
        for (spec, directive) in [
            ("[request]=debug", "[request]=debug"),
            ("info,my_crate[request]=debug", "my_crate[request]=debug"),
            (
                "my_crate[request{id=7,user=ann}]=debug,info",
                "my_crate[request{id=7,user=ann}]=debug",
            ),
            ("[{id=7}]", "[{id=7}]"),
            ("a]", "a]"),
        ] {
            let e = refused(spec);
            assert_eq!(
                (e.directive(), &e.reason),
                (directive, &Reason::Span),
                "{spec}"
            );
        }
        assert!(refused("[x]")
            .to_string()
            .starts_with("`[x]`: span directives"));
    }

    /// env_logger's `/regex` suffix is refused, not ignored.
    #[test]
    fn regex_suffix_is_refused() {
        for (spec, directive) in [
            ("info/foo", "info/foo"),
            ("info,my_crate=debug/retry", "my_crate=debug/retry"),
            ("/foo", "/foo"),
        ] {
            let e = refused(spec);
            assert_eq!(
                (e.directive(), &e.reason),
                (directive, &Reason::Regex),
                "{spec}"
            );
        }
    }

    #[test]
    fn the_first_bad_directive_is_reported() {
        assert_eq!(refused("a=loud,b=noisy").directive(), "a=loud");
    }

    fn level_filter() -> impl Strategy<Value = LevelFilter> {
        (0..6usize).prop_map(|i| LevelFilter::ALL[i])
    }

    fn target() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z_][a-z0-9_]{0,5}(::[a-z_][a-z0-9_]{0,5}){0,3}",
            "[a-zA-Z0-9][a-zA-Z0-9._-]{0,8}",
        ]
    }

    proptest! {
        #[test]
        fn display_parse_round_trips(
            default in level_filter(),
            targets in proptest::collection::vec((target(), level_filter()), 0..6),
        ) {
            let filter = targets
                .into_iter()
                .fold(LogFilter::new(default), |f, (t, l)| f.with_target(t, l));
            let spec = filter.to_string();
            prop_assert_eq!(LogFilter::parse(&spec), Ok(filter), "{}", spec);
        }

        /// Whatever a spec holds, parsing does not panic, and what it accepts writes back.
        #[test]
        fn any_spec_parses_or_is_refused_and_round_trips(
            spec in "[a-zA-Z_:=, \\[\\]{}/.0-9-]{0,40}",
        ) {
            if let Ok(filter) = LogFilter::parse(&spec) {
                prop_assert_eq!(LogFilter::parse(&filter.to_string()), Ok(filter));
            }
        }

        /// `level_for` is the level of the longest directive covering the target.
        #[test]
        fn level_for_is_the_longest_covering_directive(
            default in level_filter(),
            targets in proptest::collection::vec((target(), level_filter()), 0..6),
            probe in target(),
        ) {
            let filter = targets
                .iter()
                .cloned()
                .fold(LogFilter::new(default), |f, (t, l)| f.with_target(t, l));
            let mut expected = (0, default);
            for (t, l) in &filter.targets {
                let covering = probe == *t || probe.starts_with(&format!("{t}::"));
                if covering && t.len() > expected.0 {
                    expected = (t.len(), *l);
                }
            }
            prop_assert_eq!(filter.level_for(&probe), expected.1);
        }
    }
}
