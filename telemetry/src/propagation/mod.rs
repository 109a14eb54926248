//! Carrying a trace across processes: W3C Trace Context (`traceparent`, `tracestate`)
//! and W3C Baggage (`baggage`) in and out of HTTP headers or any other carrier.
//!
//! - [`extract`] turns request headers into a [`Context`](crate::Context): the caller's
//!   span as a remote parent, and the request's [`Baggage`]. Malformed headers never
//!   fail a request: a bad `traceparent` starts a new trace, a bad `tracestate` is
//!   dropped alone, bad baggage members are dropped one by one.
//! - [`inject`] writes the current span (and baggage) into an outgoing request;
//!   [`inject_context`] writes a given context.
//! - [`Extractor`] and [`Injector`] are the carriers: implemented for
//!   `http::HeaderMap` and `HashMap<String, String>`, and easy to implement for message
//!   headers.
//! - [`TraceParent`], [`TraceState::from_header`](crate::TraceState::from_header) and
//!   [`Baggage::from_header`] are the parsers, each with its `header_value` formatter.
//!
//! ```
//! use telemetry::propagation::{self, Baggage};
//! use telemetry::Tracer;
//!
//! static TRACER: Tracer = Tracer::new("doc");
//!
//! // An incoming request.
//! let mut request = http::HeaderMap::new();
//! request.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
//! request.insert("baggage", "tenant=acme".parse().unwrap());
//!
//! let ctx = propagation::extract(&request);
//! let _attached = ctx.attach();
//! let _span = TRACER.start_span("GET /books"); // a child of the caller's span
//! assert_eq!(Baggage::current().get("tenant"), Some("acme"));
//!
//! // An outgoing request carries the trace on (the current span, or the caller's
//! // when recording is off) and the baggage.
//! let mut outgoing = http::HeaderMap::new();
//! propagation::inject(&mut outgoing);
//! assert!(outgoing["traceparent"].to_str().unwrap().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
//! assert_eq!(outgoing["baggage"], "tenant=acme");
//! ```

mod baggage;
mod carrier;
mod server_timing;
mod traceparent;
mod tracestate;
mod w3c;

pub use baggage::{
    Baggage, BaggageError, BaggageGuard, BAGGAGE_HEADER, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS,
};
pub use carrier::{Extractor, Injector};
pub use server_timing::SERVER_TIMING_HEADER;
pub use traceparent::{TraceParent, TraceParentError, TRACEPARENT_HEADER};
pub use tracestate::TRACESTATE_HEADER;
pub use w3c::{extract, inject, inject_context, TraceContextPropagator};
