//! Who is calling: the access-key directory built from the configuration.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{Config, ConfigError, KeyStatus};

/// The kind of principal a key belongs to, as `AccessDeniedDetail.AuthPrincipalType` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalType {
    /// The account's own key: may do everything within the account.
    Root,
}

impl PrincipalType {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::Root => "Account",
        }
    }
}

/// One usable access key.
pub struct AccessKey {
    pub id: String,
    pub account_uid: String,
    pub principal: PrincipalType,
    pub active: bool,
    secret: Vec<u8>,
}

impl AccessKey {
    /// The secret bytes; only the signature check reads them.
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("account_uid", &self.account_uid)
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
        &self.key.account_uid
    }
}

/// Every access key, by id.
#[derive(Debug, Default)]
pub struct KeyDirectory {
    keys: HashMap<String, Arc<AccessKey>>,
}

impl KeyDirectory {
    /// Builds the directory, resolving secrets from the environment where named.
    pub fn from_config(config: &Config) -> Result<KeyDirectory, ConfigError> {
        let mut keys = HashMap::new();
        for account in &config.accounts {
            for key in &account.access_keys {
                let secret = Config::resolve_secret(key)?;
                keys.insert(
                    key.id.clone(),
                    Arc::new(AccessKey {
                        id: key.id.clone(),
                        account_uid: account.uid.clone(),
                        principal: PrincipalType::Root,
                        active: key.status == KeyStatus::Active,
                        secret: secret.into_bytes(),
                    }),
                );
            }
        }
        Ok(KeyDirectory { keys })
    }

    pub fn get(&self, id: &str) -> Option<&Arc<AccessKey>> {
        self.keys.get(id)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
