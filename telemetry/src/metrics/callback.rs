//! Callbacks: functions run before each snapshot to set observable values (a queue
//! length read from elsewhere, memory from `/proc`).

use super::Registry;
use std::any::TypeId;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

/// A callback's failure, counted in [`RegistryStats`](super::RegistryStats); the other
/// callbacks run regardless.
///
/// ```
/// let e = telem::metrics::CallbackError::new("queue unreachable");
/// assert_eq!(e.to_string(), "queue unreachable");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CallbackError {
    message: String,
}

impl CallbackError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// What [`Registry::register_callback`] returns, to unregister it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

/// What one run of the callbacks did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackReport {
    /// Callbacks run.
    pub ran: usize,
    /// Callbacks that returned an error.
    pub failed: usize,
    /// Callbacks that panicked.
    pub panicked: usize,
}

type CallbackFn = dyn Fn(&Registry) -> Result<(), CallbackError> + Send + Sync;

struct Entry {
    id: u64,
    /// The type of a zero-sized callback (a fn item or non-capturing closure): its
    /// identity, for deduplication.
    identity: Option<TypeId>,
    run: Arc<CallbackFn>,
}

/// The registered callbacks of one registry.
#[derive(Default)]
pub(crate) struct Callbacks {
    entries: Mutex<(u64, Vec<Entry>)>,
}

impl std::fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.lock().1.len();
        f.debug_struct("Callbacks").field("count", &n).finish()
    }
}

impl Callbacks {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<Entry>)> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn register<F>(&self, callback: F) -> CallbackId
    where
        F: Fn(&Registry) -> Result<(), CallbackError> + Send + Sync + 'static,
    {
        let identity = (std::mem::size_of::<F>() == 0).then(TypeId::of::<F>);
        let mut guard = self.lock();
        let (next, entries) = &mut *guard;
        if let Some(existing) =
            identity.and_then(|t| entries.iter().find(|e| e.identity == Some(t)))
        {
            return CallbackId(existing.id);
        }
        *next += 1;
        let id = *next;
        entries.push(Entry {
            id,
            identity,
            run: Arc::new(callback),
        });
        CallbackId(id)
    }

    pub(crate) fn unregister(&self, id: CallbackId) -> bool {
        let mut guard = self.lock();
        let before = guard.1.len();
        guard.1.retain(|e| e.id != id.0);
        guard.1.len() != before
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().1.len()
    }

    /// Runs every callback (without holding the lock, so a callback may register
    /// metrics or callbacks), each isolated from the others' errors and panics.
    pub(crate) fn run(&self, registry: &Registry) -> (CallbackReport, Option<String>) {
        let runs: Vec<Arc<CallbackFn>> = self.lock().1.iter().map(|e| e.run.clone()).collect();
        let mut report = CallbackReport::default();
        let mut last_error = None;
        for run in runs {
            report.ran += 1;
            match catch_unwind(AssertUnwindSafe(|| run(registry))) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    report.failed += 1;
                    last_error = Some(format!("callback failed: {e}"));
                }
                Err(_) => {
                    report.panicked += 1;
                    last_error = Some("callback panicked".to_owned());
                }
            }
        }
        (report, last_error)
    }
}
