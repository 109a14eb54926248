//! The identity of a span that crosses task, thread and process boundaries.

use crate::{SpanId, TraceFlags, TraceId, TraceState};

/// What identifies a span to its children, wherever they run: trace id, span id,
/// flags (the sampling decision), vendor trace state, and whether it came from
/// another process.
///
/// ```
/// use telem::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
/// let remote = SpanContext::new(
///     TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
///     SpanId::from_hex("00f067aa0ba902b7").unwrap(),
///     TraceFlags::SAMPLED,
///     TraceState::default(),
///     true,
/// );
/// assert!(remote.is_valid() && remote.is_remote && remote.is_sampled());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SpanContext {
    /// The trace this span belongs to.
    pub trace_id: TraceId,
    /// This span's id.
    pub span_id: SpanId,
    /// W3C flags; the sampled bit is the sampling decision.
    pub flags: TraceFlags,
    /// Vendor trace state (W3C `tracestate`).
    pub state: TraceState,
    /// Whether this context was received from another process.
    pub is_remote: bool,
}

impl SpanContext {
    /// An invalid (empty) context.
    pub const INVALID: Self = Self {
        trace_id: TraceId::INVALID,
        span_id: SpanId::INVALID,
        flags: TraceFlags::NONE,
        state: TraceState(None),
        is_remote: false,
    };

    /// Builds a context.
    pub const fn new(
        trace_id: TraceId,
        span_id: SpanId,
        flags: TraceFlags,
        state: TraceState,
        is_remote: bool,
    ) -> Self {
        Self {
            trace_id,
            span_id,
            flags,
            state,
            is_remote,
        }
    }

    /// Both ids are non-zero.
    pub const fn is_valid(&self) -> bool {
        self.trace_id.is_valid() && self.span_id.is_valid()
    }

    /// The sampled flag is set.
    pub const fn is_sampled(&self) -> bool {
        self.flags.is_sampled()
    }
}
