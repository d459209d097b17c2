//! Starts the real server on an ephemeral loopback port for black-box tests.
#![allow(dead_code)]

use std::net::SocketAddr;

use std::sync::Arc;

use acs_client::{Call, CallResponse, Client, Credentials, SignatureScheme};
use serde_json::Value;
use server::{AppState, Config, RunningServer};
use store::HostOptions;

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
    let store = store::sqlite::open(
        dir.path(),
        HostOptions {
            engine: config.engine_config(),
            ..HostOptions::default()
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

/// One account's signed client, with the calls the black-box tests share (each test file adds its own).
pub struct Api {
    pub client: Client,
}

impl Api {
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> CallResponse {
        self.client
            .call(&Call::new(
                action,
                server::rpc::catalog::CAMS_VERSION,
                params,
            ))
            .await
            .expect("an HTTP answer")
    }

    /// Calls and asserts the success envelope; returns the body.
    pub async fn ok(&self, action: &str, params: &[(&str, &str)]) -> Value {
        assert_success(&self.call(action, params).await)
    }

    /// Creates a campaign (daily budget 30000) and returns its id, checked numeric.
    pub async fn create(&self, cs: &str, page: &str, ad: &str, name: &str) -> String {
        let body = self
            .ok(
                "CreateMessageCampaign",
                &[
                    ("CustSpaceId", cs),
                    ("PageId", page),
                    ("AdAccountId", ad),
                    ("Name", name),
                    ("BudgetType", "daily"),
                    ("Budget", "30000"),
                ],
            )
            .await;
        let id = body["CampaignId"].as_str().expect("CampaignId string");
        assert!(
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
            "CampaignId is numeric: {id}"
        );
        id.to_string()
    }
}

/// The request id of a body is the `x-acs-request-id` header's, and the body is JSON.
pub fn request_id_matches_header(r: &CallResponse, body: &Value) {
    let request_id = body["RequestId"].as_str().expect("RequestId");
    assert_eq!(request_id.len(), 36, "{body}");
    assert_eq!(r.headers["x-acs-request-id"], request_id);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
}

/// A success body: HTTP 200 with the common fields.
pub fn assert_success(r: &CallResponse) -> Value {
    let body = r.json();
    assert_eq!(
        r.status,
        200,
        "expected success: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(body["Code"], "OK", "{body}");
    assert_eq!(body["Message"], "OK", "{body}");
    assert_eq!(body["Success"], true, "{body}");
    assert_eq!(body["AccessDeniedDetail"], "None", "{body}");
    request_id_matches_header(r, &body);
    body
}

/// Milliseconds since the epoch of an RFC 3339 instant.
pub fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}
