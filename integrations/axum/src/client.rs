//! [`ClientTraceLayer`]: a client span and `traceparent` for each outgoing request.

use crate::propagate;
use futures::ready;
use http::{Request, Response};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use telemetry::prelude::*;
use telemetry::{Context, Instrumented, KeyValue, Span, SpanKind, Status, Tracer};
use tower::{Layer, Service};

/// A tower [`Layer`] for HTTP clients: each request gets a client span (a child of the
/// current span) named after its method, with `http.request.method`, `server.address`,
/// `server.port`, `url.full` (without query or credentials) and
/// `http.response.status_code`, and carries `traceparent` so the server it calls
/// continues the trace. 4xx and 5xx responses and transport errors set error status.
///
/// It wraps any tower HTTP client: hyper-util's `Client`, tonic's `Channel`, or a
/// service built with `tower::service_fn`. We chose a tower layer over a
/// `reqwest-middleware` middleware because it needs no HTTP client dependency of its
/// own and serves hyper and tonic as well.
///
/// ```
/// use telemetry_axum::ClientTraceLayer;
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
    /// A layer recording client spans in the scope `telemetry-axum`.
    pub fn new() -> Self {
        Self {
            tracer: Tracer::new("telemetry-axum"),
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
        if !telemetry::is_enabled() {
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
                .with_context(Context::with_span(context)),
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
