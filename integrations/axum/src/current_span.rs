//! [`CurrentSpan`]: the request's server span, shared between the layer and handlers.

use crate::rejection::MissingTelemetryLayer;
use crate::RequestId;
use axum::extract::FromRequestParts;
use http::request::Parts;
use std::sync::{Arc, Mutex, PoisonError};
use telem::{Context, KeyValue, Span, SpanContext, SpanId, Status, Str, TraceId, Value};

/// The span of the request being handled (or of a WebSocket connection), for a handler
/// to enrich: set attributes, add events, read its ids and the request id.
///
/// Extract it in a handler; the request must have passed through
/// [`TelemetryLayer`](crate::TelemetryLayer), otherwise extraction fails with
/// [`MissingTelemetryLayer`] (a 500 with a message saying so). Spans the handler starts
/// are children of this span without it: the layer makes it current.
///
/// ```
/// use axum::{routing::get, Router};
/// use telem_axum::{CurrentSpan, TelemetryLayer};
///
/// async fn list_books(span: CurrentSpan) -> String {
///     span.set_attribute("books.count", 3i64);
///     span.add_event("cache_miss", []);
///     format!("trace {}", span.trace_id())
/// }
///
/// let app: Router = Router::new()
///     .route("/books", get(list_books))
///     .layer(TelemetryLayer::new());
/// ```
#[derive(Clone, Debug)]
pub struct CurrentSpan {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    span: Mutex<Span>,
    context: SpanContext,
    request_id: Option<RequestId>,
}

impl CurrentSpan {
    pub(crate) fn new(span: Span, request_id: Option<RequestId>) -> Self {
        Self {
            shared: Arc::new(Shared {
                context: span.context(),
                span: Mutex::new(span),
                request_id,
            }),
        }
    }

    /// The shared no-op span, for requests served with telemetry off.
    pub(crate) fn noop() -> Self {
        static NOOP: std::sync::OnceLock<CurrentSpan> = std::sync::OnceLock::new();
        NOOP.get_or_init(|| Self::new(Span::noop(), None)).clone()
    }

    /// Runs `f` on the span (a no-op span once it has ended).
    pub fn with<R>(&self, f: impl FnOnce(&mut Span) -> R) -> R {
        let mut span = self
            .shared
            .span
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut span)
    }

    /// Sets an attribute.
    pub fn set_attribute(&self, key: impl Into<Str>, value: impl Into<Value>) {
        self.with(|s| s.set_attribute(key, value));
    }

    /// Adds a timestamped event.
    pub fn add_event(&self, name: impl Into<Str>, attributes: impl IntoIterator<Item = KeyValue>) {
        self.with(|s| s.add_event(name, attributes));
    }

    /// Sets the span's status (OpenTelemetry precedence: `Ok` is final).
    pub fn set_status(&self, status: Status) {
        self.with(|s| s.set_status(status));
    }

    /// Records an error as an `exception` event and sets error status.
    pub fn record_error<E: std::error::Error + ?Sized>(&self, error: &E) {
        self.with(|s| s.record_error(error));
    }

    /// The span's context (what an outgoing request carries as its parent).
    pub fn context(&self) -> &SpanContext {
        &self.shared.context
    }

    /// The trace id ([`TraceId::INVALID`] when telemetry is off).
    pub fn trace_id(&self) -> TraceId {
        self.shared.context.trace_id
    }

    /// The span id ([`SpanId::INVALID`] when telemetry is off).
    pub fn span_id(&self) -> SpanId {
        self.shared.context.span_id
    }

    /// The request id (accepted from `X-Request-ID` or generated); `None` for a span
    /// that is not a request's.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.shared.request_id.as_ref()
    }

    /// A [`Context`] with this span as parent, to carry to a spawned task or thread.
    pub fn as_parent(&self) -> Context {
        Context::from_span(self.shared.context.clone())
    }

    /// Ends the span now; later calls on any clone are no-ops.
    pub(crate) fn end(&self) {
        let span = self.with(|s| std::mem::replace(s, Span::noop()));
        drop(span);
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentSpan {
    type Rejection = MissingTelemetryLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentSpan>()
            .cloned()
            .ok_or(MissingTelemetryLayer)
    }
}
