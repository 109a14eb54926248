//! Runtime support for the code `#[trace]` generates. Not a public API.
