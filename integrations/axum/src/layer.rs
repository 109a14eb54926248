//! [`TelemetryLayer`]: one server span per request, trace context in (request headers)
//! and out (the `server-timing` trace metric), request ids, HTTP metrics.

use crate::current_span::CurrentSpan;
use crate::http_metrics::HttpMetrics;
use crate::intern::{Hosts, Interner, RouteEntry, RouteNames};
use crate::propagate::{self, ResponseHeaders};
use crate::request_id::{RequestId, REQUEST_ID_HEADER};
use axum::extract::{ConnectInfo, MatchedPath};
use futures::ready;
use http::header::{HeaderName, HeaderValue, HOST, USER_AGENT};
use http::{Method, Request, Response, Version};
use pin_project_lite::pin_project;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;
use telem::prelude::*;
use telem::propagation::Baggage;
use telem::{Instrumented, KeyValue, SpanKind, Status, Str, Tracer};
use tower::{Layer, Service};

/// What the layer does with an inbound `traceparent` / `tracestate`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trust {
    /// Continue the caller's trace: the server span is the child of the inbound parent
    /// (for services behind your own gateway). Without one it starts a trace (or see
    /// [`TelemetryLayer::with_parent_from_current`]).
    #[default]
    Honour,
    /// Always start a new trace, ignoring the headers (for services facing untrusted
    /// clients that could otherwise pick trace ids or force sampling).
    Ignore,
    /// Start a new trace that links to the inbound one: the caller's trace stays
    /// reachable without letting it choose this trace's ids or sampling.
    LinkOnly,
}

/// The value of `http.route` (and the route label) for requests no route matched, so
/// unknown paths never create new series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// A tower [`Layer`] that gives every request a server span, honours and returns W3C
/// trace context, accepts or assigns a request id, and records HTTP metrics.
///
/// Add it with [`Router::layer`](axum::Router::layer) so that it sees the matched route
/// (it names spans `{method} {route}`, never after the raw path, which would explode
/// cardinality). It also serves hyper and tonic services; without axum's
/// [`MatchedPath`] a request counts as [`UNMATCHED_ROUTE`].
///
/// Recorded per request, following OpenTelemetry's HTTP semantic conventions:
/// `http.request.method`, `http.route`, `url.path`, `url.scheme`,
/// `http.response.status_code`, `server.address`, `server.port`, `client.address` (with
/// `into_make_service_with_connect_info`), `user_agent.original`,
/// `network.protocol.version` and `request.id`; error status for 5xx and for panics. No
/// query string, cookie or other header is recorded unless allowed with
/// [`with_recorded_header`](Self::with_recorded_header).
///
/// While the handler runs, `request.id` and (when a route matched) `http.route` are
/// bound to its context ([`telem::bind`]), so every log record it writes carries them,
/// in every task it starts with [`telem::spawn`] too.
///
/// Every response of a traced request names the server span (its trace id, span id
/// and flags) in a `server-timing` trace metric,
/// `server-timing: trace;desc=00-<trace id>-<span id>-<flags>`, the response binding
/// of W3C Trace Context Level 2 ("Trace Context Server Timing Metric Format"). It is
/// added as a header line of its own, beside any `server-timing` the handler set,
/// which is never replaced. Turn it off with [`with_server_timing(false)`](Self::with_server_timing)
/// (a service that must not tell its clients its trace ids, say).
///
/// A `traceparent` response header is off by default: `traceparent` is a request
/// header, the standard defines none on responses, and clients that follow it read
/// `server-timing`. [`with_response_traceparent(true)`](Self::with_response_traceparent) adds
/// it, for clients written against the old behaviour.
///
/// With telemetry off (and metrics turned off) the layer passes requests straight
/// through after one branch, handing handlers a shared no-op [`CurrentSpan`].
///
/// ```
/// use axum::{routing::get, Router};
/// use telem_axum::{TelemetryLayer, Trust};
///
/// let app: Router = Router::new()
///     .route("/books/{id}", get(|| async { "a book" }))
///     .layer(TelemetryLayer::new().with_trust(Trust::LinkOnly));
/// ```
#[derive(Clone, Debug)]
pub struct TelemetryLayer {
    settings: Arc<Settings>,
}

#[derive(Debug)]
struct Settings {
    tracer: Tracer,
    trust: Trust,
    /// Without an inbound parent, the span current where the layer runs is the parent.
    parent_from_current: bool,
    headers: Vec<HeaderName>,
    response: ResponseHeaders,
    metrics: Option<HttpMetrics>,
    names: Arc<RouteNames>,
    hosts: Arc<Hosts>,
    agents: Arc<Interner>,
}

impl TelemetryLayer {
    /// A layer with the defaults: trust inbound trace context, the `server-timing`
    /// trace metric on responses (no `traceparent` response header), HTTP metrics in
    /// the global registry, instrumentation scope `telem-axum`.
    pub fn new() -> Self {
        Self {
            settings: Arc::new(Settings {
                tracer: Tracer::new("telem-axum"),
                trust: Trust::Honour,
                parent_from_current: false,
                headers: Vec::new(),
                response: ResponseHeaders {
                    server_timing: true,
                    traceparent: false,
                },
                metrics: HttpMetrics::global(),
                names: Arc::default(),
                hosts: Arc::new(Hosts::new(64)),
                agents: Arc::new(Interner::new(256)),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        match Arc::get_mut(&mut self.settings) {
            Some(s) => f(s),
            None => {
                let mut s = Settings {
                    tracer: self.settings.tracer.clone(),
                    trust: self.settings.trust,
                    parent_from_current: self.settings.parent_from_current,
                    headers: self.settings.headers.clone(),
                    response: self.settings.response,
                    metrics: self.settings.metrics.clone(),
                    names: self.settings.names.clone(),
                    hosts: self.settings.hosts.clone(),
                    agents: self.settings.agents.clone(),
                };
                f(&mut s);
                self.settings = Arc::new(s);
            }
        }
        self
    }

    /// What to do with inbound trace context (default [`Trust::Honour`]).
    pub fn with_trust(self, trust: Trust) -> Self {
        self.edit(|s| s.trust = trust)
    }

    /// Whether a request without an inbound parent is the child of the span current where
    /// the layer runs (default `false`: it starts a trace). For a layer wrapped in one
    /// that starts a span first: tower-http's `TraceLayer` through `telem-tracing`'s
    /// bridge. Off by default because a context current around the whole server (a
    /// connection task `.instrument`ed with a span, a leaked guard) would otherwise make
    /// every request on it one trace; prefer adding this layer outermost, which needs
    /// nothing. With [`Trust::Ignore`] or [`Trust::LinkOnly`] a request always starts a
    /// trace.
    ///
    /// ```
    /// let layer = telem_axum::TelemetryLayer::new().with_parent_from_current(true);
    /// # drop(layer);
    /// ```
    pub fn with_parent_from_current(self, on: bool) -> Self {
        self.edit(|s| s.parent_from_current = on)
    }

    /// Records the request header `name` as `http.request.header.<name>` (lowercase).
    /// Nothing but the headers named here is ever recorded.
    pub fn with_recorded_header(self, name: HeaderName) -> Self {
        self.edit(|s| s.headers.push(name))
    }

    /// Whether responses carry the `server-timing` trace metric naming the server span
    /// (default `true`): W3C Trace Context's response binding, appended beside the
    /// handler's own `server-timing` metrics.
    ///
    /// ```
    /// use telem_axum::TelemetryLayer;
    /// // Clients of this service are not told its trace ids.
    /// let layer = TelemetryLayer::new().with_server_timing(false);
    /// # drop(layer);
    /// ```
    pub fn with_server_timing(self, on: bool) -> Self {
        self.edit(|s| s.response.server_timing = on)
    }

    /// Whether responses carry a `traceparent` header naming the server span (default
    /// `false`). Not standard: W3C Trace Context defines `traceparent` on requests
    /// only, and `server-timing` on responses. For clients that read it.
    ///
    /// ```
    /// use telem_axum::TelemetryLayer;
    /// let layer = TelemetryLayer::new().with_response_traceparent(true);
    /// # drop(layer);
    /// ```
    pub fn with_response_traceparent(self, on: bool) -> Self {
        self.edit(|s| s.response.traceparent = on)
    }

    /// Whether the layer records HTTP metrics (default `true`, into the global registry
    /// or the one given to [`with_metrics_registry`](Self::with_metrics_registry));
    /// `false` records spans only.
    ///
    /// ```
    /// use telem_axum::TelemetryLayer;
    /// let spans_only = TelemetryLayer::new().with_metrics(false);
    /// # drop(spans_only);
    /// ```
    pub fn with_metrics(self, on: bool) -> Self {
        self.edit(|s| {
            if !on {
                s.metrics = None;
            } else if s.metrics.is_none() {
                s.metrics = HttpMetrics::global();
            }
        })
    }

    /// Records HTTP metrics into `registry` instead of the global one.
    pub fn with_metrics_registry(self, registry: &telem::metrics::Registry) -> Self {
        let metrics = HttpMetrics::new(registry);
        self.edit(|s| s.metrics = metrics)
    }

    /// The instrumentation scope of the server spans (default `telem-axum`).
    pub fn with_scope(self, scope: &'static str) -> Self {
        self.edit(|s| s.tracer = Tracer::new(scope))
    }
}

impl Default for TelemetryLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for TelemetryLayer {
    type Service = TelemetryService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TelemetryService {
            inner,
            settings: self.settings.clone(),
        }
    }
}

/// The service [`TelemetryLayer`] wraps around yours.
#[derive(Clone, Debug)]
pub struct TelemetryService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S, B, ResB> Service<Request<B>> for TelemetryService<S>
where
    S: Service<Request<B>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if !telem::is_enabled() && self.settings.metrics.is_none() {
            // Handlers may still extract `CurrentSpan`: give them the shared no-op one.
            req.extensions_mut().insert(CurrentSpan::noop());
            return ResponseFuture {
                kind: Kind::Passthrough {
                    future: self.inner.call(req),
                },
            };
        }
        let state = RequestState::start(&self.settings, &mut req);
        let mut context = state.span.as_parent().with_baggage(state.baggage.clone());
        if telem::is_enabled() {
            context = context.with_fields(state.bound_fields());
        }
        ResponseFuture {
            kind: Kind::Traced {
                future: self.inner.call(req).with_context(context),
                state,
            },
        }
    }
}

pin_project! {
    /// The response future of [`TelemetryService`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F> {
        Passthrough { #[pin] future: F },
        Traced { #[pin] future: Instrumented<F>, state: RequestState },
    }
}

impl<F, ResB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
{
    type Output = Result<Response<ResB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Passthrough { future } => future.poll(cx),
            KindProj::Traced { future, state } => {
                // A panicking handler unwinds through here: record it before the panic
                // goes on (whoever catches it, hyper's task or tokio, drops this future
                // only after the unwinding is over, when it looks like a cancellation).
                let polled = std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
                let mut result = match polled {
                    Ok(poll) => ready!(poll),
                    Err(panic) => {
                        state.panicked();
                        std::panic::resume_unwind(panic);
                    }
                };
                match &mut result {
                    Ok(response) => state.respond(response),
                    Err(_) => state.fail(),
                }
                Poll::Ready(result)
            }
        }
    }
}

/// A request in flight: its span, labels and clock. Ends the span when the response is
/// ready, or when dropped unfinished (client gone, or a panic in the handler).
#[derive(Debug)]
struct RequestState {
    span: CurrentSpan,
    /// The inbound baggage (trusted callers only), current while the handler runs.
    baggage: Baggage,
    started: Instant,
    method: &'static str,
    method_index: usize,
    route: Option<&'static RouteEntry>,
    request_id: HeaderValue,
    settings: Arc<Settings>,
    /// The request's slot in the in-flight gauge, until it is done.
    in_flight: Option<usize>,
    done: bool,
}

impl RequestState {
    fn start<B>(settings: &Arc<Settings>, req: &mut Request<B>) -> Self {
        let method_index = method_index(req.method());
        let method = METHODS[method_index];
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .and_then(|r| settings.names.entry(r.as_str()));
        let request_id = req
            .headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(RequestId::accept_header)
            .unwrap_or_else(RequestId::generate);

        let mut baggage = Baggage::new();
        let span = if telem::is_enabled() {
            // Started under the method alone; the name and attributes are only built
            // (and allocated) for a span that records.
            let mut builder = settings.tracer.span(method).kind(SpanKind::Server);
            match settings.trust {
                Trust::Honour => {
                    let (parent, inbound_baggage) = propagate::extract(req.headers());
                    baggage = inbound_baggage;
                    // Without an inbound parent: a root, or (if asked) the child of
                    // the span current here (an outer layer may have started one).
                    builder = match parent {
                        Some(parent) => builder.parent(parent),
                        None if settings.parent_from_current => builder,
                        None => builder.root(),
                    };
                }
                // An untrusted caller's baggage is not taken either.
                Trust::Ignore => builder = builder.root(),
                Trust::LinkOnly => {
                    builder = builder.root();
                    if let (Some(inbound), _) = propagate::extract(req.headers()) {
                        builder = builder.link(inbound, []);
                    }
                }
            }
            let mut span = builder.start_detached();
            if span.is_recording() {
                record_request(&mut span, settings, req, (method_index, method), route);
                span.set_str("request.id", Str::copy_of(request_id.as_str()));
            }
            span
        } else {
            telem::Span::noop()
        };
        let request_id_header = request_id.header_value().clone();
        let span = CurrentSpan::new(span, Some(request_id));
        req.extensions_mut().insert(span.clone());
        let in_flight = settings
            .metrics
            .as_ref()
            .map(|m| m.enter(method_index, method, scheme(req) == "https"));
        Self {
            span,
            baggage,
            started: Instant::now(),
            method,
            method_index,
            route,
            request_id: request_id_header,
            settings: settings.clone(),
            in_flight,
            done: false,
        }
    }

    fn route(&self) -> &str {
        self.route.map_or(UNMATCHED_ROUTE, |r| r.route)
    }

    /// The fields bound while the handler runs: `request.id` (22 characters when
    /// generated, kept inline) and `http.route` when a route matched (a static string).
    fn bound_fields(&self) -> impl Iterator<Item = KeyValue> {
        let id = self
            .span
            .request_id()
            .map(|id| KeyValue::new("request.id", Str::copy_of(id.as_str())));
        let route = self.route.map(|r| KeyValue::new("http.route", r.route));
        id.into_iter().chain(route)
    }

    /// Takes the request out of the in-flight gauge (once).
    fn leave(&mut self) {
        if let (Some(slot), Some(m)) = (self.in_flight.take(), &self.settings.metrics) {
            m.leave(slot);
        }
    }

    fn respond<B>(&mut self, response: &mut Response<B>) {
        let status = response.status();
        self.span.with(|span| {
            span.set_i64("http.response.status_code", i64::from(status.as_u16()));
            if status.is_server_error() {
                span.set_status(Status::error(status.to_string()));
            }
        });
        let headers = response.headers_mut();
        propagate::inject_response(self.span.context(), headers, self.settings.response);
        headers.insert(REQUEST_ID_HEADER, self.request_id.clone());
        self.finish(status.as_u16());
    }

    fn fail(&mut self) {
        self.span
            .set_status(Status::error("the service returned an error"));
        self.finish(0);
    }

    /// Records the metrics and ends the span; `status` 0 for a service error.
    fn finish(&mut self, status: u16) {
        if let Some(m) = &self.settings.metrics {
            // Recorded in the span's context, so the bucket's exemplar links to it.
            let _exemplar = self
                .span
                .context()
                .is_sampled()
                .then(|| self.span.as_parent().attach());
            m.record(
                self.route.map(|r| &r.histograms),
                (self.method_index, self.method),
                self.route(),
                status,
                self.started.elapsed(),
            );
        }
        self.leave();
        self.span.end();
        self.done = true;
    }
}

impl RequestState {
    /// The handler panicked: the request is a 500 as far as anyone can tell.
    fn panicked(&mut self) {
        self.span.with(|span| {
            span.set_i64("http.response.status_code", 500);
            span.set_status(Status::error("the handler panicked"));
        });
        self.finish(500);
    }
}

impl Drop for RequestState {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if std::thread::panicking() {
            self.panicked();
        } else {
            // The client went away before the response was ready.
            self.span.add_event("request.cancelled", []);
            self.leave();
            self.span.end();
        }
    }
}

/// The methods as OpenTelemetry names them: the standard ones, then `_OTHER` for the
/// rest (so arbitrary methods don't become label values). Indexed by [`method_index`].
pub(crate) const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "_OTHER",
];

fn scheme<B>(req: &Request<B>) -> &'static str {
    match req.uri().scheme_str() {
        Some("https") => "https",
        _ => "http",
    }
}

fn protocol_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// The request's attributes, on a span that records. Repeating values (names, routes,
/// hosts, user agents) are static strings from the layer's tables, and short ones (the
/// path, the request id, an IPv4 address) are kept inline: nothing here allocates
/// unless a value is long.
fn record_request<B>(
    span: &mut telem::Span,
    settings: &Settings,
    req: &Request<B>,
    (m, method): (usize, &'static str),
    route: Option<&RouteEntry>,
) {
    span.set_str("http.request.method", method);
    span.set_str("url.scheme", scheme(req));
    span.set_str("network.protocol.version", protocol_version(req.version()));
    if method == "_OTHER" {
        span.set_str(
            "http.request.method_original",
            req.method().as_str().to_owned(),
        );
    }
    let path = req.uri().path();
    match route {
        Some(entry) => {
            span.update_name(entry.name(m, method));
            let path_value = if entry.route == path {
                Str::from_static(entry.route)
            } else {
                Str::copy_of(path)
            };
            span.set_str("http.route", entry.route);
            span.set_str("url.path", path_value);
        }
        None => span.set_str("url.path", Str::copy_of(path)),
    }
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str())
        .or_else(|| req.headers().get(HOST).and_then(|h| h.to_str().ok()));
    if let Some((host, port)) = authority.and_then(|a| settings.hosts.get(a)) {
        span.set_str("server.address", host);
        if let Some(port) = port {
            span.set_i64("server.port", i64::from(port));
        }
    }
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        span.set_str("client.address", ip_text(addr.ip()));
    }
    if let Some(agent) = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()) {
        span.set_str("user_agent.original", settings.agents.get(agent));
    }
    for name in &settings.headers {
        let values: Vec<telem::Value> = req
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| telem::Value::from(v.to_owned()))
            .collect();
        if !values.is_empty() {
            span.set_attribute(
                format!("http.request.header.{}", name.as_str()),
                telem::Value::Array(values.into()),
            );
        }
    }
}

/// An address as text, formatted on the stack: an IPv4 address fits a [`Str`] inline,
/// so recording it allocates nothing.
fn ip_text(ip: std::net::IpAddr) -> Str {
    use std::io::Write as _;
    // The longest IPv6 text (with an embedded IPv4 address) is 45 bytes.
    let mut buf = [0u8; 64];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    match write!(cursor, "{ip}") {
        Ok(()) => {
            let len = cursor.position() as usize;
            Str::copy_of(std::str::from_utf8(&buf[..len]).unwrap_or_default())
        }
        Err(_) => Str::from(ip.to_string()),
    }
}

/// The index of a method in [`METHODS`] (`_OTHER` last).
pub(crate) fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::DELETE => 3,
        Method::PATCH => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        Method::CONNECT => 7,
        Method::TRACE => 8,
        _ => 9,
    }
}
