//! One series (a label combination) of a family, and the handle types' common trait.

use super::counter::CounterCore;
use super::gauge::GaugeCore;
use super::histogram::HistogramCore;
use super::snapshot::{MetricValue, SeriesSnapshot};
use super::{
    Counter, CounterF64, Gauge, GaugeF64, Histogram, InstrumentKind, LabelSet, UpDownCounter,
};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// The state of one series, opaque outside the crate (it appears in the sealed trait).
#[allow(unreachable_pub)]
#[derive(Clone, Debug)]
pub struct Core(pub(crate) CoreKind);

/// The state of one series, by instrument type.
#[derive(Clone, Debug)]
pub(crate) enum CoreKind {
    /// u64 counter.
    Counter(Arc<CounterCore>),
    /// f64 counter.
    CounterF64(Arc<CounterCore>),
    /// i64 up-down counter.
    UpDownCounter(Arc<CounterCore>),
    /// i64 gauge.
    Gauge(Arc<GaugeCore>),
    /// f64 gauge.
    GaugeF64(Arc<GaugeCore>),
    /// Histogram.
    Histogram(Arc<HistogramCore>),
}

impl Core {
    pub(crate) fn new(kind: InstrumentKind, bounds: &Arc<[f64]>) -> Self {
        Self(match kind {
            InstrumentKind::Counter => CoreKind::Counter(CounterCore::new()),
            InstrumentKind::CounterF64 => CoreKind::CounterF64(CounterCore::new()),
            InstrumentKind::UpDownCounter => CoreKind::UpDownCounter(CounterCore::new()),
            InstrumentKind::Gauge => CoreKind::Gauge(GaugeCore::new()),
            InstrumentKind::GaugeF64 => CoreKind::GaugeF64(GaugeCore::new()),
            InstrumentKind::Histogram => CoreKind::Histogram(HistogramCore::new(bounds.clone())),
        })
    }
}

/// A series: its labels, when it was created, and its state.
#[derive(Debug)]
pub(crate) struct Series {
    pub(crate) labels: Arc<LabelSet>,
    pub(crate) created_unix_nano: u64,
    pub(crate) core: Core,
}

impl Series {
    pub(crate) fn snapshot(&self) -> SeriesSnapshot {
        let (value, exemplar) = match &self.core.0 {
            CoreKind::Counter(c) => (MetricValue::U64(c.value.sum()), c.exemplar.load()),
            CoreKind::CounterF64(c) => (MetricValue::F64(c.value.sum_f64()), c.exemplar.load()),
            CoreKind::UpDownCounter(c) => (MetricValue::I64(c.value.sum() as i64), None),
            CoreKind::Gauge(g) => (MetricValue::I64(g.bits.load(Relaxed) as i64), None),
            CoreKind::GaugeF64(g) => (MetricValue::F64(f64::from_bits(g.bits.load(Relaxed))), None),
            CoreKind::Histogram(h) => (MetricValue::Histogram(h.value()), None),
        };
        SeriesSnapshot {
            labels: self.labels.clone(),
            start_time_unix_nano: self.created_unix_nano,
            value,
            exemplar,
        }
    }
}

pub(crate) mod sealed {
    /// Keeps [`Instrument`](super::Instrument) implemented by this crate's handles only.
    pub trait Sealed: Sized {
        /// The handle of `core`, if it is of this type.
        fn from_core(core: &super::Core) -> Option<Self>;
        /// The handle that records nothing.
        fn noop_handle() -> Self;
    }
}

/// A metric handle type: [`Counter`], [`CounterF64`], [`UpDownCounter`], [`Gauge`],
/// [`GaugeF64`] or [`Histogram`]. Sealed; used to ask a
/// [`Registry`](super::Registry) for a [`Family`](super::Family) of that type.
///
/// ```
/// use telem::metrics::{Counter, Instrument, InstrumentKind};
/// assert_eq!(Counter::KIND, InstrumentKind::Counter);
/// ```
pub trait Instrument: sealed::Sealed + Clone + Send + Sync + std::fmt::Debug + 'static {
    /// The instrument type this handle records.
    const KIND: InstrumentKind;
}

macro_rules! instrument {
    ($ty:ident, $variant:ident) => {
        impl sealed::Sealed for $ty {
            fn from_core(core: &Core) -> Option<Self> {
                match &core.0 {
                    CoreKind::$variant(c) => Some(Self::from_core(c.clone())),
                    _ => None,
                }
            }
            fn noop_handle() -> Self {
                Self::noop()
            }
        }
        impl Instrument for $ty {
            const KIND: InstrumentKind = InstrumentKind::$variant;
        }
    };
}

instrument!(Counter, Counter);
instrument!(CounterF64, CounterF64);
instrument!(UpDownCounter, UpDownCounter);
instrument!(Gauge, Gauge);
instrument!(GaugeF64, GaugeF64);
instrument!(Histogram, Histogram);
