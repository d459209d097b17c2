//! No secret ever reaches the logs, at any level: `serve --demo` with `RUST_LOG=trace`, exercised with
//! right and wrong credentials on every way in, writes none of the demo's secrets to standard error.
//! (Standard output carries the demo banner, which shows the demo key's secret on purpose.)

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use acs_client::{Call, Client, Credentials, SignatureScheme};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::Value;

fn client(endpoint: &str, id: &str, secret: &str) -> Client {
    Client::new(
        endpoint,
        Credentials {
            access_key_id: id.into(),
            access_key_secret: secret.into(),
            security_token: None,
        },
        SignatureScheme::parse("v3").unwrap(),
    )
    .unwrap()
}

fn post(
    url: String,
    headers: &[(&str, String)],
    body: &'static [u8],
) -> http::Request<Full<Bytes>> {
    let mut r = http::Request::post(url);
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    r.body(Full::new(Bytes::from_static(body))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_ever_logged() {
    let dir = tempfile::tempdir().unwrap();
    let demo_file = dir.path().join("demo.json");
    let log = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cams-insights"))
        .args(["serve", "--demo", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--demo-file")
        .arg(&demo_file)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !demo_file.exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "no demo file");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let demo: Value = serde_json::from_str(&std::fs::read_to_string(&demo_file).unwrap()).unwrap();
    let s = |k: &str| demo[k].as_str().unwrap().to_string();
    let endpoint = s("endpoint");

    // Signed calls: right secret, wrong secret, a read-only user denied.
    let ok = client(&endpoint, &s("access_key_id"), &s("access_key_secret"));
    let list = Call::new(
        "ListPageAdAccount",
        "2020-06-06",
        &[
            ("CustSpaceId", s("cust_space_id").as_str()),
            ("PageId", s("page_id").as_str()),
        ],
    );
    assert_eq!(ok.call(&list).await.unwrap().status, 200);
    let wrong = client(
        &endpoint,
        &s("access_key_id"),
        "not-the-secret-0123456789abcd",
    );
    assert_eq!(
        wrong.call(&list).await.unwrap().code().as_deref(),
        Some("SignatureDoesNotMatch")
    );
    let readonly = client(
        &endpoint,
        &s("readonly_access_key_id"),
        &s("readonly_access_key_secret"),
    );
    let create = Call::new(
        "CreateMessageCampaign",
        "2020-06-06",
        &[
            ("CustSpaceId", s("cust_space_id").as_str()),
            ("PageId", s("page_id").as_str()),
            ("AdAccountId", s("ad_account_id").as_str()),
            ("Name", "x"),
            ("BudgetType", "daily"),
            ("Budget", "1"),
        ],
    );
    assert_eq!(
        readonly.call(&create).await.unwrap().code().as_deref(),
        Some("NoPermission")
    );

    // Ingest tokens, right and wrong; webhooks, signed and not.
    let events = b"{\"campaign_id\":\"1\",\"recipient\":\"r\",\"event\":\"sent\",\"timestamp\":\"2025-07-01T00:00:00Z\"}\n";
    for token in [s("ingest_token"), "wrong-token".into()] {
        let r = ok
            .send(post(
                format!("http://{endpoint}/v1/events"),
                &[
                    ("authorization", format!("Bearer {token}")),
                    ("content-type", "application/x-ndjson".into()),
                ],
                events,
            ))
            .await
            .unwrap();
        assert!(r.status == 200 || r.status == 401);
    }
    let body = br#"{"object":"page","entry":[]}"#;
    for secret in [s("meta_app_secret"), "wrong".into()] {
        let sig = meta_webhooks::sign(secret.as_bytes(), body);
        ok.send(post(
            format!("http://{endpoint}/webhooks/meta"),
            &[("x-hub-signature-256", sig)],
            body,
        ))
        .await
        .unwrap();
    }
    let handshake = http::Request::get(format!(
        "http://{endpoint}/webhooks/meta?hub.mode=subscribe&hub.challenge=7&hub.verify_token={}",
        s("meta_verify_token")
    ))
    .body(Full::new(Bytes::new()))
    .unwrap();
    assert_eq!(ok.send(handshake).await.unwrap().status, 200);

    // Stop it (the final checkpoint and shutdown log too), then read every line it wrote.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let logs = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(
        logs.contains("listening"),
        "the logs were captured:\n{logs}"
    );
    for key in [
        "access_key_secret",
        "readonly_access_key_secret",
        "other_access_key_secret",
        "meta_app_secret",
        "meta_verify_token",
        "ingest_token",
    ] {
        let secret = s(key);
        assert!(!logs.contains(&secret), "{key} appears in the logs");
    }
}
