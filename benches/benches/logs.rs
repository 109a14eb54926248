//! Log calls of `telem` beside `tracing` (its JSON formatter through
//! `tracing-appender`'s non-blocking writer) and `log` with `env_logger`, in one run:
//!
//! ```sh
//! cargo bench -p telem-benches --features peers --bench logs
//! ```
//!
//! Groups:
//! - `log_call`: an `info` call with a short formatted message and 3 fields inside a
//!   sampled span, timed on the calling thread while the drain runs on the other core.
//!   Each sample starts with the rings emptied (`drain_now`, untimed) and the log ring is
//!   large enough for a whole sample, so every call is recorded, none dropped (the stats
//!   printed at the end say so). The peers write to `io::sink()`: `tracing-appender`'s
//!   worker thread does the writing for `tracing`; `env_logger` formats and writes on
//!   the calling thread.
//! - `filtered_out`: a `debug` call under an `info` filter (one load and a compare), a
//!   call whose target a directive silences (the call site's cached verdict), beside
//!   `tracing`'s disabled event and `log`'s.
//! - `drain`: the drain's throughput, 100 k records made beforehand then one timed
//!   `drain_now`: into a sink that discards them, and through the stdout sink's JSON
//!   lines and pretty format into `io::sink()` (the writer thread included).
#![forbid(unsafe_code)]

use criterion::{Criterion, SamplingMode, Throughput};
use std::hint::black_box;
use std::time::{Duration, Instant};
use telem::{Config, LogFilter, StdoutFormat, StdoutSink, Tracer};
use telem_benches::{bench_tracing_json_event, pinned_runtime, start_pipeline, stop_pipeline};
use tokio::runtime::Runtime;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::Layer as _;

static TRACER: Tracer = Tracer::new("bench");

/// Calls per timed sample in `log_call`: what the log ring holds.
const SAMPLE_CALLS: u64 = 100_000;
/// Log ring capacity for the benches: a whole sample fits.
const RING: usize = 1 << 18;
/// Records made before each timed drain in `drain`.
const DRAIN_RECORDS: u64 = 100_000;

/// Times `call` `iters` times on this thread, after emptying the rings.
fn timed(rt: &Runtime, pipeline: &telem::Pipeline, iters: u64, call: impl Fn(u64)) -> Duration {
    rt.block_on(pipeline.drain_now());
    let start = Instant::now();
    for i in 0..iters {
        call(i);
    }
    start.elapsed()
}

fn log_call(c: &mut Criterion, rt: &Runtime) {
    let pipeline = start_pipeline(rt, Config::new().with_log_ring_capacity(RING));
    let mut g = c.benchmark_group("log_call");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(1));
    g.bench_function("telem/info_3_fields_in_sampled_span", |b| {
        let _span = TRACER.start_span("request");
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(SAMPLE_CALLS);
                total += timed(rt, &pipeline, n, |id| {
                    telem::info!(
                        book.id = id,
                        user = "alice",
                        cached = true,
                        "book {id} found"
                    );
                });
                left -= n;
            }
            total
        })
    });
    drop(g);
    stop_pipeline(rt, pipeline.clone(), "log_call");
    let s = pipeline.stats();
    eprintln!(
        "[log_call] logs: recorded {:?} exported {:?} dropped (ring full) {:?}",
        s.logs.recorded, s.logs.exported, s.logs.dropped
    );

    let mut g = c.benchmark_group("log_call");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(1));
    bench_tracing_json_event(&mut g);

    env_logger::Builder::new()
        .filter_level(log::LevelFilter::Info)
        .target(env_logger::Target::Pipe(Box::new(std::io::sink())))
        .init();
    g.bench_function("log/env_logger", |b| {
        b.iter(|| {
            let id = black_box(42u64);
            log::info!(
                "book {id} found book.id={id} user={} cached={}",
                "alice",
                true
            );
        })
    });
    g.finish();
}

fn filtered_out(c: &mut Criterion, rt: &Runtime) {
    let filter: LogFilter = "info,bench_silenced=warn".parse().expect("valid filter");
    let pipeline = start_pipeline(rt, Config::new().with_log_filter(filter));
    let mut g = c.benchmark_group("filtered_out");
    g.bench_function("telem/debug_under_info", |b| {
        b.iter(|| telem::debug!(book.id = black_box(1u64), "lookup"))
    });
    g.bench_function("telem/info_at_silenced_target", |b| {
        b.iter(|| telem::info!(target: "bench_silenced", book.id = black_box(1u64), "lookup"))
    });
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::sink)
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
    );
    tracing::subscriber::with_default(subscriber, || {
        g.bench_function("tracing/debug_under_info", |b| {
            b.iter(|| tracing::debug!(book.id = black_box(1u64), "lookup"))
        });
    });
    g.bench_function("log/debug_under_info", |b| {
        b.iter(|| log::debug!("lookup book.id={}", black_box(1u64)))
    });
    g.finish();
    stop_pipeline(rt, pipeline, "filtered_out");
}

fn drain(c: &mut Criterion, rt: &Runtime) {
    let cases: [(&str, Option<StdoutFormat>); 3] = [
        ("discard", None),
        ("stdout_json_lines", Some(StdoutFormat::Json)),
        ("stdout_pretty", Some(StdoutFormat::Pretty)),
    ];
    for (name, format) in cases {
        let mut config = Config::new()
            .with_log_ring_capacity(RING)
            .with_drain_interval(Duration::from_secs(300));
        if let Some(format) = format {
            config = config.with_sink(
                StdoutSink::from_writer(std::io::sink(), format).with_buffer_bytes(1 << 30),
            );
        }
        let pipeline = start_pipeline(rt, config);
        let mut g = c.benchmark_group("drain");
        g.sample_size(10);
        g.throughput(Throughput::Elements(DRAIN_RECORDS));
        g.bench_function(format!("telem/{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    for id in 0..DRAIN_RECORDS {
                        telem::info!(
                            book.id = id,
                            user = "alice",
                            cached = true,
                            "book {id} found"
                        );
                    }
                    let start = Instant::now();
                    rt.block_on(pipeline.drain_now());
                    total += start.elapsed();
                }
                total
            })
        });
        g.finish();
        stop_pipeline(rt, pipeline, "drain");
    }
}

fn main() {
    let rt = pinned_runtime();
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    log_call(&mut c, &rt);
    filtered_out(&mut c, &rt);
    drain(&mut c, &rt);
    c.final_summary();
}
