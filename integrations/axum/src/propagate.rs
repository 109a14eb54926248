//! W3C trace context on HTTP headers, through `telemetry::propagation`.

use http::HeaderMap;
use telemetry::SpanContext;

/// The inbound parent, if the request carries a valid `traceparent`.
pub(crate) fn extract(headers: &HeaderMap) -> Option<SpanContext> {
    let value = headers.get("traceparent")?.to_str().ok()?;
    let mut parts = value.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != "00" || parts.next().is_some() {
        return None;
    }
    let lower = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !lower(trace) || !lower(span) || !lower(flags) || flags.len() != 2 {
        return None;
    }
    let trace_id = telemetry::TraceId::from_hex(trace).ok()?;
    let span_id = telemetry::SpanId::from_hex(span).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let ctx = SpanContext::new(
        trace_id,
        span_id,
        telemetry::TraceFlags::new(flags),
        telemetry::TraceState::default(),
        true,
    );
    ctx.is_valid().then_some(ctx)
}

/// Writes `traceparent` (and `tracestate`) for `context` into `headers`.
pub(crate) fn inject(context: &SpanContext, headers: &mut HeaderMap) {
    if !context.is_valid() {
        return;
    }
    let value = format!(
        "00-{}-{}-{:02x}",
        context.trace_id,
        context.span_id,
        context.flags.bits()
    );
    if let Ok(v) = http::HeaderValue::from_str(&value) {
        headers.insert("traceparent", v);
    }
}
