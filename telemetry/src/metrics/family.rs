//! A labelled family: the series of one metric, one per label combination, bounded by
//! a cardinality limit.

use super::registry::Stats;
use super::series::{Core, Series};
use super::snapshot::MetricFamilySnapshot;
use super::{Instrument, InstrumentKind, LabelSet, MetricError};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, Hasher};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, RwLock};

/// Series a family holds before new combinations go to the overflow series.
pub const DEFAULT_CARDINALITY_LIMIT: usize = 2000;

#[derive(Debug, Default)]
struct SeriesMap {
    /// Lookup by the hash of the label values (collisions chained).
    by_hash: HashMap<u64, Vec<Arc<Series>>, BuildHasherDefault<NoHash>>,
    /// Every series in order of label values, for exposition.
    sorted: Vec<Arc<Series>>,
}

/// The hash is already a hash.
#[derive(Default)]
struct NoHash(u64);

impl Hasher for NoHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

fn hash_values<'a>(values: impl Iterator<Item = &'a str>) -> u64 {
    let mut h = BuildHasherDefault::<DefaultHasher>::default().build_hasher();
    for v in values {
        h.write(v.as_bytes());
        h.write_u8(0xff); // not valid UTF-8: separates ("ab","c") from ("a","bc")
    }
    h.finish()
}

/// The registry's record of one metric.
#[derive(Debug)]
pub(crate) struct FamilyInner {
    pub(crate) name: Box<str>,
    pub(crate) kind: InstrumentKind,
    pub(crate) label_names: Arc<[Box<str>]>,
    pub(crate) bounds: Arc<[f64]>,
    pub(crate) created_unix_nano: u64,
    series: RwLock<SeriesMap>,
    overflow: OnceLock<Arc<Series>>,
    overflowed: AtomicU64,
    limit: AtomicUsize,
    stats: Arc<Stats>,
}

impl FamilyInner {
    pub(crate) fn new(
        name: &str,
        kind: InstrumentKind,
        label_names: &[&str],
        bounds: Arc<[f64]>,
        limit: usize,
        stats: Arc<Stats>,
    ) -> Self {
        Self {
            name: name.into(),
            kind,
            label_names: label_names.iter().map(|n| Box::<str>::from(*n)).collect(),
            bounds,
            created_unix_nano: super::now_unix_nano(),
            series: RwLock::default(),
            overflow: OnceLock::new(),
            overflowed: AtomicU64::new(0),
            limit: AtomicUsize::new(limit),
            stats,
        }
    }

    pub(crate) fn label_names_vec(&self) -> Vec<String> {
        self.label_names.iter().map(|n| n.to_string()).collect()
    }

    pub(crate) fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Relaxed);
    }

    /// The series for `values`: found, created, or the overflow series past the limit.
    pub(crate) fn lookup(&self, values: &[&str]) -> Result<Core, MetricError> {
        if values.len() != self.label_names.len() {
            return Err(MetricError::LabelCount {
                metric: self.name.to_string(),
                names: self.label_names_vec(),
                got: values.len(),
            });
        }
        let hash = hash_values(values.iter().copied());
        let full = {
            let map = self.series.read().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = find(&map, hash, values) {
                return Ok(s.core.clone());
            }
            map.sorted.len() >= self.limit.load(Relaxed)
        };
        if full {
            return Ok(self.overflow_series());
        }
        let mut map = self.series.write().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = find(&map, hash, values) {
            return Ok(s.core.clone());
        }
        if map.sorted.len() >= self.limit.load(Relaxed) {
            drop(map);
            return Ok(self.overflow_series());
        }
        let series = Arc::new(Series {
            labels: Arc::new(LabelSet::new(self.label_names.clone(), values)),
            created_unix_nano: super::now_unix_nano(),
            core: Core::new(self.kind, &self.bounds),
        });
        let at = map
            .sorted
            .binary_search_by(|s| {
                s.labels
                    .values()
                    .iter()
                    .map(|v| &**v)
                    .cmp(values.iter().copied())
            })
            .unwrap_or_else(|i| i);
        map.sorted.insert(at, series.clone());
        map.by_hash.entry(hash).or_default().push(series.clone());
        Ok(series.core.clone())
    }

    #[cold]
    fn overflow_series(&self) -> Core {
        self.overflowed.fetch_add(1, Relaxed);
        self.stats.cardinality_overflows.fetch_add(1, Relaxed);
        self.overflow
            .get_or_init(|| {
                Arc::new(Series {
                    labels: Arc::new(LabelSet::overflow()),
                    created_unix_nano: super::now_unix_nano(),
                    core: Core::new(self.kind, &self.bounds),
                })
            })
            .core
            .clone()
    }

    pub(crate) fn len(&self) -> usize {
        self.series
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .sorted
            .len()
    }

    pub(crate) fn snapshot(&self, help: Arc<str>, unit: Arc<str>) -> MetricFamilySnapshot {
        let mut series: Vec<_> = {
            let map = self.series.read().unwrap_or_else(|e| e.into_inner());
            map.sorted.iter().map(|s| s.snapshot()).collect()
        };
        if let Some(o) = self.overflow.get() {
            series.push(o.snapshot());
        }
        MetricFamilySnapshot {
            name: Arc::from(&*self.name),
            help,
            unit,
            kind: self.kind,
            bounds: self.bounds.clone(),
            start_time_unix_nano: self.created_unix_nano,
            overflowed: self.overflowed.load(Relaxed),
            series,
        }
    }
}

fn find<'m>(map: &'m SeriesMap, hash: u64, values: &[&str]) -> Option<&'m Arc<Series>> {
    map.by_hash.get(&hash)?.iter().find(|s| {
        s.labels
            .values()
            .iter()
            .map(|v| &**v)
            .eq(values.iter().copied())
    })
}

/// The series of one metric, one per combination of label values; label names are
/// fixed at registration.
///
/// [`get`](Family::get) looks a combination up (creating it the first time) and
/// returns a handle; keep the handle to make later updates one cheap operation. Past
/// the [cardinality limit](Family::set_cardinality_limit) (default
/// [`DEFAULT_CARDINALITY_LIMIT`]) every new combination goes to one overflow series
/// labelled `otel_metric_overflow="true"` and is counted, so memory stays bounded.
///
/// ```
/// use telem::metrics::Registry;
/// let registry = Registry::new();
/// let requests = registry.counter_family("http_requests_total", &["method", "code"]).unwrap();
/// let get_ok = requests.get(&["GET", "200"]).unwrap(); // cache this handle
/// get_ok.increment(1);
/// requests.with_labels(&["GET", "200"]).increment(1);
/// assert_eq!(get_ok.get(), 2);
/// assert!(requests.get(&["GET"]).is_err()); // one value per label
/// ```
pub struct Family<M> {
    pub(crate) inner: Arc<FamilyInner>,
    _kind: PhantomData<fn() -> M>,
}

impl<M> Clone for Family<M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            _kind: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for Family<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family")
            .field("name", &self.inner.name)
            .field("kind", &self.inner.kind)
            .field("label_names", &self.inner.label_names)
            .finish_non_exhaustive()
    }
}

impl<M: Instrument> Family<M> {
    pub(crate) fn from_inner(inner: Arc<FamilyInner>) -> Self {
        Self {
            inner,
            _kind: PhantomData,
        }
    }

    /// The handle of the series with these label values (in the order of the label
    /// names), created the first time. Errors only on the wrong number of values.
    pub fn get(&self, values: &[&str]) -> Result<M, MetricError> {
        let core = self.inner.lookup(values)?;
        Ok(M::from_core(&core).unwrap_or_else(M::noop_handle))
    }

    /// Like [`get`](Family::get), but a wrong number of values gives a no-op handle
    /// and counts the error in the registry's [`RegistryStats`](super::RegistryStats).
    pub fn with_labels(&self, values: &[&str]) -> M {
        match self.get(values) {
            Ok(m) => m,
            Err(e) => {
                self.inner.stats.count_error(&e);
                M::noop_handle()
            }
        }
    }

    /// The metric name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The label names, in order.
    pub fn label_names(&self) -> impl Iterator<Item = &str> {
        self.inner.label_names.iter().map(|n| &**n)
    }

    /// How many series exist (the overflow series not included).
    pub fn series_count(&self) -> usize {
        self.inner.len()
    }

    /// Lookups of new combinations the cardinality limit sent to the overflow series.
    pub fn overflowed(&self) -> u64 {
        self.inner.overflowed.load(Relaxed)
    }

    /// The most series this family creates.
    pub fn cardinality_limit(&self) -> usize {
        self.inner.limit.load(Relaxed)
    }

    /// Changes this family's limit (existing series stay; only new ones are refused).
    ///
    /// ```
    /// let registry = telem::metrics::Registry::new();
    /// let users = registry.counter_family("logins_total", &["user"]).unwrap();
    /// users.set_cardinality_limit(1);
    /// users.with_labels(&["ann"]).increment(1);
    /// users.with_labels(&["bob"]).increment(1); // over the limit
    /// assert_eq!(users.series_count(), 1);
    /// assert_eq!(users.overflowed(), 1);
    /// ```
    pub fn set_cardinality_limit(&self, limit: usize) {
        self.inner.set_limit(limit);
    }
}
