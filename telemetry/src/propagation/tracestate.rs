//! Parsing the W3C `tracestate` header into a [`TraceState`] (formatting is
//! [`TraceState::header_value`]).

use crate::model::trace_state::validate;
use crate::{TraceState, TraceStateError, MAX_TRACE_STATE_MEMBERS};
use std::str::FromStr;

/// The header that carries a [`TraceState`].
pub const TRACESTATE_HEADER: &str = "tracestate";

impl TraceState {
    /// Parses a `tracestate` header value: `key=value` list members separated by `,`,
    /// with optional spaces and tabs around them; empty members are skipped.
    ///
    /// Following W3C Trace Context Level 2 (§ "tracestate Header Field Values"):
    /// - a key that appears again keeps its first (left-most) entry and the later ones
    ///   are discarded, with the rest of the list kept (§ "Mutating the tracestate
    ///   Field" lets a vendor discard duplicates it did not generate);
    /// - the whole header is refused if a member breaks the key or value grammar or is
    ///   not `key=value`, or if there are more than [`MAX_TRACE_STATE_MEMBERS`]
    ///   members: § "Processing Model" step 3 allows discarding a header that cannot
    ///   be parsed, and guessing which members a broken header meant would forward
    ///   data its vendor never wrote.
    ///
    /// A refused `tracestate` is dropped alone: the `traceparent` still counts.
    ///
    /// ```
    /// use telemetry::{TraceState, TraceStateError};
    ///
    /// let ts = TraceState::from_header("rojo=00f067aa0ba902b7 ,\tcongo=t61rcWkgMzE,,").unwrap();
    /// assert_eq!(ts.header_value(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    /// assert_eq!(TraceState::from_header("foo=1,bar=2,foo=3").unwrap().header_value(), "foo=1,bar=2");
    /// assert!(matches!(TraceState::from_header("@foo=1,bar=2"), Err(TraceStateError::InvalidKey(_))));
    /// ```
    pub fn from_header(value: &str) -> Result<Self, TraceStateError> {
        Self::from_header_lines([value])
    }

    /// Parses several `tracestate` header lines as one list (W3C: combined as RFC 9110
    /// § 5.3 combines repeated fields, in order, with `,`), with the rules of
    /// [`from_header`](TraceState::from_header): duplicates and the member limit count
    /// across lines.
    ///
    /// ```
    /// use telemetry::TraceState;
    /// let ts = TraceState::from_header_lines(["foo=1,bar=2", "", "baz=3"]).unwrap();
    /// assert_eq!(ts.header_value(), "foo=1,bar=2,baz=3");
    /// let dup = TraceState::from_header_lines(["foo=1", "foo=2"]).unwrap();
    /// assert_eq!(dup.header_value(), "foo=1");
    /// ```
    pub fn from_header_lines<'a>(
        lines: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, TraceStateError> {
        let mut members: Vec<(String, String)> = Vec::new();
        let mut count = 0;
        for member in lines.into_iter().flat_map(|line| line.split(',')) {
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let (key, value) = member
                .split_once('=')
                .ok_or_else(|| TraceStateError::InvalidMember(member.to_owned()))?;
            validate(key, value)?;
            // A repeated key counts too: the list's members are limited, not its keys.
            count += 1;
            if count > MAX_TRACE_STATE_MEMBERS {
                return Err(TraceStateError::TooManyMembers);
            }
            if !members.iter().any(|(k, _)| k == key) {
                members.push((key.to_owned(), value.to_owned()));
            }
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

    /// W3C Trace Context Level 2, § "Mutating the tracestate Field" (vendors MAY
    /// discard duplicate keys), as the W3C test suite's `test_tracestate_duplicated_keys`
    /// expects: the header is kept, with the key once.
    #[test]
    fn duplicate_keys_keep_the_first_entry_and_the_rest_of_the_list() {
        for (lines, expected) in [
            (&["foo=1,foo=1"][..], "foo=1"),
            (&["foo=1,foo=2"], "foo=1"),
            (&["foo=1", "foo=1"], "foo=1"),
            (&["foo=1", "foo=2"], "foo=1"),
            (
                &["rojo=1,foo=1,congo=2,foo=3,bar=4"],
                "rojo=1,foo=1,congo=2,bar=4",
            ),
        ] {
            assert_eq!(parse(lines).unwrap().header_value(), expected, "{lines:?}");
        }
        // The member limit counts every member, repeated or not.
        let repeated = vec!["foo=1"; 33].join(",");
        assert_eq!(
            TraceState::from_header(&repeated),
            Err(TraceStateError::TooManyMembers)
        );
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

    /// W3C Trace Context Level 2, § "Key", with the W3C test suite's
    /// `test_tracestate_key_illegal_characters`, `test_tracestate_key_illegal_vendor_format`
    /// and `test_tracestate_key_length_limit` cases.
    #[test]
    fn key_grammar() {
        for header in [
            "foo =1",
            "FOO=1",
            "foo.bar=1",
            "@foo=1,bar=2",
            "_foo=1",
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
        // `@` is a key character anywhere but first.
        for (header, key) in [
            ("foo@=1,bar=2", "foo@"),
            ("foo@@bar=1,bar=2", "foo@@bar"),
            ("foo@bar@baz=1,bar=2", "foo@bar@baz"),
            ("1foo=1,bar=2", "1foo"),
        ] {
            let ts = TraceState::from_header(header).unwrap();
            assert_eq!(ts.get(key), Some("1"), "{header:?}");
            assert_eq!(ts.get("bar"), Some("2"), "{header:?}");
        }
        let key_256 = format!("foo=1,{}=1", "z".repeat(256));
        assert!(TraceState::from_header(&key_256).is_ok());
        let key_257 = format!("foo=1,{}=1", "z".repeat(257));
        assert!(TraceState::from_header(&key_257).is_err());
        for key in [
            format!("{}@{}", "t".repeat(241), "v".repeat(14)),
            format!("{}@v", "t".repeat(242)),
            format!("t@{}", "v".repeat(15)),
            format!("{}@{}", "t".repeat(3), "v".repeat(252)),
        ] {
            let ts = TraceState::from_header_lines(["foo=1", &format!("{key}=1")]).unwrap();
            assert_eq!(ts.get("foo"), Some("1"));
            assert_eq!(ts.get(&key), Some("1"), "{} characters", key.len());
        }
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
        let key = "[a-z0-9][a-z0-9_*/@-]{0,20}";
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
