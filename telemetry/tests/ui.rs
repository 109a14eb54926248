//! What `#[trace]` accepts (`ui/pass`: each compiles and runs) and the errors it gives
//! (`ui/fail`: each fails to compile with the message in its `.stderr`).
//!
//! The `.stderr` files were made with rustc 1.95.0, the toolchain this project is built
//! with; the messages `#[trace]` writes itself are the same on any toolchain, but those
//! rustc writes (type errors, the compiler's own parse errors) change between releases.
//! So the `fail` cases run only on that toolchain and are skipped, with a note, on
//! another one. After a toolchain upgrade, regenerate them with
//! `TRYBUILD=overwrite cargo test -p telemetry --test ui`, review the diff, and update
//! [`STDERR_TOOLCHAIN`].
#![cfg(feature = "enable")]

/// The `rustc --version` prefix the `.stderr` files were made with.
const STDERR_TOOLCHAIN: &str = "rustc 1.95.";

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
    if version.starts_with(STDERR_TOOLCHAIN) {
        cases.compile_fail("tests/ui/fail/*.rs");
    } else {
        eprintln!(
            "skipping tests/ui/fail: its .stderr files were made with {STDERR_TOOLCHAIN}x, \
             this is {}",
            version.trim()
        );
    }
}
