//! Fields bound to the current context ([`crate::bind`]): added to every log record made
//! inside it. (Skeleton: the carrying machinery is being written.)

use crate::KeyValue;
use std::sync::Arc;

/// The fields bound where a record is made: shared, so a record takes a reference
/// count, never a copy.
#[derive(Clone, Debug)]
pub(crate) struct BoundFields(Arc<[KeyValue]>);

impl BoundFields {
    /// The fields, innermost binding's last.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, KeyValue> {
        self.0.iter()
    }
}

/// The fields bound to the current context, if any.
#[inline]
pub(crate) fn current() -> Option<BoundFields> {
    None
}
