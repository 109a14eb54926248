//! Spans: a JSON line (OTLP/JSON) or a pretty line with its events and links.

use super::pretty::{push_attributes, push_short_trace_id, HumanDuration, Styled, TimeOfDay};
use super::pretty::{BOLD, DIM, RED, RESET};
use crate::export::otlp_json;
use crate::{SpanData, SpanId, SpanKind, Status};
use std::fmt;
use std::io::Write;

/// A span as one line: the OTLP/JSON `Span` object (see [`otlp_json::span`]) plus
/// `"scope": {"name": …}`, and a newline.
pub(super) fn json_line(span: &SpanData, buf: &mut Vec<u8>) {
    otlp_json::span_fields(span, buf);
    buf.extend_from_slice(b",\"scope\":{\"name\":");
    otlp_json::string(&span.scope, buf);
    buf.extend_from_slice(b"}}\n");
}

/// A span as a line, then a line per event and per link (the layout is documented on
/// [`StdoutFormat::Pretty`](super::StdoutFormat::Pretty)).
pub(super) fn pretty_line(span: &SpanData, color: bool, buf: &mut Vec<u8>) {
    // Writing into a `Vec<u8>` cannot fail.
    let _ = write!(
        buf,
        "{} ",
        Styled(
            color,
            DIM,
            format_args!(
                "{} {:>7}",
                TimeOfDay(span.start_time_unix_nano),
                HumanDuration(span.duration_nanos())
            )
        )
    );
    let _ = write!(buf, "{}", Styled(color, BOLD, Name(&span.name)));
    if span.kind != SpanKind::Internal {
        let _ = write!(buf, " [{}]", span.kind.as_str());
    }
    push_short_trace_id(buf, span.context.trace_id);
    let _ = write!(buf, " span={} parent=", span.context.span_id);
    if span.parent_span_id == SpanId::INVALID {
        buf.push(b'-');
    } else {
        let _ = write!(buf, "{}", span.parent_span_id);
        if span.parent_is_remote {
            buf.extend_from_slice(b"(remote)");
        }
    }
    match &span.status {
        Status::Unset => {}
        Status::Ok => buf.extend_from_slice(b" status=OK"),
        Status::Error { description } if description.is_empty() => {
            let _ = write!(buf, " status={}", Styled(color, RED, "ERROR"));
        }
        Status::Error { description } => {
            // Quoted (the text holds a space), escaped as `{:?}` escapes.
            buf.extend_from_slice(b" status=");
            if color {
                buf.extend_from_slice(RED.as_bytes());
            }
            buf.extend_from_slice(b"\"ERROR: ");
            let start = buf.len();
            let _ = write!(buf, "{description:?}");
            buf.remove(start); // the opening quote is already written
            if color {
                buf.extend_from_slice(RESET.as_bytes());
            }
        }
    }
    push_attributes(buf, &span.attributes);
    let dropped = [
        ("attributes", span.dropped_attributes_count),
        ("events", span.dropped_events_count),
        ("links", span.dropped_links_count),
    ];
    for (what, n) in dropped {
        if n != 0 {
            let _ = write!(buf, " dropped_{what}={n}");
        }
    }
    buf.push(b'\n');

    for event in &span.events {
        let offset = i128::from(event.time_unix_nano) - i128::from(span.start_time_unix_nano);
        let sign = if offset < 0 { '-' } else { '+' };
        let offset = u64::try_from(offset.unsigned_abs()).unwrap_or(u64::MAX);
        let _ = write!(
            buf,
            "  \u{2022} {} {sign}{}",
            Name(&event.name),
            HumanDuration(offset)
        );
        push_attributes(buf, &event.attributes);
        if event.dropped_attributes_count != 0 {
            let _ = write!(
                buf,
                " dropped_attributes={}",
                event.dropped_attributes_count
            );
        }
        buf.push(b'\n');
    }
    for link in &span.links {
        let _ = write!(
            buf,
            "  \u{21aa} link trace={} span={}",
            link.context.trace_id, link.context.span_id
        );
        push_attributes(buf, &link.attributes);
        buf.push(b'\n');
    }
}

/// A span or event name: as is, unless empty or holding control characters or quotes,
/// which would break the one-line layout; then quoted and escaped.
struct Name<'a>(&'a str);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() || self.0.chars().any(|c| c.is_control() || c == '"') {
            write!(f, "{:?}", self.0)
        } else {
            f.write_str(self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{batch, ctx, root, Shared, SPAN, START, TRACE};
    use super::super::{StdoutFormat, StdoutSink};
    use super::*;
    use crate::{Event, KeyValue, Link, Sink, TraceState};
    use serde_json::{json, Value as Json};

    const PARENT: &str = "0000000000000abc";

    fn full() -> SpanData {
        let state = TraceState::default()
            .insert("congo", "t61rcWkgMzE")
            .unwrap();
        SpanData {
            context: ctx(TRACE, SPAN, state),
            parent_span_id: SpanId::from_hex(PARENT).unwrap(),
            kind: SpanKind::Server,
            attributes: [
                KeyValue::new("s", "text"),
                KeyValue::new("i", -123i64),
                KeyValue::new("big", i64::MAX),
                KeyValue::new("f", 1.5f64),
                KeyValue::new("b", true),
                KeyValue::new("arr", vec![1i64, 2]),
                KeyValue::new("strs", vec!["a", "b"]),
            ]
            .into_iter()
            .collect(),
            events: vec![Event {
                name: "cache.miss".into(),
                time_unix_nano: START + 210_000,
                attributes: vec![KeyValue::new("key", "books:all")],
                dropped_attributes_count: 2,
            }],
            links: vec![Link {
                context: ctx(
                    "0af7651916cd43dd8448eb211c80319c",
                    "b7ad6b7169203331",
                    TraceState::default(),
                ),
                attributes: vec![KeyValue::new("reason", "batch")],
            }],
            status: Status::error("db timeout"),
            dropped_attributes_count: 3,
            dropped_events_count: 0,
            dropped_links_count: 1,
            ..root("GET /books")
        }
    }

    fn export(format: StdoutFormat, spans: Vec<SpanData>) -> String {
        let out = Shared::default();
        let sink = StdoutSink::from_writer(out.clone(), format);
        futures::executor::block_on(async {
            sink.export_spans(batch(spans)).await.unwrap();
            sink.flush().await.unwrap();
        });
        out.text()
    }

    fn json_lines(spans: Vec<SpanData>) -> Vec<Json> {
        let text = export(StdoutFormat::Json, spans);
        assert!(text.ends_with('\n'));
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn json_has_every_otlp_field() {
        let lines = json_lines(vec![full()]);
        assert_eq!(lines.len(), 1);
        let v = &lines[0];
        assert_eq!(v["traceId"], TRACE);
        assert_eq!(v["spanId"], SPAN);
        assert_eq!(v["parentSpanId"], PARENT);
        assert_eq!(v["traceState"], "congo=t61rcWkgMzE");
        // W3C flags in bits 0-7, "parent is local" in bits 8-9.
        assert_eq!(v["flags"], 0x101);
        assert_eq!(v["name"], "GET /books");
        assert_eq!(v["kind"], 2);
        assert_eq!(v["startTimeUnixNano"], START.to_string());
        assert_eq!(v["endTimeUnixNano"], (START + 1_234_567).to_string());
        assert_eq!(v["scope"], json!({ "name": "tests" }));
        assert_eq!(
            v["attributes"],
            json!([
                { "key": "s", "value": { "stringValue": "text" } },
                { "key": "i", "value": { "intValue": "-123" } },
                { "key": "big", "value": { "intValue": "9223372036854775807" } },
                { "key": "f", "value": { "doubleValue": 1.5 } },
                { "key": "b", "value": { "boolValue": true } },
                { "key": "arr", "value": { "arrayValue": { "values": [
                    { "intValue": "1" }, { "intValue": "2" }
                ] } } },
                { "key": "strs", "value": { "arrayValue": { "values": [
                    { "stringValue": "a" }, { "stringValue": "b" }
                ] } } },
            ])
        );
        assert_eq!(v["droppedAttributesCount"], 3);
        assert!(v.get("droppedEventsCount").is_none());
        assert_eq!(v["droppedLinksCount"], 1);
        assert_eq!(
            v["events"],
            json!([{
                "timeUnixNano": (START + 210_000).to_string(),
                "name": "cache.miss",
                "attributes": [{ "key": "key", "value": { "stringValue": "books:all" } }],
                "droppedAttributesCount": 2,
            }])
        );
        assert_eq!(
            v["links"],
            json!([{
                "traceId": "0af7651916cd43dd8448eb211c80319c",
                "spanId": "b7ad6b7169203331",
                "attributes": [{ "key": "reason", "value": { "stringValue": "batch" } }],
                "flags": 0x101,
            }])
        );
        assert_eq!(v["status"], json!({ "code": 2, "message": "db timeout" }));
    }

    #[test]
    fn json_root_span_omits_optional_fields() {
        let v = &json_lines(vec![root("root")])[0];
        let obj = v.as_object().unwrap();
        for absent in [
            "parentSpanId",
            "traceState",
            "events",
            "links",
            "droppedAttributesCount",
            "droppedEventsCount",
            "droppedLinksCount",
        ] {
            assert!(!obj.contains_key(absent), "{absent} should be omitted: {v}");
        }
        assert_eq!(v["kind"], 1);
        // OTLP/JSON omits a field at its default value: no attributes, no list.
        assert!(v.get("attributes").is_none(), "{v}");
        assert_eq!(v["flags"], 0x101);
        assert_eq!(v["status"], json!({ "code": 0 }));

        let ok = SpanData {
            status: Status::Ok,
            ..root("ok")
        };
        assert_eq!(json_lines(vec![ok])[0]["status"], json!({ "code": 1 }));
        let bare_error = SpanData {
            status: Status::error(""),
            ..root("e")
        };
        assert_eq!(
            json_lines(vec![bare_error])[0]["status"],
            json!({ "code": 2 })
        );
    }

    #[test]
    fn json_escapes_quotes_and_newlines() {
        let name = "say \"hi\"\nthen\tleave \\ \u{1} ünïcödé";
        let span = SpanData {
            attributes: crate::Attributes::from(vec![KeyValue::new("k\"\n", String::from(name))]),
            status: Status::error("line1\nline2 \"q\""),
            ..root(String::from(name))
        };
        let text = export(StdoutFormat::Json, vec![span]);
        assert_eq!(text.lines().count(), 1, "one line per span: {text}");
        let v: Json = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["name"], name);
        assert_eq!(v["attributes"][0]["key"], "k\"\n");
        assert_eq!(v["attributes"][0]["value"]["stringValue"], name);
        assert_eq!(v["status"]["message"], "line1\nline2 \"q\"");
    }

    #[test]
    fn json_non_finite_doubles_are_strings() {
        let span = SpanData {
            attributes: [
                KeyValue::new("nan", f64::NAN),
                KeyValue::new("inf", f64::INFINITY),
                KeyValue::new("ninf", f64::NEG_INFINITY),
                KeyValue::new("arr", vec![f64::NAN, 0.25]),
                KeyValue::new("neg", -0.5f64),
            ]
            .into_iter()
            .collect(),
            ..root("doubles")
        };
        let v = &json_lines(vec![span])[0];
        let a = &v["attributes"];
        assert_eq!(a[0]["value"], json!({ "doubleValue": "NaN" }));
        assert_eq!(a[1]["value"], json!({ "doubleValue": "Infinity" }));
        assert_eq!(a[2]["value"], json!({ "doubleValue": "-Infinity" }));
        assert_eq!(
            a[3]["value"],
            json!({ "arrayValue": { "values": [
                { "doubleValue": "NaN" }, { "doubleValue": 0.25 }
            ] } })
        );
        assert_eq!(a[4]["value"], json!({ "doubleValue": -0.5 }));
    }

    #[test]
    fn json_one_line_per_span_in_order() {
        let lines = json_lines(vec![root("a"), full(), root("c")]);
        let names: Vec<_> = lines.iter().map(|v| v["name"].clone()).collect();
        assert_eq!(names, ["a", "GET /books", "c"]);
        assert_eq!(export(StdoutFormat::Json, vec![]), "");
    }

    #[test]
    fn pretty_line() {
        let text = export(StdoutFormat::Pretty, vec![full()]);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let first = lines[0];
        // 1_700_000_000 s is 2023-11-14 22:13:20 UTC.
        assert!(
            first.starts_with("22:13:20.123Z  1.23ms GET /books [server] "),
            "{first}"
        );
        assert!(first.contains(" trace=4bf92f35… "), "{first}");
        assert!(
            first.contains(&format!(" span={SPAN} parent={PARENT} ")),
            "{first}"
        );
        assert!(first.contains(" status=\"ERROR: db timeout\""), "{first}");
        assert!(
            first.contains(
                " s=text i=-123 big=9223372036854775807 f=1.5 b=true arr=[1,2] strs=[a,b]"
            ),
            "{first}"
        );
        assert!(
            first.contains(" dropped_attributes=3 dropped_links=1"),
            "{first}"
        );
        assert_eq!(
            lines[1],
            "  • cache.miss +210µs key=books:all dropped_attributes=2"
        );
        assert_eq!(
            lines[2],
            "  ↪ link trace=0af7651916cd43dd8448eb211c80319c span=b7ad6b7169203331 reason=batch"
        );
    }

    #[test]
    fn pretty_root_and_escaping() {
        let span = SpanData {
            attributes: crate::Attributes::from(vec![
                KeyValue::new("msg", "two words"),
                KeyValue::new("nl", "a\nb"),
                KeyValue::new("empty", ""),
                KeyValue::new("tags", vec!["a b", "c'\"d"]),
            ]),
            events: vec![Event {
                name: "early".into(),
                time_unix_nano: START - 5,
                attributes: vec![],
                dropped_attributes_count: 0,
            }],
            ..root("multi\nline")
        };
        let text = export(StdoutFormat::Pretty, vec![span]);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains("\"multi\\nline\" trace="), "{}", lines[0]);
        assert!(lines[0].contains(" parent=- "), "{}", lines[0]);
        assert!(!lines[0].contains("status="), "{}", lines[0]);
        assert!(
            lines[0].ends_with(r#" msg="two words" nl="a\nb" empty="" tags="[a b,c'\"d]""#),
            "{}",
            lines[0]
        );
        assert_eq!(lines[1], "  • early -5ns");
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let span = SpanData {
            start_time_unix_nano: u64::MAX,
            end_time_unix_nano: 0,
            events: vec![Event {
                name: "".into(),
                time_unix_nano: 0,
                attributes: vec![],
                dropped_attributes_count: 0,
            }],
            ..root("")
        };
        let text = export(StdoutFormat::Pretty, vec![span.clone()]);
        assert!(text.contains("\"\""), "{text}");
        assert!(text.contains(" -"), "{text}");
        let v = &json_lines(vec![span])[0];
        assert_eq!(v["startTimeUnixNano"], u64::MAX.to_string());
    }
}
