//! Writers for the tests of the stdout sink and its writer thread: [`Shared`], read back;
//! [`Gate`], which takes nothing until opened; [`NeverWrites`], blocked for good.
//! Included with `#[path]` by the integration tests that write (`stdout_logs.rs`,
//! `stdout_allocations.rs`, `stalled_sink.rs`, `console_exporter.rs`) and by the crate's
//! unit tests (`src/export/sinks/writer.rs`, for the sinks), so it uses `std` only and never unwraps
//! (clippy allows that in `#[cfg(test)]` modules, not in these files): a poisoned lock
//! is taken as it is, since the panic that poisoned it already failed the test.
#![allow(dead_code)]

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("the sink writes UTF-8")
}

/// A writer the test reads back.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        lock(&self.0).extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Shared {
    /// What was written so far.
    pub(crate) fn text(&self) -> String {
        utf8(lock(&self.0).clone())
    }
}

/// Whether the gate is open, and what went through it.
type GateState = Mutex<(bool, Vec<u8>)>;

/// A writer that takes nothing until opened (a stopped terminal), then everything.
#[derive(Clone, Debug, Default)]
pub(crate) struct Gate(Arc<(GateState, Condvar)>);

impl Write for Gate {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let (state, open) = &*self.0;
        let mut state = lock(state);
        while !state.0 {
            state = open.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state.1.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Gate {
    /// From now on, takes everything (what waited first).
    pub(crate) fn open(&self) {
        let (state, open) = &*self.0;
        lock(state).0 = true;
        open.notify_all();
    }

    /// What went through so far.
    pub(crate) fn written(&self) -> Vec<u8> {
        lock(&self.0 .0).1.clone()
    }

    /// What went through so far, as text.
    pub(crate) fn text(&self) -> String {
        utf8(self.written())
    }
}

/// A writer that blocks forever in its first `write`, as `write(2)` on a full pipe does.
#[derive(Debug)]
pub(crate) struct NeverWrites;

impl Write for NeverWrites {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        loop {
            std::thread::park();
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
