//! Parsing the W3C `tracestate` header into a [`TraceState`] (formatting is
//! [`TraceState::header_value`]).

use crate::trace_state::validate;
use crate::{TraceState, TraceStateError, MAX_TRACE_STATE_MEMBERS};
use std::str::FromStr;

/// The header that carries a [`TraceState`].
pub const TRACESTATE_HEADER: &str = "tracestate";

impl TraceState {
    /// Parses a `tracestate` header value: `key=value` list members separated by `,`,
    /// with optional spaces and tabs around them; empty members are skipped.
    ///
    /// The whole header is refused if any member breaks the W3C key or value grammar,
    /// if a key appears twice, or if there are more than [`MAX_TRACE_STATE_MEMBERS`]
    /// members (the recommendation allows dropping the header rather than guessing
    /// which members to keep). A refused `tracestate` is dropped alone: the
    /// `traceparent` still counts.
    ///
    /// ```
    /// use telemetry::{TraceState, TraceStateError};
    ///
    /// let ts = TraceState::from_header("rojo=00f067aa0ba902b7 ,\tcongo=t61rcWkgMzE,,").unwrap();
    /// assert_eq!(ts.header_value(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    /// assert_eq!(
    ///     TraceState::from_header("foo=1,foo=2"),
    ///     Err(TraceStateError::DuplicateKey("foo".into()))
    /// );
    /// ```
    pub fn from_header(value: &str) -> Result<Self, TraceStateError> {
        Self::from_header_lines([value])
    }

    /// Parses several `tracestate` header lines as one list (HTTP combines repeated
    /// headers with `,`), with the rules of [`from_header`](TraceState::from_header):
    /// duplicates and the member limit count across lines.
    ///
    /// ```
    /// use telemetry::TraceState;
    /// let ts = TraceState::from_header_lines(["foo=1,bar=2", "", "baz=3"]).unwrap();
    /// assert_eq!(ts.header_value(), "foo=1,bar=2,baz=3");
    /// assert!(TraceState::from_header_lines(["foo=1", "foo=1"]).is_err());
    /// ```
    pub fn from_header_lines<'a>(
        lines: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, TraceStateError> {
        let mut members: Vec<(String, String)> = Vec::new();
        for member in lines.into_iter().flat_map(|line| line.split(',')) {
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let (key, value) = member
                .split_once('=')
                .ok_or_else(|| TraceStateError::InvalidMember(member.to_owned()))?;
            validate(key, value)?;
            if members.iter().any(|(k, _)| k == key) {
                return Err(TraceStateError::DuplicateKey(key.to_owned()));
            }
            if members.len() == MAX_TRACE_STATE_MEMBERS {
                return Err(TraceStateError::TooManyMembers);
            }
            members.push((key.to_owned(), value.to_owned()));
        }
        Ok(Self((!members.is_empty()).then(|| members.into())))
    }
}

impl FromStr for TraceState {
    type Err = TraceStateError;

    /// [`TraceState::from_header`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_header(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(lines: &[&str]) -> Result<TraceState, TraceStateError> {
        TraceState::from_header_lines(lines.iter().copied())
    }

    #[test]
    fn empty_headers_are_accepted() {
        assert!(parse(&[""]).unwrap().is_empty());
        assert!(parse(&[]).unwrap().is_empty());
        assert!(parse(&[" , \t,,"]).unwrap().is_empty());
        assert_eq!(parse(&["foo=1", ""]).unwrap().header_value(), "foo=1");
        assert_eq!(parse(&["", "foo=1"]).unwrap().header_value(), "foo=1");
    }

    #[test]
    fn multiple_lines_are_concatenated_in_order() {
        let ts = parse(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]).unwrap();
        assert_eq!(ts.header_value(), "foo=1,bar=2,rojo=1,congo=2,baz=3");
    }

    #[test]
    fn optional_whitespace_around_members() {
        for header in [
            "foo=1 \t , \t bar=2, \t baz=3",
            "foo=1\t \t,\t \tbar=2,\t \tbaz=3",
        ] {
            let ts = TraceState::from_header(header).unwrap();
            assert_eq!(ts.header_value(), "foo=1,bar=2,baz=3", "{header:?}");
        }
        for header in [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"] {
            assert_eq!(
                TraceState::from_header(header).unwrap().get("foo"),
                Some("1")
            );
        }
        // Leading spaces of a value are part of it.
        assert_eq!(
            TraceState::from_header("foo= 1").unwrap().get("foo"),
            Some(" 1")
        );
    }

    #[test]
    fn duplicate_keys_refuse_the_whole_header() {
        for lines in [
            &["foo=1,foo=1"][..],
            &["foo=1,foo=2"],
            &["foo=1", "foo=1"],
            &["foo=1", "foo=2"],
        ] {
            assert_eq!(
                parse(lines),
                Err(TraceStateError::DuplicateKey("foo".into())),
                "{lines:?}"
            );
        }
    }

    #[test]
    fn thirty_two_members_pass_and_thirty_three_refuse_the_whole_header() {
        let members: Vec<String> = (1..=33).map(|i| format!("bar{i:02}={i:02}")).collect();
        let ts = TraceState::from_header(&members[..32].join(",")).unwrap();
        assert_eq!(ts.entries().count(), 32);
        assert_eq!(ts.get("bar01"), Some("01"));
        assert_eq!(
            TraceState::from_header(&members.join(",")),
            Err(TraceStateError::TooManyMembers)
        );
        // Counted across lines, as the W3C test suite sends them.
        let lines: Vec<String> = members.chunks(10).map(|c| c.join(",")).collect();
        assert_eq!(
            TraceState::from_header_lines(lines.iter().map(String::as_str)),
            Err(TraceStateError::TooManyMembers)
        );
    }

    #[test]
    fn all_allowed_characters() {
        let key: String = ('a'..='z').chain('0'..='9').chain("_-*/".chars()).collect();
        let vendor_key = format!("{key}@a-z0-9_-*/");
        let value: String = (0x20u8..=0x7e)
            .filter(|&c| c != b',' && c != b'=')
            .map(char::from)
            .collect();
        for k in [&key, &vendor_key] {
            let ts = TraceState::from_header(&format!("{k}={value}")).unwrap();
            assert_eq!(ts.get(k), Some(value.as_str()));
        }
    }

    #[test]
    fn key_grammar() {
        for header in [
            "foo =1",
            "FOO=1",
            "foo.bar=1",
            "1foo=1",
            "foo@=1,bar=2",
            "@foo=1,bar=2",
            "foo@@bar=1,bar=2",
            "foo@bar@baz=1,bar=2",
            "=1",
        ] {
            assert!(
                matches!(
                    TraceState::from_header(header),
                    Err(TraceStateError::InvalidKey(_))
                ),
                "{header:?}"
            );
        }
        let key_256 = format!("foo=1,{}=1", "z".repeat(256));
        assert!(TraceState::from_header(&key_256).is_ok());
        let key_257 = format!("foo=1,{}=1", "z".repeat(257));
        assert!(TraceState::from_header(&key_257).is_err());
        let tenant = format!("foo=1,{}@{}=1", "t".repeat(241), "v".repeat(14));
        assert!(TraceState::from_header(&tenant).is_ok());
        let long_tenant = format!("foo=1,{}@v=1", "t".repeat(242));
        assert!(TraceState::from_header(&long_tenant).is_err());
        let long_system = format!("foo=1,t@{}=1", "v".repeat(15));
        assert!(TraceState::from_header(&long_system).is_err());
    }

    #[test]
    fn value_grammar() {
        for header in [
            "foo=bar=baz",
            "foo=,bar=3",
            "foo=a\u{7f}",
            "foo=é",
            "foo=\"a\tb\"",
        ] {
            assert!(
                matches!(
                    TraceState::from_header(header),
                    Err(TraceStateError::InvalidValue(_))
                ),
                "{header:?}"
            );
        }
        assert!(TraceState::from_header(&format!("foo={}", "v".repeat(256))).is_ok());
        assert!(TraceState::from_header(&format!("foo={}", "v".repeat(257))).is_err());
        assert_eq!(
            TraceState::from_header("foo"),
            Err(TraceStateError::InvalidMember("foo".into()))
        );
    }

    fn entries() -> impl Strategy<Value = Vec<(String, String)>> {
        let key = "[a-z][a-z0-9_*/-]{0,20}(@[a-z][a-z0-9_*/-]{0,5})?";
        let value = "[\\x20-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,30}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]";
        proptest::collection::vec((key, value), 0..=MAX_TRACE_STATE_MEMBERS)
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(entries in entries()) {
            let ts = TraceState::from_entries(entries).unwrap();
            prop_assert_eq!(TraceState::from_header(&ts.header_value()), Ok(ts.clone()));
            // With the optional whitespace a sender may add.
            let spaced = ts.header_value().replace(',', " ,\t ");
            prop_assert_eq!(TraceState::from_header(&format!(" {spaced}\t")), Ok(ts));
        }

        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = TraceState::from_header(&s);
        }

        #[test]
        fn whatever_parses_round_trips(s in "[a-z0-9@=, \t!-~]{0,120}") {
            if let Ok(ts) = TraceState::from_header(&s) {
                prop_assert_eq!(TraceState::from_header(&ts.header_value()), Ok(ts));
            }
        }
    }
}
