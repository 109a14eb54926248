//! Log call sites: one static per macro call, with the filter's verdict cached in it.
//!
//! A call site's first call registers it (a lock-free push onto a global list) and
//! asks the installed [`LogFilter`] whether its target and level pass; the answer is
//! kept in the site. From then on a call costs a relaxed load of the global maximum
//! level and, if the level is under it, a relaxed load of the site's cached answer:
//! no lock, no string compare. Changing the filter walks the list once and rewrites
//! every site's answer (`install`); a site registering while that happens retries
//! until it has read the filter of the latest generation.
//!
//! Installed filters are kept for the life of the process (a call site may still be
//! reading one while it is replaced); setting a filter equal to one set before reuses
//! it, so switching between levels never grows memory.

#![allow(unsafe_code)]

use crate::logs::filter::{LevelFilter, LogFilter};
use crate::logs::raw::{RawLog, INLINE_LOG_VALUES};
use crate::record::ring;
use crate::{Level, Str, Value};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

/// The most detailed level any call site may record now (a [`LevelFilter`] as a
/// number): 0 while no pipeline runs, so every log call is one load and one compare.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);
/// The filter call sites registering now must read; null: nothing passes.
static FILTER: AtomicPtr<LogFilter> = AtomicPtr::new(ptr::null_mut());
/// Bumped at every change of `FILTER`, so a registering site can tell it read a stale one.
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// The registered call sites, newest first.
static HEAD: AtomicPtr<Site> = AtomicPtr::new(ptr::null_mut());

const UNKNOWN: u8 = 0;
const NEVER: u8 = 1;
const ALWAYS: u8 = 2;

/// How a call site's message is made.
#[derive(Debug)]
pub enum Message {
    /// The format string's literal pieces around plain `{}` placeholders: the record
    /// keeps the arguments as values and the drain writes the message (`n` pieces, `n -
    /// 1` arguments). A message without arguments is one piece.
    Pieces(&'static [&'static str]),
    /// Formatted at the call (a placeholder with a format spec): the record carries the
    /// text.
    Formatted,
}

impl Message {
    /// How many of a record's values are the message's arguments.
    pub(crate) const fn args(&self) -> usize {
        match self {
            Message::Pieces(pieces) if !pieces.is_empty() => pieces.len() - 1,
            _ => 0,
        }
    }
}

/// One log macro call: what is known at compile time, and the filter's cached verdict.
#[derive(Debug)]
pub struct Site {
    pub(crate) level: Level,
    pub(crate) target: &'static str,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
    pub(crate) name: Option<&'static str>,
    pub(crate) message: Message,
    /// The fields' keys, in the order of the values after the message's arguments.
    pub(crate) keys: &'static [&'static str],
    interest: AtomicU8,
    registered: AtomicBool,
    next: AtomicPtr<Site>,
}

impl Site {
    /// A call site (made by the log macros).
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        level: Level,
        target: &'static str,
        file: &'static str,
        line: u32,
        name: Option<&'static str>,
        message: Message,
        keys: &'static [&'static str],
    ) -> Self {
        Self {
            level,
            target,
            file,
            line,
            name,
            message,
            keys,
            interest: AtomicU8::new(UNKNOWN),
            registered: AtomicBool::new(false),
            next: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Whether a call here is recorded now: a relaxed load and a compare when the level
    /// is filtered out everywhere, one more load otherwise; the filter itself is asked
    /// once per call site (and again after it changes).
    #[inline(always)]
    pub fn is_enabled(&'static self) -> bool {
        if self.level as u8 > MAX_LEVEL.load(Ordering::Relaxed) {
            return false;
        }
        match self.interest.load(Ordering::Relaxed) {
            ALWAYS => true,
            NEVER => false,
            _ => self.register(),
        }
    }

    /// The level of the call.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Records a call whose message is [`Message::Pieces`]: `values` are the message's
    /// arguments, then the fields' values. Never blocks: a full ring drops the record
    /// (counted per level).
    #[inline]
    pub fn record<const N: usize>(&'static self, values: [Value; N]) {
        ring::logs::push(self.level, || RawLog::now(self, None, values));
    }

    /// Records a call whose message was formatted at the call ([`Message::Formatted`]).
    #[inline]
    pub fn record_formatted<const N: usize>(&'static self, message: Str, values: [Value; N]) {
        ring::logs::push(self.level, || RawLog::now(self, Some(message), values));
    }

    /// [`record`](Self::record) of up to 4 values, given padded to exactly 4 (the rest is
    /// ignored): moved into the record whole, with no per-value copy.
    #[inline]
    pub fn record_inline(&'static self, values: [Value; INLINE_LOG_VALUES]) {
        let len = self.message.args() + self.keys.len();
        ring::logs::push(self.level, || RawLog::now_inline(self, None, values, len));
    }

    /// [`record_formatted`](Self::record_formatted) of up to 4 values, padded to 4.
    #[inline]
    pub fn record_formatted_inline(
        &'static self,
        message: Str,
        values: [Value; INLINE_LOG_VALUES],
    ) {
        let len = self.keys.len();
        ring::logs::push(self.level, || {
            RawLog::now_inline(self, Some(message), values, len)
        });
    }

    #[cold]
    #[inline(never)]
    fn register(&'static self) -> bool {
        if !self.registered.swap(true, Ordering::SeqCst) {
            let me = ptr::from_ref(self).cast_mut();
            let mut head = HEAD.load(Ordering::SeqCst);
            loop {
                self.next.store(head, Ordering::SeqCst);
                match HEAD.compare_exchange_weak(head, me, Ordering::SeqCst, Ordering::SeqCst) {
                    Ok(_) => break,
                    Err(now) => head = now,
                }
            }
        }
        loop {
            let generation = GENERATION.load(Ordering::SeqCst);
            let verdict = self.verdict(FILTER.load(Ordering::SeqCst));
            self.interest.store(verdict, Ordering::SeqCst);
            if GENERATION.load(Ordering::SeqCst) == generation {
                return verdict == ALWAYS;
            }
        }
    }

    fn verdict(&self, filter: *const LogFilter) -> u8 {
        // SAFETY: `FILTER` only ever holds null or a pointer from `Box::leak` (see
        // `install`): filters are never freed.
        match unsafe { filter.as_ref() } {
            Some(filter) if filter.allows(self.target, self.level) => ALWAYS,
            _ => NEVER,
        }
    }
}

/// The filters installed so far (kept: see the module's notes), and the one in use by
/// the pipeline, and whether test scopes want everything.
struct Installed {
    seen: Vec<&'static LogFilter>,
    pipeline: Option<&'static LogFilter>,
    capture_all: bool,
    /// Test scopes alive.
    #[cfg_attr(
        not(feature = "testing"),
        expect(dead_code, reason = "test scopes exist only with `testing`")
    )]
    scopes: usize,
}

static INSTALLED: Mutex<Installed> = Mutex::new(Installed {
    seen: Vec::new(),
    pipeline: None,
    capture_all: false,
    scopes: 0,
});

fn installed() -> std::sync::MutexGuard<'static, Installed> {
    INSTALLED.lock().unwrap_or_else(|p| p.into_inner())
}

fn keep(seen: &mut Vec<&'static LogFilter>, filter: LogFilter) -> &'static LogFilter {
    if let Some(&same) = seen.iter().find(|f| ***f == filter) {
        return same;
    }
    let kept: &'static LogFilter = Box::leak(Box::new(filter));
    seen.push(kept);
    kept
}

/// Makes the installed state current: the pipeline's filter, or everything while a
/// test scope wants it. Called with `INSTALLED` held, which orders the changes.
fn apply(state: &mut Installed) {
    let effective = if state.capture_all {
        Some(keep(&mut state.seen, LogFilter::new(LevelFilter::Trace)))
    } else {
        state.pipeline
    };
    FILTER.store(
        effective.map_or(ptr::null_mut(), |f| ptr::from_ref(f).cast_mut()),
        Ordering::SeqCst,
    );
    GENERATION.fetch_add(1, Ordering::SeqCst);
    let mut site = HEAD.load(Ordering::SeqCst);
    // SAFETY: the list holds only `&'static Site`s (see `register`).
    while let Some(s) = unsafe { site.cast_const().as_ref() } {
        s.interest
            .store(s.verdict(FILTER.load(Ordering::SeqCst)), Ordering::SeqCst);
        site = s.next.load(Ordering::SeqCst);
    }
    MAX_LEVEL.store(
        effective.map_or(0, |f| f.max_level().as_u8()),
        Ordering::SeqCst,
    );
}

/// What runs after every change of the installed filter: bridges whose own call sites
/// cache verdicts elsewhere (`tracing`'s interest cache, `log`'s maximum level).
static LISTENERS: Mutex<Vec<fn()>> = Mutex::new(Vec::new());

/// Runs `listener` after every change of the installed filter, from now on.
pub(crate) fn on_change(listener: fn()) {
    LISTENERS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(listener);
}

/// Tells the listeners; called with `INSTALLED` released (a listener may read the
/// filter, and `tracing` calls back into the bridge's layer).
fn notify() {
    let listeners = LISTENERS.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for listener in listeners {
        listener();
    }
}

/// The most detailed level any call site may record now.
pub(crate) fn max_level() -> LevelFilter {
    LevelFilter::from_u8(MAX_LEVEL.load(Ordering::Relaxed))
}

/// Whether the filter in force records a call at `target` and `level`: the uncached
/// check, for call sites that have no [`Site`] of their own.
pub(crate) fn allows_now(target: &str, level: Level) -> bool {
    if level as u8 > MAX_LEVEL.load(Ordering::Relaxed) {
        return false;
    }
    // SAFETY: `FILTER` only ever holds null or a pointer from `Box::leak` (see
    // `install`): filters are never freed.
    unsafe { FILTER.load(Ordering::Acquire).as_ref() }.is_some_and(|f| f.allows(target, level))
}

/// Installs the pipeline's filter (`None`: the pipeline stopped, nothing is recorded).
pub(crate) fn set_pipeline_filter(filter: Option<LogFilter>) {
    {
        let mut state = installed();
        state.pipeline = filter.map(|f| keep(&mut state.seen, f));
        apply(&mut state);
    }
    notify();
}

/// Replaces the pipeline's filter, only if one is in force (a pipeline runs): a handle
/// racing its pipeline's shutdown never installs a filter with no drain to empty the
/// rings.
pub(crate) fn replace_pipeline_filter(filter: LogFilter) {
    let replaced = {
        let mut state = installed();
        let running = state.pipeline.is_some();
        if running {
            state.pipeline = Some(keep(&mut state.seen, filter));
            apply(&mut state);
        }
        running
    };
    if replaced {
        notify();
    }
}

/// The pipeline's filter, if a pipeline runs.
pub(crate) fn pipeline_filter() -> Option<&'static LogFilter> {
    installed().pipeline
}

/// Test scopes alive: while any lives every call is recorded (a test sees all its
/// logs), and the drain applies the global pipeline's filter to global records.
#[cfg(feature = "testing")]
pub(crate) fn scope_alive(alive: bool) {
    let changed = {
        let mut state = installed();
        if alive {
            state.scopes += 1;
        } else {
            state.scopes = state.scopes.saturating_sub(1);
        }
        let capture_all = state.scopes > 0;
        let changed = state.capture_all != capture_all;
        if changed {
            state.capture_all = capture_all;
            CAPTURING_ALL.store(capture_all, Ordering::Relaxed);
            apply(&mut state);
        }
        changed
    };
    if changed {
        notify();
    }
}

static CAPTURING_ALL: AtomicBool = AtomicBool::new(false);

/// Whether test scopes have every call recorded (see [`scope_alive`]).
#[inline]
pub(crate) fn capturing_all() -> bool {
    CAPTURING_ALL.load(Ordering::Relaxed)
}

/// Whether a record at `target` and `level` passes `filter` (the drain's check, for
/// destinations whose filter is narrower than the one installed).
pub(crate) fn passes(target: &str, level: Level, filter: Option<&LogFilter>) -> bool {
    filter.is_some_and(|f| f.allows(target, level))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests here install filters: one at a time, and none while a test scope captures
    /// everything (the crate's other tests open scopes; their verdicts would differ).
    static SERIAL: Mutex<()> = Mutex::new(());

    fn site(level: Level, target: &'static str) -> &'static Site {
        Box::leak(Box::new(Site::new(
            level,
            target,
            file!(),
            line!(),
            None,
            Message::Pieces(&["x"]),
            &[],
        )))
    }

    fn with_filter(spec: &str, check: impl FnOnce()) {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let before = installed().pipeline;
        set_pipeline_filter(Some(spec.parse().expect("valid filter")));
        if !capturing_all() {
            check();
        }
        let mut state = installed();
        state.pipeline = before;
        apply(&mut state);
    }

    #[test]
    fn a_call_site_caches_the_verdict_and_a_new_filter_rewrites_it() {
        let debug = site(Level::Debug, "site_tests::db");
        let info = site(Level::Info, "site_tests::web");
        with_filter("info,site_tests::db=debug", || {
            assert!(debug.is_enabled());
            assert!(info.is_enabled());
            assert_eq!(debug.interest.load(Ordering::Relaxed), ALWAYS);
            set_pipeline_filter(Some("warn".parse().expect("valid")));
            assert_eq!(MAX_LEVEL.load(Ordering::Relaxed), LevelFilter::Warn.as_u8());
            assert!(!debug.is_enabled(), "above the maximum level: one load");
            set_pipeline_filter(Some("warn,site_tests::web=info".parse().expect("valid")));
            assert!(info.is_enabled());
            assert!(!site(Level::Info, "site_tests::other").is_enabled());
            assert_eq!(info.interest.load(Ordering::Relaxed), ALWAYS);
        });
    }

    #[test]
    fn sites_registering_while_the_filter_changes_end_with_the_last_filters_verdict() {
        with_filter("off", || {
            let sites: Vec<&'static Site> = (0..64)
                .map(|i| {
                    site(
                        if i % 2 == 0 {
                            Level::Info
                        } else {
                            Level::Debug
                        },
                        "race",
                    )
                })
                .collect();
            std::thread::scope(|s| {
                for chunk in sites.chunks(16) {
                    s.spawn(move || {
                        for site in chunk {
                            site.is_enabled();
                        }
                    });
                }
                s.spawn(|| {
                    for spec in ["debug", "off", "info", "trace", "off"] {
                        set_pipeline_filter(Some(spec.parse().expect("valid")));
                    }
                    set_pipeline_filter(Some("info".parse().expect("valid")));
                });
            });
            for site in &sites {
                // A debug site may never have registered (its calls stopped at the
                // maximum level); a registered one must hold the last filter's verdict.
                assert_eq!(site.is_enabled(), site.level == Level::Info);
                let interest = site.interest.load(Ordering::Relaxed);
                match site.level {
                    Level::Info => assert_eq!(interest, ALWAYS),
                    _ => assert_ne!(interest, ALWAYS),
                }
            }
        });
    }

    #[test]
    fn setting_a_filter_seen_before_reuses_it() {
        with_filter("info", || {
            let count = installed().seen.len();
            set_pipeline_filter(Some("debug".parse().expect("valid")));
            set_pipeline_filter(Some("info".parse().expect("valid")));
            set_pipeline_filter(Some("debug".parse().expect("valid")));
            assert!(installed().seen.len() <= count + 1);
        });
    }
}
