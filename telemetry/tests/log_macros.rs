//! The log macros (`error!`, `warn!`, `info!`, `debug!`, `trace_log!`, `log!`): what a
//! call records, read back through `TestPipeline` (which records every level): the
//! message for every placeholder form, the fields' keys, values and types, the target,
//! name and level; arguments evaluated once, by reference. Calls that are filtered out
//! are in `log_macros_disabled.rs` (a test pipeline records everything). Levels removed
//! at compile time: `cargo test -p telem --features max_level_info --test log_macros`,
//! and `--release --features release_max_level_warn,max_level_debug`.
#![cfg(feature = "enable")]

use std::cell::Cell;
use std::fmt;
use std::net::Ipv4Addr;
use telem::testing::TestPipeline;
use telem::{debug, error, info, log, trace_log, warn, Level, LogRecord, Value};

fn bodies(logs: &telem::testing::Logs) -> Vec<String> {
    logs.iter().map(|r| r.body.as_str().to_owned()).collect()
}

fn keys(record: &LogRecord) -> Vec<&str> {
    record.attributes.iter().map(|kv| kv.key.as_str()).collect()
}

#[derive(Debug)]
struct Request {
    path: &'static str,
}

struct Code(u16);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E{:04}", self.0)
    }
}

#[telem::test]
async fn placeholders_of_every_form_write_the_message(t: TestPipeline) {
    let id = 7;
    let y = 1;
    let first = "f";
    info!("book {id} not found");
    info!("a {} b {x}", y, x = 2);
    info!("{0} {} {0} {name}", first, name = "n");
    info!("{} then {}", "one", "two");
    info!("{{literal}} {{{id}}} }}{{");
    info!("plain text");
    info!("trailing comma {}", id,);
    info!("{id } and { }", y);
    let logs = t.logs().await;
    assert_eq!(
        bodies(&logs),
        [
            "book 7 not found",
            "a 1 b 2",
            "f f f n",
            "one then two",
            "{literal} {7} }{",
            "plain text",
            "trailing comma 7",
            "7 and 1",
        ]
    );
    // Message arguments are not fields.
    assert!(logs.iter().all(|r| r.attributes.is_empty()));
}

#[telem::test]
async fn arguments_print_exactly_as_format_prints_them(t: TestPipeline) {
    let owned = String::from("owned");
    let long = "l".repeat(40);
    let (small, big, wide) = (0.1f32, u64::MAX, i128::MIN);
    let addr = Ipv4Addr::LOCALHOST;
    let code = Code(42);
    info!(
        "{} {} {} {} {} {} {} {} {} {} {} {}",
        owned, long, small, 0.1f64, 1e21f64, big, wide, true, 'é', addr, code, -0.0f64,
    );
    let expected = format!(
        "{} {} {} {} {} {} {} {} {} {} {} {}",
        owned, long, small, 0.1f64, 1e21f64, big, wide, true, 'é', addr, code, -0.0f64,
    );
    let logs = t.logs().await;
    assert_eq!(bodies(&logs), [expected]);
}

#[telem::test]
async fn format_specs_format_at_the_call(t: TestPipeline) {
    let id = 7;
    let w = 6;
    let req = Request { path: "/books" };
    info!("{:?} {x:>5} {:.2} {:#x}", "q", 1.0, 255, x = 3);
    info!("{id:03} {req:?}");
    info!("[{:w$}] [{:>1$}] [{:*^7}]", id, 4, "mid");
    info!("{:?} and {}", req.path, "plain");
    let logs = t.logs().await;
    assert_eq!(
        bodies(&logs),
        [
            r#""q"     3 1.00 0xff"#,
            r#"007 Request { path: "/books" }"#,
            "[     7] [   4] [**mid**]",
            r#""/books" and plain"#,
        ]
    );
}

#[telem::test]
async fn fields_keep_their_keys_in_order_and_their_types(t: TestPipeline) {
    let id = 7u32;
    let count = 3;
    let err = std::io::Error::other("disk full");
    let req = Request { path: "/books" };
    let user = Code(5);
    let name = String::from("ada");
    let book = Request { path: "/dune" };
    warn!(
        book.id = id,
        "http.route" = "/books",
        ratio = 0.5,
        ok = true,
        big = u64::MAX,
        owner = name,
        addr = Ipv4Addr::LOCALHOST,
        plain_debug = req,
        reason = %err,
        shown = ?"quoted",
        count,
        %user,
        ?book.path,
        "lookup failed",
    );
    let logs = t.logs().await;
    let record = logs.find(Level::Warn, "lookup failed").record();
    assert_eq!(record.body.as_str(), "lookup failed");
    assert_eq!(
        keys(record),
        [
            "book.id",
            "http.route",
            "ratio",
            "ok",
            "big",
            "owner",
            "addr",
            "plain_debug",
            "reason",
            "shown",
            "count",
            "user",
            "book.path",
        ]
    );
    let field = |key| record.field(key).unwrap_or_else(|| panic!("no {key}"));
    assert_eq!(field("book.id"), &Value::I64(7));
    assert_eq!(field("http.route"), &Value::from("/books"));
    assert_eq!(field("ratio"), &Value::F64(0.5));
    assert_eq!(field("ok"), &Value::Bool(true));
    assert_eq!(field("big"), &Value::from(u64::MAX.to_string()));
    assert_eq!(field("owner"), &Value::from("ada"));
    assert_eq!(field("addr"), &Value::from("127.0.0.1"), "Display");
    assert_eq!(
        field("plain_debug"),
        &Value::from(r#"Request { path: "/books" }"#)
    );
    assert_eq!(field("reason"), &Value::from("disk full"));
    assert_eq!(field("shown"), &Value::from(r#""quoted""#));
    assert_eq!(field("count"), &Value::I64(3));
    assert_eq!(field("user"), &Value::from("E0005"));
    assert_eq!(field("book.path"), &Value::from(r#""/dune""#));
    // A string literal stays static.
    let Value::String(route) = field("http.route") else {
        panic!("not a string");
    };
    assert_eq!(route.as_static(), Some("/books"));
    // Fields are read by reference: nothing was moved.
    assert_eq!(
        (name.len(), req.path, err.to_string()),
        (3, "/books", "disk full".into())
    );
}

#[telem::test]
async fn fields_with_and_without_a_message(t: TestPipeline) {
    let id = 4;
    info!(a = 1);
    info!(a = 1, b = 2,);
    info!(book.id = id, "created {id}");
    info!(book.id = id, "k" = "v", "created {} ({:?})", id, "x");
    let logs = t.logs().await;
    let records: Vec<&LogRecord> = logs.iter().collect();
    assert_eq!(bodies(&logs), ["", "", "created 4", r#"created 4 ("x")"#]);
    assert_eq!(keys(records[0]), ["a"]);
    assert_eq!(keys(records[1]), ["a", "b"]);
    assert_eq!(keys(records[2]), ["book.id"]);
    assert_eq!(records[2].field("book.id"), Some(&Value::I64(4)));
    assert_eq!(keys(records[3]), ["book.id", "k"]);
    assert_eq!(records[3].field("k"), Some(&Value::from("v")));
}

#[telem::test]
async fn levels_targets_and_names(t: TestPipeline) {
    error!("e");
    warn!("w");
    info!("i");
    debug!("d");
    trace_log!("t");
    log!(Level::Info, "log i");
    log!(telem::Level::Warn, target: "custom", "log w");
    log!(target: "before", Level::Error, "log e");
    error!(target: "http", name: "book.created", "k" = 1, "named {}", 1);
    let line = line!() - 1;
    let logs = t.logs().await;
    let found: Vec<(Option<Level>, &str)> =
        logs.iter().map(|r| (r.level(), r.body.as_str())).collect();
    let expected: Vec<(Option<Level>, &str)> = [
        (Level::Error, "e"),
        (Level::Warn, "w"),
        (Level::Info, "i"),
        (Level::Debug, "d"),
        (Level::Trace, "t"),
        (Level::Info, "log i"),
        (Level::Warn, "log w"),
        (Level::Error, "log e"),
        (Level::Error, "named 1"),
    ]
    .into_iter()
    .filter(|(level, _)| telem::macro_support::logs::static_enabled(*level))
    .map(|(level, body)| (Some(level), body))
    .collect();
    assert_eq!(found, expected);
    let target = |body: &str| {
        logs.iter()
            .find(|r| r.body.as_str() == body)
            .map(|r| r.target.as_str().to_owned())
    };
    assert_eq!(target("e").as_deref(), Some(module_path!()));
    assert_eq!(target("log w").as_deref(), Some("custom"));
    assert_eq!(target("log e").as_deref(), Some("before"));
    let named = logs.find(Level::Error, "named 1").record();
    assert_eq!(named.target.as_str(), "http");
    assert_eq!(named.event_name.as_deref(), Some("book.created"));
    assert_eq!(named.file.as_deref(), Some(file!()));
    assert_eq!(named.line, Some(line));
    assert_eq!(logs.find(Level::Error, "log e").record().event_name, None);
}

#[telem::test]
async fn arguments_are_evaluated_once_each(t: TestPipeline) {
    let calls = Cell::new(0);
    let next = || {
        calls.set(calls.get() + 1);
        calls.get()
    };
    info!("{0} and {0} again, {n} {n}", next(), n = next());
    info!("{0:?} and {0:?}", next());
    info!(a = next(), b = %next(), c = ?next(), "{}", next());
    assert_eq!(calls.get(), 7);
    let logs = t.logs().await;
    assert_eq!(bodies(&logs), ["1 and 1 again, 2 2", "3 and 3", "7"]);
    let last = logs.find(Level::Info, "7").record();
    assert_eq!(
        last.field("a"),
        Some(&Value::I64(4)),
        "fields first, in order"
    );
    assert_eq!(last.field("b"), Some(&Value::from("5")));
    assert_eq!(last.field("c"), Some(&Value::from("6")));
}

#[telem::test]
async fn arguments_are_borrowed_and_temporaries_live_through_the_call(t: TestPipeline) {
    let owned = String::from("kept");
    info!(k = owned, "{}", owned);
    info!("{}", String::from("temporary").as_str());
    info!("{}", owned.clone() + "!");
    // Usable anywhere an expression is.
    let code = 404;
    match code {
        404 => warn!("not found"),
        _ => info!("fine"),
    }
    let logs = t.logs().await;
    assert_eq!(owned, "kept");
    assert_eq!(bodies(&logs), ["kept", "temporary", "kept!", "not found"]);
}

#[telem::test]
async fn calls_in_macros_and_generic_fns(t: TestPipeline) {
    macro_rules! audit {
        ($($arg:tt)*) => {
            info!(target: "audit", $($arg)*)
        };
    }
    fn generic<T: fmt::Display>(value: T) {
        info!(kind = std::any::type_name::<T>(), "value {value}");
    }
    audit!("from a macro {}", 1);
    generic(5u8);
    generic("s");
    let logs = t.logs().await;
    assert_eq!(bodies(&logs), ["from a macro 1", "value 5", "value s"]);
    assert_eq!(logs.iter().next().map(|r| r.target.as_str()), Some("audit"));
}

#[telem::test]
async fn levels_removed_at_compile_time_evaluate_nothing(t: TestPipeline) {
    use telem::macro_support::logs::static_enabled;
    let evaluated = Cell::new(Vec::new());
    let mark = |level: Level| {
        let mut seen = evaluated.take();
        seen.push(level);
        evaluated.set(seen);
        level
    };
    error!("{}", mark(Level::Error));
    warn!("{}", mark(Level::Warn));
    info!("{}", mark(Level::Info));
    debug!("{}", mark(Level::Debug));
    trace_log!("{}", mark(Level::Trace));
    let compiled_in: Vec<Level> = Level::ALL
        .into_iter()
        .filter(|l| static_enabled(*l))
        .collect();
    assert_eq!(evaluated.take(), compiled_in);
    assert_eq!(t.logs().await.len(), compiled_in.len());
    // What two of the features keep (`release_max_level_*` wins in release builds).
    if cfg!(all(
        not(debug_assertions),
        feature = "release_max_level_warn"
    )) {
        assert_eq!(compiled_in, [Level::Error, Level::Warn]);
    } else if cfg!(feature = "max_level_info") {
        assert_eq!(compiled_in, [Level::Error, Level::Warn, Level::Info]);
    } else if cfg!(feature = "enable") {
        assert_eq!(compiled_in, Level::ALL);
    }
}

/// The names the expansion binds are its own: a caller's variables of the same names
/// are neither shadowed nor shadowing (the expansion's are `mixed_site` locals).
#[telem::test]
#[allow(non_snake_case)]
async fn the_expansions_own_names_never_meet_the_callers(t: TestPipeline) {
    let __telem_log_value0 = 5;
    let __telem_log_site = "the caller's";
    let __TELEM_LOG_SITE = 9;
    info!(k = 1, "F {:?}", __telem_log_value0);
    info!(k = 2, "G {}", __telem_log_value0);
    info!("{} {}", __telem_log_site, __TELEM_LOG_SITE);
    let logs = t.logs().await;
    assert_eq!(bodies(&logs), ["F 5", "G 5", "the caller's 9"]);
}
