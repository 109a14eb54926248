//! The W3C propagator: a [`Context`] from request headers, and headers from a context.

use super::{
    Baggage, Extractor, Injector, TraceParent, BAGGAGE_HEADER, TRACEPARENT_HEADER,
    TRACESTATE_HEADER,
};
use crate::{Context, SpanContext, TraceState};

/// Reads and writes the W3C Trace Context (`traceparent`, `tracestate`) and W3C Baggage
/// (`baggage`) headers.
///
/// [`extract`](Self::extract) never fails: a missing or malformed `traceparent` (or a
/// repeated one) gives a context without a span, so the service starts a new trace, and
/// `tracestate` is then ignored; a malformed `tracestate` is dropped alone; malformed
/// baggage members are dropped one by one. The free functions [`extract`](super::extract),
/// [`inject`](super::inject) and [`inject_context`](super::inject_context) use
/// [`TraceContextPropagator::new`].
///
/// ```
/// use telem::propagation::TraceContextPropagator;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
/// headers.insert("baggage", "tenant=acme".parse().unwrap());
///
/// // A service facing untrusted clients may refuse their baggage.
/// let propagator = TraceContextPropagator::new().with_baggage(false);
/// let ctx = propagator.extract(&headers);
/// assert!(ctx.span().unwrap().is_remote);
/// assert!(ctx.baggage().is_none());
///
/// let mut outgoing = http::HeaderMap::new();
/// propagator.inject_context(&ctx, &mut outgoing);
/// assert_eq!(outgoing["traceparent"], headers["traceparent"]);
/// assert!(!outgoing.contains_key("baggage"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceContextPropagator {
    baggage: bool,
}

impl Default for TraceContextPropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl TraceContextPropagator {
    /// Propagates `traceparent`, `tracestate` and `baggage`.
    pub const fn new() -> Self {
        Self { baggage: true }
    }

    /// Whether `baggage` is propagated (default `true`). With `false` inbound baggage
    /// is ignored (the extracted context does not set any) and none is written.
    pub const fn with_baggage(self, on: bool) -> Self {
        Self { baggage: on }
    }

    /// The context a carrier (request headers) describes: the caller's span as a remote
    /// parent, with its `tracestate`, and the request's baggage (set even when empty, so
    /// the request never sees baggage from elsewhere).
    ///
    /// Attach it, or run a future under it, so the request's spans are children of the
    /// caller's span and [`Baggage::current`] is the request's baggage:
    ///
    /// ```
    /// use telem::prelude::*;
    /// use telem::propagation::{Baggage, TraceContextPropagator};
    /// use telem::Tracer;
    ///
    /// static TRACER: Tracer = Tracer::new("doc");
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
    /// headers.insert("baggage", "tenant=acme".parse().unwrap());
    ///
    /// let ctx = TraceContextPropagator::new().extract(&headers);
    /// let handler = async { Baggage::current().get("tenant").map(str::to_owned) };
    /// // The server span starts under the remote parent, and the future carries the
    /// // request's baggage (`in_span` takes the baggage current when it is called).
    /// let tenant = ctx
    ///     .run(|| handler.in_span(TRACER.span("GET /books").start_detached()))
    ///     .await;
    /// assert_eq!(tenant.as_deref(), Some("acme"));
    /// # }
    /// ```
    pub fn extract(&self, carrier: &(impl Extractor + ?Sized)) -> Context {
        let ctx = match self.extract_span_context(carrier) {
            Some(span) => Context::from_remote(span),
            None => Context::empty(),
        };
        if self.baggage {
            ctx.with_baggage(Baggage::from_header_lines(carrier.get_all(BAGGAGE_HEADER)))
        } else {
            ctx
        }
    }

    /// The caller's span context alone (`is_remote` set), or `None` if the carrier has
    /// no valid `traceparent` (none, several, or a malformed one).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use telem::propagation::TraceContextPropagator;
    ///
    /// let headers = HashMap::from([
    ///     ("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
    ///     ("tracestate".to_owned(), "congo=t61rcWkgMzE".to_owned()),
    /// ]);
    /// let span = TraceContextPropagator::new().extract_span_context(&headers).unwrap();
    /// assert_eq!(span.state.get("congo"), Some("t61rcWkgMzE"));
    ///
    /// let bad = HashMap::from([("traceparent".to_owned(), "00-zz".to_owned())]);
    /// assert!(TraceContextPropagator::new().extract_span_context(&bad).is_none());
    /// ```
    pub fn extract_span_context(&self, carrier: &(impl Extractor + ?Sized)) -> Option<SpanContext> {
        let parent = match carrier.get_all(TRACEPARENT_HEADER).as_slice() {
            [one] => TraceParent::parse(one).ok()?,
            _ => return None,
        };
        let state =
            TraceState::from_header_lines(carrier.get_all(TRACESTATE_HEADER)).unwrap_or_default();
        Some(parent.to_span_context(state))
    }

    /// Writes the current context (the current span, or the attached remote parent, and
    /// the current baggage) into `carrier`: for an outgoing request.
    ///
    /// ```
    /// use telem::propagation::TraceContextPropagator;
    /// let mut outgoing = http::HeaderMap::new();
    /// TraceContextPropagator::new().inject(&mut outgoing);
    /// assert!(outgoing.is_empty()); // no span, no baggage
    /// ```
    pub fn inject(&self, carrier: &mut (impl Injector + ?Sized)) {
        self.inject_context(&Context::current(), carrier);
    }

    /// Writes `context` into `carrier`: `traceparent` (version `00`) if it has a span,
    /// `tracestate` if that span's is not empty, and `baggage` if it sets a non-empty
    /// one. Headers it does not write are left as they are.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use telem::propagation::TraceContextPropagator;
    /// use telem::{Context, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    ///
    /// let span = SpanContext::new(
    ///     TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
    ///     SpanId::from_hex("00f067aa0ba902b7").unwrap(),
    ///     TraceFlags::SAMPLED,
    ///     TraceState::default().insert("rojo", "00f067aa0ba902b7").unwrap(),
    ///     false,
    /// );
    /// let mut map = HashMap::new();
    /// TraceContextPropagator::new().inject_context(&Context::from_span(span), &mut map);
    /// assert_eq!(map["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    /// assert_eq!(map["tracestate"], "rojo=00f067aa0ba902b7");
    /// assert!(!map.contains_key("baggage"));
    /// ```
    pub fn inject_context(&self, context: &Context, carrier: &mut (impl Injector + ?Sized)) {
        if let Some(parent) = TraceParent::from_span_context(&context.span) {
            carrier.set(TRACEPARENT_HEADER, parent.header_value());
            if !context.span.state.is_empty() {
                carrier.set(TRACESTATE_HEADER, context.span.state.header_value());
            }
        }
        if self.baggage {
            if let Some(baggage) = context.baggage().filter(|b| !b.is_empty()) {
                carrier.set(BAGGAGE_HEADER, baggage.header_value());
            }
        }
    }
}

/// [`TraceContextPropagator::extract`] with `traceparent`, `tracestate` and `baggage`.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
/// let ctx = telem::propagation::extract(&headers);
/// assert_eq!(ctx.span().unwrap().trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
///
/// headers.insert("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".parse().unwrap());
/// assert!(telem::propagation::extract(&headers).span().is_none()); // new trace
/// ```
pub fn extract(carrier: &(impl Extractor + ?Sized)) -> Context {
    TraceContextPropagator::new().extract(carrier)
}

/// [`TraceContextPropagator::inject`]: the current context into `carrier`.
///
/// ```
/// use telem::propagation::Baggage;
/// let _baggage = Baggage::from_header("tenant=acme").attach();
/// let mut outgoing = http::HeaderMap::new();
/// telem::propagation::inject(&mut outgoing);
/// assert_eq!(outgoing["baggage"], "tenant=acme");
/// ```
pub fn inject(carrier: &mut (impl Injector + ?Sized)) {
    TraceContextPropagator::new().inject(carrier);
}

/// [`TraceContextPropagator::inject_context`]: `context` into `carrier`.
///
/// ```
/// let mut outgoing = http::HeaderMap::new();
/// telem::propagation::inject_context(&telem::Context::empty(), &mut outgoing);
/// assert!(outgoing.is_empty());
/// ```
pub fn inject_context(context: &Context, carrier: &mut (impl Injector + ?Sized)) {
    TraceContextPropagator::new().inject_context(context, carrier);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SpanId, TraceFlags, TraceId};
    use std::collections::HashMap;

    const PARENT: &str = "00-12345678901234567890123456789012-1234567890123456-01";

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn valid_traceparent_and_tracestate_give_a_remote_parent() {
        let ctx = extract(&headers(&[
            ("TraceParent", PARENT),
            ("tracestate", "foo=1,bar=2"),
            ("TRACESTATE", "baz=3"),
        ]));
        let span = ctx.span().unwrap();
        assert!(span.is_remote && span.is_sampled());
        assert_eq!(
            span.trace_id.to_string(),
            "12345678901234567890123456789012"
        );
        assert_eq!(span.span_id.to_string(), "1234567890123456");
        assert_eq!(span.state.header_value(), "foo=1,bar=2,baz=3");
        assert!(ctx.baggage().unwrap().is_empty());
    }

    #[test]
    fn malformed_tracestate_is_dropped_alone() {
        for state in ["@foo=1,bar=2", "FOO=1", "foo=bar=baz", &"a=1,".repeat(33)] {
            let ctx = extract(&headers(&[("traceparent", PARENT), ("tracestate", state)]));
            let span = ctx.span().unwrap();
            assert!(span.state.is_empty(), "{state:?}");
            assert_eq!(
                span.trace_id.to_string(),
                "12345678901234567890123456789012"
            );
        }
    }

    #[test]
    fn invalid_or_repeated_traceparent_starts_a_new_trace_and_ignores_tracestate() {
        for tp in [
            &[PARENT, PARENT][..],
            &["00-00000000000000000000000000000000-1234567890123456-01"],
            &["ff-12345678901234567890123456789012-1234567890123456-01"],
            &["00-12345678901234567890123456789012-1234567890123456-01-extra"],
            &["garbage"],
            &[],
        ] {
            let mut pairs: Vec<(&str, &str)> = tp.iter().map(|v| ("traceparent", *v)).collect();
            pairs.push(("tracestate", "foo=1"));
            pairs.push(("baggage", "k=v"));
            let ctx = extract(&headers(&pairs));
            assert!(ctx.span().is_none(), "{tp:?}");
            // Baggage is independent of the trace context.
            assert_eq!(ctx.baggage().unwrap().get("k"), Some("v"));
        }
    }

    #[test]
    fn baggage_can_be_ignored() {
        let h = headers(&[("traceparent", PARENT), ("baggage", "k=v")]);
        let ctx = TraceContextPropagator::new()
            .with_baggage(false)
            .extract(&h);
        assert!(ctx.span().is_some());
        assert!(ctx.baggage().is_none());
    }

    #[test]
    fn inject_writes_lowercase_headers_from_a_context() {
        let span = SpanContext::new(
            TraceId::from_raw(0xabc),
            SpanId::from_raw(0xdef),
            TraceFlags::NONE,
            TraceState::default().insert("foo", "1").unwrap(),
            false,
        );
        let ctx = Context::from_span(span).with_baggage(Baggage::from_header("k=a b%2C"));
        let mut map: HashMap<String, String> = HashMap::new();
        inject_context(&ctx, &mut map);
        assert_eq!(
            map["traceparent"],
            "00-00000000000000000000000000000abc-0000000000000def-00"
        );
        assert_eq!(map["tracestate"], "foo=1");
        assert_eq!(map.get("baggage"), None, "`a b%2C` is not a valid value");
        let ctx = ctx.with_baggage(Baggage::from_header("k=a%20b%2C"));
        inject_context(&ctx, &mut map);
        assert_eq!(map["baggage"], "k=a%20b%2C");
    }

    #[test]
    fn extract_then_inject_passes_the_context_through() {
        let inbound = headers(&[
            ("traceparent", PARENT),
            ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
            ("baggage", "userId=alice,serverNode=DF%2028"),
        ]);
        let mut outbound = http::HeaderMap::new();
        inject_context(&extract(&inbound), &mut outbound);
        assert_eq!(outbound, inbound);
    }

    #[test]
    fn inject_uses_the_current_context() {
        let span = SpanContext::new(
            TraceId::from_raw(1),
            SpanId::from_raw(2),
            TraceFlags::SAMPLED,
            TraceState::default(),
            true,
        );
        let ctx = Context::from_span(span).with_baggage(Baggage::from_header("k=v"));
        let mut map: HashMap<String, String> = HashMap::new();
        ctx.run(|| inject(&mut map));
        assert_eq!(
            map["traceparent"],
            "00-00000000000000000000000000000001-0000000000000002-01"
        );
        assert_eq!(map["baggage"], "k=v");
        assert!(!map.contains_key("tracestate"));
    }
}
