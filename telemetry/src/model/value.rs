//! Attribute keys and values.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A string that is `&'static`, short enough to be stored inline, or shared and owned.
///
/// Used for span names, attribute keys and string values. Neither kind allocates on
/// clone: a static string is a pointer, a string of up to [`Str::INLINE_LEN`] bytes is
/// kept inside the value itself (so a short path, an address or an id costs no
/// allocation, and the drain thread never frees memory the recording thread allocated),
/// and a longer one is shared behind an `Arc`.
///
/// ```
/// use telem::Str;
/// let a: Str = "http.route".into();
/// let b: Str = String::from("user.id").into();
/// let c = Str::copy_of("/books/7");
/// assert_eq!(a.as_str(), "http.route");
/// assert_eq!(b.as_str(), "user.id");
/// assert_eq!(c, "/books/7");
/// assert_eq!(std::mem::size_of::<Str>(), 24);
/// ```
#[derive(Clone)]
pub struct Str(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Inline(Inline),
    Owned(Arc<str>),
}

/// Up to [`Str::INLINE_LEN`] bytes of UTF-8, in place.
#[derive(Clone, Copy)]
pub(crate) struct Inline {
    len: u8,
    bytes: [u8; Str::INLINE_LEN],
}

impl Inline {
    /// `s` in place, if it fits.
    #[inline]
    pub(crate) fn new(s: &str) -> Option<Self> {
        let len = s.len();
        if len > Str::INLINE_LEN {
            return None;
        }
        let mut bytes = [0; Str::INLINE_LEN];
        bytes[..len].copy_from_slice(s.as_bytes());
        Some(Self {
            len: len as u8,
            bytes,
        })
    }

    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        let bytes = &self.bytes[..usize::from(self.len)];
        // Not validated again: every read of an attribute or name kept inline (each
        // one the drain converts and each one an exporter writes) paid `from_utf8`, 7 %
        // of OTLP/JSON encoding and 5 % of draining into protobuf (callgrind).
        // SAFETY: `new` is the only constructor; it copies a whole `&str` (valid
        // UTF-8) into `bytes[..len]`, and the fields are private to this module and
        // never written afterwards (`Inline` is `Copy`: copies carry the same bytes).
        #[allow(unsafe_code)]
        unsafe {
            std::str::from_utf8_unchecked(bytes)
        }
    }
}

impl Str {
    /// The longest string kept inline, without allocation.
    pub const INLINE_LEN: usize = 22;

    /// A static string; costs nothing.
    #[inline]
    pub const fn from_static(s: &'static str) -> Self {
        Self(Repr::Static(s))
    }

    /// A copy of `s`: inline (no allocation) when it has at most [`Str::INLINE_LEN`]
    /// bytes, shared behind an `Arc` otherwise.
    ///
    /// ```
    /// use telem::Str;
    /// let path = String::from("/books/7");
    /// let s = Str::copy_of(&path);
    /// drop(path);
    /// assert_eq!(s.as_str(), "/books/7");
    /// ```
    #[inline]
    pub fn copy_of(s: &str) -> Self {
        match Inline::new(s) {
            Some(inline) => Self(Repr::Inline(inline)),
            None => Self(Repr::Owned(s.into())),
        }
    }

    /// The text, if it is `&'static`.
    #[inline]
    pub fn as_static(&self) -> Option<&'static str> {
        match &self.0 {
            Repr::Static(s) => Some(s),
            Repr::Inline(_) | Repr::Owned(_) => None,
        }
    }

    /// The text kept inline, if it is.
    #[inline]
    pub(crate) fn as_inline(&self) -> Option<Inline> {
        match &self.0 {
            Repr::Inline(s) => Some(*s),
            Repr::Static(_) | Repr::Owned(_) => None,
        }
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Inline(s) => s.as_str(),
            Repr::Owned(s) => s,
        }
    }
}

impl fmt::Debug for Inline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<Inline> for Str {
    #[inline]
    fn from(s: Inline) -> Self {
        Self(Repr::Inline(s))
    }
}

impl PartialEq for Str {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Str {}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::hash::Hash for Str {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Str {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl From<&'static str> for Str {
    #[inline]
    fn from(s: &'static str) -> Self {
        Self::from_static(s)
    }
}

impl From<String> for Str {
    /// Short strings move inline (and the `String`'s buffer is freed here); longer ones
    /// become a shared `Arc<str>`.
    fn from(s: String) -> Self {
        Self::copy_of(&s)
    }
}

impl From<Arc<str>> for Str {
    fn from(s: Arc<str>) -> Self {
        Self(Repr::Owned(s))
    }
}

impl From<Cow<'static, str>> for Str {
    fn from(s: Cow<'static, str>) -> Self {
        match s {
            Cow::Borrowed(s) => Self::from_static(s),
            Cow::Owned(s) => s.into(),
        }
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::ops::Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An attribute value: a string, integer, float, boolean, or a homogeneous array of them.
///
/// ```
/// use telem::Value;
/// assert_eq!(Value::from(200i64), Value::I64(200));
/// assert_eq!(Value::from("GET").to_string(), "GET");
/// assert_eq!(Value::from(vec![1i64, 2]).to_string(), "[1,2]");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    I64(i64),
    /// A 64-bit float.
    F64(f64),
    /// A string.
    String(Str),
    /// An array of values (OpenTelemetry expects arrays to hold one type).
    Array(Arc<[Value]>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::String(v) => f.write_str(v),
            Value::Array(vs) => {
                f.write_str("[")?;
                for (i, v) in vs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

macro_rules! value_from {
    ($($ty:ty => $variant:ident $(as $cast:ty)?),* $(,)?) => {$(
        impl From<$ty> for Value {
            #[inline]
            fn from(v: $ty) -> Self {
                Value::$variant(v $(as $cast)?)
            }
        }
    )*};
}

value_from!(
    bool => Bool,
    i64 => I64,
    i32 => I64 as i64,
    i16 => I64 as i64,
    i8 => I64 as i64,
    u32 => I64 as i64,
    u16 => I64 as i64,
    u8 => I64 as i64,
    f64 => F64,
    f32 => F64 as f64,
);

impl From<&'static str> for Value {
    #[inline]
    fn from(v: &'static str) -> Self {
        Value::String(Str::from_static(v))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v.into())
    }
}

impl From<Str> for Value {
    fn from(v: Str) -> Self {
        Value::String(v)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}

/// A key and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    /// The attribute key (OpenTelemetry semantic-convention names where one exists).
    pub key: Str,
    /// The value.
    pub value: Value,
}

impl KeyValue {
    /// Builds a key-value pair.
    ///
    /// ```
    /// use telem::{KeyValue, Value};
    /// let kv = KeyValue::new("http.response.status_code", 200i64);
    /// assert_eq!(kv.value, Value::I64(200));
    /// ```
    #[inline]
    pub fn new(key: impl Into<Str>, value: impl Into<Value>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};

    fn hash(s: &Str) -> u64 {
        let mut h = DefaultHasher::new();
        s.hash(&mut h);
        h.finish()
    }

    #[test]
    fn short_strings_are_inline_and_long_ones_shared() {
        let fits = "x".repeat(Str::INLINE_LEN);
        let over = "x".repeat(Str::INLINE_LEN + 1);
        assert!(Str::copy_of(&fits).as_inline().is_some());
        assert!(Str::from(fits.clone()).as_inline().is_some());
        assert!(Str::copy_of(&over).as_inline().is_none());
        assert_eq!(Str::copy_of(&over).as_str(), over);
        assert!(Str::copy_of("").as_inline().is_some());
        // Multi-byte text is kept whole.
        assert_eq!(Str::copy_of("héllo wörld ✓").as_str(), "héllo wörld ✓");
    }

    /// What `Inline::as_str` reads without validating is exactly the text given, for
    /// every length up to the limit and multi-byte characters at the boundary (run
    /// under miri in CI).
    #[test]
    fn inline_text_reads_back_whole() {
        let longest = "x".repeat(Str::INLINE_LEN);
        let samples = ["", "a", "✓", "𝄞𝄞𝄞𝄞𝄞", "ab𝄞𝄞𝄞𝄞𝄞", &longest];
        for text in samples {
            let s = Str::copy_of(text);
            assert_eq!(s.as_inline().is_some(), text.len() <= Str::INLINE_LEN);
            assert_eq!(s.as_str(), text);
            let copied = s.clone();
            assert_eq!(copied.as_str(), text);
        }
    }

    #[test]
    fn every_kind_of_the_same_text_is_equal_and_hashes_alike() {
        let kinds = [
            Str::from_static("/books/7"),
            Str::copy_of("/books/7"),
            Str::from(Arc::<str>::from("/books/7")),
        ];
        for a in &kinds {
            for b in &kinds {
                assert_eq!(a, b);
                assert_eq!(hash(a), hash(b));
                assert_eq!(a.cmp(b), std::cmp::Ordering::Equal);
            }
        }
        assert_eq!(format!("{:?}", kinds[1]), "\"/books/7\"");
    }
}
