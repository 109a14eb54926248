//! Prometheus text format 0.0.4.

use super::text::{
    escape_help, le_values, write_bucket_start, write_f64, write_i64, write_series_start, write_u64,
};
use crate::metrics::snapshot::{MetricFamilySnapshot, MetricValue};
use crate::metrics::InstrumentKind;

/// The name samples are written under: a counter's always ends in `_total`.
pub(super) fn sample_name(family: &MetricFamilySnapshot) -> (&str, &'static str) {
    if family.kind.is_monotonic() {
        (
            family.name.strip_suffix("_total").unwrap_or(&family.name),
            "_total",
        )
    } else {
        (&family.name, "")
    }
}

pub(super) fn render(families: &[MetricFamilySnapshot], out: &mut Vec<u8>) {
    for family in families {
        let (base, suffix) = sample_name(family);
        let (base, suffix) = (base.as_bytes(), suffix.as_bytes());
        if !family.help.is_empty() {
            out.extend_from_slice(b"# HELP ");
            out.extend_from_slice(base);
            out.extend_from_slice(suffix);
            out.push(b' ');
            escape_help(&family.help, false, out);
            out.push(b'\n');
        }
        out.extend_from_slice(b"# TYPE ");
        out.extend_from_slice(base);
        out.extend_from_slice(suffix);
        out.push(b' ');
        out.extend_from_slice(family.kind.prometheus_type().as_bytes());
        out.push(b'\n');
        if family.kind == InstrumentKind::Histogram {
            let les = le_values(&family.bounds);
            for series in &family.series {
                let MetricValue::Histogram(h) = &series.value else {
                    continue;
                };
                let labels = series.labels.rendered();
                let mut cumulative = 0u64;
                for (count, le) in h.bucket_counts.iter().zip(&les) {
                    cumulative += count;
                    write_bucket_start(base, labels, le, out);
                    write_u64(cumulative, out);
                    out.push(b'\n');
                }
                write_series_start(base, b"_sum", labels, out);
                write_f64(h.sum, out);
                out.push(b'\n');
                write_series_start(base, b"_count", labels, out);
                write_u64(h.count, out);
                out.push(b'\n');
            }
            continue;
        }
        for series in &family.series {
            write_series_start(base, suffix, series.labels.rendered(), out);
            write_scalar(&series.value, out);
            out.push(b'\n');
        }
    }
}

pub(super) fn write_scalar(value: &MetricValue, out: &mut Vec<u8>) {
    match value {
        MetricValue::U64(v) => write_u64(*v, out),
        MetricValue::I64(v) => write_i64(*v, out),
        MetricValue::F64(v) => write_f64(*v, out),
        MetricValue::Histogram(h) => write_u64(h.count, out),
    }
}
