//! The framework's own failures, told to whoever runs the service: a sink's error,
//! timeout or panic, an exporter giving up on data, a metric registration refused.
//!
//! Each is counted in the self-metrics where it happens; [`report`] also writes it to
//! stderr, once per cause, then at most once per [`REPORT_INTERVAL`] per cause with the
//! number of reports held back in between. The line goes through a thread of its own
//! behind a small bounded buffer, so reporting never blocks the caller (a stderr
//! nobody reads loses lines, never time). Switch it off with
//! [`Config::with_diagnostics`](crate::Config::with_diagnostics) or
//! `TELEMETRY_DIAGNOSTICS=false`.
//!
//! A report that becomes a line is also made a log record (target `telem::diagnostics`,
//! level `ERROR` for errors and panics, `WARN` otherwise, fields `telemetry.source` and
//! `telemetry.cause`), so it reaches the log sinks (an OTLP collector, say), unless it
//! reports a failure to export logs: that record could fail the same way.
//!
//! ```
//! // An exporter of your own telling the operator it gave up on a batch:
//! telem::diagnostics::report("my-exporter", "export failed", "server said 400: 12 spans lost");
//! ```

use crate::export::sinks::WriterThread;
use std::collections::HashMap;
use std::fmt::Display;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The least time between two lines for the same cause (source and kind).
pub const REPORT_INTERVAL: Duration = Duration::from_secs(60);

/// Bytes of report lines that may wait for a slow stderr before lines are lost.
const BUFFER_BYTES: usize = 64 << 10;

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Reports a failure of `source` (a sink's name, an exporter, `metrics`): `cause` is its
/// kind (`error`, `timeout`, …), `message` what happened. Written to stderr unless
/// diagnostics are off or this cause was reported less than [`REPORT_INTERVAL`] ago.
/// Never blocks.
pub fn report(source: &str, cause: &'static str, message: impl Display) {
    report_as(source, cause, message, true);
}

/// [`report`], without the log record: for failures to deliver log records (an exporter
/// giving up on a batch of them), which a log record of the failure would only meet
/// again.
///
/// ```
/// telem::diagnostics::report_without_log("my-log-exporter", "export failed", "12 records lost");
/// ```
pub fn report_without_log(source: &str, cause: &'static str, message: impl Display) {
    report_as(source, cause, message, false);
}

fn report_as(source: &str, cause: &'static str, message: impl Display, as_log: bool) {
    if !ENABLED.load(Relaxed) {
        return;
    }
    static LIMITER: OnceLock<Mutex<Limiter>> = OnceLock::new();
    let limiter = LIMITER.get_or_init(|| Mutex::new(Limiter::new(REPORT_INTERVAL)));
    let line = match limiter.lock() {
        Ok(mut l) => l.line(source, cause, &message, Instant::now()),
        Err(_) => return,
    };
    let Some(line) = line else {
        return;
    };
    if as_log {
        log(source, cause, &message);
    }
    if let Some(out) = stderr() {
        let _ = out.submit(line.into_bytes(), 0);
    }
}

/// The report as a log record.
fn log(source: &str, cause: &'static str, message: &dyn Display) {
    use crate::logs::site::{Message, Site};
    use crate::{Level, Str, Value};
    const fn site(level: Level) -> Site {
        let keys = &["telemetry.source", "telemetry.cause"];
        Site::new(
            level,
            "telem::diagnostics",
            file!(),
            line!(),
            None,
            Message::Formatted,
            keys,
        )
    }
    static ERROR: Site = site(Level::Error);
    static WARN: Site = site(Level::Warn);
    let site = if matches!(cause, "error" | "panic") {
        &ERROR
    } else {
        &WARN
    };
    if site.is_enabled() {
        site.record_formatted(
            Str::from(message.to_string()),
            [
                Value::String(Str::copy_of(source)),
                Value::String(Str::from_static(cause)),
            ],
        );
    }
}

/// Whether [`report`] writes anything (on by default).
pub(crate) fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Relaxed);
}

/// The stderr writer thread, started at the first line.
fn stderr() -> Option<&'static WriterThread> {
    static OUT: OnceLock<Option<WriterThread>> = OnceLock::new();
    OUT.get_or_init(|| {
        WriterThread::spawn("diagnostics", Box::new(std::io::stderr()), BUFFER_BYTES).ok()
    })
    .as_ref()
}

/// Decides which reports become lines: the first of each cause, then one per interval.
#[derive(Debug)]
struct Limiter {
    interval: Duration,
    /// By (source, cause): when its last line was written, and reports held back since.
    causes: HashMap<(String, &'static str), (Instant, u64)>,
}

impl Limiter {
    fn new(interval: Duration) -> Self {
        Self {
            interval,
            causes: HashMap::new(),
        }
    }

    /// The line to write for this report at `now`, if any.
    fn line(
        &mut self,
        source: &str,
        cause: &'static str,
        message: &dyn Display,
        now: Instant,
    ) -> Option<String> {
        let key = (source.to_owned(), cause);
        let held = match self.causes.get_mut(&key) {
            Some((last, held)) if now.duration_since(*last) < self.interval => {
                *held += 1;
                return None;
            }
            Some((last, held)) => {
                *last = now;
                std::mem::take(held)
            }
            None => {
                self.causes.insert(key, (now, 0));
                0
            }
        };
        let mut line = format!("telemetry: {source}: {cause}: {message}");
        if held > 0 {
            let seconds = self.interval.as_secs();
            line.push_str(&format!(" ({held} more like this in the last {seconds} s)"));
        }
        line.push('\n');
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_cause_then_once_per_interval_with_the_count_held_back() {
        let mut l = Limiter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        assert_eq!(
            l.line("stdout", "error", &"writer stalled", at(0))
                .as_deref(),
            Some("telemetry: stdout: error: writer stalled\n")
        );
        assert_eq!(l.line("stdout", "error", &"writer stalled", at(1)), None);
        assert_eq!(l.line("stdout", "error", &"writer stalled", at(59)), None);
        // Another cause, or another source, has its own allowance.
        assert!(l.line("stdout", "timeout", &"flush", at(2)).is_some());
        assert!(l.line("otlp", "error", &"refused", at(2)).is_some());
        assert_eq!(
            l.line("stdout", "error", &"writer stalled", at(60))
                .as_deref(),
            Some("telemetry: stdout: error: writer stalled (2 more like this in the last 60 s)\n")
        );
        assert_eq!(l.line("stdout", "error", &"again", at(61)), None);
    }
}
