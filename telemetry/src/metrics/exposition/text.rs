//! Escaping and number formatting shared by both text formats.

/// Appends `value` escaped for a label value: `\` `"` and newline become `\\` `\"` `\n`.
///
/// ```
/// let mut out = Vec::new();
/// telem::metrics::exposition::escape_label_value_into("a\"b\\c\nd", &mut out);
/// assert_eq!(out, br#"a\"b\\c\nd"#);
/// ```
pub fn escape_label_value(value: &str, out: &mut Vec<u8>) {
    escape(value, true, out);
}

/// Appends `help` escaped for a `# HELP` line: `\` and newline always, `"` too when
/// `quotes` (OpenMetrics escapes it, Prometheus 0.0.4 does not).
///
/// ```
/// let mut out = Vec::new();
/// telem::metrics::exposition::escape_help("say \"hi\"\\\n", false, &mut out);
/// assert_eq!(out, br#"say "hi"\\\n"#);
/// ```
pub fn escape_help(help: &str, quotes: bool, out: &mut Vec<u8>) {
    escape(help, quotes, out);
}

#[inline]
fn escape(s: &str, quotes: bool, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let special = |b: u8| b == b'\\' || b == b'\n' || (quotes && b == b'"');
    if !bytes.iter().any(|&b| special(b)) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if special(b) {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(match b {
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                _ => b"\\\"",
            });
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends a u64 in decimal.
#[inline]
pub(crate) fn write_u64(v: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends an i64 in decimal.
#[inline]
pub(crate) fn write_i64(v: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends an f64 as both formats accept it: the shortest representation that reads
/// back exactly (`0.005`, `1.0`, `1e21`), or `NaN`, `+Inf`, `-Inf`.
///
/// ```
/// let mut out = Vec::new();
/// telem::metrics::exposition::write_f64(f64::INFINITY, &mut out);
/// out.push(b' ');
/// telem::metrics::exposition::write_f64(2.5, &mut out);
/// assert_eq!(out, b"+Inf 2.5");
/// ```
#[inline]
pub fn write_f64(v: f64, out: &mut Vec<u8>) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v > 0.0 {
        out.extend_from_slice(b"+Inf");
    } else {
        out.extend_from_slice(b"-Inf");
    }
}

/// Appends ns since the Unix epoch as seconds: `1700000000.123456789`.
pub(crate) fn write_unix_seconds(nanos: u64, out: &mut Vec<u8>) {
    write_u64(nanos / 1_000_000_000, out);
    out.push(b'.');
    let frac = nanos % 1_000_000_000;
    let mut digits = [b'0'; 9];
    let mut f = frac;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    out.extend_from_slice(&digits);
}

/// Appends the start of a sample line: `name` and `suffix`, then `{labels}` unless
/// there are none, then the space before the value.
#[inline]
pub(crate) fn write_series_start(name: &[u8], suffix: &[u8], labels: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(name);
    out.extend_from_slice(suffix);
    if !labels.is_empty() {
        out.push(b'{');
        out.extend_from_slice(labels.as_bytes());
        out.push(b'}');
    }
    out.push(b' ');
}

/// Appends the start of a bucket's sample line: `name_bucket{labels,le="bound"} `.
#[inline]
pub(crate) fn write_bucket_start(name: &[u8], labels: &str, le: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(name);
    out.extend_from_slice(b"_bucket{");
    if !labels.is_empty() {
        out.extend_from_slice(labels.as_bytes());
        out.push(b',');
    }
    out.extend_from_slice(b"le=\"");
    out.extend_from_slice(le);
    out.extend_from_slice(b"\"} ");
}

/// The `le` values of a family: each bound, then `+Inf`.
pub(crate) fn le_values(bounds: &[f64]) -> Vec<Vec<u8>> {
    bounds
        .iter()
        .chain(std::iter::once(&f64::INFINITY))
        .map(|&b| {
            let mut s = Vec::with_capacity(8);
            write_f64(b, &mut s);
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reverses the escaping, as a Prometheus parser does: `\\` and `\n` always, and
    /// `\"` where quotes are escaped (label values; OpenMetrics help), where a bare `"`
    /// is then an error. Prometheus 0.0.4 help text leaves `"` unescaped.
    fn unescape(s: &[u8], quotes_escaped: bool) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut it = s.iter();
        while let Some(&b) = it.next() {
            match b {
                b'\\' => out.push(match it.next()? {
                    b'\\' => b'\\',
                    b'"' if quotes_escaped => b'"',
                    b'n' => b'\n',
                    _ => return None,
                }),
                b'"' if quotes_escaped => return None, // must have been escaped
                b'\n' => return None,
                b => out.push(b),
            }
        }
        Some(out)
    }

    /// Any text: arbitrary unicode (control and multi-byte characters included), and
    /// text where the characters that must be escaped (`\n`, `\\`, `"`) come often and
    /// next to each other. (`.*` never gives a newline, nor does `any::<String>()`.)
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::string::string_regex("(?s).*").expect("a valid regex"),
            proptest::collection::vec(
                prop_oneof![
                    3 => proptest::sample::select(vec!['\n', '\\', '"', 'n', '\r', '\0']),
                    1 => any::<char>(),
                ],
                0..32,
            )
            .prop_map(String::from_iter),
        ]
    }

    proptest! {
        #[test]
        fn label_values_round_trip(s in text()) {
            let mut out = Vec::new();
            escape_label_value(&s, &mut out);
            prop_assert!(!out.contains(&b'\n'));
            prop_assert_eq!(unescape(&out, true), Some(s.into_bytes()));
        }

        #[test]
        fn help_has_no_raw_newline_and_round_trips(s in text()) {
            let mut open_metrics = Vec::new();
            escape_help(&s, true, &mut open_metrics);
            prop_assert!(!open_metrics.contains(&b'\n'));
            prop_assert_eq!(unescape(&open_metrics, true), Some(s.as_bytes().to_vec()));
            let mut prometheus = Vec::new();
            escape_help(&s, false, &mut prometheus);
            prop_assert!(!prometheus.contains(&b'\n'));
            prop_assert_eq!(unescape(&prometheus, false), Some(s.into_bytes()));
        }

        #[test]
        fn floats_read_back_exactly(v in any::<f64>()) {
            let mut out = Vec::new();
            write_f64(v, &mut out);
            let text = std::str::from_utf8(&out).unwrap();
            let parsed: f64 = match text {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                t => t.parse().unwrap(),
            };
            if v.is_nan() {
                prop_assert_eq!(text, "NaN");
            } else {
                prop_assert_eq!(parsed.to_bits(), v.to_bits());
            }
        }

        #[test]
        fn integers_match_std(v in any::<u64>(), w in any::<i64>()) {
            let mut out = Vec::new();
            write_u64(v, &mut out);
            out.push(b' ');
            write_i64(w, &mut out);
            prop_assert_eq!(String::from_utf8(out).unwrap(), format!("{v} {w}"));
        }

        #[test]
        fn unix_seconds_read_back(n in any::<u64>()) {
            let mut out = Vec::new();
            write_unix_seconds(n, &mut out);
            let text = String::from_utf8(out).unwrap();
            let (secs, frac) = text.split_once('.').unwrap();
            prop_assert_eq!(secs.parse::<u64>().unwrap(), n / 1_000_000_000);
            prop_assert_eq!(frac.len(), 9);
            prop_assert_eq!(frac.parse::<u64>().unwrap(), n % 1_000_000_000);
        }
    }
}
