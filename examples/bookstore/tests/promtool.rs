//! The bookstore's `/metrics`, as a scrape gets it, checked by Prometheus's own linter:
//! `promtool check metrics` (names, suffixes, units, help texts). Needs `promtool`
//! (Debian's `prometheus` package); `.ci/run` installs it and runs this test with
//! `--ignored`.

use std::sync::Arc;
use telem::{Config, PrometheusSink};
use telem_axum::testing::send;
use telem_axum::MetricsEndpoint;

#[path = "../../../telemetry/tests/common/promtool.rs"]
mod promtool;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs promtool (Debian's prometheus package), run by .ci/run"]
async fn promtool_accepts_the_bookstores_metrics() {
    // The only pipeline of this test binary.
    let prometheus = Arc::new(PrometheusSink::new());
    let pipeline = telem::init(Config::new().with_sink(prometheus.clone())).expect("a pipeline");
    let store = bookstore::Store::seeded().await.expect("a seeded store");
    let app = bookstore::app(store, MetricsEndpoint::new(prometheus))
        .await
        .expect("the reviews service starts");
    // Every kind of answer, so every family has series: the business metrics, the HTTP
    // metrics of both services, the pool's and the queries' durations.
    for uri in [
        "/books",
        "/books?q=dune",
        "/books/1",
        "/books/1/reviews",
        "/books/999",
    ] {
        let request = http::Request::get(uri)
            .body(axum::body::Body::empty())
            .expect("a request");
        send(&app, request).await;
    }
    // A reindex: the background jobs' messaging metrics, once both jobs are done.
    let reindex = http::Request::post("/books/1/reindex")
        .body(axum::body::Body::empty())
        .expect("a request");
    assert_eq!(send(&app, reindex).await.status, 202);
    let mut scrape = None;
    for _ in 0..500 {
        pipeline.drain_now().await;
        let request = http::Request::get("/metrics")
            .body(axum::body::Body::empty())
            .expect("a request");
        let answer = send(&app, request).await;
        assert_eq!(answer.status, 200);
        let done = String::from_utf8_lossy(&answer.body).lines().any(|l| {
            l.starts_with("messaging_process_duration_seconds_count{")
                && l.contains("bookstore.jobs.recommendations")
        });
        scrape = Some(answer);
        if done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let scrape = scrape.expect("a scrape");
    let text = String::from_utf8_lossy(&scrape.body);
    for name in [
        "db_client_connections",
        "db_client_connection_max",
        "db_client_connection_idle_min",
        "db_client_connection_pending_requests",
        "db_client_connection_wait_time_seconds",
        "db_client_connection_timeouts_total",
        "db_client_operation_duration_seconds",
        "http_server_request_duration_seconds",
        "bookstore_books_viewed_total",
        "messaging_client_sent_messages_total",
        "messaging_client_consumed_messages_total",
        "messaging_process_duration_seconds",
        "telem_messaging_process_retries_total",
        "telem_messaging_process_dead_letters_total",
    ] {
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}:\n{text}");
    }
    let (ok, report) = promtool::check_metrics(&scrape.body);
    pipeline.shutdown().await;
    assert!(ok, "promtool refused:\n{report}\n---\n{text}");
}
