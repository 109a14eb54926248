//! A bridged `tracing` event with up to four fields of scalars or short strings, and a
//! message that fits inline, records without allocating on the calling thread (counted
//! by a global allocator: a count, not a timing).
// A global allocator is an `unsafe impl`; this one only counts and forwards to `System`.
#![allow(unsafe_code)]

use std::sync::Arc;
use telem::{Config, InMemorySink};
use tracing_subscriber::layer::SubscriberExt as _;

#[path = "../../../telemetry/tests/common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

const EVENTS: u64 = 500;

fn event(i: u64) {
    tracing::info!(
        book.id = i,
        user = "alice",
        cached = true,
        ratio = 0.5,
        "book {i} found"
    );
}

#[test]
fn a_bridged_event_with_four_short_fields_does_not_allocate() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sink = Arc::new(InMemorySink::new(10 * EVENTS as usize));
    let pipeline = {
        let _enter = rt.enter();
        telem::init(
            Config::new()
                .with_sink(sink.clone())
                .with_log_ring_capacity(2048),
        )
        .unwrap()
    };
    let subscriber = tracing_subscriber::registry().with(telem_tracing::TelemetryLayer::new());
    let per_event = tracing::subscriber::with_default(subscriber, || {
        // Warm-up: the thread's log ring, the call site's site and verdict.
        for i in 0..10 {
            event(i);
        }
        let before = allocations();
        for i in 0..EVENTS {
            event(i);
        }
        (allocations() - before) as f64 / EVENTS as f64
    });
    rt.block_on(pipeline.shutdown());
    assert_eq!(per_event, 0.0, "allocations per bridged event");
    // They were recorded, not dropped.
    assert_eq!(sink.logs().len() as u64, EVENTS + 10);
    let last = sink.logs().pop().unwrap();
    assert_eq!(last.body.as_str(), format!("book {} found", EVENTS - 1));
    assert_eq!(last.attributes.len(), 4);
}
