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

/// Messaging without recording still passes the trace on: a send writes the current
/// context into the message, and the handler runs with the message's context current,
/// so what it sends carries the same trace.
#[tokio::test]
async fn messaging_passes_the_context_on_without_recording() {
    use std::collections::HashMap;
    let dest = telem::messaging::Destination::new("fake", "jobs");
    let inbound = HashMap::from([(
        "traceparent".to_owned(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
    )]);
    let forwarded = dest
        .receive(&inbound)
        .process(async {
            let mut headers = HashMap::new();
            dest.send(&mut headers).end();
            Ok::<_, std::io::Error>(headers)
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(forwarded.get("traceparent"), inbound.get("traceparent"));
}
