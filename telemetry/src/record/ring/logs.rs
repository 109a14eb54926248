//! Where log records wait for the drain: one bounded SPSC ring per logging thread,
//! beside the span rings and kept the same way (`ring/pool.rs`): taken from a pool at
//! the thread's first log call (the only lock, once per thread), given back when the
//! thread exits, never freed. A full ring drops the record and counts it per level.

#![allow(unsafe_code)]

use super::pool::{Cycle, Owner, PerThread, Rings};
use super::spsc::SpscRing;
use crate::logs::raw::RawLog;
use crate::Level;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Default per-thread log ring capacity.
pub(crate) const DEFAULT_LOG_CAPACITY: usize = 1024;

static CAPACITY: AtomicUsize = AtomicUsize::new(DEFAULT_LOG_CAPACITY);

/// Records lost because they were made while their thread was being torn down.
static ORPHAN_DROPPED: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

pub(crate) struct LogRing {
    ring: SpscRing<RawLog>,
    high_water: usize,
    /// Per level ([`Level::index`]); written only by the owner (`bump`).
    recorded: [AtomicU64; 5],
    dropped: [AtomicU64; 5],
    /// Set when a push passed the high-water mark, so the drain is woken once per cycle.
    signalled: AtomicBool,
}

#[inline]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

impl LogRing {
    fn new(capacity: usize) -> Self {
        Self {
            ring: SpscRing::new(capacity),
            high_water: capacity / 2,
            recorded: [const { AtomicU64::new(0) }; 5],
            dropped: [const { AtomicU64::new(0) }; 5],
            signalled: AtomicBool::new(false),
        }
    }

    /// Only the owning thread calls this (see `LOCAL`).
    #[inline]
    fn push(&self, make: impl FnOnce() -> RawLog, level: Level) {
        bump(&self.recorded[level.index()]);
        // SAFETY: the owner is the ring's only producer, and successive owners are
        // ordered by the pool's mutex (`pool::Rings`), as for the span rings.
        match unsafe { self.ring.push_with(make) } {
            Ok(len) => {
                if len >= self.high_water && !self.signalled.load(Relaxed) {
                    self.signalled.store(true, Relaxed);
                    super::wake_drain();
                }
            }
            Err(_) => bump(&self.dropped[level.index()]),
        }
    }
}

/// The log rings: the pool, the drainers' turn, and each thread's ring.
static RINGS: Rings<LogRing> = Rings::new(&LOCAL, &OWNER);

thread_local! {
    static LOCAL: Cell<Option<&'static LogRing>> = const { Cell::new(None) };
    static OWNER: RefCell<Owner<LogRing>> = const { RefCell::new(Owner::new()) };
}

impl PerThread for LogRing {
    type Item = RawLog;

    fn rings() -> &'static Rings<Self> {
        &RINGS
    }

    fn with_capacity(capacity: usize) -> Self {
        Self::new(capacity)
    }

    fn queue(&self) -> &SpscRing<RawLog> {
        &self.ring
    }

    fn signalled(&self) -> &AtomicBool {
        &self.signalled
    }
}

/// Records what `make` builds (called only if the ring has room), counted at `level`.
#[inline]
pub(crate) fn push(level: Level, make: impl FnOnce() -> RawLog) {
    match LOCAL.with(Cell::get) {
        Some(ring) if ring.ring.capacity() == CAPACITY.load(Relaxed) => ring.push(make, level),
        _ => match RINGS.acquire(CAPACITY.load(Relaxed)) {
            Some(ring) => ring.push(make, level),
            None => {
                ORPHAN_DROPPED[level.index()].fetch_add(1, Relaxed);
            }
        },
    }
}

/// Sets the capacity of log rings handed out from now on (validated by the caller).
pub(crate) fn set_capacity(capacity: usize) {
    CAPACITY.store(capacity, Relaxed);
}

/// A drain cycle over the log rings (see [`Cycle`]).
pub(crate) type LogCycle = Cycle<LogRing>;

/// Records waiting in all log rings.
pub(crate) fn queued() -> usize {
    let mut queued = 0;
    RINGS.for_each(|r| queued += r.ring.len());
    queued
}

/// Per-level totals since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LogTotals {
    pub(crate) recorded: [u64; 5],
    pub(crate) dropped: [u64; 5],
}

pub(crate) fn totals() -> LogTotals {
    let mut t = LogTotals::default();
    for (i, orphans) in ORPHAN_DROPPED.iter().enumerate() {
        let orphans = orphans.load(Relaxed);
        t.recorded[i] = orphans;
        t.dropped[i] = orphans;
    }
    RINGS.for_each(|r| {
        for i in 0..Level::ALL.len() {
            t.recorded[i] += r.recorded[i].load(Relaxed);
            t.dropped[i] += r.dropped[i].load(Relaxed);
        }
    });
    t
}

#[cfg(all(test, not(telemetry_loom)))]
mod tests {
    use super::*;
    use crate::logs::site::{Message, Site};
    use crate::{SpanId, TraceFlags, TraceId, Value};

    static SITE: Site = Site::new(
        Level::Warn,
        "ring_logs_tests",
        file!(),
        line!(),
        None,
        Message::Pieces(&["x"]),
        &[],
    );

    /// A record made without the clock (miri cannot calibrate it).
    fn raw() -> RawLog {
        RawLog {
            site: &SITE,
            time: 0,
            trace_id: TraceId::INVALID,
            span_id: SpanId::INVALID,
            flags: TraceFlags::default(),
            test_scope: 0,
            body: None,
            values: [Value::I64(1)].into_iter().collect(),
            present: crate::logs::raw::ALL_PRESENT,
            bound: None,
            extra: None,
        }
    }

    #[test]
    fn a_full_log_ring_drops_and_counts_per_level_on_its_own_thread() {
        // A fresh thread takes a ring of its own: its counters see only these pushes.
        std::thread::spawn(|| {
            let capacity = CAPACITY.load(Relaxed);
            for _ in 0..capacity + 5 {
                push(Level::Warn, raw);
            }
            let ring = LOCAL.with(Cell::get).expect("the thread took a ring");
            let warn = Level::Warn.index();
            assert_eq!(ring.recorded[warn].load(Relaxed), capacity as u64 + 5);
            // Other tests' drains may have emptied part of it meanwhile: at least the 5
            // pushed past a full ring were dropped unless a drain made room first.
            let dropped = ring.dropped[warn].load(Relaxed);
            assert!(dropped <= 5);
            assert!(ring.ring.len() <= capacity);
            assert_eq!(ring.recorded[Level::Info.index()].load(Relaxed), 0);
        })
        .join()
        .expect("the pushing thread");
    }
}
