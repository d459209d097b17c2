//! The conformance suite against the embedded SQLite backend.

use std::path::Path;

use store::sqlite::{SqliteOptions, SqliteStore};
use store::Store;

fn open(dir: &Path) -> Box<dyn Store> {
    Box::new(SqliteStore::open(dir, SqliteOptions::default()).expect("store opens"))
}

store::store_conformance_tests!(open);
