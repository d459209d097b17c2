//! The conformance suite against the embedded SQLite backend.

use std::path::Path;

use store::{HostOptions, Store};

fn open(dir: &Path) -> Store {
    store::sqlite::open(dir, HostOptions::default()).expect("store opens")
}

store::store_conformance_tests!(open);
