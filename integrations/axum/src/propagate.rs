//! W3C trace context on HTTP headers, through [`telemetry::propagation`].

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use telemetry::propagation::{Baggage, TraceContextPropagator, TraceParent};
use telemetry::{Context, SpanContext};

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

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

/// Writes `traceparent` for `span` into a response's headers (formatted in place, one
/// allocation for the header value).
pub(crate) fn inject_response(span: &SpanContext, headers: &mut HeaderMap) {
    if let Some(parent) = TraceParent::from_span_context(span) {
        if let Ok(value) = HeaderValue::from_bytes(&parent.header_bytes()) {
            headers.insert(TRACEPARENT, value);
        }
    }
}

/// Writes `traceparent`, `tracestate` and the current baggage for an outgoing request
/// made under `span`.
pub(crate) fn inject_request(span: SpanContext, headers: &mut HeaderMap) {
    let context = Context::with_span(span).with_baggage(Baggage::current());
    TraceContextPropagator::new().inject_context(&context, headers);
}
