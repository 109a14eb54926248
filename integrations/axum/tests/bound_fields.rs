//! The fields the layer binds for a request (`request.id`, `http.route`) and the
//! WebSocket helper for a connection (`websocket.connection.id`): what every log record
//! written there carries. Seen through `Context::current().fields()` and on log records.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures::{SinkExt as _, StreamExt as _};
use http::Request;
use telem::prelude::*;
use telem::testing::TestPipeline;
use telem::{Context, KeyValue};
use telem_axum::testing::{send, traced};
use telem_axum::ws::TracedWebSocket;
use telem_axum::{CurrentSpan, TelemetryLayer, REQUEST_ID_HEADER};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

/// Whether recording is on is process-wide (any live `TestPipeline` turns it on), so the
/// test with telemetry off must not overlap the others.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The fields bound here, as `key=value,...`.
fn bound() -> String {
    let fields = Context::current().fields().unwrap_or_default().to_vec();
    let fields: Vec<_> = fields
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    fields.join(",")
}

async fn book(Path(id): Path<u64>) -> String {
    telem::info!(book.id = id, "looking the book up");
    let in_handler = bound();
    // A `BindGuard` is not `Send`: across `.await` the fields go with the future.
    let in_task = async { telem::spawn(async { bound() }).await.unwrap() }
        .with_fields([KeyValue::new("book.id", id as i64)])
        .await;
    format!("{in_handler}\n{in_task}")
}

fn app() -> Router {
    Router::new()
        .route("/books/{id}", get(book))
        .fallback(|| async { bound() })
}

fn get_request(uri: &str) -> http::request::Builder {
    Request::get(uri).header("host", "books.example")
}

#[tokio::test]
async fn a_handler_and_its_tasks_carry_the_request_id_and_route() {
    let _one = ONE_AT_A_TIME.lock().await;
    let t = TestPipeline::start();
    let app = traced(app(), &t);
    let request = get_request("/books/7")
        .header(REQUEST_ID_HEADER, "req-42")
        .body(Default::default())
        .unwrap();
    let response = send(&app, request).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.text(),
        "request.id=req-42,http.route=/books/{id}\n\
         request.id=req-42,http.route=/books/{id},book.id=7"
    );
    t.logs()
        .await
        .find(telem::Level::Info, "looking the book up")
        .assert_field("request.id", "req-42")
        .assert_field("http.route", "/books/{id}")
        .assert_field("book.id", 7i64);
}

#[tokio::test]
async fn a_generated_request_id_is_the_one_bound_and_an_unmatched_request_has_no_route() {
    let _one = ONE_AT_A_TIME.lock().await;
    let t = TestPipeline::start();
    let app = traced(app(), &t);
    let response = send(
        &app,
        get_request("/nowhere").body(Default::default()).unwrap(),
    )
    .await;
    let id = response.headers[&REQUEST_ID_HEADER].to_str().unwrap();
    assert_eq!(id.len(), 22);
    assert_eq!(response.text(), format!("request.id={id}"));
}

#[tokio::test]
async fn with_telemetry_off_nothing_is_bound() {
    let _one = ONE_AT_A_TIME.lock().await;
    assert!(!telem::is_enabled());
    let app = app().layer(TelemetryLayer::new().with_metrics(false));
    let response = send(
        &app,
        get_request("/nowhere").body(Default::default()).unwrap(),
    )
    .await;
    assert_eq!(response.text(), "");
}

async fn fields_over_websocket(upgrade: WebSocketUpgrade, request: CurrentSpan) -> Response {
    telem_axum::ws::traced(
        upgrade,
        &request,
        |mut socket: TracedWebSocket| async move {
            while let Some(Ok(message)) = socket.recv().await {
                if let Message::Text(_) = message {
                    socket.send(Message::Text(bound().into())).await.unwrap();
                }
            }
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_connection_binds_its_id_beside_the_request_fields() {
    let _one = ONE_AT_A_TIME.lock().await;
    let _t = TestPipeline::start();
    let app = Router::new()
        .route("/ws", get(fields_over_websocket))
        .layer(TelemetryLayer::new().with_metrics(false));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert(REQUEST_ID_HEADER, "req-ws".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        "fields?".into(),
    ))
    .await
    .unwrap();
    let reply = ws.next().await.unwrap().unwrap().into_text().unwrap();
    let (request_fields, connection) = reply
        .as_str()
        .split_once(",websocket.connection.id=")
        .unwrap_or_else(|| panic!("no connection id in {reply:?}"));
    assert_eq!(request_fields, "request.id=req-ws,http.route=/ws");
    assert!(connection.parse::<u64>().unwrap() >= 1);
    ws.close(None).await.unwrap();
}
