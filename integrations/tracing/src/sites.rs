//! The [`LogSite`] of each foreign call site, found without a lock.
//!
//! `tracing` and `log` call sites are fixed by the program, so their sites are made
//! once and kept. A lookup hashes the call site's identity (the address of `tracing`'s
//! static metadata; a `log` call's static target, file and line) and reads slots from
//! its home slot on: a few relaxed loads, no lock that every core would write. The
//! table is open addressing over `OnceLock` slots, twice as many as entries, so probes
//! stay short; past its capacity, sites go to a locked map (a program with more call
//! sites than that pays a lock per call there).

use foldhash::fast::FixedState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock, PoisonError};
use telem::bridge::LogSite;

/// One slot: a key and its site, once set.
type Slot<K> = OnceLock<(K, &'static LogSite)>;

/// Call-site identity → its site.
pub(crate) struct Sites<K> {
    /// Call sites kept without a lock (the slots, twice as many, are allocated at the
    /// first lookup).
    capacity: usize,
    slots: OnceLock<Box<[Slot<K>]>>,
    len: AtomicUsize,
    overflow: Mutex<Option<HashMap<K, &'static LogSite>>>,
}

impl<K: Copy + Eq + Hash> Sites<K> {
    pub(crate) const fn new(capacity: usize) -> Self {
        Self {
            capacity,
            slots: OnceLock::new(),
            len: AtomicUsize::new(0),
            overflow: Mutex::new(None),
        }
    }

    /// The site of `key`, if it has one.
    pub(crate) fn find(&self, key: K) -> Option<&'static LogSite> {
        let slots = self.slots.get()?;
        let mask = slots.len() - 1;
        let home = FixedState::default().hash_one(key) as usize;
        for probe in 0..slots.len() {
            match slots[home.wrapping_add(probe) & mask].get() {
                Some(&(k, site)) if k == key => return Some(site),
                Some(_) => {}
                None => break,
            }
        }
        // Keys go to the locked map only once the table is full.
        if self.len.load(Relaxed) < self.capacity {
            return None;
        }
        let overflow = self.overflow.lock().unwrap_or_else(PoisonError::into_inner);
        overflow.as_ref()?.get(&key).copied()
    }

    /// The site of `key`, made by `make` the first time.
    pub(crate) fn get(&self, key: K, make: impl Fn() -> &'static LogSite) -> &'static LogSite {
        let slots = self
            .slots
            .get_or_init(|| (0..2 * self.capacity).map(|_| OnceLock::new()).collect());
        let mask = slots.len() - 1;
        let home = FixedState::default().hash_one(key) as usize;
        for probe in 0..slots.len() {
            let slot = &slots[home.wrapping_add(probe) & mask];
            let &(k, site) = match slot.get() {
                Some(entry) => entry,
                None if self.len.load(Relaxed) >= self.capacity => break,
                None => slot.get_or_init(|| {
                    self.len.fetch_add(1, Relaxed);
                    (key, make())
                }),
            };
            if k == key {
                return site;
            }
        }
        let mut overflow = self.overflow.lock().unwrap_or_else(PoisonError::into_inner);
        let map = overflow.get_or_insert_with(HashMap::new);
        map.entry(key).or_insert_with(make)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telem::Level;

    const CAPACITY: usize = 64;

    fn site(target: &'static str) -> &'static LogSite {
        LogSite::leak(Level::Info, target, None, None, &[])
    }

    #[test]
    fn a_key_keeps_its_site_and_keys_past_the_capacity_still_get_one() {
        let sites = Sites::<usize>::new(CAPACITY);
        let first = sites.get(7, || site("seven"));
        assert!(std::ptr::eq(first, sites.get(7, || site("other"))));
        for key in 0..CAPACITY + 10 {
            let got = sites.get(1000 + key, || site("many"));
            assert!(std::ptr::eq(got, sites.get(1000 + key, || site("again"))));
        }
        assert_eq!(sites.get(7, || site("x")).target(), "seven");
    }

    #[test]
    fn threads_racing_for_one_key_get_one_site() {
        let sites = Sites::<usize>::new(CAPACITY);
        let got: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| sites.get(42, || site("raced")) as *const LogSite as usize))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        assert!(got.windows(2).all(|w| w[0] == w[1]));
    }
}
