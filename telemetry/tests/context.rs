//! The current span follows the task: across `.await`, join/select branches, spawn
//! wrappers, blocking tasks, threads, and worker migration.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use std::time::Duration;
use telem::prelude::*;
use telem::{Config, Context, Tracer};

static TRACER: Tracer = Tracer::new("context-tests");

fn config() -> Config {
    Config::new().with_drain_interval(Duration::from_millis(10))
}

/// The W3C example parent, remote and sampled, with one trace-state member.
fn remote_parent((key, value): (&str, &str)) -> telem::SpanContext {
    telem::SpanContext::new(
        telem::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        telem::SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        telem::TraceFlags::SAMPLED,
        telem::TraceState::default().insert(key, value).unwrap(),
        true,
    )
}

/// Yields enough times that a multi-thread runtime moves the task between workers.
async fn hop(times: usize) {
    for _ in 0..times {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn span_given_to_a_spawned_future_stays_current_on_any_worker() {
    let p = common::start(config()).await;
    let root = TRACER.span("root").start_detached();
    let root_id = root.span_id();
    telem::spawn(
        async move {
            let mut threads = std::collections::HashSet::new();
            for i in 0..200 {
                threads.insert(std::thread::current().id());
                hop(1).await;
                // Still current after resuming, wherever we resumed.
                assert_eq!(
                    telem::SpanContext::current().unwrap().span_id,
                    root_id,
                    "iteration {i}"
                );
            }
            TRACER.in_span("child", |_| {});
            threads.len()
        }
        .in_span(root),
    )
    .await
    .unwrap();
    let spans = p.finish().await;
    spans.assert_root("root");
    spans.assert_parent("child", "root");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_never_sees_another_tasks_span_between_polls() {
    let p = common::start(config()).await;
    let a = telem::spawn(
        async {
            hop(50).await;
            TRACER.in_span("a.child", |_| {});
        }
        .in_span(TRACER.span("a").start_detached()),
    );
    let b = telem::spawn(async {
        for _ in 0..50 {
            assert!(
                telem::SpanContext::current().is_none(),
                "task b saw a's span"
            );
            hop(1).await;
        }
        TRACER.in_span("b.root", |_| {});
    });
    a.await.unwrap();
    b.await.unwrap();
    let spans = p.finish().await;
    spans.assert_parent("a.child", "a");
    spans.assert_root("b.root");
    assert_ne!(
        spans.get("a").context.trace_id,
        spans.get("b.root").context.trace_id
    );
}

async fn branch(name: &'static str, child: &'static str, delay_ms: u64) {
    async move {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        hop(3).await;
        TRACER.in_span(child, |_| {});
    }
    .in_span(TRACER.span(name).start_detached())
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_join_branch_keeps_its_own_span() {
    let p = common::start(config()).await;
    async {
        tokio::join!(branch("t1", "t1.child", 5), branch("t2", "t2.child", 1));
        futures::join!(branch("f1", "f1.child", 1), branch("f2", "f2.child", 5));
        tokio::select! {
            _ = branch("s1", "s1.child", 1) => {}
            _ = tokio::time::sleep(Duration::from_secs(10)) => unreachable!(),
        }
    }
    .in_span(TRACER.span("handler").start_detached())
    .await;
    let spans = p.finish().await;
    spans.assert_root("handler");
    for b in ["t1", "t2", "f1", "f2", "s1"] {
        spans.assert_parent(b, "handler");
        spans.assert_parent(&format!("{b}.child"), b);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_wrappers_carry_the_context() {
    let p = common::start(config()).await;
    {
        let _parent = TRACER.start_span("parent");
        telem::spawn(async {
            hop(5).await;
            TRACER.in_span("spawned", |_| {});
        })
        .await
        .unwrap();
        telem::spawn_blocking(|| TRACER.in_span("blocking", |_| {}))
            .await
            .unwrap();
        let ctx = Context::current();
        std::thread::spawn(move || {
            let _g = ctx.attach();
            TRACER.in_span("thread", |_| {});
        })
        .join()
        .unwrap();
        tokio::spawn(
            async {
                hop(5).await;
                TRACER.in_span("in_current_span", |_| {});
            }
            .in_current_span(),
        )
        .await
        .unwrap();
        // A plain tokio::spawn without the wrapper starts a new trace: the task does
        // not inherit by accident.
        tokio::spawn(async { TRACER.in_span("plain_spawn", |_| {}) })
            .await
            .unwrap();
    }
    let spans = p.finish().await;
    for child in ["spawned", "blocking", "thread", "in_current_span"] {
        spans.assert_parent(child, "parent");
    }
    spans.assert_root("plain_spawn");
}

#[test]
fn spawn_local_carries_the_context() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let p = common::start(config()).await;
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let _parent = TRACER.start_span("local.parent");
                telem::spawn_local(async {
                    hop(3).await;
                    TRACER.in_span("local.child", |_| {});
                })
                .await
                .unwrap();
            })
            .await;
        let spans = p.finish().await;
        spans.assert_parent("local.child", "local.parent");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn span_may_end_on_another_thread() {
    let p = common::start(config()).await;
    let span = TRACER.span("moved").start_detached();
    let started_on = std::thread::current().id();
    let ended_on = std::thread::spawn(move || {
        drop(span);
        std::thread::current().id()
    })
    .join()
    .unwrap();
    assert_ne!(started_on, ended_on);
    let spans = p.finish().await;
    assert!(spans.get("moved").end_time_unix_nano >= spans.get("moved").start_time_unix_nano);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_chain_parents_and_trace_ids() {
    let p = common::start(config()).await;
    async fn level(n: usize) {
        if n == 0 {
            return;
        }
        let name: &'static str = ["l1", "l2", "l3", "l4", "l5"][5 - n];
        Box::pin(async move {
            hop(2).await;
            level(n - 1).await;
        })
        .in_span(TRACER.span(name).start_detached())
        .await;
    }
    level(5).await;
    let spans = p.finish().await;
    spans.assert_root("l1");
    for (c, parent) in [("l2", "l1"), ("l3", "l2"), ("l4", "l3"), ("l5", "l4")] {
        spans.assert_parent(c, parent);
    }
    // Children end before their parents.
    assert!(spans.get("l5").end_time_unix_nano <= spans.get("l1").end_time_unix_nano);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_parent_is_honoured() {
    let p = common::start(config()).await;
    let remote = remote_parent(("congo", "t61rcWkgMzE"));
    async {
        let _server = TRACER.span("server").start();
        hop(3).await;
        TRACER.in_span("server.child", |_| {});
    }
    .with_context(Context::from_remote(remote.clone()))
    .await;
    let spans = p.finish().await;
    let server = spans.get("server");
    assert_eq!(server.context.trace_id, remote.trace_id);
    assert_eq!(server.parent_span_id, remote.span_id);
    assert!(server.parent_is_remote);
    assert_eq!(server.context.state.get("congo"), Some("t61rcWkgMzE"));
    spans.assert_parent("server.child", "server");
    assert!(!spans.get("server.child").parent_is_remote);
    assert_eq!(spans.get("server.child").context.state, remote.state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guards_restore_what_was_current_even_when_dropped_out_of_order() {
    let p = common::start(config()).await;
    let remote = remote_parent(("vendor", "v1"));
    let remote_parent = remote.span_id;
    std::thread::spawn(move || {
        assert!(telem::SpanContext::current().is_none());
        {
            let _attached = Context::from_remote(remote.clone()).attach();
            let parent = TRACER.start_span("parent");
            let child = TRACER.start_span("child");
            let seen = telem::SpanContext::current().unwrap();
            assert_eq!(seen.span_id, child.span_id());
            assert_eq!(seen.trace_id, remote.trace_id);
            assert_eq!(seen.state, remote.state, "a child inherits the trace state");
            // Out of order: the parent ends first; the child stays current.
            let parent_id = parent.span_id();
            drop(parent);
            assert_eq!(
                telem::SpanContext::current().unwrap().span_id,
                child.span_id()
            );
            // The child ends: its parent's context is current again, state included.
            drop(child);
            let back = telem::SpanContext::current().unwrap();
            assert_eq!(back.span_id, parent_id);
            assert_eq!(back.state, remote.state);
        }
        assert!(
            telem::SpanContext::current().is_none(),
            "the attached context is gone"
        );
        // A root span over an empty context leaves it empty again.
        drop(TRACER.start_span("root"));
        assert!(telem::SpanContext::current().is_none());
        assert_eq!(Context::current(), Context::empty());
    })
    .join()
    .unwrap();
    let spans = p.finish().await;
    spans.assert_parent("child", "parent");
    assert_eq!(spans.get("parent").parent_span_id, remote_parent);
    spans.assert_root("root");
}
