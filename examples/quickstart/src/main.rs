//! The five-line set-up of `telemetry` with axum: `cargo run -p example-quickstart`,
//! then `curl localhost:3000/hello` (its span prints here) and
//! `curl localhost:3000/metrics`.
//!
//! Settings, for CI more than for you: `QUICKSTART_PORT` (default 3000; 0 for any free
//! port) and `QUICKSTART_EXIT_AFTER_SECS` (1 to 86400: stop after serving that long).
//! Without the latter it serves until Ctrl-C.
#![forbid(unsafe_code)]

use axum::{routing::get, Router};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use telem::{Config, ConfigError, EnvVars, PrometheusSink, Setting, StdoutSink};
use telem_axum::{CurrentSpan, MetricsEndpoint, TelemetryLayer};

async fn hello(span: CurrentSpan) -> String {
    span.set_attribute("greeting.lang", "en");
    format!("hello from trace {}\n", span.trace_id())
}

#[tokio::main]
async fn main() -> ExitCode {
    let (port, exit_after) = match settings() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("quickstart: {e}");
            return ExitCode::from(2);
        }
    };

    // The five lines: spans to stdout and metrics for Prometheus, a traced router
    // with /metrics, and a server.
    let prometheus = Arc::new(PrometheusSink::new());
    let pipeline = telem::init(
        Config::new()
            .with_sink(StdoutSink::pretty())
            .with_sink(prometheus.clone()),
    )
    .expect("a valid constant config, in a runtime, started once");
    let app = Router::new()
        .route("/hello", get(hello))
        // Unknown paths get a 404 that is traced and measured too (the layer wraps it).
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "no such page") })
        .layer(TelemetryLayer::new())
        .merge(MetricsEndpoint::new(prometheus).into_router());
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("quickstart: cannot listen on 127.0.0.1:{port}: {e} (set QUICKSTART_PORT to another port, or 0)");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        eprintln!("quickstart: listening on http://{addr} (try /hello and /metrics)");
    }
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(stop(exit_after))
        .await;

    pipeline.shutdown().await; // flushes every span
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quickstart: server failed: {e}");
            ExitCode::FAILURE
        }
    }
}

const PORT: Setting = Setting::integer("port", 3000, 0, 65535)
    .with_note("0: any free port")
    .with_variable("QUICKSTART_PORT");

const EXIT_AFTER_SECS: Setting = Setting::integer("exit_after_secs", 0, 1, 86_400)
    .with_default_text("unset: serve until Ctrl-C")
    .with_note("seconds")
    .with_variable("QUICKSTART_EXIT_AFTER_SECS");

/// `QUICKSTART_PORT` and `QUICKSTART_EXIT_AFTER_SECS`.
fn settings() -> Result<(u16, Option<Duration>), ConfigError> {
    let vars = EnvVars::from_env_with_prefix("QUICKSTART_");
    let port = vars
        .integer(&PORT)?
        .map_or(PORT.default_integer() as u16, |n| n as u16);
    let exit_after = vars.integer(&EXIT_AFTER_SECS)?.map(Duration::from_secs);
    Ok((port, exit_after))
}

/// Completes on Ctrl-C, or when `exit_after` has passed.
async fn stop(exit_after: Option<Duration>) {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("quickstart: cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    let timer = async {
        match exit_after {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = timer => eprintln!("quickstart: QUICKSTART_EXIT_AFTER_SECS reached, stopping"),
    }
}
