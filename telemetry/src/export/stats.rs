//! The pipeline's own counters, and the metric snapshot handed to sinks each tick.

use crate::Level;

/// Counters of one sink, since the pipeline started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkStats {
    /// The sink's [`name`](crate::Sink::name).
    pub name: String,
    /// Spans in batches the sink accepted (`Ok`).
    pub spans_delivered: u64,
    /// Calls that returned an error.
    pub errors: u64,
    /// Calls that did not finish within `sink_timeout`.
    pub timeouts: u64,
    /// Calls that panicked.
    pub panics: u64,
    /// Spans this sink lost: not handed to it because its queue in the pipeline was
    /// full (the sink fell behind), lost inside it ([`Sink::spans_dropped`](crate::Sink::spans_dropped):
    /// its own buffer full, a stalled writer, an export given up), or still waiting for
    /// it when `shutdown`'s deadline passed.
    pub spans_dropped: u64,
    /// Log records in batches the sink accepted (`Ok`).
    pub logs_delivered: u64,
    /// Log records this sink lost, as `spans_dropped` counts spans
    /// ([`Sink::logs_dropped`](crate::Sink::logs_dropped) included).
    pub logs_dropped: u64,
    /// The message of the last error the sink returned, for diagnosis.
    pub last_error: Option<String>,
    /// The message of the sink's last panic.
    pub last_panic: Option<String>,
}

/// The pipeline's self-metrics, since it started.
///
/// Spans the drain collected are either handed to the sinks' queues (`spans_exported`)
/// or were lost to a full ring (`spans_dropped`); once the rings are drained,
/// `spans_recorded == spans_exported + spans_dropped` exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PipelineStats {
    /// Sampled spans that ended.
    pub spans_recorded: u64,
    /// Spans the sampler decided not to record.
    pub spans_sampled_out: u64,
    /// Sampled spans lost because their thread's ring was full.
    pub spans_dropped: u64,
    /// Spans the drain moved out of the rings and handed to the sinks.
    pub spans_exported: u64,
    /// Spans waiting in the rings for the next drain, now.
    pub spans_queued: u64,
    /// Log records, per level: see [`LogCounts`].
    pub logs: LogCounts,
    /// Log records waiting in the rings for the next drain, now.
    pub logs_queued: u64,
    /// With `logs_as_span_events`: events dropped while waiting for a span that did not
    /// come (the records themselves were exported).
    pub log_events_dropped: u64,
    /// Drain cycles run.
    pub drains: u64,
    /// Duration of the last drain cycle, in ns.
    pub last_drain_nanos: u64,
    /// One entry per sink, in configuration order.
    pub sinks: Vec<SinkStats>,
}

impl PipelineStats {
    /// Errors, timeouts and panics summed over all sinks.
    pub fn sink_failures(&self) -> u64 {
        self.sinks
            .iter()
            .map(|s| s.errors + s.timeouts + s.panics)
            .sum()
    }
}

/// Log record counters, one entry per [`Level`] (indexed by [`Level::index`]).
///
/// Once the rings are drained, for each level `recorded == exported + dropped`.
///
/// ```
/// let stats = telem::PipelineStats::default();
/// assert_eq!(stats.logs.recorded(telem::Level::Warn), 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogCounts {
    /// Records made by log calls that passed the filter.
    pub recorded: [u64; 5],
    /// Records lost because their thread's log ring was full.
    pub dropped: [u64; 5],
    /// Records the drain moved out of the rings and handed to the sinks.
    pub exported: [u64; 5],
}

impl LogCounts {
    /// Records made at `level`.
    pub fn recorded(&self, level: Level) -> u64 {
        self.recorded[level.index()]
    }

    /// Records at `level` lost to a full ring.
    pub fn dropped(&self, level: Level) -> u64 {
        self.dropped[level.index()]
    }

    /// Records at `level` handed to the sinks.
    pub fn exported(&self, level: Level) -> u64 {
        self.exported[level.index()]
    }
}

/// What sinks receive at each drain tick alongside spans.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// When the snapshot was taken, ns since the Unix epoch.
    pub time_unix_nano: u64,
    /// The pipeline's own counters.
    pub pipeline: PipelineStats,
    /// Every metric family of the global registry, after the enabled collectors and the
    /// registered metric callbacks ran, in name order (empty when
    /// [`MetricsConfig::enabled`](crate::MetricsConfig::enabled) is off). Label sets are
    /// shared with the registry, not copied.
    pub metrics: Vec<crate::metrics::MetricFamilySnapshot>,
}
