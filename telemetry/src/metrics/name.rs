//! Prometheus's rules for metric and label names.

use super::MetricError;

/// Checks a metric name against `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub(crate) fn validate_metric_name(name: &str) -> Result<(), MetricError> {
    if name.is_empty() {
        return Err(MetricError::EmptyMetricName);
    }
    match first_invalid(name, |c| c == ':') {
        None => Ok(()),
        Some((position, found)) => Err(MetricError::InvalidMetricName {
            name: name.to_owned(),
            found,
            position,
        }),
    }
}

/// Checks a label name against `[a-zA-Z_][a-zA-Z0-9_]*` and the reserved `__` prefix.
pub(crate) fn validate_label_name(metric: &str, name: &str) -> Result<(), MetricError> {
    if name.is_empty() {
        return Err(MetricError::EmptyLabelName {
            metric: metric.to_owned(),
        });
    }
    if let Some((position, found)) = first_invalid(name, |_| false) {
        return Err(MetricError::InvalidLabelName {
            metric: metric.to_owned(),
            name: name.to_owned(),
            found,
            position,
        });
    }
    if name.starts_with("__") {
        return Err(MetricError::ReservedLabelName {
            metric: metric.to_owned(),
            name: name.to_owned(),
            reason: "names starting with `__` are reserved for Prometheus's own use",
        });
    }
    Ok(())
}

/// The first character outside `[a-zA-Z_]` (first) / `[a-zA-Z0-9_]` (rest), plus
/// whatever `extra` allows.
fn first_invalid(name: &str, extra: impl Fn(char) -> bool) -> Option<(usize, char)> {
    name.chars().enumerate().find(|&(i, c)| {
        let ok = c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()) || extra(c);
        !ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_follow_prometheus() {
        for ok in ["a", "_x", ":x", "http_requests_total", "a:b_c9", "A1"] {
            assert_eq!(validate_metric_name(ok), Ok(()), "{ok}");
        }
        let err = validate_metric_name("9lives").unwrap_err();
        assert!(matches!(
            err,
            MetricError::InvalidMetricName {
                found: '9',
                position: 0,
                ..
            }
        ));
        let err = validate_metric_name("réseau").unwrap_err();
        assert!(matches!(
            err,
            MetricError::InvalidMetricName {
                found: 'é',
                position: 1,
                ..
            }
        ));
        assert_eq!(validate_metric_name(""), Err(MetricError::EmptyMetricName));
    }

    #[test]
    fn label_names_follow_prometheus() {
        for ok in ["method", "_x", "a9"] {
            assert_eq!(validate_label_name("m", ok), Ok(()), "{ok}");
        }
        assert!(matches!(
            validate_label_name("m", "a:b"),
            Err(MetricError::InvalidLabelName {
                found: ':',
                position: 1,
                ..
            })
        ));
        assert!(matches!(
            validate_label_name("m", "__name__"),
            Err(MetricError::ReservedLabelName { .. })
        ));
        assert!(matches!(
            validate_label_name("m", ""),
            Err(MetricError::EmptyLabelName { .. })
        ));
    }
}
