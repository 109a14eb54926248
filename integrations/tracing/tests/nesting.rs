//! `tracing` spans and `#[trace]` spans in one trace, nested both ways: synchronously,
//! across `.await`, in `tokio::spawn`ed futures under `.instrument`, and in `join!`
//! branches. The bridge is installed once for the process (`telem_tracing::install`);
//! each test has its own `TestPipeline`.

use std::sync::Once;
use telem::testing::TestPipeline;
use telem::{Level, SpanKind, Status};
use tracing::Instrument as _;

fn bridge() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| telem_tracing::install().expect("nothing else installed"));
}

#[telem::trace]
fn traced_outer() {
    let _inner = tracing::info_span!("tracing_inner").entered();
}

#[test]
fn a_tracing_span_inside_a_trace_fn_is_its_child() {
    bridge();
    let t = TestPipeline::start();
    traced_outer();
    let spans = futures::executor::block_on(t.spans());
    spans
        .assert_count(2)
        .assert_chain(&["traced_outer", "tracing_inner"]);
    let inner = spans.named("tracing_inner").data();
    assert_eq!(inner.scope, "nesting");
}

#[telem::trace]
fn traced_inner() {}

#[test]
fn a_trace_fn_inside_an_entered_tracing_span_is_its_child() {
    bridge();
    let t = TestPipeline::start();
    {
        let _outer = tracing::info_span!("tracing_outer").entered();
        traced_inner();
    }
    let spans = futures::executor::block_on(t.spans());
    spans.assert_chain(&["tracing_outer", "traced_inner"]);
    // The tracing span's context is current only while it is entered.
    traced_inner();
    let spans = futures::executor::block_on(t.take_spans());
    assert_eq!(spans.all_named("traced_inner").len(), 2);
    assert!(spans
        .all_named("traced_inner")
        .iter()
        .any(|s| !s.parent_span_id.is_valid()));
}

#[telem::trace]
async fn load(id: u64) -> u64 {
    tokio::task::yield_now().await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instrumented_future_gives_its_trace_fns_the_tracing_span_on_any_worker() {
    bridge();
    let t = TestPipeline::start();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let span = tracing::info_span!("job", job.id = i);
            tokio::spawn(
                async move {
                    let a = load(i).await;
                    tokio::task::yield_now().await;
                    let b = load(i + 100).await;
                    a + b
                }
                .instrument(span),
            )
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let spans = t.spans().await;
    spans.assert_count(8 * 3);
    for job in spans.all_named("job") {
        let children: Vec<_> = spans
            .iter()
            .filter(|s| s.parent_span_id == job.context.span_id)
            .collect();
        assert_eq!(children.len(), 2, "{}", spans.tree());
        assert!(children
            .iter()
            .all(|c| c.name == "load" && c.context.trace_id == job.context.trace_id));
    }
}

#[tokio::test]
async fn join_branches_keep_their_own_tracing_spans() {
    bridge();
    let t = TestPipeline::start();
    let parent = tracing::info_span!("request");
    async {
        let left = async {
            load(1).await;
            load(2).await
        }
        .instrument(tracing::info_span!("left"));
        let right = async {
            load(3).await;
            load(4).await
        }
        .instrument(tracing::info_span!("right"));
        tokio::join!(left, right);
    }
    .instrument(parent)
    .await;
    let spans = t.spans().await;
    spans.assert_count(7);
    spans.named("left").assert_parent("request");
    spans.named("right").assert_parent("request");
    for branch in ["left", "right"] {
        let id = spans.named(branch).data().context.span_id;
        let loads = spans
            .iter()
            .filter(|s| s.name == "load" && s.parent_span_id == id)
            .count();
        assert_eq!(loads, 2, "{}", spans.tree());
    }
}

#[telem::trace]
async fn traced_handler() {
    tokio::task::yield_now().await;
    async {
        tokio::task::yield_now().await;
        tracing::info!(rows = 2u64, "fetched");
    }
    .instrument(tracing::debug_span!("fetch"))
    .await;
    tokio::task::yield_now().await;
    let _ = tracing::info_span!("after_await");
}

#[tokio::test]
async fn across_await_a_tracing_span_made_in_a_trace_fn_is_its_child() {
    bridge();
    let t = TestPipeline::start();
    traced_handler().await;
    let spans = t.spans().await;
    spans.assert_chain(&["traced_handler", "fetch"]);
    spans.named("after_await").assert_parent("traced_handler");
    t.logs()
        .await
        .find(Level::Info, "fetched")
        .assert_field("rows", 2i64)
        .assert_in_span(&spans, "fetch");
}

#[test]
fn span_fields_map_to_name_kind_status_attributes_and_links() {
    bridge();
    let t = TestPipeline::start();
    let cause = tracing::info_span!("cause");
    {
        let span = tracing::info_span!(
            "raw_name",
            otel.name = "GET /books/{id}",
            otel.kind = "server",
            http.request.method = "GET",
            retries = 3u64,
            ratio = 0.5,
            cached = false,
            later = tracing::field::Empty,
        );
        span.follows_from(&cause);
        span.record("later", "set after creation");
        let _entered = span.enter();
    }
    {
        let failing = tracing::info_span!("failing", error = tracing::field::Empty);
        failing.record("error", tracing::field::display("disk full"));
    }
    {
        let _ok = tracing::info_span!("explicit", otel.status_code = "ok").entered();
    }
    drop(cause);
    let spans = futures::executor::block_on(t.spans());
    let server = spans
        .named("GET /books/{id}")
        .assert_kind(SpanKind::Server)
        .assert_attribute("http.request.method", "GET")
        .assert_attribute("retries", 3i64)
        .assert_attribute("ratio", 0.5)
        .assert_attribute("cached", false)
        .assert_attribute("later", "set after creation")
        .assert_no_attribute("otel.kind")
        .data();
    let cause = spans.named("cause").data();
    assert_eq!(server.links.len(), 1);
    assert_eq!(server.links[0].context.span_id, cause.context.span_id);
    assert_eq!(
        spans.named("failing").data().status,
        Status::error("disk full")
    );
    spans.named("explicit").assert_ok();
}

#[test]
fn events_become_log_records_with_their_fields_and_span() {
    bridge();
    let t = TestPipeline::start();
    let outer = tracing::info_span!("outer");
    {
        let _entered = outer.enter();
        tracing::warn!(
            user = "ana",
            attempt = 3,
            ok = false,
            "login failed for {}",
            "ana"
        );
        tracing::error!(parent: None, "outside any span");
    }
    tracing::info!(parent: &outer, "explicit parent");
    tracing::debug!(target: "legacy::db", query = ?("SELECT", 1), "debug with a target");
    drop(outer);
    let spans = futures::executor::block_on(t.spans());
    let logs = futures::executor::block_on(t.logs());
    let record = logs
        .find(Level::Warn, "login failed for ana")
        .assert_field("user", "ana")
        .assert_field("attempt", 3i64)
        .assert_field("ok", false)
        .assert_in_span(&spans, "outer")
        .record();
    assert_eq!(record.target, "nesting");
    assert_eq!(record.file.as_deref(), Some(file!()));
    assert!(record.line.is_some());
    logs.find(Level::Error, "outside any span")
        .assert_outside_spans();
    logs.find(Level::Info, "explicit parent")
        .assert_in_span(&spans, "outer");
    let debug = logs
        .find(Level::Debug, "debug with a target")
        .assert_field("query", "(\"SELECT\", 1)")
        .record();
    assert_eq!(debug.target, "legacy::db");
}

#[telem::trace]
fn legacy_call() {
    log::info!(target: "legacy", "from log inside a trace fn");
    log::warn!(rows = 4; "with key-values");
}

#[test]
fn log_records_are_correlated_with_the_current_span() {
    bridge();
    let t = TestPipeline::start();
    legacy_call();
    {
        let _entered = tracing::info_span!("tracing_scope").entered();
        log::error!("from log inside a tracing span");
    }
    let spans = futures::executor::block_on(t.spans());
    let logs = futures::executor::block_on(t.logs());
    let record = logs
        .find(Level::Info, "from log inside a trace fn")
        .assert_in_span(&spans, "legacy_call")
        .record();
    assert_eq!(record.target, "legacy");
    logs.find(Level::Warn, "with key-values")
        .assert_field("rows", 4i64)
        .assert_in_span(&spans, "legacy_call");
    logs.find(Level::Error, "from log inside a tracing span")
        .assert_in_span(&spans, "tracing_scope");
}

#[telem::trace]
async fn repository_call() {
    // What sqlx's SQLite driver does: capture `tracing::Span::current()`, then enter it
    // on a thread of its own where the event is written.
    let captured = tracing::Span::current();
    std::thread::spawn(move || {
        let _entered = captured.enter();
        tracing::info!(target: "worker", "statement executed");
    })
    .join()
    .expect("worker");
}

#[tokio::test]
async fn context_span_carries_a_trace_fns_context_to_code_that_captures_the_current_span() {
    bridge();
    let t = TestPipeline::start();
    repository_call()
        .instrument(telem_tracing::context_span())
        .await;
    // The context span stands for `repository_call`'s caller context (none here); made
    // inside the fn it carries the fn's own span:
    #[telem::trace]
    async fn inner_repository_call() {
        async {
            let captured = tracing::Span::current();
            std::thread::spawn(move || {
                let _entered = captured.enter();
                tracing::info!(target: "worker", "statement in the repository span");
            })
            .join()
            .expect("worker");
        }
        .instrument(telem_tracing::context_span())
        .await;
    }
    inner_repository_call().await;
    let spans = t.spans().await;
    spans.assert_count(2);
    let logs = t.logs().await;
    logs.find(Level::Info, "statement in the repository span")
        .assert_in_span(&spans, "inner_repository_call");
}

#[test]
fn a_span_exited_out_of_order_leaves_the_spans_entered_after_it_current() {
    bridge();
    let t = TestPipeline::start();
    let a = tracing::info_span!("a").entered();
    let b = tracing::info_span!("b").entered();
    drop(a); // out of order: `b` is still entered
    tracing::info!("inside b");
    drop(b);
    tracing::info!("after both");
    let spans = futures::executor::block_on(t.spans());
    let logs = futures::executor::block_on(t.logs());
    logs.find(Level::Info, "inside b")
        .assert_in_span(&spans, "b");
    logs.find(Level::Info, "after both").assert_outside_spans();
    assert!(telem::SpanContext::current().is_none());
}

#[test]
fn a_log_record_with_a_run_time_target_keeps_its_file_and_line() {
    bridge();
    let t = TestPipeline::start();
    let target = String::from("audit");
    log::warn!(target: &target, "run-time target");
    let logs = futures::executor::block_on(t.logs());
    let record = logs.find(Level::Warn, "run-time target").record();
    assert_eq!(record.target, "audit");
    assert_eq!(record.file.as_deref(), Some(file!()));
    assert!(record.line.is_some());
}
