//! Static strings for values that repeat across requests (span names, routes, hosts,
//! user agents), so a sampled request allocates none of them.
//!
//! They are leaked once each, in bounded number: routes are the application's own, and
//! client-chosen values (hosts, user agents) are kept only up to a capacity. A leaked
//! `&'static str` beats a shared `Arc<str>` here: the span stores it inline and the drain
//! drops it without touching a reference count, which would otherwise move between the
//! request's core and the drain's on every request.

use crate::http_metrics::RouteHistograms;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use telemetry::Str;

/// A bounded map from text to a static [`Str`]: a read lock and a hash in the common
/// case; past `capacity` distinct values, new ones are allocated per use and not kept
/// (so values chosen by clients cannot grow memory).
#[derive(Debug)]
pub(crate) struct Interner {
    map: RwLock<HashMap<&'static str, &'static str>>,
    capacity: usize,
}

impl Interner {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    /// The string for `text`, made by `make` the first time.
    pub(crate) fn get(&self, text: &str, make: impl FnOnce() -> String) -> Str {
        if let Some(&s) = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(text)
        {
            return Str::from_static(s);
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(&s) = map.get(text) {
            return Str::from_static(s);
        }
        if map.len() >= self.capacity {
            return Str::from(make());
        }
        let value: &'static str = Box::leak(make().into_boxed_str());
        map.insert(Box::leak(text.into()), value);
        Str::from_static(value)
    }
}

/// How many method names there are (see `layer::METHODS`).
const METHODS: usize = crate::layer::METHODS.len();

/// Span names (`{method} {route}`) and `http.route` values, shared per route.
#[derive(Debug, Default)]
pub(crate) struct RouteNames {
    map: RwLock<HashMap<Box<str>, Arc<RouteEntry>>>,
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
    /// The entry of `route`. Routes are the application's, a bounded set, so every one
    /// is kept.
    pub(crate) fn entry(&self, route: &str) -> Arc<RouteEntry> {
        let found = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(route)
            .cloned();
        match found {
            Some(entry) => entry,
            None => self
                .map
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(route.into())
                .or_insert_with(|| {
                    Arc::new(RouteEntry {
                        route: Box::leak(route.into()),
                        names: Default::default(),
                        histograms: RouteHistograms::default(),
                    })
                })
                .clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_shared_up_to_the_capacity() {
        let interner = Interner::new(2);
        let a = interner.get("a", || "A".into());
        assert_eq!(a.as_str(), "A");
        assert_eq!(interner.get("a", || unreachable!()).as_str(), "A");
        interner.get("b", || "B".into());
        assert_eq!(interner.get("c", || "C".into()).as_str(), "C");
        assert_eq!(
            interner.get("c", || "C2".into()).as_str(),
            "C2",
            "not kept past capacity"
        );
    }

    #[test]
    fn route_names_are_built_once_per_method() {
        let names = RouteNames::default();
        let entry = names.entry("/books/{id}");
        assert_eq!(entry.route, "/books/{id}");
        assert_eq!(entry.name(0, "GET"), "GET /books/{id}");
        assert_eq!(entry.name(1, "POST"), "POST /books/{id}");
        assert!(Arc::ptr_eq(&entry, &names.entry("/books/{id}")));
    }
}
