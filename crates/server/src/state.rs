//! The state every request handler shares: the configuration, the directories that SIGHUP swaps whole
//! (identities, tenants, ingest tokens, webhook routing), replay protection, flow control and the store.

use std::sync::{Arc, RwLock};

use crate::auth::identity::Identities;
use crate::auth::nonce::NonceCache;
use crate::auth::sts::StsKey;
use crate::auth::throttle::FlowControl;
use crate::config::{self, Config};
use crate::http::telemetry;
use crate::ingest::events_endpoint::IngestTokens;
use crate::ingest::routing::WebhookRouting;
use crate::ingest::webhooks::MarketingWamids;
use crate::tenants::Tenants;
use store::Store;

/// Everything the request handlers share.
pub struct AppState {
    pub config: Arc<Config>,
    identities: RwLock<Arc<Identities>>,
    tenants: RwLock<Arc<Tenants>>,
    ingest_tokens: RwLock<Arc<IngestTokens>>,
    webhook_routing: RwLock<Arc<WebhookRouting>>,
    pub marketing_wamids: MarketingWamids,
    pub nonces: NonceCache,
    pub flow: FlowControl,
    pub store: Arc<Store>,
    /// Cluster mode: nonces and quotas shared with the other nodes.
    pub cluster: Option<crate::cluster::Cluster>,
    /// Samples the listeners' connection counts for `/metrics` (set by the running server).
    connection_gauges: std::sync::Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
    /// The emulator's controls: the admin API's settings and the fault rules in force.
    pub admin: crate::admin::Admin,
    /// The accounts in force (the configuration's, until a reload or a restore replaces them).
    accounts: RwLock<Arc<Vec<config::AccountConfig>>>,
    /// What a snapshot carries beside the state (the demo's ids), as JSON.
    snapshot_notes: RwLock<String>,
}

impl AppState {
    /// Builds the state from a validated configuration and an open store.
    pub fn new(config: Config, store: Arc<Store>) -> Result<Arc<AppState>, config::ConfigError> {
        Self::new_in(config, store, None)
    }

    /// Builds the state of a cluster node (or of a single node, without `cluster`).
    pub fn new_in(
        config: Config,
        store: Arc<Store>,
        cluster: Option<crate::cluster::Cluster>,
    ) -> Result<Arc<AppState>, config::ConfigError> {
        let identities = Identities::from_config(&config, sts_key(&config))?;
        let tenants = Tenants::from_config(&config);
        let nonces = NonceCache::new(config.server.nonce_capacity);
        let ingest_tokens = IngestTokens::from_config(&config);
        let webhook_routing = WebhookRouting::from_config(&config);
        telemetry::handle();
        let admin = crate::admin::Admin::from_config(&config);
        let accounts = RwLock::new(Arc::new(config.accounts.clone()));
        Ok(Arc::new(AppState {
            admin,
            accounts,
            snapshot_notes: RwLock::new("{}".into()),
            identities: RwLock::new(Arc::new(identities)),
            config: Arc::new(config),
            tenants: RwLock::new(Arc::new(tenants)),
            ingest_tokens: RwLock::new(Arc::new(ingest_tokens)),
            webhook_routing: RwLock::new(Arc::new(webhook_routing)),
            marketing_wamids: Default::default(),
            nonces,
            flow: FlowControl::default(),
            store,
            cluster,
            connection_gauges: std::sync::Mutex::new(None),
        }))
    }

    /// The current tenant directory (swapped whole on reload).
    pub fn tenants(&self) -> Arc<Tenants> {
        self.tenants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current webhook routing.
    pub fn webhook_routing(&self) -> Arc<WebhookRouting> {
        self.webhook_routing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current ingest tokens.
    pub fn ingest_tokens(&self) -> Arc<IngestTokens> {
        self.ingest_tokens
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether this node serves the account (cluster mode with `[cluster] accounts` serves only those).
    pub fn serves(&self, account: &str) -> bool {
        let accounts = &self.config.cluster.accounts;
        self.cluster.is_none() || accounts.is_empty() || accounts.iter().any(|a| a == account)
    }

    /// Whether reads first wait for the node to apply everything the stream held.
    pub fn linearizable(&self) -> bool {
        self.cluster.is_some()
            && self.config.cluster.read_consistency == config::ReadConsistency::Linearizable
    }

    /// How many nodes share each account's flow-control quota.
    pub fn quota_share(&self) -> u64 {
        self.cluster.as_ref().map_or(1, |c| c.nodes())
    }

    /// Sets how `/metrics` samples the listeners' connections.
    pub fn set_connection_gauges(&self, sample: Box<dyn Fn() + Send + Sync>) {
        *self
            .connection_gauges
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(sample);
    }

    /// Samples the listeners' connections into the gauges.
    pub fn sample_connection_gauges(&self) {
        if let Some(sample) = self
            .connection_gauges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            sample();
        }
    }

    /// Server time, unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    /// Replaces identities, policies, tenants and ingest tokens with those of a new configuration
    /// (SIGHUP). The new configuration is built completely before anything is swapped, so a bad file
    /// changes nothing. Listeners, storage and flow-control limits keep their start-up values.
    pub fn reload(&self, new: &Config) -> Result<(), config::ConfigError> {
        new.validate()?;
        let sts = match new.sts.signing_key.as_ref().and_then(|k| k.resolve()) {
            Some(secret) => StsKey::from_secret(secret.as_bytes()),
            None => self.identities().sts.clone(),
        };
        let identities = Identities::from_config(new, sts)?;
        let tenants = Tenants::from_config(new);
        let tokens = IngestTokens::from_config(new);
        let routing = WebhookRouting::from_config(new);
        *self.identities.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(identities);
        *self
            .webhook_routing
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(routing);
        *self.tenants.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(tenants);
        *self
            .ingest_tokens
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(tokens);
        *self.accounts.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new.accounts.clone());
        Ok(())
    }

    /// The accounts in force.
    pub fn accounts(&self) -> Vec<config::AccountConfig> {
        self.accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .clone()
    }

    /// The notes a snapshot of this server carries (JSON).
    pub fn snapshot_notes(&self) -> String {
        self.snapshot_notes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sets the notes (the demo's ids; a restored snapshot's).
    pub fn set_snapshot_notes(&self, notes: String) {
        *self
            .snapshot_notes
            .write()
            .unwrap_or_else(|p| p.into_inner()) = notes;
    }

    /// The current identities (swapped whole on reload).
    pub fn identities(&self) -> Arc<Identities> {
        self.identities
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Server time, unix seconds.
    pub fn now_secs(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// The STS key: configured, or random for this process.
fn sts_key(config: &Config) -> StsKey {
    match config.sts.signing_key.as_ref().and_then(|k| k.resolve()) {
        Some(secret) => StsKey::from_secret(secret.as_bytes()),
        None => StsKey::random(),
    }
}
