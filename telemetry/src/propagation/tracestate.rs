//! The W3C `tracestate` header's name. Its value is parsed by
//! [`TraceState::from_header`](crate::TraceState::from_header) and
//! [`from_header_lines`](crate::TraceState::from_header_lines) and written by
//! [`TraceState::header_value`](crate::TraceState::header_value), beside the type (in
//! `model/trace_state.rs`, with the tests named after the specification's sections);
//! [`TraceContextPropagator`](crate::propagation::TraceContextPropagator) reads and
//! writes it in carriers.

/// The header that carries a [`TraceState`](crate::TraceState).
pub const TRACESTATE_HEADER: &str = "tracestate";
