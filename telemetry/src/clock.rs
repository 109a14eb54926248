//! A cheap monotonic clock anchored once to wall time.
//!
//! The hot path reads only the raw counter (`rdtsc` where the CPU has an invariant TSC,
//! the OS monotonic clock otherwise, chosen by `quanta`). Raw readings are converted to
//! ns since the Unix epoch by the drain, off the hot path, against one anchor taken
//! when the clock is first used: a span's duration is monotonic even if the wall clock
//! steps afterwards.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

struct Anchor {
    clock: quanta::Clock,
    raw: u64,
    unix_nanos: u64,
}

static ANCHOR: OnceLock<Anchor> = OnceLock::new();

fn anchor() -> &'static Anchor {
    ANCHOR.get_or_init(|| {
        let clock = quanta::Clock::new();
        let raw = clock.raw();
        let unix_nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Anchor {
            clock,
            raw,
            unix_nanos,
        }
    })
}

/// Calibrates the clock (a few ms, once per process). Called by `init`.
pub(crate) fn warm_up() {
    anchor();
}

/// The raw counter. Before [`warm_up`] this calibrates, which is slow once.
#[inline]
pub(crate) fn raw_now() -> u64 {
    match ANCHOR.get() {
        Some(a) => a.clock.raw(),
        None => anchor().clock.raw(),
    }
}

/// Converts a raw reading to ns since the Unix epoch.
pub(crate) fn to_unix_nanos(raw: u64) -> u64 {
    let a = anchor();
    if raw >= a.raw {
        a.unix_nanos + a.clock.delta_as_nanos(a.raw, raw)
    } else {
        a.unix_nanos
            .saturating_sub(a.clock.delta_as_nanos(raw, a.raw))
    }
}

/// Now, in ns since the Unix epoch, on the same time line as converted raw readings.
pub(crate) fn unix_nanos_now() -> u64 {
    to_unix_nanos(raw_now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converted_times_track_wall_time_and_are_monotonic() {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let a = raw_now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = raw_now();
        let (ua, ub) = (to_unix_nanos(a), to_unix_nanos(b));
        assert!(
            ub >= ua + 4_000_000,
            "5 ms sleep measured as {} ns",
            ub - ua
        );
        // Within a second of the wall clock.
        assert!(ua.abs_diff(wall) < 1_000_000_000);
    }
}
