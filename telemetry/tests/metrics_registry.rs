//! The registry: registration rules, exact concurrent totals, cardinality overflow,
//! callbacks.

use std::sync::Arc;
use telem::metrics::{
    CallbackError, Counter, Gauge, Histogram, InstrumentKind, MetricError, MetricValue, Registry,
    DEFAULT_CARDINALITY_LIMIT,
};

#[test]
fn four_threads_incrementing_concurrently_give_exact_totals() {
    let registry = Registry::new();
    let counter = registry.counter("work_total").unwrap();
    let float = registry.counter_f64("work_seconds_total").unwrap();
    let up_down = registry.up_down_counter("in_flight").unwrap();
    let histogram = registry.histogram("work_duration_seconds").unwrap();
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (c, f, u, h, b) = (
                counter.clone(),
                float.clone(),
                up_down.clone(),
                histogram.clone(),
                barrier.clone(),
            );
            std::thread::spawn(move || {
                b.wait();
                for i in 0..100_000u64 {
                    c.increment(1);
                    f.increment(0.5); // exact in binary
                    u.add(if i % 2 == 0 { 3 } else { -1 });
                    h.record(if t % 2 == 0 { 0.003_906_25 } else { 20.0 }); // exact in binary
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(counter.get(), 400_000);
    assert_eq!(float.get(), 200_000.0);
    assert_eq!(up_down.get(), 400_000);
    let v = histogram.value();
    assert_eq!(v.count, 400_000);
    assert_eq!(v.bucket_counts[0], 200_000); // 2^-8 <= 0.005
    assert_eq!(*v.bucket_counts.last().unwrap(), 200_000); // 20 > 10: +Inf
    assert_eq!(v.sum, 200_000.0 * 0.003_906_25 + 200_000.0 * 20.0);
    // A snapshot reads the same exact totals.
    let snap = registry.snapshot();
    let work = snap.iter().find(|f| &*f.name == "work_total").unwrap();
    assert_eq!(work.series[0].value, MetricValue::U64(400_000));
}

#[test]
fn same_name_type_and_labels_return_the_same_metric() {
    let registry = Registry::new();
    let a = registry.counter_family("hits_total", &["route"]).unwrap();
    let b = registry.counter_family("hits_total", &["route"]).unwrap();
    a.with_labels(&["/"]).increment(2);
    b.with_labels(&["/"]).increment(3);
    assert_eq!(a.with_labels(&["/"]).get(), 5);
    assert_eq!(registry.snapshot().len(), 1);
}

#[test]
fn conflicting_reregistration_is_a_typed_error() {
    let registry = Registry::new();
    registry.counter_family("jobs_total", &["queue"]).unwrap();
    let err = registry
        .family::<Gauge>("jobs_total", &["queue"])
        .unwrap_err();
    assert_eq!(
        err,
        MetricError::Conflict {
            name: "jobs_total".into(),
            existing: InstrumentKind::Counter,
            existing_labels: vec!["queue".into()],
            requested: InstrumentKind::Gauge,
            requested_labels: vec!["queue".into()],
        }
    );
    assert!(
        err.to_string().contains("already registered as a counter"),
        "{err}"
    );
    let err = registry
        .family::<Counter>("jobs_total", &["kind"])
        .unwrap_err();
    assert!(matches!(err, MetricError::Conflict { .. }));
    let err = registry.counter("jobs_total").unwrap_err(); // no labels is another label set
    assert!(matches!(err, MetricError::Conflict { .. }));

    registry
        .histogram_family("size_bytes", &[], &[1.0, 2.0])
        .unwrap();
    let err = registry
        .histogram_family("size_bytes", &[], &[1.0, 3.0])
        .unwrap_err();
    assert!(matches!(err, MetricError::BucketConflict { .. }), "{err}");
    // Without bounds, the registered ones are used.
    let h = registry.family::<Histogram>("size_bytes", &[]).unwrap();
    assert_eq!(h.with_labels(&[]).bounds(), &[1.0, 2.0]);
}

#[test]
fn invalid_names_name_the_offending_character() {
    let registry = Registry::new();
    let err = registry.counter("http-requests").unwrap_err();
    assert_eq!(
        err,
        MetricError::InvalidMetricName {
            name: "http-requests".into(),
            found: '-',
            position: 4
        }
    );
    assert!(
        err.to_string().contains("character '-' at position 4"),
        "{err}"
    );
    assert_eq!(
        registry.counter("").unwrap_err(),
        MetricError::EmptyMetricName
    );
    assert!(matches!(
        registry.counter("1st").unwrap_err(),
        MetricError::InvalidMetricName {
            found: '1',
            position: 0,
            ..
        }
    ));

    let err = registry
        .counter_family("ok_total", &["bad label"])
        .unwrap_err();
    assert!(matches!(
        err,
        MetricError::InvalidLabelName {
            found: ' ',
            position: 3,
            ..
        }
    ));
    let err = registry
        .counter_family("ok_total", &["__reserved"])
        .unwrap_err();
    assert!(
        matches!(err, MetricError::ReservedLabelName { .. }),
        "{err}"
    );
    let err = registry
        .counter_family("ok_total", &["a", "a"])
        .unwrap_err();
    assert!(
        matches!(err, MetricError::DuplicateLabelName { .. }),
        "{err}"
    );
    let err = registry
        .family::<Histogram>("lat_seconds", &["le"])
        .unwrap_err();
    assert!(
        matches!(err, MetricError::ReservedLabelName { .. }),
        "{err}"
    );
    // Nothing was registered by the failures.
    assert!(registry.snapshot().is_empty());
}

#[test]
fn invalid_buckets_are_refused() {
    let registry = Registry::new();
    for bad in [
        &[1.0, 1.0][..],
        &[2.0, 1.0],
        &[1.0, f64::NAN],
        &[f64::INFINITY],
    ] {
        let err = registry
            .histogram_family("h_seconds", &[], bad)
            .unwrap_err();
        assert!(matches!(err, MetricError::InvalidBuckets { .. }), "{bad:?}");
    }
    let too_many: Vec<f64> = (0..300).map(f64::from).collect();
    assert!(registry
        .histogram_family("h_seconds", &[], &too_many)
        .is_err());
}

#[test]
fn wrong_label_count_is_an_error_or_a_counted_noop() {
    let registry = Registry::new();
    let family = registry
        .counter_family("req_total", &["method", "code"])
        .unwrap();
    let err = family.get(&["GET"]).unwrap_err();
    assert!(
        matches!(err, MetricError::LabelCount { got: 1, .. }),
        "{err}"
    );
    let noop = family.with_labels(&["GET", "200", "extra"]);
    assert!(noop.is_noop());
    noop.increment(1);
    assert_eq!(noop.get(), 0);
    let stats = registry.stats();
    assert_eq!(stats.registration_errors, 1);
    assert!(stats.last_error.unwrap().contains("req_total"));
}

#[test]
fn cardinality_overflow_goes_to_one_counted_series() {
    let registry = Registry::new();
    let users = registry.counter_family("logins_total", &["user"]).unwrap();
    assert_eq!(users.cardinality_limit(), DEFAULT_CARDINALITY_LIMIT);
    users.set_cardinality_limit(3);
    for user in ["a", "b", "c", "d", "e", "a"] {
        users.with_labels(&[user]).increment(1);
    }
    assert_eq!(users.series_count(), 3);
    assert_eq!(users.overflowed(), 2);
    assert_eq!(registry.stats().cardinality_overflows, 2);
    // Existing combinations still reach their own series.
    assert_eq!(users.with_labels(&["a"]).get(), 2);

    let snap = registry.snapshot();
    let family = &snap[0];
    assert_eq!(family.overflowed, 2);
    assert_eq!(family.series.len(), 4);
    let overflow = family.series.last().unwrap();
    assert_eq!(
        overflow.labels.iter().collect::<Vec<_>>(),
        [("otel_metric_overflow", "true")]
    );
    assert_eq!(overflow.value, MetricValue::U64(2));
}

#[test]
fn memory_stays_bounded_past_the_limit() {
    let registry = Registry::new();
    registry.set_cardinality_limit(100);
    let ids = registry.counter_family("ids_total", &["id"]).unwrap();
    for i in 0..10_000 {
        ids.with_labels(&[&i.to_string()]).increment(1);
    }
    assert_eq!(ids.series_count(), 100);
    assert_eq!(ids.overflowed(), 9_900);
    let snap = registry.snapshot();
    let total: u64 = snap[0]
        .series
        .iter()
        .map(|s| match s.value {
            MetricValue::U64(v) => v,
            _ => 0,
        })
        .sum();
    assert_eq!(total, 10_000, "no increment is lost, overflowed or not");
}

#[test]
fn series_and_families_come_out_in_a_deterministic_order() {
    let registry = Registry::new();
    let f = registry.counter_family("b_total", &["k"]).unwrap();
    for v in ["z", "a", "m"] {
        f.with_labels(&[v]).increment(1);
    }
    registry.gauge("a_gauge").unwrap().set(1);
    let snap = registry.snapshot();
    let names: Vec<&str> = snap.iter().map(|f| &*f.name).collect();
    assert_eq!(names, ["a_gauge", "b_total"]);
    let values: Vec<&str> = snap[1]
        .series
        .iter()
        .map(|s| s.labels.get("k").unwrap())
        .collect();
    assert_eq!(values, ["a", "m", "z"]);
}

#[test]
fn independent_registries_do_not_share_metrics() {
    let (a, b) = (Registry::new(), Registry::new());
    a.counter("x_total").unwrap().increment(1);
    assert_eq!(b.counter("x_total").unwrap().get(), 0);
    b.gauge("only_in_b").unwrap();
    assert!(a.snapshot().iter().all(|f| &*f.name != "only_in_b"));
}

fn ok_callback(registry: &Registry) -> Result<(), CallbackError> {
    let g = registry
        .gauge("sampled")
        .map_err(|e| CallbackError::new(e.to_string()))?;
    g.increment(1);
    Ok(())
}

fn failing_callback(_: &Registry) -> Result<(), CallbackError> {
    Err(CallbackError::new("backend unreachable"))
}

fn panicking_callback(_: &Registry) -> Result<(), CallbackError> {
    panic!("callback bug")
}

#[test]
fn a_failing_or_panicking_sampler_does_not_stop_the_others() {
    let registry = Registry::new();
    registry.register_callback(failing_callback);
    registry.register_callback(panicking_callback);
    registry.register_callback(ok_callback);
    let report = registry.run_callbacks();
    assert_eq!((report.ran, report.failed, report.panicked), (3, 1, 1));
    let snap = registry.collect(); // runs them again
    let sampled = snap.iter().find(|f| &*f.name == "sampled").unwrap();
    assert_eq!(sampled.series[0].value, MetricValue::I64(2));
    let stats = registry.stats();
    assert_eq!((stats.callback_errors, stats.callback_panics), (2, 2));
}

#[test]
fn callbacks_are_deduplicated_by_identity() {
    let registry = Registry::new();
    let a = registry.register_callback(ok_callback);
    let b = registry.register_callback(ok_callback);
    assert_eq!(a, b);
    // A capturing closure is a distinct callback each time.
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..2 {
        let n = n.clone();
        registry.register_callback(move |_: &Registry| {
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        });
    }
    assert_eq!(registry.callback_count(), 3);
    registry.run_callbacks();
    assert_eq!(registry.gauge("sampled").unwrap().get(), 1);
    assert_eq!(n.load(std::sync::atomic::Ordering::Relaxed), 2);
    assert!(registry.unregister_callback(a));
    assert!(!registry.unregister_callback(a));
    assert_eq!(registry.callback_count(), 2);
}

#[test]
fn a_callback_may_register_metrics_and_callbacks() {
    let registry = Registry::new();
    registry.register_callback(|r: &Registry| {
        r.register_callback(ok_callback);
        r.counter("from_sampler_total").unwrap().increment(1);
        Ok(())
    });
    registry.run_callbacks();
    assert_eq!(registry.callback_count(), 2);
    assert_eq!(registry.counter("from_sampler_total").unwrap().get(), 1);
}

#[test]
fn gauges_set_and_move() {
    let registry = Registry::new();
    let g = registry.gauge("temp").unwrap();
    g.set(-5);
    g.increment(10);
    g.decrement(2);
    assert_eq!(g.get(), 3);
    let f = registry.gauge_f64("ratio").unwrap();
    f.set(f64::NAN);
    assert!(f.get().is_nan());
    f.set(1.5);
    f.decrement(0.25);
    assert_eq!(f.get(), 1.25);
}

#[test]
fn counters_ignore_bad_f64_increments_and_track_observed_totals() {
    let registry = Registry::new();
    let c = registry.counter_f64("spent_seconds_total").unwrap();
    for v in [1.0, -1.0, f64::NAN, f64::INFINITY, 0.5] {
        c.increment(v);
    }
    assert_eq!(c.get(), 1.5);
    c.set_total(10.0);
    assert_eq!(c.get(), 10.0);
    let u = registry.counter("seen_total").unwrap();
    u.increment(7);
    u.set_total(3);
    assert_eq!(u.get(), 3);
}
