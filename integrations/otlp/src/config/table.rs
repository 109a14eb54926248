//! The exporter's settings, once: [`SETTINGS`](crate::SETTINGS). [`OtlpConfig`]'s
//! defaults and checks, its environment parser and `docs/configuration.md` all read
//! these rows.
//!
//! [`OtlpConfig`]: crate::OtlpConfig

use telem::Setting;

const URL: &str = "an absolute http:// or https:// URL";
const PAIRS: &str = "comma-separated key=value pairs, percent-encoded";
const HEADER_PAIRS: &str =
    "comma-separated name=value pairs, percent-encoded, that are valid HTTP headers";
const COMPRESSIONS: &str = "gzip or none";
const PROTOCOLS: &str = "http/protobuf or http/json (grpc is not supported)";

pub(crate) const SERVICE_NAME: Setting =
    Setting::described("service_name", "`unknown_service:<executable>`", "any text")
        .with_variable("OTEL_SERVICE_NAME")
        .with_description(
            "the `service.name` resource attribute; wins over one in `OTEL_RESOURCE_ATTRIBUTES`",
        );

pub(crate) const RESOURCE: Setting = Setting::described(
    "resource",
    "`service.instance.id`, `host.name`, `process.pid`, `telemetry.sdk.*`",
    PAIRS,
)
.with_variable("OTEL_RESOURCE_ATTRIBUTES")
.with_description(
    "resource attributes (`with_resource_attribute`, `with_service_version`, \
     `with_deployment_environment`, `with_service_instance_id`); a later one replaces an \
     earlier one with the same key",
);

pub(crate) const SCOPE_VERSIONS: Setting = Setting::described("scope_versions", "none", "any text")
    .with_description("the version reported for an instrumentation scope (`with_scope_version`)");

pub(crate) const ENDPOINT: Setting = Setting::described("endpoint", "`http://localhost:4318`", URL)
    .with_variable("OTEL_EXPORTER_OTLP_ENDPOINT")
    .with_description(
        "the base URL of every signal: `/v1/traces`, `/v1/metrics` and `/v1/logs` are \
         appended (`https` needs the `tls` feature, on by default)",
    );

pub(crate) const TRACES_ENDPOINT: Setting =
    Setting::described("traces.endpoint", "the base endpoint's `/v1/traces`", URL)
        .with_variable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .with_description("the full URL for spans, used as given (`with_traces_endpoint`)");

pub(crate) const METRICS_ENDPOINT: Setting =
    Setting::described("metrics.endpoint", "the base endpoint's `/v1/metrics`", URL)
        .with_variable("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .with_description("the full URL for metrics, used as given (`with_metrics_endpoint`)");

pub(crate) const LOGS_ENDPOINT: Setting =
    Setting::described("logs.endpoint", "the base endpoint's `/v1/logs`", URL)
        .with_variable("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
        .with_description("the full URL for log records, used as given (`with_logs_endpoint`)");

pub(crate) const HEADERS: Setting = Setting::described("headers", "none", HEADER_PAIRS)
    .with_variable("OTEL_EXPORTER_OTLP_HEADERS")
    .with_description(
        "headers of every request (`with_header`); one set in code replaces one of the same \
         name from the environment",
    );

pub(crate) const TRACES_HEADERS: Setting =
    Setting::described("traces.headers", "none", HEADER_PAIRS)
        .with_variable("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        .with_description("headers of span requests, over `headers`");

pub(crate) const METRICS_HEADERS: Setting =
    Setting::described("metrics.headers", "none", HEADER_PAIRS)
        .with_variable("OTEL_EXPORTER_OTLP_METRICS_HEADERS")
        .with_description("headers of metrics requests, over `headers`");

pub(crate) const LOGS_HEADERS: Setting = Setting::described("logs.headers", "none", HEADER_PAIRS)
    .with_variable("OTEL_EXPORTER_OTLP_LOGS_HEADERS")
    .with_description("headers of log requests, over `headers`");

pub(crate) const TIMEOUT: Setting = Setting::millis("timeout", 10_000, 1, 600_000)
    .with_variable("OTEL_EXPORTER_OTLP_TIMEOUT")
    .with_description("how long one request may take, connection included");

pub(crate) const TRACES_TIMEOUT: Setting = Setting::millis("traces.timeout", 10_000, 1, 600_000)
    .with_default_text("`timeout`'s")
    .with_variable("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
    .with_description("the same, for span requests");

pub(crate) const METRICS_TIMEOUT: Setting = Setting::millis("metrics.timeout", 10_000, 1, 600_000)
    .with_default_text("`timeout`'s")
    .with_variable("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT")
    .with_description("the same, for metrics requests");

pub(crate) const LOGS_TIMEOUT: Setting = Setting::millis("logs.timeout", 10_000, 1, 600_000)
    .with_default_text("`timeout`'s")
    .with_variable("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT")
    .with_description("the same, for log requests");

pub(crate) const COMPRESSION: Setting = Setting::described("compression", "`none`", COMPRESSIONS)
    .with_variable("OTEL_EXPORTER_OTLP_COMPRESSION")
    .with_description("request body compression (gzip: JSON shrinks 5–10x)");

pub(crate) const TRACES_COMPRESSION: Setting =
    Setting::described("traces.compression", "`compression`'s", COMPRESSIONS)
        .with_variable("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION")
        .with_description("the same, for span requests");

pub(crate) const METRICS_COMPRESSION: Setting =
    Setting::described("metrics.compression", "`compression`'s", COMPRESSIONS)
        .with_variable("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION")
        .with_description("the same, for metrics requests");

pub(crate) const LOGS_COMPRESSION: Setting =
    Setting::described("logs.compression", "`compression`'s", COMPRESSIONS)
        .with_variable("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION")
        .with_description("the same, for log requests");

pub(crate) const PROTOCOL: Setting = Setting::described(
    "protocol",
    "`http/protobuf` (`http/json` without the `protobuf` feature)",
    PROTOCOLS,
)
.with_variable("OTEL_EXPORTER_OTLP_PROTOCOL")
.with_description("request body encoding");

pub(crate) const TRACES_PROTOCOL: Setting =
    Setting::described("traces.protocol", "`protocol`'s", PROTOCOLS)
        .with_variable("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .with_description("the same, for span requests");

pub(crate) const METRICS_PROTOCOL: Setting =
    Setting::described("metrics.protocol", "`protocol`'s", PROTOCOLS)
        .with_variable("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
        .with_description("the same, for metrics requests");

pub(crate) const LOGS_PROTOCOL: Setting =
    Setting::described("logs.protocol", "`protocol`'s", PROTOCOLS)
        .with_variable("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL")
        .with_description("the same, for log requests");

pub(crate) const TRACES_ENABLED: Setting = Setting::bool("traces.enabled", true).with_description(
    "whether spans are sent (`with_signal`); from the environment, on where \
     `OTEL_TRACES_EXPORTER` names `otlp`",
);

pub(crate) const METRICS_ENABLED: Setting = Setting::bool("metrics.enabled", true)
    .with_description(
        "whether metrics are sent (`with_signal`); from the environment, on where \
         `OTEL_METRICS_EXPORTER` names `otlp`",
    );

pub(crate) const LOGS_ENABLED: Setting = Setting::bool("logs.enabled", true).with_description(
    "whether log records are sent (`with_signal`); from the environment, on where \
     `OTEL_LOGS_EXPORTER` names `otlp`",
);

pub(crate) const TEMPORALITY: Setting = Setting::described(
    "temporality",
    "`cumulative`",
    "cumulative, delta or lowmemory",
)
.with_variable("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE")
.with_description("sums and histograms as totals or as changes (`lowmemory` is `delta` here)");

pub(crate) const METRIC_EXPORT_INTERVAL: Setting =
    Setting::millis("metric_export_interval", 60_000, 1, 3_600_000)
        .with_variable("OTEL_METRIC_EXPORT_INTERVAL")
        .with_description("how often metrics are sent (the latest drain tick's snapshot)");

pub(crate) const METRIC_EXPORT_TIMEOUT: Setting =
    Setting::millis("metric_export_timeout", 30_000, 1, 3_600_000)
        .with_variable("OTEL_METRIC_EXPORT_TIMEOUT")
        .with_description("how long one metrics export may take, retries included");

pub(crate) const SCHEDULE_DELAY: Setting = Setting::millis("schedule_delay", 5000, 1, 3_600_000)
    .with_variable("OTEL_BSP_SCHEDULE_DELAY")
    .with_description(
        "the longest a span waits in the queue before it is sent (a full batch leaves at once)",
    );

pub(crate) const EXPORT_TIMEOUT: Setting = Setting::millis("export_timeout", 30_000, 1, 3_600_000)
    .with_variable("OTEL_BSP_EXPORT_TIMEOUT")
    .with_description("how long one span batch may take, retries included");

pub(crate) const MAX_QUEUE_SIZE: Setting = Setting::integer("max_queue_size", 2048, 1, 1_000_000)
    .with_note("spans")
    .with_variable("OTEL_BSP_MAX_QUEUE_SIZE")
    .with_description(
        "spans the queue holds while the collector is slow or down; a drain batch that does \
         not fit waits up to 1 s for room, then the rest is dropped and counted",
    );

pub(crate) const MAX_EXPORT_BATCH_SIZE: Setting =
    Setting::integer("max_export_batch_size", 512, 1, 1_000_000)
        .with_note("spans, at most the queue size")
        .with_default_text("512 (at most the queue size)")
        .with_variable("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
        .with_description("most spans in one request");

pub(crate) const LOGS_SCHEDULE_DELAY: Setting =
    Setting::millis("logs.schedule_delay", 1000, 1, 3_600_000)
        .with_variable("OTEL_BLRP_SCHEDULE_DELAY")
        .with_description(
            "the longest a log record waits in its queue before it is sent (a full batch \
             leaves at once)",
        );

pub(crate) const LOGS_EXPORT_TIMEOUT: Setting =
    Setting::millis("logs.export_timeout", 30_000, 1, 3_600_000)
        .with_variable("OTEL_BLRP_EXPORT_TIMEOUT")
        .with_description("how long one batch of log records may take, retries included");

pub(crate) const LOGS_MAX_QUEUE_SIZE: Setting =
    Setting::integer("logs.max_queue_size", 2048, 1, 1_000_000)
        .with_note("log records")
        .with_variable("OTEL_BLRP_MAX_QUEUE_SIZE")
        .with_description(
            "log records the queue holds while the collector is slow or down; as for spans, \
             a drain batch that does not fit waits up to 1 s for room, then the rest is \
             dropped and counted",
        );

pub(crate) const LOGS_MAX_EXPORT_BATCH_SIZE: Setting =
    Setting::integer("logs.max_export_batch_size", 512, 1, 1_000_000)
        .with_note("log records, at most the queue size")
        .with_default_text("512 (at most the queue size)")
        .with_variable("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE")
        .with_description("most log records in one request");

// The default stays below the pipeline's 5 s `sink_timeout`, so a shutdown ends on the
// exporter's own deadline rather than being abandoned by the pipeline.
pub(crate) const SHUTDOWN_TIMEOUT: Setting = Setting::millis("shutdown_timeout", 3000, 1, 600_000)
    .with_variable("TELEMETRY_OTLP_SHUTDOWN_TIMEOUT")
    .with_description("how long flush and shutdown wait for the queue to be sent");

pub(crate) const RETRY_INITIAL_BACKOFF: Setting =
    Setting::millis("retry.initial_backoff", 1000, 1, 600_000)
        .with_variable("TELEMETRY_OTLP_RETRY_INITIAL_BACKOFF")
        .with_description("the wait before the first retry, then doubled (`with_retry`)");

pub(crate) const RETRY_MAX_BACKOFF: Setting =
    Setting::millis("retry.max_backoff", 30_000, 1, 600_000)
        .with_note("at least the initial backoff")
        .with_variable("TELEMETRY_OTLP_RETRY_MAX_BACKOFF")
        .with_description("the longest wait between two attempts (`with_retry`)");

pub(crate) const SELF_METRICS: Setting = Setting::bool("self_metrics", true)
    .with_variable("TELEMETRY_OTLP_SELF_METRICS")
    .with_description(
        "the exporter's outcomes counted in the global metrics registry too (`telemetry_otlp_*`)",
    );

pub(crate) const CONSOLE_FORMAT: Setting =
    Setting::described("console_format", "`json`", "json or pretty")
        .with_variable("TELEMETRY_CONSOLE_FORMAT")
        .with_description("how the `console` exporter of `config_from_env` prints (any case)");

/// Every setting of the OTLP exporter ([`OtlpConfig`](crate::OtlpConfig), and the console
/// format of [`config_from_env`](crate::config_from_env)), with its environment
/// variable, default and accepted values. `docs/configuration.md` shows it (a test checks
/// that it is up to date). The pipeline's own settings are in [`telem::SETTINGS`].
///
/// ```
/// let queue = telem_otlp::SETTINGS.iter().find(|s| s.name() == "max_queue_size").unwrap();
/// assert_eq!(queue.variable(), Some("OTEL_BSP_MAX_QUEUE_SIZE"));
/// assert_eq!(queue.default_integer(), 2048);
/// ```
pub const SETTINGS: &[Setting] = &[
    SERVICE_NAME,
    RESOURCE,
    SCOPE_VERSIONS,
    ENDPOINT,
    TRACES_ENDPOINT,
    METRICS_ENDPOINT,
    LOGS_ENDPOINT,
    HEADERS,
    TRACES_HEADERS,
    METRICS_HEADERS,
    LOGS_HEADERS,
    TIMEOUT,
    TRACES_TIMEOUT,
    METRICS_TIMEOUT,
    LOGS_TIMEOUT,
    COMPRESSION,
    TRACES_COMPRESSION,
    METRICS_COMPRESSION,
    LOGS_COMPRESSION,
    PROTOCOL,
    TRACES_PROTOCOL,
    METRICS_PROTOCOL,
    LOGS_PROTOCOL,
    TRACES_ENABLED,
    METRICS_ENABLED,
    LOGS_ENABLED,
    TEMPORALITY,
    METRIC_EXPORT_INTERVAL,
    METRIC_EXPORT_TIMEOUT,
    SCHEDULE_DELAY,
    EXPORT_TIMEOUT,
    MAX_QUEUE_SIZE,
    MAX_EXPORT_BATCH_SIZE,
    LOGS_SCHEDULE_DELAY,
    LOGS_EXPORT_TIMEOUT,
    LOGS_MAX_QUEUE_SIZE,
    LOGS_MAX_EXPORT_BATCH_SIZE,
    SHUTDOWN_TIMEOUT,
    RETRY_INITIAL_BACKOFF,
    RETRY_MAX_BACKOFF,
    SELF_METRICS,
    CONSOLE_FORMAT,
];
