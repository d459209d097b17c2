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
    #[serde(default, skip_serializing_if = "is_default_cluster")]
    pub cluster: ClusterConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub sts: StsConfig,
    #[serde(default)]
    pub meta: MetaConfig,
    #[serde(default)]
    pub flow_control: FlowControlConfig,
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// `[admin]`: the emulator's admin API (faults, snapshots, reset). Off unless a token is set.
    #[serde(default, skip_serializing_if = "is_default_admin")]
    pub admin: AdminConfig,
    /// `[[faults]]`: fault rules in force from start-up (`docs/admin.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<crate::admin::faults::FaultSpec>,
}

fn is_default_admin(c: &AdminConfig) -> bool {
    *c == AdminConfig::default()
}

/// `[admin]`: the admin API under `/admin/v1/`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// The bearer token of the admin API; without one the API does not exist (404).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretConfig>,
    /// Serve the admin API on listeners bound to a non-loopback address too (default: refused there).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_remote: bool,
    /// The saved state `reset --demo` restores (`serve --demo` writes one after seeding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_snapshot: Option<PathBuf>,
}

fn is_default_cluster(c: &ClusterConfig) -> bool {
    *c == ClusterConfig::default()
}

/// `[meta]`: Meta webhooks (`GET|POST /webhooks/meta`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetaConfig {
    /// App secrets the `X-Hub-Signature-256` may be made with (several during a rotation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_secrets: Vec<SecretConfig>,
    /// Verify tokens accepted in the subscription handshake.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify_tokens: Vec<SecretConfig>,
    /// Largest webhook body accepted (Meta sends up to 3 MB).
    #[serde(default = "default_webhook_body")]
    pub max_body_bytes: usize,
}

fn default_webhook_body() -> usize {
    4 * 1024 * 1024
}

impl Default for MetaConfig {
    fn default() -> Self {
        MetaConfig {
            app_secrets: Vec::new(),
            verify_tokens: Vec::new(),
            max_body_bytes: default_webhook_body(),
        }
    }
}

/// A WhatsApp Business Account of an account, and how its marketing messages map to campaigns.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppAccountConfig {
    /// The WABA id (`entry.id` of WhatsApp webhooks).
    pub id: String,
    /// `biz_opaque_callback_data` → campaign id (the sender tags each message).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub campaigns_by_callback: std::collections::BTreeMap<String, String>,
    /// `phone_number_id` → campaign id (everything a business number sends belongs to one campaign).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub campaigns_by_phone_number: std::collections::BTreeMap<String, String>,
    /// The currency of the ad account its campaigns are (or will be) registered under. A status's
    /// own price counts only in that currency; until the campaign is registered and without this,
    /// prices are left to the rate card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `[sts]`: temporary credentials.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StsConfig {
    /// The key that signs security tokens and derives temporary secrets. Every node of a cluster
    /// needs the same one. Absent: a random key per process (tokens die with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SecretConfig>,
}

/// `[flow_control]`: requests per second per (account, action).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FlowControlConfig {
    /// Sustained rate for every action (the cloud's documented default: 50).
    #[serde(default = "default_rate")]
    pub per_second: u32,
    /// Requests allowed at once above the sustained rate's spacing.
    #[serde(default = "default_rate")]
    pub burst: u32,
    /// Per-action rates, e.g. `GetMessageCampaignInsights = 200`. 0 disables the limit for that action.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub actions: std::collections::BTreeMap<String, u32>,
}

fn default_rate() -> u32 {
    50
}

impl Default for FlowControlConfig {
    fn default() -> Self {
        FlowControlConfig {
            per_second: default_rate(),
            burst: default_rate(),
            actions: Default::default(),
        }
    }
}

/// A named policy document of an account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    pub name: String,
    /// The policy document (JSON).
    pub document: String,
}

/// A RAM user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    /// Policy names: the account's own or system ones (`AliyunCamsReadOnlyAccess`, ...).
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub access_keys: Vec<AccessKeyConfig>,
}

/// A RAM group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub name: String,
    #[serde(default)]
    pub policies: Vec<String>,
}

/// A RAM role, assumable through STS `AssumeRole`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    pub name: String,
    /// Who may assume it (JSON trust policy).
    pub trust_policy: String,
    #[serde(default)]
    pub policies: Vec<String>,
    /// Longest session, 900 ..= 43200 seconds.
    #[serde(default = "default_max_session")]
    pub max_session_duration: u64,
}

fn default_max_session() -> u64 {
    3600
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
    /// An HTTPS listener beside the plain one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Longest request line (method, URI, version), in bytes: longer is `414 RequestURITooLong`.
    #[serde(default = "default_max_uri")]
    pub max_uri_bytes: usize,
    /// Largest header section (every header line), in bytes: larger is `431 RequestHeaderTooLarge`.
    #[serde(default = "default_max_header_bytes")]
    pub max_header_bytes: usize,
    /// Most header lines in one request.
    #[serde(default = "default_max_headers")]
    pub max_headers: usize,
    /// From a request head's first byte to its end, at most this long (slow clients get `408` and are
    /// closed).
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// A keep-alive connection waiting for its next request is closed after this long.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: u64,
    /// A request body must arrive within this long (else `408`).
    #[serde(default = "default_body_read_timeout")]
    pub body_read_timeout_secs: u64,
    /// A TLS handshake must finish within this long.
    #[serde(default = "default_tls_handshake_timeout")]
    pub tls_handshake_timeout_secs: u64,
    /// Most open connections per listener. Default: derived from the process's open-file limit, with
    /// room kept for the store, logs and the other listener (see docs/api.md, "Connections").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
}

/// `[server.tls]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Address of the HTTPS listener (port 0: any free port).
    pub listen: SocketAddr,
    /// PEM certificate chain (leaf first). Relative paths are relative to the config file.
    pub cert_file: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
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
fn default_max_uri() -> usize {
    16 * 1024
}
fn default_max_header_bytes() -> usize {
    16 * 1024
}
fn default_max_headers() -> usize {
    100
}
fn default_header_read_timeout() -> u64 {
    10
}
fn default_idle_timeout() -> u64 {
    // Above the 60 s idle timeout of common load balancers: they close first, so they never send a
    // request on a connection the server is closing.
    75
}
fn default_body_read_timeout() -> u64 {
    60
}
fn default_tls_handshake_timeout() -> u64 {
    10
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
            tls: None,
            max_uri_bytes: default_max_uri(),
            max_header_bytes: default_max_header_bytes(),
            max_headers: default_max_headers(),
            header_read_timeout_secs: default_header_read_timeout(),
            idle_timeout_secs: default_idle_timeout(),
            body_read_timeout_secs: default_body_read_timeout(),
            tls_handshake_timeout_secs: default_tls_handshake_timeout(),
            max_connections: None,
        }
    }
}

/// `[storage]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory of the embedded store (cluster mode: this node's checkpoints). Relative paths are
    /// relative to the config file.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite` (embedded, the default) or `jetstream` (cluster mode).
    #[serde(default, skip_serializing_if = "StorageBackend::is_default")]
    pub backend: StorageBackend,
    /// Cluster mode: NATS server URLs (any of the cluster's; the client learns the rest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nats_urls: Vec<String>,
    /// Cluster mode: the stream's name, and the prefix of its subjects (`<prefix>.<account uid>`);
    /// replay nonces and node heartbeats live in the KV buckets `<stream>_nonces` and `<stream>_nodes`.
    #[serde(default = "default_stream", skip_serializing_if = "is_default_stream")]
    pub stream: String,
    #[serde(
        default = "default_subject_prefix",
        skip_serializing_if = "is_default_prefix"
    )]
    pub subject_prefix: String,
    /// Cluster mode: replicas of the stream and buckets when this node creates them (1 for a single dev
    /// server, 3 in production; an existing stream keeps its own).
    #[serde(
        default = "default_replicas",
        skip_serializing_if = "is_default_replicas"
    )]
    pub replicas: usize,
    /// Cluster mode: NATS credentials (a user and password, or a token) and a CA file (given, TLS is
    /// required). Secrets may come from the environment (`{ env = "NATS_PASSWORD" }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats_password: Option<SecretConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats_token: Option<SecretConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats_ca_file: Option<PathBuf>,
}

impl StorageConfig {
    /// The NATS credentials and TLS settings, secrets resolved.
    pub fn nats_auth(&self) -> store::jetstream::NatsAuth {
        store::jetstream::NatsAuth {
            user_password: self.nats_user.clone().map(|u| {
                let p = self
                    .nats_password
                    .as_ref()
                    .and_then(SecretConfig::resolve)
                    .unwrap_or_default();
                (u, p)
            }),
            token: self.nats_token.as_ref().and_then(SecretConfig::resolve),
            ca_file: self.nats_ca_file.clone(),
        }
    }
}

/// Where the ordered log lives.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    #[default]
    Sqlite,
    Jetstream,
}

impl StorageBackend {
    fn is_default(&self) -> bool {
        *self == StorageBackend::Sqlite
    }
}

fn default_stream() -> String {
    "CAMS".into()
}
fn is_default_stream(s: &str) -> bool {
    s == "CAMS"
}
fn default_subject_prefix() -> String {
    "cams".into()
}
fn is_default_prefix(s: &str) -> bool {
    s == "cams"
}
fn default_replicas() -> usize {
    3
}
fn is_default_replicas(n: &usize) -> bool {
    *n == 3
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: None,
            backend: StorageBackend::Sqlite,
            nats_urls: Vec::new(),
            stream: default_stream(),
            subject_prefix: default_subject_prefix(),
            replicas: default_replicas(),
            nats_user: None,
            nats_password: None,
            nats_token: None,
            nats_ca_file: None,
        }
    }
}

/// `[cluster]`: how this node takes part in cluster mode.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// This node's id (default: host name, process id and a random suffix). Unique while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// `local` (default: reads answer from this node's fold at once, within the replication lag) or
    /// `linearizable` (a read first waits until the node has applied everything the stream held).
    #[serde(default, skip_serializing_if = "ReadConsistency::is_default")]
    pub read_consistency: ReadConsistency,
    /// The number of API nodes sharing each account's flow-control quota (each allows quota/N); 0: count
    /// the live nodes from their heartbeats.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub nodes: usize,
    /// The accounts this node group serves and folds (empty: all). Requests for other accounts are
    /// refused with `InvalidAccount.NotServedHere` (421); docs/cluster.md.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How fresh a cluster node's reads are.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReadConsistency {
    #[default]
    Local,
    Linearizable,
}

impl ReadConsistency {
    fn is_default(&self) -> bool {
        *self == ReadConsistency::Local
    }
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
    /// Custom policies of the account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyConfig>,
    /// RAM users.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleConfig>,
    /// WhatsApp Business Accounts whose status webhooks count for this account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub whatsapp_business_accounts: Vec<WhatsAppAccountConfig>,
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

/// Letters and digits, the alphabet of access key ids and secrets.
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Random characters from `alphabet`, from the OS's CSPRNG (rejection sampling, so uniform).
pub fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    let limit = 256 - (256 % alphabet.len());
    while out.len() < len {
        let mut buf = [0u8; 64];
        getrandom::fill(&mut buf).expect("the OS random source works");
        for b in buf {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

impl AccessKeyConfig {
    /// A fresh active key: `LTAI` and 20 letters or digits, with a 30-character secret, as Alibaba's look.
    pub fn generate() -> AccessKeyConfig {
        AccessKeyConfig {
            id: format!("LTAI{}", random_string(ALNUM, 20)),
            secret: Some(random_string(ALNUM, 30)),
            secret_env: None,
            status: KeyStatus::Active,
        }
    }
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
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        if let Some(dir) = &config.storage.data_dir {
            if dir.is_relative() {
                config.storage.data_dir = Some(base.join(dir));
            }
        }
        if let Some(ca) = &config.storage.nats_ca_file {
            if ca.is_relative() {
                config.storage.nats_ca_file = Some(base.join(ca));
            }
        }
        if let Some(tls) = &mut config.server.tls {
            for file in [&mut tls.cert_file, &mut tls.key_file] {
                if file.is_relative() {
                    *file = base.join(&*file);
                }
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
        let srv = &self.server;
        for (name, value, least) in [
            ("max_uri_bytes", srv.max_uri_bytes, 256),
            ("max_header_bytes", srv.max_header_bytes, 1024),
            ("max_headers", srv.max_headers, 8),
            (
                "header_read_timeout_secs",
                srv.header_read_timeout_secs as usize,
                1,
            ),
            ("idle_timeout_secs", srv.idle_timeout_secs as usize, 1),
            (
                "body_read_timeout_secs",
                srv.body_read_timeout_secs as usize,
                1,
            ),
            (
                "tls_handshake_timeout_secs",
                srv.tls_handshake_timeout_secs as usize,
                1,
            ),
            (
                "max_connections",
                srv.max_connections.unwrap_or(usize::MAX),
                2,
            ),
        ] {
            if value < least {
                return Err(ConfigError::Invalid(format!(
                    "server.{name}: {value} is below the least sensible value, {least}"
                )));
            }
        }
        if self.storage.backend == StorageBackend::Jetstream {
            if self.storage.nats_urls.is_empty() {
                return Err(ConfigError::Invalid(
                    "storage.nats_urls: the jetstream backend needs at least one NATS URL".into(),
                ));
            }
            let name_ok = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            };
            if !name_ok(&self.storage.stream) {
                return Err(ConfigError::Invalid(format!(
                    "storage.stream: `{}` must be letters, digits, `_` or `-`",
                    self.storage.stream
                )));
            }
            if !name_ok(&self.storage.subject_prefix) {
                return Err(ConfigError::Invalid(format!(
                    "storage.subject_prefix: `{}` must be letters, digits, `_` or `-`",
                    self.storage.subject_prefix
                )));
            }
            if !(1..=5).contains(&self.storage.replicas) {
                return Err(ConfigError::Invalid(
                    "storage.replicas: must be 1 to 5 (NATS recommends 1, 3 or 5)".into(),
                ));
            }
        }
        crate::admin::faults::FaultSet::from_specs(&self.faults)
            .map_err(|e| ConfigError::Invalid(format!("faults: {e}")))?;
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
            let user_keys = account.users.iter().enumerate().flat_map(|(u, user)| {
                user.access_keys
                    .iter()
                    .enumerate()
                    .map(move |(j, k)| (format!("accounts[{i}].users[{u}].access_keys[{j}]"), k))
            });
            let root_keys = account
                .access_keys
                .iter()
                .enumerate()
                .map(|(j, k)| (format!("accounts[{i}].access_keys[{j}]"), k));
            for (place, key) in root_keys.chain(user_keys) {
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
        for (i, account) in self.accounts.iter().enumerate() {
            validate_iam(i, account)?;
        }
        // WhatsApp attribution keys must be unique across tenants, or one tenant's webhooks could
        // count for another.
        let (mut wabas, mut callbacks, mut numbers) =
            (HashSet::new(), HashSet::new(), HashSet::new());
        for (i, account) in self.accounts.iter().enumerate() {
            for (j, w) in account.whatsapp_business_accounts.iter().enumerate() {
                let place = format!("accounts[{i}].whatsapp_business_accounts[{j}]");
                if let Some(c) = &w.currency {
                    if insights::Currency::from_code(c).is_none() {
                        return Err(ConfigError::Invalid(format!(
                            "{place}.currency: `{c}` is not an ISO 4217 currency code"
                        )));
                    }
                }
                if w.id.is_empty() || !wabas.insert(w.id.as_str()) {
                    return Err(ConfigError::Invalid(format!(
                        "{place}.id: `{}` is empty or declared twice",
                        w.id
                    )));
                }
                for k in w.campaigns_by_callback.keys() {
                    if !callbacks.insert(k.as_str()) {
                        return Err(ConfigError::Invalid(format!(
                            "{place}.campaigns_by_callback: `{k}` is mapped twice"
                        )));
                    }
                }
                for k in w.campaigns_by_phone_number.keys() {
                    if !numbers.insert(k.as_str()) {
                        return Err(ConfigError::Invalid(format!(
                            "{place}.campaigns_by_phone_number: `{k}` is mapped twice"
                        )));
                    }
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

/// Policies, users, groups and roles of one account: documents parse, names resolve.
fn validate_iam(i: usize, account: &AccountConfig) -> Result<(), ConfigError> {
    let mut policy_names: HashSet<&str> =
        ram_policy::system_policy_names().iter().copied().collect();
    for (j, p) in account.policies.iter().enumerate() {
        let place = format!("accounts[{i}].policies[{j}]");
        if ram_policy::system_policy(&p.name).is_some() || !policy_names.insert(p.name.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "{place}.name: `{}` is declared twice",
                p.name
            )));
        }
        ram_policy::parse_policy(&p.name, &p.document)
            .map_err(|e| ConfigError::Invalid(format!("{place}: {e}")))?;
    }
    let check_refs = |place: &str, names: &[String]| -> Result<(), ConfigError> {
        for n in names {
            if !policy_names.contains(n.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "{place}.policies: no policy named `{n}`"
                )));
            }
        }
        Ok(())
    };
    let mut groups = HashSet::new();
    for (j, g) in account.groups.iter().enumerate() {
        let place = format!("accounts[{i}].groups[{j}]");
        if !groups.insert(g.name.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "{place}.name: `{}` is declared twice",
                g.name
            )));
        }
        check_refs(&place, &g.policies)?;
    }
    let mut users = HashSet::new();
    for (j, u) in account.users.iter().enumerate() {
        let place = format!("accounts[{i}].users[{j}]");
        if u.name.is_empty() || !users.insert(u.name.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "{place}.name: `{}` is empty or declared twice",
                u.name
            )));
        }
        check_refs(&place, &u.policies)?;
        for g in &u.groups {
            if !groups.contains(g.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "{place}.groups: no group named `{g}`"
                )));
            }
        }
    }
    let mut roles = HashSet::new();
    for (j, r) in account.roles.iter().enumerate() {
        let place = format!("accounts[{i}].roles[{j}]");
        let ok_name = !r.name.is_empty()
            && r.name.len() <= 64
            && r.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if !ok_name || !roles.insert(r.name.to_ascii_lowercase()) {
            return Err(ConfigError::Invalid(format!(
                "{place}.name: `{}` is invalid or declared twice",
                r.name
            )));
        }
        check_refs(&place, &r.policies)?;
        ram_policy::parse_trust_policy(&r.name, &r.trust_policy)
            .map_err(|e| ConfigError::Invalid(format!("{place}.trust_policy: {e}")))?;
        if !(900..=43_200).contains(&r.max_session_duration) {
            return Err(ConfigError::Invalid(format!(
                "{place}.max_session_duration: {} is outside 900..=43200 seconds",
                r.max_session_duration
            )));
        }
    }
    Ok(())
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
