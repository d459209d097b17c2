//! `cams-insights policy simulate|check`: RAM decisions offline, over the configuration file.

use std::path::PathBuf;

use anyhow::Context;
use server::config::Config;

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

/// The account a command names, or the only one.
pub fn pick_account<'a>(
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

pub fn run(cmd: PolicyCommand) -> anyhow::Result<()> {
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
