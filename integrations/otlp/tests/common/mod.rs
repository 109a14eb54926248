//! A fake OTLP/HTTP collector on 127.0.0.1 that records every request, answers from a
//! script, and decodes bodies with independent OTLP types (`opentelemetry-proto`:
//! prost for protobuf, its serde support for JSON).
#![allow(dead_code, unreachable_pub)]
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use std::collections::VecDeque;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use telem::{Config, InMemorySink, MetricsConfig, Pipeline};
use telem_otlp::{OtlpConfig, OtlpSink, Protocol, RetryPolicy};
use tokio::net::TcpListener;

/// One pipeline per process at a time (tests of a file run in parallel threads).
pub static ONE_PIPELINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A pipeline that drains often and takes no metric snapshots unless asked.
pub fn pipeline_config() -> Config {
    Config::new()
        .with_drain_interval(Duration::from_millis(10))
        .with_metrics(MetricsConfig::new().with_enabled(false))
}

pub fn start(config: Config) -> Pipeline {
    telem::init(config).unwrap()
}

/// Quick retries, short timeouts, short schedule delays (spans and log records): the
/// delivery tests wait for events, and these keep the waits short.
pub fn fast(endpoint: String) -> OtlpConfig {
    OtlpConfig::new()
        .with_endpoint(endpoint)
        .with_protocol(Protocol::HttpJson)
        .with_schedule_delay(Duration::from_millis(20))
        .with_logs_schedule_delay(Duration::from_millis(20))
        .with_timeout(Duration::from_millis(500))
        .with_export_timeout(Duration::from_secs(2))
        .with_logs_export_timeout(Duration::from_secs(2))
        .with_retry(
            RetryPolicy::new()
                .with_initial_backoff(Duration::from_millis(10))
                .with_max_backoff(Duration::from_millis(40)),
        )
}

/// The exporter the metrics tests use: to `collector`, as `service`, without
/// self-metrics; only flushes (`drain_now`, `shutdown`) send metrics.
pub fn metrics_exporter(collector: &Collector, protocol: Protocol, service: &str) -> OtlpConfig {
    OtlpConfig::new()
        .with_endpoint(collector.endpoint())
        .with_protocol(protocol)
        .with_service_name(service)
        .with_metric_export_interval(Duration::from_secs(3600))
        .with_self_metrics(false)
}

/// A pipeline whose metric snapshots hold only the test's own instruments (no
/// built-in collectors), exported to `otlp`.
pub fn start_metrics(otlp: &OtlpSink) -> Pipeline {
    start(
        pipeline_config()
            .with_metrics(
                MetricsConfig::new()
                    .with_process(false)
                    .with_tokio_runtime(false)
                    .with_pipeline(false),
            )
            .with_sink(otlp.clone()),
    )
}

/// [`start`] with an in-memory sink beside the others, to compare what the collector
/// got with everything the pipeline exported.
pub fn start_with_memory(config: Config) -> (Pipeline, Arc<InMemorySink>) {
    let memory = Arc::new(InMemorySink::new(10_000));
    (start(config.with_sink(memory.clone())), memory)
}

/// How the collector answers the next request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A status, headers and a body.
    Status(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Never answers (the connection stays open).
    Hang,
}

impl Reply {
    pub fn status(code: u16) -> Self {
        Reply::Status(code, Vec::new(), Vec::new())
    }
}

/// A request as the collector saw it, body decompressed.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub content_type: String,
    pub content_encoding: Option<String>,
    pub headers: http::HeaderMap,
    pub compressed_len: usize,
    pub body: Vec<u8>,
}

impl Received {
    pub fn is_json(&self) -> bool {
        self.content_type == "application/json"
    }

    pub fn traces(&self) -> ExportTraceServiceRequest {
        if self.is_json() {
            serde_json::from_slice(&self.body).unwrap()
        } else {
            assert_eq!(self.content_type, "application/x-protobuf");
            ExportTraceServiceRequest::decode(self.body.as_slice()).unwrap()
        }
    }

    pub fn metrics(&self) -> ExportMetricsServiceRequest {
        if self.is_json() {
            serde_json::from_slice(&self.body).unwrap()
        } else {
            assert_eq!(self.content_type, "application/x-protobuf");
            ExportMetricsServiceRequest::decode(self.body.as_slice()).unwrap()
        }
    }

    pub fn logs(&self) -> ExportLogsServiceRequest {
        if self.is_json() {
            serde_json::from_slice(&self.body).unwrap()
        } else {
            assert_eq!(self.content_type, "application/x-protobuf");
            ExportLogsServiceRequest::decode(self.body.as_slice()).unwrap()
        }
    }

    /// The bodies of the log records, in order (string bodies only).
    pub fn log_bodies(&self) -> Vec<String> {
        use opentelemetry_proto::tonic::common::v1::any_value::Value;
        self.logs()
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .map(|r| match r.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(Value::StringValue(s)) => s.clone(),
                other => panic!("not a string body: {other:?}"),
            })
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn span_count(&self) -> usize {
        self.traces()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum()
    }

    pub fn span_names(&self) -> Vec<String> {
        self.traces()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| s.name.clone())
            .collect()
    }
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    /// Answer for requests once the script is used up; `None`: 200.
    fallback: Mutex<Option<Reply>>,
}

/// The fake collector. Stops when dropped.
pub struct Collector {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback address nothing listens on (yet).
pub async fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
}

impl Collector {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    pub async fn start_on(addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let served = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = served.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next requests with `replies`, in order, then with 200.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.script.lock().unwrap().extend(replies);
    }

    /// Answers every request past the script with `reply`.
    pub fn always(&self, reply: Reply) {
        *self.state.fallback.lock().unwrap() = Some(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub fn received_on(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Waits (at most 20 s) until `n` requests arrived on `path`.
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Received> {
        wait_until(&format!("{n} requests on {path}"), || {
            self.received_on(path).len() >= n
        })
        .await;
        self.received_on(path)
    }
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let raw = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_encoding = header("content-encoding");
    let body = if content_encoding.as_deref() == Some("gzip") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw.to_vec()
    };
    let content_type = header("content-type").unwrap_or_default();
    state.received.lock().unwrap().push(Received {
        path: parts.uri.path().to_owned(),
        content_type: content_type.clone(),
        content_encoding,
        headers: parts.headers.clone(),
        compressed_len: raw.len(),
        body,
    });
    let reply = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or_else(|| state.fallback.lock().unwrap().clone());
    match reply {
        Some(Reply::Hang) => std::future::pending().await,
        Some(Reply::Status(code, headers, body)) => {
            let mut response = Response::builder().status(code);
            for (name, value) in headers {
                response = response.header(name, value);
            }
            response.body(Full::new(Bytes::from(body))).unwrap()
        }
        None => {
            let body: &[u8] = if content_type == "application/json" {
                b"{}"
            } else {
                b""
            };
            Response::builder()
                .status(200)
                .header("content-type", content_type)
                .body(Full::new(Bytes::from_static(body)))
                .unwrap()
        }
    }
}

/// Waits until `cond` holds, polling; panics after 20 s (a bound on waiting for an
/// event, not a timing assertion).
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
