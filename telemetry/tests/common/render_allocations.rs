//! What the stdout sink allocates to render a batch, counted by `counting_alloc.rs` and
//! written into a `writers.rs` writer: the including test has both, as `counting_alloc`
//! and `writers`. Included with `#[path]` by `stdout_allocations.rs` (spans) and
//! `stdout_logs.rs` (log records).
#![expect(clippy::unwrap_used, reason = "helpers outside #[test] fns")]

use super::counting_alloc::allocations;
use super::writers::Shared;
use telem::{Sink, SinkFuture, StdoutFormat, StdoutSink};

/// A sink in `format` takes a batch with `export` twice, flushed each time; returns the
/// allocations made on this thread by the second call, and what was written. The first
/// batch starts the writer thread and allocates the buffer; once it is written, the
/// buffer comes back for the next batch.
pub(crate) fn second_batch_allocations(
    format: StdoutFormat,
    export: impl for<'a> Fn(&'a StdoutSink) -> SinkFuture<'a>,
) -> (u64, String) {
    let out = Shared::default();
    let sink = StdoutSink::from_writer(out.clone(), format);
    futures::executor::block_on(async {
        export(&sink).await.unwrap();
        sink.flush().await.unwrap();
        let before = allocations();
        export(&sink).await.unwrap();
        let during = allocations() - before;
        sink.flush().await.unwrap();
        (during, out.text())
    })
}
