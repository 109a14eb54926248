//! The response side of W3C Trace Context (Level 2, § "Trace Context Server Timing
//! Metric Format"): the `trace` metric of a `server-timing` response header, naming the
//! server's span, written with [`TraceParent::server_timing_value`] and read with
//! [`TraceParent::from_server_timing`]. Like `tracestate.rs` for `TraceState`, this
//! file adds the header's methods to the type of its value.
//!
//! Rules deliberately not followed to the letter:
//! - A desc of a later version than `00` is read as a `traceparent` of that version is
//!   (its first four fields, the `sampled` and `random` flags kept), not refused: this section
//!   defines version `00` only and says nothing of later ones, and the request header's
//!   forward-compatibility rule is the closest the recommendation comes.
//! - A metric that breaks the Server Timing grammar (a param without `=`, say) is
//!   skipped, where browsers' parsers guess: a guessed desc would name a span nobody
//!   vouched for.

use super::TraceParent;
use std::borrow::Cow;

/// The response header that carries the trace context metric,
/// `server-timing: trace;desc=00-<trace id>-<span id>-<flags>`
/// ([`TraceParent::server_timing_value`], [`TraceParent::from_server_timing`]). The
/// metric names the span that served the request; its flags are a recommendation to
/// the client, never a rule (§ "trace-flags").
pub const SERVER_TIMING_HEADER: &str = "server-timing";

/// The metric and the start of its desc, as written: the name in lowercase.
const PREFIX: &[u8; 11] = b"trace;desc=";

/// The length of a version `00` `traceparent`.
const TRACEPARENT_LEN: usize = 55;

/// The length of the written metric.
const LEN: usize = PREFIX.len() + TRACEPARENT_LEN;

impl TraceParent {
    /// The `server-timing` trace context metric naming this span:
    /// `trace;desc=00-<trace id>-<span id>-<flags>`, the flags version `00` does not
    /// define cleared. On a response, [`parent_id`](TraceParent::parent_id) is the
    /// server's span.
    ///
    /// ```
    /// use telem::propagation::TraceParent;
    /// use telem::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    ///
    /// // The server's span context, as the response names it.
    /// let server = SpanContext::new(
    ///     TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
    ///     SpanId::from_hex("b7ad6b7169203331").unwrap(),
    ///     TraceFlags::SAMPLED,
    ///     TraceState::default(),
    ///     false,
    /// );
    /// let metric = TraceParent::from_span_context(&server).unwrap().server_timing_value();
    /// assert_eq!(metric, "trace;desc=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    /// ```
    pub fn server_timing_value(&self) -> String {
        self.server_timing_bytes()
            .iter()
            .map(|&b| char::from(b))
            .collect()
    }

    /// The metric as bytes, without allocating (for `http::HeaderValue::from_bytes`):
    /// the same as [`server_timing_value`](Self::server_timing_value).
    ///
    /// ```
    /// use telem::propagation::TraceParent;
    /// let tp = TraceParent::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
    /// let value = http::HeaderValue::from_bytes(&tp.server_timing_bytes()).unwrap();
    /// assert_eq!(value, tp.server_timing_value().as_str());
    /// ```
    pub fn server_timing_bytes(&self) -> [u8; LEN] {
        let mut out = [0; LEN];
        let (prefix, desc) = out.split_at_mut(PREFIX.len());
        prefix.copy_from_slice(PREFIX);
        desc.copy_from_slice(&self.header_bytes());
        out
    }

    /// The first valid `trace` metric of a `server-timing` header value, or `None`: the
    /// span that served the request (in [`parent_id`](TraceParent::parent_id)). Never
    /// panics.
    ///
    /// The value is read by the W3C Server Timing grammar: a `,`-separated list of
    /// metrics, each `name *( OWS ";" OWS param )`, a param `name OWS "=" OWS value`,
    /// the value a token or a quoted-string.
    /// - The metric name `trace` is ASCII case-insensitive (§ "Metric Name"), and so
    ///   is the param name `desc`.
    /// - Other metrics and params are ignored. Of several `desc` params only the first
    ///   counts, valid or not (Server Timing).
    /// - A metric that breaks the grammar is skipped alone, up to the next `,` outside
    ///   a quoted string.
    /// - The desc follows [`TraceParent::parse`]: lowercase hex only, version `ff`
    ///   refused, all-zero trace or span ids refused; a metric with an invalid desc is
    ///   ignored (§ "span-id": "MUST ignore the trace context metric when the span id
    ///   is invalid"). Spaces or tabs around it inside quotes are refused too.
    /// - The first valid `trace` metric wins.
    ///
    /// ```
    /// use telem::propagation::TraceParent;
    ///
    /// let header = r#"db;dur=53, Trace;desc="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03""#;
    /// let server = TraceParent::from_server_timing(header).unwrap();
    /// assert_eq!(server.parent_id.to_string(), "b7ad6b7169203331"); // the server's span
    /// assert!(server.flags.is_sampled());
    ///
    /// // An invalid span id: the metric is ignored.
    /// assert_eq!(
    ///     TraceParent::from_server_timing("trace;desc=00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"),
    ///     None
    /// );
    /// ```
    pub fn from_server_timing(value: &str) -> Option<Self> {
        trace_metric(value.as_bytes())
    }

    /// The first valid `trace` metric across several `server-timing` header lines, read
    /// in order as one list, as HTTP combines repeated fields (the rules of
    /// [`from_server_timing`](Self::from_server_timing)). Each line is parsed on its
    /// own, so an unterminated quoted string cannot swallow the next line.
    ///
    /// ```
    /// use telem::propagation::TraceParent;
    ///
    /// let lines = ["db;dur=53", "cache;desc=hit, trace;desc=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"];
    /// let server = TraceParent::from_server_timing_lines(lines).unwrap();
    /// assert_eq!(server.trace_id.to_string(), "0af7651916cd43dd8448eb211c80319c");
    /// assert_eq!(TraceParent::from_server_timing_lines(["db;dur=53"]), None);
    /// ```
    pub fn from_server_timing_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        lines
            .into_iter()
            .find_map(|line| trace_metric(line.as_bytes()))
    }
}

/// The first valid `trace` metric of one header line.
fn trace_metric(line: &[u8]) -> Option<TraceParent> {
    let mut at = 0;
    loop {
        // Empty list elements and whitespace between elements (the `#` rule).
        while line.get(at).is_some_and(|&b| is_ows(b) || b == b',') {
            at += 1;
        }
        if at >= line.len() {
            return None;
        }
        let start = at;
        match metric(line, &mut at) {
            Some(Metric {
                is_trace: true,
                desc: Some(desc),
            }) => {
                if let Some(parent) = parse_desc(&desc) {
                    return Some(parent);
                }
            }
            Some(_) => {}
            // Malformed: resume at the next element, scanning it again from its start
            // to know which commas are inside quoted strings.
            None => {
                at = start;
                skip_element(line, &mut at);
            }
        }
    }
}

/// A metric that follows the grammar: whether it is `trace`, and its first `desc`
/// (unescaped) if it has one. Only a `trace` metric's desc is kept.
struct Metric<'a> {
    is_trace: bool,
    desc: Option<Cow<'a, [u8]>>,
}

/// Reads one metric from `line[*at..]`, leaving `at` at the `,` after it or at the end;
/// `None` (with `at` anywhere) if it breaks the grammar.
fn metric<'a>(line: &'a [u8], at: &mut usize) -> Option<Metric<'a>> {
    let name = token(line, at)?;
    let is_trace = name.eq_ignore_ascii_case(b"trace");
    let mut desc = None;
    let mut seen_desc = false;
    loop {
        skip_ows(line, at);
        match line.get(*at) {
            None | Some(b',') => return Some(Metric { is_trace, desc }),
            Some(b';') => *at += 1,
            Some(_) => return None,
        }
        skip_ows(line, at);
        let param = token(line, at)?;
        skip_ows(line, at);
        if line.get(*at) != Some(&b'=') {
            return None;
        }
        *at += 1;
        skip_ows(line, at);
        let value = param_value(line, at)?;
        // Only the first `desc` counts, valid or not.
        if param.eq_ignore_ascii_case(b"desc") && !seen_desc {
            seen_desc = true;
            if is_trace {
                desc = Some(value);
            }
        }
    }
}

/// A param value: a token, or a quoted-string (unescaped, borrowed unless it has a
/// quoted-pair).
fn param_value<'a>(line: &'a [u8], at: &mut usize) -> Option<Cow<'a, [u8]>> {
    if line.get(*at) != Some(&b'"') {
        return token(line, at).map(Cow::Borrowed);
    }
    *at += 1;
    let start = *at;
    let mut unescaped: Option<Vec<u8>> = None;
    loop {
        let &b = line.get(*at)?;
        *at += 1;
        match b {
            b'"' => {
                return Some(match unescaped {
                    Some(v) => Cow::Owned(v),
                    None => Cow::Borrowed(&line[start..*at - 1]),
                })
            }
            b'\\' => {
                let &escaped = line.get(*at)?;
                if !(escaped == b'\t' || escaped == b' ' || escaped >= 0x21 && escaped != 0x7f) {
                    return None;
                }
                *at += 1;
                unescaped
                    .get_or_insert_with(|| line[start..*at - 2].to_vec())
                    .push(escaped);
            }
            // qdtext: HTAB, SP, visible ASCII but `"` and `\`, obs-text.
            b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff => {
                if let Some(v) = &mut unescaped {
                    v.push(b);
                }
            }
            _ => return None,
        }
    }
}

/// The desc of a `trace` metric: a `traceparent` value, nothing around it.
fn parse_desc(desc: &[u8]) -> Option<TraceParent> {
    if desc.first().is_some_and(|&b| is_ows(b)) || desc.last().is_some_and(|&b| is_ows(b)) {
        return None;
    }
    TraceParent::parse(std::str::from_utf8(desc).ok()?).ok()
}

/// A non-empty token at `line[*at..]`, advancing past it.
fn token<'a>(line: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let start = *at;
    while line.get(*at).is_some_and(|&b| is_tchar(b)) {
        *at += 1;
    }
    (*at > start).then(|| &line[start..*at])
}

/// Moves `at` to the next `,` outside a quoted string, or to the end.
fn skip_element(line: &[u8], at: &mut usize) {
    let mut quoted = false;
    while let Some(&b) = line.get(*at) {
        match b {
            b',' if !quoted => return,
            b'"' => quoted = !quoted,
            b'\\' if quoted => *at += 1,
            _ => {}
        }
        *at += 1;
    }
}

fn skip_ows(line: &[u8], at: &mut usize) {
    while line.get(*at).is_some_and(|&b| is_ows(b)) {
        *at += 1;
    }
}

/// `OWS`: space or horizontal tab.
fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `tchar` (RFC 9110): letters, digits and ``!#$%&'*+-.^_`|~``.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    use proptest::prelude::*;

    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    const SPAN: &str = "b7ad6b7169203331";

    fn desc(flags: &str) -> String {
        format!("00-{TRACE}-{SPAN}-{flags}")
    }

    fn expected(flags: u8) -> TraceParent {
        TraceParent {
            trace_id: TraceId::from_hex(TRACE).unwrap(),
            parent_id: SpanId::from_hex(SPAN).unwrap(),
            flags: TraceFlags::new(flags),
        }
    }

    fn read(value: &str) -> Option<TraceParent> {
        TraceParent::from_server_timing(value)
    }

    // § "Trace Context Metric": the example header.
    #[test]
    fn the_spec_example_is_read() {
        assert_eq!(
            read(&format!("trace;desc={}", desc("01"))),
            Some(expected(0x01))
        );
    }

    // § "Metric Name": ASCII case-insensitive; written lowercase (SHOULD).
    #[test]
    fn metric_name_is_case_insensitive_and_written_lowercase() {
        for name in ["trace", "Trace", "TRACE", "tRaCe"] {
            assert_eq!(
                read(&format!("{name};desc={}", desc("01"))),
                Some(expected(1)),
                "{name}"
            );
        }
        assert!(expected(1).server_timing_value().starts_with("trace;desc="));
        // Not the same name: a prefix or a longer name.
        assert_eq!(read(&format!("trac;desc={}", desc("01"))), None);
        assert_eq!(read(&format!("traces;desc={}", desc("01"))), None);
    }

    // Server Timing: `server-timing-param-value = token / quoted-string`.
    #[test]
    fn quoted_desc_is_accepted() {
        assert_eq!(
            read(&format!("trace;desc=\"{}\"", desc("01"))),
            Some(expected(1))
        );
        // A quoted-pair stands for the character it escapes.
        let escaped = desc("01").replace('-', "\\-");
        assert_eq!(
            read(&format!("trace;desc=\"{escaped}\"")),
            Some(expected(1))
        );
        // Whitespace is not part of a desc, quoted or not.
        assert_eq!(read(&format!("trace;desc=\" {}\"", desc("01"))), None);
        assert_eq!(read(&format!("trace;desc=\"{}\t\"", desc("01"))), None);
        // An unterminated quoted string is malformed.
        assert_eq!(read(&format!("trace;desc=\"{}", desc("01"))), None);
    }

    // Server Timing: `metric-name *( OWS ";" OWS param )`, `name OWS "=" OWS value`.
    #[test]
    fn optional_whitespace_around_separators() {
        for value in [
            format!("trace ; desc = {}", desc("01")),
            format!("\ttrace\t;\tdesc\t=\t{}\t", desc("01")),
            format!("  trace;desc={}  ,  ", desc("01")),
        ] {
            assert_eq!(read(&value), Some(expected(1)), "{value:?}");
        }
        // Whitespace inside the desc is not optional whitespace.
        assert_eq!(read(&format!("trace;desc=00 -{TRACE}-{SPAN}-01")), None);
    }

    // Server Timing: `#server-timing-metric`; other metrics and params are ignored.
    #[test]
    fn the_trace_metric_is_found_among_others() {
        let value = format!(
            r#"miss, db;dur=53, cache;desc="Cache Read, a,b";dur=23.2, trace;dur=1;desc={};x=y, app;dur=47.2"#,
            desc("03")
        );
        assert_eq!(read(&value), Some(expected(0x03)));
        assert_eq!(read("miss, db;dur=53"), None);
        assert_eq!(read(""), None);
        assert_eq!(read(" , ,, "), None);
        // A trace metric without a desc names nothing.
        assert_eq!(read("trace;dur=1"), None);
        assert_eq!(read("trace"), None);
    }

    // Server Timing: "If any server-timing-param-name is specified more than once, only
    // the first instance is to be considered, even if [it] is incomplete or invalid."
    #[test]
    fn only_the_first_desc_counts() {
        let other = format!("00-{TRACE}-00f067aa0ba902b7-01");
        let first = read(&format!("trace;desc={};DESC={other}", desc("01")));
        assert_eq!(first, Some(expected(1)));
        assert_eq!(
            read(&format!("trace;desc=nonsense;desc={}", desc("01"))),
            None
        );
    }

    // Server Timing: a response MAY have several metrics with the same name; the first
    // valid trace metric wins.
    #[test]
    fn the_first_valid_trace_metric_wins() {
        let other = format!("00-{TRACE}-00f067aa0ba902b7-00");
        let value = format!("trace;desc={}, trace;desc={other}", desc("01"));
        assert_eq!(read(&value), Some(expected(1)));
        let value = format!("trace;desc=00-zz, trace;desc={}", desc("01"));
        assert_eq!(
            read(&value),
            Some(expected(1)),
            "an invalid first one is skipped"
        );
    }

    // Server Timing: repeated header lines combine into one list.
    #[test]
    fn several_header_lines_are_one_list() {
        let lines = [
            "db;dur=53".to_owned(),
            "trace;desc=bad".to_owned(),
            format!("trace;desc={}", desc("02")),
        ];
        let found = TraceParent::from_server_timing_lines(lines.iter().map(String::as_str));
        assert_eq!(found, Some(expected(0x02)));
        // An unterminated quote in one line does not swallow the next.
        let lines = [
            "x;desc=\"open".to_owned(),
            format!("trace;desc={}", desc("01")),
        ];
        let found = TraceParent::from_server_timing_lines(lines.iter().map(String::as_str));
        assert_eq!(found, Some(expected(1)));
        assert_eq!(TraceParent::from_server_timing_lines([]), None);
    }

    // Server Timing grammar: a malformed metric is skipped alone.
    #[test]
    fn malformed_metrics_are_skipped_alone() {
        for bad in [
            "trace;desc",
            "trace;=x",
            "trace;desc=",
            "trace desc=x",
            "tr@ce;desc=x",
            ";desc=x",
            "=x",
            "trace;desc=\"a\"b",
            "db;desc=\"a,\\\"b\"c",
            "x;desc=\"\u{7f}\"",
        ] {
            let value = format!("{bad}, trace;desc={}", desc("01"));
            assert_eq!(read(&value), Some(expected(1)), "{value:?}");
        }
        // A trace metric inside a quoted string is not a metric.
        let quoted = format!("x;desc=\"a, trace;desc={}\"", desc("01"));
        assert_eq!(read(&quoted), None);
        assert_eq!(read(&format!("{quoted}junk")), None);
        // A metric that breaks the grammar after a valid desc is skipped too.
        assert_eq!(read(&format!("trace;desc={} junk", desc("01"))), None);
        assert_eq!(read(&format!("trace;desc={};", desc("01"))), None);
    }

    // § "span-id": "Tracing systems MUST ignore the trace context metric when the span
    // id is invalid (for example, if it contains non-lowercase hex characters)."
    #[test]
    fn invalid_span_id_is_ignored() {
        for span in [
            "0000000000000000",
            "B7AD6B7169203331",
            "b7ad6b716920333",
            "b7ad6b71692033311",
            "b7ad6b716920333g",
        ] {
            let value = format!("trace;desc=00-{TRACE}-{span}-01");
            assert_eq!(read(&value), None, "{value}");
        }
    }

    // § "version": "Version 255 (`ff`) is invalid."
    #[test]
    fn version_ff_is_refused() {
        assert_eq!(read(&format!("trace;desc=ff-{TRACE}-{SPAN}-01")), None);
    }

    // § "Metric Description Format": `HEXDIGLC`, lowercase hex only, in every field.
    #[test]
    fn uppercase_hex_is_refused() {
        for value in [
            format!("trace;desc=00-{}-{SPAN}-01", TRACE.to_uppercase()),
            format!("trace;desc=00-{TRACE}-{}-01", SPAN.to_uppercase()),
            format!("trace;desc=00-{TRACE}-{SPAN}-0A"),
            format!("trace;desc=0A-{TRACE}-{SPAN}-01"),
        ] {
            assert_eq!(read(&value), None, "{value}");
        }
    }

    // § "Metric Description Format": trace-id and child-id "All zeroes forbidden".
    #[test]
    fn all_zero_ids_are_refused() {
        let zero_trace = "0".repeat(32);
        assert_eq!(read(&format!("trace;desc=00-{zero_trace}-{SPAN}-01")), None);
        assert_eq!(
            read(&format!("trace;desc=00-{TRACE}-0000000000000000-01")),
            None
        );
    }

    // § "trace-flags": version 00 defines `sampled` and `random-trace-id`; § "Other
    // Flags": "Tracing systems MUST set those to zero."
    #[test]
    fn only_the_sampled_and_random_flags_are_read_and_written() {
        assert_eq!(
            read(&format!("trace;desc={}", desc("ff"))),
            Some(expected(0x03))
        );
        assert_eq!(
            read(&format!("trace;desc={}", desc("06"))),
            Some(expected(0x02))
        );
        let reserved = TraceParent {
            flags: TraceFlags::new(0xfd),
            ..expected(0)
        };
        assert!(reserved.server_timing_value().ends_with("-01"));
    }

    #[test]
    fn a_span_context_formats_as_the_spec_example() {
        let server = SpanContext::new(
            TraceId::from_hex(TRACE).unwrap(),
            SpanId::from_hex(SPAN).unwrap(),
            TraceFlags::SAMPLED,
            TraceState::default(),
            false,
        );
        let tp = TraceParent::from_span_context(&server).unwrap();
        assert_eq!(
            tp.server_timing_value(),
            format!("trace;desc={}", desc("01"))
        );
        assert_eq!(
            &tp.server_timing_bytes()[..],
            tp.server_timing_value().as_bytes()
        );
    }

    fn valid() -> impl Strategy<Value = TraceParent> {
        (1..=u128::MAX, 1..=u64::MAX, 0..=0x03u8).prop_map(|(t, s, f)| TraceParent {
            trace_id: TraceId::from_raw(t),
            parent_id: SpanId::from_raw(s),
            flags: TraceFlags::new(f),
        })
    }

    proptest! {
        // § "Trace Context Metric": what a server writes, a client reads back.
        #[test]
        fn format_then_parse_round_trips(tp in valid(), before in "(db;dur=[0-9]{1,3}, )?", after in "(, cache;desc=\"a, b\")?") {
            let metric = tp.server_timing_value();
            prop_assert_eq!(&metric, &format!("trace;desc={}", tp.header_value()));
            prop_assert_eq!(TraceParent::from_server_timing(&metric), Some(tp));
            let header = format!("{before}{metric}{after}");
            prop_assert_eq!(TraceParent::from_server_timing(&header), Some(tp));
        }

        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = TraceParent::from_server_timing(&s);
        }

        #[test]
        fn parse_never_panics_near_valid(s in "[tTrace;=\", \\\\0-9a-f-]{0,90}") {
            if let Some(tp) = TraceParent::from_server_timing(&s) {
                prop_assert!(tp.parent_id.is_valid() && tp.trace_id.is_valid());
            }
        }
    }
}
