//! Why a metric could not be registered or a series not found.

use super::InstrumentKind;

/// A registration or lookup the registry refused. Every variant names the metric and
/// says what to change; none of them is ever a panic.
///
/// ```
/// let registry = telem::metrics::Registry::new();
/// let err = registry.counter("http.requests").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid metric name `http.requests`: character '.' at position 4 is not allowed \
///      (metric names match [a-zA-Z_:][a-zA-Z0-9_:]*)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricError {
    /// The metric name is empty.
    #[error(
        "invalid metric name: the name is empty (metric names match [a-zA-Z_:][a-zA-Z0-9_:]*)"
    )]
    EmptyMetricName,
    /// The metric name has a character Prometheus does not accept.
    #[error("invalid metric name `{name}`: character {found:?} at position {position} is not allowed (metric names match [a-zA-Z_:][a-zA-Z0-9_:]*)")]
    InvalidMetricName {
        /// The refused name.
        name: String,
        /// The first offending character.
        found: char,
        /// Its position in the name, in characters from 0.
        position: usize,
    },
    /// A label name is empty.
    #[error("invalid label name for metric `{metric}`: the name is empty (label names match [a-zA-Z_][a-zA-Z0-9_]*)")]
    EmptyLabelName {
        /// The metric.
        metric: String,
    },
    /// A label name has a character Prometheus does not accept.
    #[error("invalid label name `{name}` for metric `{metric}`: character {found:?} at position {position} is not allowed (label names match [a-zA-Z_][a-zA-Z0-9_]*)")]
    InvalidLabelName {
        /// The metric.
        metric: String,
        /// The refused label name.
        name: String,
        /// The first offending character.
        found: char,
        /// Its position in the label name, in characters from 0.
        position: usize,
    },
    /// A label name is reserved.
    #[error("invalid label name `{name}` for metric `{metric}`: {reason}")]
    ReservedLabelName {
        /// The metric.
        metric: String,
        /// The refused label name.
        name: String,
        /// Why it is reserved.
        reason: &'static str,
    },
    /// The same label name was given twice.
    #[error("label `{name}` appears twice in metric `{metric}`; give each label once")]
    DuplicateLabelName {
        /// The metric.
        metric: String,
        /// The repeated label name.
        name: String,
    },
    /// The name is taken by a metric of another type or with other label names.
    #[error("metric `{name}` is already registered as a {existing} with labels {existing_labels:?}; it cannot also be a {requested} with labels {requested_labels:?} (use another name, or the same type and labels)")]
    Conflict {
        /// The metric.
        name: String,
        /// The type it was registered with first.
        existing: InstrumentKind,
        /// Its label names.
        existing_labels: Vec<String>,
        /// The type asked for now.
        requested: InstrumentKind,
        /// The label names asked for now.
        requested_labels: Vec<String>,
    },
    /// The histogram is already registered with other bucket bounds.
    #[error(
        "histogram `{name}` is already registered with buckets {existing:?}, not {requested:?}"
    )]
    BucketConflict {
        /// The metric.
        name: String,
        /// Its bucket upper bounds.
        existing: Vec<f64>,
        /// The bounds asked for now.
        requested: Vec<f64>,
    },
    /// Histogram bucket bounds that cannot be used.
    #[error("invalid buckets for histogram `{name}`: {reason}")]
    InvalidBuckets {
        /// The metric.
        name: String,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// A series lookup with the wrong number of label values.
    #[error("metric `{metric}` has labels {names:?} but {got} values were given; give one value per label, in that order")]
    LabelCount {
        /// The metric.
        metric: String,
        /// Its label names.
        names: Vec<String>,
        /// How many values were given.
        got: usize,
    },
}
