//! tokio's spawn functions, carrying the caller's span context into the new task, with
//! its baggage and bound fields ([`Context::current`]).

use crate::{Context, FutureExt};
use std::future::Future;
use tokio::task::JoinHandle;

/// [`tokio::spawn`], with the current span context carried into the task: spans the
/// task starts are children of the span current here, and the baggage and the fields
/// [bound](crate::bind) here are current there.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let handle = telem::spawn(async { telem::SpanContext::current().is_some() });
/// assert!(!handle.await.unwrap()); // no span was current when spawning
/// # }
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_span())
}

/// [`tokio::task::spawn_blocking`], with the current span context set on the blocking thread.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let context = Context::current();
    tokio::task::spawn_blocking(move || context.run(f))
}

/// [`tokio::task::spawn_local`] (inside a `LocalSet`), with the current span context
/// carried into the task.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    tokio::task::spawn_local(future.in_current_span())
}
