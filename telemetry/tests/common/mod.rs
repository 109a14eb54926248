//! Shared by the integration tests: one pipeline at a time per process, and a sink that
//! fails.
#![allow(dead_code)]
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use std::collections::HashMap;
use std::sync::Arc;
use telem::{
    Config, InMemorySink, Pipeline, Sink, SinkError, SinkFuture, SpanBatch, SpanData, SpanId,
};

static ONE_PIPELINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A running pipeline with an in-memory sink; holds the process-wide pipeline slot
/// until dropped (after `shutdown`).
pub(crate) struct TestPipeline {
    pub(crate) telemetry: Pipeline,
    pub(crate) sink: Arc<InMemorySink>,
    _slot: tokio::sync::MutexGuard<'static, ()>,
}

pub(crate) async fn start(config: Config) -> TestPipeline {
    start_with_sink_capacity(config, 100_000).await
}

pub(crate) async fn start_with_sink_capacity(config: Config, capacity: usize) -> TestPipeline {
    let slot = ONE_PIPELINE.lock().await;
    let sink = Arc::new(InMemorySink::new(capacity));
    let telemetry = telem::init(config.with_sink(sink.clone())).unwrap();
    TestPipeline {
        telemetry,
        sink,
        _slot: slot,
    }
}

/// Fails every span export, with [`Failing::ERROR`].
#[derive(Debug)]
pub(crate) struct Failing;

impl Failing {
    /// What every export returns.
    pub(crate) const ERROR: &'static str = "collector refused the batch";
}

impl Sink for Failing {
    fn name(&self) -> &str {
        "failing"
    }

    fn export_spans(&self, _: SpanBatch) -> SinkFuture<'_> {
        Box::pin(async { Err(SinkError::new(Self::ERROR)) })
    }
}

/// Holds the pipeline slot with no pipeline running.
pub(crate) async fn no_pipeline() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_PIPELINE.lock().await
}

impl TestPipeline {
    /// Shuts down and returns every span, keyed by name (names are unique in these tests).
    pub(crate) async fn finish(self) -> Spans {
        self.telemetry.shutdown().await;
        Spans(self.sink.spans())
    }
}

pub(crate) struct Spans(pub Vec<SpanData>);

impl Spans {
    pub(crate) fn get(&self, name: &str) -> &SpanData {
        let found: Vec<_> = self.0.iter().filter(|s| s.name == name).collect();
        assert_eq!(
            found.len(),
            1,
            "expected one span named {name:?}, got {} among {:?}",
            found.len(),
            self.0.iter().map(|s| s.name.as_str()).collect::<Vec<_>>()
        );
        found[0]
    }

    /// Asserts `child`'s parent is `parent` and they share a trace.
    pub(crate) fn assert_parent(&self, child: &str, parent: &str) {
        let (c, p) = (self.get(child), self.get(parent));
        assert_eq!(
            c.parent_span_id, p.context.span_id,
            "{child:?} should be a child of {parent:?}"
        );
        assert_eq!(
            c.context.trace_id, p.context.trace_id,
            "{child:?} and {parent:?} should share a trace"
        );
    }

    pub(crate) fn assert_root(&self, name: &str) {
        assert_eq!(
            self.get(name).parent_span_id,
            SpanId::INVALID,
            "{name:?} should be a root span"
        );
    }

    pub(crate) fn by_id(&self) -> HashMap<SpanId, &SpanData> {
        self.0.iter().map(|s| (s.context.span_id, s)).collect()
    }
}
