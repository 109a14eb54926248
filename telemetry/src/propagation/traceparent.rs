//! The W3C `traceparent` header: version, trace id, parent id and flags.

use crate::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use std::fmt;
use std::str::FromStr;

/// The header that carries a [`TraceParent`].
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// The flags version `00` defines: `sampled` (`0x01`) and, in Trace Context Level 2,
/// `random` (`0x02`). Other bits are reserved: ignored when read, written as zero
/// (§ "Other Flags").
const VERSION_00_FLAGS: u8 = 0x03;

/// The length of a version `00` header, and the least a later version may have.
const LEN: usize = 55;

/// A parsed `traceparent` header (W3C Trace Context): the caller's trace id, its span
/// id (this service's parent) and the trace flags.
///
/// Parsing follows W3C Trace Context Level 2 exactly: lowercase hex only; version `ff`
/// is invalid; version `00` is exactly 55 characters; a later version is read by its
/// first four fields (at least 55 characters, and a `-` after the flags if longer;
/// § "Versioning of traceparent"); all-zero trace or parent ids are invalid; spaces and
/// tabs around the value are ignored. Of the flags, the two this version defines are
/// kept, `sampled` and `random`, whatever the version: the random flag MUST reach every
/// outgoing `traceparent` of the same trace (§ "Random Trace ID Flag"), and the
/// processing model reads "the trace-flags values supported by this version" of a
/// higher version; reserved bits are dropped. Anything else is a [`TraceParentError`],
/// never a panic: the service then starts a new trace. It is always written as version
/// `00`.
///
/// ```
/// use telem::propagation::TraceParent;
///
/// let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap();
/// assert_eq!(tp.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(tp.flags.is_sampled());
/// assert_eq!(tp.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
///
/// assert!(TraceParent::parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceParent {
    /// The trace the caller belongs to.
    pub trace_id: TraceId,
    /// The caller's span: the parent of the spans this service starts for the request.
    pub parent_id: SpanId,
    /// The caller's trace flags (`sampled` is its sampling decision).
    pub flags: TraceFlags,
}

/// Why a `traceparent` value was refused. The service should start a new trace (and
/// ignore `tracestate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceParentError {
    /// The version is not two lowercase hex digits followed by `-`.
    #[error("invalid traceparent version: expected 2 lowercase hex digits then `-` (as in `00-<trace id>-<parent id>-<flags>`)")]
    InvalidVersion,
    /// Version `ff`, which the recommendation forbids.
    #[error("traceparent version ff is forbidden")]
    ForbiddenVersion,
    /// The length does not fit the version.
    #[error(
        "traceparent has {len} characters: version 00 has exactly 55, later versions at least 55"
    )]
    InvalidLength {
        /// The length of the value, without surrounding whitespace.
        len: usize,
    },
    /// The trace id is not 32 lowercase hex digits followed by `-`.
    #[error("invalid traceparent trace id: expected 32 lowercase hex digits then `-`")]
    InvalidTraceId,
    /// The parent id is not 16 lowercase hex digits followed by `-`.
    #[error("invalid traceparent parent id: expected 16 lowercase hex digits then `-`")]
    InvalidParentId,
    /// The flags are not 2 lowercase hex digits at the end (or followed by `-` in a
    /// later version).
    #[error("invalid traceparent flags: expected 2 lowercase hex digits at the end of the value")]
    InvalidFlags,
    /// The trace id is all zeros.
    #[error("traceparent trace id is all zeros, which is invalid")]
    ZeroTraceId,
    /// The parent id is all zeros.
    #[error("traceparent parent id is all zeros, which is invalid")]
    ZeroParentId,
}

impl TraceParent {
    /// Parses a `traceparent` header value (see [`TraceParent`] for the rules).
    ///
    /// ```
    /// use telem::propagation::{TraceParent, TraceParentError};
    ///
    /// // A later version may add fields after the flags.
    /// let future = TraceParent::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra");
    /// assert!(future.is_ok());
    /// // Version 00 may not.
    /// assert_eq!(
    ///     TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"),
    ///     Err(TraceParentError::InvalidLength { len: 61 })
    /// );
    /// ```
    pub fn parse(value: &str) -> Result<Self, TraceParentError> {
        let b = value.trim_matches([' ', '\t']).as_bytes();
        let version = match b {
            [hi, lo, b'-', ..] => hex_byte(*hi, *lo).ok_or(TraceParentError::InvalidVersion)?,
            _ => return Err(TraceParentError::InvalidVersion),
        };
        if version == 0xff {
            return Err(TraceParentError::ForbiddenVersion);
        }
        if b.len() < LEN || (version == 0 && b.len() != LEN) {
            return Err(TraceParentError::InvalidLength { len: b.len() });
        }
        // Version > 00: anything after the flags must start a new field.
        if b.len() > LEN && b[LEN] != b'-' {
            return Err(TraceParentError::InvalidFlags);
        }
        let trace = hex_u128(&b[3..35]).filter(|_| b[35] == b'-');
        let trace = trace.ok_or(TraceParentError::InvalidTraceId)?;
        let parent = hex_u64(&b[36..52]).filter(|_| b[52] == b'-');
        let parent = parent.ok_or(TraceParentError::InvalidParentId)?;
        let flags = hex_byte(b[53], b[54]).ok_or(TraceParentError::InvalidFlags)?;
        if trace == 0 {
            return Err(TraceParentError::ZeroTraceId);
        }
        if parent == 0 {
            return Err(TraceParentError::ZeroParentId);
        }
        Ok(Self {
            trace_id: TraceId::from_raw(trace),
            parent_id: SpanId::from_raw(parent),
            flags: TraceFlags::new(flags & VERSION_00_FLAGS),
        })
    }

    /// The `traceparent` of a span context, or `None` if it is invalid (no span).
    ///
    /// ```
    /// use telem::propagation::TraceParent;
    /// use telem::SpanContext;
    /// assert!(TraceParent::from_span_context(&SpanContext::INVALID).is_none());
    /// ```
    pub fn from_span_context(span: &SpanContext) -> Option<Self> {
        span.is_valid().then_some(Self {
            trace_id: span.trace_id,
            parent_id: span.span_id,
            flags: span.flags,
        })
    }

    /// The remote span context this header describes, with `state` (the request's
    /// `tracestate`) and `is_remote` set.
    ///
    /// ```
    /// use telem::propagation::TraceParent;
    /// use telem::TraceState;
    /// let tp = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").unwrap();
    /// let span = tp.to_span_context(TraceState::default());
    /// assert!(span.is_remote && span.is_valid() && !span.is_sampled());
    /// ```
    pub fn to_span_context(self, state: TraceState) -> SpanContext {
        SpanContext::new(self.trace_id, self.parent_id, self.flags, state, true)
    }

    /// The header value, as version `00`: `00-<trace id>-<parent id>-<flags>`, with the
    /// flags version `00` does not define cleared.
    ///
    /// ```
    /// use telem::propagation::TraceParent;
    /// let tp = TraceParent::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-x").unwrap();
    /// assert_eq!(tp.header_value(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    /// ```
    pub fn header_value(&self) -> String {
        // ASCII by construction: one copy of the 55 bytes.
        String::from_utf8_lossy(&self.header_bytes()).into_owned()
    }

    /// The header value as bytes, without allocating (for
    /// `http::HeaderValue::from_bytes`): the same as
    /// [`header_value`](Self::header_value).
    ///
    /// ```
    /// use telem::propagation::TraceParent;
    /// let tp = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// let value = http::HeaderValue::from_bytes(&tp.header_bytes()).unwrap();
    /// assert_eq!(value, tp.header_value().as_str());
    /// ```
    pub fn header_bytes(&self) -> [u8; LEN] {
        /// Writes `bytes` as lowercase hex from `out[at]` on.
        #[inline(always)]
        fn hex(out: &mut [u8; LEN], at: usize, bytes: &[u8]) {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            for (i, &b) in bytes.iter().enumerate() {
                out[at + 2 * i] = HEX[usize::from(b >> 4)];
                out[at + 2 * i + 1] = HEX[usize::from(b & 0xf)];
            }
        }
        // `00-{32 hex}-{16 hex}-{2 hex}`: the dashes are where the fields are not.
        let mut out = [b'-'; LEN];
        out[0] = b'0';
        out[1] = b'0';
        hex(&mut out, 3, &self.trace_id.to_bytes());
        hex(&mut out, 36, &self.parent_id.to_bytes());
        hex(&mut out, 53, &[self.flags.bits() & VERSION_00_FLAGS]);
        out
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Always ASCII; an error here is unreachable but costs nothing to pass on.
        let bytes = self.header_bytes();
        f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for TraceParent {
    type Err = TraceParentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A lowercase hex digit's value (`HEXDIGLC`; uppercase is invalid in Trace Context).
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

fn hex_byte(hi: u8, lo: u8) -> Option<u8> {
    Some(hex_digit(hi)? << 4 | hex_digit(lo)?)
}

fn hex_u64(digits: &[u8]) -> Option<u64> {
    digits
        .iter()
        .try_fold(0u64, |acc, &d| Some(acc << 4 | u64::from(hex_digit(d)?)))
}

fn hex_u128(digits: &[u8]) -> Option<u128> {
    digits
        .iter()
        .try_fold(0u128, |acc, &d| Some(acc << 4 | u128::from(hex_digit(d)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TRACE: &str = "12345678901234567890123456789012";
    const PARENT: &str = "1234567890123456";

    fn ok(value: &str) -> TraceParent {
        TraceParent::parse(value).unwrap_or_else(|e| panic!("{value:?} should parse: {e}"))
    }

    fn err(value: &str) -> TraceParentError {
        match TraceParent::parse(value) {
            Ok(tp) => panic!("{value:?} should be refused, parsed {tp:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn valid_version_00() {
        let tp = ok(&format!("00-{TRACE}-{PARENT}-01"));
        assert_eq!(tp.trace_id.to_string(), TRACE);
        assert_eq!(tp.parent_id.to_string(), PARENT);
        assert_eq!(tp.flags, TraceFlags::SAMPLED);
        assert_eq!(
            ok(&format!("00-{TRACE}-{PARENT}-00")).flags,
            TraceFlags::NONE
        );
    }

    #[test]
    fn version_00_keeps_sampled_and_random_flags_only() {
        assert_eq!(ok(&format!("00-{TRACE}-{PARENT}-03")).flags.bits(), 0x03);
        assert_eq!(ok(&format!("00-{TRACE}-{PARENT}-ff")).flags.bits(), 0x03);
        assert_eq!(ok(&format!("00-{TRACE}-{PARENT}-08")).flags.bits(), 0x00);
        assert_eq!(ok(&format!("00-{TRACE}-{PARENT}-09")).flags.bits(), 0x01);
    }

    #[test]
    fn version_00_with_anything_after_the_flags_is_refused() {
        for value in [
            format!("00-{TRACE}-{PARENT}-01."),
            format!("00-{TRACE}-{PARENT}-01-what-the-future-will-be-like"),
            format!("00-{TRACE}-{PARENT}-01-"),
        ] {
            assert!(matches!(
                err(&value),
                TraceParentError::InvalidLength { .. }
            ));
        }
    }

    #[test]
    fn future_version_reads_the_first_four_fields() {
        let exact = ok(&format!("cc-{TRACE}-{PARENT}-01"));
        let extra = ok(&format!(
            "cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like"
        ));
        assert_eq!(exact, extra);
        assert_eq!(extra.trace_id.to_string(), TRACE);
        assert!(extra.flags.is_sampled());
        // The flags this version defines (sampled, random) are read from a later
        // version too; its other bits are not.
        assert_eq!(ok(&format!("01-{TRACE}-{PARENT}-03")).flags.bits(), 0x03);
        assert_eq!(
            ok(&format!("fe-{TRACE}-{PARENT}-fe")).flags,
            TraceFlags::RANDOM
        );
        assert_eq!(
            ok(&format!("fe-{TRACE}-{PARENT}-fc")).flags,
            TraceFlags::NONE
        );
        assert_eq!(
            err(&format!(
                "cc-{TRACE}-{PARENT}-01.what-the-future-will-be-like"
            )),
            TraceParentError::InvalidFlags
        );
        assert!(matches!(
            err(&format!("cc-{TRACE}-{PARENT}-1")),
            TraceParentError::InvalidLength { len: 54 }
        ));
    }

    #[test]
    fn version_ff_is_forbidden() {
        assert_eq!(
            err(&format!("ff-{TRACE}-{PARENT}-01")),
            TraceParentError::ForbiddenVersion
        );
    }

    #[test]
    fn bad_versions() {
        for v in [".0", "0.", "000", "0000", "0", "", "0A", "Cc", "g0"] {
            assert_eq!(
                err(&format!("{v}-{TRACE}-{PARENT}-01")),
                TraceParentError::InvalidVersion,
                "version {v:?}"
            );
        }
        assert_eq!(err(""), TraceParentError::InvalidVersion);
        assert_eq!(err("00"), TraceParentError::InvalidVersion);
    }

    #[test]
    fn uppercase_hex_is_refused_in_every_field() {
        let upper_trace = TRACE.replace('1', "A").replace('2', "B");
        assert_eq!(
            err(&format!("00-{upper_trace}-{PARENT}-01")),
            TraceParentError::InvalidTraceId
        );
        assert_eq!(
            err(&format!("00-{TRACE}-123456789012345F-01")),
            TraceParentError::InvalidParentId
        );
        assert_eq!(
            err(&format!("00-{TRACE}-{PARENT}-0A")),
            TraceParentError::InvalidFlags
        );
        assert_eq!(
            err(&format!("0A-{TRACE}-{PARENT}-01")),
            TraceParentError::InvalidVersion
        );
    }

    #[test]
    fn illegal_characters() {
        for (value, expected) in [
            (
                format!("00-.2345678901234567890123456789012-{PARENT}-01"),
                TraceParentError::InvalidTraceId,
            ),
            (
                format!("00-1234567890123456789012345678901.-{PARENT}-01"),
                TraceParentError::InvalidTraceId,
            ),
            (
                format!("00-{TRACE}-.234567890123456-01"),
                TraceParentError::InvalidParentId,
            ),
            (
                format!("00-{TRACE}-123456789012345.-01"),
                TraceParentError::InvalidParentId,
            ),
            (
                format!("00-{TRACE}-{PARENT}-.0"),
                TraceParentError::InvalidFlags,
            ),
            (
                format!("00-{TRACE}-{PARENT}-0."),
                TraceParentError::InvalidFlags,
            ),
            (
                format!("00-{TRACE}_{PARENT}-01"),
                TraceParentError::InvalidTraceId,
            ),
            (
                format!("00-{TRACE}-{PARENT}_01"),
                TraceParentError::InvalidParentId,
            ),
            (
                format!("00-+2345678901234567890123456789012-{PARENT}-01"),
                TraceParentError::InvalidTraceId,
            ),
        ] {
            assert_eq!(err(&value), expected, "{value:?}");
        }
    }

    #[test]
    fn wrong_lengths() {
        for value in [
            format!("00-123456789012345678901234567890123-{PARENT}-01"),
            format!("00-1234567890123456789012345678901-{PARENT}-01"),
            format!("00-{TRACE}-12345678901234567-01"),
            format!("00-{TRACE}-123456789012345-01"),
            format!("00-{TRACE}-{PARENT}-001"),
            format!("00-{TRACE}-{PARENT}-1"),
            format!("00-{TRACE}-{PARENT}"),
        ] {
            assert!(
                matches!(err(&value), TraceParentError::InvalidLength { .. }),
                "{value:?}"
            );
        }
    }

    #[test]
    fn all_zero_ids_are_refused() {
        assert_eq!(
            err(&format!("00-{}-{PARENT}-01", "0".repeat(32))),
            TraceParentError::ZeroTraceId
        );
        assert_eq!(
            err(&format!("00-{TRACE}-{}-01", "0".repeat(16))),
            TraceParentError::ZeroParentId
        );
    }

    #[test]
    fn surrounding_spaces_and_tabs_are_ignored_but_not_inner_ones() {
        let plain = ok(&format!("00-{TRACE}-{PARENT}-01"));
        for value in [
            format!(" 00-{TRACE}-{PARENT}-01"),
            format!("\t00-{TRACE}-{PARENT}-01"),
            format!("00-{TRACE}-{PARENT}-01 "),
            format!("00-{TRACE}-{PARENT}-01\t"),
            format!("\t 00-{TRACE}-{PARENT}-01 \t"),
        ] {
            assert_eq!(ok(&value), plain, "{value:?}");
        }
        assert!(TraceParent::parse(&format!("00 -{TRACE}-{PARENT}-01")).is_err());
        assert!(TraceParent::parse(&format!("00-{TRACE}-{PARENT}-01\n")).is_err());
    }

    #[test]
    fn non_ascii_input_is_refused_without_panicking() {
        let value = format!("00-{}-{PARENT}-01", "é".repeat(16));
        assert!(TraceParent::parse(&value).is_err());
        assert!(TraceParent::parse("ü").is_err());
        assert!(TraceParent::parse(&format!("00-{TRACE}-{PARENT}-0é")).is_err());
    }

    #[test]
    fn invalid_span_contexts_have_no_traceparent() {
        let no_span = SpanContext::new(
            TraceId::from_raw(1),
            SpanId::INVALID,
            TraceFlags::SAMPLED,
            TraceState::default(),
            false,
        );
        assert_eq!(TraceParent::from_span_context(&no_span), None);
    }

    fn valid() -> impl Strategy<Value = TraceParent> {
        (1..=u128::MAX, 1..=u64::MAX, 0..=VERSION_00_FLAGS).prop_map(|(t, p, f)| TraceParent {
            trace_id: TraceId::from_raw(t),
            parent_id: SpanId::from_raw(p),
            flags: TraceFlags::new(f),
        })
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(tp in valid()) {
            let header = tp.header_value();
            let expected = format!("00-{}-{}-{:02x}", tp.trace_id, tp.parent_id, tp.flags.bits());
            prop_assert_eq!(&header, &expected);
            prop_assert_eq!(TraceParent::parse(&header), Ok(tp));
        }

        #[test]
        fn span_context_round_trips(tp in valid()) {
            let span = tp.to_span_context(TraceState::default());
            prop_assert_eq!(TraceParent::from_span_context(&span), Some(tp));
        }

        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = TraceParent::parse(&s);
        }

        #[test]
        fn parse_never_panics_near_valid(s in "[0-9a-fA-F-]{0,70}") {
            if let Ok(tp) = TraceParent::parse(&s) {
                // Whatever is accepted is lowercase and formats to a valid version 00.
                prop_assert!(!s.bytes().any(|b| b.is_ascii_uppercase()));
                prop_assert_eq!(TraceParent::parse(&tp.header_value()), Ok(tp));
            }
        }

        #[test]
        fn future_versions_accept_extra_fields(tp in valid(), version in 1u8..0xff, extra in "[ -~]{0,30}") {
            let header = format!(
                "{version:02x}-{}-{}-{:02x}-{extra}",
                tp.trace_id, tp.parent_id, tp.flags.bits()
            );
            let parsed = TraceParent::parse(&header);
            prop_assert!(parsed.is_ok(), "{:?}: {:?}", header, parsed);
            if let Ok(parsed) = parsed {
                prop_assert_eq!(parsed.trace_id, tp.trace_id);
                prop_assert_eq!(parsed.parent_id, tp.parent_id);
                prop_assert_eq!(parsed.flags, tp.flags);
            }
        }
    }
}
