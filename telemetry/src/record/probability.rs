//! Consistent probability sampling, as OpenTelemetry specifies it (the SDK
//! specification's "Sampling Requirements", `tracestate-probability-sampling.md` and
//! `tracestate-handling.md`, from OTEP 235): 56-bit rejection thresholds, the trace's
//! randomness, and the `th` and `rv` sub-keys of the `ot` member of `tracestate`.
//!
//! - The randomness `R` of a trace is the 56 least-significant bits of its trace id, or
//!   the explicit randomness `rv` of its `ot` member when that is present and valid.
//! - A sampler keeping a fraction `p` of traces has the rejection threshold
//!   `T = (1 - p) * 2^56`, rounded to a few hexadecimal digits ([`ratio_threshold`]).
//! - A span is sampled when `R >= T`, so a trace kept at `p` is kept at any `p' >= p`,
//!   by every SDK that follows the specification, in any language.
//! - A sampled span carries its threshold as `ot=th:<hex>` so that later stages
//!   (downstream samplers, the Collector) know its adjusted count (`2^56 / (2^56 - T)`).

use crate::{TraceId, TraceState};
use std::cell::RefCell;

/// The number of random bits W3C Trace Context Level 2 promises, and of a threshold.
const RANDOM_BITS: u32 = 56;
/// `2^56`: one more than the largest randomness, so `R >= NEVER` never holds.
pub(crate) const NEVER: u64 = 1 << RANDOM_BITS;
/// The low 56 bits.
const MASK: u64 = NEVER - 1;
/// The key of OpenTelemetry's `tracestate` member (`tracestate-handling.md`).
pub(crate) const OT_KEY: &str = "ot";
/// The most characters the `ot` member's value may hold (`tracestate-handling.md`,
/// the W3C value limit).
const MAX_OT_VALUE: usize = 256;
/// The precision OpenTelemetry SDKs are recommended to use: 4 hexadecimal digits
/// (`tracestate-probability-sampling.md`, "Converting floating-point probability to
/// threshold value").
pub(crate) const DEFAULT_PRECISION: u32 = 4;

/// The randomness `R` the trace id gives: its 56 least-significant bits.
#[inline(always)]
pub(crate) const fn trace_randomness(trace_id: TraceId) -> u64 {
    trace_id.low_u64() & MASK
}

/// The rejection threshold for keeping a fraction `ratio` of traces, rounded to
/// `precision` hexadecimal digits (more for ratios near zero: one more per leading `f`),
/// as the specification's reference algorithm computes it.
///
/// `ratio >= 1` is 0 (keep everything); `ratio <= 0` and NaN are [`NEVER`] (keep
/// nothing; "never" is not a probability). Ratios below `2^-56` keep the smallest
/// probability the 12-digit limit can express.
pub(crate) fn ratio_threshold(ratio: f64, precision: u32) -> u64 {
    if ratio.is_nan() || ratio <= 0.0 {
        return NEVER;
    }
    if ratio >= 1.0 {
        return 0;
    }
    // frexp: ratio = m * 2^exp with m in [0.5, 1). `ratio` is normal (>= 2^-1022 is
    // not guaranteed, but a subnormal ratio gets the largest precision below anyway).
    let biased = ((ratio.to_bits() >> 52) & 0x7ff) as i32;
    let exp = if biased == 0 { -1074 } else { biased - 1022 };
    // One more digit per four binary orders of magnitude below one half
    // (Python's `exp // -4`, a floor division).
    let extra = (-exp).div_euclid(4);
    let digits = (precision as i32 + extra).clamp(1, 12) as u32;
    // `2 - ratio` lies in [1, 2): its 52-bit mantissa holds the rejection probability's
    // first 13 hexadecimal digits. Round half up at `digits`, as the reference does by
    // adding half a unit of the last digit before truncating.
    let rejection = 2.0 - ratio;
    let mantissa = if rejection >= 2.0 {
        (1 << 52) - 1
    } else {
        rejection.to_bits() & ((1 << 52) - 1)
    };
    let shift = 52 - 4 * digits;
    let rounded = mantissa + (1 << (shift - 1));
    let kept = if rounded >= 1 << 52 {
        // Rounding carried into 2.0: the reference keeps all `f`s.
        ((1u64 << 52) - 1) >> shift
    } else {
        rounded >> shift
    };
    kept << (RANDOM_BITS - 4 * digits)
}

/// The sampling probability a threshold stands for: `(2^56 - T) / 2^56`.
#[cfg(test)]
pub(crate) fn threshold_probability(threshold: u64) -> f64 {
    (NEVER - threshold.min(NEVER)) as f64 / NEVER as f64
}

/// What the `ot` member of a trace state says about sampling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OtSampling {
    /// The rejection threshold `th`, if present and valid.
    pub(crate) threshold: Option<u64>,
    /// A `th` sub-key is present but invalid, or repeated: it is rewritten (or erased)
    /// whatever the decision.
    pub(crate) invalid_threshold: bool,
    /// The explicit randomness `rv`, if present and valid.
    pub(crate) randomness: Option<u64>,
}

impl OtSampling {
    /// Reads the `ot` member of `state`. Invalid sub-keys are ignored, as
    /// `tracestate-handling.md` requires (`th`: 1 to 14 lowercase hex digits; `rv`:
    /// exactly 14).
    pub(crate) fn read(state: &TraceState) -> Self {
        let mut out = Self::default();
        let Some(value) = state.get(OT_KEY) else {
            return out;
        };
        let mut thresholds = 0;
        for (key, value) in sub_keys(value) {
            match key {
                "th" => {
                    thresholds += 1;
                    if thresholds == 1 {
                        out.threshold = parse_threshold(value);
                    }
                }
                "rv" if out.randomness.is_none() => out.randomness = parse_randomness(value),
                _ => {}
            }
        }
        // Sub-keys "MUST be unique": a repeated `th` is rewritten as one (the first).
        out.invalid_threshold = thresholds > 1 || (thresholds == 1 && out.threshold.is_none());
        out
    }
}

/// The `key:value` sub-keys of an `ot` value (`list = list-member *( ";" list-member )`);
/// a piece without `:` is skipped.
fn sub_keys(value: &str) -> impl Iterator<Item = (&str, &str)> {
    value.split(';').filter_map(|m| m.split_once(':'))
}

fn hex_digit(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some(u64::from(b - b'0')),
        b'a'..=b'f' => Some(u64::from(b - b'a' + 10)),
        _ => None,
    }
}

/// `th`: 1 to 14 lowercase hex digits, extended with trailing zeros to 14.
pub(crate) fn parse_threshold(value: &str) -> Option<u64> {
    let b = value.as_bytes();
    if b.is_empty() || b.len() > 14 {
        return None;
    }
    let v = b
        .iter()
        .try_fold(0u64, |acc, &d| Some(acc << 4 | hex_digit(d)?))?;
    Some(v << (4 * (14 - b.len())))
}

/// `rv`: exactly 14 lowercase hex digits.
pub(crate) fn parse_randomness(value: &str) -> Option<u64> {
    if value.len() != 14 {
        return None;
    }
    parse_threshold(value)
}

/// A threshold as `th` writes it: hex without trailing zeros, `0` for zero.
pub(crate) fn format_threshold(threshold: u64) -> String {
    if threshold == 0 {
        return "0".to_owned();
    }
    let digits = format!("{:014x}", threshold & MASK);
    digits.trim_end_matches('0').to_owned()
}

/// `state` with the `ot` member's `th` set to `threshold` (or erased for `None`),
/// its other sub-keys kept. A changed `ot` member moves to the front, as W3C requires
/// of a modified key; an `ot` member left empty is removed. If the new `th` would make
/// the member longer than 256 characters, `th` is erased instead (an absent threshold
/// is always correct, a stale one is not).
pub(crate) fn with_threshold(state: &TraceState, threshold: Option<u64>) -> TraceState {
    let old = state.get(OT_KEY).unwrap_or("");
    let mut value = String::with_capacity(old.len() + 18);
    for member in old.split(';').filter(|m| !m.is_empty()) {
        if member.split_once(':').is_some_and(|(k, _)| k == "th") {
            continue;
        }
        if !value.is_empty() {
            value.push(';');
        }
        value.push_str(member);
    }
    let without = value.len();
    if let Some(t) = threshold {
        if !value.is_empty() {
            value.push(';');
        }
        value.push_str("th:");
        value.push_str(&format_threshold(t));
        if value.len() > MAX_OT_VALUE {
            value.truncate(without);
        }
    }
    if value.is_empty() {
        return state.remove(OT_KEY);
    }
    // The old value passed the W3C grammar and `th:<hex>` adds only allowed
    // characters, so this only fails for an `ot` value that was already invalid:
    // then the member goes.
    state
        .insert(OT_KEY, value)
        .unwrap_or_else(|_| state.remove(OT_KEY))
}

thread_local! {
    /// The last `ot=th:...` state built on this thread, by threshold: a sampled root
    /// under a ratio sampler shares it (one reference count) instead of allocating.
    static THRESHOLD_STATE: RefCell<Option<(u64, TraceState)>> = const { RefCell::new(None) };
}

/// The trace state of a new trace sampled with `threshold`: `ot=th:<threshold>`.
pub(crate) fn threshold_state(threshold: u64) -> TraceState {
    let build = || with_threshold(&TraceState::default(), Some(threshold));
    THRESHOLD_STATE
        .try_with(|cache| {
            let mut cache = cache.borrow_mut();
            match &*cache {
                Some((t, state)) if *t == threshold => state.clone(),
                _ => {
                    let state = build();
                    *cache = Some((threshold, state.clone()));
                    state
                }
            }
        })
        .unwrap_or_else(|_| build())
}

/// The threshold of `state` if it is this thread's shared `ot=th:<threshold>` state
/// (the same allocation [`threshold_state`] hands out), so a record can keep the number
/// and rebuild the state where it is read.
pub(crate) fn shared_threshold(state: &TraceState) -> Option<u64> {
    THRESHOLD_STATE
        .try_with(|cache| match &*cache.borrow() {
            Some((t, shared)) if shared.same_as(state) => Some(*t),
            _ => None,
        })
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn th(ratio: f64, precision: u32) -> String {
        format_threshold(ratio_threshold(ratio, precision))
    }

    /// `tracestate-probability-sampling.md`, "Converting floating-point probability to
    /// threshold value": the specification's table of 1-in-N thresholds, precision 3, 4
    /// and 5, one line per N.
    #[test]
    fn the_specification_table_of_thresholds() {
        #[rustfmt::skip]
        let table: &[(u64, [&str; 3])] = &[
            (1,         ["0", "0", "0"]),
            (2,         ["8", "8", "8"]),
            (3,         ["aab", "aaab", "aaaab"]),
            (4,         ["c", "c", "c"]),
            (5,         ["ccd", "cccd", "ccccd"]),
            (8,         ["e", "e", "e"]),
            (10,        ["e66", "e666", "e6666"]),
            (16,        ["f", "f", "f"]),
            (100,       ["fd71", "fd70a", "fd70a4"]),
            (1000,      ["ffbe7", "ffbe77", "ffbe76d"]),
            (10000,     ["fff972", "fff9724", "fff97247"]),
            (100000,    ["ffff584", "ffff583a", "ffff583a5"]),
            (1000000,   ["ffffef4", "ffffef39", "ffffef391"]),
        ];
        for (n, expected) in table {
            let ratio = 1.0 / *n as f64;
            for (precision, want) in [3, 4, 5].into_iter().zip(expected) {
                assert_eq!(
                    &th(ratio, precision),
                    want,
                    "1 in {n}, precision {precision}"
                );
            }
        }
    }

    /// The same table's "actual probability" column for precision 4.
    #[test]
    fn thresholds_give_the_tabled_probabilities() {
        for (n, probability) in [
            (3, 0.3333282470703125),
            (10, 0.100006103515625),
            (100, 0.010000228881835938),
            (1000, 0.0009999871253967285),
        ] {
            let p = threshold_probability(ratio_threshold(1.0 / n as f64, 4));
            assert_eq!(p, probability, "1 in {n}");
        }
    }

    /// `tracestate-probability-sampling.md`, "Rejection Threshold": 1% with 5 digits is
    /// `0xfd70a400000000`, written `th:fd70a4`.
    #[test]
    fn one_percent_at_five_digits() {
        assert_eq!(ratio_threshold(0.01, 5), 0xfd70a400000000);
        assert_eq!(format_threshold(0xfd70a400000000), "fd70a4");
    }

    #[test]
    fn edges() {
        assert_eq!(ratio_threshold(1.0, 4), 0);
        assert_eq!(ratio_threshold(2.0, 4), 0);
        assert_eq!(ratio_threshold(0.0, 4), NEVER);
        assert_eq!(ratio_threshold(-1.0, 4), NEVER);
        assert_eq!(ratio_threshold(f64::NAN, 4), NEVER);
        // The smallest probabilities still sample something.
        for ratio in [2f64.powi(-56), 1e-300, f64::MIN_POSITIVE / 2.0] {
            let t = ratio_threshold(ratio, 4);
            assert!(t < NEVER, "{ratio}");
            assert_eq!(t, 0xffffffffffff00, "{ratio}");
        }
        // Thresholds never decrease as the ratio falls: consistency across ratios.
        let mut last = 0;
        for i in (1..=1000).rev() {
            let t = ratio_threshold(i as f64 / 1000.0, 4);
            assert!(t >= last, "{i}");
            last = t;
        }
    }

    /// `tracestate-handling.md`, "Sampling threshold value `th`": 1 to 14 lowercase hex
    /// digits, extended with trailing zeros; `c` is 25% sampling.
    #[test]
    fn threshold_values() {
        assert_eq!(parse_threshold("c"), Some(0xc0000000000000));
        assert_eq!(threshold_probability(0xc0000000000000), 0.25);
        assert_eq!(parse_threshold("0"), Some(0));
        assert_eq!(parse_threshold("fd70a4"), Some(0xfd70a400000000));
        assert_eq!(parse_threshold("ffffffffffffff"), Some(MASK));
        for bad in ["", "fffffffffffffff", "C", "g", "0x1", " 1", "-1"] {
            assert_eq!(parse_threshold(bad), None, "{bad:?}");
        }
        assert_eq!(format_threshold(0), "0");
        assert_eq!(format_threshold(0x80000000000000), "8");
        assert_eq!(format_threshold(MASK), "ffffffffffffff");
    }

    /// `tracestate-handling.md`, "Explicit randomness value `rv`": exactly 14 lowercase
    /// hex digits.
    #[test]
    fn randomness_values() {
        assert_eq!(parse_randomness("6e6d1a75832a2f"), Some(0x6e6d1a75832a2f));
        for bad in ["6e6d1a75832a2", "6e6d1a75832a2f0", "6E6D1A75832A2F", ""] {
            assert_eq!(parse_randomness(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn reading_the_ot_member() {
        let read = |h: &str| OtSampling::read(&TraceState::from_header(h).unwrap());
        assert_eq!(read("rojo=1"), OtSampling::default());
        let both = read("rojo=1,ot=th:c;rv:6e6d1a75832a2f");
        assert_eq!(both.threshold, Some(0xc0000000000000));
        assert_eq!(both.randomness, Some(0x6e6d1a75832a2f));
        // Unknown sub-keys are passed over; invalid values are ignored.
        let odd = read("ot=p:8;th:XYZ;rv:short;k1:13");
        assert_eq!(odd.threshold, None);
        assert!(odd.invalid_threshold);
        assert_eq!(odd.randomness, None);
        // The first `th` counts, and a repeated one marks the member for rewriting.
        let twice = read("ot=th:8;th:c");
        assert_eq!(twice.threshold, Some(0x80000000000000));
        assert!(twice.invalid_threshold);
    }

    /// `tracestate-handling.md`, "Setting values": other sub-keys are kept; W3C
    /// § "Mutating the tracestate Field": the modified member moves to the left.
    #[test]
    fn rewriting_the_threshold() {
        let state =
            TraceState::from_header("rojo=1,ot=p:8;th:c;rv:6e6d1a75832a2f,congo=2").unwrap();
        let set = with_threshold(&state, Some(0xfd70a400000000));
        assert_eq!(
            set.header_value(),
            "ot=p:8;rv:6e6d1a75832a2f;th:fd70a4,rojo=1,congo=2"
        );
        let erased = with_threshold(&state, None);
        assert_eq!(
            erased.header_value(),
            "ot=p:8;rv:6e6d1a75832a2f,rojo=1,congo=2"
        );
        let only = TraceState::from_header("rojo=1,ot=th:c").unwrap();
        assert_eq!(with_threshold(&only, None).header_value(), "rojo=1");
        assert_eq!(
            with_threshold(&TraceState::default(), Some(0)).header_value(),
            "ot=th:0"
        );
        // Too long to take `th`: the threshold is erased, the rest kept.
        let long = format!("ot=k:{}", "a".repeat(250));
        let long = TraceState::from_header(&long).unwrap();
        let set = with_threshold(&long, Some(0x80000000000000));
        assert_eq!(set.get(OT_KEY).map(str::len), Some(252));
        assert!(OtSampling::read(&set).threshold.is_none());
    }

    #[test]
    fn threshold_states_are_shared() {
        let a = threshold_state(0x80000000000000);
        let b = threshold_state(0x80000000000000);
        assert_eq!(a.header_value(), "ot=th:8");
        assert!(a.same_as(&b));
        assert_eq!(threshold_state(0).header_value(), "ot=th:0");
        assert_eq!(shared_threshold(&threshold_state(0)), Some(0));
        // An equal state from elsewhere is not the shared one.
        let parsed = TraceState::from_header("ot=th:0").unwrap();
        assert_eq!(parsed, threshold_state(0));
        assert_eq!(shared_threshold(&parsed), None);
        assert_eq!(shared_threshold(&TraceState::default()), None);
    }
}
