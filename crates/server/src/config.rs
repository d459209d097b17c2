//! The configuration file (TOML): listeners, identities, tenants, storage.
//!
//! Secrets may be written in the file or, better, named by an environment variable
//! (`secret_env = "NAME"`); the environment wins when both are given. Loading validates the whole
//! file and reports the first problem with its place (`accounts[0].access_keys[1]: ...`).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
}

/// `[metrics]`
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Countries excluded from sent/delivered/read counts (default: EEA + GB + JP, Meta's E2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2: Option<Vec<String>>,
    /// Countries excluded from link clicks (default: E2 + AR, TR, KR, Meta's E5). Always includes E2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e5: Option<Vec<String>>,
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address of the plain-HTTP listener. Port 0 picks a free port (the bound one is logged).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The `HostId` answered in error envelopes.
    #[serde(default = "default_host_id")]
    pub host_id: String,
    /// Region id used in resource ARNs.
    #[serde(default = "default_region")]
    pub region: String,
    /// Largest RPC request body accepted, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Largest `POST /v1/events` body accepted, in bytes.
    #[serde(default = "default_max_ingest_body")]
    pub max_ingest_body_bytes: usize,
    /// How far a request's timestamp may be from the server clock, either side, in seconds.
    #[serde(default = "default_window")]
    pub timestamp_window_secs: u64,
    /// Most nonces remembered at once across all keys (replay protection memory bound).
    #[serde(default = "default_nonce_capacity")]
    pub nonce_capacity: usize,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_host_id() -> String {
    "cams.ap-southeast-1.aliyuncs.com".to_string()
}
fn default_region() -> String {
    "ap-southeast-1".to_string()
}
fn default_max_body() -> usize {
    4 * 1024 * 1024
}
fn default_max_ingest_body() -> usize {
    64 * 1024 * 1024
}
fn default_window() -> u64 {
    900
}
fn default_nonce_capacity() -> usize {
    2_000_000
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            host_id: default_host_id(),
            region: default_region(),
            max_body_bytes: default_max_body(),
            max_ingest_body_bytes: default_max_ingest_body(),
            timestamp_window_secs: default_window(),
            nonce_capacity: default_nonce_capacity(),
        }
    }
}

/// `[storage]`
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory of the embedded store. Relative paths are relative to the config file.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
}

/// `[[accounts]]`: an Alibaba-style main account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// 16-digit account UID.
    pub uid: String,
    #[serde(default)]
    pub name: String,
    /// The account's own (root) access keys.
    #[serde(default)]
    pub access_keys: Vec<AccessKeyConfig>,
    /// Bearer tokens for `POST /v1/events` (systems that cannot sign requests).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingest_tokens: Vec<SecretConfig>,
    /// The account's cust spaces.
    #[serde(default)]
    pub cust_spaces: Vec<CustSpaceConfig>,
}

/// A secret given inline or by environment variable.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecretConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

impl std::fmt::Debug for SecretConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretConfig")
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .field("env", &self.env)
            .finish()
    }
}

impl SecretConfig {
    /// The environment variable's value when named and set, else the inline value.
    pub fn resolve(&self) -> Option<String> {
        if let Some(var) = &self.env {
            if let Ok(v) = std::env::var(var) {
                if !v.is_empty() {
                    return Some(v);
                }
            }
        }
        self.value.clone().filter(|v| !v.is_empty())
    }
}

/// `[[accounts.cust_spaces]]`: an ISV sub-customer space or a direct customer's instance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustSpaceConfig {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub pages: Vec<PageConfig>,
}

/// A Messenger page bound to a cust space.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PageConfig {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ad_accounts: Vec<AdAccountConfig>,
}

/// A Meta ad account bound to a page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AdAccountConfig {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// ISO 4217 code.
    pub currency: String,
    /// IANA time zone: dates of the insights are local dates there.
    pub timezone: String,
}

/// An access key.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccessKeyConfig {
    pub id: String,
    /// The secret, inline. Prefer `secret_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Name of an environment variable holding the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    #[serde(default)]
    pub status: KeyStatus,
}

impl std::fmt::Debug for AccessKeyConfig {
    // Secrets never reach logs, even through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeyConfig")
            .field("id", &self.id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("secret_env", &self.secret_env)
            .field("status", &self.status)
            .finish()
    }
}

/// Whether a key may be used.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum KeyStatus {
    #[default]
    Active,
    Inactive,
}

impl Config {
    /// Reads and validates a file; secrets from the environment are resolved later by
    /// [`Config::resolve_secret`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })?;
        if let Some(dir) = &config.storage.data_dir {
            if dir.is_relative() {
                let base = path.parent().unwrap_or(Path::new("."));
                config.storage.data_dir = Some(base.join(dir));
            }
        }
        Ok(config)
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("<config>"),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: id formats and uniqueness.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut uids = HashSet::new();
        let mut key_ids = HashSet::new();
        for (i, account) in self.accounts.iter().enumerate() {
            if account.uid.len() != 16 || !account.uid.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::Invalid(format!(
                    "accounts[{i}].uid: `{}` is not a 16-digit account id",
                    account.uid
                )));
            }
            if !uids.insert(account.uid.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "accounts[{i}].uid: `{}` is declared twice",
                    account.uid
                )));
            }
            for (j, key) in account.access_keys.iter().enumerate() {
                let place = format!("accounts[{i}].access_keys[{j}]");
                if key.id.is_empty()
                    || key.id.len() > 64
                    || !key.id.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    return Err(ConfigError::Invalid(format!(
                        "{place}.id: `{}` must be 1-64 ASCII letters and digits",
                        key.id
                    )));
                }
                if !key_ids.insert(key.id.as_str()) {
                    return Err(ConfigError::Invalid(format!(
                        "{place}.id: `{}` is declared twice",
                        key.id
                    )));
                }
                if key.secret.is_none() && key.secret_env.is_none() {
                    return Err(ConfigError::Invalid(format!(
                        "{place}: give `secret` or `secret_env`"
                    )));
                }
            }
        }
        let mut cust_spaces = HashSet::new();
        let mut pages = HashSet::new();
        for (i, account) in self.accounts.iter().enumerate() {
            for (j, token) in account.ingest_tokens.iter().enumerate() {
                if token.value.is_none() && token.env.is_none() {
                    return Err(ConfigError::Invalid(format!(
                        "accounts[{i}].ingest_tokens[{j}]: give `value` or `env`"
                    )));
                }
            }
            for (j, cs) in account.cust_spaces.iter().enumerate() {
                let place = format!("accounts[{i}].cust_spaces[{j}]");
                check_id(&place, &cs.id)?;
                if !cust_spaces.insert(cs.id.as_str()) {
                    return Err(ConfigError::Invalid(format!(
                        "{place}.id: `{}` is declared twice",
                        cs.id
                    )));
                }
                for (k, page) in cs.pages.iter().enumerate() {
                    let place = format!("{place}.pages[{k}]");
                    check_id(&place, &page.id)?;
                    if !pages.insert(page.id.as_str()) {
                        return Err(ConfigError::Invalid(format!(
                            "{place}.id: page `{}` is bound twice (a page belongs to one cust space)",
                            page.id
                        )));
                    }
                    let mut ads = HashSet::new();
                    for (l, ad) in page.ad_accounts.iter().enumerate() {
                        let place = format!("{place}.ad_accounts[{l}]");
                        check_id(&place, &ad.id)?;
                        if !ads.insert(ad.id.as_str()) {
                            return Err(ConfigError::Invalid(format!(
                                "{place}.id: `{}` is declared twice",
                                ad.id
                            )));
                        }
                        if insights::Currency::from_code(&ad.currency).is_none() {
                            return Err(ConfigError::Invalid(format!(
                                "{place}.currency: `{}` is not an ISO 4217 currency code",
                                ad.currency
                            )));
                        }
                        if ad.timezone.parse::<chrono_tz::Tz>().is_err() {
                            return Err(ConfigError::Invalid(format!(
                                "{place}.timezone: `{}` is not an IANA time zone",
                                ad.timezone
                            )));
                        }
                    }
                }
            }
        }
        for (name, list) in [("e2", &self.metrics.e2), ("e5", &self.metrics.e5)] {
            for code in list.iter().flatten() {
                if code.parse::<insights::CountryCode>().is_err() {
                    return Err(ConfigError::Invalid(format!(
                        "metrics.{name}: `{code}` is not an ISO 3166-1 alpha-2 country code"
                    )));
                }
            }
        }
        if self.server.timestamp_window_secs == 0 || self.server.timestamp_window_secs > 86_400 {
            return Err(ConfigError::Invalid(
                "server.timestamp_window_secs must be between 1 and 86400".into(),
            ));
        }
        Ok(())
    }

    /// The metrics engine settings this configuration asks for.
    pub fn engine_config(&self) -> insights::EngineConfig {
        let parse = |list: &Option<Vec<String>>| -> Option<Vec<insights::CountryCode>> {
            list.as_ref()
                .map(|l| l.iter().filter_map(|c| c.parse().ok()).collect())
        };
        let default = insights::Exclusions::meta_default();
        let exclusions = match (parse(&self.metrics.e2), parse(&self.metrics.e5)) {
            (None, None) => default,
            (e2, e5) => {
                let e2 = e2.unwrap_or_else(|| default.e2());
                let e5 = e5.unwrap_or_else(|| default.e5());
                insights::Exclusions::new(e2, e5)
            }
        };
        insights::EngineConfig { exclusions }
    }

    /// The secret of a key: the environment variable when named and set, else the inline value.
    pub fn resolve_secret(key: &AccessKeyConfig) -> Result<String, ConfigError> {
        if let Some(var) = &key.secret_env {
            if let Ok(value) = std::env::var(var) {
                if !value.is_empty() {
                    return Ok(value);
                }
            }
        }
        match &key.secret {
            Some(secret) if !secret.is_empty() => Ok(secret.clone()),
            _ => Err(ConfigError::Invalid(format!(
                "access key {}: no secret (environment variable {} is not set)",
                key.id,
                key.secret_env.as_deref().unwrap_or("-")
            ))),
        }
    }

    /// Writes the configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("configuration serialises")
    }
}

/// Ids of cust spaces, pages and ad accounts: 1-64 characters of `A-Za-z0-9-_.`.
fn check_id(place: &str, id: &str) -> Result<(), ConfigError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid(format!(
            "{place}.id: `{id}` must be 1-64 characters of A-Z a-z 0-9 - _ ."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[server]
listen = "127.0.0.1:0"

[[accounts]]
uid = "1234567890123456"
name = "acme"

[[accounts.access_keys]]
id = "LTAI5tAAAAAAAAAAAAAAAAAA"
secret = "s3cr3t"
"#;

    #[test]
    fn parses_a_sample() {
        let c = Config::parse(SAMPLE).unwrap();
        assert_eq!(c.accounts[0].access_keys[0].status, KeyStatus::Active);
        assert_eq!(c.server.timestamp_window_secs, 900);
        let round = Config::parse(&c.to_toml()).unwrap();
        assert_eq!(round, c);
    }

    #[test]
    fn refuses_unknown_keys_and_bad_ids() {
        let err = Config::parse("[server]\nlisten = \"127.0.0.1:0\"\nlistn = 1\n").unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
        let err = Config::parse(&SAMPLE.replace("1234567890123456", "12")).unwrap_err();
        assert!(err.to_string().contains("accounts[0].uid"), "{err}");
        let err = Config::parse(&SAMPLE.replace("secret = \"s3cr3t\"", "")).unwrap_err();
        assert!(err.to_string().contains("secret_env"), "{err}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Config::parse(SAMPLE).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"));
    }

    #[test]
    fn environment_secret_wins() {
        let mut key = Config::parse(SAMPLE).unwrap().accounts[0].access_keys[0].clone();
        key.secret_env = Some("CAMS_TEST_SECRET_ENV_WINS".into());
        // SAFETY-free: a variable name no other test uses.
        std::env::set_var("CAMS_TEST_SECRET_ENV_WINS", "from-env");
        assert_eq!(Config::resolve_secret(&key).unwrap(), "from-env");
        std::env::remove_var("CAMS_TEST_SECRET_ENV_WINS");
        assert_eq!(Config::resolve_secret(&key).unwrap(), "s3cr3t");
    }
}
