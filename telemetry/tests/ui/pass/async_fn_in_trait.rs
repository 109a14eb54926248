//! Native `async fn` in traits: default methods and impls, generic and `Send`.
#![deny(warnings)]

use telem::trace;

trait Store {
    async fn load(&self, key: u32) -> Result<u32, String>;

    #[trace(err)]
    async fn load_two(&self, a: u32, b: u32) -> Result<u32, String> {
        Ok(self.load(a).await? + self.load(b).await?)
    }
}

struct Memory {
    values: Vec<u32>,
}

impl Store for Memory {
    #[trace(err, record(key))]
    async fn load(&self, key: u32) -> Result<u32, String> {
        self.values
            .get(key as usize)
            .copied()
            .ok_or_else(|| format!("no key {key}"))
    }
}

struct Generic<T>(T);

impl<T: Clone + Send + Sync + Into<u32>> Store for Generic<T> {
    #[trace]
    async fn load(&self, _key: u32) -> Result<u32, String> {
        Ok(self.0.clone().into())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let memory = Memory { values: vec![1, 2] };
    assert_eq!(memory.load_two(0, 1).await, Ok(3));
    assert!(memory.load_two(0, 9).await.is_err());
    assert_eq!(Generic(4u8).load_two(0, 0).await, Ok(8));
}
