//! The label set of one series, with its exposition text prepared once.

use std::sync::Arc;

/// The label names and values of one series. Shared (an `Arc`) between the registry
/// and every snapshot, so a snapshot copies no strings; the escaped exposition text
/// (`a="1",b="x\"y"`) is prepared once when the series is created.
///
/// ```
/// let registry = telem::metrics::Registry::new();
/// let family = registry.counter_family("jobs_total", &["queue"]).unwrap();
/// family.with_labels(&["mail"]).increment(1);
/// let snapshot = registry.snapshot();
/// let labels = &snapshot[0].series[0].labels;
/// assert_eq!(labels.get("queue"), Some("mail"));
/// assert_eq!(labels.iter().collect::<Vec<_>>(), [("queue", "mail")]);
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LabelSet {
    names: Arc<[Box<str>]>,
    values: Box<[Box<str>]>,
    rendered: Box<str>,
}

impl LabelSet {
    pub(crate) fn new(names: Arc<[Box<str>]>, values: &[&str]) -> Self {
        let mut rendered = Vec::new();
        for (i, (name, value)) in names.iter().zip(values).enumerate() {
            if i > 0 {
                rendered.push(b',');
            }
            rendered.extend_from_slice(name.as_bytes());
            rendered.extend_from_slice(b"=\"");
            super::exposition::escape_label_value(value, &mut rendered);
            rendered.push(b'"');
        }
        Self {
            names,
            values: values.iter().map(|v| Box::<str>::from(*v)).collect(),
            // Escaping only inserts ASCII before ASCII characters of valid UTF-8.
            rendered: String::from_utf8(rendered)
                .unwrap_or_default()
                .into_boxed_str(),
        }
    }

    /// The set of the overflow series: `otel_metric_overflow="true"`.
    pub(crate) fn overflow() -> Self {
        Self::new(Arc::from([Box::from(OVERFLOW_LABEL)]), &["true"])
    }

    /// `(name, value)` pairs in the family's label order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names
            .iter()
            .zip(self.values.iter())
            .map(|(n, v)| (&**n, &**v))
    }

    /// The value of label `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// How many labels.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// No labels at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values, in the family's label order.
    pub(crate) fn values(&self) -> &[Box<str>] {
        &self.values
    }

    /// `a="1",b="2"`, escaped, without braces.
    pub(crate) fn rendered(&self) -> &str {
        &self.rendered
    }
}

/// The label of the series that takes every combination past a family's cardinality
/// limit (OpenTelemetry's `otel.metric.overflow`, in Prometheus spelling).
pub const OVERFLOW_LABEL: &str = "otel_metric_overflow";
