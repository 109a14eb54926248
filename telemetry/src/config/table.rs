//! The core's settings, once: [`SETTINGS`](crate::SETTINGS). [`Config`](crate::Config)'s
//! defaults and validation, the environment parser and `docs/configuration.md` all read
//! these rows.

use crate::config::exporters::{LOGS_ACCEPTED, METRICS_ACCEPTED, TRACES_ACCEPTED};
use crate::{Setting, SpanLimits, MAX_RING_CAPACITY, MIN_RING_CAPACITY};

pub(crate) const DISABLED: Setting = Setting::bool("disabled", false)
    .with_variable("OTEL_SDK_DISABLED")
    .with_description(
        "the whole pipeline off: `init` starts nothing (no drain, no sinks, recording off)",
    );

pub(crate) const SAMPLER: Setting = Setting::described(
    "sampler",
    "`parentbased_always_on`",
    "always_on, always_off, traceidratio, parentbased_always_on, \
     parentbased_always_off or parentbased_traceidratio",
)
.with_variable("OTEL_TRACES_SAMPLER")
.with_description("which spans are recorded (`with_sampler`)");

pub(crate) const SAMPLER_RATIO: Setting = Setting::number("sampler.ratio", 1.0, 0.0, 1.0)
    .with_variable("OTEL_TRACES_SAMPLER_ARG")
    .with_description("the ratio of the `traceidratio` samplers (the others ignore it)");

const LIMIT: u64 = SpanLimits::DEFAULT.max_attributes as u64;

pub(crate) const ATTRIBUTE_COUNT_LIMIT: Setting =
    Setting::integer("span_limits", LIMIT, 0, u32::MAX as u64)
        .with_variable("OTEL_ATTRIBUTE_COUNT_LIMIT")
        .with_description("every attribute limit the variables below leave unset");

pub(crate) const SPAN_ATTRIBUTE_COUNT_LIMIT: Setting = Setting::integer(
    "span_limits.max_attributes",
    SpanLimits::DEFAULT.max_attributes as u64,
    0,
    u32::MAX as u64,
)
.with_variable("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT")
.with_description("attributes per span (`with_span_limits`)");

pub(crate) const SPAN_EVENT_COUNT_LIMIT: Setting = Setting::integer(
    "span_limits.max_events",
    SpanLimits::DEFAULT.max_events as u64,
    0,
    u32::MAX as u64,
)
.with_variable("OTEL_SPAN_EVENT_COUNT_LIMIT")
.with_description("events per span");

pub(crate) const SPAN_LINK_COUNT_LIMIT: Setting = Setting::integer(
    "span_limits.max_links",
    SpanLimits::DEFAULT.max_links as u64,
    0,
    u32::MAX as u64,
)
.with_variable("OTEL_SPAN_LINK_COUNT_LIMIT")
.with_description("links per span");

pub(crate) const EVENT_ATTRIBUTE_COUNT_LIMIT: Setting = Setting::integer(
    "span_limits.max_attributes_per_event",
    SpanLimits::DEFAULT.max_attributes_per_event as u64,
    0,
    u32::MAX as u64,
)
.with_variable("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT")
.with_description(
    "attributes per event and per link: one limit for both, the smaller if both variables are set",
);

pub(crate) const LINK_ATTRIBUTE_COUNT_LIMIT: Setting = Setting::integer(
    "span_limits.max_attributes_per_event",
    SpanLimits::DEFAULT.max_attributes_per_event as u64,
    0,
    u32::MAX as u64,
)
.with_variable("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT")
.with_description("the same limit, from the links' variable");

pub(crate) const RING_CAPACITY: Setting = Setting::power_of_two(
    "ring_capacity",
    crate::record::ring::DEFAULT_CAPACITY as u64,
    MIN_RING_CAPACITY as u64,
    MAX_RING_CAPACITY as u64,
)
.with_variable("TELEMETRY_RING_CAPACITY")
.with_description("spans each recording thread holds between drains");

pub(crate) const DRAIN_INTERVAL: Setting = Setting::millis("drain_interval", 1000, 1, 300_000)
    .with_variable("TELEMETRY_DRAIN_INTERVAL")
    .with_description("how often the drain moves spans to the sinks");

pub(crate) const SINK_TIMEOUT: Setting = Setting::millis("sink_timeout", 5000, 1, 600_000)
    .with_variable("TELEMETRY_SINK_TIMEOUT")
    .with_description("how long one sink call may take before it is abandoned and counted");

pub(crate) const SHUTDOWN_TIMEOUT: Setting = Setting::millis("shutdown_timeout", 5000, 1, 600_000)
    .with_variable("TELEMETRY_SHUTDOWN_TIMEOUT")
    .with_description(
        "the most `shutdown` waits, all sinks together; past it, what a stalled sink \
             still holds is counted as dropped",
    );

pub(crate) const SINK_QUEUE_CAPACITY: Setting =
    Setting::integer("sink_queue_capacity", 64, 1, 65536)
        .with_note("batches")
        .with_variable("TELEMETRY_SINK_QUEUE_CAPACITY")
        .with_description("batches queued per sink before that sink's new batches are dropped");

// 256 by default: a batch stays under the allocator's mmap threshold, so the drain reuses
// heap pages instead of faulting in fresh ones (exporters re-batch as their protocol
// prefers).
pub(crate) const MAX_BATCH_SIZE: Setting = Setting::integer("max_batch_size", 256, 1, 1 << 20)
    .with_note("spans")
    .with_variable("TELEMETRY_MAX_BATCH_SIZE")
    .with_description("most spans in one batch handed to a sink");

pub(crate) const DIAGNOSTICS: Setting = Setting::bool("diagnostics", true)
    .with_variable("TELEMETRY_DIAGNOSTICS")
    .with_description(
        "the framework's own failures reported on stderr, once per cause and then at most \
         once a minute (counted in the self-metrics either way)",
    );

pub(crate) const LOG_FILTER: Setting = Setting::described(
    "log_filter",
    "`info`",
    "comma-separated `level`, `target` or `target=level` directives (`info,my_crate::db=debug`); \
     levels off, error, warn, info, debug, trace",
)
.with_variable("RUST_LOG")
.with_description(
    "which log records are recorded (`with_log_filter`): a default level and a level per \
     target, covering the targets under it, the most specific winning; with targets and no \
     level, every other target is off",
);

pub(crate) const LOG_RING_CAPACITY: Setting = Setting::power_of_two(
    "log_ring_capacity",
    crate::record::ring::logs::DEFAULT_LOG_CAPACITY as u64,
    MIN_RING_CAPACITY as u64,
    MAX_RING_CAPACITY as u64,
)
.with_variable("TELEMETRY_LOG_RING_CAPACITY")
.with_description("log records each logging thread holds between drains");

pub(crate) const LOGS_AS_SPAN_EVENTS: Setting = Setting::bool("logs_as_span_events", false)
    .with_variable("TELEMETRY_LOGS_AS_SPAN_EVENTS")
    .with_description("logs made inside a sampled span also become events of that span");

pub(crate) const BOUND_FIELDS_ON_SPANS: Setting = Setting::bool("bound_fields_on_spans", false)
    .with_variable("TELEMETRY_BOUND_FIELDS_ON_SPANS")
    .with_description(
        "fields bound with `telem::bind` are also added as attributes of every span started \
         inside the binding",
    );

pub(crate) const SINKS: Setting = Setting::described("sinks", "none", "any `Sink`, in order")
    .with_description(
        "where spans and metric snapshots go (`with_sink`; an `Arc` to keep a handle)",
    );

pub(crate) const METRICS_ENABLED: Setting = Setting::bool("metrics.enabled", true)
    .with_variable("TELEMETRY_METRICS")
    .with_description(
        "snapshot the global registry at each drain tick and hand it to the sinks \
         (`with_metrics(MetricsConfig::new().with_enabled(..))`)",
    );

pub(crate) const METRICS_PROCESS: Setting =
    Setting::bool("metrics.process", true).with_description("the process collector (`/proc`)");

pub(crate) const METRICS_TOKIO_RUNTIME: Setting = Setting::bool("metrics.tokio_runtime", true)
    .with_description("the drain's tokio runtime collector");

pub(crate) const METRICS_PIPELINE: Setting =
    Setting::bool("metrics.pipeline", true).with_description("the pipeline's self-metrics");

pub(crate) const CARDINALITY_LIMIT: Setting = Setting::integer(
    "metrics.cardinality_limit",
    crate::metrics::DEFAULT_CARDINALITY_LIMIT as u64,
    1,
    1_000_000,
)
.with_note("series per family")
.with_variable("TELEMETRY_METRICS_CARDINALITY_LIMIT")
.with_description(
    "series per family in the global registry before new label combinations go to the \
     overflow series",
);

pub(crate) const TRACES_EXPORTER: Setting =
    Setting::described("exporters.traces", "`otlp`", TRACES_ACCEPTED)
        .with_variable("OTEL_TRACES_EXPORTER")
        .with_description(
            "where spans go (`Exporters`); an application may choose another default \
             (`Exporters::with_default_traces`)",
        );

pub(crate) const METRICS_EXPORTER: Setting =
    Setting::described("exporters.metrics", "`otlp`", METRICS_ACCEPTED)
        .with_variable("OTEL_METRICS_EXPORTER")
        .with_description(
            "where metric snapshots go (`Exporters`); an application may choose another \
             default (`Exporters::with_default_metrics`)",
        );

pub(crate) const LOGS_EXPORTER: Setting =
    Setting::described("exporters.logs", "`otlp`", LOGS_ACCEPTED)
        .with_variable("OTEL_LOGS_EXPORTER")
        .with_description(
            "where log records go (`Exporters`); an application may choose another default \
             (`Exporters::with_default_logs`)",
        );

/// Every setting of the core: [`Config`](crate::Config) (with
/// [`MetricsConfig`](crate::MetricsConfig)) and [`Exporters`](crate::Exporters), with its
/// environment variable, default and accepted values. `docs/configuration.md` shows it
/// (a test checks that it is up to date).
///
/// ```
/// let ring = telem::SETTINGS.iter().find(|s| s.name() == "ring_capacity").unwrap();
/// assert_eq!(ring.variable(), Some("TELEMETRY_RING_CAPACITY"));
/// assert_eq!(ring.default_integer(), 4096);
/// assert_eq!(ring.accepted(), "a power of two from 64 to 16777216");
/// ```
pub const SETTINGS: &[Setting] = &[
    DISABLED,
    SAMPLER,
    SAMPLER_RATIO,
    ATTRIBUTE_COUNT_LIMIT,
    SPAN_ATTRIBUTE_COUNT_LIMIT,
    SPAN_EVENT_COUNT_LIMIT,
    SPAN_LINK_COUNT_LIMIT,
    EVENT_ATTRIBUTE_COUNT_LIMIT,
    LINK_ATTRIBUTE_COUNT_LIMIT,
    RING_CAPACITY,
    DRAIN_INTERVAL,
    SINK_TIMEOUT,
    SHUTDOWN_TIMEOUT,
    SINK_QUEUE_CAPACITY,
    MAX_BATCH_SIZE,
    DIAGNOSTICS,
    LOG_FILTER,
    LOG_RING_CAPACITY,
    LOGS_AS_SPAN_EVENTS,
    BOUND_FIELDS_ON_SPANS,
    SINKS,
    METRICS_ENABLED,
    METRICS_PROCESS,
    METRICS_TOKIO_RUNTIME,
    METRICS_PIPELINE,
    CARDINALITY_LIMIT,
    TRACES_EXPORTER,
    METRICS_EXPORTER,
    LOGS_EXPORTER,
];
