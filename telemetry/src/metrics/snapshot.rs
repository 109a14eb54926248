//! The data points of a registry at one moment: what sinks and exporters receive.

use super::{Exemplar, HistogramValue, InstrumentKind, LabelSet};
use std::sync::Arc;

/// One metric family (a name, its metadata and every series) at one moment. Carries
/// everything an exporter needs: Prometheus text, OpenMetrics, OTLP.
///
/// ```
/// use telem::metrics::{InstrumentKind, MetricValue, Registry};
/// let registry = Registry::new();
/// registry.describe("jobs_total", "Jobs run.").unwrap();
/// registry.counter("jobs_total").unwrap().increment(3);
/// let families = registry.snapshot();
/// assert_eq!(&*families[0].name, "jobs_total");
/// assert_eq!(&*families[0].help, "Jobs run.");
/// assert_eq!(families[0].kind, InstrumentKind::Counter);
/// assert_eq!(families[0].series[0].value, MetricValue::U64(3));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MetricFamilySnapshot {
    /// The registered name (a counter's may or may not end in `_total`).
    pub name: Arc<str>,
    /// The description, empty if none was given.
    pub help: Arc<str>,
    /// The unit (`seconds`, `bytes`), empty if none was given.
    pub unit: Arc<str>,
    /// The instrument type; [`InstrumentKind::is_monotonic`] tells sums apart.
    pub kind: InstrumentKind,
    /// A histogram's bucket upper bounds (`+Inf` implied); empty for other kinds.
    pub bounds: Arc<[f64]>,
    /// When the family was registered, ns since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// Combinations refused by the cardinality limit since registration (each was
    /// recorded into the `otel_metric_overflow="true"` series instead).
    pub overflowed: u64,
    /// Every series, in order of label values.
    pub series: Vec<SeriesSnapshot>,
}

/// One series of a [`MetricFamilySnapshot`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SeriesSnapshot {
    /// Its labels (shared with the registry: no copy).
    pub labels: Arc<LabelSet>,
    /// When the series was created, ns since the Unix epoch (the start of a cumulative
    /// sum, OpenMetrics's `_created`).
    pub start_time_unix_nano: u64,
    /// The value.
    pub value: MetricValue,
    /// A counter's latest exemplar (histograms keep theirs per bucket).
    pub exemplar: Option<Exemplar>,
}

/// The value of a series.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MetricValue {
    /// A [`Counter`](super::Counter)'s total.
    U64(u64),
    /// An [`UpDownCounter`](super::UpDownCounter)'s total or a [`Gauge`](super::Gauge).
    I64(i64),
    /// A [`CounterF64`](super::CounterF64)'s total or a [`GaugeF64`](super::GaugeF64).
    F64(f64),
    /// A [`Histogram`](super::Histogram)'s buckets, sum, count and exemplars.
    Histogram(HistogramValue),
}

impl MetricFamilySnapshot {
    /// Whether the values only grow (a monotonic sum).
    pub fn is_monotonic(&self) -> bool {
        self.kind.is_monotonic()
    }
}
