//! A real broker: NATS JetStream through async-nats, plain and through `telem-nats`, in
//! the same run, against a local nats-server:
//!
//! ```sh
//! cargo bench -p telem-benches --features peers --bench broker
//! ```
//!
//! The server is `NATS_URL`'s, or else one the benchmark starts itself (`nats-server`
//! on the `PATH`, JetStream on, a random port, its store in a temporary folder) and
//! stops at the end. With neither, it prints why and measures nothing.
//!
//! Groups, per message, with the pipeline running (spans sampled and drained into a
//! sink that discards them), inside a sampled request span:
//! - `publish`: a JetStream publish and the stream's acknowledgement (one round trip
//!   to the server). `async-nats/publish_ack` is the plain client (`publish_with_headers`
//!   with empty headers, then the acknowledgement); `async-nats/publish_ack_traceparent`
//!   the same with a fixed `traceparent` header, the bytes ours adds to the message
//!   (the server stores them too); `telemetry/publish_ack` is `telem_nats::publish`:
//!   the `send` span, its context written into the headers, the message id from the
//!   acknowledgement, and the send metrics. Ours beside `publish_ack_traceparent` is
//!   the instrumentation's cost; beside `publish_ack`, also the header's.
//! - `process`: a message from publish to acknowledgement, through a durable pull
//!   consumer: publish, wait for the stream's acknowledgement, take the next message
//!   from the consumer's `messages()` stream (one message per pull), run a handler that
//!   does nothing, acknowledge. `async-nats/...` does each step by hand, without
//!   headers and with the fixed `traceparent` (`..._traceparent`); `telemetry/...`
//!   publishes with `telem_nats::publish` and processes with
//!   `Worker::process`: the headers extracted, the `process` span (child of the
//!   `send` span) around the handler, the `ack` span, and their metrics.
//!
//! The stream keeps its messages in memory (no disk in the figures) and is a work
//! queue, so acknowledged messages leave it; each benchmark has its own stream and
//! consumer. The figures are dominated by the loopback round trips, so they show what
//! the instrumentation adds to a real publish, not its cost alone (for that, see
//! `messaging`'s `message_propagation`).
#![forbid(unsafe_code)]

use async_nats::jetstream::consumer::{pull, AckPolicy, Consumer};
use async_nats::jetstream::{self, stream};
use async_nats::HeaderMap;
use criterion::{Criterion, SamplingMode, Throughput};
use futures::StreamExt as _;
use std::future::Future;
use std::hash::{BuildHasher as _, Hasher as _};
use std::hint::black_box;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use telem::messaging::Destination;
use telem::{Config, FutureExt as _, Tracer};
use telem_benches::{pinned_runtime, start_pipeline, stop_pipeline};
use telem_nats::Worker;
use tokio::runtime::Runtime;

static TRACER: Tracer = Tracer::new("bench");

/// A `traceparent` as `telem_nats::publish` writes it: the same bytes on the wire.
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Headers with [`TRACEPARENT`].
fn traceparent() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", TRACEPARENT);
    headers
}

/// How long the benchmark waits for a server it started to be ready.
const STARTUP: Duration = Duration::from_secs(10);

/// A nats-server this benchmark started: stopped (SIGTERM, then killed if it lingers)
/// and its folder removed on drop.
struct Server {
    child: Child,
    dir: PathBuf,
}

impl Server {
    /// Starts `nats-server` with JetStream on a random port, its store and log in a
    /// fresh temporary folder; returns it with its URL once its log says it is ready.
    fn start() -> Result<(Self, String), String> {
        let dir = std::env::temp_dir().join(format!("telem-bench-nats-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-sd"])
            .arg(dir.join("store"))
            .arg("-l")
            .arg(dir.join("log"))
            .arg("--ports_file_dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("nats-server: {e}"))?;
        let ports = dir.join(format!("nats-server_{}.ports", child.id()));
        let server = Self { child, dir };
        let start = Instant::now();
        while start.elapsed() < STARTUP {
            let log = std::fs::read_to_string(server.dir.join("log")).unwrap_or_default();
            let ports = std::fs::read_to_string(&ports).unwrap_or_default();
            // {"nats":["nats://127.0.0.1:PORT"]}
            let url = ports
                .split('"')
                .find(|s| s.starts_with("nats://"))
                .map(str::to_owned);
            if let (true, Some(url)) = (log.contains("Server is ready"), url) {
                return Ok((server, url));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("nats-server not ready within {STARTUP:?}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let start = Instant::now();
        while start.elapsed() < STARTUP {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A benchmark's own work-queue stream in memory, its durable consumer, and a subject
/// both use.
struct Queue {
    js: jetstream::Context,
    consumer: Consumer<pull::Config>,
    subject: String,
    stream: String,
}

impl Queue {
    async fn new(js: &jetstream::Context, name: &str) -> Self {
        let id = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let prefix = format!("bench_{name}_{id:x}");
        let stream = js
            .create_stream(stream::Config {
                name: prefix.to_uppercase(),
                subjects: vec![format!("{prefix}.>")],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::Memory,
                ..Default::default()
            })
            .await
            .expect("create the benchmark's stream");
        let subject = format!("{prefix}.jobs");
        let consumer = stream
            .create_consumer(pull::Config {
                durable_name: Some("worker".into()),
                filter_subject: subject.clone(),
                ack_policy: AckPolicy::Explicit,
                max_deliver: 3,
                ..Default::default()
            })
            .await
            .expect("create the benchmark's consumer");
        Self {
            js: js.clone(),
            consumer,
            subject,
            stream: prefix.to_uppercase(),
        }
    }

    async fn delete(self) {
        let _ = self.js.delete_stream(&self.stream).await;
    }
}

/// Runs `timed` (which times its own loop) on the runtime inside a sampled request
/// span, so each message's `send` span has a parent, as it would in a service.
fn in_request(rt: &Runtime, timed: impl Future<Output = Duration>) -> Duration {
    rt.block_on(timed.in_span(TRACER.span("request").start_detached()))
}

/// 1. Publish and the stream's acknowledgement.
fn publish(c: &mut Criterion, rt: &Runtime, js: &jetstream::Context) {
    let pipeline = start_pipeline(rt, Config::new());
    let jobs = Destination::new("nats", "jobs");
    let plain = rt.block_on(Queue::new(js, "plain_publish"));
    let ours = rt.block_on(Queue::new(js, "telem_publish"));
    let mut g = c.benchmark_group("publish");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(1));
    g.bench_function("async-nats/publish_ack", |b| {
        b.iter_custom(|iters| {
            in_request(rt, async {
                let start = Instant::now();
                for _ in 0..iters {
                    js.publish_with_headers(plain.subject.clone(), HeaderMap::new(), "job".into())
                        .await
                        .expect("publish")
                        .await
                        .expect("acknowledged");
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("async-nats/publish_ack_traceparent", |b| {
        let headers = traceparent();
        b.iter_custom(|iters| {
            in_request(rt, async {
                let start = Instant::now();
                for _ in 0..iters {
                    js.publish_with_headers(plain.subject.clone(), headers.clone(), "job".into())
                        .await
                        .expect("publish")
                        .await
                        .expect("acknowledged");
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("telemetry/publish_ack", |b| {
        b.iter_custom(|iters| {
            in_request(rt, async {
                let start = Instant::now();
                for _ in 0..iters {
                    telem_nats::publish(
                        js,
                        &jobs,
                        ours.subject.clone(),
                        HeaderMap::new(),
                        "job".into(),
                    )
                    .await
                    .expect("acknowledged");
                }
                start.elapsed()
            })
        })
    });
    g.finish();
    stop_pipeline(rt, pipeline, "publish");
    rt.block_on(async {
        plain.delete().await;
        ours.delete().await;
    });
}

/// 2. Publish, pull, process, acknowledge.
fn process(c: &mut Criterion, rt: &Runtime, js: &jetstream::Context) {
    let pipeline = start_pipeline(rt, Config::new());
    let jobs = Destination::new("nats", "jobs").with_consumer_group("worker");
    let plain = rt.block_on(Queue::new(js, "plain_process"));
    let plain_traceparent = rt.block_on(Queue::new(js, "plain_tp_process"));
    let ours = rt.block_on(Queue::new(js, "telem_process"));
    let mut g = c.benchmark_group("process");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(1));
    for (name, queue, headers) in [
        ("async-nats/publish_process_ack", &plain, HeaderMap::new()),
        (
            "async-nats/publish_process_ack_traceparent",
            &plain_traceparent,
            traceparent(),
        ),
    ] {
        g.bench_function(name, |b| {
            let mut messages = rt
                .block_on(queue.consumer.stream().max_messages_per_batch(1).messages())
                .expect("pull");
            b.iter_custom(|iters| {
                in_request(rt, async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        js.publish_with_headers(
                            queue.subject.clone(),
                            headers.clone(),
                            "job".into(),
                        )
                        .await
                        .expect("publish")
                        .await
                        .expect("acknowledged");
                        let message = messages.next().await.expect("a message").expect("pulled");
                        let (message, acker) = message.split();
                        let handled: Result<(), std::io::Error> = async move {
                            black_box(message);
                            Ok(())
                        }
                        .await;
                        handled.expect("the handler succeeds");
                        acker.ack().await.expect("ack sent");
                    }
                    start.elapsed()
                })
            })
        });
    }
    g.bench_function("telemetry/publish_process_ack", |b| {
        let worker =
            Worker::new(jobs.clone(), ours.consumer.clone()).expect("an explicit-ack consumer");
        let mut messages = rt
            .block_on(ours.consumer.stream().max_messages_per_batch(1).messages())
            .expect("pull");
        b.iter_custom(|iters| {
            in_request(rt, async {
                let start = Instant::now();
                for _ in 0..iters {
                    telem_nats::publish(
                        js,
                        &jobs,
                        ours.subject.clone(),
                        HeaderMap::new(),
                        "job".into(),
                    )
                    .await
                    .expect("acknowledged");
                    let message = messages.next().await.expect("a message").expect("pulled");
                    let outcome = worker
                        .process(message, |message| async move {
                            black_box(message);
                            Ok::<_, std::io::Error>(())
                        })
                        .await;
                    assert!(outcome.is_acked(), "{outcome:?}");
                }
                start.elapsed()
            })
        })
    });
    g.finish();
    stop_pipeline(rt, pipeline, "process");
    rt.block_on(async {
        plain.delete().await;
        plain_traceparent.delete().await;
        ours.delete().await;
    });
}

fn main() {
    let rt = pinned_runtime();
    let mut _server = None;
    let url = match std::env::var("NATS_URL") {
        Ok(url) => url,
        Err(_) => match Server::start() {
            Ok((server, url)) => {
                _server = Some(server);
                url
            }
            Err(why) => {
                println!(
                    "broker: skipped: NATS_URL is unset and no nats-server could start ({why})"
                );
                return;
            }
        },
    };
    let client = match rt.block_on(async_nats::connect(url.as_str())) {
        Ok(client) => client,
        Err(e) => {
            println!("broker: skipped: cannot connect to {url}: {e}");
            return;
        }
    };
    // The JetStream context spawns its acknowledgement task on the runtime.
    let js = rt.block_on(async { jetstream::new(client) });
    let mut c = Criterion::default().configure_from_args();
    publish(&mut c, &rt, &js);
    process(&mut c, &rt, &js);
    c.final_summary();
}
