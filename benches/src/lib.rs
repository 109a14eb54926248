//! Criterion benchmarks of `telemetry` beside its peers (`benches/spans.rs`), a
//! memory program (`src/bin/memory.rs`) and a service-level benchmark
//! (`src/bin/service.rs`); this library holds what the first two use.
//!
//! Run with `cargo bench -p telem-benches --features peers`,
//! `cargo run --release -p telem-benches --bin memory -- 30` and
//! `cargo run --release -p telem-benches --features peers --bin service`.
#![forbid(unsafe_code)]

use telem::{Config, Pipeline, Sink, SinkFuture, SpanBatch};
use tokio::runtime::Runtime;

/// A [`Sink`] that drops every batch it is given, so a measurement sees the cost of
/// recording and draining spans and nothing of exporting them.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardSink;

impl Sink for DiscardSink {
    fn name(&self) -> &str {
        "discard"
    }

    fn export_spans(&self, batch: SpanBatch) -> SinkFuture<'_> {
        drop(batch);
        Box::pin(async { Ok(()) })
    }
}

/// A fastrace [`Reporter`](fastrace::collector::Reporter) that drops every span it
/// is given and counts them, the fastrace counterpart of [`DiscardSink`].
#[cfg(feature = "peers")]
#[derive(Debug, Default, Clone)]
pub struct DiscardReporter {
    reported: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

#[cfg(feature = "peers")]
impl DiscardReporter {
    /// A reporter with its count at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Spans reported so far, by this reporter and its clones.
    pub fn reported(&self) -> u64 {
        self.reported.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(feature = "peers")]
impl fastrace::collector::Reporter for DiscardReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        self.reported
            .fetch_add(spans.len() as u64, std::sync::atomic::Ordering::Relaxed);
    }
}

/// An OpenTelemetry SDK span exporter that drops every batch: the SDK's counterpart of
/// [`DiscardSink`].
#[cfg(feature = "peers")]
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardExporter;

#[cfg(feature = "peers")]
impl opentelemetry_sdk::trace::SpanExporter for DiscardExporter {
    fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        drop(batch);
        std::future::ready(Ok(()))
    }
}

/// The multi-thread tokio runtime (one worker per core) the memory program's pipeline
/// and drain run on, with no thread pinned.
///
/// # Panics
/// If the runtime cannot start (the program cannot run at all).
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The runtime every timed benchmark's pipeline and drain run on, with the calling
/// thread pinned apart from it.
///
/// The calling thread (which records the spans, or sends the requests) is pinned to the
/// first core, and the runtime's threads to the others. On a 2-vCPU machine the
/// scheduler otherwise sometimes runs the drain on the recording core, and a timed loop
/// then pays for the drain's work too: `sampled_paced` measured 80 ns with every thread
/// on one core and 27–31 ns with the drain on the other. With one core there is nothing
/// to pin. Peers' background threads are started with [`on_runtime_cores`], so they get
/// the same treatment as our drain.
///
/// # Panics
/// If the runtime cannot start (the benchmark cannot run at all).
pub fn pinned_runtime() -> Runtime {
    let (recording, rest) = cores();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(move || {
            if !rest.is_empty() {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                core_affinity::set_for_current(rest[i % rest.len()]);
            }
        })
        .build()
        .expect("tokio runtime");
    if let Some(core) = recording {
        core_affinity::set_for_current(core);
    }
    runtime
}

/// The first core and the others, if there are at least two (else nothing to pin):
/// the recording core and the runtime's in the criterion benchmarks, the load
/// generator's and the server's in the service benchmark.
pub fn cores() -> (Option<core_affinity::CoreId>, Vec<core_affinity::CoreId>) {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    match cores.split_first() {
        Some((first, rest)) if !rest.is_empty() => (Some(*first), rest.to_vec()),
        _ => (None, Vec::new()),
    }
}

/// Runs `f` on a thread pinned to the runtime's cores, so the threads it starts (a
/// peer's collector or batch processor) run there too, beside our drain, and not on the
/// recording core that [`runtime`] pinned the caller to.
pub fn on_runtime_cores<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                if let Some(&core) = cores().1.first() {
                    core_affinity::set_for_current(core);
                }
                f()
            })
            .join()
            .expect("set-up thread panicked")
    })
}

/// Starts a pipeline on `rt` with `config` plus a [`DiscardSink`].
///
/// # Panics
/// If another pipeline is running: a benchmark runs one at a time.
pub fn start_pipeline(rt: &Runtime, config: Config) -> Pipeline {
    let _enter = rt.enter();
    telem::init(config.with_sink(DiscardSink)).expect("no other pipeline is running")
}

/// Shuts `pipeline` down and prints its stats once, labelled `group`.
pub fn stop_pipeline(rt: &Runtime, pipeline: Pipeline, group: &str) {
    rt.block_on(pipeline.shutdown());
    let s = pipeline.stats();
    let sink_dropped: u64 = s.sinks.iter().map(|k| k.spans_dropped).sum();
    eprintln!(
        "[{group}] telemetry stats: recorded {} sampled_out {} exported {} dropped (ring full) {} \
         dropped (sink queue full) {} drains {}",
        s.spans_recorded,
        s.spans_sampled_out,
        s.spans_exported,
        s.spans_dropped,
        sink_dropped,
        s.drains
    );
}

/// Local spans per fastrace root in the "sustained local span" benchmarks. fastrace keeps
/// a root's local spans in a thread-local queue of 10,240 until the root's local parent
/// guard drops; past that, new local spans are no-ops. So the loops end the root (which
/// submits its local spans to the collector) every `FASTRACE_CHUNK` spans, and that cost,
/// amortised, is part of the figure.
#[cfg(feature = "peers")]
pub const FASTRACE_CHUNK: u64 = 1000;

/// Times `run(iters)` on a fresh thread, then flushes fastrace's collector. fastrace's
/// collector cannot keep up with a tight loop; a fresh thread per sample keeps one
/// sample's backlog from slowing the next (and every later benchmark in the process).
#[cfg(feature = "peers")]
pub fn fastrace_sample(iters: u64, run: fn(u64) -> std::time::Duration) -> std::time::Duration {
    let elapsed = std::thread::spawn(move || {
        // Registers the thread with the collector before the clock starts.
        drop(fastrace::Span::root(
            "warm-up",
            fastrace::collector::SpanContext::random(),
        ));
        run(iters)
    })
    .join()
    .expect("fastrace sample thread panicked");
    fastrace::flush();
    elapsed
}

/// Runs `body` `iters` times inside fastrace roots of [`FASTRACE_CHUNK`] calls each, each
/// root its thread's local parent (with a local span `parent` around the calls if
/// `nested`), timing everything, root start and end included.
#[cfg(feature = "peers")]
pub fn fastrace_in_roots(iters: u64, nested: bool, body: fn()) -> std::time::Duration {
    let start = std::time::Instant::now();
    let mut left = iters;
    while left > 0 {
        let n = left.min(FASTRACE_CHUNK);
        let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
        let guard = root.set_local_parent();
        let parent = nested.then(|| fastrace::local::LocalSpan::enter_with_local_parent("parent"));
        for _ in 0..n {
            body();
        }
        drop(parent);
        drop(guard);
        drop(root);
        left -= n;
    }
    start.elapsed()
}

/// A `tracing` layer that does nothing, so `Registry` + this layer is `tracing`'s cost of
/// creating, entering and closing a span.
#[cfg(feature = "peers")]
#[derive(Debug)]
pub struct NoopLayer;

#[cfg(feature = "peers")]
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for NoopLayer {
    fn on_new_span(
        &self,
        _attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
    }

    fn on_close(&self, _id: tracing::span::Id, _ctx: tracing_subscriber::layer::Context<'_, S>) {}
}

/// Benchmarks [`tracing_info_3_fields`] inside an entered span through the usual
/// `tracing` logging stack, as `tracing/fmt_json_non_blocking_in_span` in `g`:
/// `tracing-subscriber`'s JSON formatter at `INFO` through `tracing-appender`'s
/// non-blocking writer into `io::sink()` (its worker thread on the runtime's cores),
/// flushed at the end.
#[cfg(feature = "peers")]
pub fn bench_tracing_json_event(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::Layer as _;
    let (writer, guard) = on_runtime_cores(|| tracing_appender::non_blocking(std::io::sink()));
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(writer)
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
    );
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request");
        let _entered = span.enter();
        g.bench_function("tracing/fmt_json_non_blocking_in_span", |b| {
            b.iter(tracing_info_3_fields)
        });
    });
    drop(guard);
}

/// The log benchmarks' `tracing` event: `info!` with a formatted message and 3 fields.
#[cfg(feature = "peers")]
pub fn tracing_info_3_fields() {
    let id = std::hint::black_box(42u64);
    tracing::info!(
        book.id = id,
        user = "alice",
        cached = true,
        "book {id} found"
    );
}
