//! Through real servers on loopback: a traced WebSocket connection, and the metrics
//! endpoint on a listener of its own. (Two services in one trace: the workspace's
//! cross-crate tests, `tests/tests/two_services.rs`.)
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures::{SinkExt as _, StreamExt as _};
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::sync::Arc;
use telem::{Config, InMemorySink, Value};
use telem_axum::ws::TracedWebSocket;
use telem_axum::{CurrentSpan, TelemetryLayer};

static ONE_PIPELINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn echo(upgrade: WebSocketUpgrade, request: CurrentSpan) -> Response {
    telem_axum::ws::traced(
        upgrade,
        &request,
        |mut socket: TracedWebSocket| async move {
            while let Some(Ok(message)) = socket.recv().await {
                if let Message::Text(text) = message {
                    telem::Tracer::new("test").in_span("ws.message", |_| {});
                    socket.send(Message::Text(text)).await.unwrap();
                }
            }
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_connection_gets_its_own_span() {
    let _slot = ONE_PIPELINE.lock().await;
    let sink = Arc::new(InMemorySink::new(1000));
    let pipeline = telem::init(Config::new().with_sink(sink.clone())).unwrap();
    let addr = serve(
        Router::new()
            .route("/echo", get(echo))
            .layer(TelemetryLayer::new().with_metrics(false)),
    )
    .await;

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/echo"))
        .await
        .unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::Text("hi".into()))
        .await
        .unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert_eq!(reply.into_text().unwrap().as_str(), "hi");
    ws.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Away,
        reason: "bye".into(),
    }))
    .await
    .unwrap();
    // Wait for the server's close reply: the connection is over on both sides.
    while ws.next().await.is_some() {}

    // The connection span ends when the handler returns, just after the close.
    let mut tries = 0;
    let conn = loop {
        pipeline.drain_now().await;
        if let Some(s) = sink
            .spans()
            .into_iter()
            .find(|s| s.name == "WebSocket connection")
        {
            break s;
        }
        tries += 1;
        assert!(tries < 5_000, "the connection span never ended");
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    };
    pipeline.shutdown().await;
    let spans = sink.spans();
    let upgrade = spans.iter().find(|s| s.name == "GET /echo").unwrap();
    assert_eq!(conn.parent_span_id, upgrade.context.span_id);
    assert!(conn.attribute("websocket.connection.id").is_some());
    let events: Vec<_> = conn.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(events, ["connect", "disconnect"]);
    let close = &conn.events[1];
    assert!(close
        .attributes
        .iter()
        .any(|kv| kv.key == "websocket.close.code" && kv.value == Value::I64(1001)));
    let message = spans.iter().find(|s| s.name == "ws.message").unwrap();
    assert_eq!(
        message.parent_span_id, conn.context.span_id,
        "message handling runs in the connection span"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_serves_on_its_own_listener() {
    let registry = telem::metrics::Registry::new();
    registry.counter("own_listener_total").unwrap().increment(7);
    let sink = Arc::new(telem::PrometheusSink::from_registry(registry));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        telem_axum::MetricsEndpoint::new(sink)
            .with_path("/internal/metrics")
            .serve(listener),
    );
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = client
        .get(format!("http://{addr}/internal/metrics").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("own_listener_total 7\n"));
}
