//! `Config::with_logs_as_span_events`: logs made inside a sampled span also become
//! events of that span, in time order with its own events, within the span's event limit.

use std::sync::Arc;
use telem::{Config, InMemorySink, Tracer, Value};

static TRACER: Tracer = Tracer::new("span-events-test");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_inside_a_sampled_span_become_its_events() {
    let sink = Arc::new(InMemorySink::new(1000));
    let pipeline = telem::init(
        Config::new()
            .with_sink(sink.clone())
            .with_logs_as_span_events(true),
    )
    .unwrap();
    {
        let mut span = TRACER.start_span("request");
        telem::info!(book.id = 7, "looking up");
        span.add_event("cache.miss", []);
        telem::warn!("book {} not found", 7);
    }
    // A span still running when the drain passes keeps its logs for later.
    let long = TRACER.start_span("long");
    telem::info!("first");
    pipeline.drain_now().await;
    telem::info!("second");
    drop(long);
    telem::info!("outside any span");
    pipeline.shutdown().await;

    let spans = sink.spans();
    let request = spans.iter().find(|s| s.name == "request").unwrap();
    let names: Vec<&str> = request.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["looking up", "cache.miss", "book 7 not found"]);
    let first = &request.events[0];
    assert!(first
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "log.severity" && kv.value == Value::from("INFO")));
    assert!(first
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "book.id" && kv.value == Value::I64(7)));
    let long = spans.iter().find(|s| s.name == "long").unwrap();
    let names: Vec<&str> = long.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["first", "second"]);
    // The records are still exported as logs.
    assert_eq!(pipeline.stats().logs.exported(telem::Level::Info), 4);
}
