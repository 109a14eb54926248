//! `TelemetryLayer` beside another layer with a filter of its own: under
//! `TelemetryFilter` it filters only itself, so the other layer sees what its own
//! filter passes while telem records what the pipeline's filter passes. A global
//! pipeline (filter `info`) and a subscriber set for this thread.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use telem::{Config, InMemorySink};
use telem_tracing::{TelemetryFilter, TelemetryLayer};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::Layer;

/// Counts the events and spans it sees.
#[derive(Clone, Default)]
struct Counting {
    events: Arc<AtomicUsize>,
    spans: Arc<AtomicUsize>,
}

impl<S: Subscriber> Layer<S> for Counting {
    fn on_event(&self, _: &tracing::Event<'_>, _: Context<'_, S>) {
        self.events.fetch_add(1, Relaxed);
    }
    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        self.spans.fetch_add(1, Relaxed);
    }
}

#[tokio::test]
async fn under_telemetry_filter_the_layer_filters_only_itself() {
    let sink = Arc::new(InMemorySink::new(100));
    let pipeline = telem::init(
        Config::new()
            .with_sink(sink.clone())
            .with_log_filter("info".parse().expect("valid filter")),
    )
    .expect("pipeline");
    let counting = Counting::default();
    let subscriber = tracing_subscriber::registry()
        .with(TelemetryLayer::new().with_filter(TelemetryFilter::new()))
        .with(counting.clone());
    {
        let _default = tracing::subscriber::set_default(subscriber);
        tracing::debug!("debug: the other layer only");
        tracing::info!("info: both");
        let _debug = tracing::debug_span!("debug_span").entered();
        let _info = tracing::info_span!("info_span").entered();
    }
    pipeline.shutdown().await;
    assert_eq!(counting.events.load(Relaxed), 2);
    assert_eq!(counting.spans.load(Relaxed), 2);
    assert_eq!(sink.log_bodies(), ["info: both"]);
    assert_eq!(sink.span_names(), ["info_span"]);
}
