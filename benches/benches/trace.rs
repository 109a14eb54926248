//! Cost of the `#[telem::trace]` attribute beside the same span written by hand,
//! fastrace's `#[fastrace::trace]` and `tracing`'s `#[tracing::instrument]`, on empty
//! fns, in one run:
//!
//! ```sh
//! cargo bench -p telem-benches --features peers --bench trace
//! ```
//!
//! One group, `trace`, with our pipeline running (AlwaysOn sampler, rings of `1 << 16`,
//! a sink that discards) for its `sync`, `method` and `async` cases, then shut down for
//! its `off` cases (only one pipeline can run per process):
//!
//! - `sync/*`: an empty sync fn: `#[telem::trace]`, `TRACER.start_span` by hand,
//!   `#[fastrace::trace]` (a local span, inside a local parent), `#[tracing::instrument]`
//!   (Registry + a layer that does nothing, set with `with_default`).
//! - `method/*`: an empty `&self` method of an inherent impl: `#[telem::trace]`
//!   (named `S::m`, the name cached after the first call) and by hand.
//! - `async/*`: an empty `async fn`, created and polled once to completion with a no-op
//!   waker (no executor): `#[telem::trace]`, `in_span` by hand, `#[fastrace::trace]`,
//!   `#[tracing::instrument]`.
//! - `off/*`: the sync fn with no pipeline running: `#[telem::trace]` and by hand.
//!
//! fastrace's local spans are kept until their root ends, so its cases run in roots of
//! [`telem_benches::FASTRACE_CHUNK`] calls, each sample on a fresh thread with the collector flushed
//! after it, as in `benches/spans.rs` (root start and end included, amortised).
#![forbid(unsafe_code)]

use criterion::Criterion;
use fastrace::collector::Config as FastraceConfig;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use telem::prelude::*;
use telem::{Config, Sampler, Tracer};
use telem_benches::{
    fastrace_in_roots, fastrace_sample, on_runtime_cores, start_pipeline, stop_pipeline,
    DiscardReporter, NoopLayer,
};
use tokio::runtime::Runtime;
use tracing_subscriber::layer::SubscriberExt as _;

/// The hand-written spans' tracer, with the scope `#[telem::trace]` gives its spans
/// (the crate's name).
static TRACER: Tracer = Tracer::new("telem-benches");

#[telem::trace]
fn telemetry_sync() {}

fn hand_sync() {
    let _s = TRACER.start_span("hand_sync");
}

#[fastrace::trace]
fn fastrace_sync() {}

#[tracing::instrument]
fn tracing_sync() {}

/// The type whose method is instrumented.
struct S;

impl S {
    #[telem::trace]
    fn m(&self) {}

    fn m_by_hand(&self) {
        let _s = TRACER.start_span("S::m_by_hand");
    }
}

#[telem::trace]
async fn telemetry_async() {}

fn hand_async() -> impl Future<Output = ()> {
    async {}.in_span(TRACER.span("hand_async").start_detached())
}

#[fastrace::trace]
async fn fastrace_async() {}

#[tracing::instrument]
async fn tracing_async() {}

/// Polls `fut` once with a no-op waker; it must complete in that poll.
fn poll_ready<F: Future<Output = ()>>(fut: F) {
    let fut = pin!(fut);
    let mut cx = TaskContext::from_waker(Waker::noop());
    match fut.poll(&mut cx) {
        Poll::Ready(()) => {}
        Poll::Pending => panic!("an empty async fn was pending"),
    }
}

fn tracing_registry() -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry().with(NoopLayer)
}

fn trace(c: &mut Criterion, rt: &Runtime) {
    let pipeline = start_pipeline(
        rt,
        Config::new()
            .with_sampler(Sampler::AlwaysOn)
            .with_ring_capacity(1 << 16),
    );
    let mut g = c.benchmark_group("trace");

    // Sync empty fn.
    g.bench_function("sync/telemetry_trace", |b| b.iter(telemetry_sync));
    g.bench_function("sync/telemetry_by_hand", |b| b.iter(hand_sync));
    g.bench_function("sync/fastrace_trace", |b| {
        b.iter_custom(|iters| {
            fastrace_sample(iters, |n| fastrace_in_roots(n, false, fastrace_sync))
        })
    });
    tracing::subscriber::with_default(tracing_registry(), || {
        g.bench_function("sync/tracing_instrument", |b| b.iter(tracing_sync));
    });

    // Sync inherent method.
    let s = S;
    g.bench_function("method/telemetry_trace", |b| b.iter(|| black_box(&s).m()));
    g.bench_function("method/telemetry_by_hand", |b| {
        b.iter(|| black_box(&s).m_by_hand())
    });

    // Async empty fn, created and polled once to completion.
    g.bench_function("async/telemetry_trace", |b| {
        b.iter(|| poll_ready(telemetry_async()))
    });
    g.bench_function("async/telemetry_by_hand_in_span", |b| {
        b.iter(|| poll_ready(hand_async()))
    });
    g.bench_function("async/fastrace_trace", |b| {
        b.iter_custom(|iters| {
            fastrace_sample(iters, |n| {
                fastrace_in_roots(n, false, || poll_ready(fastrace_async()))
            })
        })
    });
    tracing::subscriber::with_default(tracing_registry(), || {
        g.bench_function("async/tracing_instrument", |b| {
            b.iter(|| poll_ready(tracing_async()))
        });
    });

    // No pipeline running.
    stop_pipeline(rt, pipeline, "trace");
    g.bench_function("off/telemetry_trace", |b| b.iter(telemetry_sync));
    g.bench_function("off/telemetry_by_hand", |b| b.iter(hand_sync));

    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = telem_benches::pinned_runtime();
    on_runtime_cores(|| fastrace::set_reporter(DiscardReporter::new(), FastraceConfig::default()));

    trace(&mut c, &rt);

    c.final_summary();
}
