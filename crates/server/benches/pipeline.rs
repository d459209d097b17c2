//! The gateway pipeline without HTTP: signed GetMessageCampaignInsights requests (fresh nonces)
//! through parse → authenticate → authorise → throttle → dispatch, per principal; and the pieces.
//! Run: `cargo bench -p server --bench pipeline`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use acs_client::{Call, Client, Credentials, SignatureScheme};
use bytes::Bytes;
use server::rpc::{self as gateway, RawRequest};
use server::{AppState, Config};
use store::HostOptions;
use store::{BudgetType, NewCampaign, Placement};

const UID: &str = "1000000000000001";

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(&format!(
        r#"
[flow_control]
per_second = 0
[[accounts]]
uid = "{UID}"
[[accounts.access_keys]]
id = "LTAI5tBenchRoot00000001"
secret = "BenchRootSecret0123456789abcde"
[[accounts.users]]
name = "u"
policies = ["AliyunCamsReadOnlyAccess"]
[[accounts.users.access_keys]]
id = "LTAI5tBenchUser00000001"
secret = "BenchUserSecret0123456789abcde"
[[accounts.cust_spaces]]
id = "cams-bench"
[[accounts.cust_spaces.pages]]
id = "p"
[[accounts.cust_spaces.pages.ad_accounts]]
id = "ad"
currency = "USD"
timezone = "America/New_York"
"#
    ))
    .unwrap();
    let store = Arc::new(store::sqlite::open(dir.path(), HostOptions::default()).unwrap());
    let c = store::wait(store.create_campaign(NewCampaign {
        placement: Placement {
            account_uid: UID.into(),
            cust_space_id: "cams-bench".into(),
            page_id: "p".into(),
            ad_account_id: "ad".into(),
        },
        name: "b".into(),
        budget_type: BudgetType::Daily,
        budget: 1,
        create_time_ms: 1_751_328_000_000,
    }))
    .unwrap();
    let state = AppState::new(config, store).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (name, key, secret) in [
        (
            "root",
            "LTAI5tBenchRoot00000001",
            "BenchRootSecret0123456789abcde",
        ),
        (
            "subuser",
            "LTAI5tBenchUser00000001",
            "BenchUserSecret0123456789abcde",
        ),
    ] {
        let client = Client::new(
            "127.0.0.1:1",
            Credentials {
                access_key_id: key.into(),
                access_key_secret: secret.into(),
                security_token: None,
            },
            SignatureScheme::parse("v3").unwrap(),
        )
        .unwrap();
        let call = Call::new(
            "GetMessageCampaignInsights",
            "2020-06-06",
            &[
                ("CustSpaceId", "cams-bench"),
                ("PageId", "p"),
                ("AdAccountId", "ad"),
                ("CampaignId", &c.campaign_id),
            ],
        );
        let n: usize = std::env::var("N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        let t = Instant::now();
        let requests: Vec<RawRequest> = (0..n)
            .map(|_| {
                let (parts, _) = client.build(&call).into_parts();
                RawRequest {
                    method: parts.method,
                    path: parts.uri.path().to_string(),
                    query: parts.uri.query().unwrap_or("").to_string(),
                    headers: parts.headers,
                    body: Bytes::new(),
                    peer: SocketAddr::from(([127, 0, 0, 1], 9)),
                    secure: false,
                }
            })
            .collect();
        let sign = t.elapsed();
        let t = Instant::now();
        for raw in requests {
            let out = rt.block_on(gateway::handle(
                &state,
                raw,
                "00000000-0000-0000-0000-000000000000",
            ));
            assert!(out.result.is_ok());
        }
        let handle = t.elapsed();
        println!(
            "{name:8}: client build+sign {:.2} µs/request; server pipeline {:.2} µs/request",
            sign.as_secs_f64() * 1e6 / n as f64,
            handle.as_secs_f64() * 1e6 / n as f64
        );
    }
}
