//! `serve --demo`: a ready-to-use tenant without any configuration file.
//!
//! The first run creates a data directory with `demo.toml` (a normal configuration file, so the
//! demo can later be run as `serve --config DATA_DIR/demo.toml`) holding a fresh account, access
//! key and tenant ids. Started again with `--data-dir` on that directory, it reuses all of it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use server::config::{AccessKeyConfig, AccountConfig, KeyStatus};
use server::Config;

const DEMO_CONFIG: &str = "demo.toml";

/// A prepared demo: configuration and where it lives.
pub struct Demo {
    pub config: Config,
    pub data_dir: PathBuf,
}

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

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const DIGITS: &[u8] = b"0123456789";

/// Loads the demo from `data_dir` if one was created there, else creates it.
pub fn prepare(data_dir: Option<PathBuf>, config_override: Option<&Path>) -> anyhow::Result<Demo> {
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
    config.storage.data_dir = Some(data_dir.clone());
    Ok(Demo { config, data_dir })
}

fn fresh_config() -> Config {
    let uid = format!("1{}", random_string(DIGITS, 15));
    Config {
        accounts: vec![AccountConfig {
            uid,
            name: "demo".into(),
            access_keys: vec![AccessKeyConfig {
                id: format!("LTAI{}", random_string(ALNUM, 20)),
                secret: Some(random_string(ALNUM, 30)),
                secret_env: None,
                status: KeyStatus::Active,
            }],
        }],
        ..Config::default()
    }
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

/// The demo file: what a client (or `shared/conformance/sdk_smoke.py`) needs to connect.
#[derive(Serialize)]
struct DemoFile<'a> {
    endpoint: String,
    access_key_id: &'a str,
    access_key_secret: String,
    account_uid: &'a str,
    data_dir: String,
}

impl Demo {
    fn root_key(&self) -> (&AccountConfig, &AccessKeyConfig) {
        let account = &self.config.accounts[0];
        (account, &account.access_keys[0])
    }

    /// Writes the demo file once the server is accepting connections.
    pub fn write_demo_file(&self, path: &Path, endpoint: SocketAddr) -> anyhow::Result<()> {
        let (account, key) = self.root_key();
        let file = DemoFile {
            endpoint: endpoint.to_string(),
            access_key_id: &key.id,
            access_key_secret: Config::resolve_secret(key)?,
            account_uid: &account.uid,
            data_dir: self.data_dir.display().to_string(),
        };
        let json = serde_json::to_vec_pretty(&file)?;
        write_private(path, &json)
    }

    /// Tells the user how to call the server.
    pub fn print_welcome(&self, demo_file: &Path, endpoint: SocketAddr) {
        let (_, key) = self.root_key();
        let secret = Config::resolve_secret(key).unwrap_or_default();
        println!(
            "\ncams-insights demo is serving on http://{endpoint}\n\
             \n  AccessKeyId:     {id}\n  AccessKeySecret: {secret}\n  demo file:       {file}\n  data directory:  {dir}\n\
             \nPython SDK (pip install alibabacloud-cams20200606):\n\
             \n  from alibabacloud_cams20200606.client import Client\n  from alibabacloud_cams20200606 import models\n  from alibabacloud_tea_openapi.models import Config\n\
             \n  client = Client(Config(access_key_id='{id}', access_key_secret='{secret}',\n                         endpoint='{endpoint}', protocol='http'))\n",
            id = key.id,
            file = demo_file.display(),
            dir = self.data_dir.display(),
        );
    }
}
