//! Counters: `Counter` (u64), `CounterF64`, and `UpDownCounter` (i64).

use super::exemplar::{sampled_span, ExemplarCell};
use super::shard::Sharded;
use std::sync::Arc;

/// The state of one counter series: per-thread shards and the latest exemplar.
#[derive(Debug)]
pub(crate) struct CounterCore {
    pub(crate) value: Sharded,
    pub(crate) exemplar: ExemplarCell,
}

impl CounterCore {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            value: Sharded::new(),
            exemplar: ExemplarCell::default(),
        })
    }
}

/// A monotonic u64 total: requests served, bytes sent.
///
/// A handle to one series; cloning it is cheap and every clone updates the same
/// series. [`increment`](Counter::increment) is a thread-local read and a plain load
/// and store to the calling thread's own cache line (no locked instruction, no shared
/// line), about as cheap as an increment can be; [`get`](Counter::get) sums the shards
/// exactly. Inside a sampled span the increment also leaves an exemplar.
///
/// A handle whose registration failed (see [`counter!`](crate::counter)) is a no-op:
///
/// ```
/// let c = telem::metrics::Counter::noop();
/// c.increment(1);
/// assert_eq!(c.get(), 0);
/// assert!(c.is_noop());
/// ```
///
/// ```
/// let registry = telem::metrics::Registry::new();
/// let sent = registry.counter("bytes_sent_total").unwrap();
/// sent.increment(1500);
/// sent.increment(500);
/// assert_eq!(sent.get(), 2000);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Counter {
    core: Option<Arc<CounterCore>>,
}

handle_basics!(Counter, CounterCore);

impl Counter {
    /// Adds `n` (wrapping at `u64::MAX`, as Prometheus counters do).
    #[inline]
    pub fn increment(&self, n: u64) {
        if let Some(core) = &self.core {
            core.value.add(n);
            if let Some(current) = sampled_span() {
                core.exemplar.store(current, n as f64);
            }
        }
    }

    /// The total, summed exactly over every thread's shard.
    pub fn get(&self) -> u64 {
        self.core.as_ref().map_or(0, |c| c.value.sum())
    }

    /// Makes the counter read `total`: for callbacks that report a total counted
    /// elsewhere (an observable counter, like CPU seconds from `/proc`). Don't mix it
    /// with [`increment`](Counter::increment) on the same series.
    ///
    /// ```
    /// let registry = telem::metrics::Registry::new();
    /// let c = registry.counter("context_switches_total").unwrap();
    /// c.set_total(1234);
    /// assert_eq!(c.get(), 1234);
    /// ```
    pub fn set_total(&self, total: u64) {
        if let Some(core) = &self.core {
            core.value.set_total(total);
        }
    }
}

/// A monotonic f64 total: seconds spent, amounts of money.
///
/// Negative and NaN increments are ignored (a counter never goes down).
///
/// ```
/// let registry = telem::metrics::Registry::new();
/// let busy = registry.counter_f64("busy_seconds_total").unwrap();
/// busy.increment(0.25);
/// busy.increment(-1.0); // ignored
/// busy.increment(0.5);
/// assert_eq!(busy.get(), 0.75);
/// ```
#[derive(Clone, Debug, Default)]
pub struct CounterF64 {
    core: Option<Arc<CounterCore>>,
}

handle_basics!(CounterF64, CounterCore);

impl CounterF64 {
    /// Adds `v`; negative, infinite and NaN values are ignored.
    #[inline]
    pub fn increment(&self, v: f64) {
        if let Some(core) = &self.core {
            if v >= 0.0 && v.is_finite() {
                core.value.add_f64(v);
                if let Some(current) = sampled_span() {
                    core.exemplar.store(current, v);
                }
            }
        }
    }

    /// The total over every thread's shard.
    pub fn get(&self) -> f64 {
        self.core.as_ref().map_or(0.0, |c| c.value.sum_f64())
    }

    /// Makes the counter read `total` (for observable counters; see
    /// [`Counter::set_total`]). NaN is ignored.
    pub fn set_total(&self, total: f64) {
        if let Some(core) = &self.core {
            if !total.is_nan() {
                core.value.set_total_f64(total);
            }
        }
    }
}

/// An i64 total that goes up and down: items in a queue, open connections.
///
/// Sharded like [`Counter`], so `add` from many threads never contends.
///
/// ```
/// let registry = telem::metrics::Registry::new();
/// let open = registry.up_down_counter("connections_open").unwrap();
/// open.add(3);
/// open.add(-1);
/// assert_eq!(open.get(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct UpDownCounter {
    core: Option<Arc<CounterCore>>,
}

handle_basics!(UpDownCounter, CounterCore);

impl UpDownCounter {
    /// Adds `delta` (negative to subtract).
    #[inline]
    pub fn add(&self, delta: i64) {
        if let Some(core) = &self.core {
            core.value.add(delta as u64);
        }
    }

    /// The total over every thread's shard.
    pub fn get(&self) -> i64 {
        self.core.as_ref().map_or(0, |c| c.value.sum() as i64)
    }
}
