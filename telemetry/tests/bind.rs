//! `telem::bind`: fields bound to the current context follow the task exactly like the
//! current span: across `.await`, in `join!` branches, through the spawn wrappers and
//! with `Context`. Seen through `Context::current().fields()`, and on the log records
//! made inside a binding.
#![cfg(feature = "enable")]

use telem::prelude::*;
use telem::testing::TestPipeline;
use telem::{bind, bind_field, info, warn, Context, KeyValue, Level};

/// The fields bound here.
fn bound() -> Vec<KeyValue> {
    Context::current().fields().unwrap_or_default().to_vec()
}

fn kv(key: &'static str, value: &'static str) -> KeyValue {
    KeyValue::new(key, value)
}

/// Yields enough times that a multi-thread runtime may move the task between workers.
async fn hop(times: usize) {
    for _ in 0..times {
        tokio::task::yield_now().await;
    }
}

#[test]
fn nested_bindings_accumulate_and_an_inner_key_wins_until_its_guard_drops() {
    assert!(Context::current().fields().is_none());
    let _request = bind([kv("request.id", "r-1"), kv("tenant", "acme")]);
    {
        let _tenant = bind_field("tenant", "globex");
        assert_eq!(bound(), [kv("request.id", "r-1"), kv("tenant", "globex")]);
    }
    assert_eq!(bound(), [kv("request.id", "r-1"), kv("tenant", "acme")]);
}

#[test]
fn a_captured_context_binds_its_fields_on_another_thread() {
    let captured = {
        let _g = bind_field("request.id", "r-2");
        Context::current()
    };
    assert!(Context::current().fields().is_none());
    let seen = std::thread::spawn(move || {
        let outside = bound();
        let inside = captured.run(bound);
        (outside, inside, bound())
    })
    .join()
    .unwrap();
    assert_eq!(seen, (vec![], vec![kv("request.id", "r-2")], vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spawn_wrappers_carry_the_bound_fields() {
    let _g = bind_field("request.id", "r-3");
    let spawned = telem::spawn(async {
        hop(20).await;
        bound()
    });
    assert_eq!(spawned.await.unwrap(), [kv("request.id", "r-3")]);
    let blocking = telem::spawn_blocking(bound).await.unwrap();
    assert_eq!(blocking, [kv("request.id", "r-3")]);
    assert!(tokio::spawn(async { bound() }).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_with_fields_keeps_them_on_every_worker_and_leaves_none_behind() {
    let job = async {
        for _ in 0..100 {
            hop(1).await;
            assert_eq!(bound(), [kv("job.id", "j-1")]);
        }
    }
    .with_fields([kv("job.id", "j-1")]);
    tokio::spawn(job).await.unwrap();
    for _ in 0..4 {
        assert!(tokio::spawn(async { bound() }).await.unwrap().is_empty());
    }
}

#[tokio::test(flavor = "current_thread")]
async fn join_branches_see_only_their_own_bindings() {
    let _request = bind_field("request.id", "r-4");
    let (a, b) = tokio::join!(
        async {
            let _g = bind_field("branch", "a");
            hop(3).await;
            bound()
        }
        .in_current_span(),
        async {
            hop(2).await;
            bound()
        }
        .with_fields([kv("branch", "b")]),
    );
    assert_eq!(a, [kv("request.id", "r-4"), kv("branch", "a")]);
    assert_eq!(b, [kv("request.id", "r-4"), kv("branch", "b")]);
    assert_eq!(bound(), [kv("request.id", "r-4")]);
}

#[telem::test]
async fn every_log_record_made_inside_a_binding_carries_its_fields(t: TestPipeline) {
    {
        let _request = bind([kv("request.id", "r-5"), kv("tenant", "acme")]);
        info!("inside");
        warn!(tenant = "given", "the call site's field wins");
        telem::spawn(async { info!("in a task") }).await.unwrap();
        async { info!("in a future with more") }
            .with_fields([kv("job.id", "j-5")])
            .await;
    }
    info!("outside");
    let logs = t.logs().await;
    logs.find(Level::Info, "inside")
        .assert_field("request.id", "r-5")
        .assert_field("tenant", "acme");
    let given = logs.find(Level::Warn, "the call site's field wins");
    given
        .assert_field("tenant", "given")
        .assert_field("request.id", "r-5");
    assert_eq!(given.record().context_fields.len(), 1, "tenant once");
    logs.find(Level::Info, "in a task")
        .assert_field("request.id", "r-5");
    logs.find(Level::Info, "in a future with more")
        .assert_field("tenant", "acme")
        .assert_field("job.id", "j-5");
    logs.find(Level::Info, "outside")
        .assert_no_field("request.id")
        .assert_no_field("tenant");
}
