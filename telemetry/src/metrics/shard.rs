//! Per-thread shards: how an increment avoids both locked instructions and shared cache
//! lines.
//!
//! Every thread that records a metric gets a small slot number from a process-wide
//! allocator (lowest free number first; returned when the thread exits). Each series
//! keeps [`shard_count`] cache-line-padded shards. A thread whose slot is below that
//! count *owns* `shard[slot]` in every series: it is the only writer of the shard's
//! `owned` word, so it updates it with a relaxed load and a relaxed store (no locked
//! read-modify-write, no cache line shared with another writer). Threads with larger
//! slots (more recording threads than shards) add to the `shared` word of
//! `shard[slot % count]` with `fetch_add`. A read sums `owned + shared` over all shards:
//! exact once the writers it must see have finished (a join, a channel, a lock).
//!
//! A slot changes hands only through the allocator's mutex: the exiting owner's last
//! store happens-before the next owner's first load, so no update is lost.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};

/// The thread has no slot yet.
const UNASSIGNED: u32 = u32::MAX;
/// The thread is exiting and gave its slot back: it adds to shared words only.
const RELEASED: u32 = u32::MAX - 1;

thread_local! {
    // `const` and without `Drop`: reading it is a plain TLS load, no state check.
    static SLOT: Cell<u32> = const { Cell::new(UNASSIGNED) };
    // Touched once per thread, when the slot is assigned; gives the slot back on exit.
    static RELEASE: SlotRelease = const { SlotRelease };
}

struct SlotRelease;

impl Drop for SlotRelease {
    fn drop(&mut self) {
        // Clear the fast cell first: anything this thread records from now on (another
        // thread-local's destructor) takes the shared path, never the freed shard.
        let slot = SLOT.with(|s| s.replace(RELEASED));
        if slot < RELEASED {
            lock_pool().free.push(Reverse(slot));
        }
    }
}

struct Pool {
    next: u32,
    free: BinaryHeap<Reverse<u32>>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    next: 0,
    free: BinaryHeap::new(),
});

fn lock_pool() -> std::sync::MutexGuard<'static, Pool> {
    // The pool is two plain fields, consistent even if a holder panicked.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The calling thread's slot as it stands: `UNASSIGNED`/`RELEASED` are larger than any
/// shard count, so the owner check alone sends them to the slow path.
#[inline(always)]
pub(crate) fn raw_slot() -> usize {
    SLOT.with(Cell::get) as usize
}

/// The calling thread's slot, assigning one if it has none.
#[cold]
#[inline(never)]
pub(crate) fn slot() -> usize {
    let s = SLOT.with(Cell::get);
    if s != UNASSIGNED {
        return s as usize;
    }
    // Register the release destructor first; if the thread is already tearing its
    // thread-locals down, it gets no slot and uses the shared words.
    if RELEASE.try_with(|_| ()).is_err() {
        SLOT.with(|c| c.set(RELEASED));
        return RELEASED as usize;
    }
    let mut pool = lock_pool();
    let slot = match pool.free.pop() {
        Some(Reverse(s)) => s,
        None => {
            let s = pool.next;
            pool.next = pool.next.saturating_add(1).min(RELEASED - 1);
            s
        }
    };
    drop(pool);
    SLOT.with(|c| c.set(slot));
    slot as usize
}

/// Shards per series: the next power of two of the available parallelism, times two,
/// at most 64 (4 on a 2-core machine). The same for every series of the process.
pub(crate) fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores.next_power_of_two() * 2).min(64)
    })
}

/// One cache line: the owner's word and the word other threads add to.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct Shard {
    owned: AtomicU64,
    shared: AtomicU64,
}

/// A u64 (or i64 two's complement, or f64 bits) spread over per-thread shards.
#[derive(Debug)]
pub(crate) struct Sharded {
    shards: Box<[Shard]>,
}

impl Sharded {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..shard_count()).map(|_| Shard::default()).collect(),
        }
    }

    /// Adds `v` (wrapping: an i64 delta works as its two's complement).
    #[inline(always)]
    pub(crate) fn add(&self, v: u64) {
        let slot = raw_slot();
        if let Some(shard) = self.shards.get(slot) {
            let owned = &shard.owned;
            owned.store(owned.load(Relaxed).wrapping_add(v), Relaxed);
        } else {
            self.add_slow(v);
        }
    }

    #[inline(never)]
    fn add_slow(&self, v: u64) {
        let slot = slot();
        let n = self.shards.len();
        if slot < n {
            let owned = &self.shards[slot].owned;
            owned.store(owned.load(Relaxed).wrapping_add(v), Relaxed);
        } else {
            self.shards[slot & (n - 1)].shared.fetch_add(v, Relaxed);
        }
    }

    /// Adds `v` to an f64 kept as bits: the owner loads and stores, others CAS.
    #[inline]
    pub(crate) fn add_f64(&self, v: f64) {
        let slot = raw_slot();
        if let Some(shard) = self.shards.get(slot) {
            let owned = &shard.owned;
            owned.store((f64::from_bits(owned.load(Relaxed)) + v).to_bits(), Relaxed);
        } else {
            self.add_f64_slow(v);
        }
    }

    #[inline(never)]
    fn add_f64_slow(&self, v: f64) {
        let slot = slot();
        let n = self.shards.len();
        let word = if slot < n {
            let owned = &self.shards[slot].owned;
            owned.store((f64::from_bits(owned.load(Relaxed)) + v).to_bits(), Relaxed);
            return;
        } else {
            &self.shards[slot & (n - 1)].shared
        };
        add_f64_shared(word, v);
    }

    /// The exact wrapping sum of every shard.
    pub(crate) fn sum(&self) -> u64 {
        self.shards.iter().fold(0u64, |acc, s| {
            acc.wrapping_add(s.owned.load(Relaxed))
                .wrapping_add(s.shared.load(Relaxed))
        })
    }

    /// The sum of every shard read as f64 bits.
    pub(crate) fn sum_f64(&self) -> f64 {
        self.shards.iter().fold(0.0, |acc, s| {
            acc + f64::from_bits(s.owned.load(Relaxed)) + f64::from_bits(s.shared.load(Relaxed))
        })
    }

    /// Makes the sum read `total` (for observed totals; racing adds may be lost).
    pub(crate) fn set_total(&self, total: u64) {
        let delta = total.wrapping_sub(self.sum());
        self.shards[0].shared.fetch_add(delta, Relaxed);
    }

    /// Makes the f64 sum read `total` (for observed totals).
    pub(crate) fn set_total_f64(&self, total: f64) {
        add_f64_shared(&self.shards[0].shared, total - self.sum_f64());
    }
}

/// Adds to an f64 kept as bits in a word several threads write.
pub(crate) fn add_f64_shared(word: &AtomicU64, v: f64) {
    let mut cur = word.load(Relaxed);
    loop {
        let new = (f64::from_bits(cur) + v).to_bits();
        match word.compare_exchange_weak(cur, new, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(actual) => cur = actual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    #[test]
    fn shard_count_is_a_power_of_two_within_bounds() {
        let n = shard_count();
        assert!(n.is_power_of_two() && (2..=64).contains(&n));
    }

    #[test]
    fn exiting_threads_return_their_slot_for_reuse() {
        // Without reuse, 200 threads one after another would take slots up to 200.
        let slots: Vec<usize> = (0..200)
            .map(|_| std::thread::spawn(slot).join().unwrap())
            .collect();
        let max = slots.iter().copied().max().unwrap();
        assert!(max < 64, "slots were not reused: {max}");
    }

    #[test]
    fn more_threads_than_shards_add_exactly() {
        // Three times as many threads as shards, each holding its slot until every one
        // has taken its own: slots are not reused, so at least two thirds of the threads
        // have a slot past the shards and add to the shared words, several to each one.
        let (s, f) = (Arc::new(Sharded::new()), Arc::new(Sharded::new()));
        let threads = shard_count() * 3;
        let per_thread = 100_000u64;
        let all_hold_a_slot = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (s, f, b) = (s.clone(), f.clone(), all_hold_a_slot.clone());
                std::thread::spawn(move || {
                    let slot = slot();
                    b.wait(); // no thread exits (and frees its slot) before all have one
                    for _ in 0..per_thread {
                        s.add(1);
                        f.add_f64(1.0);
                    }
                    slot
                })
            })
            .collect();
        let slots: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let mut distinct = slots.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), threads, "slots held at once: {slots:?}");
        let sharing = slots.iter().filter(|&&slot| slot >= shard_count()).count();
        assert!(
            sharing >= threads - shard_count(),
            "too few threads on the shared path: {slots:?}"
        );
        assert_eq!(s.sum(), threads as u64 * per_thread);
        assert_eq!(f.sum_f64(), (threads as u64 * per_thread) as f64);
    }

    #[test]
    fn set_total_makes_the_sum_read_the_total() {
        let s = Sharded::new();
        s.add(10);
        s.set_total(4);
        assert_eq!(s.sum(), 4);
        let f = Sharded::new();
        f.add_f64(1.25);
        f.set_total_f64(7.5);
        assert_eq!(f.sum_f64(), 7.5);
    }
}
