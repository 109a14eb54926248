//! [`ClientTraceLayer`]: a client span and `traceparent` for each outgoing request, and
//! a link to the trace a response's `server-timing` trace metric names.

use crate::propagate;
use futures::ready;
use http::{Request, Response};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use telem::prelude::*;
use telem::{Context, Instrumented, KeyValue, Span, SpanKind, Status, Tracer};
use tower::{Layer, Service};

/// A tower [`Layer`] for HTTP clients: each request gets a client span (a child of the
/// current span) named after its method, with `http.request.method`, `server.address`,
/// `server.port`, `url.full` (without query or credentials) and
/// `http.response.status_code`, and carries `traceparent` so the server it calls
/// continues the trace. 4xx and 5xx responses and transport errors set error status.
///
/// The response's `server-timing` trace metric (W3C Trace Context Level 2, "Trace
/// Context Server Timing Metric Format"; the first valid one) names the span that
/// served the request:
/// - In another trace (a server that restarted the trace, such as a gateway that does
///   not trust its callers), the client span gets a link to that span, so the two
///   traces stay connected.
/// - In the client span's own trace, nothing more is recorded: the server span is
///   already the client span's child in the trace.
///
/// The metric never changes the client's sampling decision or its flags: the standard
/// makes a response's flags a recommendation, never a rule (§ "trace-flags"), and a
/// server, trusted or not, cannot make the client record or drop a trace. A response
/// without the metric, or with a malformed one, is recorded as before.
///
/// It wraps any tower HTTP client: hyper-util's `Client`, tonic's `Channel`, or a
/// service built with `tower::service_fn`. We chose a tower layer over a
/// `reqwest-middleware` middleware because it needs no HTTP client dependency of its
/// own and serves hyper and tonic as well.
///
/// ```
/// use telem_axum::ClientTraceLayer;
/// use tower::{service_fn, Layer};
///
/// let client = ClientTraceLayer::new().layer(service_fn(|req: http::Request<String>| async move {
///     // A real client sends `req`; here we only check what it carries.
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// }));
/// # drop(client);
/// ```
#[derive(Clone, Debug)]
pub struct ClientTraceLayer {
    tracer: Tracer,
}

impl ClientTraceLayer {
    /// A layer recording client spans in the scope `telem-axum`.
    pub fn new() -> Self {
        Self {
            tracer: Tracer::new("telem-axum"),
        }
    }
}

impl Default for ClientTraceLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for ClientTraceLayer {
    type Service = ClientTraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientTraceService {
            inner,
            tracer: self.tracer.clone(),
        }
    }
}

/// The service [`ClientTraceLayer`] wraps around an HTTP client.
#[derive(Clone, Debug)]
pub struct ClientTraceService<S> {
    inner: S,
    tracer: Tracer,
}

impl<S, B, ResB> Service<Request<B>> for ClientTraceService<S>
where
    S: Service<Request<B>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if !telem::is_enabled() {
            return ClientFuture {
                inner: self.inner.call(req).with_context(Context::current()),
                span: Span::noop(),
            };
        }
        let method = req.method().as_str().to_owned();
        let uri = req.uri();
        let mut attributes = vec![KeyValue::new("http.request.method", method.clone())];
        if let Some(host) = uri.host() {
            attributes.push(KeyValue::new("server.address", host.to_owned()));
        }
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        if let Some(port) = port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
        if let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) {
            let port = uri.port().map(|p| format!(":{p}")).unwrap_or_default();
            attributes.push(KeyValue::new(
                "url.full",
                format!("{scheme}://{host}{port}{}", uri.path()),
            ));
        }
        let span = self
            .tracer
            .span(method)
            .kind(SpanKind::Client)
            .attributes(attributes)
            .start_detached();
        let context = span.context();
        propagate::inject_request(context.clone(), req.headers_mut());
        ClientFuture {
            inner: self
                .inner
                .call(req)
                .with_context(Context::from_span(context)),
            span,
        }
    }
}

pin_project! {
    /// The response future of [`ClientTraceService`]: ends the client span when the
    /// response (or error) arrives.
    #[derive(Debug)]
    pub struct ClientFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        span: Span,
    }
}

impl<F, ResB, E> Future for ClientFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
{
    type Output = Result<Response<ResB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let mut span = std::mem::replace(this.span, Span::noop());
        match &result {
            Ok(response) => {
                if span.is_recording() {
                    link_server_trace(&mut span, response.headers());
                }
                let status = response.status();
                span.set_i64("http.response.status_code", i64::from(status.as_u16()));
                if status.is_client_error() || status.is_server_error() {
                    span.set_status(Status::error(status.to_string()));
                }
            }
            Err(_) => span.set_status(Status::error("the request failed")),
        }
        drop(span);
        Poll::Ready(result)
    }
}

/// Links the client span to the span a response's `server-timing` trace metric names,
/// if it is in another trace.
fn link_server_trace(span: &mut Span, headers: &http::HeaderMap) {
    if let Some(server) = propagate::extract_response(headers) {
        if server.trace_id != span.context().trace_id {
            span.add_link(server, []);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use std::convert::Infallible;
    use telem::testing::TestPipeline;
    use telem::{SpanData, TraceId};
    use tower::{service_fn, ServiceExt as _};

    const OTHER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    const SERVER_SPAN: &str = "b7ad6b7169203331";

    /// The client span of one request whose response carries `server_timing` lines
    /// (`{trace}` in them stands for the client span's own trace id).
    async fn client_span(server_timing: &'static [&'static str]) -> SpanData {
        let t = TestPipeline::start();
        let client =
            ClientTraceLayer::new().layer(service_fn(move |req: Request<()>| async move {
                // The trace id the client sent, to answer in the same trace.
                let sent = req.headers()["traceparent"].to_str().unwrap()[3..35].to_owned();
                let mut response = Response::new(());
                for line in server_timing {
                    let line = line.replace("{trace}", &sent);
                    response
                        .headers_mut()
                        .append("server-timing", HeaderValue::from_str(&line).unwrap());
                }
                Ok::<_, Infallible>(response)
            }));
        let request = Request::get("http://books.example/books").body(()).unwrap();
        client.oneshot(request).await.unwrap();
        let spans = t.spans().await;
        spans.named("GET").data().clone()
    }

    // Trace Context Level 2, § "Trace Context Server Timing Metric Format": a server
    // that restarted the trace is linked, and the client's own decision stands
    // (§ "trace-flags": "recommendations ... rather than strict rules").
    #[tokio::test]
    async fn a_server_timing_trace_in_another_trace_is_linked() {
        let span = client_span(&[
            "db;dur=53",
            "trace;desc=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
        ])
        .await;
        assert_eq!(span.links.len(), 1, "{:?}", span.links);
        let link = &span.links[0].context;
        assert_eq!(link.trace_id, TraceId::from_hex(OTHER_TRACE).unwrap());
        assert_eq!(link.span_id.to_string(), SERVER_SPAN);
        assert!(link.is_remote);
        assert!(
            span.context.is_sampled(),
            "the server's unsampled flag does not change the client's decision"
        );
        assert_ne!(span.context.trace_id, link.trace_id);
    }

    // § "Trace Context Server Timing Metric Format": same trace, nothing extra.
    #[tokio::test]
    async fn a_server_timing_trace_in_the_same_trace_records_nothing() {
        let span = client_span(&["trace;desc=00-{trace}-b7ad6b7169203331-01"]).await;
        assert!(span.links.is_empty(), "{:?}", span.links);
    }

    // § "span-id": "MUST ignore the trace context metric when the span id is invalid".
    #[tokio::test]
    async fn an_invalid_server_timing_trace_is_ignored() {
        let span = client_span(&[
            "trace;desc=00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "trace;desc=00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "trace;desc=ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ])
        .await;
        assert!(span.links.is_empty(), "{:?}", span.links);
        assert!(client_span(&[]).await.links.is_empty());
    }
}
