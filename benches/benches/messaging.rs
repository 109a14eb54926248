//! Messaging: a message's trace context from producer to consumer, and the traced
//! in-process channel, beside the OpenTelemetry SDK and plain tokio in the same run:
//!
//! ```sh
//! cargo bench -p telem-benches --features peers --bench messaging
//! ```
//!
//! Groups:
//! - `message_propagation`: one message with a `HashMap<String, String>` of headers,
//!   inside a sampled request span, with the pipeline running (spans sampled and drained
//!   into a sink that discards them). `send_receive` is the whole cost of
//!   `telem::messaging`: the `send` producer span, its context injected, the headers
//!   extracted, the `process` consumer span (child of the producer, linked to it) around
//!   a handler that is ready at once, and the four metric recordings (send duration,
//!   sent count, consumed count, process duration). The SDK's `send_receive` does the
//!   same by hand: both spans with the same attributes, parent and link, its
//!   `TraceContextPropagator`, the handler run under the consumer's context, and the
//!   same four recordings into an `SdkMeterProvider` (its periodic reader exporting
//!   to an exporter that discards, every 60 s by default). `inject_extract` is the
//!   propagation alone: the current span's context into the headers and back. Ours
//!   also handles `baggage` (none here: one map look-up on extract); the SDK's
//!   propagator does not, and writes an empty `tracestate`.
//! - `channel`: throughput of a bounded channel (1,024 messages) from a sender on the
//!   pinned calling thread to a receiver task on the runtime's cores, per message: plain
//!   tokio `mpsc`, and our traced channel whose receiver runs each message's handler in a
//!   `process` span, child of the sender's span (`traced`) or, with the sender in no
//!   span, the root of a new trace (`traced_no_parent`). Each sample sends its messages
//!   and waits until the receiver has handled the last.
//!
//! Only one `telemetry` pipeline can run per process, so each group starts its own and
//! shuts it down at its end, printing its stats.
#![forbid(unsafe_code)]

use criterion::{Criterion, SamplingMode, Throughput};
use opentelemetry::metrics::{
    Counter as OtelCounter, Histogram as OtelHistogram, MeterProvider as _,
};
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{
    Link as OtelLink, SpanKind as OtelSpanKind, TraceContextExt as _, Tracer as _,
    TracerProvider as _,
};
use opentelemetry::{Context as OtelContext, KeyValue as OtelKeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{SdkMeterProvider, Temporality};
use opentelemetry_sdk::propagation::TraceContextPropagator as OtelPropagator;
use opentelemetry_sdk::trace::{Sampler as OtelSampler, SdkTracerProvider};
use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};
use telem::messaging::{channel, Destination};
use telem::{Config, FutureExt as _, Tracer};
use telem_benches::{
    on_runtime_cores, pinned_runtime, start_pipeline, stop_pipeline, DiscardExporter,
};
use tokio::runtime::Runtime;

static TRACER: Tracer = Tracer::new("bench");

/// The channels' capacity in `channel`.
const CAPACITY: usize = 1024;

/// Polls `fut` once and returns its output: the handlers here never wait, so
/// `Delivery::process` completes in its first poll, with no executor in the figure.
fn ready<F: Future>(fut: F) -> F::Output {
    match pin!(fut).poll(&mut TaskContext::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the handler never waits"),
    }
}

/// An SDK metric exporter that drops what its periodic reader collects: the metrics
/// counterpart of [`DiscardExporter`].
#[derive(Debug)]
struct DiscardMetricExporter;

impl PushMetricExporter for DiscardMetricExporter {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        black_box(metrics);
        std::future::ready(Ok(()))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

/// The SDK's messaging instruments, named and labelled as OpenTelemetry's messaging
/// conventions say (an empty label is no attribute there), for `otel_sdk/send_receive`.
struct OtelMessaging {
    operation_duration: OtelHistogram<f64>,
    sent: OtelCounter<u64>,
    process_duration: OtelHistogram<f64>,
    consumed: OtelCounter<u64>,
    send_attributes: [OtelKeyValue; 4],
    process_attributes: [OtelKeyValue; 4],
    send_labels: [OtelKeyValue; 3],
    process_labels: [OtelKeyValue; 3],
}

impl OtelMessaging {
    fn new(meters: &SdkMeterProvider) -> Self {
        let meter = meters.meter("bench");
        let buckets = telem::messaging::DURATION_BUCKETS.to_vec();
        let attributes = |name: &'static str, kind: &'static str| {
            [
                OtelKeyValue::new("messaging.system", "redis"),
                OtelKeyValue::new("messaging.destination.name", "jobs"),
                OtelKeyValue::new("messaging.operation.name", name),
                OtelKeyValue::new("messaging.operation.type", kind),
            ]
        };
        let labels = |name: &'static str| {
            [
                OtelKeyValue::new("messaging.system", "redis"),
                OtelKeyValue::new("messaging.destination.name", "jobs"),
                OtelKeyValue::new("messaging.operation.name", name),
            ]
        };
        Self {
            operation_duration: meter
                .f64_histogram("messaging.client.operation.duration")
                .with_unit("s")
                .with_boundaries(buckets.clone())
                .build(),
            sent: meter.u64_counter("messaging.client.sent.messages").build(),
            process_duration: meter
                .f64_histogram("messaging.process.duration")
                .with_unit("s")
                .with_boundaries(buckets)
                .build(),
            consumed: meter
                .u64_counter("messaging.client.consumed.messages")
                .build(),
            send_attributes: attributes("send", "send"),
            process_attributes: attributes("process", "process"),
            send_labels: labels("send"),
            process_labels: labels("process"),
        }
    }
}

/// 1. One message's context from producer to consumer through its headers.
fn message_propagation(c: &mut Criterion, rt: &Runtime) {
    let pipeline = start_pipeline(rt, Config::new());
    let jobs = Destination::new("redis", "jobs");
    let mut g = c.benchmark_group("message_propagation");

    g.bench_function("telemetry/send_receive", |b| {
        let _request = TRACER.start_span("request");
        let mut headers = HashMap::<String, String>::new();
        b.iter(|| {
            headers.clear();
            jobs.send(&mut headers).end();
            let delivery = jobs.receive(black_box(&headers));
            ready(delivery.process(async {})).expect("the handler does not panic");
        })
    });
    g.bench_function("telemetry/inject_extract", |b| {
        let _request = TRACER.start_span("request");
        let mut headers = HashMap::<String, String>::new();
        b.iter(|| {
            headers.clear();
            telem::propagation::inject(&mut headers);
            black_box(telem::propagation::extract(black_box(&headers)))
        })
    });

    let provider = on_runtime_cores(|| {
        SdkTracerProvider::builder()
            .with_sampler(OtelSampler::ParentBased(Box::new(OtelSampler::AlwaysOn)))
            .with_batch_exporter(DiscardExporter)
            .build()
    });
    let tracer = provider.tracer("bench");
    let meters = on_runtime_cores(|| {
        SdkMeterProvider::builder()
            .with_periodic_exporter(DiscardMetricExporter)
            .build()
    });
    let otel = OtelMessaging::new(&meters);
    let propagator = OtelPropagator::new();
    g.bench_function("otel_sdk/send_receive", |b| {
        let _request = OtelContext::current_with_span(tracer.start("request")).attach();
        let mut headers = HashMap::<String, String>::new();
        b.iter(|| {
            headers.clear();
            // Producer: the send span, its context into the headers, the send timed.
            let start = Instant::now();
            let send = tracer
                .span_builder("send jobs")
                .with_kind(OtelSpanKind::Producer)
                .with_attributes(otel.send_attributes.clone())
                .start(&tracer);
            let send = OtelContext::current_with_span(send);
            propagator.inject_context(&send, &mut headers);
            send.span().end();
            otel.operation_duration
                .record(start.elapsed().as_secs_f64(), &otel.send_attributes);
            otel.sent.add(1, &otel.send_labels);

            // Consumer: the process span, child of the creation context and linked to
            // it, current while the handler runs.
            let start = Instant::now();
            let creation = propagator.extract(black_box(&headers));
            let link = OtelLink::with_context(creation.span().span_context().clone());
            let process = tracer
                .span_builder("process jobs")
                .with_kind(OtelSpanKind::Consumer)
                .with_attributes(otel.process_attributes.clone())
                .with_links(vec![link])
                .start_with_context(&tracer, &creation);
            otel.consumed.add(1, &otel.process_labels);
            let process = creation.with_span(process);
            ready(opentelemetry::context::FutureExt::with_context(
                async {},
                process.clone(),
            ));
            process.span().end();
            otel.process_duration
                .record(start.elapsed().as_secs_f64(), &otel.process_labels);
        })
    });
    g.bench_function("otel_sdk/inject_extract", |b| {
        let _request = OtelContext::current_with_span(tracer.start("request")).attach();
        let mut headers = HashMap::<String, String>::new();
        b.iter(|| {
            headers.clear();
            propagator.inject(&mut headers);
            black_box(propagator.extract(black_box(&headers)))
        })
    });
    g.finish();

    stop_pipeline(rt, pipeline, "message_propagation");
    let _ = provider.shutdown();
    let _ = meters.shutdown();
}

/// `iters` messages through tokio's `mpsc`, from this thread (inside a sampled span) to
/// a receiver task that only receives them.
fn tokio_mpsc(rt: &Runtime, iters: u64) -> Duration {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
    let receiver = rt.spawn(async move {
        while let Some(v) = rx.recv().await {
            black_box(v);
        }
    });
    rt.block_on(async move {
        let start = Instant::now();
        async move {
            for i in 0..iters {
                tx.send(i).await.expect("the receiver is running");
            }
        }
        .in_span(TRACER.span("request").start_detached())
        .await;
        receiver.await.expect("the receiver does not panic");
        start.elapsed()
    })
}

/// `iters` messages through our traced channel, from this thread (inside a sampled span
/// if `in_span`) to a receiver task that processes each in its `process` span.
fn traced(rt: &Runtime, jobs: &Destination, iters: u64, in_span: bool) -> Duration {
    let (tx, mut rx) = channel::<u64>(jobs.clone(), CAPACITY);
    let receiver = rt.spawn(async move {
        while let Some(message) = rx.recv().await {
            message
                .process(|v| async move {
                    black_box(v);
                })
                .await
                .expect("the handler does not panic");
        }
    });
    rt.block_on(async move {
        let start = Instant::now();
        let send = async move {
            for i in 0..iters {
                tx.send(i).await.expect("the receiver is running");
            }
        };
        if in_span {
            send.in_span(TRACER.span("request").start_detached()).await;
        } else {
            send.await;
        }
        receiver.await.expect("the receiver does not panic");
        start.elapsed()
    })
}

/// 2. Per-message throughput of a bounded channel between two threads.
fn channel_throughput(c: &mut Criterion, rt: &Runtime) {
    let pipeline = start_pipeline(rt, Config::new());
    let jobs = Destination::new("tokio", "jobs");
    let mut g = c.benchmark_group("channel");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(1));
    g.bench_function("tokio/mpsc", |b| {
        b.iter_custom(|iters| tokio_mpsc(rt, iters))
    });
    g.bench_function("telemetry/traced", |b| {
        b.iter_custom(|iters| traced(rt, &jobs, iters, true))
    });
    g.bench_function("telemetry/traced_no_parent", |b| {
        b.iter_custom(|iters| traced(rt, &jobs, iters, false))
    });
    g.finish();
    stop_pipeline(rt, pipeline, "channel");
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = pinned_runtime();
    message_propagation(&mut c, &rt);
    channel_throughput(&mut c, &rt);
    c.final_summary();
}
