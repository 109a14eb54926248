//! Exemplars: the trace and span of the latest observation made inside a sampled span.

use crate::record::context::Current;
use crate::{SpanId, TraceId};
use std::sync::atomic::{fence, AtomicU64, Ordering};

/// A sample observation tied to the sampled span it was made in, so a latency bucket or
/// a counter links to a trace (OpenMetrics exemplars).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Exemplar {
    /// The trace of the span the observation was made in.
    pub trace_id: TraceId,
    /// That span.
    pub span_id: SpanId,
    /// The observed value (a counter's increment, a histogram's observation).
    pub value: f64,
    /// When, in ns since the Unix epoch.
    pub time_unix_nano: u64,
}

/// Lock-free storage of one exemplar, latest wins, no allocation.
///
/// A writer claims the cell by moving `version` from even to odd with one CAS (a writer
/// that finds it odd, or loses the CAS, drops its exemplar: a newer one is being
/// written), writes the fields, and publishes with an even version. A reader accepts
/// the fields only if the version was the same even number before and after reading
/// them (a seqlock read), and otherwise retries a few times, then reports none.
#[derive(Debug, Default)]
pub(crate) struct ExemplarCell {
    version: AtomicU64,
    trace_hi: AtomicU64,
    trace_lo: AtomicU64,
    span_id: AtomicU64,
    value: AtomicU64,
    raw_time: AtomicU64,
}

/// Whether an observation made now should leave an exemplar: inside a sampled span.
#[inline(always)]
pub(crate) fn sampled_span() -> Option<Current> {
    let current = crate::record::context::current();
    if current.flags().is_sampled() && current.is_valid() {
        Some(current)
    } else {
        None
    }
}

impl ExemplarCell {
    #[cold]
    #[inline(never)]
    pub(crate) fn store(&self, current: Current, value: f64) {
        let v = self.version.load(Ordering::Relaxed);
        if v & 1 == 1
            || self
                .version
                .compare_exchange(v, v + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        // Orders the odd version before the field stores, for readers (see `load`).
        fence(Ordering::Release);
        let trace = current.trace_id.to_u128();
        self.trace_hi.store((trace >> 64) as u64, Ordering::Relaxed);
        self.trace_lo.store(trace as u64, Ordering::Relaxed);
        self.span_id
            .store(current.span_id.to_u64(), Ordering::Relaxed);
        self.value.store(value.to_bits(), Ordering::Relaxed);
        self.raw_time
            .store(crate::record::clock::raw_now(), Ordering::Relaxed);
        self.version.store(v + 2, Ordering::Release);
    }

    /// The latest exemplar, if one was stored and a consistent read succeeded.
    pub(crate) fn load(&self) -> Option<Exemplar> {
        for _ in 0..8 {
            let v1 = self.version.load(Ordering::Acquire);
            if v1 == 0 {
                return None;
            }
            if v1 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let hi = self.trace_hi.load(Ordering::Relaxed);
            let lo = self.trace_lo.load(Ordering::Relaxed);
            let span = self.span_id.load(Ordering::Relaxed);
            let value = self.value.load(Ordering::Relaxed);
            let raw = self.raw_time.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.version.load(Ordering::Relaxed) == v1 {
                return Some(Exemplar {
                    trace_id: TraceId::from_raw((hi as u128) << 64 | lo as u128),
                    span_id: SpanId::from_raw(span),
                    value: f64::from_bits(value),
                    time_unix_nano: crate::record::clock::to_unix_nanos(raw),
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Context, SpanContext, TraceFlags, TraceState};

    fn in_span<R>(trace: u128, span: u64, f: impl FnOnce(Current) -> R) -> R {
        let ctx = SpanContext::new(
            TraceId::from_raw(trace),
            SpanId::from_raw(span),
            TraceFlags::SAMPLED,
            TraceState::default(),
            false,
        );
        Context::from_span(ctx).run(|| f(sampled_span().unwrap()))
    }

    #[test]
    fn no_exemplar_outside_a_sampled_span() {
        assert!(sampled_span().is_none());
        let unsampled = SpanContext::new(
            TraceId::from_raw(1),
            SpanId::from_raw(1),
            TraceFlags::NONE,
            TraceState::default(),
            false,
        );
        assert!(Context::from_span(unsampled).run(sampled_span).is_none());
    }

    #[test]
    fn latest_exemplar_wins() {
        let cell = ExemplarCell::default();
        assert_eq!(cell.load(), None);
        for i in 1..=3u64 {
            in_span(u128::from(i) << 64 | 7, i, |cur| cell.store(cur, i as f64));
        }
        let e = cell.load().unwrap();
        assert_eq!(e.trace_id, TraceId::from_raw(3u128 << 64 | 7));
        assert_eq!(e.span_id, SpanId::from_raw(3));
        assert_eq!(e.value, 3.0);
        assert!(e.time_unix_nano > 0);
    }

    #[test]
    fn concurrent_writers_never_produce_a_torn_read() {
        use std::sync::atomic::AtomicBool;
        use std::sync::{Arc, Barrier};
        // The reader reads until both writers are done, and the writers write until the
        // reader has accepted this many exemplars (and at least `MIN_WRITES` each): the
        // reads overlap the writes however the threads are scheduled.
        const MIN_READS: u64 = 200_000;
        const MIN_WRITES: u64 = 200_000;
        let cell = Arc::new(ExemplarCell::default());
        let accepted = Arc::new(AtomicU64::new(0));
        let writers_done = Arc::new(AtomicBool::new(false));
        let start = Arc::new(Barrier::new(3));
        let writers: Vec<_> = (1..=2u64)
            .map(|t| {
                let (cell, accepted, start) = (cell.clone(), accepted.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    // A bound on waiting for the reader, not a timing assertion: a reader
                    // that never accepts anything fails below instead of hanging.
                    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(30);
                    let mut i = 0u64;
                    while i < MIN_WRITES
                        || (accepted.load(Ordering::Relaxed) < MIN_READS
                            && std::time::Instant::now() < give_up)
                    {
                        let n = t * 1_000_000_000 + i;
                        in_span(u128::from(n) << 64 | u128::from(n), n, |cur| {
                            cell.store(cur, n as f64)
                        });
                        i += 1;
                    }
                })
            })
            .collect();
        let reader = {
            let (cell, accepted, done) = (cell.clone(), accepted.clone(), writers_done.clone());
            std::thread::spawn(move || {
                // However the reader ends (a failed assertion too), the writers stop.
                struct Stop(Arc<AtomicU64>);
                impl Drop for Stop {
                    fn drop(&mut self) {
                        self.0.store(u64::MAX, Ordering::Relaxed);
                    }
                }
                let _stop = Stop(accepted.clone());
                start.wait();
                let mut reads = 0u64;
                loop {
                    // Read once more after the writers are done: the last read sees the
                    // final state.
                    let last = done.load(Ordering::Acquire);
                    if let Some(e) = cell.load() {
                        let n = e.span_id.to_u64();
                        assert_eq!(
                            e.trace_id.to_u128(),
                            u128::from(n) << 64 | u128::from(n),
                            "a torn read: {e:?}"
                        );
                        assert_eq!(e.value, n as f64, "a torn read: {e:?}");
                        reads += 1;
                        accepted.store(reads, Ordering::Relaxed);
                    }
                    if last {
                        return reads;
                    }
                }
            })
        };
        for w in writers {
            w.join().unwrap();
        }
        writers_done.store(true, Ordering::Release);
        let reads = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        assert!(reads >= MIN_READS, "only {reads} reads");
    }
}
