//! `#[async_trait]` methods. `#[async_trait]` on the impl (or trait) always expands
//! before `#[trace]` on its methods, which then sees `Box::pin(async move { .. })` and
//! instruments the boxed future; both places the other attributes may take around
//! `#[trace]` are covered, as are `?Send`, default methods, and `err`/`record`.
#![deny(warnings)]

use async_trait::async_trait;
use telem::trace;

#[async_trait]
trait Service {
    async fn call(&self, request: u32) -> Result<u32, String>;

    #[trace]
    async fn call_twice(&self, request: u32) -> Result<u32, String> {
        Ok(self.call(request).await? + self.call(request).await?)
    }
}

struct Doubler;

#[async_trait]
impl Service for Doubler {
    #[trace(err, record(request), kind = server)]
    #[allow(clippy::needless_question_mark)]
    async fn call(&self, request: u32) -> Result<u32, String> {
        if request == 0 {
            return Err("zero".into());
        }
        Ok(request * 2)
    }
}

struct Tripler;

#[async_trait]
impl Service for Tripler {
    #[allow(unused_mut)]
    #[trace(fields(size = std::mem::size_of_val(self)))]
    async fn call(&self, mut request: u32) -> Result<u32, String> {
        request *= 3;
        Ok(request)
    }
}

#[async_trait(?Send)]
trait Local {
    async fn run(&mut self) -> u32;
}

struct Counter(std::rc::Rc<u32>);

#[async_trait(?Send)]
impl Local for Counter {
    #[trace]
    async fn run(&mut self) -> u32 {
        *self.0
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Doubler.call_twice(2).await, Ok(8));
    assert!(Doubler.call(0).await.is_err());
    let service: Box<dyn Service + Send + Sync> = Box::new(Tripler);
    assert_eq!(
        tokio::spawn(async move { service.call(1).await })
            .await
            .unwrap(),
        Ok(3)
    );
    assert_eq!(Counter(std::rc::Rc::new(5)).run().await, 5);
}
