//! Per-process tables for what repeats across requests (routes with their span names and
//! histogram handles, hosts, user agents), read without locks.
//!
//! Entries are leaked once each, in bounded number: routes are the application's own,
//! and client-chosen values (hosts, user agents) are kept only up to a capacity. A
//! leaked `&'static str` beats a shared `Arc<str>` here: the span stores it inline and the
//! drain drops it without touching a reference count, which would otherwise move between
//! the request's core and the drain's on every request. And a lookup is a hash and a
//! few atomic loads: no lock whose counter every core serving requests would write.

use crate::http_metrics::RouteHistograms;
use foldhash::fast::RandomState;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;
use telem::Str;

/// A bounded, insert-only map whose entries live for the rest of the process, read
/// without locks: open addressing over `OnceLock` slots.
///
/// A lookup hashes the key and reads slots from its home slot on until it finds the key
/// or an empty slot. An insert initialises the first empty slot; if two threads race for
/// it, one initialises it and the other (after waiting for that) moves on. There are
/// twice as many slots as entries allowed, so probes stay short and an empty slot always
/// ends a search.
pub(crate) struct StaticMap<K: ?Sized + 'static, V: 'static> {
    slots: Box<[OnceLock<Entry<K, V>>]>,
    len: AtomicUsize,
    capacity: usize,
    hasher: RandomState,
}

/// A kept key and its value.
type Entry<K, V> = &'static (Box<K>, V);

impl<K: ?Sized + 'static, V: 'static> std::fmt::Debug for StaticMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticMap")
            .field("len", &self.len.load(Relaxed))
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<K: ?Sized + Eq + Hash + Send + Sync + 'static, V: Send + Sync + 'static> StaticMap<K, V> {
    /// A map that keeps at most `capacity` entries (give or take the number of threads
    /// inserting at the same moment).
    pub(crate) fn new(capacity: usize) -> Self {
        let slots = capacity.saturating_mul(2).next_power_of_two().max(2);
        Self {
            slots: (0..slots).map(|_| OnceLock::new()).collect(),
            len: AtomicUsize::new(0),
            capacity,
            hasher: RandomState::default(),
        }
    }

    /// The entry of `key`, made with `make` and kept if it is absent and there is room;
    /// `None` if it is absent and the map is full.
    pub(crate) fn get_or_insert(
        &self,
        key: &K,
        make: impl Fn() -> (Box<K>, V),
    ) -> Option<Entry<K, V>> {
        let mask = self.slots.len() - 1;
        let home = self.hasher.hash_one(key) as usize;
        for probe in 0..self.slots.len() {
            let slot = &self.slots[home.wrapping_add(probe) & mask];
            let entry = match slot.get() {
                Some(&entry) => entry,
                None if self.len.load(Relaxed) >= self.capacity => return None,
                None => *slot.get_or_init(|| {
                    self.len.fetch_add(1, Relaxed);
                    Box::leak(Box::new(make()))
                }),
            };
            if *entry.0 == *key {
                return Some(entry);
            }
        }
        None
    }
}

/// Strings clients choose (hosts, user agents), kept static up to a capacity; past it,
/// new values are copied per use and not kept, so clients cannot grow memory.
#[derive(Debug)]
pub(crate) struct Interner {
    map: StaticMap<str, ()>,
}

impl Interner {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: StaticMap::new(capacity),
        }
    }

    /// `text` as a static string if it is (or can still be) kept, a copy otherwise.
    pub(crate) fn get(&self, text: &str) -> Str {
        match self.map.get_or_insert(text, || (text.into(), ())) {
            Some((kept, ())) => Str::from_static(kept),
            None => Str::copy_of(text),
        }
    }
}

/// A request's authority (the URI's, or the `Host` header), parsed once per distinct
/// value: the host as a static string and the port.
#[derive(Debug)]
pub(crate) struct Hosts {
    map: StaticMap<str, Option<(&'static str, Option<u16>)>>,
}

impl Hosts {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: StaticMap::new(capacity),
        }
    }

    /// The host and port of `authority`; `None` if it does not parse.
    pub(crate) fn get(&self, authority: &str) -> Option<(Str, Option<u16>)> {
        let parse = || {
            let parsed = authority.parse::<http::uri::Authority>().ok()?;
            Some((parsed.host().to_owned(), parsed.port_u16()))
        };
        let kept = self.map.get_or_insert(authority, || {
            let parsed = parse().map(|(host, port)| {
                let host: &'static str = Box::leak(host.into_boxed_str());
                (host, port)
            });
            (authority.into(), parsed)
        });
        match kept {
            Some((_, parsed)) => parsed.map(|(host, port)| (Str::from_static(host), port)),
            None => parse().map(|(host, port)| (Str::copy_of(&host), port)),
        }
    }
}

/// How many method names there are (see `layer::METHODS`).
const METHODS: usize = crate::layer::METHODS.len();

/// Most distinct routes kept (an application's own route templates; far more than any
/// has). Past it, a request's route is recorded as unmatched.
const MAX_ROUTES: usize = 4096;

/// Span names (`{method} {route}`), `http.route` values and histogram handles, per route.
#[derive(Debug)]
pub(crate) struct RouteNames {
    map: StaticMap<str, RouteEntry>,
}

impl Default for RouteNames {
    fn default() -> Self {
        Self {
            map: StaticMap::new(MAX_ROUTES),
        }
    }
}

/// What the layer keeps per route.
#[derive(Debug)]
pub(crate) struct RouteEntry {
    pub(crate) route: &'static str,
    names: [OnceLock<&'static str>; METHODS],
    pub(crate) histograms: RouteHistograms,
}

impl RouteEntry {
    /// The span name for `method` (index `m` of the method table) on this route.
    pub(crate) fn name(&self, m: usize, method: &str) -> &'static str {
        self.names[m.min(METHODS - 1)]
            .get_or_init(|| Box::leak(format!("{method} {}", self.route).into_boxed_str()))
    }
}

impl RouteNames {
    /// The entry of `route` (`None` only past [`MAX_ROUTES`]).
    pub(crate) fn entry(&self, route: &str) -> Option<&'static RouteEntry> {
        self.map
            .get_or_insert(route, || {
                let key: Box<str> = route.into();
                let entry = RouteEntry {
                    route: Box::leak(route.into()),
                    names: Default::default(),
                    histograms: RouteHistograms::default(),
                };
                (key, entry)
            })
            .map(|(_, entry)| entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_up_to_the_capacity() {
        let interner = Interner::new(2);
        let a = interner.get("a");
        assert_eq!(a.as_static(), Some("a"), "kept: a static string");
        assert!(std::ptr::eq(
            a.as_static().unwrap_or_default(),
            interner.get("a").as_static().unwrap_or_default()
        ));
        interner.get("b");
        let c = interner.get("c");
        assert_eq!(c, "c");
        assert_eq!(c.as_static(), None, "not kept past capacity");
    }

    #[test]
    fn a_full_map_still_finds_what_it_kept() {
        let map: StaticMap<u32, u32> = StaticMap::new(100);
        for i in 0..100 {
            assert_eq!(
                map.get_or_insert(&i, || (Box::new(i), i * 10)).map(|e| e.1),
                Some(i * 10)
            );
        }
        assert!(map.get_or_insert(&1000, || (Box::new(1000), 0)).is_none());
        for i in 0..100 {
            let found = map.get_or_insert(&i, || (Box::new(i), 0));
            assert_eq!(found.map(|e| e.1), Some(i * 10), "entry {i} kept its value");
        }
    }

    #[test]
    fn threads_inserting_the_same_keys_agree_on_one_entry_each() {
        let map: &'static StaticMap<str, AtomicUsize> = Box::leak(Box::new(StaticMap::new(64)));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    (0..64)
                        .map(|i| {
                            let key = format!("key-{i}");
                            let entry = map
                                .get_or_insert(&key, || (key.as_str().into(), AtomicUsize::new(0)))
                                .map(|e| &e.1);
                            if let Some(count) = entry {
                                count.fetch_add(1, Relaxed);
                            }
                            entry.map(|e| e as *const AtomicUsize as usize)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let seen: Vec<Vec<Option<usize>>> = threads
            .into_iter()
            .map(|t| t.join().unwrap_or_default())
            .collect();
        for i in 0..64 {
            let first = seen[0][i];
            assert!(first.is_some());
            assert!(seen.iter().all(|s| s[i] == first), "key-{i}: one entry");
        }
        for i in 0..64 {
            let key = format!("key-{i}");
            let count = map
                .get_or_insert(&key, || unreachable!())
                .map(|e| e.1.load(Relaxed));
            assert_eq!(count, Some(4));
        }
    }

    #[test]
    fn hosts_are_parsed_once_and_bad_ones_refused() {
        let hosts = Hosts::new(8);
        let (host, port) = hosts
            .get("books.example:8080")
            .unwrap_or((Str::from_static(""), None));
        assert_eq!(
            (host.as_static(), port),
            (Some("books.example"), Some(8080))
        );
        let (host, port) = hosts
            .get("books.example")
            .unwrap_or((Str::from_static(""), None));
        assert_eq!((host.as_str(), port), ("books.example", None));
        assert!(hosts.get("bad host:x").is_none());
        assert!(
            hosts.get("bad host:x").is_none(),
            "refused again, from the table"
        );
    }

    #[test]
    fn route_names_are_built_once_per_method() {
        let names = RouteNames::default();
        let entry = names.entry("/books/{id}").unwrap_or_else(|| unreachable!());
        assert_eq!(entry.route, "/books/{id}");
        assert_eq!(entry.name(0, "GET"), "GET /books/{id}");
        assert_eq!(entry.name(1, "POST"), "POST /books/{id}");
        assert!(names
            .entry("/books/{id}")
            .is_some_and(|again| std::ptr::eq(entry, again)));
    }
}
