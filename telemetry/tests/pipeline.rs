//! The pipeline: init errors, drain, shutdown, sink isolation, overload accounting.

mod common;

use common::Failing;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use telem::{Config, InitError, Sink, SinkFuture, SpanBatch, Tracer};

static TRACER: Tracer = Tracer::new("pipeline-tests");

#[test]
fn init_outside_a_runtime_is_a_clear_error() {
    let err = telem::init(Config::new()).unwrap_err();
    assert!(matches!(err, InitError::NoRuntime));
    assert!(err.to_string().contains("tokio runtime"));
}

#[tokio::test]
async fn invalid_settings_name_the_setting_and_range() {
    let _slot = common::no_pipeline().await;
    let err = telem::init(Config::new().with_ring_capacity(100)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value 100 for `ring_capacity`: accepted values are a power of two from 64 to 16777216"
    );
    let err = telem::init(Config::new().with_drain_interval(Duration::ZERO)).unwrap_err();
    assert!(err.to_string().contains("`drain_interval`"), "{err}");
    let err = telem::init(Config::new().with_sampler(telem::Sampler::TraceIdRatioBased(2.0)))
        .unwrap_err();
    assert!(
        err.to_string().contains("`sampler`") && err.to_string().contains("0.0 to 1.0"),
        "{err}"
    );
    // Nothing was started: a valid init now succeeds.
    let t = telem::init(Config::new()).unwrap();
    t.shutdown().await;
}

#[tokio::test]
async fn a_second_pipeline_is_refused_until_shutdown() {
    let p = common::start(Config::new()).await;
    assert!(matches!(
        telem::init(Config::new()),
        Err(InitError::AlreadyRunning)
    ));
    p.telemetry.shutdown().await;
    let again = telem::init(Config::new()).unwrap();
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_flushes_everything_and_is_idempotent() {
    // A long interval: only shutdown's final drain can deliver these spans.
    let p = common::start(Config::new().with_drain_interval(Duration::from_secs(300))).await;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..500 {
                    let mut s = TRACER.start_span("work");
                    s.set_i64("thread", t);
                    s.set_i64("i", i);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let clone = p.telemetry.clone();
    p.telemetry.shutdown().await;
    assert_eq!(p.sink.len(), 2000);
    let stats = p.telemetry.stats();
    assert_eq!(stats.spans_recorded, 2000);
    assert_eq!(stats.spans_exported, 2000);
    assert_eq!(stats.spans_dropped, 0);
    // Second shutdown (and one from a clone) is a no-op.
    p.telemetry.shutdown().await;
    clone.shutdown().await;
    assert_eq!(p.sink.len(), 2000);
    // Recording is off after shutdown.
    assert!(!TRACER.start_span("after").is_recording());
}

#[tokio::test]
async fn drain_now_delivers_without_waiting_for_the_interval() {
    let p = common::start(Config::new().with_drain_interval(Duration::from_secs(300))).await;
    TRACER.in_span("now", |_| {});
    p.telemetry.drain_now().await;
    assert_eq!(p.sink.span_names(), ["now"]);
    let metrics = p.sink.latest_metrics().unwrap();
    assert_eq!(metrics.pipeline.spans_exported, 1);
    p.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passing_the_high_water_mark_wakes_the_drain() {
    // Interval far away; 64-slot rings: the 32nd span in a thread wakes the drain.
    let p = common::start(
        Config::new()
            .with_drain_interval(Duration::from_secs(300))
            .with_ring_capacity(64),
    )
    .await;
    std::thread::spawn(|| {
        for _ in 0..40 {
            TRACER.in_span("hw", |_| {});
        }
    })
    .join()
    .unwrap();
    let mut waited = 0;
    while p.sink.len() < 32 {
        assert!(waited < 10_000, "the drain never woke");
        tokio::time::sleep(Duration::from_millis(1)).await;
        waited += 1;
    }
    p.finish().await;
}

#[derive(Debug)]
struct Panicking;
impl Sink for Panicking {
    fn name(&self) -> &str {
        "panicking"
    }
    fn export_spans(&self, _: SpanBatch) -> SinkFuture<'_> {
        Box::pin(async { panic!("sink bug") })
    }
}

/// Panics in the call itself, before it returns its future (work written outside the
/// `async` block): caught and counted like a panic inside the future.
#[derive(Debug)]
struct PanickingEagerly;
impl Sink for PanickingEagerly {
    fn name(&self) -> &str {
        "panicking_eagerly"
    }
    fn export_spans(&self, _: SpanBatch) -> SinkFuture<'_> {
        panic!("sink bug before the future")
    }
}

#[derive(Debug, Default)]
struct Hanging(AtomicUsize);
impl Sink for Hanging {
    fn name(&self) -> &str {
        "hanging"
    }
    fn export_spans(&self, _: SpanBatch) -> SinkFuture<'_> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::Relaxed);
            futures::future::pending().await
        })
    }
    fn flush(&self) -> SinkFuture<'_> {
        Box::pin(futures::future::pending())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_panicking_and_hanging_sinks_do_not_starve_the_good_one() {
    let hanging = Arc::new(Hanging::default());
    let p = common::start(
        Config::new()
            .with_drain_interval(Duration::from_millis(5))
            .with_sink_timeout(Duration::from_millis(50))
            .with_sink_queue_capacity(2)
            .with_sink(Failing)
            .with_sink(Panicking)
            .with_sink(PanickingEagerly)
            .with_sink(hanging.clone()),
    )
    .await;
    let total = 300;
    for round in 0..30 {
        for _ in 0..total / 30 {
            TRACER.in_span("isolated", |_| {});
        }
        // Spread the spans over many drain cycles.
        if round % 3 == 0 {
            tokio::time::sleep(Duration::from_millis(7)).await;
        }
    }
    let telemetry = p.telemetry.clone();
    let sink = p.sink.clone();
    p.telemetry.shutdown().await;
    assert_eq!(sink.len(), total, "the good sink lost spans");
    let stats = telemetry.stats();
    let by_name = |n: &str| stats.sinks.iter().find(|s| s.name == n).unwrap().clone();
    let memory = by_name("memory");
    assert_eq!(memory.spans_delivered, total as u64);
    assert_eq!(
        memory.errors + memory.panics + memory.timeouts + memory.spans_dropped,
        0
    );
    let failing = by_name("failing");
    assert!(failing.errors > 0 && failing.spans_delivered == 0);
    assert_eq!(failing.last_error.as_deref(), Some(Failing::ERROR));
    let panicking = by_name("panicking");
    assert!(panicking.panics > 0);
    // Each kind of failure keeps its own last message.
    assert_eq!(panicking.last_panic.as_deref(), Some("sink bug"));
    assert_eq!(panicking.last_error, None);
    assert_eq!(failing.last_panic, None);
    let eager = by_name("panicking_eagerly");
    assert_eq!(
        eager.last_panic.as_deref(),
        Some("sink bug before the future")
    );
    assert_eq!(eager.spans_dropped, total as u64, "{eager:?}");
    let hung = by_name("hanging");
    assert!(hung.timeouts > 0, "{hung:?}");
    assert_eq!(hung.last_error, None, "a timeout is not an error: {hung:?}");
    assert!(hanging.0.load(Ordering::Relaxed) > 0);
    // What the hung sink could not take was dropped for it alone, and counted.
    assert_eq!(hung.spans_delivered, 0);
    assert!(stats.sink_failures() > 0);
    // Every span a sink lost is counted as dropped by that sink, whatever the failure:
    // a failed call (error, panic, timeout), a full queue, or the shutdown deadline.
    for lost_all in [&failing, &panicking, &hung] {
        assert_eq!(lost_all.spans_dropped, total as u64, "{lost_all:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_accounting_is_exact_and_memory_is_bounded() {
    // Small rings and a slow drain: 4 producers outrun it by far.
    let p = common::start_with_sink_capacity(
        Config::new()
            .with_ring_capacity(256)
            .with_drain_interval(Duration::from_millis(50)),
        1_000,
    )
    .await;
    let sink = p.sink.clone();
    let per_thread = 200_000u64;
    let producers: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..per_thread {
                    TRACER.in_span("flood", |s| s.set_i64("n", 1));
                }
            })
        })
        .collect();
    for t in producers {
        t.join().unwrap();
    }
    p.telemetry.shutdown().await;
    let stats = p.telemetry.stats();
    assert_eq!(stats.spans_recorded, 4 * per_thread);
    assert_eq!(
        stats.spans_recorded,
        stats.spans_exported + stats.spans_dropped
    );
    assert!(
        stats.spans_dropped > 0,
        "the producers never outran the drain: {stats:?}"
    );
    // Memory: the sink keeps its 1000; each producer thread held at most one 256-slot ring.
    assert!(sink.len() <= 1_000);
    assert_eq!(
        sink.evicted() + sink.len() as u64,
        stats
            .sinks
            .iter()
            .find(|s| s.name == "memory")
            .unwrap()
            .spans_delivered
    );
}
