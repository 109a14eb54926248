//! The pipeline and export: the drain task that empties the rings, the `Sink` trait and
//! the built-in sinks, the OTLP/JSON writer, and the pipeline's self-observation
//! (statistics and diagnostics).

pub mod diagnostics;
pub mod otlp_json;
pub(crate) mod pipeline;
pub(crate) mod sink;
pub(crate) mod sinks;
pub(crate) mod stats;
