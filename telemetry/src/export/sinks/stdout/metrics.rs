//! Metric snapshots: the pipeline's counters as one JSON line or one pretty line.

use super::pretty::{HumanDuration, Styled, TimeOfDay, BOLD, DIM};
use crate::export::otlp_json;
use crate::{Level, MetricsSnapshot};
use std::io::Write;

/// A metric snapshot as one line: `{"timeUnixNano": "…", "pipeline": {"spansRecorded":
/// "…", …, "logsRecorded": {"error": "…", …}, …, "sinks": [{"name": …, …}]}}`, 64-bit
/// counts as strings, the log counts per level (keyed by the lower-case level names).
pub(super) fn json_line(snapshot: &MetricsSnapshot, buf: &mut Vec<u8>) {
    fn field(buf: &mut Vec<u8>, key: &[u8], v: u64) {
        buf.extend_from_slice(key);
        otlp_json::u64_string(v, buf);
    }
    fn per_level(buf: &mut Vec<u8>, key: &[u8], counts: &[u64; 5]) {
        buf.extend_from_slice(key);
        buf.push(b'{');
        otlp_json::list(Level::ALL, buf, |level, buf| {
            otlp_json::string(level.as_lowercase(), buf);
            field(buf, b":", counts[level.index()]);
        });
        buf.push(b'}');
    }
    let p = &snapshot.pipeline;
    field(buf, b"{\"timeUnixNano\":", snapshot.time_unix_nano);
    field(buf, b",\"pipeline\":{\"spansRecorded\":", p.spans_recorded);
    field(buf, b",\"spansSampledOut\":", p.spans_sampled_out);
    field(buf, b",\"spansDropped\":", p.spans_dropped);
    field(buf, b",\"spansExported\":", p.spans_exported);
    field(buf, b",\"spansQueued\":", p.spans_queued);
    per_level(buf, b",\"logsRecorded\":", &p.logs.recorded);
    per_level(buf, b",\"logsDropped\":", &p.logs.dropped);
    per_level(buf, b",\"logsExported\":", &p.logs.exported);
    field(buf, b",\"logsQueued\":", p.logs_queued);
    field(buf, b",\"drains\":", p.drains);
    field(buf, b",\"lastDrainNanos\":", p.last_drain_nanos);
    buf.extend_from_slice(b",\"sinks\":[");
    otlp_json::list(&p.sinks, buf, |s, buf| {
        buf.extend_from_slice(b"{\"name\":");
        otlp_json::string(&s.name, buf);
        field(buf, b",\"spansDelivered\":", s.spans_delivered);
        field(buf, b",\"errors\":", s.errors);
        field(buf, b",\"timeouts\":", s.timeouts);
        field(buf, b",\"panics\":", s.panics);
        field(buf, b",\"spansDropped\":", s.spans_dropped);
        field(buf, b",\"logsDelivered\":", s.logs_delivered);
        field(buf, b",\"logsDropped\":", s.logs_dropped);
        if let Some(e) = &s.last_error {
            buf.extend_from_slice(b",\"lastError\":");
            otlp_json::string(e, buf);
        }
        buf.push(b'}');
    });
    buf.extend_from_slice(b"]}}\n");
}

/// A metric snapshot as one pretty line: the time of day, `metrics`, then as
/// `key=value` the span counts, the log record counts (totals over the levels), the
/// drains and the sinks' failures.
pub(super) fn pretty_line(snapshot: &MetricsSnapshot, color: bool, buf: &mut Vec<u8>) {
    let p = &snapshot.pipeline;
    let _ = writeln!(
        buf,
        "{} {} recorded={} exported={} dropped={} sampled_out={} queued={} \
         logs_recorded={} logs_exported={} logs_dropped={} logs_queued={} \
         drains={} last_drain={} sink_failures={}",
        Styled(color, DIM, TimeOfDay(snapshot.time_unix_nano)),
        Styled(color, BOLD, "metrics"),
        p.spans_recorded,
        p.spans_exported,
        p.spans_dropped,
        p.spans_sampled_out,
        p.spans_queued,
        total(&p.logs.recorded),
        total(&p.logs.exported),
        total(&p.logs.dropped),
        p.logs_queued,
        p.drains,
        HumanDuration(p.last_drain_nanos),
        p.sink_failures(),
    );
}

/// The sum of per-level counts (saturating: the sink never panics on a count).
fn total(counts: &[u64; 5]) -> u64 {
    counts.iter().fold(0, |sum, n| sum.saturating_add(*n))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{Shared, START};
    use super::super::{StdoutFormat, StdoutSink};
    use super::*;
    use crate::{LogCounts, PipelineStats, Sink, SinkStats};
    use std::sync::Arc;

    fn snapshot() -> Arc<MetricsSnapshot> {
        let mut logs = LogCounts::default();
        logs.recorded[Level::Warn.index()] = 4;
        logs.recorded[Level::Info.index()] = 3;
        logs.exported[Level::Warn.index()] = 2;
        logs.exported[Level::Info.index()] = 3;
        logs.dropped[Level::Warn.index()] = 1;
        Arc::new(MetricsSnapshot {
            time_unix_nano: START,
            pipeline: PipelineStats {
                spans_recorded: 10,
                spans_exported: 9,
                spans_dropped: 1,
                logs,
                logs_queued: 1,
                sinks: vec![SinkStats {
                    name: "stdout".into(),
                    errors: 2,
                    logs_delivered: 5,
                    logs_dropped: 1,
                    ..Default::default()
                }],
                ..Default::default()
            },
            ..Default::default()
        })
    }

    /// What a sink in `format` writes for [`snapshot`], `with_metrics` as given.
    async fn written(format: StdoutFormat, metrics: bool) -> String {
        let out = Shared::default();
        let sink = StdoutSink::from_writer(out.clone(), format).with_metrics(metrics);
        sink.export_metrics(snapshot()).await.unwrap();
        sink.flush().await.unwrap();
        out.text()
    }

    #[tokio::test]
    async fn metrics_off_by_default() {
        assert_eq!(written(StdoutFormat::Json, false).await, "");
        assert_eq!(written(StdoutFormat::Pretty, false).await, "");
    }

    #[tokio::test]
    async fn metrics_json_and_pretty() {
        let text = written(StdoutFormat::Json, true).await;
        assert_eq!(
            text,
            concat!(
                r#"{"timeUnixNano":"1700000000123456789","pipeline":{"spansRecorded":"10","#,
                r#""spansSampledOut":"0","spansDropped":"1","spansExported":"9","spansQueued":"0","#,
                r#""logsRecorded":{"error":"0","warn":"4","info":"3","debug":"0","trace":"0"},"#,
                r#""logsDropped":{"error":"0","warn":"1","info":"0","debug":"0","trace":"0"},"#,
                r#""logsExported":{"error":"0","warn":"2","info":"3","debug":"0","trace":"0"},"#,
                r#""logsQueued":"1","drains":"0","lastDrainNanos":"0","sinks":[{"name":"stdout","#,
                r#""spansDelivered":"0","errors":"2","timeouts":"0","panics":"0","spansDropped":"0","#,
                r#""logsDelivered":"5","logsDropped":"1"}]}}"#,
                "\n"
            )
        );
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["timeUnixNano"], START.to_string());

        assert_eq!(
            written(StdoutFormat::Pretty, true).await,
            "22:13:20.123Z metrics recorded=10 exported=9 dropped=1 sampled_out=0 queued=0 \
             logs_recorded=7 logs_exported=5 logs_dropped=1 logs_queued=1 \
             drains=0 last_drain=0ns sink_failures=2\n"
        );
    }

    #[test]
    fn log_totals_saturate() {
        assert_eq!(total(&[1, 2, 3, 4, 5]), 15);
        assert_eq!(total(&[u64::MAX, 1, 0, 0, 0]), u64::MAX);
    }
}
