//! The data of a finished span, as sinks receive it.

use crate::{Attributes, KeyValue, SpanContext, SpanId, Str, Value};

/// What a span represents, as OpenTelemetry defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    /// An internal operation (the default).
    #[default]
    Internal,
    /// The server side of a synchronous remote call (an HTTP request handled here).
    Server,
    /// The client side of a synchronous remote call.
    Client,
    /// The sender of an asynchronous message.
    Producer,
    /// The receiver of an asynchronous message.
    Consumer,
}

impl SpanKind {
    /// The OpenTelemetry enum value (`SPAN_KIND_INTERNAL` = 1 … `SPAN_KIND_CONSUMER` = 5).
    pub const fn otlp_code(self) -> u8 {
        match self {
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
        }
    }

    /// Lower-case name: `internal`, `server`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

/// A span's status.
///
/// ```
/// use telem::Status;
/// assert!(Status::error("db timeout").is_error());
/// assert!(!Status::Ok.is_error());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Status {
    /// Not set (the default): the operation completed without a verdict.
    #[default]
    Unset,
    /// Explicitly marked successful. Ok overrides a later error and cannot be undone.
    Ok,
    /// The operation failed.
    Error {
        /// A human-readable description of the error.
        description: Str,
    },
}

impl Status {
    /// An error status with a description.
    pub fn error(description: impl Into<Str>) -> Self {
        Status::Error {
            description: description.into(),
        }
    }

    /// Whether this is an error status.
    pub fn is_error(&self) -> bool {
        matches!(self, Status::Error { .. })
    }

    /// The OpenTelemetry status code (0 unset, 1 ok, 2 error).
    pub fn otlp_code(&self) -> u8 {
        match self {
            Status::Unset => 0,
            Status::Ok => 1,
            Status::Error { .. } => 2,
        }
    }
}

/// A timestamped event inside a span.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The event name, e.g. `exception`.
    pub name: Str,
    /// When it happened, in ns since the Unix epoch.
    pub time_unix_nano: u64,
    /// The event's attributes.
    pub attributes: Vec<KeyValue>,
    /// Attributes dropped because of the per-event limit.
    pub dropped_attributes_count: u32,
}

/// A link from a span to another span context (a batch job linking to the requests it serves).
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// The linked span.
    pub context: SpanContext,
    /// The link's attributes.
    pub attributes: Vec<KeyValue>,
}

/// A finished span as sinks receive it. Times are ns since the Unix epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanData {
    /// The span's name.
    pub name: Str,
    /// The instrumentation scope (the [`Tracer`](crate::Tracer)'s name) that recorded it.
    pub scope: Str,
    /// The span's own context (trace id, span id, flags, trace state).
    pub context: SpanContext,
    /// The parent's span id; [`SpanId::INVALID`] for a root span.
    pub parent_span_id: SpanId,
    /// Whether the parent came from another process (a `traceparent` header).
    pub parent_is_remote: bool,
    /// The span kind.
    pub kind: SpanKind,
    /// Start time, ns since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// End time, ns since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// Attributes, in the order they were set (a key set twice keeps its last value).
    pub attributes: Attributes,
    /// Events, in the order they were added.
    pub events: Vec<Event>,
    /// Links to other spans.
    pub links: Vec<Link>,
    /// The status.
    pub status: Status,
    /// Attributes dropped because of [`SpanLimits::max_attributes`].
    pub dropped_attributes_count: u32,
    /// Events dropped because of [`SpanLimits::max_events`].
    pub dropped_events_count: u32,
    /// Links dropped because of [`SpanLimits::max_links`].
    pub dropped_links_count: u32,
}

impl SpanData {
    /// The value of the attribute `key`, if set.
    ///
    /// ```
    /// # use telem::{SpanData, Value};
    /// # fn check(span: &SpanData) {
    /// if let Some(Value::I64(code)) = span.attribute("http.response.status_code") {
    ///     assert!(*code >= 100);
    /// }
    /// # }
    /// ```
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    /// Duration in nanoseconds.
    pub fn duration_nanos(&self) -> u64 {
        self.end_time_unix_nano
            .saturating_sub(self.start_time_unix_nano)
    }
}

/// Per-span limits. What exceeds a limit is dropped and counted in the span's
/// `dropped_*_count` fields, never an error and never a panic.
///
/// ```
/// use telem::SpanLimits;
/// let limits = SpanLimits::default();
/// assert_eq!(limits.max_attributes, 128);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpanLimits {
    /// Maximum attributes per span (OpenTelemetry default 128).
    pub max_attributes: u32,
    /// Maximum events per span (default 128).
    pub max_events: u32,
    /// Maximum links per span (default 128).
    pub max_links: u32,
    /// Maximum attributes per event and per link (default 128).
    pub max_attributes_per_event: u32,
}

impl SpanLimits {
    /// OpenTelemetry's defaults: 128 of each.
    pub const DEFAULT: Self = Self {
        max_attributes: 128,
        max_events: 128,
        max_links: 128,
        max_attributes_per_event: 128,
    };

    /// Sets the attribute limit.
    pub const fn with_max_attributes(mut self, n: u32) -> Self {
        self.max_attributes = n;
        self
    }

    /// Sets the event limit.
    pub const fn with_max_events(mut self, n: u32) -> Self {
        self.max_events = n;
        self
    }

    /// Sets the link limit.
    pub const fn with_max_links(mut self, n: u32) -> Self {
        self.max_links = n;
        self
    }

    /// Sets the per-event and per-link attribute limit.
    pub const fn with_max_attributes_per_event(mut self, n: u32) -> Self {
        self.max_attributes_per_event = n;
        self
    }
}

impl Default for SpanLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
