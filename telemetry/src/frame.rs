//! The heap cell a started span lives in, recycled per thread.
//!
//! A span handle ([`Span`](crate::Span), [`SpanGuard`](crate::SpanGuard)) is one
//! pointer to a `Frame`: a no-op span is a null pointer, so with telemetry off starting
//! and ending a span writes and tests one word. The frame holds the span's record and,
//! for a span made current, the context to put back when it ends. Frames come from and
//! return to a short per-thread list (see [`ring`](crate::ring)), so steady-state
//! recording never calls the allocator; a span that ends on another thread leaves its
//! frame there.

use crate::context::Saved;
use crate::raw_span::RawSpan;

#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) record: RawSpan,
    /// What to make current again when the span ends.
    pub(crate) restore: Restore,
}

/// What was current before a span was made current.
#[derive(Debug)]
pub(crate) enum Restore {
    /// The span was never made current.
    Nothing,
    /// The span was made current over its own parent (or, for a root span, over an
    /// empty context): the previous context is the record's trace id and parent id
    /// with these bits, so restoring it reads two words and writes two to four.
    Parent { bits: u64 },
    /// Anything else (an explicit parent, a different trace state): the whole context.
    Saved(Saved),
}

impl Frame {
    /// A frame from this thread's spares, or a new one.
    #[inline(always)]
    pub(crate) fn take() -> Box<Frame> {
        match crate::ring::spare_frame() {
            Some(frame) => frame,
            None => Self::fresh(),
        }
    }

    #[cold]
    #[inline(never)]
    fn fresh() -> Box<Frame> {
        Box::new(Frame {
            record: RawSpan::blank(),
            restore: Restore::Nothing,
        })
    }
}
