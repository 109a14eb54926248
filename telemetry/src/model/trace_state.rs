//! W3C `tracestate`: vendor-specific key/value pairs carried with a trace.

use std::fmt;
use std::sync::Arc;

/// Vendor-specific trace data, as the W3C `tracestate` header carries it.
///
/// Immutable and cheap to clone: the empty state holds no allocation, and a non-empty
/// one is shared. Mutating methods return a new state, with the changed key moved to
/// the front as W3C requires.
///
/// ```
/// use telemetry::TraceState;
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
    /// use telemetry::TraceState;
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

pub(crate) fn validate(key: &str, value: &str) -> Result<(), TraceStateError> {
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
}
