//! Logs: the third signal. Log macros record into a bounded per-thread ring, as spans
//! do; the drain formats the records and hands them to sinks as [`LogRecord`]s, with
//! the trace context of the call and the fields bound to it.
//!
//! [`LogRecord`]: crate::LogRecord

pub(crate) mod filter;
pub(crate) mod raw;
pub(crate) mod site;
