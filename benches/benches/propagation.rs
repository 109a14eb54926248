//! W3C Trace Context on the request path, beside the OpenTelemetry SDK doing the same
//! work in the same run:
//!
//! ```sh
//! cargo bench -p telem-benches --features peers --bench propagation
//! ```
//!
//! Groups:
//! - `extract`: `traceparent` and a three-member `tracestate` from a `HashMap` carrier
//!   into a context (both sides parse and validate every member).
//! - `inject`: a remote context with that trace state back into a `HashMap`.
//! - `ratio_decision`: a root decision of a 10 % ratio sampler over varied trace ids;
//!   ours is OpenTelemetry's consistent probability sampling and writes `ot=th:e666`
//!   into the trace state of a sampled root, the SDK's (0.33) is its older,
//!   unspecified algorithm and writes nothing.
//! - `ratio_decision_with_tracestate`: the same under a sampled remote parent carrying
//!   `ot=th:...` and two vendor members (ours reads and rewrites the `ot` member).
#![forbid(unsafe_code)]

use criterion::Criterion;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{SpanKind as OtelSpanKind, TraceContextExt as _};
use opentelemetry_sdk::propagation::TraceContextPropagator as OtelPropagator;
use opentelemetry_sdk::trace::{Sampler as OtelSampler, ShouldSample as _};
use std::collections::HashMap;
use std::hint::black_box;
use telem::propagation::TraceContextPropagator;
use telem::{Sampler, TraceId};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03";
const TRACESTATE: &str = "ot=th:8,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";

fn carrier() -> HashMap<String, String> {
    HashMap::from([
        ("traceparent".to_owned(), TRACEPARENT.to_owned()),
        ("tracestate".to_owned(), TRACESTATE.to_owned()),
    ])
}

fn extract(c: &mut Criterion) {
    let headers = carrier();
    let mut g = c.benchmark_group("extract");
    let ours = TraceContextPropagator::new().with_baggage(false);
    g.bench_function("telemetry/extract", |b| {
        b.iter(|| black_box(ours.extract(black_box(&headers))))
    });
    let otel = OtelPropagator::new();
    g.bench_function("otel_sdk/extract", |b| {
        b.iter(|| black_box(otel.extract(black_box(&headers))))
    });
    g.finish();
}

fn inject(c: &mut Criterion) {
    let headers = carrier();
    let mut g = c.benchmark_group("inject");
    let ours = TraceContextPropagator::new().with_baggage(false);
    let ctx = ours.extract(&headers);
    g.bench_function("telemetry/inject_context", |b| {
        b.iter(|| {
            let mut out = HashMap::with_capacity(2);
            ours.inject_context(black_box(&ctx), &mut out);
            black_box(out)
        })
    });
    let otel = OtelPropagator::new();
    let otel_ctx = otel.extract(&headers);
    g.bench_function("otel_sdk/inject_context", |b| {
        b.iter(|| {
            let mut out = HashMap::with_capacity(2);
            otel.inject_context(black_box(&otel_ctx), &mut out);
            black_box(out)
        })
    });
    g.finish();
}

/// 1,024 trace ids from a fixed seed, so both sides decide over the same ids.
fn trace_ids() -> Vec<u128> {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    (0..1024)
        .map(|_| {
            let mut next = || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            (u128::from(next()) << 64) | u128::from(next())
        })
        .collect()
}

fn ratio_decision(c: &mut Criterion) {
    let ids = trace_ids();
    let mut g = c.benchmark_group("ratio_decision");
    let ours = Sampler::parent_based(Sampler::TraceIdRatioBased(0.1));
    g.bench_function("telemetry/should_sample", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(ours.should_sample(None, TraceId::from_raw(ids[i])))
        })
    });
    let otel = OtelSampler::ParentBased(Box::new(OtelSampler::TraceIdRatioBased(0.1)));
    g.bench_function("otel_sdk/should_sample", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 1023;
            let id = opentelemetry::TraceId::from_bytes(ids[i].to_be_bytes());
            black_box(otel.should_sample(None, id, "root", &OtelSpanKind::Server, &[], &[]))
        })
    });
    g.finish();

    let headers = carrier();
    let mut g = c.benchmark_group("ratio_decision_with_tracestate");
    let parent = TraceContextPropagator::new().extract(&headers);
    let parent_span = parent.span().cloned();
    g.bench_function("telemetry/should_sample", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 1023;
            let id = TraceId::from_raw(ids[i]);
            black_box(ours.should_sample(parent_span.as_ref(), id))
        })
    });
    let otel_parent = OtelPropagator::new().extract(&headers);
    assert!(otel_parent.span().span_context().is_valid());
    g.bench_function("otel_sdk/should_sample", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 1023;
            let id = opentelemetry::TraceId::from_bytes(ids[i].to_be_bytes());
            black_box(otel.should_sample(
                Some(&otel_parent),
                id,
                "server",
                &OtelSpanKind::Server,
                &[],
                &[],
            ))
        })
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    extract(&mut c);
    inject(&mut c);
    ratio_decision(&mut c);
    c.final_summary();
}
