//! Both exposition formats checked by Prometheus's own tools. Needs `promtool` (Debian's
//! `prometheus` package); `.ci/run` installs it and runs this test with `--ignored`.
//!
//! `promtool check metrics` lints the Prometheus text format; it reads only that format
//! (as of Debian's 2.42), so OpenMetrics goes through promtool's OpenMetrics parser
//! instead: `promtool tsdb create-blocks-from openmetrics`, which accepts only complete,
//! valid OpenMetrics (`# EOF`, `# UNIT`, `_created`, exemplars) and, being an importer,
//! needs a timestamp on every sample: the test inserts one after each value.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use std::process::Command;
use telem::metrics::{Format, Registry};
use telem::{Context, SpanContext, SpanId, TraceFlags, TraceId, TraceState};

#[path = "common/promtool.rs"]
mod promtool;

/// Every kind, labels needing escapes, a unit, exemplars, the built-in collectors.
fn registry() -> Registry {
    let r = Registry::new();
    r.describe(
        "http_requests_total",
        "HTTP requests \"served\" \\ and\nmore",
    )
    .unwrap();
    let requests = r
        .counter_family("http_requests_total", &["method", "path"])
        .unwrap();
    requests.with_labels(&["GET", "/a\"b\\c\nd"]).increment(3);
    r.describe_with_unit("request_duration_seconds", "seconds", "Request latency.")
        .unwrap();
    let latency = r
        .histogram_family("request_duration_seconds", &["route"], &[0.1, 1.0])
        .unwrap()
        .with_labels(&["/"]);
    let ctx = SpanContext::new(
        TraceId::from_raw(0x0af7651916cd43dd8448eb211c80319c),
        SpanId::from_raw(0xb7ad6b7169203331),
        TraceFlags::SAMPLED,
        TraceState::default(),
        false,
    );
    Context::from_span(ctx).run(|| {
        latency.record(0.05);
        requests.with_labels(&["POST", "/"]).increment(1);
    });
    latency.record(3.0);
    r.describe("queue_items", "Items queued.").unwrap();
    r.up_down_counter("queue_items").unwrap().add(2);
    r.describe("cache_hit_ratio", "Cache hits per lookup.")
        .unwrap();
    r.gauge_f64("cache_hit_ratio").unwrap().set(0.5);
    telem::metrics::collectors::process(&r).unwrap();
    r
}

#[test]
#[ignore = "needs promtool from Debian's prometheus package; .ci/run installs it"]
fn promtool_accepts_prometheus_text() {
    let body = registry().render(Format::Prometheus);
    let (ok, report) = promtool::check_metrics(&body);
    assert!(
        ok,
        "promtool refused:\n{report}\n---\n{}",
        String::from_utf8_lossy(&body)
    );
}

/// Inserts ` 1700000000` (a timestamp) after each sample's value, before any exemplar.
fn with_timestamps(body: &str) -> String {
    let mut out = String::new();
    for line in body.lines() {
        if line.starts_with('#') {
            out.push_str(line);
        } else {
            let (sample, exemplar) = line.split_at(line.find(" # {").unwrap_or(line.len()));
            out.push_str(sample);
            out.push_str(" 1700000000");
            out.push_str(exemplar);
        }
        out.push('\n');
    }
    out
}

#[test]
#[ignore = "needs promtool from Debian's prometheus package; .ci/run installs it"]
fn promtool_accepts_openmetrics() {
    let body = String::from_utf8(registry().render(Format::OpenMetrics)).unwrap();
    assert!(
        body.contains(" # {trace_id=\""),
        "exemplars are part of the check"
    );
    let dir = std::env::temp_dir().join(format!("telemetry-promtool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("metrics.om");
    std::fs::write(&input, with_timestamps(&body)).unwrap();
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(dir.join("blocks"))
        .output()
        .expect("promtool on PATH (apt-get install prometheus)");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "promtool refused:\n{}{}\n---\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs promtool from Debian's prometheus package; .ci/run installs it"]
fn promtool_refuses_broken_exposition() {
    // The checks above can fail: the same tools refuse malformed input.
    let (ok, _) = promtool::check_metrics(b"# TYPE x counter\nx{a=\"unterminated} 1\n");
    assert!(!ok);
}
