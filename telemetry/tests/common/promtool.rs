//! `promtool check metrics` (Prometheus's own linter: names, suffixes, units, help
//! texts) on an exposition. Included with `#[path]` by the tests that run it
//! (`metrics_promtool.rs` here, `examples/bookstore/tests/promtool.rs`), which are
//! `#[ignore]`d: they need `promtool` (Debian's `prometheus` package), which `.ci/run`
//! installs.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// `promtool check metrics` on `body`: whether it passed, and what it said.
pub(crate) fn check_metrics(body: &[u8]) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool on PATH (apt-get install prometheus)");
    child
        .stdin
        .take()
        .expect("promtool's stdin")
        .write_all(body)
        .expect("the exposition written to promtool");
    let out = child.wait_with_output().expect("promtool's report");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}
