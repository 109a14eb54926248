//! Building blocks for bridges from other instrumentation APIs into this crate's
//! pipeline: the `tracing` and `log` crates (`telem-tracing`), or your own.
//!
//! - **Log records.** Each call site of the other API gets a [`LogSite`] of its own,
//!   made once ([`LogSite::leak`]) and kept by the bridge (keyed by the other API's
//!   call-site identity). The site caches the log filter's verdict as the log macros'
//!   sites do, so [`LogSite::is_enabled`] costs two relaxed loads; a call that passes
//!   builds a [`BridgedRecord`] and [`emit`](BridgedRecord::emit)s it into the thread's
//!   log ring, in the current trace context unless given a parent.
//! - **Filtering.** The other API may cache verdicts of its own (`tracing`'s per-call-
//!   site interest, `log`'s maximum level): [`on_filter_change`] runs a function after
//!   every change of the filter in force (a pipeline starting or stopping,
//!   [`Pipeline::set_log_filter`](crate::Pipeline::set_log_filter), a test scope
//!   capturing everything), and [`max_level`] and [`allows`] answer for call sites
//!   without a `LogSite`.
//! - **Spans** need nothing here: a bridge starts them with
//!   [`Tracer::start_span`](crate::Tracer::start_span) and
//!   [`SpanGuard::detach`](crate::SpanGuard::detach) (a child of the current context),
//!   or [`Tracer::span`](crate::Tracer::span) (an explicit parent, a kind), keeps the
//!   [`Span`](crate::Span) and makes it current with [`Span::attach`](crate::Span::attach)
//!   while the foreign span is entered.
//!
//! ```
//! use telem::bridge::LogSite;
//! use telem::{Level, Str, Value};
//!
//! // Once per foreign call site:
//! static KEYS: [&str; 2] = ["user", "attempt"];
//! let site: &'static LogSite = LogSite::leak(Level::Warn, "legacy::auth", None, None, &KEYS);
//! // At each call:
//! if site.is_enabled() {
//!     let mut record = site.record();
//!     record.message(Str::from_static("login failed"));
//!     record.field(0, Value::from("ana"));
//!     record.field(1, Value::I64(3));
//!     record.emit();
//! }
//! ```

use crate::logs::filter::LevelFilter;
use crate::logs::raw::{Extra, RawLog};
use crate::logs::site::{self, Message, Site};
use crate::record::ring;
use crate::{KeyValue, Level, SpanContext, SpanId, Str, TraceFlags, TraceId, Value};
use std::fmt;

/// The log call site of another API's call site: its level, target, location and field
/// keys, and the log filter's cached verdict. Made once per foreign call site and kept
/// for the life of the process.
#[derive(Debug)]
pub struct LogSite {
    site: Site,
}

impl LogSite {
    /// Makes and keeps the site of a foreign call site at `level` and `target`, with
    /// its file and line if known and the keys of its fields (a record gives values by
    /// their index in `keys`; keys past the 64th are recorded as attributes).
    ///
    /// The site is never freed: make one per foreign call site (their number is fixed by
    /// the program), not one per call.
    pub fn leak(
        level: Level,
        target: &'static str,
        file: Option<&'static str>,
        line: Option<u32>,
        keys: &'static [&'static str],
    ) -> &'static LogSite {
        Box::leak(Box::new(LogSite {
            site: Site::new(
                level,
                target,
                file.unwrap_or(""),
                line.unwrap_or(0),
                None,
                Message::Formatted,
                keys,
            ),
        }))
    }

    /// Whether a call here is recorded now: two relaxed loads once the site has asked
    /// the filter (at its first call, and again after the filter changes).
    #[inline]
    pub fn is_enabled(&'static self) -> bool {
        cfg!(feature = "enable") && self.site.is_enabled()
    }

    /// The level of the call site.
    pub fn level(&self) -> Level {
        self.site.level
    }

    /// The target of the call site.
    pub fn target(&self) -> &'static str {
        self.site.target
    }

    /// The keys of the call site's fields.
    pub fn keys(&self) -> &'static [&'static str] {
        self.site.keys
    }

    /// Starts a record of a call here, now: the time, the current trace context and
    /// the bound fields are taken here. Its message is empty until
    /// [`message`](BridgedRecord::message) sets it.
    pub fn record(&'static self) -> BridgedRecord {
        BridgedRecord {
            raw: RawLog::bridged(&self.site, Str::from_static("")),
            next_key: 0,
        }
    }
}

/// A log record being bridged: fields are added, then [`emit`](Self::emit) hands it to
/// the thread's log ring. Dropping it without `emit` records nothing.
#[derive(Debug)]
#[must_use = "a bridged record is recorded by `emit`"]
pub struct BridgedRecord {
    raw: RawLog,
    /// The lowest key index a field may take next (fields come in key order).
    next_key: usize,
}

impl BridgedRecord {
    /// Sets the message (the record's body).
    pub fn message(&mut self, message: Str) {
        self.raw.body = Some(message);
    }

    /// Gives the field of the site's key `index` its value. Fields given in key order
    /// (as `tracing` visits them) are kept without allocating, up to four; a field out
    /// of order, given twice or past the 64th key is kept as an attribute.
    pub fn field(&mut self, index: usize, value: Value) {
        let keys = self.raw.site.keys;
        let Some(&key) = keys.get(index) else {
            return;
        };
        if index >= self.next_key && index < 64 {
            self.raw.values.push(value);
            self.raw.present |= 1 << index;
            self.next_key = index + 1;
        } else {
            self.attribute(Str::from_static(key), value);
        }
    }

    /// Adds a field whose key is not one of the site's.
    pub fn attribute(&mut self, key: impl Into<Str>, value: impl Into<Value>) {
        self.extra()
            .attributes
            .push(KeyValue::new(key.into(), value.into()));
    }

    /// Files the record under `target` instead of the site's (a foreign call whose
    /// target is not `'static`).
    pub fn target(&mut self, target: impl Into<Str>) {
        self.extra().target = Some(target.into());
    }

    /// Sets the span the record belongs to: `Some` for an explicit parent, `None` for
    /// none (the foreign API said the call has no parent). Without this call the record
    /// belongs to the span current when it was started.
    pub fn parent(&mut self, parent: Option<&SpanContext>) {
        let (trace_id, span_id, flags) = match parent.filter(|p| p.is_valid()) {
            Some(p) => (p.trace_id, p.span_id, p.flags),
            None => (TraceId::INVALID, SpanId::INVALID, TraceFlags::default()),
        };
        self.raw.trace_id = trace_id;
        self.raw.span_id = span_id;
        self.raw.flags = flags;
    }

    /// Records it: into the thread's log ring, never blocking; a full ring drops it and
    /// counts the drop at its level (`telemetry_logs_dropped_total`).
    pub fn emit(self) {
        let raw = self.raw;
        ring::logs::push(raw.site.level, || raw);
    }

    fn extra(&mut self) -> &mut Extra {
        self.raw.extra.get_or_insert_with(Box::default)
    }
}

/// Runs `listener` after every change of the log filter in force, from now on: a
/// pipeline starting or stopping, [`Pipeline::set_log_filter`](crate::Pipeline::set_log_filter),
/// a test scope starting to capture everything or ending. For bridges whose API caches
/// verdicts of its own; [`LogSite`]s need no listener.
pub fn on_filter_change(listener: fn()) {
    site::on_change(listener);
}

/// The most detailed level any call may record now ([`LevelFilter::Off`] while no
/// pipeline runs): what a bridge gives as its API's maximum level.
pub fn max_level() -> LevelFilter {
    if cfg!(feature = "enable") {
        site::max_level()
    } else {
        LevelFilter::Off
    }
}

/// Whether the filter in force records a call at `target` and `level`, for a call that
/// has no [`LogSite`] (a target known only at run time). Not cached: it matches the
/// target against the filter's directives.
pub fn allows(target: &str, level: Level) -> bool {
    cfg!(feature = "enable") && site::allows_now(target, level)
}

/// A value holding `value`'s `Debug` text: inline (no allocation) up to
/// [`Str::INLINE_LEN`] bytes, as the log macros' `?` fields.
pub fn debug_value(value: &dyn fmt::Debug) -> Value {
    crate::macro_support::format_value(format_args!("{value:?}"))
}

/// A value holding `value`'s `Display` text, as [`debug_value`] for `Debug`.
pub fn display_value(value: &dyn fmt::Display) -> Value {
    crate::macro_support::format_value(format_args!("{value}"))
}
