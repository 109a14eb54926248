//! The six instrument types and what each means to an exporter.

use std::fmt;

/// The type of a metric, fixed at registration.
///
/// ```
/// use telem::metrics::InstrumentKind;
/// assert!(InstrumentKind::Counter.is_monotonic());
/// assert!(!InstrumentKind::UpDownCounter.is_monotonic());
/// assert_eq!(InstrumentKind::UpDownCounter.prometheus_type(), "gauge");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InstrumentKind {
    /// A monotonic u64 total ([`Counter`](super::Counter)).
    Counter,
    /// A monotonic f64 total ([`CounterF64`](super::CounterF64)).
    CounterF64,
    /// An i64 total that goes up and down ([`UpDownCounter`](super::UpDownCounter)).
    UpDownCounter,
    /// An i64 value that is set ([`Gauge`](super::Gauge)).
    Gauge,
    /// An f64 value that is set ([`GaugeF64`](super::GaugeF64)).
    GaugeF64,
    /// A distribution in explicit buckets ([`Histogram`](super::Histogram)).
    Histogram,
}

impl InstrumentKind {
    /// Whether the value only grows (an OpenTelemetry monotonic sum).
    pub const fn is_monotonic(self) -> bool {
        matches!(self, Self::Counter | Self::CounterF64)
    }

    /// The Prometheus/OpenMetrics `# TYPE`: `counter`, `gauge` or `histogram`.
    pub const fn prometheus_type(self) -> &'static str {
        match self {
            Self::Counter | Self::CounterF64 => "counter",
            Self::UpDownCounter | Self::Gauge | Self::GaugeF64 => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

impl fmt::Display for InstrumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Counter => "counter",
            Self::CounterF64 => "f64 counter",
            Self::UpDownCounter => "up-down counter",
            Self::Gauge => "gauge",
            Self::GaugeF64 => "f64 gauge",
            Self::Histogram => "histogram",
        })
    }
}
