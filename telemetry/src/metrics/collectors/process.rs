//! Process metrics from `/proc/self` (Linux), named as Prometheus's client libraries
//! name them.

use super::callback_error;
use crate::metrics::{CallbackError, Registry};
use std::time::{SystemTime, UNIX_EPOCH};

/// Clock ticks per second of `/proc` CPU times: `USER_HZ`, 100 on every Linux ABI.
const TICKS_PER_SECOND: f64 = 100.0;

/// Sets the process metrics in `registry`: `process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
/// `process_open_fds`, `process_max_fds`, `process_start_time_seconds`,
/// `process_uptime_seconds`, and `telemetry_build_info{version}` (always 1). A callback:
/// `registry.register_callback(telem::metrics::collectors::process)`.
///
/// An error when `/proc/self` can't be read (not Linux, a sandbox without `/proc`).
///
/// ```
/// let registry = telem::metrics::Registry::new();
/// # #[cfg(target_os = "linux")] {
/// telem::metrics::collectors::process(&registry).unwrap();
/// assert!(registry.gauge_f64("process_resident_memory_bytes").unwrap().get() > 0.0);
/// # }
/// ```
pub fn process(registry: &Registry) -> Result<(), CallbackError> {
    let version = env!("CARGO_PKG_VERSION");
    registry
        .family::<crate::metrics::Gauge>("telemetry_build_info", &["version"])
        .map_err(callback_error)?
        .with_labels(&[version])
        .set(1);
    describe(
        registry,
        "telemetry_build_info",
        "",
        "The telemetry library's version; always 1.",
    );

    let stat = read("/proc/self/stat")?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |i: usize| -> Result<f64, CallbackError> {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| CallbackError::new("unexpected /proc/self/stat format"))
    };
    // `utime` and `stime` are fields 14 and 15, `starttime` 22 (1-based, with pid and
    // comm before the ones split here).
    let cpu = (field(11)? + field(12)?) / TICKS_PER_SECOND;
    registry
        .counter_f64("process_cpu_seconds_total")
        .map_err(callback_error)?
        .set_total(cpu);
    describe(
        registry,
        "process_cpu_seconds_total",
        "seconds",
        "Total user and system CPU time spent in seconds.",
    );

    let boot = read("/proc/stat")?
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<f64>().ok())
        .ok_or_else(|| CallbackError::new("no btime in /proc/stat"))?;
    let start = boot + field(19)? / TICKS_PER_SECOND;
    set_f64(
        registry,
        "process_start_time_seconds",
        "seconds",
        "Start time of the process since unix epoch in seconds.",
        start,
    )?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    set_f64(
        registry,
        "process_uptime_seconds",
        "seconds",
        "Time since the process started, in seconds.",
        (now - start).max(0.0),
    )?;

    let status = read("/proc/self/status")?;
    let kib = |key: &str| {
        status.lines().find_map(|l| {
            l.strip_prefix(key)?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
    };
    if let Some(rss) = kib("VmRSS:") {
        set_f64(
            registry,
            "process_resident_memory_bytes",
            "bytes",
            "Resident memory size in bytes.",
            rss * 1024.0,
        )?;
    }
    if let Some(vm) = kib("VmSize:") {
        set_f64(
            registry,
            "process_virtual_memory_bytes",
            "bytes",
            "Virtual memory size in bytes.",
            vm * 1024.0,
        )?;
    }

    let fds = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| CallbackError::new(format!("reading /proc/self/fd: {e}")))?
        .count();
    set_f64(
        registry,
        "process_open_fds",
        "",
        "Number of open file descriptors.",
        fds as f64,
    )?;
    if let Some(max) = read("/proc/self/limits")?.lines().find_map(|l| {
        l.strip_prefix("Max open files")?
            .split_whitespace()
            .next()?
            .parse::<f64>()
            .ok()
    }) {
        set_f64(
            registry,
            "process_max_fds",
            "",
            "Maximum number of open file descriptors.",
            max,
        )?;
    }
    Ok(())
}

fn read(path: &str) -> Result<String, CallbackError> {
    std::fs::read_to_string(path).map_err(|e| CallbackError::new(format!("reading {path}: {e}")))
}

fn describe(registry: &Registry, name: &str, unit: &str, help: &str) {
    // The names are constants and valid.
    let _ = registry.describe_with_unit(name, unit, help);
}

fn set_f64(
    registry: &Registry,
    name: &str,
    unit: &str,
    help: &str,
    v: f64,
) -> Result<(), CallbackError> {
    registry.gauge_f64(name).map_err(callback_error)?.set(v);
    describe(registry, name, unit, help);
    Ok(())
}
