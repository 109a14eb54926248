//! W3C Baggage: application key/value pairs that travel with a request, and the
//! `baggage` header that carries them.

use crate::record::context;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

/// The header that carries [`Baggage`].
pub const BAGGAGE_HEADER: &str = "baggage";

/// The most entries a [`Baggage`] holds (the W3C Baggage limit this crate keeps).
pub const MAX_BAGGAGE_MEMBERS: usize = 180;

/// The most bytes a [`Baggage`]'s `baggage` header value may take (W3C Baggage).
pub const MAX_BAGGAGE_BYTES: usize = 8192;

/// Application key/value pairs that travel with a request across services (W3C
/// Baggage), each with optional opaque properties.
///
/// Immutable and cheap to clone: the empty baggage holds no allocation, a non-empty one
/// is shared. [`with_entry`](Baggage::with_entry) returns a new baggage. Keys are unique
/// and keep the order they were first added in.
///
/// The baggage current on a task or thread is [`Baggage::current`]; make one current
/// with [`attach`](Baggage::attach) (for a scope on this thread) or
/// [`Context::with_baggage`](crate::Context::with_baggage) (for a future, with
/// [`FutureExt::with_context`](crate::FutureExt::with_context)). Futures wrapped with
/// `in_current_span`, `in_span`, and tasks started with [`spawn`](crate::spawn) carry
/// the baggage current when they were created.
///
/// ```
/// use telem::propagation::Baggage;
///
/// let baggage = Baggage::new()
///     .with_entry("user.id", "alice")
///     .unwrap()
///     .with_entry("server.node", "DF 28")
///     .unwrap();
/// assert_eq!(baggage.header_value(), "user.id=alice,server.node=DF%2028");
///
/// let _guard = baggage.attach();
/// assert_eq!(Baggage::current().get("server.node"), Some("DF 28"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
// A thin pointer (not `Arc<[_]>`): one word, so contexts and futures carrying it stay
// small and are copied with fewer wide moves.
pub struct Baggage(Option<Arc<Vec<Member>>>);

/// One entry: its key, its decoded value, and its properties as `k1=v1;k2` (empty when
/// it has none).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Member {
    key: String,
    value: String,
    properties: String,
}

/// Why an entry could not be added to a [`Baggage`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BaggageError {
    /// The key is not an HTTP token.
    #[error(
        "invalid baggage key {0:?}: expected one or more letters, digits or any of !#$%&'*+-.^_`|~"
    )]
    InvalidKey(String),
    /// The properties do not follow the W3C grammar.
    #[error("invalid baggage properties {0:?}: expected `;`-separated `key` or `key=value`, keys as baggage keys, values of printable ASCII except space, `\"`, `,`, `;` and `\\`")]
    InvalidProperties(String),
    /// The baggage already holds the most entries it may.
    #[error("baggage is limited to {MAX_BAGGAGE_MEMBERS} entries: remove one first")]
    TooManyEntries,
    /// The entry would make the `baggage` header longer than allowed.
    #[error("baggage is limited to {MAX_BAGGAGE_BYTES} bytes in its header and this entry makes it {0}: use shorter values or remove an entry")]
    TooLarge(usize),
}

impl Baggage {
    pub(crate) const EMPTY: Self = Self(None);

    /// Empty baggage.
    ///
    /// ```
    /// assert!(telem::propagation::Baggage::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        Self::EMPTY
    }

    /// The baggage current on this task or thread (empty if none).
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// assert!(Baggage::current().is_empty());
    /// let _guard = Baggage::new().with_entry("k", "v").unwrap().attach();
    /// assert_eq!(Baggage::current().get("k"), Some("v"));
    /// ```
    pub fn current() -> Self {
        context::current_baggage()
    }

    /// Makes this baggage current on this thread until the guard drops, then puts back
    /// what was current before. Not `Send`: it belongs to the thread that attached it.
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// {
    ///     let _guard = Baggage::new().with_entry("tenant", "acme").unwrap().attach();
    ///     assert_eq!(Baggage::current().get("tenant"), Some("acme"));
    /// }
    /// assert!(Baggage::current().is_empty());
    /// ```
    pub fn attach(&self) -> BaggageGuard {
        BaggageGuard {
            previous: Some(context::replace_baggage(self.clone())),
            _not_send: PhantomData,
        }
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.members().is_empty()
    }

    /// The number of entries.
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// assert_eq!(Baggage::from_header("a=1,b=2").len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.members().len()
    }

    /// The value for `key`.
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// let baggage = Baggage::from_header("user.id=alice");
    /// assert_eq!(baggage.get("user.id"), Some("alice"));
    /// assert_eq!(baggage.get("missing"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&str> {
        self.member(key).map(|m| m.value.as_str())
    }

    /// The properties of `key`'s entry as `k1=v1;k2` (empty if it has none), or `None`
    /// if there is no such entry.
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// let baggage = Baggage::from_header("key1=value1; property1 ; p2 = v2");
    /// assert_eq!(baggage.properties("key1"), Some("property1;p2=v2"));
    /// ```
    pub fn properties(&self, key: &str) -> Option<&str> {
        self.member(key).map(|m| m.properties.as_str())
    }

    /// The entries as `(key, value)`, in the order they were added.
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// let baggage = Baggage::from_header("a=1,b=2");
    /// assert_eq!(baggage.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.members()
            .iter()
            .map(|m| (m.key.as_str(), m.value.as_str()))
    }

    /// A new baggage with `key` set to `value` (any UTF-8; it is percent-encoded in the
    /// header), replacing an existing entry for `key` and its properties.
    ///
    /// Fails if `key` is not an HTTP token, or if the entry would take the baggage past
    /// [`MAX_BAGGAGE_MEMBERS`] entries or [`MAX_BAGGAGE_BYTES`] bytes.
    ///
    /// ```
    /// use telem::propagation::{Baggage, BaggageError};
    /// let baggage = Baggage::new().with_entry("tenant", "acme").unwrap();
    /// let baggage = baggage.with_entry("tenant", "globex").unwrap();
    /// assert_eq!(baggage.get("tenant"), Some("globex"));
    /// assert!(matches!(baggage.with_entry("bad key", "v"), Err(BaggageError::InvalidKey(_))));
    /// ```
    pub fn with_entry(
        &self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, BaggageError> {
        self.with_entry_and_properties(key, value, "")
    }

    /// Like [`with_entry`](Baggage::with_entry), with properties: `;`-separated `key`
    /// or `key=value` items (whitespace around them is dropped).
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// let baggage = Baggage::new()
    ///     .with_entry_and_properties("user.id", "alice", "sensitive; ttl=30")
    ///     .unwrap();
    /// assert_eq!(baggage.header_value(), "user.id=alice;sensitive;ttl=30");
    /// assert!(baggage.with_entry_and_properties("k", "v", "a b").is_err());
    /// ```
    pub fn with_entry_and_properties(
        &self,
        key: impl Into<String>,
        value: impl Into<String>,
        properties: &str,
    ) -> Result<Self, BaggageError> {
        let (key, value) = (key.into(), value.into());
        if !is_token(&key) {
            return Err(BaggageError::InvalidKey(key));
        }
        let properties = normalize_properties(properties)
            .ok_or_else(|| BaggageError::InvalidProperties(properties.to_owned()))?;
        let new = Member {
            key,
            value,
            properties,
        };
        let mut members = self.members().to_vec();
        match members.iter().position(|m| m.key == new.key) {
            Some(i) => members[i] = new,
            None if members.len() == MAX_BAGGAGE_MEMBERS => {
                return Err(BaggageError::TooManyEntries)
            }
            None => members.push(new),
        }
        let bytes = header_len(&members);
        if bytes > MAX_BAGGAGE_BYTES {
            return Err(BaggageError::TooLarge(bytes));
        }
        Ok(Self(Some(Arc::new(members))))
    }

    /// A new baggage without `key`.
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// let baggage = Baggage::from_header("a=1,b=2").without_entry("a");
    /// assert_eq!(baggage.header_value(), "b=2");
    /// ```
    pub fn without_entry(&self, key: &str) -> Self {
        let members: Vec<Member> = self
            .members()
            .iter()
            .filter(|m| m.key != key)
            .cloned()
            .collect();
        Self((!members.is_empty()).then(|| Arc::new(members)))
    }

    /// Parses a `baggage` header value. Never fails: malformed list members (a key that
    /// is not a token, a value with characters outside the W3C grammar or a bad
    /// percent-escape, malformed properties) are dropped alone, and so are members past
    /// [`MAX_BAGGAGE_MEMBERS`] entries or that would take the header past
    /// [`MAX_BAGGAGE_BYTES`]. A key given twice keeps its last value.
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// let baggage = Baggage::from_header("userId = alice , serverNode=DF%2028,bad key=1");
    /// assert_eq!(baggage.get("userId"), Some("alice"));
    /// assert_eq!(baggage.get("serverNode"), Some("DF 28"));
    /// assert_eq!(baggage.len(), 2);
    /// ```
    pub fn from_header(value: &str) -> Self {
        Self::from_header_lines([value])
    }

    /// Parses several `baggage` header lines as one list (as HTTP combines repeated
    /// headers), with the rules of [`from_header`](Baggage::from_header).
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// let baggage = Baggage::from_header_lines(["userId=alice", "isProduction=false"]);
    /// assert_eq!(baggage.header_value(), "userId=alice,isProduction=false");
    /// ```
    pub fn from_header_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let mut members: Vec<Member> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut bytes = 0usize;
        for raw in lines.into_iter().flat_map(|line| line.split(',')) {
            let raw = trim_ows(raw);
            if raw.is_empty() {
                continue;
            }
            let Some(member) = parse_member(raw) else {
                continue;
            };
            let len = member_len(&member);
            match index.get(&member.key) {
                Some(&i) => {
                    let total = bytes - member_len(&members[i]) + len;
                    if total <= MAX_BAGGAGE_BYTES {
                        bytes = total;
                        members[i] = member;
                    }
                }
                None => {
                    let total = bytes + len + usize::from(!members.is_empty());
                    if members.len() < MAX_BAGGAGE_MEMBERS && total <= MAX_BAGGAGE_BYTES {
                        bytes = total;
                        index.insert(member.key.clone(), members.len());
                        members.push(member);
                    }
                }
            }
        }
        Self((!members.is_empty()).then(|| Arc::new(members)))
    }

    /// The `baggage` header value: `k1=v1;p1,k2=v2`, values percent-encoded.
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// let baggage = Baggage::new().with_entry("greeting", "héllo, world").unwrap();
    /// assert_eq!(baggage.header_value(), "greeting=h%C3%A9llo%2C%20world");
    /// assert_eq!(Baggage::from_header(&baggage.header_value()), baggage);
    /// ```
    pub fn header_value(&self) -> String {
        let mut out = String::with_capacity(header_len(self.members()));
        for (i, m) in self.members().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&m.key);
            out.push('=');
            percent_encode_into(&m.value, &mut out);
            if !m.properties.is_empty() {
                out.push(';');
                out.push_str(&m.properties);
            }
        }
        out
    }

    /// Whether both are the same shared list (or both empty): what an
    /// [`Instrumented`](crate::Instrumented) poll checks to see if the baggage changed.
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn members(&self) -> &[Member] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    fn member(&self, key: &str) -> Option<&Member> {
        self.members().iter().find(|m| m.key == key)
    }
}

impl fmt::Debug for Baggage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Baggage({:?})", self.header_value())
    }
}

/// Puts back the baggage that was current before [`Baggage::attach`] when dropped.
#[must_use = "the baggage stops being current when the guard drops"]
#[derive(Debug)]
pub struct BaggageGuard {
    previous: Option<Baggage>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for BaggageGuard {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            context::replace_baggage(previous);
        }
    }
}

/// Optional whitespace (RFC 7230): spaces and horizontal tabs.
fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// RFC 7230 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// RFC 7230 `token`: what a baggage key is.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// W3C `baggage-octet`: printable ASCII except space, `"`, `,`, `;` and `\`.
fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// `key OWS "=" OWS value *( OWS ";" OWS property )`, already trimmed.
fn parse_member(raw: &str) -> Option<Member> {
    let (pair, properties) = match raw.split_once(';') {
        Some((pair, properties)) => (pair, properties),
        None => (raw, ""),
    };
    let (key, value) = pair.split_once('=')?;
    let (key, value) = (trim_ows(key), trim_ows(value));
    if !is_token(key) || !value.bytes().all(is_baggage_octet) {
        return None;
    }
    Some(Member {
        key: key.to_owned(),
        value: percent_decode(value)?,
        properties: normalize_properties(properties)?,
    })
}

/// Validates `;`-separated properties and writes them without optional whitespace;
/// empty items are skipped. `None` if one is malformed.
fn normalize_properties(raw: &str) -> Option<String> {
    let mut out = String::new();
    for property in raw.split(';') {
        let property = trim_ows(property);
        if property.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(';');
        }
        match property.split_once('=') {
            Some((key, value)) => {
                let (key, value) = (trim_ows(key), trim_ows(value));
                if !is_token(key) || !value.bytes().all(is_baggage_octet) {
                    return None;
                }
                out.push_str(key);
                out.push('=');
                out.push_str(value);
            }
            None if is_token(property) => out.push_str(property),
            None => return None,
        }
    }
    Some(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes; `None` for a malformed escape or a result that isn't UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = hex_value(*b.get(i + 1)?)?;
            let lo = hex_value(*b.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Bytes written as they are in a value: baggage octets but `%`.
fn is_unreserved(b: u8) -> bool {
    is_baggage_octet(b) && b != b'%'
}

fn percent_encode_into(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in value.bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

fn encoded_len(value: &str) -> usize {
    value
        .bytes()
        .map(|b| if is_unreserved(b) { 1 } else { 3 })
        .sum()
}

/// The bytes `m` takes in the header.
fn member_len(m: &Member) -> usize {
    let properties = if m.properties.is_empty() {
        0
    } else {
        1 + m.properties.len()
    };
    m.key.len() + 1 + encoded_len(&m.value) + properties
}

fn header_len(members: &[Member]) -> usize {
    members.iter().map(member_len).sum::<usize>() + members.len().saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_w3c_example() {
        let b = Baggage::from_header(
            "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue",
        );
        assert_eq!(
            b.iter().collect::<Vec<_>>(),
            [("key1", "value1"), ("key2", "value2"), ("key3", "value3")]
        );
        assert_eq!(b.properties("key1"), Some("property1;property2"));
        assert_eq!(b.properties("key2"), Some(""));
        assert_eq!(b.properties("key3"), Some("propertyKey=propertyValue"));
        assert_eq!(
            b.header_value(),
            "key1=value1;property1;property2,key2=value2,key3=value3;propertyKey=propertyValue"
        );
    }

    #[test]
    fn multiple_lines_and_whitespace() {
        let b = Baggage::from_header_lines([
            "userId =   alice",
            "serverNode = DF%2028, isProduction = false",
        ]);
        assert_eq!(b.get("userId"), Some("alice"));
        assert_eq!(b.get("serverNode"), Some("DF 28"));
        assert_eq!(b.get("isProduction"), Some("false"));
        assert_eq!(b.len(), 3);
        let tabs = Baggage::from_header("\tk1=v1\t,\t k2 =\tv2 ");
        assert_eq!(
            tabs.iter().collect::<Vec<_>>(),
            [("k1", "v1"), ("k2", "v2")]
        );
    }

    #[test]
    fn values_are_percent_decoded_and_may_hold_equals_signs() {
        let b = Baggage::from_header("a=%E2%9C%93,b=x=y,c=,d=100%25,e=a+b");
        assert_eq!(b.get("a"), Some("✓"));
        assert_eq!(b.get("b"), Some("x=y"));
        assert_eq!(b.get("c"), Some(""));
        assert_eq!(b.get("d"), Some("100%"));
        assert_eq!(b.get("e"), Some("a+b"), "`+` is not a space outside forms");
    }

    #[test]
    fn malformed_members_are_dropped_alone() {
        let b = Baggage::from_header(
            "ok=1,no_equals,=novalue,bad key=1,sp=a b,quote=\"x\",bs=a\\b,pct=%zz,trunc=%4,\
             utf=%FF,prop=1;bad prop,ctl=\u{7f},uni=é,,  ,last=2",
        );
        assert_eq!(b.iter().collect::<Vec<_>>(), [("ok", "1"), ("last", "2")]);
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_in_the_first_position() {
        let b = Baggage::from_header_lines(["a=1,b=2", "a=3"]);
        assert_eq!(b.header_value(), "a=3,b=2");
    }

    #[test]
    fn members_past_the_count_limit_are_dropped() {
        let header: Vec<String> = (0..200).map(|i| format!("k{i}=v")).collect();
        let b = Baggage::from_header(&header.join(","));
        assert_eq!(b.len(), MAX_BAGGAGE_MEMBERS);
        assert_eq!(b.get("k179"), Some("v"));
        assert_eq!(b.get("k180"), None);
    }

    #[test]
    fn members_past_the_byte_limit_are_dropped_and_smaller_ones_still_fit() {
        let big = "x".repeat(5000);
        let header = format!("a={big},b={big},c=1");
        let b = Baggage::from_header(&header);
        assert_eq!(b.get("a"), Some(big.as_str()));
        assert_eq!(b.get("b"), None, "would pass 8192 bytes");
        assert_eq!(b.get("c"), Some("1"));
        assert!(b.header_value().len() <= MAX_BAGGAGE_BYTES);
        // Exactly at the limit is kept.
        let exact = format!("k={}", "y".repeat(MAX_BAGGAGE_BYTES - 2));
        assert_eq!(Baggage::from_header(&exact).header_value(), exact);
        let over = format!("k={}", "y".repeat(MAX_BAGGAGE_BYTES - 1));
        assert!(Baggage::from_header(&over).is_empty());
    }

    #[test]
    fn with_entry_validates_and_enforces_limits() {
        assert_eq!(
            Baggage::new().with_entry("", "v"),
            Err(BaggageError::InvalidKey(String::new()))
        );
        assert!(Baggage::new().with_entry("a,b", "v").is_err());
        assert!(Baggage::new()
            .with_entry_and_properties("k", "v", "p=\"q\"")
            .is_err());
        let mut b = Baggage::new();
        for i in 0..MAX_BAGGAGE_MEMBERS {
            b = b.with_entry(format!("k{i}"), "v").unwrap();
        }
        assert_eq!(
            b.with_entry("one.more", "v"),
            Err(BaggageError::TooManyEntries)
        );
        // Replacing an existing key is still allowed at the count limit.
        assert_eq!(b.with_entry("k0", "w").unwrap().get("k0"), Some("w"));
        let too_big = Baggage::new().with_entry("k", "é".repeat(2000));
        assert_eq!(too_big, Err(BaggageError::TooLarge(2 + 2000 * 6)));
    }

    #[test]
    fn with_entry_replaces_in_place_and_without_entry_removes() {
        let b = Baggage::from_header("a=1;p,b=2")
            .with_entry("a", "3")
            .unwrap();
        assert_eq!(b.header_value(), "a=3,b=2");
        assert!(b.without_entry("a").without_entry("b").is_empty());
    }

    #[test]
    fn attach_nests_and_restores() {
        assert!(Baggage::current().is_empty());
        let outer = Baggage::from_header("a=1");
        let inner = Baggage::from_header("b=2");
        {
            let _o = outer.attach();
            {
                let _i = inner.attach();
                assert_eq!(Baggage::current(), inner);
            }
            assert_eq!(Baggage::current(), outer);
        }
        assert!(Baggage::current().is_empty());
    }

    fn key() -> impl Strategy<Value = String> {
        "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}"
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = Baggage::from_header(&s);
        }

        #[test]
        fn parse_never_panics_on_ascii_soup(s in "[ -~\t%]{0,200}") {
            let b = Baggage::from_header(&s);
            // Whatever parsed, formats to a header that parses back to the same.
            prop_assert_eq!(Baggage::from_header(&b.header_value()), b);
        }

        #[test]
        fn any_values_round_trip(entries in proptest::collection::vec((key(), "(?s).{0,40}"), 0..8)) {
            let mut b = Baggage::new();
            for (k, v) in &entries {
                b = b.with_entry(k.clone(), v.clone()).unwrap();
            }
            let header = b.header_value();
            prop_assert!(header.bytes().all(|c| is_baggage_octet(c) || c == b',' || c == b';'));
            prop_assert_eq!(Baggage::from_header(&header), b);
        }
    }
}
