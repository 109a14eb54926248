//! Log records: a flat JSON line or a pretty line, both documented on
//! [`StdoutFormat`](super::StdoutFormat).

use super::pretty::{push_attributes, push_short_trace_id, Styled, TimeOfDay};
use super::pretty::{BLUE, BOLD_RED, DIM, GREEN, RED, RESET, YELLOW};
use super::timestamp::rfc3339_nanos;
use crate::export::otlp_json;
use crate::{KeyValue, Level, LogRecord, Severity, Value};
use std::fmt::{self, Write as _};
use std::io::Write;

/// Whether a field's `key` is one a log line writes itself (or `fields`, where such
/// fields go): see [`StdoutFormat::Json`](super::StdoutFormat::Json).
fn is_reserved_log_key(key: &str) -> bool {
    matches!(
        key,
        "timestamp"
            | "level"
            | "message"
            | "target"
            | "trace_id"
            | "span_id"
            | "trace_flags"
            | "event_name"
            | "fields"
    )
}

/// A log record as one flat JSON object and a newline (the layout is documented on
/// [`StdoutFormat::Json`](super::StdoutFormat::Json)), written in place: no `String` per record or field.
pub(super) fn json_line(record: &LogRecord, buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"{\"timestamp\":\"");
    rfc3339_nanos(record.time_unix_nano, buf);
    buf.push(b'"');
    if let Some(level) = level_text(record.severity) {
        buf.extend_from_slice(b",\"level\":\"");
        buf.extend_from_slice(level.as_bytes());
        buf.push(b'"');
    }
    buf.extend_from_slice(b",\"message\":");
    otlp_json::string(&record.body, buf);
    buf.extend_from_slice(b",\"target\":");
    otlp_json::string(&record.target, buf);
    if record.trace_id.is_valid() {
        buf.extend_from_slice(b",\"trace_id\":");
        otlp_json::hex(&record.trace_id.to_bytes(), buf);
        if record.span_id.is_valid() {
            buf.extend_from_slice(b",\"span_id\":");
            otlp_json::hex(&record.span_id.to_bytes(), buf);
        }
        buf.extend_from_slice(b",\"trace_flags\":");
        otlp_json::hex(&[record.trace_flags.bits()], buf);
    }
    if let Some(name) = &record.event_name {
        buf.extend_from_slice(b",\"event_name\":");
        otlp_json::string(name, buf);
    }
    let fields = || record.attributes.iter().chain(record.context_fields.iter());
    let mut reserved = false;
    for kv in fields() {
        if is_reserved_log_key(&kv.key) {
            reserved = true;
        } else {
            buf.push(b',');
            json_member(kv, buf);
        }
    }
    if reserved {
        buf.extend_from_slice(b",\"fields\":{");
        otlp_json::list(
            fields().filter(|kv| is_reserved_log_key(&kv.key)),
            buf,
            json_member,
        );
        buf.push(b'}');
    }
    buf.extend_from_slice(b"}\n");
}

/// `"key":value`.
fn json_member(kv: &KeyValue, buf: &mut Vec<u8>) {
    otlp_json::string(&kv.key, buf);
    buf.push(b':');
    json_value(&kv.value, buf);
}

/// A value as plain JSON (not OTLP's `AnyValue`): a string, a number (integers as JSON
/// numbers; non-finite floats as `"NaN"`, `"Infinity"`, `"-Infinity"`), a boolean or
/// an array of them.
fn json_value(value: &Value, buf: &mut Vec<u8>) {
    match value {
        Value::String(s) => otlp_json::string(s, buf),
        Value::I64(v) => buf.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
        Value::F64(v) => otlp_json::f64(*v, buf),
        Value::Bool(v) => buf.extend_from_slice(if *v { b"true" } else { b"false" }),
        Value::Array(values) => {
            buf.push(b'[');
            otlp_json::list(values.iter(), buf, json_value);
            buf.push(b']');
        }
    }
}

/// The `level` text of a severity: the level's name, `FATAL` for the four severities
/// above `ERROR`'s range, `None` when unspecified.
fn level_text(severity: Severity) -> Option<&'static str> {
    if severity >= Severity::FATAL {
        return Some("FATAL");
    }
    severity.level().map(Level::as_str)
}

/// A log record as one line (the layout is documented on [`StdoutFormat::Pretty`](super::StdoutFormat::Pretty)),
/// written in place: no `String` per record or field.
pub(super) fn pretty_line(record: &LogRecord, color: bool, buf: &mut Vec<u8>) {
    // Writing into a `Vec<u8>` cannot fail.
    let _ = write!(
        buf,
        "{} ",
        Styled(color, DIM, TimeOfDay(record.time_unix_nano))
    );
    let (level, style) = match level_text(record.severity) {
        Some(level) => (level, level_style(record.severity)),
        None => ("-", ""),
    };
    // Right-aligned in the 7 columns of a span line's duration; the padding stays
    // outside the color.
    buf.extend(std::iter::repeat_n(
        b' ',
        7usize.saturating_sub(level.len()),
    ));
    let _ = write!(buf, "{}", Styled(color && !style.is_empty(), style, level));
    if !record.target.is_empty() || record.event_name.is_some() {
        buf.push(b' ');
        if color {
            buf.extend_from_slice(DIM.as_bytes());
        }
        let _ = write!(buf, "{}", Escaped(&record.target));
        if let Some(name) = &record.event_name {
            if !record.target.is_empty() {
                buf.push(b' ');
            }
            let _ = write!(buf, "[{}]", Escaped(name));
        }
        buf.push(b':');
        if color {
            buf.extend_from_slice(RESET.as_bytes());
        }
    }
    if !record.body.is_empty() {
        let _ = write!(buf, " {}", Escaped(&record.body));
    }
    push_attributes(buf, &record.attributes);
    let bound = !record.context_fields.is_empty();
    let in_span = record.trace_id.is_valid();
    if color && (bound || in_span) {
        buf.extend_from_slice(DIM.as_bytes());
    }
    push_attributes(buf, &record.context_fields);
    if in_span {
        // As span lines show them: enough of the trace id to tell traces apart by eye,
        // and the whole span id.
        push_short_trace_id(buf, record.trace_id);
        if record.span_id.is_valid() {
            buf.extend_from_slice(b" span=");
            otlp_json::hex_digits(&record.span_id.to_bytes(), buf);
        }
    }
    if color && (bound || in_span) {
        buf.extend_from_slice(RESET.as_bytes());
    }
    buf.push(b'\n');
}

/// The color of a level: `ERROR` red (`FATAL` bold red), `WARN` yellow, `INFO` green,
/// `DEBUG` blue, `TRACE` dim.
fn level_style(severity: Severity) -> &'static str {
    if severity >= Severity::FATAL {
        return BOLD_RED;
    }
    match severity.level() {
        Some(Level::Error) => RED,
        Some(Level::Warn) => YELLOW,
        Some(Level::Info) => GREEN,
        Some(Level::Debug) => BLUE,
        Some(Level::Trace) => DIM,
        None => "",
    }
}

/// Text kept on one line and out of the terminal's control: control characters (a
/// newline, an escape sequence) written as `{:?}` writes them (`\n`, `\u{1b}`),
/// everything else as is, quotes included.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(char::is_control) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            for e in c.escape_debug() {
                f.write_char(e)?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{log, SPAN, TRACE};
    use super::super::StdoutFormat;
    use super::*;
    use crate::{SpanId, TraceFlags, TraceId};

    fn in_span(mut record: LogRecord) -> LogRecord {
        record.trace_id = TraceId::from_hex(TRACE).unwrap();
        record.span_id = SpanId::from_hex(SPAN).unwrap();
        record.trace_flags = TraceFlags::SAMPLED;
        record
    }

    fn render_log(record: &LogRecord, format: StdoutFormat, color: bool) -> String {
        let mut buf = Vec::new();
        match format {
            StdoutFormat::Json => json_line(record, &mut buf),
            StdoutFormat::Pretty => pretty_line(record, color, &mut buf),
        }
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn fatal_severities_write_fatal_and_unspecified_writes_no_level() {
        assert_eq!(level_text(Severity::new(24)), Some("FATAL"));
        assert_eq!(level_text(Severity::new(20)), Some("ERROR"));
        assert_eq!(level_text(Severity::new(10)), Some("INFO"));
        assert_eq!(level_text(Severity::UNSPECIFIED), None);
        let mut record = log(crate::Level::Info, "m");
        record.severity = Severity::UNSPECIFIED;
        let line = render_log(&record, StdoutFormat::Json, false);
        assert!(!line.contains("\"level\""), "{line}");
        assert_eq!(
            render_log(&record, StdoutFormat::Pretty, false),
            "22:13:20.123Z       - bookstore::routes: m\n"
        );
    }

    #[test]
    fn pretty_levels_are_colored_and_padding_stays_outside_the_color() {
        let cases = [
            (crate::Level::Error, "\x1b[31mERROR\x1b[0m"),
            (crate::Level::Warn, "\x1b[33mWARN\x1b[0m"),
            (crate::Level::Info, "\x1b[32mINFO\x1b[0m"),
            (crate::Level::Debug, "\x1b[34mDEBUG\x1b[0m"),
            (crate::Level::Trace, "\x1b[2mTRACE\x1b[0m"),
        ];
        for (level, styled) in cases {
            let line = render_log(&log(level, "m"), StdoutFormat::Pretty, true);
            let pad = " ".repeat(7 - level.as_str().len());
            assert_eq!(
                line,
                format!(
                    "\x1b[2m22:13:20.123Z\x1b[0m {pad}{styled} \x1b[2mbookstore::routes:\x1b[0m m\n"
                )
            );
        }
        let mut fatal = log(crate::Level::Error, "m");
        fatal.severity = Severity::FATAL;
        let line = render_log(&fatal, StdoutFormat::Pretty, true);
        assert!(line.contains("   \x1b[1;31mFATAL\x1b[0m "), "{line:?}");
    }

    /// Colored, the bound fields and the ids are dim; the call-site fields are not.
    #[test]
    fn pretty_colored_line_dims_bound_fields_and_ids() {
        let mut record = in_span(log(crate::Level::Warn, "book not found"));
        record.attributes = crate::Attributes::from(vec![KeyValue::new("book.id", 999i64)]);
        record.context_fields = crate::Attributes::from(vec![KeyValue::new("request.id", "r-17")]);
        assert_eq!(
            render_log(&record, StdoutFormat::Pretty, true),
            "\x1b[2m22:13:20.123Z\x1b[0m    \x1b[33mWARN\x1b[0m \x1b[2mbookstore::routes:\x1b[0m \
             book not found book.id=999\x1b[2m request.id=r-17 trace=4bf92f35\u{2026} \
             span=00f067aa0ba902b7\x1b[0m\n"
        );
    }
}
