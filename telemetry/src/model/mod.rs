//! The span model: ids, contexts, trace state, attribute values and the finished span a
//! sink receives. Plain data, no recording machinery.

pub(crate) mod attributes;
pub(crate) mod ids;
pub(crate) mod log_record;
pub(crate) mod span_context;
pub(crate) mod span_data;
pub(crate) mod trace_state;
pub(crate) mod value;
