//! Without the `enable` feature every span operation is a no-op, even with a pipeline
//! running. Run with `cargo test -p telem --no-default-features --test feature_off`.
#![cfg(not(feature = "enable"))]

use std::sync::Arc;
use telem::prelude::*;
use telem::{Config, InMemorySink, Tracer};

static TRACER: Tracer = Tracer::new("feature-off");

#[tokio::test]
async fn spans_compile_to_nothing_without_the_enable_feature() {
    let sink = Arc::new(InMemorySink::new(10));
    let pipeline = telem::init(Config::new().with_sink(sink.clone())).unwrap();
    {
        let mut s = TRACER.start_span("off");
        s.set_i64("k", 1);
        assert!(!s.is_recording());
        assert!(!s.context().is_valid());
        assert!(telem::SpanContext::current().is_none());
        async { TRACER.in_span("off.child", |_| {}) }
            .in_current_span()
            .await;
    }
    pipeline.shutdown().await;
    assert!(sink.is_empty());
    assert_eq!(pipeline.stats().spans_recorded, 0);
}
