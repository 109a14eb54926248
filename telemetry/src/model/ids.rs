//! Trace and span identifiers, trace flags, and the per-thread id generator.

use std::cell::Cell;
use std::fmt;

/// A 128-bit trace identifier. The all-zero value is invalid.
///
/// ```
/// use telem::TraceId;
/// let id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
/// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(id.is_valid());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
// Two words, not a `u128`: 8-byte alignment keeps the structs that embed it free of
// padding, and copies use 8-byte moves that store-to-load forwarding handles (a 16-byte
// load of a value written as two halves stalls).
pub struct TraceId {
    hi: u64,
    lo: u64,
}

/// A 64-bit span identifier. The all-zero value is invalid.
///
/// ```
/// use telem::SpanId;
/// let id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
/// assert_eq!(id.to_u64(), 0x00f0_67aa_0ba9_02b7);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId(u64);

/// Error returned when parsing a hex identifier fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: expected {len} lowercase or uppercase hex digits")]
pub struct ParseIdError {
    what: &'static str,
    len: usize,
}

macro_rules! id_impl {
    ($ty:ident, $int:ty, $to:ident, $len:expr, $what:expr) => {
        impl $ty {
            /// The invalid, all-zero identifier.
            pub const INVALID: Self = Self::from_raw(0);

            /// Builds an identifier from big-endian bytes.
            #[inline]
            pub const fn from_bytes(b: [u8; $len / 2]) -> Self {
                Self::from_raw(<$int>::from_be_bytes(b))
            }

            /// The big-endian bytes of the identifier.
            #[inline]
            pub const fn to_bytes(self) -> [u8; $len / 2] {
                self.$to().to_be_bytes()
            }

            /// `false` for the all-zero identifier.
            #[inline]
            pub const fn is_valid(self) -> bool {
                self.$to() != 0
            }

            /// Parses exactly
            #[doc = concat!(stringify!($len))]
            /// hex digits. The all-zero value parses (check [`Self::is_valid`]).
            pub fn from_hex(s: &str) -> Result<Self, ParseIdError> {
                let err = ParseIdError {
                    what: $what,
                    len: $len,
                };
                if s.len() != $len || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err);
                }
                <$int>::from_str_radix(s, 16)
                    .map(Self::from_raw)
                    .map_err(|_| err)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:0width$x}", self.$to(), width = $len)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($ty))
            }
        }
    };
}

id_impl!(TraceId, u128, to_u128, 32, "trace id");
id_impl!(SpanId, u64, to_u64, 16, "span id");

impl TraceId {
    /// Builds an identifier from its integer value.
    #[inline]
    pub const fn from_raw(v: u128) -> Self {
        Self {
            hi: (v >> 64) as u64,
            lo: v as u64,
        }
    }

    /// The integer value.
    #[inline]
    pub const fn to_u128(self) -> u128 {
        ((self.hi as u128) << 64) | self.lo as u128
    }

    /// From its two halves (high, low).
    #[inline]
    pub(crate) const fn from_words(hi: u64, lo: u64) -> Self {
        Self { hi, lo }
    }

    /// Its two halves (high, low).
    #[inline]
    pub(crate) const fn words(self) -> (u64, u64) {
        (self.hi, self.lo)
    }

    /// The low 64 bits (the random part W3C level 2 sampling decisions use).
    #[inline]
    pub(crate) const fn low_u64(self) -> u64 {
        self.lo
    }

    /// A fresh random, valid trace id from the calling thread's generator.
    #[inline]
    pub fn random() -> Self {
        Self {
            hi: next_u64(),
            lo: next_nonzero_u64(),
        }
    }
}

impl SpanId {
    /// Builds an identifier from its integer value.
    #[inline]
    pub const fn from_raw(v: u64) -> Self {
        Self(v)
    }

    /// The integer value.
    #[inline]
    pub const fn to_u64(self) -> u64 {
        self.0
    }

    /// A fresh random, valid span id from the calling thread's generator.
    #[inline]
    pub fn random() -> Self {
        Self(next_nonzero_u64())
    }
}

/// W3C trace flags: a bit field, read bit by bit, never compared whole.
///
/// Trace Context Level 2 defines two bits (§ "trace-flags"):
/// - `sampled` (`0x01`, [`is_sampled`](Self::is_sampled)): the caller may have recorded
///   the trace; here it is the head sampling decision.
/// - `random` (`0x02`, [`is_random`](Self::is_random)): at least the right-most 7 bytes
///   of the trace id are random (§ "Random Trace ID Flag"). Every trace id this crate
///   generates is wholly random, so new traces set it; a span that continues a trace
///   keeps the bit exactly as it came in, set or not.
///
/// The other six bits are reserved: kept here as they were given, written as zero in a
/// version `00` `traceparent`.
///
/// ```
/// use telem::TraceFlags;
/// let flags = TraceFlags::new(0x03);
/// assert!(flags.is_sampled() && flags.is_random());
/// assert!(!TraceFlags::default().is_sampled());
/// assert_eq!(TraceFlags::RANDOM.with_sampled(true), flags);
/// assert_eq!(flags.with_sampled(false), TraceFlags::RANDOM);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TraceFlags(u8);

impl TraceFlags {
    /// The `sampled` flag set.
    pub const SAMPLED: Self = Self(0x01);
    /// The `random` flag (Trace Context Level 2) set: the trace id's right-most 7 bytes
    /// are random.
    pub const RANDOM: Self = Self(0x02);
    /// No flag set.
    pub const NONE: Self = Self(0);

    /// Builds flags from the wire byte (unknown bits are kept, as W3C requires for forwarding).
    #[inline]
    pub const fn new(bits: u8) -> Self {
        Self(bits)
    }

    /// The wire byte.
    #[inline]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether the sampled bit is set.
    #[inline]
    pub const fn is_sampled(self) -> bool {
        self.0 & Self::SAMPLED.0 != 0
    }

    /// Whether the random bit is set: the trace id's right-most 7 bytes are random.
    #[inline]
    pub const fn is_random(self) -> bool {
        self.0 & Self::RANDOM.0 != 0
    }

    /// These flags with the sampled bit set or cleared.
    #[inline]
    pub const fn with_sampled(self, sampled: bool) -> Self {
        Self((self.0 & !Self::SAMPLED.0) | sampled as u8)
    }

    /// These flags with the random bit set or cleared.
    #[inline]
    pub const fn with_random(self, random: bool) -> Self {
        Self((self.0 & !Self::RANDOM.0) | (random as u8) << 1)
    }
}

impl fmt::Debug for TraceFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceFlags({:02x})", self.0)
    }
}

thread_local! {
    // wyrand state; 0 means "not yet seeded". A const thread-local without `Drop`
    // is a plain TLS access, with no lazy-initialisation check.
    static RNG: Cell<u64> = const { Cell::new(0) };
}

#[cold]
#[inline(never)]
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    h.write_u64(t);
    let local = 0u8;
    h.write_usize(&local as *const u8 as usize);
    h.finish() | 1
}

/// wyrand's increment: the state is a Weyl sequence, so output `i` after state `s` is
/// `mix(s + i * WEYL)` and any number of outputs can be drawn with one update.
const WEYL: u64 = 0xa076_1d64_78bd_642f;

/// wyrand's output function.
#[inline(always)]
fn mix(state: u64) -> u64 {
    let t = (state as u128).wrapping_mul((state ^ 0xe703_7ed1_a0b4_28db) as u128);
    ((t >> 64) as u64) ^ (t as u64)
}

/// wyrand: one multiply per output, passes BigCrush, and needs no syscall after seeding.
#[inline]
fn next_u64() -> u64 {
    RNG.with(|s| {
        let mut state = s.get();
        if state == 0 {
            state = seed();
        }
        state = state.wrapping_add(WEYL);
        s.set(state);
        mix(state)
    })
}

/// The generator's next `N` outputs (the same as `N` calls of `next_u64`) with one read
/// and one write of its state, so a span start draws all its ids in one go and the next
/// draw does not wait for several stores in a row to reach it. `None` until the thread's
/// generator is seeded (the caller falls back to [`TraceId::random`] and
/// [`SpanId::random`], which seed it). Outputs may be zero: the caller checks.
#[inline(always)]
pub(crate) fn draw<const N: usize>() -> Option<[u64; N]> {
    RNG.with(|s| {
        let state = s.get();
        if state == 0 {
            return None;
        }
        s.set(state.wrapping_add(WEYL.wrapping_mul(N as u64)));
        Some(std::array::from_fn(|i| {
            mix(state.wrapping_add(WEYL.wrapping_mul(i as u64 + 1)))
        }))
    })
}

#[inline]
fn next_nonzero_u64() -> u64 {
    loop {
        let v = next_u64();
        if v != 0 {
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let t = TraceId::random();
            assert!(t.is_valid());
            assert!(seen.insert(t));
            assert!(SpanId::random().is_valid());
        }
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        let t = TraceId::random();
        assert_eq!(TraceId::from_hex(&t.to_string()), Ok(t));
        assert!(TraceId::from_hex("xyz").is_err());
        assert!(TraceId::from_hex("+bf92f3577b34da6a3ce929d0e0e4736").is_err());
        assert!(SpanId::from_hex("00f067aa0ba902b").is_err());
        assert_eq!(SpanId::from_hex("0000000000000000"), Ok(SpanId::INVALID));
    }

    #[test]
    fn a_batched_draw_continues_the_stream() {
        let _ = next_u64(); // seeds the thread's generator
        let start = RNG.with(Cell::get);
        let batch: [u64; 3] = draw().unwrap();
        let after = RNG.with(Cell::get);
        RNG.with(|s| s.set(start));
        let one_by_one = [next_u64(), next_u64(), next_u64()];
        assert_eq!(batch, one_by_one);
        assert_eq!(RNG.with(Cell::get), after);
    }

    #[test]
    fn threads_get_different_streams() {
        let a = std::thread::spawn(SpanId::random).join().unwrap();
        let b = std::thread::spawn(SpanId::random).join().unwrap();
        assert_ne!(a, b);
    }
}
