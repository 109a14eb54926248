//! What the span rings and the log rings share: a pool of per-thread rings (a thread
//! takes one at its first record, gives it back when it exits, and rings are never
//! freed, so `&'static` references to them are sound), and the drain's cycle over them.

use super::spsc::SpscRing;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};
use std::thread::LocalKey;

/// A kind of per-thread ring the pool hands out.
pub(crate) trait PerThread: Sync + Sized + 'static {
    /// What the ring holds.
    type Item: Send;

    /// Where rings of this kind live.
    fn rings() -> &'static Rings<Self>;

    /// A new ring of `capacity` records.
    fn with_capacity(capacity: usize) -> Self;

    /// The records' queue.
    fn queue(&self) -> &SpscRing<Self::Item>;

    /// Set once a push passed the high-water mark and woke the drain; cleared when a
    /// cycle starts.
    fn signalled(&self) -> &AtomicBool;

    /// Its capacity.
    fn capacity(&self) -> usize {
        self.queue().capacity()
    }

    /// Records queued now, as a drain cycle starts (re-arms the wake-up).
    fn start_cycle(&self) -> usize {
        self.signalled().store(false, Relaxed);
        self.queue().len()
    }

    /// Hands up to `max` queued records to `f`, oldest first; how many. Called by one
    /// drainer at a time (see [`Cycle::next`]).
    fn drain(&self, max: usize, f: &mut impl FnMut(&mut Self::Item)) -> usize {
        self.queue().drain_with(max, f)
    }
}

/// Every ring of one kind, and those whose thread exited.
struct Pool<R: 'static> {
    all: Vec<&'static R>,
    free: Vec<&'static R>,
}

/// Where rings of one kind live: the pool, the drainers' turn, and each thread's ring
/// (`local`: read on every record) and its owner (gives it back when the thread exits).
pub(crate) struct Rings<R: PerThread> {
    pool: Mutex<Pool<R>>,
    /// Held by a drainer while records it took out of the rings are on their way.
    draining: Mutex<()>,
    local: &'static LocalKey<Cell<Option<&'static R>>>,
    owner: &'static LocalKey<RefCell<Owner<R>>>,
}

/// Gives the thread's ring back to the pool when the thread exits. (It finds the pool
/// through [`PerThread::rings`]: the MSRV's compiler, 1.85, refuses a `const`
/// thread-local holding a reference to a static with interior mutability.)
pub(crate) struct Owner<R: PerThread> {
    ring: Option<&'static R>,
}

impl<R: PerThread> Owner<R> {
    /// No ring yet (a `const` thread-local's initial value).
    pub(crate) const fn new() -> Self {
        Self { ring: None }
    }
}

impl<R: PerThread> Drop for Owner<R> {
    fn drop(&mut self) {
        let rings = R::rings();
        rings.local.with(|l| l.set(None));
        if let Some(ring) = self.ring.take() {
            rings.pool().free.push(ring);
        }
    }
}

impl<R: PerThread> Rings<R> {
    /// Rings reached through these thread-locals.
    pub(crate) const fn new(
        local: &'static LocalKey<Cell<Option<&'static R>>>,
        owner: &'static LocalKey<RefCell<Owner<R>>>,
    ) -> Self {
        Self {
            pool: Mutex::new(Pool {
                all: Vec::new(),
                free: Vec::new(),
            }),
            draining: Mutex::new(()),
            local,
            owner,
        }
    }

    fn pool(&self) -> MutexGuard<'_, Pool<R>> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls `f` with every ring, under the pool's lock (for totals).
    pub(crate) fn for_each(&self, f: impl FnMut(&&'static R)) {
        self.pool().all.iter().for_each(f);
    }
}

impl<R: PerThread> Rings<R> {
    /// Gives the calling thread a ring of `capacity` (a free one of that capacity, or a
    /// new one), giving back the one it had: the only lock on the recording side, once
    /// per thread and capacity. `None` while the thread is being torn down.
    #[cold]
    #[inline(never)]
    pub(crate) fn acquire(&'static self, capacity: usize) -> Option<&'static R> {
        self.owner
            .try_with(|owner| {
                let mut owner = owner.try_borrow_mut().ok()?;
                let mut pool = self.pool();
                if let Some(old) = owner.ring.take() {
                    pool.free.push(old);
                }
                let ring = match pool.free.iter().position(|r| r.capacity() == capacity) {
                    Some(i) => pool.free.swap_remove(i),
                    None => {
                        let ring: &'static R = Box::leak(Box::new(R::with_capacity(capacity)));
                        pool.all.push(ring);
                        ring
                    }
                };
                owner.ring = Some(ring);
                self.local.with(|l| l.set(Some(ring)));
                Some(ring)
            })
            .ok()
            .flatten()
    }
}

/// One drain cycle over every ring of a kind: takes only what each ring held when the
/// cycle started, so a producer refilling as fast as the drain empties cannot keep a
/// cycle (and its memory) going forever. Pulled in steps, so the caller can hand each
/// batch on before cutting the next.
pub(crate) struct Cycle<R: 'static> {
    rings: Vec<(&'static R, usize)>,
}

impl<R: PerThread> Cycle<R> {
    /// Starts a cycle: notes how much each ring holds now.
    pub(crate) fn start() -> Self {
        let rings = R::rings()
            .pool()
            .all
            .iter()
            .map(|&ring| (ring, ring.start_cycle()))
            .filter(|&(_, queued)| queued > 0)
            .collect();
        Self { rings }
    }

    /// One whole cycle: every record queued in every ring of this kind now, to `f`;
    /// returns how many.
    pub(crate) fn drain(mut f: impl FnMut(&mut R::Item)) -> usize {
        let mut cycle = Self::start();
        let mut n = 0;
        loop {
            match cycle.next(256, &mut f) {
                0 => return n,
                moved => n += moved,
            }
        }
    }

    /// Hands up to `max` records to `f`, oldest first per ring; returns how many (0 when
    /// the cycle is over).
    ///
    /// One drainer at a time, from taking records out of the rings to `f` having them:
    /// several may drain at once (the global drain task, tests' `drain_now`), and a
    /// drainer that finds the rings empty must be able to rely on every record taken
    /// before it having reached its destination, not sitting in another's scratch.
    pub(crate) fn next(&mut self, max: usize, mut f: impl FnMut(&mut R::Item)) -> usize {
        let _one_drainer = R::rings()
            .draining
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut n = 0;
        while n < max {
            let Some((ring, remaining)) = self.rings.last_mut() else {
                break;
            };
            let moved = ring.drain((max - n).min(*remaining), &mut f);
            *remaining -= moved;
            if moved == 0 || *remaining == 0 {
                self.rings.pop();
            }
            n += moved;
        }
        n
    }
}
