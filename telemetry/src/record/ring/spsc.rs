//! A bounded, fixed-memory, lock-free single-producer single-consumer ring.
//!
//! Most of the crate's `unsafe` code is here and in `ring/mod.rs`. Finished spans
//! are pushed by the thread that ends them (the producer) and taken out by the drain
//! (the consumer); a push must cost a few nanoseconds, so it takes no lock, does not
//! allocate and makes no system call.
//!
//! # Layout
//!
//! `slots` is a boxed slice of `capacity` (a power of two) cells of
//! `MaybeUninit<T>`. `tail` (next slot to write) is written only by the producer and
//! `head` (next slot to read) only by the consumer. Both increase forever (wrapping at
//! `usize::MAX`, harmless because the capacity is a power of two) and are masked with
//! `capacity - 1` to index a slot. Invariant: `tail - head <= capacity`, and exactly the
//! slots at positions `head..tail` hold initialised values.
//!
//! Producer state (`tail` and the producer's cached copy of `head`) and consumer state
//! (`head` and the consumer lock) each sit in their own 128-byte aligned block, so the
//! two sides never write to the same cache line, or to the pair of lines that x86
//! adjacent-line prefetching moves together.
//!
//! # Protocol and memory orderings
//!
//! * Producer: load `tail` (Relaxed: only producers write it, and successive producers
//!   are ordered by the caller); check for room against its cached `head`; write the
//!   value into slot `tail`; store `tail + 1` with **Release**, which publishes the slot
//!   write to a consumer that loads that `tail`.
//! * Consumer: load `head` (Relaxed: only consumers write it); load `tail` with
//!   **Acquire**, which makes every slot write before that `tail` visible; move the
//!   values out of slots `head..tail`; store the new `head` with **Release**, which
//!   orders those reads before any later producer write to the same slots.
//! * The producer keeps a private copy of `head` (`cached_head`, on its own cache line)
//!   and reloads the shared `head` (with **Acquire**, pairing with the consumer's
//!   Release store, so the consumer is done reading the slots it freed) only when the
//!   cached copy says the ring is at least half full. So while the consumer keeps up,
//!   a push touches only the producer's cache line and the slot, and reads the
//!   consumer's line roughly once per `capacity / 2` pushes. (Reloading already at
//!   half full, rather than only when full, keeps the length estimate `push` returns
//!   accurate at and above half full, where callers compare it with their high-water
//!   mark; a stale estimate there would wake the drain on every push.)
//!
//! # Why `unsafe`
//!
//! The slots are shared between two threads without a lock, so they need interior
//! mutability (`UnsafeCell`) and can hold uninitialised memory (`MaybeUninit`). The
//! compiler cannot see that the producer and the consumer never touch the same slot at
//! the same time: that follows from the index protocol above together with there being
//! a single producer and a single consumer. `drain_with` enforces the single consumer
//! with a mutex that producers never touch. The single producer (and the consumer for
//! the lock-free `pop`) is the caller's obligation, hence `unsafe fn`: the owning thread
//! is known only to the caller (`ring/mod.rs` hands a ring over between threads under a
//! mutex, which orders successive producers by happens-before).
//!
//! # Model checking
//!
//! Built with `--cfg telemetry_loom`, the atomics, cells and mutex come from `loom`
//! (see the private `sync` module), so this exact code is model-checked by the
//! `loom_tests` below.

#![allow(unsafe_code)]

use self::sync::{AtomicUsize, Mutex, UnsafeCell};
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::PoisonError;

/// `std` primitives, with an `UnsafeCell` that has loom's closure-based API.
#[cfg(not(telemetry_loom))]
mod sync {
    pub(super) use std::sync::atomic::AtomicUsize;
    pub(super) use std::sync::Mutex;

    /// `std::cell::UnsafeCell` behind `loom::cell::UnsafeCell`'s API: the pointer is
    /// only available inside a closure, which lets loom track each access.
    #[repr(transparent)]
    pub(super) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        #[inline]
        pub(super) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// Runs `f` with a pointer for reading.
        #[inline]
        pub(super) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with a pointer for reading and writing.
        #[inline]
        pub(super) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// loom's model-checked primitives.
#[cfg(telemetry_loom)]
mod sync {
    pub(super) use loom::cell::UnsafeCell;
    pub(super) use loom::sync::atomic::AtomicUsize;
    pub(super) use loom::sync::Mutex;
}

/// Gives its contents a 128-byte block of their own: 64 bytes is one cache line, but
/// x86 prefetches cache lines in adjacent pairs.
#[repr(align(128))]
struct CachePadded<T>(T);

/// State written only by the producer.
struct ProducerSide {
    /// Next position to write.
    tail: AtomicUsize,
    /// The producer's last view of `head` (never ahead of the real one).
    cached_head: UnsafeCell<usize>,
}

/// State written only by the consumer.
struct ConsumerSide {
    /// Next position to read.
    head: AtomicUsize,
    /// Serialises `drain_with` callers. Producers never touch it.
    lock: Mutex<()>,
}

/// A bounded single-producer single-consumer queue of `T` (see the module docs).
pub(crate) struct SpscRing<T> {
    producer: CachePadded<ProducerSide>,
    consumer: CachePadded<ConsumerSide>,
    /// `capacity - 1`; `capacity` is a power of two.
    mask: usize,
    /// `capacity / 2 - 1`: the producer reloads `head` when its cached view says the
    /// ring holds at least this many values, so every length estimate of
    /// `capacity / 2` or more that `push` returns is computed from a fresh `head`.
    refresh_at: usize,
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: the ring owns the queued `T`s (they are dropped with it), so moving it to
// another thread moves them, which `T: Send` allows. Everything else it holds (indices,
// cells of plain integers, a mutex) is not tied to a thread.
unsafe impl<T: Send> Send for SpscRing<T> {}

// SAFETY: through `&SpscRing` a value of `T` is only ever moved in (by `push`) and
// moved out (by `drain_with` / `pop`), possibly on another thread, which `T: Send`
// allows; no `&T` is ever handed out, so `T: Sync` is not needed. The `UnsafeCell`s
// are accessed without data races: a slot is written only by the single producer
// while it is outside `head..tail`, and read only by the single consumer while it is
// inside, with the Release/Acquire pairs on `tail` and `head` ordering each write
// before the read and each read before the next write (module docs); `cached_head` is
// touched by the single producer only. `push`'s and `pop`'s contracts and
// `drain_with`'s mutex provide the "single".
unsafe impl<T: Send> Sync for SpscRing<T> {}

impl<T: Send> SpscRing<T> {
    /// An empty ring with `capacity` slots.
    ///
    /// `capacity` must be a power of two and at least 2 (callers validate it). A debug
    /// build asserts it; a release build rounds it up instead of panicking.
    pub(crate) fn new(capacity: usize) -> Self {
        debug_assert!(
            capacity >= 2 && capacity.is_power_of_two(),
            "SpscRing capacity must be a power of two >= 2, got {capacity}"
        );
        let capacity = capacity
            .max(2)
            .checked_next_power_of_two()
            .unwrap_or(1 << (usize::BITS - 1));
        Self {
            producer: CachePadded(ProducerSide {
                tail: AtomicUsize::new(0),
                cached_head: UnsafeCell::new(0),
            }),
            consumer: CachePadded(ConsumerSide {
                head: AtomicUsize::new(0),
                lock: Mutex::new(()),
            }),
            mask: capacity - 1,
            refresh_at: capacity / 2 - 1,
            slots: (0..capacity)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
        }
    }

    /// Number of slots.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Approximate number of queued values, for monitoring; any thread may call it.
    /// It may be stale as soon as it returns, but is never above `capacity()`.
    pub(crate) fn len(&self) -> usize {
        // Acquire pairs with the consumer's Release store of this `head`, which came
        // after it loaded a `tail` at least as large, so the `tail` loaded next is too.
        let head = self.consumer.0.head.load(Acquire);
        let tail = self.producer.0.tail.load(Relaxed);
        tail.wrapping_sub(head).min(self.capacity())
    }

    /// Producer side: appends `value`. Returns `Ok` with an estimate of the number of
    /// queued values after the push, or `Err(value)` if the ring is full (the caller
    /// counts the drop).
    ///
    /// The estimate is an upper bound on the true length at the time of the push (the
    /// consumer may have taken values the producer has not seen yet); whenever it is
    /// `capacity() / 2` or more it was computed from a freshly loaded `head`.
    ///
    /// # Safety
    ///
    /// At most one thread calls `push` at a time, and successive producers are ordered
    /// by happens-before (ownership is handed over through a `Mutex` by the caller).
    #[inline]
    pub(crate) unsafe fn push(&self, value: T) -> Result<usize, T> {
        // SAFETY: the caller's guarantee, passed on.
        unsafe { self.push_with(move || value) }.map_err(|make| make())
    }

    /// [`push`](Self::push) of the value `make` returns, called only if there is room
    /// (`make` comes back unused otherwise), and written straight into the slot: a
    /// value built there from another (a span record from its frame) is copied once,
    /// not through a temporary.
    ///
    /// # Safety
    ///
    /// As for [`push`](Self::push).
    #[inline(always)]
    pub(crate) unsafe fn push_with<F: FnOnce() -> T>(&self, make: F) -> Result<usize, F> {
        let producer = &self.producer.0;
        // Relaxed: only producers store `tail`, and the caller orders the previous
        // producer's last store before this load, so this is the current value.
        let tail = producer.tail.load(Relaxed);
        let head = producer.cached_head.with_mut(|cached_head| {
            // SAFETY: only the producer accesses `cached_head`, and the caller
            // guarantees one producer at a time with successive producers ordered by
            // happens-before, so this access does not race with any other.
            let cached_head = unsafe { &mut *cached_head };
            if tail.wrapping_sub(*cached_head) >= self.refresh_at {
                // Acquire: pairs with the consumer's Release store, so its reads of
                // every slot it freed happen before our writes to them.
                *cached_head = self.consumer.0.head.load(Acquire);
            }
            *cached_head
        });
        let len = tail.wrapping_sub(head);
        if len > self.mask {
            return Err(make);
        }
        self.slots[tail & self.mask].with_mut(|slot| {
            // SAFETY: position `tail` is not in `head..tail` of any consumer: the last
            // value stored in this slot was at position `tail - capacity`, which is
            // below `head` (we checked `tail - head < capacity`), and we obtained that
            // `head` with an Acquire load (here or in an earlier push, ordered before
            // this one) of the consumer's Release store, so the consumer has finished
            // reading the slot. Only the producer writes slots, and there is one. The
            // slot holds no initialised value, so overwriting it leaks nothing.
            unsafe { slot.write(MaybeUninit::new(make())) };
        });
        // Release: publishes the slot write to the consumer's Acquire load of `tail`.
        producer.tail.store(tail.wrapping_add(1), Release);
        Ok(len + 1)
    }

    /// Consumer side: removes the oldest value, without taking the consumer lock.
    ///
    /// # Safety
    ///
    /// No other thread consumes (`pop` or `drain_with`) concurrently, and successive
    /// consumers are ordered by happens-before.
    // The span rings are drained in batches with `drain_with`; `pop` serves the rings
    // that carry spent buffers back to their recording thread, which is their only
    // consumer.
    #[inline]
    pub(crate) unsafe fn pop(&self) -> Option<T> {
        let consumer = &self.consumer.0;
        // Relaxed: only consumers store `head`, and they are ordered (contract).
        let head = consumer.head.load(Relaxed);
        // Acquire: pairs with the producer's Release store of `tail`.
        if head == self.producer.0.tail.load(Acquire) {
            return None;
        }
        let value = self.slots[head & self.mask].with(|slot| {
            // SAFETY: `head < tail`, and the producer's write of this slot happened
            // before (Acquire load of `tail` above), so it is initialised and the
            // producer will not write it again until we advance `head`. We are the
            // only consumer (contract), so the value is moved out exactly once.
            unsafe { slot.read().assume_init() }
        });
        // Release: orders our read of the slot before the producer's next write to it.
        consumer.head.store(head.wrapping_add(1), Release);
        Some(value)
    }

    /// Consumer side: hands up to `max` values, oldest first, to `f` in their slots (no
    /// copy), then drops them there; returns how many. `f` may take what it wants out
    /// of a value (`Option::take`, `mem::take`). Consumers are serialised by an
    /// internal mutex that producers never touch.
    ///
    /// If `f` panics, the values it was handed stay taken (the one it panicked on is
    /// dropped as the panic passes) and the rest stay queued.
    #[inline]
    pub(crate) fn drain_with(&self, max: usize, mut f: impl FnMut(&mut T)) -> usize {
        /// Publishes how far the consumer got, also when `f` unwinds.
        struct Advance<'a> {
            head: &'a AtomicUsize,
            start: usize,
            taken: usize,
        }
        impl Drop for Advance<'_> {
            fn drop(&mut self) {
                // Release: orders our reads of the slots before the producer reuses
                // them. One store per batch keeps the traffic on the consumer's cache
                // line low.
                self.head
                    .store(self.start.wrapping_add(self.taken), Release);
            }
        }

        let consumer = &self.consumer.0;
        // A panic in `f` leaves `head` past every value handed out (see `Advance`), so
        // a poisoned lock protects nothing inconsistent.
        let _only_consumer = consumer.lock.lock().unwrap_or_else(PoisonError::into_inner);
        // Relaxed: only consumers store `head`, and the lock orders them.
        let head = consumer.head.load(Relaxed);
        // Acquire: pairs with the producer's Release store of `tail`.
        let tail = self.producer.0.tail.load(Acquire);
        let n = tail.wrapping_sub(head).min(max);
        if n == 0 {
            return 0;
        }
        let mut advance = Advance {
            head: &consumer.head,
            start: head,
            taken: 0,
        };
        /// Drops a slot's value when it goes out of scope, also while `f` unwinds.
        struct DropInPlace<T>(*mut T);
        impl<T> Drop for DropInPlace<T> {
            fn drop(&mut self) {
                // SAFETY: made below from a slot holding an initialised value that
                // nothing else refers to once `f` has returned or unwound.
                unsafe { std::ptr::drop_in_place(self.0) }
            }
        }

        for i in 0..n {
            let position = head.wrapping_add(i);
            // Counted before `f` runs: if it unwinds, `head` moves past this value,
            // which `DropInPlace` drops, so it is never dropped twice.
            advance.taken = i + 1;
            self.slots[position & self.mask].with_mut(|slot| {
                // SAFETY: `head <= position < tail`, and the producer's write of this
                // slot happened before (Acquire load of `tail` above), so it holds an
                // initialised value, and the producer will not write it again until we
                // advance `head` (after this loop). The lock excludes other
                // `drain_with` calls and `pop`'s contract excludes concurrent `pop`s,
                // so this is the only reference to the value; `f` borrows it and
                // `DropInPlace` drops it exactly once.
                unsafe {
                    let value = DropInPlace((*slot).as_mut_ptr());
                    f(&mut *value.0);
                }
            });
        }
        n
    }

    /// Moves up to `max` values into `out`, for the tests.
    #[cfg(test)]
    pub(crate) fn drain_into(&self, out: &mut Vec<T>, max: usize) -> usize
    where
        T: Default,
    {
        self.drain_with(max, |v| out.push(std::mem::take(v)))
    }
}

impl<T> Drop for SpscRing<T> {
    /// Drops the values still queued.
    fn drop(&mut self) {
        if !std::mem::needs_drop::<T>() {
            return;
        }
        // Relaxed suffices: `&mut self` means every earlier access to the ring happened
        // before this point, so these loads see the final indices.
        let head = self.consumer.0.head.load(Relaxed);
        let tail = self.producer.0.tail.load(Relaxed);
        for i in 0..tail.wrapping_sub(head) {
            self.slots[head.wrapping_add(i) & self.mask].with_mut(|slot| {
                // SAFETY: `&mut self` excludes every other access; the slots at
                // `head..tail` hold initialised values that no consumer took, and each
                // position is visited once, so each value is dropped exactly once.
                unsafe { (*slot).assume_init_drop() }
            });
        }
    }
}

#[cfg(all(test, not(telemetry_loom)))]
mod tests {
    use super::SpscRing;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    use std::sync::Arc;

    /// Pushes as the ring's one producer.
    fn push<T: Send>(ring: &SpscRing<T>, value: T) -> Result<usize, T> {
        // SAFETY: in every test of this module each ring has exactly one producing
        // thread (the test thread, or the one thread it spawns to produce).
        unsafe { ring.push(value) }
    }

    /// Pops as the ring's one consumer.
    fn pop<T: Send>(ring: &SpscRing<T>) -> Option<T> {
        // SAFETY: the tests that call `pop` consume from the test thread only.
        unsafe { ring.pop() }
    }

    fn drain<T: Send + Default>(ring: &SpscRing<T>, max: usize) -> Vec<T> {
        let mut out = Vec::new();
        assert_eq!(ring.drain_into(&mut out, max), out.len());
        out
    }

    #[test]
    fn ring_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SpscRing<Box<u64>>>();
        assert_send_sync::<SpscRing<std::cell::Cell<u8>>>(); // `Send` but not `Sync`
    }

    #[test]
    fn capacity_is_as_given() {
        for capacity in [2, 4, 64, 4096] {
            let ring = SpscRing::<u8>::new(capacity);
            assert_eq!(ring.capacity(), capacity);
            assert_eq!(ring.len(), 0);
        }
    }

    #[test]
    fn fifo_order() {
        let ring = SpscRing::new(8);
        for i in 0..6 {
            assert!(push(&ring, i).is_ok());
        }
        assert_eq!(ring.len(), 6);
        assert_eq!(pop(&ring), Some(0));
        assert_eq!(drain(&ring, usize::MAX), [1, 2, 3, 4, 5]);
        assert_eq!(ring.len(), 0);
        assert_eq!(pop(&ring), None);
        assert_eq!(drain(&ring, usize::MAX), Vec::<i32>::new());
    }

    #[test]
    fn full_ring_rejects_and_returns_the_value() {
        let ring = SpscRing::new(4);
        for i in 0..4 {
            assert_eq!(push(&ring, i.to_string()), Ok(i + 1));
        }
        assert_eq!(
            push(&ring, "rejected".to_owned()),
            Err("rejected".to_owned())
        );
        assert_eq!(push(&ring, "again".to_owned()), Err("again".to_owned()));
        assert_eq!(ring.len(), 4);
        assert_eq!(pop(&ring).as_deref(), Some("0"));
        assert_eq!(push(&ring, "4".to_owned()), Ok(4));
        assert_eq!(push(&ring, "5".to_owned()), Err("5".to_owned()));
        assert_eq!(drain(&ring, usize::MAX), ["1", "2", "3", "4"]);
    }

    #[test]
    fn wraparound_many_times() {
        let rounds = if cfg!(miri) { 300 } else { 100_000 };
        let ring = SpscRing::new(4);
        let (mut next_in, mut next_out) = (0u64, 0u64);
        for round in 0..rounds {
            // Vary the batch sizes so head and tail land on every slot offset.
            for _ in 0..1 + round % 4 {
                if push(&ring, next_in).is_ok() {
                    next_in += 1;
                }
            }
            let taken = if round % 3 == 0 {
                pop(&ring).into_iter().collect()
            } else {
                drain(&ring, 1 + round % 5)
            };
            for v in taken {
                assert_eq!(v, next_out);
                next_out += 1;
            }
        }
        for v in drain(&ring, usize::MAX) {
            assert_eq!(v, next_out);
            next_out += 1;
        }
        assert_eq!(next_in, next_out);
        assert!(next_in >= rounds as u64, "too few values went through");
    }

    #[test]
    fn indices_wrap_past_usize_max() {
        let ring = SpscRing::new(4);
        let start = usize::MAX - 5;
        ring.producer.0.tail.store(start, Relaxed);
        ring.consumer.0.head.store(start, Relaxed);
        ring.producer.0.cached_head.with_mut(|c| {
            // SAFETY: nothing else accesses the ring during this single-threaded test.
            unsafe { *c = start }
        });
        for i in 0..40u32 {
            for _ in 0..3 {
                assert!(push(&ring, i).is_ok());
            }
            assert_eq!(push(&ring, 99), Ok(4));
            assert_eq!(push(&ring, 100), Err(100));
            assert_eq!(ring.len(), 4);
            let got = drain(&ring, 4);
            assert_eq!(got, [i, i, i, 99]);
        }
        assert!(
            ring.producer.0.tail.load(Relaxed) < start,
            "tail did not wrap"
        );
    }

    #[test]
    fn a_consumer_that_panics_takes_what_it_was_handed_and_leaves_the_rest() {
        let ring = SpscRing::new(8);
        for i in 0..6 {
            assert!(push(&ring, Box::new(i)).is_ok());
        }
        let mut seen = Vec::new();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ring.drain_with(usize::MAX, |v: &mut Box<i32>| {
                seen.push(**v);
                if **v == 2 {
                    panic!("consumer fails on its third value");
                }
            })
        }));
        assert!(unwound.is_err());
        assert_eq!(seen, [0, 1, 2]);
        // The value the consumer panicked on was dropped as the panic passed, not left
        // queued (it would be dropped twice); the ring and its lock still work.
        assert_eq!(ring.len(), 3);
        let rest: Vec<i32> = drain(&ring, usize::MAX).into_iter().map(|b| *b).collect();
        assert_eq!(rest, [3, 4, 5]);
        assert!(push(&ring, Box::new(6)).is_ok());
        assert_eq!(drain(&ring, usize::MAX).len(), 1);
    }

    #[test]
    fn drain_into_respects_max_and_appends() {
        let ring = SpscRing::new(8);
        for i in 1..=7 {
            assert!(push(&ring, i).is_ok());
        }
        let mut out = vec![-1];
        assert_eq!(ring.drain_into(&mut out, 0), 0);
        assert_eq!(out, [-1]);
        assert_eq!(ring.drain_into(&mut out, 3), 3);
        assert_eq!(out, [-1, 1, 2, 3]);
        assert_eq!(ring.len(), 4);
        assert_eq!(ring.drain_into(&mut out, 1), 1);
        assert_eq!(ring.drain_into(&mut out, 100), 3);
        assert_eq!(out, [-1, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(ring.drain_into(&mut out, 100), 0);
    }

    #[test]
    fn push_estimate_is_an_upper_bound_and_exact_from_half_full() {
        let ring = SpscRing::new(16);
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..if cfg!(miri) { 500 } else { 20_000 } {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if state % 3 == 1 {
                drain(&ring, (state >> 8) as usize % 10);
            } else if let Ok(estimate) = push(&ring, i) {
                let len = ring.len();
                assert!(estimate >= len, "estimate {estimate} below length {len}");
                if estimate >= ring.capacity() / 2 {
                    assert_eq!(estimate, len, "stale estimate at/above half full");
                }
            } else {
                assert_eq!(ring.len(), ring.capacity());
            }
        }
    }

    #[test]
    fn zero_sized_values() {
        let ring = SpscRing::new(2);
        assert_eq!(push(&ring, ()), Ok(1));
        assert_eq!(push(&ring, ()), Ok(2));
        assert_eq!(push(&ring, ()), Err(()));
        assert_eq!(drain(&ring, usize::MAX).len(), 2);
    }

    /// Counts its drops and fails on a second drop of the same value.
    struct Tracked {
        dropped: Arc<AtomicBool>,
        drops: Arc<AtomicUsize>,
        _heap: Box<u32>, // lets miri catch a leak or a double free too
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            assert!(!self.dropped.swap(true, Relaxed), "value dropped twice");
            self.drops.fetch_add(1, Relaxed);
        }
    }

    #[test]
    fn drop_drops_remaining_values_exactly_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut flags = Vec::new();
        let mut make = || {
            let dropped = Arc::new(AtomicBool::new(false));
            flags.push(dropped.clone());
            Tracked {
                dropped,
                drops: drops.clone(),
                _heap: Box::new(7),
            }
        };
        let ring = SpscRing::new(8);
        for _ in 0..6 {
            assert!(push(&ring, make()).is_ok());
        }
        // Drained values are dropped in their slots.
        assert_eq!(ring.drain_with(4, |_| {}), 4);
        drop(pop(&ring));
        assert_eq!(drops.load(Relaxed), 5);
        // Refill across the end of the slot array, then overfill.
        for _ in 0..7 {
            assert!(push(&ring, make()).is_ok());
        }
        assert!(push(&ring, make()).is_err()); // the returned value is dropped here
        assert_eq!(drops.load(Relaxed), 6);
        assert_eq!(ring.len(), 8);
        drop(ring);
        assert_eq!(drops.load(Relaxed), flags.len());
        assert!(flags.iter().all(|f| f.load(Relaxed)));
    }

    fn items() -> u32 {
        if cfg!(miri) {
            1_000
        } else {
            1_000_000
        }
    }

    #[test]
    fn two_threads_counting_drops_lose_and_duplicate_nothing() {
        let produced = items();
        let ring = Arc::new(SpscRing::new(64));
        let producer = {
            let ring = ring.clone();
            std::thread::spawn(move || {
                let mut accepted = Vec::new();
                let mut rejected = 0u32;
                for i in 0..produced {
                    match push(&ring, i) {
                        Ok(_) => accepted.push(i),
                        Err(v) => {
                            assert_eq!(v, i);
                            rejected += 1;
                        }
                    }
                }
                (accepted, rejected)
            })
        };
        let mut received = Vec::new();
        let mut max = 0;
        while !producer.is_finished() {
            max = max % 17 + 1; // vary the batch size, 1..=17
            if ring.drain_into(&mut received, max) == 0 {
                std::hint::spin_loop();
            }
        }
        let (accepted, rejected) = producer.join().expect("producer panicked");
        ring.drain_into(&mut received, usize::MAX);
        assert_eq!(accepted.len() as u32 + rejected, produced);
        assert_eq!(received.len(), accepted.len());
        // Every accepted value received exactly once, in order, and nothing else.
        assert!(
            received == accepted,
            "received values differ from accepted ones"
        );
        assert_eq!(ring.len(), 0);
    }

    #[test]
    fn two_threads_retrying_deliver_everything_in_order() {
        let produced = items();
        let ring = Arc::new(SpscRing::new(16));
        let producer = {
            let ring = ring.clone();
            std::thread::spawn(move || {
                let mut retries = 0u64;
                for i in 0..produced {
                    let mut value = i;
                    while let Err(back) = push(&ring, value) {
                        value = back;
                        retries += 1;
                        std::hint::spin_loop();
                    }
                }
                retries
            })
        };
        let mut received = Vec::with_capacity(produced as usize);
        while received.len() < produced as usize {
            if ring.drain_into(&mut received, usize::MAX) == 0 {
                std::hint::spin_loop();
            }
        }
        producer.join().expect("producer panicked");
        assert!(received.iter().copied().eq(0..produced));
        assert_eq!(ring.len(), 0);
    }
}

#[cfg(all(test, telemetry_loom))]
mod loom_tests {
    //! The thread roles are chosen around loom 0.7's DPOR gaps (tokio-rs/loom#392,
    //! #166): a spawned thread whose first operation is an atomic load, such as a
    //! producer (`push` starts by loading `tail`), can make loom stop after a single
    //! execution. So the test thread produces and spawned threads consume (or start
    //! by taking a mutex), and every model asserts that loom explored several
    //! executions.
    use super::SpscRing;
    use loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    use loom::sync::{Arc, Mutex};
    use loom::thread;

    /// Runs `f` under loom and asserts that more than `min` executions were explored.
    fn model(min: usize, f: impl Fn() + Sync + Send + 'static) {
        let executions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = executions.clone();
        loom::model(move || {
            counter.fetch_add(1, Relaxed);
            f();
        });
        let executions = executions.load(Relaxed);
        eprintln!("loom explored {executions} executions");
        assert!(
            executions > min,
            "loom explored only {executions} executions"
        );
    }

    /// Pushes `values` from the calling thread; returns (accepted, rejected count).
    fn produce(ring: &SpscRing<u32>, values: std::ops::Range<u32>) -> (Vec<u32>, usize) {
        let mut accepted = Vec::new();
        let mut rejected = 0;
        for i in values {
            // SAFETY: in every model at most one thread produces at a time (the test
            // thread, or the holder of the handover mutex).
            match unsafe { ring.push(i) } {
                Ok(_) => accepted.push(i),
                Err(v) => {
                    assert_eq!(v, i);
                    rejected += 1;
                }
            }
        }
        (accepted, rejected)
    }

    /// The test thread pushes 0..3 into a capacity-2 ring while a spawned thread consumes
    /// with `consume`; then the rest is drained. Nothing is lost, duplicated or reordered.
    fn produce_against(consume: fn(&SpscRing<u32>) -> Vec<u32>) {
        model(10, move || {
            let ring = Arc::new(SpscRing::new(2));
            let consumer = {
                let ring = ring.clone();
                thread::spawn(move || consume(&ring))
            };
            let (accepted, rejected) = produce(&ring, 0..3);
            let mut received = consumer.join().expect("consumer panicked");
            ring.drain_into(&mut received, usize::MAX);
            assert_eq!(received, accepted);
            assert_eq!(accepted.len() + rejected, 3);
        });
    }

    #[test]
    fn push_against_drain_into_loses_nothing() {
        produce_against(|ring| {
            let mut received = Vec::new();
            ring.drain_into(&mut received, usize::MAX);
            ring.drain_into(&mut received, 1);
            received
        });
    }

    #[test]
    fn push_against_pop_loses_nothing() {
        produce_against(|ring| {
            // SAFETY: the spawned thread is the only consumer until it is joined.
            let first = unsafe { ring.pop() };
            // SAFETY: as above.
            let second = unsafe { ring.pop() };
            first.into_iter().chain(second).collect()
        });
    }

    #[test]
    fn producer_handover_through_a_mutex_loses_nothing() {
        model(10, || {
            let ring = Arc::new(SpscRing::new(2));
            // Holding this lock is the right to push; it orders successive producers.
            let producer_role = Arc::new(Mutex::new(Vec::new()));
            let producers: Vec<_> = [0..2, 10..11]
                .into_iter()
                .map(|values| {
                    let (ring, role) = (ring.clone(), producer_role.clone());
                    thread::spawn(move || {
                        let mut accepted = role.lock().expect("poisoned");
                        accepted.extend(produce(&ring, values).0);
                    })
                })
                .collect();
            let mut received = Vec::new();
            ring.drain_into(&mut received, usize::MAX);
            for producer in producers {
                producer.join().expect("producer panicked");
            }
            ring.drain_into(&mut received, usize::MAX);
            let accepted = producer_role.lock().expect("poisoned").clone();
            assert_eq!(received, accepted);
        });
    }

    /// Counts its drops in a shared counter.
    struct Tracked(Arc<AtomicUsize>);

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, Relaxed);
        }
    }

    #[test]
    fn dropping_the_ring_drops_queued_values_once() {
        model(10, || {
            let drops = Arc::new(AtomicUsize::new(0));
            let ring = Arc::new(SpscRing::new(2));
            let consumer = {
                let ring = ring.clone();
                // The taken value is dropped in its slot.
                thread::spawn(move || ring.drain_with(1, |_| {}))
            };
            for _ in 0..3 {
                // SAFETY: the test thread is the only producer. A rejected value
                // comes back in `Err` and is dropped right here.
                let _ = unsafe { ring.push(Tracked(drops.clone())) };
            }
            consumer.join().expect("consumer panicked");
            let ring = Arc::try_unwrap(ring).unwrap_or_else(|_| panic!("ring still shared"));
            let queued = ring.len();
            let before = drops.load(Relaxed);
            drop(ring);
            assert_eq!(drops.load(Relaxed), before + queued);
            // Each of the 3 values was dropped exactly once: taken by the consumer,
            // rejected, or still queued. (loom also fails the model if a clone of the
            // `Arc` leaks.)
            assert_eq!(drops.load(Relaxed), 3);
        });
    }
}
