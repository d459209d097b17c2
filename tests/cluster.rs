//! Cluster mode, black box: real three-server JetStream clusters on loopback (Debian's nats-server 2.9.10,
//! and a current release for the cross-node basics) and several `cams-insights serve` processes over one
//! stream, driven over HTTP as clients drive them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use acs_client::{Call, CallResponse, Client, Credentials, SignatureScheme};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::Value;
use testkit::{NatsCluster, NatsVersion};

const A: &str = "1111222233334444";
const B: &str = "5555666677778888";
const A_KEY: (&str, &str) = ("LTAI5tClusterA0000000001", "ClusterSecretA0123456789abcdef");
const B_KEY: (&str, &str) = ("LTAI5tClusterB0000000001", "ClusterSecretB0123456789abcdef");
const APP_SECRET: &str = "cluster-app-secret-0123456789";
const INGEST_TOKEN: &str = "cluster-ingest-token-0123456789";
const PAGE_A: &str = "140984918491243";
const PAGE_B: &str = "208877665544332";
/// 2025-07-02T08:00:00Z.
const T0: i64 = 1_751_443_200_000;

fn tmp_root() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// A cluster configuration for `stream`, with `extra` TOML appended to `[cluster]`.
fn config(nats: &[String], stream: &str, cluster: &str, flow: &str) -> String {
    let urls = nats
        .iter()
        .map(|u| format!("\"{u}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let tenant = |uid: &str, key: (&str, &str), cs: &str, page: &str| {
        format!(
            r#"
[[accounts]]
uid = "{uid}"

[[accounts.access_keys]]
id = "{}"
secret = "{}"

[[accounts.ingest_tokens]]
value = "{INGEST_TOKEN}-{uid}"

[[accounts.cust_spaces]]
id = "{cs}"

[[accounts.cust_spaces.pages]]
id = "{page}"

[[accounts.cust_spaces.pages.ad_accounts]]
id = "ad-{uid}"
currency = "USD"
timezone = "America/New_York"
"#,
            key.0, key.1
        )
    };
    format!(
        r#"
[server]
host_id = "cams.cluster.test"

[storage]
backend = "jetstream"
nats_urls = [{urls}]
stream = "{stream}"
subject_prefix = "{prefix}"
replicas = 3

[cluster]
{cluster}

[flow_control]
{flow}

[meta]
app_secrets = [{{ value = "{APP_SECRET}" }}]
{a}{b}"#,
        prefix = stream.to_lowercase(),
        a = tenant(A, A_KEY, "cams-a", PAGE_A),
        b = tenant(B, B_KEY, "cams-b", PAGE_B),
    )
}

/// A unique stream name per test run.
fn stream_name(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "C{}_{}_{}",
        std::process::id(),
        test,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Three JetStream servers, and two API nodes over one fresh stream (`name` plus a random suffix), with
/// the `[cluster]` and `[flow_control]` lines given. Fields drop in reverse order: nodes, then servers.
struct TwoNodes {
    nats: NatsCluster,
    dir: tempfile::TempDir,
    cfg: String,
    stream: String,
    n1: ApiNode,
    n2: ApiNode,
}

impl TwoNodes {
    fn start(version: NatsVersion, name: &str, cluster: &str, flow: &str) -> TwoNodes {
        let nats = NatsCluster::start(version, tmp_root(), 3);
        let dir = tempfile::tempdir().unwrap();
        let stream = stream_name(name);
        let cfg = config(&nats.all_urls(), &stream, cluster, flow);
        let n1 = ApiNode::start(dir.path(), "n1", &cfg);
        let n2 = ApiNode::start(dir.path(), "n2", &cfg);
        TwoNodes {
            nats,
            dir,
            cfg,
            stream,
            n1,
            n2,
        }
    }
}

/// One `cams-insights serve` process.
struct ApiNode {
    child: Option<Child>,
    endpoint: String,
    data_dir: PathBuf,
    config: PathBuf,
    port: u16,
}

impl ApiNode {
    fn start(dir: &Path, name: &str, config: &str) -> ApiNode {
        let config_path = dir.join(format!("{name}.toml"));
        std::fs::write(&config_path, config).unwrap();
        let mut node = ApiNode {
            child: None,
            endpoint: String::new(),
            data_dir: dir.join(name),
            config: config_path,
            port: testkit::free_port(),
        };
        node.spawn();
        node
    }

    #[allow(clippy::zombie_processes)]
    fn spawn(&mut self) {
        let endpoint_file = self.data_dir.with_extension("endpoint.json");
        let _ = std::fs::remove_file(&endpoint_file);
        let child = Command::new(env!("CARGO_BIN_EXE_cams-insights"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .arg("--endpoint-file")
            .arg(&endpoint_file)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("the server starts");
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(&endpoint_file) {
                let v: Value = serde_json::from_str(&text).unwrap();
                self.endpoint = v["endpoint"].as_str().unwrap().to_string();
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "an API node never came up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn client(&self, key: (&str, &str)) -> Client {
        Client::new(
            &self.endpoint,
            Credentials {
                access_key_id: key.0.into(),
                access_key_secret: key.1.into(),
                security_token: None,
            },
            SignatureScheme::parse("v3").unwrap(),
        )
        .unwrap()
    }

    async fn healthz(&self) -> Value {
        let r = self
            .client(A_KEY)
            .send(
                http::Request::get(format!("http://{}/healthz", self.endpoint))
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            )
            .await
            .unwrap();
        serde_json::from_slice(&r.body).unwrap()
    }

    async fn metric(&self, series: &str) -> f64 {
        let r = self
            .client(A_KEY)
            .send(
                http::Request::get(format!("http://{}/metrics", self.endpoint))
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            )
            .await
            .unwrap();
        let text = String::from_utf8(r.body.to_vec()).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{series} ")))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }
}

impl Drop for ApiNode {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn call(client: &Client, action: &str, params: &[(&str, &str)]) -> CallResponse {
    client
        .call(&Call::new(action, "2020-06-06", params))
        .await
        .expect("an HTTP answer")
}

fn ok(r: &CallResponse) -> Value {
    let v = r.json();
    assert_eq!(r.status, 200, "{v}");
    assert_eq!(v["Code"], "OK", "{v}");
    v
}

async fn create_campaign(client: &Client, uid: &str, cs: &str, page: &str) -> String {
    let ad = format!("ad-{uid}");
    let v = ok(&call(
        client,
        "CreateMessageCampaign",
        &[
            ("CustSpaceId", cs),
            ("PageId", page),
            ("AdAccountId", &ad),
            ("Name", "cluster campaign"),
            ("BudgetType", "daily"),
            ("Budget", "100"),
        ],
    )
    .await);
    v["CampaignId"].as_str().unwrap().to_string()
}

fn event_line(campaign: &str, recipient: &str, kind: &str, at_ms: i64) -> String {
    format!(
        r#"{{"campaign_id":"{campaign}","recipient":"{recipient}","event":"{kind}","timestamp":{at_ms}}}"#
    ) + "\n"
}

async fn put_events(client: &Client, ndjson: String) -> CallResponse {
    client
        .call(&Call {
            action: "PutMessageEvents",
            version: "2020-06-06",
            method: http::Method::POST,
            query: Vec::new(),
            body: Some((Bytes::from(ndjson), "application/x-ndjson".into())),
        })
        .await
        .expect("an HTTP answer")
}

/// Every row the API answers for a campaign: whole range, daily, by country.
async fn all_rows(client: &Client, uid: &str, cs: &str, page: &str, campaign: &str) -> Vec<Value> {
    let ad = format!("ad-{uid}");
    let base = [
        ("CustSpaceId", cs),
        ("PageId", page),
        ("AdAccountId", ad.as_str()),
        ("CampaignId", campaign),
        ("DateStart", "2025-07-01"),
        ("DateStop", "2025-07-31"),
        (
            "Fields",
            "MarketingMessagesSent,MarketingMessagesRead,MarketingMessagesFailed",
        ),
    ];
    let mut out = Vec::new();
    for extra in [
        vec![],
        vec![("TimeIncrement", "1")],
        vec![("Breakdowns", "country")],
    ] {
        let params: Vec<(&str, &str)> = base.iter().copied().chain(extra).collect();
        let v = ok(&call(client, "GetMessageCampaignInsights", &params).await);
        out.push(v["Data"].clone());
    }
    out
}

/// Waits until two nodes' folds reach the same place (each applied everything the stream holds).
async fn converge(nodes: &[&ApiNode]) {
    let started = Instant::now();
    loop {
        let mut seqs = Vec::new();
        for n in nodes {
            let h = n.healthz().await;
            seqs.push((
                h["applied_seq"].as_u64().unwrap_or(0),
                h["lag"].as_u64().unwrap_or(1),
            ));
        }
        if seqs.iter().all(|(s, lag)| *lag == 0 && *s == seqs[0].0) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nodes never converged: {seqs:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn webhook(campaign: &str, recipient: &str, field: &str, at_ms: i64) -> String {
    serde_json::json!({
        "object": "page",
        "entry": [{"id": PAGE_A, "time": at_ms, "changes": [{"field": field, "value": {
            "page_id": PAGE_A.parse::<u64>().unwrap(),
            "timestamp": at_ms,
            "messenger_subscription_token": recipient,
            "message_id": campaign,
        }}]}],
    })
    .to_string()
}

async fn post_webhook(node: &ApiNode, body: &str) {
    let sig = meta_webhooks::sign(APP_SECRET.as_bytes(), body.as_bytes());
    let r = node
        .client(A_KEY)
        .send(
            http::Request::post(format!("http://{}/webhooks/meta", node.endpoint))
                .header("x-hub-signature-256", sig)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.to_string())))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

async fn post_v1_events(node: &ApiNode, uid: &str, ndjson: String) -> Value {
    let r = node
        .client(A_KEY)
        .send(
            http::Request::post(format!("http://{}/v1/events", node.endpoint))
                .header("authorization", format!("Bearer {INGEST_TOKEN}-{uid}"))
                .header("content-type", "application/x-ndjson")
                .body(Full::new(Bytes::from(ndjson)))
                .unwrap(),
        )
        .await
        .unwrap();
    serde_json::from_slice(&r.body).unwrap()
}

// ---------------------------------------------------------------------------------------------

async fn write_on_one_read_on_the_other(version: NatsVersion) {
    let TwoNodes {
        nats: _nats,
        dir: _dir,
        cfg: _cfg,
        stream: _stream,
        n1,
        n2,
    } = TwoNodes::start(version, "rw", "", "per_second = 0");
    let (c1, c2) = (n1.client(A_KEY), n2.client(A_KEY));

    // Campaigns: created on node 1, listed on node 2.
    let campaign = create_campaign(&c1, A, "cams-a", PAGE_A).await;
    let other = create_campaign(&c2, A, "cams-a", PAGE_A).await;
    converge(&[&n1, &n2]).await;
    let page = r#"{"Index":1,"Size":10}"#;
    for c in [&c1, &c2] {
        let v = ok(&call(
            c,
            "ListMessageCampaign",
            &[
                ("CustSpaceId", "cams-a"),
                ("PageId", PAGE_A),
                ("Page", page),
            ],
        )
        .await);
        let mut ids: Vec<&str> = v["Data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["CampaignId"].as_str().unwrap())
            .collect();
        ids.sort();
        let mut want = vec![campaign.as_str(), other.as_str()];
        want.sort();
        assert_eq!(ids, want);
    }

    // Events through every way in, on both nodes.
    let mut lines = String::new();
    for i in 0..40 {
        let r = format!("psid-{i}");
        lines += &event_line(&campaign, &r, "delivered", T0 + i * 3_600_000);
        if i % 3 == 0 {
            lines += &event_line(&campaign, &r, "read", T0 + i * 3_600_000 + 60_000);
        }
    }
    assert_eq!(ok(&put_events(&c1, lines).await)["Accepted"], 54);
    let v = post_v1_events(
        &n2,
        A,
        (40..60)
            .map(|i| event_line(&campaign, &format!("psid-{i}"), "click", T0 + i * 1_800_000))
            .collect(),
    )
    .await;
    assert_eq!(v["Accepted"], 20, "{v}");
    post_webhook(
        &n1,
        &webhook(
            &campaign,
            "psid-1",
            "marketing_message_clicks",
            T0 + 90_000_000,
        ),
    )
    .await;
    post_webhook(
        &n2,
        &webhook(
            &campaign,
            "psid-77",
            "marketing_message_deliveries",
            T0 + 95_000_000,
        ),
    )
    .await;

    // Delete on node 2: gone on node 1.
    ok(&call(
        &c2,
        "DeleteMessageCampaign",
        &[
            ("CustSpaceId", "cams-a"),
            ("PageId", PAGE_A),
            ("AdAccountId", &format!("ad-{A}")),
            ("CampaignId", &other),
        ],
    )
    .await);
    converge(&[&n1, &n2]).await;
    let v = ok(&call(
        &c1,
        "ListMessageCampaign",
        &[
            ("CustSpaceId", "cams-a"),
            ("PageId", PAGE_A),
            ("Page", page),
        ],
    )
    .await);
    assert_eq!(v["Total"], 1);

    let r1 = all_rows(&c1, A, "cams-a", PAGE_A, &campaign).await;
    let r2 = all_rows(&c2, A, "cams-a", PAGE_A, &campaign).await;
    assert_eq!(r1, r2, "identical insights on both nodes");
    assert_eq!(r1[0][0]["MarketingMessagesDelivered"], "61");
    assert_eq!(
        r1[1].as_array().unwrap().len(),
        31,
        "one row per day of July"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_one_node_read_identically_on_the_other_on_2_9_10() {
    write_on_one_read_on_the_other(NatsVersion::Floor).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_one_node_read_identically_on_the_other_on_a_current_server() {
    write_on_one_read_on_the_other(NatsVersion::Current).await;
}

async fn nonce_replayed_to_the_other_node(version: NatsVersion) {
    let TwoNodes {
        nats: _nats,
        dir: _dir,
        cfg: _cfg,
        stream: _stream,
        n1,
        n2,
    } = TwoNodes::start(version, "nonce", "", "per_second = 0");
    let c1 = n1.client(A_KEY);
    let signed = c1.build(&Call::new(
        "ListPageAdAccount",
        "2020-06-06",
        &[("CustSpaceId", "cams-a"), ("PageId", PAGE_A)],
    ));
    let (parts, body) = signed.into_parts();
    let replay = |endpoint: &str| {
        let mut b = http::Request::builder()
            .method(parts.method.clone())
            .uri(format!(
                "http://{endpoint}{}",
                parts.uri.path_and_query().unwrap()
            ));
        for (k, v) in &parts.headers {
            if k != "host" {
                b = b.header(k, v);
            }
        }
        // The signed host is node 1's; node 2 must see the same bytes to verify them.
        b = b.header("host", parts.headers["host"].clone());
        b.body(body.clone()).unwrap()
    };
    let first = c1.send(replay(&n1.endpoint)).await.unwrap();
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let again = c1.send(replay(&n2.endpoint)).await.unwrap();
    assert_eq!(again.code().as_deref(), Some("SignatureNonceUsed"));
    let same = c1.send(replay(&n1.endpoint)).await.unwrap();
    assert_eq!(same.code().as_deref(), Some("SignatureNonceUsed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_used_on_one_node_is_refused_on_the_other_on_2_9_10() {
    nonce_replayed_to_the_other_node(NatsVersion::Floor).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_used_on_one_node_is_refused_on_the_other_on_a_current_server() {
    nonce_replayed_to_the_other_node(NatsVersion::Current).await;
}

fn client_at(endpoint: &str, key: (&str, &str)) -> Client {
    Client::new(
        endpoint,
        Credentials {
            access_key_id: key.0.into(),
            access_key_secret: key.1.into(),
            security_token: None,
        },
        SignatureScheme::parse("v3").unwrap(),
    )
    .unwrap()
}

/// Eight writers of one event each (distinct recipients, `round` in their names) until `stop`,
/// spread over the nodes; returns the recipients answered 200 and the number attempted.
async fn writers(
    endpoints: Vec<String>,
    campaign: String,
    round: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (Vec<String>, u64) {
    let mut tasks = Vec::new();
    for w in 0..8 {
        let client = client_at(&endpoints[w % endpoints.len()], A_KEY);
        let (campaign, stop) = (campaign.to_string(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let (mut answered, mut attempted) = (Vec::new(), 0u64);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let recipient = format!("r{round}-w{w}-{i}");
                i += 1;
                attempted += 1;
                // An error or no answer (the client gives up after 30 s) is an unanswered write.
                let r = client
                    .call(&Call {
                        action: "PutMessageEvents",
                        version: "2020-06-06",
                        method: http::Method::POST,
                        query: Vec::new(),
                        body: Some((
                            Bytes::from(event_line(&campaign, &recipient, "sent", T0)),
                            "application/x-ndjson".into(),
                        )),
                    })
                    .await;
                if let Ok(r) = r {
                    if r.status == 200 && r.json()["Code"] == "OK" {
                        answered.push(recipient);
                    }
                }
            }
            (answered, attempted)
        }));
    }
    let mut answered = Vec::new();
    let mut attempted = 0;
    for t in tasks {
        let (a, n) = t.await.unwrap();
        answered.extend(a);
        attempted += n;
    }
    (answered, attempted)
}

async fn sent_count(client: &Client, campaign: &str) -> u64 {
    let v = ok(&call(
        client,
        "GetMessageCampaignInsights",
        &[
            ("CustSpaceId", "cams-a"),
            ("PageId", PAGE_A),
            ("AdAccountId", &format!("ad-{A}")),
            ("CampaignId", campaign),
            ("DateStart", "2025-07-01"),
            ("DateStop", "2025-07-31"),
            ("Fields", "MarketingMessagesSent"),
        ],
    )
    .await);
    v["Data"][0]["MarketingMessagesSent"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_nats_server_or_the_stream_leader_loses_no_answered_write() {
    let TwoNodes {
        mut nats,
        dir: _dir,
        cfg: _cfg,
        stream,
        n1,
        n2,
    } = TwoNodes::start(NatsVersion::Floor, "kill", "", "per_second = 0");
    let campaign = create_campaign(&n1.client(A_KEY), A, "cams-a", PAGE_A).await;
    let (mut total_answered, mut total_attempted) = (0u64, 0u64);
    for (round, victim) in ["a follower", "the leader"].into_iter().enumerate() {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let run = tokio::spawn(writers(
            vec![n1.endpoint.clone(), n2.endpoint.clone()],
            campaign.clone(),
            round,
            stop.clone(),
        ));
        tokio::time::sleep(Duration::from_secs(2)).await;
        let leader = nats.stream_leader(&stream).expect("a leader");
        let target = if victim == "the leader" {
            leader
        } else {
            nats.names().into_iter().find(|n| *n != leader).unwrap()
        };
        nats.kill_named(&target);
        tokio::time::sleep(Duration::from_secs(12)).await;
        stop.store(true, Ordering::Relaxed);
        let (answered, attempted) = run.await.unwrap();
        let i = nats.names().iter().position(|n| *n == target).unwrap();
        nats.restart(i);
        converge(&[&n1, &n2]).await;
        assert!(
            answered.len() > 50,
            "writes went on around killing {victim}: {}",
            answered.len()
        );
        total_answered += answered.len() as u64;
        total_attempted += attempted;
        for node in [&n1, &n2] {
            let counted = sent_count(&node.client(A_KEY), &campaign).await;
            // Every answered write is there (each its own message, so once); an unanswered one may
            // or may not have landed; nothing else did.
            assert!(
                counted >= total_answered && counted <= total_attempted,
                "{victim}: counted {counted}, answered {total_answered}, attempted {total_attempted}"
            );
        }
        assert_eq!(
            sent_count(&n1.client(A_KEY), &campaign).await,
            sent_count(&n2.client(A_KEY), &campaign).await
        );
        println!(
            "killing {victim}: {} answered of {attempted}",
            answered.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_node_killed_during_ingestion_catches_up_and_a_fresh_one_rebuilds() {
    let TwoNodes {
        nats: _nats,
        dir,
        cfg,
        stream: _stream,
        n1,
        mut n2,
    } = TwoNodes::start(NatsVersion::Floor, "catchup", "", "per_second = 0");
    let c1 = n1.client(A_KEY);
    let campaign = create_campaign(&c1, A, "cams-a", PAGE_A).await;
    // Ingest in batches on node 1, killing node 2 halfway.
    for batch in 0..20 {
        if batch == 10 {
            n2.kill();
        }
        let lines: String = (0..500)
            .map(|i| {
                let r = format!("b{batch}-{i}");
                let kind = ["sent", "delivered", "read", "click"][i % 4];
                event_line(&campaign, &r, kind, T0 + (batch * 500 + i) as i64 * 60_000)
            })
            .collect();
        ok(&put_events(&c1, lines).await);
    }
    n2.restart();
    converge(&[&n1, &n2]).await;
    let want = all_rows(&c1, A, "cams-a", PAGE_A, &campaign).await;
    assert_eq!(
        all_rows(&n2.client(A_KEY), A, "cams-a", PAGE_A, &campaign).await,
        want
    );
    // A node with an empty data directory rebuilds from the stream.
    let n3 = ApiNode::start(dir.path(), "n3", &cfg);
    converge(&[&n1, &n3]).await;
    assert_eq!(
        all_rows(&n3.client(A_KEY), A, "cams-a", PAGE_A, &campaign).await,
        want
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_webhook_delivered_to_both_nodes_counts_once() {
    let TwoNodes {
        nats: _nats,
        dir: _dir,
        cfg: _cfg,
        stream: _stream,
        n1,
        n2,
    } = TwoNodes::start(NatsVersion::Floor, "webhook", "", "per_second = 0");
    let campaign = create_campaign(&n1.client(A_KEY), A, "cams-a", PAGE_A).await;
    for (i, times) in (1..=5).enumerate() {
        let body = webhook(
            &campaign,
            &format!("psid-{i}"),
            "marketing_message_deliveries",
            T0 + i as i64 * 60_000,
        );
        for k in 0..times {
            post_webhook(if k % 2 == 0 { &n1 } else { &n2 }, &body).await;
        }
        // And a click, retried on both.
        let click = webhook(
            &campaign,
            &format!("psid-{i}"),
            "marketing_message_clicks",
            T0 + 600_000,
        );
        post_webhook(&n1, &click).await;
        post_webhook(&n2, &click).await;
    }
    converge(&[&n1, &n2]).await;
    for node in [&n1, &n2] {
        let rows = all_rows(&node.client(A_KEY), A, "cams-a", PAGE_A, &campaign).await;
        assert_eq!(rows[0][0]["MarketingMessagesDelivered"], "5");
        assert_eq!(rows[0][0]["MarketingMessagesLinkBtnClick"], "5");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quota_holds_across_two_nodes() {
    // 10 requests/s with a burst of 10 per account and action, shared by two nodes.
    let TwoNodes {
        nats: _nats,
        dir: _dir,
        cfg: _cfg,
        stream: _stream,
        n1,
        n2,
    } = TwoNodes::start(
        NatsVersion::Floor,
        "quota",
        "nodes = 2",
        "per_second = 10\nburst = 10",
    );
    let (c1, c2) = (n1.client(A_KEY), n2.client(A_KEY));
    let started = Instant::now();
    let (mut allowed, mut throttled) = (0u32, 0u32);
    for i in 0..80 {
        let c = if i % 2 == 0 { &c1 } else { &c2 };
        let r = call(
            c,
            "ListPageAdAccount",
            &[("CustSpaceId", "cams-a"), ("PageId", PAGE_A)],
        )
        .await;
        match r.code().as_deref() {
            Some("OK") => allowed += 1,
            Some("Throttling.User") => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    // The cluster allows the quota: at most rate × time + burst, each node its half (documented
    // tolerance: one request per node for rounding).
    let most = (10.0 * secs + 10.0).ceil() as u32 + 2;
    assert!(
        allowed <= most,
        "allowed {allowed} in {secs:.2} s (most {most})"
    );
    assert!(allowed >= 10, "the burst is allowed: {allowed}");
    assert!(throttled > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_node_groups_each_serve_and_fold_their_own_accounts() {
    let nats = NatsCluster::start(NatsVersion::Floor, tmp_root(), 3);
    let dir = tempfile::tempdir().unwrap();
    let stream = stream_name("groups");
    let ga = ApiNode::start(
        dir.path(),
        "ga",
        &config(
            &nats.all_urls(),
            &stream,
            &format!("accounts = [\"{A}\"]"),
            "per_second = 0",
        ),
    );
    let gb = ApiNode::start(
        dir.path(),
        "gb",
        &config(
            &nats.all_urls(),
            &stream,
            &format!("accounts = [\"{B}\"]"),
            "per_second = 0",
        ),
    );
    let ca = create_campaign(&ga.client(A_KEY), A, "cams-a", PAGE_A).await;
    let cb = create_campaign(&gb.client(B_KEY), B, "cams-b", PAGE_B).await;
    ok(&put_events(
        &ga.client(A_KEY),
        (0..30)
            .map(|i| event_line(&ca, &format!("a{i}"), "delivered", T0))
            .collect(),
    )
    .await);
    ok(&put_events(
        &gb.client(B_KEY),
        (0..20)
            .map(|i| event_line(&cb, &format!("b{i}"), "delivered", T0))
            .collect(),
    )
    .await);
    // Each group refuses the other's account, before the nonce and without touching its data.
    let refused = call(
        &gb.client(A_KEY),
        "ListPageAdAccount",
        &[("CustSpaceId", "cams-a"), ("PageId", PAGE_A)],
    )
    .await;
    assert_eq!(
        (refused.status, refused.code().as_deref()),
        (421, Some("InvalidAccount.NotServedHere"))
    );
    let refused = call(
        &ga.client(B_KEY),
        "ListPageAdAccount",
        &[("CustSpaceId", "cams-b"), ("PageId", PAGE_B)],
    )
    .await;
    assert_eq!(
        refused.code().as_deref(),
        Some("InvalidAccount.NotServedHere")
    );
    let v = post_v1_events(&gb, A, event_line(&ca, "x", "sent", T0)).await;
    assert_eq!(v["Code"], "InvalidAccount.NotServedHere");
    // Each answers for its own, and holds only its own account's messages.
    let rows = all_rows(&ga.client(A_KEY), A, "cams-a", PAGE_A, &ca).await;
    assert_eq!(rows[0][0]["MarketingMessagesDelivered"], "30");
    let rows = all_rows(&gb.client(B_KEY), B, "cams-b", PAGE_B, &cb).await;
    assert_eq!(rows[0][0]["MarketingMessagesDelivered"], "20");
    assert_eq!(ga.metric("cams_store_messages").await, 30.0);
    assert_eq!(gb.metric("cams_store_messages").await, 20.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_nats_reports_itself_unavailable() {
    let mut nats = NatsCluster::start(NatsVersion::Floor, tmp_root(), 3);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &nats.all_urls(),
        &stream_name("cutoff"),
        "",
        "per_second = 0",
    );
    let node = ApiNode::start(dir.path(), "n1", &cfg);
    assert_eq!(node.healthz().await["status"], "ok");
    for i in 0..3 {
        nats.kill(i);
    }
    let started = Instant::now();
    loop {
        let r = node
            .client(A_KEY)
            .send(
                http::Request::get(format!("http://{}/healthz", node.endpoint))
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            )
            .await
            .unwrap();
        if r.status == 503 {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["status"], "unavailable");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still healthy");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for i in 0..3 {
        nats.restart(i);
    }
    let started = Instant::now();
    while node.healthz().await["status"] != "ok" {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never healthy again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
