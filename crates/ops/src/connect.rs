//! How CLI commands reach a running server: an endpoint and credentials, from flags, environment
//! variables, or the demo file `serve --demo` writes.

use std::path::PathBuf;

use acs_client::{Client, Credentials, SignatureScheme};
use anyhow::Context;
use serde::Deserialize;

#[derive(clap::Args, Debug, Clone)]
pub struct ConnectArgs {
    /// Read the endpoint, key and ids from the file `serve --demo` wrote.
    #[arg(long, env = "CAMS_DEMO_FILE")]
    pub demo_file: Option<PathBuf>,
    /// Server endpoint, `host:port`.
    #[arg(long, env = "CAMS_ENDPOINT")]
    pub endpoint: Option<String>,
    #[arg(long, env = "CAMS_ACCESS_KEY_ID")]
    pub access_key_id: Option<String>,
    /// Prefer the environment variable: flags show up in process listings.
    #[arg(long, env = "CAMS_ACCESS_KEY_SECRET", hide_env_values = true)]
    pub access_key_secret: Option<String>,
    /// Signature: v3 (ACS3-HMAC-SHA256), v3-sm3, or v2.
    #[arg(long, default_value = "v3")]
    pub signature: String,
}

/// The fields of the demo file the CLI uses.
#[derive(Deserialize, Debug, Clone, Default)]
pub struct DemoFile {
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    #[serde(default)]
    pub account_uid: String,
    #[serde(default)]
    pub cust_space_id: String,
    #[serde(default)]
    pub page_id: String,
    #[serde(default)]
    pub ad_account_id: String,
    #[serde(default)]
    pub campaign_id: String,
}

impl ConnectArgs {
    /// The demo file, if one was named.
    pub fn demo(&self) -> anyhow::Result<Option<DemoFile>> {
        match &self.demo_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                Ok(Some(
                    serde_json::from_str(&text)
                        .with_context(|| format!("parsing {}", path.display()))?,
                ))
            }
            None => Ok(None),
        }
    }

    /// A signing client: flags and environment win over the demo file.
    pub fn client(&self) -> anyhow::Result<Client> {
        let demo = self.demo()?.unwrap_or_default();
        let pick = |flag: &Option<String>, from_demo: &str, what: &str| -> anyhow::Result<String> {
            flag.clone()
                .or_else(|| (!from_demo.is_empty()).then(|| from_demo.to_string()))
                .with_context(|| {
                    format!("no {what}: give --{what} (or its CAMS_ variable), or --demo-file")
                })
        };
        let endpoint = pick(&self.endpoint, &demo.endpoint, "endpoint")?;
        let credentials = Credentials {
            access_key_id: pick(&self.access_key_id, &demo.access_key_id, "access-key-id")?,
            access_key_secret: pick(
                &self.access_key_secret,
                &demo.access_key_secret,
                "access-key-secret",
            )?,
            security_token: None,
        };
        let scheme = SignatureScheme::parse(&self.signature)
            .with_context(|| format!("unknown signature `{}` (v3, v3-sm3, v2)", self.signature))?;
        Ok(Client::new(&endpoint, credentials, scheme)?)
    }
}
