//! `serve --demo`: a ready-to-use tenant without any configuration file.
//!
//! The first run creates a data directory with `demo.toml` (a normal configuration file, so the
//! demo can later be run as `serve --config DATA_DIR/demo.toml`) holding a fresh account, access
//! key and tenant ids, creates a campaign and seeds it with a realistic month of events
//! (`demo-ids.json` records the campaign). Started again with `--data-dir` on that directory, it
//! reuses all of it: same keys, same ids, data kept, no second seeding.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use server::config::{random_string, StorageBackend, ALNUM};
use server::config::{
    AccessKeyConfig, AccountConfig, AdAccountConfig, CustSpaceConfig, PageConfig, RoleConfig,
    SecretConfig, TlsConfig, UserConfig, WhatsAppAccountConfig,
};
use server::Config;
use store::{BudgetType, NewCampaign, Placement, Store};

use workload::WorkloadSpec;

const DEMO_CONFIG: &str = "demo.toml";
const DEMO_IDS: &str = "demo-ids.json";
/// The saved state `admin reset --demo` goes back to, written once the demo is seeded.
pub const DEMO_SEED_SNAPSHOT: &str = "demo-seed.snapshot";
/// Messages in the demo campaign's history.
const DEMO_MESSAGES: u64 = 30_000;
/// A rate card for the unpriced part of the demo's deliveries (Meta-like USD prices).
const DEMO_RATE_CARD: &str = "country,currency,price\nUS,USD,0.0250\nBR,USD,0.0625\nIN,USD,0.0107\nMX,USD,0.0305\nGB,USD,0.0529\nDE,USD,0.0610\nDefault,USD,0.0220\n";

/// A prepared demo: configuration and where it lives.
pub struct Demo {
    pub config: Config,
    pub data_dir: PathBuf,
}

/// What the demo created besides its configuration.
#[derive(Serialize, Deserialize, Default)]
pub struct DemoIds {
    pub campaign_id: String,
    #[serde(default)]
    pub other_campaign_id: String,
    /// An empty campaign the demo's WhatsApp number maps to: `simulate` posts its traffic there, so that
    /// `--check` compares with nothing else mixed in.
    #[serde(default)]
    pub simulation_campaign_id: String,
}

const DIGITS: &[u8] = b"0123456789";
const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Loads the demo from `data_dir` if one was created there, else creates it.
/// Cluster mode for the demo: the log in JetStream.
pub struct DemoCluster {
    pub nats_urls: Vec<String>,
    pub replicas: usize,
}

pub fn prepare(
    data_dir: Option<PathBuf>,
    config_override: Option<&Path>,
    tls: bool,
    cluster: Option<&DemoCluster>,
) -> anyhow::Result<Demo> {
    let data_dir = match data_dir {
        Some(dir) => dir,
        None => {
            std::env::temp_dir().join(format!("cams-insights-demo-{}", random_string(DIGITS, 10)))
        }
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let config_path = match config_override {
        Some(p) => p.to_path_buf(),
        None => data_dir.join(DEMO_CONFIG),
    };
    let mut config = if config_path.exists() {
        tracing::info!(path = %config_path.display(), "reusing the demo configuration");
        Config::load(&config_path)?
    } else {
        let config = fresh_config();
        write_private(&config_path, config.to_toml().as_bytes())?;
        tracing::info!(path = %config_path.display(), "created a demo configuration");
        config
    };
    anyhow::ensure!(
        config
            .accounts
            .first()
            .is_some_and(|a| !a.access_keys.is_empty() && !a.cust_spaces.is_empty()),
        "{} is not a demo configuration (it needs an account with a key and a cust space)",
        config_path.display()
    );
    let mut changed = config_override.is_none() && complete(&mut config);
    if let Some(c) = cluster {
        // Written into demo.toml, so that other nodes start from the same file.
        let storage = &mut config.storage;
        if storage.backend != StorageBackend::Jetstream
            || storage.nats_urls != c.nats_urls
            || storage.replicas != c.replicas
        {
            storage.backend = StorageBackend::Jetstream;
            storage.nats_urls = c.nats_urls.clone();
            storage.replicas = c.replicas;
            changed = true;
        }
    }
    if changed && config_override.is_none() {
        // A new cluster setting, or a demo directory from an earlier version: add what this version's
        // demo has.
        write_private(&config_path, config.to_toml().as_bytes())?;
    }
    if tls {
        config.server.tls = Some(demo_tls(&data_dir)?);
    }
    config.storage.data_dir = Some(data_dir.clone());
    // The seed that `admin reset --demo` restores (written by `serve --demo` once seeded).
    config.admin.seed_snapshot = Some(data_dir.join(DEMO_SEED_SNAPSHOT));
    Ok(Demo { config, data_dir })
}

/// A demo tenant with one root key and one cust space → page → ad account, named after `label`.
fn tenant(uid: String, name: &str, label: &str, currency: &str, timezone: &str) -> AccountConfig {
    AccountConfig {
        uid,
        name: name.into(),
        access_keys: vec![AccessKeyConfig::generate()],
        policies: Vec::new(),
        users: Vec::new(),
        groups: Vec::new(),
        roles: Vec::new(),
        whatsapp_business_accounts: Vec::new(),
        ingest_tokens: Vec::new(),
        cust_spaces: vec![CustSpaceConfig {
            id: format!("cams-{}", random_string(LOWER_ALNUM, 6)),
            name: format!("{label} shop"),
            pages: vec![PageConfig {
                id: format!("1{}", random_string(DIGITS, 14)),
                name: format!("{label} shop page"),
                ad_accounts: vec![AdAccountConfig {
                    id: format!("2{}", random_string(DIGITS, 14)),
                    name: format!("{label} ad account"),
                    currency: currency.into(),
                    timezone: timezone.into(),
                }],
            }],
        }],
    }
}

/// The demo role: the demo account's root may assume it; it may do everything in CAMS.
const DEMO_ROLE: &str = "CamsDemoAdmin";
/// The demo's read-only RAM user.
const DEMO_READONLY_USER: &str = "readonly";

/// Adds what a demo needs beyond the first account's key and tenant: the read-only user, the
/// role, the second account, the STS key. Returns whether anything was added.
fn complete(config: &mut Config) -> bool {
    let mut changed = false;
    if config.admin.token.is_none() {
        config.admin.token = Some(SecretConfig {
            value: Some(random_string(ALNUM, 40)),
            env: None,
        });
        changed = true;
    }
    if config.sts.signing_key.is_none() {
        config.sts.signing_key = Some(SecretConfig {
            value: Some(random_string(ALNUM, 40)),
            env: None,
        });
        changed = true;
    }
    if config.meta.app_secrets.is_empty() {
        config.meta.app_secrets.push(SecretConfig {
            value: Some(random_string(LOWER_ALNUM, 32)),
            env: None,
        });
        config.meta.verify_tokens.push(SecretConfig {
            value: Some(random_string(ALNUM, 24)),
            env: None,
        });
        changed = true;
    }
    let uid = config.accounts[0].uid.clone();
    let first = &mut config.accounts[0];
    if first.ingest_tokens.is_empty() {
        first.ingest_tokens.push(SecretConfig {
            value: Some(random_string(ALNUM, 32)),
            env: None,
        });
        changed = true;
    }
    if !first.users.iter().any(|u| u.name == DEMO_READONLY_USER) {
        first.users.push(UserConfig {
            name: DEMO_READONLY_USER.into(),
            policies: vec!["AliyunCamsReadOnlyAccess".into()],
            groups: Vec::new(),
            access_keys: vec![AccessKeyConfig::generate()],
        });
        changed = true;
    }
    if !first.roles.iter().any(|r| r.name == DEMO_ROLE) {
        first.roles.push(RoleConfig {
            name: DEMO_ROLE.into(),
            trust_policy: format!(
                r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{uid}:root"]}}}}]}}"#
            ),
            policies: vec!["AliyunCamsFullAccess".into()],
            max_session_duration: 3600,
        });
        changed = true;
    }
    if config.accounts.len() < 2 {
        config.accounts.push(tenant(
            format!("2{}", random_string(DIGITS, 15)),
            "other tenant",
            "Other",
            "EUR",
            "Europe/Berlin",
        ));
        changed = true;
    }
    changed
}

/// A CA and a server certificate for 127.0.0.1 and localhost, made once per demo directory.
fn demo_tls(data_dir: &Path) -> anyhow::Result<TlsConfig> {
    let dir = data_dir.join("tls");
    let (ca_file, cert_file, key_file) = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    );
    if !(ca_file.exists() && cert_file.exists() && key_file.exists()) {
        std::fs::create_dir_all(&dir)?;
        let ca_key = rcgen::KeyPair::generate()?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "cams-insights demo CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let server_key = rcgen::KeyPair::generate()?;
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        let cert = params.signed_by(&server_key, &issuer)?;
        std::fs::write(&ca_file, ca_cert.pem())?;
        std::fs::write(&cert_file, cert.pem())?;
        write_private(&key_file, server_key.serialize_pem().as_bytes())?;
    }
    Ok(TlsConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        cert_file,
        key_file,
    })
}

fn fresh_config() -> Config {
    let uid = format!("1{}", random_string(DIGITS, 15));
    let mut config = Config {
        // A zone with DST, so the demo's dates exercise it.
        accounts: vec![tenant(uid, "demo", "Demo", "USD", "America/New_York")],
        ..Config::default()
    };
    complete(&mut config);
    config
}

/// Writes a file readable by its owner only (it holds secrets), atomically.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

impl Demo {
    /// Takes a snapshot's accounts and ids as this demo's (writing them into the demo directory when
    /// the demo owns its configuration file), so that the demo file names the snapshot's keys.
    pub fn adopt_snapshot(
        &mut self,
        accounts: Vec<AccountConfig>,
        notes: &str,
        owns_config: bool,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            accounts.len() >= 2
                && !accounts[0].access_keys.is_empty()
                && !accounts[0].cust_spaces.is_empty(),
            "the snapshot is not of a demo (it needs the demo's two accounts)"
        );
        self.config.accounts = accounts;
        if owns_config {
            let mut file = Config::load(&self.data_dir.join(DEMO_CONFIG))?;
            file.accounts = self.config.accounts.clone();
            write_private(&self.data_dir.join(DEMO_CONFIG), file.to_toml().as_bytes())?;
        }
        if let Ok(ids) = serde_json::from_str::<DemoIds>(notes) {
            if !ids.campaign_id.is_empty() {
                write_private(
                    &self.data_dir.join(DEMO_IDS),
                    &serde_json::to_vec_pretty(&ids)?,
                )?;
            }
        }
        Ok(())
    }

    /// Writes the seed snapshot `admin reset --demo` restores, once (a later start keeps the first).
    pub async fn write_seed_snapshot(
        &self,
        state: &server::AppState,
        notes: &str,
    ) -> anyhow::Result<()> {
        let path = self.data_dir.join(DEMO_SEED_SNAPSHOT);
        if path.exists() {
            return Ok(());
        }
        let bytes = server::admin::snapshot_bytes(state, notes)
            .await
            .map_err(|e| anyhow::anyhow!("writing the demo's seed snapshot: {e}"))?;
        write_private(&path, &bytes)
    }

    /// Maps the demo's WhatsApp Business Account (and its phone number) to the simulation campaign, in the
    /// demo's configuration and in `config` (the one the server runs with), so that WhatsApp statuses
    /// `simulate` posts are attributed. Written into the demo directory's file when the demo owns it.
    pub fn ensure_whatsapp(
        &mut self,
        config: &mut Config,
        ids: &DemoIds,
        owns_config: bool,
    ) -> anyhow::Result<()> {
        if ids.simulation_campaign_id.is_empty() {
            return Ok(());
        }
        let current = self.config.accounts[0].whatsapp_business_accounts.first();
        if current.is_some_and(|w| {
            w.campaigns_by_phone_number
                .values()
                .any(|c| *c == ids.simulation_campaign_id)
        }) {
            return Ok(());
        }
        let (_, _, ad) = self.placement();
        let waba = WhatsAppAccountConfig {
            id: format!("1{}", random_string(DIGITS, 15)),
            campaigns_by_callback: [(
                "simulated-traffic".to_string(),
                ids.simulation_campaign_id.clone(),
            )]
            .into(),
            campaigns_by_phone_number: [(
                format!("5{}", random_string(DIGITS, 14)),
                ids.simulation_campaign_id.clone(),
            )]
            .into(),
            currency: Some(ad.currency.clone()),
        };
        self.config.accounts[0].whatsapp_business_accounts = vec![waba.clone()];
        config.accounts[0].whatsapp_business_accounts = vec![waba.clone()];
        if owns_config {
            let path = self.data_dir.join(DEMO_CONFIG);
            let mut file = Config::load(&path)?;
            file.accounts[0].whatsapp_business_accounts = vec![waba];
            write_private(&path, file.to_toml().as_bytes())?;
        }
        Ok(())
    }

    fn account(&self) -> &AccountConfig {
        &self.config.accounts[0]
    }

    fn placement(&self) -> (&CustSpaceConfig, &PageConfig, &AdAccountConfig) {
        let cs = &self.account().cust_spaces[0];
        let page = &cs.pages[0];
        (cs, page, &page.ad_accounts[0])
    }

    /// Creates and seeds the demo campaign the first time, and the second account's campaign; returns
    /// their ids.
    pub fn ensure_seeded(&self, store: &Store) -> anyhow::Result<DemoIds> {
        let ids_path = self.data_dir.join(DEMO_IDS);
        let mut ids: DemoIds = match std::fs::read_to_string(&ids_path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("reading {}", ids_path.display()))?,
            Err(_) => DemoIds::default(),
        };
        let before = serde_json::to_string(&ids)?;
        // The ids name campaigns of this demo's log; a fresh log (a new stream) is seeded again.
        if !ids.campaign_id.is_empty() && store.campaign(&ids.campaign_id).is_none() {
            ids = DemoIds::default();
        }
        if ids.campaign_id.is_empty() {
            ids.campaign_id = self.seed_main_campaign(store)?;
        }
        if ids.other_campaign_id.is_empty() {
            let other = &self.config.accounts[1];
            let cs = &other.cust_spaces[0];
            let page = &cs.pages[0];
            let campaign = store::wait(store.create_campaign(NewCampaign {
                placement: Placement {
                    account_uid: other.uid.clone(),
                    cust_space_id: cs.id.clone(),
                    page_id: page.id.clone(),
                    ad_account_id: page.ad_accounts[0].id.clone(),
                },
                name: "Other tenant's campaign".into(),
                budget_type: BudgetType::Daily,
                budget: 10_000,
                create_time_ms: chrono::Utc::now().timestamp_millis(),
            }))?;
            ids.other_campaign_id = campaign.campaign_id;
        }
        if ids.simulation_campaign_id.is_empty() {
            let campaign = store::wait(store.create_campaign(NewCampaign {
                placement: self.main_placement(),
                name: "Simulated traffic".into(),
                budget_type: BudgetType::Lifetime,
                budget: 100_000,
                create_time_ms: chrono::Utc::now().timestamp_millis(),
            }))?;
            ids.simulation_campaign_id = campaign.campaign_id;
        }
        if serde_json::to_string(&ids)? != before {
            write_private(&ids_path, &serde_json::to_vec_pretty(&ids)?)?;
        }
        Ok(ids)
    }

    /// Where the demo account's campaigns live: its cust space, page and ad account.
    fn main_placement(&self) -> Placement {
        let (cs, page, ad) = self.placement();
        Placement {
            account_uid: self.account().uid.clone(),
            cust_space_id: cs.id.clone(),
            page_id: page.id.clone(),
            ad_account_id: ad.id.clone(),
        }
    }

    fn seed_main_campaign(&self, store: &Store) -> anyhow::Result<String> {
        let (_, page, _) = self.placement();
        let now = chrono::Utc::now().timestamp_millis();
        let started = std::time::Instant::now();
        store::wait(store.add_rate_card(
            DEMO_RATE_CARD,
            chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"),
        ))?;
        let campaign = store::wait(store.create_campaign(NewCampaign {
            placement: self.main_placement(),
            name: "Demo summer sale".into(),
            budget_type: BudgetType::Lifetime,
            budget: 500_000,
            create_time_ms: now - 31 * 86_400_000,
        }))?;
        let spec = WorkloadSpec {
            messages: DEMO_MESSAGES,
            seed: 2025,
            campaigns: vec![campaign.campaign_id.clone()],
            start_ms: now - 30 * 86_400_000,
        };
        let mut batch = Vec::with_capacity(10_000);
        let mut pending = Vec::new();
        let mut total = 0u64;
        workload::generate(&spec, |e| {
            total += 1;
            batch.push(e);
            if batch.len() == 10_000 {
                pending.push(store.append(
                    &self.account().uid,
                    Some(&page.id),
                    std::mem::take(&mut batch),
                ));
            }
        });
        if !batch.is_empty() {
            pending.push(store.append(&self.account().uid, Some(&page.id), batch));
        }
        for p in pending {
            store::wait(p)?;
        }
        tracing::info!(
            campaign_id = %campaign.campaign_id,
            messages = DEMO_MESSAGES,
            events = total,
            millis = started.elapsed().as_millis() as u64,
            "seeded the demo campaign"
        );
        Ok(campaign.campaign_id)
    }

    /// Writes the demo file once the server is accepting connections.
    pub fn write_demo_file(
        &self,
        path: &Path,
        endpoint: SocketAddr,
        https_endpoint: Option<SocketAddr>,
        ids: &DemoIds,
    ) -> anyhow::Result<()> {
        let account = self.account();
        let key = &account.access_keys[0];
        let (cs, page, ad) = self.placement();
        let readonly = account
            .users
            .iter()
            .find(|u| u.name == DEMO_READONLY_USER)
            .and_then(|u| u.access_keys.first())
            .context("the demo has no read-only user")?;
        let other = &self.config.accounts[1];
        let other_cs = &other.cust_spaces[0];
        let other_page = &other_cs.pages[0];
        let mut file = serde_json::json!({
            "endpoint": endpoint.to_string(),
            "access_key_id": key.id,
            "access_key_secret": Config::resolve_secret(key)?,
            "account_uid": account.uid,
            "cust_space_id": cs.id,
            "page_id": page.id,
            "ad_account_id": ad.id,
            "ad_account_currency": ad.currency,
            "ad_account_timezone": ad.timezone,
            "campaign_id": ids.campaign_id,
            "readonly_access_key_id": readonly.id,
            "readonly_access_key_secret": Config::resolve_secret(readonly)?,
            "role_arn": format!("acs:ram::{}:role/{}", account.uid, DEMO_ROLE.to_ascii_lowercase()),
            "other_account_uid": other.uid,
            "other_access_key_id": other.access_keys[0].id,
            "other_access_key_secret": Config::resolve_secret(&other.access_keys[0])?,
            "other_cust_space_id": other_cs.id,
            "other_page_id": other_page.id,
            "other_ad_account_id": other_page.ad_accounts[0].id,
            "other_campaign_id": ids.other_campaign_id,
            "meta_app_secret": self.config.meta.app_secrets.first().and_then(|s| s.resolve()),
            "meta_verify_token": self.config.meta.verify_tokens.first().and_then(|s| s.resolve()),
            "ingest_token": account.ingest_tokens.first().and_then(|s| s.resolve()),
            "webhook_url": format!("http://{endpoint}/webhooks/meta"),
            "admin_token": self.config.admin.token.as_ref().and_then(|s| s.resolve()),
            "simulation_campaign_id": ids.simulation_campaign_id,
            "whatsapp_business_account_id": account.whatsapp_business_accounts.first().map(|w| w.id.clone()),
            "whatsapp_phone_number_id": account.whatsapp_business_accounts.first()
                .and_then(|w| w.campaigns_by_phone_number.keys().next().cloned()),
            "rate_card": DEMO_RATE_CARD,
            "console_url": format!("http://{endpoint}/console/"),
            "data_dir": self.data_dir.display().to_string(),
        });
        if let (Some(https), Some(tls)) = (https_endpoint, &self.config.server.tls) {
            file["https_endpoint"] = format!("https://{https}").into();
            let ca = tls.cert_file.with_file_name("ca.pem");
            file["tls_ca_file"] = ca.display().to_string().into();
        }
        write_private(path, &serde_json::to_vec_pretty(&file)?)
    }

    /// Tells the user how to call the server.
    pub fn print_welcome(&self, demo_file: &Path, endpoint: SocketAddr, campaign_id: &str) {
        // The demo file has every key and id; the banner shows what the first SDK call needs.
        let key = &self.account().access_keys[0];
        let secret = Config::resolve_secret(key).unwrap_or_default();
        let (cs, page, ad) = self.placement();
        println!(
            "\ncams-insights demo is serving on http://{endpoint}\n\
             \n  AccessKeyId:     {id}\n  AccessKeySecret: {secret}\n  web console:     http://{endpoint}/console/\n  demo file:       {file}\n  data directory:  {dir}\n\
             \nPython SDK (pip install alibabacloud-cams20200606):\n\
             \n  from alibabacloud_cams20200606.client import Client\n  from alibabacloud_cams20200606 import models\n  from alibabacloud_tea_openapi.models import Config\n\
             \n  client = Client(Config(access_key_id='{id}', access_key_secret='{secret}',\n                         endpoint='{endpoint}', protocol='http'))\n  \
             print(client.get_message_campaign_insights(models.GetMessageCampaignInsightsRequest(\n      \
             cust_space_id='{cs}', page_id='{page}', ad_account_id='{ad}', campaign_id='{campaign_id}')).body)\n",
            id = key.id,
            file = demo_file.display(),
            dir = self.data_dir.display(),
            cs = cs.id,
            page = page.id,
            ad = ad.id,
        );
    }
}
