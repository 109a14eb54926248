//! A bounded single-producer single-consumer ring: the only `unsafe` data structure.
//!
//! Slots are `UnsafeCell<MaybeUninit<T>>`; `head` (next slot to read, written by the
//! consumer) and `tail` (next slot to write, written by the producer) increase forever
//! and are masked with `capacity - 1`. Slots `head..tail` hold initialised values.
//!
//! Protocol: the producer writes a slot, then publishes it with a `Release` store of
//! `tail`; the consumer `Acquire`-loads `tail`, reads the slots, then frees them with a
//! `Release` store of `head`, which the producer `Acquire`-loads before reusing a slot.
//! The producer keeps a private copy of `head` and reloads the shared one only when
//! the ring looks full, so a push normally touches only the producer's cache line and
//! the slot.
//!
//! `push` and `pop` are `unsafe fn`s: the caller guarantees one producer (one
//! consumer for `pop`) at a time, ordered by happens-before. `drain_into` is safe: it
//! serialises consumers with a mutex producers never touch.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;
use sync::{AtomicUsize, Mutex, UnsafeCell};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

#[cfg(not(telemetry_loom))]
mod sync {
    pub(super) use std::sync::atomic::AtomicUsize;
    pub(super) use std::sync::Mutex;

    /// `std`'s `UnsafeCell` with loom's closure-based API.
    #[derive(Debug)]
    pub(super) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(super) const fn new(v: T) -> Self {
            Self(std::cell::UnsafeCell::new(v))
        }
        #[inline(always)]
        pub(super) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(telemetry_loom)]
mod sync {
    pub(super) use loom::cell::UnsafeCell;
    pub(super) use loom::sync::atomic::AtomicUsize;
    pub(super) use loom::sync::Mutex;
}

/// Keeps producer and consumer state on separate cache-line pairs (adjacent-line
/// prefetch makes 64 bytes too little on x86).
#[repr(align(128))]
struct Padded<T>(T);

struct ProducerSide {
    tail: AtomicUsize,
    /// The producer's last view of `head`; touched only by the producer.
    cached_head: UnsafeCell<usize>,
}

pub(crate) struct SpscRing<T> {
    producer: Padded<ProducerSide>,
    head: Padded<AtomicUsize>,
    consumer_lock: Mutex<()>,
    mask: usize,
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: values of `T` move from the producer thread to the consumer thread, which
// requires `T: Send`; the ring itself holds no thread-bound state.
unsafe impl<T: Send> Send for SpscRing<T> {}
// SAFETY: shared access is sound because slot access follows the protocol above: a
// slot is written only by the single producer while outside `head..tail` and read only
// by the single consumer while inside it, with Release/Acquire on `tail` and `head`
// ordering those accesses. `T: Send` because values cross threads.
unsafe impl<T: Send> Sync for SpscRing<T> {}

impl<T: Send> SpscRing<T> {
    /// A ring of `capacity` slots, rounded up to a power of two (at least 2).
    pub(crate) fn new(capacity: usize) -> Self {
        debug_assert!(capacity.is_power_of_two() && capacity >= 2);
        let capacity = capacity.max(2).next_power_of_two();
        Self {
            producer: Padded(ProducerSide {
                tail: AtomicUsize::new(0),
                cached_head: UnsafeCell::new(0),
            }),
            head: Padded(AtomicUsize::new(0)),
            consumer_lock: Mutex::new(()),
            mask: capacity - 1,
            slots: (0..capacity)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Items queued now (a snapshot; may be stale by the time it is read).
    pub(crate) fn len(&self) -> usize {
        let head = self.head.0.load(Acquire);
        let tail = self.producer.0.tail.load(Acquire);
        tail.wrapping_sub(head).min(self.capacity())
    }

    /// Appends `value`; returns the queue length after the push (an upper bound), or
    /// the value back if the ring is full.
    ///
    /// # Safety
    /// At most one thread calls `push` at a time, and successive producers are ordered
    /// by happens-before (ownership handed over through a mutex).
    #[inline]
    pub(crate) unsafe fn push(&self, value: T) -> Result<usize, T> {
        let p = &self.producer.0;
        let tail = p.tail.load(Relaxed);
        // SAFETY: `cached_head` is only accessed by the producer, and the caller
        // guarantees a single producer.
        let cached_head = p.cached_head.with_mut(|c| unsafe { &mut *c });
        if tail.wrapping_sub(*cached_head) > self.mask {
            *cached_head = self.head.0.load(Acquire);
            if tail.wrapping_sub(*cached_head) > self.mask {
                return Err(value);
            }
        }
        // SAFETY: the slot at `tail` is outside `head..tail` (checked above against a
        // `head` loaded with Acquire, so the consumer's read of it happened before), so
        // no one else accesses it; only the single producer writes slots.
        self.slots[tail & self.mask].with_mut(|slot| unsafe { (*slot).write(value) });
        p.tail.store(tail.wrapping_add(1), Release);
        Ok(tail.wrapping_add(1).wrapping_sub(*cached_head))
    }

    /// Removes the oldest value.
    ///
    /// # Safety
    /// At most one thread consumes (`pop` or `drain_into`) at a time, and successive
    /// consumers are ordered by happens-before.
    #[inline]
    pub(crate) unsafe fn pop(&self) -> Option<T> {
        let head = self.head.0.load(Relaxed);
        if head == self.producer.0.tail.load(Acquire) {
            return None;
        }
        // SAFETY: `head < tail`, loaded with Acquire, so the producer's write of this
        // slot happened before; the caller guarantees the single consumer, so the
        // value is read exactly once before `head` moves past it.
        let value = self.slots[head & self.mask].with_mut(|slot| unsafe { (*slot).assume_init_read() });
        self.head.0.store(head.wrapping_add(1), Release);
        Some(value)
    }

    /// Moves up to `max` values, oldest first, to the end of `out`; returns how many.
    pub(crate) fn drain_into(&self, out: &mut Vec<T>, max: usize) -> usize {
        let _consumer = self.consumer_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut n = 0;
        while n < max {
            // SAFETY: `consumer_lock` makes this the only consumer (callers of `pop`
            // never share a ring with callers of `drain_into`; see `ring/mod.rs`).
            match unsafe { self.pop() } {
                Some(v) => out.push(v),
                None => break,
            }
            n += 1;
        }
        n
    }
}

impl<T> Drop for SpscRing<T> {
    fn drop(&mut self) {
        let head = self.head.0.load(Relaxed);
        let tail = self.producer.0.tail.load(Relaxed);
        let mut i = head;
        while i != tail {
            // SAFETY: `&mut self` excludes every other access, and slots `head..tail`
            // hold initialised values, each dropped once here.
            self.slots[i & self.mask].with_mut(|slot| unsafe { (*slot).assume_init_drop() });
            i = i.wrapping_add(1);
        }
    }
}

#[cfg(all(test, not(telemetry_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as Counter;
    use std::sync::Arc;

    #[test]
    fn fifo_full_and_wraparound() {
        let r = SpscRing::new(4);
        for round in 0..100 {
            for i in 0..4 {
                assert_eq!(unsafe { r.push(round * 10 + i) }, Ok(i as usize + 1));
            }
            assert_eq!(unsafe { r.push(99) }, Err(99));
            assert_eq!(r.len(), 4);
            let mut out = Vec::new();
            assert_eq!(r.drain_into(&mut out, 3), 3);
            assert_eq!(unsafe { r.pop() }, Some(round * 10 + 3));
            assert_eq!(unsafe { r.pop() }, None);
            assert_eq!(out, [round * 10, round * 10 + 1, round * 10 + 2]);
        }
    }

    struct CountDrop(Arc<Counter>);
    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Relaxed);
        }
    }

    #[test]
    fn drop_drops_queued_values_once() {
        let drops = Arc::new(Counter::new(0));
        let r = SpscRing::new(8);
        for _ in 0..5 {
            assert!(unsafe { r.push(CountDrop(drops.clone())) }.is_ok());
        }
        drop(unsafe { r.pop() });
        assert_eq!(drops.load(Relaxed), 1);
        drop(r);
        assert_eq!(drops.load(Relaxed), 5);
    }

    #[test]
    fn concurrent_producer_and_consumer_lose_and_duplicate_nothing() {
        let n: u64 = if cfg!(miri) { 2_000 } else { 1_000_000 };
        let r = Arc::new(SpscRing::new(64));
        let producer = {
            let r = r.clone();
            std::thread::spawn(move || {
                let mut rejected = 0u64;
                for i in 0..n {
                    if unsafe { r.push(i) }.is_err() {
                        rejected += 1;
                    }
                }
                rejected
            })
        };
        let mut received = Vec::new();
        while !producer.is_finished() {
            r.drain_into(&mut received, usize::MAX);
        }
        let rejected = producer.join().unwrap();
        r.drain_into(&mut received, usize::MAX);
        assert_eq!(received.len() as u64 + rejected, n);
        assert!(received.windows(2).all(|w| w[0] < w[1]), "out of order or duplicated");
    }
}

#[cfg(all(test, telemetry_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    #[test]
    fn producer_and_consumer_race_without_loss_or_duplication() {
        loom::model(|| {
            let r = Arc::new(SpscRing::new(2));
            let producer = {
                let r = r.clone();
                loom::thread::spawn(move || {
                    (0..3u32).filter(|&i| unsafe { r.push(i) }.is_ok()).count()
                })
            };
            let mut got = Vec::new();
            r.drain_into(&mut got, usize::MAX);
            let accepted = producer.join().unwrap();
            r.drain_into(&mut got, usize::MAX);
            assert_eq!(got.len(), accepted);
            assert!(got.windows(2).all(|w| w[0] < w[1]));
        });
    }

    #[test]
    fn pop_by_owner_against_push_by_other() {
        loom::model(|| {
            let r = Arc::new(SpscRing::new(2));
            let producer = {
                let r = r.clone();
                loom::thread::spawn(move || {
                    let a = unsafe { r.push(Arc::new(1u8)) }.is_ok();
                    let b = unsafe { r.push(Arc::new(2u8)) }.is_ok();
                    a as usize + b as usize
                })
            };
            let first = unsafe { r.pop() };
            let accepted = producer.join().unwrap();
            let mut rest = Vec::new();
            r.drain_into(&mut rest, usize::MAX);
            assert_eq!(first.is_some() as usize + rest.len(), accepted);
            drop(r); // anything left is dropped exactly once (loom checks Arc leaks)
        });
    }
}
