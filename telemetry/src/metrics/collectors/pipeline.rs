//! The pipeline's self-metrics, from [`PipelineStats`] and the global registry's own
//! counters.

use crate::metrics::{Counter, MetricError, Registry};
use crate::{Level, PipelineStats};

/// Sets the pipeline's self-metrics in `registry` from `stats`:
/// `telemetry_spans_{recorded,sampled_out,dropped,exported}_total`,
/// `telemetry_spans_queued`, `telemetry_drains_total`, per level (label `level`)
/// `telemetry_logs_{recorded,dropped,exported}_total` and `log_records_total` (the
/// one for users' alerts), `telemetry_logs_queued`, `telemetry_log_events_dropped_total`,
/// `telemetry_last_drain_duration_seconds`, per sink (label `sink`)
/// `telemetry_sink_{spans_delivered,errors,timeouts,panics,spans_dropped,logs_delivered,logs_dropped}_total`, and
/// the registry's own `telemetry_metrics_{registration_errors,cardinality_overflows,
/// sampler_errors,sampler_panics}_total`. The pipeline calls it each drain tick.
///
/// ```
/// let registry = telem::metrics::Registry::new();
/// telem::metrics::collectors::pipeline(&registry, &telem::PipelineStats::default()).unwrap();
/// assert_eq!(registry.counter("telemetry_spans_recorded_total").unwrap().get(), 0);
/// ```
pub fn pipeline(registry: &Registry, stats: &PipelineStats) -> Result<(), MetricError> {
    let totals = [
        (
            "telemetry_spans_recorded_total",
            "Sampled spans that ended.",
            stats.spans_recorded,
        ),
        (
            "telemetry_spans_sampled_out_total",
            "Spans the sampler decided not to record.",
            stats.spans_sampled_out,
        ),
        (
            "telemetry_spans_dropped_total",
            "Sampled spans lost because their thread's ring was full.",
            stats.spans_dropped,
        ),
        (
            "telemetry_spans_exported_total",
            "Spans the drain handed to the sinks.",
            stats.spans_exported,
        ),
        ("telemetry_drains_total", "Drain cycles run.", stats.drains),
        (
            "telemetry_log_events_dropped_total",
            "Span events made from log records, dropped while waiting for a span that did not come.",
            stats.log_events_dropped,
        ),
    ];
    for (name, help, v) in totals {
        registry.counter(name)?.set_total(v);
        let _ = registry.describe(name, help);
    }
    registry
        .gauge("telemetry_spans_queued")?
        .set(stats.spans_queued as i64);
    let _ = registry.describe(
        "telemetry_spans_queued",
        "Spans waiting in the rings for the next drain.",
    );
    registry
        .gauge_f64("telemetry_last_drain_duration_seconds")?
        .set(stats.last_drain_nanos as f64 / 1e9);
    let _ = registry.describe_with_unit(
        "telemetry_last_drain_duration_seconds",
        "seconds",
        "Duration of the last drain cycle.",
    );

    registry
        .gauge("telemetry_logs_queued")?
        .set(stats.logs_queued as i64);
    let _ = registry.describe(
        "telemetry_logs_queued",
        "Log records waiting in the rings for the next drain.",
    );
    for (name, help, counts) in [
        (
            "log_records_total",
            "Log records made, by level: for alerts on error and warning rates.",
            &stats.logs.recorded,
        ),
        (
            "telemetry_logs_recorded_total",
            "Log records made by calls that passed the filter.",
            &stats.logs.recorded,
        ),
        (
            "telemetry_logs_dropped_total",
            "Log records lost because their thread's log ring was full.",
            &stats.logs.dropped,
        ),
        (
            "telemetry_logs_exported_total",
            "Log records the drain handed to the sinks.",
            &stats.logs.exported,
        ),
    ] {
        let family = registry.family::<Counter>(name, &["level"])?;
        for level in Level::ALL {
            family
                .get(&[level.as_lowercase()])?
                .set_total(counts[level.index()]);
        }
        let _ = registry.describe(name, help);
    }

    for sink in &stats.sinks {
        for (name, help, v) in [
            (
                "telemetry_sink_spans_delivered_total",
                "Spans in batches the sink accepted.",
                sink.spans_delivered,
            ),
            (
                "telemetry_sink_errors_total",
                "Sink calls that returned an error.",
                sink.errors,
            ),
            (
                "telemetry_sink_timeouts_total",
                "Sink calls that did not finish within sink_timeout.",
                sink.timeouts,
            ),
            (
                "telemetry_sink_panics_total",
                "Sink calls that panicked.",
                sink.panics,
            ),
            (
                "telemetry_sink_spans_dropped_total",
                "Spans not handed to the sink because its queue was full.",
                sink.spans_dropped,
            ),
            (
                "telemetry_sink_logs_delivered_total",
                "Log records in batches the sink accepted.",
                sink.logs_delivered,
            ),
            (
                "telemetry_sink_logs_dropped_total",
                "Log records the sink lost: its queue was full, or lost inside it.",
                sink.logs_dropped,
            ),
        ] {
            registry
                .family::<Counter>(name, &["sink"])?
                .get(&[&sink.name])?
                .set_total(v);
            let _ = registry.describe(name, help);
        }
    }

    let own = registry.stats();
    for (name, help, v) in [
        (
            "telemetry_metrics_registration_errors_total",
            "Metric registrations that failed at a call site (a no-op handle was used).",
            own.registration_errors,
        ),
        (
            "telemetry_metrics_cardinality_overflows_total",
            "Label combinations sent to an overflow series.",
            own.cardinality_overflows,
        ),
        (
            "telemetry_metrics_sampler_errors_total",
            "Metric callback runs that returned an error.",
            own.callback_errors,
        ),
        (
            "telemetry_metrics_sampler_panics_total",
            "Metric callback runs that panicked.",
            own.callback_panics,
        ),
    ] {
        registry.counter(name)?.set_total(v);
        let _ = registry.describe(name, help);
    }
    Ok(())
}
