//! `#[trace]` on `async fn`s, fns returning `impl Future`, async trait methods (native and
//! `#[async_trait]`): the span tree across `.await`, `join!` and spawn; the span is
//! current in every poll and only then; where the span starts; panics.
#![cfg(feature = "enable")]
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use futures::task::noop_waker_ref;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use telem::{trace, Config, Context, SpanId, Status, Tracer};

static TRACER: Tracer = Tracer::new("trace-async-tests");

fn config() -> Config {
    Config::new().with_drain_interval(Duration::from_millis(10))
}

/// Yields enough times that a multi-thread runtime moves the task between workers.
async fn hop(times: usize) {
    for _ in 0..times {
        tokio::task::yield_now().await;
    }
}

#[trace]
async fn handler() -> u32 {
    hop(3).await;
    let (a, b) = tokio::join!(fetch("a", 5), fetch("b", 1));
    let c = telem::spawn(spawned()).await.unwrap();
    a + b + c
}

#[trace(record(source))]
async fn fetch(source: &'static str, delay_ms: u64) -> u32 {
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    hop(3).await;
    parse(source).await
}

#[trace]
async fn parse(source: &str) -> u32 {
    hop(2).await;
    TRACER.in_span(if source == "a" { "parse.a" } else { "parse.b" }, |_| {});
    1
}

#[trace]
async fn spawned() -> u32 {
    hop(5).await;
    10
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_async_fns_make_a_span_tree_across_join_and_spawn() {
    let p = common::start(config()).await;
    {
        let _request = TRACER.start_span("request");
        assert_eq!(telem::spawn(handler()).await.unwrap(), 12);
    }
    let spans = p.finish().await;
    spans.assert_root("request");
    spans.assert_parent("handler", "request");
    spans.assert_parent("spawned", "handler");
    let fetches: Vec<_> = spans.0.iter().filter(|s| s.name == "fetch").collect();
    assert_eq!(fetches.len(), 2);
    let handler = spans.get("handler").context.span_id;
    assert!(
        fetches.iter().all(|f| f.parent_span_id == handler),
        "each join! branch is a child"
    );
    // Each branch keeps its own span: parse.a under fetch(a), parse.b under fetch(b).
    let by_id = spans.by_id();
    for (leaf, source) in [("parse.a", "a"), ("parse.b", "b")] {
        let parse = by_id[&spans.get(leaf).parent_span_id];
        assert_eq!(parse.name, "parse");
        let fetch = by_id[&parse.parent_span_id];
        assert_eq!(fetch.attribute("source"), Some(&telem::Value::from(source)));
    }
    let trace_id = spans.get("request").context.trace_id;
    assert!(spans.0.iter().all(|s| s.context.trace_id == trace_id));
}

/// Pending once, then ready: a future that has a "between polls".
#[derive(Default)]
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[trace]
async fn observed(seen: Arc<Mutex<Vec<Option<SpanId>>>>) {
    for _ in 0..3 {
        seen.lock()
            .unwrap()
            .push(telem::SpanContext::current().map(|c| c.span_id));
        YieldOnce::default().await;
    }
}

#[tokio::test]
async fn the_span_is_current_in_every_poll_and_not_between_polls() {
    let p = common::start(config()).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut cx = TaskContext::from_waker(noop_waker_ref());
    let outside = TRACER.span("outside").start_detached();
    {
        let mut future = pin!(observed(seen.clone()));
        let mut polls = 0;
        // Poll by hand under another context, which each poll must leave as it was.
        let _outside = Context::from_span(outside.context()).attach();
        loop {
            polls += 1;
            let ready = future.as_mut().poll(&mut cx).is_ready();
            assert_eq!(
                telem::SpanContext::current().map(|c| c.span_id),
                Some(outside.span_id()),
                "between polls the caller's span is current"
            );
            if ready {
                break;
            }
        }
        assert_eq!(polls, 4);
    }
    drop(outside);
    let spans = p.finish().await;
    let observed = spans.get("observed");
    let id = observed.context.span_id;
    assert_eq!(
        *seen.lock().unwrap(),
        vec![Some(id); 3],
        "current in every poll"
    );
    spans.assert_parent("observed", "outside");
}

#[tokio::test]
async fn an_async_fn_span_starts_at_the_first_poll() {
    let p = common::start(config()).await;
    let future = {
        let _at_call = TRACER.start_span("at_call");
        // Creating the future runs none of the body: no span yet.
        spawned()
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    {
        let _at_poll = TRACER.start_span("at_poll");
        assert_eq!(future.await, 10);
    }
    // A future dropped before its first poll records nothing.
    drop(spawned());
    let spans = p.finish().await;
    spans.assert_parent("spawned", "at_poll");
    assert!(spans.get("spawned").start_time_unix_nano >= spans.get("at_call").end_time_unix_nano);
    assert_eq!(spans.0.iter().filter(|s| s.name == "spawned").count(), 1);
}

/// The span starts at the call, is current while the synchronous part runs, then in
/// every poll of the returned future.
#[trace]
fn returns_future(label: &'static str) -> impl Future<Output = Option<SpanId>> + Send + 'static {
    TRACER.in_span(label, |_| {});
    async move {
        hop(2).await;
        telem::SpanContext::current().map(|c| c.span_id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impl_future_fn_span_starts_at_the_call() {
    let p = common::start(config()).await;
    let future = {
        let _at_call = TRACER.start_span("at_call");
        returns_future("sync.part")
    };
    let seen = {
        let _at_poll = TRACER.start_span("at_poll");
        tokio::spawn(future).await.unwrap()
    };
    let spans = p.finish().await;
    spans.assert_parent("returns_future", "at_call");
    spans.assert_parent("sync.part", "returns_future");
    assert_eq!(seen, Some(spans.get("returns_future").context.span_id));
    let span = spans.get("returns_future");
    assert!(
        span.end_time_unix_nano >= spans.get("at_poll").start_time_unix_nano,
        "ends on completion"
    );
}

trait Store {
    async fn load(&self, key: u32) -> u32;

    #[trace]
    async fn load_twice(&self, key: u32) -> u32 {
        self.load(key).await + self.load(key).await
    }
}

struct Memory;

impl Store for Memory {
    #[trace]
    async fn load(&self, key: u32) -> u32 {
        hop(1).await;
        key
    }
}

#[async_trait::async_trait]
trait Remote {
    async fn call(&self, n: u32) -> u32;

    #[trace]
    async fn call_default(&self) -> u32 {
        self.call(1).await
    }
}

struct Service;

#[async_trait::async_trait]
impl Remote for Service {
    #[trace(record(n))]
    async fn call(&self, n: u32) -> u32 {
        hop(2).await;
        TRACER.in_span("remote.inner", |_| {});
        n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trait_methods_native_and_async_trait() {
    let p = common::start(config()).await;
    {
        let _request = TRACER.start_span("request");
        assert_eq!(Memory.load_twice(4).await, 8);
        let service: Box<dyn Remote + Send + Sync> = Box::new(Service);
        assert_eq!(
            telem::spawn(async move { service.call_default().await })
                .await
                .unwrap(),
            1
        );
    }
    let spans = p.finish().await;
    spans.assert_parent("Store::load_twice", "request");
    let loads: Vec<_> = spans
        .0
        .iter()
        .filter(|s| s.name == "Memory::load")
        .collect();
    assert_eq!(loads.len(), 2);
    let twice = spans.get("Store::load_twice").context.span_id;
    assert!(loads.iter().all(|s| s.parent_span_id == twice));
    spans.assert_parent("Remote::call_default", "request");
    spans.assert_parent("Service::call", "Remote::call_default");
    spans.assert_parent("remote.inner", "Service::call");
    assert_eq!(
        spans.get("Service::call").attribute("n"),
        Some(&telem::Value::I64(1))
    );
}

#[trace]
async fn async_panic() {
    hop(2).await;
    panic!("async boom");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_poll_ends_the_span_with_error_status() {
    let p = common::start(config()).await;
    {
        let _request = TRACER.start_span("request");
        let joined = telem::spawn(async_panic()).await;
        assert!(joined.unwrap_err().is_panic());
    }
    let spans = p.finish().await;
    let span = spans.get("async_panic");
    assert!(span.status.is_error(), "status {:?}", span.status);
    spans.assert_parent("async_panic", "request");
}

#[trace]
async fn early(n: u32) -> Result<u32, String> {
    if n == 0 {
        return Ok(0);
    }
    let parsed: u32 = n
        .to_string()
        .parse()
        .map_err(|_| "unreachable".to_owned())?;
    hop(1).await;
    Ok(parsed)
}

#[tokio::test]
async fn early_return_and_question_mark_in_async_fns() {
    let p = common::start(config()).await;
    assert_eq!(early(0).await, Ok(0));
    assert_eq!(early(5).await, Ok(5));
    let spans = p.finish().await;
    assert_eq!(spans.0.len(), 2);
    assert!(spans
        .0
        .iter()
        .all(|s| s.name == "early" && s.status == Status::Unset));
}

/// Guards the thread's context after a panicking poll: tokio catches the panic and goes
/// on polling other tasks on that worker, which must not see the panicked fn's span.
/// Needs `Instrumented::poll` (`instrument.rs`) to restore the context while unwinding
/// (today it restores only after a poll returns).
#[tokio::test]
async fn a_panicking_poll_leaves_no_span_current_on_the_thread() {
    let p = common::start(config()).await;
    let joined = tokio::spawn(async_panic()).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(
        telem::SpanContext::current(),
        None,
        "the panicked span leaked into the caller"
    );
    drop(p.finish().await);
}
