//! OTLP/JSON, written by hand: the protobuf JSON mapping with OTLP's exceptions. Field
//! names in lowerCamelCase; trace and span ids as lowercase hex (not base64); enums as
//! integers; 64-bit integers (times, `intValue`, counts) as strings; doubles as numbers,
//! `"NaN"`, `"Infinity"` or `"-Infinity"`; fields at their default value omitted.

use super::{label, span_flags, unit, Label, MetricsBody, ScopeGroup, Shape, METRICS_SCOPE};
use telemetry::metrics::{
    Exemplar, HistogramValue, MetricFamilySnapshot, MetricValue, SeriesSnapshot,
};
use telemetry::{Event, KeyValue, Link, SpanData, Status, TraceState, Value};

pub(super) fn traces(resource: &[KeyValue], scopes: &[ScopeGroup<'_, '_>], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"resourceSpans\":[{\"resource\":");
    write_resource(resource, out);
    out.extend_from_slice(b",\"scopeSpans\":[");
    write_list(scopes, out, |scope, out| {
        out.extend_from_slice(b"{\"scope\":");
        write_scope(scope.name, scope.version, out);
        out.extend_from_slice(b",\"spans\":[");
        write_list(scope.spans.iter().copied(), out, write_span);
        out.extend_from_slice(b"]}");
    });
    out.extend_from_slice(b"]}]}");
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

fn write_span(span: &SpanData, out: &mut Vec<u8>) {
    let ctx = &span.context;
    out.extend_from_slice(b"{\"traceId\":");
    write_hex(&ctx.trace_id.to_bytes(), out);
    out.extend_from_slice(b",\"spanId\":");
    write_hex(&ctx.span_id.to_bytes(), out);
    write_trace_state(&ctx.state, out);
    if span.parent_span_id.is_valid() {
        out.extend_from_slice(b",\"parentSpanId\":");
        write_hex(&span.parent_span_id.to_bytes(), out);
    }
    out.extend_from_slice(b",\"flags\":");
    write_u64(
        u64::from(span_flags(ctx.flags.bits(), span.parent_is_remote)),
        out,
    );
    out.extend_from_slice(b",\"name\":");
    write_str(&span.name, out);
    out.extend_from_slice(b",\"kind\":");
    write_u64(u64::from(span.kind.otlp_code()), out);
    out.extend_from_slice(b",\"startTimeUnixNano\":");
    write_u64_string(span.start_time_unix_nano, out);
    out.extend_from_slice(b",\"endTimeUnixNano\":");
    write_u64_string(span.end_time_unix_nano, out);
    if !span.attributes.is_empty() {
        out.extend_from_slice(b",\"attributes\":");
        write_attributes(&span.attributes, out);
    }
    write_count(
        b",\"droppedAttributesCount\":",
        span.dropped_attributes_count,
        out,
    );
    if !span.events.is_empty() {
        out.extend_from_slice(b",\"events\":[");
        write_list(span.events.iter(), out, write_event);
        out.push(b']');
    }
    write_count(b",\"droppedEventsCount\":", span.dropped_events_count, out);
    if !span.links.is_empty() {
        out.extend_from_slice(b",\"links\":[");
        write_list(span.links.iter(), out, write_link);
        out.push(b']');
    }
    write_count(b",\"droppedLinksCount\":", span.dropped_links_count, out);
    out.extend_from_slice(b",\"status\":");
    write_status(&span.status, out);
    out.push(b'}');
}

fn write_trace_state(state: &TraceState, out: &mut Vec<u8>) {
    if state.is_empty() {
        return;
    }
    out.extend_from_slice(b",\"traceState\":\"");
    // Keys and values are validated printable ASCII without `"` or `\`.
    write_list(state.entries(), out, |(k, v), out| {
        escape_into(k, out);
        out.push(b'=');
        escape_into(v, out);
    });
    out.push(b'"');
}

fn write_event(event: &Event, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"timeUnixNano\":");
    write_u64_string(event.time_unix_nano, out);
    out.extend_from_slice(b",\"name\":");
    write_str(&event.name, out);
    if !event.attributes.is_empty() {
        out.extend_from_slice(b",\"attributes\":");
        write_attributes(&event.attributes, out);
    }
    write_count(
        b",\"droppedAttributesCount\":",
        event.dropped_attributes_count,
        out,
    );
    out.push(b'}');
}

fn write_link(link: &Link, out: &mut Vec<u8>) {
    let ctx = &link.context;
    out.extend_from_slice(b"{\"traceId\":");
    write_hex(&ctx.trace_id.to_bytes(), out);
    out.extend_from_slice(b",\"spanId\":");
    write_hex(&ctx.span_id.to_bytes(), out);
    write_trace_state(&ctx.state, out);
    if !link.attributes.is_empty() {
        out.extend_from_slice(b",\"attributes\":");
        write_attributes(&link.attributes, out);
    }
    out.extend_from_slice(b",\"flags\":");
    write_u64(u64::from(span_flags(ctx.flags.bits(), ctx.is_remote)), out);
    out.push(b'}');
}

fn write_status(status: &Status, out: &mut Vec<u8>) {
    out.push(b'{');
    if let Status::Error { description } = status {
        if !description.is_empty() {
            out.extend_from_slice(b"\"message\":");
            write_str(description, out);
            out.push(b',');
        }
    }
    out.extend_from_slice(b"\"code\":");
    write_u64(u64::from(status.otlp_code()), out);
    out.push(b'}');
}

fn write_count(key: &[u8], count: u32, out: &mut Vec<u8>) {
    if count > 0 {
        out.extend_from_slice(key);
        write_u64(u64::from(count), out);
    }
}

fn write_attributes(attributes: &[KeyValue], out: &mut Vec<u8>) {
    out.push(b'[');
    write_list(attributes, out, |kv, out| {
        out.extend_from_slice(b"{\"key\":");
        write_str(&kv.key, out);
        out.extend_from_slice(b",\"value\":");
        write_value(&kv.value, out);
        out.push(b'}');
    });
    out.push(b']');
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::String(s) => {
            out.extend_from_slice(b"{\"stringValue\":");
            write_str(s, out);
        }
        Value::I64(v) => {
            out.extend_from_slice(b"{\"intValue\":\"");
            out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes());
            out.push(b'"');
        }
        Value::F64(v) => {
            out.extend_from_slice(b"{\"doubleValue\":");
            write_f64(*v, out);
        }
        Value::Bool(v) => {
            out.extend_from_slice(if *v {
                b"{\"boolValue\":true"
            } else {
                b"{\"boolValue\":false"
            });
        }
        Value::Array(values) => {
            out.extend_from_slice(b"{\"arrayValue\":{");
            if !values.is_empty() {
                out.extend_from_slice(b"\"values\":[");
                write_list(values.iter(), out, write_value);
                out.push(b']');
            }
            out.push(b'}');
        }
        // A value kind added later: its text.
        other => {
            out.extend_from_slice(b"{\"stringValue\":");
            write_str(&other.to_string(), out);
        }
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
    if !series.labels.is_empty() {
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
        series.labels.iter(),
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

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `items`, each written by `write`, separated by commas (the caller writes the
/// brackets around them).
fn write_list<T>(
    items: impl IntoIterator<Item = T>,
    out: &mut Vec<u8>,
    mut write: impl FnMut(T, &mut Vec<u8>),
) {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(item, out);
    }
}

fn write_hex(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0xf)]);
    }
    out.push(b'"');
}

fn write_u64(v: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn write_u64_string(v: u64, out: &mut Vec<u8>) {
    out.push(b'"');
    write_u64(v, out);
    out.push(b'"');
}

fn write_f64(v: f64, out: &mut Vec<u8>) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else if v.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if v > 0.0 {
        out.extend_from_slice(b"\"Infinity\"");
    } else {
        out.extend_from_slice(b"\"-Infinity\"");
    }
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    escape_into(s, out);
    out.push(b'"');
}

/// JSON string escaping: `"` and `\` backslashed, control characters as `\n`, `\t`, …
/// or `\u00XX`; everything else (valid UTF-8) copied as is, in runs.
fn escape_into(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::tests::full_span;
    use crate::encode::Encoder;
    use crate::Protocol;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        write_str(s, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_like_serde_json() {
        for s in [
            "plain",
            "quote \" backslash \\",
            "lines\n\r\t",
            "\u{0}\u{1}\u{8}\u{c}\u{1f}",
            "unicode ✓ 𝄞",
            "",
        ] {
            assert_eq!(escaped(s), serde_json::to_string(s).unwrap());
        }
    }

    #[test]
    fn doubles_follow_the_proto3_json_mapping() {
        let f = |v: f64| {
            let mut out = Vec::new();
            write_f64(v, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(f(0.5), "0.5");
        assert_eq!(f(f64::NAN), "\"NaN\"");
        assert_eq!(f(f64::INFINITY), "\"Infinity\"");
        assert_eq!(f(f64::NEG_INFINITY), "\"-Infinity\"");
        assert_eq!(serde_json::from_str::<f64>(&f(1e-7)).unwrap(), 1e-7);
    }

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
}
