//! `PrometheusSink`: renders at each drain tick, serves the cached bytes to scrapes.

use super::exposition::{render, Format};
use super::{global, Registry};
use crate::{MetricsSnapshot, Sink, SinkFuture, SpanBatch};
use std::sync::{Arc, Mutex};

/// A scrape answer: the body and its `Content-Type`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Exposition {
    /// The rendered text (shared: serving it copies nothing).
    pub body: Arc<Vec<u8>>,
    /// The `Content-Type` header value.
    pub content_type: &'static str,
}

#[derive(Debug, Default)]
struct Cache {
    prometheus: Option<Arc<Vec<u8>>>,
    openmetrics: Option<Arc<Vec<u8>>>,
    renders: u64,
}

/// A [`Sink`] that keeps the metrics ready for Prometheus to scrape.
///
/// At each drain tick it renders the tick's snapshot (the global registry's, after
/// the callbacks and collectors ran) in both formats, reusing the previous buffers once
/// no scrape holds them, and [`scrape`](PrometheusSink::scrape) serves the cached bytes
/// for the format the `Accept` header asks for. Before the first tick a scrape renders
/// live. With [`from_registry`](PrometheusSink::from_registry) it serves a local
/// registry instead (collected at each tick).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::Arc;
/// use telem::{Config, PrometheusSink};
/// let prometheus = Arc::new(PrometheusSink::new());
/// let pipeline = telem::init(Config::new().with_sink(prometheus.clone())).unwrap();
/// telem::counter!("doc_sink_requests_total").increment(1);
/// pipeline.drain_now().await;
/// let scrape = prometheus.scrape("text/plain");
/// assert!(String::from_utf8_lossy(&scrape.body).contains("doc_sink_requests_total 1\n"));
/// pipeline.shutdown().await;
/// # }
/// ```
#[derive(Debug)]
pub struct PrometheusSink {
    registry: Option<Registry>,
    cache: Mutex<Cache>,
}

impl Default for PrometheusSink {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusSink {
    /// Serves the global registry, from the pipeline's snapshot at each tick.
    pub fn new() -> Self {
        Self {
            registry: None,
            cache: Mutex::default(),
        }
    }

    /// Serves `registry` (collected and rendered at each tick) instead of the global one.
    pub fn from_registry(registry: Registry) -> Self {
        Self {
            registry: Some(registry),
            cache: Mutex::default(),
        }
    }

    fn registry(&self) -> &Registry {
        self.registry.as_ref().unwrap_or_else(|| global())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The body for the format `accept` (an `Accept` header value) asks for: the bytes
    /// rendered at the last tick, or a live render before the first.
    pub fn scrape(&self, accept: &str) -> Exposition {
        self.exposition(Format::from_accept(accept))
    }

    /// The body in `format`: cached at the last tick, or rendered live before the first.
    pub fn exposition(&self, format: Format) -> Exposition {
        let cached = {
            let cache = self.lock();
            match format {
                Format::OpenMetrics => cache.openmetrics.clone(),
                _ => cache.prometheus.clone(),
            }
        };
        let body = cached.unwrap_or_else(|| Arc::new(self.registry().render(format)));
        Exposition {
            body,
            content_type: format.content_type(),
        }
    }

    /// How many ticks rendered so far.
    pub fn renders(&self) -> u64 {
        self.lock().renders
    }

    /// Renders `families` in both formats into the cache, reusing its buffers.
    fn update(&self, families: &[super::MetricFamilySnapshot]) {
        let (old_prom, old_om) = {
            let mut cache = self.lock();
            (cache.prometheus.take(), cache.openmetrics.take())
        };
        let prometheus = Arc::new(render_reusing(old_prom, families, Format::Prometheus));
        let openmetrics = Arc::new(render_reusing(old_om, families, Format::OpenMetrics));
        let mut cache = self.lock();
        cache.prometheus = Some(prometheus);
        cache.openmetrics = Some(openmetrics);
        cache.renders += 1;
    }
}

/// Renders into the old buffer when no scrape holds it any more.
fn render_reusing(
    old: Option<Arc<Vec<u8>>>,
    families: &[super::MetricFamilySnapshot],
    format: Format,
) -> Vec<u8> {
    let mut buf = match old.map(Arc::try_unwrap) {
        Some(Ok(mut buf)) => {
            buf.clear();
            buf
        }
        Some(Err(shared)) => Vec::with_capacity(shared.len()),
        None => Vec::new(),
    };
    render(families, format, &mut buf);
    buf
}

impl Sink for PrometheusSink {
    fn name(&self) -> &str {
        "prometheus"
    }

    fn export_spans(&self, batch: SpanBatch) -> SinkFuture<'_> {
        drop(batch);
        Box::pin(async { Ok(()) })
    }

    fn export_metrics(&self, snapshot: Arc<MetricsSnapshot>) -> SinkFuture<'_> {
        Box::pin(async move {
            match &self.registry {
                Some(registry) => self.update(&registry.collect()),
                None => self.update(&snapshot.metrics),
            }
            Ok(())
        })
    }
}
