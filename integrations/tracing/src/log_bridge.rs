//! [`LogBridge`]: records of the `log` crate become telem log records.

use crate::sites::Sites;
use telem::bridge::{self, display_value, LogSite};
use telem::{Level, Str, Value};

/// A [`log::Log`] that makes each `log` record a telem log record: its level, target,
/// file and line, its message, its key-values (`log`'s `kv`) as fields, and the trace
/// and span ids of the span current where it was logged (a `#[trace]` span or an
/// entered `tracing` span).
///
/// Records are filtered by the pipeline's log filter, the same directives as the log
/// macros and `tracing` events; `log`'s global maximum level follows the filter, so a
/// level filtered out everywhere costs `log`'s own check only. Install it with
/// [`install`](crate::install) (with the `tracing` bridge) or alone with
/// [`LogBridge::install`].
///
/// A `log` call site's target, file and line are usually `'static` (the `log!` macros
/// give `module_path!()`, `file!()` and `line!()`): such a call site gets a cached
/// verdict of its own, found without a lock. A target known only at run time is matched
/// against the filter at each call and copied into the record (its file and line are
/// kept).
///
/// For a logger of your own that fans out to several (`log` allows one), make one with
/// [`LogBridge::new`], which also makes `log`'s maximum level follow the filter.
#[derive(Debug, Clone, Copy)]
pub struct LogBridge {
    _private: (),
}

impl Default for LogBridge {
    fn default() -> Self {
        Self::new()
    }
}

/// `log` call sites with a static target: (target address, target length, file
/// address, line, level).
type Key = (usize, usize, usize, u32, u8);

static SITES: Sites<Key> = Sites::new(2048);

/// `log` call sites whose target is known only at run time: (file address, line,
/// level); their records carry their own target.
static DYNAMIC: Sites<(usize, u32, u8)> = Sites::new(256);

fn level(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::Error,
        log::Level::Warn => Level::Warn,
        log::Level::Info => Level::Info,
        log::Level::Debug => Level::Debug,
        log::Level::Trace => Level::Trace,
    }
}

fn max_level() -> log::LevelFilter {
    match bridge::max_level() {
        telem::LevelFilter::Off => log::LevelFilter::Off,
        telem::LevelFilter::Error => log::LevelFilter::Error,
        telem::LevelFilter::Warn => log::LevelFilter::Warn,
        telem::LevelFilter::Info => log::LevelFilter::Info,
        telem::LevelFilter::Debug => log::LevelFilter::Debug,
        telem::LevelFilter::Trace => log::LevelFilter::Trace,
    }
}

impl LogBridge {
    /// Installs the bridge as `log`'s global logger. Fails if a logger is already set
    /// (`log` allows one per process).
    ///
    /// ```
    /// telem_tracing::LogBridge::install().expect("no other logger in this process");
    /// log::info!("from a crate that uses log");
    /// ```
    pub fn install() -> Result<(), log::SetLoggerError> {
        static BRIDGE: LogBridge = LogBridge { _private: () };
        log::set_logger(&BRIDGE)?;
        follow_filter();
        Ok(())
    }

    /// A bridge to hand to a logger of your own; from now on `log`'s maximum level
    /// follows the pipeline's filter.
    pub fn new() -> Self {
        follow_filter();
        Self { _private: () }
    }

    /// The site of `record`, and whether its target is the site's (else the record
    /// carries its own).
    fn site(record: &log::Record<'_>) -> (&'static LogSite, bool) {
        let level = level(record.level());
        // The target is static when it is the static module path (what `log!` gives).
        let target = record.module_path_static().filter(|m| {
            std::ptr::eq(m.as_ptr(), record.target().as_ptr()) && m.len() == record.target().len()
        });
        match target {
            Some(target) => {
                let file = record.file_static();
                let key = (
                    target.as_ptr() as usize,
                    target.len(),
                    file.map_or(0, |f| f.as_ptr() as usize),
                    record.line().unwrap_or(0),
                    level as u8,
                );
                let line = record.line();
                let site = SITES.get(key, || LogSite::leak(level, target, file, line, &[]));
                (site, true)
            }
            None => {
                let file = record.file_static();
                let key = (
                    file.map_or(0, |f| f.as_ptr() as usize),
                    record.line().unwrap_or(0),
                    level as u8,
                );
                let line = record.line();
                let site = DYNAMIC.get(key, || LogSite::leak(level, "log", file, line, &[]));
                (site, false)
            }
        }
    }
}

/// `log`'s maximum level follows the filter from now on.
fn follow_filter() {
    static LISTEN: std::sync::Once = std::sync::Once::new();
    LISTEN.call_once(|| bridge::on_filter_change(|| log::set_max_level(max_level())));
    log::set_max_level(max_level());
}

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        bridge::allows(metadata.target(), level(metadata.level()))
    }

    fn log(&self, record: &log::Record<'_>) {
        let (site, static_target) = Self::site(record);
        let enabled = if static_target {
            site.is_enabled()
        } else {
            bridge::allows(record.target(), site.level())
        };
        if !enabled {
            return;
        }
        let mut bridged = site.record();
        let message = match record.args().as_str() {
            Some(text) => Str::from_static(text),
            None => match display_value(record.args()) {
                Value::String(text) => text,
                other => Str::copy_of(&other.to_string()),
            },
        };
        bridged.message(message);
        if !static_target {
            bridged.target(Str::copy_of(record.target()));
        }
        let _ = record.key_values().visit(&mut KeyValues {
            record: &mut bridged,
        });
        bridged.emit();
    }

    fn flush(&self) {}
}

/// `log`'s key-values as fields.
struct KeyValues<'a> {
    record: &'a mut telem::bridge::BridgedRecord,
}

impl<'kvs> log::kv::VisitSource<'kvs> for KeyValues<'_> {
    fn visit_pair(
        &mut self,
        key: log::kv::Key<'kvs>,
        value: log::kv::Value<'kvs>,
    ) -> Result<(), log::kv::Error> {
        let value = if let Some(v) = value.to_bool() {
            Value::Bool(v)
        } else if let Some(v) = value.to_i64() {
            Value::I64(v)
        } else if let Some(v) = value.to_f64().filter(|_| value.to_u64().is_none()) {
            Value::F64(v)
        } else if let Some(v) = value.to_borrowed_str() {
            Value::String(Str::copy_of(v))
        } else {
            display_value(&value)
        };
        self.record.attribute(Str::copy_of(key.as_str()), value);
        Ok(())
    }
}
