//! What `#[trace]` accepts (`ui/pass`: each compiles and runs) and the errors it gives
//! (`ui/fail`: each fails to compile with the message in its `.stderr`).
//!
//! The `.stderr` files were made with rustc 1.95.0, the toolchain this project is built
//! with; the messages `#[trace]` writes itself are the same on any toolchain, but those
//! rustc writes (type errors, the compiler's own parse errors) change between releases.
//! So the `fail` cases are checked on that toolchain only, the one `rust-toolchain.toml`
//! pins (so `cargo test` in the repository uses it). On another rustc (`cargo +nightly
//! test`, an MSRV build) the test fails, saying why, rather than skip them unnoticed;
//! set `TELEMETRY_SKIP_UI=1` to run only the `pass` cases there (the skip is then
//! written to stderr, past the test harness's capture). After a toolchain upgrade,
//! change `rust-toolchain.toml`, regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p telem --test ui`, review the diff, and update
//! [`STDERR_TOOLCHAIN`].
#![cfg(feature = "enable")]

/// The `rustc --version` prefix the `.stderr` files were made with.
const STDERR_TOOLCHAIN: &str = "rustc 1.95.";

/// Set to `1` to skip the `fail` cases on a toolchain other than [`STDERR_TOOLCHAIN`].
const SKIP_VAR: &str = "TELEMETRY_SKIP_UI";

/// Writes to the process's stderr directly: `eprintln!` in a passing test is captured
/// by the test harness and never shown.
fn warn(message: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "WARNING: {message}");
}

fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    let version = rustc_version();
    let version = version.trim();
    if version.starts_with(STDERR_TOOLCHAIN) {
        cases.compile_fail("tests/ui/fail/*.rs");
    } else if std::env::var(SKIP_VAR).as_deref() == Ok("1") {
        warn(&format!(
            "{SKIP_VAR}=1: tests/ui/fail NOT CHECKED: its .stderr files were made with \
             {STDERR_TOOLCHAIN}x, this is {version:?}"
        ));
    } else {
        panic!(
            "tests/ui/fail can't be checked with {version:?}: its .stderr files hold rustc's \
             messages of {STDERR_TOOLCHAIN}x, the toolchain rust-toolchain.toml pins. Run the \
             tests with that toolchain (plain `cargo test` in the repository), or set \
             {SKIP_VAR}=1 to check only tests/ui/pass on this one."
        );
    }
}

/// The pin in `rust-toolchain.toml` and the toolchain the `.stderr` files were made
/// with move together: a pin bumped without regenerating them fails here, on any
/// toolchain, before `ui` fails on the new one with a wall of diffs.
#[test]
fn the_pinned_toolchain_made_the_stderr_files() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../rust-toolchain.toml");
    let Ok(file) = std::fs::read_to_string(path) else {
        // Outside the repository (a packaged crate) there is no pin to compare.
        warn(&format!("no {path}: the toolchain pin is not checked"));
        return;
    };
    let channel = file
        .lines()
        .filter_map(|line| line.trim().strip_prefix("channel"))
        .filter_map(|rest| rest.trim().strip_prefix('='))
        .map(|value| value.trim().trim_matches('"'))
        .next()
        .unwrap_or_else(|| panic!("no `channel = \"...\"` in {path}"));
    assert!(
        format!("rustc {channel}").starts_with(STDERR_TOOLCHAIN),
        "{path} pins {channel:?}, but tests/ui/fail/*.stderr were made with \
         {STDERR_TOOLCHAIN}x: regenerate them (see the top of tests/ui.rs)"
    );
}
