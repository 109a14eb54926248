//! The built-in sinks.

mod memory;
mod stdout;
mod writer;

pub use memory::InMemorySink;
pub use stdout::{StdoutFormat, StdoutSink};
pub(crate) use writer::WriterThread;
