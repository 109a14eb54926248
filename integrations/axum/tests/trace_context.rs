//! W3C Trace Context end to end, through two real servers on loopback: A (with
//! `TelemetryLayer`) calls B through `ClientTraceLayer` around hyper-util's client; B
//! echoes the `traceparent` and `tracestate` it received, and A answers with what B
//! saw. Each test sends A real headers and checks what B received and what A answered.
//!
//! Sections cited: "request" is Trace Context Level 2's HTTP Request Headers Format,
//! "response" its Trace Context Server Timing Metric Format.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use http::HeaderMap;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use telem::propagation::TraceParent;
use telem::{Config, InMemorySink, Pipeline, Sampler, SpanData, SpanKind};
use telem_axum::{ClientTraceLayer, ClientTraceService, TelemetryLayer, Trust};
use tower::{Service as _, ServiceBuilder};

/// The inbound trace: its id and the caller's span.
const T: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const P: &str = "00f067aa0ba902b7";
const TRACESTATE: &str = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";

/// One pipeline per process (`telem::init`): tests take turns.
static ONE_PIPELINE: Mutex<()> = Mutex::new(());

/// Runs a test on a runtime of its own while holding the process's one pipeline. The
/// runtime is dropped before the turn passes on, and with it the pipeline's drain task,
/// so a test that fails before shutting its pipeline down does not fail the next.
fn run<F: Future<Output = ()>>(test: impl FnOnce() -> F) {
    let _turn = ONE_PIPELINE.lock().unwrap_or_else(PoisonError::into_inner);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(test());
}

type TracedClient = ClientTraceService<Client<HttpConnector, Empty<Bytes>>>;

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// B: answers with every `traceparent` and `tracestate` line it received, one per line.
async fn echo(headers: HeaderMap) -> String {
    let mut seen = String::new();
    for name in ["traceparent", "tracestate"] {
        for value in headers.get_all(name) {
            seen.push_str(&format!("{name}: {}\n", value.to_str().unwrap()));
        }
    }
    seen
}

/// A's handler: calls B through the traced client, answers with what B saw.
async fn call_b(State((client, b)): State<(TracedClient, SocketAddr)>) -> String {
    let request = http::Request::get(format!("http://{b}/echo"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = client.clone().call(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// A's handler that sets its own `server-timing` metric.
async fn own_timing() -> ([(&'static str, &'static str); 1], &'static str) {
    ([("server-timing", "db;dur=53")], "timed")
}

/// A test's pipeline (spans into memory) and its B.
struct Setup {
    telemetry: Pipeline,
    sink: Arc<InMemorySink>,
    b: SocketAddr,
}

impl Setup {
    /// The pipeline, and a B without telemetry (what it sees is what A sent).
    async fn start() -> Self {
        Self::with_b(Router::new().route("/echo", get(echo))).await
    }

    async fn with_b(b: Router) -> Self {
        Self::with(Config::new(), b).await
    }

    /// The pipeline with `config` (spans into memory), and a B without telemetry.
    async fn with(config: Config, b: Router) -> Self {
        let sink = Arc::new(InMemorySink::new(10_000));
        let telemetry = telem::init(config.with_sink(sink.clone())).unwrap();
        Self {
            telemetry,
            sink,
            b: serve(b).await,
        }
    }

    /// An A with `layer`: `/call` calls B, `/own-timing` sets its own `server-timing`.
    async fn a(&self, layer: TelemetryLayer) -> SocketAddr {
        let client = ServiceBuilder::new()
            .layer(ClientTraceLayer::new())
            .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
        serve(
            Router::new()
                .route("/call", get(call_b))
                .route("/own-timing", get(own_timing))
                .with_state((client, self.b))
                .layer(layer.with_metrics(false)),
        )
        .await
    }

    /// Every span, once the pipeline has shut down (all of a request's spans end before
    /// its response is sent, so they are all there).
    async fn spans(self) -> Vec<SpanData> {
        self.telemetry.shutdown().await;
        self.sink.spans()
    }
}

/// What A answered: its headers, and what B saw (A's body).
#[derive(Debug)]
struct Answer {
    headers: HeaderMap,
    b_traceparent: Vec<String>,
    b_tracestate: Vec<String>,
}

impl Answer {
    /// The `traceparent` B received, as its four fields.
    fn b_traceparent(&self) -> [String; 4] {
        assert_eq!(
            self.b_traceparent.len(),
            1,
            "B got one traceparent: {self:?}"
        );
        fields(&self.b_traceparent[0])
    }

    /// A's `server-timing` lines.
    fn server_timing(&self) -> Vec<String> {
        self.headers
            .get_all("server-timing")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The desc of A's one `trace` metric, as four fields.
    fn trace_metric(&self) -> [String; 4] {
        let descs: Vec<String> = self
            .server_timing()
            .iter()
            .filter_map(|line| line.strip_prefix("trace;desc=").map(str::to_owned))
            .collect();
        assert_eq!(
            descs.len(),
            1,
            "one trace metric in {:?}",
            self.server_timing()
        );
        fields(&descs[0])
    }
}

/// `00-<trace>-<span>-<flags>` as its four fields, checked for shape.
fn fields(traceparent: &str) -> [String; 4] {
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent:?}");
    let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    assert_eq!(lens, [2, 32, 16, 2], "{traceparent:?}");
    assert!(
        traceparent
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "lowercase hex: {traceparent:?}"
    );
    [0, 1, 2, 3].map(|i| parts[i].to_owned())
}

/// Sends `GET path` to `a` with `headers`, reads the whole answer.
async fn ask(a: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = http::Request::get(format!("http://{a}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let plain = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = plain
        .request(request.body(Empty::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let body = String::from_utf8(body.to_vec()).unwrap();
    let seen = |name: &str| {
        body.lines()
            .filter_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
            .collect()
    };
    Answer {
        b_traceparent: seen("traceparent"),
        b_tracestate: seen("tracestate"),
        headers: parts.headers,
    }
}

fn one<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> &'a SpanData {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.name == name && s.kind == kind)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind:?} span {name:?} among {:?}",
        spans.iter().map(|s| (&s.name, s.kind)).collect::<Vec<_>>()
    );
    found[0]
}

// request § "Mutating the traceparent Field" (update parent-id: each hop sends its own
// span as the parent), § "Random Trace ID Flag" (a continued trace keeps the flag),
// § "Mutating the tracestate Field" (unmodified members keep their order); response
// § "Trace Context Metric" (the response names the server's span).
#[test]
fn each_hop_sends_a_new_parent_id_and_keeps_trace_id_flags_and_tracestate() {
    run(|| async {
        let setup = Setup::start().await;
        let a = setup.a(TelemetryLayer::new()).await;
        let inbound = format!("00-{T}-{P}-03");
        let answer = ask(
            a,
            "/call",
            &[("traceparent", &inbound), ("tracestate", TRACESTATE)],
        )
        .await;

        let [version, trace, b_parent, flags] = answer.b_traceparent();
        assert_eq!((version.as_str(), trace.as_str()), ("00", T));
        assert_eq!(flags, "03", "sampled and random, as they came in");
        assert_eq!(
            answer.b_tracestate,
            [TRACESTATE],
            "same members, same order"
        );

        let [_, st_trace, a_server, st_flags] = answer.trace_metric();
        assert_eq!(st_trace, T);
        assert_eq!(st_flags, "03");
        assert_ne!(a_server, P, "A's server span is a new span");
        assert_ne!(b_parent, P, "B's parent is not A's caller");
        assert_ne!(
            b_parent, a_server,
            "B's parent is A's client span, not its server span"
        );
        assert!(
            answer.headers.get("traceparent").is_none(),
            "no traceparent response header by default"
        );

        // The chain as recorded: P -> A server -> A client -> B.
        let spans = setup.spans().await;
        let server = one(&spans, "GET /call", SpanKind::Server);
        let client = one(&spans, "GET", SpanKind::Client);
        assert_eq!(server.parent_span_id.to_string(), P);
        assert_eq!(server.context.span_id.to_string(), a_server);
        assert_eq!(client.parent_span_id, server.context.span_id);
        assert_eq!(client.context.span_id.to_string(), b_parent);
    });
}

// request § "Random Trace ID Flag": "If the flag is set in the incoming `traceparent`
// header, it MUST also be set in all outgoing `traceparent` headers"; response
// § "Random Trace ID Flag": a participant continuing a trace "MUST set the
// random-trace-id flag in the trace context server timing metric to the same value".
// The default sampler, parent-based, follows the caller's unsampled decision.
#[test]
fn an_unsampled_random_trace_keeps_the_random_flag_both_ways() {
    run(|| async {
        let setup = Setup::start().await;
        let a = setup.a(TelemetryLayer::new()).await;
        let answer = ask(a, "/call", &[("traceparent", &format!("00-{T}-{P}-02"))]).await;

        let [_, trace, b_parent, flags] = answer.b_traceparent();
        assert_eq!(trace, T);
        assert_ne!(b_parent, P);
        let [_, st_trace, a_server, st_flags] = answer.trace_metric();
        assert_eq!(st_trace, T);
        assert_ne!(a_server, P);
        assert_eq!(flags, "02", "B: not sampled, random kept");
        assert_eq!(st_flags, "02", "server-timing: not sampled, random kept");
        drop(setup.spans().await);
    });
}

// request § "Random Trace ID Flag": "If the flag is unset in the incoming `traceparent`
// header, it MUST also be unset in any outgoing `traceparent` headers"; response
// § "Random Trace ID Flag", the same for the metric.
#[test]
fn a_continued_trace_without_the_random_flag_does_not_gain_it() {
    run(|| async {
        let setup = Setup::start().await;
        let a = setup.a(TelemetryLayer::new()).await;
        let answer = ask(a, "/call", &[("traceparent", &format!("00-{T}-{P}-01"))]).await;

        let [_, trace, _, flags] = answer.b_traceparent();
        assert_eq!((trace.as_str(), flags.as_str()), (T, "01"));
        let [_, st_trace, _, st_flags] = answer.trace_metric();
        assert_eq!((st_trace.as_str(), st_flags.as_str()), (T, "01"));
        drop(setup.spans().await);
    });
}

// request § "Mutating the traceparent Field" (a request without `traceparent` starts a
// new trace for outbound requests) and § "Random Trace ID Flag" (a random trace id
// SHOULD set the flag: this crate's ids are wholly random); response § "Random Trace ID
// Flag" (a participant that starts a trace follows the request header's rules) and
// § "Trace Context Metric" (the metric names that trace).
#[test]
fn a_new_trace_sets_the_random_flag_and_the_response_names_it() {
    run(|| async {
        let setup = Setup::start().await;
        let a = setup.a(TelemetryLayer::new()).await;
        let answer = ask(a, "/call", &[]).await;

        let [_, trace, b_parent, flags] = answer.b_traceparent();
        let [_, st_trace, a_server, st_flags] = answer.trace_metric();
        assert_ne!(trace, "0".repeat(32));
        assert_eq!(st_trace, trace, "the response names the trace B continued");
        assert_ne!(a_server, b_parent);
        assert_eq!(st_flags, flags);
        let flags = u8::from_str_radix(&flags, 16).unwrap();
        assert_eq!(
            flags & 0x01,
            0x01,
            "sampled (the default sampler: always on)"
        );
        assert_eq!(flags & 0x02, 0x02, "random: {flags:02x}");
        drop(setup.spans().await);
    });
}

// Server Timing: `Server-Timing = #server-timing-metric`, several field lines being one
// list; response § "Trace Context Metric": the trace metric is one metric among the
// server's others, so the handler's metrics stay.
#[test]
fn the_trace_metric_is_added_beside_the_handlers_server_timing() {
    run(|| async {
        let setup = Setup::start().await;
        let a = setup.a(TelemetryLayer::new()).await;
        let answer = ask(
            a,
            "/own-timing",
            &[("traceparent", &format!("00-{T}-{P}-01"))],
        )
        .await;

        let lines = answer.server_timing();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            lines[0], "db;dur=53",
            "the handler's metric, unchanged and first"
        );
        let [_, trace, a_server, flags] = answer.trace_metric();
        assert_eq!(lines[1], format!("trace;desc=00-{T}-{a_server}-{flags}"));
        assert_eq!((trace.as_str(), flags.as_str()), (T, "01"));
        // Read as one list, the trace metric is found.
        let found =
            TraceParent::from_server_timing_lines(lines.iter().map(String::as_str)).unwrap();
        assert_eq!(found.parent_id.to_string(), a_server);
        let spans = setup.spans().await;
        let server = one(&spans, "GET /own-timing", SpanKind::Server);
        assert_eq!(server.context.span_id.to_string(), a_server);
    });
}

// request § "Mutating the tracestate Field": vendors "MAY also discard duplicate keys",
// and a key MUST NOT be present multiple times; a duplicate keeps the first member
// rather than dropping the whole header.
#[test]
fn a_duplicate_tracestate_key_is_sent_on_once() {
    run(|| async {
        let setup = Setup::start().await;
        let a = setup.a(TelemetryLayer::new()).await;
        let answer = ask(
            a,
            "/call",
            &[
                ("traceparent", &format!("00-{T}-{P}-01")),
                ("tracestate", "foo=1,foo=1"),
            ],
        )
        .await;

        let [_, trace, _, _] = answer.b_traceparent();
        assert_eq!(trace, T);
        let members: Vec<String> = answer
            .b_tracestate
            .iter()
            .flat_map(|line| line.split(','))
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect();
        assert_eq!(
            members.iter().filter(|m| *m == "foo=1").count(),
            1,
            "B's tracestate: {:?}",
            answer.b_tracestate
        );
        drop(setup.spans().await);
    });
}

// request § "Traceparent Header" defines `traceparent` on requests only; response
// § "Trace Context Server Timing Metric Format" is the response binding. So a
// `traceparent` response header is added only when asked for.
#[test]
fn a_traceparent_response_header_is_added_only_when_asked() {
    run(|| async {
        let setup = Setup::start().await;
        let a = setup
            .a(TelemetryLayer::new().with_response_traceparent(true))
            .await;
        let answer = ask(a, "/call", &[("traceparent", &format!("00-{T}-{P}-01"))]).await;

        let [_, trace, a_server, flags] = answer.trace_metric();
        assert_eq!(
            answer.headers["traceparent"],
            format!("00-{trace}-{a_server}-{flags}").as_str(),
            "the same span as the metric"
        );
        assert_eq!(trace, T);
        drop(setup.spans().await);
    });
}

// response § "Trace Context Server Timing Metric Format": emitting the metric is the
// server's choice; turned off, the response carries no trace context at all.
#[test]
fn server_timing_off_leaves_the_trace_metric_out() {
    run(|| async {
        let setup = Setup::start().await;
        let a = setup
            .a(TelemetryLayer::new().with_server_timing(false))
            .await;
        let answer = ask(
            a,
            "/own-timing",
            &[("traceparent", &format!("00-{T}-{P}-01"))],
        )
        .await;

        assert_eq!(
            answer.server_timing(),
            ["db;dur=53"],
            "the handler's own metric only"
        );
        assert!(answer.headers.get("traceparent").is_none());
        drop(setup.spans().await);
    });
}

// request § "Mutating the traceparent Field" (restart trace: a front gate regenerates
// every field); response § "trace-flags": the metric is "recommendations given by a
// server, rather than strict rules", so the client links to the server's new trace and
// keeps its own trace and decision.
#[test]
fn the_client_span_links_to_a_trace_the_callee_restarted() {
    run(|| async {
        let gate = Router::new().route("/echo", get(echo)).layer(
            TelemetryLayer::new()
                .with_trust(Trust::Ignore)
                .with_metrics(false),
        );
        let setup = Setup::with_b(gate).await;
        let a = setup.a(TelemetryLayer::new()).await;
        ask(a, "/call", &[("traceparent", &format!("00-{T}-{P}-01"))]).await;

        let spans = setup.spans().await;
        let client = one(&spans, "GET", SpanKind::Client);
        let b_server = one(&spans, "GET /echo", SpanKind::Server);
        assert_ne!(
            b_server.context.trace_id, client.context.trace_id,
            "B restarted"
        );
        assert_eq!(
            client.context.trace_id.to_string(),
            T,
            "the client's trace stays"
        );
        assert!(client.context.is_sampled());
        assert_eq!(client.links.len(), 1, "{:?}", client.links);
        let link = &client.links[0].context;
        assert_eq!(link.trace_id, b_server.context.trace_id);
        assert_eq!(link.span_id, b_server.context.span_id);
    });
}

// response § "Trace Context Server Timing Metric Format": a metric in the client's own
// trace names a span that is already the client span's child; nothing more is recorded.
#[test]
fn the_client_span_records_nothing_for_a_callee_in_its_trace() {
    run(|| async {
        let continuing = Router::new()
            .route("/echo", get(echo))
            .layer(TelemetryLayer::new().with_metrics(false));
        let setup = Setup::with_b(continuing).await;
        let a = setup.a(TelemetryLayer::new()).await;
        ask(a, "/call", &[("traceparent", &format!("00-{T}-{P}-01"))]).await;

        let spans = setup.spans().await;
        let client = one(&spans, "GET", SpanKind::Client);
        let b_server = one(&spans, "GET /echo", SpanKind::Server);
        assert_eq!(b_server.context.trace_id, client.context.trace_id);
        assert_eq!(b_server.parent_span_id, client.context.span_id);
        assert!(client.links.is_empty(), "{:?}", client.links);
    });
}

// response § "Sampled flag": "If the server receives a `0` for the `sampled` flag on an
// incoming request, it may still decide to record a trace. In this case it SHOULD return
// a `sampled` flag `1` on the response". A server that records every request (its
// sampler overrides the parent's "not sampled") answers `-03` to a `-02` request.
#[test]
fn a_server_that_records_an_unsampled_request_answers_sampled() {
    run(|| async {
        let Sampler::ParentBased(mut delegates) = Sampler::parent_based(Sampler::AlwaysOn) else {
            unreachable!()
        };
        delegates.remote_not_sampled = Sampler::AlwaysOn;
        let config = Config::new().with_sampler(Sampler::ParentBased(delegates));
        let setup = Setup::with(config, Router::new().route("/echo", get(echo))).await;
        let a = setup.a(TelemetryLayer::new()).await;
        let inbound = format!("00-{T}-{P}-02");
        let answer = ask(a, "/own-timing", &[("traceparent", &inbound)]).await;
        let [_, trace, server, flags] = answer.trace_metric();
        assert_eq!(trace, T);
        assert_eq!(flags, "03", "recorded, so sampled; random as it came");
        let spans = setup.spans().await;
        let recorded = one(&spans, "GET /own-timing", SpanKind::Server);
        assert_eq!(recorded.context.span_id.to_string(), server);
    });
}
