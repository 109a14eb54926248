//! Without the `enable` feature, `#[trace]` fns run unchanged and record nothing, even
//! with a pipeline running. Run with
//! `cargo test -p telem --no-default-features --test trace_feature_off`.
#![cfg(not(feature = "enable"))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use telem::{trace, Config, InMemorySink};

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn counted() -> u32 {
    EVALUATED.fetch_add(1, Ordering::Relaxed);
    1
}

#[trace(fields(counted = counted()), record(x), err)]
fn sync_fn(x: u32) -> Result<u32, String> {
    assert!(telem::SpanContext::current().is_none());
    if x == 0 {
        return Err("zero".into());
    }
    Ok(x)
}

#[trace(kind = server, fields(counted = counted()))]
async fn async_fn() -> bool {
    tokio::task::yield_now().await;
    telem::SpanContext::current().is_none()
}

#[tokio::test]
async fn trace_records_nothing_without_the_enable_feature() {
    let sink = Arc::new(InMemorySink::new(10));
    let pipeline = telem::init(Config::new().with_sink(sink.clone())).unwrap();
    assert_eq!(sync_fn(2), Ok(2));
    assert!(sync_fn(0).is_err());
    assert!(async_fn().await);
    pipeline.shutdown().await;
    assert!(sink.is_empty());
    assert_eq!(
        EVALUATED.load(Ordering::Relaxed),
        0,
        "fields are not evaluated"
    );
}
