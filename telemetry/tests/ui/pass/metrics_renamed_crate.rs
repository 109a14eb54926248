//! The metric macros write `$crate::` paths only, so they work from a renamed
//! dependency (and without `telemetry` in scope under its own name).
#![deny(warnings)]

extern crate telem as tel;

fn main() {
    tel::counter!("ui_renamed_total", "method" => "GET").increment(1);
    let method = String::from("POST");
    tel::counter!("ui_renamed_total", "method" => method).increment(1);
    tel::counter!(String::from("ui_computed_total").as_str()).increment(1);
    tel::counter_f64!("ui_renamed_seconds_total").increment(0.5);
    tel::up_down_counter!("ui_renamed_in_flight").add(1);
    tel::gauge!("ui_renamed_workers").set(2);
    tel::gauge_f64!("ui_renamed_ratio").set(0.5);
    tel::histogram!("ui_renamed_seconds", "route" => "/").record(0.1);
    tel::describe_counter!("ui_renamed_total", "Requests.");
    tel::describe_gauge!("ui_renamed_workers", "Workers.");
    tel::describe_histogram!("ui_renamed_seconds", "seconds", "Latency.");
    assert_eq!(
        tel::counter!("ui_renamed_total", "method" => "GET").get(),
        1
    );
}
