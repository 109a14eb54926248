//! Metric recording and exposition of `telemetry` beside metrics-rs (with
//! `metrics-exporter-prometheus`), `prometheus-client`, tikv's `prometheus`, and a raw
//! `AtomicU64::fetch_add` as the floor, in one run:
//!
//! ```sh
//! cargo bench -p telem-benches --features peers --bench metrics
//! ```
//!
//! Groups:
//! - `counter_1_thread`, `counter_2_threads`: one increment of a counter with one
//!   label (`method="GET"`): through the macro with static labels (cached at the call
//!   site), through a cached handle, and with a label value computed at run time
//!   (looked up per call).
//! - `histogram_1_thread`, `histogram_2_threads`: one observation of a random, realistic
//!   latency (log-normal around 50 ms, drawn in advance) into the 14 default buckets.
//! - `render_1000`, `render_10000`: Prometheus text of that many counter series.
//!
//! The 2-thread groups time the calling thread while a second (scoped) thread does the
//! same operations on the same series; the figure is per operation of one thread, so
//! "no slower with 2 threads" means the two groups match.
#![forbid(unsafe_code)]

use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Barrier;
use std::time::{Duration, Instant};
use telem::metrics::{Format, Registry, DEFAULT_BUCKETS};

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Latencies drawn in advance: log-normal, median 50 ms, spread over every bucket.
fn latencies() -> Vec<f64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..4096)
        .map(|_| {
            // Box-Muller: a standard normal from two uniforms.
            let (u1, u2) = (uniform().max(1e-12), uniform());
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            (0.05f64.ln() + 1.2 * z).exp()
        })
        .collect()
}

/// `op(i)` for i in 0..iters on this thread, timed.
fn alone(iters: u64, op: &(impl Fn(u64) + Sync)) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        op(black_box(i));
    }
    start.elapsed()
}

/// `op(i)` for i in 0..iters on this thread, timed, while a second thread does the same.
fn contended(iters: u64, op: &(impl Fn(u64) + Sync)) -> Duration {
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            barrier.wait();
            for i in 0..iters {
                op(black_box(i));
            }
        });
        barrier.wait();
        alone(iters, op)
    })
}

/// Benchmarks `op` alone (`threads == 1`) or contended (`threads == 2`).
fn run(g: &mut Group<'_>, name: &str, threads: usize, op: impl Fn(u64) + Sync) {
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            if threads == 1 {
                alone(iters, &op)
            } else {
                contended(iters, &op)
            }
        })
    });
}

/// The peers' handles and registries, set up once.
struct Peers {
    floor: AtomicU64,
    ours: telem::metrics::Counter,
    ours_family: telem::metrics::Family<telem::metrics::Counter>,
    ours_hist: telem::metrics::Histogram,
    metrics_rs: metrics::Counter,
    metrics_rs_hist: metrics::Histogram,
    metrics_rs_handle: metrics_exporter_prometheus::PrometheusHandle,
    pc: prometheus_client::metrics::counter::Counter,
    pc_family: prometheus_client::metrics::family::Family<
        Vec<(String, String)>,
        prometheus_client::metrics::counter::Counter,
    >,
    pc_hist: prometheus_client::metrics::histogram::Histogram,
    tikv: prometheus::IntCounter,
    tikv_vec: prometheus::IntCounterVec,
    tikv_hist: prometheus::Histogram,
}

impl Peers {
    fn new() -> Self {
        let registry = Registry::new();
        let ours_family = registry
            .counter_family("bench_handle_total", &["method"])
            .expect("valid name");
        let ours = ours_family.get(&["GET"]).expect("one label");
        let ours_hist = registry
            .histogram_family("bench_handle_seconds", &["method"], &DEFAULT_BUCKETS)
            .and_then(|f| f.get(&["GET"]))
            .expect("valid histogram");

        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(&DEFAULT_BUCKETS)
            .expect("buckets")
            .build_recorder();
        let metrics_rs_handle = recorder.handle();
        metrics::set_global_recorder(recorder).expect("first recorder");
        let metrics_rs = metrics::counter!("bench_metrics_rs_handle_total", "method" => "GET");
        let metrics_rs_hist = metrics::histogram!("bench_metrics_rs_seconds", "method" => "GET");

        let pc_family = prometheus_client::metrics::family::Family::default();
        let pc_hist =
            prometheus_client::metrics::histogram::Histogram::new(DEFAULT_BUCKETS.iter().copied());

        let tikv_vec = prometheus::IntCounterVec::new(
            prometheus::Opts::new("bench_tikv_vec_total", "bench"),
            &["method"],
        )
        .expect("valid counter vec");
        let tikv = tikv_vec.with_label_values(&["GET"]);
        let tikv_hist = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new("bench_tikv_seconds", "bench")
                .buckets(DEFAULT_BUCKETS.to_vec()),
        )
        .expect("valid histogram");

        Self {
            floor: AtomicU64::new(0),
            ours,
            ours_family,
            ours_hist,
            metrics_rs,
            metrics_rs_hist,
            metrics_rs_handle,
            pc: prometheus_client::metrics::counter::Counter::default(),
            pc_family,
            pc_hist,
            tikv,
            tikv_vec,
            tikv_hist,
        }
    }
}

fn counters(c: &mut Criterion, p: &Peers, threads: usize) {
    let mut g = c.benchmark_group(if threads == 1 {
        "counter_1_thread"
    } else {
        "counter_2_threads"
    });
    g.sampling_mode(SamplingMode::Flat);
    let method = String::from("GET");
    let label = vec![("method".to_owned(), "GET".to_owned())];

    run(&mut g, "floor_atomic_fetch_add", threads, |_| {
        p.floor.fetch_add(1, Relaxed);
    });
    run(&mut g, "telemetry_macro_static_labels", threads, |_| {
        telem::counter!("bench_macro_total", "method" => "GET").increment(1);
    });
    run(&mut g, "telemetry_handle", threads, |_| p.ours.increment(1));
    run(&mut g, "telemetry_macro_dynamic_labels", threads, |_| {
        telem::counter!("bench_dynamic_total", "method" => method.as_str()).increment(1);
    });
    run(&mut g, "telemetry_family_get", threads, |_| {
        p.ours_family.with_labels(&[method.as_str()]).increment(1);
    });
    run(&mut g, "metrics_rs_macro_static_labels", threads, |_| {
        metrics::counter!("bench_metrics_rs_total", "method" => "GET").increment(1);
    });
    run(&mut g, "metrics_rs_handle", threads, |_| {
        p.metrics_rs.increment(1)
    });
    run(&mut g, "metrics_rs_macro_dynamic_labels", threads, |_| {
        metrics::counter!("bench_metrics_rs_dyn_total", "method" => method.clone()).increment(1);
    });
    run(&mut g, "prometheus_client_handle", threads, |_| {
        p.pc.inc();
    });
    run(&mut g, "prometheus_client_family_get", threads, |_| {
        p.pc_family.get_or_create(&label).inc();
    });
    run(&mut g, "tikv_prometheus_handle", threads, |_| p.tikv.inc());
    run(&mut g, "tikv_prometheus_with_label_values", threads, |_| {
        p.tikv_vec.with_label_values(&[method.as_str()]).inc();
    });
    g.finish();
}

fn histograms(c: &mut Criterion, p: &Peers, threads: usize) {
    let lat = latencies();
    let lat = &lat;
    let v = |i: u64| lat[(i & 4095) as usize];
    let mut g = c.benchmark_group(if threads == 1 {
        "histogram_1_thread"
    } else {
        "histogram_2_threads"
    });
    g.sampling_mode(SamplingMode::Flat);
    run(&mut g, "telemetry_handle", threads, |i| {
        p.ours_hist.record(v(i))
    });
    run(&mut g, "telemetry_macro_static_labels", threads, |i| {
        telem::histogram!("bench_macro_seconds", "method" => "GET").record(v(i));
    });
    run(&mut g, "prometheus_client", threads, |i| {
        p.pc_hist.observe(v(i))
    });
    run(&mut g, "tikv_prometheus", threads, |i| {
        p.tikv_hist.observe(v(i))
    });
    // metrics-rs keeps every observation until the exporter's upkeep folds them into
    // buckets: run it after each timed batch so memory stays flat.
    g.bench_function("metrics_rs_handle", |b| {
        b.iter_custom(|iters| {
            let op = |i: u64| p.metrics_rs_hist.record(v(i));
            let t = if threads == 1 {
                alone(iters, &op)
            } else {
                contended(iters, &op)
            };
            p.metrics_rs_handle.run_upkeep();
            t
        })
    });
    g.finish();
}

fn render(c: &mut Criterion, series: usize) {
    let mut g = c.benchmark_group(format!("render_{series}"));
    g.sampling_mode(SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(3));

    let ours = Registry::new();
    ours.set_cardinality_limit(series);
    let _ = ours.describe("bench_render_total", "Rendered series.");
    let family = ours
        .counter_family("bench_render_total", &["id"])
        .expect("valid name");

    let mut pc = prometheus_client::registry::Registry::default();
    let pc_family = prometheus_client::metrics::family::Family::<
        Vec<(String, String)>,
        prometheus_client::metrics::counter::Counter,
    >::default();
    pc.register("bench_render", "Rendered series.", pc_family.clone());

    let tikv = prometheus::Registry::new();
    let tikv_vec = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_render_total", "Rendered series."),
        &["id"],
    )
    .expect("valid counter vec");
    tikv.register(Box::new(tikv_vec.clone()))
        .expect("registered");

    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let metrics_rs = recorder.handle();

    for i in 0..series {
        let id = i.to_string();
        let n = i as u64 + 1;
        family.with_labels(&[&id]).increment(n);
        pc_family
            .get_or_create(&vec![("id".to_owned(), id.clone())])
            .inc_by(n);
        tikv_vec.with_label_values(&[id.as_str()]).inc_by(n);
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("bench_render_total", "id" => id.clone()).increment(n)
        });
    }

    let mut buf = Vec::new();
    g.bench_function("telemetry_prometheus", |b| {
        b.iter(|| {
            buf.clear();
            ours.render_into(Format::Prometheus, &mut buf);
            black_box(buf.len())
        })
    });
    g.bench_function("telemetry_openmetrics", |b| {
        b.iter(|| {
            buf.clear();
            ours.render_into(Format::OpenMetrics, &mut buf);
            black_box(buf.len())
        })
    });
    let mut text = String::new();
    g.bench_function("prometheus_client", |b| {
        b.iter(|| {
            text.clear();
            prometheus_client::encoding::text::encode(&mut text, &pc).expect("encodes");
            black_box(text.len())
        })
    });
    g.bench_function("tikv_prometheus", |b| {
        b.iter(|| {
            buf.clear();
            prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &tikv.gather(), &mut buf)
                .expect("encodes");
            black_box(buf.len())
        })
    });
    g.bench_function("metrics_exporter_prometheus", |b| {
        b.iter(|| black_box(metrics_rs.render().len()))
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let peers = Peers::new();
    counters(&mut c, &peers, 1);
    counters(&mut c, &peers, 2);
    histograms(&mut c, &peers, 1);
    histograms(&mut c, &peers, 2);
    render(&mut c, 1000);
    render(&mut c, 10_000);
    c.final_summary();
}
