//! OTLP protobuf, written field by field with prost's wire primitives (the functions
//! prost's generated code calls), straight from the spans: no owned message tree, so no
//! allocation per attribute. Field numbers are those of `opentelemetry/proto/*.proto`.
//!
//! A nested message is written after a one-byte length placeholder; a message longer
//! than 127 bytes moves its bytes up to make room for the longer length (only the few
//! large outer messages pay that copy).

use super::{
    label, unit, Label, MetricsBody, ScopeGroup, Shape, CODE_FILE_PATH, CODE_LINE_NUMBER,
    METRICS_SCOPE,
};
use prost::encoding::{encoded_len_varint, WireType};
use telem::metrics::{Exemplar, HistogramValue, MetricFamilySnapshot, MetricValue, SeriesSnapshot};
use telem::otlp_json::span_flags;
use telem::{Event, KeyValue, Link, LogRecord, SpanData, Status, TraceState, Value};

/// A field's key. Every field number here is below 16, so nearly every key is one byte:
/// written directly instead of through prost's general loop (which was a fifth of the
/// encoding's instructions).
#[inline]
fn key(field: u32, wire_type: WireType, buf: &mut Vec<u8>) {
    let key = (field << 3) | wire_type as u32;
    if key < 0x80 {
        buf.push(key as u8);
    } else {
        prost::encoding::encode_key(field, wire_type, buf);
    }
}

/// A varint, with the one-byte case (small lengths, counts, enums) inline.
#[inline]
fn varint(v: u64, buf: &mut impl prost::bytes::BufMut) {
    if v < 0x80 {
        buf.put_u8(v as u8);
    } else {
        prost::encoding::encode_varint(v, buf);
    }
}

struct Pb<'a>(&'a mut Vec<u8>);

impl Pb<'_> {
    fn message(&mut self, field: u32, f: impl FnOnce(&mut Self)) {
        key(field, WireType::LengthDelimited, self.0);
        let at = self.0.len();
        self.0.push(0);
        f(self);
        let len = self.0.len() - at - 1;
        if len < 0x80 {
            self.0[at] = len as u8;
            return;
        }
        let n = encoded_len_varint(len as u64);
        let end = self.0.len();
        self.0.resize(end + n - 1, 0);
        self.0.copy_within(at + 1..end, at + n);
        let mut slot = &mut self.0[at..at + n];
        varint(len as u64, &mut slot);
    }

    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        key(field, WireType::LengthDelimited, self.0);
        varint(b.len() as u64, self.0);
        self.0.extend_from_slice(b);
    }

    fn varint(&mut self, field: u32, v: u64) {
        if v != 0 {
            key(field, WireType::Varint, self.0);
            varint(v, self.0);
        }
    }

    fn fixed64(&mut self, field: u32, v: u64) {
        if v != 0 {
            key(field, WireType::SixtyFourBit, self.0);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn fixed32(&mut self, field: u32, v: u32) {
        if v != 0 {
            key(field, WireType::ThirtyTwoBit, self.0);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// A `double` that is always written (a oneof member or an `optional` field).
    fn double(&mut self, field: u32, v: f64) {
        key(field, WireType::SixtyFourBit, self.0);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// An `sfixed64` that is always written (a oneof member).
    fn sfixed64(&mut self, field: u32, v: i64) {
        key(field, WireType::SixtyFourBit, self.0);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn packed_fixed64(&mut self, field: u32, values: impl ExactSizeIterator<Item = u64>) {
        if values.len() == 0 {
            return;
        }
        key(field, WireType::LengthDelimited, self.0);
        varint(values.len() as u64 * 8, self.0);
        for v in values {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }
}

pub(super) fn traces(
    resource: &[KeyValue],
    scopes: &[ScopeGroup<'_, '_, SpanData>],
    out: &mut Vec<u8>,
) {
    request(resource, scopes, out, write_span);
}

pub(super) fn logs(
    resource: &[KeyValue],
    scopes: &[ScopeGroup<'_, '_, LogRecord>],
    out: &mut Vec<u8>,
) {
    request(resource, scopes, out, write_log_record);
}

/// One resource and its scopes, each with its items written by `write`. Traces and
/// logs number their envelopes alike: `Export{Trace,Logs}ServiceRequest.resource_* = 1`,
/// `Resource*.resource = 1`, `Resource*.scope_* = 2`, `Scope*.scope = 1`,
/// `ScopeSpans.spans = 2` / `ScopeLogs.log_records = 2`.
fn request<T>(
    resource: &[KeyValue],
    scopes: &[ScopeGroup<'_, '_, T>],
    out: &mut Vec<u8>,
    write: impl Fn(&mut Pb<'_>, &T) + Copy,
) {
    let mut pb = Pb(out);
    pb.message(1, |pb| {
        pb.message(1, |pb| write_attributes(pb, 1, resource));
        for scope in scopes {
            pb.message(2, |pb| {
                pb.message(1, |pb| {
                    pb.string(1, scope.name);
                    pb.string(2, scope.version);
                });
                for item in scope.items {
                    pb.message(2, |pb| write(pb, item));
                }
            });
        }
    });
}

/// A `LogRecord` (see the mapping in `encode/mod.rs`), fields in number order.
fn write_log_record(pb: &mut Pb<'_>, record: &LogRecord) {
    pb.fixed64(1, record.time_unix_nano);
    pb.varint(2, u64::from(record.severity.number()));
    pb.string(3, record.severity.text());
    if !record.body.is_empty() {
        // AnyValue.string_value = 1
        pb.message(5, |pb| pb.bytes(1, record.body.as_bytes()));
    }
    write_attributes(pb, 6, record.attributes.iter());
    write_attributes(pb, 6, record.context_fields.iter());
    if let Some(file) = &record.file {
        pb.message(6, |pb| {
            pb.string(1, CODE_FILE_PATH);
            pb.message(2, |pb| pb.bytes(1, file.as_bytes()));
        });
    }
    if let Some(line) = record.line {
        pb.message(6, |pb| {
            pb.string(1, CODE_LINE_NUMBER);
            // AnyValue.int_value = 3
            pb.message(2, |pb| {
                key(3, WireType::Varint, pb.0);
                varint(u64::from(line), pb.0);
            });
        });
    }
    pb.fixed32(8, u32::from(record.trace_flags.bits()));
    if record.trace_id.is_valid() {
        pb.bytes(9, &record.trace_id.to_bytes());
    }
    if record.span_id.is_valid() {
        pb.bytes(10, &record.span_id.to_bytes());
    }
    pb.fixed64(11, record.observed_time_unix_nano);
    if let Some(name) = &record.event_name {
        pb.string(12, name);
    }
}

fn write_span(pb: &mut Pb<'_>, span: &SpanData) {
    let ctx = &span.context;
    pb.bytes(1, &ctx.trace_id.to_bytes());
    pb.bytes(2, &ctx.span_id.to_bytes());
    write_trace_state(pb, 3, &ctx.state);
    if span.parent_span_id.is_valid() {
        pb.bytes(4, &span.parent_span_id.to_bytes());
    }
    pb.string(5, &span.name);
    pb.varint(6, u64::from(span.kind.otlp_code()));
    pb.fixed64(7, span.start_time_unix_nano);
    pb.fixed64(8, span.end_time_unix_nano);
    write_attributes(pb, 9, span.attributes.iter());
    pb.varint(10, u64::from(span.dropped_attributes_count));
    for event in &span.events {
        pb.message(11, |pb| write_event(pb, event));
    }
    pb.varint(12, u64::from(span.dropped_events_count));
    for link in &span.links {
        pb.message(13, |pb| write_link(pb, link));
    }
    pb.varint(14, u64::from(span.dropped_links_count));
    pb.message(15, |pb| write_status(pb, &span.status));
    pb.fixed32(16, span_flags(ctx.flags.bits(), span.parent_is_remote));
}

fn write_trace_state(pb: &mut Pb<'_>, field: u32, state: &TraceState) {
    if state.is_empty() {
        return;
    }
    pb.message(field, |pb| {
        for (i, (k, v)) in state.entries().enumerate() {
            if i > 0 {
                pb.0.push(b',');
            }
            pb.0.extend_from_slice(k.as_bytes());
            pb.0.push(b'=');
            pb.0.extend_from_slice(v.as_bytes());
        }
    });
}

fn write_event(pb: &mut Pb<'_>, event: &Event) {
    pb.fixed64(1, event.time_unix_nano);
    pb.string(2, &event.name);
    write_attributes(pb, 3, &event.attributes);
    pb.varint(4, u64::from(event.dropped_attributes_count));
}

fn write_link(pb: &mut Pb<'_>, link: &Link) {
    let ctx = &link.context;
    pb.bytes(1, &ctx.trace_id.to_bytes());
    pb.bytes(2, &ctx.span_id.to_bytes());
    write_trace_state(pb, 3, &ctx.state);
    write_attributes(pb, 4, &link.attributes);
    pb.fixed32(6, span_flags(ctx.flags.bits(), ctx.is_remote));
}

fn write_status(pb: &mut Pb<'_>, status: &Status) {
    if let Status::Error { description } = status {
        pb.string(2, description);
    }
    pb.varint(3, u64::from(status.otlp_code()));
}

fn write_attributes<'a>(
    pb: &mut Pb<'_>,
    field: u32,
    attributes: impl IntoIterator<Item = &'a KeyValue>,
) {
    for kv in attributes {
        pb.message(field, |pb| {
            pb.string(1, &kv.key);
            pb.message(2, |pb| write_value(pb, &kv.value));
        });
    }
}

/// An `AnyValue`: its oneof member is written even when zero or empty.
fn write_value(pb: &mut Pb<'_>, value: &Value) {
    match value {
        Value::String(s) => pb.bytes(1, s.as_bytes()),
        Value::Bool(v) => {
            key(2, WireType::Varint, pb.0);
            varint(u64::from(*v), pb.0);
        }
        Value::I64(v) => {
            key(3, WireType::Varint, pb.0);
            varint(*v as u64, pb.0);
        }
        Value::F64(v) => pb.double(4, *v),
        Value::Array(values) => pb.message(5, |pb| {
            for v in values.iter() {
                pb.message(1, |pb| write_value(pb, v));
            }
        }),
        other => pb.bytes(1, other.to_string().as_bytes()),
    }
}

pub(super) fn metrics(resource: &[KeyValue], body: &MetricsBody<'_>, out: &mut Vec<u8>) {
    let mut pb = Pb(out);
    // ExportMetricsServiceRequest.resource_metrics = 1
    pb.message(1, |pb| {
        pb.message(1, |pb| write_attributes(pb, 1, resource));
        // ResourceMetrics.scope_metrics = 2
        pb.message(2, |pb| {
            pb.message(1, |pb| {
                pb.string(1, METRICS_SCOPE);
                pb.string(2, body.scope_version);
            });
            for family in body.families {
                if let Some(shape) = Shape::of(family.kind, body.temporality) {
                    // ScopeMetrics.metrics = 2
                    pb.message(2, |pb| write_metric(pb, family, shape, body.time_unix_nano));
                }
            }
        });
    });
}

fn write_metric(pb: &mut Pb<'_>, family: &MetricFamilySnapshot, shape: Shape, time: u64) {
    pb.string(1, &family.name);
    pb.string(2, &family.help);
    pb.string(3, unit(&family.unit));
    match shape {
        // Metric.sum = 7 { data_points = 1, aggregation_temporality = 2, is_monotonic = 3 }
        Shape::Sum {
            monotonic,
            temporality,
        } => pb.message(7, |pb| {
            write_number_points(pb, &family.series, true, time);
            pb.varint(2, temporality as u64);
            pb.varint(3, u64::from(monotonic));
        }),
        // Metric.gauge = 5 { data_points = 1 }
        Shape::Gauge => pb.message(5, |pb| write_number_points(pb, &family.series, false, time)),
        // Metric.histogram = 9 { data_points = 1, aggregation_temporality = 2 }
        Shape::Histogram { temporality } => pb.message(9, |pb| {
            for series in &family.series {
                if let MetricValue::Histogram(h) = &series.value {
                    pb.message(1, |pb| {
                        write_histogram_point(pb, series, h, &family.bounds, time)
                    });
                }
            }
            pb.varint(2, temporality as u64);
        }),
    }
}

fn write_number_points(pb: &mut Pb<'_>, series: &[SeriesSnapshot], with_start: bool, time: u64) {
    for s in series {
        if !matches!(
            s.value,
            MetricValue::U64(_) | MetricValue::I64(_) | MetricValue::F64(_)
        ) {
            continue;
        }
        // NumberDataPoint
        pb.message(1, |pb| {
            write_labels(pb, 7, s);
            if with_start {
                pb.fixed64(2, s.start_time_unix_nano);
            }
            pb.fixed64(3, time);
            match s.value {
                MetricValue::U64(v) => pb.sfixed64(6, super::as_int(v)),
                MetricValue::I64(v) => pb.sfixed64(6, v),
                MetricValue::F64(v) => pb.double(4, v),
                _ => {}
            }
            if let Some(e) = &s.exemplar {
                pb.message(5, |pb| write_exemplar(pb, e));
            }
        });
    }
}

fn write_histogram_point(
    pb: &mut Pb<'_>,
    series: &SeriesSnapshot,
    h: &HistogramValue,
    bounds: &[f64],
    time: u64,
) {
    write_labels(pb, 9, series);
    pb.fixed64(2, series.start_time_unix_nano);
    pb.fixed64(3, time);
    pb.fixed64(4, h.count);
    pb.double(5, h.sum);
    pb.packed_fixed64(6, h.bucket_counts.iter().copied());
    pb.packed_fixed64(7, bounds.iter().map(|b| b.to_bits()));
    for (_, e) in &h.exemplars {
        pb.message(8, |pb| write_exemplar(pb, e));
    }
}

fn write_exemplar(pb: &mut Pb<'_>, e: &Exemplar) {
    pb.fixed64(2, e.time_unix_nano);
    pb.double(3, e.value);
    pb.bytes(4, &e.span_id.to_bytes());
    pb.bytes(5, &e.trace_id.to_bytes());
}

fn write_labels(pb: &mut Pb<'_>, field: u32, series: &SeriesSnapshot) {
    for (name, value) in series.labels.iter().filter(|(_, value)| !value.is_empty()) {
        pb.message(field, |pb| match label(name, value) {
            Label::Overflow => {
                pb.string(1, "otel.metric.overflow");
                pb.message(2, |pb| {
                    key(2, WireType::Varint, pb.0);
                    varint(1, pb.0);
                });
            }
            Label::Text(name, value) => {
                pb.string(1, name);
                pb.message(2, |pb| pb.bytes(1, value.as_bytes()));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_get_their_full_length_prefix() {
        for len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
            let mut out = Vec::new();
            Pb(&mut out).message(1, |pb| pb.0.extend(std::iter::repeat_n(7u8, len)));
            let mut rest = &out[1..];
            let decoded = prost::encoding::decode_varint(&mut rest).unwrap();
            assert_eq!(decoded as usize, len);
            assert_eq!(rest.len(), len);
            assert!(rest.iter().all(|b| *b == 7));
        }
    }
}
