//! OTLP/HTTP export for `telemetry`: spans to `/v1/traces`, log records to `/v1/logs`
//! and metrics to `/v1/metrics` of an OpenTelemetry Collector, Jaeger, Tempo, Loki or
//! any OTLP receiver.
//!
//! - [`OtlpSink`]: a [`telem::Sink`] with its own bounded queue and network task;
//!   batches, timeouts, retries with backoff and `Retry-After`, partial successes,
//!   drops counted ([`OtlpStats`], and `telemetry_otlp_*` self-metrics), recovery when
//!   the collector returns, shutdown within a deadline.
//! - OTLP/JSON written by hand to the letter of the spec, and protobuf (the `protobuf`
//!   feature, on by default), both straight from the spans and log records
//!   ([`Encoder`]); gzip
//!   ([`Compression::Gzip`]).
//! - The resource (`service.name`, `service.version`, `service.instance.id`,
//!   `deployment.environment.name`, `host.name`, `process.pid`, `telemetry.sdk.*` and
//!   yours) and the instrumentation scope on every batch.
//! - [`OtlpConfig`]: a typed builder, and the standard `OTEL_*` environment variables
//!   ([`OtlpConfig::with_env`]). Code wins over the environment, which wins over the
//!   defaults.
//! - Exporters chosen the standard way: [`EnvPipeline`] adds the sinks that
//!   `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER` and `OTEL_LOGS_EXPORTER` select
//!   (`otlp`, `console`, `prometheus`, `none`; [`telem::Exporters`]) to a pipeline's
//!   configuration;
//!   [`config_from_env`] builds the whole configuration from the environment.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use telem::{Config, Tracer};
//! use telem_otlp::{OtlpConfig, OtlpSink};
//!
//! static TRACER: Tracer = Tracer::new("books");
//!
//! let otlp = OtlpSink::new(
//!     OtlpConfig::new()
//!         .with_endpoint("http://otel-collector:4318")
//!         .with_service_name("books")
//!         .with_deployment_environment("production"),
//! )?;
//! let pipeline = telem::init(Config::new().with_sink(otlp.clone()))?;
//! TRACER.in_span("GET /books", |_| {});
//! pipeline.shutdown().await;
//! println!("{:?}", otlp.stats());
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod config;
mod delta;
mod encode;
mod env_pipeline;
mod error;
mod exporter;
mod lane;
mod queue;
mod resource;
mod response;
mod retry;
mod sink;
mod stats;
mod transport;

pub use config::{
    Compression, OtlpConfig, Protocol, ResolvedConfig, RetryPolicy, Signal, SignalConfig,
    Temporality, DEFAULT_ENDPOINT, DEFAULT_PROTOCOL, SETTINGS,
};
pub use encode::Encoder;
pub use env_pipeline::{config_from_env, config_from_env_vars, EnvPipeline};
pub use error::OtlpError;
pub use resource::{SDK_NAME, SDK_VERSION};
pub use sink::OtlpSink;
pub use stats::OtlpStats;
