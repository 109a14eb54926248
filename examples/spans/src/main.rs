//! Records nested spans across `.await`, `join!` and `spawn`, then prints them.
//!
//! Run it with `cargo run -p example-spans` (pretty output), or
//! `TELEMETRY_FORMAT=json cargo run -p example-spans` for one OpenTelemetry-JSON object per line.
#![forbid(unsafe_code)]

use std::time::Duration;
use telem::prelude::*;
use telem::{Config, SpanKind, StdoutFormat, StdoutSink, Tracer};

static TRACER: Tracer = Tracer::new("example-spans");

async fn query_db(table: &'static str, millis: u64) -> usize {
    async move {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        table.len()
    }
    .in_span(
        TRACER
            .span("db.query")
            .kind(SpanKind::Client)
            .attribute("db.collection.name", table)
            .start_detached(),
    )
    .await
}

async fn handle_request() {
    // A detached span: `Send`, so this fn's future can be spawned. (A guard from
    // `TRACER.start_span` is for synchronous code: it is not `Send` across `.await`.)
    let mut request = TRACER
        .span("GET /books")
        .kind(SpanKind::Server)
        .attribute("http.request.method", "GET")
        .start_detached();
    // Two queries run concurrently with the request span current: each is its child.
    let (books, authors) = async { tokio::join!(query_db("books", 20), query_db("authors", 10)) }
        .with_span(&request)
        .await;
    request.add_event("queries.done", []);
    // Background work runs in the request's context, in its own task.
    let audit = tokio::spawn(
        async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            TRACER.in_span("audit.write", |span| span.set_bool("audit.ok", true));
        }
        .with_span(&request),
    );
    let _ = audit.await;
    request.set_i64("books.count", (books + authors) as i64);
    request.set_i64("http.response.status_code", 200);
}

#[tokio::main]
async fn main() {
    let format = match std::env::var("TELEMETRY_FORMAT").as_deref() {
        Ok("json") => StdoutFormat::Json,
        Ok("pretty") | Err(_) => StdoutFormat::Pretty,
        Ok(other) => {
            eprintln!("TELEMETRY_FORMAT={other:?} is not valid: use `pretty` or `json`");
            std::process::exit(2);
        }
    };
    let pipeline = match telem::init(Config::new().with_sink(StdoutSink::from_format(format))) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("telemetry: {e}");
            std::process::exit(1);
        }
    };
    // A request handler runs in a task of its own, as in a server.
    let _ = tokio::spawn(handle_request()).await;
    pipeline.shutdown().await;
}
