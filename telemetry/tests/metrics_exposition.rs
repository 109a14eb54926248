//! Prometheus text 0.0.4 and OpenMetrics 1.0: golden output (escaping, exemplars,
//! `_created`, units), content negotiation.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use telem::metrics::{render, Format, MetricFamilySnapshot, MetricValue, Registry};
use telem::{Context, SpanContext, SpanId, TraceFlags, TraceId, TraceState};

const TRACE: u128 = 0x0af7651916cd43dd8448eb211c80319c;
const SPAN: u64 = 0xb7ad6b7169203331;
const START: u64 = 1_700_000_000_000_000_000;
const EXEMPLAR_AT: u64 = 1_700_000_000_500_000_000;

fn in_span(flags: TraceFlags, f: impl FnOnce()) {
    let ctx = SpanContext::new(
        TraceId::from_raw(TRACE),
        SpanId::from_raw(SPAN),
        flags,
        TraceState::default(),
        false,
    );
    Context::from_span(ctx).run(f);
}

/// A registry with one metric of each kind, escaping-hostile help and label values,
/// and exemplars from a sampled span.
fn registry() -> Registry {
    let r = Registry::new();
    r.describe("cpu_seconds_total", "CPU.").unwrap();
    let cpu = r.counter_f64("cpu_seconds_total").unwrap();
    in_span(TraceFlags::SAMPLED, || cpu.increment(1.5));

    r.describe(
        "http_requests_total",
        "HTTP requests \"served\" \\ and\nmore",
    )
    .unwrap();
    let requests = r
        .counter_family("http_requests_total", &["method", "path"])
        .unwrap();
    requests.with_labels(&["GET", "/a\"b\\c\nd"]).increment(3);

    r.up_down_counter("queue_items").unwrap().add(4);
    r.gauge_f64("ratio").unwrap().set(0.25);
    r.gauge("temperature_celsius").unwrap().set(-3);

    r.describe_with_unit("request_duration_seconds", "seconds", "Latency.")
        .unwrap();
    let latency = r
        .histogram_family("request_duration_seconds", &["route"], &[0.1, 1.0])
        .unwrap()
        .with_labels(&["/"]);
    in_span(TraceFlags::SAMPLED, || latency.record(0.0625));
    in_span(TraceFlags::NONE, || latency.record(0.5)); // unsampled: no exemplar
    latency.record(2.0);
    r
}

/// The registry's snapshot with its clock readings pinned, so output is golden.
fn pinned(r: &Registry) -> Vec<MetricFamilySnapshot> {
    let mut snap = r.snapshot();
    for f in &mut snap {
        f.start_time_unix_nano = START;
        for s in &mut f.series {
            s.start_time_unix_nano = START;
            if let Some(e) = &mut s.exemplar {
                e.time_unix_nano = EXEMPLAR_AT;
            }
            if let MetricValue::Histogram(h) = &mut s.value {
                for (_, e) in &mut h.exemplars {
                    e.time_unix_nano = EXEMPLAR_AT;
                }
            }
        }
    }
    snap
}

fn text(families: &[MetricFamilySnapshot], format: Format) -> String {
    let mut out = Vec::new();
    render(families, format, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn prometheus_text_golden() {
    let expected = r#"# HELP cpu_seconds_total CPU.
# TYPE cpu_seconds_total counter
cpu_seconds_total 1.5
# HELP http_requests_total HTTP requests "served" \\ and\nmore
# TYPE http_requests_total counter
http_requests_total{method="GET",path="/a\"b\\c\nd"} 3
# TYPE queue_items gauge
queue_items 4
# TYPE ratio gauge
ratio 0.25
# HELP request_duration_seconds Latency.
# TYPE request_duration_seconds histogram
request_duration_seconds_bucket{route="/",le="0.1"} 1
request_duration_seconds_bucket{route="/",le="1.0"} 2
request_duration_seconds_bucket{route="/",le="+Inf"} 3
request_duration_seconds_sum{route="/"} 2.5625
request_duration_seconds_count{route="/"} 3
# TYPE temperature_celsius gauge
temperature_celsius -3
"#;
    assert_eq!(text(&pinned(&registry()), Format::Prometheus), expected);
}

#[test]
fn openmetrics_golden_with_exemplars() {
    let expected = r#"# HELP cpu_seconds CPU.
# TYPE cpu_seconds counter
cpu_seconds_total 1.5 # {trace_id="0af7651916cd43dd8448eb211c80319c",span_id="b7ad6b7169203331"} 1.5 1700000000.500000000
cpu_seconds_created 1700000000.000000000
# HELP http_requests HTTP requests \"served\" \\ and\nmore
# TYPE http_requests counter
http_requests_total{method="GET",path="/a\"b\\c\nd"} 3
http_requests_created{method="GET",path="/a\"b\\c\nd"} 1700000000.000000000
# TYPE queue_items gauge
queue_items 4
# TYPE ratio gauge
ratio 0.25
# HELP request_duration_seconds Latency.
# TYPE request_duration_seconds histogram
# UNIT request_duration_seconds seconds
request_duration_seconds_bucket{route="/",le="0.1"} 1 # {trace_id="0af7651916cd43dd8448eb211c80319c",span_id="b7ad6b7169203331"} 0.0625 1700000000.500000000
request_duration_seconds_bucket{route="/",le="1.0"} 2
request_duration_seconds_bucket{route="/",le="+Inf"} 3
request_duration_seconds_count{route="/"} 3
request_duration_seconds_sum{route="/"} 2.5625
request_duration_seconds_created{route="/"} 1700000000.000000000
# TYPE temperature_celsius gauge
temperature_celsius -3
# EOF
"#;
    assert_eq!(text(&pinned(&registry()), Format::OpenMetrics), expected);
}

#[test]
fn exemplars_carry_the_sampled_span_and_latest_wins() {
    let r = Registry::new();
    let c = r.counter("orders_total").unwrap();
    c.increment(1); // outside any span
    assert_eq!(r.snapshot()[0].series[0].exemplar, None);
    in_span(TraceFlags::SAMPLED, || c.increment(2));
    in_span(TraceFlags::SAMPLED, || c.increment(5));
    let e = r.snapshot()[0].series[0].exemplar.unwrap();
    assert_eq!(e.trace_id, TraceId::from_raw(TRACE));
    assert_eq!(e.span_id, SpanId::from_raw(SPAN));
    assert_eq!(e.value, 5.0);
    assert!(e.time_unix_nano > START);
}

#[test]
fn a_unit_that_is_not_the_name_suffix_is_left_out_of_openmetrics() {
    let r = Registry::new();
    r.describe_with_unit("payload", "bytes", "Payload.")
        .unwrap();
    r.gauge("payload").unwrap().set(1);
    let out = text(&r.snapshot(), Format::OpenMetrics);
    assert!(!out.contains("# UNIT"), "{out}");
}

#[test]
fn counters_without_total_suffix_get_one() {
    let r = Registry::new();
    r.counter("events").unwrap().increment(1);
    let prom = text(&r.snapshot(), Format::Prometheus);
    assert_eq!(prom, "# TYPE events_total counter\nevents_total 1\n");
    let om = text(&pinned(&r), Format::OpenMetrics);
    assert!(
        om.starts_with(
            "# TYPE events counter\nevents_total 1\nevents_created 1700000000.000000000\n"
        ),
        "{om}"
    );
}

#[test]
fn special_float_values_are_spelled_as_prometheus_expects() {
    let r = Registry::new();
    r.gauge_f64("a").unwrap().set(f64::NAN);
    r.gauge_f64("b").unwrap().set(f64::INFINITY);
    r.gauge_f64("c").unwrap().set(f64::NEG_INFINITY);
    r.gauge_f64("d").unwrap().set(1e21);
    let out = text(&r.snapshot(), Format::Prometheus);
    assert!(out.contains("\na NaN\n"), "{out}");
    assert!(out.contains("\nb +Inf\n"), "{out}");
    assert!(out.contains("\nc -Inf\n"), "{out}");
    assert!(out.contains("\nd 1e21\n"), "{out}");
}

#[test]
fn overflow_series_is_rendered_with_its_label() {
    let r = Registry::new();
    let f = r.counter_family("by_user_total", &["user"]).unwrap();
    f.set_cardinality_limit(1);
    f.with_labels(&["ann"]).increment(1);
    f.with_labels(&["bob"]).increment(1);
    let out = text(&r.snapshot(), Format::Prometheus);
    assert!(
        out.ends_with(
            "by_user_total{user=\"ann\"} 1\nby_user_total{otel_metric_overflow=\"true\"} 1\n"
        ),
        "{out}"
    );
}

#[test]
fn accept_header_negotiation() {
    for (accept, format) in [
        ("", Format::Prometheus),
        ("*/*", Format::Prometheus),
        ("text/plain; version=0.0.4", Format::Prometheus),
        ("application/openmetrics-text", Format::OpenMetrics),
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", Format::OpenMetrics),
        ("application/openmetrics-text;version=2.0.0", Format::Prometheus),
        ("application/openmetrics-text;q=0.2,text/plain;q=0.5", Format::Prometheus),
        ("text/plain;q=0.5,application/openmetrics-text;q=0.9", Format::OpenMetrics),
        ("application/openmetrics-text;q=0", Format::Prometheus),
        ("application/json", Format::Prometheus),
        (
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            Format::OpenMetrics,
        ),
    ] {
        assert_eq!(Format::from_accept(accept), format, "{accept:?}");
    }
    let r = Registry::new();
    r.counter("x_total").unwrap().increment(1);
    let (body, content_type) = r.scrape("application/openmetrics-text");
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(body.ends_with(b"# EOF\n"));
    let (body, content_type) = r.scrape("text/plain");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(body, b"# TYPE x_total counter\nx_total 1\n");
}

#[test]
fn render_into_appends_to_a_reused_buffer() {
    let r = Registry::new();
    r.gauge("g").unwrap().set(1);
    let mut buf = b"prefix\n".to_vec();
    r.render_into(Format::Prometheus, &mut buf);
    assert_eq!(buf, b"prefix\n# TYPE g gauge\ng 1\n");
}
