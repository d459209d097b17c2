//! `cams-insights admin ...`: the admin API from the command line (faults, snapshot, restore, reset).
//!
//! Every command reaches a running server with `--demo-file F` (the endpoint and `admin_token` the demo
//! wrote) or `--endpoint` and `--admin-token` (better: `CAMS_ADMIN_TOKEN`). The server does the work
//! and checks everything; the CLI prints its answer, or its refusal with the code and message.

use std::path::{Path, PathBuf};

use acs_client::Client;
use anyhow::{bail, Context};
use bytes::Bytes;
use serde::Deserialize;
use server::admin::snapshot::Snapshot;
use server::config::AccountConfig;

#[derive(clap::Args, Debug, Clone)]
pub struct AdminConnect {
    /// Read the endpoint and admin token from the file `serve --demo` wrote.
    #[arg(long, env = "CAMS_DEMO_FILE")]
    pub demo_file: Option<PathBuf>,
    /// Server endpoint, `host:port`.
    #[arg(long, env = "CAMS_ENDPOINT")]
    pub endpoint: Option<String>,
    /// The admin token (`[admin] token`). Prefer the environment variable.
    #[arg(long, env = "CAMS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Write the server's whole state (catalog, events, rate cards, directories, accounts) to a file.
    Snapshot {
        #[command(flatten)]
        connect: AdminConnect,
        #[arg(long)]
        out: PathBuf,
    },
    /// Replace the server's whole state with a snapshot's.
    Restore {
        #[command(flatten)]
        connect: AdminConnect,
        file: PathBuf,
    },
    /// Empty the server (or, with --demo, go back to the demo's seed).
    Reset {
        #[command(flatten)]
        connect: AdminConnect,
        #[arg(long)]
        demo: bool,
    },
    /// Fault rules: add, list, clear.
    #[command(subcommand)]
    Fault(FaultCommand),
}

#[derive(clap::Subcommand, Debug)]
pub enum FaultCommand {
    /// Add a rule: calls of ACTION answer CODE (and/or wait), with a probability or for the next N.
    Add {
        #[command(flatten)]
        connect: AdminConnect,
        /// The operation, or `*` for all.
        #[arg(long)]
        action: String,
        /// An error code of docs/errors.md (e.g. Throttling.User, ServiceUnavailable).
        #[arg(long)]
        code: Option<String>,
        /// Chance per matching call, a decimal from 0 to 1.
        #[arg(long, conflicts_with = "count")]
        probability: Option<String>,
        /// Hit only the next N matching calls.
        #[arg(long)]
        count: Option<u64>,
        /// Wait this long before answering.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Seed of the rule's draws (same seed, same calls: same faults).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Only calls signed with this AccessKey id.
        #[arg(long)]
        access_key_id: Option<String>,
    },
    /// List the rules in force, with their hits.
    List {
        #[command(flatten)]
        connect: AdminConnect,
    },
    /// Remove every rule.
    Clear {
        #[command(flatten)]
        connect: AdminConnect,
    },
}

#[derive(Deserialize)]
struct DemoAdmin {
    endpoint: String,
    #[serde(default)]
    admin_token: Option<String>,
}

impl AdminConnect {
    fn resolve(&self) -> anyhow::Result<(String, String)> {
        let demo = match &self.demo_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                Some(
                    serde_json::from_str::<DemoAdmin>(&text)
                        .with_context(|| format!("parsing {}", path.display()))?,
                )
            }
            None => None,
        };
        let endpoint = self
            .endpoint
            .clone()
            .or_else(|| demo.as_ref().map(|d| d.endpoint.clone()))
            .context("give --endpoint (or --demo-file)")?;
        let token = self
            .admin_token
            .clone()
            .or_else(|| demo.and_then(|d| d.admin_token))
            .context("give the admin token: CAMS_ADMIN_TOKEN, --admin-token, or --demo-file")?;
        Ok((endpoint, token))
    }
}

/// One admin request; answers the body of a 2xx, or fails with the server's code and message.
fn request(
    connect: &AdminConnect,
    method: http::Method,
    path_and_query: &str,
    body: Vec<u8>,
    content_type: &str,
) -> anyhow::Result<Bytes> {
    let (endpoint, token) = connect.resolve()?;
    let client = Client::unsigned(&endpoint)?;
    let request = http::Request::builder()
        .method(method)
        .uri(format!("http://{}{path_and_query}", client.endpoint()))
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(http::header::CONTENT_TYPE, content_type)
        .body(http_body_util::Full::new(Bytes::from(body)))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let response = runtime.block_on(client.send(request))?;
    if !(200..300).contains(&response.status) {
        let v = response.json();
        match (v["Code"].as_str(), v["Message"].as_str()) {
            (Some(code), Some(message)) => bail!("{code}: {message}"),
            _ => bail!(
                "HTTP {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            ),
        }
    }
    Ok(response.body)
}

fn print_json(body: &[u8]) -> anyhow::Result<()> {
    let v: serde_json::Value = serde_json::from_slice(body)?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

/// Reads and checks a snapshot file: its frame and checksum, and its accounts. The state is checked by
/// the store that restores it.
pub fn read_snapshot(path: &Path) -> anyhow::Result<(Snapshot, Vec<AccountConfig>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let snap = Snapshot::from_bytes(&bytes).with_context(|| format!("{}", path.display()))?;
    #[derive(Deserialize)]
    struct Accounts {
        #[serde(default)]
        accounts: Vec<AccountConfig>,
    }
    let accounts: Accounts = toml::from_str(&snap.accounts_toml)
        .with_context(|| format!("{}: its accounts do not parse", path.display()))?;
    Ok((snap, accounts.accounts))
}

pub fn run(command: AdminCommand) -> anyhow::Result<()> {
    use http::Method;
    match command {
        AdminCommand::Snapshot { connect, out } => {
            let bytes = request(
                &connect,
                Method::GET,
                "/admin/v1/snapshot",
                Vec::new(),
                "application/json",
            )?;
            // Written whole or not at all: a temporary file renamed into place. The file holds
            // secrets (access keys), so it is private to its owner.
            let tmp = out.with_extension("tmp");
            write_private(&tmp, &bytes)?;
            std::fs::rename(&tmp, &out).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "snapshot written to {} ({} bytes)",
                out.display(),
                bytes.len()
            );
        }
        AdminCommand::Restore { connect, file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            // Checked here for a clear message before anything is sent; the server checks again.
            Snapshot::from_bytes(&bytes).with_context(|| format!("{}", file.display()))?;
            let body = request(
                &connect,
                Method::POST,
                "/admin/v1/restore",
                bytes,
                "application/octet-stream",
            )?;
            print_json(&body)?;
        }
        AdminCommand::Reset { connect, demo } => {
            let path = if demo {
                "/admin/v1/reset?to=demo"
            } else {
                "/admin/v1/reset?to=empty"
            };
            let body = request(&connect, Method::POST, path, Vec::new(), "application/json")?;
            print_json(&body)?;
        }
        AdminCommand::Fault(FaultCommand::Add {
            connect,
            action,
            code,
            probability,
            count,
            latency_ms,
            seed,
            access_key_id,
        }) => {
            let mut rule =
                serde_json::json!({ "action": action, "latency_ms": latency_ms, "seed": seed });
            if let Some(code) = code {
                rule["code"] = code.into();
            }
            if let Some(p) = probability {
                rule["probability"] = p.into();
            }
            if let Some(n) = count {
                rule["count"] = n.into();
            }
            if let Some(k) = access_key_id {
                rule["access_key_id"] = k.into();
            }
            let body = request(
                &connect,
                Method::POST,
                "/admin/v1/faults",
                serde_json::to_vec(&rule)?,
                "application/json",
            )?;
            print_json(&body)?;
        }
        AdminCommand::Fault(FaultCommand::List { connect }) => {
            let body = request(
                &connect,
                Method::GET,
                "/admin/v1/faults",
                Vec::new(),
                "application/json",
            )?;
            print_json(&body)?;
        }
        AdminCommand::Fault(FaultCommand::Clear { connect }) => {
            let body = request(
                &connect,
                Method::DELETE,
                "/admin/v1/faults",
                Vec::new(),
                "application/json",
            )?;
            print_json(&body)?;
        }
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}
