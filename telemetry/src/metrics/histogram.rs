//! `Histogram`: a distribution in explicit buckets, with sum and count.

use super::exemplar::{sampled_span, Exemplar, ExemplarCell};
use super::shard::{add_f64_shared, raw_slot, shard_count, slot};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// OpenTelemetry's default bounds for `http.server.request.duration`, in seconds.
pub const DEFAULT_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Most bucket bounds a histogram may have.
pub const MAX_BUCKETS: usize = 256;

/// One cache line of counters.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Line([AtomicU64; 8]);

/// The state of one histogram series.
///
/// `words` holds `shard_count() + 1` blocks of `stride` words, each block starting on
/// a cache line: the per-bucket counts (`bounds.len() + 1`, the last one `+Inf`), then
/// the sum (f64 bits). Block `slot` belongs to the thread with that slot, which updates
/// it with plain loads and stores; the last block is shared by threads without one,
/// which use atomic adds. The count is the sum of the bucket counts, so it never
/// disagrees with them.
#[derive(Debug)]
pub(crate) struct HistogramCore {
    bounds: Arc<[f64]>,
    words: Box<[Line]>,
    stride: usize,
    owned_blocks: usize,
    exemplars: Box<[ExemplarCell]>,
}

/// A histogram's state at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct HistogramValue {
    /// Observations per bucket, not cumulative: `bucket_counts[i]` counts values in
    /// `(bounds[i-1], bounds[i]]`, and the last entry those above every bound (`+Inf`).
    /// One longer than the bounds.
    pub bucket_counts: Vec<u64>,
    /// The sum of all observations.
    pub sum: f64,
    /// How many observations (the sum of `bucket_counts`).
    pub count: u64,
    /// The latest exemplar of each bucket that has one: `(bucket index, exemplar)`.
    pub exemplars: Vec<(usize, Exemplar)>,
}

impl HistogramCore {
    pub(crate) fn new(bounds: Arc<[f64]>) -> Arc<Self> {
        let used = bounds.len() + 2;
        let stride = used.div_ceil(8) * 8;
        let owned_blocks = shard_count();
        let lines = (owned_blocks + 1) * stride / 8;
        Arc::new(Self {
            exemplars: (0..=bounds.len())
                .map(|_| ExemplarCell::default())
                .collect(),
            bounds,
            words: (0..lines).map(|_| Line::default()).collect(),
            stride,
            owned_blocks,
        })
    }

    #[inline(always)]
    fn word(&self, i: usize) -> &AtomicU64 {
        &self.words[i >> 3].0[i & 7]
    }

    /// The bucket of `v`: how many bounds are below it. Branch-free, so random
    /// latencies cost the same as repeated ones (no mispredicted early exit).
    #[inline(always)]
    fn bucket(&self, v: f64) -> usize {
        self.bounds.iter().map(|&b| usize::from(v > b)).sum()
    }

    #[inline]
    pub(crate) fn record(&self, v: f64) {
        if v.is_nan() {
            return;
        }
        let bucket = self.bucket(v);
        let slot = raw_slot();
        if slot < self.owned_blocks {
            let base = slot * self.stride;
            let count = self.word(base + bucket);
            count.store(count.load(Relaxed) + 1, Relaxed);
            let sum = self.word(base + self.bounds.len() + 1);
            sum.store((f64::from_bits(sum.load(Relaxed)) + v).to_bits(), Relaxed);
        } else {
            self.record_slow(bucket, v);
        }
        if let Some(current) = sampled_span() {
            self.exemplars[bucket].store(current, v);
        }
    }

    #[inline(never)]
    fn record_slow(&self, bucket: usize, v: f64) {
        let slot = slot();
        let base = slot.min(self.owned_blocks) * self.stride;
        if slot < self.owned_blocks {
            let count = self.word(base + bucket);
            count.store(count.load(Relaxed) + 1, Relaxed);
            let sum = self.word(base + self.bounds.len() + 1);
            sum.store((f64::from_bits(sum.load(Relaxed)) + v).to_bits(), Relaxed);
        } else {
            self.word(base + bucket).fetch_add(1, Relaxed);
            add_f64_shared(self.word(base + self.bounds.len() + 1), v);
        }
    }

    /// Sums every block: exact once the recording threads it must see have finished.
    pub(crate) fn value(&self) -> HistogramValue {
        let buckets = self.bounds.len() + 1;
        let mut bucket_counts = vec![0u64; buckets];
        let mut sum = 0.0;
        for block in 0..=self.owned_blocks {
            let base = block * self.stride;
            for (i, c) in bucket_counts.iter_mut().enumerate() {
                *c += self.word(base + i).load(Relaxed);
            }
            sum += f64::from_bits(self.word(base + buckets).load(Relaxed));
        }
        let exemplars = self
            .exemplars
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.load().map(|e| (i, e)))
            .collect();
        HistogramValue {
            count: bucket_counts.iter().sum(),
            bucket_counts,
            sum,
            exemplars,
        }
    }
}

/// A distribution of values in explicit buckets, with their sum and count: request
/// latencies, response sizes.
///
/// [`record`](Histogram::record) finds the bucket (branch-free over the bounds) and
/// updates the calling thread's own block with plain loads and stores. NaN is ignored.
/// Inside a sampled span the observation becomes the bucket's exemplar.
///
/// ```
/// let registry = telem::metrics::Registry::new();
/// let latency = registry.histogram("request_duration_seconds").unwrap();
/// latency.record(0.03125);
/// latency.record(0.25);
/// let v = latency.value();
/// assert_eq!(v.count, 2);
/// assert_eq!(v.sum, 0.28125);
/// // 0.03125 is in (0.025, 0.05], bucket 3 of the default bounds.
/// assert_eq!(v.bucket_counts[3], 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    core: Option<Arc<HistogramCore>>,
}

handle_basics!(Histogram, HistogramCore);

impl Histogram {
    /// Records one observation.
    #[inline]
    pub fn record(&self, v: f64) {
        if let Some(core) = &self.core {
            core.record(v);
        }
    }

    /// The bucket upper bounds (`+Inf` is implied).
    pub fn bounds(&self) -> &[f64] {
        self.core.as_ref().map_or(&[], |c| &c.bounds)
    }

    /// Bucket counts, sum, count and exemplars, summed over every thread.
    pub fn value(&self) -> HistogramValue {
        self.core.as_ref().map(|c| c.value()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_on_a_bound_go_to_that_bound_le() {
        let core = HistogramCore::new(Arc::from(&[1.0, 2.0][..]));
        for v in [
            0.5,
            1.0,
            1.5,
            2.0,
            3.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            core.record(v);
        }
        let v = core.value();
        assert_eq!(v.bucket_counts, [3, 2, 2]);
        assert_eq!(v.count, 7);
    }

    #[test]
    fn threads_beyond_the_blocks_record_exactly() {
        let core = HistogramCore::new(Arc::from(&DEFAULT_BUCKETS[..]));
        let threads = shard_count() * 2 + 1;
        let barrier = Arc::new(std::sync::Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (core, barrier) = (core.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for i in 0..1000 {
                        core.record(f64::from(i % 10));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let v = core.value();
        assert_eq!(v.count, threads as u64 * 1000);
        assert_eq!(v.sum, threads as f64 * 4500.0);
    }
}
