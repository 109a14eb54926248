//! Criterion benchmarks of `telemetry` beside its peers; see `benches/`.
//!
//! Run with `cargo bench -p telemetry-benches --features peers`.
#![forbid(unsafe_code)]
