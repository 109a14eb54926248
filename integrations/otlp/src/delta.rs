//! Delta temporality: counters and histograms as the change since the last export the
//! collector accepted.

use std::collections::HashMap;
use std::sync::Arc;
use telem::metrics::{HistogramValue, InstrumentKind, LabelSet, MetricFamilySnapshot, MetricValue};

#[derive(Clone, Debug)]
enum Total {
    U64(u64),
    F64(f64),
    Histogram(HistogramValue),
}

type Key = (Arc<str>, Arc<LabelSet>);

/// The totals of the last accepted export, per series, and when it was taken.
#[derive(Debug, Default)]
pub(crate) struct DeltaState {
    previous: HashMap<Key, Total>,
    previous_time: u64,
}

/// Totals of an export in flight, to become the baseline once it is accepted.
#[derive(Debug)]
pub(crate) struct Pending {
    totals: HashMap<Key, Total>,
    time: u64,
}

fn is_delta(kind: InstrumentKind) -> bool {
    matches!(
        kind,
        InstrumentKind::Counter | InstrumentKind::CounterF64 | InstrumentKind::Histogram
    )
}

impl DeltaState {
    /// `families` with every counter and histogram series turned into its change since
    /// the baseline (starting at the baseline's time); a new series, or one that went
    /// down (a reset), reports its whole total from its own start. Other kinds pass
    /// through unchanged.
    pub(crate) fn prepare(
        &self,
        families: &[MetricFamilySnapshot],
        time: u64,
    ) -> (Vec<MetricFamilySnapshot>, Pending) {
        let mut totals = HashMap::new();
        let mut out = Vec::with_capacity(families.len());
        for family in families {
            let mut family = family.clone();
            if is_delta(family.kind) {
                for series in &mut family.series {
                    let key = (family.name.clone(), series.labels.clone());
                    let total = match &series.value {
                        MetricValue::U64(v) => Total::U64(*v),
                        MetricValue::F64(v) => Total::F64(*v),
                        MetricValue::Histogram(h) => Total::Histogram(h.clone()),
                        _ => continue,
                    };
                    let delta = self
                        .previous
                        .get(&key)
                        .and_then(|prev| subtract(&series.value, prev));
                    if let Some(delta) = delta {
                        series.value = delta;
                        series.start_time_unix_nano = self.previous_time;
                    }
                    totals.insert(key, total);
                }
            }
            out.push(family);
        }
        (out, Pending { totals, time })
    }

    /// The export was accepted: its totals are the new baseline.
    pub(crate) fn commit(&mut self, pending: Pending) {
        self.previous = pending.totals;
        self.previous_time = pending.time;
    }
}

/// `current - previous`, or `None` if the series went down (restarted) or changed type.
fn subtract(current: &MetricValue, previous: &Total) -> Option<MetricValue> {
    match (current, previous) {
        (MetricValue::U64(c), Total::U64(p)) => c.checked_sub(*p).map(MetricValue::U64),
        (MetricValue::F64(c), Total::F64(p)) if c >= p => Some(MetricValue::F64(c - p)),
        (MetricValue::Histogram(c), Total::Histogram(p))
            if c.bucket_counts.len() == p.bucket_counts.len() && c.count >= p.count =>
        {
            let mut h = c.clone();
            for (b, prev) in h.bucket_counts.iter_mut().zip(&p.bucket_counts) {
                *b = b.checked_sub(*prev)?;
            }
            h.count = c.count - p.count;
            h.sum = c.sum - p.sum;
            Some(MetricValue::Histogram(h))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telem::metrics::Registry;

    #[test]
    fn counters_and_histograms_become_deltas_after_a_commit() {
        let registry = Registry::new();
        let c = registry.counter("c_total").unwrap();
        let g = registry.gauge("g").unwrap();
        let h = registry
            .histogram_family("h", &[], &[1.0, 10.0])
            .unwrap()
            .get(&[])
            .unwrap();
        c.increment(5);
        g.set(7);
        h.record(0.5);
        let mut state = DeltaState::default();

        let (first, pending) = state.prepare(&registry.snapshot(), 100);
        let by_name = |fs: &[MetricFamilySnapshot], n: &str| {
            fs.iter().find(|f| &*f.name == n).unwrap().series[0].clone()
        };
        assert_eq!(by_name(&first, "c_total").value, MetricValue::U64(5));
        state.commit(pending);

        c.increment(3);
        g.set(9);
        h.record(5.0);
        h.record(50.0);
        let (second, pending) = state.prepare(&registry.snapshot(), 200);
        let c2 = by_name(&second, "c_total");
        assert_eq!(c2.value, MetricValue::U64(3));
        assert_eq!(c2.start_time_unix_nano, 100);
        assert_eq!(by_name(&second, "g").value, MetricValue::I64(9));
        match by_name(&second, "h").value {
            MetricValue::Histogram(hv) => {
                assert_eq!(hv.bucket_counts, [0, 1, 1]);
                assert_eq!(hv.count, 2);
                assert_eq!(hv.sum, 55.0);
            }
            other => panic!("{other:?}"),
        }

        // Not committed (the export failed): the next delta still covers it.
        drop(pending);
        c.increment(1);
        let (third, _) = state.prepare(&registry.snapshot(), 300);
        let c3 = by_name(&third, "c_total");
        assert_eq!(c3.value, MetricValue::U64(4));
        assert_eq!(c3.start_time_unix_nano, 100);
    }
}
