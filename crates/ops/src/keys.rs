//! `cams-insights keys create|disable|list`: access keys in the configuration file. Changes edit the file
//! in place (comments and layout kept), only if the result still loads, and take effect on the server's
//! next SIGHUP.

use std::path::{Path, PathBuf};

use anyhow::Context;
use server::config::{AccessKeyConfig, Config};
use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

use crate::policy::pick_account;

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Create an access key for the account's root or a RAM user; prints the secret once.
    Create {
        #[arg(long, env = "CAMS_CONFIG")]
        config: PathBuf,
        #[arg(long)]
        account: Option<String>,
        /// RAM user name (default: the account's root).
        #[arg(long)]
        user: Option<String>,
    },
    /// Mark a key Inactive.
    Disable {
        #[arg(long, env = "CAMS_CONFIG")]
        config: PathBuf,
        id: String,
    },
    /// List keys (never secrets).
    List {
        #[arg(long, env = "CAMS_CONFIG")]
        config: PathBuf,
    },
}

fn load_doc(path: &Path) -> anyhow::Result<DocumentMut> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.parse::<DocumentMut>()
        .with_context(|| format!("parsing {}", path.display()))
}

/// Writes the edited file only if it still is a valid configuration.
fn save_doc(path: &Path, doc: &DocumentMut) -> anyhow::Result<()> {
    let text = doc.to_string();
    Config::parse(&text).context("the edited configuration would not load; nothing written")?;
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, &text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn accounts(doc: &mut DocumentMut) -> anyhow::Result<&mut ArrayOfTables> {
    doc.get_mut("accounts")
        .and_then(Item::as_array_of_tables_mut)
        .context("the configuration has no [[accounts]]")
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::List { config } => {
            let c = Config::load(&config)?;
            println!("{:<28} {:<18} {:<20} status", "id", "account", "owner");
            for a in &c.accounts {
                for k in &a.access_keys {
                    println!("{:<28} {:<18} {:<20} {:?}", k.id, a.uid, "root", k.status);
                }
                for u in &a.users {
                    for k in &u.access_keys {
                        println!(
                            "{:<28} {:<18} {:<20} {:?}",
                            k.id,
                            a.uid,
                            format!("user/{}", u.name),
                            k.status
                        );
                    }
                }
            }
            Ok(())
        }
        KeysCommand::Create {
            config,
            account,
            user,
        } => {
            let parsed = Config::load(&config)?;
            let uid = pick_account(&parsed, account.as_deref())?.uid.clone();
            let mut doc = load_doc(&config)?;
            let generated = AccessKeyConfig::generate();
            let (id, secret) = (generated.id, generated.secret.unwrap_or_default());
            let mut key = Table::new();
            key["id"] = value(id.clone());
            key["secret"] = value(secret.clone());
            key["status"] = value("Active");
            let account_table = accounts(&mut doc)?
                .iter_mut()
                .find(|t| t.get("uid").and_then(Item::as_str) == Some(uid.as_str()))
                .context("account not found in the file")?;
            let owner = match &user {
                Some(name) => account_table
                    .get_mut("users")
                    .and_then(Item::as_array_of_tables_mut)
                    .and_then(|users| {
                        users
                            .iter_mut()
                            .find(|u| u.get("name").and_then(Item::as_str) == Some(name.as_str()))
                    })
                    .with_context(|| format!("no RAM user {name} in account {uid}"))?,
                None => account_table,
            };
            if !owner.contains_key("access_keys") {
                owner.insert("access_keys", Item::ArrayOfTables(ArrayOfTables::new()));
            }
            owner["access_keys"]
                .as_array_of_tables_mut()
                .context("access_keys is not an array of tables")?
                .push(key);
            save_doc(&config, &doc)?;
            println!("AccessKeyId:     {id}\nAccessKeySecret: {secret}\n(the secret is shown once; send SIGHUP to the server to load the key)");
            Ok(())
        }
        KeysCommand::Disable { config, id } => {
            let mut doc = load_doc(&config)?;
            let mut found = false;
            for account in accounts(&mut doc)?.iter_mut() {
                let mut visit = |keys: Option<&mut ArrayOfTables>| {
                    for k in keys.into_iter().flat_map(|k| k.iter_mut()) {
                        if k.get("id").and_then(Item::as_str) == Some(id.as_str()) {
                            k["status"] = value("Inactive");
                            found = true;
                        }
                    }
                };
                visit(
                    account
                        .get_mut("access_keys")
                        .and_then(Item::as_array_of_tables_mut),
                );
                if let Some(users) = account
                    .get_mut("users")
                    .and_then(Item::as_array_of_tables_mut)
                {
                    for u in users.iter_mut() {
                        visit(
                            u.get_mut("access_keys")
                                .and_then(Item::as_array_of_tables_mut),
                        );
                    }
                }
            }
            anyhow::ensure!(found, "no access key {id}");
            save_doc(&config, &doc)?;
            println!("{id} is Inactive (send SIGHUP to the server to apply)");
            Ok(())
        }
    }
}
