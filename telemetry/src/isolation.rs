//! Test scopes: private destinations for the spans and metrics of one test, so tests
//! running in parallel in one process never see each other's data (see
//! `telem::testing`).
//!
//! A scope is a number carried beside the current context (the thread's context words,
//! [`Context`](crate::Context), [`Instrumented`](crate::Instrumented)); a span records
//! the scope current where it starts, and whoever drains the rings routes each record
//! by it: to its scope's span list, or (scope 0) to the global pipeline. Metric macros
//! called in a scope record into the scope's own registry.

use crate::logs::raw::RawLog;
use crate::logs::site;
use crate::metrics::Registry;
use crate::record::raw_span::RawSpan;
#[cfg(feature = "testing")]
use crate::record::{clock, recording};
use crate::{LogRecord, SpanData};
use std::collections::HashMap;
#[cfg(feature = "testing")]
use std::sync::atomic::AtomicU32;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// What one scope collects.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    pub(crate) spans: Mutex<Vec<SpanData>>,
    pub(crate) logs: Mutex<Vec<LogRecord>>,
    pub(crate) registry: Registry,
}

#[cfg(feature = "testing")]
static NEXT: AtomicU32 = AtomicU32::new(1);
static SCOPES: RwLock<Option<HashMap<u32, Arc<Scope>>>> = RwLock::new(None);
/// Records whose scope had closed when they were drained.
static ORPHANED: AtomicU64 = AtomicU64::new(0);
/// Global-pipeline records a scope's drain took from the rings, kept for the global
/// drain (bounded; beyond it they are dropped and counted in `ORPHANED`).
static STRAYS: Mutex<Vec<RawSpan>> = Mutex::new(Vec::new());
/// The same for log records (kept built: a raw record has no blank to leave behind).
static LOG_STRAYS: Mutex<Vec<LogRecord>> = Mutex::new(Vec::new());
#[cfg(feature = "testing")]
const MAX_STRAYS: usize = 1 << 16;

/// Opens a scope: recording is on while it lives.
#[cfg(feature = "testing")]
pub(crate) fn open() -> (u32, Arc<Scope>) {
    let id = NEXT.fetch_add(1, Relaxed).max(1);
    let scope = Arc::new(Scope::default());
    SCOPES
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(HashMap::new)
        .insert(id, scope.clone());
    clock::warm_up();
    recording::scope_alive(true);
    site::scope_alive(true);
    (id, scope)
}

/// Closes a scope; spans of it drained later are dropped and counted.
#[cfg(feature = "testing")]
pub(crate) fn close(id: u32) {
    let removed = SCOPES
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .as_mut()
        .and_then(|m| m.remove(&id));
    if removed.is_some() {
        recording::scope_alive(false);
        site::scope_alive(false);
    }
}

/// The scope `id`, if open.
pub(crate) fn get(id: u32) -> Option<Arc<Scope>> {
    SCOPES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()?
        .get(&id)
        .cloned()
}

/// Routes a drained record: a scoped one goes to its scope (`false`); for a global one
/// (`true`) the caller decides.
#[inline]
pub(crate) fn route(raw: &mut RawSpan) -> bool {
    if raw.test_scope == 0 {
        return true;
    }
    match get(raw.test_scope) {
        Some(scope) => scope
            .spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(raw.take_span_data()),
        None => {
            ORPHANED.fetch_add(1, Relaxed);
        }
    }
    false
}

/// Keeps a global record a scope's drain found, for the global pipeline.
#[cfg(feature = "testing")]
pub(crate) fn keep_stray(raw: RawSpan) {
    let mut strays = STRAYS.lock().unwrap_or_else(PoisonError::into_inner);
    if strays.len() < MAX_STRAYS {
        strays.push(raw);
    } else {
        ORPHANED.fetch_add(1, Relaxed);
    }
}

/// The global records scopes' drains kept, for the global drain to export.
pub(crate) fn take_strays() -> Vec<RawSpan> {
    std::mem::take(&mut *STRAYS.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Routes a drained log record as [`route`] routes spans. While test scopes live every
/// call is recorded (see `logs::site`), so a global record is checked here against the
/// global pipeline's filter: one it would not have recorded is left out (`false`).
#[inline]
pub(crate) fn route_log(raw: &mut RawLog) -> bool {
    if raw.test_scope == 0 {
        return !site::capturing_all()
            || site::passes(raw.target(), raw.site.level, site::pipeline_filter());
    }
    match get(raw.test_scope) {
        Some(scope) => scope
            .logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(raw.take_record()),
        None => {
            ORPHANED.fetch_add(1, Relaxed);
        }
    }
    false
}

/// Keeps a global log record a scope's drain found, for the global pipeline.
#[cfg(feature = "testing")]
pub(crate) fn keep_log_stray(record: LogRecord) {
    let mut strays = LOG_STRAYS.lock().unwrap_or_else(PoisonError::into_inner);
    if strays.len() < MAX_STRAYS {
        strays.push(record);
    } else {
        ORPHANED.fetch_add(1, Relaxed);
    }
}

/// The global log records scopes' drains kept, for the global drain to export.
pub(crate) fn take_log_strays() -> Vec<LogRecord> {
    std::mem::take(&mut *LOG_STRAYS.lock().unwrap_or_else(PoisonError::into_inner))
}
