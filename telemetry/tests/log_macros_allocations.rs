//! What a recording log call allocates on the calling thread: nothing for a short
//! message with one argument and up to three fields whose values are numbers, bools,
//! string literals, short strings or short formatted text (inline, up to 22 bytes), nor
//! for a short message formatted at the call (a format spec). Measured on the second
//! pass over the same call sites (the first registers them and makes the thread's ring).
#![cfg(feature = "enable")]
// A global allocator is an `unsafe impl`; this one only counts and forwards to `System`.
#![allow(unsafe_code)]

use std::net::Ipv4Addr;
use telem::testing::TestPipeline;
use telem::{info, warn, Level, Value};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn short_calls_record_without_allocating() {
    let t = TestPipeline::start();
    let path = "/books/7";
    let title = String::from("Dune");
    let addr = Ipv4Addr::LOCALHOST;
    for pass in 0..2 {
        let before = allocations();
        info!("short message");
        info!(
            http.route = "/books/{id}",
            status = 200,
            ok = true,
            "served {path}"
        );
        warn!(%addr, ratio = 0.5, ?title, "book {title}");
        info!("{:>8} took {:.1} ms", path, 2.25);
        let made = allocations() - before;
        if pass == 1 {
            assert_eq!(made, 0, "allocations on the calling thread");
        }
    }
    let logs = futures::executor::block_on(t.logs());
    assert_eq!(logs.len(), 8);
    let warning = logs.at(Level::Warn)[1];
    assert_eq!(warning.body.as_str(), "book Dune");
    assert_eq!(warning.field("addr"), Some(&Value::from("127.0.0.1")));
    assert_eq!(warning.field("title"), Some(&Value::from(r#""Dune""#)));
    assert_eq!(
        logs.at(Level::Info)[5].body.as_str(),
        "/books/7 took 2.2 ms"
    );
}
