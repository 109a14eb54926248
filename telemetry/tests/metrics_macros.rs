//! `counter!`, `gauge!`, `histogram!` and co. against the global registry: call-site
//! caching, dynamic labels, errors that never panic.

use telem::metrics::{global, Counter, MetricValue};
use telem::{counter, counter_f64, describe_counter, gauge, gauge_f64, histogram, up_down_counter};

#[test]
fn static_labels_are_registered_once_and_cached_at_the_call_site() {
    let mut handles = Vec::new();
    for _ in 0..3 {
        let h = counter!("macro_static_total", "method" => "GET");
        h.increment(1);
        let cached: &Counter = &h;
        handles.push(cached as *const Counter);
    }
    // The same static handle each time.
    assert!(handles.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(counter!("macro_static_total", "method" => "GET").get(), 3);
    // Another call site with the same name and labels reaches the same series.
    let family = global()
        .counter_family("macro_static_total", &["method"])
        .unwrap();
    family.with_labels(&["GET"]).increment(1);
    assert_eq!(counter!("macro_static_total", "method" => "GET").get(), 4);
}

#[test]
fn dynamic_label_values_are_looked_up_per_call() {
    for method in ["GET", "POST", "GET"] {
        counter!("macro_dynamic_total", "method" => method).increment(1);
    }
    let owned = String::from("PUT");
    counter!("macro_dynamic_total", "method" => owned).increment(5);
    let family = global()
        .counter_family("macro_dynamic_total", &["method"])
        .unwrap();
    assert_eq!(family.with_labels(&["GET"]).get(), 2);
    assert_eq!(family.with_labels(&["POST"]).get(), 1);
    assert_eq!(family.with_labels(&["PUT"]).get(), 5);
}

#[test]
fn computed_names_work_too() {
    let name = format!("macro_{}_total", "computed");
    counter!(name.as_str(), "k" => "v").increment(2);
    assert_eq!(counter!(name.as_str(), "k" => "v").get(), 2);
}

#[test]
fn every_instrument_has_a_macro() {
    counter_f64!("macro_seconds_total").increment(0.5);
    up_down_counter!("macro_in_flight", "pool" => "a").add(-2);
    gauge!("macro_workers").set(4);
    gauge!("macro_workers").increment(1);
    gauge_f64!("macro_ratio").set(0.5);
    histogram!("macro_latency_seconds", "route" => "/").record(0.2);
    describe_counter!("macro_seconds_total", "seconds", "Time spent.");

    assert_eq!(counter_f64!("macro_seconds_total").get(), 0.5);
    assert_eq!(up_down_counter!("macro_in_flight", "pool" => "a").get(), -2);
    assert_eq!(gauge!("macro_workers").get(), 5);
    assert_eq!(gauge_f64!("macro_ratio").get(), 0.5);
    let h = histogram!("macro_latency_seconds", "route" => "/").value();
    assert_eq!((h.count, h.sum), (1, 0.2));
    let snap = global().snapshot();
    let described = snap
        .iter()
        .find(|f| &*f.name == "macro_seconds_total")
        .unwrap();
    assert_eq!(
        (&*described.help, &*described.unit),
        ("Time spent.", "seconds")
    );
}

#[test]
fn registration_errors_give_a_noop_handle_and_are_counted() {
    let before = global().stats().registration_errors;
    // Invalid name.
    let bad = counter!("macro bad name");
    bad.increment(1);
    assert!(bad.is_noop());
    // The name is taken by another type.
    gauge!("macro_taken").set(1);
    let clash = counter!("macro_taken");
    assert!(clash.is_noop());
    clash.increment(1);
    // Dynamic labels on a name taken with other labels.
    let v = String::from("x");
    assert!(counter!("macro_taken", "k" => v).is_noop());
    let stats = global().stats();
    assert!(stats.registration_errors >= before + 3);
    assert!(global()
        .snapshot()
        .iter()
        .all(|f| &*f.name != "macro bad name"));
    let taken = global().snapshot();
    let taken = taken.iter().find(|f| &*f.name == "macro_taken").unwrap();
    assert_eq!(taken.series[0].value, MetricValue::I64(1));
}

#[test]
fn macros_record_from_many_threads_exactly() {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..50_000 {
                    counter!("macro_threads_total", "kind" => "a").increment(1);
                    histogram!("macro_threads_seconds").record(0.01);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        counter!("macro_threads_total", "kind" => "a").get(),
        200_000
    );
    assert_eq!(histogram!("macro_threads_seconds").value().count, 200_000);
}
