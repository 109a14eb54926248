//! Fns returning `impl Future`: the returned future is instrumented, and keeps its
//! `Send` and lifetime bounds.
#![deny(warnings)]

use std::future::Future;
use telem::trace;

#[trace]
fn ready(x: u32) -> impl Future<Output = u32> {
    std::future::ready(x)
}

#[trace(record(name))]
fn borrowed<'a>(name: &'a str) -> impl Future<Output = usize> + Send + 'a {
    async move { name.len() }
}

#[trace(err)]
fn fallible(fail: bool) -> impl Future<Output = Result<u8, String>> + Send + 'static {
    if fail {
        return futures::future::Either::Left(async { Err("failed".to_owned()) });
    }
    futures::future::Either::Right(async { Ok(1) })
}

struct Client;

impl Client {
    #[trace(kind = client)]
    fn get(&self, path: &'static str) -> impl Future<Output = &'static str> + '_ {
        let _ = self;
        async move { path }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(ready(3).await, 3);
    let name = String::from("abc");
    assert_eq!(borrowed(&name).await, 3);
    assert_eq!(fallible(true).await, Err("failed".into()));
    assert_eq!(tokio::spawn(fallible(false)).await.unwrap(), Ok(1));
    assert_eq!(Client.get("/books").await, "/books");
}
