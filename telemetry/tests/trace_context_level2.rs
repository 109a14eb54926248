//! W3C Trace Context Level 2 and OpenTelemetry's consistent probability sampling,
//! through the public API: headers in, spans started every way a service starts them,
//! headers out. Each test names the section it checks.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use std::collections::HashMap;
use std::time::Duration;
use telem::propagation::{self, TraceParent};
use telem::{Config, Context, Sampler, SpanContext, TraceFlags, TraceId, TraceState, Tracer};

static TRACER: Tracer = Tracer::new("level2-tests");

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn config() -> Config {
    Config::new().with_drain_interval(Duration::from_millis(10))
}

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// What a service sends on under `ctx`, for each way it starts the span that makes the
/// outgoing call: a guard from `start_span` (a child of the attached context), a
/// grandchild, a detached span with the extracted parent given explicitly, and a span
/// made current from a builder.
fn outgoing_under(ctx: &Context) -> Vec<(&'static str, HashMap<String, String>)> {
    let mut out = Vec::new();
    let inject = |span: &SpanContext| {
        let mut h = HashMap::new();
        propagation::inject_context(&Context::from_span(span.clone()), &mut h);
        h
    };
    {
        let _attached = ctx.attach();
        let guard = TRACER.start_span("child");
        let mut h = HashMap::new();
        propagation::inject(&mut h);
        out.push(("start_span", h));
        {
            let _grandchild = TRACER.start_span("grandchild");
            let mut h = HashMap::new();
            propagation::inject(&mut h);
            out.push(("grandchild", h));
        }
        drop(guard);
        let builder = TRACER.span("built").start();
        out.push(("builder start", inject(&builder.context())));
    }
    if let Some(parent) = ctx.span() {
        let detached = TRACER
            .span("detached")
            .parent(parent.clone())
            .start_detached();
        out.push(("explicit parent", inject(&detached.context())));
    }
    out
}

fn flags_of(h: &HashMap<String, String>) -> u8 {
    TraceParent::parse(&h["traceparent"]).unwrap().flags.bits()
}

/// § "Random Trace ID Flag": "If the flag is set in the incoming traceparent header,
/// it MUST also be set in all outgoing traceparent headers which use the same
/// trace-id"; and unset when unset. The sampled flag follows the default sampler
/// (parent-based: the caller's decision).
#[tokio::test]
async fn the_random_flag_is_kept_exactly_as_it_came_in() {
    let p = common::start(config()).await;
    for inbound in ["00", "01", "02", "03"] {
        let ctx = propagation::extract(&headers(&[(
            "traceparent",
            &format!("00-{TRACE}-{PARENT}-{inbound}"),
        )]));
        for (how, out) in outgoing_under(&ctx) {
            let tp = TraceParent::parse(&out["traceparent"]).unwrap();
            assert_eq!(tp.trace_id.to_string(), TRACE, "{how}");
            assert_ne!(tp.parent_id.to_string(), PARENT, "{how}: a new parent id");
            assert_eq!(
                format!("{:02x}", tp.flags.bits()),
                inbound,
                "{how}: flags -{inbound}"
            );
        }
    }
    drop(p.finish().await);
}

/// § "Random Trace ID Flag": a new trace whose id is random "SHOULD" set the flag;
/// every trace id made here is wholly random. Sampled or not.
#[tokio::test]
async fn new_traces_set_the_random_flag() {
    for sampler in [Sampler::AlwaysOn, Sampler::parent_based(Sampler::AlwaysOff)] {
        let p = common::start(config().with_sampler(sampler.clone())).await;
        let sampled = sampler == Sampler::AlwaysOn;
        for (how, out) in outgoing_under(&Context::empty()) {
            let flags = TraceFlags::new(flags_of(&out));
            assert!(flags.is_random(), "{how} under {sampler:?}");
            assert_eq!(flags.is_sampled(), sampled, "{how} under {sampler:?}");
        }
        let root = TRACER.span("root").root().start_detached();
        assert!(root.context().flags.is_random());
        drop(root);
        let spans = p.finish().await;
        if sampled {
            assert!(
                spans.get("root").context.flags.is_random(),
                "exported flags"
            );
        }
    }
}

/// A trace id whose randomness (56 low bits) is `r`.
fn trace_with_randomness(r: u64) -> String {
    format!("{:018x}{r:014x}", 0xabcdef_u64)
}

/// OpenTelemetry SDK specification, `ProbabilitySampler` algorithm: sampled when
/// `R >= T`; "When (R >= T), the OpenTelemetry TraceState SHOULD be modified to
/// include the key-value `th:T`". Children under a parent-based sampler keep it
/// ("Parent-based threshold"), and it reaches every outgoing `tracestate`.
#[tokio::test]
async fn a_ratio_sampler_decides_by_threshold_and_sends_it_on() {
    let ratio = Sampler::TraceIdRatioBased(0.25); // T = 0xc0000000000000
    let p = common::start(config().with_sampler(ratio)).await;
    for (r, sampled) in [
        (0xc0000000000000, true),
        (0xffffffffffffff, true),
        (0xbfffffffffffff, false),
        (0, false),
    ] {
        let trace = trace_with_randomness(r);
        // The caller's sampled flag is ignored: a ratio sampler decides by itself.
        let ctx = propagation::extract(&headers(&[
            ("traceparent", &format!("00-{trace}-{PARENT}-01")),
            ("tracestate", "rojo=00f067aa0ba902b7"),
        ]));
        for (how, out) in outgoing_under(&ctx) {
            let flags = TraceFlags::new(flags_of(&out));
            assert_eq!(flags.is_sampled(), sampled, "{how}, R = {r:x}");
            let expected = if sampled {
                "ot=th:c,rojo=00f067aa0ba902b7"
            } else {
                "rojo=00f067aa0ba902b7"
            };
            assert_eq!(out["tracestate"], expected, "{how}, R = {r:x}");
        }
    }
    drop(p.finish().await);
}

/// New traces under a parent-based ratio sampler: the decision is `R >= T` on the new
/// trace id, a sampled root's context carries `ot=th:8` to its children and outgoing
/// calls, and the thread's trace state is back to empty when the root ends.
#[tokio::test]
async fn ratio_sampled_roots_carry_their_threshold_to_children() {
    let s = Sampler::parent_based(Sampler::TraceIdRatioBased(0.5)); // T = 0x80000000000000
    let p = common::start(config().with_sampler(s)).await;
    let (mut kept, mut dropped) = (0, 0);
    for _ in 0..200 {
        let root = TRACER.start_span("root");
        let ctx = Context::current();
        let span = ctx.span().unwrap();
        let r = span.trace_id.to_u128() as u64 & ((1 << 56) - 1);
        assert_eq!(span.is_sampled(), r >= 0x80000000000000, "R = {r:x}");
        let mut out = HashMap::new();
        {
            let _child = TRACER.start_span("child");
            propagation::inject(&mut out);
        }
        if span.is_sampled() {
            kept += 1;
            assert_eq!(span.state.header_value(), "ot=th:8");
            assert_eq!(out["tracestate"], "ot=th:8");
            assert_eq!(flags_of(&out), 0x03);
        } else {
            dropped += 1;
            assert!(span.state.is_empty());
            assert!(!out.contains_key("tracestate"));
            assert_eq!(flags_of(&out), 0x02);
        }
        drop(root);
        assert!(Context::current().span().is_none());
        let mut after = HashMap::new();
        propagation::inject(&mut after);
        assert!(after.is_empty(), "nothing current once the root ended");
    }
    assert!(kept > 0 && dropped > 0, "{kept} kept, {dropped} dropped");
    let spans = p.finish().await;
    let exported: Vec<_> = spans.0.iter().filter(|s| s.name == "child").collect();
    assert_eq!(exported.len(), kept);
    for child in exported {
        assert_eq!(child.context.state.get("ot"), Some("th:8"));
    }
}

/// `tracestate-probability-sampling.md`, "Parent-based threshold" and "General
/// requirements": a sampled incoming threshold is propagated; one that is apparently
/// inconsistent (`R < th` while sampled) is erased; an unsampled span carries none.
#[tokio::test]
async fn parent_based_sampling_checks_an_incoming_threshold() {
    let p = common::start(config()).await;
    for (randomness, flags, expected) in [
        (0x90000000000000, "01", "ot=th:8,congo=t61rcWkgMzE"),
        (0x10000000000000, "01", "congo=t61rcWkgMzE"),
        (0x90000000000000, "00", "congo=t61rcWkgMzE"),
    ] {
        let trace = trace_with_randomness(randomness);
        let ctx = propagation::extract(&headers(&[
            ("traceparent", &format!("00-{trace}-{PARENT}-{flags}")),
            ("tracestate", "ot=th:8,congo=t61rcWkgMzE"),
        ]));
        for (how, out) in outgoing_under(&ctx) {
            assert_eq!(
                out["tracestate"], expected,
                "{how}: R = {randomness:x}, -{flags}"
            );
        }
    }
    drop(p.finish().await);
}

/// A specification example: its section, the inbound `traceparent` and `tracestate`
/// (empty: absent), and the trace id, flags and `tracestate` sent on (`None`: a new
/// trace).
type Example = (
    &'static str,
    &'static str,
    &'static str,
    Option<(&'static str, u8, &'static str)>,
);

/// The specification's own examples, one case per line: the inbound headers, and what
/// a service continuing the trace (default sampler) sends on. `None`: a new trace
/// (the inbound trace id is not used, and no `tracestate` is sent).
#[tokio::test]
async fn the_specification_examples() {
    #[rustfmt::skip]
    let table: &[Example] = &[
        // § "Relationship Between the Headers" and § "Examples of HTTP traceparent Headers".
        ("§ Relationship", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "congo=t61rcWkgMzE", Some(("0af7651916cd43dd8448eb211c80319c", 0x01, "congo=t61rcWkgMzE"))),
        ("§ Relationship, rojo", "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", Some(("0af7651916cd43dd8448eb211c80319c", 0x01, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"))),
        ("§ traceparent examples, sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", Some((TRACE, 0x01, ""))),
        ("§ traceparent examples, not sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "", Some((TRACE, 0x00, ""))),
        ("§ trace-flags: 03 is sampled and random", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", "", Some((TRACE, 0x03, ""))),
        ("§ trace-flags: 02 is random", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02", "", Some((TRACE, 0x02, ""))),
        ("§ Other Flags: reserved bits set to zero", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", "", Some((TRACE, 0x03, ""))),
        ("§ Versioning: a higher version's first four fields", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like", "rojo=1", Some((TRACE, 0x01, "rojo=1"))),
        ("§ Versioning: no dash after the flags", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what", "rojo=1", None),
        ("§ version: ff is invalid", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "rojo=1", None),
        ("§ trace-id: all zeros", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "rojo=1", None),
        ("§ parent-id: all zeros", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "rojo=1", None),
        ("§ HEXDIGLC: uppercase", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "rojo=1", None),
        ("§ tracestate examples: multiple systems", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", Some((TRACE, 0x01, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"))),
        ("§ list: OWS around members, empty members", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", " rojo=1 ,\t,congo=2\t", Some((TRACE, 0x01, "rojo=1,congo=2"))),
        ("§ Mutating tracestate: duplicates may be discarded", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "foo=1,bar=2,foo=3", Some((TRACE, 0x01, "foo=1,bar=2"))),
        ("§ Key: @ anywhere but first", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "foo@=1,bar=2", Some((TRACE, 0x01, "foo@=1,bar=2"))),
        ("§ Key: a key may start with a digit", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "0vendor=1", Some((TRACE, 0x01, "0vendor=1"))),
        ("§ Key: not first", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "@foo=1,bar=2", Some((TRACE, 0x01, ""))),
        ("§ Value: empty value", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "foo=,bar=3", Some((TRACE, 0x01, ""))),
        ("§ Processing model: tracestate without traceparent", "", "rojo=1", None),
    ];
    let p = common::start(config()).await;
    for (section, traceparent, tracestate, expected) in table {
        let mut inbound = Vec::new();
        if !traceparent.is_empty() {
            inbound.push(("traceparent", *traceparent));
        }
        if !tracestate.is_empty() {
            inbound.push(("tracestate", *tracestate));
        }
        let ctx = propagation::extract(&headers(&inbound));
        for (how, out) in outgoing_under(&ctx) {
            let tp = TraceParent::parse(&out["traceparent"]).unwrap();
            match expected {
                Some((trace, flags, state)) => {
                    assert_eq!(tp.trace_id.to_string(), *trace, "{section} ({how})");
                    assert_eq!(tp.flags.bits(), *flags, "{section} ({how})");
                    let sent = out.get("tracestate").map_or("", String::as_str);
                    assert_eq!(sent, *state, "{section} ({how})");
                }
                None => {
                    assert_ne!(tp.trace_id, TraceId::from_hex(TRACE).unwrap(), "{section}");
                    assert!(tp.flags.is_random(), "{section}: a new trace");
                    assert!(!out.contains_key("tracestate"), "{section} ({how})");
                }
            }
        }
    }
    drop(p.finish().await);
}

/// § "tracestate Header Field Values": header names are case-insensitive and several
/// `tracestate` lines are combined in order (RFC 9110 § 5.3), on a real `HeaderMap`.
#[tokio::test]
async fn header_names_are_case_insensitive_and_lines_combine() {
    let p = common::start(config()).await;
    let mut inbound = http::HeaderMap::new();
    for (name, value) in [
        ("TraceParent", format!("00-{TRACE}-{PARENT}-03")),
        ("TRACESTATE", "rojo=1,foo=1".to_owned()),
        ("tracestate", "congo=2,foo=2".to_owned()),
    ] {
        inbound.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    let ctx = propagation::extract(&inbound);
    let span = ctx.span().unwrap();
    assert_eq!(span.flags, TraceFlags::new(0x03));
    assert_eq!(
        span.state,
        TraceState::from_header("rojo=1,foo=1,congo=2").unwrap()
    );
    drop(p.finish().await);
}

/// § "tracestate Limits": "Vendors SHOULD propagate at least 512 characters of a
/// combined header". The whole list goes on, here 32 members of 100-character values
/// (3,487 characters), in order.
#[tokio::test]
async fn a_long_tracestate_is_sent_on_whole() {
    let p = common::start(config()).await;
    let members: Vec<String> = (0..32)
        .map(|i| format!("vendor{i:02}={}", "v".repeat(100)))
        .collect();
    let tracestate = members.join(",");
    assert!(tracestate.len() > 3_000);
    let ctx = propagation::extract(&headers(&[
        ("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
        ("tracestate", &tracestate),
    ]));
    for (how, out) in outgoing_under(&ctx) {
        assert_eq!(out["tracestate"], tracestate, "{how}");
    }
    drop(p.finish().await);
}
