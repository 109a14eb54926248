//! OTLP/JSON, written by hand: the protobuf JSON mapping with OTLP's exceptions. Field
//! names in lowerCamelCase; trace and span ids as lowercase hex (not base64); enums as
//! integers; 64-bit integers (times, `intValue`, counts) as strings; doubles as numbers,
//! `"NaN"`, `"Infinity"` or `"-Infinity"`; fields at their default value omitted.

use super::{
    label, unit, Label, MetricsBody, ScopeGroup, Shape, CODE_FILE_PATH, CODE_LINE_NUMBER,
    METRICS_SCOPE,
};
use telem::metrics::{Exemplar, HistogramValue, MetricFamilySnapshot, MetricValue, SeriesSnapshot};
use telem::otlp_json::{
    any_value as write_any_value, attributes as write_attributes, f64 as write_f64,
    hex as write_hex, list as write_list, span as write_span, string as write_str,
    u64 as write_u64, u64_string as write_u64_string,
};
use telem::{KeyValue, LogRecord};

/// The field names of one signal's request envelope, each with what precedes it:
/// `{"resourceSpans":[{"resource":`, `,"scopeSpans":[`, `,"spans":[`.
struct Envelope {
    resources: &'static [u8],
    scopes: &'static [u8],
    items: &'static [u8],
}

const TRACES: Envelope = Envelope {
    resources: b"{\"resourceSpans\":[{\"resource\":",
    scopes: b",\"scopeSpans\":[",
    items: b",\"spans\":[",
};

const LOGS: Envelope = Envelope {
    resources: b"{\"resourceLogs\":[{\"resource\":",
    scopes: b",\"scopeLogs\":[",
    items: b",\"logRecords\":[",
};

pub(super) fn traces(
    resource: &[KeyValue],
    scopes: &[ScopeGroup<'_, '_, telem::SpanData>],
    out: &mut Vec<u8>,
) {
    request(&TRACES, resource, scopes, out, write_span);
}

pub(super) fn logs(
    resource: &[KeyValue],
    scopes: &[ScopeGroup<'_, '_, LogRecord>],
    out: &mut Vec<u8>,
) {
    request(&LOGS, resource, scopes, out, write_log_record);
}

/// One resource, its scopes, each with its items written by `write`.
fn request<T>(
    envelope: &Envelope,
    resource: &[KeyValue],
    scopes: &[ScopeGroup<'_, '_, T>],
    out: &mut Vec<u8>,
    write: impl Fn(&T, &mut Vec<u8>) + Copy,
) {
    out.extend_from_slice(envelope.resources);
    write_resource(resource, out);
    out.extend_from_slice(envelope.scopes);
    write_list(scopes, out, |scope, out| {
        out.extend_from_slice(b"{\"scope\":");
        write_scope(scope.name, scope.version, out);
        out.extend_from_slice(envelope.items);
        write_list(scope.items.iter().copied(), out, write);
        out.extend_from_slice(b"]}");
    });
    out.extend_from_slice(b"]}]}");
}

/// A `LogRecord` (see the mapping in `encode/mod.rs`); fields at their default value
/// omitted, as in every OTLP/JSON object.
fn write_log_record(record: &LogRecord, out: &mut Vec<u8>) {
    out.push(b'{');
    // The first field written opens without a comma.
    let mut sep = "";
    let mut field = |name: &str, out: &mut Vec<u8>| {
        out.extend_from_slice(sep.as_bytes());
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        sep = ",";
    };
    if record.time_unix_nano != 0 {
        field("timeUnixNano", out);
        write_u64_string(record.time_unix_nano, out);
    }
    if record.observed_time_unix_nano != 0 {
        field("observedTimeUnixNano", out);
        write_u64_string(record.observed_time_unix_nano, out);
    }
    let severity = record.severity;
    if severity.number() != 0 {
        field("severityNumber", out);
        write_u64(u64::from(severity.number()), out);
        field("severityText", out);
        write_str(severity.text(), out);
    }
    if !record.body.is_empty() {
        field("body", out);
        out.extend_from_slice(b"{\"stringValue\":");
        write_str(&record.body, out);
        out.push(b'}');
    }
    let fields = record.attributes.iter().chain(record.context_fields.iter());
    if fields.clone().next().is_some() || record.file.is_some() || record.line.is_some() {
        field("attributes", out);
        out.push(b'[');
        let mut first = true;
        let mut attribute = |key: &str, out: &mut Vec<u8>| {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(b"{\"key\":");
            write_str(key, out);
            out.extend_from_slice(b",\"value\":");
        };
        for kv in fields {
            attribute(&kv.key, out);
            write_any_value(&kv.value, out);
            out.push(b'}');
        }
        if let Some(file) = &record.file {
            attribute(CODE_FILE_PATH, out);
            out.extend_from_slice(b"{\"stringValue\":");
            write_str(file, out);
            out.extend_from_slice(b"}}");
        }
        if let Some(line) = record.line {
            attribute(CODE_LINE_NUMBER, out);
            out.extend_from_slice(b"{\"intValue\":");
            write_u64_string(u64::from(line), out);
            out.extend_from_slice(b"}}");
        }
        out.push(b']');
    }
    let flags = record.trace_flags.bits();
    if flags != 0 {
        field("flags", out);
        write_u64(u64::from(flags), out);
    }
    if record.trace_id.is_valid() {
        field("traceId", out);
        write_hex(&record.trace_id.to_bytes(), out);
    }
    if record.span_id.is_valid() {
        field("spanId", out);
        write_hex(&record.span_id.to_bytes(), out);
    }
    if let Some(name) = record.event_name.as_ref().filter(|n| !n.is_empty()) {
        field("eventName", out);
        write_str(name, out);
    }
    out.push(b'}');
}

pub(super) fn metrics(resource: &[KeyValue], body: &MetricsBody<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"resourceMetrics\":[{\"resource\":");
    write_resource(resource, out);
    out.extend_from_slice(b",\"scopeMetrics\":[{\"scope\":");
    write_scope(METRICS_SCOPE, body.scope_version, out);
    out.extend_from_slice(b",\"metrics\":[");
    let exported = body
        .families
        .iter()
        .filter_map(|f| Some((f, Shape::of(f.kind, body.temporality)?)));
    write_list(exported, out, |(family, shape), out| {
        write_metric(family, shape, body.time_unix_nano, out);
    });
    out.extend_from_slice(b"]}]}]}");
}

fn write_resource(attributes: &[KeyValue], out: &mut Vec<u8>) {
    out.push(b'{');
    if !attributes.is_empty() {
        out.extend_from_slice(b"\"attributes\":");
        write_attributes(attributes, out);
    }
    out.push(b'}');
}

fn write_scope(name: &str, version: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"name\":");
    write_str(name, out);
    if !version.is_empty() {
        out.extend_from_slice(b",\"version\":");
        write_str(version, out);
    }
    out.push(b'}');
}

fn write_metric(family: &MetricFamilySnapshot, shape: Shape, time: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"name\":");
    write_str(&family.name, out);
    if !family.help.is_empty() {
        out.extend_from_slice(b",\"description\":");
        write_str(&family.help, out);
    }
    if !family.unit.is_empty() {
        out.extend_from_slice(b",\"unit\":");
        write_str(unit(&family.unit), out);
    }
    match shape {
        Shape::Sum {
            monotonic,
            temporality,
        } => {
            out.extend_from_slice(b",\"sum\":{\"dataPoints\":[");
            write_number_points(&family.series, true, time, out);
            out.extend_from_slice(b"],\"aggregationTemporality\":");
            write_u64(temporality as u64, out);
            if monotonic {
                out.extend_from_slice(b",\"isMonotonic\":true");
            }
            out.push(b'}');
        }
        Shape::Gauge => {
            out.extend_from_slice(b",\"gauge\":{\"dataPoints\":[");
            write_number_points(&family.series, false, time, out);
            out.extend_from_slice(b"]}");
        }
        Shape::Histogram { temporality } => {
            out.extend_from_slice(b",\"histogram\":{\"dataPoints\":[");
            let mut first = true;
            for series in &family.series {
                if let MetricValue::Histogram(h) = &series.value {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    write_histogram_point(series, h, &family.bounds, time, out);
                }
            }
            out.extend_from_slice(b"],\"aggregationTemporality\":");
            write_u64(temporality as u64, out);
            out.push(b'}');
        }
    }
    out.push(b'}');
}

fn write_point_head(series: &SeriesSnapshot, with_start: bool, time: u64, out: &mut Vec<u8>) {
    out.push(b'{');
    if series.labels.iter().any(|(_, value)| !value.is_empty()) {
        out.extend_from_slice(b"\"attributes\":");
        write_labels(series, out);
        out.push(b',');
    }
    if with_start {
        out.extend_from_slice(b"\"startTimeUnixNano\":");
        write_u64_string(series.start_time_unix_nano, out);
        out.push(b',');
    }
    out.extend_from_slice(b"\"timeUnixNano\":");
    write_u64_string(time, out);
}

fn write_number_points(series: &[SeriesSnapshot], with_start: bool, time: u64, out: &mut Vec<u8>) {
    let mut first = true;
    for s in series {
        let (int, double) = match s.value {
            MetricValue::U64(v) => (Some(super::as_int(v)), None),
            MetricValue::I64(v) => (Some(v), None),
            MetricValue::F64(v) => (None, Some(v)),
            _ => continue,
        };
        if !first {
            out.push(b',');
        }
        first = false;
        write_point_head(s, with_start, time, out);
        if let Some(v) = int {
            out.extend_from_slice(b",\"asInt\":\"");
            out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
            out.push(b'"');
        }
        if let Some(v) = double {
            out.extend_from_slice(b",\"asDouble\":");
            write_f64(v, out);
        }
        if let Some(e) = &s.exemplar {
            out.extend_from_slice(b",\"exemplars\":[");
            write_exemplar(e, out);
            out.push(b']');
        }
        out.push(b'}');
    }
}

fn write_histogram_point(
    series: &SeriesSnapshot,
    h: &HistogramValue,
    bounds: &[f64],
    time: u64,
    out: &mut Vec<u8>,
) {
    write_point_head(series, true, time, out);
    out.extend_from_slice(b",\"count\":");
    write_u64_string(h.count, out);
    out.extend_from_slice(b",\"sum\":");
    write_f64(h.sum, out);
    out.extend_from_slice(b",\"bucketCounts\":[");
    write_list(h.bucket_counts.iter(), out, |c, out| {
        write_u64_string(*c, out)
    });
    out.extend_from_slice(b"],\"explicitBounds\":[");
    write_list(bounds.iter(), out, |b, out| write_f64(*b, out));
    out.push(b']');
    if !h.exemplars.is_empty() {
        out.extend_from_slice(b",\"exemplars\":[");
        write_list(h.exemplars.iter(), out, |(_, e), out| {
            write_exemplar(e, out)
        });
        out.push(b']');
    }
    out.push(b'}');
}

fn write_exemplar(e: &Exemplar, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"timeUnixNano\":");
    write_u64_string(e.time_unix_nano, out);
    out.extend_from_slice(b",\"asDouble\":");
    write_f64(e.value, out);
    out.extend_from_slice(b",\"spanId\":");
    write_hex(&e.span_id.to_bytes(), out);
    out.extend_from_slice(b",\"traceId\":");
    write_hex(&e.trace_id.to_bytes(), out);
    out.push(b'}');
}

fn write_labels(series: &SeriesSnapshot, out: &mut Vec<u8>) {
    out.push(b'[');
    write_list(
        series.labels.iter().filter(|(_, value)| !value.is_empty()),
        out,
        |(name, value), out| match label(name, value) {
            Label::Overflow => {
                out.extend_from_slice(
                    b"{\"key\":\"otel.metric.overflow\",\"value\":{\"boolValue\":true}}",
                );
            }
            Label::Text(name, value) => {
                out.extend_from_slice(b"{\"key\":");
                write_str(name, out);
                out.extend_from_slice(b",\"value\":{\"stringValue\":");
                write_str(value, out);
                out.extend_from_slice(b"}}");
            }
        },
    );
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::tests::{full_log, full_span};
    use crate::encode::Encoder;
    use crate::Protocol;

    #[test]
    fn a_full_span_is_valid_json_with_otlp_types() {
        let span = full_span();
        let mut out = Vec::new();
        Encoder::new(Protocol::HttpJson, vec![KeyValue::new("service.name", "x")])
            .encode_spans([&span], &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let s = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(s["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(s["spanId"], "00f067aa0ba902b7");
        assert_eq!(s["parentSpanId"], "0102030405060708");
        assert_eq!(s["traceState"], "vendor=v1");
        assert_eq!(s["flags"], 0x301);
        assert_eq!(s["name"], "GET \"/books\"\n");
        assert_eq!(s["kind"], 3);
        assert_eq!(s["startTimeUnixNano"], "1700000000000000001");
        assert_eq!(s["endTimeUnixNano"], "1700000000000000999");
        assert_eq!(s["attributes"][1]["value"]["intValue"], "-7");
        assert_eq!(s["attributes"][2]["value"]["doubleValue"], 0.5);
        assert_eq!(s["attributes"][3]["value"]["boolValue"], true);
        assert_eq!(
            s["attributes"][4]["value"]["arrayValue"]["values"][1]["intValue"],
            "2"
        );
        assert_eq!(s["attributes"][5]["value"]["doubleValue"], "NaN");
        assert_eq!(s["droppedAttributesCount"], 2);
        assert_eq!(s["droppedEventsCount"], 3);
        assert_eq!(s["droppedLinksCount"], 4);
        assert_eq!(s["events"][0]["timeUnixNano"], "1700000000000000500");
        assert_eq!(s["events"][0]["droppedAttributesCount"], 1);
        assert_eq!(s["links"][0]["traceId"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(s["links"][0]["flags"], 0x300);
        assert_eq!(s["status"]["code"], 2);
        assert_eq!(s["status"]["message"], "db timeout");
        assert_eq!(
            v["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"],
            "books"
        );
    }

    #[test]
    fn a_full_log_record_is_valid_json_with_otlp_types() {
        let record = full_log();
        let mut out = Vec::new();
        Encoder::new(Protocol::HttpJson, vec![]).encode_logs([&record], &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let scope = &v["resourceLogs"][0]["scopeLogs"][0];
        assert_eq!(scope["scope"]["name"], "bookstore::routes");
        let r = &scope["logRecords"][0];
        assert_eq!(r["timeUnixNano"], "1700000000000000001");
        assert_eq!(r["observedTimeUnixNano"], "1700000000000000002");
        assert_eq!(r["severityNumber"], 14);
        assert_eq!(r["severityText"], "WARN2");
        assert_eq!(r["body"]["stringValue"], "book \"999\" not found\n");
        let keys: Vec<&str> = r["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["key"].as_str().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "book.id",
                "ok",
                "request.id",
                "code.file.path",
                "code.line.number"
            ]
        );
        assert_eq!(r["attributes"][4]["value"]["intValue"], "42");
        assert_eq!(r["flags"], 1);
        assert_eq!(r["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(r["spanId"], "00f067aa0ba902b7");
        assert_eq!(r["eventName"], "book.missing");
    }

    #[test]
    fn a_bare_log_record_writes_only_what_it_has() {
        let mut record = telem::LogRecord::new(telem::Severity::UNSPECIFIED, "");
        record.time_unix_nano = 0;
        record.observed_time_unix_nano = 5;
        let mut out = Vec::new();
        write_log_record(&record, &mut out);
        assert_eq!(out, br#"{"observedTimeUnixNano":"5"}"#);
    }
}
