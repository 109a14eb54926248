//! A `ContextGuard` held across `.await` in a task spawned with `telem::spawn`:
//! not `Send`, for the same reason as a `SpanGuard`. Give the context to the future
//! instead: `fut.with_context(ctx)`.
use telem::Context;

#[tokio::main]
async fn main() {
    let ctx = Context::current();
    let task = telem::spawn(async move {
        let _attached = ctx.attach();
        tokio::task::yield_now().await;
    });
    task.await.unwrap();
}
