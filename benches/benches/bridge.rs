//! `tracing` spans and events through telem-tracing's bridge, beside the same calls
//! through `tracing` with a no-op layer, `tracing-opentelemetry` with the OpenTelemetry
//! SDK, and tracing-subscriber's JSON formatter with tracing-appender's non-blocking
//! writer, in one run:
//!
//! ```sh
//! cargo bench -p telem-benches --features peers --bench bridge
//! ```
//!
//! Groups:
//! - `bridge_span`: an `info_span!` created, entered, exited and closed, sampled, with
//!   the pipeline's drain running on the other core. Beside the peers, two layers that
//!   do only what any layer keeping per-span data over the registry must: look the span
//!   up in each callback (`registry_lookups_only`), and also keep a value in its
//!   extensions (`registry_extensions_only`): the floor under a bridged span.
//! - `bridge_span_filtered`: a `debug_span!` under an `info` filter: the bridge's
//!   filtered-out span beside `tracing`'s disabled one (a `LevelFilter` layer).
//! - `bridge_event`: `tracing::info!` with a formatted message and 3 fields inside an
//!   entered span; each sample starts with the rings emptied (untimed) and the log ring
//!   holds a whole sample, so every call is recorded.
//!
//! Subscribers are scoped to each benchmark with `with_default`.
#![forbid(unsafe_code)]

use criterion::{Criterion, SamplingMode, Throughput};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{Sampler as OtelSampler, SdkTracerProvider};
use std::hint::black_box;
use std::time::{Duration, Instant};
use telem::Config;
use telem_benches::{
    bench_tracing_json_event, on_runtime_cores, start_pipeline, stop_pipeline,
    tracing_info_3_fields, DiscardExporter, NoopLayer,
};
use telem_tracing::TelemetryLayer;
use tokio::runtime::Runtime;
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;

/// Calls per timed sample in `bridge_event`: what the log ring holds.
const SAMPLE_CALLS: u64 = 100_000;
/// Log ring capacity: a whole sample fits.
const RING: usize = 1 << 18;

/// Looks the span up in `on_new_span`, `on_enter` and `on_close`, as a layer reaching
/// its per-span data must.
struct LookupsOnly;

impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for LookupsOnly {
    fn on_new_span(&self, _: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        black_box(ctx.span(id).is_some());
    }
    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        black_box(ctx.span(id).is_some());
    }
    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        black_box(ctx.span(&id).is_some());
    }
}

/// [`LookupsOnly`], keeping a word in the span's extensions (inserted, read, removed).
struct ExtensionsOnly;

impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for ExtensionsOnly {
    fn on_new_span(&self, _: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(7u64);
        }
    }
    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        if let Some(span) = ctx.span(id) {
            black_box(span.extensions().get::<u64>().copied());
        }
    }
    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            black_box(span.extensions_mut().remove::<u64>());
        }
    }
}

fn span_cycle() {
    let span = tracing::info_span!("bench");
    let _entered = span.enter();
    black_box(&span);
}

fn bridge_span(c: &mut Criterion, rt: &Runtime) {
    let pipeline = start_pipeline(rt, Config::new());
    let mut g = c.benchmark_group("bridge_span");
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(TelemetryLayer::new()),
        || {
            g.bench_function("telem_tracing/bridged", |b| b.iter(span_cycle));
        },
    );
    tracing::subscriber::with_default(tracing_subscriber::registry().with(NoopLayer), || {
        g.bench_function("tracing/registry_noop_layer", |b| b.iter(span_cycle));
    });
    tracing::subscriber::with_default(tracing_subscriber::registry().with(LookupsOnly), || {
        g.bench_function("tracing/registry_lookups_only", |b| b.iter(span_cycle));
    });
    tracing::subscriber::with_default(tracing_subscriber::registry().with(ExtensionsOnly), || {
        g.bench_function("tracing/registry_extensions_only", |b| b.iter(span_cycle));
    });
    let otel = on_runtime_cores(|| {
        SdkTracerProvider::builder()
            .with_sampler(OtelSampler::ParentBased(Box::new(OtelSampler::AlwaysOn)))
            .with_batch_exporter(DiscardExporter)
            .build()
    });
    let layer = tracing_opentelemetry::layer().with_tracer(otel.tracer("bench"));
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        g.bench_function("tracing_opentelemetry/sdk_batch", |b| b.iter(span_cycle));
    });
    g.finish();
    let _ = otel.shutdown();
    stop_pipeline(rt, pipeline, "bridge_span");
}

fn filtered_span() {
    let span = tracing::debug_span!("bench");
    let _entered = span.enter();
    black_box(&span);
}

fn bridge_span_filtered(c: &mut Criterion, rt: &Runtime) {
    let pipeline = start_pipeline(rt, Config::new());
    let mut g = c.benchmark_group("bridge_span_filtered");
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(TelemetryLayer::new()),
        || {
            g.bench_function("telem_tracing/debug_under_info", |b| b.iter(filtered_span));
        },
    );
    let disabled = tracing_subscriber::registry()
        .with(LevelFilter::INFO)
        .with(NoopLayer);
    tracing::subscriber::with_default(disabled, || {
        g.bench_function("tracing/debug_under_info", |b| b.iter(filtered_span));
    });
    g.finish();
    stop_pipeline(rt, pipeline, "bridge_span_filtered");
}

fn bridge_event(c: &mut Criterion, rt: &Runtime) {
    let pipeline = start_pipeline(rt, Config::new().with_log_ring_capacity(RING));
    let mut g = c.benchmark_group("bridge_event");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(1));
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(TelemetryLayer::new()),
        || {
            let span = tracing::info_span!("request");
            let _entered = span.enter();
            g.bench_function("telem_tracing/info_3_fields_in_span", |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    let mut left = iters;
                    while left > 0 {
                        let n = left.min(SAMPLE_CALLS);
                        rt.block_on(pipeline.drain_now());
                        let start = Instant::now();
                        for _ in 0..n {
                            tracing_info_3_fields();
                        }
                        total += start.elapsed();
                        left -= n;
                    }
                    total
                })
            });
        },
    );
    let s = pipeline.stats();
    eprintln!(
        "[bridge_event] logs: recorded {:?} exported {:?} dropped (ring full) {:?}",
        s.logs.recorded, s.logs.exported, s.logs.dropped
    );
    bench_tracing_json_event(&mut g);
    g.finish();
    stop_pipeline(rt, pipeline, "bridge_event");
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = telem_benches::pinned_runtime();
    bridge_span(&mut c, &rt);
    bridge_span_filtered(&mut c, &rt);
    bridge_event(&mut c, &rt);
    c.final_summary();
}
