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

/// `docs/admin.md` documents every code the admin API answers, and every operation of the catalog is
/// in `docs/api.md`.
#[test]
fn admin_codes_and_operations_are_documented() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let admin = std::fs::read_to_string(root.join("docs/admin.md")).unwrap();
    for code in server::admin::AdminError::CODES {
        assert!(
            admin.contains(&format!("`{code}`")),
            "docs/admin.md lacks {code}"
        );
    }
    let api = std::fs::read_to_string(root.join("docs/api.md")).unwrap();
    for action in server::rpc::catalog::ACTIONS {
        assert!(
            api.contains(&format!("### {}", action.name)),
            "docs/api.md has no section for {}",
            action.name
        );
    }
}
