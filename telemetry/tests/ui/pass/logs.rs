//! Every form the log macros accept, with warnings denied: a variable used only in a
//! log call counts as used; `crate:` reaches a renamed dependency or a re-export.
#![deny(warnings)]

extern crate telem as tel;

use std::fmt;
use tel::prelude::*;
use tel::Level;

mod reexport {
    pub use ::telem as inner;
}

#[derive(Debug)]
struct Request {
    path: &'static str,
}

struct Book {
    id: u64,
    title: String,
}

impl Book {
    fn log(&self) {
        info!(self.id, %self.title, "book {}", self.id);
    }
}

fn generic<T: fmt::Display + fmt::Debug>(value: T) {
    debug!(?value, "value {value}");
}

fn main() {
    let id = 7;
    let (x, y) = (2, 3);
    let err = std::io::Error::other("e");
    let req = Request { path: "/" };
    let user = "ada";
    let count = 1;
    let n = 5;
    info!("book {id} not found");
    info!("a {} b {x}", y, x = 2);
    warn!(book.id = id, reason = %err, "lookup failed");
    debug!(?req, %user, count, "msg");
    error!(target: "http", name: "book.created", "k" = 1, "msg {n:>5}");
    info!(a = 1);
    info!(a = 1, b = ?req.path,);
    trace_log!("{{escaped}} {0} {0:?}", x,);
    log!(Level::Debug, "level {}", 1);
    log!(target: "t", tel::Level::Warn, name: "n", "m");
    let _unit: () = info!("an expression");
    Book {
        id: 1,
        title: "Dune".into(),
    }
    .log();
    generic(1u8);

    tel::info!(crate: tel, "renamed {}", id);
    tel::warn!(crate: ::tel, k = 1);
    tel::log!(crate: crate::reexport::inner, Level::Error, "{:?}", req);
}
