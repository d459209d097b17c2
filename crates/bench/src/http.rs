//! `bench http` (P2) and `bench webhook` (P4): a real server in this process on loopback, driven by
//! the load generator (`loadgen`), with the trivial endpoint measured in the same run for the ratio.
//!
//! The server runs on its own runtime threads, the generator on others; on a 2-core machine they
//! share the cores, as `docs/performance.md` prescribes ("load generator on the same machine").

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use acs_client::{Call, Client, Credentials, SignatureScheme};
use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use serde_json::json;
use server::{AppState, Config, RunningServer};
use store::HostOptions;
use store::{BudgetType, NewCampaign, Placement};

use crate::loadgen::{self, LoadConfig, LoadReport, Target};
use crate::HttpArgs;
use workload::WorkloadSpec;

pub(crate) const UID: &str = "1000000000000001";
pub(crate) const ROOT: (&str, &str) = ("LTAI5tBenchRoot00000001", "BenchRootSecret0123456789abcde");
pub(crate) const USER: (&str, &str) = ("LTAI5tBenchUser00000001", "BenchUserSecret0123456789abcde");
const APP_SECRET: &str = "bench-app-secret";
pub(crate) const PAGE: &str = "100000000000001";

/// A realistic policy set for the sub-user: a system policy, a group policy, an IP-conditioned
/// allow, a deny on deletes, and a cust-space confinement — five policies, a dozen statements.
pub(crate) fn config(data: &std::path::Path, storage: &str) -> String {
    format!(
        r#"
[storage]
data_dir = "{data}"
{storage}

[flow_control]
per_second = 0

[meta]
app_secrets = [{{ value = "{APP_SECRET}" }}]

[[accounts]]
uid = "{UID}"

[[accounts.access_keys]]
id = "{root_id}"
secret = "{root_secret}"

[[accounts.policies]]
name = "office-network"
document = '{{"Version":"1","Statement":[{{"Effect":"Allow","Action":["cams:Get*","cams:List*"],"Resource":"acs:cams:*:{UID}:custspace/*","Condition":{{"IpAddress":{{"acs:SourceIp":["10.0.0.0/8","127.0.0.0/8","192.168.0.0/16"]}}}}}}]}}'

[[accounts.policies]]
name = "no-deletes"
document = '{{"Version":"1","Statement":[{{"Effect":"Deny","Action":"cams:Delete*","Resource":"*"}},{{"Effect":"Deny","Action":"cams:*","Resource":"*","Condition":{{"Bool":{{"acs:MFAPresent":"true"}},"StringLike":{{"acs:UserAgent":"*curl*"}}}}}}]}}'

[[accounts.policies]]
name = "bench-spaces"
document = '{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"cams:*","Resource":["acs:cams:*:{UID}:custspace/cams-bench","acs:cams:*:{UID}:custspace/cams-bench/*"],"Condition":{{"StringEquals":{{"cams:CustSpaceId":["cams-bench","cams-other"]}},"DateLessThan":{{"acs:CurrentTime":"2099-01-01T00:00:00Z"}}}}}},{{"Effect":"Allow","Action":"cams:PutMessageEvents","Resource":"*"}}]}}'

[[accounts.policies]]
name = "reports"
document = '{{"Version":"1","Statement":[{{"Effect":"Allow","NotAction":["cams:Create*","cams:Delete*","cams:Sync*"],"Resource":"*","Condition":{{"NotIpAddress":{{"acs:SourceIp":"203.0.113.0/24"}}}}}}]}}'

[[accounts.groups]]
name = "analysts"
policies = ["AliyunCamsReadOnlyAccess", "reports"]

[[accounts.users]]
name = "bench"
groups = ["analysts"]
policies = ["office-network", "no-deletes", "bench-spaces"]
[[accounts.users.access_keys]]
id = "{user_id}"
secret = "{user_secret}"

[[accounts.cust_spaces]]
id = "cams-bench"
[[accounts.cust_spaces.pages]]
id = "{PAGE}"
[[accounts.cust_spaces.pages.ad_accounts]]
id = "ad-bench"
currency = "USD"
timezone = "America/New_York"
"#,
        data = data.display(),
        root_id = ROOT.0,
        root_secret = ROOT.1,
        user_id = USER.0,
        user_secret = USER.1,
    )
}

/// The server thread of a benchmark run.
pub(crate) struct RunningBench {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl RunningBench {
    pub(crate) fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Starts the server on its own runtime; returns its address and the campaign to query.
fn start_server(
    dir: &std::path::Path,
    messages: u64,
) -> anyhow::Result<(SocketAddr, String, RunningBench)> {
    let data = dir.join("data");
    let config = Config::parse(&config(&data, ""))?;
    let store = Arc::new(store::sqlite::open(&data, HostOptions::default())?);
    let campaign = seed(&store, messages)?;
    let (addr, running) = serve(AppState::new(config, store)?)?;
    Ok((addr, campaign, running))
}

/// Creates the benchmark campaign and gives it `messages` messages of the workload.
pub(crate) fn seed(store: &store::Store, messages: u64) -> anyhow::Result<String> {
    let campaign = store::wait(store.create_campaign(NewCampaign {
        placement: Placement {
            account_uid: UID.into(),
            cust_space_id: "cams-bench".into(),
            page_id: PAGE.into(),
            ad_account_id: "ad-bench".into(),
        },
        name: "bench".into(),
        budget_type: BudgetType::Lifetime,
        budget: 1,
        create_time_ms: 1_751_328_000_000,
    }))?;
    let spec = WorkloadSpec {
        messages,
        seed: 1,
        campaigns: vec![campaign.campaign_id.clone()],
        start_ms: 1_751_328_000_000,
    };
    let mut batch = Vec::new();
    let mut pending = Vec::new();
    workload::generate(&spec, |e| {
        batch.push(e);
        if batch.len() == 50_000 {
            pending.push(store.append(UID, None, std::mem::take(&mut batch)));
        }
    });
    pending.push(store.append(UID, None, batch));
    for p in pending {
        store::wait(p)?;
    }
    Ok(campaign.campaign_id)
}

/// Serves `state` on a runtime of its own (two workers, threads named `bench-server`).
pub(crate) fn serve(state: Arc<AppState>) -> anyhow::Result<(SocketAddr, RunningBench)> {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        // Named, so that a profile tells the server's threads from the load generator's.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bench-server")
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let server = RunningServer::bind(state, SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .expect("bind");
            let _ = addr_tx.send(server.local_addr());
            let stop = async move {
                let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            };
            server.run(stop).await;
        });
    });
    let addr = addr_rx.recv().context("the server did not start")?;
    Ok((
        addr,
        RunningBench {
            stop: stop_tx,
            thread,
        },
    ))
}

fn webhook_body(i: u64, campaign: &str) -> String {
    format!(
        r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":1751400000000,"changes":[{{"field":"marketing_message_deliveries","value":{{"page_id":"{PAGE}","app_id":"1","timestamp":{},"messenger_subscription_token":"bench-{i}","recipient_id":"{}","message_id":"{campaign}","mid":"m-{i}"}}}}]}}]}}"#,
        1_751_400_000_000u64 + (i % 2_000_000_000),
        9_000_000_000u64 + i,
    )
}

pub fn http(a: HttpArgs, webhook: bool) -> anyhow::Result<()> {
    run_http(a, webhook).map(|_| ())
}

/// Runs the scenario and returns (trivial, measured).
pub fn run_http(a: HttpArgs, webhook: bool) -> anyhow::Result<(LoadReport, LoadReport)> {
    let dir = tempfile::tempdir()?;
    let (addr, campaign, stop) = start_server(dir.path(), a.messages)?;
    let endpoint = addr.to_string();
    let load = LoadConfig {
        endpoint: endpoint.clone(),
        connections: a.connections,
        duration: Duration::from_secs(a.duration),
        warmup: Duration::from_secs(a.warmup),
        max_requests: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
        .enable_all()
        .build()?;
    let trivial = rt.block_on(loadgen::run(
        Target::Trivial {
            path: "/healthz".into(),
        },
        &load,
    ))?;
    let (name, measured): (&str, LoadReport) = if webhook {
        let campaign = Arc::new(campaign);
        let target = Target::Custom {
            build: Arc::new(move |i| {
                let body = webhook_body(i, &campaign);
                let signature = meta_webhooks::sign(APP_SECRET.as_bytes(), body.as_bytes());
                http::Request::post("/webhooks/meta")
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(Full::new(Bytes::from(body)))
                    .expect("request")
            }),
        };
        ("signed webhook", rt.block_on(loadgen::run(target, &load))?)
    } else {
        let (id, secret) = if a.principal == "root" { ROOT } else { USER };
        let scheme =
            SignatureScheme::parse(&a.signature).context("--signature: v3, v3-sm3 or v2")?;
        let client = Client::new(
            &endpoint,
            Credentials {
                access_key_id: id.into(),
                access_key_secret: secret.into(),
                security_token: None,
            },
            scheme,
        )?;
        let params: Vec<(String, String)> = vec![
            ("CustSpaceId".into(), "cams-bench".into()),
            ("PageId".into(), PAGE.into()),
            ("AdAccountId".into(), "ad-bench".into()),
            ("CampaignId".into(), campaign.clone()),
        ];
        let call = Call {
            action: "GetMessageCampaignInsights",
            version: "2020-06-06",
            method: http::Method::POST,
            query: params,
            body: None,
        };
        (
            "signed insights",
            rt.block_on(loadgen::run(Target::Signed { client, call }, &load))?,
        )
    };
    // Stop the server and let it close its store before the temporary directory goes.
    stop.finish();
    let ratio = loadgen::compare(&trivial, &measured);
    println!("{}", LoadReport::header());
    println!("{}", trivial.row("/healthz"));
    println!("{}", measured.row(name));
    let (target_ratio, target_p99, which) = if webhook {
        (0.30, 20.0, "P4")
    } else {
        (0.50, 5.0, "P2")
    };
    println!(
        "{which}: {name} / healthz = {ratio:.2} (target ≥ {target_ratio}), p99 {:.2} ms (target ≤ {target_p99} ms); {} connections, {} s, signature {}, principal {}",
        measured.p99_us / 1000.0,
        a.connections,
        a.duration,
        if webhook { "X-Hub-Signature-256" } else { a.signature.as_str() },
        if webhook { "-" } else { a.principal.as_str() },
    );
    if !measured.errors_by_code.is_empty() {
        println!("errors: {:?}", measured.errors_by_code);
    }
    if let Some(path) = a.json {
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&json!({
                "scenario": if webhook { "webhook" } else { "http" },
                "trivial": trivial.to_json(), "measured": measured.to_json(), "ratio": ratio,
                "connections": a.connections, "duration_sec": a.duration,
            }))?,
        )?;
    }
    Ok((trivial, measured))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(principal: &str, signature: &str) -> HttpArgs {
        HttpArgs {
            connections: 2,
            duration: 1,
            warmup: 0,
            signature: signature.into(),
            principal: principal.into(),
            messages: 200,
            json: None,
        }
    }

    /// Every generated request verifies (a bad signature would be an error answer), the
    /// policies of the benchmark user allow the query, and the counts add up. No timing checked.
    #[test]
    fn generated_requests_are_accepted_and_counted() {
        for (principal, signature) in [("subuser", "v3"), ("root", "v2"), ("subuser", "v3-sm3")] {
            let (trivial, measured) = run_http(args(principal, signature), false).unwrap();
            for r in [&trivial, &measured] {
                assert!(r.requests > 0);
                assert_eq!(r.ok + r.errors, r.requests, "{:?}", r.errors_by_code);
                assert_eq!(
                    r.errors, 0,
                    "{principal}/{signature}: {:?}",
                    r.errors_by_code
                );
            }
            assert!(
                measured.errors_by_code.is_empty(),
                "{:?}",
                measured.errors_by_code
            );
        }
    }

    #[test]
    fn generated_webhooks_verify_and_are_durably_accepted() {
        let (_, measured) = run_http(args("-", "v3"), true).unwrap();
        assert!(measured.requests > 0);
        assert_eq!(measured.errors, 0, "{:?}", measured.errors_by_code);
    }
}
