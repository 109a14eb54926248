//! A span held across `.await` never leaks into another task. `SpanGuard` and
//! `ContextGuard` set the thread's context, so they are not `Send` (a spawned task
//! cannot hold one across `.await`; `tests/ui/fail/*_across_await.rs` show the compile
//! errors); the `Send` ways (`#[trace]`, `in_span`, `with_span`, `with_context`) make
//! the span current in the task's own polls only. The tests run both tasks on one
//! worker, where a span left current by a parked task would be seen by the next one.
#![cfg(feature = "enable")]
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use std::time::Duration;
use telem::prelude::*;
use telem::{trace, Config, Context, ContextGuard, Span, SpanGuard, Tracer};
use tokio::sync::oneshot;

static TRACER: Tracer = Tracer::new("guard-send-tests");

fn config() -> Config {
    Config::new().with_drain_interval(Duration::from_millis(10))
}

/// A multi-thread runtime with a single worker: every spawned task runs on it, in turn.
fn one_worker() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Task B, spawned with plain `tokio::spawn` while task A is parked on the same worker:
/// what it sees as current, and a span it starts.
async fn unrelated_task() -> bool {
    let saw_a_span = telem::SpanContext::current().is_some();
    TRACER.in_span("B", |_| {});
    saw_a_span
}

/// Spawns `a` (which sends on its channel, then parks for 50 ms), waits until it has
/// parked, runs B on the same worker, and checks B is a root of its own trace.
fn check_a_parked_span_is_not_inherited(
    a: impl FnOnce(oneshot::Sender<()>) -> tokio::task::JoinHandle<()>,
    a_name: &str,
) {
    one_worker().block_on(async {
        let p = common::start(config()).await;
        let (parked_tx, parked_rx) = oneshot::channel();
        let a = a(parked_tx);
        parked_rx.await.unwrap();
        let b = tokio::spawn(unrelated_task()).await.unwrap();
        assert!(!b, "task B saw task A's span as current");
        assert!(!a.is_finished(), "B must run while A is parked");
        a.await.unwrap();
        let spans = p.finish().await;
        spans.assert_root("B");
        assert_ne!(
            spans.get("B").context.trace_id,
            spans.get(a_name).context.trace_id,
            "B must not join A's trace"
        );
        spans.assert_parent("A.child", a_name);
    });
}

#[test]
fn a_parked_span_never_parents_an_unrelated_task() {
    check_a_parked_span_is_not_inherited(
        |parked| {
            tokio::spawn(
                async move {
                    parked.send(()).unwrap();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    TRACER.in_span("A.child", |_| {});
                }
                .in_span(TRACER.span("A").start_detached()),
            )
        },
        "A",
    );
}

#[trace("A.traced")]
async fn traced_task(parked: oneshot::Sender<()>) {
    parked.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    TRACER.in_span("A.child", |_| {});
}

#[test]
fn a_parked_traced_async_fn_never_parents_an_unrelated_task() {
    check_a_parked_span_is_not_inherited(|parked| tokio::spawn(traced_task(parked)), "A.traced");
}

#[test]
fn a_span_kept_by_the_task_with_with_span_never_parents_an_unrelated_task() {
    check_a_parked_span_is_not_inherited(
        |parked| {
            tokio::spawn(async move {
                let mut a = TRACER.span("A.kept").start_detached();
                async {
                    parked.send(()).unwrap();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    TRACER.in_span("A.child", |_| {});
                }
                .with_span(&a)
                .await;
                // Still the task's to record into after the `.await`.
                a.set_bool("after_await", true);
            })
        },
        "A.kept",
    );
}

#[test]
fn a_guard_in_a_synchronous_scope_ends_before_the_task_parks() {
    check_a_parked_span_is_not_inherited(
        |parked| {
            tokio::spawn(async move {
                {
                    let _a = TRACER.start_span("A.scoped");
                    TRACER.in_span("A.child", |_| {});
                } // ends here, before the `.await`: the future stays `Send`
                parked.send(()).unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
            })
        },
        "A.scoped",
    );
}

#[test]
fn a_guard_held_across_await_in_spawn_local_stays_with_its_task() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let p = common::start(config()).await;
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let (parked_tx, parked_rx) = oneshot::channel();
                // Not `Send`, so possible here: `spawn_local` wraps the task, which
                // takes the guard's span away with it when it parks.
                let a = telem::spawn_local(async move {
                    let _a = TRACER.start_span("A.local");
                    parked_tx.send(()).unwrap();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    TRACER.in_span("A.child", |_| {});
                });
                parked_rx.await.unwrap();
                assert!(telem::SpanContext::current().is_none());
                let b = tokio::task::spawn_local(unrelated_task()).await.unwrap();
                assert!(!b, "task B saw task A's span as current");
                a.await.unwrap();
            })
            .await;
        let spans = p.finish().await;
        spans.assert_root("B");
        spans.assert_parent("A.child", "A.local");
    });
}

/// Compiles only if the type is not `Send`: with a `Send` type both impls apply and the
/// `_` cannot be inferred (the trick `static_assertions::assert_not_impl_any!` uses).
macro_rules! assert_not_send {
    ($t:ty) => {{
        trait AmbiguousIfSend<A> {
            fn check() {}
        }
        impl<T: ?Sized> AmbiguousIfSend<()> for T {}
        impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}
        <$t as AmbiguousIfSend<_>>::check();
    }};
}

fn assert_send<T: Send>() {}

#[test]
fn guards_are_not_send_and_the_ways_to_carry_a_span_are() {
    assert_not_send!(SpanGuard);
    assert_not_send!(ContextGuard);
    assert_not_send!(telem::propagation::BaggageGuard);
    assert_send::<Span>();
    assert_send::<Context>();
    assert_send::<telem::Instrumented<std::future::Ready<()>>>();
}
