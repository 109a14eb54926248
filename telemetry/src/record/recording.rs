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
/// assert!(!telem::is_enabled()); // no pipeline yet
/// ```
#[inline(always)]
pub fn is_enabled() -> bool {
    enabled()
}

/// Whether the global pipeline records, and how many test scopes do: recording is on
/// while either is. Changed under a lock (rarely: at init, shutdown, test start and
/// end), read with one relaxed load of `ENABLED`.
static SWITCH: std::sync::Mutex<(bool, usize)> = std::sync::Mutex::new((false, 0));

fn update(f: impl FnOnce(&mut (bool, usize))) {
    let mut s = SWITCH.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut s);
    ENABLED.store(s.0 || s.1 > 0, Relaxed);
}

/// Turns the global pipeline's recording on or off.
pub(crate) fn set_enabled(on: bool) {
    update(|s| s.0 = on);
}

/// A test scope starts (`true`) or ends (`false`): recording stays on while one lives.
#[cfg(feature = "testing")]
pub(crate) fn scope_alive(alive: bool) {
    update(|s| {
        if alive {
            s.1 += 1;
        } else {
            s.1 = s.1.saturating_sub(1);
        }
    });
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
