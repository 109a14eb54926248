//! Built-in collectors: process metrics from `/proc`, the tokio runtime's metrics, and
//! the pipeline's self-metrics. The pipeline runs the ones its
//! [`MetricsConfig`] enables at each drain tick; without a
//! pipeline, register [`process`] or [`tokio_runtime`] as callbacks.

mod pipeline;
mod process;
mod tokio;

pub use self::pipeline::pipeline;
pub use self::process::process;
pub use self::tokio::tokio_runtime;

use super::{global, CallbackError, MetricError, MetricFamilySnapshot};
use crate::{MetricsConfig, PipelineStats};

/// A registration error as a callback error.
pub(crate) fn callback_error(e: MetricError) -> CallbackError {
    CallbackError::new(e.to_string())
}

/// The metrics part of a drain tick: the enabled collectors, then the global
/// registry's callbacks, then its snapshot.
pub(crate) fn tick(config: &MetricsConfig, stats: &PipelineStats) -> Vec<MetricFamilySnapshot> {
    let registry = global();
    if config.process {
        if let Err(e) = process(registry) {
            registry.count_callback_error(&e);
        }
    }
    if config.tokio_runtime {
        if let Err(e) = tokio_runtime(registry) {
            registry.count_callback_error(&e);
        }
    }
    if config.pipeline {
        if let Err(e) = pipeline(registry, stats) {
            registry.count_callback_error(&callback_error(e));
        }
    }
    registry.collect()
}
