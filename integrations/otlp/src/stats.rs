//! What became of everything handed to the exporter.

use crate::Signal;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use telem::metrics::{Counter, UpDownCounter};

/// The exporter's counters since it was built.
///
/// Every span the pipeline hands over ends up in exactly one bucket, so at any moment
/// `spans_received == spans_sent + spans_rejected + spans_dropped + spans_failed +
/// spans_queued`; and the same for log records (`logs_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpStats {
    /// Spans the pipeline handed to the exporter.
    pub spans_received: u64,
    /// Spans the collector accepted.
    pub spans_sent: u64,
    /// Spans the collector refused in a partial success.
    pub spans_rejected: u64,
    /// Spans refused because the queue was full (the collector was slow or down), or
    /// still queued when shutdown's deadline passed.
    pub spans_dropped: u64,
    /// Spans whose request failed for good: a non-retryable status, or retries that ran
    /// out of time.
    pub spans_failed: u64,
    /// Spans waiting in the queue or being sent, now.
    pub spans_queued: u64,
    /// Log records the pipeline handed to the exporter.
    pub logs_received: u64,
    /// Log records the collector accepted.
    pub logs_sent: u64,
    /// Log records the collector refused in a partial success.
    pub logs_rejected: u64,
    /// Log records refused because their queue was full, or still queued when
    /// shutdown's deadline passed.
    pub logs_dropped: u64,
    /// Log records whose request failed for good.
    pub logs_failed: u64,
    /// Log records waiting in their queue or being sent, now.
    pub logs_queued: u64,
    /// Metric data points the collector accepted.
    pub points_sent: u64,
    /// Metric data points the collector refused in a partial success.
    pub points_rejected: u64,
    /// Metric data points whose request failed for good.
    pub points_failed: u64,
    /// HTTP requests made (each attempt counts).
    pub requests: u64,
    /// Attempts that were retried.
    pub retries: u64,
    /// Retries that waited for the server's `Retry-After` instead of the backoff.
    pub retry_after_waits: u64,
    /// Requests that got no response within the timeout.
    pub timeouts: u64,
    /// Successful responses that carried a partial success.
    pub partial_successes: u64,
    /// The last failure or partial-success message, for diagnosis.
    pub last_error: Option<String>,
}

/// Outcomes, as the item counters, the points array and their self-metrics index them.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Outcome {
    Sent = 0,
    Rejected = 1,
    Failed = 2,
    Dropped = 3,
}

const OUTCOMES: [&str; 4] = ["sent", "rejected", "failed", "dropped"];

/// The self-metrics of one kind of queued item: `telemetry_otlp_<items>_total{outcome}`
/// and `telemetry_otlp_queued_<items>`.
#[derive(Debug)]
struct ItemMetrics {
    outcomes: [Counter; 4],
    queued: UpDownCounter,
}

impl ItemMetrics {
    /// `items` is the metric names' noun (`spans`, `log_records`), `described` the
    /// descriptions' (`Spans`, `Log records`).
    fn register(items: &str, described: &str) -> Option<Self> {
        let r = telem::metrics::global();
        let total = format!("telemetry_otlp_{items}_total");
        let queued = format!("telemetry_otlp_queued_{items}");
        let _ = r.describe(
            &total,
            &format!("{described} handed to the OTLP exporter, by outcome."),
        );
        let _ = r.describe(
            &queued,
            &format!("{described} waiting in OTLP exporter queues."),
        );
        let family = r.counter_family(&total, &["outcome"]).ok()?;
        let [sent, rejected, failed, dropped] = OUTCOMES.map(|o| family.get(&[o]).ok());
        Some(Self {
            outcomes: [sent?, rejected?, failed?, dropped?],
            queued: r.up_down_counter(&queued).ok()?,
        })
    }
}

/// What became of one kind of queued item (spans, log records): received, then queued
/// or dropped, then sent, rejected, failed or dropped; each item in exactly one bucket.
#[derive(Debug, Default)]
pub(crate) struct ItemCounters {
    received: AtomicU64,
    outcomes: [AtomicU64; 4],
    queued: AtomicU64,
    registry: Option<ItemMetrics>,
}

impl ItemCounters {
    fn new(registry: Option<ItemMetrics>) -> Self {
        Self {
            registry,
            ..Self::default()
        }
    }

    /// `received` items arrived, of which `queued` fit in the queue.
    pub(crate) fn received(&self, received: u64, queued: u64) {
        self.received.fetch_add(received, Relaxed);
        self.queued.fetch_add(queued, Relaxed);
        if let Some(m) = &self.registry {
            m.queued.add(i64::try_from(queued).unwrap_or(i64::MAX));
        }
        self.count(Outcome::Dropped, received - queued);
    }

    /// `n` items left the queue with `outcome` (sent, rejected, failed, or dropped at
    /// shutdown).
    pub(crate) fn dequeued(&self, outcome: Outcome, n: u64) {
        self.queued.fetch_sub(n, Relaxed);
        if let Some(m) = &self.registry {
            m.queued.add(-i64::try_from(n).unwrap_or(i64::MAX));
        }
        self.count(outcome, n);
    }

    fn count(&self, outcome: Outcome, n: u64) {
        if n > 0 {
            self.outcomes[outcome as usize].fetch_add(n, Relaxed);
            if let Some(m) = &self.registry {
                m.outcomes[outcome as usize].increment(n);
            }
        }
    }

    fn get(&self, outcome: Outcome) -> u64 {
        self.outcomes[outcome as usize].load(Relaxed)
    }

    /// Items the exporter took from the pipeline and lost: dropped (queue full, or
    /// still queued at shutdown's deadline) or failed for good.
    pub(crate) fn lost(&self) -> u64 {
        self.get(Outcome::Dropped) + self.get(Outcome::Failed)
    }

    /// Items queued or on their way now.
    pub(crate) fn queued(&self) -> u64 {
        self.queued.load(Relaxed)
    }
}

/// Self-metrics in the global registry (shared by every exporter of the process), apart
/// from the item counters'.
#[derive(Debug)]
struct SelfMetrics {
    points: [Counter; 3],
    requests: [Counter; 3],
    retries: [Counter; 3],
    timeouts: [Counter; 3],
}

impl SelfMetrics {
    fn register() -> Option<Self> {
        let r = telem::metrics::global();
        let _ = r.describe(
            "telemetry_otlp_data_points_total",
            "Metric data points sent by the OTLP exporter, by outcome.",
        );
        let _ = r.describe(
            "telemetry_otlp_requests_total",
            "HTTP requests made by the OTLP exporter.",
        );
        let _ = r.describe(
            "telemetry_otlp_retries_total",
            "OTLP export attempts retried.",
        );
        let _ = r.describe(
            "telemetry_otlp_timeouts_total",
            "OTLP requests without a response within the timeout.",
        );
        let points = r
            .counter_family("telemetry_otlp_data_points_total", &["outcome"])
            .ok()?;
        let per_signal = |name: &str| -> Option<[Counter; 3]> {
            let f = r.counter_family(name, &["signal"]).ok()?;
            let [traces, metrics, logs] = Signal::ALL.map(|s| f.get(&[s.as_str()]).ok());
            Some([traces?, metrics?, logs?])
        };
        Some(Self {
            points: [
                points.get(&["sent"]).ok()?,
                points.get(&["rejected"]).ok()?,
                points.get(&["failed"]).ok()?,
            ],
            requests: per_signal("telemetry_otlp_requests_total")?,
            retries: per_signal("telemetry_otlp_retries_total")?,
            timeouts: per_signal("telemetry_otlp_timeouts_total")?,
        })
    }
}

/// The live counters behind [`OtlpStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) spans: ItemCounters,
    pub(crate) logs: ItemCounters,
    points: [AtomicU64; 3],
    requests: AtomicU64,
    retries: AtomicU64,
    retry_after_waits: AtomicU64,
    timeouts: AtomicU64,
    partial_successes: AtomicU64,
    last_error: Mutex<Option<String>>,
    registry: Option<SelfMetrics>,
}

fn signal_index(signal: Signal) -> usize {
    crate::config::index(signal)
}

impl Counters {
    pub(crate) fn new(self_metrics: bool) -> Self {
        if !self_metrics {
            return Self::default();
        }
        Self {
            spans: ItemCounters::new(ItemMetrics::register("spans", "Spans")),
            logs: ItemCounters::new(ItemMetrics::register("log_records", "Log records")),
            registry: SelfMetrics::register(),
            ..Self::default()
        }
    }

    pub(crate) fn points(&self, outcome: Outcome, n: u64) {
        let i = match outcome {
            Outcome::Sent => 0,
            Outcome::Rejected => 1,
            Outcome::Failed | Outcome::Dropped => 2,
        };
        if n > 0 {
            self.points[i].fetch_add(n, Relaxed);
            if let Some(m) = &self.registry {
                m.points[i].increment(n);
            }
        }
    }

    pub(crate) fn request(&self, signal: Signal) {
        self.requests.fetch_add(1, Relaxed);
        if let Some(m) = &self.registry {
            m.requests[signal_index(signal)].increment(1);
        }
    }

    pub(crate) fn retry(&self, signal: Signal, honoured_retry_after: bool) {
        self.retries.fetch_add(1, Relaxed);
        if honoured_retry_after {
            self.retry_after_waits.fetch_add(1, Relaxed);
        }
        if let Some(m) = &self.registry {
            m.retries[signal_index(signal)].increment(1);
        }
    }

    pub(crate) fn timeout(&self, signal: Signal) {
        self.timeouts.fetch_add(1, Relaxed);
        if let Some(m) = &self.registry {
            m.timeouts[signal_index(signal)].increment(1);
        }
    }

    pub(crate) fn partial_success(&self) {
        self.partial_successes.fetch_add(1, Relaxed);
    }

    pub(crate) fn error(&self, message: String) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(message);
        }
    }

    pub(crate) fn snapshot(&self) -> OtlpStats {
        let (spans, logs) = (&self.spans, &self.logs);
        OtlpStats {
            spans_received: spans.received.load(Relaxed),
            spans_sent: spans.get(Outcome::Sent),
            spans_rejected: spans.get(Outcome::Rejected),
            spans_dropped: spans.get(Outcome::Dropped),
            spans_failed: spans.get(Outcome::Failed),
            spans_queued: spans.queued(),
            logs_received: logs.received.load(Relaxed),
            logs_sent: logs.get(Outcome::Sent),
            logs_rejected: logs.get(Outcome::Rejected),
            logs_dropped: logs.get(Outcome::Dropped),
            logs_failed: logs.get(Outcome::Failed),
            logs_queued: logs.queued(),
            points_sent: self.points[0].load(Relaxed),
            points_rejected: self.points[1].load(Relaxed),
            points_failed: self.points[2].load(Relaxed),
            requests: self.requests.load(Relaxed),
            retries: self.retries.load(Relaxed),
            retry_after_waits: self.retry_after_waits.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
            partial_successes: self.partial_successes.load(Relaxed),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }
}
