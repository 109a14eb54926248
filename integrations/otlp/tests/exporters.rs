//! Exporters chosen the standard way (`OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`,
//! `OTEL_LOGS_EXPORTER`): the sinks `config_from_env_vars` builds for each list, the
//! OTLP signals the lists switch, the console sink writing only the signals whose list
//! names it, and pipelines built from the environment sending to the fake collector.
//! Nothing here touches the process environment.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use common::{Collector, ONE_PIPELINE};
use std::io::Write;
use std::sync::{Arc, Mutex};
use telem::{
    Config, Exporter, Exporters, Level, LogRecord, Sink, StdoutFormat, StdoutSink, Tracer,
};
use telem_otlp::{config_from_env_vars, EnvPipeline, OtlpConfig, Signal};

static TRACER: Tracer = Tracer::new("env-pipeline");

fn signals(vars: &[(&str, &str)]) -> (bool, bool, bool) {
    let s = OtlpConfig::new()
        .with_env_vars(vars.iter().copied())
        .unwrap()
        .resolve()
        .unwrap();
    (s.traces.enabled, s.metrics.enabled, s.logs.enabled)
}

// § "Exporter Selection": the OTLP exporter sends a signal whose list names `otlp`
// (the default, `otlp`, when the variable is unset).
#[test]
fn each_list_switches_the_otlp_signal_it_names() {
    assert_eq!(signals(&[]), (true, true, true));
    assert_eq!(
        signals(&[
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_METRICS_EXPORTER", "Prometheus,OTLP"),
        ]),
        (false, true, true)
    );
    assert_eq!(
        signals(&[
            ("OTEL_TRACES_EXPORTER", "console, otlp"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "console"),
        ]),
        (true, false, false)
    );
    assert_eq!(
        signals(&[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "OTLP"),
        ]),
        (false, false, true)
    );
    // A signal switched in code wins over the environment, as every setting does.
    let s = OtlpConfig::new()
        .with_signal(Signal::Traces, true)
        .with_env_vars([("OTEL_TRACES_EXPORTER", "none")])
        .unwrap()
        .resolve()
        .unwrap();
    assert!(s.traces.enabled);
}

/// What `config_from_env_vars` built: the number of sinks, the OTLP sink's (traces,
/// metrics, logs) signals if it built one, whether it built a Prometheus sink.
type Built = (usize, Option<(bool, bool, bool)>, bool);

fn built(vars: &[(&str, &str)]) -> Built {
    let env = config_from_env_vars(vars.iter().copied()).unwrap();
    let otlp = env.otlp.map(|o| {
        let s = o.config();
        (s.traces.enabled, s.metrics.enabled, s.logs.enabled)
    });
    (env.config.sinks().len(), otlp, env.prometheus.is_some())
}

// § "Exporter Selection": otlp, console, prometheus (metrics) and none, one or several.
#[test]
fn the_lists_pick_the_sinks() {
    const T: &str = "OTEL_TRACES_EXPORTER";
    const M: &str = "OTEL_METRICS_EXPORTER";
    const L: &str = "OTEL_LOGS_EXPORTER";
    let cases: &[(&[(&str, &str)], Built)] = &[
        // Unset: OpenTelemetry's default, otlp for every signal.
        (&[], (1, Some((true, true, true)), false)),
        (&[(T, "none"), (M, "none"), (L, "none")], (0, None, false)),
        // OTEL_LOGS_EXPORTER unset is otlp too.
        (
            &[(T, "none"), (M, "none")],
            (1, Some((false, false, true)), false),
        ),
        (
            &[(T, "console"), (M, "none"), (L, "none")],
            (1, None, false),
        ),
        (
            &[(T, "none"), (M, "console"), (L, "none")],
            (1, None, false),
        ),
        (
            &[(T, "none"), (M, "none"), (L, "console")],
            (1, None, false),
        ),
        // One console sink writes all three.
        (
            &[(T, "console"), (M, "console"), (L, "console")],
            (1, None, false),
        ),
        (
            &[(T, "otlp"), (M, "prometheus"), (L, "none")],
            (2, Some((true, false, false)), true),
        ),
        (
            &[(T, "none"), (M, "otlp"), (L, "none")],
            (1, Some((false, true, false)), false),
        ),
        (
            &[
                (T, "console"),
                (M, "otlp,prometheus,console"),
                (L, "otlp,console"),
            ],
            (3, Some((false, true, true)), true),
        ),
        (
            &[(T, "console"), (M, "none"), (L, "otlp")],
            (2, Some((false, false, true)), false),
        ),
    ];
    for (vars, expected) in cases {
        assert_eq!(built(vars), *expected, "{vars:?}");
    }
}

#[test]
fn an_application_gives_its_own_defaults_for_unset_variables() {
    let app = Exporters::new()
        .with_default_traces(Exporter::Console)
        .with_default_metrics(Exporter::Prometheus)
        .with_default_logs(Exporter::Console);
    let build = |vars: &[(&str, &str)]| {
        EnvPipeline::new(
            Config::new(),
            app.with_env_vars(vars.iter().copied()).unwrap(),
            OtlpConfig::new(),
            StdoutSink::new(),
        )
        .unwrap()
    };
    let defaults = build(&[]);
    assert_eq!(defaults.config.sinks().len(), 2, "console and prometheus");
    assert!(defaults.otlp.is_none() && defaults.prometheus.is_some());

    let set = build(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_LOGS_EXPORTER", "otlp"),
    ]);
    assert_eq!(set.config.sinks().len(), 1);
    assert!(set.otlp.is_some() && set.prometheus.is_none());
    assert!(set.otlp.unwrap().config().logs.enabled);

    // The logs default alone: the console sink is kept for logs.
    let logs_only = build(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "none"),
    ]);
    assert_eq!(logs_only.config.sinks().len(), 1, "console, for logs");
    assert!(logs_only.otlp.is_none());
}

/// A writer the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether the console sink [`EnvPipeline`] builds for these lists prints a log record
/// handed to it.
async fn console_prints_logs(vars: &[(&str, &str)]) -> bool {
    let out = Captured::default();
    let env = EnvPipeline::new(
        Config::new(),
        Exporters::from_env_vars(vars.iter().copied()).unwrap(),
        OtlpConfig::new(),
        StdoutSink::from_writer(out.clone(), StdoutFormat::Json),
    )
    .unwrap();
    let console = env
        .config
        .sinks()
        .iter()
        .find(|s| s.name() != "otlp" && s.name() != "prometheus")
        .expect("a console sink");
    let record = LogRecord::new(Level::Warn, "console-selection-marker");
    console.export_logs(Arc::new(vec![record])).await.unwrap();
    console.flush().await.unwrap();
    console.shutdown().await.unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    text.contains("console-selection-marker")
}

// § "Exporter Selection": each list picks the exporters of its own signal. The console
// sink is one object for every signal: it prints log records only when
// OTEL_LOGS_EXPORTER names `console`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_prints_log_records_only_when_the_logs_list_names_it() {
    assert!(
        !console_prints_logs(&[
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_LOGS_EXPORTER", "otlp"),
        ])
        .await
    );
    assert!(
        !console_prints_logs(&[
            ("OTEL_METRICS_EXPORTER", "console"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ])
        .await
    );
    assert!(
        console_prints_logs(&[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "console"),
        ])
        .await
    );
    assert!(
        console_prints_logs(&[
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_LOGS_EXPORTER", "otlp,console"),
        ])
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_and_metrics_of_a_pipeline_from_the_environment_reach_the_collector() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let endpoint = collector.endpoint();
    let env = config_from_env_vars([
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_SERVICE_NAME", "env-pipeline"),
    ])
    .unwrap();
    let prometheus = env.prometheus.unwrap();
    let telemetry = common::start(env.config);

    TRACER.in_span("from-env", |_| {});
    telem::counter!("env_pipeline_jobs_total").increment(1);
    // Drains, hands the tick's metric snapshot to every sink, and flushes them: the
    // OTLP sink sends what it holds before this returns.
    telemetry.drain_now().await;

    let traces = collector.received_on("/v1/traces");
    let names: Vec<String> = traces.iter().flat_map(|r| r.span_names()).collect();
    assert!(names.iter().any(|n| n == "from-env"), "{names:?}");
    let resource = &traces[0].traces().resource_spans[0];
    let service = resource
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|a| a.key == "service.name");
    assert!(
        format!("{service:?}").contains("env-pipeline"),
        "{service:?}"
    );

    let metrics = collector.received_on("/v1/metrics");
    let exported: Vec<String> = metrics
        .iter()
        .flat_map(|r| r.metrics().resource_metrics)
        .flat_map(|r| r.scope_metrics)
        .flat_map(|s| s.metrics)
        .map(|m| m.name)
        .collect();
    assert!(
        exported.iter().any(|n| n == "env_pipeline_jobs_total"),
        "{exported:?}"
    );

    let scrape = prometheus.scrape("text/plain");
    let text = String::from_utf8_lossy(&scrape.body);
    assert!(text.contains("env_pipeline_jobs_total 1\n"), "{text}");
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_only_to_otlp_sends_no_spans() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let endpoint = collector.endpoint();
    let env = config_from_env_vars([
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
    ])
    .unwrap();
    let otlp = env.otlp.clone().unwrap();
    let telemetry = common::start(env.config);

    TRACER.in_span("not-exported", |_| {});
    telem::counter!("env_pipeline_metrics_only_total").increment(1);
    telemetry.drain_now().await;
    telemetry.shutdown().await;

    assert!(collector.received_on("/v1/traces").is_empty());
    assert!(!collector.received_on("/v1/metrics").is_empty());
    assert_eq!(otlp.stats().spans_received, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_records_of_a_pipeline_from_the_environment_reach_the_collector() {
    let _one = ONE_PIPELINE.lock().await;
    let collector = Collector::start().await;
    let endpoint = collector.endpoint();
    let env = config_from_env_vars([
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json"),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        ("RUST_LOG", "info"),
    ])
    .unwrap();
    let otlp = env.otlp.clone().unwrap();
    let telemetry = common::start(env.config);

    let trace_id = TRACER.in_span("GET /books/999", |span| {
        telem::warn!(book.id = 999, "book {} not found", 999);
        span.context().trace_id
    });
    telemetry.drain_now().await;
    telemetry.shutdown().await;

    let logs = collector.received_on("/v1/logs");
    assert!(!logs.is_empty(), "no request on /v1/logs");
    assert!(
        logs.iter().all(|r| r.is_json()),
        "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"
    );
    let records: Vec<_> = logs
        .iter()
        .flat_map(|r| r.logs().resource_logs)
        .flat_map(|r| r.scope_logs)
        .flat_map(|s| s.log_records)
        .collect();
    let warn = records
        .iter()
        .find(|r| r.severity_text == "WARN")
        .unwrap_or_else(|| panic!("{records:?}"));
    assert_eq!(warn.severity_number, 13);
    assert_eq!(
        warn.trace_id,
        trace_id.to_bytes(),
        "the record is in the span's trace"
    );
    assert_eq!(warn.span_id.len(), 8);
    assert_eq!(warn.flags & 0x01, 0x01, "sampled");
    assert!(
        format!("{:?}", warn.body).contains("book 999 not found"),
        "{warn:?}"
    );
    let s = otlp.stats();
    assert!(s.logs_sent >= 1 && s.logs_queued == 0, "{s:?}");
}
