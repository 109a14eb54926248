//! `Registry`: metric families by name, their descriptions, and the callbacks.

use super::callback::Callbacks;
use super::exposition::{render, Format};
use super::family::{FamilyInner, DEFAULT_CARDINALITY_LIMIT};
use super::name::{validate_label_name, validate_metric_name};
use super::snapshot::MetricFamilySnapshot;
use super::{
    CallbackError, CallbackId, CallbackReport, Counter, CounterF64, Family, Gauge, GaugeF64,
    Histogram, Instrument, InstrumentKind, MetricError, UpDownCounter, DEFAULT_BUCKETS,
    MAX_BUCKETS,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// Counters of what a registry refused or caught.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) registration_errors: AtomicU64,
    pub(crate) cardinality_overflows: AtomicU64,
    pub(crate) callback_errors: AtomicU64,
    pub(crate) callback_panics: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Stats {
    /// Counts a registration or lookup error that had no caller to return it to.
    #[cold]
    pub(crate) fn count_error(&self, e: &MetricError) {
        self.registration_errors.fetch_add(1, Relaxed);
        crate::export::diagnostics::report("metrics", "registration refused", e);
        self.set_last_error(e.to_string());
    }

    fn set_last_error(&self, message: String) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
    }
}

/// What a registry refused or caught since it was created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryStats {
    /// Registrations (at macro call sites) and label lookups
    /// ([`Family::with_labels`]) that failed and handed out a no-op handle.
    pub registration_errors: u64,
    /// Lookups of new label combinations sent to an overflow series.
    pub cardinality_overflows: u64,
    /// Callback runs that returned an error.
    pub callback_errors: u64,
    /// Callback runs that panicked.
    pub callback_panics: u64,
    /// The last error's message, for diagnosis.
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, Default)]
struct Description {
    help: Arc<str>,
    unit: Arc<str>,
}

#[derive(Debug)]
struct Inner {
    families: RwLock<BTreeMap<Box<str>, Arc<FamilyInner>>>,
    descriptions: RwLock<HashMap<Box<str>, Description>>,
    callbacks: Callbacks,
    limit: AtomicUsize,
    stats: Arc<Stats>,
}

/// Metric families by name: registration, descriptions, callbacks, snapshots and
/// exposition.
///
/// There is one process-wide [`global`](super::global) registry, which the macros
/// ([`counter!`](crate::counter) and co.) and the pipeline use, and any number of
/// independent ones (a library's own, one per test). A clone is the same registry.
///
/// Names follow Prometheus's rules (checked at registration, an invalid one is a
/// [`MetricError`] naming the character). Registering a name again with the same type
/// and label names returns the same metric; another type or label set is an error.
///
/// ```
/// use telem::metrics::{Format, Registry};
/// let registry = Registry::new();
/// let requests = registry.counter_family("http_requests_total", &["method"]).unwrap();
/// requests.with_labels(&["GET"]).increment(2);
/// registry.describe("http_requests_total", "HTTP requests served.").unwrap();
///
/// let text = String::from_utf8(registry.render(Format::Prometheus)).unwrap();
/// assert_eq!(
///     text,
///     concat!(
///         "# HELP http_requests_total HTTP requests served.\n",
///         "# TYPE http_requests_total counter\n",
///         "http_requests_total{method=\"GET\"} 2\n",
///     )
/// );
/// ```
#[derive(Clone, Debug)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// The process-wide registry the macros and the pipeline use.
///
/// ```
/// telem::metrics::global().counter("doc_global_total").unwrap().increment(1);
/// ```
pub fn global() -> &'static Registry {
    static GLOBAL: OnceLock<Registry> = OnceLock::new();
    GLOBAL.get_or_init(Registry::new)
}

impl Registry {
    /// An empty registry with the default cardinality limit.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                families: RwLock::default(),
                descriptions: RwLock::default(),
                callbacks: Callbacks::default(),
                limit: AtomicUsize::new(DEFAULT_CARDINALITY_LIMIT),
                stats: Arc::default(),
            }),
        }
    }

    /// Sets the cardinality limit of every family, present and future (see
    /// [`Family::set_cardinality_limit`] for one family).
    pub fn set_cardinality_limit(&self, limit: usize) {
        self.inner.limit.store(limit, Relaxed);
        for family in self.read_families().values() {
            family.set_limit(limit);
        }
    }

    /// The limit new families get.
    pub fn cardinality_limit(&self) -> usize {
        self.inner.limit.load(Relaxed)
    }

    fn read_families(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, BTreeMap<Box<str>, Arc<FamilyInner>>> {
        self.inner
            .families
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Registers (or finds) the family `name` of type `M` with these label names.
    /// A histogram gets [`DEFAULT_BUCKETS`] (or the bounds it was registered with).
    ///
    /// ```
    /// use telem::metrics::{Counter, Gauge, Registry};
    /// let registry = Registry::new();
    /// let a = registry.family::<Counter>("jobs_total", &["queue"]).unwrap();
    /// let b = registry.family::<Counter>("jobs_total", &["queue"]).unwrap();
    /// a.with_labels(&["mail"]).increment(1);
    /// assert_eq!(b.with_labels(&["mail"]).get(), 1); // the same metric
    /// assert!(registry.family::<Gauge>("jobs_total", &["queue"]).is_err());
    /// assert!(registry.family::<Counter>("jobs_total", &["kind"]).is_err());
    /// ```
    pub fn family<M: Instrument>(
        &self,
        name: &str,
        label_names: &[&str],
    ) -> Result<Family<M>, MetricError> {
        self.register(name, M::KIND, label_names, None)
            .map(Family::from_inner)
    }

    /// Registers (or finds) a histogram family with explicit bucket upper bounds:
    /// finite, strictly increasing, at most [`MAX_BUCKETS`] (`+Inf` is implied).
    ///
    /// ```
    /// let registry = telem::metrics::Registry::new();
    /// let sizes = registry
    ///     .histogram_family("response_size_bytes", &["route"], &[100.0, 1000.0, 10000.0])
    ///     .unwrap();
    /// sizes.with_labels(&["/"]).record(512.0);
    /// assert_eq!(sizes.with_labels(&["/"]).value().bucket_counts, [0, 1, 0, 0]);
    /// assert!(registry.histogram_family("bad", &[], &[2.0, 1.0]).is_err());
    /// ```
    pub fn histogram_family(
        &self,
        name: &str,
        label_names: &[&str],
        bounds: &[f64],
    ) -> Result<Family<Histogram>, MetricError> {
        self.register(name, InstrumentKind::Histogram, label_names, Some(bounds))
            .map(Family::from_inner)
    }

    /// A [`Counter`] without labels.
    pub fn counter(&self, name: &str) -> Result<Counter, MetricError> {
        self.family::<Counter>(name, &[])?.get(&[])
    }

    /// A [`CounterF64`] without labels.
    pub fn counter_f64(&self, name: &str) -> Result<CounterF64, MetricError> {
        self.family::<CounterF64>(name, &[])?.get(&[])
    }

    /// An [`UpDownCounter`] without labels.
    pub fn up_down_counter(&self, name: &str) -> Result<UpDownCounter, MetricError> {
        self.family::<UpDownCounter>(name, &[])?.get(&[])
    }

    /// A [`Gauge`] without labels.
    pub fn gauge(&self, name: &str) -> Result<Gauge, MetricError> {
        self.family::<Gauge>(name, &[])?.get(&[])
    }

    /// A [`GaugeF64`] without labels.
    pub fn gauge_f64(&self, name: &str) -> Result<GaugeF64, MetricError> {
        self.family::<GaugeF64>(name, &[])?.get(&[])
    }

    /// A [`Histogram`] without labels, with [`DEFAULT_BUCKETS`].
    pub fn histogram(&self, name: &str) -> Result<Histogram, MetricError> {
        self.family::<Histogram>(name, &[])?.get(&[])
    }

    /// A family of [`Counter`]s with these label names.
    pub fn counter_family(
        &self,
        name: &str,
        label_names: &[&str],
    ) -> Result<Family<Counter>, MetricError> {
        self.family(name, label_names)
    }

    fn register(
        &self,
        name: &str,
        kind: InstrumentKind,
        label_names: &[&str],
        bounds: Option<&[f64]>,
    ) -> Result<Arc<FamilyInner>, MetricError> {
        if let Some(existing) = self.read_families().get(name) {
            return compatible(existing, kind, label_names, bounds).map(|()| existing.clone());
        }
        validate_metric_name(name)?;
        for (i, label) in label_names.iter().enumerate() {
            validate_label_name(name, label)?;
            if label_names[..i].contains(label) {
                return Err(MetricError::DuplicateLabelName {
                    metric: name.to_owned(),
                    name: (*label).to_owned(),
                });
            }
            if kind == InstrumentKind::Histogram && *label == "le" {
                return Err(MetricError::ReservedLabelName {
                    metric: name.to_owned(),
                    name: "le".to_owned(),
                    reason: "a histogram's `le` label holds its bucket bounds",
                });
            }
        }
        let bounds: Arc<[f64]> = match (kind, bounds) {
            (InstrumentKind::Histogram, Some(b)) => {
                validate_bounds(name, b)?;
                Arc::from(b)
            }
            (InstrumentKind::Histogram, None) => Arc::from(&DEFAULT_BUCKETS[..]),
            _ => Arc::from(&[][..]),
        };
        let mut families = self
            .inner
            .families
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = families.get(name) {
            return compatible(existing, kind, label_names, Some(&bounds))
                .map(|()| existing.clone());
        }
        let family = Arc::new(FamilyInner::new(
            name,
            kind,
            label_names,
            bounds,
            self.cardinality_limit(),
            self.inner.stats.clone(),
        ));
        families.insert(name.into(), family.clone());
        Ok(family)
    }

    /// Sets the description (`# HELP`) of metric `name`, before or after it is
    /// registered.
    pub fn describe(&self, name: &str, help: &str) -> Result<(), MetricError> {
        self.describe_with_unit(name, "", help)
    }

    /// Sets the description and unit of metric `name`. OpenMetrics writes `# UNIT`
    /// only when the name ends with `_<unit>` (its rule), e.g. `request_duration_seconds`
    /// with unit `seconds`.
    ///
    /// ```
    /// use telem::metrics::{Format, Registry};
    /// let registry = Registry::new();
    /// registry.describe_with_unit("uptime_seconds", "seconds", "Time since start.").unwrap();
    /// registry.gauge_f64("uptime_seconds").unwrap().set(12.5);
    /// let text = String::from_utf8(registry.render(Format::OpenMetrics)).unwrap();
    /// assert!(text.contains("# UNIT uptime_seconds seconds\n"));
    /// ```
    pub fn describe_with_unit(
        &self,
        name: &str,
        unit: &str,
        help: &str,
    ) -> Result<(), MetricError> {
        validate_metric_name(name)?;
        let unchanged = self
            .inner
            .descriptions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .is_some_and(|d| *d.help == *help && *d.unit == *unit);
        if unchanged {
            return Ok(()); // callbacks describe their metrics at every run
        }
        let mut descriptions = self
            .inner
            .descriptions
            .write()
            .unwrap_or_else(|e| e.into_inner());
        descriptions.insert(
            name.into(),
            Description {
                help: help.into(),
                unit: unit.into(),
            },
        );
        Ok(())
    }

    /// Registers `callback` to run before each [`collect`](Registry::collect) (each
    /// pipeline drain tick for the global registry): set observable gauges there.
    ///
    /// A callback that is a fn item or a closure capturing nothing is identified by
    /// its type: registering it again returns the first registration's id and it still
    /// runs once. A capturing closure is a new callback each time. A callback that
    /// returns an error or panics is counted ([`RegistryStats`]); the others still run.
    /// Callbacks run on the drain task: keep them quick and non-blocking.
    ///
    /// ```
    /// use telem::metrics::{Registry, CallbackError};
    /// fn queue_depth(registry: &Registry) -> Result<(), CallbackError> {
    ///     registry.gauge("queue_depth").map_err(|e| CallbackError::new(e.to_string()))?.set(7);
    ///     Ok(())
    /// }
    /// let registry = Registry::new();
    /// let a = registry.register_callback(queue_depth);
    /// let b = registry.register_callback(queue_depth);
    /// assert_eq!(a, b);
    /// registry.collect();
    /// assert_eq!(registry.gauge("queue_depth").unwrap().get(), 7);
    /// ```
    pub fn register_callback<F>(&self, callback: F) -> CallbackId
    where
        F: Fn(&Registry) -> Result<(), CallbackError> + Send + Sync + 'static,
    {
        self.inner.callbacks.register(callback)
    }

    /// Removes a callback; `false` if it was not registered.
    pub fn unregister_callback(&self, id: CallbackId) -> bool {
        self.inner.callbacks.unregister(id)
    }

    /// How many callbacks are registered.
    pub fn callback_count(&self) -> usize {
        self.inner.callbacks.len()
    }

    /// Runs every callback once, isolating each from the others' errors and panics.
    pub fn run_callbacks(&self) -> CallbackReport {
        let (report, last_error) = self.inner.callbacks.run(self);
        let stats = &self.inner.stats;
        stats
            .callback_errors
            .fetch_add(report.failed as u64, Relaxed);
        stats
            .callback_panics
            .fetch_add(report.panicked as u64, Relaxed);
        if let Some(message) = last_error {
            stats.set_last_error(message);
        }
        report
    }

    /// Every family's current values, in name order, without running the callbacks.
    pub fn snapshot(&self) -> Vec<MetricFamilySnapshot> {
        let families: Vec<Arc<FamilyInner>> = self.read_families().values().cloned().collect();
        let descriptions = self
            .inner
            .descriptions
            .read()
            .unwrap_or_else(|e| e.into_inner());
        families
            .iter()
            .map(|f| {
                let d = descriptions.get(&f.name).cloned().unwrap_or_default();
                f.snapshot(d.help, d.unit)
            })
            .collect()
    }

    /// Runs the callbacks, then takes a [`snapshot`](Registry::snapshot).
    pub fn collect(&self) -> Vec<MetricFamilySnapshot> {
        self.run_callbacks();
        self.snapshot()
    }

    /// What this registry refused or caught.
    pub fn stats(&self) -> RegistryStats {
        let s = &self.inner.stats;
        RegistryStats {
            registration_errors: s.registration_errors.load(Relaxed),
            cardinality_overflows: s.cardinality_overflows.load(Relaxed),
            callback_errors: s.callback_errors.load(Relaxed),
            callback_panics: s.callback_panics.load(Relaxed),
            last_error: s
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Counts an error that had no caller to return it to (a macro call site).
    pub(crate) fn count_error(&self, e: &MetricError) {
        self.inner.stats.count_error(e);
    }

    /// Counts a built-in collector's failure as a callback error.
    pub(crate) fn count_callback_error(&self, e: &CallbackError) {
        self.inner.stats.callback_errors.fetch_add(1, Relaxed);
        self.inner
            .stats
            .set_last_error(format!("collector failed: {e}"));
    }

    /// Runs the callbacks and renders every family in `format`.
    pub fn render(&self, format: Format) -> Vec<u8> {
        let mut out = Vec::new();
        self.render_into(format, &mut out);
        out
    }

    /// Runs the callbacks and renders every family in `format` at the end of `out`
    /// (reuse the buffer across scrapes).
    pub fn render_into(&self, format: Format, out: &mut Vec<u8>) {
        render(&self.collect(), format, out);
    }

    /// Answers a scrape: the body in the format the `Accept` header value asks for,
    /// and its `Content-Type`.
    ///
    /// ```
    /// let registry = telem::metrics::Registry::new();
    /// registry.counter("scrapes_total").unwrap().increment(1);
    /// let (body, content_type) = registry.scrape("application/openmetrics-text");
    /// assert!(content_type.starts_with("application/openmetrics-text"));
    /// assert!(body.ends_with(b"# EOF\n"));
    /// ```
    pub fn scrape(&self, accept: &str) -> (Vec<u8>, &'static str) {
        let format = Format::from_accept(accept);
        (self.render(format), format.content_type())
    }
}

fn compatible(
    existing: &FamilyInner,
    kind: InstrumentKind,
    label_names: &[&str],
    bounds: Option<&[f64]>,
) -> Result<(), MetricError> {
    let same_labels = existing
        .label_names
        .iter()
        .map(|n| &**n)
        .eq(label_names.iter().copied());
    if existing.kind != kind || !same_labels {
        return Err(MetricError::Conflict {
            name: existing.name.to_string(),
            existing: existing.kind,
            existing_labels: existing.label_names_vec(),
            requested: kind,
            requested_labels: label_names.iter().map(|n| (*n).to_owned()).collect(),
        });
    }
    match bounds {
        Some(b) if kind == InstrumentKind::Histogram && *b != *existing.bounds => {
            Err(MetricError::BucketConflict {
                name: existing.name.to_string(),
                existing: existing.bounds.to_vec(),
                requested: b.to_vec(),
            })
        }
        _ => Ok(()),
    }
}

fn validate_bounds(name: &str, bounds: &[f64]) -> Result<(), MetricError> {
    let reason = if bounds.len() > MAX_BUCKETS {
        "more than 256 bounds"
    } else if bounds.iter().any(|b| !b.is_finite()) {
        "every bound must be finite (+Inf is implied)"
    } else if bounds.windows(2).any(|w| w[0] >= w[1]) {
        "bounds must be strictly increasing"
    } else {
        return Ok(());
    };
    Err(MetricError::InvalidBuckets {
        name: name.to_owned(),
        reason,
    })
}
