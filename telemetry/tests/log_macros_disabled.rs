//! Log calls that are filtered out evaluate none of their fields and arguments: without
//! a pipeline, below the pipeline's filter, and again after the filter changes. A test
//! binary of its own: a `TestPipeline` alive anywhere in the process records every
//! call, so no test here may start one.

use std::cell::Cell;
use std::sync::Arc;
use telem::{debug, error, info, log, trace_log, warn, Config, InMemorySink, Level, LogFilter};

/// Counts the evaluations of what the calls below would record.
#[derive(Default)]
struct Evaluations(Cell<usize>);

impl Evaluations {
    fn count(&self) -> usize {
        self.0.set(self.0.get() + 1);
        self.0.get()
    }

    fn take(&self) -> usize {
        self.0.replace(0)
    }
}

/// One call per level and per way of writing it: message arguments, captures, format
/// specs, every kind of field.
fn call_every_level(e: &Evaluations) {
    let captured = 1;
    error!(k = e.count(), "{}", e.count());
    warn!(%captured, v = %e.count(), "{captured} {:?}", e.count());
    info!(d = ?e.count(), "{x}", x = e.count());
    debug!(k = e.count());
    trace_log!("{:>3}", e.count());
    log!(Level::Debug, "{}", e.count());
}

#[tokio::test]
async fn filtered_out_calls_evaluate_nothing() {
    let e = Evaluations::default();

    // No pipeline: nothing is recorded, nothing evaluated.
    call_every_level(&e);
    assert_eq!(e.take(), 0);

    #[cfg(feature = "enable")]
    {
        let sink = Arc::new(InMemorySink::new(64));
        let config = Config::new()
            .with_sink(sink.clone())
            .with_log_filter(LogFilter::parse("warn").unwrap());
        let pipeline = telem::init(config).unwrap();

        // Levels compiled in (all of them, without a `max_level_*` feature).
        let on = |level| usize::from(telem::macro_support::logs::static_enabled(level));
        let (error, warn, info, debug) = (
            on(Level::Error),
            on(Level::Warn),
            on(Level::Info),
            on(Level::Debug),
        );

        // `warn`: the `error!` and `warn!` calls run (two values each), no other.
        call_every_level(&e);
        assert_eq!(e.take(), 2 * error + 2 * warn);

        // Changed at run time: `debug` lets `info!`, `debug!` and `log!(Debug)` through.
        pipeline.set_log_filter(LogFilter::parse("debug").unwrap());
        call_every_level(&e);
        assert_eq!(e.take(), 2 * error + 2 * warn + 2 * info + 2 * debug);

        pipeline.set_log_filter(LogFilter::parse("off").unwrap());
        call_every_level(&e);
        assert_eq!(e.take(), 0);

        pipeline.shutdown().await;
        let records = sink.logs();
        assert_eq!(
            records.len(),
            2 * (error + warn) + info + 2 * debug,
            "{:?}",
            sink.log_bodies()
        );
        assert!(records.iter().all(|r| r.level() != Some(Level::Trace)));
    }
    #[cfg(not(feature = "enable"))]
    {
        // Without `enable`, the calls compile to nothing even with a pipeline running.
        let sink = Arc::new(InMemorySink::new(64));
        let config = Config::new()
            .with_sink(sink.clone())
            .with_log_filter(LogFilter::parse("trace").unwrap());
        let pipeline = telem::init(config).unwrap();
        call_every_level(&e);
        assert_eq!(e.take(), 0);
        pipeline.shutdown().await;
        assert!(sink.logs().is_empty());
    }
}
