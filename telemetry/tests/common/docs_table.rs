//! Checks that a table of `docs/configuration.md` is the one the code generates (a
//! crate's `SETTINGS`, rendered by `telem::Setting::markdown_table`), and rewrites it
//! when `UPDATE_DOCS=1` is set. Each crate's `tests/configuration_docs.rs` includes this
//! file, so the three checks read and write the document alike, and check their rows
//! alike ([`check_rows`]).

use std::path::Path;
use telem::Setting;

/// A table's rows are well formed: no environment variable is read by two rows, none is
/// read by a row of `others` (the tables this one sits beside), and every row is
/// described.
pub(crate) fn check_rows(rows: &[Setting], others: &[Setting]) {
    let mut variables: Vec<_> = rows.iter().filter_map(|s| s.variable()).collect();
    let n = variables.len();
    variables.sort_unstable();
    variables.dedup();
    assert_eq!(variables.len(), n, "a variable in two rows");
    for v in &variables {
        assert!(
            !others.iter().any(|s| s.variable() == Some(v)),
            "{v} is read by another crate's table"
        );
    }
    for s in rows {
        assert!(!s.description().is_empty(), "{s}");
    }
}

/// Compares the text between `<!-- BEGIN {name} -->` and `<!-- END {name} -->` in the
/// document with `table`; `regenerate` is the command that rewrites it.
pub(crate) fn check(docs: &Path, name: &str, table: &str, regenerate: &str) {
    let text = std::fs::read_to_string(docs)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", docs.display()));
    let begin = format!("<!-- BEGIN {name} (generated: {regenerate}) -->\n");
    let end = format!("<!-- END {name} -->");
    let (Some(start), Some(stop)) = (text.find(&begin), text.find(&end)) else {
        panic!(
            "{} has no generated table of {name}: add the two lines\n{begin}{end}\nwhere it \
             belongs, then run `{regenerate}`",
            docs.display()
        );
    };
    let start = start + begin.len();
    assert!(
        start <= stop,
        "{}: {end} before its BEGIN line",
        docs.display()
    );
    if &text[start..stop] == table {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = format!("{}{table}{}", &text[..start], &text[stop..]);
        std::fs::write(docs, updated)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", docs.display()));
        eprintln!("{}: the table of {name} rewritten", docs.display());
        return;
    }
    let first_difference = text[start..stop]
        .lines()
        .zip(table.lines())
        .find(|(doc, code)| doc != code)
        .map_or_else(
            || "one has rows the other has not".to_owned(),
            |(doc, code)| format!("the document says\n  {doc}\nthe code says\n  {code}"),
        );
    panic!(
        "{}: the table of {name} does not match the code ({first_difference}).\nRegenerate it \
         with `{regenerate}`.",
        docs.display()
    );
}
