//! Two services through real servers on loopback: A's handler calls B through the traced
//! client, and the call is one trace: A's server span, A's client span, B's server span
//! (a remote child), with the baggage A's handler set reaching B's handler.
//!
//! Cross-crate: `telem-axum`'s server and client layers over hyper, and `telemetry`'s
//! context and baggage propagation between them.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::sync::Arc;
use telem::{Config, InMemorySink, SpanKind, Value};
use telem_axum::{ClientTraceLayer, CurrentSpan, TelemetryLayer};
use tower::{Service as _, ServiceBuilder};

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

type TracedClient = telem_axum::ClientTraceService<
    Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>,
>;

async fn call_b(State((client, b)): State<(TracedClient, SocketAddr)>) -> String {
    let uri = format!("http://{b}/inventory");
    let request = http::Request::get(uri).body(Empty::<Bytes>::new()).unwrap();
    let baggage = telem::propagation::Baggage::new()
        .with_entry("tenant", "acme")
        .unwrap();
    // The client layer injects the context current when the request is made.
    let sent = {
        let _baggage = baggage.attach();
        client.clone().call(request)
    };
    let response = sent.await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_between_two_services_is_one_trace() {
    // The only pipeline of this test binary: no need to take turns.
    let sink = Arc::new(InMemorySink::new(1000));
    let pipeline = telem::init(Config::new().with_sink(sink.clone())).unwrap();

    let b = serve(
        Router::new()
            .route(
                "/inventory",
                get(|span: CurrentSpan| async move {
                    let tenant = telem::propagation::Baggage::current()
                        .get("tenant")
                        .unwrap_or_default()
                        .to_owned();
                    format!("{} {tenant}", span.trace_id())
                }),
            )
            .layer(TelemetryLayer::new().with_metrics(false)),
    )
    .await;
    let client = ServiceBuilder::new()
        .layer(ClientTraceLayer::new())
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let a = serve(
        Router::new()
            .route("/books", get(call_b))
            .with_state((client, b))
            .layer(TelemetryLayer::new().with_metrics(false)),
    )
    .await;

    let plain = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = plain
        .get(format!("http://{a}/books").parse().unwrap())
        .await
        .unwrap();
    let b_saw_trace = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();

    pipeline.shutdown().await;
    let spans = sink.spans();
    let find = |name: &str, kind: SpanKind| {
        spans
            .iter()
            .find(|s| s.name == name && s.kind == kind)
            .unwrap_or_else(|| {
                panic!(
                    "no {kind:?} span {name:?} in {:?}",
                    spans.iter().map(|s| &s.name).collect::<Vec<_>>()
                )
            })
    };
    let a_server = find("GET /books", SpanKind::Server);
    let a_client = find("GET", SpanKind::Client);
    let b_server = find("GET /inventory", SpanKind::Server);
    assert_eq!(a_client.parent_span_id, a_server.context.span_id);
    assert_eq!(
        b_server.parent_span_id, a_client.context.span_id,
        "B continues A's client span"
    );
    assert!(b_server.parent_is_remote);
    assert_eq!(b_server.context.trace_id, a_server.context.trace_id);
    assert_eq!(
        b_saw_trace,
        format!("{} acme", a_server.context.trace_id),
        "B sees A's trace and the baggage A's handler set"
    );
    assert_eq!(
        a_client.attribute("http.response.status_code"),
        Some(&Value::I64(200))
    );
    assert_eq!(
        a_client.attribute("server.address"),
        Some(&Value::from("127.0.0.1"))
    );
}
