//! `telem::testing`: isolation between tests running in parallel, the assertions
//! and their failure messages, and polling an instrumented future by hand.
#![allow(clippy::unwrap_used)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use telem::prelude::*;
use telem::testing::TestPipeline;
use telem::{Status, Tracer};

static TRACER: Tracer = Tracer::new("testing-tests");

/// What one "test" does: spans across `.await`, `join!` and `telem::spawn`, and
/// metrics through one shared call site; everything tagged with its number `n`.
async fn a_test_body(n: u64) {
    let t = TestPipeline::start();
    {
        let mut root = TRACER.start_span("request");
        root.set_i64("test.n", n as i64);
        let a = async { TRACER.in_span("branch.a", |_| {}) }.in_current_span();
        let b = async {
            tokio::task::yield_now().await;
            TRACER.in_span("branch.b", |_| {});
        }
        .in_current_span();
        tokio::join!(a, b);
        telem::spawn(async move { TRACER.in_span("spawned", |s| s.set_i64("test.n", n as i64)) })
            .await
            .unwrap();
        for _ in 0..n {
            telem::counter!("testing_requests_total", "kind" => "test").increment(1);
        }
        telem::histogram!("testing_latency_seconds").record(n as f64);
    }
    let spans = t.spans().await;
    spans.assert_count(4);
    spans.assert_chain(&["request", "branch.a"]);
    spans.assert_chain(&["request", "branch.b"]);
    spans
        .assert_chain(&["request", "spawned"])
        .assert_no_errors();
    spans
        .named("request")
        .assert_attribute("test.n", n as i64)
        .assert_root();
    spans.named("spawned").assert_attribute("test.n", n as i64);
    t.metrics()
        .assert_counter("testing_requests_total", &[("kind", "test")], i128::from(n))
        .assert_histogram("testing_latency_seconds", &[], 1, n as f64);
}

#[test]
fn tests_running_in_parallel_never_see_each_others_spans_or_metrics() {
    // 24 "tests" at once, on their own threads, half on current-thread runtimes and
    // half on multi-thread ones, all sharing the process's rings and call sites.
    let threads: Vec<_> = (1..=24u64)
        .map(|n| {
            std::thread::spawn(move || {
                let rt = if n % 2 == 0 {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                } else {
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                };
                rt.unwrap().block_on(a_test_body(n));
            })
        })
        .collect();
    for t in threads {
        t.join().expect("every test saw only its own data");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_multi_thread_runtime() {
    a_test_body(3).await;
}

#[tokio::test(start_paused = true)]
async fn with_paused_time() {
    let t = TestPipeline::start();
    async {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        TRACER.in_span("after.an.hour", |_| {});
    }
    .in_span(TRACER.span("waits").start_detached())
    .await;
    t.spans()
        .await
        .named("after.an.hour")
        .assert_parent("waits");
}

#[test]
fn a_std_thread_joins_the_test_with_its_context() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let t = TestPipeline::start();
        let ctx = t.context();
        std::thread::spawn(move || {
            let _in_test = ctx.attach();
            TRACER.in_span("on.a.thread", |_| {});
        })
        .join()
        .unwrap();
        // Without the context, a thread's spans are not this test's.
        std::thread::spawn(|| TRACER.in_span("elsewhere", |_| {}))
            .join()
            .unwrap();
        let spans = t.spans().await;
        spans.assert_count(1).named("on.a.thread");
    });
}

#[test]
fn dropping_a_context_guard_puts_the_previous_test_scope_back() {
    // A thread that serves several tests (a runtime's worker, a pool thread) enters
    // another test's scope with `attach`: when the guard drops, the thread must be back
    // in the scope it had, or its later spans would land in the other test.
    let other = TestPipeline::start();
    let other_ctx = other.context();
    let on_a_worker = other_ctx.clone();
    std::thread::spawn(move || {
        let own = TestPipeline::start();
        {
            let _in_other = on_a_worker.attach();
            TRACER.in_span("in.other", |_| {});
            {
                let _back_in_own = own.context().attach();
                TRACER.in_span("nested.in.own", |_| {});
            }
            TRACER.in_span("in.other.again", |_| {});
        }
        TRACER.in_span("after.the.guards", |_| {});
        let spans = futures::executor::block_on(own.spans());
        spans.assert_count(2);
        spans.named("nested.in.own");
        spans.named("after.the.guards");
    })
    .join()
    .unwrap();
    // A thread in no test's scope goes back to none.
    std::thread::spawn(move || {
        {
            let _in_other = other_ctx.attach();
            TRACER.in_span("in.other.from.a.plain.thread", |_| {});
        }
        TRACER.in_span("in.no.test", |_| {});
    })
    .join()
    .unwrap();
    let spans = futures::executor::block_on(other.spans());
    spans.assert_count(3);
    spans.named("in.other");
    spans.named("in.other.again");
    spans.named("in.other.from.a.plain.thread");
}

#[tokio::test]
async fn an_instrumented_future_polled_by_hand_is_current_only_while_polled() {
    let t = TestPipeline::start();
    let span = TRACER.span("polled").start_detached();
    let id = span.span_id();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let mut task = tokio_test::task::spawn(
        async move {
            let during_first = telem::SpanContext::current().map(|c| c.span_id);
            rx.await.unwrap();
            let during_second = telem::SpanContext::current().map(|c| c.span_id);
            (during_first, during_second)
        }
        .in_span(span),
    );
    assert!(task.poll().is_pending());
    assert_eq!(
        telem::SpanContext::current(),
        None,
        "not current between polls"
    );
    tx.send(()).unwrap();
    assert!(task.is_woken());
    let (first, second) = match task.poll() {
        std::task::Poll::Ready(ids) => ids,
        std::task::Poll::Pending => panic!("the future should be done"),
    };
    assert_eq!(
        (first, second),
        (Some(id), Some(id)),
        "current during each poll"
    );
    assert_eq!(telem::SpanContext::current(), None);
    t.spans().await.named("polled");
}

#[tokio::test]
async fn failed_assertions_show_what_was_recorded_as_a_tree() {
    let t = TestPipeline::start();
    TRACER.in_span("GET /books", |_| {
        TRACER.in_span("list_books", |s| {
            s.set_i64("books.count", 3);
            TRACER.in_span("cache.get", |s| s.set_status(Status::error("miss")));
        });
    });
    let spans = t.spans().await;
    let message = |f: &dyn Fn()| {
        let err = catch_unwind(AssertUnwindSafe(f)).unwrap_err();
        err.downcast_ref::<String>().cloned().unwrap()
    };
    let missing = message(&|| {
        spans.named("db.query");
    });
    assert!(
        missing.contains(r#"expected a span named "db.query", found none"#),
        "{missing}"
    );
    assert!(missing.contains("GET /books [internal]"), "{missing}");
    assert!(
        missing.contains("└─ list_books [internal] status=unset books.count=3"),
        "{missing}"
    );
    assert!(
        missing.contains("   └─ cache.get [internal] status=error(\"miss\")"),
        "{missing}"
    );
    let chain = message(&|| {
        spans.assert_chain(&["GET /books", "cache.get"]);
    });
    assert!(
        chain.contains(r#"expected the chain ["GET /books", "cache.get"]"#),
        "{chain}"
    );
    let errors = message(&|| {
        spans.assert_no_errors();
    });
    assert!(errors.contains(r#"found ["cache.get"]"#), "{errors}");
    let attr = message(&|| {
        spans
            .named("list_books")
            .assert_attribute("books.count", 4i64);
    });
    assert!(attr.contains("expected books.count = 4, got 3"), "{attr}");
    let metric = message(&|| {
        t.metrics().assert_counter("nothing_total", &[], 1);
    });
    assert!(
        metric.contains("expected nothing_total[] = 1, got None"),
        "{metric}"
    );
    spans.assert_chain(&["GET /books", "list_books", "cache.get"]);
    spans
        .named("cache.get")
        .assert_error()
        .assert_parent("list_books");
}

#[telem::test]
async fn the_test_attribute_gives_the_test_its_pipeline(t: TestPipeline) {
    TRACER.in_span("in.attribute.test", |_| {});
    t.spans().await.assert_count(1).named("in.attribute.test");
}

#[telem::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_attribute_passes_tokio_options_on(t: TestPipeline) {
    assert_eq!(
        tokio::runtime::Handle::current().runtime_flavor(),
        tokio::runtime::RuntimeFlavor::MultiThread
    );
    telem::spawn(async { TRACER.in_span("on.a.worker", |_| {}) })
        .await
        .unwrap();
    t.spans().await.assert_count(1).named("on.a.worker");
}
