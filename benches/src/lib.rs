//! Criterion benchmarks of `telemetry` beside its peers (`benches/spans.rs`), and a
//! memory program (`src/bin/memory.rs`); this library holds what both use.
//!
//! Run with `cargo bench -p telemetry-benches --features peers` and
//! `cargo run --release -p telemetry-benches --bin memory -- 30`.
#![forbid(unsafe_code)]

use telemetry::{Sink, SinkError, SpanBatch};

/// A [`Sink`] that drops every batch it is given, so a measurement sees the cost of
/// recording and draining spans and nothing of exporting them.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardSink;

#[telemetry::async_trait]
impl Sink for DiscardSink {
    fn name(&self) -> &str {
        "discard"
    }

    async fn export_spans(&self, batch: SpanBatch) -> Result<(), SinkError> {
        drop(batch);
        Ok(())
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
