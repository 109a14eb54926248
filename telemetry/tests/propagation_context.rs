//! W3C propagation end to end: a context extracted from request headers parents the
//! service's spans, injection writes the current span, and baggage follows the request
//! across `.await`, worker threads, spawned and blocking tasks.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use std::collections::HashMap;
use std::time::Duration;
use telem::prelude::*;
use telem::propagation::{self, Baggage, TraceParent};
use telem::{Config, Context, SpanId, TraceId, Tracer};

static TRACER: Tracer = Tracer::new("propagation-tests");

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn config() -> Config {
    Config::new().with_drain_interval(Duration::from_millis(10))
}

fn request(pairs: &[(&str, &str)]) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

/// Yields enough times that a multi-thread runtime moves the task between workers.
async fn hop(times: usize) {
    for _ in 0..times {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn extracted_parent_parents_the_server_span_and_inject_writes_that_span() {
    let p = common::start(config()).await;
    let inbound = request(&[
        ("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
        ("tracestate", "congo=t61rcWkgMzE"),
        ("tracestate", "rojo=00f067aa0ba902b7"),
    ]);
    let ctx = propagation::extract(&inbound);
    let mut outgoing = http::HeaderMap::new();
    let server_id = {
        let _attached = ctx.attach();
        let server = TRACER.start_span("server");
        propagation::inject(&mut outgoing);
        server.span_id()
    };
    assert_eq!(
        outgoing["traceparent"],
        format!("00-{TRACE}-{server_id}-01").as_str(),
        "the outgoing request's parent is the server span"
    );
    assert_eq!(
        outgoing["tracestate"], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
        "tracestate is passed on"
    );
    assert!(!outgoing.contains_key("baggage"));

    let spans = p.finish().await;
    let server = spans.get("server");
    assert_eq!(server.context.trace_id, TraceId::from_hex(TRACE).unwrap());
    assert_eq!(server.parent_span_id, SpanId::from_hex(PARENT).unwrap());
    assert!(server.parent_is_remote);
    assert_eq!(server.context.state.get("congo"), Some("t61rcWkgMzE"));
}

#[tokio::test]
async fn an_unsampled_caller_is_followed_and_its_decision_propagated() {
    let p = common::start(config()).await;
    let ctx = propagation::extract(&request(&[(
        "traceparent",
        &format!("00-{TRACE}-{PARENT}-00"),
    )]));
    let mut outgoing: HashMap<String, String> = HashMap::new();
    let id = {
        let _attached = ctx.attach();
        let span = TRACER.start_span("unsampled");
        propagation::inject(&mut outgoing);
        span.span_id()
    };
    assert!(id.is_valid(), "an unsampled span still has ids");
    assert_eq!(outgoing["traceparent"], format!("00-{TRACE}-{id}-00"));
    let spans = p.finish().await;
    assert!(spans.0.iter().all(|s| s.name != "unsampled"));
}

#[tokio::test]
async fn every_kind_of_malformed_traceparent_starts_a_new_trace() {
    let p = common::start(config()).await;
    let malformed = [
        format!("01-{TRACE}-{PARENT}"),                     // too short
        format!("ff-{TRACE}-{PARENT}-01"),                  // forbidden version
        format!("00-{}-{PARENT}-01", TRACE.to_uppercase()), // upper case
        format!("00-{}-{PARENT}-01", "0".repeat(32)),       // zero trace id
        format!("00-{TRACE}-{}-01", "0".repeat(16)),        // zero parent id
        format!("00-{TRACE}-{PARENT}-01-extra"),            // extra field in version 00
        format!("00-{TRACE}-{PARENT}-g1"),                  // bad flags hex
        format!("00-{TRACE}x-{PARENT}-01"),                 // wrong length
    ];
    for (i, traceparent) in malformed.iter().enumerate() {
        let ctx = propagation::extract(&request(&[
            ("traceparent", traceparent),
            ("tracestate", "congo=t61rcWkgMzE"),
        ]));
        assert!(ctx.span().is_none(), "{traceparent:?}");
        let mut outgoing = http::HeaderMap::new();
        let _attached = ctx.attach();
        let name = format!("new-trace-{i}");
        let span = TRACER.start_span(name);
        propagation::inject(&mut outgoing);
        let written = TraceParent::parse(outgoing["traceparent"].to_str().unwrap()).unwrap();
        assert_eq!(written.parent_id, span.span_id());
        assert_ne!(written.trace_id, TraceId::from_hex(TRACE).unwrap());
        assert!(
            !outgoing.contains_key("tracestate"),
            "tracestate is ignored with a bad traceparent"
        );
    }
    let spans = p.finish().await;
    for i in 0..malformed.len() {
        let span = spans.get(&format!("new-trace-{i}"));
        spans.assert_root(&format!("new-trace-{i}"));
        assert!(!span.parent_is_remote);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baggage_follows_the_request_across_await_spawn_and_spawn_blocking() {
    let p = common::start(config()).await;
    let inbound = request(&[
        ("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
        ("baggage", "tenant=acme,user.id=alice;sensitive"),
    ]);
    let ctx = propagation::extract(&inbound);
    let handler = async {
        let mut workers = std::collections::HashSet::new();
        for i in 0..100 {
            workers.insert(std::thread::current().id());
            hop(1).await;
            assert_eq!(Baggage::current().get("tenant"), Some("acme"), "poll {i}");
        }
        let spawned = telem::spawn(async {
            hop(10).await;
            TRACER.in_span("spawned", |_| {});
            Baggage::current()
        });
        let blocking = telem::spawn_blocking(Baggage::current);
        let mut outgoing = http::HeaderMap::new();
        propagation::inject(&mut outgoing);
        (spawned.await.unwrap(), blocking.await.unwrap(), outgoing)
    };
    let (spawned, blocking, outgoing) = ctx
        .run(|| handler.in_span(TRACER.span("server").start_detached()))
        .await;
    assert_eq!(spawned.get("user.id"), Some("alice"));
    assert_eq!(spawned.properties("user.id"), Some("sensitive"));
    assert_eq!(blocking, spawned);
    assert_eq!(outgoing["baggage"], "tenant=acme,user.id=alice;sensitive");
    assert!(
        Baggage::current().is_empty(),
        "the request's baggage stays with the request"
    );

    let spans = p.finish().await;
    spans.assert_parent("spawned", "server");
    assert_eq!(
        spans.get("server").parent_span_id,
        SpanId::from_hex(PARENT).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_never_sees_another_tasks_baggage_between_polls() {
    let with = telem::spawn(
        async {
            for _ in 0..50 {
                hop(1).await;
                assert_eq!(Baggage::current().get("k"), Some("v"));
            }
        }
        .with_context(Context::current().with_baggage(Baggage::from_header("k=v"))),
    );
    let without = telem::spawn(async {
        for _ in 0..50 {
            assert!(
                Baggage::current().is_empty(),
                "saw the other task's baggage"
            );
            hop(1).await;
        }
    });
    with.await.unwrap();
    without.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baggage_set_inside_a_task_applies_to_the_future_it_wraps_only() {
    telem::spawn(async {
        let outer = Baggage::from_header("a=1");
        let inner = outer.with_entry("b", "2").unwrap();
        async {
            hop(5).await;
            assert_eq!(Baggage::current().get("b"), Some("2"));
            assert_eq!(Baggage::current().get("a"), Some("1"));
        }
        .with_context(Context::current().with_baggage(inner))
        .await;
        assert!(Baggage::current().is_empty());
    })
    .await
    .unwrap();
}

#[telem::trace]
async fn traced_reads_baggage() -> Option<String> {
    hop(3).await;
    Baggage::current().get("tenant").map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_instrumented_fns_and_in_span_futures_see_the_callers_baggage() {
    let p = common::start(config()).await;
    let baggage = Baggage::from_header("tenant=acme");
    let seen = async { traced_reads_baggage().await }
        .with_context(Context::current().with_baggage(baggage.clone()))
        .await;
    assert_eq!(seen.as_deref(), Some("acme"));
    // `in_span` takes the baggage current when it is called, even if the future is then
    // run by plain `tokio::spawn`.
    let future = {
        let _g = baggage.attach();
        async {
            hop(3).await;
            Baggage::current()
        }
        .in_span(TRACER.span("in_span").start_detached())
    };
    assert_eq!(tokio::spawn(future).await.unwrap(), baggage);
    p.finish().await;
}

#[test]
fn a_baggage_guard_held_across_await_stays_with_its_local_task() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let holder = telem::spawn_local(async {
            let _g = Baggage::from_header("held=yes").attach();
            for _ in 0..20 {
                hop(1).await;
                assert_eq!(Baggage::current().get("held"), Some("yes"));
            }
        });
        let other = telem::spawn_local(async {
            for _ in 0..20 {
                assert!(Baggage::current().is_empty(), "saw the holder's baggage");
                hop(1).await;
            }
        });
        holder.await.unwrap();
        other.await.unwrap();
        assert!(Baggage::current().is_empty());
    });
}

#[test]
fn a_panicking_poll_puts_the_baggage_back() {
    let future = async {
        assert_eq!(Baggage::current().get("k"), Some("v"));
        panic!("handler failed");
    }
    .with_context(Context::empty().with_baggage(Baggage::from_header("k=v")));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        futures::executor::block_on(future)
    }));
    assert!(result.is_err());
    assert!(Baggage::current().is_empty());
}
