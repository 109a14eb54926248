//! Span start+end of `telemetry` beside fastrace, `tracing` (Registry + a trivial
//! layer), `tracing` + `tracing-opentelemetry` + the OpenTelemetry SDK, and the SDK's
//! tracer directly, in one run:
//!
//! ```sh
//! cargo bench -p telem-benches --features peers
//! ```
//!
//! Groups: `disabled`, `unsampled`, `sampled`, `sampled_3_attrs`,
//! `sampled_uncontended`, `sampled_paced`, `nested_child`, `ratio_root_and_child`,
//! `drain_throughput`. Only one `telemetry` pipeline can run per process, so each group
//! that needs one starts it and shuts it down at its end, printing its stats. The
//! fastrace reporter is a process global and is set once, before `sampled`; `tracing`
//! subscribers are scoped to each benchmark with `with_default`.
//!
//! fastrace benchmarks with its collector running time each sample on a fresh thread and
//! flush the collector after it (`fastrace_sample`): its collector falls behind a tight
//! loop, and the backlog would otherwise slow every later benchmark. Those figures are the
//! recording thread's cost while the collector is not backlogged; `src/bin/memory.rs`
//! shows the sustained behaviour (memory of both libraries under load).
#![forbid(unsafe_code)]

use criterion::{Criterion, SamplingMode, Throughput};
use fastrace::collector::{Config as FastraceConfig, SpanContext as FastraceContext};
use fastrace::local::LocalSpan;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue as OtelKeyValue;
use opentelemetry_sdk::trace::{Sampler as OtelSampler, SdkTracerProvider};
use std::hint::black_box;
use std::time::{Duration, Instant};
use telem::{Config, Sampler, Tracer};
use telem_benches::{
    fastrace_in_roots, fastrace_sample, on_runtime_cores, start_pipeline, stop_pipeline,
    DiscardExporter, DiscardReporter, NoopLayer,
};
use tokio::runtime::Runtime;
use tracing_subscriber::layer::SubscriberExt as _;

static TRACER: Tracer = Tracer::new("bench");

/// Spans pushed before each timed `drain_now` in `drain_throughput`.
const DRAIN_SPANS: u64 = 100_000;

/// An SDK tracer provider with a batch span processor feeding [`DiscardExporter`].
fn otel_provider(sampler: OtelSampler) -> SdkTracerProvider {
    on_runtime_cores(|| {
        SdkTracerProvider::builder()
            .with_sampler(sampler)
            .with_batch_exporter(DiscardExporter)
            .build()
    })
}

/// A fastrace root span started and ended `iters` times.
fn fastrace_roots(iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let root = fastrace::Span::root("bench", FastraceContext::random());
        black_box(&root);
    }
    start.elapsed()
}

fn tracing_registry() -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry().with(NoopLayer)
}

/// 1. Nothing initialised: ours before `init`, fastrace with no local parent, `tracing`
///    with no subscriber.
fn disabled(c: &mut Criterion) {
    let mut g = c.benchmark_group("disabled");
    g.bench_function("telemetry/start_span", |b| {
        b.iter(|| {
            let span = TRACER.start_span("bench");
            black_box(&span);
        })
    });
    g.bench_function("fastrace/local_span_no_parent", |b| {
        b.iter(|| {
            let span = LocalSpan::enter_with_local_parent("bench");
            black_box(&span);
        })
    });
    g.bench_function("tracing/no_subscriber", |b| {
        b.iter(|| {
            let span = tracing::info_span!("bench");
            let _entered = span.enter();
            black_box(&span);
        })
    });
    g.finish();
}

/// 2. Parent-based AlwaysOff: the span is started, gets ids, and records nothing.
fn unsampled(c: &mut Criterion, rt: &Runtime) {
    let pipeline = start_pipeline(
        rt,
        Config::new().with_sampler(Sampler::parent_based(Sampler::AlwaysOff)),
    );
    let provider = otel_provider(OtelSampler::ParentBased(Box::new(OtelSampler::AlwaysOff)));
    let tracer = provider.tracer("bench");

    let mut g = c.benchmark_group("unsampled");
    g.bench_function("telemetry/start_span", |b| {
        b.iter(|| {
            let span = TRACER.start_span("bench");
            black_box(&span);
        })
    });
    g.bench_function("otel_sdk/tracer_start_end", |b| {
        b.iter(|| {
            let mut span = tracer.start("bench");
            black_box(&mut span);
            span.end();
        })
    });
    g.finish();

    stop_pipeline(rt, pipeline, "unsampled");
    let _ = provider.shutdown();
}

/// 3. Every span recorded and exported to a sink that discards it, in the default
///    configuration (4,096-slot ring, drain woken at half full) with the drain running.
///    A tight loop outruns the drain, so part of the spans are dropped and counted: the
///    stats line printed at the group's end gives how many.
fn sampled(c: &mut Criterion, rt: &Runtime, otel: &SdkTracerProvider) {
    let pipeline = start_pipeline(rt, Config::new());
    let tracer = otel.tracer("bench");

    let mut g = c.benchmark_group("sampled");
    g.bench_function("telemetry/start_span", |b| {
        b.iter(|| {
            let span = TRACER.start_span("bench");
            black_box(&span);
        })
    });
    g.bench_function("fastrace/local_span_in_root", |b| {
        b.iter_custom(|iters| {
            fastrace_sample(iters, |n| {
                fastrace_in_roots(n, false, || {
                    let span = LocalSpan::enter_with_local_parent("bench");
                    black_box(&span);
                })
            })
        })
    });
    tracing::subscriber::with_default(tracing_registry(), || {
        g.bench_function("tracing/registry_noop_layer", |b| {
            b.iter(|| {
                let span = tracing::info_span!("bench");
                let _entered = span.enter();
                black_box(&span);
            })
        });
    });
    let otel_layer = tracing_opentelemetry::layer().with_tracer(otel.tracer("bench"));
    tracing::subscriber::with_default(tracing_subscriber::registry().with(otel_layer), || {
        g.bench_function("tracing_opentelemetry/sdk_batch", |b| {
            b.iter(|| {
                let span = tracing::info_span!("bench");
                let _entered = span.enter();
                black_box(&span);
            })
        });
    });
    g.bench_function("otel_sdk/tracer_batch", |b| {
        b.iter(|| {
            let mut span = tracer.start("bench");
            black_box(&mut span);
            span.end();
        })
    });
    g.bench_function("fastrace/root_span", |b| {
        b.iter_custom(|iters| fastrace_sample(iters, fastrace_roots))
    });
    g.finish();

    stop_pipeline(rt, pipeline, "sampled");
}

/// 4. Sampled, with 3 attributes set on the span.
fn sampled_3_attrs(c: &mut Criterion, rt: &Runtime, otel: &SdkTracerProvider) {
    let pipeline = start_pipeline(rt, Config::new());
    let tracer = otel.tracer("bench");

    let mut g = c.benchmark_group("sampled_3_attrs");
    g.bench_function("telemetry/start_span", |b| {
        b.iter(|| {
            let mut span = TRACER.start_span("bench");
            span.set_str("http.request.method", "GET");
            span.set_i64("http.response.status_code", 200);
            span.set_str("http.route", "/books");
            black_box(&span);
        })
    });
    g.bench_function("fastrace/local_span_in_root", |b| {
        b.iter_custom(|iters| {
            fastrace_sample(iters, |n| {
                fastrace_in_roots(n, false, || {
                    let span = LocalSpan::enter_with_local_parent("bench")
                        .with_property(|| ("http.request.method", "GET"))
                        .with_property(|| ("http.response.status_code", "200"))
                        .with_property(|| ("http.route", "/books"));
                    black_box(&span);
                })
            })
        })
    });
    tracing::subscriber::with_default(tracing_registry(), || {
        g.bench_function("tracing/registry_noop_layer", |b| {
            b.iter(|| {
                let span = tracing::info_span!(
                    "bench",
                    http.request.method = "GET",
                    http.response.status_code = 200,
                    http.route = "/books"
                );
                let _entered = span.enter();
                black_box(&span);
            })
        });
    });
    g.bench_function("otel_sdk/tracer_batch", |b| {
        b.iter(|| {
            let mut span = tracer.start("bench");
            span.set_attribute(OtelKeyValue::new("http.request.method", "GET"));
            span.set_attribute(OtelKeyValue::new("http.response.status_code", 200));
            span.set_attribute(OtelKeyValue::new("http.route", "/books"));
            black_box(&mut span);
            span.end();
        })
    });
    g.finish();

    stop_pipeline(rt, pipeline, "sampled_3_attrs");
}

/// `iters` spans started and ended in timed chunks of `chunk`, with `between` run
/// (untimed) after each chunk; returns the time the chunks took.
fn spans_in_chunks(iters: u64, chunk: u64, mut between: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(chunk);
        let start = Instant::now();
        for _ in 0..n {
            let span = TRACER.start_span("bench");
            black_box(&span);
        }
        total += start.elapsed();
        left -= n;
        between();
    }
    total
}

/// 4b. Sampled, with the drain kept off the ring while timing: spans are recorded in
///     chunks that fit the ring, and the ring is drained between chunks, untimed. This
///     is the recording thread's own cost when the drain does not compete for the
///     ring's cache lines (in `sampled`, a loop outrunning the drain makes it compete).
fn sampled_uncontended(c: &mut Criterion, rt: &Runtime) {
    const CHUNK: u64 = 1 << 11;
    let pipeline = start_pipeline(
        rt,
        Config::new()
            .with_ring_capacity(1 << 12)
            .with_drain_interval(Duration::from_secs(300)),
    );
    let mut g = c.benchmark_group("sampled_uncontended");
    g.bench_function("telemetry/start_span", |b| {
        b.iter_custom(|iters| spans_in_chunks(iters, CHUNK, || rt.block_on(pipeline.drain_now())))
    });
    g.finish();
    stop_pipeline(rt, pipeline, "sampled_uncontended");
}

/// 4c. Sampled, with the drain running at the same time but not outrun: the default
///     configuration (4,096-slot ring, drain woken at half full), spans recorded in
///     timed chunks of 512, and between chunks (untimed) the loop waits while 3,072 or
///     more spans are queued. So the drain is at work on the other vCPU during most
///     timed chunks, reading the slots the loop has just written, yet no span is
///     dropped: this is the recording cost at the highest rate the drain sustains.
fn sampled_paced(c: &mut Criterion, rt: &Runtime) {
    const CHUNK: u64 = 512;
    const AHEAD: u64 = 3072;
    let pipeline = start_pipeline(rt, Config::new());
    let queued = || {
        let s = pipeline.stats();
        s.spans_recorded - s.spans_exported - s.spans_dropped
    };
    let mut g = c.benchmark_group("sampled_paced");
    g.bench_function("telemetry/start_span", |b| {
        b.iter_custom(|iters| {
            spans_in_chunks(iters, CHUNK, || {
                while queued() >= AHEAD {
                    std::thread::yield_now();
                }
            })
        })
    });
    g.finish();
    stop_pipeline(rt, pipeline, "sampled_paced");
}

/// 5. A child span started inside a parent that is already current.
fn nested_child(c: &mut Criterion, rt: &Runtime) {
    let pipeline = start_pipeline(rt, Config::new());

    let mut g = c.benchmark_group("nested_child");
    g.bench_function("telemetry/start_span", |b| {
        let _parent = TRACER.start_span("parent");
        b.iter(|| {
            let span = TRACER.start_span("child");
            black_box(&span);
        })
    });
    g.bench_function("fastrace/local_span_in_local_parent", |b| {
        b.iter_custom(|iters| {
            fastrace_sample(iters, |n| {
                fastrace_in_roots(n, true, || {
                    let span = LocalSpan::enter_with_local_parent("child");
                    black_box(&span);
                })
            })
        })
    });
    tracing::subscriber::with_default(tracing_registry(), || {
        g.bench_function("tracing/registry_noop_layer", |b| {
            let parent = tracing::info_span!("parent");
            let _parent = parent.enter();
            b.iter(|| {
                let span = tracing::info_span!("child");
                let _entered = span.enter();
                black_box(&span);
            })
        });
    });
    g.finish();

    stop_pipeline(rt, pipeline, "nested_child");
}

/// 5b. A root and a child under `ParentBased(TraceIdRatioBased(0.5))`, over fresh trace
///     ids: half the roots are sampled, and those carry the threshold (`ot=th:8`) in
///     their trace state to their child, as OpenTelemetry's consistent probability
///     sampling asks. The SDK beside it (0.33) decides with its older algorithm and
///     writes no threshold.
fn ratio_root_and_child(c: &mut Criterion, rt: &Runtime) {
    let sampler = Sampler::parent_based(Sampler::TraceIdRatioBased(0.5));
    let pipeline = start_pipeline(rt, Config::new().with_sampler(sampler));
    let provider = otel_provider(OtelSampler::ParentBased(Box::new(
        OtelSampler::TraceIdRatioBased(0.5),
    )));
    let tracer = provider.tracer("bench");

    let mut g = c.benchmark_group("ratio_root_and_child");
    g.bench_function("telemetry/start_span", |b| {
        b.iter(|| {
            let root = TRACER.start_span("root");
            let child = TRACER.start_span("child");
            black_box((&root, &child));
        })
    });
    g.bench_function("otel_sdk/tracer_batch", |b| {
        b.iter(|| {
            tracer.in_span("root", |_| {
                let mut child = tracer.start("child");
                black_box(&mut child);
                child.end();
            })
        })
    });
    g.finish();

    stop_pipeline(rt, pipeline, "ratio_root_and_child");
    let _ = provider.shutdown();
}

/// 6. How fast the drain empties the rings: [`DRAIN_SPANS`] spans pushed (untimed), then
///    `drain_now` timed, which returns when the sink has taken every batch.
fn drain_throughput(c: &mut Criterion, rt: &Runtime) {
    // Half the ring (the high-water mark that wakes the drain) is above DRAIN_SPANS, and
    // the periodic drain is rare, so the timed `drain_now` finds all of them.
    let pipeline = start_pipeline(
        rt,
        Config::new()
            .with_ring_capacity(1 << 18)
            .with_drain_interval(Duration::from_secs(300)),
    );

    let mut g = c.benchmark_group("drain_throughput");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(DRAIN_SPANS));
    g.bench_function("telemetry/drain_now_100k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for _ in 0..DRAIN_SPANS {
                    let span = TRACER.start_span("bench");
                    black_box(&span);
                }
                let start = Instant::now();
                rt.block_on(pipeline.drain_now());
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();

    stop_pipeline(rt, pipeline, "drain_throughput");
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = telem_benches::pinned_runtime();

    disabled(&mut c);
    unsampled(&mut c, &rt);

    on_runtime_cores(|| fastrace::set_reporter(DiscardReporter::new(), FastraceConfig::default()));
    let otel = otel_provider(OtelSampler::ParentBased(Box::new(OtelSampler::AlwaysOn)));
    sampled(&mut c, &rt, &otel);
    sampled_3_attrs(&mut c, &rt, &otel);
    sampled_uncontended(&mut c, &rt);
    sampled_paced(&mut c, &rt);
    nested_child(&mut c, &rt);
    let _ = otel.shutdown();
    ratio_root_and_child(&mut c, &rt);

    drain_throughput(&mut c, &rt);

    c.final_summary();
}
