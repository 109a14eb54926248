//! End to end with a real Prometheus server: the bookstore serves requests, Prometheus
//! (Debian's `prometheus` package) scrapes its `/metrics` on loopback, and its HTTP API
//! must report the target up and the request count for the route.
//!
//! Cross-crate: the bookstore (example-bookstore), `telemetry`'s exposition and
//! `telem-axum`'s `/metrics`.
//!
//! `cargo test -p telem-tests --test prometheus_e2e -- --ignored`
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use serde_json::Value as Json;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use telem::{Config, PrometheusSink};
use telem_axum::MetricsEndpoint;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const PROMETHEUS: &str = "/usr/bin/prometheus";
const REQUESTS: usize = 25;
/// Polls of Prometheus's API, 500 ms apart: up to a minute for each wait.
const POLLS: usize = 120;
const POLL_EVERY: Duration = Duration::from_millis(500);

/// A running Prometheus, killed when dropped (also when the test fails).
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Prometheus {
    fn start(dir: &Path, scrape: SocketAddr) -> Self {
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: bookstore\n    static_configs:\n      - targets: ['{scrape}']\n"
            ),
        )
        .unwrap();
        let addr = free_port();
        let log = dir.join("prometheus.log");
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {PROMETHEUS}: {e}; install Debian's prometheus package \
                     (apt-get install prometheus), as .ci/run does"
                )
            });
        Self { child, addr, log }
    }

    /// Panics with Prometheus's log if it has exited.
    fn check_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "prometheus exited ({status}):\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }

    /// `GET /api/v1/{path}` as JSON, or `None` while Prometheus is not answering yet.
    async fn api(&mut self, path: &str) -> Option<Json> {
        self.check_running();
        let (status, body) = http_get(self.addr, &format!("/api/v1/{path}")).await.ok()?;
        (status == 200).then(|| serde_json::from_slice(&body).unwrap())
    }

    /// Polls `path` until `done` finds what it wants; panics with the last answer after [`POLLS`].
    async fn poll<T>(&mut self, path: &str, done: impl Fn(&Json) -> Option<T>) -> T {
        let mut last = None;
        for _ in 0..POLLS {
            if let Some(answer) = self.api(path).await {
                if let Some(found) = done(&answer) {
                    return found;
                }
                last = Some(answer);
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
        panic!(
            "gave up on /api/v1/{path} after {POLLS} polls; last answer: {last:?}\nprometheus log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free on loopback now (the listener is closed again at once).
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A minimal `GET` (HTTP/1.0, so no chunked answer): status and body.
async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer");
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let status = std::str::from_utf8(&answer[..head_end])
        .ok()
        .and_then(|head| head.split(' ').nth(1)?.parse().ok())
        .ok_or_else(bad)?;
    Ok((status, answer[head_end + 4..].to_vec()))
}

/// Percent-encodes a query parameter value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's prometheus package; .ci/run installs it"]
async fn prometheus_scrapes_the_request_count_of_the_route() {
    let sink = Arc::new(PrometheusSink::new());
    let pipeline = telem::init(
        Config::new()
            .with_drain_interval(Duration::from_millis(100))
            .with_sink(sink.clone()),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bookstore = listener.local_addr().unwrap();
    let store = bookstore::Store::seeded().await.unwrap();
    let app = bookstore::app(store, MetricsEndpoint::new(sink))
        .await
        .unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    for _ in 0..REQUESTS {
        let (status, body) = http_get(bookstore, "/books/1").await.unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }

    let dir = tempfile::tempdir().unwrap();
    let mut prometheus = Prometheus::start(dir.path(), bookstore);
    let scrape_url = format!("http://{bookstore}/metrics");
    prometheus
        .poll("targets", |answer| {
            let target = answer["data"]["activeTargets"]
                .as_array()?
                .iter()
                .find(|t| t["scrapeUrl"] == scrape_url.as_str())?;
            (target["health"] == "up").then_some(())
        })
        .await;

    let query =
        encode(r#"sum(http_server_request_duration_seconds_count{http_route="/books/{id}"})"#);
    let count = prometheus
        .poll(&format!("query?query={query}"), |answer| {
            let value = answer["data"]["result"].get(0)?["value"][1].as_str()?;
            let value: f64 = value.parse().ok()?;
            // Scrapes before the drain rendered the last requests may see fewer.
            (value >= REQUESTS as f64).then_some(value)
        })
        .await;
    assert_eq!(count, REQUESTS as f64);

    // The route label, never the raw path.
    let raw = encode(r#"http_server_request_duration_seconds_count{http_route="/books/1"}"#);
    let none = prometheus.api(&format!("query?query={raw}")).await.unwrap();
    assert_eq!(none["data"]["result"], serde_json::json!([]), "{none}");

    drop(prometheus);
    server.abort();
    pipeline.shutdown().await;
}
