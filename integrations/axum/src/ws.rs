//! A span per WebSocket connection.
//!
//! Behind the `ws` feature, which turns on axum's own `ws` feature (off by default in both):
//! `telem-axum = { version = "0.1", features = ["ws"] }`.

use crate::current_span::CurrentSpan;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use telem::prelude::*;
use telem::{Context, KeyValue, SpanKind, Tracer};

static TRACER: Tracer = Tracer::new("telem-axum");
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// Completes a WebSocket upgrade with a span for the connection: a child of the
/// request's span (`request`), named `WebSocket {route}` when the route is known,
/// with a `websocket.connection.id`, a `connect` event, and a `disconnect` event with
/// the close code. The span is current while `handler` runs, so spans started while
/// handling messages are its children; it ends when `handler` returns.
///
/// While `handler` runs, `websocket.connection.id` is bound to its context
/// ([`telem::bind`]) beside the fields bound where `traced` is called (the request's
/// `request.id` and `http.route`, under [`TelemetryLayer`](crate::TelemetryLayer)), so
/// every log record written for the connection carries them. (OpenTelemetry has no
/// convention for a WebSocket connection's id; the key is the span attribute's.)
///
/// ```
/// use axum::{extract::ws::{Message, WebSocketUpgrade}, response::Response, routing::get, Router};
/// use telem_axum::{ws::TracedWebSocket, CurrentSpan, TelemetryLayer};
///
/// async fn echo(upgrade: WebSocketUpgrade, request: CurrentSpan) -> Response {
///     telem_axum::ws::traced(upgrade, &request, |mut socket: TracedWebSocket| async move {
///         while let Some(Ok(message)) = socket.recv().await {
///             if let Message::Text(text) = message {
///                 let _ = socket.send(Message::Text(text)).await;
///             }
///         }
///     })
/// }
///
/// let app: Router = Router::new().route("/echo", get(echo)).layer(TelemetryLayer::new());
/// ```
pub fn traced<F, Fut>(upgrade: WebSocketUpgrade, request: &CurrentSpan, handler: F) -> Response
where
    F: FnOnce(TracedWebSocket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let parent = request.context().clone();
    // The request's bound fields, for the connection's task (which the upgrade spawns
    // without them).
    let bound = Context::current();
    upgrade.on_upgrade(move |socket| async move {
        let id = NEXT_CONNECTION.fetch_add(1, Relaxed);
        let span = TRACER
            .span("WebSocket connection")
            .kind(SpanKind::Server)
            .parent(parent)
            .attribute("websocket.connection.id", id as i64)
            .start_detached();
        let span = CurrentSpan::new(span, None);
        span.add_event("connect", []);
        let connection = [KeyValue::new("websocket.connection.id", id as i64)];
        let context = bound.run(|| span.as_parent().with_fields(connection));
        let socket = TracedWebSocket {
            socket,
            span: span.clone(),
            closed: false,
        };
        handler(socket).with_context(context).await;
        span.end();
    })
}

/// A WebSocket whose connection span records how it closes. Read with
/// [`recv`](Self::recv), write with [`send`](Self::send).
#[derive(Debug)]
pub struct TracedWebSocket {
    socket: WebSocket,
    span: CurrentSpan,
    closed: bool,
}

impl TracedWebSocket {
    /// The next message; a close frame (or the end of the stream) records the
    /// `disconnect` event with `websocket.close.code` and `websocket.close.reason`.
    pub async fn recv(&mut self) -> Option<Result<Message, axum::Error>> {
        let message = self.socket.recv().await;
        match &message {
            Some(Ok(Message::Close(frame))) => {
                let mut attributes = Vec::new();
                if let Some(frame) = frame {
                    attributes.push(KeyValue::new("websocket.close.code", i64::from(frame.code)));
                    attributes.push(KeyValue::new(
                        "websocket.close.reason",
                        frame.reason.as_str().to_owned(),
                    ));
                }
                self.disconnect(attributes);
            }
            None | Some(Err(_)) => self.disconnect(Vec::new()),
            Some(Ok(_)) => {}
        }
        message
    }

    /// Sends a message.
    pub async fn send(&mut self, message: Message) -> Result<(), axum::Error> {
        self.socket.send(message).await
    }

    /// The connection's span.
    pub fn span(&self) -> &CurrentSpan {
        &self.span
    }

    fn disconnect(&mut self, attributes: Vec<KeyValue>) {
        if !self.closed {
            self.closed = true;
            self.span.add_event("disconnect", attributes);
        }
    }
}

impl Drop for TracedWebSocket {
    fn drop(&mut self) {
        self.disconnect(Vec::new());
    }
}
