//! Runs a test on a runtime with one thread, in a thread of its own, failing (instead of
//! hanging) if it does not finish: with one thread, anything that blocks it (a sink, a
//! stalled writer) stops everything, the test's own task included. Included with
//! `#[path]` by `stalled_sink.rs` and `stdout_logs.rs`.
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

/// Runs `test` on a single-threaded runtime; panics if it has not finished within 120 s.
pub(crate) fn on_one_thread(test: impl Future<Output = ()> + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(test);
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(120)) {
        // Finished, or panicked (the sender dropped): the thread's result says which.
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("the test hung: something blocked the runtime's only thread")
        }
    }
}
