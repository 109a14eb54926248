//! The built-in sinks.

mod memory;
mod stdout;

pub use memory::InMemorySink;
pub use stdout::{StdoutFormat, StdoutSink};
