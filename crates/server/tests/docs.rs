//! `docs/errors.md` is generated from the error table; this fails when they drift.
//! Regenerate with `UPDATE_DOCS=1 cargo test -p server --test docs`.

use std::path::PathBuf;

#[test]
fn error_reference_matches_the_table() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md");
    let expected = server::errors::render_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/errors.md is out of date: run `UPDATE_DOCS=1 cargo test -p server --test docs`"
    );
}
