//! What a span records: attributes, events, links, status, limits, errors, panics, sampling.

mod common;

use std::time::Duration;
use telem::{Config, KeyValue, Sampler, SpanKind, SpanLimits, Status, Tracer, Value};

static TRACER: Tracer = Tracer::new("span-tests");

fn config() -> Config {
    Config::new().with_drain_interval(Duration::from_millis(10))
}

#[tokio::test]
async fn attributes_events_links_and_status_are_recorded() {
    let p = common::start(config()).await;
    let other = TRACER.span("other").root().start_detached();
    let other_ctx = other.context();
    drop(other);
    {
        let mut s = TRACER
            .span("op")
            .kind(SpanKind::Client)
            .attribute("static", "value")
            .link(other_ctx.clone(), [KeyValue::new("link.reason", "batch")])
            .start();
        s.set_str("owned.key".to_string(), "v".to_string());
        s.set_i64("int", -5);
        s.set_f64("float", 1.5);
        s.set_bool("bool", true);
        s.set_attribute("array", vec!["a", "b"]);
        s.set_i64("int", 6); // overwrite keeps one entry
        s.add_event("cache.miss", [KeyValue::new("key", "books")]);
        s.set_status(Status::error("first"));
        s.set_status(Status::Unset); // ignored
        s.set_status(Status::Ok); // Ok is final
        s.set_status(Status::error("ignored"));
    }
    let spans = p.finish().await;
    let op = spans.get("op");
    assert_eq!(op.kind, SpanKind::Client);
    assert_eq!(op.scope, "span-tests");
    assert_eq!(op.attribute("static"), Some(&Value::from("value")));
    assert_eq!(op.attribute("owned.key"), Some(&Value::from("v")));
    assert_eq!(op.attribute("int"), Some(&Value::I64(6)));
    assert_eq!(op.attribute("float"), Some(&Value::F64(1.5)));
    assert_eq!(op.attribute("bool"), Some(&Value::Bool(true)));
    assert_eq!(op.attribute("array").unwrap().to_string(), "[a,b]");
    assert_eq!(op.attributes.len(), 6);
    assert_eq!(op.events.len(), 1);
    assert_eq!(op.events[0].name, "cache.miss");
    assert!(op.events[0].time_unix_nano >= op.start_time_unix_nano);
    assert!(op.events[0].time_unix_nano <= op.end_time_unix_nano);
    assert_eq!(op.links.len(), 1);
    assert_eq!(op.links[0].context, other_ctx);
    assert_eq!(op.status, Status::Ok);
    assert_eq!(op.dropped_attributes_count, 0);
}

#[tokio::test]
async fn limits_drop_and_count() {
    let limits = SpanLimits::default()
        .with_max_attributes(2)
        .with_max_events(1)
        .with_max_links(1)
        .with_max_attributes_per_event(1);
    let p = common::start(config().with_span_limits(limits)).await;
    {
        let mut s = TRACER.start_span("limited");
        for i in 0..5 {
            s.set_i64(format!("k{i}"), i);
        }
        s.set_i64("k0", 100); // overwriting an existing key is always allowed
        s.add_event("e1", [KeyValue::new("a", 1i64), KeyValue::new("b", 2i64)]);
        s.add_event("e2", []);
        s.add_event("e3", []);
        let ctx = s.context();
        s.add_link(ctx.clone(), []);
        s.add_link(ctx, []);
    }
    let spans = p.finish().await;
    let s = spans.get("limited");
    assert_eq!(s.attributes.len(), 2);
    assert_eq!(s.attribute("k0"), Some(&Value::I64(100)));
    assert_eq!(s.dropped_attributes_count, 3);
    assert_eq!(s.events.len(), 1);
    assert_eq!(s.dropped_events_count, 2);
    assert_eq!(s.events[0].attributes.len(), 1);
    assert_eq!(s.events[0].dropped_attributes_count, 1);
    assert_eq!(s.links.len(), 1);
    assert_eq!(s.dropped_links_count, 1);
}

#[derive(Debug)]
struct Outer(std::io::Error);
impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("loading config failed")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[tokio::test]
async fn record_error_adds_an_exception_event_and_error_status() {
    let p = common::start(config()).await;
    TRACER.in_span("failing", |s| {
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        ));
        s.record_error(&e);
        let dynamic: &dyn std::error::Error = &e;
        s.record_error(dynamic);
    });
    let spans = p.finish().await;
    let s = spans.get("failing");
    assert_eq!(s.status, Status::error("loading config failed"));
    let ev = &s.events[0];
    assert_eq!(ev.name, "exception");
    let attr = |k: &str| {
        ev.attributes
            .iter()
            .find(|kv| kv.key == k)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attr("exception.type").unwrap(), "spans::Outer");
    // The last error recorded (through `&dyn Error`) names its type: `error.type`.
    let error_type = s.attribute("error.type").map(ToString::to_string);
    assert!(
        error_type.as_deref().is_some_and(|t| t.ends_with("Error")),
        "{error_type:?}"
    );
    assert_eq!(attr("exception.message").unwrap(), "loading config failed");
    assert_eq!(attr("exception.cause").unwrap(), "[no such file]");
    assert_eq!(s.events.len(), 2);
}

#[tokio::test]
async fn a_panic_ends_the_span_with_error_status() {
    let p = common::start(config()).await;
    let r = std::panic::catch_unwind(|| {
        let _outer = TRACER.start_span("panicking");
        panic!("boom");
    });
    assert!(r.is_err());
    // The context was restored while unwinding.
    assert!(telem::SpanContext::current().is_none());
    let spans = p.finish().await;
    assert_eq!(spans.get("panicking").status, Status::error("panicked"));
}

#[tokio::test]
async fn unsampled_spans_record_nothing_but_propagate() {
    let p = common::start(config().with_sampler(Sampler::parent_based(Sampler::AlwaysOff))).await;
    let (outer_ctx, inner_ctx) = {
        let outer = TRACER.start_span("unsampled.outer");
        assert!(!outer.is_recording());
        let inner = TRACER.start_span("unsampled.inner");
        (outer.context(), inner.context())
    };
    assert!(outer_ctx.is_valid() && !outer_ctx.is_sampled());
    assert_eq!(inner_ctx.trace_id, outer_ctx.trace_id);
    let stats = p.telemetry.stats();
    assert_eq!(stats.spans_sampled_out, 2);
    // A sampled remote parent still wins under parent-based sampling.
    let remote = telem::SpanContext::new(
        telem::TraceId::random(),
        telem::SpanId::random(),
        telem::TraceFlags::SAMPLED,
        Default::default(),
        true,
    );
    TRACER.span("from.remote").parent(remote).start().end_ok();
    let spans = p.finish().await;
    assert_eq!(spans.0.len(), 1);
    assert_eq!(spans.0[0].name, "from.remote");
}

/// An unsampled span is current like any other: its children take its trace id and it
/// as parent (unsampled too), and each puts back the context it replaced when it ends,
/// in order or not, round after round (with recycled frames).
#[tokio::test]
async fn unsampled_spans_nest_and_restore_like_sampled_ones() {
    let p = common::start(config().with_sampler(Sampler::parent_based(Sampler::AlwaysOff))).await;
    let mut ids = std::collections::HashSet::new();
    let mut traces = std::collections::HashSet::new();
    let rounds = 5;
    for _ in 0..rounds {
        assert!(telem::SpanContext::current().is_none());
        {
            let outer = TRACER.start_span("u.outer");
            let outer_ctx = outer.context();
            assert!(outer_ctx.is_valid() && !outer_ctx.is_sampled());
            assert!(traces.insert(outer_ctx.trace_id), "a new trace per root");
            assert_eq!(telem::SpanContext::current().as_ref(), Some(&outer_ctx));
            let inner = TRACER.start_span("u.inner");
            let inner_ctx = inner.context();
            assert_eq!(inner_ctx.trace_id, outer_ctx.trace_id);
            assert!(!inner_ctx.is_sampled());
            assert_eq!(telem::SpanContext::current().as_ref(), Some(&inner_ctx));
            let leaf = TRACER.start_span("u.leaf");
            let leaf_ctx = leaf.context();
            assert_eq!(leaf_ctx.trace_id, outer_ctx.trace_id);
            assert_eq!(telem::SpanContext::current().as_ref(), Some(&leaf_ctx));
            drop(leaf);
            assert_eq!(telem::SpanContext::current().as_ref(), Some(&inner_ctx));
            // Out of order: the outer span ends first; the inner one stays current, and
            // when it ends its own parent is current again.
            drop(outer);
            assert_eq!(telem::SpanContext::current().as_ref(), Some(&inner_ctx));
            drop(inner);
            assert_eq!(telem::SpanContext::current().as_ref(), Some(&outer_ctx));
            for id in [outer_ctx.span_id, inner_ctx.span_id, leaf_ctx.span_id] {
                assert!(id.is_valid() && ids.insert(id), "span ids are unique");
            }
            // A child of the ended outer span (still current) and a detached root.
            let late = TRACER.start_span("u.late");
            assert_eq!(late.context().trace_id, outer_ctx.trace_id);
            let detached = TRACER.span("u.detached").root().start_detached();
            assert!(traces.insert(detached.context().trace_id));
            drop(late);
            assert_eq!(telem::SpanContext::current().as_ref(), Some(&outer_ctx));
        }
        // The outer span's context stays current (its child restored it after it ended)
        // until the thread's context is reset.
        let _reset = telem::Context::empty().attach();
        assert!(telem::SpanContext::current().is_none());
        drop(TRACER.start_span("u.root_over_empty"));
        assert!(telem::SpanContext::current().is_none());
        std::mem::forget(_reset);
    }
    let stats = p.telemetry.stats();
    assert_eq!(stats.spans_sampled_out, rounds * 6);
    let spans = p.finish().await;
    assert!(spans.0.is_empty());
}

/// A ratio sampler decides from the trace id, on the fast unsampled path as on the
/// recording one: every root's decision is the sampler's for its trace id, its children
/// follow it, and the counts add up.
#[tokio::test]
async fn ratio_sampled_roots_decide_from_their_trace_id() {
    let sampler = Sampler::TraceIdRatioBased(0.5);
    let p = common::start(config().with_sampler(Sampler::parent_based(sampler.clone()))).await;
    let n = 400;
    let mut kept = std::collections::HashSet::new();
    for _ in 0..n {
        let root = TRACER.start_span("ratio.root");
        let ctx = root.context();
        assert_eq!(
            ctx.is_sampled(),
            sampler.should_sample(None, ctx.trace_id).sampled
        );
        assert_eq!(root.is_recording(), ctx.is_sampled());
        let child = TRACER.start_span("ratio.child");
        assert_eq!(child.context().trace_id, ctx.trace_id);
        assert_eq!(child.context().is_sampled(), ctx.is_sampled());
        drop(child);
        assert_eq!(telem::SpanContext::current(), Some(ctx.clone()));
        if ctx.is_sampled() {
            kept.insert(ctx.trace_id);
        }
    }
    assert!(telem::SpanContext::current().is_none());
    // 400 fair coin flips: more than 100 each way is 10 standard deviations.
    assert!(kept.len() > 100 && kept.len() < 300, "{}", kept.len());
    let stats = p.telemetry.stats();
    assert_eq!(stats.spans_sampled_out, 2 * (n - kept.len() as u64));
    let spans = p.finish().await;
    assert_eq!(spans.0.len(), 2 * kept.len());
    assert!(spans.0.iter().all(|s| kept.contains(&s.context.trace_id)));
}

trait EndOk {
    fn end_ok(self);
}
impl EndOk for telem::SpanGuard {
    fn end_ok(mut self) {
        self.set_status(Status::Ok);
    }
}

#[tokio::test]
async fn times_are_unix_nanos_and_ordered() {
    let p = common::start(config()).await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    {
        let _s = TRACER.start_span("timed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let spans = p.finish().await;
    let s = spans.get("timed");
    assert!(
        s.duration_nanos() >= 19_000_000,
        "duration {}",
        s.duration_nanos()
    );
    // Anchored to wall time: within a second of the SystemTime read before the span.
    assert!(s.start_time_unix_nano.abs_diff(before) < 1_000_000_000);
}

#[tokio::test]
async fn without_a_pipeline_spans_are_no_ops() {
    let _slot = common::no_pipeline().await;
    let s = TRACER.start_span("off");
    assert!(!s.is_recording());
    assert!(!s.context().is_valid());
    assert!(telem::SpanContext::current().is_none());
}
