//! Head sampling: which new spans are recorded.
//!
//! Ratio sampling is OpenTelemetry's consistent probability sampling (the `probability`
//! module): a span is sampled when the trace's randomness
//! `R` (the trace id's 56 low bits, or the `rv` of its `ot` trace state member) is at
//! least the sampler's rejection threshold `T = (1 - ratio) * 2^56`, and a sampled span
//! carries `T` as `ot=th:<hex>` in its trace state.
//!
//! Deliberately not done:
//! - The SDK specification's compatibility warnings (a ratio sampler used below the
//!   root, or presuming randomness where the random flag is unset) are not logged:
//!   nothing here writes to the service's output; the presumption itself is what the
//!   specification asks for ("Presumption of TraceID randomness").
//! - Root samplers never insert an explicit randomness `rv`: every trace id made here
//!   is wholly random and has the random flag set, which is what `rv` stands in for.
//! - The composable samplers (`ComposableRuleBased` and the rest, still in
//!   development in the specification) are not offered.

use crate::record::probability::{self, OtSampling, NEVER};
use crate::{SpanContext, TraceId, TraceState};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};

/// Decides at span start whether a span is recorded (sampled) or only propagated.
///
/// An unsampled span costs almost nothing, records nothing, but still has ids and
/// propagates its context, so downstream services see the same decision.
///
/// ```
/// use telem::{Sampler, TraceId};
/// // 10% of traces, decided from the trace id so every service agrees;
/// // children follow their parent's decision.
/// let s = Sampler::parent_based(Sampler::TraceIdRatioBased(0.1));
/// let kept = TraceId::from_hex("4bf92f3577b34da6a3fe929d0e0e4736").unwrap();
/// let dropped = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
/// let decision = s.should_sample(None, kept);
/// assert!(decision.sampled);
/// // The threshold for 10% (four hex digits) travels with the trace.
/// assert_eq!(decision.trace_state.header_value(), "ot=th:e666");
/// assert!(!s.should_sample(None, dropped).sampled);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Sampler {
    /// Record every span.
    AlwaysOn,
    /// Record nothing (context still propagates).
    AlwaysOff,
    /// Record a fraction `p` in `[0, 1]` of traces, with OpenTelemetry's consistent
    /// probability sampling: the span is sampled when the trace's 56-bit randomness (the
    /// trace id's 56 least-significant bits, which W3C Trace Context Level 2 makes
    /// random, or the `rv` value of an `ot` trace state member) is at least the
    /// rejection threshold `(1 - p) * 2^56`, rounded to 4 hexadecimal digits. So every
    /// service sampling at the same ratio, with any OpenTelemetry SDK that implements
    /// the specification, makes the same decision for a trace, and a trace kept at `p`
    /// is kept at every higher ratio. A sampled span records the threshold as `th` in
    /// the `ot` member of its trace state, for downstream samplers and adjusted counts.
    ///
    /// Like OpenTelemetry's, it ignores the parent's sampled flag: wrap it in
    /// [`Sampler::parent_based`] to follow the parent.
    TraceIdRatioBased(f64),
    /// Follow the parent's decision when there is a parent, with OpenTelemetry's semantics.
    ParentBased(Box<ParentBased>),
}

/// The delegates of [`Sampler::ParentBased`], one per parent situation.
///
/// A delegate that follows the parent ([`Sampler::AlwaysOn`] under a sampled parent)
/// keeps the parent's sampling threshold (`th`), unless it is inconsistent with the
/// trace's randomness; a span that is not sampled, or sampled with an unknown
/// probability, carries no threshold (the specification's "Parent-based threshold").
/// The consistency check is made where a trace enters the process (a remote parent);
/// under a sampled local parent, whose state this sampler already decided, the state is
/// kept as it is.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ParentBased {
    /// No parent: a new trace.
    pub root: Sampler,
    /// Remote parent that was sampled (default: record).
    pub remote_sampled: Sampler,
    /// Remote parent that was not sampled (default: don't record).
    pub remote_not_sampled: Sampler,
    /// Local parent that was sampled (default: record).
    pub local_sampled: Sampler,
    /// Local parent that was not sampled (default: don't record).
    pub local_not_sampled: Sampler,
}

/// A sampler setting outside its accepted range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid sampler ratio {0}: the trace id ratio must be a number in 0.0..=1.0")]
pub struct InvalidRatio(pub f64);

/// What a sampler decided for a new span.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SamplingDecision {
    /// Whether the span is recorded (its sampled flag).
    pub sampled: bool,
    /// The span's trace state: the parent's, with the `ot` member's sampling threshold
    /// set, kept or erased as the decision requires.
    pub trace_state: TraceState,
}

/// A sampler for one parent situation: its rejection threshold, and whether it is a
/// ratio sampler (which writes its own threshold) or follows its parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rule {
    threshold: u64,
    ratio: bool,
}

/// [`Sampler::AlwaysOn`]'s rule: sample everything, keep the parent's threshold.
const FOLLOW: Rule = Rule {
    threshold: 0,
    ratio: false,
};

impl Sampler {
    /// A parent-based sampler with OpenTelemetry's default delegates and the given root sampler.
    pub fn parent_based(root: Sampler) -> Self {
        Sampler::ParentBased(Box::new(ParentBased {
            root,
            remote_sampled: Sampler::AlwaysOn,
            remote_not_sampled: Sampler::AlwaysOff,
            local_sampled: Sampler::AlwaysOn,
            local_not_sampled: Sampler::AlwaysOff,
        }))
    }

    /// Checks ratios are within `0.0..=1.0`.
    pub fn validate(&self) -> Result<(), InvalidRatio> {
        match self {
            Sampler::TraceIdRatioBased(p) if !(0.0..=1.0).contains(p) => Err(InvalidRatio(*p)),
            Sampler::ParentBased(pb) => {
                pb.root.validate()?;
                pb.remote_sampled.validate()?;
                pb.remote_not_sampled.validate()?;
                pb.local_sampled.validate()?;
                pb.local_not_sampled.validate()
            }
            _ => Ok(()),
        }
    }

    /// The decision for a new span in trace `trace_id` under `parent` (`None`, or an
    /// invalid context, for a root), with the trace state the span carries.
    pub fn should_sample(
        &self,
        parent: Option<&SpanContext>,
        trace_id: TraceId,
    ) -> SamplingDecision {
        let parent = parent.filter(|p| p.is_valid());
        let slot = Slot::of(parent.map(|p| (p.is_remote, p.is_sampled())));
        let state = parent.map(|p| p.state.clone()).unwrap_or_default();
        let (sampled, trace_state, _) = decide(self.rule(slot), slot, trace_id, state);
        SamplingDecision {
            sampled,
            trace_state,
        }
    }

    fn rule(&self, slot: Slot) -> Rule {
        match self {
            Sampler::AlwaysOn => FOLLOW,
            Sampler::AlwaysOff => Rule {
                threshold: NEVER,
                ratio: false,
            },
            Sampler::TraceIdRatioBased(p) => Rule {
                threshold: probability::ratio_threshold(*p, probability::DEFAULT_PRECISION),
                ratio: true,
            },
            Sampler::ParentBased(pb) => {
                let delegate = match slot {
                    Slot::Root => &pb.root,
                    Slot::RemoteSampled => &pb.remote_sampled,
                    Slot::RemoteNotSampled => &pb.remote_not_sampled,
                    Slot::LocalSampled => &pb.local_sampled,
                    Slot::LocalNotSampled => &pb.local_not_sampled,
                };
                delegate.rule(slot)
            }
        }
    }
}

impl Default for Sampler {
    /// `ParentBased(root = AlwaysOn)`, OpenTelemetry's default.
    fn default() -> Self {
        Sampler::parent_based(Sampler::AlwaysOn)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    Root = 0,
    RemoteSampled = 1,
    RemoteNotSampled = 2,
    LocalSampled = 3,
    LocalNotSampled = 4,
}

const SLOTS: [Slot; 5] = [
    Slot::Root,
    Slot::RemoteSampled,
    Slot::RemoteNotSampled,
    Slot::LocalSampled,
    Slot::LocalNotSampled,
];

impl Slot {
    /// `parent` is `(is_remote, is_sampled)`.
    #[inline]
    pub(crate) fn of(parent: Option<(bool, bool)>) -> Self {
        match parent {
            None => Slot::Root,
            Some((true, true)) => Slot::RemoteSampled,
            Some((true, false)) => Slot::RemoteNotSampled,
            Some((false, true)) => Slot::LocalSampled,
            Some((false, false)) => Slot::LocalNotSampled,
        }
    }

    fn parent_sampled(self) -> bool {
        matches!(self, Slot::RemoteSampled | Slot::LocalSampled)
    }
}

/// The decision and the new span's trace state, from the parent's `state` (empty for a
/// root), and whether that state differs from the parent's.
fn decide(rule: Rule, slot: Slot, trace_id: TraceId, state: TraceState) -> Decided {
    if slot == Slot::LocalSampled && rule == FOLLOW {
        // A child following its sampled local parent keeps the parent's state as it is:
        // that state is what this sampler decided (or checked) when the parent started.
        return (true, state, false);
    }
    if state.is_empty() {
        let sampled = probability::trace_randomness(trace_id) >= rule.threshold;
        if sampled && rule.ratio {
            return (true, probability::threshold_state(rule.threshold), true);
        }
        return (sampled, state, false);
    }
    let ot = OtSampling::read(&state);
    let randomness = ot
        .randomness
        .unwrap_or_else(|| probability::trace_randomness(trace_id));
    let sampled = randomness >= rule.threshold;
    let threshold = if !sampled {
        // Not sampled: no threshold ("Sampling stages that yield spans with unknown
        // sampling probability ... must erase"; CompositeSampler, negative decision).
        None
    } else if rule.ratio {
        // An independent decision writes its own threshold.
        Some(rule.threshold)
    } else if slot.parent_sampled() {
        // Following a sampled parent: its threshold, unless apparently inconsistent.
        ot.threshold.filter(|&t| randomness >= t)
    } else {
        None
    };
    if threshold == ot.threshold && !ot.invalid_threshold {
        (sampled, state, false)
    } else {
        (
            sampled,
            probability::with_threshold(&state, threshold),
            true,
        )
    }
}

/// What [`decide`] returns: sampled, the span's trace state, and whether it differs
/// from the parent's.
type Decided = (bool, TraceState, bool);

/// The installed sampler, compiled to one rejection threshold per parent situation, so
/// the hot path is one relaxed load and a compare. Index: [`Slot`].
static THRESHOLDS: [AtomicU64; 5] = [
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(NEVER),
    AtomicU64::new(0),
    AtomicU64::new(NEVER),
];

/// Bit `slot` set: that slot's delegate is a ratio sampler (writes its threshold).
static RATIO_SLOTS: AtomicU8 = AtomicU8::new(0);

pub(crate) fn install(sampler: &Sampler) {
    let mut ratio = 0;
    for slot in SLOTS {
        let rule = sampler.rule(slot);
        THRESHOLDS[slot as usize].store(rule.threshold, Relaxed);
        ratio |= u8::from(rule.ratio) << slot as u8;
    }
    RATIO_SLOTS.store(ratio, Relaxed);
}

fn installed_rule(slot: Slot) -> Rule {
    Rule {
        threshold: THRESHOLDS[slot as usize].load(Relaxed),
        ratio: writes_threshold(slot),
    }
}

/// Whether the installed sampler writes its own threshold for a span in `slot` (a ratio
/// delegate): then a sampled span's trace state changes, see [`decide_installed`].
#[inline]
pub(crate) fn writes_threshold(slot: Slot) -> bool {
    RATIO_SLOTS.load(Relaxed) & (1 << slot as u8) != 0
}

/// The installed sampler's decision for a span with no trace state to consider and no
/// threshold to write: the fast path.
#[inline]
pub(crate) fn sample_installed(slot: Slot, trace_id: TraceId) -> bool {
    probability::trace_randomness(trace_id) >= THRESHOLDS[slot as usize].load(Relaxed)
}

/// The installed sampler's decision and the new span's trace state, from the parent's
/// `state` (empty for a root, or for a parent without one), and whether that state
/// differs from the parent's. Without a state to read or a threshold to write (the
/// common case), one load and a compare, inline; anything else out of line.
#[inline]
pub(crate) fn decide_installed(slot: Slot, trace_id: TraceId, state: TraceState) -> Decided {
    if state.is_empty() && !writes_threshold(slot) {
        return (sample_installed(slot, trace_id), state, false);
    }
    decide_installed_with_state(slot, trace_id, state)
}

#[cold]
#[inline(never)]
fn decide_installed_with_state(slot: Slot, trace_id: TraceId, state: TraceState) -> Decided {
    decide(installed_rule(slot), slot, trace_id, state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SpanId, TraceFlags, TraceState};

    fn parent(remote: bool, sampled: bool) -> SpanContext {
        parent_with(remote, sampled, TraceState::default())
    }

    fn parent_with(remote: bool, sampled: bool, state: TraceState) -> SpanContext {
        SpanContext::new(
            TraceId::random(),
            SpanId::random(),
            TraceFlags::RANDOM.with_sampled(sampled),
            state,
            remote,
        )
    }

    fn sampled(s: &Sampler, trace_id: TraceId) -> bool {
        s.should_sample(None, trace_id).sampled
    }

    /// A trace id whose 56 low bits (its randomness) are `r`, with other bits set so
    /// only those 56 count.
    fn with_randomness(r: u64) -> TraceId {
        TraceId::from_raw(0xffff_ffff_ffff_ffff_ff00_0000_0000_0000 | u128::from(r))
    }

    fn state(header: &str) -> TraceState {
        TraceState::from_header(header).unwrap()
    }

    /// OpenTelemetry SDK specification, `ProbabilitySampler` algorithm (`R >= T`) and
    /// `tracestate-probability-sampling.md` "Converting floating-point probability to
    /// threshold value": fixed trace ids on both sides of each ratio's threshold. The
    /// thresholds are the specification's (precision 4); any SDK following it decides
    /// the same for these ids.
    #[test]
    fn decisions_at_both_edges_of_the_threshold() {
        #[rustfmt::skip]
        let table: &[(f64, u64)] = &[
            (1.0,        0x00000000000000),
            (0.5,        0x80000000000000),
            (0.25,       0xc0000000000000),
            (0.1,        0xe6660000000000),
            (1.0 / 3.0,  0xaaab0000000000),
            (0.01,       0xfd70a000000000),
            (0.001,      0xffbe7700000000),
            (0.0001,     0xfff97240000000),
        ];
        for &(ratio, threshold) in table {
            let s = Sampler::TraceIdRatioBased(ratio);
            assert_eq!(s.rule(Slot::Root).threshold, threshold, "{ratio}");
            assert!(sampled(&s, with_randomness(threshold)), "{ratio}: R = T");
            assert!(sampled(&s, with_randomness(MASK)), "{ratio}: largest R");
            if threshold > 0 {
                assert!(
                    !sampled(&s, with_randomness(threshold - 1)),
                    "{ratio}: R = T - 1"
                );
                assert!(!sampled(&s, with_randomness(0)), "{ratio}: R = 0");
            }
            // Only the 56 low bits count: the top byte of the low word does not.
            let low = TraceId::from_raw(u128::from(threshold.wrapping_sub(1) & MASK));
            let high_byte =
                TraceId::from_raw(u128::from(threshold.wrapping_sub(1) & MASK | 0xff << 56));
            assert_eq!(sampled(&s, low), sampled(&s, high_byte), "{ratio}");
        }
        let never = Sampler::TraceIdRatioBased(0.0);
        assert!(!sampled(&never, with_randomness(MASK)));
        assert_eq!(
            never.should_sample(None, with_randomness(MASK)).trace_state,
            TraceState::default()
        );
    }

    const MASK: u64 = NEVER - 1;

    /// `tracestate-handling.md`, "Explicit randomness value `rv`": the example
    /// `rv:6e6d1a75832a2f` (43.1%) is sampled from 56.9% through 100%, as a trace id
    /// ending in those digits would be.
    #[test]
    fn explicit_randomness_replaces_the_trace_id() {
        let rv = state("ot=rv:6e6d1a75832a2f");
        // A trace id whose own randomness would always be sampled.
        let trace_id = with_randomness(MASK);
        for (ratio, expected) in [(0.6, true), (0.57, true), (0.56, false), (0.1, false)] {
            let s = Sampler::TraceIdRatioBased(ratio);
            let d = s.should_sample(Some(&parent_with(true, true, rv.clone())), trace_id);
            assert_eq!(d.sampled, expected, "{ratio}");
            let by_id = sampled(&s, with_randomness(0x6e6d1a75832a2f));
            assert_eq!(
                by_id, expected,
                "{ratio}: the same as the trace id's randomness"
            );
        }
        // `rv` is kept: never overwritten ("Do not overwrite explicit randomness").
        let d = Sampler::TraceIdRatioBased(0.6)
            .should_sample(Some(&parent_with(true, true, rv)), trace_id);
        assert_eq!(d.trace_state.header_value(), "ot=rv:6e6d1a75832a2f;th:6666");
        // An invalid `rv` is ignored: the trace id decides.
        let bad = state("ot=rv:6E6D1A75832A2F");
        let d = Sampler::TraceIdRatioBased(0.1)
            .should_sample(Some(&parent_with(true, true, bad)), trace_id);
        assert!(d.sampled);
    }

    /// `ProbabilitySampler` algorithm: "When (R >= T), the OpenTelemetry TraceState
    /// SHOULD be modified to include the key-value `th:T`"; and the CompositeSampler's
    /// negative decision removes `th`.
    #[test]
    fn a_ratio_sampler_writes_its_threshold_and_a_drop_erases_it() {
        let s = Sampler::TraceIdRatioBased(0.25);
        let kept = s.should_sample(None, with_randomness(MASK));
        assert_eq!(kept.trace_state.header_value(), "ot=th:c");
        let dropped = s.should_sample(None, with_randomness(0));
        assert!(dropped.trace_state.is_empty());
        // Under a parent: other members are kept, `ot` moves to the front.
        let p = parent_with(
            true,
            true,
            state("rojo=1,ot=th:8;rv:ffffffffffffff,congo=2"),
        );
        let d = s.should_sample(Some(&p), TraceId::random());
        assert_eq!(
            d.trace_state.header_value(),
            "ot=rv:ffffffffffffff;th:c,rojo=1,congo=2"
        );
        let p = parent_with(
            true,
            true,
            state("rojo=1,ot=th:8;rv:00000000000000,congo=2"),
        );
        let d = s.should_sample(Some(&p), TraceId::random());
        assert!(!d.sampled);
        assert_eq!(
            d.trace_state.header_value(),
            "ot=rv:00000000000000,rojo=1,congo=2"
        );
    }

    /// `tracestate-probability-sampling.md`, "Parent-based threshold": the incoming
    /// threshold is propagated; an inconsistent one (`R < th` on a sampled parent) is
    /// erased; without one there is none; an unsampled span has none.
    #[test]
    fn parent_based_propagates_a_consistent_threshold() {
        let s = Sampler::default();
        let consistent = parent_with(true, true, state("ot=th:8,rojo=1"));
        let d = s.should_sample(Some(&consistent), with_randomness(0x90000000000000));
        assert!(d.sampled);
        assert_eq!(d.trace_state.header_value(), "ot=th:8,rojo=1");
        let inconsistent = s.should_sample(Some(&consistent), with_randomness(0x10000000000000));
        assert!(inconsistent.sampled, "the parent's decision is followed");
        assert_eq!(inconsistent.trace_state.header_value(), "rojo=1");
        // An invalid `th` is erased too.
        let invalid = parent_with(true, true, state("rojo=1,ot=th:XY;p:8"));
        let d = s.should_sample(Some(&invalid), TraceId::random());
        assert_eq!(d.trace_state.header_value(), "ot=p:8,rojo=1");
        // A parent that was not sampled: not sampled, no threshold.
        let unsampled = parent_with(true, false, state("ot=th:8,rojo=1"));
        let d = s.should_sample(Some(&unsampled), with_randomness(MASK));
        assert!(!d.sampled);
        assert_eq!(d.trace_state.header_value(), "rojo=1");
        // A sampled local parent's state was decided here: it is kept as it is.
        let local = parent_with(false, true, state("ot=th:c"));
        let d = s.should_sample(Some(&local), with_randomness(0));
        assert!(d.sampled);
        assert_eq!(d.trace_state.header_value(), "ot=th:c");
        // Parent-based with a ratio root: a root writes its threshold, children keep it.
        let s = Sampler::parent_based(Sampler::TraceIdRatioBased(0.5));
        let root = s.should_sample(None, with_randomness(MASK));
        assert_eq!(root.trace_state.header_value(), "ot=th:8");
        let child_parent = parent_with(false, true, root.trace_state.clone());
        let child = s.should_sample(Some(&child_parent), with_randomness(MASK));
        assert_eq!(child.trace_state, root.trace_state);
    }

    /// SDK specification, `TraceIdRatioBased`: "A `TraceIdRatioBased` sampler with a
    /// given sampling probability MUST also sample all traces that any
    /// `TraceIdRatioBased` sampler with a lower sampling probability would sample."
    #[test]
    fn ratio_samplers_agree_on_subsets() {
        let ratios = [0.001, 0.01, 0.1, 0.25, 1.0 / 3.0, 0.5, 0.9, 1.0];
        for _ in 0..10_000 {
            let t = TraceId::random();
            let decisions: Vec<bool> = ratios
                .iter()
                .map(|&r| sampled(&Sampler::TraceIdRatioBased(r), t))
                .collect();
            // Once sampled at some ratio, sampled at every higher one.
            let first = decisions.iter().position(|&d| d).unwrap_or(decisions.len());
            assert!(
                decisions[first..].iter().all(|&d| d),
                "{t:?}: {decisions:?}"
            );
        }
    }

    #[test]
    fn ratio_is_deterministic_and_within_tolerance() {
        let s = Sampler::TraceIdRatioBased(0.25);
        let n = 200_000;
        let mut hits = 0;
        for _ in 0..n {
            let t = TraceId::random();
            let d = sampled(&s, t);
            assert_eq!(d, sampled(&s, t));
            hits += d as u32;
        }
        let ratio = hits as f64 / n as f64;
        // 200k Bernoulli(0.25) draws: sd ≈ 0.001; 0.01 is ten standard deviations.
        assert!((ratio - 0.25).abs() < 0.01, "ratio {ratio}");
    }

    #[test]
    fn ratio_validation() {
        assert!(Sampler::TraceIdRatioBased(1.5).validate().is_err());
        assert!(Sampler::TraceIdRatioBased(f64::NAN).validate().is_err());
        let nested = Sampler::parent_based(Sampler::TraceIdRatioBased(-0.1));
        assert_eq!(nested.validate(), Err(InvalidRatio(-0.1)));
    }

    /// SDK specification, `ParentBased`: one delegate per parent situation.
    #[test]
    fn parent_based_follows_parent() {
        let s = Sampler::parent_based(Sampler::AlwaysOff);
        let t = TraceId::random();
        assert!(!s.should_sample(None, t).sampled);
        assert!(s.should_sample(Some(&parent(true, true)), t).sampled);
        assert!(!s.should_sample(Some(&parent(true, false)), t).sampled);
        assert!(s.should_sample(Some(&parent(false, true)), t).sampled);
        assert!(!s.should_sample(Some(&parent(false, false)), t).sampled);
        // An invalid parent counts as no parent.
        assert!(!s.should_sample(Some(&SpanContext::INVALID), t).sampled);
    }

    #[test]
    fn parent_based_delegates_can_be_overridden() {
        let Sampler::ParentBased(mut pb) = Sampler::parent_based(Sampler::AlwaysOn) else {
            unreachable!()
        };
        pb.remote_not_sampled = Sampler::AlwaysOn;
        pb.local_sampled = Sampler::AlwaysOff;
        let s = Sampler::ParentBased(pb);
        let t = TraceId::random();
        assert!(s.should_sample(Some(&parent(true, false)), t).sampled);
        assert!(!s.should_sample(Some(&parent(false, true)), t).sampled);
        assert!(s.should_sample(None, t).sampled);
        // Sampled under an unsampled parent: the probability is unknown, no threshold.
        let p = parent_with(true, false, state("ot=th:8"));
        let d = s.should_sample(Some(&p), with_randomness(MASK));
        assert!(d.sampled && d.trace_state.is_empty());
    }

    fn thresholds_in(state: &TraceState) -> usize {
        state.get("ot").map_or(0, |ot| {
            ot.split(';').filter(|m| m.starts_with("th:")).count()
        })
    }

    proptest::proptest! {
        /// Over any parent trace state (the `sampling` fuzz target's invariant): the
        /// span's state is a valid header, carries no `th` unless sampled and at most one
        /// when sampled (a checked or rewritten state), and other members are never lost.
        #[test]
        fn any_parent_state_gives_a_valid_state(
            members in proptest::collection::vec(
                ("(ot|rojo|congo)", "(th:[0-9a-fA-F]{0,15}|rv:[0-9a-f]{13,15}|p:8|;){0,4}x?"),
                0..6,
            ),
            low in proptest::prelude::any::<u64>(),
            ratio in 0.0f64..=1.0,
            flags in 0u8..4,
            remote in proptest::prelude::any::<bool>(),
            which in 0u8..3,
        ) {
            let Ok(state) = TraceState::from_entries(members) else {
                return Ok(());
            };
            let sampler = match which {
                0 => Sampler::TraceIdRatioBased(ratio),
                1 => Sampler::parent_based(Sampler::TraceIdRatioBased(ratio)),
                _ => Sampler::default(),
            };
            let trace_id = TraceId::from_raw(u128::from(low) | 1 << 100);
            let parent = SpanContext::new(
                trace_id,
                SpanId::from_raw(1),
                TraceFlags::new(flags),
                state.clone(),
                remote,
            );
            let d = sampler.should_sample(Some(&parent), trace_id);
            let out = d.trace_state;
            proptest::prop_assert_eq!(TraceState::from_header(&out.header_value()), Ok(out.clone()));
            if !remote && parent.is_sampled() && which != 0 {
                // Following a sampled local parent: its state passes through unchecked.
                proptest::prop_assert_eq!(out, state);
                return Ok(());
            }
            let n = thresholds_in(&out);
            proptest::prop_assert!(if d.sampled { n <= 1 } else { n == 0 }, "{:?} -> {:?}", state, out);
            for (key, value) in state.entries().filter(|(k, _)| *k != "ot") {
                proptest::prop_assert_eq!(out.get(key), Some(value));
            }
        }
    }
}
