//! # ops — the commands of cams-insights, as library functions
//!
//! The binary parses a subcommand's arguments and calls one function here:
//! [`serve::run`] (with [`demo`] for `serve --demo`), [`import::run`], [`reference_data`],
//! [`query::run`], [`keys::run`], [`policy::run`]. Every command that opens a data directory opens it
//! through [`open_store`], so they all honour the configuration the same way.

pub mod connect;
pub mod demo;
pub mod import;
pub mod keys;
pub mod policy;
pub mod query;
pub mod reference_data;
pub mod serve;

use std::path::Path;

use anyhow::Context;
use server::Config;
use store::{HostOptions, Store};

/// Opens the store a command works on: the configuration's storage and metric settings (defaults when
/// there is no configuration), in `data_dir` when given, else the configuration's data directory.
pub fn open_store(config: Option<&Config>, data_dir: Option<&Path>) -> anyhow::Result<Store> {
    let dir = data_dir
        .map(Path::to_path_buf)
        .or_else(|| config.and_then(|c| c.storage.data_dir.clone()))
        .context(
            "no data directory: set storage.data_dir in the configuration or pass --data-dir",
        )?;
    let options = HostOptions {
        engine: config.map(Config::engine_config).unwrap_or_default(),
        ..HostOptions::default()
    };
    store::sqlite::open(&dir, options)
        .with_context(|| format!("opening the store in {}", dir.display()))
}
