//! What the bookstore records: spans (a handler helper, concurrent lookups, background
//! work, a WebSocket connection) and metrics (by route, never by raw path).
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use axum::http::StatusCode;
use bookstore::store::Book;
use common::{get, post_json};
use futures::{SinkExt as _, StreamExt as _};
use std::sync::Arc;
use std::time::Duration;
use telem::{Config, InMemorySink, PrometheusSink, SpanData, SpanKind, Value};

/// One pipeline per process: tests take turns.
static ONE_PIPELINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Pipeline {
    telemetry: telem::Pipeline,
    sink: Arc<InMemorySink>,
    prometheus: Arc<PrometheusSink>,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

async fn pipeline() -> Pipeline {
    let turn = ONE_PIPELINE.lock().await;
    let sink = Arc::new(InMemorySink::new(10_000));
    let prometheus = Arc::new(PrometheusSink::new());
    let telemetry = telem::init(
        Config::new()
            .with_sink(sink.clone())
            .with_sink(prometheus.clone()),
    )
    .unwrap();
    Pipeline {
        telemetry,
        sink,
        prometheus,
        _turn: turn,
    }
}

impl Pipeline {
    fn app(&self) -> axum::Router {
        common::app(self.prometheus.clone())
    }

    async fn spans(self) -> Vec<SpanData> {
        self.telemetry.shutdown().await;
        self.sink.spans()
    }

    /// Drains until a span named `name` has arrived (bounded: it ends in the background).
    async fn wait_for_span(&self, name: &str) -> SpanData {
        for _ in 0..1000 {
            self.telemetry.drain_now().await;
            if let Some(span) = self.sink.spans().into_iter().find(|s| s.name == name) {
                return span;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!(
            "no {name:?} span after 1000 drains; recorded: {:?}",
            self.sink.span_names()
        )
    }

    /// `/metrics` as the app serves it, after a drain tick rendered the latest values.
    async fn scrape(&self, app: &axum::Router) -> String {
        self.telemetry.drain_now().await;
        let answer = get(app, "/metrics").await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.text()
    }
}

fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "one {name:?} among {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    found[0]
}

/// The value of the series `line_start` (name and labels) in a Prometheus text body; 0 if absent.
fn value(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(line_start)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_books_is_a_child_of_the_request_span() {
    let p = pipeline().await;
    let answer = get(&p.app(), "/books?q=dune").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json::<Vec<Book>>().len(), 1);
    let spans = p.spans().await;
    let server = one(&spans, "GET /books");
    assert_eq!(
        answer.headers["server-timing"],
        format!(
            "trace;desc=00-{}-{}-{:02x}",
            server.context.trace_id,
            server.context.span_id,
            server.context.flags.bits() & 0x03
        ),
        "the response names the request's span (W3C Trace Context's server-timing metric)"
    );
    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(server.attribute("http.route"), Some(&Value::from("/books")));
    assert_eq!(server.attribute("bookstore.results"), Some(&Value::I64(1)));
    let list = one(&spans, "list_books");
    assert_eq!(list.parent_span_id, server.context.span_id);
    assert_eq!(list.context.trace_id, server.context.trace_id);
    assert_eq!(
        list.attribute("bookstore.query"),
        Some(&Value::from("dune"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_two_lookups_run_concurrently_as_siblings() {
    let p = pipeline().await;
    assert_eq!(
        get(&p.app(), "/books/1/reviews").await.status,
        StatusCode::OK
    );
    let spans = p.spans().await;
    let server = one(&spans, "GET /books/{id}/reviews");
    let reviews = one(&spans, "Store::reviews");
    let stock = one(&spans, "Store::stock");
    for lookup in [reviews, stock] {
        assert_eq!(lookup.kind, SpanKind::Client);
        assert_eq!(lookup.parent_span_id, server.context.span_id);
        assert_eq!(lookup.attribute("id"), Some(&Value::I64(1)));
    }
    // `join!` starts both before either ends.
    assert!(reviews.start_time_unix_nano < stock.end_time_unix_nano);
    assert!(stock.start_time_unix_nano < reviews.end_time_unix_nano);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_reindex_continues_the_request_trace() {
    let p = pipeline().await;
    let answer = post_json(&p.app(), "/books/2/reindex", "").await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let reindex = p.wait_for_span("Store::reindex").await;
    let spans = p.spans().await;
    let server = one(&spans, "POST /books/{id}/reindex");
    assert_eq!(reindex.parent_span_id, server.context.span_id);
    assert_eq!(reindex.context.trace_id, server.context.trace_id);
    assert_eq!(reindex.attribute("id"), Some(&Value::I64(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_is_recorded_on_the_route_span_without_error_status() {
    let p = pipeline().await;
    assert_eq!(
        get(&p.app(), "/books/99").await.status,
        StatusCode::NOT_FOUND
    );
    let spans = p.spans().await;
    let server = one(&spans, "GET /books/{id}");
    assert_eq!(
        server.attribute("http.response.status_code"),
        Some(&Value::I64(404))
    );
    assert_eq!(
        server.attribute("url.path"),
        Some(&Value::from("/books/99"))
    );
    assert!(
        !server.status.is_error(),
        "a client error is not a server error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_not_by_path() {
    let p = pipeline().await;
    let app = p.app();
    let series = "http_server_request_duration_seconds_count{http_request_method=\"GET\",\
                  http_route=\"/books/{id}\",http_response_status_code=\"200\"}";
    let viewed = "bookstore_books_viewed_total{genre=\"fiction\"}";
    let before = p.scrape(&app).await;
    for path in ["/books/1", "/books/1", "/books/2"] {
        assert_eq!(get(&app, path).await.status, StatusCode::OK);
    }
    let after = p.scrape(&app).await;
    assert_eq!(
        value(&after, series) - value(&before, series),
        3.0,
        "three requests on the route:\n{after}"
    );
    assert_eq!(
        value(&after, viewed) - value(&before, viewed),
        2.0,
        "Dune is fiction"
    );
    assert!(
        !after.contains("http_route=\"/books/1\""),
        "never the raw path:\n{after}"
    );
    // `/metrics` itself is not traced, so scrapes do not count as requests.
    assert!(!after.contains("http_route=\"/metrics\""), "{after}");
    p.spans().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_echoes_in_a_connection_span() {
    let p = pipeline().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = p.app();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    use tokio_tungstenite::tungstenite::Message;
    for text in ["hello", "again"] {
        ws.send(Message::Text(text.into())).await.unwrap();
        let reply = ws.next().await.unwrap().unwrap();
        assert_eq!(reply.into_text().unwrap().as_str(), text);
    }
    ws.close(None).await.unwrap();
    while ws.next().await.is_some() {} // until the server's close reply

    let connection = p.wait_for_span("WebSocket connection").await;
    server.abort();
    let spans = p.spans().await;
    let upgrade = one(&spans, "GET /ws");
    assert_eq!(connection.parent_span_id, upgrade.context.span_id);
    let events: Vec<_> = connection.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(events, ["connect", "disconnect"]);
}

/// A path no route takes still goes through the layer (the fallback sits inside it):
/// a span, the response's trace context and request id, and a request counted under
/// the route label `unmatched`, never under the raw path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_path_is_traced_and_measured() {
    let p = pipeline().await;
    let app = p.app();
    let series = "http_server_request_duration_seconds_count{http_request_method=\"GET\",\
                  http_route=\"unmatched\",http_response_status_code=\"404\"}";
    let before = p.scrape(&app).await;
    let answer = get(&app, "/no/such/page").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer.json::<bookstore::ErrorBody>().error,
        "no route for /no/such/page"
    );
    let timing = answer.headers["server-timing"].to_str().unwrap().to_owned();
    assert!(timing.starts_with("trace;desc=00-"), "{timing}");
    assert!(answer.headers.contains_key("x-request-id"));
    let after = p.scrape(&app).await;
    assert_eq!(
        value(&after, series) - value(&before, series),
        1.0,
        "{after}"
    );
    assert!(
        !after.contains("/no/such/page"),
        "never the raw path:\n{after}"
    );
    let spans = p.spans().await;
    let server = spans
        .iter()
        .find(|s| {
            s.kind == SpanKind::Server
                && s.attribute("url.path") == Some(&Value::from("/no/such/page"))
        })
        .expect("a server span for the unknown path");
    assert_eq!(server.name, "GET");
    assert_eq!(
        server.attribute("http.response.status_code"),
        Some(&Value::I64(404))
    );
    assert!(
        timing.contains(&server.context.span_id.to_string()),
        "{timing}"
    );
}
