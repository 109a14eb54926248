//! The heap cell a started span lives in, recycled per thread.
//!
//! A span handle ([`Span`](crate::Span), [`SpanGuard`](crate::SpanGuard)) is one
//! pointer to a `Frame`: a no-op span is a null pointer, so with telemetry off starting
//! and ending a span writes and tests one word. The frame holds the span's record and,
//! for a span made current, the context to put back when it ends. Frames come from and
//! return to a short per-thread list (see [`ring`](crate::record::ring)), so steady-state
//! recording never calls the allocator; a span that ends on another thread leaves its
//! frame there.

use crate::record::context::Saved;
use crate::record::raw_span::RawSpan;

#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) record: RawSpan,
    /// What to make current again when the span ends. Set by whoever takes the frame
    /// for a span (a recycled frame holds its last span's).
    pub(crate) restore: Restore,
    /// The whole context to put back, for [`Restore::SAVED`]; `None` otherwise.
    pub(crate) saved: Option<Saved>,
}

/// What was current before a span was made current, in one word, so that the hot path
/// sets it with one store and reads it with one load (an enum holding [`Saved`] is
/// written whole, from a stack copy whose 16-byte reload stalls store forwarding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Restore(u64);

impl Restore {
    /// The span was never made current.
    pub(crate) const NOTHING: Self = Self(u64::MAX);
    /// Anything else (an explicit parent, a different trace state): the whole context,
    /// in [`Frame::saved`].
    pub(crate) const SAVED: Self = Self(u64::MAX - 1);
    /// A root span made current over the empty context (no span, all bits clear), which
    /// comes back as constants: nothing is copied from the context words read at start
    /// into the frame and back, so back-to-back roots do not chain store-to-load
    /// forwarding from one span to the next, and the record's parent id is not used.
    pub(crate) const ROOT: Self = Self(u64::MAX - 2);

    /// The span was made current over its own parent (or, for a root span, over a
    /// context with no span): the previous context is the record's trace id and parent
    /// id with these bits (the context's flags word, well below the markers above), so
    /// restoring it reads two words and writes two.
    #[inline(always)]
    pub(crate) const fn parent(bits: u64) -> Self {
        Self(bits)
    }

    /// The parent's bits, for [`Restore::parent`].
    #[inline(always)]
    pub(crate) const fn parent_bits(self) -> Option<u64> {
        if self.0 < Self::ROOT.0 {
            Some(self.0)
        } else {
            None
        }
    }
}

impl Frame {
    /// A frame from this thread's spares, or a new one.
    #[inline(always)]
    pub(crate) fn take() -> Box<Frame> {
        match crate::record::ring::spare_frame() {
            Some(frame) => frame,
            None => Self::fresh(),
        }
    }

    #[cold]
    #[inline(never)]
    fn fresh() -> Box<Frame> {
        Box::new(Frame {
            record: RawSpan::blank(),
            restore: Restore::NOTHING,
            saved: None,
        })
    }
}
