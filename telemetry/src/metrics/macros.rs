//! `counter!`, `gauge!`, `histogram!` and co.: the global registry at a call site.
//!
//! With a literal name and literal label values the handle is registered on first use
//! and cached in a `static` at the call site, so every later call costs what the
//! handle costs. With computed label values the family is cached and the series looked
//! up per call (bounded by the cardinality limit). With a computed name everything is
//! looked up per call. Paths go through `$crate`, so the macros work from a renamed
//! dependency.
//!
//! A registration that fails (an invalid name, a name taken by another type or label
//! set) never panics: the call site gets a no-op handle, and the error is counted in
//! `telem::metrics::global().stats()` (`registration_errors`, `last_error`).

/// Internal: the static call-site form.
#[doc(hidden)]
#[macro_export]
macro_rules! __metric_static {
    ($ty:ty, $name:literal $(, $key:literal => $value:literal)*) => {{
        static __TELEMETRY_CALLSITE: $crate::macro_support::metrics::Callsite<$ty> =
            $crate::macro_support::metrics::Callsite::new($name, &[$(($key, $value)),*]);
        __TELEMETRY_CALLSITE.get()
    }};
}

/// Internal: the computed-values form.
#[doc(hidden)]
#[macro_export]
macro_rules! __metric_family {
    ($ty:ty, $name:literal $(, $key:literal => $value:expr)*) => {{
        static __TELEMETRY_FAMILY: $crate::macro_support::metrics::FamilySite<$ty> =
            $crate::macro_support::metrics::FamilySite::new($name, &[$($key),*]);
        __TELEMETRY_FAMILY.get(&[$($crate::macro_support::metrics::label_value(&$value)),*])
    }};
}

/// Internal: the computed-name form.
#[doc(hidden)]
#[macro_export]
macro_rules! __metric_lookup {
    ($ty:ty, $name:expr $(, $key:expr => $value:expr)*) => {
        $crate::macro_support::metrics::lookup::<$ty>(
            $name,
            &[$($crate::macro_support::metrics::label_value(&$key)),*],
            &[$($crate::macro_support::metrics::label_value(&$value)),*],
        )
    };
}

/// A [`Counter`](crate::metrics::Counter) (u64) of the global registry.
///
/// ```
/// use telem::counter;
/// counter!("http_requests_total", "method" => "GET").increment(1); // cached at the call site
/// let method = String::from("POST");
/// counter!("http_requests_total", "method" => method).increment(1); // looked up per call
/// let total: u64 = ["GET", "POST"]
///     .iter()
///     .map(|m| counter!("http_requests_total", "method" => *m).get())
///     .sum();
/// assert_eq!(total, 2);
/// ```
#[macro_export]
macro_rules! counter {
    ($name:literal $(, $key:literal => $value:literal)* $(,)?) => {
        $crate::__metric_static!($crate::metrics::Counter, $name $(, $key => $value)*)
    };
    ($name:literal $(, $key:literal => $value:expr)* $(,)?) => {
        $crate::__metric_family!($crate::metrics::Counter, $name $(, $key => $value)*)
    };
    ($name:expr $(, $key:expr => $value:expr)* $(,)?) => {
        $crate::__metric_lookup!($crate::metrics::Counter, $name $(, $key => $value)*)
    };
}

/// A [`CounterF64`](crate::metrics::CounterF64) of the global registry.
///
/// ```
/// telem::counter_f64!("doc_busy_seconds_total").increment(0.5);
/// assert_eq!(telem::counter_f64!("doc_busy_seconds_total").get(), 0.5);
/// ```
#[macro_export]
macro_rules! counter_f64 {
    ($name:literal $(, $key:literal => $value:literal)* $(,)?) => {
        $crate::__metric_static!($crate::metrics::CounterF64, $name $(, $key => $value)*)
    };
    ($name:literal $(, $key:literal => $value:expr)* $(,)?) => {
        $crate::__metric_family!($crate::metrics::CounterF64, $name $(, $key => $value)*)
    };
    ($name:expr $(, $key:expr => $value:expr)* $(,)?) => {
        $crate::__metric_lookup!($crate::metrics::CounterF64, $name $(, $key => $value)*)
    };
}

/// An [`UpDownCounter`](crate::metrics::UpDownCounter) of the global registry.
///
/// ```
/// telem::up_down_counter!("doc_in_flight", "route" => "/").add(1);
/// ```
#[macro_export]
macro_rules! up_down_counter {
    ($name:literal $(, $key:literal => $value:literal)* $(,)?) => {
        $crate::__metric_static!($crate::metrics::UpDownCounter, $name $(, $key => $value)*)
    };
    ($name:literal $(, $key:literal => $value:expr)* $(,)?) => {
        $crate::__metric_family!($crate::metrics::UpDownCounter, $name $(, $key => $value)*)
    };
    ($name:expr $(, $key:expr => $value:expr)* $(,)?) => {
        $crate::__metric_lookup!($crate::metrics::UpDownCounter, $name $(, $key => $value)*)
    };
}

/// A [`Gauge`](crate::metrics::Gauge) (i64) of the global registry; see
/// [`gauge_f64!`](crate::gauge_f64) for f64 values.
///
/// ```
/// telem::gauge!("doc_pool_size", "pool" => "db").set(16);
/// assert_eq!(telem::gauge!("doc_pool_size", "pool" => "db").get(), 16);
/// ```
#[macro_export]
macro_rules! gauge {
    ($name:literal $(, $key:literal => $value:literal)* $(,)?) => {
        $crate::__metric_static!($crate::metrics::Gauge, $name $(, $key => $value)*)
    };
    ($name:literal $(, $key:literal => $value:expr)* $(,)?) => {
        $crate::__metric_family!($crate::metrics::Gauge, $name $(, $key => $value)*)
    };
    ($name:expr $(, $key:expr => $value:expr)* $(,)?) => {
        $crate::__metric_lookup!($crate::metrics::Gauge, $name $(, $key => $value)*)
    };
}

/// A [`GaugeF64`](crate::metrics::GaugeF64) of the global registry.
///
/// ```
/// telem::gauge_f64!("doc_cache_hit_ratio").set(0.93);
/// ```
#[macro_export]
macro_rules! gauge_f64 {
    ($name:literal $(, $key:literal => $value:literal)* $(,)?) => {
        $crate::__metric_static!($crate::metrics::GaugeF64, $name $(, $key => $value)*)
    };
    ($name:literal $(, $key:literal => $value:expr)* $(,)?) => {
        $crate::__metric_family!($crate::metrics::GaugeF64, $name $(, $key => $value)*)
    };
    ($name:expr $(, $key:expr => $value:expr)* $(,)?) => {
        $crate::__metric_lookup!($crate::metrics::GaugeF64, $name $(, $key => $value)*)
    };
}

/// A [`Histogram`](crate::metrics::Histogram) of the global registry, with the bounds
/// it was registered with ([`DEFAULT_BUCKETS`](crate::metrics::DEFAULT_BUCKETS) unless
/// registered first with [`Registry::histogram_family`](crate::metrics::Registry::histogram_family)).
///
/// ```
/// let started = std::time::Instant::now();
/// telem::histogram!("doc_request_duration_seconds", "route" => "/books")
///     .record(started.elapsed().as_secs_f64());
/// ```
#[macro_export]
macro_rules! histogram {
    ($name:literal $(, $key:literal => $value:literal)* $(,)?) => {
        $crate::__metric_static!($crate::metrics::Histogram, $name $(, $key => $value)*)
    };
    ($name:literal $(, $key:literal => $value:expr)* $(,)?) => {
        $crate::__metric_family!($crate::metrics::Histogram, $name $(, $key => $value)*)
    };
    ($name:expr $(, $key:expr => $value:expr)* $(,)?) => {
        $crate::__metric_lookup!($crate::metrics::Histogram, $name $(, $key => $value)*)
    };
}

/// Describes a counter of the global registry: `describe_counter!(name, help)` or
/// `describe_counter!(name, unit, help)`. An invalid name is counted, never a panic.
///
/// ```
/// telem::describe_counter!("http_requests_total", "HTTP requests served.");
/// ```
#[macro_export]
macro_rules! describe_counter {
    ($name:expr, $help:expr $(,)?) => {
        $crate::macro_support::metrics::describe($name, "", $help)
    };
    ($name:expr, $unit:expr, $help:expr $(,)?) => {
        $crate::macro_support::metrics::describe($name, $unit, $help)
    };
}

/// Describes a gauge of the global registry (see [`describe_counter!`](crate::describe_counter)).
///
/// ```
/// telem::describe_gauge!("memory_used_bytes", "bytes", "Memory in use.");
/// ```
#[macro_export]
macro_rules! describe_gauge {
    ($name:expr, $help:expr $(,)?) => {
        $crate::macro_support::metrics::describe($name, "", $help)
    };
    ($name:expr, $unit:expr, $help:expr $(,)?) => {
        $crate::macro_support::metrics::describe($name, $unit, $help)
    };
}

/// Describes a histogram of the global registry (see [`describe_counter!`](crate::describe_counter)).
///
/// ```
/// telem::describe_histogram!("request_duration_seconds", "seconds", "Request latency.");
/// ```
#[macro_export]
macro_rules! describe_histogram {
    ($name:expr, $help:expr $(,)?) => {
        $crate::macro_support::metrics::describe($name, "", $help)
    };
    ($name:expr, $unit:expr, $help:expr $(,)?) => {
        $crate::macro_support::metrics::describe($name, $unit, $help)
    };
}
