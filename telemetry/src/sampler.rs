//! Head sampling: which new spans are recorded.

use crate::{SpanContext, TraceId};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Decides at span start whether a span is recorded (sampled) or only propagated.
///
/// An unsampled span costs almost nothing, records nothing, but still has ids and
/// propagates its context, so downstream services see the same decision.
///
/// ```
/// use telemetry::{Sampler, TraceId};
/// // 10% of traces, decided from the trace id so every service agrees;
/// // children follow their parent's decision.
/// let s = Sampler::parent_based(Sampler::TraceIdRatioBased(0.1));
/// let t = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
/// assert_eq!(s.should_sample(None, t), s.should_sample(None, t));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Sampler {
    /// Record every span.
    AlwaysOn,
    /// Record nothing (context still propagates).
    AlwaysOff,
    /// Record a fraction `p` in `[0, 1]` of traces. Deterministic: the decision is a
    /// function of the trace id's 56 random low-order bits (W3C Trace Context level 2),
    /// so every service sampling at the same ratio makes the same decision for a trace.
    TraceIdRatioBased(f64),
    /// Follow the parent's decision when there is a parent, with OpenTelemetry's semantics.
    ParentBased(Box<ParentBased>),
}

/// The delegates of [`Sampler::ParentBased`], one per parent situation.
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

const RANDOM_BITS: u32 = 56;
const MASK: u64 = (1 << RANDOM_BITS) - 1;
const ALL: u64 = 1 << RANDOM_BITS;

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

    /// The decision for a new span in trace `trace_id` under `parent` (`None` for a root).
    pub fn should_sample(&self, parent: Option<&SpanContext>, trace_id: TraceId) -> bool {
        let parent = parent.filter(|p| p.is_valid());
        let slot = Slot::of(parent.map(|p| (p.is_remote, p.is_sampled())));
        decide(self.threshold(slot), trace_id)
    }

    fn threshold(&self, slot: Slot) -> u64 {
        match self {
            Sampler::AlwaysOn => ALL,
            Sampler::AlwaysOff => 0,
            Sampler::TraceIdRatioBased(p) => {
                if p.is_nan() || *p <= 0.0 {
                    0
                } else if *p >= 1.0 {
                    ALL
                } else {
                    (*p * ALL as f64) as u64
                }
            }
            Sampler::ParentBased(pb) => {
                let delegate = match slot {
                    Slot::Root => &pb.root,
                    Slot::RemoteSampled => &pb.remote_sampled,
                    Slot::RemoteNotSampled => &pb.remote_not_sampled,
                    Slot::LocalSampled => &pb.local_sampled,
                    Slot::LocalNotSampled => &pb.local_not_sampled,
                };
                delegate.threshold(slot)
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
}

#[inline]
fn decide(threshold: u64, trace_id: TraceId) -> bool {
    (trace_id.low_u64() & MASK) < threshold
}

/// The installed sampler, compiled to one threshold per parent situation, so the hot
/// path is one relaxed load and a compare.
static THRESHOLDS: [AtomicU64; 5] = [
    AtomicU64::new(ALL),
    AtomicU64::new(ALL),
    AtomicU64::new(0),
    AtomicU64::new(ALL),
    AtomicU64::new(0),
];

pub(crate) fn install(sampler: &Sampler) {
    for slot in [
        Slot::Root,
        Slot::RemoteSampled,
        Slot::RemoteNotSampled,
        Slot::LocalSampled,
        Slot::LocalNotSampled,
    ] {
        THRESHOLDS[slot as usize].store(sampler.threshold(slot), Relaxed);
    }
}

#[inline]
pub(crate) fn sample_installed(slot: Slot, trace_id: TraceId) -> bool {
    decide(THRESHOLDS[slot as usize].load(Relaxed), trace_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SpanId, TraceFlags, TraceState};

    fn parent(remote: bool, sampled: bool) -> SpanContext {
        SpanContext::new(
            TraceId::random(),
            SpanId::random(),
            TraceFlags::NONE.with_sampled(sampled),
            TraceState::default(),
            remote,
        )
    }

    #[test]
    fn ratio_is_deterministic_and_within_tolerance() {
        let s = Sampler::TraceIdRatioBased(0.25);
        let n = 200_000;
        let mut hits = 0;
        for _ in 0..n {
            let t = TraceId::random();
            let d = s.should_sample(None, t);
            assert_eq!(d, s.should_sample(None, t));
            hits += d as u32;
        }
        let ratio = hits as f64 / n as f64;
        // 200k Bernoulli(0.25) draws: sd ≈ 0.001; 0.01 is ten standard deviations.
        assert!((ratio - 0.25).abs() < 0.01, "ratio {ratio}");
    }

    #[test]
    fn ratio_edges() {
        let t = TraceId::from_raw(u128::MAX);
        assert!(Sampler::TraceIdRatioBased(1.0).should_sample(None, t));
        assert!(!Sampler::TraceIdRatioBased(0.0).should_sample(None, TraceId::from_raw(1 << 64)));
        assert!(Sampler::TraceIdRatioBased(1.5).validate().is_err());
        assert!(Sampler::TraceIdRatioBased(f64::NAN).validate().is_err());
        let nested = Sampler::parent_based(Sampler::TraceIdRatioBased(-0.1));
        assert_eq!(nested.validate(), Err(InvalidRatio(-0.1)));
    }

    #[test]
    fn ratio_samplers_agree_on_subsets() {
        // A trace sampled at 10% is also sampled at 50%: consistent across services.
        let (lo, hi) = (
            Sampler::TraceIdRatioBased(0.1),
            Sampler::TraceIdRatioBased(0.5),
        );
        for _ in 0..10_000 {
            let t = TraceId::random();
            if lo.should_sample(None, t) {
                assert!(hi.should_sample(None, t));
            }
        }
    }

    #[test]
    fn parent_based_follows_parent() {
        let s = Sampler::parent_based(Sampler::AlwaysOff);
        let t = TraceId::random();
        assert!(!s.should_sample(None, t));
        assert!(s.should_sample(Some(&parent(true, true)), t));
        assert!(!s.should_sample(Some(&parent(true, false)), t));
        assert!(s.should_sample(Some(&parent(false, true)), t));
        assert!(!s.should_sample(Some(&parent(false, false)), t));
        // An invalid parent counts as no parent.
        assert!(!s.should_sample(Some(&SpanContext::INVALID), t));
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
        assert!(s.should_sample(Some(&parent(true, false)), t));
        assert!(!s.should_sample(Some(&parent(false, true)), t));
        assert!(s.should_sample(None, t));
    }
}
