//! A `SpanGuard` held across `.await` in a spawned task: while the task is parked the
//! span would stay current on the worker, and the worker's next task would start its
//! spans under it. The guard is not `Send`, so the task does not compile; run the future
//! in a detached span instead: `fut.in_span(TRACER.span("A").start_detached())`.
use std::time::Duration;
use telem::Tracer;

static TRACER: Tracer = Tracer::new("ui");

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let a = tokio::spawn(async {
        let _a = TRACER.start_span("A");
        tokio::time::sleep(Duration::from_millis(50)).await;
    });
    a.await.unwrap();
}
