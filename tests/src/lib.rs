//! The workspace's cross-crate tests: each file under `tests/` needs several of its crates
//! together, so it belongs to none of them (each crate's own tests test that crate).
//!
//! | test | crates |
//! | --- | --- |
//! | `bookstore_otlp` | the bookstore's exporters from `OTEL_*` (`telem-otlp`) to a fake OTLP collector, `/metrics` (`telem-axum`) |
//! | `trace_in_handlers` | `#[trace]` fns (`telem-macros`) in handlers under `telem-axum`'s layer |
//! | `two_services` | `telem-axum`'s server and client layers, `telemetry`'s context and baggage, over hyper |
//! | `prometheus_e2e` | the bookstore scraped by a real Prometheus server (`--ignored`; `.ci/run` installs it) |
//!
//! `cargo test -p telem-tests`
