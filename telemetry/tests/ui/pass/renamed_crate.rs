//! `crate = path`: every path the macro writes goes through it, for a renamed
//! dependency or a re-export.
#![deny(warnings)]

extern crate telem as tel;

mod reexport {
    pub use ::telem as inner;
}

#[tel::trace(crate = tel, err, fields(k = 1), record(x), kind = server)]
fn sync_fn(x: u8) -> Result<u8, String> {
    Ok(x)
}

#[tel::trace(crate = tel)]
async fn async_fn() {}

#[tel::trace(crate = crate::reexport::inner, err)]
fn returns_future() -> impl std::future::Future<Output = Result<(), String>> {
    async { Ok(()) }
}

struct S;

#[async_trait::async_trait]
trait T {
    async fn m(&self);
}

#[async_trait::async_trait]
impl T for S {
    #[tel::trace(crate = ::tel)]
    async fn m(&self) {}
}

fn main() {
    assert_eq!(sync_fn(1), Ok(1));
    futures::executor::block_on(async {
        async_fn().await;
        returns_future().await.unwrap();
        S.m().await;
    });
}
