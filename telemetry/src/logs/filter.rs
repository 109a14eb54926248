//! Which log records are recorded: `RUST_LOG`-style directives.

use crate::Level;
use std::fmt;

/// The most detailed level a filter lets through, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum LevelFilter {
    /// Nothing.
    Off = 0,
    /// `error` only.
    Error = 1,
    /// `warn` and more severe.
    Warn = 2,
    /// `info` and more severe (the default).
    #[default]
    Info = 3,
    /// `debug` and more severe.
    Debug = 4,
    /// Everything.
    Trace = 5,
}

impl LevelFilter {
    /// Whether records at `level` pass.
    #[inline(always)]
    pub const fn allows(self, level: Level) -> bool {
        level as u8 <= self as u8
    }

    /// The filter as a number (0 off … 5 trace), as the call sites' cache keeps it.
    pub(crate) const fn as_u8(self) -> u8 {
        self as u8
    }
}

impl From<Level> for LevelFilter {
    fn from(level: Level) -> Self {
        match level {
            Level::Error => LevelFilter::Error,
            Level::Warn => LevelFilter::Warn,
            Level::Info => LevelFilter::Info,
            Level::Debug => LevelFilter::Debug,
            Level::Trace => LevelFilter::Trace,
        }
    }
}

/// Which log records are recorded: a default level and a level per target (a module
/// path or a `target:` name), as `RUST_LOG` writes them (`info,my_crate::db=debug`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LogFilter {
    default: LevelFilter,
    /// (target, level), the most specific (longest) target first.
    targets: Vec<(String, LevelFilter)>,
}

impl LogFilter {
    /// A filter letting through `default` everywhere.
    pub fn new(default: LevelFilter) -> Self {
        Self {
            default,
            targets: Vec::new(),
        }
    }

    /// This filter with `target` (and the modules under it) at `level`.
    pub fn with_target(mut self, target: impl Into<String>, level: LevelFilter) -> Self {
        let target = target.into();
        self.targets.retain(|(t, _)| *t != target);
        self.targets.push((target, level));
        self.targets.sort_by(|a, b| b.0.len().cmp(&a.0.len()));
        self
    }

    /// The level for records of `target`: the most specific directive whose target is
    /// `target` or one of its parent modules, else the default.
    pub fn level_for(&self, target: &str) -> LevelFilter {
        self.targets
            .iter()
            .find(|(t, _)| {
                target.starts_with(t.as_str())
                    && (target.len() == t.len() || target[t.len()..].starts_with("::"))
            })
            .map_or(self.default, |&(_, level)| level)
    }

    /// Whether a record of `target` at `level` passes.
    pub fn allows(&self, target: &str, level: Level) -> bool {
        self.level_for(target).allows(level)
    }

    /// The most detailed level any directive lets through.
    pub fn max_level(&self) -> LevelFilter {
        self.targets
            .iter()
            .map(|&(_, l)| l)
            .fold(self.default, LevelFilter::max)
    }
}

impl fmt::Display for LogFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.default)?;
        for (t, l) in &self.targets {
            write!(f, ",{t}={l:?}")?;
        }
        Ok(())
    }
}
