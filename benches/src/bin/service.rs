//! Service-level benchmark: the bookstore's router served over real loopback HTTP,
//! driven by a fixed number of keep-alive connections for a bounded time, with each
//! telemetry stack in turn. Reports requests/s and p99 latency per case, and the ratio of
//! each case's throughput to the telemetry-off case's.
//!
//! ```sh
//! cargo run --release -p telem-benches --features peers --bin service -- \
//!     [--seconds N] [--warmup N] [--connections C] [--rounds R] [--path /books] [--case NAME]...
//! ```
//!
//! Defaults: 5 s measured per case after a 1 s warm-up (not measured), 32 connections,
//! 3 rounds, `GET /books`. The rounds are interleaved (round 1 runs every case, then
//! round 2 runs every case, ...), and the table on stdout gives per case the median
//! requests/s and the median p99 over the rounds. `--case NAME` (repeatable) runs only
//! the named cases; the ratio column needs `off` among them. Progress and each round's
//! figures go to stderr.
//!
//! Every request is sampled in every case. The cases:
//!
//! | case | stack |
//! | --- | --- |
//! | `off` | the bookstore's `app()` (our `TelemetryLayer` inside) with the pipeline disabled (`Config::with_disabled(true)`, what `OTEL_SDK_DISABLED=true` does in the bookstore), and the `tracing`/`log` bridge installed (`telem_tracing::install()`, as the bookstore's `main` does): no span is recorded; the layer still records the HTTP request-duration metric, the handlers their business metrics and the store its query-duration metric |
//! | `discard` | the same router, `telem::init` with `Sampler::AlwaysOn` and a sink that drops every batch, plus the `PrometheusSink`, and the bridge installed as in `off` (in every case of ours: so each query's `telem_tracing::context_span()`, which sqlx's events would land in, costs what it costs in the bookstore): what recording and draining cost, without exporting |
//! | `json` | the same router, `telem::init` with `Sampler::AlwaysOn`, a `StdoutSink` writing JSON lines to a temporary file, and the `PrometheusSink` (as the bookstore does) |
//! | `pretty` | the same with `StdoutFormat::Pretty` |
//! | `otlp` | the same with a `telem_otlp::OtlpSink` (HTTP/protobuf) in place of the file, to a loopback collector that reads and discards each request body and answers 200 with an empty body |
//! | `tracing-json` | the same handlers under tower-http's `TraceLayer` (span, request and response events at INFO) and `tracing-subscriber`'s JSON formatter writing through `tracing-appender`'s non-blocking writer to a temporary file (two lines per request: request started, finished); the store's context spans filtered out (below) |
//! | `tracing-otlp` | the same handlers under the same `TraceLayer`, `tracing-opentelemetry` and the OpenTelemetry SDK (`AlwaysOn`, batch span processor with its defaults) with `opentelemetry-otlp`'s HTTP/protobuf exporter (blocking reqwest client) to the same discarding collector (one span per request); the store's context spans filtered out (below) |
//!
//! Per `GET /books`, our cases record three spans: the server span, `list_books` and the
//! store's `SELECT books`; the `tracing-*` cases one, `TraceLayer`'s.
//!
//! In the two `tracing-*` cases our pipeline is not started: the bookstore's handlers
//! keep their `#[trace]` spans and `CurrentSpan` extractor, which are then near-free
//! no-ops, and `TelemetryLayer::new().with_metrics(false)` stays inside `TraceLayer` only to
//! hand the handlers their no-op `CurrentSpan` (a flag check and an extension insert).
//! Those two cases record no HTTP request-duration metric; every case records the
//! handlers' business metrics and the store's query durations. The store still sends
//! each query under `telem_tracing::context_span()`, an ERROR-level `tracing` span (target
//! `telem_tracing::context`) that would pass their INFO filter and cost them a span per
//! query that stands for nothing there (our spans are no-ops): their subscribers filter
//! that target out (`filter_fn`), so its call site is disabled, as the usual stack
//! without the bookstore's store would have it.
//!
//! Each case runs in a fresh child process (this binary run again with a hidden
//! `--child CASE`, which prints one `RESULT` line for the parent), because
//! `telem::init` and tracing's global subscriber are process-wide. Inside it, the
//! server is a tokio runtime with one worker thread pinned to core 1 (a service on one
//! core): the pipeline's drain and sink tasks, its writer threads, tracing-appender's
//! worker, the SDK's batch processor and the reqwest client's thread all start from
//! there and inherit that core. The load generator (hand-written HTTP/1.1 over tokio
//! `TcpStream`s on a current-thread runtime) and the OTLP collector run on core 0. With
//! fewer than two cores nothing is pinned.
//!
//! Beside each result the child reports what the stack lost (for ours: spans dropped at
//! the rings and by the span sink; `tracing-json`: lines tracing-appender dropped;
//! `tracing-otlp`: spans of served requests the exporter never sent successfully) and the
//! bytes written to the file or received by the collector. Temporary files are deleted.
#![forbid(unsafe_code)]

use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::Router;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use telem::{Config, Pipeline, PrometheusSink, Sampler, StdoutFormat, StdoutSink};
use telem_axum::{MetricsEndpoint, TelemetryLayer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::runtime::Runtime;
use tracing_subscriber::layer::SubscriberExt as _;

/// The cases, in the order each round runs them.
const CASES: [Case; 7] = [
    Case::Off,
    Case::Discard,
    Case::Json,
    Case::Pretty,
    Case::Otlp,
    Case::TracingJson,
    Case::TracingOtlp,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Off,
    Discard,
    Json,
    Pretty,
    Otlp,
    TracingJson,
    TracingOtlp,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Off => "off",
            Case::Discard => "discard",
            Case::Json => "json",
            Case::Pretty => "pretty",
            Case::Otlp => "otlp",
            Case::TracingJson => "tracing-json",
            Case::TracingOtlp => "tracing-otlp",
        }
    }

    fn stack(self) -> &'static str {
        match self {
            Case::Off => "telemetry, pipeline disabled",
            Case::Discard => "telemetry, spans drained into a sink that discards them",
            Case::Json => "telemetry, JSON lines to a file",
            Case::Pretty => "telemetry, pretty lines to a file",
            Case::Otlp => "telemetry, OTLP/protobuf",
            Case::TracingJson => "TraceLayer + tracing-subscriber JSON + tracing-appender",
            Case::TracingOtlp => "TraceLayer + tracing-opentelemetry + opentelemetry-otlp",
        }
    }

    fn from_name(name: &str) -> Option<Case> {
        CASES.into_iter().find(|c| c.name() == name)
    }

    fn needs_collector(self) -> bool {
        matches!(self, Case::Otlp | Case::TracingOtlp)
    }

    fn writes_file(self) -> bool {
        matches!(self, Case::Json | Case::Pretty | Case::TracingJson)
    }
}

/// What the command line asked for.
#[derive(Clone, Debug)]
struct Args {
    seconds: f64,
    warmup: f64,
    connections: usize,
    rounds: usize,
    path: String,
    cases: Vec<Case>,
    child: Option<Case>,
}

const USAGE: &str = "usage: service [--seconds N] [--warmup N] [--connections C] [--rounds R] \
                     [--path /books] [--case NAME]...\ncases: off json pretty otlp tracing-json tracing-otlp";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seconds: 5.0,
        warmup: 1.0,
        connections: 32,
        rounds: 3,
        path: "/books".to_owned(),
        cases: Vec::new(),
        child: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--seconds" => args.seconds = parse_positive(&value("--seconds")?, "--seconds")?,
            "--warmup" => {
                let v = value("--warmup")?;
                args.warmup = v
                    .parse::<f64>()
                    .ok()
                    .filter(|w| (0.0..=3600.0).contains(w))
                    .ok_or(format!("bad --warmup {v}"))?;
            }
            "--connections" => {
                args.connections = parse_count(&value("--connections")?, "--connections")?
            }
            "--rounds" => args.rounds = parse_count(&value("--rounds")?, "--rounds")?,
            "--path" => {
                let v = value("--path")?;
                if !v.starts_with('/') || v.bytes().any(|b| b.is_ascii_whitespace()) {
                    return Err(format!("bad --path {v}: a path starting with /"));
                }
                args.path = v;
            }
            "--case" => {
                let v = value("--case")?;
                let case = Case::from_name(&v).ok_or(format!("unknown case {v}"))?;
                if !args.cases.contains(&case) {
                    args.cases.push(case);
                }
            }
            "--child" => {
                let v = value("--child")?;
                args.child = Some(Case::from_name(&v).ok_or(format!("unknown case {v}"))?);
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            s => return Err(format!("unknown argument {s}\n{USAGE}")),
        }
    }
    if args.cases.is_empty() {
        args.cases = CASES.to_vec();
    } else {
        // Keep the usual order, whatever order they were given in.
        args.cases = CASES
            .into_iter()
            .filter(|c| args.cases.contains(c))
            .collect();
    }
    Ok(args)
}

fn parse_positive(v: &str, name: &str) -> Result<f64, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0 && *s <= 3600.0)
        .ok_or(format!("bad {name} {v}: a number of seconds above 0"))
}

fn parse_count(v: &str, name: &str) -> Result<usize, String> {
    v.parse::<usize>()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or(format!("bad {name} {v}: an integer from 1 to 10000"))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("service: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match args.child {
        Some(case) => child::run(case, &args).map(|outcome| println!("{}", outcome.to_line())),
        None => parent(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("service: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One case's figures from one child process.
#[derive(Clone, Debug, Default)]
struct Outcome {
    /// Requests completed inside the measured window, per second.
    rps: f64,
    p50_ns: u64,
    p99_ns: u64,
    /// Requests completed over the whole run (warm-up included).
    requests: u64,
    /// Responses other than 200, and failed connections.
    errors: u64,
    /// Spans (or lines, for `tracing-json`) the stack produced.
    items: u64,
    /// Of those, lost.
    dropped: u64,
    /// Bytes written to the file, or received by the collector.
    bytes: Option<u64>,
}

impl Outcome {
    fn to_line(&self) -> String {
        let mut line = format!(
            "RESULT rps={:.1} p50_ns={} p99_ns={} requests={} errors={} items={} dropped={}",
            self.rps,
            self.p50_ns,
            self.p99_ns,
            self.requests,
            self.errors,
            self.items,
            self.dropped
        );
        if let Some(bytes) = self.bytes {
            let _ = write!(line, " bytes={bytes}");
        }
        line
    }

    fn from_line(line: &str) -> Result<Self, String> {
        let fields = line
            .strip_prefix("RESULT ")
            .ok_or_else(|| format!("not a result line: {line}"))?;
        let mut out = Outcome::default();
        for field in fields.split_whitespace() {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| format!("bad field {field}"))?;
            let int = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("bad value in {field}"))
            };
            match key {
                "rps" => out.rps = value.parse().map_err(|_| format!("bad value in {field}"))?,
                "p50_ns" => out.p50_ns = int()?,
                "p99_ns" => out.p99_ns = int()?,
                "requests" => out.requests = int()?,
                "errors" => out.errors = int()?,
                "items" => out.items = int()?,
                "dropped" => out.dropped = int()?,
                "bytes" => out.bytes = Some(int()?),
                _ => {}
            }
        }
        Ok(out)
    }

    fn dropped_fraction(&self) -> f64 {
        if self.items == 0 {
            0.0
        } else {
            self.dropped as f64 / self.items as f64
        }
    }
}

/// Runs every case `rounds` times, interleaved, each in a child process, and prints the
/// table.
fn parent(args: &Args) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let pinning = match child::cores() {
        (Some(load), Some(server)) => format!(
            "server on core {}, load generator and collector on core {}",
            server.id, load.id
        ),
        _ => "fewer than 2 cores: nothing pinned".to_owned(),
    };
    eprintln!(
        "service: {} connections, GET {}, {} s per case after {} s warm-up, {} rounds; {pinning}",
        args.connections, args.path, args.seconds, args.warmup, args.rounds
    );
    let mut results: Vec<Vec<Outcome>> = vec![Vec::new(); args.cases.len()];
    for round in 1..=args.rounds {
        for (i, &case) in args.cases.iter().enumerate() {
            let outcome = run_child(&exe, case, args)?;
            eprintln!(
                "round {round}/{} {:<13} {:>9.0} req/s  p50 {:>8}  p99 {:>8}  errors {}  dropped {} of {}{}",
                args.rounds,
                case.name(),
                outcome.rps,
                micros(outcome.p50_ns),
                micros(outcome.p99_ns),
                outcome.errors,
                outcome.dropped,
                outcome.items,
                outcome
                    .bytes
                    .map(|b| format!("  {} written", mib(b)))
                    .unwrap_or_default(),
            );
            results[i].push(outcome);
        }
    }
    print!("{}", table(args, &pinning, &results));
    Ok(())
}

fn run_child(exe: &Path, case: Case, args: &Args) -> Result<Outcome, String> {
    let output = Command::new(exe)
        .args(["--child", case.name()])
        .args(["--seconds", &args.seconds.to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .args(["--connections", &args.connections.to_string()])
        .args(["--path", &args.path])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start the {} case: {e}", case.name()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "the {} case failed ({}): {}",
            case.name(),
            output.status,
            stdout.trim()
        ));
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .ok_or_else(|| format!("the {} case printed no result", case.name()))?;
    Outcome::from_line(line)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn micros(ns: u64) -> String {
    format!("{:.0} µs", ns as f64 / 1e3)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// The markdown table, the targets and the notes.
fn table(args: &Args, pinning: &str, results: &[Vec<Outcome>]) -> String {
    let rps = |i: usize| median(results[i].iter().map(|o| o.rps).collect());
    let off = args.cases.iter().position(|&c| c == Case::Off);
    // Each round against the `off` of the same round, then the median: the machine's
    // speed drifts between rounds far more than between two cases of one round.
    let ratio = |i: usize| {
        off.map(|off| {
            median(
                results[i]
                    .iter()
                    .zip(&results[off])
                    .map(|(case, off)| case.rps / off.rps)
                    .collect(),
            )
        })
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nbookstore `GET {}` over loopback HTTP/1.1: {} keep-alive connections, {} s per case \
         after {} s warm-up, medians of {} interleaved rounds (÷ off: the median of each round's \
         ratio to that round's `off`); {pinning}. Every request sampled.\n",
        args.path, args.connections, args.seconds, args.warmup, args.rounds
    );
    out.push_str(
        "| case | stack | requests/s | ÷ off | p99 | errors | dropped (worst round) | bytes out |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut ratios = Vec::new();
    for (i, &case) in args.cases.iter().enumerate() {
        let r = rps(i);
        let ratio = ratio(i);
        ratios.push((case, ratio));
        let p99 = median(results[i].iter().map(|o| o.p99_ns as f64).collect());
        let errors: u64 = results[i].iter().map(|o| o.errors).sum();
        let worst = results[i]
            .iter()
            .max_by(|a, b| a.dropped_fraction().total_cmp(&b.dropped_fraction()));
        let dropped = match worst {
            Some(o) if o.items > 0 => format!(
                "{} of {} ({:.2} %)",
                o.dropped,
                o.items,
                100.0 * o.dropped_fraction()
            ),
            _ => "–".to_owned(),
        };
        let bytes: Vec<f64> = results[i]
            .iter()
            .filter_map(|o| o.bytes.map(|b| b as f64))
            .collect();
        let bytes = if bytes.is_empty() {
            "–".to_owned()
        } else {
            mib(median(bytes) as u64)
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {:.0} | {} | {} | {} | {} | {} |",
            case.name(),
            case.stack(),
            r,
            ratio.map_or("–".to_owned(), |x| format!("{x:.3}")),
            micros(p99 as u64),
            errors,
            dropped,
            bytes
        );
    }
    let _ = writeln!(out);
    for (case, target) in [(Case::Json, 0.90), (Case::Otlp, 0.93)] {
        if let Some(&(_, Some(ratio))) = ratios.iter().find(|(c, _)| *c == case) {
            let _ = writeln!(
                out,
                "target `{}` ≥ {target:.2}× off: {ratio:.3}× ({})",
                case.name(),
                if ratio >= target { "met" } else { "not met" }
            );
        }
    }
    out.push_str(
        "\nNotes: `off` is the bookstore with its pipeline disabled (as with OTEL_SDK_DISABLED=true): \
         its TelemetryLayer still records the HTTP request-duration metric. Our cases install the \
         tracing bridge, as the bookstore does. In the `tracing-*` \
         cases our pipeline is not started, so the handlers' `#[trace]` spans and `CurrentSpan` \
         are no-ops, and they record no HTTP request-duration metric; their subscribers filter \
         out the store's context spans (target telem_tracing::context). Dropped: spans lost at our \
         rings and span sink; lines tracing-appender dropped (of lines written + dropped; 2 per request); spans the SDK \
         never exported (1 per request). Bytes out: written to the file, or received by the \
         collector. Compare ratios within one run only.\n",
    );
    out
}

/// A latency histogram: 64 linear sub-buckets per power of two of nanoseconds (under
/// 1.6 % error), merged across connections.
#[derive(Clone, Debug)]
struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;

impl Histogram {
    fn new() -> Self {
        Self {
            counts: vec![0; SUB * (64 - SUB_BITS as usize + 1)],
            total: 0,
        }
    }

    fn index(ns: u64) -> usize {
        if ns < SUB as u64 {
            return ns as usize;
        }
        let shift = 63 - ns.leading_zeros() - SUB_BITS;
        let sub = (ns >> shift) as usize & (SUB - 1);
        ((shift as usize + 1) << SUB_BITS) + sub
    }

    /// The lowest value of bucket `index` and the bucket's width.
    fn bounds(index: usize) -> (u64, u64) {
        if index < SUB {
            return (index as u64, 1);
        }
        let shift = (index >> SUB_BITS) - 1;
        let sub = (index & (SUB - 1)) as u64;
        ((SUB as u64 + sub) << shift, 1 << shift)
    }

    fn record(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.counts[Self::index(ns)] += 1;
        self.total += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    /// The value at quantile `q` (the middle of its bucket); 0 when empty.
    fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (low, width) = Self::bounds(i);
                return low + width / 2;
            }
        }
        0
    }
}

/// The load generator: `connections` keep-alive HTTP/1.1 connections, each sending
/// `GET path` and reading the response (by its `Content-Length`) in a loop.
mod load {
    use super::*;

    /// What the load generator saw.
    #[derive(Debug)]
    pub(super) struct Load {
        pub(super) measured: u64,
        pub(super) total: u64,
        pub(super) errors: u64,
        pub(super) histogram: Histogram,
    }

    /// Drives `addr` for `warmup` (not measured) then `measure`, on a current-thread
    /// runtime on the calling thread. Every connection ends after its last response, so
    /// every request sent was served when this returns.
    pub(super) fn run(
        addr: SocketAddr,
        path: &str,
        connections: usize,
        warmup: Duration,
        measure: Duration,
    ) -> Result<Load, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("load generator runtime: {e}"))?;
        let request: Arc<[u8]> = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: service-bench/1.0\r\nAccept: */*\r\n\r\n"
        )
        .into_bytes()
        .into();
        rt.block_on(async move {
            let start = Instant::now();
            let from = start + warmup;
            let until = from + measure;
            let tasks: Vec<_> = (0..connections)
                .map(|_| tokio::spawn(connection(addr, request.clone(), from, until)))
                .collect();
            let mut load = Load {
                measured: 0,
                total: 0,
                errors: 0,
                histogram: Histogram::new(),
            };
            for task in tasks {
                let c = task.await.map_err(|e| format!("connection task: {e}"))??;
                load.measured += c.measured;
                load.total += c.total;
                load.errors += c.errors;
                load.histogram.merge(&c.histogram);
            }
            Ok(load)
        })
    }

    async fn connection(
        addr: SocketAddr,
        request: Arc<[u8]>,
        from: Instant,
        until: Instant,
    ) -> Result<Load, String> {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        let mut buf = Vec::with_capacity(16 << 10);
        let mut load = Load {
            measured: 0,
            total: 0,
            errors: 0,
            histogram: Histogram::new(),
        };
        loop {
            let sent = Instant::now();
            if sent >= until {
                break;
            }
            stream
                .write_all(&request)
                .await
                .map_err(|e| format!("send: {e}"))?;
            let status = read_response(&mut stream, &mut buf)
                .await
                .map_err(|e| format!("receive: {e}"))?;
            let done = Instant::now();
            load.total += 1;
            if status != 200 {
                load.errors += 1;
            }
            // Counted by completion time: the window's throughput, exactly.
            if done >= from && done <= until {
                load.measured += 1;
                load.histogram.record(done - sent);
            }
        }
        Ok(load)
    }

    /// Reads one response (head, then `Content-Length` bytes of body) and returns its
    /// status. Anything after it stays in `buf` (nothing does: one request at a time).
    async fn read_response(
        stream: &mut tokio::net::TcpStream,
        buf: &mut Vec<u8>,
    ) -> std::io::Result<u16> {
        let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&buf[..end]).map_err(|_| invalid("head"))?;
                let mut lines = head.split("\r\n");
                let status = lines
                    .next()
                    .and_then(|l| l.split(' ').nth(1))
                    .and_then(|s| s.parse::<u16>().ok())
                    .ok_or_else(|| invalid("status line"))?;
                let length = lines
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                    .ok_or_else(|| invalid("no Content-Length"))?;
                let total = end + 4 + length;
                while buf.len() < total {
                    buf.reserve(total - buf.len());
                    if stream.read_buf(buf).await? == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                }
                buf.drain(..total);
                return Ok(status);
            }
            buf.reserve(16 << 10);
            if stream.read_buf(buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

/// The loopback OTLP collector: reads each request body, discards it, answers 200 with
/// an empty body (an empty protobuf export response).
mod collector {
    use super::*;

    #[derive(Debug)]
    pub(super) struct Collector {
        pub(super) addr: SocketAddr,
        received: Arc<AtomicU64>,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Collector {
        /// Starts it on a thread of its own (pinned to `core`), with a current-thread
        /// runtime.
        pub(super) fn start(core: Option<core_affinity::CoreId>) -> Result<Self, String> {
            let received = Arc::new(AtomicU64::new(0));
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let (ready_tx, ready) = std::sync::mpsc::channel();
            let counter = received.clone();
            let thread = std::thread::Builder::new()
                .name("collector".into())
                .spawn(move || {
                    if let Some(core) = core {
                        core_affinity::set_for_current(core);
                    }
                    let rt = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("collector runtime: {e}")));
                            return;
                        }
                    };
                    rt.block_on(async move {
                        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                            Ok(l) => l,
                            Err(e) => {
                                let _ = ready_tx.send(Err(format!("collector bind: {e}")));
                                return;
                            }
                        };
                        let _ = ready_tx.send(
                            listener
                                .local_addr()
                                .map_err(|e| format!("collector address: {e}")),
                        );
                        let app = Router::new().fallback(move |body: Bytes| {
                            counter.fetch_add(body.len() as u64, Relaxed);
                            async {
                                (
                                    StatusCode::OK,
                                    [(header::CONTENT_TYPE, "application/x-protobuf")],
                                    Bytes::new(),
                                )
                            }
                        });
                        // Not a graceful shutdown: the exporters keep their connections
                        // open. Dropping the runtime closes them.
                        tokio::select! {
                            served = axum::serve(listener, app) => {
                                if let Err(e) = served {
                                    eprintln!("service: collector failed: {e}");
                                }
                            }
                            _ = stopped => {}
                        }
                    });
                })
                .map_err(|e| format!("collector thread: {e}"))?;
            let addr = ready
                .recv()
                .map_err(|_| "collector thread ended".to_owned())??;
            Ok(Self {
                addr,
                received,
                stop: Some(stop),
                thread: Some(thread),
            })
        }

        /// Request body bytes received so far.
        pub(super) fn received(&self) -> u64 {
            self.received.load(Relaxed)
        }
    }

    impl Drop for Collector {
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// An OpenTelemetry SDK span exporter that counts the spans `inner` exported
/// successfully.
#[derive(Debug)]
struct Counted<E> {
    inner: E,
    exported: Arc<AtomicU64>,
}

impl<E: opentelemetry_sdk::trace::SpanExporter> opentelemetry_sdk::trace::SpanExporter
    for Counted<E>
{
    fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        let n = batch.len() as u64;
        let exported = self.exported.clone();
        let export = self.inner.export(batch);
        async move {
            let result = export.await;
            if result.is_ok() {
                exported.fetch_add(n, Relaxed);
            }
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// A temporary file, deleted on drop.
#[derive(Debug)]
struct TempFile(PathBuf);

impl TempFile {
    fn new(case: Case) -> Self {
        Self(std::env::temp_dir().join(format!(
            "telemetry-service-bench-{}-{}.log",
            std::process::id(),
            case.name()
        )))
    }

    fn create(&self) -> Result<std::fs::File, String> {
        std::fs::File::create(&self.0)
            .map_err(|e| format!("cannot create {}: {e}", self.0.display()))
    }

    fn len(&self) -> u64 {
        std::fs::metadata(&self.0).map_or(0, |m| m.len())
    }

    /// Lines in the file.
    fn lines(&self) -> u64 {
        std::fs::read(&self.0).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count() as u64)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A case's telemetry, running; `finish` stops it and says what it produced and lost.
enum Stack {
    Ours(Pipeline),
    TracingJson {
        guard: tracing_appender::non_blocking::WorkerGuard,
        errors: tracing_appender::non_blocking::ErrorCounter,
    },
    TracingOtlp {
        provider: opentelemetry_sdk::trace::SdkTracerProvider,
        exported: Arc<AtomicU64>,
    },
}

/// tower-http's `TraceLayer` for HTTP with its span, request and response events at
/// INFO (their defaults are DEBUG, below the usual INFO filter).
fn trace_layer() -> tower_http::trace::TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
> {
    use tower_http::trace::{DefaultMakeSpan, DefaultOnRequest, DefaultOnResponse};
    tower_http::trace::TraceLayer::new_for_http()
        .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
        .on_request(DefaultOnRequest::new().level(tracing::Level::INFO))
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
}

/// The target of `telem_tracing::context_span()`, which the store sends each query under.
const CONTEXT_SPAN_TARGET: &str = "telem_tracing::context";

/// A global filter for the peers' subscribers: everything but the store's context spans
/// (ERROR-level `tracing` spans standing for our span, which they have no use for).
/// Filtered at the call site, so the span is not even created.
fn without_context_spans() -> tracing_subscriber::filter::FilterFn {
    fn keep(meta: &tracing::Metadata<'_>) -> bool {
        meta.target() != CONTEXT_SPAN_TARGET
    }
    tracing_subscriber::filter::filter_fn(keep)
}

/// The bookstore's router, its store seeded and its reviews service started on `rt`.
fn our_router(rt: &Runtime, metrics: MetricsEndpoint) -> Result<Router, String> {
    rt.block_on(async {
        let store = bookstore::Store::seeded()
            .await
            .map_err(|e| format!("bookstore store: {e}"))?;
        bookstore::app(store, metrics)
            .await
            .map_err(|e| format!("bookstore: {e}"))
    })
}

/// The bookstore's router without our pipeline: `TraceLayer` outside, and our layer
/// only to hand the handlers their (no-op) `CurrentSpan`.
fn peer_router(rt: &Runtime, metrics: MetricsEndpoint) -> Result<Router, String> {
    rt.block_on(async {
        let store = bookstore::Store::seeded()
            .await
            .map_err(|e| format!("bookstore store: {e}"))?;
        bookstore::app_with(store, metrics, |traced| {
            traced
                .layer(TelemetryLayer::new().with_metrics(false))
                .layer(trace_layer())
        })
        .await
        .map_err(|e| format!("bookstore: {e}"))
    })
}

impl Stack {
    /// Starts `case`'s telemetry (ours on `rt`) and builds its router.
    fn start(
        case: Case,
        rt: &Runtime,
        file: Option<&TempFile>,
        collector: Option<SocketAddr>,
    ) -> Result<(Stack, Router), String> {
        let prometheus = Arc::new(PrometheusSink::new());
        let metrics = MetricsEndpoint::new(prometheus.clone());
        let file = || file.ok_or("no file".to_owned())?.create();
        let collector = || collector.ok_or("no collector".to_owned());
        let ours = |config: Config| {
            let _enter = rt.enter();
            let pipeline = telem::init(config).map_err(|e| format!("telem::init: {e}"))?;
            // As the bookstore's `main`: `tracing` and `log` bridged into the pipeline.
            telem_tracing::install().map_err(|e| format!("telem_tracing::install: {e}"))?;
            Ok::<_, String>(pipeline)
        };
        match case {
            Case::Off => {
                let pipeline = ours(Config::new().with_disabled(true))?;
                Ok((Stack::Ours(pipeline), our_router(rt, metrics)?))
            }
            Case::Discard | Case::Json | Case::Pretty | Case::Otlp => {
                let sink: Box<dyn FnOnce(Config) -> Config> = match case {
                    Case::Discard => Box::new(|c| c.with_sink(telem_benches::DiscardSink)),
                    Case::Json => {
                        let out = file()?;
                        Box::new(move |c| {
                            c.with_sink(StdoutSink::from_writer(out, StdoutFormat::Json))
                        })
                    }
                    Case::Pretty => {
                        let out = file()?;
                        Box::new(move |c| {
                            c.with_sink(StdoutSink::from_writer(out, StdoutFormat::Pretty))
                        })
                    }
                    _ => {
                        let otlp = telem_otlp::OtlpSink::new(
                            telem_otlp::OtlpConfig::new()
                                .with_endpoint(format!("http://{}", collector()?))
                                .with_protocol(telem_otlp::Protocol::HttpProtobuf)
                                .with_service_name("bookstore"),
                        )
                        .map_err(|e| format!("OtlpSink: {e}"))?;
                        Box::new(move |c| c.with_sink(otlp))
                    }
                };
                // The span sink first: `finish` reads its drops from `sinks[0]`.
                let config = sink(Config::new())
                    .with_sampler(Sampler::AlwaysOn)
                    .with_sink(prometheus.clone());
                let pipeline = ours(config)?;
                Ok((Stack::Ours(pipeline), our_router(rt, metrics)?))
            }
            Case::TracingJson => {
                let (writer, guard) = tracing_appender::non_blocking(file()?);
                let errors = writer.error_counter();
                let subscriber = tracing_subscriber::fmt()
                    .json()
                    .with_max_level(tracing::Level::INFO)
                    .with_writer(writer)
                    .finish()
                    .with(without_context_spans());
                tracing::subscriber::set_global_default(subscriber)
                    .map_err(|e| format!("tracing subscriber: {e}"))?;
                Ok((
                    Stack::TracingJson { guard, errors },
                    peer_router(rt, metrics)?,
                ))
            }
            Case::TracingOtlp => {
                let exporter = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(format!("http://{}/v1/traces", collector()?))
                    .build()
                    .map_err(|e| format!("opentelemetry-otlp exporter: {e}"))?;
                let exported = Arc::new(AtomicU64::new(0));
                let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
                    .with_batch_exporter(Counted {
                        inner: exporter,
                        exported: exported.clone(),
                    })
                    .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
                    .with_resource(
                        opentelemetry_sdk::Resource::builder()
                            .with_service_name("bookstore")
                            .build(),
                    )
                    .build();
                let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("bookstore"));
                let subscriber = tracing_subscriber::registry()
                    .with(otel)
                    .with(tracing_subscriber::filter::LevelFilter::INFO)
                    .with(without_context_spans());
                tracing::subscriber::set_global_default(subscriber)
                    .map_err(|e| format!("tracing subscriber: {e}"))?;
                Ok((
                    Stack::TracingOtlp { provider, exported },
                    peer_router(rt, metrics)?,
                ))
            }
        }
    }

    /// Stops the stack, flushing what it holds, and returns the items (spans, or lines
    /// for `tracing-json`) it produced and how many of them it lost. `requests`: the
    /// requests served (one SDK span each); `file`: the case's file.
    fn finish(self, rt: &Runtime, requests: u64, file: Option<&TempFile>) -> (u64, u64) {
        match self {
            Stack::Ours(pipeline) => {
                rt.block_on(pipeline.shutdown());
                let s = pipeline.stats();
                let sink = s.sinks.first().map_or(0, |k| k.spans_dropped);
                (s.spans_recorded, s.spans_dropped + sink)
            }
            Stack::TracingJson { guard, errors } => {
                drop(guard); // flushes the lines still queued
                let written = file.map_or(0, TempFile::lines);
                let dropped = errors.dropped_lines() as u64;
                (written + dropped, dropped)
            }
            Stack::TracingOtlp { provider, exported } => {
                if let Err(e) = provider.shutdown() {
                    eprintln!("service: tracer provider shutdown: {e}");
                }
                let exported = exported.load(Relaxed);
                (requests, requests.saturating_sub(exported))
            }
        }
    }
}

/// One case in this process: the `--child` side.
mod child {
    use super::*;

    /// The load generator's core and the server's (the first two), if there are two.
    pub(super) fn cores() -> (Option<core_affinity::CoreId>, Option<core_affinity::CoreId>) {
        let (first, rest) = telem_benches::cores();
        (first, rest.first().copied())
    }

    pub(super) fn run(case: Case, args: &Args) -> Result<Outcome, String> {
        let (load_core, server_core) = cores();
        // Everything the service starts from here on (runtime workers, the pipeline's
        // and the peers' threads) inherits the server core.
        if let Some(core) = server_core {
            core_affinity::set_for_current(core);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("server runtime: {e}"))?;
        let collector = if case.needs_collector() {
            Some(collector::Collector::start(load_core)?)
        } else {
            None
        };
        let file = case.writes_file().then(|| TempFile::new(case));
        let (stack, router) =
            Stack::start(case, &rt, file.as_ref(), collector.as_ref().map(|c| c.addr))?;

        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| format!("bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("address: {e}"))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = rt.spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });

        let (path, connections) = (args.path.clone(), args.connections);
        let warmup = Duration::from_secs_f64(args.warmup);
        let measure = Duration::from_secs_f64(args.seconds);
        let load = std::thread::Builder::new()
            .name("load".into())
            .spawn(move || {
                if let Some(core) = load_core {
                    core_affinity::set_for_current(core);
                }
                load::run(addr, &path, connections, warmup, measure)
            })
            .map_err(|e| format!("load thread: {e}"))?
            .join()
            .map_err(|_| "the load generator panicked".to_owned())??;

        let _ = stop.send(());
        match rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), server).await }) {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => eprintln!("service: server failed: {e}"),
            Ok(Err(e)) => eprintln!("service: server task: {e}"),
            Err(_) => eprintln!("service: server did not stop within 10 s"),
        }
        let (items, dropped) = stack.finish(&rt, load.total, file.as_ref());
        let bytes = match (&file, &collector) {
            (Some(file), _) => Some(file.len()),
            (None, Some(collector)) => Some(collector.received()),
            _ => None,
        };
        drop(collector);
        drop(file);
        Ok(Outcome {
            rps: load.measured as f64 / measure.as_secs_f64(),
            p50_ns: load.histogram.quantile(0.50),
            p99_ns: load.histogram.quantile(0.99),
            requests: load.total,
            errors: load.errors,
            items,
            dropped,
            bytes,
        })
    }
}
