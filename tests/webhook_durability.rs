//! Webhook durability: signed webhooks are posted concurrently while the server is SIGKILLed.
//! After a restart every webhook that got a 200 is counted; re-delivering every webhook (as Meta
//! retries those it got no 200 for, and sometimes the others too) counts none twice.
//!
//! Each webhook carries one delivery for its own, not yet registered campaign id on the demo-like
//! page; after the restart `SyncMessageCampaign` registers them, and each campaign's insights say
//! whether its webhook is in.

mod common;

use common::{signing_client, ServerProcess};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acs_client::{Call, Client};
use bytes::Bytes;
use http_body_util::Full;

const UID: &str = "1234567890123456";
const KEY: &str = "LTAI5tHookTest000000001";
const SECRET: &str = "HookSecret0123456789abcdefghij";
const APP_SECRET: &str = "meta-app-secret";
const PAGE: &str = "104000000000001";
const WEBHOOKS: u64 = 300;
const FIRST_CAMPAIGN: u64 = 130_000_000_000_000_000;

fn config(data: &Path) -> String {
    format!(
        r#"
[storage]
data_dir = "{}"

[flow_control]
per_second = 0

[meta]
app_secrets = [{{ value = "{APP_SECRET}" }}]

[[accounts]]
uid = "{UID}"
[[accounts.access_keys]]
id = "{KEY}"
secret = "{SECRET}"
[[accounts.cust_spaces]]
id = "cams-hooks"
[[accounts.cust_spaces.pages]]
id = "{PAGE}"
[[accounts.cust_spaces.pages.ad_accounts]]
id = "ad"
currency = "USD"
timezone = "UTC"
"#,
        data.display()
    )
}

/// Webhook `i`: one delivery of campaign FIRST_CAMPAIGN + i to its own recipient, in the standard
/// Page envelope, signed.
fn webhook(endpoint: &str, i: u64) -> http::Request<Full<Bytes>> {
    let body = format!(
        r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":1751400000000,"changes":[{{"field":"marketing_message_deliveries","value":{{"page_id":"{PAGE}","app_id":"1","timestamp":{},"messenger_subscription_token":"tok-{i}","recipient_id":"{}","message_id":{},"mid":"m-{i}","marketing_message_tracking_id":"t"}}}}]}}]}}"#,
        1_751_400_000_000u64 + i * 1000,
        9_000_000 + i,
        FIRST_CAMPAIGN + i
    );
    let signature = meta_webhooks::sign(APP_SECRET.as_bytes(), body.as_bytes());
    http::Request::post(format!("http://{endpoint}/webhooks/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn delivered(rt: &tokio::runtime::Runtime, c: &Client, campaign: u64) -> u64 {
    let id = campaign.to_string();
    let r = rt
        .block_on(c.call(&Call::new(
            "GetMessageCampaignInsights",
            "2020-06-06",
            &[
                ("CustSpaceId", "cams-hooks"),
                ("PageId", PAGE),
                ("AdAccountId", "ad"),
                ("CampaignId", &id),
                ("DateStart", "2025-07-01"),
                ("DateStop", "2025-07-31"),
            ],
        )))
        .unwrap();
    let body = r.json();
    if body["Code"] != "OK" {
        return 0; // not registered: its webhook never landed
    }
    body["Data"][0]["MarketingMessagesDelivered"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn sync(rt: &tokio::runtime::Runtime, c: &Client) {
    let r = rt
        .block_on(c.call(&Call::new(
            "SyncMessageCampaign",
            "2020-06-06",
            &[("AdAccountId", "ad"), ("PageId", PAGE)],
        )))
        .unwrap();
    assert_eq!(r.json()["Code"], "OK", "{}", r.json());
}

#[test]
fn acknowledged_webhooks_survive_sigkill_and_retries_count_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cams.toml"),
        config(&dir.path().join("data")),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = ServerProcess::start(&dir.path().join("cams.toml"), dir.path());
    let endpoint = server.endpoint.clone();
    let sender = signing_client(&endpoint, KEY, SECRET);

    let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut tasks = Vec::new();
    for worker in 0..16u64 {
        let (acked, sender, endpoint) = (acked.clone(), sender.clone(), endpoint.clone());
        tasks.push(rt.spawn(async move {
            for i in (worker..WEBHOOKS).step_by(16) {
                match sender.send(webhook(&endpoint, i)).await {
                    Ok(r) if r.status == 200 => acked.lock().unwrap().push(i),
                    _ => return,
                }
            }
        }));
    }
    let started = Instant::now();
    while (acked.lock().unwrap().len() as u64) < WEBHOOKS / 3
        && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    server.kill(); // SIGKILL
    for t in tasks {
        let _ = rt.block_on(t);
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        !acked.is_empty() && (acked.len() as u64) < WEBHOOKS,
        "{} acked",
        acked.len()
    );

    let server = ServerProcess::start(&dir.path().join("cams.toml"), dir.path());
    let c = signing_client(&server.endpoint, KEY, SECRET);
    sync(&rt, &c);
    for i in 0..WEBHOOKS {
        let n = delivered(&rt, &c, FIRST_CAMPAIGN + i);
        if acked.contains(&i) {
            assert_eq!(n, 1, "acknowledged webhook {i} is lost");
        } else {
            assert!(n <= 1, "webhook {i} counted {n} times");
        }
    }
    // Meta re-delivers: every webhook again (the unacknowledged ones at least once more).
    for i in 0..WEBHOOKS {
        let r = rt.block_on(c.send(webhook(&server.endpoint, i))).unwrap();
        assert_eq!(r.status, 200);
    }
    sync(&rt, &c);
    for i in 0..WEBHOOKS {
        assert_eq!(
            delivered(&rt, &c, FIRST_CAMPAIGN + i),
            1,
            "webhook {i} after re-delivery"
        );
    }
    eprintln!("{} of {WEBHOOKS} acknowledged before the kill", acked.len());
}
