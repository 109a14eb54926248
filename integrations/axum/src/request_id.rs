//! Request ids: accepted from the client only when safe, generated otherwise.

use http::{HeaderName, HeaderValue};
use std::fmt;

/// The header a request id comes in and goes out in.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Characters in a generated request id.
const GENERATED_LEN: usize = 22;

/// The longest inbound request id accepted.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// A request's id: the client's `X-Request-ID` if it is safe to log and echo (1 to
/// [`MAX_REQUEST_ID_LEN`] characters of `[A-Za-z0-9._-]`), otherwise a fresh one.
///
/// ```
/// use telem_axum::RequestId;
/// assert_eq!(RequestId::accept("req-42.a_b").unwrap().as_str(), "req-42.a_b");
/// assert!(RequestId::accept("has space").is_none());
/// assert!(RequestId::accept(&"x".repeat(129)).is_none());
/// assert_eq!(RequestId::generate().as_str().len(), 22);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(HeaderValue);

fn is_safe(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LEN
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl RequestId {
    /// The inbound value, if it is safe.
    pub fn accept(value: &str) -> Option<Self> {
        if is_safe(value.as_bytes()) {
            HeaderValue::from_str(value).ok().map(Self)
        } else {
            None
        }
    }

    /// The inbound header, if it is safe (shares its bytes, copies nothing).
    pub(crate) fn accept_header(value: &HeaderValue) -> Option<Self> {
        is_safe(value.as_bytes()).then(|| Self(value.clone()))
    }

    /// A fresh random id: 128 random bits as 22 characters of `[A-Za-z0-9_-]` (the
    /// URL-safe base64 alphabet), short enough to be recorded on the span without an
    /// allocation (see [`telem::Str::INLINE_LEN`]).
    pub fn generate() -> Self {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let id = telem::TraceId::random().to_u128();
        let mut text = [0u8; GENERATED_LEN];
        for (i, b) in text.iter_mut().enumerate() {
            // Six bits per character, the last one taking the remaining two.
            *b = ALPHABET[(id >> (6 * i)) as usize & 0x3f];
        }
        // The alphabet is always a valid header value.
        Self(HeaderValue::from_bytes(&text).unwrap_or(HeaderValue::from_static("0")))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        // Only `[A-Za-z0-9._-]` gets in (checked above), which `to_str` accepts.
        self.0.to_str().unwrap_or_default()
    }

    pub(crate) fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_ids_are_accepted() {
        for ok in ["a", "A-z_0.9", &"7".repeat(128)] {
            assert!(RequestId::accept(ok).is_some(), "{ok}");
        }
        for bad in ["", "a b", "a\nb", "ä", "a/b", "<script>", &"7".repeat(129)] {
            assert!(RequestId::accept(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_are_unique_and_safe() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a, b);
        assert!(RequestId::accept(a.as_str()).is_some());
    }
}
