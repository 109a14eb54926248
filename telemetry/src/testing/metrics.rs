//! Assertions on a test's metrics.

use crate::metrics::{HistogramValue, MetricFamilySnapshot, MetricValue, Registry};

/// Assertions on the metrics a test recorded (its own registry); failures list every
/// series recorded.
///
/// ```
/// let registry = telem::metrics::Registry::new();
/// registry.counter_family("jobs_total", &["queue"]).unwrap().with_labels(&["mail"]).increment(2);
/// let m = telem::testing::Metrics::new(&registry);
/// m.assert_counter("jobs_total", &[("queue", "mail")], 2);
/// assert_eq!(m.counter("jobs_total", &[("queue", "sms")]), None);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Metrics<'a> {
    registry: &'a Registry,
}

impl<'a> Metrics<'a> {
    /// Assertions over `registry`.
    pub fn new(registry: &'a Registry) -> Self {
        Self { registry }
    }

    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<MetricValue> {
        let families = self.registry.snapshot();
        let family = families.iter().find(|f| &*f.name == name)?;
        family
            .series
            .iter()
            .find(|s| {
                s.labels.len() == labels.len()
                    && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
            })
            .map(|s| s.value.clone())
    }

    /// A counter's (or up-down counter's, or gauge's) value for these labels, if recorded.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Option<i128> {
        match self.find(name, labels)? {
            MetricValue::U64(v) => Some(i128::from(v)),
            MetricValue::I64(v) => Some(i128::from(v)),
            _ => None,
        }
    }

    /// A histogram's value for these labels, if recorded.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Option<HistogramValue> {
        match self.find(name, labels)? {
            MetricValue::Histogram(h) => Some(h),
            _ => None,
        }
    }

    /// Asserts a metric named `name` exists (any labels).
    #[track_caller]
    pub fn assert_present(&self, name: &str) -> &Self {
        if !self.registry.snapshot().iter().any(|f| &*f.name == name) {
            self.fail(format!("expected a metric named {name:?}"));
        }
        self
    }

    /// Asserts an integer series (counter, up-down counter, gauge) has `expected`.
    #[track_caller]
    pub fn assert_counter(&self, name: &str, labels: &[(&str, &str)], expected: i128) -> &Self {
        match self.counter(name, labels) {
            Some(v) if v == expected => self,
            got => self.fail(format!(
                "expected {name}{labels:?} = {expected}, got {got:?}"
            )),
        }
    }

    /// Asserts a histogram series has `count` observations summing to `sum` (within
    /// 1e-9 relative).
    #[track_caller]
    pub fn assert_histogram(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        count: u64,
        sum: f64,
    ) -> &Self {
        match self.histogram(name, labels) {
            Some(h) if h.count == count && (h.sum - sum).abs() <= 1e-9 * sum.abs().max(1.0) => self,
            got => self.fail(format!(
                "expected {name}{labels:?} with count {count} and sum {sum}, got {:?}",
                got.map(|h| (h.count, h.sum))
            )),
        }
    }

    /// Asserts a histogram series has `count` observations (whatever their sum, for
    /// durations).
    #[track_caller]
    pub fn assert_histogram_count(&self, name: &str, labels: &[(&str, &str)], count: u64) -> &Self {
        match self.histogram(name, labels) {
            Some(h) if h.count == count => self,
            got => self.fail(format!(
                "expected {name}{labels:?} with count {count}, got {:?}",
                got.map(|h| h.count)
            )),
        }
    }

    #[track_caller]
    fn fail(&self, what: String) -> ! {
        let families = self.registry.snapshot();
        panic!("{what}. Recorded:\n{}", describe(&families))
    }
}

fn describe(families: &[MetricFamilySnapshot]) -> String {
    let mut out = String::new();
    for f in families {
        for s in &f.series {
            let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            let value = match &s.value {
                MetricValue::U64(v) => v.to_string(),
                MetricValue::I64(v) => v.to_string(),
                MetricValue::F64(v) => v.to_string(),
                MetricValue::Histogram(h) => format!("count={} sum={}", h.count, h.sum),
            };
            out.push_str(&format!("  {}{{{}}} {value}\n", f.name, labels.join(",")));
        }
    }
    if out.is_empty() {
        out.push_str("  (nothing)\n");
    }
    out
}
