//! The tokio runtime's metrics that stable tokio exposes.

use super::callback_error;
use crate::metrics::{CallbackError, Registry};

/// Sets the current tokio runtime's metrics in `registry`: `tokio_workers`,
/// `tokio_alive_tasks` and `tokio_global_queue_depth` (what
/// `tokio::runtime::Handle::metrics()` offers without `tokio_unstable`). An error when
/// called outside a runtime.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let registry = telem::metrics::Registry::new();
/// telem::metrics::collectors::tokio_runtime(&registry).unwrap();
/// assert_eq!(registry.gauge("tokio_workers").unwrap().get(), 1);
/// # }
/// ```
pub fn tokio_runtime(registry: &Registry) -> Result<(), CallbackError> {
    let handle = ::tokio::runtime::Handle::try_current()
        .map_err(|_| CallbackError::new("the tokio collector runs inside a tokio runtime"))?;
    let m = handle.metrics();
    for (name, help, value) in [
        (
            "tokio_workers",
            "Worker threads of the runtime.",
            m.num_workers(),
        ),
        (
            "tokio_alive_tasks",
            "Tasks alive in the runtime.",
            m.num_alive_tasks(),
        ),
        (
            "tokio_global_queue_depth",
            "Tasks waiting in the runtime's global queue.",
            m.global_queue_depth(),
        ),
    ] {
        registry
            .gauge(name)
            .map_err(callback_error)?
            .set(i64::try_from(value).unwrap_or(i64::MAX));
        let _ = registry.describe(name, help);
    }
    Ok(())
}
