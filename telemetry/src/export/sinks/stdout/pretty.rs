//! What the pretty lines of spans, log records and metric snapshots share: the colors,
//! attributes as `key=value`, the short trace id, the time of day and durations.

use crate::export::otlp_json;
use crate::util::stack_text::StackText;
use crate::{KeyValue, TraceId, Value};
use std::fmt::{self, Write as _};
use std::io::Write;

pub(super) const DIM: &str = "\x1b[2m";
pub(super) const BOLD: &str = "\x1b[1m";
pub(super) const RED: &str = "\x1b[31m";
pub(super) const BOLD_RED: &str = "\x1b[1;31m";
pub(super) const GREEN: &str = "\x1b[32m";
pub(super) const YELLOW: &str = "\x1b[33m";
pub(super) const BLUE: &str = "\x1b[34m";
pub(super) const RESET: &str = "\x1b[0m";

/// Wraps `text` in an ANSI style when `color` is on.
pub(super) struct Styled<'a, T: fmt::Display>(pub(super) bool, pub(super) &'a str, pub(super) T);

impl<T: fmt::Display> fmt::Display for Styled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 {
            write!(f, "{}{}{RESET}", self.1, self.2)
        } else {
            self.2.fmt(f)
        }
    }
}

/// ` key=value` per attribute, each written in place: strings through [`Token`], numbers
/// and booleans as they print, arrays printed then quoted if they hold a space.
pub(super) fn push_attributes(buf: &mut Vec<u8>, attributes: &[KeyValue]) {
    for kv in attributes {
        let _ = write!(buf, " {}=", Token(&kv.key));
        match &kv.value {
            Value::String(s) => {
                let _ = write!(buf, "{}", Token(s));
            }
            Value::I64(v) => buf.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
            Value::Bool(v) => buf.extend_from_slice(if *v { b"true" } else { b"false" }),
            other => {
                let start = buf.len();
                let _ = write!(buf, "{other}");
                if !is_plain(&buf[start..]) {
                    // Rare (an array holding a space or a quote): printed again, quoted.
                    buf.truncate(start);
                    buf.push(b'"');
                    let _ = write!(Quoted(buf), "{other}");
                    buf.push(b'"');
                }
            }
        }
    }
}

/// Writes text escaped as `{:?}` escapes the inside of a string.
struct Quoted<'a>(&'a mut Vec<u8>);

impl fmt::Write for Quoted<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut utf8 = [0; 4];
        for c in s.chars() {
            if c == '\'' {
                self.0.push(b'\'');
            } else {
                for e in c.escape_debug() {
                    self.0
                        .extend_from_slice(e.encode_utf8(&mut utf8).as_bytes());
                }
            }
        }
        Ok(())
    }
}

/// Whether `text` can stand unquoted as a `key=value` token: not empty, and without
/// whitespace, control characters, `"` or `=`.
fn is_plain(text: &[u8]) -> bool {
    !text.is_empty()
        && std::str::from_utf8(text).is_ok_and(|t| {
            !t.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=')
        })
}

/// A `key=value` token: as is when it is a single plain word, otherwise quoted and escaped.
struct Token<'a>(&'a str);

impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = !self.0.is_empty()
            && !self
                .0
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=');
        if plain {
            f.write_str(self.0)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

/// ` trace=` and the trace id's first 8 hex digits, then `…`: enough of the trace id to
/// tell traces apart by eye.
pub(super) fn push_short_trace_id(buf: &mut Vec<u8>, trace_id: TraceId) {
    buf.extend_from_slice(b" trace=");
    otlp_json::hex_digits(&trace_id.to_bytes()[..4], buf);
    buf.extend_from_slice("\u{2026}".as_bytes());
}

/// `HH:MM:SS.mmmZ` (UTC) from ns since the Unix epoch.
pub(super) struct TimeOfDay(pub(super) u64);

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1_000_000_000;
        let millis = (self.0 / 1_000_000) % 1000;
        let of_day = secs % 86_400;
        write!(
            f,
            "{:02}:{:02}:{:02}.{millis:03}Z",
            of_day / 3600,
            (of_day / 60) % 60,
            of_day % 60
        )
    }
}

/// A duration in the largest fitting unit with about three significant digits:
/// `850ns`, `12.3µs`, `1.23ms`, `4.56s`, `2m05s`, `1h02m`.
pub(super) struct HumanDuration(pub(super) u64);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        // Printed on the stack first, then padded as a whole, so `{:>7}` aligns the column.
        let mut text = DurationText::default();
        // Thresholds at x999.5 of the smaller unit so rounding never prints `1000µs`.
        if n < 1_000 {
            write!(text, "{n}ns")?;
        } else if n < 999_500 {
            scaled(&mut text, n as f64 / 1e3, "µs")?;
        } else if n < 999_500_000 {
            scaled(&mut text, n as f64 / 1e6, "ms")?;
        } else if n < 59_950_000_000 {
            scaled(&mut text, n as f64 / 1e9, "s")?;
        } else {
            let secs = n.saturating_add(500_000_000) / 1_000_000_000;
            if secs < 3600 {
                write!(text, "{}m{:02}s", secs / 60, secs % 60)?;
            } else {
                let mins = (secs + 30) / 60;
                write!(text, "{}h{:02}m", mins / 60, mins % 60)?;
            }
        }
        f.pad(text.as_str())
    }
}

/// A duration's text: at most `5124095h35m`.
type DurationText = StackText<24>;

fn scaled(text: &mut DurationText, v: f64, unit: &str) -> fmt::Result {
    if v < 9.995 {
        write!(text, "{v:.2}{unit}")
    } else if v < 99.95 {
        write!(text, "{v:.1}{unit}")
    } else {
        write!(text, "{v:.0}{unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        let cases = [
            (0, "0ns"),
            (999, "999ns"),
            (1_000, "1.00µs"),
            (12_345, "12.3µs"),
            (999_499, "999µs"),
            (999_500, "1.00ms"),
            (1_234_567, "1.23ms"),
            (1_500_000_000, "1.50s"),
            (59_940_000_000, "59.9s"),
            (59_960_000_000, "1m00s"),
            (125_000_000_000, "2m05s"),
            (3_720_000_000_000, "1h02m"),
            (u64::MAX, "5124095h35m"),
        ];
        for (n, want) in cases {
            assert_eq!(HumanDuration(n).to_string(), want, "{n}");
        }
        assert_eq!(format!("{:>7}", HumanDuration(1_000)), " 1.00µs");
        assert_eq!(TimeOfDay(0).to_string(), "00:00:00.000Z");
        assert_eq!(TimeOfDay(86_399_999_999_999).to_string(), "23:59:59.999Z");
    }
}
