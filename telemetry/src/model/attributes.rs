//! [`Attributes`]: a finished span's attributes, the first few stored inline.

use crate::KeyValue;
use smallvec::SmallVec;
use std::fmt;
use std::ops::{Deref, DerefMut};

/// How many attributes with static keys and scalar or static-string values a span records
/// without allocating; a finished span's [`Attributes`] hold as many inline.
pub const INLINE_ATTRIBUTES: usize = 3;

/// A span's attributes, in the order they were set: the first [`INLINE_ATTRIBUTES`] are
/// stored inline, without allocation.
///
/// Read it as a slice (`Deref<Target = [KeyValue]>`: `iter`, `len`, indexing, `first`,
/// …); build one with [`push`](Attributes::push), `collect` or `extend`. The storage
/// behind it is not part of the API.
///
/// ```
/// use telem::{Attributes, KeyValue};
///
/// let mut attributes: Attributes = [KeyValue::new("http.request.method", "GET")]
///     .into_iter()
///     .collect();
/// attributes.push(KeyValue::new("http.response.status_code", 200_i64));
/// assert_eq!(attributes.len(), 2);
/// assert_eq!(attributes[0].key.as_str(), "http.request.method");
/// for attribute in &attributes {
///     assert!(!attribute.key.as_str().is_empty());
/// }
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct Attributes(SmallVec<[KeyValue; INLINE_ATTRIBUTES]>);

impl Attributes {
    /// No attributes; does not allocate.
    #[inline]
    pub fn new() -> Self {
        Self(SmallVec::new())
    }

    /// Room for `capacity` attributes; allocates only past [`INLINE_ATTRIBUTES`].
    #[inline]
    pub fn with_capacity(capacity: usize) -> Self {
        Self(SmallVec::with_capacity(capacity))
    }

    /// Appends an attribute (a key already present is not replaced: the span's own
    /// setters do that).
    #[inline]
    pub fn push(&mut self, attribute: KeyValue) {
        self.0.push(attribute);
    }

    /// How many attributes there are.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The attributes, in order.
    #[inline]
    pub fn iter(&self) -> std::slice::Iter<'_, KeyValue> {
        self.0.iter()
    }

    /// The attributes as a slice.
    #[inline]
    pub fn as_slice(&self) -> &[KeyValue] {
        &self.0
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl Deref for Attributes {
    type Target = [KeyValue];

    #[inline]
    fn deref(&self) -> &[KeyValue] {
        &self.0
    }
}

impl DerefMut for Attributes {
    #[inline]
    fn deref_mut(&mut self) -> &mut [KeyValue] {
        &mut self.0
    }
}

impl AsRef<[KeyValue]> for Attributes {
    #[inline]
    fn as_ref(&self) -> &[KeyValue] {
        &self.0
    }
}

impl From<Vec<KeyValue>> for Attributes {
    /// Keeps the vector's allocation when it has more than [`INLINE_ATTRIBUTES`]
    /// attributes.
    #[inline]
    fn from(attributes: Vec<KeyValue>) -> Self {
        Self(SmallVec::from_vec(attributes))
    }
}

impl FromIterator<KeyValue> for Attributes {
    #[inline]
    fn from_iter<I: IntoIterator<Item = KeyValue>>(iter: I) -> Self {
        Self(SmallVec::from_iter(iter))
    }
}

impl Extend<KeyValue> for Attributes {
    #[inline]
    fn extend<I: IntoIterator<Item = KeyValue>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl<'a> IntoIterator for &'a Attributes {
    type Item = &'a KeyValue;
    type IntoIter = std::slice::Iter<'a, KeyValue>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Attributes {
    type Item = KeyValue;
    type IntoIter = AttributesIntoIter;

    #[inline]
    fn into_iter(self) -> AttributesIntoIter {
        AttributesIntoIter(self.0.into_iter())
    }
}

/// The attributes of an [`Attributes`], by value (`for attribute in attributes`).
pub struct AttributesIntoIter(smallvec::IntoIter<[KeyValue; INLINE_ATTRIBUTES]>);

impl Iterator for AttributesIntoIter {
    type Item = KeyValue;

    #[inline]
    fn next(&mut self) -> Option<KeyValue> {
        self.0.next()
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for AttributesIntoIter {
    #[inline]
    fn next_back(&mut self) -> Option<KeyValue> {
        self.0.next_back()
    }
}

impl ExactSizeIterator for AttributesIntoIter {}

impl std::iter::FusedIterator for AttributesIntoIter {}

impl fmt::Debug for AttributesIntoIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &'static str) -> KeyValue {
        KeyValue::new(key, 1_i64)
    }

    #[test]
    fn the_first_attributes_stay_inline() {
        let mut attributes = Attributes::new();
        for key in ["a", "b", "c"] {
            attributes.push(kv(key));
        }
        assert!(!attributes.0.spilled());
        attributes.push(kv("d"));
        assert!(attributes.0.spilled());
        assert_eq!(attributes.len(), INLINE_ATTRIBUTES + 1);
    }

    #[test]
    fn iterates_by_reference_and_by_value_in_order() {
        let attributes: Attributes = ["a", "b", "c", "d"].into_iter().map(kv).collect();
        let by_ref: Vec<&str> = (&attributes).into_iter().map(|a| a.key.as_str()).collect();
        assert_eq!(by_ref, ["a", "b", "c", "d"]);
        let mut by_value = attributes.clone().into_iter();
        assert_eq!(by_value.len(), 4);
        assert_eq!(
            by_value.next_back().map(|a| a.key.as_str() == "d"),
            Some(true)
        );
        let rest: Vec<KeyValue> = by_value.collect();
        assert_eq!(rest.len(), 3);
        let mut extended = Attributes::from(vec![kv("x")]);
        extended.extend(attributes);
        assert_eq!(extended.len(), 5);
        assert_eq!(format!("{:?}", Attributes::new()), "[]");
    }
}
