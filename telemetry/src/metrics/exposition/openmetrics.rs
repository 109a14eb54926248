//! OpenMetrics 1.0 text.

use super::prometheus::{sample_name, write_scalar};
use super::text::{
    escape_help, le_values, write_bucket_start, write_f64, write_series_start, write_u64,
    write_unix_seconds,
};
use crate::metrics::snapshot::{MetricFamilySnapshot, MetricValue};
use crate::metrics::{Exemplar, InstrumentKind};

pub(super) fn render(families: &[MetricFamilySnapshot], out: &mut Vec<u8>) {
    for family in families {
        let (base, _) = sample_name(family);
        let name = base.as_bytes();
        if !family.help.is_empty() {
            out.extend_from_slice(b"# HELP ");
            out.extend_from_slice(name);
            out.push(b' ');
            escape_help(&family.help, true, out);
            out.push(b'\n');
        }
        out.extend_from_slice(b"# TYPE ");
        out.extend_from_slice(name);
        out.push(b' ');
        out.extend_from_slice(family.kind.prometheus_type().as_bytes());
        out.push(b'\n');
        // OpenMetrics requires the unit to be the name's suffix.
        let unit = &*family.unit;
        if !unit.is_empty()
            && base
                .strip_suffix(unit)
                .is_some_and(|rest| rest.ends_with('_'))
        {
            out.extend_from_slice(b"# UNIT ");
            out.extend_from_slice(name);
            out.push(b' ');
            out.extend_from_slice(unit.as_bytes());
            out.push(b'\n');
        }
        if family.kind == InstrumentKind::Histogram {
            let les = le_values(&family.bounds);
            for series in &family.series {
                let MetricValue::Histogram(h) = &series.value else {
                    continue;
                };
                let labels = series.labels.rendered();
                let mut cumulative = 0u64;
                let mut exemplars = h.exemplars.iter().peekable();
                for (i, (count, le)) in h.bucket_counts.iter().zip(&les).enumerate() {
                    cumulative += count;
                    write_bucket_start(name, labels, le, out);
                    write_u64(cumulative, out);
                    if let Some((_, e)) = exemplars.next_if(|(b, _)| *b == i) {
                        write_exemplar(e, out);
                    }
                    out.push(b'\n');
                }
                write_series_start(name, b"_count", labels, out);
                write_u64(h.count, out);
                out.push(b'\n');
                write_series_start(name, b"_sum", labels, out);
                write_f64(h.sum, out);
                out.push(b'\n');
                write_created(name, labels, series.start_time_unix_nano, out);
            }
            continue;
        }
        let suffix: &[u8] = if family.kind.is_monotonic() {
            b"_total"
        } else {
            b""
        };
        for series in &family.series {
            let labels = series.labels.rendered();
            write_series_start(name, suffix, labels, out);
            write_scalar(&series.value, out);
            if let Some(e) = &series.exemplar {
                write_exemplar(e, out);
            }
            out.push(b'\n');
            if family.kind.is_monotonic() {
                write_created(name, labels, series.start_time_unix_nano, out);
            }
        }
    }
    out.extend_from_slice(b"# EOF\n");
}

fn write_created(name: &[u8], labels: &str, nanos: u64, out: &mut Vec<u8>) {
    write_series_start(name, b"_created", labels, out);
    write_unix_seconds(nanos, out);
    out.push(b'\n');
}

/// ` # {trace_id="…",span_id="…"} value timestamp`
fn write_exemplar(e: &Exemplar, out: &mut Vec<u8>) {
    out.extend_from_slice(b" # {trace_id=\"");
    out.extend_from_slice(e.trace_id.to_string().as_bytes());
    out.extend_from_slice(b"\",span_id=\"");
    out.extend_from_slice(e.span_id.to_string().as_bytes());
    out.extend_from_slice(b"\"} ");
    write_f64(e.value, out);
    out.push(b' ');
    write_unix_seconds(e.time_unix_nano, out);
}
