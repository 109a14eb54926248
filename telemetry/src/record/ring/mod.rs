//! Where ended spans wait for the drain: one bounded SPSC ring per recording thread.
//!
//! A sampled span's record is a boxed [`RawSpan`] while the span runs (so guards stay
//! small and cheap to move). When it ends, the record is copied from the box straight
//! into the next ring slot (a sequential write the hardware prefetcher sees coming; no
//! temporary copy on the way, see `SpscRing::push_with`) and the box stays
//! on the thread, warm, for its next span: records never cross cores as heap objects,
//! and in steady state recording never calls the allocator.
//!
//! A thread takes a ring from a global pool the first time it ends a sampled span
//! (the only lock on the recording side, once per thread) and caches it in a
//! `const` thread-local. From then on recording a span is a thread-local load, a
//! capacity check, and a push into memory no other producer touches: no lock, no
//! allocation, no shared cache line written by two cores. When the thread exits its
//! ring goes back to the pool (still holding any spans not yet drained) for the next
//! thread. Rings are never freed, so at most one ring per live thread per distinct
//! configured capacity exists; memory never grows with load.
//!
//! Counters (recorded, dropped, sampled out) are written only by the ring's owning
//! thread with a relaxed load and store (no locked instruction) and summed by the drain.

#![allow(unsafe_code)]

pub(crate) mod logs;
mod pool;
mod spsc;

use crate::record::frame::Frame;
use crate::record::raw_span::{Extra, RawSpan};
use futures::task::AtomicWaker;
use pool::{Owner, PerThread, Rings};
use spsc::SpscRing;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Default per-thread ring capacity.
pub(crate) const DEFAULT_CAPACITY: usize = 4096;

static CAPACITY: AtomicUsize = AtomicUsize::new(DEFAULT_CAPACITY);

/// Wakes the drain when a ring passes its high-water mark.
static DRAIN_WAKER: AtomicWaker = AtomicWaker::new();
static HIGH_WATER: AtomicBool = AtomicBool::new(false);

/// Resolves when a ring has passed its high-water mark since the last call.
pub(crate) async fn high_water() {
    std::future::poll_fn(|cx| {
        DRAIN_WAKER.register(cx.waker());
        if HIGH_WATER.swap(false, Relaxed) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

/// Wakes the drain early: a ring (of spans or of logs) passed its high-water mark.
#[cold]
fn wake_drain() {
    HIGH_WATER.store(true, Relaxed);
    DRAIN_WAKER.wake();
}

/// Spans lost because they ended while their thread was being torn down.
static ORPHAN_DROPPED: AtomicU64 = AtomicU64::new(0);

/// Frames kept per thread for the next spans, the hot one included (more are open at once
/// only when spans nest deeper than this; those allocate).
const SPARES: usize = 8;

pub(crate) struct ThreadRing {
    ring: SpscRing<RawSpan>,
    /// The frame of the span that ended last, for the owner's next span: taking it and
    /// giving it back is one load and one store each (spans that do not nest use only
    /// this one). Touched only by the owner.
    hot: UnsafeCell<Option<Box<Frame>>>,
    /// More frames of ended spans, for spans that nest. Touched only by the owner.
    // Boxes, not frames: each is handed whole to a new span's handle.
    #[allow(clippy::vec_box)]
    spares: UnsafeCell<Vec<Box<Frame>>>,
    /// The out-of-line parts of drained records, emptied but with their capacity, on
    /// their way back to the owner: the drain is the producer (one at a time, under
    /// the span rings' `draining` mutex, see `pool::Cycle::next`), the owner the consumer. So a span with many attributes reuses
    /// buffers its own thread allocated, and the drain thread never frees them (with
    /// glibc, a free of another thread's allocation contends for that thread's arena
    /// lock: it was the largest cost of a traced HTTP request). Bounded like the ring:
    /// at most `capacity` buffers wait here.
    returned: SpscRing<Box<Extra>>,
    high_water: usize,
    recorded: AtomicU64,
    dropped: AtomicU64,
    sampled_out: AtomicU64,
    signalled: AtomicBool,
}

// SAFETY: a `ThreadRing` is shared (`&'static`) by its owner thread and the drain. The
// drain touches only the SPSC ring's consumer side (internally synchronised), the
// atomics and `signalled`; `hot` and `spares` are touched only by the owner thread (see
// `ThreadRing::keep`), and ownership passes between threads under the pool's mutex (`pool::Rings`).
unsafe impl Sync for ThreadRing {}

/// Adds one to a counter only this ring's owner writes: a plain load and store, no `lock` prefix.
#[inline]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

impl ThreadRing {
    fn new(capacity: usize) -> Self {
        Self {
            ring: SpscRing::new(capacity),
            hot: UnsafeCell::new(None),
            spares: UnsafeCell::new(Vec::with_capacity(SPARES - 1)),
            // As many as the ring holds records: a drain cycle can hand back every
            // buffer it took (it takes at most a ring's worth from one ring).
            returned: SpscRing::new(capacity),
            high_water: capacity / 2,
            recorded: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            sampled_out: AtomicU64::new(0),
            signalled: AtomicBool::new(false),
        }
    }

    /// Only the owning thread calls this (see `LOCAL`).
    #[inline]
    fn push(&self, mut frame: Box<Frame>) {
        bump(&self.recorded);
        // SAFETY: as above, the owner is the ring's only producer, and successive owners
        // are ordered by the pool's mutex (`pool::Rings`). The record is copied from the frame straight
        // into the slot.
        match unsafe { self.ring.push_with(|| frame.record.take_record()) } {
            Ok(len) => {
                if len >= self.high_water && !self.signalled.load(Relaxed) {
                    self.signal();
                }
            }
            Err(_) => {
                // Dropped: the frame is left as `take_record` would have left it.
                frame.record.discard();
                bump(&self.dropped);
            }
        }
        self.keep(frame);
    }

    /// Keeps an ended span's frame for the next span. Only the owning thread calls
    /// this (see `LOCAL`).
    #[inline(always)]
    fn keep(&self, frame: Box<Frame>) {
        // SAFETY: `hot` and `spares` are touched only by the ring's owner: `self` is
        // reachable for recording only through the `LOCAL` thread-local of the one
        // thread that took it from the pool, and a ring changes owner under the pool's
        // mutex. No other reference to either cell lives across this call.
        let hot = unsafe { &mut *self.hot.get() };
        if hot.is_none() {
            *hot = Some(frame);
        } else {
            self.keep_more(frame);
        }
    }

    /// [`Self::keep`] when the hot frame is taken: spans nest.
    #[inline(never)]
    fn keep_more(&self, frame: Box<Frame>) {
        // SAFETY: as in `keep`.
        let spares = unsafe { &mut *self.spares.get() };
        if spares.len() < SPARES - 1 {
            spares.push(frame);
        }
    }

    /// Only the owning thread calls this (see `LOCAL`).
    #[inline(always)]
    fn spare(&self) -> Option<Box<Frame>> {
        // SAFETY: see `keep`: only the owner touches `hot` and `spares`.
        match unsafe { &mut *self.hot.get() }.take() {
            Some(frame) => Some(frame),
            // SAFETY: as above.
            None => unsafe { &mut *self.spares.get() }.pop(),
        }
    }

    /// Hands a drained record's spent out-of-line part back to the owner. Only a
    /// drainer holding the span rings' `draining` mutex calls this.
    #[inline]
    fn give_back(&self, extra: Option<Box<Extra>>) {
        if let Some(extra) = extra {
            // SAFETY: `returned` has one producer at a time: every caller holds the
            // `draining` mutex (see `pool::Cycle::next`), which also orders successive ones.
            // If the ring is full the box is dropped here.
            drop(unsafe { self.returned.push(extra) });
        }
    }

    #[cold]
    fn signal(&self) {
        self.signalled.store(true, Relaxed);
        wake_drain();
    }
}

/// The span rings: the pool, the drainers' turn, and each thread's ring.
static RINGS: Rings<ThreadRing> = Rings::new(&LOCAL, &OWNER);

thread_local! {
    static LOCAL: Cell<Option<&'static ThreadRing>> = const { Cell::new(None) };
    static OWNER: RefCell<Owner<ThreadRing>> = const { RefCell::new(Owner::new()) };
}

impl PerThread for ThreadRing {
    type Item = RawSpan;

    fn rings() -> &'static Rings<Self> {
        &RINGS
    }

    fn with_capacity(capacity: usize) -> Self {
        Self::new(capacity)
    }

    fn queue(&self) -> &SpscRing<RawSpan> {
        &self.ring
    }

    fn signalled(&self) -> &AtomicBool {
        &self.signalled
    }

    /// `f` may take the record's out-of-line part; what it leaves there goes back to the
    /// recording thread for reuse.
    fn drain(&self, max: usize, f: &mut impl FnMut(&mut RawSpan)) -> usize {
        self.ring.drain_with(max, |raw| {
            f(raw);
            // A record `f` dropped without taking its parts (a previous pipeline's, a
            // closed test scope's) still holds them: they must not reach the next span.
            self.give_back(raw.take_extra().map(Extra::emptied));
        })
    }
}

#[inline]
fn with_ring(f: impl FnOnce(&'static ThreadRing)) -> bool {
    match LOCAL.with(Cell::get) {
        Some(ring) if ring.ring.capacity() == CAPACITY.load(Relaxed) => {
            f(ring);
            true
        }
        _ => match RINGS.acquire(CAPACITY.load(Relaxed)) {
            Some(ring) => {
                f(ring);
                true
            }
            None => false,
        },
    }
}

/// A frame to reuse for a new span, if the thread has one.
#[inline]
pub(crate) fn spare_frame() -> Option<Box<Frame>> {
    LOCAL.with(Cell::get)?.spare()
}

/// An emptied out-of-line record part for a span of this thread: one the drain gave
/// back if there is one, a new one otherwise.
#[cold]
pub(crate) fn spare_extra() -> Box<Extra> {
    returned_extra().unwrap_or_default()
}

/// The oldest out-of-line part the drain gave back to this thread, if any.
fn returned_extra() -> Option<Box<Extra>> {
    LOCAL
        .with(Cell::get)
        // SAFETY: the thread holding a ring in `LOCAL` is the only consumer of its
        // `returned` ring, and a ring changes owner under the pool's mutex (`pool::Rings`).
        .and_then(|ring| unsafe { ring.returned.pop() })
}

/// The calling thread's ring, once it has one: one thread-local load for both what an
/// unsampled span start needs from it (a spare frame, the sampled-out count).
#[derive(Clone, Copy)]
pub(crate) struct Local(&'static ThreadRing);

/// The thread's ring, if it has taken one (see [`count_sampled_out`], which takes one).
#[inline(always)]
pub(crate) fn local() -> Option<Local> {
    LOCAL.with(Cell::get).map(Local)
}

impl Local {
    /// A frame to reuse for a new span, if the thread has one.
    #[inline(always)]
    pub(crate) fn spare_frame(self) -> Option<Box<Frame>> {
        self.0.spare()
    }

    /// Counts a span the sampler decided not to record.
    #[inline(always)]
    pub(crate) fn count_sampled_out(self) {
        bump(&self.0.sampled_out);
    }
}

/// Keeps the frame of an unsampled span for the thread's next span.
#[inline]
pub(crate) fn recycle(frame: Box<Frame>) {
    if let Some(ring) = LOCAL.with(Cell::get) {
        ring.keep(frame);
    }
}

/// Records an ended, sampled span (times still raw clock readings) and keeps its frame.
#[inline]
pub(crate) fn push(frame: Box<Frame>) {
    let mut frame = Some(frame);
    let pushed = with_ring(|ring| {
        if let Some(frame) = frame.take() {
            ring.push(frame);
        }
    });
    if !pushed {
        ORPHAN_DROPPED.fetch_add(1, Relaxed);
    }
}

/// Counts a span the sampler decided not to record (on whichever ring the thread holds:
/// only the sum over rings matters).
#[inline]
pub(crate) fn count_sampled_out() {
    match LOCAL.with(Cell::get) {
        Some(ring) => bump(&ring.sampled_out),
        None => {
            with_ring(|ring| bump(&ring.sampled_out));
        }
    }
}

/// Sets the capacity of rings handed out from now on; threads move to a ring of the new
/// capacity on their next span. `capacity` is validated by the caller.
pub(crate) fn set_capacity(capacity: usize) {
    CAPACITY.store(capacity, Relaxed);
}

/// A drain cycle over the span rings (see [`pool::Cycle`]).
pub(crate) type Cycle = pool::Cycle<ThreadRing>;

/// Drains every span ring once, handing each record to `f`; returns how many.
pub(crate) fn drain(f: impl FnMut(&mut RawSpan)) -> usize {
    Cycle::drain(f)
}

/// Number of spans waiting in all rings.
pub(crate) fn queued() -> usize {
    let mut queued = 0;
    RINGS.for_each(|r| queued += r.ring.len());
    queued
}

/// Cumulative counters over all rings since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) recorded: u64,
    pub(crate) dropped: u64,
    pub(crate) sampled_out: u64,
}

pub(crate) fn totals() -> Totals {
    let orphans = ORPHAN_DROPPED.load(Relaxed);
    let mut t = Totals {
        recorded: orphans,
        dropped: orphans,
        sampled_out: 0,
    };
    RINGS.for_each(|r| {
        t.recorded += r.recorded.load(Relaxed);
        t.dropped += r.dropped.load(Relaxed);
        t.sampled_out += r.sampled_out.load(Relaxed);
    });
    t
}

#[cfg(all(test, not(telemetry_loom)))]
mod tests {
    use super::*;
    use crate::{SpanId, Str, TraceFlags, TraceId};

    /// `drain` empties every thread's ring: tests that count must not overlap.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// The parent of every record these tests make, to tell them from the records of
    /// other tests of the crate that end spans while these run.
    const MARK: SpanId = SpanId::from_raw(0x7269_6e67_7465_7374);

    /// One ring test at a time, on rings emptied when it starts and again when it ends,
    /// panicking or not: no test depends on the one before having cleaned up.
    #[must_use]
    struct Clean(#[allow(dead_code)] std::sync::MutexGuard<'static, ()>);

    fn clean() -> Clean {
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        empty();
        Clean(serial)
    }

    impl Drop for Clean {
        fn drop(&mut self) {
            empty(); // before the field, so still serialised
        }
    }

    /// Empties every ring, and this thread's returned buffers.
    fn empty() {
        drain(|_| {});
        while returned_extra().is_some() {}
    }

    /// Drains every ring; returns how many of the records were these tests'.
    fn drain_ours(mut f: impl FnMut(&mut RawSpan)) -> usize {
        let mut ours = 0;
        drain(|raw| {
            if raw.parent_id == MARK {
                ours += 1;
                f(raw);
            }
        });
        ours
    }

    /// A sampled span's record as the ring gets it, made without the clock or the id
    /// generator (`init_recording` reads both; under miri neither runs: the clock
    /// calibrates with `cpuid`, the generator seeds from the wall clock).
    fn record() -> Box<Frame> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Relaxed);
        let mut frame = Frame::take();
        frame.record = RawSpan::blank();
        frame.record.trace_id = TraceId::from_raw(u128::from(n));
        frame.record.span_id = SpanId::from_raw(n);
        frame.record.parent_id = MARK;
        frame.record.flags = TraceFlags::SAMPLED;
        frame
    }

    #[test]
    fn a_drain_cycle_takes_only_what_was_queued_when_it_started() {
        let _clean = clean();
        for _ in 0..10 {
            push(record());
        }
        // The callback refills this thread's ring as fast as the drain empties it, as a
        // busy producer would: the cycle must still end, after the 10 queued records.
        let mut refills = 0;
        let drained = drain_ours(|_| {
            if refills < 1_000 {
                push(record());
                refills += 1;
            }
        });
        assert_eq!(drained, 10);
        assert_eq!(
            drain_ours(|_| {}),
            10,
            "the refills wait for the next cycle"
        );
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "take_span_data reads the clock, which calibrates with cpuid (inline assembly)"
    )]
    fn the_drain_gives_a_records_spent_buffers_back_to_its_thread() {
        let _clean = clean();
        let mut frame = record();
        for key in ["a", "b", "c", "d", "e", "f"] {
            frame
                .record
                .set_attribute(Str::from_static(key), crate::Value::I64(1), 128);
        }
        push(frame);
        let mut exported = None;
        assert_eq!(drain_ours(|raw| exported = Some(raw.take_span_data())), 1);
        assert_eq!(exported.map(|s| s.attributes.len()), Some(6));
        let spare = spare_extra();
        assert!(spare.attributes.is_empty());
        assert!(
            spare.attributes.capacity() >= 3,
            "the buffer comes back with its capacity, for the next span"
        );
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "add_event reads the clock, which calibrates with cpuid (inline assembly)"
    )]
    fn a_record_the_drain_drops_gives_back_an_empty_buffer() {
        // A previous pipeline's record, dropped by `init`: its links, events and status
        // must not turn up in the next span that takes the buffer.
        let _clean = clean();
        let mut frame = record();
        for key in ["a", "b", "c", "d"] {
            frame
                .record
                .set_attribute(Str::from_static(key), crate::Value::I64(1), 128);
        }
        frame.record.add_link(
            crate::Link {
                context: crate::SpanContext::INVALID,
                attributes: Default::default(),
            },
            128,
        );
        frame
            .record
            .add_event(Str::from_static("e"), Vec::new(), 0, 128);
        frame.record.set_status(crate::Status::error("stale"));
        push(frame);
        assert_eq!(drain_ours(|_| {}), 1);
        let spare = spare_extra();
        assert!(spare.attributes.is_empty() && spare.attributes.capacity() > 0);
        assert!(spare.links.is_empty());
        assert!(spare.events.is_empty());
        assert_eq!(spare.status, crate::Status::Unset);
    }

    #[test]
    fn a_span_dropped_at_a_full_ring_leaves_a_clean_frame() {
        let _clean = clean();
        let before = totals().dropped;
        for _ in 0..CAPACITY.load(Relaxed) {
            push(record());
        }
        let mut frame = record();
        for key in ["a", "b", "c", "d"] {
            frame
                .record
                .set_attribute(Str::from_static(key), crate::Value::I64(1), 128);
        }
        push(frame);
        assert_eq!(totals().dropped, before + 1, "the ring was full");
        // The frame goes on to the thread's next span, which may be unsampled: that one
        // writes only its ids, so the frame must not still say "recording".
        let frame = spare_frame().unwrap_or_else(Frame::take);
        assert!(!frame.record.is_recording());
        assert!(!frame.record.has_extra());
    }

    #[test]
    fn an_ended_span_leaves_its_frame_for_the_next() {
        let _clean = clean();
        push(record());
        assert_eq!(drain_ours(|_| {}), 1);
        assert!(
            spare_frame().is_some(),
            "an ended span's frame stays with its thread"
        );
    }
}
