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
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue as PKeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::VecDeque;
use std::future::Future;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use telem::{Config, InMemorySink, KeyValue, MetricsConfig, Pipeline, Value};
use telem_otlp::{Compression, OtlpConfig, OtlpSink, OtlpStats, Protocol, RetryPolicy, Signal};
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

/// [`fast`], against a collector that answers the first request with 429 and
/// `Retry-After: 1`, with backoffs of a minute: within an export timeout below that (the
/// caller's, per signal), only the header lets the retry happen. Shutdown gets 4 s.
pub fn throttled_once(collector: &Collector) -> OtlpConfig {
    collector.script([Reply::Status(
        429,
        vec![("retry-after", "1".into())],
        Vec::new(),
    )]);
    let minute = Duration::from_secs(60);
    fast(collector.endpoint())
        .with_shutdown_timeout(Duration::from_secs(4))
        .with_retry(
            RetryPolicy::new()
                .with_initial_backoff(minute)
                .with_max_backoff(minute),
        )
}

/// [`fast`], against a collector that never answers: requests time out after 100 ms,
/// batches of 10 are given up on after 250 ms, queues hold 20, shutdown gets 500 ms (the
/// spans' and the log records' settings alike, as in [`fast`]).
pub fn silent(collector: &Collector) -> OtlpConfig {
    collector.always(Reply::Hang);
    small_queues(fast(collector.endpoint()))
        .with_timeout(Duration::from_millis(100))
        .with_export_timeout(Duration::from_millis(250))
        .with_logs_export_timeout(Duration::from_millis(250))
        .with_shutdown_timeout(Duration::from_millis(500))
}

/// `config` with queues of 20 and batches of 10, spans and log records alike.
pub fn small_queues(config: OtlpConfig) -> OtlpConfig {
    config
        .with_max_queue_size(20)
        .with_logs_max_queue_size(20)
        .with_max_export_batch_size(10)
        .with_logs_max_export_batch_size(10)
}

/// A protobuf sink to `collector`, whose first answer is a protobuf partial success
/// rejecting 2 items (`Export{Trace,Logs}ServiceResponse { partial_success { rejected_*:
/// 2 } }`: the same bytes for both signals).
pub fn partial_success_in_protobuf(collector: &Collector) -> OtlpSink {
    collector.script([Reply::Status(
        200,
        vec![("content-type", "application/x-protobuf".into())],
        vec![0x0a, 0x02, 0x08, 0x02],
    )]);
    OtlpSink::new(fast(collector.endpoint()).with_protocol(Protocol::HttpProtobuf)).unwrap()
}

/// That every item of `signal` the exporter received is sent, rejected, dropped, failed
/// or still queued.
pub fn assert_accounted(s: &OtlpStats, signal: Signal) {
    let (received, outcomes) = match signal {
        Signal::Traces => (
            s.spans_received,
            [
                s.spans_sent,
                s.spans_rejected,
                s.spans_dropped,
                s.spans_failed,
                s.spans_queued,
            ],
        ),
        Signal::Logs => (
            s.logs_received,
            [
                s.logs_sent,
                s.logs_rejected,
                s.logs_dropped,
                s.logs_failed,
                s.logs_queued,
            ],
        ),
        other => panic!("{other:?} has no item counts"),
    };
    assert_eq!(
        received,
        outcomes.iter().sum::<u64>(),
        "every item ({signal:?}) is accounted for: {s:?}"
    );
}

/// The exporter's self-metric `name`, at `label`=`value`, in the global registry.
pub fn self_metric(name: &str, label: &str, value: &str) -> u64 {
    telem::metrics::global()
        .counter_family(name, &[label])
        .unwrap()
        .get(&[value])
        .unwrap()
        .get()
}

/// The exporter the field-by-field tests (`traces.rs`, `logs.rs`) send with: to
/// `collector`, in `protocol` and `compression`, as `books-api` 1.2.3, with a header
/// [`check_every_encoding`] looks for.
pub fn books_api(
    collector: &Collector,
    protocol: Protocol,
    compression: Compression,
) -> OtlpConfig {
    OtlpConfig::new()
        .with_endpoint(collector.endpoint())
        .with_protocol(protocol)
        .with_compression(compression)
        .with_service_name("books-api")
        .with_service_version("1.2.3")
        .with_header("x-api-key", "secret")
}

/// JSON and protobuf (with the `protobuf` feature), each plain and gzip.
pub fn encodings() -> Vec<(Protocol, Compression)> {
    let mut protocols = vec![Protocol::HttpJson];
    if cfg!(feature = "protobuf") {
        protocols.push(Protocol::HttpProtobuf);
    }
    protocols
        .into_iter()
        .flat_map(|p| [(p, Compression::None), (p, Compression::Gzip)])
        .collect()
}

/// Exports with `export` (an exporter from [`books_api`]) in every encoding, and checks
/// each time the first request: its encoding (content type, content encoding, a gzip body
/// smaller than what it inflates to) and the configured header; then what the collector
/// got with `check` (what was handed over, the requests), and the spelling of a JSON
/// request with `check_json`.
pub async fn check_every_encoding<T, F>(
    export: impl Fn(Protocol, Compression) -> F,
    check: impl Fn(&[T], &[Received]),
    check_json: impl Fn(&Received),
) where
    F: Future<Output = (Vec<T>, Vec<Received>)>,
{
    for (protocol, compression) in encodings() {
        eprintln!("{protocol:?}, compression {compression:?}");
        let (sent, received) = export(protocol, compression).await;
        let request = &received[0];
        assert_eq!(request.content_type, protocol.content_type());
        if compression == Compression::Gzip {
            assert_eq!(request.content_encoding.as_deref(), Some("gzip"));
            assert!(request.compressed_len < request.body.len());
        } else {
            assert_eq!(request.content_encoding, None);
        }
        assert_eq!(
            request.headers.get("x-api-key").unwrap(),
            "secret",
            "configured headers are sent"
        );
        check(&sent, &received);
        if protocol == Protocol::HttpJson {
            check_json(request);
        }
    }
}

/// That the requests hold at most `max` items each (`items` lists a request's), and
/// `total` items in all, each exactly once.
pub fn assert_batched(
    received: &[Received],
    items: fn(&Received) -> Vec<String>,
    max: usize,
    total: usize,
) {
    let sizes: Vec<usize> = received.iter().map(|r| items(r).len()).collect();
    assert!(sizes.iter().all(|n| *n <= max), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), total);
    let mut all: Vec<String> = received.iter().flat_map(items).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), total, "every item exactly once");
}

/// A value decoded with the independent OTLP types, as ours.
pub fn value(v: &AnyValue) -> Value {
    match v.value.as_ref().unwrap() {
        any_value::Value::StringValue(s) => Value::from(s.clone()),
        any_value::Value::IntValue(i) => Value::I64(*i),
        any_value::Value::DoubleValue(d) => Value::F64(*d),
        any_value::Value::BoolValue(b) => Value::Bool(*b),
        any_value::Value::ArrayValue(a) => Value::Array(a.values.iter().map(value).collect()),
        other => panic!("unexpected value {other:?}"),
    }
}

/// The resource attribute `key`, decoded as ours.
pub fn resource_attribute(resource: Option<&Resource>, key: &str) -> Option<Value> {
    attributes(&resource.unwrap().attributes)
        .into_iter()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value)
}

/// Attributes decoded with the independent OTLP types, as ours, in order.
pub fn attributes(kvs: &[PKeyValue]) -> Vec<KeyValue> {
    kvs.iter()
        .map(|kv| KeyValue::new(kv.key.clone(), value(kv.value.as_ref().unwrap())))
        .collect()
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

    /// `code` with a JSON body.
    pub fn json(code: u16, body: &[u8]) -> Self {
        Reply::Status(
            code,
            vec![("content-type", "application/json".into())],
            body.to_vec(),
        )
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

    /// The body as `M`: JSON with `from_json` (`serde_json::from_slice`, passed in since
    /// its bound names `serde`, not a dependency here), protobuf with prost.
    fn decode<'a, M: prost::Message + Default>(
        &'a self,
        from_json: fn(&'a [u8]) -> serde_json::Result<M>,
    ) -> M {
        if self.is_json() {
            from_json(&self.body).unwrap()
        } else {
            assert_eq!(self.content_type, "application/x-protobuf");
            M::decode(self.body.as_slice()).unwrap()
        }
    }

    pub fn traces(&self) -> ExportTraceServiceRequest {
        self.decode(serde_json::from_slice)
    }

    pub fn metrics(&self) -> ExportMetricsServiceRequest {
        self.decode(serde_json::from_slice)
    }

    pub fn logs(&self) -> ExportLogsServiceRequest {
        self.decode(serde_json::from_slice)
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
