//! Encoding 10,000 log records for the console: `StdoutSink`'s JSON lines and pretty
//! format beside `tracing-subscriber`'s JSON and full formatters, in one run:
//!
//! ```sh
//! cargo bench -p telem-benches --features peers --bench logs_encode
//! ```
//!
//! Each record is the bookstore's 404 warning: the message `book not found`, three
//! call-site fields (`book.id` an integer, `reason` a string, `ratio` a float), the
//! request id bound to the context, and the trace and span ids of the request's span.
//! Throughput is reported in records per second.
//!
//! Ours (`telemetry_json_lines`, `telemetry_pretty`): `export_logs` of a batch of
//! 10,000 ready `LogRecord`s (what the drain hands sinks), timed until it returns: the
//! records rendered into the buffer the writer thread gave back, and the buffer handed
//! to that thread. The thread's write (to `io::sink()`) and the flush that brings the
//! buffer back happen after the clock stops, on the other core.
//!
//! The peers (`tracing_subscriber_json`, `tracing_subscriber_full`): 10,000 `warn!`
//! events with the same message and fields inside an entered span carrying the request
//! id, formatted by `tracing_subscriber::fmt` (JSON, or its default full format, no
//! colour) and written to `io::sink()`. `tracing-subscriber` formats during the call,
//! so its figure also holds the event's dispatch (the macro, the enabled check, the
//! span lookup), which our figure leaves to the recording side and the drain. The
//! span's fields are formatted once, when it is created, outside the clock.
#![forbid(unsafe_code)]

use criterion::{Criterion, Throughput};
use std::hint::black_box;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telem::{
    Attributes, KeyValue, Level, LogBatch, LogRecord, Sink, SpanId, StdoutFormat, StdoutSink,
    TraceFlags, TraceId,
};
use tokio::runtime::Runtime;

const RECORDS: usize = 10_000;
const START: u64 = 1_700_000_000_000_000_000;

/// The batch our sinks encode: one request's trace per 10 records.
fn records() -> LogBatch {
    Arc::new(
        (0..RECORDS as u64)
            .map(|i| {
                let mut record = LogRecord::new(Level::Warn, "book not found");
                record.time_unix_nano = START + i * 1_000;
                record.observed_time_unix_nano = record.time_unix_nano;
                record.target = "bookstore::routes".into();
                record.attributes = Attributes::from(vec![
                    KeyValue::new("book.id", 900 + i as i64),
                    KeyValue::new("reason", "no such id"),
                    KeyValue::new("ratio", 0.25),
                ]);
                record.context_fields = Attributes::from(vec![KeyValue::new("request.id", "r-17")]);
                record.trace_id = TraceId::from_raw(
                    0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736 + u128::from(i / 10),
                );
                record.span_id = SpanId::from_raw(0x00f0_67aa_0ba9_02b7 + i / 10);
                record.trace_flags = TraceFlags::SAMPLED;
                record
            })
            .collect(),
    )
}

/// A `StdoutSink` writing to `io::sink()`, its writer thread started on the runtime's
/// cores (a thread inherits the affinity of the one that starts it).
fn sink(rt: &Runtime, format: StdoutFormat) -> StdoutSink {
    let sink = StdoutSink::from_writer(std::io::sink(), format).with_buffer_bytes(256 << 20);
    telem_benches::on_runtime_cores(|| {
        rt.block_on(async {
            let first: LogBatch = Arc::new(vec![LogRecord::new(Level::Info, "start")]);
            sink.export_logs(first).await.expect("writer thread");
            sink.flush().await.expect("flush");
        })
    });
    sink
}

/// Times `export_logs` of `batch`, `iters` times; each flush (the write, and the buffer
/// coming back for the next batch) is outside the clock.
fn encode(rt: &Runtime, sink: &StdoutSink, batch: &LogBatch, iters: u64) -> Duration {
    rt.block_on(async {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            let result = sink.export_logs(batch.clone()).await;
            total += start.elapsed();
            result.expect("the queue holds a batch");
            sink.flush().await.expect("flush");
        }
        total
    })
}

/// 10,000 `warn!` events like our records, inside a span with the request id.
fn tracing_events() {
    let span = tracing::warn_span!("request", request.id = "r-17");
    let _entered = span.enter();
    for i in 0..RECORDS as i64 {
        tracing::warn!(
            book.id = 900 + i,
            reason = "no such id",
            ratio = 0.25,
            "book not found"
        );
    }
}

/// `tracing-subscriber`'s JSON formatter (its defaults: current span and span list
/// included) writing to `io::sink()`.
fn tracing_json() -> tracing::Dispatch {
    tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::sink)
            .finish(),
    )
}

/// `tracing-subscriber`'s default (full) format, without colour, to `io::sink()`.
fn tracing_full() -> tracing::Dispatch {
    tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(std::io::sink)
            .finish(),
    )
}

/// A writer that keeps what it is given, to print one line of each format.
#[derive(Clone, Default)]
struct Kept(Arc<Mutex<Vec<u8>>>);

impl Write for Kept {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut kept) = self.0.lock() {
            kept.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Kept {
    fn first_line(&self) -> String {
        let kept = self.0.lock().map(|k| k.clone()).unwrap_or_default();
        String::from_utf8_lossy(&kept)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

/// Prints one line of each format, so the figures can be read against what was written.
fn print_samples(rt: &Runtime, batch: &LogBatch) {
    for format in [StdoutFormat::Json, StdoutFormat::Pretty] {
        let kept = Kept::default();
        let sink = StdoutSink::from_writer(kept.clone(), format);
        let one: LogBatch = Arc::new(vec![batch[0].clone()]);
        rt.block_on(async {
            sink.export_logs(one).await.expect("written");
            sink.flush().await.expect("flush");
        });
        println!("telemetry {format:?}: {}", kept.first_line());
    }
    for json in [true, false] {
        let kept = Kept::default();
        let writer = kept.clone();
        let builder = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone());
        let dispatch = if json {
            tracing::Dispatch::new(builder.json().finish())
        } else {
            tracing::Dispatch::new(builder.finish())
        };
        tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::warn_span!("request", request.id = "r-17");
            let _entered = span.enter();
            tracing::warn!(
                book.id = 900,
                reason = "no such id",
                ratio = 0.25,
                "book not found"
            );
        });
        let name = if json { "json" } else { "full" };
        println!("tracing-subscriber {name}: {}", kept.first_line());
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = telem_benches::pinned_runtime();
    let batch = records();
    print_samples(&rt, &batch);

    let mut g = c.benchmark_group("logs_encode_10k");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.sample_size(30);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(5));
    for (name, format) in [
        ("telemetry_json_lines", StdoutFormat::Json),
        ("telemetry_pretty", StdoutFormat::Pretty),
    ] {
        let sink = sink(&rt, format);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| encode(&rt, &sink, &batch, iters))
        });
        assert_eq!(sink.logs_dropped(), 0, "{name}: every batch was accepted");
    }
    for (name, dispatch) in [
        ("tracing_subscriber_json", tracing_json()),
        ("tracing_subscriber_full", tracing_full()),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| tracing::dispatcher::with_default(&dispatch, tracing_events))
        });
    }
    g.finish();
    black_box(batch);
}
