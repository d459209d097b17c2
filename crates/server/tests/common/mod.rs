//! Starts the real server on an ephemeral loopback port for black-box tests.
#![allow(dead_code)]

use std::net::SocketAddr;

use std::sync::Arc;

use acs_client::{Client, Credentials, SignatureScheme};
use server::{AppState, Config, RunningServer};
use store::sqlite::{SqliteOptions, SqliteStore};

pub const ACCOUNT: &str = "1234567890123456";
pub const KEY_ID: &str = "LTAI5tTestKey00000000001";
pub const SECRET: &str = "TestSecret0123456789abcdefghij";
pub const INACTIVE_KEY_ID: &str = "LTAI5tTestKey00000000002";

pub fn test_config() -> Config {
    Config::parse(&format!(
        r#"
# Black-box tests send bursts; flow control has its own tests.
[flow_control]
per_second = 0

[server]
listen = "127.0.0.1:0"
host_id = "cams.test.local"
max_body_bytes = 65536

[[accounts]]
uid = "{ACCOUNT}"
name = "test"

[[accounts.access_keys]]
id = "{KEY_ID}"
secret = "{SECRET}"

[[accounts.access_keys]]
id = "{INACTIVE_KEY_ID}"
secret = "{SECRET}"
status = "Inactive"
"#
    ))
    .expect("test config parses")
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

/// A state over a fresh store in a temporary directory.
pub fn test_state(config: Config) -> (Arc<AppState>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(
        dir.path(),
        SqliteOptions {
            engine: config.engine_config(),
            ..SqliteOptions::default()
        },
    )
    .expect("store");
    (AppState::new(config, Arc::new(store)).expect("state"), dir)
}

impl TestServer {
    pub async fn start(config: Config) -> TestServer {
        let (state, dir) = test_state(config);
        let server = RunningServer::bind(state.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("bind");
        let addr = server.local_addr();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            state,
            shutdown: Some(tx),
            _dir: dir,
        }
    }

    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    pub fn client(&self, scheme: SignatureScheme) -> Client {
        self.client_with(KEY_ID, SECRET, scheme)
    }

    pub fn client_with(&self, key: &str, secret: &str, scheme: SignatureScheme) -> Client {
        Client::new(
            &self.endpoint(),
            Credentials {
                access_key_id: key.into(),
                access_key_secret: secret.into(),
                security_token: None,
            },
            scheme,
        )
        .expect("client")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
