//! `docs/configuration.md` shows the exporter's settings as the code defines them
//! ([`telem_otlp::SETTINGS`]): regenerate the table with
//! `UPDATE_DOCS=1 cargo test -p telem-otlp --test configuration_docs`.

#[path = "../../../telemetry/tests/common/docs_table.rs"]
mod docs_table;

#[test]
fn the_configuration_reference_shows_the_exporters_settings() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    docs_table::check(
        &docs,
        "telem_otlp::SETTINGS",
        &telem::Setting::markdown_table(telem_otlp::SETTINGS),
        "UPDATE_DOCS=1 cargo test -p telem-otlp --test configuration_docs",
    );
}

#[test]
fn every_variable_is_read_by_one_row_and_every_row_is_described() {
    docs_table::check_rows(telem_otlp::SETTINGS, telem::SETTINGS);
}
