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
    async fn app(&self) -> axum::Router {
        common::app(self.prometheus.clone()).await
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
    let answer = get(&p.app().await, "/books?q=dune").await;
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

/// The handler looks the book up, then runs the call to the reviews service and the
/// stock query under `join!`: all three are children of the request's span (each
/// `join!` branch is current only while it is polled, so neither becomes the other's
/// parent), and the two under `join!` overlap.
///
/// On a current-thread runtime, so that the overlap is certain: there, the call to the
/// reviews service cannot be answered while `join!`'s first poll runs (the answer needs
/// the reviews service's task and the HTTP connection's task, which run on this thread
/// only after that poll returns). With more worker threads, a thread preempted in the
/// middle of that poll (a loaded machine) can find the answer already there, and the
/// call's span end before the stock query's first poll starts its own.
#[tokio::test(flavor = "current_thread")]
async fn the_lookups_are_siblings_under_the_request_span() {
    let p = pipeline().await;
    assert_eq!(
        get(&p.app().await, "/books/1/reviews").await.status,
        StatusCode::OK
    );
    let spans = p.spans().await;
    let server = one(&spans, "GET /books/{id}/reviews");
    let book = one(&spans, "SELECT books");
    let reviews = one(&spans, "GET");
    let stock = one(&spans, "SELECT stock");
    for lookup in [book, reviews, stock] {
        assert_eq!(lookup.kind, SpanKind::Client);
        assert_eq!(lookup.parent_span_id, server.context.span_id);
    }
    assert_eq!(stock.attribute("book.id"), Some(&Value::I64(1)));
    // Deterministic, not a matter of timing: the first poll of `join!` polls the call
    // first, which starts its span and returns Pending (see above), then the stock query,
    // which starts its span (and ends it, at that poll or a later one). So the call's span
    // starts before the query's ends, and the query's starts before the call's ends.
    assert!(
        reviews.start_time_unix_nano < stock.end_time_unix_nano,
        "{reviews:?}\n{stock:?}"
    );
    assert!(
        stock.start_time_unix_nano < reviews.end_time_unix_nano,
        "{reviews:?}\n{stock:?}"
    );
}

/// `GET /books/{id}/reviews` calls the reviews service over HTTP: the bookstore's server
/// span (where the handler runs), the client span of the call (`reqwest` through
/// `ClientTraceLayer`), and the reviews service's server span, which continues the
/// client span from its `traceparent`, are one trace; the service's query is under its
/// own server span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_call_to_the_reviews_service_is_one_trace_across_the_two_services() {
    let p = pipeline().await;
    let answer = get(&p.app().await, "/books/1/reviews").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body: bookstore::BookReviews = answer.json();
    assert_eq!(body.reviews.len(), 2);
    assert_eq!(body.in_stock, 12);
    let spans = p.spans().await;
    let handler = one(&spans, "GET /books/{id}/reviews");
    let client = one(&spans, "GET");
    let callee = one(&spans, "GET /reviews/{book_id}");
    let query = one(&spans, "SELECT reviews");

    let trace = handler.context.trace_id;
    for span in [client, callee, query] {
        assert_eq!(
            span.context.trace_id, trace,
            "{} in the handler's trace",
            span.name
        );
    }
    assert_eq!(handler.kind, SpanKind::Server);
    assert_eq!(client.kind, SpanKind::Client);
    assert_eq!(callee.kind, SpanKind::Server);
    assert_eq!(
        client.parent_span_id, handler.context.span_id,
        "the client span is a child of the handler's span"
    );
    assert_eq!(
        callee.parent_span_id, client.context.span_id,
        "the reviews service continues the client span"
    );
    assert!(callee.parent_is_remote, "through the traceparent header");
    assert_eq!(query.parent_span_id, callee.context.span_id);

    assert_eq!(
        client.attribute("server.address"),
        Some(&Value::from("127.0.0.1"))
    );
    assert_eq!(
        client.attribute("http.response.status_code"),
        Some(&Value::I64(200))
    );
    let Some(Value::String(url)) = client.attribute("url.full") else {
        panic!("no url.full on {client:?}");
    };
    assert!(url.ends_with("/reviews/1"), "{url}");
    assert_eq!(
        callee.attribute("http.route"),
        Some(&Value::from("/reviews/{book_id}"))
    );
}

/// The reindex job and the recommendations job it enqueues are one trace with the
/// request: in process (no broker), each job's `process` span is the child of the
/// span that enqueued it (the channel records no `send` span), the jobs' database spans
/// inside; and each queue's messaging metrics are on `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_jobs_continue_the_request_trace() {
    let p = pipeline().await;
    let app = p.app().await;
    let answer = post_json(&app, "/books/2/reindex", "").await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    p.wait_for_span("process bookstore.jobs.recommendations")
        .await;
    let metrics = p.scrape(&app).await;
    let spans = p.spans().await;
    let server = one(&spans, "POST /books/{id}/reindex");
    let chain = [
        "process bookstore.jobs.reindex",
        "process bookstore.jobs.recommendations",
    ];
    let mut parent = server;
    for name in chain {
        let span = one(&spans, name);
        assert_eq!(span.parent_span_id, parent.context.span_id, "{name}");
        assert_eq!(span.context.trace_id, server.context.trace_id, "{name}");
        parent = span;
    }
    let reindex = one(&spans, "Store::reindex");
    assert_eq!(
        reindex.parent_span_id,
        one(&spans, "process bookstore.jobs.reindex")
            .context
            .span_id
    );
    assert_eq!(reindex.attribute("id"), Some(&Value::I64(2)));
    let process = one(&spans, "process bookstore.jobs.recommendations");
    assert!(spans
        .iter()
        .any(|s| s.name == "SELECT books" && s.parent_span_id == process.context.span_id));
    for queue in ["bookstore.jobs.reindex", "bookstore.jobs.recommendations"] {
        for series in [
            format!(
                "messaging_client_sent_messages_total{{messaging_system=\"tokio\",\
                 messaging_destination_name=\"{queue}\",messaging_operation_name=\"send\",error_type=\"\",\
                 server_address=\"\",server_port=\"\"}}"
            ),
            format!(
                "messaging_process_duration_seconds_count{{messaging_system=\"tokio\",\
                 messaging_destination_name=\"{queue}\",messaging_operation_name=\"process\",\
                 messaging_consumer_group_name=\"\",error_type=\"\",server_address=\"\",server_port=\"\"}}"
            ),
        ] {
            assert!(
                metrics.lines().any(|l| l.starts_with(&series)),
                "{series} not in\n{metrics}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_is_recorded_on_the_route_span_without_error_status() {
    let p = pipeline().await;
    assert_eq!(
        get(&p.app().await, "/books/99").await.status,
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
    let app = p.app().await;
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

/// The pool's metrics, OpenTelemetry's `db.client.connection.*` in Prometheus form, are
/// read at each drain tick and served on `/metrics`, labelled with the store's pool; each
/// query's duration is in `db_client_operation_duration_seconds` (`db.client.operation.duration`),
/// by operation and collection, with the conventions' advised buckets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_database_pool_by_name_and_the_queries_by_operation() {
    use bookstore::metrics::{
        DB_CONNECTIONS, DB_CONNECTION_IDLE_MIN, DB_CONNECTION_MAX, DB_CONNECTION_PENDING_REQUESTS,
        DB_CONNECTION_TIMEOUTS, DB_CONNECTION_WAIT_TIME, DB_OPERATION_DURATION,
    };
    let p = pipeline().await;
    let store = bookstore::Store::seeded().await.unwrap();
    let pool = format!("db_client_connection_pool_name=\"{}\"", store.name());
    let app = bookstore::app(
        store.clone(),
        telem_axum::MetricsEndpoint::new(p.prometheus.clone()),
    )
    .await
    .unwrap();
    // Process-wide: earlier tests' queries are in it too.
    let select_books = format!(
        "{DB_OPERATION_DURATION}_count{{db_system_name=\"sqlite\",db_operation_name=\"SELECT\",\
         db_collection_name=\"books\",error_type=\"\"}}"
    );
    let queries_before = value(&p.scrape(&app).await, &select_books);
    // One query, so one acquire: the seed does not go through the metered pool.
    assert_eq!(get(&app, "/books/1").await.status, StatusCode::OK);
    // sqlx gives the query's connection back in a task of its own: scrape (a bounded
    // number of times) until no connection is in use. A store that kept a connection
    // would never get there.
    let used_series = format!("{DB_CONNECTIONS}{{{pool},db_client_connection_state=\"used\"}}");
    let mut text = p.scrape(&app).await;
    for _ in 0..1000 {
        if value(&text, &used_series) == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        text = p.scrape(&app).await;
    }
    assert_eq!(
        value(&text, &select_books) - queries_before,
        1.0,
        "one SELECT books query:\n{text}"
    );
    assert!(
        text.contains(&format!("# TYPE {DB_OPERATION_DURATION} histogram\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("# HELP {DB_OPERATION_DURATION} ")),
        "{text}"
    );
    let buckets: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{DB_OPERATION_DURATION}_bucket{{")))
        .filter(|l| {
            l.contains("db_collection_name=\"books\"") && l.contains("db_operation_name=\"SELECT\"")
        })
        .filter_map(|l| l.split("le=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(
        buckets,
        ["0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1.0", "5.0", "10.0", "+Inf"],
        "the advised bounds:\n{text}"
    );
    for (name, kind) in [
        (DB_CONNECTIONS, "gauge"),
        (DB_CONNECTION_MAX, "gauge"),
        (DB_CONNECTION_IDLE_MIN, "gauge"),
        (DB_CONNECTION_PENDING_REQUESTS, "gauge"),
        (DB_CONNECTION_WAIT_TIME, "histogram"),
        (DB_CONNECTION_TIMEOUTS, "counter"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "{name} {kind}:\n{text}"
        );
        assert!(text.contains(&format!("# HELP {name} ")), "{name}:\n{text}");
    }
    let series = |name: &str, extra: &str| {
        let line_start = format!("{name}{{{pool}{extra}}}");
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{line_start} "))),
            "no {line_start} in\n{text}"
        );
        value(&text, &line_start)
    };
    // Every connection is back, so every open connection is idle: at least the one the
    // pool keeps open, at most its maximum.
    let idle = series(DB_CONNECTIONS, ",db_client_connection_state=\"idle\"");
    let used = series(DB_CONNECTIONS, ",db_client_connection_state=\"used\"");
    assert_eq!(used, 0.0, "the query's connection is back:\n{text}");
    assert!(
        (f64::from(bookstore::store::MIN_CONNECTIONS)
            ..=f64::from(bookstore::store::MAX_CONNECTIONS))
            .contains(&idle),
        "{idle} idle:\n{text}"
    );
    assert_eq!(
        series(DB_CONNECTION_MAX, ""),
        f64::from(bookstore::store::MAX_CONNECTIONS)
    );
    assert_eq!(
        series(DB_CONNECTION_IDLE_MIN, ""),
        f64::from(bookstore::store::MIN_CONNECTIONS)
    );
    assert_eq!(series(DB_CONNECTION_PENDING_REQUESTS, ""), 0.0);
    assert_eq!(series(DB_CONNECTION_TIMEOUTS, ""), 0.0);
    assert_eq!(series(&format!("{DB_CONNECTION_WAIT_TIME}_count"), ""), 1.0);
    assert!(
        text.contains(&format!(
            "{DB_CONNECTION_WAIT_TIME}_bucket{{{pool},le=\"+Inf\"}} 1"
        )),
        "{text}"
    );
    p.spans().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_echoes_in_a_connection_span() {
    let p = pipeline().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = p.app().await;
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
    let app = p.app().await;
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
