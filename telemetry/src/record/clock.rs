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
    /// `quanta` reads the TSC: read it inline ourselves (`quanta::Clock::raw` is not
    /// `#[inline]`, and the call costs a few ns twice per span).
    inline_tsc: bool,
    raw: u64,
    unix_nanos: u64,
}

/// The CPU's time-stamp counter.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[inline(always)]
#[allow(unsafe_code)]
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` has no preconditions: it reads a counter into registers and
    // touches no memory. `core::arch` declares every intrinsic `unsafe`; this one can't
    // cause undefined behaviour, and x86_64 always has it.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Whether `clock.raw()` is the TSC: a TSC reading bracketing it proves it.
fn reads_tsc(clock: &quanta::Clock) -> bool {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        (0..3).any(|_| {
            let before = rdtsc();
            let raw = clock.raw();
            let after = rdtsc();
            before <= raw && raw <= after
        })
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    {
        let _ = clock;
        false
    }
}

static ANCHOR: OnceLock<Anchor> = OnceLock::new();

fn anchor() -> &'static Anchor {
    ANCHOR.get_or_init(|| {
        let clock = quanta::Clock::new();
        let inline_tsc = reads_tsc(&clock);
        let raw = clock.raw();
        let unix_nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Anchor {
            clock,
            inline_tsc,
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
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        Some(a) if a.inline_tsc => rdtsc(),
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

/// Seconds from the raw reading `start` to now (0 if the clock went back).
pub(crate) fn elapsed_seconds(start: u64) -> f64 {
    let a = anchor();
    let now = raw_now();
    if now <= start {
        return 0.0;
    }
    a.clock.delta_as_nanos(start, now) as f64 / 1e9
}

/// Now, in ns since the Unix epoch, on the same time line as converted raw readings.
pub(crate) fn unix_nanos_now() -> u64 {
    to_unix_nanos(raw_now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_tsc_reads_the_same_counter_as_quanta() {
        let a = anchor();
        // This machine kind has an invariant TSC, which quanta uses.
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| c.contains(" nonstop_tsc")) {
            assert!(a.inline_tsc, "quanta reads the TSC here; so should we");
        }
        if a.inline_tsc {
            let ours = raw_now();
            let theirs = a.clock.raw();
            assert!(ours <= theirs, "inline TSC ahead of quanta's");
        }
    }

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
