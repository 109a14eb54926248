//! The process-wide switches the hot path reads: is recording on, and the span limits.

use crate::SpanLimits;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether spans are recorded: a compile-time constant without the `enable` feature,
/// otherwise one relaxed load.
#[inline(always)]
pub(crate) fn enabled() -> bool {
    cfg!(feature = "enable") && ENABLED.load(Relaxed)
}

/// Whether spans are being recorded: a pipeline is running ([`init`](crate::init)) and
/// the `enable` feature is on. One relaxed load; integrations use it to step aside.
///
/// ```
/// assert!(!telemetry::is_enabled()); // no pipeline yet
/// ```
#[inline(always)]
pub fn is_enabled() -> bool {
    enabled()
}

pub(crate) fn set_enabled(on: bool) {
    ENABLED.store(on, Relaxed);
}

static MAX_ATTRIBUTES: AtomicU32 = AtomicU32::new(SpanLimits::DEFAULT.max_attributes);
static MAX_EVENTS: AtomicU32 = AtomicU32::new(SpanLimits::DEFAULT.max_events);
static MAX_LINKS: AtomicU32 = AtomicU32::new(SpanLimits::DEFAULT.max_links);
static MAX_EVENT_ATTRIBUTES: AtomicU32 =
    AtomicU32::new(SpanLimits::DEFAULT.max_attributes_per_event);

pub(crate) fn set_limits(l: SpanLimits) {
    MAX_ATTRIBUTES.store(l.max_attributes, Relaxed);
    MAX_EVENTS.store(l.max_events, Relaxed);
    MAX_LINKS.store(l.max_links, Relaxed);
    MAX_EVENT_ATTRIBUTES.store(l.max_attributes_per_event, Relaxed);
}

#[inline]
pub(crate) fn max_attributes() -> usize {
    MAX_ATTRIBUTES.load(Relaxed) as usize
}

#[inline]
pub(crate) fn max_events() -> usize {
    MAX_EVENTS.load(Relaxed) as usize
}

#[inline]
pub(crate) fn max_links() -> usize {
    MAX_LINKS.load(Relaxed) as usize
}

#[inline]
pub(crate) fn max_event_attributes() -> usize {
    MAX_EVENT_ATTRIBUTES.load(Relaxed) as usize
}
