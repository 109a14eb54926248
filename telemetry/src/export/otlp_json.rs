//! OTLP/JSON, written straight into a byte buffer: the one writer of this shape, used
//! by [`StdoutSink`](crate::StdoutSink)'s JSON lines and by `telem-otlp`'s
//! `http/json` request bodies, and public for sinks of your own.
//!
//! The rules are the protobuf JSON mapping with OTLP's exceptions: field names in
//! lowerCamelCase; trace and span ids as lowercase hex (not base64); enums as integers;
//! 64-bit integers (times, `intValue`, counts) as decimal strings; doubles as numbers,
//! or `"NaN"`, `"Infinity"`, `"-Infinity"`; fields at their default value omitted.
//! Nothing is built in between: no value tree, no `String` per field.
//!
//! ```
//! use telem::{otlp_json, KeyValue};
//!
//! let mut out = Vec::new();
//! otlp_json::attributes(&[KeyValue::new("http.response.status_code", 200i64)], &mut out);
//! assert_eq!(
//!     out,
//!     br#"[{"key":"http.response.status_code","value":{"intValue":"200"}}]"#
//! );
//! ```

use crate::{Event, KeyValue, Link, SpanData, Status, TraceState, Value};

/// Writes `span` as an OTLP/JSON `Span` object.
///
/// ```
/// use telem::{otlp_json, SpanContext, SpanData, SpanId, SpanKind, Status, TraceFlags, TraceId};
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
///     attributes: Default::default(),
///     events: vec![],
///     links: vec![],
///     status: Status::Unset,
///     dropped_attributes_count: 0,
///     dropped_events_count: 0,
///     dropped_links_count: 0,
/// };
/// let mut out = Vec::new();
/// otlp_json::span(&span, &mut out);
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","flags":257,"name":"GET /books","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000","status":{"code":0}}"#
/// );
/// ```
pub fn span(span: &SpanData, out: &mut Vec<u8>) {
    span_fields(span, out);
    out.push(b'}');
}

/// [`span`] without its closing brace, so a caller can add fields of its own (the
/// stdout sink adds `"scope"`).
pub(crate) fn span_fields(span: &SpanData, out: &mut Vec<u8>) {
    let ctx = &span.context;
    out.extend_from_slice(b"{\"traceId\":");
    hex(&ctx.trace_id.to_bytes(), out);
    out.extend_from_slice(b",\"spanId\":");
    hex(&ctx.span_id.to_bytes(), out);
    trace_state(&ctx.state, out);
    if span.parent_span_id.is_valid() {
        out.extend_from_slice(b",\"parentSpanId\":");
        hex(&span.parent_span_id.to_bytes(), out);
    }
    out.extend_from_slice(b",\"flags\":");
    u64(
        u64::from(span_flags(ctx.flags.bits(), span.parent_is_remote)),
        out,
    );
    out.extend_from_slice(b",\"name\":");
    string(&span.name, out);
    out.extend_from_slice(b",\"kind\":");
    u64(u64::from(span.kind.otlp_code()), out);
    out.extend_from_slice(b",\"startTimeUnixNano\":");
    u64_string(span.start_time_unix_nano, out);
    out.extend_from_slice(b",\"endTimeUnixNano\":");
    u64_string(span.end_time_unix_nano, out);
    if !span.attributes.is_empty() {
        out.extend_from_slice(b",\"attributes\":");
        attributes(&span.attributes, out);
    }
    count(
        b",\"droppedAttributesCount\":",
        span.dropped_attributes_count,
        out,
    );
    if !span.events.is_empty() {
        out.extend_from_slice(b",\"events\":[");
        list(span.events.iter(), out, event);
        out.push(b']');
    }
    count(b",\"droppedEventsCount\":", span.dropped_events_count, out);
    if !span.links.is_empty() {
        out.extend_from_slice(b",\"links\":[");
        list(span.links.iter(), out, link);
        out.push(b']');
    }
    count(b",\"droppedLinksCount\":", span.dropped_links_count, out);
    out.extend_from_slice(b",\"status\":");
    status(&span.status, out);
}

/// The OTLP span flags: the W3C trace flags in bits 0–7, and whether the parent (or the
/// linked span) is remote in bits 8–9 (`SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK`,
/// `SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`).
///
/// ```
/// assert_eq!(telem::otlp_json::span_flags(0x01, false), 0x101);
/// assert_eq!(telem::otlp_json::span_flags(0x03, true), 0x303);
/// ```
pub fn span_flags(trace_flags: u8, remote: bool) -> u32 {
    u32::from(trace_flags) | 0x100 | if remote { 0x200 } else { 0 }
}

fn trace_state(state: &TraceState, out: &mut Vec<u8>) {
    if state.is_empty() {
        return;
    }
    out.extend_from_slice(b",\"traceState\":\"");
    list(state.entries(), out, |(k, v), out| {
        escape(k, out);
        out.push(b'=');
        escape(v, out);
    });
    out.push(b'"');
}

fn event(event: &Event, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"timeUnixNano\":");
    u64_string(event.time_unix_nano, out);
    out.extend_from_slice(b",\"name\":");
    string(&event.name, out);
    if !event.attributes.is_empty() {
        out.extend_from_slice(b",\"attributes\":");
        attributes(&event.attributes, out);
    }
    count(
        b",\"droppedAttributesCount\":",
        event.dropped_attributes_count,
        out,
    );
    out.push(b'}');
}

fn link(link: &Link, out: &mut Vec<u8>) {
    let ctx = &link.context;
    out.extend_from_slice(b"{\"traceId\":");
    hex(&ctx.trace_id.to_bytes(), out);
    out.extend_from_slice(b",\"spanId\":");
    hex(&ctx.span_id.to_bytes(), out);
    trace_state(&ctx.state, out);
    if !link.attributes.is_empty() {
        out.extend_from_slice(b",\"attributes\":");
        attributes(&link.attributes, out);
    }
    out.extend_from_slice(b",\"flags\":");
    u64(u64::from(span_flags(ctx.flags.bits(), ctx.is_remote)), out);
    out.push(b'}');
}

fn status(status: &Status, out: &mut Vec<u8>) {
    out.push(b'{');
    if let Status::Error { description } = status {
        if !description.is_empty() {
            out.extend_from_slice(b"\"message\":");
            string(description, out);
            out.push(b',');
        }
    }
    out.extend_from_slice(b"\"code\":");
    u64(u64::from(status.otlp_code()), out);
    out.push(b'}');
}

fn count(key: &[u8], count: u32, out: &mut Vec<u8>) {
    if count > 0 {
        out.extend_from_slice(key);
        u64(u64::from(count), out);
    }
}

/// Writes `attributes` as an OTLP/JSON `KeyValue` list: `[{"key": …, "value": AnyValue}, …]`.
pub fn attributes(attributes: &[KeyValue], out: &mut Vec<u8>) {
    out.push(b'[');
    list(attributes, out, |kv, out| {
        out.extend_from_slice(b"{\"key\":");
        string(&kv.key, out);
        out.extend_from_slice(b",\"value\":");
        any_value(&kv.value, out);
        out.push(b'}');
    });
    out.push(b']');
}

/// Writes `value` as an OTLP/JSON `AnyValue`: `{"stringValue": …}`, `{"intValue": "…"}`
/// (a string, as 64-bit integers are), `{"doubleValue": …}`, `{"boolValue": …}` or
/// `{"arrayValue": {"values": […]}}`.
///
/// ```
/// let mut out = Vec::new();
/// telem::otlp_json::any_value(&telem::Value::F64(f64::NAN), &mut out);
/// assert_eq!(out, br#"{"doubleValue":"NaN"}"#);
/// ```
pub fn any_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::String(s) => {
            out.extend_from_slice(b"{\"stringValue\":");
            string(s, out);
        }
        Value::I64(v) => {
            out.extend_from_slice(b"{\"intValue\":\"");
            out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes());
            out.push(b'"');
        }
        Value::F64(v) => {
            out.extend_from_slice(b"{\"doubleValue\":");
            f64(*v, out);
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
                list(values.iter(), out, any_value);
                out.push(b']');
            }
            out.push(b'}');
        }
    }
    out.push(b'}');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `items`, each by `write`, separated by commas (the caller writes the brackets).
pub fn list<T>(
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

/// Writes `bytes` as a quoted lowercase hex string (how OTLP/JSON writes ids).
pub fn hex(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    hex_digits(bytes, out);
    out.push(b'"');
}

/// Writes `bytes` as lowercase hex digits, unquoted: two digits per byte from a table.
pub(crate) fn hex_digits(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.extend_from_slice(&HEX_PAIRS[usize::from(*b)]);
    }
}

/// The two lowercase hex digits of every byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let mut pairs = [[0; 2]; 256];
    let mut i = 0;
    while i < 256 {
        pairs[i] = [HEX[i >> 4], HEX[i & 0xf]];
        i += 1;
    }
    pairs
};

/// Writes `v` as a JSON number (32-bit integers and enums).
pub fn u64(v: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Writes `v` as a decimal string, as the mapping writes 64-bit integers: `"42"`.
pub fn u64_string(v: u64, out: &mut Vec<u8>) {
    out.push(b'"');
    u64(v, out);
    out.push(b'"');
}

/// Writes `v` as the shortest JSON number that reads back as `v`, or as `"NaN"`,
/// `"Infinity"` or `"-Infinity"`.
pub fn f64(v: f64, out: &mut Vec<u8>) {
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

/// Writes `s` as a quoted, escaped JSON string.
pub fn string(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if is_plain(bytes) {
        // Nearly every key and value: one check per word, one copy.
        out.extend_from_slice(bytes);
    } else {
        escape(s, out);
    }
    out.push(b'"');
}

/// Whether `bytes` need no escaping at all.
#[inline]
fn is_plain(bytes: &[u8]) -> bool {
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    for word in words {
        let mut chunk = [0; 8];
        chunk.copy_from_slice(word);
        if needs_escape(u64::from_le_bytes(chunk)) {
            return false;
        }
    }
    tail.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// JSON string escaping: `"` and `\\` backslashed, control characters as `\n`, `\t`, …
/// or `\u00XX`; everything else (valid UTF-8) copied as is, in runs. Eight bytes are
/// checked at a time, so text without anything to escape (nearly all of it) costs about
/// a comparison per word, not a branch per byte.
fn escape(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut start = 0; // the first byte not yet copied
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes.get(i..i + 8) {
            let mut chunk = [0; 8];
            chunk.copy_from_slice(word);
            if !needs_escape(u64::from_le_bytes(chunk)) {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(bytes.len());
        // A word with something to escape, or the last bytes: one at a time (padding
        // the tail into a word measured 2 % more instructions per span).
        while i < end {
            let b = bytes[i];
            let escaped: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0x00..=0x1f => b"",
                _ => {
                    i += 1;
                    continue;
                }
            };
            out.extend_from_slice(&bytes[start..i]);
            if escaped.is_empty() {
                out.extend_from_slice(b"\\u00");
                out.extend_from_slice(&HEX_PAIRS[usize::from(b)]);
            } else {
                out.extend_from_slice(escaped);
            }
            i += 1;
            start = i;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Whether any of the eight bytes of `word` is `"`, `\\` or below 0x20 (the bit tricks
/// of "Bit Twiddling Hacks": a byte is zero, or less than `n`, exactly when its borrow
/// reaches the top bit; bytes of 0x80 and above never match).
#[inline]
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH != 0;
    below_space
        || has_zero(word ^ (ONES * u64::from(b'"')))
        || has_zero(word ^ (ONES * u64::from(b'\\')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        string(s, &mut out);
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

    /// Every byte value, at every position of a word and in the tail, escapes as
    /// serde_json escapes it.
    #[test]
    fn escaping_checks_words_and_tails_alike() {
        for b in 0u8..0x80 {
            for len in [1, 7, 8, 9, 16, 17] {
                for at in 0..len {
                    let mut text = vec![b'a'; len];
                    text[at] = b;
                    let s = String::from_utf8(text).unwrap();
                    assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
                }
            }
        }
        let long = "ünïcödé text with no escapes, \u{1} then more ✓ and a \"quote\" at the end";
        assert_eq!(escaped(long), serde_json::to_string(long).unwrap());
    }

    proptest::proptest! {
        #[test]
        fn any_text_escapes_as_serde_json_does(s in "(?s).{0,40}", t in "[\\x00-\\x7f\u{80}-\u{7ff}]{0,40}") {
            proptest::prop_assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap());
            proptest::prop_assert_eq!(escaped(&t), serde_json::to_string(&t).unwrap());
        }
    }

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        let mut out = Vec::new();
        hex(&[0x00, 0x0f, 0xa0, 0xff], &mut out);
        assert_eq!(out, br#""000fa0ff""#);
    }

    #[test]
    fn doubles_follow_the_proto3_json_mapping() {
        let f = |v: f64| {
            let mut out = Vec::new();
            f64(v, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(f(0.5), "0.5");
        assert_eq!(f(f64::NAN), "\"NaN\"");
        assert_eq!(f(f64::INFINITY), "\"Infinity\"");
        assert_eq!(f(f64::NEG_INFINITY), "\"-Infinity\"");
        assert_eq!(serde_json::from_str::<f64>(&f(1e-7)).unwrap(), 1e-7);
    }

    #[test]
    fn span_flags_carry_trace_flags_and_remoteness() {
        assert_eq!(span_flags(1, false), 0x101);
        assert_eq!(span_flags(1, true), 0x301);
        assert_eq!(span_flags(0, true), 0x300);
    }

    #[test]
    fn empty_arrays_omit_their_values() {
        let mut out = Vec::new();
        any_value(&Value::Array(Vec::new().into()), &mut out);
        assert_eq!(out, br#"{"arrayValue":{}}"#);
    }
}
