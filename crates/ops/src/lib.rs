//! # ops — the commands of cams-insights, as library functions
//!
//! The binary parses a subcommand's arguments and calls one function here:
//! [`serve::run`] (with [`demo`] for `serve --demo`), [`import::run`], [`reference_data`],
//! [`query::run`], [`keys::run`], [`policy::run`]. Every command that opens a data directory opens it
//! through [`open_store`], so they all honour the configuration the same way.

pub mod admin;
pub mod connect;
pub mod demo;
pub mod import;
pub mod keys;
pub mod policy;
pub mod query;
pub mod reference_data;
pub mod serve;
pub mod simulate;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use server::config::StorageBackend;
use server::Config;
use store::{HostOptions, Store};

/// Opens the store a command works on: the configuration's storage and metric settings (defaults when
/// there is no configuration), in `data_dir` when given, else the configuration's data directory. With
/// the `jetstream` backend the directory holds this node's checkpoints, and the node id is the
/// configuration's (`[cluster] node_id`, set by `serve` when absent).
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
    match config.map(|c| c.storage.backend) {
        Some(StorageBackend::Jetstream) => {
            let config = config.expect("a configuration");
            let storage = &config.storage;
            let accounts = config.cluster.accounts.clone();
            let folds: Option<store::jetstream::AccountFilter> = (!accounts.is_empty())
                .then(|| Arc::new(move |a: &str| accounts.iter().any(|x| x == a)) as _);
            store::jetstream::open(
                &dir,
                options,
                store::jetstream::JetStreamOptions {
                    urls: storage.nats_urls.clone(),
                    stream: storage.stream.clone(),
                    subject_prefix: storage.subject_prefix.clone(),
                    replicas: storage.replicas,
                    node_id: config
                        .cluster
                        .node_id
                        .clone()
                        .unwrap_or_else(server::cluster::default_node_id),
                    folds,
                    auth: storage.nats_auth(),
                },
            )
            .with_context(|| {
                format!(
                    "joining the JetStream log {} at {}",
                    storage.stream,
                    storage.nats_urls.join(",")
                )
            })
        }
        _ => store::sqlite::open(&dir, options)
            .with_context(|| format!("opening the store in {}", dir.display())),
    }
}
