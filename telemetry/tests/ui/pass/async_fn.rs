//! `async fn`s: `?`, early return, `impl Trait` in the output, borrowed arguments,
//! generics, and `Send` futures (spawnable).
#![deny(warnings)]

use std::fmt::Display;
use telem::trace;

#[trace]
async fn plain() -> u32 {
    1
}

#[trace(err, record(input))]
async fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
    if input.is_empty() {
        return Ok(0);
    }
    let n: u32 = input.parse()?;
    Ok(n)
}

#[trace(err)]
async fn boxed(input: &str) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    Ok(input.parse::<u32>()?)
}

#[trace(err)]
async fn iter(n: u32) -> Result<impl Iterator<Item = u32>, String> {
    Ok((0..n).filter(|x| x % 2 == 0))
}

#[trace(fields(shown = value.to_string()))]
async fn generic<'a, T>(value: &'a T, mut count: usize) -> usize
where
    T: Display + Sync + ?Sized,
{
    count += value.to_string().len();
    count
}

#[trace(kind = consumer, root)]
async fn unit(_ignored: u8) {}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(plain().await, 1);
    assert_eq!(parse("").await, Ok(0));
    assert_eq!(parse("12").await, Ok(12));
    assert!(parse("x").await.is_err());
    assert!(boxed("x").await.is_err());
    assert_eq!(iter(5).await.unwrap().count(), 3);
    assert_eq!(assert_send(generic("abc", 1)).await, 4);
    unit(0).await;
    tokio::spawn(async { parse("1").await })
        .await
        .unwrap()
        .unwrap();
}
