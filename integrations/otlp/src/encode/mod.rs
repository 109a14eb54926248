//! Request bodies: spans, log records and metric snapshots as OTLP
//! `Export*ServiceRequest`s, written straight from [`SpanData`], [`LogRecord`] and
//! [`MetricFamilySnapshot`] without an intermediate message tree.
//!
//! A log record maps to OTLP's `LogRecord` (the logs data model, `logs.proto` of
//! opentelemetry-proto 1.x, `event_name` = 12): `time_unix_nano`,
//! `observed_time_unix_nano`, `severity_number` and `severity_text` (omitted when
//! unspecified), `body` as a string `AnyValue` (omitted when empty), `attributes` (the
//! call site's, then the fields bound to the context, then `code.file.path` and
//! `code.line.number` from the record's file and line, as the semantic conventions name
//! them), `flags` (the W3C trace flags in bits 0–7, `LOG_RECORD_FLAGS_TRACE_FLAGS_MASK`),
//! `trace_id` and `span_id` (omitted when invalid: a record made outside any span),
//! `event_name`. Records are grouped in one `ScopeLogs` per target (the instrumentation
//! scope), in order of first appearance.

mod json;
#[cfg(feature = "protobuf")]
mod protobuf;

use crate::{resource, Protocol, Temporality};
use telem::metrics::{InstrumentKind, MetricFamilySnapshot, OVERFLOW_LABEL};
use telem::{KeyValue, LogRecord, SpanData};

/// The scope every metric is sent under: the registry of this framework.
pub(crate) const METRICS_SCOPE: &str = "telem";

/// Encodes spans, log records and metric snapshots as OTLP request bodies
/// (`ExportTraceServiceRequest`, `ExportLogsServiceRequest`,
/// `ExportMetricsServiceRequest`) in one [`Protocol`], with one resource. The exporter
/// uses it for every request; it is public for tools that write OTLP elsewhere (files,
/// another transport) and for benchmarks.
///
/// ```
/// use telem::{KeyValue, SpanContext, SpanData, SpanId, SpanKind, Status, TraceFlags, TraceId};
/// use telem_otlp::{Encoder, Protocol};
///
/// let span = SpanData {
///     name: "GET /books".into(),
///     scope: "books".into(),
///     context: SpanContext::new(
///         TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
///         SpanId::from_hex("00f067aa0ba902b7").unwrap(),
///         TraceFlags::SAMPLED,
///         Default::default(),
///         false,
///     ),
///     parent_span_id: SpanId::INVALID,
///     parent_is_remote: false,
///     kind: SpanKind::Server,
///     start_time_unix_nano: 1_700_000_000_000_000_000,
///     end_time_unix_nano: 1_700_000_000_250_000_000,
///     attributes: [KeyValue::new("http.response.status_code", 200i64)].into_iter().collect(),
///     events: vec![],
///     links: vec![],
///     status: Status::Unset,
///     dropped_attributes_count: 0,
///     dropped_events_count: 0,
///     dropped_links_count: 0,
/// };
/// let encoder = Encoder::new(Protocol::HttpJson, vec![KeyValue::new("service.name", "books")]);
/// let mut body = Vec::new();
/// encoder.encode_spans([&span], &mut body);
/// let json = String::from_utf8(body).unwrap();
/// assert!(json.starts_with(r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"books"}}]}"#));
/// assert!(json.contains(r#""traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7""#));
/// assert!(json.contains(r#""kind":2,"startTimeUnixNano":"1700000000000000000""#));
/// assert!(json.contains(r#"{"key":"http.response.status_code","value":{"intValue":"200"}}"#));
/// ```
#[derive(Clone, Debug)]
pub struct Encoder {
    protocol: Protocol,
    resource: Vec<KeyValue>,
    scope_versions: Vec<(String, String)>,
}

impl Encoder {
    /// An encoder for `protocol` whose batches carry `resource`.
    ///
    /// `Protocol::HttpProtobuf` needs the `protobuf` feature; without it that
    /// protocol's bodies are written as JSON (the exporter refuses the protocol earlier,
    /// in [`OtlpConfig::resolve`](crate::OtlpConfig::resolve)).
    pub fn new(protocol: Protocol, resource: Vec<KeyValue>) -> Self {
        Self {
            protocol,
            resource,
            scope_versions: Vec::new(),
        }
    }

    /// Reports `version` for the instrumentation scope `scope`.
    #[must_use]
    pub fn with_scope_version(
        mut self,
        scope: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        self.scope_versions.push((scope.into(), version.into()));
        self
    }

    pub(crate) fn with_scope_versions(mut self, versions: Vec<(String, String)>) -> Self {
        self.scope_versions = versions;
        self
    }

    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Appends an `ExportTraceServiceRequest` holding `spans` to `out`: one resource,
    /// one `ScopeSpans` per instrumentation scope (in order of first appearance).
    pub fn encode_spans<'a>(
        &self,
        spans: impl IntoIterator<Item = &'a SpanData>,
        out: &mut Vec<u8>,
    ) {
        let groups = group_by_scope(spans, |span| span.scope.as_str());
        let scopes = self.scopes(&groups);
        match self.protocol {
            #[cfg(feature = "protobuf")]
            Protocol::HttpProtobuf => protobuf::traces(&self.resource, &scopes, out),
            _ => json::traces(&self.resource, &scopes, out),
        }
    }

    /// Appends an `ExportLogsServiceRequest` holding `records` to `out`: one resource,
    /// one `ScopeLogs` per target (the instrumentation scope, with its version if one
    /// was given), in order of first appearance. The mapping of each field is in this
    /// module's documentation.
    ///
    /// ```
    /// use telem::{KeyValue, Level, LogRecord, SpanId, TraceFlags, TraceId};
    /// use telem_otlp::{Encoder, Protocol};
    ///
    /// let mut record = LogRecord::new(Level::Warn, "book not found");
    /// record.time_unix_nano = 1_700_000_000_000_000_000;
    /// record.observed_time_unix_nano = 1_700_000_000_000_000_000;
    /// record.target = "bookstore::routes".into();
    /// record.attributes.push(KeyValue::new("book.id", 999i64));
    /// record.trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    /// record.span_id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
    /// record.trace_flags = TraceFlags::SAMPLED;
    /// let mut body = Vec::new();
    /// Encoder::new(Protocol::HttpJson, vec![]).encode_logs([&record], &mut body);
    /// assert_eq!(
    ///     String::from_utf8(body).unwrap(),
    ///     r#"{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{"name":"bookstore::routes"},"logRecords":[{"timeUnixNano":"1700000000000000000","observedTimeUnixNano":"1700000000000000000","severityNumber":13,"severityText":"WARN","body":{"stringValue":"book not found"},"attributes":[{"key":"book.id","value":{"intValue":"999"}}],"flags":1,"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7"}]}]}]}"#
    /// );
    /// ```
    pub fn encode_logs<'a>(
        &self,
        records: impl IntoIterator<Item = &'a LogRecord>,
        out: &mut Vec<u8>,
    ) {
        let groups = group_by_scope(records, |record| record.target.as_str());
        let scopes = self.scopes(&groups);
        match self.protocol {
            #[cfg(feature = "protobuf")]
            Protocol::HttpProtobuf => protobuf::logs(&self.resource, &scopes, out),
            _ => json::logs(&self.resource, &scopes, out),
        }
    }

    fn scopes<'g, 'a, T>(
        &'g self,
        groups: &'g [(&'a str, Vec<&'a T>)],
    ) -> Vec<ScopeGroup<'g, 'a, T>> {
        groups
            .iter()
            .map(|(name, items)| ScopeGroup {
                name,
                version: self.scope_version(name),
                items,
            })
            .collect()
    }

    /// Appends an `ExportMetricsServiceRequest` holding `families` to `out`: cumulative
    /// sums (counters monotonic, up-down counters not), gauges and explicit-bucket
    /// histograms with their exemplars, at `time_unix_nano`, under the scope `telem`.
    ///
    /// ```
    /// use telem::metrics::Registry;
    /// use telem_otlp::{Encoder, Protocol};
    /// let registry = Registry::new();
    /// registry.counter("jobs_total").unwrap().increment(3);
    /// let mut body = Vec::new();
    /// Encoder::new(Protocol::HttpJson, vec![]).encode_metrics(&registry.snapshot(), 42, &mut body);
    /// let json = String::from_utf8(body).unwrap();
    /// assert!(json.contains(r#""sum":{"dataPoints":[{"#));
    /// assert!(json.contains(r#""timeUnixNano":"42","asInt":"3"}],"aggregationTemporality":2,"isMonotonic":true}"#));
    /// ```
    pub fn encode_metrics(
        &self,
        families: &[MetricFamilySnapshot],
        time_unix_nano: u64,
        out: &mut Vec<u8>,
    ) {
        self.encode_metrics_with(families, time_unix_nano, Temporality::Cumulative, out)
    }

    /// [`Encoder::encode_metrics`] with the temporality the values were prepared in
    /// (deltas are computed by the exporter, see `delta.rs`).
    pub(crate) fn encode_metrics_with(
        &self,
        families: &[MetricFamilySnapshot],
        time_unix_nano: u64,
        temporality: Temporality,
        out: &mut Vec<u8>,
    ) {
        let metrics = MetricsBody {
            families,
            time_unix_nano,
            temporality,
            scope_version: resource::SDK_VERSION,
        };
        match self.protocol {
            #[cfg(feature = "protobuf")]
            Protocol::HttpProtobuf => protobuf::metrics(&self.resource, &metrics, out),
            _ => json::metrics(&self.resource, &metrics, out),
        }
    }

    fn scope_version(&self, scope: &str) -> &str {
        self.scope_versions
            .iter()
            .find(|(name, _)| name == scope)
            .map_or("", |(_, version)| version.as_str())
    }
}

/// The spans or log records of one instrumentation scope.
pub(crate) struct ScopeGroup<'g, 'a, T> {
    pub(crate) name: &'a str,
    pub(crate) version: &'g str,
    pub(crate) items: &'g [&'a T],
}

/// `items` grouped by the scope `scope` reads from each, groups in order of first
/// appearance.
fn group_by_scope<'a, T>(
    items: impl IntoIterator<Item = &'a T>,
    scope: impl Fn(&'a T) -> &'a str,
) -> Vec<(&'a str, Vec<&'a T>)> {
    let mut groups: Vec<(&'a str, Vec<&'a T>)> = Vec::new();
    for item in items {
        let name = scope(item);
        // Items of one scope usually come together: check the last group first.
        match groups.iter_mut().rev().find(|(n, _)| *n == name) {
            Some((_, group)) => group.push(item),
            None => groups.push((name, vec![item])),
        }
    }
    groups
}

/// The semantic conventions' names of a log record's source location attributes.
pub(crate) const CODE_FILE_PATH: &str = "code.file.path";
pub(crate) const CODE_LINE_NUMBER: &str = "code.line.number";

/// What a metrics request holds.
pub(crate) struct MetricsBody<'a> {
    pub(crate) families: &'a [MetricFamilySnapshot],
    pub(crate) time_unix_nano: u64,
    pub(crate) temporality: Temporality,
    pub(crate) scope_version: &'a str,
}

/// How a family maps to OTLP's data types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A sum: monotonic or not, with its aggregation temporality (1 delta, 2 cumulative).
    Sum {
        monotonic: bool,
        temporality: i32,
    },
    Gauge,
    /// A histogram with its aggregation temporality.
    Histogram {
        temporality: i32,
    },
}

pub(crate) const DELTA: i32 = 1;
pub(crate) const CUMULATIVE: i32 = 2;

impl Shape {
    pub(crate) fn of(kind: InstrumentKind, temporality: Temporality) -> Option<Self> {
        let delta = match temporality {
            Temporality::Delta => DELTA,
            _ => CUMULATIVE,
        };
        Some(match kind {
            InstrumentKind::Counter | InstrumentKind::CounterF64 => Shape::Sum {
                monotonic: true,
                temporality: delta,
            },
            InstrumentKind::UpDownCounter => Shape::Sum {
                monotonic: false,
                temporality: CUMULATIVE,
            },
            InstrumentKind::Gauge | InstrumentKind::GaugeF64 => Shape::Gauge,
            InstrumentKind::Histogram => Shape::Histogram { temporality: delta },
            _ => return None,
        })
    }
}

/// The registry's units (`seconds`, `bytes`) in UCUM, as OTLP expects (`s`, `By`);
/// others pass through.
pub(crate) fn unit(unit: &str) -> &str {
    match unit {
        "seconds" => "s",
        "milliseconds" => "ms",
        "microseconds" => "us",
        "nanoseconds" => "ns",
        "bytes" => "By",
        "ratio" => "1",
        "percent" => "%",
        other => other,
    }
}

/// A label as an OTLP attribute: the cardinality overflow series' label becomes
/// OpenTelemetry's `otel.metric.overflow = true`. A label with an empty value is no
/// attribute at all (the encoders skip it), as Prometheus reads it: a family's label
/// names are fixed, so an empty value is how a series says "absent" (`error_type` of a
/// success, no consumer group).
pub(crate) enum Label<'a> {
    Overflow,
    Text(&'a str, &'a str),
}

pub(crate) fn label<'a>(name: &'a str, value: &'a str) -> Label<'a> {
    if name == OVERFLOW_LABEL && value == "true" {
        Label::Overflow
    } else {
        Label::Text(name, value)
    }
}

/// A `u64` counter total as OTLP's `sfixed64` `asInt` (saturating at `i64::MAX`).
pub(crate) fn as_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use telem::{
        Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };

    /// A span with every field set.
    pub(crate) fn full_span() -> SpanData {
        SpanData {
            name: "GET \"/books\"\n".into(),
            scope: "books".into(),
            context: SpanContext::new(
                TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
                SpanId::from_hex("00f067aa0ba902b7").unwrap(),
                TraceFlags::SAMPLED,
                TraceState::from_entries([("vendor", "v1")]).unwrap(),
                false,
            ),
            parent_span_id: SpanId::from_hex("0102030405060708").unwrap(),
            parent_is_remote: true,
            kind: SpanKind::Client,
            start_time_unix_nano: 1_700_000_000_000_000_001,
            end_time_unix_nano: 1_700_000_000_000_000_999,
            attributes: [
                KeyValue::new("s", "text"),
                KeyValue::new("i", -7i64),
                KeyValue::new("f", 0.5),
                KeyValue::new("b", true),
                KeyValue::new("a", vec![1i64, 2]),
                KeyValue::new("nan", f64::NAN),
            ]
            .into_iter()
            .collect(),
            events: vec![Event {
                name: "exception".into(),
                time_unix_nano: 1_700_000_000_000_000_500,
                attributes: vec![KeyValue::new("exception.message", "boom")],
                dropped_attributes_count: 1,
            }],
            links: vec![Link {
                context: SpanContext::new(
                    TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
                    SpanId::from_hex("b7ad6b7169203331").unwrap(),
                    TraceFlags::NONE,
                    TraceState::default(),
                    true,
                ),
                attributes: vec![KeyValue::new("link.kind", "follows")],
            }],
            status: Status::error("db timeout"),
            dropped_attributes_count: 2,
            dropped_events_count: 3,
            dropped_links_count: 4,
        }
    }

    #[test]
    fn spans_group_by_scope_in_order_of_first_appearance() {
        let mut a = full_span();
        a.scope = "a".into();
        let mut b = full_span();
        b.scope = "b".into();
        let spans = [a.clone(), b.clone(), a.clone()];
        let groups = group_by_scope(&spans, |s| s.scope.as_str());
        assert_eq!(
            groups
                .iter()
                .map(|(n, s)| (*n, s.len()))
                .collect::<Vec<_>>(),
            [("a", 2), ("b", 1)]
        );
    }

    /// A log record with every field set.
    pub(crate) fn full_log() -> LogRecord {
        let mut r = LogRecord::new(telem::Severity::new(14), "book \"999\" not found\n");
        r.time_unix_nano = 1_700_000_000_000_000_001;
        r.observed_time_unix_nano = 1_700_000_000_000_000_002;
        r.attributes = [KeyValue::new("book.id", 999i64), KeyValue::new("ok", false)]
            .into_iter()
            .collect();
        r.context_fields = [KeyValue::new("request.id", "r-17")].into_iter().collect();
        r.event_name = Some("book.missing".into());
        r.target = "bookstore::routes".into();
        r.file = Some("src/routes.rs".into());
        r.line = Some(42);
        r.trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        r.span_id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
        r.trace_flags = TraceFlags::SAMPLED;
        r
    }

    #[test]
    fn log_records_group_by_target() {
        let mut b = full_log();
        b.target = "b".into();
        let records = [full_log(), b, full_log()];
        let groups = group_by_scope(&records, |r| r.target.as_str());
        assert_eq!(
            groups
                .iter()
                .map(|(n, r)| (*n, r.len()))
                .collect::<Vec<_>>(),
            [("bookstore::routes", 2), ("b", 1)]
        );
    }

    #[test]
    fn units_become_ucum() {
        assert_eq!(unit("seconds"), "s");
        assert_eq!(unit("bytes"), "By");
        assert_eq!(unit("requests"), "requests");
    }
}
