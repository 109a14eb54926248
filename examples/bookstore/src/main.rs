//! The bookstore server: `cargo run -p example-bookstore`, then in another terminal
//! `curl localhost:3000/books/1/reviews`. Spans and log records print to stdout (`info`
//! and above unless `RUST_LOG` says otherwise; `BOOKSTORE_LOG_FORMAT=json` for JSON
//! lines) and `/metrics` serves Prometheus text; the server's own messages go to stderr.
//! To send spans, metrics and logs to a collector too:
//! `OTEL_TRACES_EXPORTER=otlp OTEL_METRICS_EXPORTER=otlp,prometheus
//! OTEL_LOGS_EXPORTER=otlp,console OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318
//! cargo run -p example-bookstore`.
//!
//! The books are in an SQLite database in memory, seeded at start (nothing to install);
//! `GET /books/{id}/reviews` calls the reviews service the bookstore starts on another
//! local port. `POST /books/{id}/reindex` enqueues a background job through NATS
//! JetStream if a server answers at `BOOKSTORE_NATS_URL` (default
//! `nats://127.0.0.1:4222`), in process otherwise (said once at start).
//!
//! Settings are environment variables (`BOOKSTORE_PORT`, `BOOKSTORE_SAMPLE_RATIO`,
//! `BOOKSTORE_LOG_FORMAT`, `BOOKSTORE_DB_QUERY_TEXT`, `RUST_LOG`, `OTEL_TRACES_EXPORTER`,
//! `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`, ...; see docs/configuration.md). A bad value exits with status 2
//! and a message naming the variable, the value and what it accepts. Ctrl-C or SIGTERM
//! stops the server gracefully and flushes every span and log record.
#![forbid(unsafe_code)]

use bookstore::jobs::redacted;
use bookstore::{app_with_jobs, Jobs, Settings, Store};
use std::process::ExitCode;
use telem_axum::{MetricsEndpoint, TelemetryLayer};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("bookstore: {e}");
            return ExitCode::from(2);
        }
    };
    // The sinks OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER
    // select (unset: spans and logs to the console, metrics for Prometheus).
    let env = match settings.pipeline() {
        Ok(env) => env,
        Err(e) => {
            eprintln!("bookstore: {e}");
            return ExitCode::from(2);
        }
    };
    let (exporters, disabled) = (env.exporters, env.config.disabled());
    let log_filter = env.config.log_filter();
    let pipeline = match telem::init(env.config) {
        Ok(pipeline) => pipeline,
        Err(e) => {
            eprintln!("bookstore: cannot start telemetry: {e}");
            return ExitCode::FAILURE;
        }
    };
    // What sqlx, hyper and reqwest write through `tracing` (and crates through `log`)
    // joins the same traces and logs, filtered by the same RUST_LOG.
    if let Err(e) = telem_tracing::install() {
        eprintln!("bookstore: tracing and log bridges not installed: {e}");
    }
    let listener = match tokio::net::TcpListener::bind(settings.addr()).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!(
                "bookstore: cannot listen on {}: {e} (choose another port with BOOKSTORE_PORT, or 0 for any free port)",
                settings.addr()
            );
            pipeline.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    // `/metrics` only with the `prometheus` exporter; otherwise it is an unknown path (404).
    let metrics = env.prometheus.map(|prometheus| {
        let metrics = MetricsEndpoint::new(prometheus);
        match &settings.metrics_token {
            Some(token) => metrics.with_bearer_token(token.clone()),
            None => metrics,
        }
    });
    if disabled {
        eprintln!("bookstore: telemetry disabled (OTEL_SDK_DISABLED)");
    } else {
        // The level only where log records go somewhere.
        let level = if exporters.logs().is_empty() {
            String::new()
        } else {
            format!("; log level {log_filter} (RUST_LOG)")
        };
        eprintln!(
            "bookstore: spans to {}, metrics to {}, logs to {} (OTEL_TRACES_EXPORTER, \
             OTEL_METRICS_EXPORTER, OTEL_LOGS_EXPORTER){level}",
            exporters.traces(),
            exporters.metrics(),
            exporters.logs()
        );
    }
    let try_metrics = if metrics.is_some() { ", /metrics" } else { "" };
    match listener.local_addr() {
        Ok(addr) => eprintln!(
            "bookstore: listening on http://{addr} (try /books, /books/1/reviews{try_metrics}; Ctrl-C stops)"
        ),
        Err(e) => eprintln!("bookstore: listening (address unknown: {e})"),
    }

    // After `init`: the store's spans and metrics go to the pipeline from the start.
    let store = match Store::seeded().await {
        Ok(store) => store.with_query_text(settings.db_query_text),
        Err(e) => {
            eprintln!("bookstore: cannot open the database: {e}");
            pipeline.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    // Background jobs through NATS if it answers, else in process: said once, here.
    let jobs = match &settings.nats_url {
        Some(url) => match Jobs::connect(url, store.clone()).await {
            Ok(jobs) => {
                eprintln!(
                    "bookstore: background jobs through NATS JetStream at {} (BOOKSTORE_NATS_URL)",
                    redacted(url)
                );
                jobs
            }
            Err(e) => {
                eprintln!(
                    "bookstore: NATS not reachable at {} ({e}): background jobs run in process \
                     (start nats-server -js, or set BOOKSTORE_NATS_URL)",
                    redacted(url)
                );
                Jobs::in_process(store.clone())
            }
        },
        None => {
            eprintln!("bookstore: background jobs run in process (BOOKSTORE_NATS_URL=none)");
            Jobs::in_process(store.clone())
        }
    };
    let app = match app_with_jobs(store, jobs, metrics, |traced| {
        traced.layer(TelemetryLayer::new())
    })
    .await
    {
        Ok(app) => app,
        Err(e) => {
            eprintln!("bookstore: {e}");
            pipeline.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    pipeline.shutdown().await; // flushes the spans and log records still in the rings
    match served {
        Ok(()) => {
            eprintln!("bookstore: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bookstore: server failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("bookstore: cannot listen for Ctrl-C ({e}); stop with SIGTERM");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                eprintln!("bookstore: cannot listen for SIGTERM ({e}); stop with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    eprintln!("bookstore: shutting down");
}
