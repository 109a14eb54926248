//! Recording, the hot path: starting and ending spans, the task-following context, the
//! sampler, the clock and the per-thread rings the ended spans wait in. Nothing here
//! locks, allocates on the common path, or makes a syscall.

pub(crate) mod bound;
pub(crate) mod clock;
pub(crate) mod context;
pub(crate) mod frame;
pub(crate) mod instrument;
pub(crate) mod probability;
pub(crate) mod raw_span;
pub(crate) mod recording;
pub(crate) mod ring;
pub(crate) mod sampler;
pub(crate) mod span;
pub(crate) mod spawn;
