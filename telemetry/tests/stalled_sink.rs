//! A sink whose writer never takes a byte (a pipe nobody reads) costs only its own
//! spans: the drain keeps going, the sink beside it gets every span, the stalled
//! sink's losses are counted, tasks keep running on the same runtime, and `shutdown`
//! returns at its deadline.

use std::sync::Arc;
use std::time::Duration;
use telem::{Config, InMemorySink, StdoutFormat, StdoutSink, Tracer};

#[path = "common/writers.rs"]
mod writers;
use writers::NeverWrites;

#[path = "common/one_thread.rs"]
mod one_thread;

static TRACER: Tracer = Tracer::new("stalled-sink-tests");

/// Runs `test` on a single-threaded runtime ([`one_thread::on_one_thread`]): a sink
/// blocking it would stop everything, the test's own task included.
fn on_one_thread(test: impl std::future::Future<Output = ()> + Send + 'static) {
    // One pipeline per process: the tests take turns.
    static ONE_PIPELINE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_PIPELINE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    one_thread::on_one_thread(test);
}

#[test]
fn a_stalled_writer_loses_only_its_own_spans() {
    on_one_thread(async {
        let memory = Arc::new(InMemorySink::new(100_000));
        let stdout = Arc::new(
            StdoutSink::from_writer(NeverWrites, StdoutFormat::Json).with_buffer_bytes(64 << 10),
        );
        let pipeline = telem::init(
            Config::new()
                .with_sink(stdout.clone())
                .with_sink(memory.clone())
                .with_sink_timeout(Duration::from_millis(100))
                .with_shutdown_timeout(Duration::from_millis(500)),
        )
        .unwrap();

        let rounds: usize = 10;
        let per_round: usize = 2_000;
        for round in 0..rounds {
            for _ in 0..per_round {
                let _span = TRACER.start_span("work");
            }
            // Each drain waits for the stalled sink's flush until `sink_timeout`.
            pipeline.drain_now().await;
            // Another task on the same (only) thread still runs.
            let answer = tokio::spawn(async move { round * 2 }).await.unwrap();
            assert_eq!(answer, round * 2);
        }
        let total = rounds * per_round;

        let stats = pipeline.stats();
        assert_eq!(stats.spans_recorded, total as u64);
        assert_eq!(stats.spans_exported, total as u64, "the drain kept going");
        assert_eq!(memory.spans().len(), total, "the other sink got every span");
        let stalled = &stats.sinks[0];
        assert_eq!(stalled.name, "stdout");
        assert!(stalled.spans_dropped > 0, "{stalled:?}");
        // Every span is accepted into the buffer or dropped, counted.
        assert_eq!(
            stalled.spans_delivered + stalled.spans_dropped,
            total as u64,
            "{stalled:?}"
        );
        assert!(
            stalled.errors > 0,
            "refused batches are errors: {stalled:?}"
        );
        let accepted = stalled.spans_delivered;

        // Shutdown gives up on the writer at its deadline and returns; what the writer
        // never took counts as lost.
        pipeline.shutdown().await;
        let after = pipeline.stats();
        let stalled = &after.sinks[0];
        assert_eq!(
            stalled.spans_dropped, total as u64,
            "accepted {accepted}, all lost: {stalled:?}"
        );
        assert!(!telem::is_enabled());
    });
}

/// A sink whose export never finishes (an await that never completes).
#[derive(Debug)]
struct Hung;

impl telem::Sink for Hung {
    fn name(&self) -> &str {
        "hung"
    }

    fn export_spans(&self, _batch: telem::SpanBatch) -> telem::SinkFuture<'_> {
        Box::pin(std::future::pending())
    }
}

/// `shutdown` never waits past its deadline, even for a sink whose calls never end
/// within `sink_timeout` (here as long as allowed): the sink's task is stopped and the
/// spans it held are counted as dropped.
#[test]
fn shutdown_returns_at_its_deadline_and_counts_what_a_hung_sink_held() {
    on_one_thread(async {
        let memory = Arc::new(InMemorySink::new(1_000));
        let pipeline = telem::init(
            Config::new()
                .with_sink(Hung)
                .with_sink(memory.clone())
                .with_sink_timeout(Duration::from_secs(600))
                .with_shutdown_timeout(Duration::from_millis(200)),
        )
        .unwrap();
        for _ in 0..100 {
            let _span = TRACER.start_span("work");
        }
        pipeline.shutdown().await;
        let stats = pipeline.stats();
        assert_eq!(memory.spans().len(), 100);
        let hung = &stats.sinks[0];
        assert_eq!(hung.name, "hung");
        assert_eq!(hung.spans_delivered, 0);
        assert_eq!(hung.spans_dropped, 100, "{hung:?}");
        assert!(!telem::is_enabled());
        // The pipeline is gone: a new one may start.
        let again = telem::init(Config::new()).unwrap();
        again.shutdown().await;
    });
}

/// Within the overall deadline, each sink gets twice `sink_timeout` to finish what it
/// holds at shutdown; a sink still busy then is stopped, and the spans it had not
/// reached are counted as dropped too, not only at the overall deadline; so are the
/// batches whose calls timed out.
#[test]
fn a_sink_stopped_at_its_own_shutdown_deadline_counts_what_it_held() {
    on_one_thread(async {
        let pipeline = telem::init(
            Config::new()
                .with_sink(Hung)
                .with_max_batch_size(10)
                .with_sink_timeout(Duration::from_millis(20))
                .with_shutdown_timeout(Duration::from_secs(60)),
        )
        .unwrap();
        for _ in 0..100 {
            let _span = TRACER.start_span("work");
        }
        // Ten batches of ten, each call timing out after 20 ms: the sink cannot get
        // through them in the 40 ms it has to finish.
        pipeline.shutdown().await;
        let hung = &pipeline.stats().sinks[0];
        assert_eq!(hung.spans_delivered, 0);
        assert!(hung.timeouts >= 1, "{hung:?}");
        // Batches whose call timed out, and those still queued when it was stopped.
        assert_eq!(hung.spans_dropped, 100, "{hung:?}");
    });
}
