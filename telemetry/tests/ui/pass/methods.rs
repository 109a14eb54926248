//! Methods (`&self`, `&mut self`, `self`, `self: Arc<Self>`, `self: Pin<&mut Self>`),
//! associated fns, generic impls with `where` clauses, trait impls and default methods.
#![deny(warnings)]

use std::fmt::Debug;
use std::pin::Pin;
use std::sync::Arc;
use telem::trace;

#[derive(Debug, Default)]
struct Counter {
    n: u32,
}

impl Counter {
    #[trace]
    fn new() -> Self {
        Self::default()
    }

    #[trace(record(self))]
    fn get(&self) -> u32 {
        self.n
    }

    #[trace(fields(before = self.n))]
    fn bump(&mut self) -> &mut Self {
        self.n += 1;
        self
    }

    #[trace]
    fn into_inner(self) -> u32 {
        self.n
    }

    #[trace]
    fn shared(self: Arc<Self>) -> u32 {
        self.n
    }

    #[trace]
    fn pinned(self: Pin<&mut Self>) -> u32 {
        self.get_mut().n
    }

    #[trace]
    async fn async_get(&self) -> u32 {
        self.n
    }
}

#[derive(Debug)]
struct Pair<'a, T> {
    left: &'a T,
    right: &'a T,
}

impl<'a, T> Pair<'a, T>
where
    T: PartialOrd + Debug,
{
    #[trace(record(self))]
    fn max(&self) -> &'a T {
        if self.left >= self.right {
            self.left
        } else {
            self.right
        }
    }

    #[trace]
    fn map<U, F>(&self, f: F) -> (U, U)
    where
        F: Fn(&T) -> U,
    {
        (f(self.left), f(self.right))
    }
}

trait Describe {
    fn name(&self) -> String;

    #[trace]
    fn describe(&self) -> String {
        format!("<{}>", self.name())
    }
}

impl Describe for Counter {
    #[trace]
    fn name(&self) -> String {
        format!("counter {}", self.n)
    }
}

impl<T: Debug> Describe for Pair<'_, T> {
    #[trace(kind = internal)]
    fn name(&self) -> String {
        format!("{:?}/{:?}", self.left, self.right)
    }
}

fn main() {
    let mut counter = Counter::new();
    counter.bump().bump();
    assert_eq!(counter.get(), 2);
    assert_eq!(counter.describe(), "<counter 2>");
    let mut pinned = Counter { n: 5 };
    assert_eq!(Pin::new(&mut pinned).pinned(), 5);
    assert_eq!(Arc::new(Counter { n: 4 }).shared(), 4);
    assert_eq!(futures::executor::block_on(counter.async_get()), 2);
    assert_eq!(counter.into_inner(), 2);
    let (a, b) = (1, 3);
    let pair = Pair {
        left: &a,
        right: &b,
    };
    assert_eq!(*pair.max(), 3);
    assert_eq!(pair.map(|x| x * 2), (2, 6));
    assert_eq!(pair.describe(), "<1/3>");
}
