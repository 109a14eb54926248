//! Log records through `StdoutSink`: the exact JSON line and pretty line of a record,
//! fields that collide with the JSON line's own keys, ids left out outside a span,
//! escaping, the stream shared with spans, and the writer thread's bound: a full queue
//! drops (and counts) log records, a stalled writer never blocks `export_logs`, and a
//! batch renders without allocating.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]
// A global allocator is an `unsafe impl`; this one only counts and forwards to `System`.
#![allow(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};
// The crate's types; `stdout_fixtures` takes some of them from here.
use telem::{
    Attributes, KeyValue, Level, LogBatch, LogRecord, Sink, SpanContext, SpanData, SpanId,
    SpanKind, Status, StdoutFormat, StdoutSink, Str, TraceFlags, TraceId, TraceState,
};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::Counting;

#[path = "common/render_allocations.rs"]
mod render_allocations;
use render_allocations::second_batch_allocations;

#[path = "common/one_thread.rs"]
mod one_thread;
use one_thread::on_one_thread;

#[path = "common/writers.rs"]
mod writers;
use writers::{Gate, NeverWrites, Shared};

#[path = "common/stdout_fixtures.rs"]
mod stdout_fixtures;
use stdout_fixtures::{log, root, SPAN, START, TRACE};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// `record` made inside a sampled span.
fn in_span(mut record: LogRecord) -> LogRecord {
    record.trace_id = TraceId::from_hex(TRACE).unwrap();
    record.span_id = SpanId::from_hex(SPAN).unwrap();
    record.trace_flags = TraceFlags::SAMPLED;
    record
}

fn fields(fields: Vec<KeyValue>) -> Attributes {
    Attributes::from(fields)
}

/// The 404 warning of the bookstore: two call-site fields, one bound field, in a span.
fn not_found() -> LogRecord {
    let mut record = in_span(log(Level::Warn, "book not found"));
    record.attributes = fields(vec![
        KeyValue::new("book.id", 999i64),
        KeyValue::new("reason", "no such id"),
    ]);
    record.context_fields = fields(vec![KeyValue::new("request.id", "r-17")]);
    record
}

/// What the sink writes for `records`, in `format`.
fn written(format: StdoutFormat, records: Vec<LogRecord>) -> String {
    let out = Shared::default();
    let sink = StdoutSink::from_writer(out.clone(), format);
    futures::executor::block_on(async {
        sink.export_logs(Arc::new(records)).await.unwrap();
        sink.flush().await.unwrap();
    });
    out.text()
}

fn json(records: Vec<LogRecord>) -> String {
    written(StdoutFormat::Json, records)
}

fn pretty(records: Vec<LogRecord>) -> String {
    written(StdoutFormat::Pretty, records)
}

#[test]
fn a_json_line_puts_the_ids_and_every_field_at_the_top_level() {
    assert_eq!(
        json(vec![not_found()]),
        concat!(
            r#"{"timestamp":"2023-11-14T22:13:20.123456789Z","level":"WARN","#,
            r#""message":"book not found","target":"bookstore::routes","#,
            r#""trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","#,
            r#""trace_flags":"01","book.id":999,"reason":"no such id","request.id":"r-17"}"#,
            "\n"
        )
    );
}

#[test]
fn a_json_line_outside_a_span_has_no_ids() {
    let line = json(vec![log(Level::Info, "ready")]);
    assert_eq!(
        line,
        concat!(
            r#"{"timestamp":"2023-11-14T22:13:20.123456789Z","level":"INFO","#,
            r#""message":"ready","target":"bookstore::routes"}"#,
            "\n"
        )
    );
    // An unsampled span's records keep their ids, with flags `00`.
    let mut unsampled = in_span(log(Level::Info, "ready"));
    unsampled.trace_flags = TraceFlags::NONE;
    let line: serde_json::Value = serde_json::from_str(&json(vec![unsampled])).unwrap();
    assert_eq!(line["trace_id"], TRACE);
    assert_eq!(line["span_id"], SPAN);
    assert_eq!(line["trace_flags"], "00");
}

#[test]
fn a_json_line_has_the_event_name_after_the_ids() {
    let mut created = in_span(log(Level::Info, "book created"));
    created.event_name = Some("book.created".into());
    created.attributes = fields(vec![KeyValue::new("book.id", 7i64)]);
    let line = json(vec![created]);
    assert!(
        line.ends_with(concat!(
            r#""trace_flags":"01","event_name":"book.created","book.id":7}"#,
            "\n"
        )),
        "{line}"
    );
}

/// A field whose key the line writes itself (or `fields`) goes under `"fields"`,
/// whether the call site or the context gave it, so `message` is always the message.
#[test]
fn json_fields_that_collide_with_reserved_keys_go_under_fields() {
    let mut shadowing = log(Level::Error, "real message");
    shadowing.attributes = fields(vec![
        KeyValue::new("message", "shadow"),
        KeyValue::new("ok", 1i64),
        KeyValue::new("level", 3i64),
        KeyValue::new("fields", "x"),
        // Reserved even though this record, outside a span, writes no `trace_id`.
        KeyValue::new("trace_id", "mine"),
    ]);
    shadowing.context_fields = fields(vec![
        KeyValue::new("target", "bound"),
        KeyValue::new("user.id", 42i64),
    ]);
    assert_eq!(
        json(vec![shadowing]),
        concat!(
            r#"{"timestamp":"2023-11-14T22:13:20.123456789Z","level":"ERROR","#,
            r#""message":"real message","target":"bookstore::routes","ok":1,"user.id":42,"#,
            r#""fields":{"message":"shadow","level":3,"fields":"x","trace_id":"mine","#,
            r#""target":"bound"}}"#,
            "\n"
        )
    );
}

#[test]
fn json_values_are_plain_json() {
    let mut values = log(Level::Debug, "values");
    values.attributes = fields(vec![
        KeyValue::new("s", "text"),
        KeyValue::new("i", -5i64),
        KeyValue::new("big", i64::MAX),
        KeyValue::new("f", 1.5f64),
        KeyValue::new("nan", f64::NAN),
        KeyValue::new("inf", f64::INFINITY),
        KeyValue::new("ninf", f64::NEG_INFINITY),
        KeyValue::new("b", true),
        KeyValue::new("ints", vec![1i64, 2]),
        KeyValue::new("strs", vec!["a", "b c"]),
        KeyValue::new("floats", vec![0.5f64, f64::NAN]),
        KeyValue::new("none", Vec::<i64>::new()),
    ]);
    let line = json(vec![values]);
    assert!(
        line.ends_with(concat!(
            r#""target":"bookstore::routes","s":"text","i":-5,"big":9223372036854775807,"#,
            r#""f":1.5,"nan":"NaN","inf":"Infinity","ninf":"-Infinity","b":true,"#,
            r#""ints":[1,2],"strs":["a","b c"],"floats":[0.5,"NaN"],"none":[]}"#,
            "\n"
        )),
        "{line}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(parsed["big"], i64::MAX);
}

/// Quotes, backslashes and control characters escaped as JSON requires, in the
/// message, the target, keys and values; other Unicode copied as is.
#[test]
fn json_escapes_control_characters_quotes_and_keeps_unicode() {
    let text = "say \"hi\"\nthen\tleave \\ \u{0}\u{1}\u{1b}[31m\u{7f} ünïcödé ✓ 𝄞";
    let mut tricky = log(Level::Warn, "");
    tricky.body = String::from(text).into();
    tricky.target = String::from("mod\n\"x\"").into();
    tricky.attributes = fields(vec![KeyValue::new(
        String::from("k\"\u{1}"),
        String::from(text),
    )]);
    tricky.context_fields = fields(vec![KeyValue::new("bound", String::from(text))]);
    let line = json(vec![tricky]);
    assert_eq!(line.lines().count(), 1, "one line per record: {line:?}");
    let escaped = serde_json::to_string(text).unwrap();
    assert!(line.contains(&format!(r#""message":{escaped}"#)), "{line}");
    assert!(
        line.contains(r#""message":"say \"hi\"\nthen\tleave \\ \u0000\u0001\u001b[31m"#),
        "{line}"
    );
    assert!(line.contains("\u{7f} ünïcödé ✓ 𝄞"), "copied as is: {line}");
    let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(parsed["message"], text);
    assert_eq!(parsed["target"], "mod\n\"x\"");
    assert_eq!(parsed["k\"\u{1}"], text);
    assert_eq!(parsed["bound"], text);
}

#[test]
fn a_pretty_line_reads_time_level_target_message_fields_and_ids() {
    assert_eq!(
        pretty(vec![not_found()]),
        "22:13:20.123Z    WARN bookstore::routes: book not found book.id=999 \
         reason=\"no such id\" request.id=r-17 trace=4bf92f35\u{2026} span=00f067aa0ba902b7\n"
    );
}

#[test]
fn a_pretty_line_outside_a_span_has_no_ids_and_levels_align() {
    let mut created = log(Level::Info, "book created");
    created.event_name = Some("book.created".into());
    let mut bare = LogRecord::new(Level::Error, "no target");
    bare.time_unix_nano = START;
    let mut only_fields = log(Level::Trace, "");
    only_fields.attributes = fields(vec![KeyValue::new("n", 1i64)]);
    assert_eq!(
        pretty(vec![
            log(Level::Debug, "lookup"),
            created,
            bare,
            only_fields
        ]),
        concat!(
            "22:13:20.123Z   DEBUG bookstore::routes: lookup\n",
            "22:13:20.123Z    INFO bookstore::routes [book.created]: book created\n",
            "22:13:20.123Z   ERROR no target\n",
            "22:13:20.123Z   TRACE bookstore::routes: n=1\n",
        )
    );
}

/// The message keeps its quotes but never breaks the line or sends the terminal an
/// escape sequence; a value is quoted only when it must be.
#[test]
fn pretty_escapes_control_characters_and_quotes_only_values_that_need_it() {
    let mut tricky = log(Level::Warn, "");
    tricky.body = "line1\nline2 \u{1b}[31m \"quoted\" ✓".into();
    tricky.attributes = fields(vec![
        KeyValue::new("plain", "word"),
        KeyValue::new("spaced", "two words"),
        KeyValue::new("quote", "say \"hi\""),
        KeyValue::new("empty", ""),
        KeyValue::new("eq", "a=b"),
        KeyValue::new("nl", "a\nb"),
        KeyValue::new("f", 0.25f64),
        KeyValue::new("b", false),
        KeyValue::new("tags", vec!["a b", "c"]),
    ]);
    assert_eq!(
        pretty(vec![tricky]),
        "22:13:20.123Z    WARN bookstore::routes: line1\\nline2 \\u{1b}[31m \"quoted\" ✓ \
         plain=word spaced=\"two words\" quote=\"say \\\"hi\\\"\" empty=\"\" eq=\"a=b\" \
         nl=\"a\\nb\" f=0.25 b=false tags=\"[a b,c]\"\n"
    );
}

/// Spans and log records go through the one writer, in the order their batches came.
#[tokio::test]
async fn spans_and_logs_share_one_stream_in_order() {
    for format in [StdoutFormat::Json, StdoutFormat::Pretty] {
        let out = Shared::default();
        let sink = StdoutSink::from_writer(out.clone(), format);
        sink.export_spans(Arc::new(vec![root("first")]))
            .await
            .unwrap();
        sink.export_logs(Arc::new(vec![not_found(), log(Level::Info, "ready")]))
            .await
            .unwrap();
        sink.export_spans(Arc::new(vec![root("last")]))
            .await
            .unwrap();
        sink.export_logs(Arc::new(vec![])).await.unwrap();
        sink.flush().await.unwrap();
        let text = out.text();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].contains("first"), "{text}");
        assert!(lines[1].contains("book not found"), "{text}");
        assert!(lines[2].contains("ready"), "{text}");
        assert!(lines[3].contains("last"), "{text}");
        assert_eq!((sink.spans_dropped(), sink.logs_dropped()), (0, 0));
    }
}

fn records(n: usize) -> LogBatch {
    Arc::new((0..n).map(|_| in_span(log(Level::Info, "r"))).collect())
}

/// While the writer takes nothing, the queue fills and further batches are refused:
/// their records are counted in `logs_dropped`, not in `spans_dropped`.
#[tokio::test]
async fn a_full_writer_queue_counts_the_log_records_it_refuses() {
    let gate = Gate::default();
    // One byte: the first batch always goes, then the queue is full.
    let sink = StdoutSink::from_writer(gate.clone(), StdoutFormat::Json).with_buffer_bytes(1);
    sink.export_logs(records(3)).await.unwrap();
    let refused = sink.export_logs(records(2)).await.unwrap_err();
    assert!(refused.to_string().contains("stalled"), "{refused}");
    assert!(
        refused.to_string().ends_with("2 log records dropped"),
        "{refused}"
    );
    assert_eq!((sink.spans_dropped(), sink.logs_dropped()), (0, 2));
    sink.export_spans(Arc::new(vec![root("s")]))
        .await
        .unwrap_err();
    assert_eq!((sink.spans_dropped(), sink.logs_dropped()), (1, 2));
    assert!(
        sink.counts_own_drops(),
        "the pipeline must not count them again"
    );
    // Released: what was accepted is written, nothing more is lost.
    gate.open();
    sink.flush().await.unwrap();
    assert_eq!(gate.text().lines().count(), 3);
    assert_eq!((sink.spans_dropped(), sink.logs_dropped()), (1, 2));
}

/// With a writer blocked for good, `export_logs` still returns at once, on a runtime
/// with one thread (which a blocking call would stop); every record is accounted for:
/// refused ones at once, accepted ones at shutdown.
#[test]
fn a_stalled_writer_never_blocks_export_logs() {
    on_one_thread(async {
        let sink =
            StdoutSink::from_writer(NeverWrites, StdoutFormat::Pretty).with_buffer_bytes(16 << 10);
        let batches = 1_000;
        let per_batch = 10;
        let start = Instant::now();
        let mut refused = 0;
        for _ in 0..batches {
            if sink.export_logs(records(per_batch)).await.is_err() {
                refused += per_batch as u64;
            }
        }
        let took = start.elapsed();
        assert!(took < Duration::from_secs(10), "{took:?}");
        assert!(refused > 0, "the queue filled");
        assert_eq!(sink.logs_dropped(), refused);
        // The writer never acknowledges the flush: the pipeline's timeout ends the
        // shutdown, and what was still waiting counts as dropped.
        let stopped = tokio::time::timeout(Duration::from_millis(50), sink.shutdown()).await;
        assert!(stopped.is_err(), "the flush cannot finish");
        assert_eq!(sink.logs_dropped(), (batches * per_batch) as u64);
        assert_eq!(sink.spans_dropped(), 0);
    });
}

fn allocations_to_render(format: StdoutFormat) -> u64 {
    let batch: LogBatch = Arc::new(
        (0..64)
            .map(|i| {
                let mut r = not_found();
                r.attributes = fields(vec![
                    KeyValue::new("book.id", i64::from(i)),
                    KeyValue::new("reason", "no such id, \"quoted\""),
                    KeyValue::new("ratio", 0.25f64),
                    KeyValue::new("message", "a reserved key"),
                ]);
                r.event_name = Some("book.missing".into());
                r
            })
            .collect(),
    );
    let (during, written) =
        second_batch_allocations(format, |sink| sink.export_logs(batch.clone()));
    assert_eq!(written.lines().count(), 128, "both batches written");
    during
}

/// Rendered in place into the writer's buffer: the one allocation is the boxed
/// `SinkFuture` the call itself returns, in both formats.
#[test]
fn log_records_render_without_allocating() {
    assert_eq!(allocations_to_render(StdoutFormat::Json), 1);
    assert_eq!(allocations_to_render(StdoutFormat::Pretty), 1);
}
