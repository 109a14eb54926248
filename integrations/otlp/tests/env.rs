//! The exporter's environment variables: every one parsed, every error path naming the
//! variable, the value and what it accepts, and code winning over the environment.
//! Nothing here touches the process environment.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use std::time::Duration;
use telem::{ConfigError, Sampler};
use telem_otlp::{
    config_from_env_vars, Compression, OtlpConfig, OtlpError, Protocol, ResolvedConfig, Signal,
    Temporality,
};

/// `config`, with `vars` as the environment, resolved.
fn resolved_with(config: OtlpConfig, vars: &[(&str, &str)]) -> ResolvedConfig {
    config
        .with_env_vars(vars.iter().copied())
        .unwrap()
        .resolve()
        .unwrap()
}

fn resolved(vars: &[(&str, &str)]) -> ResolvedConfig {
    resolved_with(OtlpConfig::new(), vars)
}

/// The value of header `name` for `signal`.
fn header(s: &ResolvedConfig, signal: Signal, name: &str) -> Option<String> {
    s.signal(signal)
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

fn env_error(vars: &[(&str, &str)]) -> ConfigError {
    match OtlpConfig::new().with_env_vars(vars.iter().copied()) {
        Err(e) => e,
        Ok(config) => match config.resolve() {
            Err(OtlpError::Config(e)) if e.variable.is_some() => e,
            other => panic!("{vars:?} should be refused, got {other:?}"),
        },
    }
}

#[cfg(feature = "protobuf")]
#[test]
fn every_variable_is_read() {
    let s = resolved(&[
        ("OTEL_SERVICE_NAME", "checkout"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=ignored,service.version=2.0,deployment.environment.name=staging,note=a%2Cb",
        ),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otlp.example.com:4318"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:9090/api/v1/otlp/v1/metrics"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=k1,x-scope=all"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=k2"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "9000"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "7000"),
        ("OTEL_BSP_SCHEDULE_DELAY", "250"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "12000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "4096"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1024"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("TELEMETRY_OTLP_SHUTDOWN_TIMEOUT", "1500"),
        ("TELEMETRY_OTLP_RETRY_INITIAL_BACKOFF", "200"),
        ("TELEMETRY_OTLP_RETRY_MAX_BACKOFF", "8000"),
        ("TELEMETRY_OTLP_SELF_METRICS", "false"),
    ]);
    assert_eq!(s.resource_attribute("service.name").unwrap(), "checkout");
    assert_eq!(s.resource_attribute("service.version").unwrap(), "2.0");
    assert_eq!(
        s.resource_attribute("deployment.environment.name").unwrap(),
        "staging"
    );
    assert_eq!(s.resource_attribute("note").unwrap(), "a,b");
    assert_eq!(s.traces.endpoint, "https://otlp.example.com:4318/v1/traces");
    assert_eq!(
        s.metrics.endpoint,
        "http://metrics:9090/api/v1/otlp/v1/metrics"
    );
    assert_eq!(header(&s, Signal::Traces, "api-key").unwrap(), "k2");
    assert_eq!(header(&s, Signal::Metrics, "api-key").unwrap(), "k1");
    assert_eq!(header(&s, Signal::Traces, "x-scope").unwrap(), "all");
    assert_eq!(s.traces.timeout, Duration::from_millis(2500));
    assert_eq!(s.metrics.timeout, Duration::from_millis(9000));
    assert_eq!(s.traces.compression, Compression::Gzip);
    assert_eq!(s.metrics.compression, Compression::None);
    assert_eq!(s.traces.protocol, Protocol::HttpProtobuf);
    assert_eq!(s.metrics.protocol, Protocol::HttpJson);
    assert_eq!(s.temporality, Temporality::Delta);
    assert_eq!(s.metric_export_interval, Duration::from_secs(15));
    assert_eq!(s.metric_export_timeout, Duration::from_secs(7));
    assert_eq!(s.schedule_delay, Duration::from_millis(250));
    assert_eq!(s.export_timeout, Duration::from_secs(12));
    assert_eq!(s.max_queue_size, 4096);
    assert_eq!(s.max_export_batch_size, 1024);
    assert!(s.traces.enabled);
    assert!(!s.metrics.enabled);
    assert_eq!(s.shutdown_timeout, Duration::from_millis(1500));
    assert_eq!(s.retry.initial_backoff(), Duration::from_millis(200));
    assert_eq!(s.retry.max_backoff(), Duration::from_secs(8));
    assert!(!s.self_metrics);
}

/// The logs signal's variables (§ "Configuration Options" of the OTLP exporter
/// specification: `OTEL_EXPORTER_OTLP_LOGS_*`; § "Batch LogRecord Processor":
/// `OTEL_BLRP_*`), each winning over its general variable for logs only.
#[cfg(feature = "protobuf")]
#[test]
fn every_logs_variable_is_read() {
    let s = resolved(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "https://logs.example.com/ingest",
        ),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=k1,x-scope=all"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
            "api-key=k3,x-tenant=shelf%20A",
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "4000"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "250"),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "12000"),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "8192"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "1024"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "50"),
    ]);
    let logs = s.signal(Signal::Logs);
    // A signal's endpoint is used as given; the others get their path on the base.
    assert_eq!(logs.endpoint, "https://logs.example.com/ingest");
    assert_eq!(s.traces.endpoint, "http://collector:4318/v1/traces");
    assert_eq!(header(&s, Signal::Logs, "api-key").unwrap(), "k3");
    assert_eq!(header(&s, Signal::Logs, "x-tenant").unwrap(), "shelf A");
    assert_eq!(header(&s, Signal::Logs, "x-scope").unwrap(), "all");
    assert_eq!(header(&s, Signal::Traces, "api-key").unwrap(), "k1");
    assert_eq!(header(&s, Signal::Traces, "x-tenant"), None);
    assert_eq!(logs.timeout, Duration::from_secs(4));
    assert_eq!(s.traces.timeout, Duration::from_millis(2500));
    assert_eq!(logs.compression, Compression::Gzip);
    assert_eq!(s.traces.compression, Compression::None);
    assert_eq!(logs.protocol, Protocol::HttpJson);
    assert_eq!(s.traces.protocol, Protocol::HttpProtobuf);
    assert!(logs.enabled);
    assert_eq!(s.logs_schedule_delay, Duration::from_millis(250));
    assert_eq!(s.logs_export_timeout, Duration::from_secs(12));
    assert_eq!(
        (s.logs_max_queue_size, s.logs_max_export_batch_size),
        (8192, 1024)
    );
    // The spans' batch processor keeps its own.
    assert_eq!((s.max_queue_size, s.max_export_batch_size), (100, 50));
    assert_eq!(s.schedule_delay, Duration::from_secs(5));

    // § "Endpoint URLs for OTLP/HTTP", example 3: a base with a path and a trailing
    // slash gives `<base>v1/logs`.
    let s = resolved(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://collector:4318/mycollector/",
    )]);
    assert_eq!(s.logs.endpoint, "http://collector:4318/mycollector/v1/logs");

    // OTEL_LOGS_EXPORTER switches the signal, as the other lists do theirs.
    let s = resolved(&[("OTEL_LOGS_EXPORTER", "console")]);
    assert!(!s.logs.enabled && s.traces.enabled && s.metrics.enabled);
    let s = resolved(&[
        ("OTEL_LOGS_EXPORTER", "otlp"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]);
    assert!(s.logs.enabled && !s.traces.enabled);
}

#[test]
fn logs_settings_in_code_win_over_the_environment() {
    let s = resolved_with(
        OtlpConfig::new()
            .with_logs_endpoint("http://code/logs")
            .with_logs_schedule_delay(Duration::from_millis(13))
            .with_logs_export_timeout(Duration::from_millis(14))
            .with_logs_max_queue_size(15)
            .with_logs_max_export_batch_size(5)
            .with_signal(Signal::Logs, true),
        &[
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://env/logs"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "5555"),
            ("OTEL_BLRP_EXPORT_TIMEOUT", "6666"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "7777"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "77"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ],
    );
    assert_eq!(s.logs.endpoint, "http://code/logs");
    assert_eq!(s.logs_schedule_delay, Duration::from_millis(13));
    assert_eq!(s.logs_export_timeout, Duration::from_millis(14));
    assert_eq!(
        (s.logs_max_queue_size, s.logs_max_export_batch_size),
        (15, 5)
    );
    assert!(s.logs.enabled);
    // A base endpoint in code beats the environment's logs endpoint, as for traces.
    let s = resolved_with(
        OtlpConfig::new().with_endpoint("http://code:4318"),
        &[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://env/logs")],
    );
    assert_eq!(s.logs.endpoint, "http://code:4318/v1/logs");
}

#[test]
fn lowmemory_temporality_is_delta_and_empty_values_are_unset() {
    let s = resolved(&[
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "lowmemory",
        ),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
        ("OTEL_BSP_MAX_QUEUE_SIZE", " "),
    ]);
    assert_eq!(s.temporality, Temporality::Delta);
    assert_eq!(s.traces.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(s.max_queue_size, 2048);
}

#[test]
fn every_invalid_value_names_variable_value_and_range() {
    let ms_600 = "1 to 600000 (milliseconds)";
    let ms_3600 = "1 to 3600000 (milliseconds)";
    let headers = "comma-separated name=value pairs, percent-encoded, that are valid HTTP headers";
    let compression = "gzip or none";
    let protocol = "http/protobuf or http/json (grpc is not supported)";
    let url = "an absolute http:// or https:// URL";
    let exporters =
        "otlp, console, or both comma-separated (prometheus serves metrics only), or none alone";
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            vec!["0", "600001", "10s"],
            ms_600,
        ),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", vec!["0", "-1"], ms_600),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", vec!["600001"], ms_600),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", vec!["0", "5s"], ms_600),
        (
            "OTEL_EXPORTER_OTLP_COMPRESSION",
            vec!["brotli", "GZIP"],
            compression,
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
            vec!["zstd"],
            compression,
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
            vec!["deflate"],
            compression,
        ),
        (
            "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION",
            vec!["br"],
            compression,
        ),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", vec!["grpc"], protocol),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            vec!["logs:4318", "file:///tmp/logs"],
            url,
        ),
        ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", vec!["k=%zz"], headers),
        ("OTEL_BLRP_SCHEDULE_DELAY", vec!["0", "3600001"], ms_3600),
        ("OTEL_BLRP_EXPORT_TIMEOUT", vec!["soon"], ms_3600),
        (
            "OTEL_BLRP_MAX_QUEUE_SIZE",
            vec!["0", "1000001"],
            "an integer from 1 to 1000000 (log records)",
        ),
        (
            "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
            vec!["0"],
            "an integer from 1 to 1000000 (log records, at most the queue size)",
        ),
        (
            "OTEL_LOGS_EXPORTER",
            vec!["prometheus", "logging", "otlp,none"],
            exporters,
        ),
        (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            vec!["grpc", "http"],
            protocol,
        ),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", vec!["grpc"], protocol),
        (
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            vec!["thrift"],
            protocol,
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            vec!["localhost:4318", "ftp://collector", "http://"],
            url,
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            vec!["/v1/traces"],
            url,
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            vec!["not a url"],
            url,
        ),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            vec!["novalue", "=v", "k=%zz", "bad%20name=v", "k=line%0Abreak"],
            headers,
        ),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", vec!["x"], headers),
        (
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
            vec!["a=%E2%28"],
            headers,
        ),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            vec!["service.name", "a=%g1"],
            "comma-separated key=value pairs, percent-encoded",
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            vec!["sometimes"],
            "cumulative, delta or lowmemory",
        ),
        (
            "OTEL_METRIC_EXPORT_INTERVAL",
            vec!["0", "3600001", "1m"],
            ms_3600,
        ),
        ("OTEL_METRIC_EXPORT_TIMEOUT", vec!["0"], ms_3600),
        ("OTEL_BSP_SCHEDULE_DELAY", vec!["0", "3600001"], ms_3600),
        ("OTEL_BSP_EXPORT_TIMEOUT", vec!["x"], ms_3600),
        (
            "OTEL_BSP_MAX_QUEUE_SIZE",
            vec!["0", "1000001", "-5"],
            "an integer from 1 to 1000000 (spans)",
        ),
        (
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            vec!["0", "many"],
            "an integer from 1 to 1000000 (spans, at most the queue size)",
        ),
        (
            "OTEL_TRACES_EXPORTER",
            vec!["zipkin", "prometheus", "none,otlp"],
            exporters,
        ),
        (
            "OTEL_METRICS_EXPORTER",
            vec!["logging", "otlp,jaeger"],
            "a comma-separated list of otlp, prometheus and console, or none alone",
        ),
        (
            "TELEMETRY_OTLP_SHUTDOWN_TIMEOUT",
            vec!["0", "600001"],
            ms_600,
        ),
        ("TELEMETRY_OTLP_RETRY_INITIAL_BACKOFF", vec!["0"], ms_600),
        (
            "TELEMETRY_OTLP_RETRY_MAX_BACKOFF",
            vec!["fast"],
            "1 to 600000 (milliseconds, at least the initial backoff)",
        ),
        (
            "TELEMETRY_OTLP_SELF_METRICS",
            vec!["yes", "1"],
            "true or false",
        ),
    ];
    for (variable, values, accepted) in cases {
        for value in values {
            let e = env_error(&[(variable, value)]);
            assert_eq!(
                (e.variable, e.value.as_str(), e.accepted.as_ref()),
                (Some(variable), value, accepted),
                "{variable}={value:?}"
            );
            let text = e.to_string();
            assert!(text.contains(variable) && text.contains(accepted), "{text}");
        }
    }
}

#[test]
fn settings_that_depend_on_each_other_name_the_variable() {
    let e = env_error(&[
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200"),
    ]);
    assert_eq!(
        (e.variable, e.value.as_str()),
        (Some("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"), "200")
    );
    let e = env_error(&[
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "200"),
    ]);
    assert_eq!(
        (e.variable, e.value.as_str()),
        (Some("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"), "200")
    );
    // The default batch (512) shrinks to a smaller queue instead of being refused.
    let s = resolved(&[("OTEL_BLRP_MAX_QUEUE_SIZE", "100")]);
    assert_eq!(s.logs_max_export_batch_size, 100);
    let e = env_error(&[
        ("TELEMETRY_OTLP_RETRY_INITIAL_BACKOFF", "5000"),
        ("TELEMETRY_OTLP_RETRY_MAX_BACKOFF", "100"),
    ]);
    assert_eq!(
        (e.variable, e.value.as_str()),
        (Some("TELEMETRY_OTLP_RETRY_MAX_BACKOFF"), "100")
    );
}

#[test]
fn code_wins_over_the_environment_which_wins_over_defaults() {
    let vars = [
        ("OTEL_SERVICE_NAME", "from-env"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://env-traces:4318/v1/traces",
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1234"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "99"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
    ];
    let s = resolved_with(
        OtlpConfig::new()
            .with_service_name("from-code")
            .with_endpoint("http://code:4318")
            .with_timeout(Duration::from_secs(3))
            .with_max_queue_size(500),
        &vars,
    );
    assert_eq!(s.resource_attribute("service.name").unwrap(), "from-code");
    // A base endpoint in code beats even a signal-specific one from the environment.
    assert_eq!(s.traces.endpoint, "http://code:4318/v1/traces");
    assert_eq!(s.traces.timeout, Duration::from_secs(3));
    assert_eq!(s.max_queue_size, 500);
    // Not set in code: the environment's value.
    assert_eq!(s.traces.compression, Compression::Gzip);
    // Neither: the default.
    assert_eq!(s.schedule_delay, Duration::from_secs(5));

    let env_only = resolved(&vars);
    assert_eq!(env_only.traces.endpoint, "http://env-traces:4318/v1/traces");
    assert_eq!(env_only.metrics.endpoint, "http://env:4318/v1/metrics");
    assert_eq!(env_only.traces.timeout, Duration::from_millis(1234));

    // The protocol in code wins over the environment's.
    let s = resolved_with(
        OtlpConfig::new().with_protocol(Protocol::HttpJson),
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
    );
    assert_eq!(s.traces.protocol, Protocol::HttpJson);
}

/// Each `with_*` setter, called before the environment is read, keeps its value against
/// a variable that sets the same setting.
#[test]
fn every_setter_wins_over_the_environment() {
    use telem_otlp::RetryPolicy;
    let vars = [
        ("OTEL_SERVICE_NAME", "env"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.version=env,deployment.environment.name=env",
        ),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://env/traces"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://env/metrics"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-key=env"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1111"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2222"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
        ("OTEL_TRACES_EXPORTER", "none"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "cumulative",
        ),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3333"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "4444"),
        ("OTEL_BSP_SCHEDULE_DELAY", "5555"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "6666"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "7777"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "77"),
        ("TELEMETRY_OTLP_SHUTDOWN_TIMEOUT", "8888"),
        ("TELEMETRY_OTLP_RETRY_INITIAL_BACKOFF", "99"),
        ("TELEMETRY_OTLP_RETRY_MAX_BACKOFF", "999"),
        ("TELEMETRY_OTLP_SELF_METRICS", "true"),
    ];
    let config = OtlpConfig::new()
        .with_service_name("code")
        .with_service_version("code")
        .with_deployment_environment("code")
        .with_service_instance_id("code-instance")
        .with_endpoint("http://code:4318")
        .with_metrics_endpoint("http://code/metrics")
        .with_header("x-key", "code")
        .with_timeout(Duration::from_millis(10))
        .with_compression(Compression::Gzip)
        .with_protocol(Protocol::HttpJson)
        .with_signal(Signal::Traces, true)
        .with_temporality(Temporality::Delta)
        .with_metric_export_interval(Duration::from_millis(11))
        .with_metric_export_timeout(Duration::from_millis(12))
        .with_schedule_delay(Duration::from_millis(13))
        .with_export_timeout(Duration::from_millis(14))
        .with_max_queue_size(15)
        .with_max_export_batch_size(5)
        .with_shutdown_timeout(Duration::from_millis(16))
        .with_retry(
            RetryPolicy::new()
                .with_initial_backoff(Duration::from_millis(17))
                .with_max_backoff(Duration::from_millis(18)),
        )
        .with_self_metrics(false);
    let s = resolved_with(config, &vars);
    for key in [
        "service.name",
        "service.version",
        "deployment.environment.name",
    ] {
        assert_eq!(s.resource_attribute(key).unwrap(), "code", "{key}");
    }
    assert_eq!(
        s.resource_attribute("service.instance.id").unwrap(),
        "code-instance"
    );
    assert_eq!(s.traces.endpoint, "http://code:4318/v1/traces");
    assert_eq!(s.metrics.endpoint, "http://code/metrics");
    assert_eq!(s.traces.headers, [("x-key".to_owned(), "code".to_owned())]);
    assert_eq!(
        (s.traces.timeout, s.metrics.timeout),
        (Duration::from_millis(10), Duration::from_millis(10))
    );
    assert_eq!(
        (s.traces.compression, s.metrics.compression),
        (Compression::Gzip, Compression::Gzip)
    );
    assert_eq!(
        (s.traces.protocol, s.metrics.protocol),
        (Protocol::HttpJson, Protocol::HttpJson)
    );
    assert!(s.traces.enabled);
    assert_eq!(s.temporality, Temporality::Delta);
    assert_eq!(s.metric_export_interval, Duration::from_millis(11));
    assert_eq!(s.metric_export_timeout, Duration::from_millis(12));
    assert_eq!(s.schedule_delay, Duration::from_millis(13));
    assert_eq!(s.export_timeout, Duration::from_millis(14));
    assert_eq!((s.max_queue_size, s.max_export_batch_size), (15, 5));
    assert_eq!(s.shutdown_timeout, Duration::from_millis(16));
    assert_eq!(
        (s.retry.initial_backoff(), s.retry.max_backoff()),
        (Duration::from_millis(17), Duration::from_millis(18))
    );
    assert!(!s.self_metrics);
}

#[test]
fn a_whole_pipeline_from_the_environment() {
    let env = config_from_env_vars([
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "32"),
        ("TELEMETRY_RING_CAPACITY", "1024"),
        ("OTEL_TRACES_EXPORTER", "otlp, console"),
        ("TELEMETRY_CONSOLE_FORMAT", "pretty"),
        ("OTEL_SERVICE_NAME", "env-service"),
    ])
    .unwrap();
    let config = &env.config;
    assert_eq!(
        config.sampler(),
        Sampler::parent_based(Sampler::TraceIdRatioBased(0.5))
    );
    assert_eq!(config.span_limits().max_attributes, 32);
    assert_eq!(config.ring_capacity(), 1024);
    assert_eq!(config.sinks().len(), 2, "console and otlp");
    let otlp = env.otlp.unwrap();
    assert_eq!(
        otlp.config().resource_attribute("service.name").unwrap(),
        "env-service"
    );

    // OTEL_SDK_DISABLED: nothing is built, whatever the lists say.
    let env = config_from_env_vars([
        ("OTEL_SDK_DISABLED", "true"),
        ("OTEL_METRICS_EXPORTER", "prometheus,console"),
    ])
    .unwrap();
    assert!(env.config.disabled());
    assert!(env.config.sinks().is_empty() && env.otlp.is_none() && env.prometheus.is_none());

    let e = config_from_env_vars([("TELEMETRY_CONSOLE_FORMAT", "yaml")]).unwrap_err();
    assert!(
        matches!(&e, OtlpError::Config(e) if e.variable == Some("TELEMETRY_CONSOLE_FORMAT") && e.value == "yaml"),
        "{e}"
    );
    // Core variables are checked too.
    let e = config_from_env_vars([
        ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
    ])
    .unwrap_err();
    assert!(
        matches!(&e, OtlpError::Config(e) if e.variable == Some("OTEL_TRACES_SAMPLER_ARG")),
        "{e}"
    );
}

/// Headers often carry credentials (`api-key=…`), and configurations end up in logs:
/// `Debug` of the builder and of the resolved settings shows header names only.
#[test]
fn debug_output_never_shows_header_values() {
    let config = OtlpConfig::new()
        .with_header("x-code-key", "code-secret")
        .with_env_vars([("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=env-secret")])
        .unwrap();
    let shown = format!("{config:?} {:?}", config.resolve().unwrap());
    assert!(!shown.contains("secret"), "{shown}");
    assert!(
        shown.contains("api-key") && shown.contains("x-code-key"),
        "{shown}"
    );
    assert!(shown.contains("<redacted>"), "{shown}");
}
