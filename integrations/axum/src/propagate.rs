//! W3C trace context on HTTP headers, through [`telem::propagation`]: requests
//! carry `traceparent`, `tracestate` and `baggage`; responses the `server-timing` trace
//! metric.

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use telem::propagation::{Baggage, TraceContextPropagator, TraceParent, SERVER_TIMING_HEADER};
use telem::{Context, SpanContext, TraceState};

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const BAGGAGE: HeaderName = HeaderName::from_static("baggage");
const SERVER_TIMING: HeaderName = HeaderName::from_static(SERVER_TIMING_HEADER);

/// What an inbound request carries: its remote parent (`None` if absent or malformed,
/// which starts a new trace) and its baggage. A request without the headers (most
/// requests of a public service) costs two lookups.
pub(crate) fn extract(headers: &HeaderMap) -> (Option<SpanContext>, Baggage) {
    let parent = if headers.contains_key(TRACEPARENT) {
        TraceContextPropagator::new().extract_span_context(headers)
    } else {
        None
    };
    let baggage = if headers.contains_key(BAGGAGE) {
        Baggage::from_header_lines(
            headers
                .get_all(BAGGAGE)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        )
    } else {
        Baggage::new()
    };
    (parent, baggage)
}

/// Which trace context headers a response gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ResponseHeaders {
    /// The `server-timing` trace metric (the standard's response binding).
    pub(crate) server_timing: bool,
    /// A `traceparent` response header (not standard; for clients that read it).
    pub(crate) traceparent: bool,
}

/// Writes the trace context of `span` (the server span) into a response's headers:
/// the `server-timing` trace metric, appended beside any metric the handler set, and
/// `traceparent` if asked. Each is formatted in place: one allocation per header value.
pub(crate) fn inject_response(span: &SpanContext, headers: &mut HeaderMap, which: ResponseHeaders) {
    let Some(server) = TraceParent::from_span_context(span) else {
        return;
    };
    if which.server_timing {
        if let Ok(value) = HeaderValue::from_bytes(&server.server_timing_bytes()) {
            // A field line of its own: the handler's `server-timing` lines stay as they
            // are, and the lines together are one list.
            headers.append(SERVER_TIMING, value);
        }
    }
    if which.traceparent {
        if let Ok(value) = HeaderValue::from_bytes(&server.header_bytes()) {
            headers.insert(TRACEPARENT, value);
        }
    }
}

/// The span a response's `server-timing` trace metric names (every line read as one
/// list, the first valid `trace` metric), if any.
pub(crate) fn extract_response(headers: &HeaderMap) -> Option<SpanContext> {
    if !headers.contains_key(SERVER_TIMING) {
        return None;
    }
    let lines = headers
        .get_all(SERVER_TIMING)
        .iter()
        .filter_map(|v| v.to_str().ok());
    TraceParent::from_server_timing_lines(lines)
        .map(|server| server.to_span_context(TraceState::default()))
}

/// Writes `traceparent`, `tracestate` and the current baggage for an outgoing request
/// made under `span`.
pub(crate) fn inject_request(span: SpanContext, headers: &mut HeaderMap) {
    let context = Context::from_span(span).with_baggage(Baggage::current());
    TraceContextPropagator::new().inject_context(&context, headers);
}
