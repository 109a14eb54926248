//! Exporters chosen the standard way (`OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`):
//! the sinks `config_from_env_vars` builds for each list, the OTLP signals the lists
//! switch, and pipelines built from the environment sending to the fake collector.
//! Nothing here touches the process environment.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

mod common;

use common::{Collector, ONE_PIPELINE};
use telem::{Config, Exporter, Exporters, StdoutSink, Tracer};
use telem_otlp::{config_from_env_vars, EnvPipeline, OtlpConfig, Signal};

static TRACER: Tracer = Tracer::new("env-pipeline");

fn signals(vars: &[(&str, &str)]) -> (bool, bool) {
    let s = OtlpConfig::new()
        .with_env_vars(vars.iter().copied())
        .unwrap()
        .resolve()
        .unwrap();
    (s.traces.enabled, s.metrics.enabled)
}

// § "Exporter Selection": the OTLP exporter sends a signal whose list names `otlp`
// (the default, `otlp`, when the variable is unset).
#[test]
fn each_list_switches_the_otlp_signal_it_names() {
    assert_eq!(signals(&[]), (true, true));
    assert_eq!(
        signals(&[
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_METRICS_EXPORTER", "Prometheus,OTLP"),
        ]),
        (false, true)
    );
    assert_eq!(
        signals(&[
            ("OTEL_TRACES_EXPORTER", "console, otlp"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ]),
        (true, false)
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
/// metrics) signals if it built one, whether it built a Prometheus sink.
type Built = (usize, Option<(bool, bool)>, bool);

fn built(vars: &[(&str, &str)]) -> Built {
    let env = config_from_env_vars(vars.iter().copied()).unwrap();
    let otlp = env.otlp.map(|o| {
        let s = o.config();
        (s.traces.enabled, s.metrics.enabled)
    });
    (env.config.sinks().len(), otlp, env.prometheus.is_some())
}

// § "Exporter Selection": otlp, console, prometheus (metrics) and none, one or several.
#[test]
fn the_lists_pick_the_sinks() {
    const T: &str = "OTEL_TRACES_EXPORTER";
    const M: &str = "OTEL_METRICS_EXPORTER";
    let cases: &[(&[(&str, &str)], Built)] = &[
        // Unset: OpenTelemetry's default, otlp for both.
        (&[], (1, Some((true, true)), false)),
        (&[(T, "none"), (M, "none")], (0, None, false)),
        (&[(T, "console"), (M, "none")], (1, None, false)),
        (&[(T, "none"), (M, "console")], (1, None, false)),
        // One console sink writes both.
        (&[(T, "console"), (M, "console")], (1, None, false)),
        (
            &[(T, "otlp"), (M, "prometheus")],
            (2, Some((true, false)), true),
        ),
        (&[(T, "none"), (M, "otlp")], (1, Some((false, true)), false)),
        (
            &[(T, "console"), (M, "otlp,prometheus,console")],
            (3, Some((false, true)), true),
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
        .with_default_metrics(Exporter::Prometheus);
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
    ]);
    assert_eq!(set.config.sinks().len(), 1);
    assert!(set.otlp.is_some() && set.prometheus.is_none());
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
