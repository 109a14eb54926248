//! Gauges: `Gauge` (i64) and `GaugeF64`, set or moved up and down.

use super::shard::add_f64_shared;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// The state of one gauge series: one word (a gauge is set, so it can't be sharded).
#[derive(Debug, Default)]
pub(crate) struct GaugeCore {
    pub(crate) bits: AtomicU64,
}

impl GaugeCore {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
}

/// An i64 value that is set: a temperature, a pool size, a config value.
///
/// ```
/// let registry = telem::metrics::Registry::new();
/// let workers = registry.gauge("workers").unwrap();
/// workers.set(8);
/// workers.increment(2);
/// workers.decrement(1);
/// assert_eq!(workers.get(), 9);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Gauge {
    core: Option<Arc<GaugeCore>>,
}

handle_basics!(Gauge, GaugeCore);

impl Gauge {
    /// Sets the value.
    #[inline]
    pub fn set(&self, v: i64) {
        if let Some(c) = &self.core {
            c.bits.store(v as u64, Relaxed);
        }
    }

    /// Adds `n` (one atomic add).
    #[inline]
    pub fn increment(&self, n: i64) {
        if let Some(c) = &self.core {
            c.bits.fetch_add(n as u64, Relaxed);
        }
    }

    /// Subtracts `n` (one atomic add).
    #[inline]
    pub fn decrement(&self, n: i64) {
        if let Some(c) = &self.core {
            c.bits.fetch_sub(n as u64, Relaxed);
        }
    }

    /// The value.
    pub fn get(&self) -> i64 {
        self.core
            .as_ref()
            .map_or(0, |c| c.bits.load(Relaxed) as i64)
    }
}

/// An f64 value that is set: a ratio, a memory size, a last duration.
///
/// ```
/// let registry = telem::metrics::Registry::new();
/// let load = registry.gauge_f64("load_ratio").unwrap();
/// load.set(0.5);
/// load.increment(0.25);
/// load.decrement(0.5);
/// assert_eq!(load.get(), 0.25);
/// ```
#[derive(Clone, Debug, Default)]
pub struct GaugeF64 {
    core: Option<Arc<GaugeCore>>,
}

handle_basics!(GaugeF64, GaugeCore);

impl GaugeF64 {
    /// Sets the value (NaN and infinities too: they are valid gauge values).
    #[inline]
    pub fn set(&self, v: f64) {
        if let Some(c) = &self.core {
            c.bits.store(v.to_bits(), Relaxed);
        }
    }

    /// Adds `v` (a compare-and-swap loop).
    #[inline]
    pub fn increment(&self, v: f64) {
        if let Some(c) = &self.core {
            add_f64_shared(&c.bits, v);
        }
    }

    /// Subtracts `v`.
    #[inline]
    pub fn decrement(&self, v: f64) {
        self.increment(-v);
    }

    /// The value.
    pub fn get(&self) -> f64 {
        self.core
            .as_ref()
            .map_or(0.0, |c| f64::from_bits(c.bits.load(Relaxed)))
    }
}
