//! The bridge under a global pipeline (no test scopes in this process): filtering by
//! the pipeline's log filter at `tracing`'s and `log`'s own call sites, following the
//! filter when it changes, and one sampling decision per trace whichever side starts
//! it. One test, because the pipeline, the filter and the sampler are global.

use telem::{Config, InMemorySink, Level, LogFilter, Sampler};

#[telem::trace]
fn middle(i: u64) {
    let _leaf = tracing::info_span!("leaf", i).entered();
}

#[telem::trace]
fn traced_root() {
    let _child = tracing::info_span!("tracing_child").entered();
}

#[tokio::test]
async fn filtering_and_sampling_follow_the_pipeline() {
    let sink = std::sync::Arc::new(InMemorySink::new(10_000));
    let filter: LogFilter = "info,noisy=warn".parse().expect("valid filter");
    let pipeline = telem::init(
        Config::new()
            .with_sink(sink.clone())
            .with_log_filter(filter)
            .with_sampler(Sampler::parent_based(Sampler::TraceIdRatioBased(0.5))),
    )
    .expect("pipeline");
    telem_tracing::install().expect("nothing else installed");
    assert!(matches!(
        telem_tracing::install(),
        Err(telem_tracing::InstallError::TracingSubscriberSet)
    ));

    // Filtered out at the call site: disabled, as tracing's own disabled spans are.
    assert!(tracing::debug_span!("too_detailed").is_disabled());
    assert!(tracing::info_span!(target: "noisy", "quiet_target").is_disabled());
    assert!(!tracing::warn_span!(target: "noisy", "loud_enough").is_disabled());
    assert!(!log::log_enabled!(log::Level::Debug));
    assert!(log::log_enabled!(target: "noisy", log::Level::Warn));
    assert!(!log::log_enabled!(target: "noisy", log::Level::Info));
    tracing::debug!("dropped at the call site");
    tracing::info!(target: "noisy", "dropped by target");
    log::info!(target: "noisy", "dropped by target too");
    tracing::info!("kept");
    log::warn!("kept from log");

    // One sampling decision per trace, whichever side starts it: tracing root, telem
    // child, tracing grandchild; and telem root, tracing child.
    for i in 0..100 {
        let _root = tracing::info_span!("tracing_root").entered();
        middle(i);
    }
    for _ in 0..100 {
        traced_root();
    }

    // A new filter reaches call sites already cached, in tracing's interest cache too.
    pipeline.set_log_filter("debug".parse().expect("valid filter"));
    assert!(!tracing::debug_span!("detailed_after_change").is_disabled());
    assert!(log::log_enabled!(log::Level::Debug));
    tracing::debug!("kept after the change");
    pipeline.shutdown().await;
    // A stopped pipeline records nothing: every call site is disabled again.
    assert!(tracing::error_span!("after_shutdown").is_disabled());
    assert!(!log::log_enabled!(log::Level::Error));

    let bodies: Vec<String> = sink.logs().iter().map(|r| r.body.to_string()).collect();
    assert!(bodies.contains(&"kept".to_string()), "{bodies:?}");
    assert!(bodies.contains(&"kept from log".to_string()), "{bodies:?}");
    assert!(
        bodies.contains(&"kept after the change".to_string()),
        "{bodies:?}"
    );
    assert!(
        !bodies.iter().any(|b| b.starts_with("dropped")),
        "{bodies:?}"
    );
    let warn = sink
        .logs()
        .into_iter()
        .find(|r| r.body == "kept from log")
        .expect("the log record");
    assert_eq!(warn.severity.level(), Some(Level::Warn));

    let spans = sink.spans();
    let mut traces = std::collections::HashMap::<_, Vec<&str>>::new();
    // The spans of the two kinds of traces (the filter checks above made single-span
    // traces of their own).
    let chained = [
        "tracing_root",
        "middle",
        "leaf",
        "traced_root",
        "tracing_child",
    ];
    for span in spans.iter().filter(|s| chained.contains(&s.name.as_str())) {
        traces
            .entry(span.context.trace_id)
            .or_default()
            .push(span.name.as_str());
    }
    let (mut tracing_first, mut telem_first) = (0, 0);
    for names in traces.values() {
        match names.len() {
            3 => {
                assert!(names.contains(&"tracing_root") && names.contains(&"middle"));
                tracing_first += 1;
            }
            2 => {
                assert!(names.contains(&"traced_root") && names.contains(&"tracing_child"));
                telem_first += 1;
            }
            _ => panic!("a trace sampled in part: {names:?}"),
        }
    }
    // Half of each, give or take: neither side samples all or nothing.
    assert!((1..100).contains(&tracing_first), "{tracing_first}");
    assert!((1..100).contains(&telem_first), "{telem_first}");
    assert!(!spans
        .iter()
        .any(|s| s.name == "too_detailed" || s.name == "quiet_target"));
}
