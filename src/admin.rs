//! `cams-insights policy simulate` and `cams-insights keys create|disable|list`: offline tools over
//! the configuration file. Key changes edit the file in place (comments and layout kept) and take
//! effect on the server's next SIGHUP.

use std::path::{Path, PathBuf};

use anyhow::Context;
use server::config::Config;
use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

use crate::demo::random_string;

#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    /// Decide a request offline: which policy and statement allow or deny it.
    Simulate(SimulateArgs),
    /// Check a policy document (JSON file) and report the first problem.
    Check { file: PathBuf },
}

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    #[arg(long, env = "CAMS_CONFIG")]
    config: PathBuf,
    /// Account UID (default: the only account, if there is one).
    #[arg(long)]
    account: Option<String>,
    /// `root`, a RAM user name, or `role:<name>` (optionally `role:<name>:<session policy file>`).
    #[arg(long)]
    principal: String,
    /// e.g. cams:CreateMessageCampaign
    #[arg(long)]
    action: String,
    /// e.g. acs:cams:ap-southeast-1:<uid>:custspace/cams-x/campaign/123 (default `*`)
    #[arg(long, default_value = "*")]
    resource: String,
    /// Condition values, `key=value` (repeatable), e.g. acs:SourceIp=10.0.0.1
    #[arg(long = "context")]
    context: Vec<String>,
}

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

fn pick_account<'a>(
    config: &'a Config,
    uid: Option<&str>,
) -> anyhow::Result<&'a server::config::AccountConfig> {
    match uid {
        Some(uid) => config
            .accounts
            .iter()
            .find(|a| a.uid == uid)
            .with_context(|| format!("no account {uid}")),
        None if config.accounts.len() == 1 => Ok(&config.accounts[0]),
        None => anyhow::bail!(
            "the configuration has {} accounts: give --account",
            config.accounts.len()
        ),
    }
}

pub fn policy(cmd: PolicyCommand) -> anyhow::Result<()> {
    match cmd {
        PolicyCommand::Check { file } => {
            let doc = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let name = file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("policy");
            let policy = ram_policy::parse_policy(name, &doc)?;
            println!("{name}: OK, {} statements", policy.statements().len());
            Ok(())
        }
        PolicyCommand::Simulate(a) => simulate(a),
    }
}

fn simulate(a: SimulateArgs) -> anyhow::Result<()> {
    let config = Config::load(&a.config)?;
    let account = pick_account(&config, a.account.as_deref())?;
    let mut ctx =
        ram_policy::RequestContext::new(a.action.clone()).with_resource(a.resource.clone());
    for kv in &a.context {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--context `{kv}` is not key=value"))?;
        ctx.insert_condition(k, v.to_string());
    }
    let custom: Vec<ram_policy::Policy> = account
        .policies
        .iter()
        .map(|p| ram_policy::parse_policy(&p.name, &p.document))
        .collect::<Result<_, _>>()?;
    let resolve = |names: &[String]| -> Vec<ram_policy::Policy> {
        names
            .iter()
            .filter_map(|n| {
                custom
                    .iter()
                    .find(|p| p.name() == n)
                    .cloned()
                    .or_else(|| ram_policy::system_policy(n))
            })
            .collect()
    };
    if a.principal == "root" {
        println!("Allow: the account's root may do everything within the account (no policy is consulted)");
        return Ok(());
    }
    if let Some(rest) = a.principal.strip_prefix("role:") {
        let (role_name, session_file) = match rest.split_once(':') {
            Some((r, f)) => (r, Some(f)),
            None => (rest, None),
        };
        let role = account
            .roles
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(role_name))
            .with_context(|| format!("no role {role_name}"))?;
        let policies = resolve(&role.policies);
        let refs: Vec<&ram_policy::Policy> = policies.iter().collect();
        let session = match session_file {
            Some(f) => Some(ram_policy::parse_policy(
                "SessionPolicy",
                &std::fs::read_to_string(f)?,
            )?),
            None => None,
        };
        let decision = ram_policy::evaluate_session(&refs, session.as_ref(), &ctx);
        println!("{}", ram_policy::explain::describe_session(&decision));
        return Ok(());
    }
    let user = account
        .users
        .iter()
        .find(|u| u.name == a.principal)
        .with_context(|| {
            format!(
                "no RAM user {} (principals: root, a user name, role:<name>)",
                a.principal
            )
        })?;
    // The same policy set the gateway evaluates for this user.
    let policies = resolve(&server::auth::identity::user_policy_names(account, user));
    let refs: Vec<&ram_policy::Policy> = policies.iter().collect();
    let decision = ram_policy::evaluate(&refs, &ctx);
    println!("{}", ram_policy::explain::describe(&decision));
    Ok(())
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

pub fn keys(cmd: KeysCommand) -> anyhow::Result<()> {
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
            let id = format!(
                "LTAI{}",
                random_string(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                    20
                )
            );
            let secret = random_string(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                30,
            );
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
