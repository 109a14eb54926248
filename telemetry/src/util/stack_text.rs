//! Text formatted on the stack: a fixed buffer that `write!` fills without allocating,
//! for short formatted values (a duration in the pretty format, a `#[trace]` field's
//! text before it becomes a `Str`).

use std::fmt;

/// Up to `N` bytes of text. Writing past `N` fails with [`fmt::Error`] and leaves the
/// text as it was before that write.
pub(crate) struct StackText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Default for StackText<N> {
    fn default() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> StackText<N> {
    pub(crate) fn as_str(&self) -> &str {
        // Only whole `str`s are ever copied in, so this is always valid UTF-8.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn a_write_that_does_not_fit_fails_and_keeps_the_text() {
        let mut t = StackText::<4>::default();
        assert!(write!(t, "ab").is_ok());
        assert!(t.write_str("cde").is_err());
        assert_eq!(t.as_str(), "ab");
        assert!(t.write_str("cd").is_ok());
        assert_eq!((t.as_str(), t.len()), ("abcd", 4));
    }
}
