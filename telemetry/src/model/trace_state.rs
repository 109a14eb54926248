//! W3C `tracestate`: vendor-specific key/value pairs carried with a trace, checked
//! against the Level 2 grammar, and the header value's parser and formatter
//! ([`TraceState::from_header`], [`TraceState::from_header_lines`],
//! [`TraceState::header_value`]). The header's name and the carriers are in
//! `propagation/`.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Vendor-specific trace data, as the W3C `tracestate` header carries it.
///
/// Immutable and cheap to clone: the empty state holds no allocation, and a non-empty
/// one is shared. Mutating methods return a new state, with the changed key moved to
/// the front as W3C requires.
///
/// ```
/// use telem::TraceState;
/// let ts = TraceState::default().insert("congo", "t61rcWkgMzE").unwrap();
/// let ts = ts.insert("rojo", "00f067aa0ba902b7").unwrap();
/// assert_eq!(ts.header_value(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
/// assert_eq!(ts.get("congo"), Some("t61rcWkgMzE"));
/// assert!(ts.insert("Bad Key", "v").is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TraceState(pub(crate) Option<Arc<[(String, String)]>>);

/// The most list members a `tracestate` may hold.
pub const MAX_TRACE_STATE_MEMBERS: usize = 32;

/// Why a `tracestate` key or value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceStateError {
    /// The key does not follow the W3C grammar.
    #[error("invalid tracestate key {0:?}: expected a lowercase letter or digit then up to 255 of `[a-z0-9_*/@-]`")]
    InvalidKey(String),
    /// The value does not follow the W3C grammar.
    #[error("invalid tracestate value {0:?}: expected 1 to 256 printable ASCII characters except `,` and `=`, not ending in a space")]
    InvalidValue(String),
    /// The list would exceed 32 members.
    #[error("tracestate is limited to {MAX_TRACE_STATE_MEMBERS} list members")]
    TooManyMembers,
    /// A `tracestate` header's list member is not `key=value`.
    #[error("invalid tracestate list member {0:?}: expected `key=value`")]
    InvalidMember(String),
}

impl TraceState {
    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|e| e.is_empty())
    }

    /// The entries, front first.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .flat_map(|e| e.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Builds a state from entries (front first), validating each and rejecting duplicates
    /// by keeping the first occurrence.
    pub fn from_entries<K, V>(
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, TraceStateError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in entries {
            let (k, v) = (k.into(), v.into());
            validate(&k, &v)?;
            if out.iter().any(|(ek, _)| *ek == k) {
                continue;
            }
            if out.len() == MAX_TRACE_STATE_MEMBERS {
                return Err(TraceStateError::TooManyMembers);
            }
            out.push((k, v));
        }
        Ok(Self((!out.is_empty()).then(|| out.into())))
    }

    /// A new state with `key` set to `value` at the front, replacing an older entry for
    /// `key` (W3C § "Mutating the tracestate Field": a new or modified key moves to the
    /// left). If the list would then hold more than [`MAX_TRACE_STATE_MEMBERS`], the
    /// right-most member is removed, as § "list" says.
    ///
    /// ```
    /// use telem::TraceState;
    /// let full = TraceState::from_entries((0..32).map(|i| (format!("k{i}"), "v"))).unwrap();
    /// let ts = full.insert("rojo", "1").unwrap();
    /// assert_eq!(ts.entries().count(), 32);
    /// assert_eq!(ts.entries().next(), Some(("rojo", "1")));
    /// assert_eq!(ts.get("k31"), None); // the right-most member made room
    /// ```
    pub fn insert(
        &self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, TraceStateError> {
        let (key, value) = (key.into(), value.into());
        validate(&key, &value)?;
        let rest = self.entries().filter(|(k, _)| *k != key);
        let mut out = vec![(key.clone(), value)];
        out.extend(
            rest.take(MAX_TRACE_STATE_MEMBERS - 1)
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        Ok(Self(Some(out.into())))
    }

    /// A new state without `key`.
    pub fn remove(&self, key: &str) -> Self {
        let out: Vec<_> = self
            .entries()
            .filter(|(k, _)| *k != key)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self((!out.is_empty()).then(|| out.into()))
    }

    /// Whether both share the same entries (the same allocation, or both empty).
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }

    /// The `tracestate` header value: `k1=v1,k2=v2`.
    pub fn header_value(&self) -> String {
        let mut s = String::new();
        for (i, (k, v)) in self.entries().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(k);
            s.push('=');
            s.push_str(v);
        }
        s
    }
}

impl fmt::Debug for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceState({:?})", self.header_value())
    }
}

// The `tracestate` header value's parser.
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
    /// use telem::{TraceState, TraceStateError};
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
    /// use telem::TraceState;
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

fn validate(key: &str, value: &str) -> Result<(), TraceStateError> {
    if !valid_key(key) {
        return Err(TraceStateError::InvalidKey(key.to_owned()));
    }
    if !valid_value(value) {
        return Err(TraceStateError::InvalidValue(value.to_owned()));
    }
    Ok(())
}

/// W3C Trace Context Level 2, § "Key":
/// `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`,
/// `keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"`.
/// (Level 1's `tenant@system` limits are gone: `@` is an ordinary key character.)
pub(crate) fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    match b.split_first() {
        Some((&first, rest)) => {
            (first.is_ascii_lowercase() || first.is_ascii_digit())
                && rest.len() <= 255
                && rest.iter().all(|&c| {
                    c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || matches!(c, b'_' | b'-' | b'*' | b'/' | b'@')
                })
        }
        None => false,
    }
}

/// W3C § "Value": `value = 0*255(chr) nblk-chr`, `nblk-chr = %x21-2B / %x2D-3C /
/// %x3E-7E`, `chr = %x20 / nblk-chr`.
pub(crate) fn valid_value(v: &str) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && b[b.len() - 1] != b' '
        && b.iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// W3C Trace Context Level 2, § "Key".
    #[test]
    fn keys() {
        for key in [
            "congo",
            "tenant@sys",
            "0tenant@sys",
            "0vendor",
            "foo@",
            "foo@@bar",
            "foo@bar@baz",
            "a@0sys",
            "a*b/c-d_e",
        ] {
            assert!(valid_key(key), "{key:?}");
        }
        assert!(valid_key(&"z".repeat(256)));
        assert!(valid_key(&format!(
            "{}@{}",
            "t".repeat(241),
            "v".repeat(14)
        )));
        // Level 1's tenant (241) and system (14) limits no longer apply.
        assert!(valid_key(&format!("{}@v", "t".repeat(242))));
        assert!(valid_key(&format!("t@{}", "v".repeat(15))));
        assert!(valid_key(&format!("{}@{}", "t".repeat(243), "v")));
        for key in [
            "@foo", "_vendor", "*a", "/a", "-a", "foo.bar", "foo ", "Congo", "fOo", "", "é",
        ] {
            assert!(!valid_key(key), "{key:?}");
        }
        assert!(!valid_key(&"a".repeat(257)));
        assert!(!valid_key(&format!("{}@", "a".repeat(256))));
    }

    #[test]
    fn values() {
        assert!(valid_value("t61rcWkgMzE"));
        assert!(!valid_value("a,b"));
        assert!(!valid_value("a=b"));
        assert!(!valid_value("trailing "));
        assert!(!valid_value(""));
    }

    #[test]
    fn limit_and_duplicates() {
        let many = (0..33).map(|i| (format!("k{i}"), "v".to_owned()));
        assert_eq!(
            TraceState::from_entries(many),
            Err(TraceStateError::TooManyMembers)
        );
        let dup = TraceState::from_entries([("a", "1"), ("a", "2")]).unwrap();
        assert_eq!(dup.header_value(), "a=1");
        assert!(dup.remove("a").is_empty());
        // Replacing a key of a full list keeps every other member.
        let full =
            TraceState::from_entries((0..32).map(|i| (format!("k{i}"), "v".to_owned()))).unwrap();
        let replaced = full.insert("k31", "w").unwrap();
        assert_eq!(replaced.entries().count(), 32);
        assert_eq!(replaced.entries().next(), Some(("k31", "w")));
        assert_eq!(replaced.entries().last(), Some(("k30", "v")));
    }

    // The header value's parser.

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
