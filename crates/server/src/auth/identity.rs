//! Who is calling: access keys, the principals behind them (account root, RAM users, assumed roles),
//! their policies, and the roles STS can issue sessions for. Built whole from the configuration and
//! swapped whole on reload.

use std::collections::HashMap;
use std::sync::Arc;

use ram_policy::{Policy, TrustPolicy};

use crate::auth::sts::{SessionClaims, StsKey};
use crate::config::{AccountConfig, Config, ConfigError, KeyStatus, UserConfig};

/// What kind of identity a principal is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account's own key: may do everything within the account; no policy is consulted.
    Root,
    /// A RAM user.
    SubUser { name: String },
    /// A session of an assumed role.
    AssumedRole { role: String, session: String },
}

/// An identity and what it may do.
#[derive(Debug)]
pub struct Principal {
    pub account_uid: String,
    pub kind: PrincipalKind,
    /// Identity policies: the user's and its groups', or the role's. Empty for root.
    pub policies: Vec<Arc<Policy>>,
    /// The session policy of an assumed role, if one was given.
    pub session_policy: Option<Arc<Policy>>,
}

impl Principal {
    /// `AccessDeniedDetail.AuthPrincipalType`.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            PrincipalKind::Root => "Account",
            PrincipalKind::SubUser { .. } => "SubUser",
            PrincipalKind::AssumedRole { .. } => "AssumedRoleUser",
        }
    }

    /// `AccessDeniedDetail.AuthPrincipalDisplayName`.
    pub fn display_name(&self) -> String {
        match &self.kind {
            PrincipalKind::Root => self.account_uid.clone(),
            PrincipalKind::SubUser { name } => name.clone(),
            PrincipalKind::AssumedRole { role, session } => format!("{role}:{session}"),
        }
    }

    /// The principal's ARN (`acs:PrincipalARN`).
    pub fn arn(&self) -> String {
        match &self.kind {
            PrincipalKind::Root => format!("acs:ram::{}:root", self.account_uid),
            PrincipalKind::SubUser { name } => format!("acs:ram::{}:user/{name}", self.account_uid),
            PrincipalKind::AssumedRole { role, session } => {
                format!(
                    "acs:ram::{}:assumed-role/{role}/{session}",
                    self.account_uid
                )
            }
        }
    }
}

/// One usable access key.
pub struct AccessKey {
    pub id: String,
    pub principal: Arc<Principal>,
    pub active: bool,
    secret: Vec<u8>,
}

impl AccessKey {
    /// The secret bytes; only the signature check reads them.
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    pub fn account_uid(&self) -> &str {
        &self.principal.account_uid
    }
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("principal", &self.principal)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: Arc<AccessKey>,
}

impl Caller {
    pub fn account_uid(&self) -> &str {
        self.key.account_uid()
    }

    pub fn principal(&self) -> &Principal {
        &self.key.principal
    }
}

/// A role STS can issue sessions of.
#[derive(Debug)]
pub struct Role {
    pub account_uid: String,
    pub name: String,
    pub trust: TrustPolicy,
    pub policies: Vec<Arc<Policy>>,
    pub max_session_secs: u64,
}

impl Role {
    pub fn arn(&self) -> String {
        format!(
            "acs:ram::{}:role/{}",
            self.account_uid,
            self.name.to_ascii_lowercase()
        )
    }
}

/// Why a temporary key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    Token(crate::auth::sts::TokenError),
    /// The role (or its account) no longer exists.
    RoleGone,
}

/// Every identity, by access key id, and every role, by (account, lowercase name).
#[derive(Debug)]
pub struct Identities {
    keys: HashMap<String, Arc<AccessKey>>,
    roles: HashMap<(String, String), Arc<Role>>,
    pub sts: StsKey,
}

/// The policies named, resolved against the account's custom policies and the system ones.
fn resolve_policies(names: &[String], custom: &HashMap<&str, Arc<Policy>>) -> Vec<Arc<Policy>> {
    names
        .iter()
        .filter_map(|n| {
            custom
                .get(n.as_str())
                .cloned()
                .or_else(|| ram_policy::system_policy(n).map(Arc::new))
        })
        .collect()
}

fn add_key(
    keys: &mut HashMap<String, Arc<AccessKey>>,
    key: &crate::config::AccessKeyConfig,
    principal: &Arc<Principal>,
) -> Result<(), ConfigError> {
    let secret = Config::resolve_secret(key)?;
    keys.insert(
        key.id.clone(),
        Arc::new(AccessKey {
            id: key.id.clone(),
            principal: principal.clone(),
            active: key.status == KeyStatus::Active,
            secret: secret.into_bytes(),
        }),
    );
    Ok(())
}

/// The names of the policies that apply to a RAM user: its own and its groups', sorted, each once.
pub fn user_policy_names(account: &AccountConfig, user: &UserConfig) -> Vec<String> {
    let mut names = user.policies.clone();
    for g in account
        .groups
        .iter()
        .filter(|g| user.groups.contains(&g.name))
    {
        names.extend(g.policies.iter().cloned());
    }
    names.sort();
    names.dedup();
    names
}

fn account_identities(
    account: &AccountConfig,
    keys: &mut HashMap<String, Arc<AccessKey>>,
    roles: &mut HashMap<(String, String), Arc<Role>>,
) -> Result<(), ConfigError> {
    let mut custom: HashMap<&str, Arc<Policy>> = HashMap::new();
    for p in &account.policies {
        let policy = ram_policy::parse_policy(&p.name, &p.document)
            .map_err(|e| ConfigError::Invalid(format!("account {}: {e}", account.uid)))?;
        custom.insert(p.name.as_str(), Arc::new(policy));
    }
    let root = Arc::new(Principal {
        account_uid: account.uid.clone(),
        kind: PrincipalKind::Root,
        policies: Vec::new(),
        session_policy: None,
    });
    for key in &account.access_keys {
        add_key(keys, key, &root)?;
    }
    for user in &account.users {
        let names = user_policy_names(account, user);
        let principal = Arc::new(Principal {
            account_uid: account.uid.clone(),
            kind: PrincipalKind::SubUser {
                name: user.name.clone(),
            },
            policies: resolve_policies(&names, &custom),
            session_policy: None,
        });
        for key in &user.access_keys {
            add_key(keys, key, &principal)?;
        }
    }
    for role in &account.roles {
        let trust = ram_policy::parse_trust_policy(&role.name, &role.trust_policy)
            .map_err(|e| ConfigError::Invalid(format!("account {}: {e}", account.uid)))?;
        roles.insert(
            (account.uid.clone(), role.name.to_ascii_lowercase()),
            Arc::new(Role {
                account_uid: account.uid.clone(),
                name: role.name.clone(),
                trust,
                policies: resolve_policies(&role.policies, &custom),
                max_session_secs: role.max_session_duration,
            }),
        );
    }
    Ok(())
}

impl Identities {
    /// Builds every identity, resolving secrets from the environment where named.
    pub fn from_config(config: &Config, sts: StsKey) -> Result<Identities, ConfigError> {
        let mut keys = HashMap::new();
        let mut roles = HashMap::new();
        for account in &config.accounts {
            account_identities(account, &mut keys, &mut roles)?;
        }
        Ok(Identities { keys, roles, sts })
    }

    /// A long-term key.
    pub fn key(&self, id: &str) -> Option<&Arc<AccessKey>> {
        self.keys.get(id)
    }

    /// A role by ARN parts.
    pub fn role(&self, account_uid: &str, name: &str) -> Option<&Arc<Role>> {
        self.roles
            .get(&(account_uid.to_string(), name.to_ascii_lowercase()))
    }

    /// The key of a verified session token: the role's policies and the session policy.
    pub fn session_key(
        &self,
        key_id: &str,
        token: &str,
        now_secs: i64,
    ) -> Result<Arc<AccessKey>, SessionError> {
        let claims: SessionClaims = self
            .sts
            .verify(token, key_id, now_secs)
            .map_err(SessionError::Token)?;
        let role = self
            .role(&claims.account_uid, &claims.role)
            .ok_or(SessionError::RoleGone)?;
        let session_policy = match &claims.policy {
            // The policy was checked when the session was issued and the MAC proves it is that one.
            Some(doc) => Some(Arc::new(
                ram_policy::parse_policy("SessionPolicy", doc)
                    .map_err(|_| SessionError::Token(crate::auth::sts::TokenError::Malformed))?,
            )),
            None => None,
        };
        Ok(Arc::new(AccessKey {
            id: key_id.to_string(),
            principal: Arc::new(Principal {
                account_uid: claims.account_uid.clone(),
                kind: PrincipalKind::AssumedRole {
                    role: role.name.clone(),
                    session: claims.session.clone(),
                },
                policies: role.policies.clone(),
                session_policy,
            }),
            active: true,
            secret: self.sts.secret_of(key_id).into_bytes(),
        }))
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}
