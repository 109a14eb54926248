//! The log record, as sinks receive it: OpenTelemetry's log data model.

use crate::{Attributes, SpanId, Str, TraceFlags, TraceId};
use std::fmt;
use std::sync::Arc;

/// A batch of log records, shared by every sink (no copy per sink).
pub type LogBatch = Arc<Vec<LogRecord>>;

/// How important a log record is: the five levels of the log macros and of `RUST_LOG`,
/// ordered from the most severe ([`Error`](Level::Error)) to the most detailed
/// ([`Trace`](Level::Trace)), so `Level::Debug > Level::Info` reads "more detailed".
///
/// ```
/// use telem::Level;
/// assert!(Level::Debug > Level::Info);
/// assert_eq!(Level::Warn.as_str(), "WARN");
/// assert_eq!(Level::Warn.severity().number(), 13);
/// assert_eq!("debug".parse::<Level>(), Ok(Level::Debug));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Something failed and needs attention (`error!`).
    Error = 1,
    /// Something unexpected that the service handled (`warn!`).
    Warn = 2,
    /// What an operator wants to see in normal operation (`info!`).
    Info = 3,
    /// Detail for investigating a problem (`debug!`).
    Debug = 4,
    /// The finest detail (`trace_log!`; `trace` is `#[trace]`'s name).
    Trace = 5,
}

impl Level {
    /// Every level, most severe first.
    pub const ALL: [Level; 5] = [
        Level::Error,
        Level::Warn,
        Level::Info,
        Level::Debug,
        Level::Trace,
    ];

    /// The upper-case name: `ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE` (OpenTelemetry's
    /// severity text for the level's first severity number).
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }

    /// The lower-case name, as `RUST_LOG` and the self-metrics' `level` label write it.
    pub const fn as_lowercase(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }

    /// The level's OpenTelemetry severity: the first number of its range (`TRACE` 1,
    /// `DEBUG` 5, `INFO` 9, `WARN` 13, `ERROR` 17).
    pub const fn severity(self) -> Severity {
        match self {
            Level::Error => Severity::ERROR,
            Level::Warn => Severity::WARN,
            Level::Info => Severity::INFO,
            Level::Debug => Severity::DEBUG,
            Level::Trace => Severity::TRACE,
        }
    }

    /// Position in [`Level::ALL`] (0 for `Error` … 4 for `Trace`): an index for
    /// per-level counters.
    pub const fn index(self) -> usize {
        self as usize - 1
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A string that names no [`Level`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a log level (accepted: error, warn, info, debug, trace, any case)")]
pub struct ParseLevelError(pub(crate) String);

impl std::str::FromStr for Level {
    type Err = ParseLevelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseLevelError(s.to_owned()))
    }
}

/// OpenTelemetry's `SeverityNumber`: 1 to 24, in six ranges of four (`TRACE` 1–4,
/// `DEBUG` 5–8, `INFO` 9–12, `WARN` 13–16, `ERROR` 17–20, `FATAL` 21–24); 0 is
/// unspecified. Records from this crate's macros carry each range's first number;
/// bridges from other logging systems may use the others.
///
/// ```
/// use telem::{Level, Severity};
/// assert_eq!(Severity::new(10).text(), "INFO2");
/// assert_eq!(Severity::FATAL.level(), Some(Level::Error));
/// assert_eq!(Severity::UNSPECIFIED.level(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Severity(u8);

impl Severity {
    /// 0: no severity given.
    pub const UNSPECIFIED: Severity = Severity(0);
    /// 1: `TRACE`.
    pub const TRACE: Severity = Severity(1);
    /// 5: `DEBUG`.
    pub const DEBUG: Severity = Severity(5);
    /// 9: `INFO`.
    pub const INFO: Severity = Severity(9);
    /// 13: `WARN`.
    pub const WARN: Severity = Severity(13);
    /// 17: `ERROR`.
    pub const ERROR: Severity = Severity(17);
    /// 21: `FATAL`.
    pub const FATAL: Severity = Severity(21);

    /// The severity with this number; numbers above 24 are clamped to 24.
    pub const fn new(number: u8) -> Self {
        Severity(if number > 24 { 24 } else { number })
    }

    /// The `SeverityNumber`, 0 to 24.
    pub const fn number(self) -> u8 {
        self.0
    }

    /// OpenTelemetry's short name: `TRACE`, `TRACE2` … `FATAL4`; empty for 0.
    pub const fn text(self) -> &'static str {
        const TEXT: [&str; 25] = [
            "", "TRACE", "TRACE2", "TRACE3", "TRACE4", "DEBUG", "DEBUG2", "DEBUG3", "DEBUG4",
            "INFO", "INFO2", "INFO3", "INFO4", "WARN", "WARN2", "WARN3", "WARN4", "ERROR",
            "ERROR2", "ERROR3", "ERROR4", "FATAL", "FATAL2", "FATAL3", "FATAL4",
        ];
        TEXT[self.0 as usize]
    }

    /// The [`Level`] whose range holds this severity (`FATAL` counts as `Error`); `None`
    /// for 0.
    pub const fn level(self) -> Option<Level> {
        match self.0 {
            0 => None,
            1..=4 => Some(Level::Trace),
            5..=8 => Some(Level::Debug),
            9..=12 => Some(Level::Info),
            13..=16 => Some(Level::Warn),
            _ => Some(Level::Error),
        }
    }
}

impl From<Level> for Severity {
    fn from(level: Level) -> Self {
        level.severity()
    }
}

/// A log record as sinks receive it: OpenTelemetry's log data model.
///
/// Built by the drain from what a log macro recorded: the message is formatted and the
/// fields are turned into attributes there, off the calling thread.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LogRecord {
    /// When the event happened, in nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// When the pipeline observed it: the same as `time_unix_nano` for records of the
    /// log macros (they are timestamped at the call); later for bridged records.
    pub observed_time_unix_nano: u64,
    /// The severity.
    pub severity: Severity,
    /// The message, formatted.
    pub body: Str,
    /// The fields given at the call site, in the order written.
    pub attributes: Attributes,
    /// The fields bound to the context the record was made in ([`crate::bind`]),
    /// without those the call site gave again (the call site's value wins).
    pub context_fields: Attributes,
    /// The event's name, if the call gave one (`name: "book.created"`).
    pub event_name: Option<Str>,
    /// Where the record comes from: the module path of the call, or the `target:` it
    /// gave. OpenTelemetry's instrumentation scope name.
    pub target: Str,
    /// The source file of the call, if known (`code.file.path`).
    pub file: Option<Str>,
    /// The line of the call, if known (`code.line.number`).
    pub line: Option<u32>,
    /// The trace the record was made in; [`TraceId::INVALID`] outside any span.
    pub trace_id: TraceId,
    /// The span the record was made in; [`SpanId::INVALID`] outside any span.
    pub span_id: SpanId,
    /// The span's trace flags.
    pub trace_flags: TraceFlags,
}

impl LogRecord {
    /// A record with this severity and body, made now, outside any span: for sinks'
    /// tests and for bridges. Set the other fields directly.
    ///
    /// ```
    /// let record = telem::LogRecord::new(telem::Level::Info, "ready");
    /// assert_eq!(record.level(), Some(telem::Level::Info));
    /// assert!(!record.trace_id.is_valid());
    /// ```
    pub fn new(severity: impl Into<Severity>, body: impl Into<Str>) -> Self {
        let now = crate::record::clock::unix_nanos_now();
        Self {
            time_unix_nano: now,
            observed_time_unix_nano: now,
            severity: severity.into(),
            body: body.into(),
            attributes: Attributes::new(),
            context_fields: Attributes::new(),
            event_name: None,
            target: Str::from_static(""),
            file: None,
            line: None,
            trace_id: TraceId::INVALID,
            span_id: SpanId::INVALID,
            trace_flags: TraceFlags::default(),
        }
    }

    /// The record's level ([`Severity::level`]).
    pub fn level(&self) -> Option<Level> {
        self.severity.level()
    }

    /// The value of an attribute or context field, call site first.
    pub fn field(&self, key: &str) -> Option<&crate::Value> {
        self.attributes
            .iter()
            .chain(self.context_fields.iter())
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }
}
