//! Sync fns: plain, generic (lifetimes, `where` clauses, `impl Trait` arguments and
//! returns), `unsafe`, `extern`, never-returning, with their attributes kept.
#![deny(warnings)]

use std::fmt::Debug;
use telem::trace;

/// Doc comments stay.
#[trace]
#[must_use]
pub fn plain(x: u32) -> u32 {
    #![allow(clippy::let_and_return)]
    let y = x + 1;
    y
}

#[trace]
fn unit() {}

#[trace(record(a, b))]
fn longest<'a, 'b: 'a, T>(a: &'a T, b: &'b T) -> &'a str
where
    T: AsRef<str> + Debug + ?Sized,
{
    if a.as_ref().len() >= b.as_ref().len() {
        a.as_ref()
    } else {
        b.as_ref()
    }
}

#[trace(err)]
fn evens(limit: impl Into<u32>) -> Result<impl Iterator<Item = u32>, String> {
    let limit = limit.into();
    if limit == 0 {
        return Err("empty".into());
    }
    Ok((0..limit).filter(|n| n % 2 == 0))
}

#[trace(err)]
fn question_mark(s: &str) -> Result<u8, Box<dyn std::error::Error>> {
    let n: u8 = s.parse()?;
    Ok(n)
}

/// # Safety
/// `bytes` must not be empty.
// SAFETY: an `unsafe fn` may be instrumented; its contract is the one above.
#[trace(record(bytes))]
unsafe fn first(bytes: &[u8]) -> u8 {
    // SAFETY: the caller passes a non-empty slice.
    unsafe { *bytes.get_unchecked(0) }
}

#[trace]
extern "C" fn callback(x: i32) -> i32 {
    x * 2
}

#[trace]
#[allow(dead_code)]
fn never() -> ! {
    panic!("never returns")
}

#[trace(fields(tuple.sum = a + b, kind = "destructured"), record(a, c))]
fn destructured((a, b): (u8, u8), Wrapper { inner: c }: Wrapper) -> u8 {
    a + b + c
}

struct Wrapper {
    inner: u8,
}

#[trace]
fn r#type(r#match: u8) -> u8 {
    r#match
}

fn main() {
    assert_eq!(plain(1), 2);
    unit();
    assert_eq!(longest("ab", "abc"), "abc");
    assert_eq!(evens(5u8).unwrap().count(), 3);
    assert!(evens(0u8).is_err());
    assert!(question_mark("x").is_err());
    // SAFETY: not empty.
    assert_eq!(unsafe { first(&[7]) }, 7);
    assert_eq!(callback(2), 4);
    assert_eq!(destructured((1, 2), Wrapper { inner: 3 }), 6);
    assert_eq!(r#type(4), 4);
}
